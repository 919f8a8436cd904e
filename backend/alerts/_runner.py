"""Carry out alert decisions: open or attach within ingest, and run each alert's lifecycle.

Every lifecycle command and deadline is one transaction: read the alert's case, ``step`` it,
write the alert only if its version has not moved (else read again and retry), then its
dispatches, deadlines, pending notifications and audit entries. Only after the commit are
the notifications handed to the notifier, the deadlines timed and the change announced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from backend._errors import StorageError
from backend.alerts._decide import AlertChange, ChangeKind, Followup, OpenHook, decide
from backend.alerts._errors import (
    AlertNotFoundError,
    ConcurrentChangeError,
    DispatchNotFoundError,
    InvalidCommandError,
    LifecycleError,
)
from backend.alerts._ladder import EscalationSettings
from backend.alerts._lifecycle import (
    Accept,
    Acknowledge,
    Action,
    Announce,
    Arrive,
    Case,
    Decline,
    Dispatch,
    Escalate,
    Event,
    NotificationFailed,
    Notify,
    Open,
    Reassign,
    Record,
    Resolve,
    step,
    timer_event,
)
from backend.alerts._model import DispatchRow, Outcome, Trigger
from backend.alerts._queries import (
    all_deadlines,
    dispatch_alert,
    level_of,
    load_case,
    load_responders,
    load_roster,
    put_deadlines,
    save_case,
)
from backend.alerts._scheduler import DeadlineScheduler
from backend.notify import DeliveryResult, NotificationRequest, Notifier, insert_pending
from backend.storage import AlertRow, Store, Transaction
from protocol import new_event_id

if TYPE_CHECKING:
    from backend.hub import Hub

__all__ = ["Lifecycle", "Result", "apply_trigger"]

_log = logging.getLogger(__name__)


async def apply_trigger(
    tx: Transaction,
    trigger: Trigger,
    now: datetime,
    *,
    new_id: Callable[[], UUID] = new_event_id,
    on_open: OpenHook | None = None,
) -> AlertChange:
    """Open or attach the alert for ``trigger`` within ``tx``; return the change to announce."""
    unresolved = await tx.find_unresolved_alert(trigger.home, trigger.kind.value)
    decision = decide(unresolved, trigger, now, new_id())
    if decision.change == "opened":
        await tx.insert_alert(decision.alert)
    else:
        await tx.attach_trigger(decision.alert)
    await tx.link_event(decision.alert.id, trigger.event_id)
    if decision.transition is not None:
        await tx.add_transition(decision.transition)
    followup = None
    if decision.change == "opened" and on_open is not None:
        followup = await on_open(tx, decision.alert, now)
    return AlertChange(decision.change, decision.alert, trigger.event_id, followup=followup)


class _Moved(Exception):  # noqa: N818 - internal signal, never escapes the runner
    """The alert's version moved between the read and the write."""


async def _save_alert(tx: Transaction, before: Case, after: Case) -> None:
    if not await tx.save_alert(after.alert, expected_version=before.alert.version):
        raise _Moved


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Result:
    """The alert after a command, and the dispatches the command created or changed."""

    alert: AlertRow
    dispatches: tuple[DispatchRow, ...] = ()
    changed: bool = True


