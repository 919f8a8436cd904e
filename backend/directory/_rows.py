"""Directory rows as read from the database; API schemas are kept apart from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = [
    "AuditRow",
    "ContactRow",
    "HomeEntryRow",
    "HomeHealthRow",
    "ResidentRow",
    "ResponderRow",
    "ResponderTaskRow",
]


@dataclass(frozen=True, slots=True)
class HomeEntryRow:
    """A home's directory fields beside what its gateway last said."""

    id: str
    label: str | None
    address: str | None
    community: str | None
    first_seen: datetime
    gateway_online: bool | None
    last_status_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResidentRow:
    id: str
    home: str
    name: str
    birth_year: int | None
    phone: str | None
    language: str | None
    notes: str | None
    #: Health conditions, in the order given; empty when none are known.
    conditions: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ResponderRow:
    """A responder; ``channels`` are the stored documents, secrets included."""

    id: str
    name: str
    kind: str
    phone: str | None
    email: str | None
    channels: tuple[dict[str, Any], ...]
    availability: list[dict[str, Any]] | None
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A responder assigned to a home, with its rank there."""

    home: str
    rank: int
    relation: str | None
    responder: ResponderRow


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class HomeHealthRow:
    """A home's gateway state and last status, with the fields a board groups it by."""

    id: str
    label: str | None
    community: str | None
    gateway_online: bool | None
    last_status: dict[str, Any] | None
    last_status_at: datetime | None


@dataclass(frozen=True, slots=True)
class ResponderTaskRow:
    """A dispatch of a responder, with the alert it serves."""

    dispatch_id: UUID
    responder_id: str
    status: str
    created_at: datetime
    accepted_at: datetime | None
    arrived_at: datetime | None
    alert_id: UUID
    home: str
    kind: str
    priority: int
    alert_status: str
