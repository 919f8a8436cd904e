"""The vocabulary the detectors share: timers, deadlines and findings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from backend.alerts import AlertKind, Priority

__all__ = ["CLEARABLE", "Clear", "Deadline", "Finding", "Timer"]

#: Maintenance kinds that resolve themselves when their condition clears. Life-safety and
#: urgent resident alerts are never closed automatically.
CLEARABLE: frozenset[AlertKind] = frozenset(
    {AlertKind.DEVICE_OFFLINE, AlertKind.GATEWAY_OFFLINE, AlertKind.LOW_BATTERY, AlertKind.TAMPER}
)


@dataclass(frozen=True, slots=True)
class Timer:
    """A pending deadline of one home: absolute time, a token against stale firings, its cause."""

    due: datetime
    token: int
    cause: UUID | None = None


@dataclass(frozen=True, slots=True)
class Deadline:
    """A timer as the scheduler sees it; it fires once, and only while its token is current."""

    home: str
    name: str
    due: datetime
    token: int


@dataclass(frozen=True, slots=True)
class Finding:
    """A detector's conclusion that an alert of ``kind`` is due.

    ``event_id`` is the triggering event, or ``None`` when a deadline fired; ``cause`` is
    then the event that armed it, if any (the alert links to it).
    """

    home: str
    kind: AlertKind
    priority: Priority
    at: datetime
    reason: str
    event_id: UUID | None
    cause: UUID | None = None
    detector: str = ""
    action: Literal["raise", "clear"] = "raise"


def Clear(home: str, kind: AlertKind, at: datetime, reason: str, detector: str) -> Finding:  # noqa: N802
    """Return a finding that resolves the open maintenance alert of ``kind``."""
    return Finding(home, kind, Priority.MAINTENANCE, at, reason, None, None, detector, "clear")
