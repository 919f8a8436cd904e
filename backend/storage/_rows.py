"""Rows as the store reads and writes them; API schemas are kept apart from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = [
    "AlertFilter",
    "AlertRow",
    "DeadLetterRow",
    "EventFilter",
    "EventRow",
    "HomeRow",
    "TransitionRow",
    "VisitRow",
]


@dataclass(frozen=True, slots=True)
class EventRow:
    id: UUID
    home: str
    device: str
    type: str
    at: datetime
    received_at: datetime
    seq: int
    room: str | None
    data: dict[str, Any]
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: UUID
    home: str
    kind: str
    priority: int
    status: str
    escalation_level: int
    opened_at: datetime
    updated_at: datetime
    trigger_count: int
    first_event_id: UUID
    last_event_id: UUID
    #: The lifecycle: ``version`` rises with every change (optimistic concurrency).
    version: int = 0
    assignee: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    dispatched_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    outcome: str | None = None
    resolution_note: str | None = None


@dataclass(frozen=True, slots=True)
class TransitionRow:
    alert_id: UUID
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason: str
    #: What happened (open, acknowledge, escalate, remind, ...); the status may stay the same.
    action: str | None = None
    escalation_level: int | None = None


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    at: datetime
    source: str
    topic: str | None
    reason: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class HomeRow:
    id: str
    first_seen: datetime
    gateway_online: bool | None
    last_status: dict[str, Any] | None
    last_status_at: datetime | None
    sequence: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts to list; ``None`` means any."""

    status: str | None = None
    home: str | None = None
    kind: str | None = None
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events of one home to list; ``since`` is inclusive, ``until`` exclusive."""

    home: str
    since: datetime | None = None
    until: datetime | None = None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class VisitRow:
    """A care visit: checked in at ``started_at``, out at ``ended_at`` (``None`` while on)."""

    id: UUID
    home: str
    started_at: datetime
    ended_at: datetime | None
    carer: str | None
    note: str | None
