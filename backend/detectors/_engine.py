"""The per-home detection engine: pure functions of (state, input, now).

One ``HomeState`` holds what every detector of a home remembers, and its pending timers.
``step`` takes one event, ``fire`` one timer, ``gateway_status`` and ``visit`` the two
inputs that are not events; ``advance`` fires every timer due up to a time, in due order.
Each returns the new state and the findings (alerts to raise or clear). Timers are absolute
deadlines with a token: a firing whose token is no longer current does nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from backend.alerts import PRIORITY_OF, AlertKind, Priority
from backend.careplan import CarePlan, Circle, Polygon
from backend.detectors._immediate import IMMEDIATE_RULES, SEAM_RULES
from backend.detectors._model import Clear, Deadline, Finding, Timer
from backend.detectors._time import (
    active_deadline,
    hourly_rates,
    next_local,
    silence_crossing,
    silence_expectation,
)
from protocol import Envelope, EventType
from protocol.events import (
    LIFE_SAFETY_TYPES,
    BatteryData,
    BedData,
    ContactData,
    DeviceStatusData,
    LocationData,
    MotionData,
    PresenceData,
    TamperData,
    VitalsData,
)

__all__ = [
    "HomeState",
    "advance",
    "deadlines",
    "fire",
    "gateway_status",
    "next_due",
    "step",
    "visit",
]

_RULES = {rule.event_type: rule for rule in (*IMMEDIATE_RULES, *SEAM_RULES)}
FRONT_DOOR = "door_front"
BATHROOM_DOOR = "door_bathroom"
BATHROOM = "bathroom"
BEDROOM = "bedroom"
_EARTH_M = 6_371_000.0
#: Evidence of getting up counts from this long before the usual wake time.
_MORNING_LOOKBACK = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class HomeState:
    """Everything the detectors of one home remember; small, and serializable to JSON."""

    home: str
    clock: datetime | None = None
    next_token: int = 1
    timers: Mapping[str, Timer] = field(default_factory=dict)
    # What the home is equipped with, learnt from the events seen ("motion:kitchen", "bed", ...).
    sensors: tuple[str, ...] = ()
    # Activity and whereabouts.
    last_activity: datetime | None = None
    last_activity_id: UUID | None = None
    last_room: str | None = None
    in_bed: bool = False
    away: bool = False
    present: tuple[str, ...] = ()
    gateway_online: bool = True
    visits: tuple[str, ...] = ()
    up_at: datetime | None = None
    # Bathroom dwell.
    bath_inside: bool = False
    # Radar stillness.
    still_room: str | None = None
    # Learned inactivity: one bitmask of active hours per local day.
    learn_days: tuple[tuple[int, int], ...] = ()
    learn_day: int = 0
    learn_mask: int = 0
    # Geofence and vitals.
    outside: bool = False
    breach_since: datetime | None = None
    breach_critical: bool = False
    # Device health.
    offline: tuple[str, ...] = ()
    low: tuple[str, ...] = ()
    tampered: tuple[str, ...] = ()
    life_safety: tuple[str, ...] = ()


_FIELDS = tuple(f.name for f in fields(HomeState))


class _Work:
    """A mutable working copy of a state, for one call; frozen again at the end."""

    def __init__(self, state: HomeState, plan: CarePlan, now: datetime) -> None:
        self.__dict__.update({name: getattr(state, name) for name in _FIELDS})
        self.timers = dict(state.timers)
        self.plan = plan
        self.now = now
        self.findings: list[Finding] = []

    # Attributes mirror HomeState; declared for the type checker.
    home: str
    clock: datetime | None
    next_token: int
    timers: dict[str, Timer]
    sensors: tuple[str, ...]
    last_activity: datetime | None
    last_activity_id: UUID | None
    last_room: str | None
    in_bed: bool
    away: bool
    present: tuple[str, ...]
    gateway_online: bool
    visits: tuple[str, ...]
    up_at: datetime | None
    bath_inside: bool
    still_room: str | None
    learn_days: tuple[tuple[int, int], ...]
    learn_day: int
    learn_mask: int
    outside: bool
    breach_since: datetime | None
    breach_critical: bool
    offline: tuple[str, ...]
    low: tuple[str, ...]
    tampered: tuple[str, ...]
    life_safety: tuple[str, ...]

    def freeze(self) -> HomeState:
        return HomeState(**{name: getattr(self, name) for name in _FIELDS})

    def arm(self, name: str, due: datetime, cause: UUID | None) -> None:
        self.timers[name] = Timer(due, self.next_token, cause)
        self.next_token += 1

    def disarm(self, name: str) -> None:
        self.timers.pop(name, None)

    def has(self, sensor: str) -> bool:
        return sensor in self.sensors

    def learn(self, sensor: str) -> None:
        if sensor not in self.sensors:
            self.sensors = tuple(sorted((*self.sensors, sensor)))

    def find(
        self,
        kind: AlertKind,
        reason: str,
        event_id: UUID | None,
        detector: str,
        *,
        priority: Priority | None = None,
        cause: UUID | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                self.home,
                kind,
                PRIORITY_OF[kind] if priority is None else priority,
                self.now,
                reason,
                event_id,
                cause,
                detector,
            )
        )

    def clear(self, kind: AlertKind, detector: str) -> None:
        self.findings.append(Clear(self.home, kind, self.now, "condition cleared", detector))

    def local_time(self) -> datetime:
        return self.now.astimezone(self.plan.zone)


# -- the event step --------------------------------------------------------------------------


def step(
    state: HomeState, event: Envelope, plan: CarePlan, now: datetime | None = None
) -> tuple[HomeState, list[Finding]]:
    """Apply one event; ``now`` defaults to the event's time (never earlier than the state's)."""
    moment = event.at if now is None else now
    if state.clock is not None and moment < state.clock:
        moment = state.clock  # a late event is applied at the state's time, never before it
    w = _Work(state, plan, moment)
    w.clock = moment
    kind = event.type
    data = event.data
    rule = _RULES.get(kind)
    if rule is not None and rule.fires(data):
        w.find(rule.kind, f"{rule.reason} on device {event.device}", event.id, "immediate")
    if kind in LIFE_SAFETY_TYPES and event.device not in w.life_safety:
        w.life_safety = tuple(sorted((*w.life_safety, event.device)))
    handler = _HANDLERS.get(type(data))
    if handler is not None:
        handler(w, event, data)
    elif kind in (EventType.SOS, EventType.FALL):
        _activity(w, event, event.room)
    if "morning" not in w.timers and plan.usual_wake_time is not None:
        _arm_morning(w)
    return w.freeze(), w.findings


def _activity(w: _Work, event: Envelope, room: str | None, *, up: bool = True) -> None:
    """Record resident activity: it restarts the inactivity clocks and ends an absence."""
    w.last_activity = w.now
    w.last_activity_id = event.id
    if room is not None:
        w.last_room = room
    if up:
        w.up_at = w.now
    if w.bath_inside and room is not None and room != BATHROOM:
        w.bath_inside = False  # seen elsewhere: out of the bathroom
        w.disarm("bathroom")
    if event.device != FRONT_DOOR:
        w.away = False
        w.disarm("away")  # someone moves inside: the resident is home
    _learn_activity(w)
    _arm_inactivity(w, event.id)


def _on_motion(w: _Work, event: Envelope, data: MotionData) -> None:
    room = event.room
    w.learn(f"motion:{room}")
    if room == BATHROOM:
        if data.motion:
            w.bath_inside = True
        if w.bath_inside:
            w.arm("bathroom", w.now + timedelta(minutes=w.plan.bathroom_dwell_min), event.id)
    if "bed_exit" in w.timers and (data.motion or room == BATHROOM):
        # Moving about explains the time out of bed, but only at night: by day the
        # daytime detectors take over.
        if w.plan.night_window.contains(w.local_time().time()):
            w.arm("bed_exit", w.now + timedelta(minutes=w.plan.bed_exit_return_min), event.id)
        else:
            w.disarm("bed_exit")
    if "still" in w.timers:
        w.arm("still", w.now + timedelta(minutes=w.plan.radar_still_min), event.id)
    if data.motion:
        _activity(w, event, room, up=room != BEDROOM or not w.in_bed)


def _is_front_door(event: Envelope) -> bool:
    return event.device == FRONT_DOOR or (
        event.device != BATHROOM_DOOR and event.room == "entrance"
    )


def _on_contact(w: _Work, event: Envelope, data: ContactData) -> None:
    if _is_front_door(event):
        w.learn("door_front")
        if data.open and w.plan.dementia and w.plan.night_window.contains(w.local_time().time()):
            w.find(AlertKind.WANDERING, "front door opened at night", event.id, "wandering")
        returning = w.away
        w.away = False
        _activity(w, event, event.room)
        if not returning or not data.open:
            # Whoever went through the door: if nothing moves inside afterwards, nobody is home.
            w.arm("away", w.now + timedelta(minutes=w.plan.away_confirm_min), event.id)
        w.disarm("bed_exit")
        return
    if event.device == BATHROOM_DOOR or event.room == BATHROOM:
        w.learn("door_bathroom")
        if data.open:
            if w.bath_inside:
                w.bath_inside = False  # the door opened from inside: leaving
                w.disarm("bathroom")
            elif not w.has("motion:bathroom"):
                w.bath_inside = True  # no bathroom motion sensor: the door alone tells entry
                w.arm("bathroom", w.now + timedelta(minutes=w.plan.bathroom_dwell_min), event.id)
    _activity(w, event, event.room)


def _on_bed(w: _Work, event: Envelope, data: BedData) -> None:
    w.learn("bed")
    w.in_bed = data.occupied
    if data.occupied:
        w.disarm("bed_exit")
        if w.has("vitals"):
            w.arm(
                "vitals_absent",
                w.now + timedelta(minutes=w.plan.vitals_absent_in_bed_min),
                event.id,
            )
        _activity(w, event, event.room, up=False)  # in bed: inactivity clocks stop
        return
    w.disarm("vitals_absent")
    if w.plan.night_window.contains(w.local_time().time()):
        w.arm("bed_exit", w.now + timedelta(minutes=w.plan.bed_exit_return_min), event.id)
    _activity(w, event, event.room)


def _on_presence(w: _Work, event: Envelope, data: PresenceData) -> None:
    room = event.room
    radar = event.device.startswith("radar_")
    w.learn(f"radar:{room}" if radar else "seat")
    if data.present:
        if event.device not in w.present:
            w.present = tuple(sorted((*w.present, event.device)))
        if radar and room in w.plan.radar_still_rooms:
            w.still_room = room
            w.arm("still", w.now + timedelta(minutes=w.plan.radar_still_min), event.id)
        # Someone seated or seen by a radar is present: inactivity waits until they leave.
        _activity(w, event, room, up=room != BEDROOM)
        if not radar or room not in w.plan.radar_still_rooms:
            # Sitting in a chair, or seen by a radar where one sits, explains the time out
            # of bed; a radar where one should not lie still leaves the watch to "still".
            w.disarm("bed_exit")
        return
    w.present = tuple(d for d in w.present if d != event.device)
    if radar and w.still_room == room:
        w.still_room = None
        w.disarm("still")
    # Someone was there until now, but a radar also clears after the last person has left
    # the home: this is not activity that could end an absence.
    if w.last_activity is not None and not w.away:
        w.last_activity = w.now
        _arm_inactivity(w, w.last_activity_id)


def _vitals_out(w: _Work, data: VitalsData) -> tuple[bool, bool]:
    lim = w.plan.vitals
    out = critical = False
    hr, rr = data.heart_rate, data.respiration_rate
    if hr is not None and not lim.heart_rate_min <= hr <= lim.heart_rate_max:
        out = True
        critical = not lim.heart_rate_critical_min <= hr <= lim.heart_rate_critical_max
    if rr is not None and not lim.respiration_min <= rr <= lim.respiration_max:
        out = True
    return out, critical


def _on_vitals(w: _Work, event: Envelope, data: VitalsData) -> None:
    w.learn("vitals")
    measured = data.heart_rate is not None or data.respiration_rate is not None
    if w.in_bed and measured:
        w.arm("vitals_absent", w.now + timedelta(minutes=w.plan.vitals_absent_in_bed_min), event.id)
    if not measured:
        w.breach_since, w.breach_critical = None, False
        w.disarm("vitals")
        return
    out, critical = _vitals_out(w, data)
    if not out:
        w.breach_since, w.breach_critical = None, False
        w.disarm("vitals")
        return
    w.breach_critical = w.breach_critical or critical
    if w.breach_since is None:
        w.breach_since = w.now
        w.arm("vitals", w.now + timedelta(seconds=w.plan.vitals.sustained_s), event.id)


def _inside(fence: Circle | Polygon, lat: float, lon: float, accuracy: float) -> bool:
    if isinstance(fence, Circle):
        p1, p2 = math.radians(fence.lat), math.radians(lat)
        dp, dl = p2 - p1, math.radians(lon - fence.lon)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        distance = 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(h)))
        # A fix is outside only when even its error circle is: a poor fix does not alarm.
        return distance - accuracy <= fence.radius_m
    points = fence.points
    inside = False
    j = len(points) - 1
    for i, (yi, xi) in enumerate(points):
        yj, xj = points[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _on_location(w: _Work, event: Envelope, data: LocationData) -> None:
    fence = w.plan.geofence
    if fence is None:
        return
    inside = _inside(fence, data.lat, data.lon, data.accuracy_m or 0.0)
    if not inside and not w.outside:
        w.find(AlertKind.GEOFENCE, "wearable left the geofence", event.id, "geofence")
    w.outside = not inside


def _on_device_status(w: _Work, event: Envelope, data: DeviceStatusData) -> None:
    device = event.device
    name = f"coverage:{device}"
    if not data.online:
        if device not in w.offline:
            w.offline = tuple(sorted((*w.offline, device)))
        w.find(AlertKind.DEVICE_OFFLINE, f"device {device} offline", event.id, "health")
        if device in w.life_safety and name not in w.timers:
            w.arm(name, w.now + timedelta(minutes=w.plan.life_safety_offline_min), event.id)
        return
    w.disarm(name)
    if device in w.offline:
        w.offline = tuple(d for d in w.offline if d != device)
        if not w.offline:
            w.clear(AlertKind.DEVICE_OFFLINE, "health")


def _on_battery(w: _Work, event: Envelope, data: BatteryData) -> None:
    device = event.device
    if data.low:
        if device not in w.low:
            w.low = tuple(sorted((*w.low, device)))
            w.find(AlertKind.LOW_BATTERY, f"battery low on device {device}", event.id, "health")
    elif device in w.low:
        w.low = tuple(d for d in w.low if d != device)
        if not w.low:
            w.clear(AlertKind.LOW_BATTERY, "health")


def _on_tamper(w: _Work, event: Envelope, data: TamperData) -> None:
    device = event.device
    if data.tampered:
        if device not in w.tampered:
            w.tampered = tuple(sorted((*w.tampered, device)))
        life = device in w.life_safety
        w.find(
            AlertKind.TAMPER,
            f"tamper on {'life-safety ' if life else ''}device {device}",
            event.id,
            "immediate" if life else "health",
            # A life-safety device opened or removed may no longer protect the resident.
            priority=Priority.URGENT if life else Priority.MAINTENANCE,
        )
    elif device in w.tampered:
        w.tampered = tuple(d for d in w.tampered if d != device)
        if not w.tampered:
            w.clear(AlertKind.TAMPER, "health")


# -- inactivity ----------------------------------------------------------------------------


def _inactivity_suppressed(w: _Work) -> bool:
    return bool(w.away or w.visits or not w.gateway_online)


def _still_hours(w: _Work) -> float:
    # Seated or seen by a radar: alive most likely, so a longer silence is allowed.
    return w.plan.presence_still_hours if w.present else w.plan.inactivity_hours


def _arm_inactivity(w: _Work, cause: UUID | None) -> None:
    if w.in_bed or w.away:
        w.disarm("inactivity")
    else:
        # A lower bound: time inside active hours never runs faster than the clock.
        w.arm("inactivity", w.now + timedelta(hours=_still_hours(w)), cause)
    learned = w.plan.learned_inactivity
    if learned.enabled and len(w.learn_days) >= learned.min_history_days and not w.away:
        w.arm("learned", w.now + timedelta(hours=learned.min_silence_hours), cause)


def _learn_activity(w: _Work) -> None:
    local = w.local_time()
    day = local.toordinal()
    if day != w.learn_day:
        _roll_days(w, day)
    w.learn_mask |= 1 << local.hour


def _roll_days(w: _Work, day: int) -> None:
    if w.learn_day:
        window = w.plan.learned_inactivity.window_days
        days = list(w.learn_days)
        days.append((w.learn_day, w.learn_mask))
        # Days with no activity at all (an absence, or the gateway down) teach nothing.
        w.learn_days = tuple(days[-window:])
    w.learn_day, w.learn_mask = day, 0


def _fire_inactivity(w: _Work, timer: Timer) -> None:
    if _inactivity_suppressed(w) or w.in_bed or w.last_activity is None:
        return
    plan = w.plan
    hours = _still_hours(w)
    due = active_deadline(w.last_activity, hours * 3600, plan.active_hours, plan.zone)
    if due > w.now:
        w.timers["inactivity"] = Timer(due, timer.token, timer.cause)
        return
    w.find(
        AlertKind.INACTIVITY,
        f"no activity for {hours:g} h of active hours{' while seated' if w.present else ''}",
        None,
        "inactivity",
        cause=timer.cause,
    )


def _fire_learned(w: _Work, timer: Timer) -> None:
    if _inactivity_suppressed(w) or w.present or w.last_activity is None:
        return
    learned = w.plan.learned_inactivity
    rates = hourly_rates([mask for _, mask in w.learn_days[-learned.window_days :]])
    threshold = -math.log(learned.improbability)
    zone = w.plan.zone
    expected = silence_expectation(rates, w.last_activity, w.now, zone)
    if expected >= threshold:
        w.find(
            AlertKind.INACTIVITY,
            f"silence improbable for this resident (p < {learned.improbability:g})",
            None,
            "learned",
            cause=timer.cause,
        )
        return
    due = silence_crossing(rates, w.last_activity, threshold, zone)
    if due is not None:
        w.timers["learned"] = Timer(
            max(due, w.now + timedelta(seconds=1)), timer.token, timer.cause
        )


def _arm_morning(w: _Work) -> None:
    wake = w.plan.usual_wake_time
    if wake is None:
        return
    check = (
        datetime.combine(w.local_time().date(), wake, w.plan.zone)
        + timedelta(hours=w.plan.morning_check_grace_hours)
    ).time()
    w.arm("morning", next_local(w.now, check, w.plan.zone), None)


def _fire_morning(w: _Work) -> None:
    _arm_morning(w)
    if _inactivity_suppressed(w) or not w.sensors:
        return
    since = w.now - timedelta(hours=w.plan.morning_check_grace_hours) - _MORNING_LOOKBACK
    if w.up_at is not None and w.up_at >= since and not w.in_bed:
        return
    w.find(
        AlertKind.INACTIVITY,
        f"not up {w.plan.morning_check_grace_hours:g} h after the usual wake time",
        None,
        "morning",
        cause=w.last_activity_id,
    )


# -- timers --------------------------------------------------------------------------------


def fire(
    state: HomeState, name: str, token: int, plan: CarePlan, now: datetime
) -> tuple[HomeState, list[Finding]]:
    """Fire the timer ``name``; a stale token or an already fired timer does nothing."""
    timer = state.timers.get(name)
    if timer is None or timer.token != token:
        return state, []
    w = _Work(state, plan, max(now, state.clock) if state.clock is not None else now)
    w.clock = w.now
    del w.timers[name]
    if name.startswith("coverage:"):
        _fire_coverage(w, timer, name.removeprefix("coverage:"))
    else:
        _FIRE[name](w, timer)
    return w.freeze(), w.findings


def _fire_away(w: _Work, _timer: Timer) -> None:
    w.away = True
    for name in ("inactivity", "learned", "bed_exit", "bathroom"):
        w.disarm(name)
    w.bath_inside = False


def _fire_bed_exit(w: _Work, timer: Timer) -> None:
    # Once the night is over, getting up is the morning: the daytime detectors take over.
    night = w.plan.night_window.contains(w.local_time().time())
    if night and not w.away and not w.in_bed:
        w.find(
            AlertKind.FALL_SUSPECTED,
            f"out of bed at night for {w.plan.bed_exit_return_min:g} min",
            None,
            "bed_exit",
            cause=timer.cause,
        )


def _fire_bathroom(w: _Work, timer: Timer) -> None:
    if w.bath_inside and not w.away:
        w.bath_inside = False
        w.find(
            AlertKind.FALL_SUSPECTED,
            f"in the bathroom for {w.plan.bathroom_dwell_min:g} min without moving out",
            None,
            "bathroom",
            cause=timer.cause,
        )


def _fire_still(w: _Work, timer: Timer) -> None:
    w.find(
        AlertKind.FALL_SUSPECTED,
        f"radar presence without motion for {w.plan.radar_still_min:g} min in the {w.still_room}",
        None,
        "still",
        cause=timer.cause,
    )


def _fire_vitals(w: _Work, timer: Timer) -> None:
    if w.breach_since is not None:
        w.find(
            AlertKind.VITALS,
            f"vitals outside limits for {w.plan.vitals.sustained_s:g} s",
            None,
            "vitals",
            priority=Priority.LIFE_THREATENING if w.breach_critical else Priority.URGENT,
            cause=timer.cause,
        )


def _fire_vitals_absent(w: _Work, timer: Timer) -> None:
    if w.in_bed:
        w.find(
            AlertKind.VITALS,
            f"no vitals for {w.plan.vitals_absent_in_bed_min:g} min while in bed",
            None,
            "vitals_absent",
            cause=timer.cause,
        )


def _fire_gateway(w: _Work, _timer: Timer) -> None:
    if not w.gateway_online:
        w.find(
            AlertKind.GATEWAY_OFFLINE,
            f"gateway offline for {w.plan.offline_grace_s:g} s",
            None,
            "health",
            cause=w.last_activity_id,
        )


def _fire_coverage(w: _Work, timer: Timer, device: str) -> None:
    if device in w.offline:
        w.find(
            AlertKind.DEVICE_OFFLINE,
            f"life-safety device {device} offline for {w.plan.life_safety_offline_min:g} min",
            None,
            "health",
            # Coverage is lost: the home is no longer protected against this hazard.
            priority=Priority.URGENT,
            cause=timer.cause,
        )


_FIRE: dict[str, Callable[[_Work, Timer], None]] = {
    "away": _fire_away,
    "bed_exit": _fire_bed_exit,
    "bathroom": _fire_bathroom,
    "still": _fire_still,
    "inactivity": _fire_inactivity,
    "learned": _fire_learned,
    "morning": lambda w, _t: _fire_morning(w),
    "vitals": _fire_vitals,
    "vitals_absent": _fire_vitals_absent,
    "gateway": _fire_gateway,
}

_HANDLERS: dict[type[Any], Callable[[_Work, Envelope, Any], None]] = {
    MotionData: _on_motion,
    ContactData: _on_contact,
    BedData: _on_bed,
    PresenceData: _on_presence,
    VitalsData: _on_vitals,
    LocationData: _on_location,
    DeviceStatusData: _on_device_status,
    BatteryData: _on_battery,
    TamperData: _on_tamper,
}


def advance(state: HomeState, until: datetime, plan: CarePlan) -> tuple[HomeState, list[Finding]]:
    """Fire every timer due at or before ``until``, in due order, each at its own due time."""
    found: list[Finding] = []
    while state.timers:
        name, timer = min(state.timers.items(), key=lambda item: (item[1].due, item[0]))
        if timer.due > until:
            break
        state, out = fire(state, name, timer.token, plan, timer.due)
        found.extend(out)
    return state, found


def deadlines(state: HomeState) -> list[Deadline]:
    """Return the pending deadlines of a home."""
    return [Deadline(state.home, n, t.due, t.token) for n, t in state.timers.items()]


def next_due(state: HomeState) -> datetime | None:
    """Return the earliest pending deadline, if any."""
    return min((t.due for t in state.timers.values()), default=None)


# -- inputs that are not events ------------------------------------------------------------


def gateway_status(
    state: HomeState, online: bool, plan: CarePlan, now: datetime
) -> tuple[HomeState, list[Finding]]:
    """Apply a gateway's status (its last will is ``online = false``)."""
    w = _Work(state, plan, now)
    was = w.gateway_online
    w.gateway_online = online
    if online:
        raised = not was and "gateway" not in w.timers  # the grace had run out
        w.disarm("gateway")
        if raised:
            w.clear(AlertKind.GATEWAY_OFFLINE, "health")
        if not was and w.last_activity is not None:
            w.last_activity = now  # the silence while offline says nothing
            _arm_inactivity(w, w.last_activity_id)
    elif "gateway" not in w.timers:
        w.arm("gateway", now + timedelta(seconds=plan.offline_grace_s), None)
    return w.freeze(), w.findings


def visit(
    state: HomeState, visit_id: str, *, active: bool, plan: CarePlan, now: datetime
) -> tuple[HomeState, list[Finding]]:
    """Start or end a care visit: while one is in progress, inactivity is not alerted."""
    w = _Work(state, plan, now)
    if active and visit_id not in w.visits:
        w.visits = (*w.visits, visit_id)
    elif not active and visit_id in w.visits:
        w.visits = tuple(v for v in w.visits if v != visit_id)
        if not w.visits:
            # The carer saw the resident: their inactivity clocks start again now.
            w.last_activity = now
            _arm_inactivity(w, w.last_activity_id)
    return w.freeze(), w.findings
