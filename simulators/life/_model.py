"""The cohort's vocabulary: kits of sensors, residents' personas and ground-truth incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from protocol import EventType

__all__ = [
    "ROOMS",
    "DeviceSpec",
    "Incident",
    "Kit",
    "Persona",
    "kit_devices",
]

#: The canonical rooms of a simulated home, shared with the default care plan.
ROOMS: tuple[str, ...] = ("bedroom", "bathroom", "kitchen", "living", "entrance", "hall")


class Kit(StrEnum):
    """How well a home is equipped with activity sensors."""

    #: A PIR in every room, both door magnets, bed and mattress vitals, radar in bathroom and
    #: living room, a wearable watch, smoke, gas and water-leak detectors.
    FULL = "full"
    #: PIRs in bedroom, bathroom, kitchen and living room, both doors, bed, seat, smoke, gas.
    PARTIAL = "partial"
    #: Only a bed pressure sensor, a seat pressure sensor and the front door magnet for
    #: activity, plus the life-safety base every install has (a pendant and a smoke alarm).
    MINIMAL = "minimal"


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One sensor of a home: its id, the event type it reports, its room and power."""

    device: str
    type: EventType
    room: str | None
    battery: bool


def kit_devices(kit: Kit, *, watch: bool, gas: bool) -> tuple[DeviceSpec, ...]:
    """Return the sensors of a home with ``kit``; ``watch`` and ``gas`` add those devices."""
    devices = [
        DeviceSpec("door_front", EventType.CONTACT, "entrance", battery=True),
        DeviceSpec("bed", EventType.BED, "bedroom", battery=False),
        DeviceSpec("pendant", EventType.SOS, None, battery=True),
        DeviceSpec("smoke_kitchen", EventType.SMOKE, "kitchen", battery=True),
    ]
    if kit is Kit.FULL:
        devices += [
            DeviceSpec(f"pir_{room}", EventType.MOTION, room, battery=True) for room in ROOMS
        ]
        devices += [
            DeviceSpec("door_bathroom", EventType.CONTACT, "bathroom", battery=True),
            DeviceSpec("bed_vitals", EventType.VITALS, "bedroom", battery=False),
            DeviceSpec("radar_bathroom", EventType.PRESENCE, "bathroom", battery=False),
            DeviceSpec("radar_living", EventType.PRESENCE, "living", battery=False),
            DeviceSpec("leak_bathroom", EventType.WATER_LEAK, "bathroom", battery=True),
        ]
    elif kit is Kit.PARTIAL:
        devices += [
            DeviceSpec(f"pir_{room}", EventType.MOTION, room, battery=True)
            for room in ("bedroom", "bathroom", "kitchen", "living")
        ]
        devices += [
            DeviceSpec("door_bathroom", EventType.CONTACT, "bathroom", battery=True),
            DeviceSpec("seat_living", EventType.PRESENCE, "living", battery=True),
        ]
    else:
        devices.append(DeviceSpec("seat_living", EventType.PRESENCE, "living", battery=True))
    if gas and kit is not Kit.MINIMAL:
        devices.append(DeviceSpec("gas_kitchen", EventType.GAS, "kitchen", battery=False))
    if watch:
        devices.append(DeviceSpec("watch", EventType.LOCATION, None, battery=False))
    return tuple(devices)


@dataclass(frozen=True, slots=True)
class Persona:
    """One simulated resident: routine parameters, flags and the home's kit.

    Times of day are minutes after local midnight; ``bed_min`` past 1440 means after
    midnight (a late sleeper going to bed at 2 a.m. has 1560).
    """

    home: str
    kit: Kit
    wake_min: float
    bed_min: float
    lunch_min: float
    dinner_min: float
    dementia: bool
    late_sleeper: bool
    sitter: bool
    bather: bool
    homebound: bool
    wears_watch: bool
    has_gas: bool
    night_toilet_rate: float
    insomnia_prob: float
    nap_prob: float
    #: Mean gap (s) between PIR triggers while the resident sits watching TV.
    sit_gap_s: float
    #: Mean gap (s) between bedroom PIR triggers in bed; ``None``: the PIR does not see the bed.
    sleep_gap_s: float | None
    carer_days: tuple[int, ...]
    carer_min: float
    heart_rate: int
    respiration: int
    lat: float
    lon: float
    geofence: str | None
    geofence_radius_m: float

    @property
    def devices(self) -> tuple[DeviceSpec, ...]:
        """Return the home's sensors."""
        return kit_devices(self.kit, watch=self.wears_watch, gas=self.has_gas)


@dataclass(frozen=True, slots=True)
class Incident:
    """Ground truth: an alert of ``kind`` is due in ``home`` between ``onset`` and ``until``.

    ``accepts`` names other alert kinds this incident also explains (an inactivity alert
    during a fall that nobody has found yet is not a false alarm), without counting as
    detecting it.
    """

    home: str
    kind: str
    scenario: str
    onset: datetime
    until: datetime
    accepts: frozenset[str] = frozenset()

    def detected_by(self, kind: str, at: datetime) -> bool:
        """Tell whether an alert of ``kind`` raised at ``at`` detects this incident."""
        return kind == self.kind and self.onset <= at <= self.until

    def explains(self, kind: str, at: datetime) -> bool:
        """Tell whether an alert of ``kind`` at ``at`` is a true alarm for this incident."""
        return (kind == self.kind or kind in self.accepts) and self.onset <= at <= self.until
