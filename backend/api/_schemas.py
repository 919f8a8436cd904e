"""Response schemas of the API, kept apart from storage rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from backend.alerts import AlertChange, AlertKind, AlertStatus
from backend.storage import AlertRow, EventRow, HomeRow, TransitionRow

__all__ = [
    "AlertDetailOut",
    "AlertOut",
    "AlertPage",
    "EventOut",
    "EventPage",
    "HealthOut",
    "HomeOut",
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
        )


class AlertPage(_Out):
    items: list[AlertOut]
    limit: int
    offset: int


class TransitionOut(_Out):
    at: datetime
    actor: str
    from_status: AlertStatus | None
    to_status: AlertStatus
    reason: str

    @classmethod
    def from_row(cls, row: TransitionRow) -> Self:
        return cls(
            at=row.at,
            actor=row.actor,
            from_status=AlertStatus(row.from_status) if row.from_status else None,
            to_status=AlertStatus(row.to_status),
            reason=row.reason,
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
    transitions: list[TransitionOut]
    events: list[EventOut]


class StreamAlertMessage(_Out):
    """One message of ``WS /stream``."""

    type: Literal["alert"] = "alert"
    change: Literal["opened", "attached", "resolved"]
    event_id: UUID
    alert: AlertOut

    @classmethod
    def from_change(cls, change: AlertChange) -> Self:
        return cls(
            change=change.change, event_id=change.event_id, alert=AlertOut.from_row(change.alert)
        )


class HealthOut(_Out):
    status: Literal["ok"]
    mqtt_connected: bool | None = None
