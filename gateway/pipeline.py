"""The pure decision core: raw reading -> device -> profile decode -> filters -> readings.

Nothing here reads the clock, the network or the disk. ``process`` takes the
state, one item from a source, and returns what to store and what to
dead-letter, using the item's observation time as "now"; ``tick`` releases
what falls due at a given time (settled debounced states, synthesized
``motion: false``, devices silent past their supervision window). The state
is mutated only by these functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from device_profiles import Profile, SourceKind, Trigger, decode
from gateway import filters, supervision
from gateway._reading import Reading
from gateway.config import DeviceConfig, GatewayConfig
from gateway.sources import (
    Availability,
    BridgeState,
    LinkState,
    RawReading,
    Rejection,
    SourceItem,
)
from protocol import EventType, format_timestamp

__all__ = [
    "DeviceIndex",
    "FilterState",
    "Outcome",
    "Reading",
    "device_snapshot",
    "next_deadline",
    "process",
    "start",
    "tick",
]


@dataclass(frozen=True, slots=True)
class _Device:
    config: DeviceConfig
    profile: Profile


def _key(source: SourceKind, port: str | None, address: str) -> tuple[str, str | None, str]:
    # Serial codes are hex and compared without case; friendly names and rtl_433
    # addresses exactly.
    if source is SourceKind.SERIAL:
        return (source.value, port, address.upper())
    return (source.value, None, address)


class DeviceIndex:
    """Find a configured device and its profile by where a reading came from."""

    def __init__(self, devices: Iterable[DeviceConfig], profiles: Mapping[str, Profile]) -> None:
        self._by_address: dict[tuple[str, str | None, str], _Device] = {}
        self._by_id: dict[str, _Device] = {}
        for dev in devices:
            found = _Device(dev, profiles[dev.profile])
            self._by_address[_key(found.profile.source, dev.port, dev.address)] = found
            self._by_id[dev.device_id] = found

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

    def devices(self) -> list[tuple[DeviceConfig, Profile]]:
        """Return every configured device with its profile, in config order."""
        return [(d.config, d.profile) for d in self._by_id.values()]

    def room(self, device_id: str) -> str | None:
        """Return a device's room (None for unknown devices and sources)."""
        found = self._by_id.get(device_id)
        return None if found is None else found.config.room


@dataclass(slots=True)
class FilterState:
    """What the filters and supervision remember, and each device's latest health figures."""

    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    filters: filters.FilterMemory = field(default_factory=filters.FilterMemory)
    supervision: supervision.SupervisionState = field(default_factory=supervision.SupervisionState)
    #: Readings held back, by why: "repeat" (radio copies), "filtered".
    suppressed: Counter[str] = field(default_factory=Counter)
    #: Devices whose snapshot changed since the runner last persisted them.
    dirty: set[str] = field(default_factory=set)

    @property
    def last_forwarded(self) -> dict[tuple[str, EventType], dict[str, Any]]:
        """Return the last forwarded data per (device, event type)."""
        return self.filters.last_forwarded


@dataclass(slots=True)
class Outcome:
    """What one item yields: readings to store and rejections to dead-letter."""

    readings: list[Reading] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def _source_name(source: SourceKind, port: str | None) -> str:
    return source.value if port is None else f"{source.value}:{port}"


def _status(index: DeviceIndex, changes: Iterable[supervision.StatusChange]) -> list[Reading]:
    return [
        Reading(
            c.device_id,
            EventType.DEVICE_STATUS,
            {"online": c.online, "reason": c.reason},
            c.at,
            index.room(c.device_id),
        )
        for c in changes
    ]


def start(
    state: FilterState,
    index: DeviceIndex,
    now: datetime,
    last_heard: Mapping[str, datetime] | None = None,
) -> None:
    """Start supervising every configured device; deadlines count from ``last_heard`` or ``now``."""
    known = last_heard or {}
    for device, profile in index.devices():
        supervision.watch(
            state.supervision,
            device.device_id,
            supervision.window_for(profile.supervision),
            now,
            last_heard=known.get(device.device_id),
        )


def _watch(state: FilterState, device: DeviceConfig, profile: Profile, now: datetime) -> None:
    window = supervision.window_for(profile.supervision)
    supervision.watch(state.supervision, device.device_id, window, now)


def _unknown(source: SourceKind, port: str | None, raw: bytes, at: datetime, addr: str) -> Outcome:
    return Outcome(
        rejections=[Rejection("unknown device", _source_name(source, port), raw, at, addr)]
    )


def _last_seen(payload: Mapping[str, Any], observed: datetime) -> datetime:
    """Return when Zigbee2MQTT last heard the device, if it says so (``advanced.last_seen``)."""
    raw = payload.get("last_seen")
    seen: datetime | None = None
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            seen = datetime.fromtimestamp(raw / 1000, UTC)  # "epoch": milliseconds
        elif isinstance(raw, str):
            seen = datetime.fromisoformat(raw)
    except (ValueError, OverflowError, OSError):
        return observed
    if seen is None or seen.tzinfo is None:
        return observed
    # A retained state published long ago tells when the device was really heard.
    return min(seen, observed)


