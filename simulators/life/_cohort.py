"""Seeded cohorts: residents, their homes' kits, their days, incidents with ground truth."""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from uuid import UUID
from zoneinfo import ZoneInfo

from backend.careplan import CarePlan, Circle, Polygon, TimeWindow
from protocol import Envelope, EventType
from protocol.events import AlarmData, BatteryData, DeviceStatusData, FallData, SosData
from simulators._errors import SimulatorError
from simulators.life._model import Incident, Kit, Persona
from simulators.life._render import RawEvent, Sensors, far_fixes, offset
from simulators.life._routine import (
    HOUR,
    MIN,
    Block,
    Day,
    Visit,
    awake_blocks,
    night_blocks,
    overlay,
    seeded,
)

__all__ = ["SCENARIOS", "Cohort", "care_plan_for", "generate_cohort"]

TIMEZONE = "Asia/Shanghai"
_SUPERVISION_S = 25 * HOUR  # Zigbee2MQTT marks a battery device offline after 25 h of silence.

#: Scenario -> (alert kind that must be raised, other kinds it explains).
SCENARIOS: dict[str, tuple[str, frozenset[str]]] = {
    "bathroom_fall": ("fall_suspected", frozenset({"inactivity"})),
    "night_fall": ("fall_suspected", frozenset({"inactivity"})),
    "collapse": ("inactivity", frozenset({"fall_suspected"})),
    "illness": ("inactivity", frozenset({"fall_suspected"})),
    "wearable_fall": ("fall", frozenset({"fall_suspected", "inactivity"})),
    "smoke": ("smoke", frozenset()),
    "gas": ("gas", frozenset()),
    "water_leak": ("water_leak", frozenset()),
    "sos": ("sos", frozenset()),
    "night_wandering": ("wandering", frozenset({"geofence", "fall_suspected"})),
    "geofence_breach": ("geofence", frozenset()),
    "battery_low": ("low_battery", frozenset({"device_offline"})),
    "battery_dead": ("device_offline", frozenset({"low_battery"})),
}

#: Chance per resident per 30 days of each scenario (those that need a device or a flag
#: are drawn only for residents who have it).
_RATES: dict[str, float] = {
    "bathroom_fall": 0.22,
    "night_fall": 0.22,
    "collapse": 0.1,
    "illness": 0.15,
    "wearable_fall": 0.3,
    "smoke": 0.15,
    "gas": 0.2,
    "water_leak": 0.25,
    "sos": 0.3,
    "night_wandering": 1.2,
    "geofence_breach": 0.6,
    "battery_dead": 0.12,
}
_DISRUPTIVE = frozenset({"bathroom_fall", "night_fall", "collapse", "illness", "night_wandering"})


