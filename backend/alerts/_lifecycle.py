"""The alert lifecycle as a pure state machine: ``step(case, event, now) -> (case, actions)``.

Statuses move one way: ``open``, then ``acknowledged``, then ``dispatched``, then
``resolved`` (``dispatch`` from ``open`` implies the acknowledgement). While an alert is
open its ladder runs: escalation at the next step's time and reminders to the current
level's recipients. Every change bumps the alert's ``version``; the deadlines it sets carry
that version as their token, so a late or repeated firing of an older deadline does nothing.

Nothing here reads the clock, the network or the database: the runner loads a ``Case``,
calls ``step`` and writes the returned case and actions in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from backend.alerts._errors import IllegalTransitionError, InvalidCommandError
from backend.alerts._ladder import Candidate, Ladder, next_candidate, resolve_targets
from backend.alerts._model import LIVE_DISPATCH, AlertStatus, DispatchRow, DispatchStatus, Outcome
from backend.storage import AlertRow, TransitionRow

__all__ = [
    "SYSTEM",
    "Accept",
    "AcceptTimeout",
    "Acknowledge",
    "Action",
    "Announce",
    "Arrive",
    "Case",
    "Deadline",
    "Decline",
    "Dispatch",
    "Escalate",
    "EscalateDue",
    "Event",
    "NotificationFailed",
    "Notify",
    "Open",
    "Reassign",
    "Record",
    "RemindDue",
    "Resolve",
    "Responder",
    "status_rank",
    "step",
    "timer_event",
]

#: The actor of what the ladder does by itself.
SYSTEM = "system"
ESCALATE, REMIND, ACCEPT_PREFIX = "escalate", "remind", "accept:"

_ORDER = {s.value: i for i, s in enumerate(AlertStatus)}


@dataclass(frozen=True, slots=True)
class Deadline:
    """A pending timer of an alert: fires at ``due`` if its ``token`` is still current."""

    name: str
    due: datetime
    token: int


@dataclass(frozen=True, slots=True)
class Case:
    """An alert with everything its lifecycle decisions need.

    ``notified`` lists every notification so far as ``(recipient, ladder level)``; the level
    is ``None`` for notifications outside the ladder (dispatches, cancellations). ``roster``
    holds the responders assigned to the home; ``kinds`` the kind of every responder the
    alert involves, assigned or not.
    """

    alert: AlertRow
    dispatches: tuple[DispatchRow, ...] = ()
    deadlines: tuple[Deadline, ...] = ()
    notified: tuple[tuple[str, int | None], ...] = ()
    roster: tuple[Candidate, ...] = ()
    kinds: Mapping[str, str] = field(default_factory=dict)

    def deadline(self, name: str) -> Deadline | None:
        """Return the pending deadline called ``name``, if any."""
        return next((d for d in self.deadlines if d.name == name), None)

    def dispatch(self, dispatch_id: UUID) -> DispatchRow | None:
        """Return the dispatch ``dispatch_id`` of this alert, if any."""
        return next((d for d in self.dispatches if d.id == dispatch_id), None)


# -- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Responder:
    """A responder named in a dispatch command, as the directory knows them."""

    id: str
    kind: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Open:
    """The alert was just opened: tell level 0 and start the ladder's timers."""


