"""Checking event data and writing envelopes without pydantic.

The gateway writes every envelope it sends but never reads one, and it runs on a
Raspberry Pi. pydantic with its compiled schemas would be about a quarter of its
memory (docs/gateway.md, "Performance"), so the gateway's process uses this
module instead of the models in ``protocol.events`` and ``protocol.envelope``.
The rules here are those models' rules, and the JSON is theirs: tests/test_codec.py
holds the two to agreement on generated data, so a change to one that is not made
to the other fails there.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import uuid_utils.compat as uuid_compat

from protocol._errors import EnvelopeError
from protocol._event_types import EventType
from protocol.topics import HOME_ID_PATTERN

__all__ = [
    "PROTOCOL_VERSION",
    "check_data",
    "encode_event",
    "format_timestamp",
    "new_event_id",
]

PROTOCOL_VERSION = 1

_Kind = Literal["bool", "int", "number", "str", "choice"]


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with milliseconds."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


def new_event_id() -> UUID:
    """Return a fresh, time-ordered UUIDv7."""
    return uuid_compat.uuid7()


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of an event's data. ``optional`` fields may be null or absent (then null)."""

    kind: _Kind
    optional: bool = False
    ge: float | None = None
    le: float | None = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()


_BOOL = _Field("bool")
_ALARM = {"alarm": _BOOL}

#: The data of each event type, as ``protocol.events`` declares it, in its field order.
_DATA: dict[EventType, dict[str, _Field]] = {
    EventType.CONTACT: {"open": _BOOL},
    EventType.MOTION: {"motion": _BOOL},
    EventType.PRESENCE: {"present": _BOOL},
    EventType.BED: {"occupied": _BOOL},
    EventType.SMOKE: _ALARM,
    EventType.GAS: _ALARM,
    EventType.WATER_LEAK: _ALARM,
    EventType.SOS: {
        "source": _Field("choice", choices=("button", "pendant", "pull_cord", "wearable"))
    },
    EventType.FALL: {
        "source": _Field("choice", choices=("wearable", "radar")),
        "confidence": _Field("number", optional=True, ge=0.0, le=1.0),
    },
    EventType.VITALS: {
        "heart_rate": _Field("int", optional=True, ge=0, le=300),
        "respiration_rate": _Field("int", optional=True, ge=0, le=120),
    },
    EventType.LOCATION: {
        "lat": _Field("number", ge=-90.0, le=90.0),
        "lon": _Field("number", ge=-180.0, le=180.0),
        "accuracy_m": _Field("number", optional=True, ge=0.0),
    },
    EventType.BATTERY: {
        "percent": _Field("int", optional=True, ge=0, le=100),
        "low": _BOOL,
    },
    EventType.TAMPER: {"tampered": _BOOL},
    EventType.DEVICE_STATUS: {"online": _BOOL, "reason": _Field("str", max_length=200)},
}

_DEVICE_ID = re.compile(r"^[A-Za-z0-9_.:-]+\Z")
_HOME_ID = re.compile(rf"^{HOME_ID_PATTERN.pattern}\Z")


def _bool(spec: _Field, value: Any) -> Any:
    if not isinstance(value, bool):
        raise ValueError("must be a boolean")  # noqa: TRY004 - reported as EnvelopeError
    return value


def _choice(spec: _Field, value: Any) -> Any:
    if not isinstance(value, str) or value not in spec.choices:
        raise ValueError(f"must be one of {', '.join(spec.choices)}")
    return value


def _str(spec: _Field, value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be a string")  # noqa: TRY004 - reported as EnvelopeError
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ValueError(f"must be at most {spec.max_length} characters")
    return value


def _in_range(spec: _Field, value: float) -> None:
    if spec.ge is not None and value < spec.ge:
        raise ValueError(f"must be at least {spec.ge:g}")
    if spec.le is not None and value > spec.le:
        raise ValueError(f"must be at most {spec.le:g}")


def _int(spec: _Field, value: Any) -> Any:
    # A bool is a wrong type here, not 0 or 1; so is a float with an integral value.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be an integer")  # noqa: TRY004 - reported as EnvelopeError
    _in_range(spec, value)
    return value


def _number(spec: _Field, value: Any) -> Any:
    # JSON numbers only: a bool or a numeric string is a wrong type, not a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")  # noqa: TRY004 - reported as EnvelopeError
    if not math.isfinite(value):
        raise ValueError("must be finite")
    number = float(value)
    _in_range(spec, number)
    return number


_CHECKS: dict[_Kind, Callable[[_Field, Any], Any]] = {
    "bool": _bool,
    "choice": _choice,
    "str": _str,
    "int": _int,
    "number": _number,
}


def check_data(event_type: EventType, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the ``data`` of an ``event_type`` event and return it as an envelope carries it.

    Declared fields come first, in order, with absent optional ones as null and
    numbers as floats; unknown fields are kept, after them. Raises ``EnvelopeError``
    naming the field (``data.<name>: ...``).
    """
    fields = _DATA[EventType(event_type)]
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in data or (spec.optional and data[name] is None):
            if not spec.optional:
                raise EnvelopeError(f"data.{name}: field required")
            out[name] = None
            continue
        try:
            out[name] = _CHECKS[spec.kind](spec, data[name])
        except ValueError as err:
            raise EnvelopeError(f"data.{name}: {err}") from None
    out.update({name: value for name, value in data.items() if name not in fields})
    return out


def encode_event(
    *,
    event_id: UUID,
    home: str,
    device: str,
    event_type: EventType,
    at: datetime,
    seq: int,
    room: str | None,
    data: Mapping[str, Any],
) -> bytes:
    """Validate one event and return its envelope as compact JSON, as ``encode_envelope`` writes it.

    Raises ``EnvelopeError`` naming the field that is wrong.
    """
    if not isinstance(home, str) or not _HOME_ID.match(home):
        raise EnvelopeError("home: must match [A-Za-z0-9_-]{1,64}")
    if not isinstance(device, str) or not 1 <= len(device) <= 64 or not _DEVICE_ID.match(device):
        raise EnvelopeError("device: must be 1 to 64 of A-Z a-z 0-9 _ . : -")
    if room is not None and (not isinstance(room, str) or len(room) > 64):
        raise EnvelopeError("room: must be a string of at most 64 characters")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise EnvelopeError("seq: must be an integer of at least 0")
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise EnvelopeError("at: must be a timezone-aware time")
    kind = EventType(event_type)
    body = {
        "v": PROTOCOL_VERSION,
        "id": str(event_id),
        "home": home,
        "device": device,
        "type": kind.value,
        "at": format_timestamp(at),
        "seq": seq,
        "room": room,
        "data": check_data(kind, data),
    }
    try:
        text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise EnvelopeError(f"data: not JSON: {err}") from None
    return text.encode()
