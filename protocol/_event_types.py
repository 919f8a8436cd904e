"""Event types and the life-safety set, apart from the pydantic models of their data."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LIFE_SAFETY_TYPES", "EventType"]


class EventType(StrEnum):
    """The ``type`` of an event envelope."""

    CONTACT = "contact"
    MOTION = "motion"
    PRESENCE = "presence"
    BED = "bed"
    SMOKE = "smoke"
    GAS = "gas"
    WATER_LEAK = "water_leak"
    SOS = "sos"
    FALL = "fall"
    VITALS = "vitals"
    LOCATION = "location"
    BATTERY = "battery"
    TAMPER = "tamper"
    DEVICE_STATUS = "device_status"


#: Types that may never be dropped, delayed by rate limits, or evicted from an outbox.
LIFE_SAFETY_TYPES: frozenset[EventType] = frozenset(
    {EventType.SOS, EventType.FALL, EventType.SMOKE, EventType.GAS}
)
