"""Serial receivers through real pseudo-terminals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from device_profiles import SourceKind, encode_ev1527
from gateway import Gateway
from gateway.config import SerialPortConfig
from gateway.sources import RawReading, Rejection, SourceItem
from gateway.sources.serial import SerialSource
from protocol import Envelope, decode_events_payload, events_topic
from tests.brokers import Broker
from tests.gateway._helpers import SERIAL_CODE, make_config
from tests.gateway._mqtt import eventually, subscriber

CODE = int(SERIAL_CODE, 16)


@contextlib.contextmanager
def pty_pair() -> Iterator[tuple[int, str]]:
    """Yield the master fd and the slave's path of a fresh pseudo-terminal."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        yield master, path
    finally:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class Collected:
    def __init__(self) -> None:
        self.items: list[SourceItem] = []
        self.changed = asyncio.Event()

    async def sink(self, batch: list[SourceItem]) -> None:
        self.items.extend(batch)
        self.changed.set()

    def frames(self) -> list[RawReading]:
        return [i for i in self.items if isinstance(i, RawReading)]

    def rejections(self) -> list[Rejection]:
        return [i for i in self.items if isinstance(i, Rejection)]

    async def wait_frames(self, n: int, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s):
            while len(self.frames()) < n:
                self.changed.clear()
                await self.changed.wait()


def _source(path: str) -> SerialSource:
    return SerialSource(
        SerialPortConfig(name="rf", path=path, framing="ev1527"),
        clock=lambda: datetime.now(UTC),
        read_timeout_s=0.1,
        min_backoff_s=0.02,
        max_backoff_s=0.1,
    )


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "serial-rf"]


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_frames_arrive_and_the_framer_resyncs_after_garbage() -> None:
    collected = Collected()
    with pty_pair() as (master, path):
        source = _source(path)
        task = asyncio.create_task(source.run(collected.sink))
        try:
            await eventually(lambda: source.is_open)
            opened = encode_ev1527(CODE, 0x0A)
            closed = encode_ev1527(CODE, 0x0E)
            truncated = opened[:3]
            os.write(master, opened + truncated + closed + b"\x00\x11" + encode_ev1527(0x123, 7))
            await collected.wait_frames(3)
        finally:
            await _stop(task)
    frames = collected.frames()
    assert [(f.address, f.payload["key"]) for f in frames] == [
        (SERIAL_CODE, 0x0A),
        (SERIAL_CODE, 0x0E),
        ("000123", 7),
    ]
    assert all(f.source is SourceKind.SERIAL and f.port == "rf" for f in frames)
    assert frames[1].raw == encode_ev1527(CODE, 0x0E)
    reasons = [r.reason for r in collected.rejections()]
    assert "bad frame trailer" in reasons
    assert "bytes before frame header" in reasons
    assert all(r.source == "serial:rf" for r in collected.rejections())
    assert _reader_threads() == []


async def test_reader_reopens_after_the_other_end_closes(tmp_path: Path) -> None:
    collected = Collected()
    link = tmp_path / "ttyRF"
    with pty_pair() as (master, path):
        link.symlink_to(path)
        source = _source(str(link))
        task = asyncio.create_task(source.run(collected.sink))
        try:
            await eventually(lambda: source.is_open)
            os.write(master, encode_ev1527(CODE, 0x0A))
            await collected.wait_frames(1)
            os.close(master)
            await eventually(lambda: not source.is_open)
            with pty_pair() as (master2, path2):
                link.unlink()
                link.symlink_to(path2)
                await eventually(lambda: source.is_open and source.opened_count >= 2)
                os.write(master2, encode_ev1527(CODE, 0x0E))
                await collected.wait_frames(2)
        finally:
            await _stop(task)
    assert [f.payload["key"] for f in collected.frames()] == [0x0A, 0x0E]
    assert _reader_threads() == []


async def test_missing_port_is_retried_and_stops_cleanly(tmp_path: Path) -> None:
    source = _source(str(tmp_path / "absent"))
    collected = Collected()
    task = asyncio.create_task(source.run(collected.sink))
    await asyncio.sleep(0)
    assert not source.is_open
    await _stop(task)
    assert _reader_threads() == []
    assert collected.frames() == []
    assert collected.rejections() == []


