"""The pure decision core: raw reading -> device -> profile decode -> change filter.

Nothing here reads the clock, the network or the disk. ``process`` takes the
filter state, one item from a source, and returns what to store and what to
dead-letter; the state is mutated explicitly and only by ``process``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from device_profiles import Profile, SourceKind, Trigger, decode
from gateway.config import DeviceConfig, GatewayConfig
from gateway.sources import Availability, BridgeState, RawReading, Rejection, SourceItem
from protocol import EventType, format_timestamp

__all__ = [
    "DeviceIndex",
    "FilterState",
    "Outcome",
    "Reading",
    "process",
]


@dataclass(frozen=True, slots=True)
class Reading:
    """A normalized event, ready for the outbox."""

    device_id: str
    type: EventType
    data: dict[str, Any]
    at: datetime
    room: str | None = None


@dataclass(frozen=True, slots=True)
class _Device:
    config: DeviceConfig
    profile: Profile


def _key(source: SourceKind, port: str | None, address: str) -> tuple[str, str | None, str]:
    # Serial codes are hex and compared without case; friendly names are exact.
    if source is SourceKind.SERIAL:
        return (source.value, port, address.upper())
    return (source.value, None, address)


class DeviceIndex:
    """Find a configured device and its profile by where a reading came from."""

    def __init__(self, devices: Iterable[DeviceConfig], profiles: Mapping[str, Profile]) -> None:
        self._by_address: dict[tuple[str, str | None, str], _Device] = {}
        for dev in devices:
            profile = profiles[dev.profile]
            self._by_address[_key(profile.source, dev.port, dev.address)] = _Device(dev, profile)

    @classmethod
    def from_config(cls, config: GatewayConfig, profiles: Mapping[str, Profile]) -> DeviceIndex:
        """Build the index of every device in ``config``."""
        return cls(config.devices, profiles)

    def lookup(
        self, source: SourceKind, port: str | None, address: str
    ) -> tuple[DeviceConfig, Profile] | None:
        """Return the device at this address, or None if none is configured."""
        found = self._by_address.get(_key(source, port, address))
        return None if found is None else (found.config, found.profile)


@dataclass(slots=True)
class FilterState:
    """What the change filter remembers, and each device's latest health figures."""

    last_forwarded: dict[tuple[str, EventType], dict[str, Any]] = field(default_factory=dict)
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Outcome:
    """What one item yields: readings to store and rejections to dead-letter."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _source_name(source: SourceKind, port: str | None) -> str:
    return source.value if port is None else f"{source.value}:{port}"


def _forward(state: FilterState, reading: Reading, trigger: Trigger) -> bool:
    if trigger is Trigger.MOMENTARY:
        return True
    key = (reading.device_id, reading.type)
    if state.last_forwarded.get(key) == reading.data:
        return False
    state.last_forwarded[key] = reading.data
    return True


def _unknown(source: SourceKind, port: str | None, raw: bytes, at: datetime, addr: str) -> Outcome:
    return Outcome(
        rejections=[Rejection("unknown device", _source_name(source, port), raw, at, addr)]
    )


def _reading(state: FilterState, index: DeviceIndex, item: RawReading) -> Outcome:
    found = index.lookup(item.source, item.port, item.address)
    if found is None:
        return _unknown(item.source, item.port, item.raw, item.observed_at, item.address)
    device, profile = found
    try:
        decoded = decode(profile, item.payload)
    except (ArithmeticError, TypeError, ValueError) as err:
        # decode() reports bad values as problems, but JSON admits Infinity and
        # huge numbers that some conversions still raise on; never let one stop us.
        return Outcome(
            rejections=[
                Rejection(
                    "decode failed",
                    _source_name(item.source, item.port),
                    item.raw,
                    item.observed_at,
                    f"{device.device_id}: {type(err).__name__}: {err}",
                )
            ]
        )
    out = Outcome()
    for event in decoded.events:
        reading = Reading(device.device_id, event.type, event.data, item.observed_at, device.room)
        if _forward(state, reading, event.trigger):
            out.readings.append(reading)
    if decoded.problems:
        out.rejections.append(
            Rejection(
                "decode problem",
                _source_name(item.source, item.port),
                item.raw,
                item.observed_at,
                f"{device.device_id}: {'; '.join(decoded.problems)}",
            )
        )
    health = state.health.setdefault(device.device_id, {})
    health.update(decoded.health)
    health["last_seen"] = format_timestamp(item.observed_at)
    return out


def _availability(state: FilterState, index: DeviceIndex, item: Availability) -> Outcome:
    found = index.lookup(item.source, item.port, item.address)
    if found is None:
        return _unknown(item.source, item.port, item.raw, item.observed_at, item.address)
    device, _ = found
    state.health.setdefault(device.device_id, {})["online"] = item.online
    reading = Reading(
        device.device_id,
        EventType.DEVICE_STATUS,
        {"online": item.online, "reason": f"{item.source.value} availability"},
        item.observed_at,
        device.room,
    )
    forwarded = _forward(state, reading, Trigger.STATE)
    return Outcome(readings=[reading] if forwarded else [])


def process(state: FilterState, index: DeviceIndex, item: SourceItem) -> Outcome:
    """Decide what one source item yields, updating ``state``."""
    if isinstance(item, Rejection):
        return Outcome(rejections=[item])
    if isinstance(item, BridgeState):
        state.sources[item.source.value] = item.state
        return Outcome()
    if isinstance(item, Availability):
        return _availability(state, index, item)
    return _reading(state, index, item)