def _reading(state: FilterState, index: DeviceIndex, item: RawReading) -> Outcome:
    found = index.lookup(item.source, item.port, item.address)
    if found is None:
        return _unknown(item.source, item.port, item.raw, item.observed_at, item.address)
    device, profile = found
    now = item.observed_at
    _watch(state, device, profile, now)
    out = Outcome()
    heard_at = _last_seen(item.payload, now) if item.source is SourceKind.ZIGBEE2MQTT else now
    out.readings += _status(index, supervision.heard(state.supervision, device.device_id, heard_at))
    health = state.health.setdefault(device.device_id, {})
    health["last_seen"] = format_timestamp(heard_at)
    state.dirty.add(device.device_id)
    window = profile.repeat_window_s
    key = (
        filters.repeat_key(item.source.value, item.port, item.address, item.payload)
        if window
        else ""
    )
    if window and filters.is_repeat(state.filters, key, window, now):
        state.suppressed["repeat"] += 1
        return out
    try:
        decoded = decode(profile, item.payload)
    except (ArithmeticError, TypeError, ValueError) as err:
        # decode() reports bad values as problems, but JSON admits Infinity and
        # huge numbers that some conversions still raise on; never let one stop us.
        out.rejections.append(
            Rejection(
                "decode failed",
                _source_name(item.source, item.port),
                item.raw,
                now,
                f"{device.device_id}: {type(err).__name__}: {err}",
            )
        )
        return out
    candidates = [
        (Reading(device.device_id, e.type, e.data, now, device.room), e.trigger)
        for e in decoded.events
    ]
    supervision.note_readings(state.supervision, (r for r, _ in candidates))
    emitted = {r.type for r, _ in candidates}
    for rule in profile.events:
        if (
            rule.trigger is Trigger.STATE
            and rule.when is not None
            and rule.type not in emitted
            and rule.when.key in item.payload
        ):
            filters.forget(state.filters, device.device_id, rule.type)
    for reading, trigger in candidates:
        passed = filters.admit(state.filters, profile.filters, reading, trigger, now)
        if not passed:
            state.suppressed["filtered"] += 1
        out.readings += passed
    if decoded.problems:
        out.rejections.append(
            Rejection(
                "decode problem",
                _source_name(item.source, item.port),
                item.raw,
                now,
                f"{device.device_id}: {'; '.join(decoded.problems)}",
            )
        )
    health.update(decoded.health)
    return out


def _availability(state: FilterState, index: DeviceIndex, item: Availability) -> Outcome:
    found = index.lookup(item.source, item.port, item.address)
    if found is None:
        return _unknown(item.source, item.port, item.raw, item.observed_at, item.address)
    device, profile = found
    _watch(state, device, profile, item.observed_at)
    state.health.setdefault(device.device_id, {})["online"] = item.online
    state.dirty.add(device.device_id)
    changes = supervision.availability(
        state.supervision,
        device.device_id,
        item.online,
        item.observed_at,
        f"{item.source.value} availability",
    )
    return Outcome(readings=_status(index, changes))


def _link(
    state: FilterState, index: DeviceIndex, name: str, *, up: bool, at: datetime, why: str
) -> Outcome:
    changes = supervision.link(state.supervision, name, up, at, why)
    return Outcome(readings=_status(index, changes))


def process(state: FilterState, index: DeviceIndex, item: SourceItem) -> Outcome:
    """Decide what one source item yields, updating ``state``."""
    if isinstance(item, Rejection):
        return Outcome(rejections=[item])
    if isinstance(item, BridgeState):
        state.sources[item.source.value] = item.state
        up = item.state == "online"
        return _link(
            state, index, item.source.value, up=up, at=item.observed_at, why=f"bridge {item.state}"
        )
    if isinstance(item, LinkState):
        state.sources[item.name] = "open" if item.up else "closed"
        why = item.detail or ("open" if item.up else "lost")
        return _link(state, index, item.name, up=item.up, at=item.observed_at, why=why)
    if isinstance(item, Availability):
        return _availability(state, index, item)
    return _reading(state, index, item)


def tick(state: FilterState, index: DeviceIndex, now: datetime) -> Outcome:
    """Release what is due at ``now``: settled filter states and supervision verdicts."""
    released = filters.tick(state.filters, now)
    changes = supervision.tick(state.supervision, now)
    state.dirty.update(r.device_id for r in released)
    state.dirty.update(c.device_id for c in changes)
    return Outcome(readings=released + _status(index, changes))


def next_deadline(state: FilterState) -> datetime | None:
    """Return when ``tick`` next has work, or None."""
    times = [
        t
        for t in (
            filters.next_deadline(state.filters),
            supervision.next_deadline(state.supervision),
        )
        if t is not None
    ]
    return min(times, default=None)


_STATE_TYPES = frozenset(EventType) - {EventType.BATTERY, EventType.DEVICE_STATUS}


def device_snapshot(state: FilterState, index: DeviceIndex) -> dict[str, dict[str, Any]]:
    """Return every configured device's health, current state and supervision verdict."""
    out: dict[str, dict[str, Any]] = {}
    current: dict[str, dict[str, Any]] = {}
    for (device_id, type_), data in state.filters.last_forwarded.items():
        if type_ in _STATE_TYPES:
            current.setdefault(device_id, {})[str(type_)] = data
    for device, profile in index.devices():
        health = state.health.get(device.device_id, {})
        battery = state.filters.battery.get(device.device_id)
        watch = state.supervision.devices.get(device.device_id)
        out[device.device_id] = {
            "profile": profile.id,
            "room": device.room,
            "address": device.address,
            "last_seen": health.get("last_seen"),
            "battery": health.get("battery", battery.percent if battery else None),
            "battery_low": watch.battery_low if watch else None,
            "link_quality": health.get("link_quality"),
            "state": current.get(device.device_id, {}),
            "verdict": str(supervision.verdict(state.supervision, device.device_id)),
        }
    return out


def status_devices(state: FilterState) -> dict[str, dict[str, Any]]:
    """Return the health figures and verdict of each device heard or judged so far."""
    out = {k: dict(v) for k, v in state.health.items()}
    for device_id in state.supervision.devices:
        verdict = supervision.verdict(state.supervision, device_id)
        if device_id in out or verdict is supervision.Verdict.OFFLINE:
            out.setdefault(device_id, {})["verdict"] = str(verdict)
    return out