class Lifecycle:
    """Run alert lifecycles: commands from the API, deadlines, notification failures.

    ``notifier`` receives the notifications once they are committed as pending rows; give it
    ``lifecycle.notification_failed`` as its failure callback so that the ladder moves on.
    Without a notifier the rows stay pending for one to pick up.
    """

    def __init__(
        self,
        store: Store,
        hub: Hub | None = None,
        settings: EscalationSettings | None = None,
        *,
        notifier: Notifier | None = None,
        clock: Callable[[], datetime] = _utcnow,
        new_id: Callable[[], UUID] = new_event_id,
        retries: int = 8,
        max_sleep_s: float = 30.0,
    ) -> None:
        self._store = store
        self._hub = hub
        self.settings = settings or EscalationSettings()
        self._notifier = notifier
        self._clock = clock
        self._new_id = new_id
        self._retries = retries
        self.scheduler = DeadlineScheduler(self.fire, clock, max_sleep_s=max_sleep_s)
        self._listening = False

    def set_notifier(self, notifier: Notifier | None) -> None:
        """Hand future notifications to ``notifier``."""
        self._notifier = notifier

    # -- running ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Time the deadlines stored before a restart, then fire deadlines as they fall due."""
        restored = await self.restore()
        if restored:
            _log.info("%d alert deadlines pending", restored)
        if self._hub is not None and not self._listening:
            self._hub.add_listener(self.on_change)
            self._listening = True
        self.scheduler.start()

    async def stop(self) -> None:
        """Stop firing deadlines (they stay stored for the next start)."""
        if self._hub is not None and self._listening:
            self._hub.remove_listener(self.on_change)
            self._listening = False
        await self.scheduler.stop()

    async def restore(self) -> int:
        """Schedule every stored deadline; overdue ones fire at once."""
        async with self._store.reading() as conn:
            rows = await all_deadlines(conn)
        for alert_id, name, due, token in rows:
            self.scheduler.add(alert_id, name, due, token)
        return len(rows)

    async def fire_due(self) -> int:
        """Fire every deadline due by the clock's now; return how many."""
        return await self.scheduler.fire_due()

    def on_change(self, change: AlertChange) -> None:
        """Take up the follow-up of a change committed elsewhere (an alert just opened)."""
        if change.followup is not None:
            self._follow(change.followup)

    def _follow(self, followup: Followup) -> None:
        for alert_id, deadline in followup.deadlines:
            self.scheduler.add(alert_id, deadline.name, deadline.due, deadline.token)
        if followup.requests and self._notifier is not None:
            self._notifier.submit(list(followup.requests))

    # -- opening ----------------------------------------------------------------------------

    async def start_ladder(self, tx: Transaction, alert: AlertRow, now: datetime) -> Followup:
        """Within the transaction that opened ``alert``, notify level 0 and store its timers."""
        roster = await load_roster(tx.conn, alert.home)
        case = Case(alert, roster=roster, kinds={c.id: c.kind for c in roster})
        new, actions = step(case, Open(), now, self.settings.ladder(alert.priority), self._new_id)
        await put_deadlines(tx, alert.id, (), new.deadlines)
        requests = self._requests(new.alert, actions, now)
        await insert_pending(tx, requests)
        for action in actions:
            if isinstance(action, Record):
                await tx.add_transition(action.transition)
        return Followup(requests, tuple((alert.id, d) for d in new.deadlines))

    # -- commands ---------------------------------------------------------------------------

    async def acknowledge(self, alert_id: UUID, actor: str, note: str | None = None) -> Result:
        """Acknowledge an open alert; refused once someone else has."""
        return await self._apply(alert_id, Acknowledge(actor, note))

    async def dispatch(
        self, alert_id: UUID, actor: str, responder_ids: Sequence[str], note: str | None = None
    ) -> Result:
        """Send responders to an alert (acknowledging it if it was open)."""
        async with self._store.reading() as conn:
            known = await load_responders(conn, responder_ids)
        unknown = sorted(set(responder_ids) - known.keys())
        if unknown:
            raise InvalidCommandError(f"no responder {', '.join(unknown)}")
        chosen = tuple(known[r] for r in dict.fromkeys(responder_ids))
        return await self._apply(alert_id, Dispatch(actor, chosen, note))

    async def escalate(self, alert_id: UUID, actor: str, reason: str | None = None) -> Result:
        """Move an alert one level up its ladder now."""
        return await self._apply(alert_id, Escalate(actor, reason))

    async def reassign(
        self, alert_id: UUID, actor: str, assignee: str, note: str | None = None
    ) -> Result:
        """Give an alert to another operator."""
        return await self._apply(alert_id, Reassign(actor, assignee, note))

    async def resolve(
        self, alert_id: UUID, actor: str, outcome: Outcome, note: str | None = None
    ) -> Result:
        """Close an alert with its outcome; live dispatches are cancelled."""
        return await self._apply(alert_id, Resolve(actor, outcome, note))

    async def accept(self, dispatch_id: UUID, actor: str) -> Result:
        """Record that a dispatched responder accepted."""
        return await self._apply(await self._alert_of(dispatch_id), Accept(actor, dispatch_id))

    async def decline(self, dispatch_id: UUID, actor: str, reason: str | None = None) -> Result:
        """Record that a dispatched responder declined; the next one is sent."""
        alert_id = await self._alert_of(dispatch_id)
        return await self._apply(alert_id, Decline(actor, dispatch_id, reason))

    async def arrive(self, dispatch_id: UUID, actor: str) -> Result:
        """Record that a dispatched responder arrived."""
        return await self._apply(await self._alert_of(dispatch_id), Arrive(actor, dispatch_id))

    async def notification_failed(self, result: DeliveryResult) -> None:
        """Record a notification that failed for good, and move the ladder along."""
        if result.status != "failed":
            return
        request = result.request
        event = NotificationFailed(
            recipient=request.recipient,
            error=(result.error or "delivery failed")[:150],
            level=level_of(request.reason),
            dispatch_id=request.dispatch_id,
        )
        try:
            await self._apply(request.alert_id, event)
        except (LifecycleError, StorageError) as err:
            # The ladder's own deadlines still run; only this push along is lost.
            _log.warning("alert %s: failed notification not applied: %s", request.alert_id, err)

    async def fire(self, alert_id: UUID, name: str, token: int) -> None:
        """Fire the deadline ``name`` of an alert; a stale token does nothing."""
        try:
            await self._apply(alert_id, timer_event(name, token))
        except AlertNotFoundError:
            _log.warning("deadline %s of a missing alert %s dropped", name, alert_id)

    # -- the transaction --------------------------------------------------------------------

    async def _alert_of(self, dispatch_id: UUID) -> UUID:
        async with self._store.reading() as conn:
            alert_id = await dispatch_alert(conn, dispatch_id)
        if alert_id is None:
            raise DispatchNotFoundError(f"no dispatch {dispatch_id}")
        return alert_id

    async def _apply(self, alert_id: UUID, event: Event) -> Result:
        for _ in range(self._retries):
            now = self._clock()
            try:
                async with self._store.transaction() as tx:
                    case = await load_case(tx, alert_id)
                    if case is None:
                        raise AlertNotFoundError(f"no alert {alert_id}")
                    ladder = self.settings.ladder(case.alert.priority)
                    new, actions = step(case, event, now, ladder, self._new_id)
                    if new is case:
                        return Result(case.alert, (), changed=False)
                    await _save_alert(tx, case, new)
                    await save_case(tx, case, new)
                    requests = self._requests(new.alert, actions, now)
                    await insert_pending(tx, requests)
                    for action in actions:
                        if isinstance(action, Record):
                            await tx.add_transition(action.transition)
            except _Moved:
                continue
            return self._committed(case, new, actions, requests)
        raise ConcurrentChangeError(f"alert {alert_id} kept changing; retry")

    def _committed(
        self,
        before: Case,
        after: Case,
        actions: list[Action],
        requests: tuple[NotificationRequest, ...],
    ) -> Result:
        old = {d.name: d for d in before.deadlines}
        timed = tuple((after.alert.id, d) for d in after.deadlines if old.get(d.name) != d)
        self._follow(Followup(requests, timed))
        seen = {d.id: d for d in before.dispatches}
        changed = tuple(d for d in after.dispatches if seen.get(d.id) != d)
        announce = next((a.change for a in actions if isinstance(a, Announce)), None)
        if announce is not None and self._hub is not None:
            first = next((a.transition for a in actions if isinstance(a, Record)), None)
            self._hub.publish(
                AlertChange(
                    _change_kind(announce),
                    after.alert,
                    after.alert.last_event_id,
                    dispatches=changed,
                    actor=first.actor if first else None,
                    action=first.action if first else None,
                )
            )
        return Result(after.alert, changed)

    def _requests(
        self, alert: AlertRow, actions: list[Action], now: datetime
    ) -> tuple[NotificationRequest, ...]:
        return tuple(
            NotificationRequest(
                id=self._new_id(),
                alert_id=alert.id,
                recipient=a.recipient,
                reason=a.reason,
                kind=alert.kind,
                priority=alert.priority,
                home=alert.home,
                status=alert.status,
                escalation_level=a.level if a.level is not None else alert.escalation_level,
                created_at=now,
                dispatch_id=a.dispatch_id,
            )
            for a in actions
            if isinstance(a, Notify)
        )


_CHANGES: dict[str, ChangeKind] = {
    "acknowledged": "acknowledged",
    "dispatched": "dispatched",
    "escalated": "escalated",
    "reassigned": "reassigned",
    "resolved": "resolved",
    "dispatch": "dispatch",
    "notification_failed": "notification_failed",
}


def _change_kind(name: str) -> ChangeKind:
    return _CHANGES[name]
