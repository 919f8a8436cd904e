"""End to end: simulated devices -> gateway -> mosquitto -> backend -> API and stream."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from pydantic import SecretStr

from backend.app import Backend
from backend.config import ApiSettings, AuthSettings, BackendConfig, MqttSettings
from backend.storage import EventFilter
from gateway.app import Gateway
from simulators.home import SimHome
from tests.brokers import Broker

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

TOKEN = "e2e-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class System:
    backend: Backend
    home: SimHome
    gateway: Gateway
    api: httpx.AsyncClient

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.backend.api_port}/api/v1/stream?token={TOKEN}"


@pytest.fixture
async def system(broker: Broker, tmp_path: Path, database_url: str) -> AsyncIterator[System]:
    from tests.backend.conftest import empty_database  # noqa: PLC0415

    await empty_database(database_url)
    home_id = f"E{uuid.uuid4().hex[:10]}"
    config = BackendConfig(
        database_url=database_url,
        mqtt=MqttSettings(host=broker.host, port=broker.port, client_id=f"be-{home_id}"),
        api=ApiSettings(port=0, token=SecretStr(TOKEN)),
        auth=AuthSettings(secret_key=SecretStr("e2e-signing-key-0123456789abcdef0123")),
    )
    async with (
        Backend(config) as backend,
        SimHome(
            home_id, z2m_host=broker.host, z2m_port=broker.port, base_topic=f"z2m/{home_id}"
        ) as home,
        Gateway(home.gateway_config(broker.host, broker.port, tmp_path / "gw")) as gateway,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.api_port}/api/v1") as api,
    ):
        await gateway.wait_ready()
        yield System(backend, home, gateway, api)


async def _alerts(system: System, **params: Any) -> list[dict[str, Any]]:
    resp = await system.api.get(
        "/alerts", params={"home": system.home.home_id, **params}, headers=AUTH
    )
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


async def _next_alert(ws: websockets.ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(10):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def test_zigbee_sos_button_raises_an_alert_on_api_and_stream(system: System) -> None:
    async with websockets.connect(system.stream_url) as ws:
        await system.backend.hub.wait_subscribers()
        await system.home.press_sos()
        streamed = await _next_alert(ws)
    assert streamed["change"] == "opened"
    assert streamed["alert"]["kind"] == "sos"
    assert streamed["alert"]["priority"] == 1
    assert streamed["alert"]["home"] == system.home.home_id
    listed = await _alerts(system)
    assert [(a["kind"], a["priority"], a["status"]) for a in listed] == [("sos", 1, "open")]
    detail = (await system.api.get(f"/alerts/{listed[0]['id']}", headers=AUTH)).json()
    assert [e["device"] for e in detail["events"]] == ["sos_bedroom"]


async def test_serial_pendant_raises_an_alert_through_a_pty(system: System) -> None:
    async with websockets.connect(system.stream_url) as ws:
        await system.backend.hub.wait_subscribers()
        await system.home.write_serial_garbage(b"\xfd\x01\x02")  # a truncated frame first
        await system.home.press_pendant()
        streamed = await _next_alert(ws)
    assert (streamed["alert"]["kind"], streamed["alert"]["priority"]) == ("sos", 1)
    detail = (await system.api.get(f"/alerts/{streamed['alert']['id']}", headers=AUTH)).json()
    assert [(e["device"], e["data"]) for e in detail["events"]] == [
        ("pendant", {"source": "pendant"})
    ]
    assert system.gateway.stats.get("dead_letters", 0) >= 1


async def test_smoke_and_gas_raise_two_alerts(system: System) -> None:
    async with websockets.connect(system.stream_url) as ws:
        await system.backend.hub.wait_subscribers()
        await system.home.smoke()
        await system.home.gas()
        kinds = {(await _next_alert(ws))["alert"]["kind"] for _ in range(2)}
    assert kinds == {"smoke", "gas"}
    assert sorted(a["kind"] for a in await _alerts(system)) == ["gas", "smoke"]


async def test_door_heartbeat_with_cached_contact_creates_no_event(system: System) -> None:
    store = system.backend.store
    contact = EventFilter(home=system.home.home_id, type="contact")
    async with websockets.connect(system.stream_url) as ws:
        await system.backend.hub.wait_subscribers()
        await system.home.open_door()
        await system.home.door_heartbeat()
        await system.home.door_heartbeat()
        # The gateway forwards in order, so once this SOS is an alert the heartbeats were seen.
        await system.home.press_sos()
        await _next_alert(ws)
    events = await store.list_events(contact)
    assert [(e.device, e.data["open"]) for e in events] == [("door_front", True)]
    assert [a["kind"] for a in await _alerts(system)] == ["sos"]


def _run_demo(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "homecare", "demo", "--exit-when-done", "--api-port", "0", *extra],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("broker_choice", ["mosquitto", "embedded"])
def test_demo_prints_its_three_alerts(broker_choice: str) -> None:
    done = _run_demo("--broker", broker_choice)
    assert done.returncode == 0, done.stdout + done.stderr
    alerts = [line for line in done.stdout.splitlines() if " ALERT " in line]
    assert sorted(line.split()[3] for line in alerts) == ["gas", "smoke", "sos"]
    assert "door opening stored, raised no alert" in done.stdout


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("stop_signal", "to_group"),
    [
        (signal.SIGINT, False),
        (signal.SIGTERM, False),
        # Ctrl-C in a terminal signals the whole foreground process group.
        (signal.SIGINT, True),
    ],
)
def test_demo_stops_cleanly_and_leaves_no_broker(
    stop_signal: signal.Signals, to_group: bool
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "homecare", "demo", "--api-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        broker_line = next(line for line in lines if "broker mosquitto on" in line)
        port = int(broker_line.rsplit(":", 1)[1])
        if to_group:
            os.killpg(proc.pid, stop_signal)
        else:
            proc.send_signal(stop_signal)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "homecare demo: stopped" in rest
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass
