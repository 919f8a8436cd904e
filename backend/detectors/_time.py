"""Local-time helpers for detectors: windows of the day, active time, the learned baseline."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.careplan import TimeWindow

__all__ = [
    "active_deadline",
    "hourly_rates",
    "next_local",
    "silence_crossing",
    "silence_expectation",
]

_HOUR = 3600.0


def _at(day: date, t: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, t, zone).astimezone(UTC)


def next_local(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """Return the first moment strictly after ``after`` whose local time is ``at``."""
    day = after.astimezone(zone).date()
    for offset in range(3):
        moment = _at(day + timedelta(days=offset), at, zone)
        if moment > after:
            return moment
    raise AssertionError("a local time recurs within three days")


def active_deadline(
    start: datetime, seconds: float, window: TimeWindow, zone: ZoneInfo
) -> datetime:
    """Return when ``seconds`` of time inside ``window`` (local) have passed since ``start``."""
    remaining = seconds
    day = start.astimezone(zone).date() - timedelta(days=1)
    wraps = not window.start < window.end
    for _ in range(800):
        begin = _at(day, window.start, zone)
        end = _at(day + timedelta(days=1) if wraps else day, window.end, zone)
        day += timedelta(days=1)
        if end <= start:
            continue
        frm = max(begin, start)
        span = (end - frm).total_seconds()
        if span >= remaining:
            return frm + timedelta(seconds=remaining)
        remaining -= span
    raise ValueError("the active window is empty")


def hourly_rates(masks: Sequence[int]) -> tuple[float, ...]:
    """Return the Poisson rate of each local hour of day, from one activity bitmask per day.

    Bit ``h`` of a day's mask is set when the resident was active in hour ``h``. The
    chance that hour ``h`` is silent is estimated as ``q = (silent days + 1) / (days + 2)``
    (Laplace), and its rate is ``-ln q``: a silence over several hours then has probability
    ``exp(-sum of rates)``, as if activity were a Poisson process with hourly rates.
    """
    days = len(masks)
    rates = []
    for hour in range(24):
        bit = 1 << hour
        active = sum(1 for m in masks if m & bit)
        rates.append(-math.log((days - active + 1) / (days + 2)))
    return tuple(rates)


def silence_expectation(
    rates: Sequence[float], start: datetime, end: datetime, zone: ZoneInfo
) -> float:
    """Return the expected count of active hours over ``[start, end)`` under ``rates``."""
    total = 0.0
    cursor = start
    while cursor < end:
        local = cursor.astimezone(zone)
        hour_end = (
            local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        ).astimezone(UTC)
        stop = min(hour_end, end)
        total += rates[local.hour] * (stop - cursor).total_seconds() / _HOUR
        cursor = stop
    return total


def silence_crossing(
    rates: Sequence[float],
    start: datetime,
    threshold: float,
    zone: ZoneInfo,
    *,
    horizon_hours: int = 72,
) -> datetime | None:
    """Return when the expected count since ``start`` reaches ``threshold`` (or None)."""
    total = 0.0
    cursor = start
    for _ in range(horizon_hours + 1):
        local = cursor.astimezone(zone)
        hour_end = (
            local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        ).astimezone(UTC)
        span = (hour_end - cursor).total_seconds() / _HOUR
        rate = rates[local.hour]
        if rate > 0 and total + rate * span >= threshold:
            return cursor + timedelta(hours=(threshold - total) / rate)
        total += rate * span
        cursor = hour_end
    return None
