"""Restart safety: a backend killed with SIGKILL loses and doubles no detector deadline."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from protocol import Envelope, encode_envelope, events_topic, new_event_id
from protocol.mqtt import MqttClient
from tests.backend._process import free_port, get_json, start_backend
from tests.backend.conftest import SECRET_KEY, TOKEN, home_id
from tests.brokers import Broker

pytestmark = [pytest.mark.broker, pytest.mark.timeout(90)]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Home A's dwell is overdue when the backend comes back; home B's is still ahead.
DWELL_A_MIN, DWELL_B_MIN = 0.05, 0.3


def _config(tmp_path: Path, broker: Broker, port: int, homes: tuple[str, str]) -> Path:
    path = tmp_path / "backend.toml"
    path.write_text(
        f'database_url = "sqlite+aiosqlite:///{tmp_path / "backend.db"}"\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'client_id = "restart-{homes[0]}"\n'
        f'[api]\nport = {port}\ntoken = "{TOKEN}"\n'
        f'[auth]\nsecret_key = "{SECRET_KEY}"\n'
        f'[[homes]]\nid = "{homes[0]}"\n[homes.care_plan]\nbathroom_dwell_min = {DWELL_A_MIN}\n'
        f'[[homes]]\nid = "{homes[1]}"\n[homes.care_plan]\nbathroom_dwell_min = {DWELL_B_MIN}\n'
    )
    return path


async def _get(api: httpx.AsyncClient, path: str, **params: Any) -> Any:
    return await get_json(api, path, headers=AUTH, **params)


def _bathroom_motion(home: str, at: datetime) -> Envelope:
    return Envelope.model_validate(
        {
            "id": str(new_event_id()),
            "home": home,
            "device": "pir_bathroom",
            "type": "motion",
            "at": at,
            "seq": 1,
            "room": "bathroom",
            "data": {"motion": True},
        }
    )


async def test_bathroom_dwell_fires_once_at_its_time_across_kill_9(
    broker: Broker, tmp_path: Path, backend_processes: list[subprocess.Popen[bytes]]
) -> None:
    home_a, home_b = home_id(), home_id()
    port = free_port()
    config = _config(tmp_path, broker, port, (home_a, home_b))
    backend_processes.append(start_backend(config))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=5) as api:
        await _get(api, "/alerts")
        entered = datetime.now(UTC)
        async with MqttClient(
            host=broker.host, port=broker.port, client_id=f"gw-{home_a}"
        ) as gateway:
            for home in (home_a, home_b):
                await gateway.publish(
                    events_topic(home), encode_envelope(_bathroom_motion(home, entered))
                )
        for home in (home_a, home_b):
            while not (await _get(api, f"/homes/{home}/events"))["items"]:  # noqa: ASYNC110 - polls another process
                await asyncio.sleep(0.05)

        os.killpg(backend_processes[0].pid, signal.SIGKILL)
        backend_processes[0].wait(10)
        due_a = entered + timedelta(minutes=DWELL_A_MIN)
        due_b = entered + timedelta(minutes=DWELL_B_MIN)
        await asyncio.sleep(max(0.0, (due_a - datetime.now(UTC)).total_seconds()) + 1)
        assert await _get_alerts_or_none(api) is None, "the backend is down"

        backend_processes.append(start_backend(config))
        await _get(api, "/alerts")
        restarted = datetime.now(UTC)
        await asyncio.sleep(max(0.0, (due_b - datetime.now(UTC)).total_seconds()) + 3)
        alerts = {h: (await _get(api, "/alerts", home=h))["items"] for h in (home_a, home_b)}

    for home in (home_a, home_b):
        assert [(a["kind"], a["trigger_count"]) for a in alerts[home]] == [("fall_suspected", 1)]
    opened_a = datetime.fromisoformat(alerts[home_a][0]["opened_at"])
    opened_b = datetime.fromisoformat(alerts[home_b][0]["opened_at"])
    # Overdue at restart: fired once, at once. Still ahead: fired at its own time.
    assert restarted - timedelta(seconds=2) <= opened_a <= restarted + timedelta(seconds=2)
    assert abs((opened_b - due_b).total_seconds()) <= 2


async def _get_alerts_or_none(api: httpx.AsyncClient) -> Any:
    try:
        resp = await api.get("/alerts", headers=AUTH)
    except httpx.TransportError:
        return None
    return resp.json()
