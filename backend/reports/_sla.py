"""The SLA report: response times of alerts as percentiles and shares within target (pure)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from uuid import UUID

from backend.reports._errors import ReportError

__all__ = [
    "ACK_BIN_EDGES",
    "MAX_WINDOW",
    "PERCENTILES",
    "STANDARD",
    "AckBin",
    "GroupBy",
    "Measure",
    "Period",
    "SlaGroup",
    "SlaReport",
    "SlaRow",
    "acknowledge_histogram",
    "check_window",
    "compute_sla",
    "percentile",
]

#: The telecare standard: this share of alarm calls answered within each target (seconds).
STANDARD: dict[int, float] = {60: 0.975, 180: 0.99}
PERCENTILES = (50, 90, 95, 99)
#: The longest window one report may cover; every row of it is held in memory.
MAX_WINDOW = timedelta(days=366)
#: Lower edges (seconds) of the time-to-acknowledge histogram's bins; the last is open-ended.
#: Finer under a minute, where the target is, and edges at both targets (60 s and 180 s).
ACK_BIN_EDGES = (0, 15, 30, 45, 60, 90, 120, 180, 300, 600)


class GroupBy(StrEnum):
    """How the report splits alerts."""

    NONE = "none"
    OPERATOR = "operator"
    PRIORITY = "priority"
    PERIOD = "period"


class Period(StrEnum):
    """The bucket of ``group_by=period``; weeks start on Monday."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class SlaRow:
    """One alert's lifecycle times; ``arrived_at`` is the earliest arrival of its dispatches."""

    alert_id: UUID
    priority: int
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    dispatched_at: datetime | None = None
    arrived_at: datetime | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Measure:
    """One response time of a group of alerts, in seconds.

    ``population`` is what the shares are taken over; ``count`` how many of it reached the
    step (the percentiles are over those); ``waiting`` how many have not, and are unresolved.
    A share is ``None`` when nothing in the population can be judged yet.
    """

    count: int
    population: int
    waiting: int
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    within_60s: float | None
    within_180s: float | None


@dataclass(frozen=True, slots=True)
class SlaGroup:
    """The measures of one group; ``key`` is an operator, a priority, a period start or ``None``."""

    key: str | None
    alerts: int
    acknowledge: Measure
    dispatch: Measure
    arrive: Measure

    @property
    def standard_met(self) -> bool | None:
        """Tell whether acknowledgement meets the telecare standard; ``None`` if not judged."""
        within_60s, within_180s = self.acknowledge.within_60s, self.acknowledge.within_180s
        if within_60s is None or within_180s is None:
            return None
        return within_60s >= STANDARD[60] and within_180s >= STANDARD[180]