def _round15(minutes: float) -> time:
    m = int(round(minutes / 15.0) * 15) % 1440
    return time(m // 60, m % 60)


def care_plan_for(p: Persona) -> CarePlan:
    """Return the care plan a coordinator would write for ``p`` from the known routine."""
    fence: Circle | Polygon | None = None
    if p.geofence == "circle":
        fence = Circle(lat=p.lat, lon=p.lon, radius_m=p.geofence_radius_m)
    elif p.geofence == "polygon":
        r = p.geofence_radius_m
        fence = Polygon(
            points=[
                offset(p.lat, p.lon, math.pi / 4 + k * math.pi / 2, r * math.sqrt(2))
                for k in range(4)
            ]
        )
    return CarePlan(
        timezone=TIMEZONE,
        night_window=TimeWindow(start=_round15(p.bed_min), end=_round15(p.wake_min - 30)),
        active_hours=TimeWindow(start=_round15(p.wake_min), end=_round15(p.bed_min)),
        usual_wake_time=_round15(p.wake_min),
        dementia=p.dementia,
        geofence=fence,
    )


def _persona(rng: random.Random, home: str, index: int) -> Persona:
    kit = (Kit.FULL, Kit.PARTIAL, Kit.MINIMAL)[index % 3]
    late = rng.random() < 0.08
    dementia = rng.random() < 0.15
    if late:
        wake, bed = rng.uniform(690, 750), rng.uniform(1530, 1590)
        lunch, dinner, carer = rng.uniform(810, 870), rng.uniform(1170, 1230), 840.0
    else:
        wake, bed = rng.uniform(345, 480), rng.uniform(1260, 1380)
        lunch, dinner, carer = rng.uniform(690, 750), rng.uniform(1050, 1110), rng.uniform(570, 630)
    watch = kit is Kit.FULL or dementia
    if dementia:
        carer_days: tuple[int, ...] = tuple(range(7))
    elif rng.random() < 0.5:
        carer_days = tuple(sorted(rng.sample(range(5), rng.randint(1, 3))))
    else:
        carer_days = ()
    return Persona(
        home=home,
        kit=kit,
        wake_min=wake,
        bed_min=bed,
        lunch_min=lunch,
        dinner_min=dinner,
        dementia=dementia,
        late_sleeper=late,
        sitter=rng.random() < 0.12,
        bather=rng.random() < 0.2,
        homebound=rng.random() < 0.15,
        wears_watch=watch,
        has_gas=rng.random() < 0.6,
        night_toilet_rate=rng.uniform(0.5, 2.5),
        insomnia_prob=rng.uniform(0.0, 0.12),
        nap_prob=rng.uniform(0.1, 0.6),
        sit_gap_s=rng.uniform(180, 600),
        sleep_gap_s=None if rng.random() < 0.5 else rng.uniform(1800, 5400),
        carer_days=carer_days,
        carer_min=carer,
        heart_rate=rng.randint(58, 82),
        respiration=rng.randint(12, 18),
        lat=31.23 + rng.uniform(-0.1, 0.1),
        lon=121.47 + rng.uniform(-0.1, 0.1),
        geofence=("circle" if rng.random() < 0.6 else "polygon") if watch else None,
        geofence_radius_m=rng.uniform(800, 2500),
    )


def _available(p: Persona, scenario: str) -> bool:
    devices = {d.device for d in p.devices}
    if scenario == "gas":
        return "gas_kitchen" in devices
    if scenario == "water_leak":
        return "leak_bathroom" in devices
    if scenario == "wearable_fall":
        return p.wears_watch
    if scenario == "night_wandering":
        return p.dementia
    if scenario == "geofence_breach":
        return p.geofence is not None
    return True


@dataclass
class _Script:
    """What the incidents of one resident change in their life."""

    overlays: list[Block] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    events: list[RawEvent] = field(default_factory=list)
    ill_days: set[int] = field(default_factory=set)
    #: Spans with no planned visitors: nobody happens by while a fallen resident waits.
    quiet: list[tuple[float, float]] = field(default_factory=list)
    #: device -> (first low report, silent from, back online)
    dying: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)


