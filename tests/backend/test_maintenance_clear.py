"""A maintenance alert clears itself, on the record and on the stream, when its cause goes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from backend import Backend
from backend.alerts import AlertChange
from backend.hub import Subscription
from protocol import encode_envelope, events_topic
from protocol.mqtt import MqttClient
from tests.backend.conftest import TOKEN, envelope, home_id

pytestmark = pytest.mark.broker

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _next(sub: Subscription) -> AlertChange:
    async with asyncio.timeout(10):
        return await anext(sub)


async def test_low_battery_alert_clears_when_the_battery_is_replaced(
    backend: Backend, gateway: MqttClient, api: httpx.AsyncClient
) -> None:
    home = home_id()
    low = envelope(home, "battery", {"percent": 5, "low": True}, seq=1)
    fresh = envelope(home, "battery", {"percent": 100, "low": False}, seq=2)
    with backend.hub.subscribe() as sub:
        await gateway.publish(events_topic(home), encode_envelope(low))
        opened = await _next(sub)
        await gateway.publish(events_topic(home), encode_envelope(fresh))
        cleared = await _next(sub)
    assert (opened.change, opened.alert.kind, opened.alert.priority) == ("opened", "low_battery", 3)
    assert (cleared.change, cleared.alert.id, cleared.alert.status) == (
        "resolved",
        opened.alert.id,
        "resolved",
    )
    detail = (await api.get(f"/alerts/{opened.alert.id}", headers=AUTH)).json()
    assert detail["status"] == "resolved"
    assert [(t["actor"], t["to_status"]) for t in detail["transitions"]] == [
        ("system", "open"),
        ("system", "resolved"),
    ]
    assert backend.stats.alerts_cleared == 1
