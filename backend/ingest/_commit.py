"""Write one plan in one transaction: dead letters, homes, events, then alerts for new events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from backend.alerts import AlertChange, apply_trigger
from backend.detectors import ImmediateState, detect_immediate
from backend.ingest._plan import Plan
from backend.storage import Store
from protocol import new_event_id

__all__ = ["Outcome", "commit_plan"]


@dataclass(frozen=True, slots=True)
class Outcome:
    stored: int
    duplicates: int
    dead_lettered: int
    statuses: int
    changes: list[AlertChange] = field(default_factory=list)


async def commit_plan(
    store: Store,
    plan: Plan,
    state: ImmediateState,
    now: datetime,
    *,
    new_id: Callable[[], UUID] = new_event_id,
) -> tuple[ImmediateState, Outcome]:
    """Commit ``plan``; the returned detector state is valid only because the commit succeeded."""
    changes: list[AlertChange] = []
    async with store.transaction() as tx:
        for dead in plan.dead:
            await tx.add_dead_letter(dead)
        await tx.touch_homes((row.home for row in plan.rows), now)
        for status in plan.statuses:
            await tx.update_home_status(
                status.home, online=status.online, status=status.status, now=now
            )
        new = await tx.insert_events(plan.rows)
        for envelope in plan.envelopes:
            if envelope.id not in new:
                continue
            state, triggers = detect_immediate(state, envelope, now)
            changes.extend([await apply_trigger(tx, t, now, new_id=new_id) for t in triggers])
    outcome = Outcome(
        stored=len(new),
        duplicates=len(plan.rows) - len(new) + plan.repeated_in_batch,
        dead_lettered=len(plan.dead),
        statuses=len(plan.statuses),
        changes=changes,
    )
    return state, outcome
