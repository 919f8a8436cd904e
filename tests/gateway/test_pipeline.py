"""The pure core: device lookup, decoding and the change filter, in virtual time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from device_profiles import SourceKind, load_registry
from gateway.pipeline import DeviceIndex, FilterState, process
from gateway.sources import Availability, BridgeState, RawReading, Rejection
from protocol import EventType
from tests.gateway._helpers import SERIAL_CODE, at, make_config


def _index(tmp_path: Path) -> DeviceIndex:
    return DeviceIndex.from_config(make_config(tmp_path, serial_path="/dev/null"), load_registry())


def _z2m(payload: dict[str, Any], t: float, name: str = "door_front") -> RawReading:
    return RawReading(SourceKind.ZIGBEE2MQTT, name, payload, at(t), json.dumps(payload).encode())


def _serial(key: int, t: float, code: str = SERIAL_CODE, port: str = "rf") -> RawReading:
    return RawReading(SourceKind.SERIAL, code, {"code": code, "key": key}, at(t), b"", port=port)


DOOR_OPEN = {"contact": False, "battery": 91, "voltage": 3005, "linkquality": 120}


def test_first_report_forwards_contact_and_battery(tmp_path: Path) -> None:
    state = FilterState()
    out = process(state, _index(tmp_path), _z2m(DOOR_OPEN, 0))
    assert [(r.type, r.data) for r in out.readings] == [
        (EventType.CONTACT, {"open": True}),
        (EventType.BATTERY, {"percent": 91, "low": False}),
    ]
    assert out.rejections == []
    first = out.readings[0]
    assert (first.device_id, first.room, first.at) == ("door-front", "entrance", at(0))


def test_heartbeat_with_cached_contact_makes_no_event(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)
    process(state, index, _z2m(DOOR_OPEN, 0))
    heartbeat = {**DOOR_OPEN, "linkquality": 87}
    out = process(state, index, _z2m(heartbeat, 3600))
    assert out.readings == []
    assert out.rejections == []
    assert state.health["door-front"]["link_quality"] == 87


def test_real_change_makes_one_event(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)
    process(state, index, _z2m(DOOR_OPEN, 0))
    closed = process(state, index, _z2m({**DOOR_OPEN, "contact": True}, 5))
    assert [(r.type, r.data, r.at) for r in closed.readings] == [
        (EventType.CONTACT, {"open": False}, at(5))
    ]
    again = process(state, index, _z2m({**DOOR_OPEN, "contact": True}, 6))
    assert again.readings == []


def test_battery_change_is_forwarded_alone(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)
    process(state, index, _z2m(DOOR_OPEN, 0))
    out = process(state, index, _z2m({**DOOR_OPEN, "battery": 14}, 86400))
    assert [(r.type, r.data) for r in out.readings] == [
        (EventType.BATTERY, {"percent": 14, "low": True})
    ]


def test_momentary_rules_forward_every_report(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)
    outs = [process(state, index, _serial(0x0A, t)) for t in (0, 1, 2)]
    assert [len(o.readings) for o in outs] == [1, 1, 1]
    assert all(o.readings[0].data == {"open": True} for o in outs)
    assert outs[0].readings[0].device_id == "door-back"


def test_serial_code_matches_without_case_but_only_on_its_port(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)
    assert process(state, index, _serial(0x0A, 0, code=SERIAL_CODE.lower())).readings
    other_port = process(state, index, _serial(0x0A, 0, port="other"))
    assert [r.reason for r in other_port.rejections] == ["unknown device"]


def test_unknown_device_is_dead_lettered(tmp_path: Path) -> None:
    state = FilterState()
    out = process(state, _index(tmp_path), _z2m(DOOR_OPEN, 0, name="kitchen_plug"))
    assert out.readings == []
    assert [(r.reason, r.source, r.detail) for r in out.rejections] == [
        ("unknown device", "zigbee2mqtt", "kitchen_plug")
    ]
    assert state.health == {}


def test_unknown_serial_code_is_dead_lettered(tmp_path: Path) -> None:
    out = process(FilterState(), _index(tmp_path), _serial(0x0A, 0, code="FFFFFF"))
    assert [(r.reason, r.source) for r in out.rejections] == [("unknown device", "serial:rf")]


def test_decode_problem_is_dead_lettered_and_good_events_still_pass(tmp_path: Path) -> None:
    out = process(FilterState(), _index(tmp_path), _z2m({**DOOR_OPEN, "battery": "full"}, 0))
    assert [(r.type, r.data) for r in out.readings] == [(EventType.CONTACT, {"open": True})]
    assert [r.reason for r in out.rejections] == ["decode problem"]
    assert "door-front" in out.rejections[0].detail


def test_unmatched_serial_key_yields_nothing(tmp_path: Path) -> None:
    out = process(FilterState(), _index(tmp_path), _serial(0x01, 0))
    assert out.readings == []
    assert out.rejections == []


def test_availability_becomes_device_status_on_change_only(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)

    def avail(online: bool, t: float) -> Availability:
        return Availability(SourceKind.ZIGBEE2MQTT, "door_front", online, at(t), b"")

    first = process(state, index, avail(False, 0))
    assert [(r.type, r.data["online"]) for r in first.readings] == [
        (EventType.DEVICE_STATUS, False)
    ]
    assert process(state, index, avail(False, 1)).readings == []
    assert len(process(state, index, avail(True, 2)).readings) == 1
    assert state.health["door-front"]["online"] is True


def test_rejections_and_bridge_state_pass_through(tmp_path: Path) -> None:
    state, index = FilterState(), _index(tmp_path)
    rejection = Rejection("malformed JSON", "zigbee2mqtt", b"{", at(0))
    assert process(state, index, rejection).rejections == [rejection]
    bridge = BridgeState(SourceKind.ZIGBEE2MQTT, "offline", at(0))
    # The bridge going offline is reported as the pseudo-device gateway:zigbee2mqtt.
    assert [(r.device_id, r.type, r.data) for r in process(state, index, bridge).readings] == [
        (
            "gateway:zigbee2mqtt",
            EventType.DEVICE_STATUS,
            {"online": False, "reason": "bridge offline"},
        )
    ]
    assert state.sources == {"zigbee2mqtt": "offline"}
    again = BridgeState(SourceKind.ZIGBEE2MQTT, "offline", at(1))
    assert process(state, index, again).readings == []
    back = process(state, index, BridgeState(SourceKind.ZIGBEE2MQTT, "online", at(2)))
    assert [r.data["online"] for r in back.readings] == [True]


def test_a_number_the_decoder_cannot_convert_is_dead_lettered(tmp_path: Path) -> None:
    # JSON admits Infinity; a profile's integer conversion of it must not escape.
    raw = b'{"contact": false, "battery": Infinity}'
    item = RawReading(SourceKind.ZIGBEE2MQTT, "door_front", json.loads(raw), at(0), raw)
    out = process(FilterState(), _index(tmp_path), item)
    assert out.readings == [] or all(r.type is not EventType.BATTERY for r in out.readings)
    assert len(out.rejections) == 1
    assert out.rejections[0].reason in {"decode failed", "decode problem"}


def test_a_fall_radar_reports_each_fall_once_however_often_z2m_repeats_it(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        devices=[
            {"device_id": "radar", "profile": "heiman_hs2fd_ef1_3_0", "address": "radar_bath"}
        ],
    )
    index = DeviceIndex.from_config(config, load_registry())
    state = FilterState()

    def report(fall: str, t: float) -> list[tuple[str, dict[str, Any]]]:
        payload = {"fall_status": fall, "occupancy": True, "linkquality": 150}
        out = process(state, index, _z2m(payload, t, name="radar_bath"))
        return [(str(r.type), r.data) for r in out.readings if r.type == "fall"]

    alarm = [("fall", {"source": "radar", "confidence": 1.0})]
    assert report("fall_alarm", 0) == alarm
    assert report("fall_alarm", 5) == []  # the cached state repeated
    assert report("normal", 60) == []
    assert report("fall_alarm", 120) == alarm  # a second fall
