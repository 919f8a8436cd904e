"""A resident's day as a timeline of blocks: where each person is and what they are doing.

Times are POSIX seconds. A block's ``act`` decides what the sensors see:

| act | sensors |
|---|---|
| ``move``, ``cook``, ``toilet``, ``shower`` | PIR triggers every few tens of seconds |
| ``bath`` | PIR triggers every few minutes (someone soaking still moves) |
| ``sit`` | seat occupied, PIR triggers every few minutes (TV, knitting) |
| ``chair`` | seat occupied, PIR almost silent (dozing in the armchair) |
| ``sleep``, ``nap``, ``rest`` | bed occupied, mattress vitals, bedroom PIR rarely or never |
| ``still`` | radar presence only: a person lying on the floor |
| ``slump`` | seat occupied, nothing else: a person unresponsive in the chair |
| ``visit`` | PIR triggers about once a minute (guests talking) |
| ``out``, ``hospital`` | nobody home; a wearable reports locations while ``out`` |
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

from simulators.life._model import Persona

__all__ = ["Block", "Day", "Visit", "awake_blocks", "night_blocks", "overlay", "seeded"]

MIN = 60.0
HOUR = 3600.0
BED_ACTS = frozenset({"sleep", "nap", "rest"})
SEAT_ACTS = frozenset({"sit", "chair", "slump"})
AWAY_ACTS = frozenset({"out", "hospital"})


def seeded(*parts: object) -> random.Random:
    """Return a random generator seeded by ``parts``, the same on every run and platform."""
    return random.Random(":".join(str(p) for p in parts))  # noqa: S311 - simulation, not secrets


class Block(NamedTuple):
    """One person in one room from ``start`` to ``end``, doing ``act``."""

    start: float
    end: float
    room: str
    act: str
    #: For an ``out`` block: ``(bearing_rad, max_distance_m)`` of a walk that leaves the
    #: geofence; ``None`` for an ordinary outing near home.
    path: tuple[float, float] | None = None


class Day(NamedTuple):
    """One simulated day: local midnight and the day's wake and bed times."""

    number: int
    midnight: float
    weekday: int
    wake: float
    bedtime: float


def _u(rng: random.Random, lo_min: float, hi_min: float) -> float:
    return rng.uniform(lo_min, hi_min) * MIN


def overlay(blocks: list[Block], top: Block) -> list[Block]:
    """Return ``blocks`` with ``top`` cut into them (``top`` wins where they overlap)."""
    out: list[Block] = []
    for b in blocks:
        if b.end <= top.start or b.start >= top.end:
            out.append(b)
            continue
        if b.start < top.start:
            out.append(b._replace(end=top.start))
        if b.end > top.end:
            out.append(b._replace(start=top.end))
    out.append(top)
    out.sort(key=lambda b: b.start)
    return out


class _Cursor:
    """Appends consecutive blocks from ``t`` onwards."""

    def __init__(self, t: float) -> None:
        self.t = t
        self.blocks: list[Block] = []

    def add(self, seconds: float, room: str, act: str) -> None:
        if seconds <= 0:
            return
        self.blocks.append(Block(self.t, self.t + seconds, room, act))
        self.t += seconds

    def fill(
        self, rng: random.Random, until: float, *, chair: tuple[float, float] = (0.0, 0.0)
    ) -> None:
        """Spend the time until ``until`` at home: the living room, with short trips.

        Within ``chair`` the resident sits on in the armchair, barely moving.
        """
        while self.t < until - 30:
            left = until - self.t
            if chair[0] <= self.t < chair[1]:
                self.add(min(left, chair[1] - self.t), "living", "chair")
                continue
            self.add(min(left, _u(rng, 15, 80)), "living", "sit")
            left = until - self.t
            if left < 10 * MIN:
                continue
            r = rng.random()
            if r < 0.35:
                self.add(_u(rng, 2, 10), "kitchen", "move")
            elif r < 0.62:
                self.add(_u(rng, 2, 6), "bathroom", "toilet")
            elif r < 0.72:
                self.add(_u(rng, 1, 5), "bedroom", "move")
            elif r < 0.77:
                self.add(_u(rng, 0.3, 1.5), "entrance", "move")
        if until > self.t:
            self.add(until - self.t, "living", "sit")