class _Life:
    """One resident's whole simulated period."""

    def __init__(self, seed: int, persona: Persona, start: date, days: int) -> None:
        self.p = persona
        self.days = days
        self.zone = ZoneInfo(TIMEZONE)
        self.start = start
        key = f"{seed}:{persona.home}"
        day_rng = seeded(key, "days")
        self.day_list: list[Day] = []
        for d in range(-1, days + 1):
            local = start + timedelta(days=d)
            midnight = datetime.combine(local, time(0), self.zone).timestamp()
            jitter_wake = max(-60.0, min(60.0, day_rng.gauss(0, 20)))
            weekend = local.weekday() >= 5
            late_weekend = day_rng.uniform(20, 60) if weekend and not persona.late_sleeper else 0.0
            wake = midnight + (persona.wake_min + jitter_wake + late_weekend) * MIN
            bed = midnight + (persona.bed_min + max(-60.0, min(60.0, day_rng.gauss(0, 25)))) * MIN
            self.day_list.append(Day(d, midnight, local.weekday(), wake, bed))
        self.period = (self.day(0).midnight, self.day(days).midnight)
        self.script = _Script()
        self._schedule(seeded(key, "incidents"))
        self.key = key

    def day(self, d: int) -> Day:
        return self.day_list[d + 1]

    # -- incidents ---------------------------------------------------------------------------

    def _schedule(self, rng: random.Random) -> None:
        days = self.days
        if days < 4:
            return
        scale = days / 30.0
        chosen: list[str] = []
        for scenario, rate in _RATES.items():
            if not _available(self.p, scenario):
                continue
            expected = rate * scale
            count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
            chosen += [scenario] * count
        rng.shuffle(chosen)
        busy: set[int] = set()
        for scenario in chosen:
            span = 3 if scenario in _DISRUPTIVE or scenario == "battery_dead" else 1
            free = [
                d
                for d in range(1, days - span)
                if not any(d + k in busy for k in range(-1, span + 1))
            ]
            if not free:
                continue
            d = rng.choice(free)
            busy.update(range(d, d + span))
            getattr(self, f"_{scenario}")(rng, d)

    def _incident(
        self, scenario: str, onset: float, until: float, *, kind: str | None = None
    ) -> None:
        main, accepts = SCENARIOS[scenario]
        self.script.incidents.append(
            Incident(
                home=self.p.home,
                kind=kind or main,
                scenario=scenario,
                onset=instant(onset),
                until=instant(until),
                accepts=accepts,
            )
        )

    def _awake_time(
        self, rng: random.Random, d: int, lo_h: float = 1.5, hi_h: float = 1.5
    ) -> float:
        day = self.day(d)
        return rng.uniform(day.wake + lo_h * HOUR, day.bedtime - hi_h * HOUR)

    def _night_time(self, rng: random.Random, d: int) -> float:
        return rng.uniform(self.day(d).bedtime + 1.5 * HOUR, self.day(d + 1).wake - 1.5 * HOUR)

    def _found_and_hospital(
        self, rng: random.Random, onset: float, found: float, room: str
    ) -> None:
        """Someone finds the resident; the ambulance takes them away for a day or two."""
        stay = rng.uniform(15, 30) * MIN
        self.script.visits.append(Visit("responder", [Block(found, found + stay, room, "move")]))
        # Discharged from hospital by day, after at least 20 h there.
        earliest = datetime.fromtimestamp(found + stay + 20 * HOUR, self.zone)
        back = datetime.combine(earliest.date(), time(0), self.zone).timestamp()
        back += rng.uniform(10, 17) * HOUR
        if back < earliest.timestamp():
            back += 24 * HOUR
        self.script.overlays += [
            Block(found, found + stay, room, "still"),
            Block(found + stay, back, "out", "hospital"),
        ]
        self.script.quiet.append((onset, back))

    def _bathroom_fall(self, rng: random.Random, d: int) -> None:
        t = self._awake_time(rng, d)
        entered = t - rng.uniform(1, 10) * MIN
        found = t + rng.uniform(4, 8) * HOUR
        self.script.overlays += [
            Block(entered, t, "bathroom", "toilet"),
            Block(t, found, "bathroom", "still"),
        ]
        self._found_and_hospital(rng, t, found, "bathroom")
        self._incident("bathroom_fall", t, found)

    def _night_fall(self, rng: random.Random, d: int) -> None:
        t = self._night_time(rng, d)
        exit_at = t - rng.uniform(20, 90)
        room = rng.choice(("bedroom", "hall", "kitchen", "bedroom"))
        found = max(self.day(d + 1).wake + rng.uniform(2, 3.5) * HOUR, t + 4 * HOUR)
        self.script.overlays += [
            Block(exit_at, t, "bedroom", "move"),
            Block(t, found, room, "still"),
        ]
        self._found_and_hospital(rng, t, found, room)
        self._incident("night_fall", t, found)

    def _collapse(self, rng: random.Random, d: int) -> None:
        day = self.day(d)
        t = rng.uniform(day.midnight + self.p.lunch_min * MIN + HOUR, day.bedtime - 6 * HOUR)
        t = max(t, day.wake + HOUR)
        found = t + rng.uniform(7, 10) * HOUR
        self.script.overlays += [
            Block(t - rng.uniform(5, 20) * MIN, t, "living", "sit"),
            Block(t, found, "living", "slump"),
        ]
        self._found_and_hospital(rng, t, found, "living")
        self._incident("collapse", t, found)

    def _illness(self, rng: random.Random, d: int) -> None:
        length = rng.choice((1, 2, 2, 3))
        self.script.ill_days.update(range(d, d + length))
        onset = self.day(d).midnight + self.p.wake_min * MIN
        self._incident("illness", onset, self.day(d + length).wake)

    def _wearable_fall(self, rng: random.Random, d: int) -> None:
        t = self._awake_time(rng, d)
        room = rng.choice(("kitchen", "living", "bedroom", "hall"))
        up = t + rng.uniform(15, 45) * MIN
        self.script.overlays += [
            Block(t - rng.uniform(2, 10) * MIN, t, room, "move"),
            Block(t, up, room, "still"),
        ]
        data = FallData.model_construct(
            source="wearable", confidence=round(rng.uniform(0.7, 0.99), 2)
        )
        self.script.events.append((t, "watch", EventType.FALL, None, data))
        self._incident("wearable_fall", t, up)

    def _alarm(self, rng: random.Random, d: int, scenario: str, device: str, room: str) -> None:
        t = self._awake_time(rng, d)
        if scenario == "water_leak":
            clear = t + rng.uniform(30, 180) * MIN
        else:
            clear = t + rng.uniform(3, 10) * MIN
            self.script.overlays.append(
                Block(t - rng.uniform(5, 20) * MIN, clear + 5 * MIN, "kitchen", "cook")
            )
        kind = EventType(scenario)
        self.script.events += [
            (t, device, kind, room, AlarmData(alarm=True)),
            (clear, device, kind, room, AlarmData(alarm=False)),
        ]
        self._incident(scenario, t, max(clear, t + 10 * MIN))

    def _smoke(self, rng: random.Random, d: int) -> None:
        self._alarm(rng, d, "smoke", "smoke_kitchen", "kitchen")

    def _gas(self, rng: random.Random, d: int) -> None:
        self._alarm(rng, d, "gas", "gas_kitchen", "kitchen")

    def _water_leak(self, rng: random.Random, d: int) -> None:
        self._alarm(rng, d, "water_leak", "leak_bathroom", "bathroom")

    def _sos(self, rng: random.Random, d: int) -> None:
        t = self._awake_time(rng, d)
        self.script.overlays.append(
            Block(t - 2 * MIN, t + rng.uniform(10, 30) * MIN, "living", "sit")
        )
        self.script.events.append((t, "pendant", EventType.SOS, None, SosData(source="pendant")))
        self._incident("sos", t, t + 10 * MIN)

    def _night_wandering(self, rng: random.Random, d: int) -> None:
        t = self._night_time(rng, d)
        back = t + rng.uniform(20, 90) * MIN
        self.script.overlays += [
            Block(t - rng.uniform(2, 6) * MIN, t - 30, "bedroom", "move"),
            Block(t - 30, t, "entrance", "move"),
            Block(t, back, "out", "out"),
            Block(back, back + rng.uniform(5, 15) * MIN, "living", "sit"),
        ]
        self._incident("night_wandering", t, back)

    def _geofence_breach(self, rng: random.Random, d: int) -> None:
        t = self._awake_time(rng, d, 2.0, 4.0)
        back = t + rng.uniform(90, 180) * MIN
        bearing = rng.uniform(0, 2 * math.pi)
        max_m = 2.0 * self.p.geofence_radius_m
        self.script.overlays += [
            Block(t - 60, t, "entrance", "move"),
            Block(t, back, "out", "out", (bearing, max_m)),
            Block(back, back + 60, "entrance", "move"),
        ]
        fence = care_plan_for(self.p).geofence
        for fix_t, dist in far_fixes(t, back, max_m):
            lat, lon = offset(self.p.lat, self.p.lon, bearing, dist)
            if fence is not None and not _inside(fence, lat, lon):
                self._incident("geofence_breach", fix_t, back)
                return
        raise SimulatorError("a geofence breach walk never left the geofence")

    def _battery_dead(self, rng: random.Random, d: int) -> None:
        battery = [s.device for s in self.p.devices if s.battery and s.device != "watch"]
        device = rng.choice(battery)
        spec = next(s for s in self.p.devices if s.device == device)
        first_low = self.day(d).midnight + rng.uniform(8, 20) * HOUR
        reports = [first_low + k * rng.uniform(22, 26) * HOUR for k in range(3)]
        silent = reports[-1] + rng.uniform(2, 10) * HOUR
        offline = silent + _SUPERVISION_S
        back = offline + rng.uniform(12, 48) * HOUR
        self.script.dying[device] = (first_low, silent, back)
        for k, t in enumerate(reports):
            self.script.events.append(
                (t, device, EventType.BATTERY, spec.room, BatteryData(percent=9 - 2 * k, low=True))
            )
        self.script.events += [
            (
                offline,
                device,
                EventType.DEVICE_STATUS,
                spec.room,
                DeviceStatusData(online=False, reason="no report within the supervision window"),
            ),
            (
                back,
                device,
                EventType.DEVICE_STATUS,
                spec.room,
                DeviceStatusData(online=True, reason="reporting again"),
            ),
            (back + 1.0, device, EventType.BATTERY, spec.room, BatteryData(percent=100, low=False)),
        ]
        self._incident("battery_low", first_low, back, kind="low_battery")
        self._incident("battery_dead", silent, back)

    # -- days --------------------------------------------------------------------------------

    def raw_events(self) -> Iterator[list[RawEvent]]:
        """Yield the home's events, one time-ordered list per day (wake to wake)."""
        p = self.p
        sensors = Sensors(p, seeded(self.key, "sensors"))
        rng = seeded(self.key, "routine")
        lo, hi = self.period
        overlays = sorted(self.script.overlays, key=lambda b: b.start)
        extra = sorted(self.script.events, key=itemgetter(0))
        extra_i = 0
        battery = self._battery_plan()
        quiet = self.script.quiet
        for d in range(-1, self.days):
            day, nxt = self.day(d), self.day(d + 1)
            seg_lo, seg_hi = max(day.wake, lo), min(nxt.wake, hi)
            if seg_lo >= seg_hi:
                continue
            blocks, visits = awake_blocks(rng, p, day, ill=d in self.script.ill_days)
            bedtime = blocks[-1].end if blocks else day.bedtime
            blocks += night_blocks(rng, p, bedtime, nxt.wake)
            for top in overlays:
                if top.end > day.wake and top.start < nxt.wake:
                    blocks = overlay(blocks, top)
            visits = [v for v in visits if not any(_overlaps(v, q) for q in quiet)]
            visits += [v for v in self.script.visits if day.wake <= v.blocks[0].start < nxt.wake]
            blocks = [
                b._replace(start=max(b.start, seg_lo), end=min(b.end, seg_hi))
                for b in blocks
                if b.end > seg_lo and b.start < seg_hi
            ]
            out = sensors.render(blocks, visits, seg_lo, seg_hi)
            while extra_i < len(extra) and extra[extra_i][0] < seg_hi:
                if extra[extra_i][0] >= seg_lo:
                    out.append(extra[extra_i])
                extra_i += 1
            out += [e for e in battery if seg_lo <= e[0] < seg_hi]
            out = [e for e in out if lo <= e[0] < hi and not self._silenced(e)]
            out.sort(key=itemgetter(0))
            yield out

    def _silenced(self, event: RawEvent) -> bool:
        plan = self.script.dying.get(event[1])
        if plan is None or event[2] is EventType.DEVICE_STATUS:
            return False
        _, silent, back = plan
        return silent <= event[0] < back

    def _battery_plan(self) -> list[RawEvent]:
        rng = seeded(self.key, "battery")
        events: list[RawEvent] = []
        for spec in self.p.devices:
            if not spec.battery:
                continue
            level, drain = rng.uniform(50, 100), rng.uniform(0.02, 0.08)
            dying = self.script.dying.get(spec.device)
            for d in range(self.days):
                t = self.day(d).midnight + rng.uniform(0, 24) * HOUR
                percent = max(15, round(level - drain * d))
                if dying is not None:
                    if dying[0] - 24 * HOUR <= t < dying[2]:
                        continue
                    if t >= dying[2]:
                        percent = max(15, round(100 - drain * (t - dying[2]) / (24 * HOUR)))
                data = BatteryData.model_construct(percent=percent, low=False)
                events.append((t, spec.device, EventType.BATTERY, spec.room, data))
        events.sort(key=itemgetter(0))
        return events


