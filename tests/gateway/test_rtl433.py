"""rtl_433 events: parsing (hand-written and fuzzed), a FIFO, a subprocess, and decoding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_profiles import SourceKind, load_registry
from gateway.config import GatewayConfig, Rtl433Config
from gateway.pipeline import DeviceIndex, FilterState, process
from gateway.sources import LinkState, RawReading, Rejection, SourceItem
from gateway.sources.rtl433 import LineBuffer, Rtl433Source, parse_event, parse_lines
from protocol import EventType
from tests.gateway._helpers import at
from tests.gateway._mqtt import eventually

KERUI = {"model": "Kerui-Security", "id": 840811, "cmd": 10, "motion": 1, "state": "motion"}
HONEYWELL = {
    "model": "Honeywell-Security",
    "id": 547651,
    "channel": 8,
    "event": 128,
    "state": "open",
    "contact_open": 1,
    "reed_open": 0,
    "alarm": 0,
    "tamper": 0,
    "battery_ok": 1,
    "heartbeat": 0,
    "mic": "CRC",
}


def _now() -> datetime:
    return datetime.now(UTC)


def test_address_is_model_and_id_or_channel() -> None:
    item = parse_event(json.dumps(KERUI).encode(), at(0))
    assert isinstance(item, RawReading)
    assert (item.source, item.address, item.payload["cmd"]) == (
        SourceKind.RTL_433,
        "Kerui-Security:840811",
        10,
    )
    no_id = parse_event(b'{"model": "Philips-Temperature", "channel": 1}', at(0))
    assert isinstance(no_id, RawReading)
    assert no_id.address == "Philips-Temperature:1"


def test_bad_events_are_rejections_with_reasons() -> None:
    cases = {
        b"{": "malformed JSON",
        b"[1, 2]": "not a JSON object",
        b'{"id": 1}': "no model",
        b'{"model": "X", "id": true}': "no id",
        b'{"model": "X", "id": {"a": 1}}': "no id",
        b"\xff\xfe": "malformed JSON",
    }
    for raw, reason in cases.items():
        item = parse_event(raw, at(0))
        assert isinstance(item, Rejection), raw
        assert (item.reason, item.source, item.raw) == (reason, "rtl_433", raw)


def test_lines_split_across_reads_and_overlong_lines_are_dropped() -> None:
    buf = LineBuffer(max_line=200)
    line = json.dumps(KERUI).encode() + b"\n"
    assert parse_lines(buf, line[:10], at(0)) == []
    items = parse_lines(buf, line[10:] + b"\n" + line[:5], at(1))
    assert [type(i) for i in items] == [RawReading]
    items = parse_lines(buf, line[5:] + b"x" * 300, at(2))
    assert [type(i).__name__ for i in items] == ["RawReading", "Rejection"]
    rejection = items[1]
    assert isinstance(rejection, Rejection)
    assert (rejection.reason, rejection.observed_at) == ("line too long", at(2))
    # The rest of the overlong line is skipped; the next line is read.
    items = parse_lines(buf, b"yyy\n" + line, at(3))
    assert [type(i) for i in items] == [RawReading]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(st.binary(max_size=80) | _json.map(lambda v: json.dumps(v).encode() + b"\n"))
)
def test_fuzzed_input_never_raises_and_every_item_is_accounted_for(chunks: list[bytes]) -> None:
    buf = LineBuffer(max_line=256)
    index = DeviceIndex(
        [], load_registry()
    )  # no devices: every good event is an unknown device, never an exception
    state = FilterState()
    for chunk in chunks:
        for item in parse_lines(buf, chunk, at(0)):
            assert isinstance(item, RawReading | Rejection)
            out = process(state, index, item)
            assert out.readings == []
            assert len(out.rejections) == 1


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(sorted(HONEYWELL)), _json, max_size=12))
def test_fuzzed_fields_of_a_known_device_never_raise(payload: dict[str, object]) -> None:
    config = GatewayConfig.model_validate(
        {
            "home_id": "H1",
            "rtl_433": {"path": "/dev/null"},
            "devices": [
                {
                    "device_id": "door",
                    "profile": "rtl433_honeywell_security",
                    "address": "Honeywell-Security:547651",
                }
            ],
        }
    )
    index = DeviceIndex.from_config(config, load_registry())
    raw = json.dumps({**payload, "model": "Honeywell-Security", "id": 547651}).encode()
    item = parse_event(raw, at(0))
    assert isinstance(item, RawReading)
    out = process(FilterState(), index, item)
    assert all(r.device_id == "door" for r in out.readings)


def test_honeywell_heartbeat_repeats_state_without_events(tmp_path: Path) -> None:
    config = GatewayConfig.model_validate(
        {
            "home_id": "H1",
            "data_dir": str(tmp_path),
            "rtl_433": {"path": "/dev/null"},
            "devices": [
                {
                    "device_id": "door",
                    "profile": "rtl433_honeywell_security",
                    "address": "Honeywell-Security:547651",
                    "room": "hall",
                }
            ],
        }
    )
    index = DeviceIndex.from_config(config, load_registry())
    state = FilterState()

    def feed(payload: dict[str, object], t: float) -> list[tuple[EventType, dict[str, object]]]:
        item = parse_event(json.dumps(payload).encode(), at(t))
        return [(r.type, r.data) for r in process(state, index, item).readings]

    assert feed(HONEYWELL, 0)[0] == (EventType.CONTACT, {"open": True})
    # rtl_433 prints each of the transmitter's repeats: one event only.
    assert feed({**HONEYWELL, "rssi": -9.5}, 0.2) == []
    # An hour later the heartbeat repeats the state: nothing new.
    assert feed({**HONEYWELL, "heartbeat": 1, "event": 132}, 3600) == []
    closed = feed({**HONEYWELL, "contact_open": 0, "state": "closed"}, 3700)
    assert closed == [(EventType.CONTACT, {"open": False})]


class _Sink:
    def __init__(self) -> None:
        self.items: list[SourceItem] = []

    async def __call__(self, batch: list[SourceItem]) -> None:
        self.items.extend(batch)

    def readings(self) -> list[RawReading]:
        return [i for i in self.items if isinstance(i, RawReading)]

    def links(self) -> list[tuple[bool, str]]:
        return [(i.up, i.detail) for i in self.items if isinstance(i, LinkState)]


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_events_are_read_from_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "rtl433.fifo"
    os.mkfifo(fifo)
    sink = _Sink()
    source = Rtl433Source(Rtl433Config(path=str(fifo)), client_id="t", clock=_now)
    task = asyncio.create_task(source.run(sink))
    try:
        await eventually(lambda: sink.links() == [(True, "pipe open")])
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, json.dumps(KERUI).encode() + b"\nnot json\n")
        finally:
            os.close(fd)  # a writer going away is not the end of the input
        await eventually(lambda: len(sink.items) >= 3)
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, json.dumps(HONEYWELL).encode() + b"\n")
        finally:
            os.close(fd)
        await eventually(lambda: len(sink.readings()) == 2)
    finally:
        await _stop(task)
    assert [r.address for r in sink.readings()] == [
        "Kerui-Security:840811",
        "Honeywell-Security:547651",
    ]
    assert [i.reason for i in sink.items if isinstance(i, Rejection)] == ["malformed JSON"]


async def test_a_subprocess_is_read_and_its_exit_reported(tmp_path: Path) -> None:
    script = tmp_path / "fake_rtl_433.py"
    script.write_text(f"import json, sys\nprint(json.dumps({KERUI!r}), flush=True)\nsys.exit(3)\n")
    sink = _Sink()
    config = Rtl433Config(command=[sys.executable, str(script)])
    source = Rtl433Source(config, client_id="t", clock=_now)
    with pytest.raises(ExceptionGroup) as info:
        await source.run(sink)
    assert "exited with status 3" in str(info.value.exceptions[0])
    assert [r.address for r in sink.readings()] == ["Kerui-Security:840811"]
    assert sink.links() == [(True, "rtl_433 started"), (False, "rtl_433 exited with 3")]
    assert not source.process_running