@dataclass(frozen=True, slots=True)
class SlaReport:
    """The report over alerts opened in ``[since, until)``, as seen at ``generated_at``."""

    since: datetime
    until: datetime
    generated_at: datetime
    group_by: GroupBy
    period: Period | None
    time_zone: str
    total: SlaGroup
    groups: tuple[SlaGroup, ...]


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Return the nearest-rank ``p``-th percentile of ascending values (``None`` if empty)."""
    if not sorted_values:
        return None
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


# Which alerts a measure's shares are taken over, and when its step happened.
_Step = Callable[[SlaRow], datetime | None]


def _measure(
    rows: Sequence[SlaRow], step: _Step, now: datetime, *, population: Callable[[SlaRow], bool]
) -> Measure:
    judged = [r for r in rows if population(r)]
    durations = sorted(
        (t - r.opened_at).total_seconds() for r in judged if (t := step(r)) is not None
    )
    waiting = [r for r in judged if step(r) is None and r.resolved_at is None]
    shares: list[float | None] = []
    for target in STANDARD:
        # An unresolved alert still inside its target may yet make it: it is not judged.
        undecided = sum(1 for r in waiting if (now - r.opened_at).total_seconds() < target)
        decided = len(judged) - undecided
        within = sum(1 for d in durations if d <= target)
        shares.append(within / decided if decided else None)
    p50, p90, p95, p99 = (percentile(durations, p) for p in PERCENTILES)
    return Measure(
        count=len(durations),
        population=len(judged),
        waiting=len(waiting),
        p50=p50,
        p90=p90,
        p95=p95,
        p99=p99,
        within_60s=shares[0],
        within_180s=shares[1],
    )


def _group(key: str | None, rows: Sequence[SlaRow], now: datetime) -> SlaGroup:
    return SlaGroup(
        key=key,
        alerts=len(rows),
        # Every alert must be answered: one never acknowledged counts as late.
        acknowledge=_measure(rows, lambda r: r.acknowledged_at, now, population=lambda _r: True),
        # Not every alert needs a responder: dispatch is judged over those dispatched.
        dispatch=_measure(
            rows, lambda r: r.dispatched_at, now, population=lambda r: r.dispatched_at is not None
        ),
        # A dispatched alert nobody arrived at counts as late.
        arrive=_measure(
            rows, lambda r: r.arrived_at, now, population=lambda r: r.dispatched_at is not None
        ),
    )


def _bucket(moment: datetime, period: Period, zone: tzinfo) -> date:
    day = moment.astimezone(zone).date()
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


def _keyed(
    rows: Iterable[SlaRow], group_by: GroupBy, period: Period, zone: tzinfo
) -> list[tuple[str | None, list[SlaRow]]]:
    if group_by is GroupBy.NONE:
        return [(None, list(rows))]
    if group_by is GroupBy.PERIOD:
        by_day: dict[date, list[SlaRow]] = defaultdict(list)
        for r in rows:
            by_day[_bucket(r.opened_at, period, zone)].append(r)
        return [(d.isoformat(), by_day[d]) for d in sorted(by_day)]
    if group_by is GroupBy.PRIORITY:
        by_priority: dict[int, list[SlaRow]] = defaultdict(list)
        for r in rows:
            by_priority[r.priority].append(r)
        return [(str(p), by_priority[p]) for p in sorted(by_priority)]
    by_operator: dict[str | None, list[SlaRow]] = defaultdict(list)
    for r in rows:
        by_operator[r.acknowledged_by if r.acknowledged_at is not None else None].append(r)
    # Operators by name; the alerts nobody acknowledged last.
    ordered = sorted(by_operator, key=lambda k: (k is None, k or ""))
    return [(k, by_operator[k]) for k in ordered]


def check_window(since: datetime, until: datetime) -> None:
    """Refuse a window that is empty, too long, or not in a time zone."""
    for name, moment in (("since", since), ("until", until)):
        if moment.tzinfo is None:
            raise ReportError(f"{name} must carry a time zone, for example a trailing Z")
    if until <= since:
        raise ReportError("until must be later than since")
    if until - since > MAX_WINDOW:
        raise ReportError(
            f"the window from since to until may cover at most {MAX_WINDOW.days} days"
        )


def compute_sla(
    rows: Iterable[SlaRow],
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    group_by: GroupBy = GroupBy.NONE,
    period: Period = Period.DAY,
    zone: tzinfo,
    zone_name: str = "UTC",
) -> SlaReport:
    """Report on the alerts of ``rows`` opened in ``[since, until)``, as of ``now``."""
    check_window(since, until)
    if now.tzinfo is None:
        raise ReportError("now must carry a time zone")
    selected = [r for r in rows if since <= r.opened_at < until]
    groups = tuple(_group(k, g, now) for k, g in _keyed(selected, group_by, period, zone))
    return SlaReport(
        since=since,
        until=until,
        generated_at=now,
        group_by=group_by,
        period=period if group_by is GroupBy.PERIOD else None,
        time_zone=zone_name,
        total=_group(None, selected, now),
        groups=groups,
    )


@dataclass(frozen=True, slots=True)
class AckBin:
    """Acknowledged alerts that took from ``from_s`` (inclusive) to ``to_s`` (exclusive)."""

    from_s: int
    to_s: int | None
    count: int


def acknowledge_histogram(rows: Sequence[SlaRow]) -> list[AckBin]:
    """Count acknowledged alerts by time to acknowledge, in the bins of ``ACK_BIN_EDGES``."""
    counts = [0] * len(ACK_BIN_EDGES)
    for row in rows:
        if row.acknowledged_at is None:
            continue
        took = max(0.0, (row.acknowledged_at - row.opened_at).total_seconds())
        counts[bisect_right(ACK_BIN_EDGES, took) - 1] += 1
    uppers: list[int | None] = [*ACK_BIN_EDGES[1:], None]
    return [
        AckBin(low, high, n) for low, high, n in zip(ACK_BIN_EDGES, uppers, counts, strict=True)
    ]
