"""Directory rows as read from the database; API schemas are kept apart from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["AuditRow", "ContactRow", "HomeEntryRow", "ResidentRow", "ResponderRow"]


@dataclass(frozen=True, slots=True)
class HomeEntryRow:
    """A home's directory fields beside what its gateway last said."""

    id: str
    label: str | None
    address: str | None
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
