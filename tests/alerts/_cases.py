"""Hand-made cases for the pure lifecycle tests: one alert, a home's roster, virtual time."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from backend.alerts import Candidate, EscalationSettings, Ladder, OnDutyWindow, Outcome
from backend.alerts._lifecycle import (
    Acknowledge,
    Action,
    Case,
    Dispatch,
    Event,
    Open,
    Record,
    Resolve,
    Responder,
    step,
)
from backend.storage import AlertRow

#: Monday 23 November 2026, 08:00 UTC.
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LADDER: Ladder = EscalationSettings().priority_1
#: On duty on weekdays 07:00 to 19:00 UTC; so on duty at T0.
DAY_SHIFT = (OnDutyWindow(days=(0, 1, 2, 3, 4), start="07:00", end="19:00", tz="UTC"),)
ROSTER = (
    Candidate("F1", "family", 1),
    Candidate("F2", "family", 2),
    Candidate("C1", "community_worker", 1, DAY_SHIFT),
    Candidate("C2", "community_worker", 2, DAY_SHIFT),
    Candidate("P1", "care_provider", 1),
)
RESPONDERS = {c.id: Responder(c.id, c.kind) for c in ROSTER} | {
    "E1": Responder("E1", "emergency_service"),
    "X9": Responder("X9", "family", active=False),
}


_COUNTER = itertools.count(1)


def ids() -> Callable[[], UUID]:
    """Return a factory of ids, unique across the test session and in creation order."""
    return lambda: UUID(int=next(_COUNTER))


def new_alert(priority: int = 1) -> AlertRow:
    return AlertRow(
        uuid.uuid4(), "H1", "sos", priority, "open", 0, T0, T0, 1, uuid.uuid4(), uuid.uuid4()
    )


def opened(
    roster: tuple[Candidate, ...] = ROSTER, ladder: Ladder = LADDER, priority: int = 1
) -> Case:
    """Return a case just opened (level 0 told, timers set)."""
    case = Case(new_alert(priority), roster=roster, kinds={c.id: c.kind for c in roster})
    case, _ = step(case, Open(), T0, ladder, ids())
    return case


def run(
    case: Case,
    events: Iterable[Event],
    *,
    at: datetime | None = None,
    ladder: Ladder = LADDER,
    new_id: Callable[[], UUID] | None = None,
) -> tuple[Case, list[Action]]:
    """Apply ``events`` in order, one second apart from ``at``; return the case and all actions."""
    now = at or T0 + timedelta(seconds=1)
    make = new_id or ids()
    done: list[Action] = []
    for event in events:
        case, actions = step(case, event, now, ladder, make)
        done.extend(actions)
        now += timedelta(seconds=1)
    return case, done


def records(actions: Iterable[Action]) -> list[tuple[str | None, str, str]]:
    """Return ``(action, from, to)`` of each audit entry."""
    return [
        (a.transition.action, a.transition.from_status or "", a.transition.to_status)
        for a in actions
        if isinstance(a, Record)
    ]


def acknowledged() -> Case:
    return run(opened(), [Acknowledge("alice")])[0]


def dispatched(*who: str) -> Case:
    chosen = tuple(RESPONDERS[r] for r in who or ("F1",))
    return run(opened(), [Dispatch("alice", chosen)])[0]


def resolved() -> Case:
    return run(opened(), [Resolve("alice", Outcome.FALSE_ALARM, "pressed by mistake")])[0]