class Visit(NamedTuple):
    """Someone other than the resident in the home, as blocks arriving from and leaving to out."""

    who: str
    blocks: list[Block]


def _guest_blocks(rng: random.Random, start: float, end: float, *, carer: bool) -> list[Block]:
    c = _Cursor(start)
    c.add(_u(rng, 0.3, 1), "entrance", "move")
    while c.t < end - 60:
        if carer:
            room = rng.choice(("kitchen", "bathroom", "bedroom", "living", "kitchen"))
            act = "move"
        else:
            room, act = rng.choice((("living", "visit"), ("living", "visit"), ("kitchen", "move")))
        c.add(min(end - c.t, _u(rng, 3, 15)), room, act)
    c.add(_u(rng, 0.2, 0.6), "entrance", "move")
    return c.blocks


def _ill_day(rng: random.Random, p: Persona, day: Day) -> list[Block]:
    # Illness: up only for the toilet for hours past the usual wake time, then a short,
    # slow day in the chair and back to bed early.
    c = _Cursor(day.wake)
    c.add(_u(rng, 120, 300), "bedroom", "rest")
    c.add(_u(rng, 3, 8), "bathroom", "toilet")
    c.add(_u(rng, 5, 15), "kitchen", "move")
    evening = day.midnight + p.dinner_min * MIN + _u(rng, 0, 60)
    while c.t < evening:
        c.add(min(evening - c.t, _u(rng, 60, 150)), "living", "chair")
        c.add(_u(rng, 2, 6), "bathroom", "toilet")
    c.add(max(0.0, day.bedtime - c.t), "bedroom", "rest")
    return c.blocks


def _anchors(
    rng: random.Random, p: Persona, day: Day, lunch: float, dinner: float
) -> list[tuple[float, float, str]]:
    """Return the day's fixed points as (start, seconds, what), in time order."""
    weekend = day.weekday >= 5
    anchors: list[tuple[float, float, str]] = [
        (lunch, _u(rng, 30, 50), "meal"),
        (dinner, _u(rng, 35, 55), "meal"),
    ]
    go_out = 0.08 if p.homebound else (0.3 if weekend else 0.55)
    if rng.random() < go_out:
        start = day.wake + _u(rng, 90, 180)
        anchors.append((start, _u(rng, 150, 300) if weekend else _u(rng, 45, 120), "out"))
    if rng.random() < (0.05 if p.homebound else 0.35):
        anchors.append((lunch + _u(rng, 150, 240), _u(rng, 30, 90), "out"))
    if rng.random() < p.nap_prob:
        anchors.append((lunch + _u(rng, 45, 70), _u(rng, 30, 90), "nap"))
    if p.bather and rng.random() < 0.4:
        anchors.append((dinner + _u(rng, 60, 150), _u(rng, 40, 75), "bath"))
    elif rng.random() < 0.5:
        anchors.append((dinner + _u(rng, 60, 150), _u(rng, 10, 20), "shower"))
    if day.weekday in p.carer_days:
        carer = day.midnight + p.carer_min * MIN + rng.gauss(0, 10) * MIN
        anchors.append((carer, _u(rng, 30, 60), "carer"))
    if day.weekday == 6 and rng.random() < 0.5:
        anchors.append((lunch + _u(rng, 60, 120), _u(rng, 60, 180), "visitors"))
    anchors.sort()
    return anchors


