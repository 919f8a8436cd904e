"""The gateway rides out broker restarts and outages without a process restart."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from backend.app import Backend
from gateway import Gateway
from homecare.broker import MosquittoProcess
from simulators.home import SimHome
from tests.brokers import Broker
from tests.gateway._mqtt import eventually
from tests.gateway._system import (
    Toggler,
    backend_config,
    persistent_broker,
    stored_events,
    toggle_kit,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

EVENTS = 1000
OUTAGE_S = 60.0


async def _wait_stored(db: Path, home: str, n: int, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while len(stored_events(db, home)) < n:  # noqa: ASYNC110 - another process's database
            await asyncio.sleep(0.1)


def _check_exactly_once_in_order(
    db: Path, home: str, toggler: Toggler
) -> list[tuple[str, str, int, bool]]:
    stored = stored_events(db, home)
    assert len({event_id for event_id, *_ in stored}) == len(stored), "an id stored twice"
    per_device: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for _, device, seq, value in stored:
        per_device[device].append((seq, value))
    for device, sent in toggler.sent.items():
        got = per_device[device]
        assert [s for s, _ in got] == sorted(s for s, _ in got), f"{device} stored out of order"
        assert [v for _, v in got] == sent, f"{device}: stored values differ from sent"
    return stored


@pytest.mark.timeout(180)
async def test_backend_broker_down_for_60_s_while_1000_events_are_sent(
    broker: Broker, tmp_path: Path
) -> None:
    home_id = f"O{uuid.uuid4().hex[:8]}"
    db = tmp_path / "backend.db"
    kit = toggle_kit()
    toggler = Toggler(kit)
    uplink = persistent_broker(tmp_path / "uplink")
    uplink.start()
    try:
        async with (
            Backend(backend_config(db, uplink, f"be-{home_id}")) as backend,
            SimHome(
                home_id, z2m_port=broker.port, base_topic=f"z2m/{home_id}", serial=False, kit=kit
            ) as home,
            Gateway(home.gateway_config(uplink.host, uplink.port, tmp_path / "gw")) as gw,
        ):
            await eventually(lambda: gw.ready)
            n = 0
            for _ in range(100):
                await home.report(*toggler.next(n))
                n += 1
            await _wait_stored(db, home_id, 100, 20)

            uplink.stop()
            down_at = time.monotonic()
            await eventually(lambda: not gw.uplink_connected)
            # 800 events spread over the first 40 s of the outage.
            for _ in range(800):
                await home.report(*toggler.next(n))
                n += 1
                await asyncio.sleep(0.05)
            await eventually(lambda: gw.stats["events_stored"] >= 900 + len(kit), timeout_s=10)
            assert gw.outbox_size() >= 800
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            assert not gw.uplink_connected

            uplink.start()
            for _ in range(EVENTS - n):
                await home.report(*toggler.next(n))
                n += 1
            await _wait_stored(db, home_id, EVENTS, 60)
            await eventually(lambda: gw.outbox_size() == 0, timeout_s=20)
            stored = _check_exactly_once_in_order(db, home_id, toggler)
            assert len(stored) == EVENTS
            assert gw.stats.get("restarts:uplink", 0) == 0  # paho reconnected; nothing restarted
            assert backend.stats.storage_failures == 0
    finally:
        uplink.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("which", ["local", "backend"])
async def test_the_gateway_rides_out_a_broker_restart(tmp_path: Path, which: str) -> None:
    home_id = f"R{uuid.uuid4().hex[:8]}"
    db = tmp_path / "backend.db"
    kit = toggle_kit(doors=2, pirs=1)
    toggler = Toggler(kit)
    local = MosquittoProcess(tmp_path / "local")
    uplink = persistent_broker(tmp_path / "uplink")
    restarted = local if which == "local" else uplink
    local.start()
    uplink.start()
    try:
        async with (
            Backend(backend_config(db, uplink, f"be-{home_id}")),
            SimHome(
                home_id, z2m_port=local.port, base_topic=f"z2m/{home_id}", serial=False, kit=kit
            ) as home,
            Gateway(home.gateway_config(uplink.host, uplink.port, tmp_path / "gw")) as gw,
        ):
            await eventually(lambda: gw.ready)
            for n in range(30):
                await home.report(*toggler.next(n))
            await _wait_stored(db, home_id, 30, 20)

            restarted.stop()
            await eventually(lambda: not gw.ready)
            await asyncio.sleep(0.5)
            restarted.start()
            # paho reconnects (1 s, then doubling) and subscribes again; the simulator too.
            await eventually(lambda: gw.ready, timeout_s=30)
            sent = 30
            for _ in range(30):
                try:
                    await home.report(*toggler.next(sent))
                except Exception:  # noqa: BLE001 - the simulator's own session may still be down
                    toggler.sent[toggler.kit[sent % len(kit)].device_id].pop()
                    toggler.state[toggler.kit[sent % len(kit)].device_id] ^= True
                    await asyncio.sleep(0.5)
                    continue
                sent += 1
            await _wait_stored(db, home_id, sent, 40)
            _check_exactly_once_in_order(db, home_id, toggler)
            assert gw.stats.get("restarts:uplink", 0) == 0
            assert gw.stats.get("restarts:zigbee2mqtt", 0) == 0
    finally:
        local.stop()
        uplink.stop()
