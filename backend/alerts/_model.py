"""Alert vocabulary: kinds, priorities, statuses, and the trigger a detector emits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from uuid import UUID

__all__ = ["PRIORITY_OF", "AlertKind", "AlertStatus", "Priority", "Trigger"]


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
