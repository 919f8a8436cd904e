"""Pure filters between decoding and the outbox: ``(memory, reading, now) -> readings``.

Nothing here reads a clock. ``admit`` decides about one decoded reading at
``now``; ``tick`` releases what is due at ``now`` (a settled state after a
debounce, the end of a rate-limit interval, a synthesized ``motion: false``);
``next_deadline`` says when ``tick`` next has something to do. Every deadline
is an absolute time.

The rules, in order:

- Life-safety types (sos, fall, smoke, gas) pass at once. Only the change
  filter of ``state`` rules applies to them (a cached ``smoke: true`` repeated in
  a heartbeat is not a new alarm); no debounce or rate limit ever touches them.
- Battery readings pass when the level moved by ``battery.min_change`` points,
  the low flag changed, or ``battery.report_every_s`` passed since the last one.
- PIRs with ``occupancy_timeout_s`` (radio PIRs that only say "motion") behave
  as Zigbee2MQTT PIRs do: ``motion: true`` on the first detection, nothing while
  detections keep coming, ``motion: false`` once none came for the timeout.
- Everything else passes through a gate per (device, type): the first reading
  passes at once (leading edge), later ones are held while the gate is closed
  (``debounce_s`` of quiet, or ``min_interval_s`` of the type) and the latest
  held one is released when it opens if it differs from the last forwarded.
  ``state`` rules also pass only when their data changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from device_profiles import Trigger
from device_profiles.schema import Filters
from gateway._reading import Reading
from protocol import LIFE_SAFETY_TYPES, EventType

__all__ = ["FilterMemory", "admit", "forget", "is_repeat", "next_deadline", "repeat_key", "tick"]

_Key = tuple[str, EventType]
#: rtl_433 metadata that differs between copies of one transmission.
_RADIO_META = frozenset({"time", "rssi", "snr", "noise", "freq", "freq1", "freq2", "mod"})


@dataclass(slots=True)
class _Gate:
    hold_until: datetime
    min_interval_s: float
    pending: Reading | None = None


@dataclass(slots=True)
class _Battery:
    at: datetime
    percent: int | None
    low: bool


@dataclass(slots=True)
class FilterMemory:
    """What the filters remember between readings."""

    last_forwarded: dict[_Key, dict[str, Any]] = field(default_factory=dict)
    gates: dict[_Key, _Gate] = field(default_factory=dict)
    battery: dict[str, _Battery] = field(default_factory=dict)
    repeats: dict[str, datetime] = field(default_factory=dict)
    #: device -> (deadline of the synthesized motion: false, the reading it follows)
    occupancy: dict[str, tuple[datetime, Reading]] = field(default_factory=dict)


def repeat_key(source: str, port: str | None, address: str, payload: Mapping[str, Any]) -> str:
    """Return the identity of a radio transmission: where it came from and what it said."""
    body = {k: v for k, v in payload.items() if k not in _RADIO_META}
    return json.dumps([source, port, address, body], sort_keys=True, default=str)


def is_repeat(memory: FilterMemory, key: str, window_s: float, now: datetime) -> bool:
    """Tell whether a frame repeats one seen less than ``window_s`` ago (and remember it)."""
    if window_s <= 0:
        return False
    last = memory.repeats.get(key)
    memory.repeats[key] = now
    # Measured from the previous copy: a burst of copies is one press however long
    # the transmitter keeps repeating, while two presses a few seconds apart are two.
    return last is not None and timedelta(0) <= now - last < timedelta(seconds=window_s)


def _changed(memory: FilterMemory, reading: Reading) -> bool:
    return memory.last_forwarded.get((reading.device_id, reading.type)) != reading.data


def _forward(memory: FilterMemory, reading: Reading) -> list[Reading]:
    memory.last_forwarded[(reading.device_id, reading.type)] = reading.data
    return [reading]


def _battery(memory: FilterMemory, filters: Filters, reading: Reading, now: datetime) -> bool:
    percent = reading.data.get("percent")
    low = bool(reading.data.get("low"))
    prev = memory.battery.get(reading.device_id)
    due = (
        prev is None
        or prev.low != low
        or (percent is None) != (prev.percent is None)
        or (
            percent is not None
            and prev.percent is not None
            and abs(percent - prev.percent) >= filters.battery.min_change
        )
        or now >= prev.at + timedelta(seconds=filters.battery.report_every_s)
    )
    if due:
        memory.battery[reading.device_id] = _Battery(now, percent, low)
    return due


def _occupancy(memory: FilterMemory, timeout_s: int, reading: Reading, now: datetime) -> bool:
    if reading.data.get("motion") is True:
        memory.occupancy[reading.device_id] = (now + timedelta(seconds=timeout_s), reading)
        return _changed(memory, reading)
    memory.occupancy.pop(reading.device_id, None)
    return _changed(memory, reading)


def admit(
    memory: FilterMemory, filters: Filters, reading: Reading, trigger: Trigger, now: datetime
) -> list[Reading]:
    """Decide what one decoded reading yields at ``now``."""
    if reading.type in LIFE_SAFETY_TYPES:
        if trigger is Trigger.STATE and not _changed(memory, reading):
            return []
        return _forward(memory, reading)
    if reading.type is EventType.BATTERY:
        return _forward(memory, reading) if _battery(memory, filters, reading, now) else []
    if reading.type is EventType.MOTION and filters.occupancy_timeout_s is not None:
        due = _occupancy(memory, filters.occupancy_timeout_s, reading, now)
        return _forward(memory, reading) if due else []
    key = (reading.device_id, reading.type)
    gate = memory.gates.get(key)
    if gate is not None and now < gate.hold_until:
        gate.pending = reading
        if filters.debounce_s:
            gate.hold_until = max(gate.hold_until, now + timedelta(seconds=filters.debounce_s))
        return []
    if trigger is Trigger.STATE and not _changed(memory, reading):
        return []
    interval = filters.min_interval_s.get(reading.type, 0.0)
    hold = max(filters.debounce_s, interval)
    if hold > 0:
        memory.gates[key] = _Gate(now + timedelta(seconds=hold), interval)
    else:
        memory.gates.pop(key, None)
    return _forward(memory, reading)


def forget(memory: FilterMemory, device_id: str, event_type: EventType) -> None:
    """Forget the last forwarded value, so that the next equal reading is news again.

    A ``state`` rule with a condition (``fall_status: fall_alarm``) describes entering
    a level; once a report no longer matches, a later match is a new event.
    """
    memory.last_forwarded.pop((device_id, event_type), None)


def tick(memory: FilterMemory, now: datetime) -> list[Reading]:
    """Release every reading that is due at ``now``, oldest deadline first."""
    due: list[tuple[datetime, Reading]] = []
    for key, gate in list(memory.gates.items()):
        if now < gate.hold_until:
            continue
        pending, gate.pending = gate.pending, None
        if pending is not None and _changed(memory, pending):
            due.append((gate.hold_until, pending))
            memory.last_forwarded[key] = pending.data
            if gate.min_interval_s > 0:
                gate.hold_until = now + timedelta(seconds=gate.min_interval_s)
                continue
        del memory.gates[key]
    for device_id, (deadline, last) in list(memory.occupancy.items()):
        if now >= deadline:
            del memory.occupancy[device_id]
            cleared = replace(last, data={"motion": False}, at=deadline)
            memory.last_forwarded[(device_id, EventType.MOTION)] = cleared.data
            due.append((deadline, cleared))
    horizon = now - timedelta(seconds=10)
    for frame, seen in list(memory.repeats.items()):
        if seen < horizon:
            del memory.repeats[frame]
    due.sort(key=lambda pair: pair[0])
    return [reading for _, reading in due]


def next_deadline(memory: FilterMemory) -> datetime | None:
    """Return when ``tick`` next has something to release, or None."""
    times = [g.hold_until for g in memory.gates.values() if g.pending is not None]
    times += [deadline for deadline, _ in memory.occupancy.values()]
    return min(times, default=None)
