"""A simulated home read by the gateway's own source adapters and pipeline."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from device_profiles import load_registry
from gateway.pipeline import DeviceIndex, FilterState, process
from gateway.sources import Rejection, SourceItem
from gateway.sources.serial import SerialSource
from gateway.sources.zigbee2mqtt import Zigbee2MqttSource
from simulators import SimHome
from tests.brokers import Broker

WAIT_S = 10.0


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.broker
async def test_gateway_sources_read_a_simulated_home(broker: Broker, tmp_path: Path) -> None:
    base = f"z2m_{uuid.uuid4().hex[:10]}"
    readings: list[tuple[str, str, dict[str, Any]]] = []
    rejections: list[Rejection] = []
    changed = asyncio.Event()
    state = FilterState()

    async with SimHome(
        "H0100", z2m_host=broker.host, z2m_port=broker.port, base_topic=base
    ) as home:
        config = home.gateway_config("127.0.0.1", 1, tmp_path)
        index = DeviceIndex.from_config(config, load_registry())

        async def sink(items: list[SourceItem]) -> None:
            for item in items:
                outcome = process(state, index, item)
                readings.extend((r.device_id, str(r.type), r.data) for r in outcome.readings)
                rejections.extend(outcome.rejections)
            changed.set()

        async def until(predicate: Callable[[], bool]) -> None:
            async with asyncio.timeout(WAIT_S):
                while not predicate():
                    changed.clear()
                    await changed.wait()

        def count(device: str, kind: str, data: dict[str, Any] | None = None) -> int:
            return sum(
                1
                for d, t, x in readings
                if d == device and t == kind and (data is None or x == data)
            )

        assert config.zigbee2mqtt is not None
        z2m = Zigbee2MqttSource(config.zigbee2mqtt, client_id=f"gw-{base}", clock=_now)
        rf = SerialSource(config.serial[0], clock=_now)
        tasks = [asyncio.create_task(z2m.run(sink)), asyncio.create_task(rf.run(sink))]
        try:
            # Retained availability of all five Zigbee devices proves the subscription.
            await until(lambda: sum(t == "device_status" for _, t, _ in readings) == 5)
            # Frames written before the port opens are flushed by pyserial's open.
            async with asyncio.timeout(WAIT_S):
                while not rf.is_open:  # noqa: ASYNC110 - the source offers a flag, no event
                    await asyncio.sleep(0.01)

            await home.open_door()
            await home.door_heartbeat()
            await home.close_door()
            await home.press_sos()
            await home.press_sos()
            await home.smoke()
            await home.press_pendant()
            await home.write_serial_garbage(b"\x01\x02\x03")
            await home.open_back_door()

            await until(lambda: count("door_back", "contact") == 1)
            await until(lambda: count("smoke_kitchen", "smoke") == 1)
            await until(lambda: count("sos_bedroom", "sos") == 2)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    # The heartbeat repeats `contact`, and the state filter drops it.
    assert [x for d, t, x in readings if d == "door_front" and t == "contact"] == [
        {"open": True},
        {"open": False},
    ]
    assert count("door_front", "battery", {"percent": 100, "low": False}) == 1
    # Two presses are two calls for help, though their payloads are equal.
    assert count("sos_bedroom", "sos", {"source": "button"}) == 2
    assert count("smoke_kitchen", "smoke", {"alarm": True}) == 1
    assert count("pendant", "sos", {"source": "pendant"}) == 1
    assert count("door_back", "contact", {"open": True}) == 1
    # The noise may arrive over several reads; all of it is dead-lettered, nothing else.
    assert b"".join(r.raw for r in rejections) == b"\x01\x02\x03", rejections
    assert {r.source for r in rejections} == {"serial:rf433"}
