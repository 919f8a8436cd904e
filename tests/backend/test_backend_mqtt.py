"""End to end over a real mosquitto: ingest, alerts, the API and the WebSocket stream."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from backend import Backend
from backend.alerts import AlertChange
from backend.hub import Subscription
from protocol import encode_batch, encode_envelope, events_topic, status_topic
from protocol.mqtt import MqttClient
from tests.backend.conftest import TOKEN, envelope, home_id

pytestmark = pytest.mark.broker

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def next_change(sub: Subscription) -> AlertChange:
    async with asyncio.timeout(10):
        return await anext(sub)


async def test_duplicate_delivery_stores_one_event_and_one_alert(
    backend: Backend, gateway: MqttClient
) -> None:
    home = home_id()
    sos = envelope(home, "sos", {"source": "button"})
    marker = envelope(home, "smoke", {"alarm": True}, seq=2)
    with backend.hub.subscribe() as sub:
        await gateway.publish(events_topic(home), encode_envelope(sos))
        await gateway.publish(events_topic(home), encode_envelope(sos))
        await gateway.publish(events_topic(home), encode_batch([sos, marker]))
        first = await next_change(sub)
        second = await next_change(sub)
    assert (first.change, first.alert.kind, first.event_id) == ("opened", "sos", sos.id)
    assert (second.change, second.alert.kind) == ("opened", "smoke")
    assert await backend.store.count_events(home) == 2
    assert backend.stats.duplicates == 2
    assert backend.stats.alerts_opened == 2
    assert backend.stats.alerts_attached == 0


async def test_alarms_reach_the_api_and_the_stream(
    backend: Backend, gateway: MqttClient, api: httpx.AsyncClient
) -> None:
    home = home_id()
    url = f"ws://127.0.0.1:{backend.api_port}/api/v1/stream?token={TOKEN}"
    async with websockets.connect(url) as ws:
        # The stream subscribes once the handshake is accepted; wait for that.
        async with asyncio.timeout(10):
            await backend.hub.wait_subscribers()
        sent = [
            envelope(home, "sos", {"source": "pendant"}, seq=1),
            envelope(home, "smoke", {"alarm": True}, seq=2),
            envelope(home, "gas", {"alarm": True}, seq=3),
        ]
        for event in sent:
            await gateway.publish(events_topic(home), encode_envelope(event))
        async with asyncio.timeout(10):
            streamed = [json.loads(await ws.recv()) for _ in sent]
    assert [m["alert"]["kind"] for m in streamed] == ["sos", "smoke", "gas"]
    assert all(m["type"] == "alert" and m["change"] == "opened" for m in streamed)
    assert all(m["alert"]["priority"] == 1 and m["alert"]["home"] == home for m in streamed)

    listed = (await api.get("/alerts", params={"home": home}, headers=AUTH)).json()
    assert [a["kind"] for a in listed["items"]] == ["gas", "smoke", "sos"]
    only_smoke = (
        await api.get("/alerts", params={"home": home, "kind": "smoke"}, headers=AUTH)
    ).json()
    assert [a["kind"] for a in only_smoke["items"]] == ["smoke"]

    sos_id = streamed[0]["alert"]["id"]
    detail = (await api.get(f"/alerts/{sos_id}", headers=AUTH)).json()
    assert detail["status"] == "open"
    assert [(t["actor"], t["from_status"], t["to_status"]) for t in detail["transitions"]] == [
        ("system", None, "open")
    ]
    assert [e["id"] for e in detail["events"]] == [str(sent[0].id)]

    events = (await api.get(f"/homes/{home}/events", params={"type": "gas"}, headers=AUTH)).json()
    assert [e["id"] for e in events["items"]] == [str(sent[2].id)]


async def test_second_sos_attaches_and_contact_raises_nothing(
    backend: Backend, gateway: MqttClient, api: httpx.AsyncClient
) -> None:
    home = home_id()
    first = envelope(home, "sos", {"source": "button"}, seq=1)
    door = envelope(home, "contact", {"open": True}, seq=2)
    smoke_off = envelope(home, "smoke", {"alarm": False}, seq=3)
    second = envelope(home, "sos", {"source": "pull_cord"}, seq=4)
    with backend.hub.subscribe() as sub:
        for event in (first, door, smoke_off, second):
            await gateway.publish(events_topic(home), encode_envelope(event))
        opened = await next_change(sub)
        attached = await next_change(sub)
    assert opened.change == "opened"
    assert attached.change == "attached"
    assert attached.alert.id == opened.alert.id
    assert attached.alert.trigger_count == 2
    listed = (await api.get("/alerts", params={"home": home}, headers=AUTH)).json()
    assert len(listed["items"]) == 1
    assert listed["items"][0]["trigger_count"] == 2
    detail = (await api.get(f"/alerts/{opened.alert.id}", headers=AUTH)).json()
    assert [e["id"] for e in detail["events"]] == [str(first.id), str(second.id)]
    assert len(detail["transitions"]) == 1
    assert await backend.store.count_events(home) == 4


async def test_bad_input_is_dead_lettered_and_the_rest_is_stored(
    backend: Backend, gateway: MqttClient
) -> None:
    home, other = home_id(), home_id()
    good = envelope(home, "contact", {"open": False}, seq=1)
    wrong_type = {**json.loads(encode_envelope(good)), "id": str(uuid.uuid4()), "seq": "7"}
    marker = envelope(home, "sos", {"source": "button"}, seq=9)
    with backend.hub.subscribe() as sub:
        await gateway.publish(events_topic(home), b"{not json")
        await gateway.publish(
            events_topic(home), encode_envelope(envelope(other, "sos", {"source": "button"}))
        )
        batch = b"[" + encode_envelope(good) + b"," + json.dumps(wrong_type).encode() + b"]"
        await gateway.publish(events_topic(home), batch)
        await gateway.publish(events_topic(home), encode_envelope(marker))
        change = await next_change(sub)
    assert change.event_id == marker.id
    assert await backend.store.count_events(home) == 2
    assert await backend.store.count_events(other) == 0
    reasons = [d.reason for d in await backend.store.list_dead_letters()]
    assert any("not JSON" in r for r in reasons)
    assert any(f"names home {other!r}" in r for r in reasons)
    assert any("item 1" in r and "seq" in r for r in reasons)
    assert backend.stats.dead_lettered == 3


async def test_gateway_status_updates_the_home(backend: Backend, gateway: MqttClient) -> None:
    home = home_id()
    marker = envelope(home, "sos", {"source": "button"})
    with backend.hub.subscribe() as sub:
        await gateway.publish(
            status_topic(home), json.dumps({"online": True, "outbox": 3}).encode(), retain=True
        )
        await gateway.publish(events_topic(home), encode_envelope(marker))
        await next_change(sub)
    status = await backend.store.get_home(home)
    assert status is not None
    assert status.gateway_online is True
    assert status.last_status is not None
    assert status.last_status["outbox"] == 3
    await gateway.publish(status_topic(home), b"", retain=True)


async def test_every_route_but_healthz_needs_the_token(
    backend: Backend, api: httpx.AsyncClient
) -> None:
    assert (await api.get("/healthz")).json()["status"] == "ok"
    for path in ("/alerts", f"/alerts/{uuid.uuid4()}", "/homes/H1/events"):
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN}):
            response = await api.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 401
    missing = await api.get(f"/alerts/{uuid.uuid4()}", headers=AUTH)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    invalid = await api.get("/alerts", params={"priority": 9}, headers=AUTH)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("suffix", ["", "?token=wrong-token"])
async def test_stream_closes_1008_without_a_valid_token(backend: Backend, suffix: str) -> None:
    url = f"ws://127.0.0.1:{backend.api_port}/api/v1/stream{suffix}"
    async with websockets.connect(url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


async def test_stream_accepts_the_bearer_header(backend: Backend, gateway: MqttClient) -> None:
    home = home_id()
    url = f"ws://127.0.0.1:{backend.api_port}/api/v1/stream"
    async with websockets.connect(url, additional_headers=AUTH) as ws:
        async with asyncio.timeout(10):
            await backend.hub.wait_subscribers()
        await gateway.publish(
            events_topic(home), encode_envelope(envelope(home, "sos", {"source": "button"}))
        )
        async with asyncio.timeout(10):
            message = json.loads(await ws.recv())
    assert message["alert"]["home"] == home
