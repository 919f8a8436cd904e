"""Response schemas of the API, kept apart from storage rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backend.alerts import (
    AlertChange,
    AlertKind,
    AlertStatus,
    ChangeKind,
    DispatchRow,
    DispatchStatus,
    NotificationRow,
    Outcome,
)
from backend.storage import AlertRow, EventRow, HomeRow, TransitionRow

__all__ = [
    "AlertDetailOut",
    "AlertOut",
    "AlertPage",
    "DispatchOut",
    "EventOut",
    "EventPage",
    "HealthOut",
    "HomeOut",
    "NotificationOut",
    "SequenceOut",
    "StreamAlertMessage",
    "TransitionOut",
]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AlertOut(_Out):
    id: UUID
    home: str
    kind: AlertKind
    priority: int
    status: AlertStatus
    escalation_level: int
    opened_at: datetime
    updated_at: datetime
    trigger_count: int
    first_event_id: UUID
    last_event_id: UUID
    #: Rises with every change of the alert.
    version: int = 0
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: Outcome | None = None
    resolution_note: str | None = None

    @classmethod
    def from_row(cls, row: AlertRow) -> Self:
        return cls(
            id=row.id,
            home=row.home,
            kind=AlertKind(row.kind),
            priority=row.priority,
            status=AlertStatus(row.status),
            escalation_level=row.escalation_level,
            opened_at=row.opened_at,
            updated_at=row.updated_at,
            trigger_count=row.trigger_count,
            first_event_id=row.first_event_id,
            last_event_id=row.last_event_id,
            version=row.version,
            assignee=row.assignee,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            dispatched_at=row.dispatched_at,
            resolved_at=row.resolved_at,
            resolved_by=row.resolved_by,
            outcome=Outcome(row.outcome) if row.outcome else None,
            resolution_note=row.resolution_note,
        )


class AlertPage(_Out):
    """One page of alerts; ``total`` counts every alert the filters select."""

    items: list[AlertOut]
    total: int
    limit: int
    offset: int


class TransitionOut(_Out):
    """One entry of an alert's audit trail: who did what, when, and why."""

    at: datetime
    actor: str
    action: str | None = None
    from_status: AlertStatus | None
    to_status: AlertStatus
    escalation_level: int | None = None
    reason: str

    @classmethod
    def from_row(cls, row: TransitionRow) -> Self:
        return cls(
            at=row.at,
            actor=row.actor,
            action=row.action,
            from_status=AlertStatus(row.from_status) if row.from_status else None,
            to_status=AlertStatus(row.to_status),
            escalation_level=row.escalation_level,
            reason=row.reason,
        )


class DispatchOut(_Out):
    """A responder sent to an alert."""

    id: UUID
    alert_id: UUID
    responder_id: str
    status: DispatchStatus
    created_at: datetime
    created_by: str
    accept_by: datetime | None
    accepted_at: datetime | None
    declined_at: datetime | None
    arrived_at: datetime | None
    ended_at: datetime | None
    note: str | None

    @classmethod
    def from_row(cls, row: DispatchRow) -> Self:
        return cls(
            id=row.id,
            alert_id=row.alert_id,
            responder_id=row.responder_id,
            status=DispatchStatus(row.status),
            created_at=row.created_at,
            created_by=row.created_by,
            accept_by=row.accept_by,
            accepted_at=row.accepted_at,
            declined_at=row.declined_at,
            arrived_at=row.arrived_at,
            ended_at=row.ended_at,
            note=row.note,
        )


class NotificationOut(_Out):
    """A notification about an alert; ``status`` is pending, delivered or failed."""

    id: UUID
    dispatch_id: UUID | None
    recipient: str
    channel: str
    status: str
    attempts: int
    reason: str
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: NotificationRow) -> Self:
        return cls(
            id=row.id,
            dispatch_id=row.dispatch_id,
            recipient=row.recipient,
            channel=row.channel,
            status=row.status,
            attempts=row.attempts,
            reason=row.reason,
            last_error=row.last_error,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class EventOut(_Out):
    id: UUID
    home: str
    device: str
    type: str
    at: datetime
    received_at: datetime
    seq: int
    room: str | None
    data: dict[str, Any]

    @classmethod
    def from_row(cls, row: EventRow) -> Self:
        return cls(
            id=row.id,
            home=row.home,
            device=row.device,
            type=row.type,
            at=row.at,
            received_at=row.received_at,
            seq=row.seq,
            room=row.room,
            data=row.data,
        )


class EventPage(_Out):
    items: list[EventOut]
    limit: int
    offset: int


class SequenceOut(_Out):
    """The gateway's event numbering: how many events it sent that have not arrived."""

    high: int
    missing: int
    missing_ranges: list[tuple[int, int]]
    resets: int

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Self:
        ranges = [(int(a), int(b)) for a, b in doc.get("missing", [])]
        return cls(
            high=int(doc["high"]),
            missing=sum(b - a + 1 for a, b in ranges) + int(doc.get("forgotten", 0)),
            missing_ranges=ranges,
            resets=int(doc.get("resets", 0)),
        )


class HomeOut(_Out):
    """What the backend knows of a home's gateway (residents come with the care records)."""

    id: str
    first_seen: datetime
    gateway_online: bool | None
    last_status_at: datetime | None
    devices: dict[str, dict[str, Any]]
    sequence: SequenceOut | None

    @classmethod
    def from_row(cls, row: HomeRow) -> Self:
        status = row.last_status or {}
        devices = status.get("devices")
        return cls(
            id=row.id,
            first_seen=row.first_seen,
            gateway_online=row.gateway_online,
            last_status_at=row.last_status_at,
            devices=devices if isinstance(devices, dict) else {},
            sequence=SequenceOut.from_doc(row.sequence) if row.sequence else None,
        )


class AlertDetailOut(AlertOut):
    """An alert with its timeline, triggering events, dispatches and notifications."""

    transitions: list[TransitionOut]
    events: list[EventOut]
    dispatches: list[DispatchOut] = []
    notifications: list[NotificationOut] = []
    #: How many of its notifications failed for good.
    failed_notifications: int = 0


class StreamAlertMessage(_Out):
    """One message of ``WS /stream``: an alert change, or (``type`` "dispatch") a dispatch change.

    ``dispatches`` holds the dispatches the change created or changed; ``actor`` and
    ``action`` say who did what (both ``None`` for triggers).
    """

    type: Literal["alert", "dispatch"] = "alert"
    change: ChangeKind
    event_id: UUID
    alert: AlertOut
    dispatches: list[DispatchOut] = []
    actor: str | None = None
    action: str | None = None

    @classmethod
    def from_change(cls, change: AlertChange) -> Self:
        return cls(
            type="dispatch" if change.change == "dispatch" else "alert",
            change=change.change,
            event_id=change.event_id,
            alert=AlertOut.from_row(change.alert),
            dispatches=[DispatchOut.from_row(d) for d in change.dispatches],
            actor=change.actor,
            action=change.action,
        )


class HealthOut(_Out):
    status: Literal["ok"]
    mqtt_connected: bool | None = None
