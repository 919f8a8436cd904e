"""The pure decision: open a new alert for a trigger, or attach it to the unresolved one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from backend.alerts._lifecycle import Deadline
from backend.alerts._model import AlertStatus, DispatchRow, Trigger
from backend.notify import NotificationRequest
from backend.storage import AlertRow, Transaction, TransitionRow

__all__ = ["AlertChange", "AlertDecision", "ChangeKind", "Followup", "OpenHook", "decide"]

SYSTEM_ACTOR = "system"


@dataclass(frozen=True, slots=True)
class AlertDecision:
    """What the runner must write: the alert as it should now be, and an audit entry if any."""

    change: Literal["opened", "attached"]
    alert: AlertRow
    transition: TransitionRow | None


@dataclass(frozen=True, slots=True)
class Followup:
    """What to do once a change is committed: notifications to hand over, deadlines to time."""

    requests: tuple[NotificationRequest, ...] = ()
    deadlines: tuple[tuple[UUID, Deadline], ...] = ()


#: How an alert changed: by a trigger (opened, attached), by its lifecycle, or by a dispatch.
ChangeKind = Literal[
    "opened",
    "attached",
    "acknowledged",
    "dispatched",
    "escalated",
    "reassigned",
    "resolved",
    "dispatch",
    "notification_failed",
]

#: Starts the ladder of an alert just opened, inside the transaction that opened it.
OpenHook = Callable[[Transaction, AlertRow, datetime], Awaitable[Followup]]


@dataclass(frozen=True, slots=True)
class AlertChange:
    """An alert change to announce once it is committed.

    ``dispatches`` are the dispatches the change created or changed; ``actor`` and
    ``action`` say who did what (``None`` for triggers). ``followup`` is for the lifecycle.
    """

    change: ChangeKind
    alert: AlertRow
    event_id: UUID
    dispatches: tuple[DispatchRow, ...] = ()
    actor: str | None = None
    action: str | None = None
    followup: Followup | None = field(default=None, compare=False)


def decide(
    unresolved: AlertRow | None, trigger: Trigger, now: datetime, new_id: UUID
) -> AlertDecision:
    """Decide how ``trigger`` changes the alerts of its home and kind."""
    if unresolved is not None:
        if unresolved.home != trigger.home or unresolved.kind != trigger.kind:
            raise ValueError("the unresolved alert must match the trigger's home and kind")
        attached = replace(
            unresolved,
            # A higher-priority trigger (say, critical vitals) raises the alert's priority.
            priority=min(unresolved.priority, int(trigger.priority)),
            trigger_count=unresolved.trigger_count + 1,
            last_event_id=trigger.event_id,
            updated_at=max(now, unresolved.updated_at),
        )
        return AlertDecision("attached", attached, None)
    opened = AlertRow(
        id=new_id,
        home=trigger.home,
        kind=trigger.kind.value,
        priority=int(trigger.priority),
        status=AlertStatus.OPEN.value,
        escalation_level=0,
        opened_at=now,
        updated_at=now,
        trigger_count=1,
        first_event_id=trigger.event_id,
        last_event_id=trigger.event_id,
    )
    transition = TransitionRow(
        alert_id=new_id,
        at=now,
        actor=SYSTEM_ACTOR,
        from_status=None,
        to_status=AlertStatus.OPEN.value,
        reason=trigger.reason[:200],
        action="open",
        escalation_level=0,
    )
    return AlertDecision("opened", opened, transition)
