"""What a home's sensors report about the people in it, as raw events in time order."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from operator import itemgetter

from protocol import EventType
from protocol.events import (
    BedData,
    ContactData,
    EventData,
    LocationData,
    MotionData,
    PresenceData,
    VitalsData,
)
from simulators.life._model import Persona
from simulators.life._routine import AWAY_ACTS, BED_ACTS, SEAT_ACTS, Block, Visit

__all__ = ["RawEvent", "Sensors", "far_fixes", "offset"]

#: (POSIX seconds, device, type, room, data)
RawEvent = tuple[float, str, EventType, str | None, EventData]

#: Zigbee2MQTT sets ``occupancy: false`` this long after a PIR's last trigger (its default).
PIR_TIMEOUT_S = 90.0
#: mmWave radars hold presence for a short while after the person leaves their field.
RADAR_HOLD_S = 30.0
FIX_PERIOD_S = 300.0
VITALS_PERIOD_S = 300.0
_EARTH_M_PER_DEG = 111_320.0

_ON_OFF: dict[EventType, tuple[EventData, EventData]] = {
    EventType.MOTION: (MotionData(motion=True), MotionData(motion=False)),
    EventType.PRESENCE: (PresenceData(present=True), PresenceData(present=False)),
    EventType.BED: (BedData(occupied=True), BedData(occupied=False)),
    EventType.CONTACT: (ContactData(open=True), ContactData(open=False)),
}


class _Latch:
    """A binary sensor that turns on with activity and off ``timeout`` after it ends."""

    __slots__ = ("active", "device", "last", "off", "on", "room", "timeout", "type")

    def __init__(self, device: str, event_type: EventType, room: str | None, timeout: float):
        self.device, self.type, self.room, self.timeout = device, event_type, room, timeout
        self.on, self.off = _ON_OFF[event_type]
        self.active = False
        self.last = -math.inf

    def hold(self, start: float, end: float, out: list[RawEvent]) -> None:
        if self.active:
            if start > self.last + self.timeout:
                out.append((self.last + self.timeout, self.device, self.type, self.room, self.off))
                out.append((start, self.device, self.type, self.room, self.on))
            self.last = max(self.last, end)
        else:
            out.append((start, self.device, self.type, self.room, self.on))
            self.active = True
            self.last = end

    def flush(self, until: float, out: list[RawEvent]) -> None:
        if self.active and self.last + self.timeout <= until:
            out.append((self.last + self.timeout, self.device, self.type, self.room, self.off))
            self.active = False


def offset(lat: float, lon: float, bearing: float, metres: float) -> tuple[float, float]:
    """Return the point ``metres`` from (lat, lon) along ``bearing`` (radians from north)."""
    dlat = metres * math.cos(bearing) / _EARTH_M_PER_DEG
    dlon = metres * math.sin(bearing) / (_EARTH_M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def far_fixes(start: float, end: float, max_m: float) -> list[tuple[float, float]]:
    """Return (time, distance from home) of the fixes of a walk out to ``max_m`` and back."""
    fixes = []
    t = start + 120.0
    while t < end:
        f = (t - start) / (end - start)
        fixes.append((t, max_m * (1.0 - abs(1.0 - 2.0 * f))))
        t += FIX_PERIOD_S
    return fixes


def _pir_gap(p: Persona, act: str) -> float | None:
    if act in ("move", "cook"):
        return 30.0
    if act == "toilet":
        return 45.0
    if act == "shower":
        return 25.0
    if act == "bath":
        return 150.0
    if act == "visit":
        return 60.0
    if act == "sit":
        return p.sit_gap_s
    if act == "chair":
        return 2400.0
    if act in ("sleep", "nap"):
        return p.sleep_gap_s
    if act == "rest":
        return None if p.sleep_gap_s is None else 900.0
    return None


class Sensors:
    """The sensors of one home, carrying their state from one stretch of time to the next."""

    def __init__(self, persona: Persona, rng: random.Random) -> None:
        self.p = persona
        self.rng = rng
        devices = {d.device for d in persona.devices}
        self.latches: dict[str, _Latch] = {}
        for d in persona.devices:
            if d.type is EventType.MOTION:
                self.latches[d.device] = _Latch(d.device, d.type, d.room, PIR_TIMEOUT_S)
            elif d.type is EventType.PRESENCE:
                hold = RADAR_HOLD_S if d.device.startswith("radar_") else 2.0
                self.latches[d.device] = _Latch(d.device, d.type, d.room, hold)
            elif d.type in (EventType.BED, EventType.CONTACT):
                hold = 2.0 if d.type is EventType.BED else 10.0
                self.latches[d.device] = _Latch(d.device, d.type, d.room, hold)
        self.pir = {d.room: d.device for d in persona.devices if d.type is EventType.MOTION}
        self.radar = {d.room: d.device for d in persona.devices if d.device.startswith("radar_")}
        self.vitals = "bed_vitals" in devices
        self.watch = "watch" in devices
        self.resident_room = "bedroom"

    def render(
        self, blocks: list[Block], visits: Iterable[Visit], start: float, end: float
    ) -> list[RawEvent]:
        """Return the events of [start, end), given everybody's blocks there, in time order."""
        pulses: list[tuple[float, float, str]] = []
        out: list[RawEvent] = []
        prev = self.resident_room
        for b in blocks:
            self._transition(prev, b.room, b.start, pulses)
            prev = b.room
            self._activity(b, pulses)
            if b.act in BED_ACTS and b.room == "bedroom":
                pulses.append((b.start, b.end, "bed"))
                if self.vitals:
                    self._vitals(b, out)
            elif b.act in SEAT_ACTS and b.room == "living" and "seat_living" in self.latches:
                pulses.append((b.start, b.end, "seat_living"))
            elif b.act == "out" and self.watch:
                self._locations(b, out)
        self.resident_room = prev
        for visit in visits:
            before = "out"
            for b in visit.blocks:
                if b.start >= end:
                    break
                self._transition(before, b.room, b.start, pulses)
                before = b.room
                self._activity(b, pulses)
            if visit.blocks and visit.blocks[-1].end < end:
                self._transition(before, "out", visit.blocks[-1].end, pulses)
        pulses.sort(key=itemgetter(0))
        latches = self.latches
        for s, e, device in pulses:
            latch = latches.get(device)
            if latch is not None:
                latch.hold(s, e, out)
        for latch in latches.values():
            latch.flush(end, out)
        return out

    def _transition(self, a: str, b: str, t: float, pulses: list[tuple[float, float, str]]) -> None:
        """Add the sensors passed on the way from room ``a`` to room ``b`` (``out``: outside)."""
        if a == b:
            return
        # Walking to the front door takes a few seconds past the bathroom door and the hall
        # PIR; coming in, the same happens after the front door.
        leaving, arriving = b == "out", a == "out"
        step = -1.0 if leaving else 1.0
        inner = a if leaving else b
        if leaving or arriving:
            pulses.append((t, t, "door_front"))
            if "entrance" in self.pir:
                seen = t + 3.0 * step
                pulses.append((seen, seen, self.pir["entrance"]))
        else:
            step = 0.0
        if "hall" in self.pir and not {a, b} & {"hall", "entrance"}:
            seen = t + 12.0 * step
            pulses.append((seen, seen, self.pir["hall"]))
        if inner == "bathroom" or (not (leaving or arriving) and "bathroom" in (a, b)):
            seen = t + 20.0 * step
            pulses.append((seen, seen, "door_bathroom"))

    def _activity(self, b: Block, pulses: list[tuple[float, float, str]]) -> None:
        if b.act in AWAY_ACTS:
            return
        radar = self.radar.get(b.room)
        if radar is not None:
            pulses.append((b.start, b.end, radar))
        pir = self.pir.get(b.room)
        gap = _pir_gap(self.p, b.act)
        if pir is None or gap is None:
            return
        rng = self.rng
        t = b.start + rng.random() * 3.0 if b.act != "sleep" else b.start + rng.expovariate(1 / gap)
        run_start = run_end = t
        if t >= b.end:
            return
        while True:
            t += rng.expovariate(1.0 / gap)
            if t >= b.end:
                break
            if t - run_end > PIR_TIMEOUT_S:
                pulses.append((run_start, run_end, pir))
                run_start = t
            run_end = t
        pulses.append((run_start, run_end, pir))

    def _vitals(self, b: Block, out: list[RawEvent]) -> None:
        rng, p = self.rng, self.p
        t = b.start + 90.0
        base_hr = p.heart_rate - (6 if b.act == "sleep" else 0)
        while t < b.end:
            # Mattress sensors lose the heart rate now and then when the sleeper turns over.
            hr = None if rng.random() < 0.02 else max(35, round(rng.gauss(base_hr, 3)))
            rr = max(6, round(rng.gauss(p.respiration, 1.0)))
            data = VitalsData.model_construct(heart_rate=hr, respiration_rate=rr)
            out.append((t, "bed_vitals", EventType.VITALS, "bedroom", data))
            t += VITALS_PERIOD_S + rng.uniform(-20.0, 20.0)

    def _locations(self, b: Block, out: list[RawEvent]) -> None:
        rng, p = self.rng, self.p
        if b.path is not None:
            bearing, max_m = b.path
            for t, dist in far_fixes(b.start, b.end, max_m):
                lat, lon = offset(p.lat, p.lon, bearing, dist)
                out.append((t, "watch", EventType.LOCATION, None, _fix(lat, lon, 8.0)))
            return
        # An ordinary outing: out to a shop or a bench and back, well inside any geofence.
        bearing = rng.uniform(0, 2 * math.pi)
        far = rng.uniform(80.0, 0.35 * p.geofence_radius_m)
        t = b.start + 120.0
        while t < b.end:
            f = (t - b.start) / (b.end - b.start)
            dist = far * min(1.0, 3.0 * min(f, 1.0 - f))
            lat, lon = offset(p.lat, p.lon, bearing + rng.gauss(0, 0.1), dist + rng.gauss(0, 8))
            out.append((t, "watch", EventType.LOCATION, None, _fix(lat, lon, rng.uniform(5, 30))))
            t += FIX_PERIOD_S


def _fix(lat: float, lon: float, accuracy: float) -> LocationData:
    return LocationData.model_construct(lat=lat, lon=lon, accuracy_m=round(accuracy, 1))