def _overlaps(visit: Visit, span: tuple[float, float]) -> bool:
    return visit.blocks[0].start < span[1] and visit.blocks[-1].end > span[0]


def _inside(fence: Circle | Polygon, lat: float, lon: float) -> bool:
    if isinstance(fence, Circle):
        dy = (lat - fence.lat) * 111_320.0
        dx = (lon - fence.lon) * 111_320.0 * math.cos(math.radians(fence.lat))
        return math.hypot(dx, dy) <= fence.radius_m
    inside = False
    pts = fence.points
    for i in range(len(pts)):
        (y1, x1), (y2, x2) = pts[i], pts[i - 1]
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def instant(ts: float) -> datetime:
    """Return POSIX seconds ``ts`` as an aware UTC datetime, to the millisecond as on the wire."""
    return _EPOCH + timedelta(milliseconds=int(ts * 1000))


def _uuid7(ms: int, rand: int) -> UUID:
    rand_a = (rand >> 62) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    return UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


@dataclass(frozen=True)
class Cohort:
    """A seeded cohort: personas, care plans, ground-truth incidents and, on demand, events."""

    seed: int
    start: date
    days: int
    personas: tuple[Persona, ...]
    plans: Mapping[str, CarePlan]
    incidents: tuple[Incident, ...]
    _lives: Mapping[str, _Life] = field(repr=False)

    @property
    def homes(self) -> tuple[str, ...]:
        """Return the home ids, in order."""
        return tuple(p.home for p in self.personas)

    @property
    def period(self) -> tuple[datetime, datetime]:
        """Return the simulated span: local midnight of ``start`` to that after the last day."""
        lo, hi = next(iter(self._lives.values())).period
        return datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)

    @property
    def resident_days(self) -> int:
        """Return residents times days."""
        return len(self.personas) * self.days

    def events(self, home: str | None = None) -> Iterator[Envelope]:
        """Yield the envelopes of one home, or of all homes merged in time order.

        Every call generates afresh, identically; nothing is kept in memory.
        """
        if home is not None:
            life = self._lives.get(home)
            if life is None:
                raise SimulatorError(f"no home {home!r} in this cohort")
            return _envelopes(life, self.seed)
        streams = [_envelopes(life, self.seed) for life in self._lives.values()]
        return heapq.merge(*streams, key=lambda e: e.at)


