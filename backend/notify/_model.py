"""What the alert lifecycle asks of notification delivery, and what it hears back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from uuid import UUID

__all__ = [
    "DeliveryResult",
    "FailureCallback",
    "NotificationRequest",
    "Notifier",
]


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """One message to one recipient about one alert.

    ``recipient`` is a responder id, or a role queue such as ``queue:operator``. The message
    carries the alert's facts (kind, priority, home id, status), never a resident's personal
    data: a recipient who needs those reads them through the API, which audits the read.
    """

    id: UUID
    alert_id: UUID
    recipient: str
    reason: str
    kind: str
    priority: int
    home: str
    status: str
    escalation_level: int
    created_at: datetime
    dispatch_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How a notification ended: delivered, or failed after its retries."""

    request: NotificationRequest
    status: Literal["delivered", "failed"]
    channel: str
    attempts: int
    error: str | None = None


FailureCallback = Callable[[DeliveryResult], Awaitable[None]]


class Notifier(Protocol):
    """Delivers notifications in the background and records every attempt."""

    def submit(self, requests: list[NotificationRequest]) -> None:
        """Queue ``requests`` (already committed as pending rows) for delivery; never block."""
        ...
