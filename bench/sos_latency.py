"""SOS press to alert: latency through the simulator, gateway, broker and backend.

Run: ``python -m bench sos-latency``. A simulated Tuya SOS button publishes its
real Zigbee2MQTT payload; the gateway decodes it, stores it in its outbox and
publishes it with QoS 1; the backend stores it, raises or updates the alert and
announces it. The clock starts just before the button's publish and stops when
the alert change arrives on the backend's WebSocket stream (and, separately,
on its in-process hub). Target: p99 < 50 ms.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import websockets
from pydantic import SecretStr

from backend.app import Backend
from backend.config import ApiSettings, AuthSettings, BackendConfig, MqttSettings
from gateway.app import Gateway
from homecare.broker import MosquittoProcess
from simulators.home import SimHome

__all__ = ["main"]

PRESSES = 100
_TOKEN = secrets.token_urlsafe(24)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _run(root: Path) -> tuple[list[float], list[float]]:
    with MosquittoProcess(root / "broker") as broker:
        config = BackendConfig(
            database_url=f"sqlite+aiosqlite:///{root / 'backend.db'}",
            mqtt=MqttSettings(host=broker.host, port=broker.port, client_id="bench-backend"),
            api=ApiSettings(port=0, token=SecretStr(_TOKEN)),
            auth=AuthSettings(secret_key=SecretStr(secrets.token_urlsafe(48))),
        )
        async with (
            Backend(config) as backend,
            SimHome("B0001", z2m_host=broker.host, z2m_port=broker.port, serial=False) as home,
            Gateway(home.gateway_config(broker.host, broker.port, root / "gw")) as gateway,
        ):
            await gateway.wait_ready()
            url = f"ws://127.0.0.1:{backend.api_port}/api/v1/stream?token={_TOKEN}"
            to_ws: list[float] = []
            to_hub: list[float] = []
            with backend.hub.subscribe() as sub:
                async with websockets.connect(url) as ws:
                    await backend.hub.wait_subscribers(2)
                    for _ in range(PRESSES + 5):
                        t0 = time.perf_counter()
                        await home.press_sos()
                        await anext(sub)
                        t_hub = time.perf_counter()
                        json.loads(await ws.recv())
                        t_ws = time.perf_counter()
                        to_hub.append((t_hub - t0) * 1000)
                        to_ws.append((t_ws - t0) * 1000)
                        await asyncio.sleep(0.02)
            # The first presses warm caches and connections; report the steady state.
            return to_ws[5:], to_hub[5:]


def main() -> None:
    """Print p50 and p99 of SOS press to alert over 100 presses."""
    with tempfile.TemporaryDirectory(prefix="homecare-bench-") as tmp:
        to_ws, to_hub = asyncio.run(_run(Path(tmp)))
    print(f"SOS press to alert, {len(to_ws)} presses, Zigbee2MQTT button -> gateway -> mosquitto")
    print("  -> backend (SQLite WAL), including both broker hops")
    for name, values in (("to WebSocket", to_ws), ("to backend hub", to_hub)):
        print(
            f"  {name:<15} p50 {statistics.median(values):6.2f} ms   "
            f"p99 {_pct(values, 0.99):6.2f} ms   max {max(values):6.2f} ms"
        )
    print("  target: p99 < 50 ms")


if __name__ == "__main__":
    main()
