"""Supervision in virtual time: silence, availability, sources and verdicts."""

from __future__ import annotations

from pathlib import Path

from device_profiles import SourceKind, load_registry
from device_profiles.schema import Supervision
from gateway.pipeline import DeviceIndex, FilterState, Reading, process, start, tick
from gateway.pipeline import next_deadline as pipeline_deadline
from gateway.sources import Availability, LinkState, RawReading
from gateway.supervision import (
    SupervisionState,
    Verdict,
    availability,
    heard,
    link,
    next_deadline,
    note_readings,
    verdict,
    watch,
    window_for,
)
from gateway.supervision import tick as sup_tick
from protocol import EventType
from tests.gateway._helpers import SERIAL_CODE, at, make_config


def test_window_is_offline_after_or_two_checkins() -> None:
    assert window_for(Supervision(checkin_s=3600, offline_after_s=90000)) == 90000
    assert window_for(Supervision(checkin_s=60)) == 120
    assert window_for(Supervision(checkin_s=None)) is None


def test_silence_past_the_window_is_offline_and_the_next_report_online() -> None:
    state = SupervisionState()
    watch(state, "door", 100, at(0))
    assert verdict(state, "door") is Verdict.NOT_HEARD
    assert heard(state, "door", at(10)) == []
    assert verdict(state, "door") is Verdict.OK
    assert next_deadline(state) == at(110)
    assert sup_tick(state, at(109)) == []
    [off] = sup_tick(state, at(111))
    assert (off.device_id, off.online, off.reason, off.at) == (
        "door",
        False,
        "silent for more than 100 s",
        at(111),
    )
    assert sup_tick(state, at(500)) == []  # reported once
    assert verdict(state, "door") is Verdict.OFFLINE
    [on] = heard(state, "door", at(600))
    assert (on.online, on.reason) == (True, "heard again")
    assert next_deadline(state) == at(700)


def test_a_device_never_heard_goes_offline_after_its_window_from_start() -> None:
    state = SupervisionState()
    watch(state, "smoke", 50, at(0))
    assert [c.online for c in sup_tick(state, at(50))] == [False]


def test_restart_rebuilds_the_deadline_from_the_last_heard_time() -> None:
    state = SupervisionState()
    watch(state, "door", 100, at(1000), last_heard=at(0))
    assert next_deadline(state) == at(100)
    assert [c.online for c in sup_tick(state, at(1000))] == [False]


def test_devices_without_heartbeat_are_never_reported_offline() -> None:
    state = SupervisionState()
    watch(state, "pendant", None, at(0))
    assert verdict(state, "pendant") is Verdict.UNSUPERVISED
    assert sup_tick(state, at(10**7)) == []
    assert next_deadline(state) is None
    heard(state, "pendant", at(5))
    assert verdict(state, "pendant") is Verdict.UNSUPERVISED


def test_availability_battery_and_tamper_shape_the_verdict() -> None:
    state = SupervisionState()
    watch(state, "d", 100, at(0))
    [c] = availability(state, "d", False, at(1), "zigbee2mqtt availability")
    assert (c.online, c.reason) == (False, "zigbee2mqtt availability")
    assert availability(state, "d", False, at(2), "zigbee2mqtt availability") == []
    assert [c.online for c in availability(state, "d", True, at(3), "x")] == [True]
    note_readings(state, [Reading("d", EventType.BATTERY, {"percent": 9, "low": True}, at(4))])
    assert verdict(state, "d") is Verdict.LOW_BATTERY
    note_readings(state, [Reading("d", EventType.TAMPER, {"tampered": True}, at(5))])
    assert verdict(state, "d") is Verdict.TAMPERED


def test_source_links_report_changes_only() -> None:
    state = SupervisionState()
    assert link(state, "serial:rf", True, at(0), "port open") == []
    [down] = link(state, "serial:rf", False, at(1), "port lost")
    assert (down.device_id, down.online) == ("gateway:serial:rf", False)
    assert link(state, "serial:rf", False, at(2), "cannot open the port") == []
    assert [c.online for c in link(state, "serial:rf", True, at(3), "port open")] == [True]
    # A source first seen down is news.
    assert [c.online for c in link(state, "rtl_433", False, at(4), "x")] == [False]


def test_pipeline_reports_silent_zigbee_devices_and_uses_last_seen(tmp_path: Path) -> None:
    config = make_config(tmp_path, serial_path="/dev/null")
    index = DeviceIndex.from_config(config, load_registry())
    state = FilterState()
    start(state, index, at(0))
    # The Aqara door may stay silent 25 h; the 433 MHz door has no heartbeat at all.
    assert pipeline_deadline(state) == at(90000)
    # A retained report whose last_seen is two days old: it was really heard then.
    payload = {
        "contact": True,
        "battery": 90,
        "linkquality": 80,
        "last_seen": "2026-11-21T07:00:00Z",
    }
    item = RawReading(SourceKind.ZIGBEE2MQTT, "door_front", payload, at(1), b"{}")
    process(state, index, item)
    out = tick(state, index, at(2))
    assert [(r.device_id, r.type, r.data["online"], r.room) for r in out.readings] == [
        ("door-front", EventType.DEVICE_STATUS, False, "entrance")
    ]
    back = process(
        state,
        index,
        RawReading(SourceKind.ZIGBEE2MQTT, "door_front", {"contact": True}, at(3), b"{}"),
    )
    assert [(r.type, r.data) for r in back.readings] == [
        (EventType.DEVICE_STATUS, {"online": True, "reason": "heard again"})
    ]
    # Availability and serial frames reach supervision too.
    avail = Availability(SourceKind.ZIGBEE2MQTT, "door_front", False, at(4), b"offline")
    assert [r.data["online"] for r in process(state, index, avail).readings] == [False]
    lost = process(
        state, index, LinkState("serial:rf", up=False, observed_at=at(5), detail="port lost")
    )
    assert [(r.device_id, r.data) for r in lost.readings] == [
        ("gateway:serial:rf", {"online": False, "reason": "port lost"})
    ]
    frame = RawReading(
        SourceKind.SERIAL, SERIAL_CODE, {"code": SERIAL_CODE, "key": 10}, at(6), b"", port="rf"
    )
    process(state, index, frame)
    assert verdict(state.supervision, "door-back") is Verdict.UNSUPERVISED
