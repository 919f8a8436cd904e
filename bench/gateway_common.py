"""Shared parts of the gateway benchmarks: a 30-device home, its config, the gateway process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway._store import open_store
from gateway.outbox import Outbox
from gateway.pipeline import Reading
from protocol import EventType
from protocol.mqtt import MqttClient

__all__ = [
    "DEVICES",
    "count_events",
    "fill_outbox",
    "gateway_process",
    "rss_kib",
    "toggle_payloads",
    "write_config",
]

#: 15 door sensors and 15 motion sensors, all on Zigbee2MQTT.
DEVICES: list[tuple[str, str, str]] = [
    *((f"door-{i:02d}", "aqara_mccgq11lm", "contact") for i in range(15)),
    *((f"pir-{i:02d}", "aqara_rtcgq11lm", "occupancy") for i in range(15)),
]


def write_config(
    path: Path, *, home: str, data_dir: Path, uplink_port: int, z2m_port: int, base: str
) -> Path:
    """Write the TOML config of a gateway for the 30-device home."""
    lines = [
        f'home_id = "{home}"',
        f"data_dir = {json.dumps(str(data_dir))}",
        "[uplink]",
        'host = "127.0.0.1"',
        f"port = {uplink_port}",
        f'client_id = "bench-gw-{home}"',
        "[zigbee2mqtt]",
        f'base_topic = "{base}"',
        "[zigbee2mqtt.broker]",
        'host = "127.0.0.1"',
        f"port = {z2m_port}",
    ]
    for device_id, profile, _ in DEVICES:
        lines += [
            "[[devices]]",
            f'device_id = "{device_id}"',
            f'profile = "{profile}"',
            f'address = "{device_id}"',
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def toggle_payloads(base: str, n: int, start: int = 0) -> Iterator[tuple[str, bytes]]:
    """Yield ``n`` Zigbee2MQTT reports, each flipping one device's state: one event each."""
    for k in range(start, start + n):
        device_id, _, key = DEVICES[k % len(DEVICES)]
        value = (k // len(DEVICES)) % 2 == 0
        yield f"{base}/{device_id}", json.dumps({key: value, "linkquality": 100}).encode()


def fill_outbox(data_dir: Path, home: str, n: int, batch: int = 500) -> None:
    """Store ``n`` motion and contact events in the gateway's outbox, as the gateway would."""
    conn = open_store(data_dir / "gateway.db")
    try:
        outbox = Outbox(conn, home)
        t0 = datetime(2026, 11, 23, tzinfo=UTC)
        for first in range(0, n, batch):
            readings = []
            for k in range(first, min(n, first + batch)):
                device_id, _, key = DEVICES[k % len(DEVICES)]
                value = (k // len(DEVICES)) % 2 == 0
                kind = EventType.CONTACT if key == "contact" else EventType.MOTION
                data = {"open": value} if key == "contact" else {"motion": value}
                readings.append(Reading(device_id, kind, data, t0 + timedelta(seconds=k), "room"))
            outbox.put(readings)
    finally:
        conn.close()


#: The gateway alone, without the command line around it.
_GATEWAY_ONLY = (
    "import asyncio, sys\n"
    "from pathlib import Path\n"
    "from gateway import load_gateway_config, run_gateway\n"
    "asyncio.run(run_gateway(load_gateway_config(Path(sys.argv[1]))))\n"
)


@contextmanager
def gateway_process(
    config: Path, *, cpu: int | None = None, cli: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m homecare gateway`` (pinned to ``cpu`` if given); stop it with SIGTERM.

    With ``cli=False``, run ``run_gateway`` directly, without the command line's imports.
    """
    cmd = [sys.executable, "-m", "homecare", "gateway", "--config", str(config)]
    if not cli:
        cmd = [sys.executable, "-c", _GATEWAY_ONLY, str(config)]
    if cpu is not None and os.cpu_count() and (os.cpu_count() or 1) > cpu:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our own interpreter and config
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def rss_kib(pid: int) -> tuple[int, int]:
    """Return (VmRSS, VmHWM) of a process in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def count_events(client: MqttClient, want: int, timeout_s: float) -> tuple[int, float, float]:
    """Count envelopes arriving on ``client`` until ``want``; return (count, first, last) times."""
    got, first, last = 0, 0.0, 0.0
    async with asyncio.timeout(timeout_s):
        async for msg in client.messages():
            if not msg.topic.endswith("/events"):
                continue
            now = time.perf_counter()
            if not got:
                first = now
            got += msg.payload.count(b'"seq":')
            last = now
            if got >= want:
                break
    return got, first, last
