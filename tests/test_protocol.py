"""The wire contract: envelopes, batches and topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import (
    Envelope,
    EnvelopeError,
    EventType,
    TopicError,
    commands_topic,
    decode_envelope,
    decode_events_payload,
    encode_batch,
    encode_envelope,
    events_topic,
    format_timestamp,
    is_valid_home_id,
    new_event_id,
    parse_topic,
    status_topic,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
maybe_int = st.none() | st.integers(min_value=0, max_value=120)

DATA: dict[EventType, st.SearchStrategy[dict[str, Any]]] = {
    EventType.CONTACT: st.fixed_dictionaries({"open": st.booleans()}),
    EventType.MOTION: st.fixed_dictionaries({"motion": st.booleans()}),
    EventType.PRESENCE: st.fixed_dictionaries({"present": st.booleans()}),
    EventType.BED: st.fixed_dictionaries({"occupied": st.booleans()}),
    EventType.SMOKE: st.fixed_dictionaries({"alarm": st.booleans()}),
    EventType.GAS: st.fixed_dictionaries({"alarm": st.booleans()}),
    EventType.WATER_LEAK: st.fixed_dictionaries({"alarm": st.booleans()}),
    EventType.SOS: st.fixed_dictionaries(
        {"source": st.sampled_from(["button", "pendant", "pull_cord", "wearable"])}
    ),
    EventType.FALL: st.fixed_dictionaries(
        {
            "source": st.sampled_from(["wearable", "radar"]),
            "confidence": st.none() | st.floats(min_value=0.0, max_value=1.0),
        }
    ),
    EventType.VITALS: st.fixed_dictionaries(
        {"heart_rate": maybe_int, "respiration_rate": maybe_int}
    ),
    EventType.LOCATION: st.fixed_dictionaries(
        {
            "lat": st.floats(min_value=-90, max_value=90),
            "lon": st.floats(min_value=-180, max_value=180),
            "accuracy_m": st.none() | st.floats(min_value=0, max_value=1e6),
        }
    ),
    EventType.BATTERY: st.fixed_dictionaries(
        {"percent": st.none() | st.integers(min_value=0, max_value=100), "low": st.booleans()}
    ),
    EventType.TAMPER: st.fixed_dictionaries({"tampered": st.booleans()}),
    EventType.DEVICE_STATUS: st.fixed_dictionaries(
        {"online": st.booleans(), "reason": st.text(max_size=200)}
    ),
}


def test_every_event_type_has_a_strategy() -> None:
    assert set(DATA) == set(EventType)


home_ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")
device_ids = st.from_regex(r"\A[A-Za-z0-9_.:-]{1,64}\Z")
# hypothesis takes naive bounds and attaches the time zones itself.
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(list(EventType)))
    moment = draw(moments).replace(microsecond=draw(st.integers(0, 999)) * 1000)
    return {
        "v": 1,
        "id": str(draw(st.uuids())),
        "home": draw(home_ids),
        "device": draw(device_ids),
        "type": event_type.value,
        "at": format_timestamp(moment),
        "seq": draw(st.integers(min_value=0, max_value=2**53)),
        "room": draw(st.none() | st.text(max_size=64)),
        "data": draw(DATA[event_type]),
    }


@settings(max_examples=300, deadline=None)
@given(raw=envelopes())
def test_envelope_round_trip(raw: dict[str, Any]) -> None:
    envelope = decode_envelope(raw)
    wire = encode_envelope(envelope)
    [again] = decode_events_payload(wire)
    assert again == envelope
    assert json.loads(wire) == {**raw, "data": _normalized(raw["data"])}


def _normalized(data: dict[str, Any]) -> dict[str, Any]:
    # Numbers of float fields come back as floats: 1 becomes 1.0.
    return {
        k: float(v) if k in {"lat", "lon", "accuracy_m", "confidence"} and v is not None else v
        for k, v in data.items()
    }


@settings(max_examples=50, deadline=None)
@given(raws=st.lists(envelopes(), min_size=1, max_size=20))
def test_batch_round_trip(raws: list[dict[str, Any]]) -> None:
    envelopes_ = [decode_envelope(r) for r in raws]
    assert decode_events_payload(encode_batch(envelopes_)) == envelopes_


def _good() -> dict[str, Any]:
    return {
        "v": 1,
        "id": "0193a4e2-7c1f-7b3a-9d2e-5f6a7b8c9d0e",
        "home": "H0001",
        "device": "door-front",
        "type": "contact",
        "at": "2026-11-23T07:42:10.123Z",
        "seq": 1042,
        "room": "entrance",
        "data": {"open": True},
    }


def test_design_example_decodes() -> None:
    envelope = decode_envelope(_good())
    assert envelope.type is EventType.CONTACT
    assert envelope.at == datetime(2026, 11, 23, 7, 42, 10, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"seq": True}, "seq"),
        ({"seq": "1042"}, "seq"),
        ({"seq": 1.5}, "seq"),
        ({"seq": -1}, "seq"),
        ({"at": 1700000000}, "at"),
        ({"at": "2026-11-23T07:42:10"}, "at"),
        ({"id": 12}, "id"),
        ({"id": "not-a-uuid"}, "id"),
        ({"v": 2}, "v"),
        ({"home": "bad home"}, "home"),
        ({"home": "H1/other"}, "home"),
        ({"home": 5}, "home"),
        ({"type": "earthquake"}, "type"),
        ({"room": 3}, "room"),
        ({"data": {"open": "true"}}, "open"),
        ({"data": {"open": 1}}, "open"),
        ({"data": {"source": "button"}}, "open"),
        ({"type": "battery", "data": {"percent": True, "low": False}}, "percent"),
        ({"type": "battery", "data": {"percent": 101, "low": False}}, "percent"),
        ({"type": "vitals", "data": {"heart_rate": 72.5}}, "heart_rate"),
        ({"type": "location", "data": {"lat": "1", "lon": 2}}, "lat"),
        ({"type": "location", "data": {"lat": True, "lon": 2}}, "lat"),
        ({"type": "fall", "data": {"source": "radar", "confidence": 2}}, "confidence"),
        ({"type": "sos", "data": {"source": "telepathy"}}, "source"),
    ],
)
def test_wrong_types_are_rejected(change: dict[str, Any], where: str) -> None:
    with pytest.raises(EnvelopeError) as info:
        decode_envelope({**_good(), **change})
    assert where in info.value.reason


@pytest.mark.parametrize("missing", ["id", "home", "device", "type", "at", "seq", "data"])
def test_missing_required_field_is_rejected(missing: str) -> None:
    raw = _good()
    del raw[missing]
    with pytest.raises(EnvelopeError, match=missing):
        decode_envelope(raw)


def test_unknown_fields_are_kept() -> None:
    raw = {**_good(), "firmware": "2.1", "data": {"open": True, "raw_zone": 33}}
    envelope = decode_envelope(raw)
    out = json.loads(encode_envelope(envelope))
    assert out["firmware"] == "2.1"
    assert out["data"]["raw_zone"] == 33


def test_batch_with_one_bad_item() -> None:
    bad = {**_good(), "seq": "x"}
    items = [_good(), bad, 7, {**_good(), "seq": 1043}]
    out = decode_events_payload(json.dumps(items))
    assert isinstance(out[0], Envelope)
    assert isinstance(out[1], EnvelopeError)
    assert out[1].index == 1
    assert isinstance(out[2], EnvelopeError)
    assert out[2].index == 2
    assert isinstance(out[3], Envelope)
    assert out[3].seq == 1043


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "empty batch"),
        (b"42", "expected an object or an array"),
        (b'"text"', "expected an object or an array"),
        (json.dumps([{}] * 1001).encode(), "exceeds"),
    ],
)
def test_bad_payloads(payload: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        decode_events_payload(payload)


def test_single_object_error_has_no_index() -> None:
    [err] = decode_events_payload(b"{}")
    assert isinstance(err, EnvelopeError)
    assert err.index is None


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_envelope_error(payload: bytes) -> None:
    try:
        out = decode_events_payload(payload)
    except EnvelopeError:
        return
    assert all(isinstance(item, Envelope | EnvelopeError) for item in out)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values, base=envelopes(), key=st.sampled_from(sorted(_good())))
def test_arbitrary_json_only_yields_envelope_errors(
    value: Any, base: dict[str, Any], key: str
) -> None:
    for doc in (value, {**base, key: value}, [base, value]):
        try:
            out = decode_events_payload(json.dumps(doc))
        except EnvelopeError:
            continue
        assert all(isinstance(item, Envelope | EnvelopeError) for item in out)


def test_new_event_ids_are_uuid7_and_ordered() -> None:
    first, second = new_event_id(), new_event_id()
    assert first.version == 7
    assert first != second
    assert str(first) <= str(second)


def test_format_timestamp() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2026-01-02T02:04:05.678Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_timestamp(datetime(2026, 1, 1))  # noqa: DTZ001 - the naive case is the point


def test_topic_helpers() -> None:
    assert events_topic("H0001") == "homecare/v1/H0001/events"
    assert status_topic("H0001") == "homecare/v1/H0001/status"
    assert commands_topic("H0001") == "homecare/v1/H0001/commands"
    ref = parse_topic("homecare/v1/H-1_x/status")
    assert (ref.home, ref.kind) == ("H-1_x", "status")


@pytest.mark.parametrize("home", ["", "a/b", "+", "#", "h" * 65, "café", "a b"])
def test_topic_helpers_reject_bad_home_ids(home: str) -> None:
    assert not is_valid_home_id(home)
    with pytest.raises(TopicError):
        events_topic(home)


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("homecare/v2/H1/events", "not a homecare/v1"),
        ("homecare/v1/H1", "not a homecare/v1"),
        ("homecare/v1/H1/events/extra", "not a homecare/v1"),
        ("homecare/v1/H 1/events", "invalid home id"),
        ("homecare/v1//events", "invalid home id"),
        ("homecare/v1/H1/alerts", "unknown topic kind"),
        ("zigbee2mqtt/door", "not a homecare/v1"),
    ],
)
def test_parse_topic_errors(topic: str, reason: str) -> None:
    with pytest.raises(TopicError, match=reason):
        parse_topic(topic)


@settings(max_examples=200, deadline=None)
@given(home=home_ids, kind=st.sampled_from(["events", "status", "commands"]))
def test_topic_round_trip(home: str, kind: str) -> None:
    build = {"events": events_topic, "status": status_topic, "commands": commands_topic}[kind]
    ref = parse_topic(build(home))
    assert (ref.home, ref.kind) == (home, kind)
