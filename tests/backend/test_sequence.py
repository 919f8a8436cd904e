"""The backend spots events a gateway sent that never arrived, by their numbers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from backend import Backend
from protocol import encode_batch, events_topic
from protocol.mqtt import MqttClient
from tests.backend.conftest import TOKEN, envelope, home_id

pytestmark = pytest.mark.broker

AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _stored(backend: Backend, home: str, count: int) -> None:
    async with asyncio.timeout(10):
        while await backend.store.count_events(home) < count:  # noqa: ASYNC110 - no change feed
            await asyncio.sleep(0.02)


async def test_gaps_show_on_the_home_until_the_backlog_fills_them(
    backend: Backend, gateway: MqttClient, api: httpx.AsyncClient
) -> None:
    home = home_id()
    motion = [envelope(home, "motion", {"motion": i % 2 == 0}, seq=i) for i in range(6)]
    # An SOS queued behind an outage goes first (seq 6); 2..5 are still in the outbox.
    await gateway.publish(events_topic(home), encode_batch([*motion[:2]]))
    await gateway.publish(
        events_topic(home), encode_batch([envelope(home, "sos", {"source": "pendant"}, seq=6)])
    )
    await _stored(backend, home, 3)
    seen = (await api.get(f"/homes/{home}", headers=AUTH)).json()
    assert seen["sequence"] == {"high": 6, "missing": 4, "missing_ranges": [[2, 5]], "resets": 0}

    await gateway.publish(events_topic(home), encode_batch(motion[2:]))
    await _stored(backend, home, 7)
    seen = (await api.get(f"/homes/{home}", headers=AUTH)).json()
    assert seen["sequence"]["missing"] == 0
    assert (await api.get("/homes/H-nobody", headers=AUTH)).status_code == 404


async def test_the_numbering_survives_a_backend_restart(
    backend: Backend, gateway: MqttClient
) -> None:
    home = home_id()
    await gateway.publish(
        events_topic(home), encode_batch([envelope(home, "motion", {"motion": True}, seq=0)])
    )
    await _stored(backend, home, 1)
    # A fresh ingest cache reads the stored numbering back.
    backend_ingest = backend._ingest
    assert backend_ingest is not None
    backend_ingest.sequences.clear()
    await gateway.publish(
        events_topic(home), encode_batch([envelope(home, "motion", {"motion": False}, seq=3)])
    )
    await _stored(backend, home, 2)
    row = await backend.store.get_home(home)
    assert row is not None
    assert row.sequence is not None
    assert row.sequence["missing"] == [[1, 2]]
