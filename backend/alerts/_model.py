"""Alert vocabulary: kinds, priorities, statuses, and the trigger a detector emits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from uuid import UUID

__all__ = [
    "LIVE_DISPATCH",
    "PRIORITY_OF",
    "AlertKind",
    "AlertStatus",
    "DispatchRow",
    "DispatchStatus",
    "NotificationRow",
    "Outcome",
    "Priority",
    "Trigger",
]


class AlertKind(StrEnum):
    SOS = "sos"
    FALL = "fall"
    FALL_SUSPECTED = "fall_suspected"
    SMOKE = "smoke"
    GAS = "gas"
    WATER_LEAK = "water_leak"
    INACTIVITY = "inactivity"
    WANDERING = "wandering"
    GEOFENCE = "geofence"
    VITALS = "vitals"
    DEVICE_OFFLINE = "device_offline"
    GATEWAY_OFFLINE = "gateway_offline"
    LOW_BATTERY = "low_battery"
    TAMPER = "tamper"


class Priority(IntEnum):
    LIFE_THREATENING = 1
    URGENT = 2
    MAINTENANCE = 3


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """How a resolved alert ended."""

    GENUINE_EMERGENCY = "genuine_emergency"
    FALSE_ALARM = "false_alarm"
    RESIDENT_OK_AFTER_CALL = "resident_ok_after_call"
    TEST = "test"
    DEVICE_FAULT = "device_fault"


class DispatchStatus(StrEnum):
    """A responder sent to an alert: pending until accepted (or declined, passed over,
    cancelled), then arrived."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    PASSED_OVER = "passed_over"
    CANCELLED = "cancelled"
    ARRIVED = "arrived"


#: Dispatches still under way: the responder may yet accept, or is on the way.
LIVE_DISPATCH = frozenset({DispatchStatus.PENDING.value, DispatchStatus.ACCEPTED.value})


#: The default priority of each kind (design.md); ``vitals`` is raised to 1 when critical.
PRIORITY_OF: dict[AlertKind, Priority] = {
    AlertKind.SOS: Priority.LIFE_THREATENING,
    AlertKind.FALL: Priority.LIFE_THREATENING,
    AlertKind.SMOKE: Priority.LIFE_THREATENING,
    AlertKind.GAS: Priority.LIFE_THREATENING,
    AlertKind.VITALS: Priority.URGENT,
    AlertKind.FALL_SUSPECTED: Priority.URGENT,
    AlertKind.INACTIVITY: Priority.URGENT,
    AlertKind.WANDERING: Priority.URGENT,
    AlertKind.GEOFENCE: Priority.URGENT,
    AlertKind.WATER_LEAK: Priority.URGENT,
    AlertKind.GATEWAY_OFFLINE: Priority.URGENT,
    AlertKind.DEVICE_OFFLINE: Priority.MAINTENANCE,
    AlertKind.LOW_BATTERY: Priority.MAINTENANCE,
    AlertKind.TAMPER: Priority.MAINTENANCE,
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """A detector's finding that an alert of ``kind`` is due in ``home``, caused by one event."""

    home: str
    kind: AlertKind
    priority: Priority
    event_id: UUID
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class DispatchRow:
    """A responder sent to an alert (table ``dispatches``)."""

    id: UUID
    alert_id: UUID
    responder_id: str
    status: str
    created_at: datetime
    created_by: str
    accept_by: datetime | None
    accepted_at: datetime | None = None
    declined_at: datetime | None = None
    arrived_at: datetime | None = None
    ended_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NotificationRow:
    """One notification about an alert and how its delivery went (table ``notifications``)."""

    id: UUID
    alert_id: UUID
    dispatch_id: UUID | None
    recipient: str
    channel: str
    status: str
    attempts: int
    reason: str
    last_error: str | None
    created_at: datetime
    updated_at: datetime
