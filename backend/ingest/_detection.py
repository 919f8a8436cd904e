"""Run the detectors live: per-home state cached in memory, written back with each batch.

The state of a home and its pending deadlines are written in the same transaction as the
events and alerts they follow from, so a crash loses or doubles nothing: after a restart
the deadlines are read back, an overdue one fires once at once (its token is consumed in
the transaction that raises its alert) and a future one waits for its time.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from backend._errors import StorageError
from backend._tasks import cancel_and_wait, sleep_until_due
from backend.alerts import AlertChange, AlertStatus, OpenHook, Trigger, decide
from backend.careplan import CarePlans
from backend.detectors import (
    CLEARABLE,
    Finding,
    HomeState,
    advance,
    deadlines,
    gateway_status,
    next_due,
    state_from_doc,
    state_to_doc,
    step,
    visit,
)
from backend.hub import Hub
from backend.storage import AlertRow, Store, Transaction, TransitionRow, VisitRow
from protocol import Envelope, new_event_id

__all__ = ["NO_EVENT", "Detection", "DetectionBatch", "Scheduler"]

_log = logging.getLogger(__name__)
#: Stands for "no triggering event" in an alert's event columns (a deadline with no cause).
NO_EVENT = UUID(int=0)
SYSTEM = "system"


@dataclass(slots=True)
class DetectionBatch:
    """What one transaction changed: new home states, alert changes, clears."""

    states: dict[str, HomeState] = field(default_factory=dict)
    changes: list[AlertChange] = field(default_factory=list)
    cleared: int = 0
    fired: int = 0


class Detection:
    """The live detection engine of the backend; callers hold ``lock`` around a batch."""

    def __init__(self, plans: CarePlans, *, new_id: Callable[[], UUID] = new_event_id) -> None:
        self.plans = plans
        self.lock = asyncio.Lock()
        self._new_id = new_id
        self._cache: dict[str, HomeState] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._scheduled: dict[str, datetime] = {}
        self.wake = asyncio.Event()
        #: Starts the escalation ladder of each alert opened, in the same transaction.
        self.on_open: OpenHook | None = None

    # -- loading and saving -----------------------------------------------------------------

    async def _load(self, tx: Transaction, homes: Iterable[str]) -> dict[str, HomeState]:
        wanted = set(homes)
        work = {h: self._cache[h] for h in wanted if h in self._cache}
        for home, doc in (await tx.get_detector_states(wanted - work.keys())).items():
            try:
                work[home] = state_from_doc(doc)
            except ValueError as err:
                _log.warning("home %s: detector state discarded (%s); starting afresh", home, err)
        for home in wanted - work.keys():
            work[home] = HomeState(home=home)
        return work

    async def _save(
        self,
        tx: Transaction,
        before: dict[str, HomeState],
        work: dict[str, HomeState],
        now: datetime,
    ) -> dict[str, HomeState]:
        changed = {h: s for h, s in work.items() if s is not before.get(h)}
        await tx.put_detector_states(
            {
                h: (state_to_doc(s), [(d.name, d.due, d.token) for d in deadlines(s)])
                for h, s in changed.items()
            },
            now,
        )
        return changed

    def commit(self, batch: DetectionBatch) -> None:
        """Adopt the states of a committed batch, and schedule their next deadlines."""
        self._cache.update(batch.states)
        woke = False
        for home, state in batch.states.items():
            due = next_due(state)
            if due is None:
                continue
            scheduled = self._scheduled.get(home)
            if scheduled is None or due < scheduled:
                self._scheduled[home] = due
                heapq.heappush(self._heap, (due, home))
                woke = True
        if woke:
            self.wake.set()

    async def restore(self, store: Store) -> int:
        """Schedule the deadlines stored before a restart; return how many homes have one."""
        for home, _name, due, _token in await store.pending_deadlines():
            scheduled = self._scheduled.get(home)
            if scheduled is None or due < scheduled:
                self._scheduled[home] = due
                heapq.heappush(self._heap, (due, home))
        self.wake.set()
        return len(self._scheduled)

    def next_wake(self) -> datetime | None:
        """Return when the earliest scheduled deadline is due."""
        return self._heap[0][0] if self._heap else None

    # -- inputs -----------------------------------------------------------------------------

    async def on_batch(
        self,
        tx: Transaction,
        envelopes: Sequence[Envelope],
        statuses: Sequence[tuple[str, bool]],
        now: datetime,
    ) -> DetectionBatch:
        """Run the detectors over newly stored events and gateway statuses, within ``tx``."""
        batch = DetectionBatch()
        homes = {e.home for e in envelopes} | {h for h, _ in statuses}
        if not homes:
            return batch
        before = await self._load(tx, homes)
        work = dict(before)
        for home, online in statuses:
            work[home], found = gateway_status(work[home], online, self.plans.for_home(home), now)
            await self._apply(tx, found, now, batch)
        for event in envelopes:
            plan = self.plans.for_home(event.home)
            state = work[event.home]
            if state.timers:
                state, found = advance(state, event.at, plan)
                batch.fired += len(found)
                await self._apply(tx, found, now, batch)
            work[event.home], found = step(state, event, plan)
            if found:
                await self._apply(tx, found, now, batch)
        batch.states = await self._save(tx, before, work, now)
        return batch

    async def fire_due(self, store: Store, now: datetime) -> DetectionBatch:
        """Fire every deadline due by ``now``, in one transaction; the caller holds ``lock``."""
        homes: set[str] = set()
        while self._heap and self._heap[0][0] <= now:
            due, home = heapq.heappop(self._heap)
            if self._scheduled.get(home) == due:
                del self._scheduled[home]
            homes.add(home)
        batch = DetectionBatch()
        if not homes:
            return batch
        try:
            async with store.transaction() as tx:
                before = await self._load(tx, homes)
                work = dict(before)
                for home in homes:
                    work[home], found = advance(work[home], now, self.plans.for_home(home))
                    batch.fired += len(found)
                    await self._apply(tx, found, now, batch)
                batch.states = await self._save(tx, before, work, now)
        except BaseException:
            for home in homes:  # try again later: nothing was committed
                heapq.heappush(self._heap, (now + timedelta(seconds=1), home))
                self._scheduled[home] = now + timedelta(seconds=1)
            raise
        # Homes whose entries were early (a deadline pushed back) are rescheduled here too.
        self.commit(DetectionBatch(states={**before, **batch.states}))
        return batch

    async def start_visit(
        self, store: Store, home: str, carer: str | None, note: str | None, now: datetime
    ) -> VisitRow:
        """Check a care visit in: record it, and suppress inactivity while it lasts."""
        row = VisitRow(self._new_id(), home, now, None, carer, note)
        async with self.lock, store.transaction() as tx:
            await tx.insert_visit(row)
            batch = await self._visit(tx, home, str(row.id), active=True, now=now)
        self.commit(batch)
        return row

    async def end_visit(self, store: Store, row: VisitRow, now: datetime) -> VisitRow:
        """Check a care visit out (a second check-out changes nothing)."""
        async with self.lock, store.transaction() as tx:
            if not await tx.end_visit(row.id, now):
                return row
            batch = await self._visit(tx, row.home, str(row.id), active=False, now=now)
        self.commit(batch)
        return VisitRow(row.id, row.home, row.started_at, now, row.carer, row.note)

    async def _visit(
        self, tx: Transaction, home: str, visit_id: str, *, active: bool, now: datetime
    ) -> DetectionBatch:
        batch = DetectionBatch()
        before = await self._load(tx, [home])
        work = dict(before)
        work[home], found = visit(
            work[home], visit_id, active=active, plan=self.plans.for_home(home), now=now
        )
        await self._apply(tx, found, now, batch)
        batch.states = await self._save(tx, before, work, now)
        return batch

    # -- alerts -----------------------------------------------------------------------------

    async def _apply(
        self, tx: Transaction, findings: list[Finding], now: datetime, batch: DetectionBatch
    ) -> None:
        for finding in findings:
            if finding.action == "clear":
                cleared = await self._clear(tx, finding, now)
                if cleared is not None:
                    batch.cleared += 1
                    batch.changes.append(AlertChange("resolved", cleared, cleared.last_event_id))
                continue
            linked = finding.event_id or finding.cause
            trigger = Trigger(
                home=finding.home,
                kind=finding.kind,
                priority=finding.priority,
                event_id=linked or NO_EVENT,
                at=finding.at,
                reason=finding.reason,
            )
            unresolved = await tx.find_unresolved_alert(finding.home, finding.kind.value)
            decision = decide(unresolved, trigger, now, self._new_id())
            if decision.change == "opened":
                await tx.insert_alert(decision.alert)
            else:
                await tx.attach_trigger(decision.alert)
            if linked is not None:
                await tx.link_event(decision.alert.id, linked)
            if decision.transition is not None:
                await tx.add_transition(decision.transition)
            followup = None
            if decision.change == "opened" and self.on_open is not None:
                followup = await self.on_open(tx, decision.alert, now)
            batch.changes.append(
                AlertChange(decision.change, decision.alert, trigger.event_id, followup=followup)
            )

    async def _clear(self, tx: Transaction, finding: Finding, now: datetime) -> AlertRow | None:
        if finding.kind not in CLEARABLE:
            raise ValueError(f"{finding.kind} alerts are never closed automatically")
        alert = await tx.find_unresolved_alert(finding.home, finding.kind.value)
        if alert is None:
            return None
        resolved = replace(
            alert,
            status=AlertStatus.RESOLVED.value,
            updated_at=max(now, alert.updated_at),
            resolved_at=now,
            resolved_by=SYSTEM,
        )
        await tx.resolve_alert(
            resolved,
            TransitionRow(
                alert.id,
                now,
                SYSTEM,
                alert.status,
                AlertStatus.RESOLVED.value,
                finding.reason[:200],
                action="resolve",
                escalation_level=alert.escalation_level,
            ),
        )
        return resolved


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Scheduler:
    """Fire each deadline at its time, and announce the alerts it raises."""

    def __init__(
        self,
        detection: Detection,
        store: Store,
        hub: Hub,
        *,
        on_changes: Callable[[DetectionBatch], None] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        max_sleep_s: float = 30.0,
    ) -> None:
        self._detection = detection
        self._store = store
        self._hub = hub
        self._on_changes = on_changes
        self._clock = clock
        self._max_sleep = max_sleep_s
        self._task: asyncio.Task[None] | None = None
        self.failures = 0

    def start(self) -> None:
        """Run the scheduler as a task."""
        self._task = asyncio.create_task(self.run(), name="backend-deadlines")

    async def stop(self) -> None:
        """Stop the scheduler (a firing in progress finishes or rolls back)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def run(self) -> None:
        """Sleep until the next deadline, fire what is due; supervises every round."""
        detection = self._detection
        delay = 0.2
        while True:
            detection.wake.clear()
            await sleep_until_due(
                detection.wake, detection.next_wake(), self._clock(), self._max_sleep
            )
            try:
                async with detection.lock:
                    batch = await detection.fire_due(self._store, self._clock())
            except StorageError as err:
                self.failures += 1
                _log.warning("firing deadlines failed (%s); retrying in %.1f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except Exception:  # noqa: BLE001 - the one supervisor of the deadline task
                self.failures += 1
                _log.exception("firing deadlines failed")
                await asyncio.sleep(delay)
                continue
            delay = 0.2
            if self._on_changes is not None:
                self._on_changes(batch)
            for change in batch.changes:
                self._hub.publish(change)
