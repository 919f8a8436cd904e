"""The alert and dispatch actions through a running backend's API and stream, on SQLite and
PostgreSQL: roles, refusals as problem documents, the audit trail, and two operators at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets

from backend import Backend
from backend.auth import Role
from protocol import encode_envelope, events_topic
from protocol.mqtt import MqttClient
from tests.alerts._directory import add_roster
from tests.backend.conftest import (
    TOKEN,
    api_client,
    backend_config,
    bearer,
    create_accounts,
    envelope,
    home_id,
    login,
)
from tests.brokers import Broker

pytestmark = [pytest.mark.broker, pytest.mark.timeout(90)]

ROSTER = (("F1", "family", 1), ("F2", "family", 2), ("C1", "community_worker", 1))
#: Responders told over MQTT, which the test broker accepts: their notifications succeed.
CHANNELS = [{"type": "mqtt"}]


@dataclass
class System:
    backend: Backend
    api: httpx.AsyncClient
    gateway: MqttClient
    home: str
    #: An access token per role, and a second operator's.
    tokens: dict[str, str]
    users: dict[str, str]

    async def raise_sos(self, home: str | None = None) -> str:
        """Press an SOS in the home; return the alert's id once it is opened."""
        home = home or self.home
        with self.backend.hub.subscribe() as sub:
            sos = envelope(home, "sos", {"source": "button"})
            await self.gateway.publish(events_topic(home), encode_envelope(sos))
            async with asyncio.timeout(10):
                async for change in sub:
                    if change.change == "opened" and change.alert.home == home:
                        return str(change.alert.id)
        raise AssertionError("no alert opened")

    async def post(self, path: str, role: str = "operator", **body: Any) -> httpx.Response:
        return await self.api.post(path, json=body or None, headers=bearer(self.tokens[role]))

    async def detail(self, alert_id: str) -> dict[str, Any]:
        resp = await self.api.get(f"/alerts/{alert_id}", headers=bearer(self.tokens["operator"]))
        assert resp.status_code == 200, resp.text
        doc: dict[str, Any] = resp.json()
        return doc


@pytest.fixture
async def system(broker: Broker, fresh_database_url: str) -> AsyncIterator[System]:
    home = home_id()
    async with (
        Backend(backend_config(broker, fresh_database_url)) as backend,
        api_client(backend) as api,
        MqttClient(host=broker.host, port=broker.port, client_id=f"gw-{home}") as gateway,
    ):
        await add_roster(backend.store, home, ROSTER, channels=CHANNELS)
        accounts = await create_accounts(backend)
        second, password = f"operator2-{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}"
        await backend.users.create("test", username=second, password=password, role=Role.OPERATOR)
        tokens = {r.value: await login(api, a.username, a.password) for r, a in accounts.items()}
        tokens["operator2"] = await login(api, second, password)
        users = {role.value: a.username for role, a in accounts.items()} | {"operator2": second}
        yield System(backend, api, gateway, home, tokens, users)


async def test_two_operators_acknowledging_at_once_one_wins_the_other_gets_409(
    system: System,
) -> None:
    for _ in range(3):
        alert_id = await system.raise_sos()
        first, second = await asyncio.gather(
            system.post(f"/alerts/{alert_id}/acknowledge", "operator"),
            system.post(f"/alerts/{alert_id}/acknowledge", "operator2"),
        )
        statuses = sorted((first.status_code, second.status_code))
        assert statuses == [200, 409], (first.text, second.text)
        won, lost = (first, second) if first.status_code == 200 else (second, first)
        winner = won.json()["alert"]["acknowledged_by"]
        assert winner in (system.users["operator"], system.users["operator2"])
        assert lost.headers["content-type"] == "application/problem+json"
        problem = lost.json()
        assert (problem["status"], problem["alert_status"]) == (409, "acknowledged")
        assert problem["acknowledged_by"] == winner
        assert f"acknowledged by {winner}" in problem["detail"]
        trail = (await system.detail(alert_id))["transitions"]
        assert [(t["action"], t["actor"]) for t in trail] == [
            ("open", "system"),
            ("acknowledge", winner),
        ]
        resolved = await system.post(f"/alerts/{alert_id}/resolve", outcome="test")
        assert resolved.status_code == 200, resolved.text


