"""Carry out alert decisions inside the ingest transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from backend.alerts._decide import AlertChange, decide
from backend.alerts._model import Trigger
from backend.storage import Transaction
from protocol import new_event_id

__all__ = ["apply_trigger"]


async def apply_trigger(
    tx: Transaction,
    trigger: Trigger,
    now: datetime,
    *,
    new_id: Callable[[], UUID] = new_event_id,
) -> AlertChange:
    """Open or attach the alert for ``trigger`` within ``tx``; return the change to announce."""
    unresolved = await tx.find_unresolved_alert(trigger.home, trigger.kind.value)
    decision = decide(unresolved, trigger, now, new_id())
    if decision.change == "opened":
        await tx.insert_alert(decision.alert)
    else:
        await tx.update_alert(decision.alert)
    await tx.link_event(decision.alert.id, trigger.event_id)
    if decision.transition is not None:
        await tx.add_transition(decision.transition)
    return AlertChange(decision.change, decision.alert, trigger.event_id)
