"""The Zigbee2MQTT message path: fixed cases and fuzzing of outside bytes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_profiles import SourceKind, load_registry
from gateway._store import open_store
from gateway.outbox import Outbox
from gateway.pipeline import DeviceIndex, FilterState, process
from gateway.sources import Availability, BridgeState, RawReading, Rejection
from gateway.sources.zigbee2mqtt import parse_message
from tests.gateway._helpers import at, make_config

BASE = "zigbee2mqtt"


def _parse(topic: str, payload: bytes) -> Any:
    return parse_message(BASE, topic, payload, at(0))


def test_device_report_becomes_raw_reading() -> None:
    payload = b'{"contact": false, "battery": 91, "voltage": 3005, "linkquality": 120}'
    item = _parse("zigbee2mqtt/door_front", payload)
    assert isinstance(item, RawReading)
    assert (item.source, item.address, item.port) == (SourceKind.ZIGBEE2MQTT, "door_front", None)
    assert item.payload == json.loads(payload)
    assert item.raw == payload


def test_bad_payloads_are_rejections_with_reasons() -> None:
    cases = {
        b"{not json": "malformed JSON",
        b"\xff\xfe": "malformed JSON",
        b"[1, 2]": "not a JSON object",
        b"42": "not a JSON object",
        b"": "malformed JSON",
    }
    for payload, reason in cases.items():
        item = _parse("zigbee2mqtt/door_front", payload)
        assert isinstance(item, Rejection), payload
        assert item.reason == reason
        assert item.raw == payload


def test_availability_in_both_formats() -> None:
    for payload, online in [
        (b'{"state": "online"}', True),
        (b'{"state":"offline"}', False),
        (b"online", True),
        (b"offline", False),
    ]:
        item = _parse("zigbee2mqtt/door_front/availability", payload)
        assert isinstance(item, Availability)
        assert (item.address, item.online) == ("door_front", online)
    bad = _parse("zigbee2mqtt/door_front/availability", b'{"state": 1}')
    assert isinstance(bad, Rejection)
    assert bad.reason == "bad availability"


def test_bridge_state_is_reported_and_other_bridge_topics_ignored() -> None:
    item = _parse("zigbee2mqtt/bridge/state", b'{"state": "online"}')
    assert item == BridgeState(SourceKind.ZIGBEE2MQTT, "online", at(0))
    assert _parse("zigbee2mqtt/bridge/state", b"offline") == BridgeState(
        SourceKind.ZIGBEE2MQTT, "offline", at(0)
    )
    assert _parse("zigbee2mqtt/bridge/info", b'{"version": "1.40"}') is None
    assert _parse("zigbee2mqtt/bridge/devices", b"[]") is None


def test_unexpected_topics_are_rejected() -> None:
    for topic in ("zigbee2mqtt/a/b/c", "zigbee2mqtt/door_front/set", "other/door_front"):
        item = _parse(topic, b"{}")
        assert isinstance(item, Rejection), topic


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
door_keys = st.sampled_from(["contact", "battery", "voltage", "linkquality", "action", "x"])
door_payloads = st.dictionaries(door_keys, json_values, max_size=6)


def _index() -> DeviceIndex:
    with tempfile.TemporaryDirectory() as tmp:
        return DeviceIndex.from_config(make_config(Path(tmp)), load_registry())


INDEX = _index()


@given(
    topic=st.sampled_from(
        [
            "zigbee2mqtt/door_front",
            "zigbee2mqtt/kitchen_plug",
            "zigbee2mqtt/door_front/availability",
            "zigbee2mqtt/bridge/state",
        ]
    ),
    payload=st.binary(max_size=200),
)
def test_arbitrary_bytes_never_raise(topic: str, payload: bytes) -> None:
    item = _parse(topic, payload)
    if item is None:
        return
    out = process(FilterState(), INDEX, item)
    for rejection in out.rejections:
        assert rejection.reason
        assert isinstance(rejection.raw, bytes)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(payloads=st.lists(door_payloads | json_values, min_size=1, max_size=5))
def test_arbitrary_json_never_raises_and_what_passes_is_storable(payloads: list[Any]) -> None:
    state = FilterState()
    with tempfile.TemporaryDirectory() as tmp:
        conn = open_store(Path(tmp) / "gw.db")
        try:
            outbox = Outbox(conn, "H0001")
            for payload in payloads:
                raw = json.dumps(payload).encode()
                item = _parse("zigbee2mqtt/door_front", raw)
                assert item is not None
                out = process(state, INDEX, item)
                if not isinstance(payload, dict):
                    assert [r.reason for r in out.rejections] == ["not a JSON object"]
                    continue
                # Whatever the decoder accepts must make a valid envelope.
                stored = outbox.put(out.readings)
                assert len(stored) == len(out.readings)
        finally:
            conn.close()
