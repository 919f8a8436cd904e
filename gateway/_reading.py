"""The normalized reading that filters, supervision and the outbox share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from protocol import EventType

__all__ = ["Reading"]


@dataclass(frozen=True, slots=True)
class Reading:
    """A normalized event, ready for the outbox."""

    device_id: str
    type: EventType
    data: dict[str, Any]
    at: datetime
    room: str | None = None