@dataclass(frozen=True, slots=True)
class Acknowledge:
    actor: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Dispatch:
    actor: str
    responders: tuple[Responder, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Escalate:
    actor: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Reassign:
    actor: str
    assignee: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Resolve:
    actor: str
    outcome: Outcome
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Accept:
    actor: str
    dispatch_id: UUID


@dataclass(frozen=True, slots=True)
class Decline:
    actor: str
    dispatch_id: UUID
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Arrive:
    actor: str
    dispatch_id: UUID


@dataclass(frozen=True, slots=True)
class EscalateDue:
    token: int


@dataclass(frozen=True, slots=True)
class RemindDue:
    token: int


@dataclass(frozen=True, slots=True)
class AcceptTimeout:
    dispatch_id: UUID
    token: int


@dataclass(frozen=True, slots=True)
class NotificationFailed:
    """A notification could not be delivered after its retries."""

    recipient: str
    error: str
    level: int | None = None
    dispatch_id: UUID | None = None


Event = (
    Open
    | Acknowledge
    | Dispatch
    | Escalate
    | Reassign
    | Resolve
    | Accept
    | Decline
    | Arrive
    | EscalateDue
    | RemindDue
    | AcceptTimeout
    | NotificationFailed
)


def timer_event(name: str, token: int) -> Event:
    """Return the event that the deadline ``name`` stands for."""
    if name == ESCALATE:
        return EscalateDue(token)
    if name == REMIND:
        return RemindDue(token)
    if name.startswith(ACCEPT_PREFIX):
        return AcceptTimeout(UUID(name.removeprefix(ACCEPT_PREFIX)), token)
    raise ValueError(f"unknown alert deadline {name!r}")


# -- actions -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell ``recipient``; ``level`` is the ladder level, ``None`` outside the ladder."""

    recipient: str
    reason: str
    level: int | None = None
    dispatch_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """Append to the alert's audit trail."""

    transition: TransitionRow


@dataclass(frozen=True, slots=True)
class Announce:
    """Announce the committed change on the hub as ``change``."""

    change: str


Action = Notify | Record | Announce


# -- the machine -------------------------------------------------------------------------------


class _Work:
    """The case being changed within one step, and the actions gathered so far."""

    def __init__(self, case: Case, now: datetime, ladder: Ladder, *, bump: bool) -> None:
        self.case = case
        self.alert = case.alert
        self.now = now
        self.ladder = ladder
        self.dispatches = {d.id: d for d in case.dispatches}
        self.deadlines = {d.name: d for d in case.deadlines}
        self.notified = list(case.notified)
        self.kinds = dict(case.kinds)
        self.actions: list[Action] = []
        self.token = case.alert.version + 1 if bump else case.alert.version
        self.bump = bump

    @property
    def status(self) -> str:
        return self.alert.status

    def record(self, actor: str, action: str, reason: str, to_status: str | None = None) -> None:
        before = self.alert.status
        if to_status is not None:
            self.alert = replace(self.alert, status=to_status)
        self.actions.append(
            Record(
                TransitionRow(
                    alert_id=self.alert.id,
                    at=self.now,
                    actor=actor,
                    from_status=before,
                    to_status=self.alert.status,
                    reason=reason[:200],
                    action=action,
                    escalation_level=self.alert.escalation_level,
                )
            )
        )

    def notify(
        self, recipient: str, reason: str, level: int | None, dispatch_id: UUID | None = None
    ) -> None:
        self.notified.append((recipient, level))
        self.actions.append(Notify(recipient, reason[:200], level, dispatch_id))

    def set_deadline(self, name: str, due: datetime) -> None:
        self.deadlines[name] = Deadline(name, due, self.token)

    def drop_deadline(self, name: str) -> None:
        self.deadlines.pop(name, None)

    def put(self, dispatch: DispatchRow) -> None:
        self.dispatches[dispatch.id] = dispatch

    def finish(self, change: str | None) -> tuple[Case, list[Action]]:
        if change is not None:
            self.actions.append(Announce(change))
        alert = self.alert
        if self.bump:
            alert = replace(alert, version=self.token, updated_at=max(self.now, alert.updated_at))
        case = Case(
            alert=alert,
            dispatches=tuple(self.dispatches.values()),
            deadlines=tuple(sorted(self.deadlines.values(), key=lambda d: d.name)),
            notified=tuple(self.notified),
            roster=self.case.roster,
            kinds=self.kinds,
        )
        return case, self.actions


def step(
    case: Case, event: Event, now: datetime, ladder: Ladder, new_id: Callable[[], UUID]
) -> tuple[Case, list[Action]]:
    """Apply ``event`` to ``case`` at ``now``; raise ``IllegalTransitionError`` if it may not.

    A stale timer (its token no longer current) returns ``case`` itself and no actions.
    """
    if isinstance(event, Open):
        return _open(_Work(case, now, ladder, bump=False))
    timer = _timer(case, event)
    if timer is False:
        return case, []
    work = _Work(case, now, ladder, bump=True)
    if isinstance(timer, Deadline):
        work.drop_deadline(timer.name)
        if isinstance(event, EscalateDue):
            return _escalate_due(work, timer)
        if isinstance(event, RemindDue):
            return _remind_due(work, timer)
    return _command(work, event, new_id)


def _command(work: _Work, event: Event, new_id: Callable[[], UUID]) -> tuple[Case, list[Action]]:
    match event:
        case Acknowledge():
            return _acknowledge(work, event)
        case Dispatch():
            return _dispatch(work, event, new_id)
        case Escalate():
            return _escalate_command(work, event)
        case Reassign():
            return _reassign(work, event)
        case Resolve():
            return _resolve(work, event)
        case Accept() | Decline() | Arrive():
            return _responder_answer(work, event, new_id)
        case AcceptTimeout():
            return _accept_timeout(work, event, new_id)
        case NotificationFailed():
            return _notification_failed(work, event, new_id)
    raise AssertionError(f"unhandled event {event!r}")


def _timer(case: Case, event: Event) -> Deadline | bool:
    """Return the deadline a timer event consumes, ``False`` if stale, ``True`` if no timer."""
    if isinstance(event, EscalateDue | RemindDue):
        name = ESCALATE if isinstance(event, EscalateDue) else REMIND
    elif isinstance(event, AcceptTimeout):
        name = f"{ACCEPT_PREFIX}{event.dispatch_id}"
    else:
        return True
    pending = case.deadline(name)
    if pending is None or pending.token != event.token:
        return False
    return pending


def _refuse_resolved(work: _Work, what: str) -> None:
    alert = work.alert
    if alert.status == AlertStatus.RESOLVED.value:
        raise IllegalTransitionError(
            f"cannot {what} alert {alert.id}: it is resolved"
            + (f" (by {alert.resolved_by}, {alert.outcome})" if alert.resolved_by else ""),
            alert_status=alert.status,
            resolved_by=alert.resolved_by,
        )


# -- the ladder --------------------------------------------------------------------------------


def _notify_level(work: _Work, level: int, why: str) -> list[str]:
    recipients = resolve_targets(
        work.ladder.steps[level].notify,
        work.case.roster,
        {r for r, _ in work.notified},
        work.now,
    )
    for recipient in recipients:
        work.notify(recipient, f"level {level}: {why}", level)
    return recipients


def _schedule_ladder(work: _Work, base: datetime) -> None:
    """While the alert is open, time the next escalation and the next reminder from ``base``."""
    ladder, alert = work.ladder, work.alert
    nxt = alert.escalation_level + 1
    if nxt <= ladder.top:
        due = alert.opened_at + timedelta(seconds=ladder.steps[nxt].after_s)
        work.set_deadline(ESCALATE, max(due, work.now))
    else:
        work.drop_deadline(ESCALATE)
    if ladder.remind_every_s is not None:
        work.set_deadline(REMIND, base + timedelta(seconds=ladder.remind_every_s))


def _stop_ladder(work: _Work) -> None:
    work.drop_deadline(ESCALATE)
    work.drop_deadline(REMIND)


def _open(work: _Work) -> tuple[Case, list[Action]]:
    alert = work.alert
    if alert.status != AlertStatus.OPEN.value or work.case.deadlines or work.notified:
        raise IllegalTransitionError(
            f"alert {alert.id} has already started", alert_status=alert.status
        )
    recipients = _notify_level(work, 0, f"{alert.kind} alert opened")
    if not recipients:
        work.record(SYSTEM, "notify", "level 0: nobody to notify")
    _schedule_ladder(work, alert.opened_at)
    return work.finish(None)


def _escalate(work: _Work, actor: str, reason: str, base: datetime) -> bool:
    """Move one level up, tell that level, and retime the ladder; ``False`` at the top."""
    level = work.alert.escalation_level + 1
    if level > work.ladder.top:
        return False
    work.alert = replace(work.alert, escalation_level=level)
    recipients = _notify_level(work, level, reason)
    told = ", ".join(recipients) if recipients else "nobody to notify"
    work.record(actor, "escalate", f"level {level}: {reason}; {told}")
    if work.status == AlertStatus.OPEN.value:
        _schedule_ladder(work, base)
    return True


def _escalate_or_record(work: _Work, reason: str) -> None:
    if not _escalate(work, SYSTEM, reason, work.now):
        work.record(SYSTEM, "ladder_exhausted", f"no level above {work.ladder.top}: {reason}")


def _escalate_due(work: _Work, deadline: Deadline) -> tuple[Case, list[Action]]:
    if work.status != AlertStatus.OPEN.value:
        return work.finish(None)
    after = work.ladder.steps[min(work.alert.escalation_level + 1, work.ladder.top)].after_s
    if not _escalate(work, SYSTEM, f"unacknowledged after {after:g} s", deadline.due):
        return work.finish(None)
    return work.finish("escalated")


def _level_recipients(work: _Work) -> list[str]:
    for level in range(work.alert.escalation_level, -1, -1):
        found = [r for r, lvl in work.notified if lvl == level]
        if found:
            return list(dict.fromkeys(found))
    return []


def _remind_due(work: _Work, deadline: Deadline) -> tuple[Case, list[Action]]:
    if work.status != AlertStatus.OPEN.value or work.ladder.remind_every_s is None:
        return work.finish(None)
    level = work.alert.escalation_level
    waited = (deadline.due - work.alert.opened_at).total_seconds()
    recipients = _level_recipients(work)
    for recipient in recipients:
        work.notify(recipient, f"level {level}: reminder, unacknowledged for {waited:.0f} s", level)
    work.record(
        SYSTEM, "remind", f"reminded {', '.join(recipients) or 'nobody'} after {waited:.0f} s"
    )
    every = timedelta(seconds=work.ladder.remind_every_s)
    due = deadline.due + every
    work.set_deadline(REMIND, due if due > work.now else work.now + every)
    return work.finish(None)


# -- operator commands -------------------------------------------------------------------------


def _acknowledge(work: _Work, event: Acknowledge) -> tuple[Case, list[Action]]:
    alert = work.alert
    if alert.status != AlertStatus.OPEN.value:
        _refuse_resolved(work, "acknowledge")
        raise IllegalTransitionError(
            f"alert {alert.id} is already {alert.status}: acknowledged by "
            f"{alert.acknowledged_by} at {_iso(alert.acknowledged_at)}",
            alert_status=alert.status,
            acknowledged_by=alert.acknowledged_by,
        )
    work.alert = replace(
        alert,
        acknowledged_at=work.now,
        acknowledged_by=event.actor,
        assignee=alert.assignee or event.actor,
    )
    _stop_ladder(work)
    work.record(event.actor, "acknowledge", _with_note("acknowledged", event.note), "acknowledged")
    return work.finish("acknowledged")


def _dispatch(
    work: _Work, event: Dispatch, new_id: Callable[[], UUID]
) -> tuple[Case, list[Action]]:
    _refuse_resolved(work, "dispatch to")
    if not event.responders:
        raise InvalidCommandError("name at least one responder to dispatch")
    live = {d.responder_id: d for d in work.dispatches.values() if d.status in LIVE_DISPATCH}
    chosen = list({r.id: r for r in event.responders}.values())
    for responder in chosen:
        if not responder.active:
            raise InvalidCommandError(f"responder {responder.id} is inactive")
        if responder.id in live:
            raise IllegalTransitionError(
                f"responder {responder.id} is already dispatched to alert {work.alert.id} "
                f"({live[responder.id].status})",
                alert_status=work.status,
                dispatch_status=live[responder.id].status,
            )
    alert = work.alert
    work.alert = replace(
        alert,
        acknowledged_at=alert.acknowledged_at or work.now,
        acknowledged_by=alert.acknowledged_by or event.actor,
        assignee=alert.assignee or event.actor,
        dispatched_at=alert.dispatched_at or work.now,
    )
    _stop_ladder(work)
    for responder in chosen:
        work.kinds[responder.id] = responder.kind
        _send(work, responder.id, event.actor, new_id, event.note)
    names = ", ".join(r.id for r in chosen)
    reason = _with_note(f"dispatched {names}", event.note)
    work.record(event.actor, "dispatch", reason, "dispatched")
    return work.finish("dispatched")


def _send(
    work: _Work, responder_id: str, actor: str, new_id: Callable[[], UUID], note: str | None
) -> DispatchRow:
    timeout = timedelta(seconds=work.ladder.accept_timeout_s)
    dispatch = DispatchRow(
        id=new_id(),
        alert_id=work.alert.id,
        responder_id=responder_id,
        status=DispatchStatus.PENDING.value,
        created_at=work.now,
        created_by=actor,
        accept_by=work.now + timeout,
        note=note[:200] if note else None,
    )
    work.put(dispatch)
    work.set_deadline(f"{ACCEPT_PREFIX}{dispatch.id}", work.now + timeout)
    work.notify(
        responder_id,
        f"dispatch: {work.alert.kind} alert in home {work.alert.home}; "
        f"accept within {timeout.total_seconds():g} s",
        None,
        dispatch.id,
    )
    return dispatch


def _escalate_command(work: _Work, event: Escalate) -> tuple[Case, list[Action]]:
    _refuse_resolved(work, "escalate")
    reason = _with_note(f"escalated by {event.actor}", event.reason)
    if not _escalate(work, event.actor, reason, work.now):
        raise IllegalTransitionError(
            f"alert {work.alert.id} is already at the top of its ladder "
            f"(level {work.alert.escalation_level})",
            alert_status=work.status,
            escalation_level=work.alert.escalation_level,
        )
    return work.finish("escalated")


def _reassign(work: _Work, event: Reassign) -> tuple[Case, list[Action]]:
    _refuse_resolved(work, "reassign")
    if work.alert.assignee == event.assignee:
        raise IllegalTransitionError(
            f"alert {work.alert.id} is already assigned to {event.assignee}",
            alert_status=work.status,
            assignee=event.assignee,
        )
    before = work.alert.assignee
    work.alert = replace(work.alert, assignee=event.assignee)
    reason = _with_note(f"assigned to {event.assignee} (was {before})", event.note)
    work.record(event.actor, "reassign", reason)
    return work.finish("reassigned")


def _resolve(work: _Work, event: Resolve) -> tuple[Case, list[Action]]:
    _refuse_resolved(work, "resolve")
    for dispatch in list(work.dispatches.values()):
        if dispatch.status in LIVE_DISPATCH:
            work.put(replace(dispatch, status=DispatchStatus.CANCELLED.value, ended_at=work.now))
            work.notify(
                dispatch.responder_id,
                f"cancelled: the alert was resolved ({event.outcome.value})",
                None,
                dispatch.id,
            )
    work.deadlines.clear()
    work.alert = replace(
        work.alert,
        resolved_at=work.now,
        resolved_by=event.actor,
        outcome=event.outcome.value,
        resolution_note=event.note[:500] if event.note else None,
    )
    reason = _with_note(f"resolved: {event.outcome.value}", event.note)
    work.record(event.actor, "resolve", reason, "resolved")
    return work.finish("resolved")


# -- responders --------------------------------------------------------------------------------


def _responder_answer(
    work: _Work, event: Accept | Decline | Arrive, new_id: Callable[[], UUID]
) -> tuple[Case, list[Action]]:
    dispatch = work.dispatches.get(event.dispatch_id)
    if dispatch is None:
        raise InvalidCommandError(
            f"dispatch {event.dispatch_id} does not belong to alert {work.alert.id}"
        )
    verb = {Accept: "accept", Decline: "decline", Arrive: "arrive"}[type(event)]
    allowed = {DispatchStatus.PENDING.value} if isinstance(event, Accept) else set(LIVE_DISPATCH)
    if dispatch.status not in allowed:
        raise IllegalTransitionError(
            f"cannot {verb} dispatch {dispatch.id}: it is {dispatch.status}",
            alert_status=work.status,
            dispatch_status=dispatch.status,
        )
    work.drop_deadline(f"{ACCEPT_PREFIX}{dispatch.id}")
    who = dispatch.responder_id
    if isinstance(event, Accept):
        work.put(replace(dispatch, status=DispatchStatus.ACCEPTED.value, accepted_at=work.now))
        work.record(event.actor, "accept", f"{who} accepted")
    elif isinstance(event, Arrive):
        work.put(
            replace(
                dispatch,
                status=DispatchStatus.ARRIVED.value,
                accepted_at=dispatch.accepted_at or work.now,
                arrived_at=work.now,
            )
        )
        work.record(event.actor, "arrive", f"{who} arrived")
    else:
        work.put(
            replace(
                dispatch,
                status=DispatchStatus.DECLINED.value,
                declined_at=work.now,
                ended_at=work.now,
            )
        )
        work.record(event.actor, "decline", _with_note(f"{who} declined", event.reason))
        _replace_responder(work, dispatch, new_id, "declined")
    return work.finish("dispatch")


def _accept_timeout(
    work: _Work, event: AcceptTimeout, new_id: Callable[[], UUID]
) -> tuple[Case, list[Action]]:
    dispatch = work.dispatches.get(event.dispatch_id)
    if dispatch is None or dispatch.status != DispatchStatus.PENDING.value:
        return work.finish(None)
    _pass_over(work, dispatch, f"did not accept within {work.ladder.accept_timeout_s:g} s")
    _replace_responder(work, dispatch, new_id, "passed over")
    return work.finish("dispatch")


def _pass_over(work: _Work, dispatch: DispatchRow, why: str) -> None:
    work.put(replace(dispatch, status=DispatchStatus.PASSED_OVER.value, ended_at=work.now))
    work.drop_deadline(f"{ACCEPT_PREFIX}{dispatch.id}")
    work.record(SYSTEM, "pass_over", f"{dispatch.responder_id} passed over: {why}")


def _replace_responder(
    work: _Work, gone: DispatchRow, new_id: Callable[[], UUID], why: str
) -> None:
    """Send the next responder of the same kind in place of ``gone``; escalate if there is none."""
    if work.status == AlertStatus.RESOLVED.value:
        return
    kind = work.kinds.get(gone.responder_id, "")
    asked = {d.responder_id for d in work.dispatches.values()}
    candidate = next_candidate(work.case.roster, kind, asked, work.now)
    if candidate is None:
        what = kind or "responder"
        _escalate_or_record(work, f"no other {what} to send: {gone.responder_id} {why}")
        return
    work.kinds[candidate.id] = candidate.kind
    _send(work, candidate.id, SYSTEM, new_id, None)
    work.record(SYSTEM, "dispatch", f"dispatched {candidate.id} in place of {gone.responder_id}")


def _notification_failed(
    work: _Work, event: NotificationFailed, new_id: Callable[[], UUID]
) -> tuple[Case, list[Action]]:
    if work.status == AlertStatus.RESOLVED.value:
        return work.case, []
    work.record(SYSTEM, "notification_failed", f"to {event.recipient}: {event.error}")
    dispatch = work.dispatches.get(event.dispatch_id) if event.dispatch_id else None
    if dispatch is not None:
        if dispatch.status == DispatchStatus.PENDING.value:
            _pass_over(work, dispatch, "could not be notified")
            _replace_responder(work, dispatch, new_id, "could not be notified")
    elif event.level is not None and event.level == work.alert.escalation_level:
        _escalate_or_record(work, f"notification to {event.recipient} failed")
    return work.finish("notification_failed")


def _with_note(text: str, note: str | None) -> str:
    return f"{text}: {note}" if note else text


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else "?"


def status_rank(status: str) -> int:
    """Return how far along ``status`` is (open 0 to resolved 3)."""
    return _ORDER[status]
