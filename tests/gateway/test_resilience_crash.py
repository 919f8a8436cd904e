"""The gateway process killed with SIGKILL mid-stream, or stopped with SIGTERM, loses nothing."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.app import Backend
from gateway import GatewayConfig
from simulators.home import SimHome
from tests.brokers import Broker
from tests.gateway._system import (
    Toggler,
    backend_config,
    persistent_broker,
    stored_events,
    toggle_kit,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def write_config(config: GatewayConfig, path: Path) -> Path:
    """Write a gateway config as the TOML file the command reads."""
    q = json.dumps
    lines = [
        f"home_id = {q(config.home_id)}",
        f"data_dir = {q(str(config.data_dir))}",
        "[uplink]",
        f"host = {q(config.uplink.host)}",
        f"port = {config.uplink.port}",
        f"client_id = {q(config.uplink.client_id or 'gw-' + config.home_id)}",
    ]
    if config.zigbee2mqtt is not None:
        lines += [
            "[zigbee2mqtt]",
            f"base_topic = {q(config.zigbee2mqtt.base_topic)}",
            "[zigbee2mqtt.broker]",
            f"host = {q(config.zigbee2mqtt.broker.host)}",
            f"port = {config.zigbee2mqtt.broker.port}",
        ]
    for dev in config.devices:
        lines += [
            "[[devices]]",
            f"device_id = {q(dev.device_id)}",
            f"profile = {q(dev.profile)}",
            f"address = {q(dev.address)}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def gateway_process(config_file: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m homecare gateway --config FILE``; kill it if still running at the end."""
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "homecare", "gateway", "--config", str(config_file)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _collapse(values: list[bool]) -> list[bool]:
    out: list[bool] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def _delivered(db: Path, home: str, toggler: Toggler) -> bool:
    per_device: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for _, device, seq, value in stored_events(db, home):
        per_device[device].append((seq, value))
    return all(
        _collapse([v for _, v in sorted(per_device[d])]) == sent for d, sent in toggler.sent.items()
    )


async def _until(check: object, timeout_s: float, what: str) -> None:
    assert callable(check)
    try:
        async with asyncio.timeout(timeout_s):
            while not check():  # noqa: ASYNC110 - polls another process
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@pytest.mark.timeout(120)
async def test_kill_9_mid_stream_loses_nothing_and_duplicates_are_dropped_by_id(
    broker: Broker, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    home_id = f"K{uuid.uuid4().hex[:8]}"
    db = tmp_path / "backend.db"
    kit = toggle_kit()
    toggler = Toggler(kit)
    log = tmp_path / "gateway.log"
    with persistent_broker(tmp_path / "uplink") as uplink:
        async with (
            Backend(backend_config(db, uplink, f"be-{home_id}")) as backend,
            SimHome(
                home_id, z2m_port=broker.port, base_topic=f"z2m/{home_id}", serial=False, kit=kit
            ) as home,
        ):
            config = home.gateway_config(uplink.host, uplink.port, tmp_path / "gw")
            config_file = write_config(config, tmp_path / "gateway.toml")
            sent = 0

            async def keep_sending() -> None:
                nonlocal sent
                for n in range(600):
                    await home.report(*toggler.next(n))
                    sent += 1
                    await asyncio.sleep(0.003)

            with gateway_process(config_file, log) as first:
                # The gateway's availability events arrive once its sources listen.
                await _until(
                    lambda: backend.stats.stored >= len(kit), 20, "the first gateway to start"
                )
                sender = asyncio.create_task(keep_sending())
                try:
                    await _until(lambda: backend.stats.stored >= 150, 20, "events to flow")
                    first.send_signal(signal.SIGKILL)
                    assert first.wait(10) == -signal.SIGKILL
                    killed_at = sent
                    # The local broker keeps the gateway's persistent session while it is down.
                    await asyncio.sleep(1.0)
                    with gateway_process(config_file, log) as second:
                        await sender
                        assert killed_at < sent  # the simulator sent on through the crash
                        await _until(lambda: _delivered(db, home_id, toggler), 60, "every event")
                        second.send_signal(signal.SIGTERM)
                        assert second.wait(15) == 0, log.read_text()[-2000:]
                finally:
                    sender.cancel()
            stored = stored_events(db, home_id)
            # Every id once; republished events (same id) were dropped by the backend.
            assert len({event_id for event_id, *_ in stored}) == len(stored)
            assert len(stored) >= sent == 600
            record_property("events_sent", sent)
            record_property("events_stored", len(stored))
            record_property("duplicates_dropped_by_id", backend.stats.duplicates)


@pytest.mark.timeout(60)
async def test_sigterm_with_the_uplink_down_exits_cleanly_and_keeps_the_outbox(
    broker: Broker, tmp_path: Path
) -> None:
    home_id = f"T{uuid.uuid4().hex[:8]}"
    db = tmp_path / "backend.db"
    kit = toggle_kit(doors=1, pirs=1)
    toggler = Toggler(kit)
    log = tmp_path / "gateway.log"
    uplink = persistent_broker(tmp_path / "uplink")
    async with SimHome(
        home_id, z2m_port=broker.port, base_topic=f"z2m/{home_id}", serial=False, kit=kit
    ) as home:
        config = home.gateway_config(uplink.host, uplink.port, tmp_path / "gw")
        config_file = write_config(config, tmp_path / "gateway.toml")
        with gateway_process(config_file, log) as proc:
            outbox = tmp_path / "gw" / "gateway.db"
            # The retained availability of each device arrives once the source listens.
            await _until(lambda: _outbox_size(outbox) == len(kit), 30, "the gateway to listen")
            for n in range(20):
                await home.report(*toggler.next(n))
            await _until(lambda: _outbox_size(outbox) == 20 + len(kit), 20, "the outbox")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0, log.read_text()[-2000:]
        assert _outbox_size(outbox) == 20 + len(kit)
        with uplink:
            async with Backend(backend_config(db, uplink, f"be-{home_id}")):
                with gateway_process(config_file, log) as proc:
                    await _until(lambda: _delivered(db, home_id, toggler), 30, "the backlog")
                    proc.send_signal(signal.SIGTERM)
                    assert proc.wait(15) == 0


def _outbox_size(path: Path) -> int:
    import sqlite3  # noqa: PLC0415

    if not path.exists():
        return -1
    conn = sqlite3.connect(path)
    try:
        (n,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    except sqlite3.OperationalError:
        return -1
    finally:
        conn.close()
    return int(n)
