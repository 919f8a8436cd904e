"""Pure device supervision: who is heard, who is silent, and what that means.

Every function takes the time as an argument and returns the status changes to
report; the runner turns them into ``device_status`` events. Nothing here reads
a clock or does I/O.

- A device whose profile has a check-in interval is expected to be heard within
  its window: ``supervision.offline_after_s``, or two check-ins when that is not
  set. Silence past the window makes it offline; the next report makes it
  online again. Deadlines are absolute times, rebuilt from the last-heard time.
- Zigbee2MQTT's availability messages set the verdict directly.
- A device without heartbeat (``checkin_s: null``, most 433 MHz sensors) is
  never reported offline: its silence means nothing. Its verdict says so.
- Sources themselves (the Zigbee2MQTT bridge, a serial receiver, rtl_433) are
  reported as pseudo-devices ``gateway:<source>`` going offline and online.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from device_profiles.schema import Supervision
from gateway._reading import Reading
from protocol import EventType

__all__ = [
    "StatusChange",
    "SupervisionState",
    "Verdict",
    "availability",
    "heard",
    "link",
    "next_deadline",
    "note_readings",
    "tick",
    "verdict",
    "watch",
    "window_for",
]

LINK_PREFIX = "gateway:"


class Verdict(StrEnum):
    """What the gateway can say about a device's health."""

    OK = "ok"
    OFFLINE = "offline"
    LOW_BATTERY = "low battery"
    TAMPERED = "tampered"
    NOT_HEARD = "not heard yet"
    #: The device sends no heartbeat: its silence cannot be told from its death.
    UNSUPERVISED = "no heartbeat"


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A device (or source) went online or offline, and why."""

    device_id: str
    online: bool
    reason: str
    at: datetime


@dataclass(slots=True)
class _Watch:
    window_s: int | None
    last_heard: datetime | None = None
    deadline: datetime | None = None
    online: bool | None = None
    reason: str = ""
    battery_low: bool | None = None
    tampered: bool | None = None


@dataclass(slots=True)
class SupervisionState:
    """Per-device watches and per-source link states."""

    devices: dict[str, _Watch] = field(default_factory=dict)
    links: dict[str, bool] = field(default_factory=dict)


def window_for(supervision: Supervision) -> int | None:
    """Return the silence after which a device counts as offline, or None if it cannot."""
    if supervision.offline_after_s is not None:
        return supervision.offline_after_s
    if supervision.checkin_s is not None:
        return 2 * supervision.checkin_s
    return None


def watch(
    state: SupervisionState,
    device_id: str,
    window_s: int | None,
    now: datetime,
    *,
    last_heard: datetime | None = None,
) -> None:
    """Start watching a device; its first deadline counts from ``last_heard`` or ``now``."""
    if device_id in state.devices:
        return
    w = _Watch(window_s, last_heard=last_heard)
    if window_s is not None:
        w.deadline = (last_heard or now) + timedelta(seconds=window_s)
    state.devices[device_id] = w


def heard(state: SupervisionState, device_id: str, at: datetime) -> list[StatusChange]:
    """Record that a device was heard at ``at``; report it back online if it was offline."""
    w = state.devices.get(device_id)
    if w is None:
        return []
    if w.last_heard is None or at > w.last_heard:
        w.last_heard = at
        if w.window_s is not None:
            w.deadline = at + timedelta(seconds=w.window_s)
    if w.online is False:
        w.online, w.reason = True, "heard again"
        return [StatusChange(device_id, online=True, reason=w.reason, at=at)]
    w.online = True
    return []


def availability(
    state: SupervisionState, device_id: str, online: bool, at: datetime, reason: str
) -> list[StatusChange]:
    """Apply a source's own availability report (Zigbee2MQTT's)."""
    w = state.devices.get(device_id)
    if w is None or w.online is online:
        return []
    w.online, w.reason = online, reason
    if online and w.window_s is not None:
        w.deadline = at + timedelta(seconds=w.window_s)
    return [StatusChange(device_id, online=online, reason=reason, at=at)]


def note_readings(state: SupervisionState, readings: Iterable[Reading]) -> None:
    """Keep the battery and tamper flags the verdict reports."""
    for reading in readings:
        w = state.devices.get(reading.device_id)
        if w is None:
            continue
        if reading.type is EventType.BATTERY:
            w.battery_low = bool(reading.data.get("low"))
        elif reading.type is EventType.TAMPER:
            w.tampered = bool(reading.data.get("tampered"))


def link(
    state: SupervisionState, name: str, up: bool, at: datetime, reason: str
) -> list[StatusChange]:
    """Record a source's state; report a change (a first "up" is not news)."""
    device_id = f"{LINK_PREFIX}{name}"
    previous = state.links.get(device_id)
    state.links[device_id] = up
    if previous is up or (previous is None and up):
        return []
    return [StatusChange(device_id, online=up, reason=reason, at=at)]


def tick(state: SupervisionState, now: datetime) -> list[StatusChange]:
    """Report every supervised device whose window has passed at ``now``."""
    out: list[StatusChange] = []
    for device_id, w in state.devices.items():
        if w.deadline is None or w.window_s is None or now < w.deadline or w.online is False:
            continue
        w.online, w.reason = False, f"silent for more than {w.window_s} s"
        out.append(StatusChange(device_id, online=False, reason=w.reason, at=now))
    return out


def next_deadline(state: SupervisionState) -> datetime | None:
    """Return when ``tick`` may next report a device offline, or None."""
    return min(
        (w.deadline for w in state.devices.values() if w.deadline and w.online is not False),
        default=None,
    )


def verdict(state: SupervisionState, device_id: str) -> Verdict:
    """Summarize a device's health in one word."""
    w = state.devices.get(device_id)
    if w is None:
        return Verdict.NOT_HEARD
    if w.online is False:
        return Verdict.OFFLINE
    if w.tampered:
        return Verdict.TAMPERED
    if w.battery_low:
        return Verdict.LOW_BATTERY
    if w.last_heard is None and w.online is None:
        return Verdict.NOT_HEARD if w.window_s is not None else Verdict.UNSUPERVISED
    return Verdict.OK if w.window_s is not None else Verdict.UNSUPERVISED
