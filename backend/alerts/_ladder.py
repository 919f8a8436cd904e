"""The escalation ladder: who is told when, per priority, and how its targets are resolved.

A step's targets are rules:

- ``queue:<name>``: a role queue, such as ``queue:operator`` or ``queue:supervisor``;
- ``<kind>:next``: the best-ranked responder of that kind assigned to the home, on duty now,
  and not yet told about this alert;
- ``<kind>:any``: the best-ranked responder of that kind on duty now, told before or not;
- ``<kind>:on_duty``: every responder of that kind on duty now.

``<kind>`` is ``family``, ``community_worker``, ``care_provider`` or ``emergency_service``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from backend.alerts._availability import Availability, is_available

__all__ = [
    "Candidate",
    "EscalationSettings",
    "Ladder",
    "LadderStep",
    "ResponderKind",
    "next_candidate",
    "resolve_targets",
]


class ResponderKind(StrEnum):
    FAMILY = "family"
    COMMUNITY_WORKER = "community_worker"
    CARE_PROVIDER = "care_provider"
    EMERGENCY_SERVICE = "emergency_service"


_KINDS = "|".join(k.value for k in ResponderKind)
_RULE = re.compile(rf"^(?:queue:[a-z][a-z0-9_]{{0,40}}|(?:{_KINDS}):(?:next|any|on_duty))$")


def _rule(value: str) -> str:
    if not _RULE.match(value):
        raise ValueError(
            f"{value!r} is not a target rule; use queue:<name> or <kind>:next|any|on_duty "
            f"with kind one of {', '.join(k.value for k in ResponderKind)}"
        )
    return value


Rule = Annotated[str, AfterValidator(_rule)]
Seconds = Annotated[float, Field(ge=0, le=7 * 86_400)]
Interval = Annotated[float, Field(gt=0, le=7 * 86_400)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LadderStep(_Section):
    """Whom to tell once an alert has waited ``after_s`` seconds unacknowledged."""

    after_s: Seconds
    notify: Annotated[tuple[Rule, ...], Field(min_length=1)]


class Ladder(_Section):
    """The steps of one priority (step ``n`` is escalation level ``n``), reminders, accept time."""

    steps: Annotated[tuple[LadderStep, ...], Field(min_length=1)]
    #: While unacknowledged, the current level's recipients are reminded this often; unset, never.
    remind_every_s: Interval | None = None
    #: A dispatched responder who has not accepted within this is passed over.
    accept_timeout_s: Interval = 300.0

    @model_validator(mode="after")
    def _ordered(self) -> Ladder:
        if self.steps[0].after_s != 0:
            raise ValueError("steps: the first step is level 0 and must have after_s = 0")
        for before, after in zip(self.steps, self.steps[1:], strict=False):
            if after.after_s <= before.after_s:
                raise ValueError("steps: after_s must increase from one step to the next")
        return self

    @property
    def top(self) -> int:
        """The highest escalation level."""
        return len(self.steps) - 1


def _steps(*steps: tuple[float, tuple[str, ...]]) -> tuple[LadderStep, ...]:
    return tuple(LadderStep(after_s=after, notify=rules) for after, rules in steps)


# Priority 1 follows the telecare targets (answered within 60 s, and within 180 s at worst).
_P1 = Ladder(
    steps=_steps(
        (0, ("queue:operator", "family:next")),
        (60, ("queue:supervisor", "family:next")),
        (180, ("community_worker:on_duty",)),
    ),
    remind_every_s=30,
    accept_timeout_s=300,
)
_P2 = Ladder(
    steps=_steps(
        (0, ("queue:operator",)),
        (300, ("queue:supervisor", "family:next")),
        (900, ("community_worker:on_duty",)),
    ),
    remind_every_s=120,
    accept_timeout_s=900,
)
_P3 = Ladder(
    steps=_steps((0, ("queue:operator",)), (4 * 3600, ("queue:supervisor",))),
    remind_every_s=None,
    accept_timeout_s=3600,
)


class EscalationSettings(_Section):
    """The ``[escalation]`` section: one ladder per alert priority."""

    priority_1: Ladder = _P1
    priority_2: Ladder = _P2
    priority_3: Ladder = _P3

    def ladder(self, priority: int) -> Ladder:
        """Return the ladder of ``priority`` (1 to 3)."""
        if priority <= 1:
            return self.priority_1
        return self.priority_2 if priority == 2 else self.priority_3


@dataclass(frozen=True, slots=True)
class Candidate:
    """A responder assigned to a home, in ladder order (lower rank first within a kind)."""

    id: str
    kind: str
    rank: int
    availability: Availability = None
    active: bool = True

    def on_duty(self, now: datetime) -> bool:
        """Tell whether this responder may be asked at ``now``."""
        return self.active and is_available(self.availability, now)


def _ranked(roster: Iterable[Candidate], kind: str, now: datetime) -> list[Candidate]:
    return sorted(
        (c for c in roster if c.kind == kind and c.on_duty(now)), key=lambda c: (c.rank, c.id)
    )


def resolve_targets(
    rules: Sequence[str], roster: Sequence[Candidate], notified: Collection[str], now: datetime
) -> list[str]:
    """Turn a step's rules into recipients (queues and responder ids), without repeats."""
    chosen: list[str] = []
    for rule in rules:
        head, _, selector = rule.partition(":")
        if head == "queue":
            picked = [rule]
        else:
            ranked = _ranked(roster, head, now)
            if selector == "on_duty":
                picked = [c.id for c in ranked]
            elif selector == "any":
                picked = [c.id for c in ranked[:1]]
            else:
                fresh = [c.id for c in ranked if c.id not in notified and c.id not in chosen]
                picked = fresh[:1]
        chosen.extend(p for p in picked if p not in chosen)
    return chosen


def next_candidate(
    roster: Sequence[Candidate], kind: str, excluded: Collection[str], now: datetime
) -> Candidate | None:
    """Return the best-ranked responder of ``kind`` on duty and not in ``excluded``."""
    for candidate in _ranked(roster, kind, now):
        if candidate.id not in excluded:
            return candidate
    return None