def _place(rng: random.Random, c: _Cursor, seconds: float, what: str, visits: list[Visit]) -> None:
    begin = c.t
    if what == "meal":
        c.add(seconds, "kitchen", "cook")
    elif what == "out":
        c.add(_u(rng, 0.5, 2), "entrance", "move")
        c.add(seconds, "out", "out")
        if rng.random() < 0.2:
            # Family dropping by (or a neighbour watering the plants) while the resident is out.
            arrive = c.t - seconds + rng.uniform(0.1, 0.5) * seconds
            guest = _guest_blocks(rng, arrive, arrive + _u(rng, 8, 25), carer=False)
            visits.append(Visit("visitor", guest))
        c.add(_u(rng, 0.5, 2), "entrance", "move")
    elif what == "nap":
        if rng.random() < 0.5:
            c.add(seconds, "bedroom", "nap")
        else:
            c.add(seconds, "living", "chair")
    elif what in ("bath", "shower"):
        c.add(seconds, "bathroom", what)
    else:
        c.add(seconds, "living", "sit")
        visits.append(Visit(what, _guest_blocks(rng, begin, c.t, carer=what == "carer")))


def awake_blocks(
    rng: random.Random, p: Persona, day: Day, *, ill: bool
) -> tuple[list[Block], list[Visit]]:
    """Return the resident's waking day (wake to bedtime) and the day's visitors."""
    visits: list[Visit] = []
    if ill:
        return _ill_day(rng, p, day), visits
    c = _Cursor(day.wake)
    c.add(_u(rng, 3, 8), "bedroom", "move")
    c.add(_u(rng, 5, 12), "bathroom", "toilet")
    c.add(_u(rng, 15, 35), "kitchen", "cook")
    lunch = day.midnight + (p.lunch_min + rng.gauss(0, 15)) * MIN
    dinner = day.midnight + (p.dinner_min + rng.gauss(0, 15)) * MIN
    chair = (lunch + HOUR, lunch + HOUR + _u(rng, 180, 270)) if p.sitter else (0.0, 0.0)
    last_call = day.bedtime - 20 * MIN
    for start, seconds, what in _anchors(rng, p, day, lunch, dinner):
        if start > c.t:
            c.fill(rng, min(start, last_call), chair=chair)
        if c.t + seconds <= last_call:
            _place(rng, c, seconds, what, visits)
    c.fill(rng, last_call, chair=chair)
    c.add(_u(rng, 4, 10), "bathroom", "toilet")
    c.add(max(0.0, day.bedtime - c.t), "bedroom", "move")
    return c.blocks, visits


def night_blocks(rng: random.Random, p: Persona, start: float, end: float) -> list[Block]:
    """Return the night from bedtime to the next wake: sleep, toilet visits, a sleepless hour."""
    blocks = [Block(start, end, "bedroom", "sleep")]
    span = end - start - 90 * MIN
    if span <= 0:
        return blocks
    visits = _poisson(rng, p.night_toilet_rate)
    times = sorted(start + 45 * MIN + rng.random() * span for _ in range(visits))
    last = -math.inf
    for t in times:
        if t < last + 20 * MIN:
            continue
        c = _Cursor(t)
        c.add(rng.uniform(20, 60), "bedroom", "move")
        c.add(_u(rng, 3, 8), "bathroom", "toilet")
        if rng.random() < 0.2:
            c.add(_u(rng, 2, 5), "kitchen", "move")
        c.add(rng.uniform(20, 40), "bedroom", "move")
        for b in c.blocks:
            blocks = overlay(blocks, b)
        last = c.t
    if rng.random() < p.insomnia_prob:
        c = _Cursor(start + 60 * MIN + rng.random() * max(0.0, span - 90 * MIN))
        c.add(rng.uniform(30, 60), "bedroom", "move")
        c.add(_u(rng, 20, 60), "living", "sit")
        c.add(_u(rng, 2, 5), "kitchen", "move")
        c.add(rng.uniform(20, 40), "bedroom", "move")
        for b in c.blocks:
            blocks = overlay(blocks, b)
    return blocks


def _poisson(rng: random.Random, mean: float) -> int:
    count, total = 0, rng.expovariate(1.0)
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count
