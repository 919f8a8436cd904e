"""Random command sequences against the pure lifecycle: its invariants always hold."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.alerts import (
    LIVE_DISPATCH,
    EscalationSettings,
    IllegalTransitionError,
    InvalidCommandError,
    Ladder,
    Outcome,
)
from backend.alerts._lifecycle import (
    Accept,
    AcceptTimeout,
    Acknowledge,
    Action,
    Arrive,
    Case,
    Decline,
    Dispatch,
    Escalate,
    EscalateDue,
    Event,
    NotificationFailed,
    Reassign,
    Record,
    RemindDue,
    Resolve,
    status_rank,
    step,
)
from tests.alerts._cases import LADDER, RESPONDERS, T0, ids, opened

pytestmark = pytest.mark.timeout(120)

PEOPLE = ("alice", "bob", "carol")


@dataclass(frozen=True)
class Move:
    """A command drawn without knowing the case; ``pick`` chooses among what exists."""

    kind: str
    pick: int
    who: str
    wait_s: int


moves = st.builds(
    Move,
    kind=st.sampled_from(
        [
            "acknowledge",
            "dispatch",
            "escalate",
            "reassign",
            "resolve",
            "accept",
            "decline",
            "arrive",
            "timer",
            "stale_timer",
            "failure",
        ]
    ),
    pick=st.integers(0, 50),
    who=st.sampled_from(PEOPLE),
    wait_s=st.integers(0, 400),
)


def _event(case: Case, move: Move) -> Event:
    responders = sorted(RESPONDERS)
    dispatches = case.dispatches
    chosen = dispatches[move.pick % len(dispatches)].id if dispatches else None
    simple: dict[str, Event] = {
        "acknowledge": Acknowledge(move.who),
        "dispatch": Dispatch(move.who, (RESPONDERS[responders[move.pick % len(responders)]],)),
        "escalate": Escalate(move.who),
        "reassign": Reassign(move.who, PEOPLE[move.pick % len(PEOPLE)]),
        "resolve": Resolve(move.who, list(Outcome)[move.pick % len(Outcome)]),
        "failure": NotificationFailed(
            ["queue:operator", "F1", "F2", "C1"][move.pick % 4],
            "HTTP 503",
            move.pick % 4 if move.pick % 5 else None,
            chosen if move.pick % 2 else None,
        ),
    }
    if move.kind in simple:
        return simple[move.kind]
    if move.kind in ("accept", "decline", "arrive") and chosen is not None:
        if move.kind == "accept":
            return Accept(move.who, chosen)
        return Decline(move.who, chosen) if move.kind == "decline" else Arrive(move.who, chosen)
    deadline = case.deadlines[move.pick % len(case.deadlines)] if case.deadlines else None
    if deadline is None:
        return EscalateDue(move.pick)
    token = deadline.token if move.kind == "timer" else deadline.token + 1 + move.pick
    if deadline.name == "escalate":
        return EscalateDue(token)
    if deadline.name == "remind":
        return RemindDue(token)
    return AcceptTimeout(next(d.id for d in dispatches if deadline.name.endswith(str(d.id))), token)


def _check(before: Case, after: Case, actions: list[Action], now: datetime, ladder: Ladder) -> None:
    old, new = before.alert, after.alert
    if after is before:
        assert actions == []
        return
    # One way through the statuses; the level only rises, up to the ladder's top.
    assert status_rank(new.status) >= status_rank(old.status)
    assert old.escalation_level <= new.escalation_level <= ladder.top
    # Every change bumps the version by one, is dated now and leaves a consistent trail.
    assert new.version == old.version + 1
    assert new.updated_at == max(now, old.updated_at)
    trail = [a.transition for a in actions if isinstance(a, Record)]
    assert trail, "a change without an audit entry"
    assert trail[0].from_status == old.status
    assert trail[-1].to_status == new.status
    for first, second in itertools.pairwise(trail):
        assert second.from_status == first.to_status
    assert all(t.at == now and t.alert_id == new.id for t in trail)
    _check_state(after, ladder)


def _check_state(case: Case, ladder: Ladder) -> None:
    alert = case.alert
    names = [d.name for d in case.deadlines]
    assert len(names) == len(set(names))
    assert all(d.token <= alert.version for d in case.deadlines)
    pending = {f"accept:{d.id}" for d in case.dispatches if d.status == "pending"}
    assert {n for n in names if n.startswith("accept:")} == pending
    if alert.status == "open":
        assert ("escalate" in names) == (alert.escalation_level < ladder.top)
        assert ("remind" in names) == (ladder.remind_every_s is not None)
    else:
        assert "escalate" not in names
        assert "remind" not in names
    if alert.status in ("acknowledged", "dispatched"):
        assert alert.acknowledged_by is not None
        assert alert.acknowledged_at is not None
    if alert.status == "dispatched":
        assert alert.dispatched_at is not None
        assert case.dispatches
    if alert.status == "resolved":
        assert case.deadlines == ()
        assert not [d for d in case.dispatches if d.status in LIVE_DISPATCH]
        assert alert.outcome is not None
        assert alert.resolved_by is not None
    live = [d.responder_id for d in case.dispatches if d.status in LIVE_DISPATCH]
    assert len(live) == len(set(live)), "one live dispatch per responder"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from([1, 2, 3]), st.lists(moves, min_size=1, max_size=40))
def test_random_command_sequences_keep_the_invariants(priority: int, sequence: list[Move]) -> None:
    ladder = EscalationSettings().ladder(priority)
    case = opened(ladder=ladder, priority=priority)
    _check_state(case, ladder)
    now = T0
    new_id = ids()
    for move in sequence:
        now += timedelta(seconds=move.wait_s * priority**2)
        event = _event(case, move)
        try:
            after, actions = step(case, event, now, ladder, new_id)
        except (IllegalTransitionError, InvalidCommandError):
            continue
        _check(case, after, actions, now, ladder)
        case = after


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(moves, min_size=1, max_size=30))
def test_nothing_changes_a_resolved_alert(sequence: list[Move]) -> None:
    case = opened()
    case, _ = step(case, Resolve("alice", Outcome.TEST), T0, LADDER, ids())
    for move in sequence:
        try:
            after, actions = step(case, _event(case, move), T0, LADDER, ids())
        except (IllegalTransitionError, InvalidCommandError):
            continue
        assert after is case
        assert actions == []
