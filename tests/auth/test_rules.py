"""The pure parts of accounts: password and username rules, the login limit, tokens."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.auth import (
    InvalidTokenError,
    LoginLimit,
    PolicyError,
    Role,
    Throttle,
    admit,
    check_password,
    check_username,
    forget_expired,
    issue_token,
    password_stamp,
    read_token,
    succeeded,
)

KEY = "k" * 40
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-Pw1!", "at least 12"),
        ("x" * 257, "at most 256"),
        ("alice", "at least 12"),
        ("my-alice-password-2026", "must not contain the username"),
        ("ALICEALICE12345", "must not contain the username"),
        ("aaaaaaaaaaaaaaaa", "different characters"),
        ("abababababab1212", "different characters"),
        ("123456789012", "run of"),
        ("qwertyuiopasdf", "run of"),
        ("ZYXWVUTSRQPONM", "run of"),
        ("Password1234!", "common word"),
        ("!!Homecare2026!!", "common word"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    with pytest.raises(PolicyError, match=why):
        check_password(password, username="alice")


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "T7#kq-vv9!Lm2", "zebra-quilt-47-ochre"]
)
def test_reasonable_passwords_pass(password: str) -> None:
    check_password(password, username="alice")


@pytest.mark.parametrize("username", ["alice", "op.nord-2", "a1", "j.doe@city.example"])
def test_usernames_that_pass(username: str) -> None:
    check_username(username)


@pytest.mark.parametrize(
    "username", ["Alice", "a", "-lead", "with space", "x" * 65, "api-token", "system", "anonymous"]
)
def test_usernames_that_are_refused(username: str) -> None:
    with pytest.raises(PolicyError):
        check_username(username)


LIMIT = LoginLimit(max_failures=5, window_s=300.0)
KEYS = ("user:alice", "client:10.0.0.1")


def _fail(state: Throttle, keys: tuple[str, ...], at: float) -> Throttle:
    state, wait = admit(state, LIMIT, keys, at)
    assert wait is None
    return state


def test_five_failures_block_until_the_first_leaves_the_window() -> None:
    state = Throttle()
    for i in range(5):
        state = _fail(state, KEYS, 10.0 * i)  # at 0, 10, 20, 30, 40
    blocked, wait = admit(state, LIMIT, KEYS, 41.0)
    assert wait == 259  # the failure at 0 leaves the window at 300
    assert blocked == state  # a refused attempt does not count
    _, wait = admit(state, LIMIT, KEYS, 299.5)
    assert wait == 1
    _, wait = admit(state, LIMIT, KEYS, 300.0)
    assert wait is None


def test_the_username_and_the_client_are_limited_apart() -> None:
    state = Throttle()
    for i in range(5):
        state = _fail(state, ("user:alice", f"client:10.0.0.{i}"), float(i))
    # The same user from a fresh address is still blocked: guesses spread over addresses.
    assert admit(state, LIMIT, ("user:alice", "client:10.9.9.9"), 5.0)[1] is not None
    # Another user from an address with one failure is let in.
    assert admit(state, LIMIT, ("user:bob", "client:10.0.0.1"), 5.0)[1] is None
    state = Throttle()
    for i in range(5):
        state = _fail(state, (f"user:u{i}", "client:10.0.0.1"), float(i))
    # One address guessing across many usernames is blocked for every username.
    assert admit(state, LIMIT, ("user:new", "client:10.0.0.1"), 5.0)[1] is not None


def test_a_success_clears_the_user_and_takes_back_its_own_mark() -> None:
    state = Throttle()
    for i in range(4):
        state = _fail(state, KEYS, float(i))
    state = _fail(state, KEYS, 4.0)  # the fifth attempt, admitted and counted at once
    assert admit(state, LIMIT, KEYS, 5.0)[1] is not None
    state = succeeded(state, LIMIT, user_key=KEYS[0], other_keys=KEYS[1:], at=4.0)
    assert KEYS[0] not in state.failures
    assert state.failures[KEYS[1]] == (0.0, 1.0, 2.0, 3.0)
    assert admit(state, LIMIT, KEYS, 5.0)[1] is None


def test_concurrent_attempts_cannot_pass_the_limit() -> None:
    state, admitted = Throttle(), 0
    for _ in range(20):  # twenty guesses at the same instant, none checked yet
        state, wait = admit(state, LIMIT, KEYS, 1.0)
        admitted += wait is None
    assert admitted == LIMIT.max_failures


def test_memory_stays_bounded_under_many_keys() -> None:
    limit = LoginLimit(max_failures=5, window_s=60.0, max_keys=100)
    state = Throttle()
    for i in range(1000):
        state, _ = admit(state, limit, (f"user:u{i}", f"client:{i}"), float(i))
    assert len(state.failures) <= limit.max_keys + 2
    assert "user:u999" in state.failures
    assert forget_expired(Throttle(), limit, 0.0) == Throttle()


@given(
    times=st.lists(st.floats(min_value=0, max_value=10_000, allow_nan=False), max_size=40),
    probe=st.floats(min_value=0, max_value=20_000, allow_nan=False),
)
def test_an_admitted_key_never_holds_more_failures_than_the_limit(
    times: list[float], probe: float
) -> None:
    state = Throttle()
    for t in sorted(times):
        state, _ = admit(state, LIMIT, KEYS, t)
    for key in KEYS:
        recent = [t for t in state.failures.get(key, ()) if probe - t < LIMIT.window_s]
        assert len([t for t in recent if t <= probe]) <= LIMIT.max_failures


def _token(now: datetime = NOW, lifetime_s: int = 600) -> str:
    return issue_token(
        KEY, username="alice", role=Role.OPERATOR, stamp="s1", now=now, lifetime_s=lifetime_s
    ).token


def test_a_token_reads_back_its_claims() -> None:
    issued = issue_token(
        KEY, username="alice", role=Role.SUPERVISOR, stamp="s1", now=NOW, lifetime_s=600
    )
    assert issued.expires_in == 600
    claims = read_token(KEY, issued.token, now=NOW + timedelta(seconds=599))
    assert (claims.username, claims.role, claims.stamp, claims.jti) == (
        "alice",
        Role.SUPERVISOR,
        "s1",
        issued.jti,
    )
    assert claims.expires_at - claims.issued_at == timedelta(seconds=600)


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(InvalidTokenError, match="expired") as caught:
        read_token(KEY, _token(), now=NOW + timedelta(seconds=600))
    assert caught.value.expired


def _b64(part: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def test_a_tampered_or_foreign_token_is_refused() -> None:
    header, payload, signature = _token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = f"{header}.{_b64(claims)}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    other_key = jwt.encode(claims, "x" * 40, algorithm="HS256")
    for token in (forged, unsigned, other_key, "not-a-token", ""):
        with pytest.raises(InvalidTokenError) as caught:
            read_token(KEY, token, now=NOW)
        assert not caught.value.expired


def test_a_token_without_a_required_claim_or_from_the_future_is_refused() -> None:
    base = {"iss": "homecare", "sub": "alice", "role": "operator", "jti": "j", "pwd": "s"}
    stamp = int(NOW.timestamp())
    for claims in (
        {**base, "iat": stamp},  # no expiry
        {**base, "iat": stamp, "exp": stamp + 60, "role": "root"},
        {**base, "iat": stamp, "exp": stamp + 60, "iss": "elsewhere"},
        {**base, "iat": stamp + 3600, "exp": stamp + 7200},
    ):
        with pytest.raises(InvalidTokenError):
            read_token(KEY, jwt.encode(claims, KEY, algorithm="HS256"), now=NOW)


def test_the_password_stamp_follows_the_hash_and_the_key() -> None:
    assert password_stamp(KEY, "hash-1") == password_stamp(KEY, "hash-1")
    assert password_stamp(KEY, "hash-1") != password_stamp(KEY, "hash-2")
    assert password_stamp(KEY, "hash-1") != password_stamp("y" * 40, "hash-1")
    assert "hash" not in password_stamp(KEY, "hash-1")