def _envelopes(life: _Life, seed: int) -> Iterator[Envelope]:
    home = life.p.home
    rng = seeded(seed, home, "ids")
    seq = 0
    construct = Envelope.model_construct
    for day in life.raw_events():
        for ts, device, event_type, room, data in day:
            seq += 1
            ms = int(ts * 1000)
            yield construct(
                id=_uuid7(ms, rng.getrandbits(74)),
                home=home,
                device=device,
                type=event_type,
                at=_EPOCH + timedelta(milliseconds=ms),
                seq=seq,
                room=room,
                data=data,
            )


def generate_cohort(seed: int, residents: int, days: int, start: date) -> Cohort:
    """Return a cohort of ``residents`` homes living ``days`` days from ``start``."""
    if residents < 1 or days < 1:
        raise SimulatorError("a cohort needs at least one resident and one day")
    if residents > 9999:
        raise SimulatorError("at most 9,999 residents per cohort")
    rng = seeded(seed, "cohort")
    personas = tuple(_persona(rng, f"H{i + 1:04d}", i) for i in range(residents))
    lives = {p.home: _Life(seed, p, start, days) for p in personas}
    incidents = sorted(
        (i for life in lives.values() for i in life.script.incidents), key=lambda i: i.onset
    )
    return Cohort(
        seed=seed,
        start=start,
        days=days,
        personas=personas,
        plans={p.home: care_plan_for(p) for p in personas},
        incidents=tuple(incidents),
        _lives=lives,
    )
