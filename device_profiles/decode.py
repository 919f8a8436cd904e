"""Turn a source payload into canonical events, as a profile says."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from device_profiles.schema import EventRule, FieldMap, Profile, Scalar, Trigger
from protocol import EnvelopeError, EventType
from protocol.codec import check_data

__all__ = ["Decoded", "DecodedEvent", "decode", "payload_for"]


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """A canonical reading: an event type, its validated data, and how it is forwarded."""

    type: EventType
    data: dict[str, Any]
    trigger: Trigger


@dataclass(slots=True)
class Decoded:
    """What one payload yields: events, health figures, and problems with reasons."""

    events: list[DecodedEvent] = field(default_factory=list)
    health: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class _Missing:
    pass


_MISSING = _Missing()


def _field(fmap: FieldMap, payload: Mapping[str, Any]) -> Any:
    if fmap.key is None:
        return fmap.value
    if fmap.key not in payload or payload[fmap.key] is None:
        if fmap.default is not None:
            return fmap.default
        return None if fmap.optional else _MISSING
    raw = payload[fmap.key]
    if fmap.map is not None:
        key = _map_key(raw)
        if key not in fmap.map:
            raise ValueError(f"{fmap.key}: unmapped value {raw!r}")
        return fmap.map[key]
    if fmap.invert:
        if not isinstance(raw, bool):
            raise ValueError(f"{fmap.key}: expected a boolean, got {type(raw).__name__}")
        return not raw
    if fmap.below is not None:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"{fmap.key}: expected a number, got {type(raw).__name__}")
        return raw < fmap.below
    if fmap.scale is not None or fmap.offset is not None or fmap.to_int:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"{fmap.key}: expected a number, got {type(raw).__name__}")
        if not math.isfinite(raw):
            raise ValueError(f"{fmap.key}: not a finite number")
        number = raw * (fmap.scale if fmap.scale is not None else 1.0) + (fmap.offset or 0.0)
        return round(number) if fmap.to_int else number
    return raw


def _map_key(raw: Any) -> str:
    # YAML map keys are strings; booleans are spelled as JSON spells them.
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _matches(rule: EventRule, payload: Mapping[str, Any]) -> bool:
    if rule.when is None:
        return True
    if rule.when.key not in payload:
        return False
    value = payload[rule.when.key]
    return any(type(value) is type(v) and value == v for v in rule.when.values)


def decode(profile: Profile, payload: Mapping[str, Any]) -> Decoded:
    """Decode one payload; never raises for bad values, it reports them as problems."""
    out = Decoded()
    for rule in profile.events:
        if not _matches(rule, payload):
            continue
        data: dict[str, Any] = {}
        try:
            for name, fmap in rule.data.items():
                value = _field(fmap, payload)
                if value is _MISSING:
                    break
                data[name] = value
            else:
                validated = check_data(rule.type, data)
                out.events.append(DecodedEvent(rule.type, validated, rule.trigger))
        except EnvelopeError as err:
            out.problems.append(f"{rule.type}: {err.reason}")
        except ValueError as err:
            out.problems.append(f"{rule.type}: {err}")
    for name, fmap in profile.health.items():
        try:
            value = _field(fmap, payload)
        except ValueError as err:
            out.problems.append(f"health {name}: {err}")
            continue
        if value is not _MISSING:
            out.health[name] = value
    return out


def _inverse(fmap: FieldMap, value: Any) -> tuple[str, Scalar] | None:
    if fmap.key is None:
        return None
    if fmap.map is not None:
        for src, dst in fmap.map.items():
            if dst == value:
                return fmap.key, _unmap_key(src)
        raise ValueError(f"no source value of {fmap.key} maps to {value!r}")
    if fmap.invert:
        return fmap.key, not value
    if fmap.below is not None:
        return fmap.key, int(fmap.below) - 1 if value else int(fmap.below) + 1
    if fmap.scale is not None or fmap.offset is not None:
        raw = (value - (fmap.offset or 0.0)) / (fmap.scale if fmap.scale is not None else 1.0)
        return fmap.key, round(raw) if float(raw).is_integer() else raw
    return fmap.key, value


def _unmap_key(src: str) -> Scalar:
    if src in ("true", "false"):
        return src == "true"
    try:
        return int(src)
    except ValueError:
        return src


def payload_for(profile: Profile, event_type: EventType, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the source fields that make ``profile`` report ``event_type`` with ``data``.

    Simulators use this to speak a device's real wire format from the same profile
    the gateway decodes with.
    """
    for rule in profile.events:
        if rule.type != event_type:
            continue
        fields: dict[str, Any] = {}
        if rule.when is not None:
            fields[rule.when.key] = rule.when.values[0]
        if any(
            fmap.value is not None and data.get(name, fmap.value) != fmap.value
            for name, fmap in rule.data.items()
        ):
            continue  # another rule of this type reports these data
        try:
            for name, fmap in rule.data.items():
                if name not in data or (data[name] is None and fmap.optional):
                    continue
                pair = _inverse(fmap, data[name])
                # Several fields may read one key (percent and low from `battery`);
                # the first, most direct mapping decides its value.
                if pair is not None and pair[0] not in fields:
                    fields[pair[0]] = pair[1]
        except ValueError:
            continue
        return fields
    raise ValueError(f"profile {profile.id} cannot report {event_type} with {dict(data)!r}")
