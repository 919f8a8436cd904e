"""The pydantic-free codec agrees with the pydantic models of the wire contract."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from protocol import (
    EnvelopeError,
    EventType,
    data_model_for,
    decode_envelope,
    encode_envelope,
)
from protocol.codec import check_data, encode_event
from tests.test_protocol import DATA, _good, envelopes

_FLOAT_FIELDS = {"lat", "lon", "accuracy_m", "confidence"}

json_values = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
any_values = (
    json_values
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-400, 400)
    | st.floats(-400, 400)
    | st.sampled_from(["button", "pendant", "radar", "wearable", "x" * 201])
    | st.lists(json_values, max_size=2)
)


def _fields(event_type: EventType) -> list[str]:
    return list(data_model_for(event_type).model_fields)


@st.composite
def data_of_any_shape(draw: st.DrawFn) -> tuple[EventType, dict[str, Any]]:
    """A valid data dict of a type, with fields dropped, replaced and added at random."""
    event_type = draw(st.sampled_from(list(EventType)))
    data = dict(draw(DATA[event_type]))
    for name in draw(st.lists(st.sampled_from([*_fields(event_type), "extra"]), max_size=3)):
        if draw(st.booleans()):
            data.pop(name, None)
        else:
            data[name] = draw(any_values)
    return event_type, data


def _same(a: Any, b: Any) -> bool:
    # NaN never equals itself; the two sides must still hold the same values.
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=1500, deadline=None)
@given(case=data_of_any_shape())
def test_check_data_accepts_and_normalizes_as_the_models_do(
    case: tuple[EventType, dict[str, Any]],
) -> None:
    event_type, data = case
    try:
        expected: dict[str, Any] | None = (
            data_model_for(event_type).model_validate(data).model_dump()
        )
    except ValidationError:
        expected = None
    reason = ""
    try:
        got: dict[str, Any] | None = check_data(event_type, data)
    except EnvelopeError as err:
        got, reason = None, err.reason
    assert (got is None) == (expected is None), (data, got, expected)
    assert got is not None or reason.startswith("data.")
    if got is not None:
        assert _same(got, expected), (got, expected)


@pytest.mark.parametrize(
    ("event_type", "data", "reason"),
    [
        (EventType.CONTACT, {"open": "yes"}, "data.open: must be a boolean"),
        (EventType.CONTACT, {}, "data.open: field required"),
        (EventType.VITALS, {"heart_rate": 301}, "data.heart_rate: must be at most 300"),
        (EventType.VITALS, {"heart_rate": 60.0}, "data.heart_rate: must be an integer"),
        (EventType.FALL, {"source": "radar", "confidence": True}, "must be a number"),
        (EventType.SOS, {"source": "shout"}, "data.source: must be one of button, pendant"),
    ],
)
def test_check_data_names_the_field(
    event_type: EventType, data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        check_data(event_type, data)


@settings(max_examples=400, deadline=None)
@given(raw=envelopes())
def test_encode_event_writes_what_encode_envelope_writes(raw: dict[str, Any]) -> None:
    reference = decode_envelope(raw)
    wire = encode_event(
        event_id=UUID(raw["id"]),
        home=raw["home"],
        device=raw["device"],
        event_type=EventType(raw["type"]),
        at=datetime.fromisoformat(raw["at"]),
        seq=raw["seq"],
        room=raw["room"],
        data=raw["data"],
    )
    assert json.loads(wire) == json.loads(encode_envelope(reference))
    assert decode_envelope(json.loads(wire)) == reference
    if not _FLOAT_FIELDS & set(raw["data"]):
        # Same bytes, so the outbox's measured disk budget holds for both.
        assert wire == encode_envelope(reference)


_GOOD: dict[str, Any] = {
    "event_id": UUID("0193a4e2-7c1f-7b3a-9d2e-5f6a7b8c9d0e"),
    "home": "H0001",
    "device": "door-front",
    "event_type": EventType.CONTACT,
    "at": datetime.fromisoformat("2026-11-23T07:42:10.123Z"),
    "seq": 1042,
    "room": "entrance",
    "data": {"open": True},
}


def test_encode_event_matches_the_design_example() -> None:
    assert json.loads(encode_event(**_GOOD)) == _good()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"home": "H 1"}, "home"),
        ({"home": "H1\n"}, "home"),
        ({"device": "door\n"}, "device"),
        ({"device": ""}, "device"),
        ({"device": "d" * 65}, "device"),
        ({"room": "r" * 65}, "room"),
        ({"seq": -1}, "seq"),
        ({"seq": True}, "seq"),
        ({"at": datetime(2026, 1, 1)}, "at"),  # noqa: DTZ001 - the naive time is the error
        ({"data": {"open": 1}}, "data.open"),
    ],
)
def test_encode_event_rejects_what_the_envelope_model_rejects(
    change: dict[str, Any], reason: str
) -> None:
    fields = {**_GOOD, **change}
    with pytest.raises(EnvelopeError, match=reason):
        encode_event(**fields)
    raw = {
        "v": 1,
        "id": str(fields["event_id"]),
        "home": fields["home"],
        "device": fields["device"],
        "type": "contact",
        "at": fields["at"],
        "seq": fields["seq"],
        "room": fields["room"],
        "data": fields["data"],
    }
    with pytest.raises(EnvelopeError):
        decode_envelope(raw)
