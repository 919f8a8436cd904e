"""Event types and the typed ``data`` of each."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from protocol._event_types import LIFE_SAFETY_TYPES, EventType

__all__ = [
    "LIFE_SAFETY_TYPES",
    "AlarmData",
    "BatteryData",
    "BedData",
    "ContactData",
    "DeviceStatusData",
    "EventData",
    "EventType",
    "FallData",
    "LocationData",
    "MotionData",
    "PresenceData",
    "SosData",
    "TamperData",
    "VitalsData",
    "data_model_for",
]


def _number(value: Any) -> Any:
    # JSON numbers only: a bool or a numeric string is a wrong type, not a number.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")  # noqa: TRY004 - pydantic reports only ValueError
    if not math.isfinite(value):
        raise ValueError("must be finite")
    return float(value)


Number = Annotated[float, BeforeValidator(_number)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class ContactData(_Data):
    open: StrictBool


class MotionData(_Data):
    motion: StrictBool


class PresenceData(_Data):
    present: StrictBool


class BedData(_Data):
    occupied: StrictBool


class AlarmData(_Data):
    """Data of ``smoke``, ``gas`` and ``water_leak`` events."""

    alarm: StrictBool


class SosData(_Data):
    source: Literal["button", "pendant", "pull_cord", "wearable"]


class FallData(_Data):
    source: Literal["wearable", "radar"]
    confidence: Annotated[Number | None, Field(ge=0.0, le=1.0)] = None


class VitalsData(_Data):
    heart_rate: Annotated[StrictInt | None, Field(ge=0, le=300)] = None
    respiration_rate: Annotated[StrictInt | None, Field(ge=0, le=120)] = None


class LocationData(_Data):
    lat: Annotated[Number, Field(ge=-90.0, le=90.0)]
    lon: Annotated[Number, Field(ge=-180.0, le=180.0)]
    accuracy_m: Annotated[Number | None, Field(ge=0.0)] = None


class BatteryData(_Data):
    percent: Annotated[StrictInt | None, Field(ge=0, le=100)] = None
    low: StrictBool


class TamperData(_Data):
    tampered: StrictBool


class DeviceStatusData(_Data):
    online: StrictBool
    reason: Annotated[str, Field(max_length=200)]


EventData = (
    ContactData
    | MotionData
    | PresenceData
    | BedData
    | AlarmData
    | SosData
    | FallData
    | VitalsData
    | LocationData
    | BatteryData
    | TamperData
    | DeviceStatusData
)

_DATA_MODELS: dict[EventType, type[_Data]] = {
    EventType.CONTACT: ContactData,
    EventType.MOTION: MotionData,
    EventType.PRESENCE: PresenceData,
    EventType.BED: BedData,
    EventType.SMOKE: AlarmData,
    EventType.GAS: AlarmData,
    EventType.WATER_LEAK: AlarmData,
    EventType.SOS: SosData,
    EventType.FALL: FallData,
    EventType.VITALS: VitalsData,
    EventType.LOCATION: LocationData,
    EventType.BATTERY: BatteryData,
    EventType.TAMPER: TamperData,
    EventType.DEVICE_STATUS: DeviceStatusData,
}


def data_model_for(event_type: EventType) -> type[_Data]:
    """Return the model that validates the ``data`` of ``event_type``."""
    return _DATA_MODELS[event_type]
