"""Replay: run the live detectors over recorded events, in event time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from backend.careplan import CarePlan
from backend.detectors._engine import HomeState, advance, step
from backend.detectors._model import Finding
from protocol import Envelope

__all__ = ["ReplayAlert", "replay"]


@dataclass(frozen=True, slots=True)
class ReplayAlert:
    """An alert the detectors raised during a replay, at virtual time ``at``."""

    home: str
    kind: str
    priority: int
    at: datetime
    change: Literal["opened", "attached"]
    event_id: UUID | None
    reason: str
    detector: str = ""


class _Alerts:
    """The alert merging of the live path: one unresolved alert per home and kind."""

    def __init__(self) -> None:
        self._open: set[tuple[str, str]] = set()

    def apply(self, findings: list[Finding]) -> Iterator[ReplayAlert]:
        for f in findings:
            key = (f.home, f.kind.value)
            if f.action == "clear":
                self._open.discard(key)
                continue
            change: Literal["opened", "attached"] = "attached" if key in self._open else "opened"
            self._open.add(key)
            yield ReplayAlert(
                f.home,
                f.kind.value,
                int(f.priority),
                f.at,
                change,
                f.event_id,
                f.reason,
                f.detector,
            )


def replay(
    events: Iterable[Envelope],
    plans: Mapping[str, CarePlan],
    *,
    default_plan: CarePlan | None = None,
    until: datetime | None = None,
) -> Iterator[ReplayAlert]:
    """Yield the alerts the live engine raises for ``events`` (in time order per home).

    Each event's ``at`` is the time; timers due at or before it fire first, in due order.
    After the last event, timers due up to ``until`` (if given) fire. Homes with no plan in
    ``plans`` use ``default_plan`` (or the built-in defaults).
    """
    fallback = default_plan if default_plan is not None else CarePlan()
    states: dict[str, HomeState] = {}
    alerts = _Alerts()
    for event in events:
        home = event.home
        plan = plans.get(home, fallback)
        state = states.get(home)
        if state is None:
            state = HomeState(home=home)
        elif state.timers:
            state, fired = advance(state, event.at, plan)
            if fired:
                yield from alerts.apply(fired)
        state, found = step(state, event, plan)
        states[home] = state
        if found:
            yield from alerts.apply(found)
    if until is not None:
        for home, state in states.items():
            _, fired = advance(state, until, plans.get(home, fallback))
            yield from alerts.apply(fired)
