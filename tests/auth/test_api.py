"""Logins, tokens and roles through a running backend's API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets
from websockets.exceptions import ConnectionClosed

from backend import Backend
from backend.auth import Role, issue_token, password_stamp
from backend.storage._tables import audit_log
from protocol import encode_envelope, events_topic
from protocol.mqtt import MqttClient
from tests.auth.conftest import MAX_FAILURES, WINDOW_S, LimitClock, name
from tests.backend.conftest import (
    SECRET_KEY,
    TOKEN,
    bearer,
    create_accounts,
    envelope,
    home_id,
    login,
)
from tests.brokers import Broker

pytestmark = [pytest.mark.broker, pytest.mark.timeout(90)]

SERVICE = bearer(TOKEN)


async def audit_rows(backend: Backend, action: str | None = None) -> list[dict[str, Any]]:
    stmt = sa.select(audit_log).order_by(audit_log.c.id)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == action)
    async with backend.store.reading() as conn:
        return [dict(r._mapping) for r in (await conn.execute(stmt)).all()]


async def test_a_login_gives_a_bearer_token_for_the_user(
    running: Backend, client: httpx.AsyncClient
) -> None:
    accounts = await create_accounts(running)
    for role, account in accounts.items():
        # Logins take the name in any case; names are stored in lower case.
        response = await client.post(
            "/auth/token",
            data={"username": account.username.upper(), "password": account.password},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 8 * 3600
        me = await client.get("/auth/me", headers=bearer(body["access_token"]))
        assert me.json() == {
            "username": account.username,
            "role": role.value,
            "display_name": account.username,
            "service": False,
        }
        assert (
            await client.get("/alerts", headers=bearer(body["access_token"]))
        ).status_code == 200
    logins = await audit_rows(running, "login")
    assert [(r["actor"], r["subject_id"]) for r in logins] == [
        (a.username, a.username) for a in accounts.values()
    ]
    assert all(r["detail"] == {"client": "127.0.0.1"} for r in logins)
    me = (await client.get("/auth/me", headers=SERVICE)).json()
    assert me == {"username": "api-token", "role": "admin", "display_name": None, "service": True}


async def test_unknown_users_wrong_passwords_and_deactivated_users_get_one_answer(
    running: Backend, client: httpx.AsyncClient
) -> None:
    accounts = await create_accounts(running)
    operator = accounts[Role.OPERATOR]
    gone = accounts[Role.SUPERVISOR]
    await client.patch(f"/users/{gone.username}", json={"active": False}, headers=SERVICE)
    answers = []
    started = []
    for username, password in (
        ("nobody-here", operator.password),
        (operator.username, operator.password + "x"),
        (gone.username, gone.password),
    ):
        t0 = time.perf_counter()
        response = await client.post(
            "/auth/token", data={"username": username, "password": password}
        )
        started.append(time.perf_counter() - t0)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        answers.append({k: v for k, v in response.json().items() if k != "instance"})
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["detail"] == "incorrect username or password"
    # An unknown user costs a password hash too (a timing oracle would tell names apart).
    assert min(started) > 0.05
    failed = await audit_rows(running, "login_failed")
    assert [(r["actor"], r["subject_id"], r["detail"]["reason"]) for r in failed] == [
        ("anonymous", "nobody-here", "unknown_user"),
        ("anonymous", operator.username, "wrong_password"),
        ("anonymous", gone.username, "inactive"),
    ]
    every_entry = json.dumps([str(r) for r in await audit_rows(running)])
    for account in accounts.values():
        assert account.password not in every_entry


async def test_failed_logins_are_limited_until_the_window_passes(
    running: Backend, client: httpx.AsyncClient, limit_clock: LimitClock
) -> None:
    account = (await create_accounts(running))[Role.OPERATOR]
    form = {"username": account.username, "password": "wrong-password-1234"}
    for _ in range(MAX_FAILURES):
        assert (await client.post("/auth/token", data=form)).status_code == 401
    right = {"username": account.username, "password": account.password}
    refused = await client.post("/auth/token", data=right)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW_S
    # Another username from the same address is refused too: the address is limited.
    assert (await client.post("/auth/token", data={**form, "username": name()})).status_code == 429
    limit_clock.advance(retry_after + 0.1)
    assert (await client.post("/auth/token", data=right)).status_code == 200
    limited = [
        r
        for r in await audit_rows(running, "login_failed")
        if r["detail"]["reason"] == "rate_limited"
    ]
    assert len(limited) == 2


async def test_expired_tampered_and_foreign_tokens_are_refused(
    running: Backend, client: httpx.AsyncClient
) -> None:
    account = (await create_accounts(running))[Role.OPERATOR]
    user = await running.users.get(account.username)
    assert user is not None
    stamp = password_stamp(SECRET_KEY, user.password_hash)
    old = issue_token(
        SECRET_KEY,
        username=account.username,
        role=Role.OPERATOR,
        stamp=stamp,
        now=datetime.now(UTC) - timedelta(hours=9),
        lifetime_s=8 * 3600,
    ).token
    fresh = await login(client, account.username, account.password)
    header, payload, signature = fresh.split(".")
    tampered = (
        f"{header}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    )
    foreign = issue_token(
        "another-backends-key-0123456789abcdef",
        username=account.username,
        role=Role.ADMIN,
        stamp=stamp,
        now=datetime.now(UTC),
        lifetime_s=600,
    ).token
    for token, says in ((old, "expired"), (tampered, "not valid"), (foreign, "not valid")):
        response = await client.get("/alerts", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert says in response.json()["detail"]
    assert (await client.get("/alerts", headers=bearer(fresh))).status_code == 200


async def test_deactivation_and_a_new_password_revoke_tokens(
    running: Backend, client: httpx.AsyncClient
) -> None:
    accounts = await create_accounts(running)
    admin = bearer(
        await login(client, accounts[Role.ADMIN].username, accounts[Role.ADMIN].password)
    )
    operator = accounts[Role.OPERATOR]
    token = bearer(await login(client, operator.username, operator.password))
    assert (await client.get("/alerts", headers=token)).status_code == 200

    changed = await client.patch(
        f"/users/{operator.username}", json={"active": False}, headers=admin
    )
    assert changed.json()["active"] is False
    refused = await client.get("/alerts", headers=token)
    assert refused.status_code == 401
    assert "deactivated" in refused.json()["detail"]
    await client.patch(f"/users/{operator.username}", json={"active": True}, headers=admin)
    assert (await client.get("/alerts", headers=token)).status_code == 200

    new = "ochre-zebra-99-quilt"
    reset = await client.post(
        f"/users/{operator.username}/password", json={"new_password": new}, headers=admin
    )
    assert reset.status_code == 204
    assert (await client.get("/alerts", headers=token)).status_code == 401
    token = bearer(await login(client, operator.username, new))
    own = await client.post(
        "/auth/me/password",
        json={"old_password": new, "new_password": "quilt-ochre-77-zebra"},
        headers=token,
    )
    assert own.status_code == 204
    assert (await client.get("/alerts", headers=token)).status_code == 401
    await login(client, operator.username, "quilt-ochre-77-zebra")
    actions = [
        r["action"] for r in await audit_rows(running) if r["subject_id"] == operator.username
    ]
    assert actions.count("password_reset") == 1
    assert actions.count("password_changed") == 1


async def test_user_administration_needs_the_admin_role(
    running: Backend, client: httpx.AsyncClient
) -> None:
    accounts = await create_accounts(running)
    tokens = {
        role: bearer(await login(client, a.username, a.password)) for role, a in accounts.items()
    }
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        for method, path, body in (
            ("GET", "/users", None),
            (
                "POST",
                "/users",
                {"username": name(), "password": "zebra-quilt-47-ochre", "role": "admin"},
            ),
            ("PATCH", f"/users/{accounts[role].username}", {"role": "admin"}),
        ):
            response = await client.request(method, path, json=body, headers=tokens[role])
            assert response.status_code == 403, (role, method, path)
            assert response.json()["detail"] == "this needs the admin role"
    assert (await client.get("/users", headers=tokens[Role.ADMIN])).status_code == 200
    assert (await client.get("/alerts", headers=tokens[Role.OPERATOR])).status_code == 200
    # A role change applies to tokens already issued: the role is read on each request.
    await client.patch(
        f"/users/{accounts[Role.OPERATOR].username}",
        json={"role": "admin"},
        headers=tokens[Role.ADMIN],
    )
    assert (await client.get("/users", headers=tokens[Role.OPERATOR])).status_code == 200


async def test_admins_create_list_and_change_users(
    running: Backend, client: httpx.AsyncClient
) -> None:
    created = await client.post(
        "/users",
        json={
            "username": "nora",
            "password": "zebra-quilt-47-ochre",
            "role": "supervisor",
            "display_name": "Nora",
        },
        headers=SERVICE,
    )
    assert created.status_code == 201, created.text
    assert {k: created.json()[k] for k in ("username", "role", "display_name", "active")} == {
        "username": "nora",
        "role": "supervisor",
        "display_name": "Nora",
        "active": True,
    }
    assert "password" not in created.text
    assert "argon2" not in created.text
    again = await client.post(
        "/users",
        json={"username": "nora", "password": "zebra-quilt-47-ochre", "role": "admin"},
        headers=SERVICE,
    )
    assert again.status_code == 409
    weak = await client.post(
        "/users",
        json={"username": "olaf", "password": "olaf-olaf-olaf", "role": "operator"},
        headers=SERVICE,
    )
    assert weak.status_code == 422
    assert weak.headers["content-type"] == "application/problem+json"
    assert "username" in weak.json()["detail"]
    for username in ("pia", "quentin"):
        await client.post(
            "/users",
            json={"username": username, "password": "zebra-quilt-47-ochre", "role": "operator"},
            headers=SERVICE,
        )
    page = (await client.get("/users", params={"limit": 2, "offset": 1}, headers=SERVICE)).json()
    assert [u["username"] for u in page["items"]] == ["pia", "quentin"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert (await client.get("/users/nobody", headers=SERVICE)).status_code == 404
    assert (
        await client.patch("/users/nobody", json={"role": "admin"}, headers=SERVICE)
    ).status_code == 404
    # The last active admin cannot be demoted.
    await client.patch("/users/nora", json={"role": "admin"}, headers=SERVICE)
    last = await client.patch("/users/nora", json={"active": False}, headers=SERVICE)
    assert last.status_code == 409
    assert "last active admin" in last.json()["detail"]
    no_password = await client.post(
        "/auth/me/password",
        json={"old_password": "x", "new_password": "zebra-quilt-47-ochre"},
        headers=SERVICE,
    )
    assert no_password.status_code == 403


async def test_the_stream_takes_an_access_token(running: Backend, broker: Broker) -> None:
    account = (await create_accounts(running))[Role.OPERATOR]
    base = f"ws://127.0.0.1:{running.api_port}/api/v1/stream"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.api_port}/api/v1") as client:
        token = await login(client, account.username, account.password)
    refused: list[tuple[str, dict[str, str]]] = [
        (base, {}),
        (f"{base}?token=not-a-token", {}),
        (base, bearer(token + "x")),
    ]
    for url, headers in refused:
        async with websockets.connect(url, additional_headers=headers) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(10):
                    await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
    assert running.hub.subscriber_count == 0

    home = home_id()
    async with (
        MqttClient(host=broker.host, port=broker.port, client_id=f"gw-{home}") as gateway,
        websockets.connect(base, additional_headers=bearer(token)) as ws,
    ):
        # Subscribed by the time the handshake completes, not later: a client that refetches
        # when the stream opens must not miss a change made between its fetch and the stream.
        assert running.hub.subscriber_count == 1
        await gateway.publish(
            events_topic(home), encode_envelope(envelope(home, "sos", {"source": "button"}))
        )
        async with asyncio.timeout(10):
            message = json.loads(await ws.recv())
        assert (message["alert"]["kind"], message["alert"]["home"]) == ("sos", home)
    async with (
        websockets.connect(f"{base}?token={token}") as by_query,
        websockets.connect(base, subprotocols=["bearer", token]) as by_protocol,  # type: ignore[list-item]
    ):
        async with asyncio.timeout(10):
            await running.hub.wait_subscribers(2)
        assert by_protocol.subprotocol == "bearer"
        assert by_query.subprotocol is None


async def test_every_route_but_healthz_and_login_needs_a_token(
    running: Backend, client: httpx.AsyncClient
) -> None:
    root = f"http://127.0.0.1:{running.api_port}"
    schema = (await client.get(f"{root}/openapi.json")).json()
    open_paths = {"/api/v1/healthz", "/api/v1/auth/token"}
    checked = 0
    for path, operations in schema["paths"].items():
        if path in open_paths:
            continue
        concrete = path.replace("{", "").replace("}", "")
        for method in operations:
            response = await client.request(method.upper(), f"{root}{concrete}")
            assert response.status_code == 401, (method, path, response.text)
            checked += 1
    assert checked >= 8