@pytest.mark.broker
async def test_serial_frames_reach_the_events_topic(broker: Broker, tmp_path: Path) -> None:
    home = f"H{uuid.uuid4().hex[:8]}"
    with pty_pair() as (master, path):
        config = make_config(
            tmp_path, uplink_port=broker.port, zigbee_port=None, serial_path=path, home_id=home
        )
        async with (
            subscriber(broker, events_topic(home)) as sub,
            Gateway(config, serial_read_timeout_s=0.1) as gw,
        ):
            await eventually(lambda: gw.stats.get("status_published", 0) >= 1)
            await eventually(lambda: gw.source_states()["serial:rf"] == "open")
            # A transmitter repeats its code: the three copies of one press are one event.
            burst = encode_ev1527(CODE, 0x0A) * 3
            os.write(master, burst + encode_ev1527(0xFFFFFF, 0x0A))
            await eventually(lambda: gw.stats.get("suppressed:repeat", 0) == 2)
            os.write(master, encode_ev1527(CODE, 0x0E))
            got: list[Envelope] = []
            while len(got) < 2:
                msg = await sub.next_matching(lambda m: m.topic == events_topic(home))
                got += [e for e in decode_events_payload(msg.payload) if isinstance(e, Envelope)]
            assert [(e.device, e.type, e.data.model_dump()) for e in got] == [
                ("door-back", "contact", {"open": True}),
                ("door-back", "contact", {"open": False}),
            ]
            assert got[0].room == "kitchen"
            await eventually(lambda: gw.stats.get("dead_letter:unknown device", 0) == 1)


def _status_events(payload: bytes) -> list[tuple[str, bool, str]]:
    return [
        (e.device, e.data.model_dump()["online"], e.data.model_dump()["reason"])
        for e in decode_events_payload(payload)
        if isinstance(e, Envelope) and e.type == "device_status"
    ]


@pytest.mark.broker
async def test_lost_receiver_reports_offline_then_online_and_reading_resumes(
    broker: Broker, tmp_path: Path
) -> None:
    """Acceptance (c): the pty closes and a new one appears at the same (udev-style) link."""
    home = f"H{uuid.uuid4().hex[:8]}"
    link = tmp_path / "ttyRF"
    with pty_pair() as (master, path):
        link.symlink_to(path)
        config = make_config(
            tmp_path, uplink_port=broker.port, zigbee_port=None, serial_path=str(link), home_id=home
        )
        async with (
            subscriber(broker, events_topic(home)) as sub,
            Gateway(config, serial_read_timeout_s=0.1, tick_interval_s=0.05) as gw,
        ):
            await eventually(lambda: gw.ready)
            os.write(master, encode_ev1527(CODE, 0x0A))
            first = await sub.next_matching(lambda m: m.topic == events_topic(home))
            kinds = [getattr(e, "type", None) for e in decode_events_payload(first.payload)]
            assert kinds == ["contact"]

            os.close(master)  # the receiver is unplugged
            offline = await sub.next_matching(lambda m: bool(_status_events(m.payload)))
            assert _status_events(offline.payload) == [("gateway:serial:rf", False, "port lost")]
            assert gw.source_states()["serial:rf"] == "closed"

            with pty_pair() as (master2, path2):  # plugged back in: udev re-points the link
                link.unlink()
                link.symlink_to(path2)
                online = await sub.next_matching(lambda m: bool(_status_events(m.payload)))
                assert _status_events(online.payload) == [("gateway:serial:rf", True, "port open")]
                await eventually(lambda: gw.ready)
                os.write(master2, encode_ev1527(CODE, 0x0E))
                resumed = await sub.next_matching(
                    lambda m: any(
                        isinstance(e, Envelope) and e.type == "contact"
                        for e in decode_events_payload(m.payload)
                    )
                )
                data = [
                    e.data.model_dump()
                    for e in decode_events_payload(resumed.payload)
                    if isinstance(e, Envelope)
                ]
                assert data == [{"open": False}]
    assert _reader_threads() == []
    assert _reader_threads() == []
