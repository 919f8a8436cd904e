"""The failed-login limit, as pure functions of (state, attempt, now).

Each attempt names its keys (the username and the client address). A key with
``max_failures`` failures inside the last ``window_s`` seconds refuses further attempts
until the oldest of them leaves the window. An admitted attempt counts as a failure at
once, so that concurrent guesses cannot slip past the limit while their hashes are being
checked; a successful login takes its own mark back and clears its username's failures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["LoginLimit", "Throttle", "admit", "forget_expired", "succeeded"]


@dataclass(frozen=True, slots=True)
class LoginLimit:
    """How many failures a key may have within a sliding window."""

    max_failures: int = 5
    window_s: float = 300.0
    #: Keys kept at most; beyond it the stalest are forgotten (bounds memory under attack).
    max_keys: int = 10_000


@dataclass(frozen=True, slots=True)
class Throttle:
    """Failure times per key, oldest first (seconds on a monotonic clock)."""

    failures: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


def _recent(times: Sequence[float], limit: LoginLimit, now: float) -> tuple[float, ...]:
    return tuple(t for t in times if now - t < limit.window_s)


def admit(
    state: Throttle, limit: LoginLimit, keys: Sequence[str], now: float
) -> tuple[Throttle, int | None]:
    """Decide an attempt: ``(state, None)`` admits it, ``(state, seconds)`` says retry after."""
    wait = 0.0
    for key in keys:
        recent = _recent(state.failures.get(key, ()), limit, now)
        if len(recent) >= limit.max_failures:
            oldest_that_counts = recent[-limit.max_failures]
            wait = max(wait, oldest_that_counts + limit.window_s - now)
    if wait > 0:
        return state, max(1, math.ceil(wait))
    failures = dict(state.failures)
    for key in keys:
        failures[key] = (*_recent(failures.get(key, ()), limit, now), now)
    return forget_expired(Throttle(failures), limit, now), None


def succeeded(
    state: Throttle, limit: LoginLimit, *, user_key: str, other_keys: Sequence[str], at: float
) -> Throttle:
    """Record that the attempt admitted at ``at`` logged in: clear the user, unmark the others."""
    failures = dict(state.failures)
    failures.pop(user_key, None)
    for key in other_keys:
        times = list(failures.get(key, ()))
        if at in times:
            times.remove(at)
        if times:
            failures[key] = tuple(times)
        else:
            failures.pop(key, None)
    return Throttle(failures)


def forget_expired(state: Throttle, limit: LoginLimit, now: float) -> Throttle:
    """Drop keys with no failure in the window once there are more than ``max_keys``."""
    if len(state.failures) <= limit.max_keys:
        return state
    live = {k: r for k, v in state.failures.items() if (r := _recent(v, limit, now))}
    if len(live) > limit.max_keys:
        newest_first = sorted(live, key=lambda k: live[k][-1], reverse=True)
        live = {k: live[k] for k in newest_first[: limit.max_keys]}
    return Throttle(live)