async def test_an_alert_from_acknowledgement_to_resolution(system: System) -> None:
    alert_id = await system.raise_sos()
    operator, supervisor = system.users["operator"], system.users["supervisor"]
    url = f"ws://127.0.0.1:{system.backend.api_port}/api/v1/stream?token={TOKEN}"
    async with websockets.connect(url) as ws:
        await system.backend.hub.wait_subscribers()
        ack = await system.post(f"/alerts/{alert_id}/acknowledge", note="calling her")
        assert ack.status_code == 200, ack.text
        assert ack.json()["alert"]["status"] == "acknowledged"

        refused = await system.post(f"/alerts/{alert_id}/escalate")
        assert refused.status_code == 403, "operators may not escalate"
        escalated = await system.post(
            f"/alerts/{alert_id}/escalate", "supervisor", reason="no answer"
        )
        assert escalated.json()["alert"]["escalation_level"] == 1
        reassigned = await system.post(
            f"/alerts/{alert_id}/reassign", "supervisor", assignee=system.users["operator2"]
        )
        assert reassigned.json()["alert"]["assignee"] == system.users["operator2"]

        sent = await system.post(f"/alerts/{alert_id}/dispatch", responder_ids=["C1"], note="go")
        assert sent.status_code == 200, sent.text
        (dispatch,) = sent.json()["dispatches"]
        assert (dispatch["responder_id"], dispatch["status"]) == ("C1", "pending")
        accepted = await system.post(f"/dispatches/{dispatch['id']}/accept")
        assert accepted.json()["dispatches"][0]["status"] == "accepted"
        arrived = await system.post(f"/dispatches/{dispatch['id']}/arrive")
        assert arrived.json()["dispatches"][0]["status"] == "arrived"
        again = await system.post(f"/dispatches/{dispatch['id']}/accept")
        assert again.status_code == 409
        assert again.json()["dispatch_status"] == "arrived"

        done = await system.post(
            f"/alerts/{alert_id}/resolve", outcome="resident_ok_after_call", note="she had slipped"
        )
        assert done.status_code == 200, done.text
        twice = await system.post(f"/alerts/{alert_id}/resolve", outcome="test")
        assert twice.status_code == 409
        assert twice.json()["alert_status"] == "resolved"

        streamed = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(7)]
    assert [(m["type"], m["change"], m["actor"]) for m in streamed] == [
        ("alert", "acknowledged", operator),
        ("alert", "escalated", supervisor),
        ("alert", "reassigned", supervisor),
        ("alert", "dispatched", operator),
        ("dispatch", "dispatch", operator),
        ("dispatch", "dispatch", operator),
        ("alert", "resolved", operator),
    ]
    assert [m["dispatches"][0]["status"] for m in streamed[3:6]] == [
        "pending",
        "accepted",
        "arrived",
    ]
    assert streamed[-1]["alert"]["outcome"] == "resident_ok_after_call"

    detail = await system.detail(alert_id)
    assert [t["action"] for t in detail["transitions"]] == [
        "open",
        "acknowledge",
        "escalate",
        "reassign",
        "dispatch",
        "accept",
        "arrive",
        "resolve",
    ]
    assert [t["escalation_level"] for t in detail["transitions"]] == [0, 0, 1, 1, 1, 1, 1, 1]
    assert (detail["status"], detail["resolved_by"], detail["resolution_note"]) == (
        "resolved",
        operator,
        "she had slipped",
    )
    assert [(d["responder_id"], d["status"]) for d in detail["dispatches"]] == [("C1", "arrived")]
    recipients = [n["recipient"] for n in detail["notifications"]]
    assert recipients[:2] == ["queue:operator", "F1"], "level 0 at once"
    assert recipients[2:4] == ["queue:supervisor", "F2"], "level 1 when escalated"
    assert "C1" in recipients[4:], "the dispatched responder"
    assert detail["failed_notifications"] == 0


async def test_a_failed_notification_shows_on_the_alert_and_moves_the_ladder(
    system: System,
) -> None:
    home = home_id()
    # A family member with no channel on record: telling them fails at once.
    await add_roster(system.backend.store, home, [("NOCHANNEL", "family", 1)])
    with system.backend.hub.subscribe() as sub:
        alert_id = await system.raise_sos(home)
        async with asyncio.timeout(20):
            async for change in sub:
                if str(change.alert.id) == alert_id and change.change == "notification_failed":
                    break
    assert change.alert.escalation_level == 1
    detail = await system.detail(alert_id)
    failed = [n for n in detail["notifications"] if n["status"] == "failed"]
    assert [(n["recipient"], n["last_error"]) for n in failed] == [
        ("NOCHANNEL", "responder NOCHANNEL has no notification channel")
    ]
    assert detail["failed_notifications"] == 1
    actions = [(t["action"], t["escalation_level"]) for t in detail["transitions"]]
    assert actions == [("open", 0), ("notification_failed", 0), ("escalate", 1)]
    assert "NOCHANNEL" in detail["transitions"][1]["reason"]
    assert detail["status"] == "open", "the ladder moved on; nobody acknowledged yet"


async def test_refusals_are_problem_documents(system: System) -> None:
    alert_id = await system.raise_sos()
    cases: list[tuple[str, dict[str, Any], int]] = [
        (f"/alerts/{uuid.uuid4()}/acknowledge", {}, 404),
        (f"/dispatches/{uuid.uuid4()}/accept", {}, 404),
        (f"/alerts/{alert_id}/resolve", {"outcome": "cured"}, 422),
        (f"/alerts/{alert_id}/resolve", {}, 422),
        (f"/alerts/{alert_id}/dispatch", {"responder_ids": []}, 422),
        (f"/alerts/{alert_id}/dispatch", {"responder_ids": ["NOBODY"]}, 422),
        (f"/alerts/{alert_id}/acknowledge", {"note": "x", "extra": 1}, 422),
    ]
    for path, body, status in cases:
        resp = await system.post(path, **body)
        assert resp.status_code == status, (path, body, resp.text)
        assert resp.headers["content-type"] == "application/problem+json"
    anonymous = await system.api.post(f"/alerts/{alert_id}/acknowledge")
    assert anonymous.status_code == 401
    detail = await system.detail(alert_id)
    assert (detail["status"], detail["version"]) == ("open", 0), "nothing was written"


async def test_the_alert_list_counts_every_match(system: System) -> None:
    for _ in range(3):
        alert_id = await system.raise_sos()
        await system.post(f"/alerts/{alert_id}/resolve", outcome="test")
    await system.raise_sos()
    headers = bearer(system.tokens["operator"])
    page = (await system.api.get("/alerts", params={"limit": 2}, headers=headers)).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (4, 2, 0, 2)
    params: dict[str, str | int] = {"status": "resolved", "limit": 2, "offset": 2}
    page = (await system.api.get("/alerts", params=params, headers=headers)).json()
    assert (page["total"], len(page["items"])) == (3, 1)
