"""``/metrics`` of a running backend: alerts counted, the token needed, no home ids."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from backend import Backend
from protocol import Envelope, events_topic
from protocol.mqtt import MqttClient
from tests.backend.conftest import envelope, home_id
from tests.reports.conftest import AUTH
from tests.reports.test_metrics import samples


async def _publish(gateway: MqttClient, env: Envelope) -> None:
    await gateway.publish(events_topic(env.home), env.model_dump_json().encode(), qos=1)


@pytest.mark.broker
async def test_running_backend_serves_metrics(backend: Backend, gateway: MqttClient) -> None:
    home = home_id()
    sos = envelope(home, "sos", {"source": "button"})
    with backend.hub.subscribe() as sub:
        await _publish(gateway, sos)
        await _publish(gateway, sos)  # a gateway's retry: a duplicate
        await _publish(gateway, envelope(home, "contact", {"open": True}, seq=2))
        async with asyncio.timeout(10):
            await anext(aiter(sub))
            while backend.stats.stored + backend.stats.duplicates < 3:  # noqa: ASYNC110 - a counter
                await asyncio.sleep(0.02)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{backend.api_port}", timeout=10
    ) as client:
        response = await client.get("/metrics", headers=AUTH)
        assert (await client.get("/metrics")).status_code == 401
    assert response.status_code == 200
    assert home not in response.text
    assert not re.search(r'home="', response.text)
    values = samples(response.text)
    assert values["homecare_alerts_opened_total", (("kind", "sos"), ("priority", "1"))] == 1
    assert values["homecare_open_alerts", (("priority", "1"), ("status", "open"))] == 1
    assert values["homecare_mqtt_connected", ()] == 1
    # The backend's own ingest counters, read at scrape time.
    assert values["homecare_ingest_stored_total", ()] == 2
    assert values["homecare_ingest_duplicates_total", ()] == 1
    assert values["homecare_ingest_alerts_opened_total", ()] == 1
    assert values["process_resident_memory_bytes", ()] > 0
