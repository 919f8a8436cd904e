"""The typed schema of a device profile.

A profile is data only: it says how a device is matched, which source field
becomes which canonical field (with inversion, scale and value maps), and how
the device is supervised. It never holds code.

The schema is made of msgspec structs, not pydantic models: the gateway loads
its profiles on a Raspberry Pi, and msgspec validates them at a small fraction
of pydantic's memory (docs/gateway.md, "Performance").
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from msgspec import Meta, Struct, field

from protocol import LIFE_SAFETY_TYPES, EventType

__all__ = [
    "BatteryFilter",
    "Condition",
    "EventRule",
    "Example",
    "FieldMap",
    "Filters",
    "Power",
    "Profile",
    "SourceKind",
    "Supervision",
    "Trigger",
]

Scalar = str | int | float | bool | None
_Key = Annotated[str, Meta(min_length=1)]


class _Strict(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Immutable, and unknown keys are an error."""


class SourceKind(StrEnum):
    """Where a device's readings come from."""

    ZIGBEE2MQTT = "zigbee2mqtt"
    SERIAL = "serial"
    RTL_433 = "rtl_433"


class Power(StrEnum):
    BATTERY = "battery"
    MAINS = "mains"


class Trigger(StrEnum):
    """How a rule's output is forwarded.

    ``state``: only when the mapped data differs from the last forwarded value,
    because Zigbee2MQTT republishes a device's whole cached state on every report.
    ``momentary``: every matching report is an event (a button press).
    """

    STATE = "state"
    MOMENTARY = "momentary"


class Condition(_Strict, frozen=True, kw_only=True):
    """A rule fires only for payloads whose ``key`` equals, or is one of, the given values."""

    key: _Key
    equals: Scalar = None
    one_of: list[Scalar] | None = field(default=None, name="in")

    def __post_init__(self) -> None:
        if (self.equals is None) == (self.one_of is None):
            raise ValueError("a condition needs exactly one of 'equals' or 'in'")
        if self.one_of is not None and not self.one_of:
            raise ValueError("'in' needs at least one value")

    @property
    def values(self) -> tuple[Scalar, ...]:
        return (self.equals,) if self.one_of is None else tuple(self.one_of)


class FieldMap(_Strict, frozen=True, kw_only=True):
    """How one canonical data field is obtained: from a source key, or a constant.

    A missing source key skips the rule, unless the field has a ``default`` or is
    ``optional`` (then the field is null: some firmware omits, say, ``battery``).
    """

    key: _Key | None = None
    value: Scalar = None
    invert: bool = False
    scale: float | None = None
    offset: float | None = None
    to_int: bool = False
    below: float | None = None
    map: dict[str, Scalar] | None = None
    default: Scalar = None
    optional: bool = False

    def __post_init__(self) -> None:
        if (self.key is None) == (self.value is None):
            raise ValueError("a field needs exactly one of 'key' or 'value'")
        if self.value is not None and (
            self.invert
            or self.scale is not None
            or self.offset is not None
            or self.map
            or self.below is not None
        ):
            raise ValueError("a constant 'value' takes no invert, scale, offset or map")
        if self.below is not None and (self.invert or self.map):
            raise ValueError("'below' compares a number; it takes no invert or map")
        if self.invert and (self.scale is not None or self.offset is not None):
            raise ValueError("'invert' is for booleans; it cannot be combined with scale/offset")
        if self.optional and (self.value is not None or self.default is not None):
            raise ValueError("'optional' is for a source key without a default")


class EventRule(_Strict, frozen=True, kw_only=True):
    """One canonical event a device can produce."""

    type: EventType
    trigger: Trigger = Trigger.STATE
    when: Condition | None = None
    data: dict[str, FieldMap]


class Supervision(_Strict, frozen=True, kw_only=True):
    """How long silence may last before the device counts as offline.

    ``checkin_s`` is null for sensors that send no heartbeat (many 433 MHz ones):
    their death cannot be seen, only their silence after a test press.
    """

    checkin_s: Annotated[int, Meta(gt=0)] | None
    offline_after_s: Annotated[int, Meta(gt=0)] | None = None

    def __post_init__(self) -> None:
        if self.offline_after_s is not None and self.checkin_s is None:
            raise ValueError("offline_after_s needs checkin_s")
        if (
            self.offline_after_s is not None
            and self.checkin_s is not None
            and self.offline_after_s < self.checkin_s
        ):
            raise ValueError("offline_after_s must be at least checkin_s")


class BatteryFilter(_Strict, frozen=True, kw_only=True):
    """When a battery reading is worth an event: a real change, or a slow periodic report."""

    #: Forward when the percentage moved by at least this many points.
    min_change: Annotated[int, Meta(ge=1, le=100)] = 5
    #: Otherwise forward at most once per this many seconds (a daily sign of life).
    report_every_s: Annotated[int, Meta(gt=0)] = 86_400


class Filters(_Strict, frozen=True, kw_only=True):
    """How the gateway thins a device's readings before they are stored.

    None of these ever delays or drops a life-safety reading (sos, fall, smoke,
    gas) except an exact radio repeat of the same transmission.
    """

    #: Chatter suppression: after a forwarded reading of a type, later readings of
    #: that type are held until the device has been quiet this long; then the
    #: settled (latest) value is forwarded if it differs from the last one sent.
    debounce_s: Annotated[float, Meta(ge=0, le=3600)] = 0.0
    #: Per-type rate limit: at most one reading of the type per interval; the
    #: latest held value is forwarded when the interval ends, so no final state is lost.
    min_interval_s: dict[EventType, Annotated[float, Meta(gt=0, le=86_400)]] = field(
        default_factory=dict
    )
    battery: BatteryFilter = field(default_factory=BatteryFilter)
    #: Radio transmitters repeat each code several times per press: identical
    #: frames from one device closer together than this are one transmission.
    #: Null: 1 s for serial and rtl_433 sources, 0 for Zigbee2MQTT.
    repeat_window_s: Annotated[float, Meta(ge=0, le=10)] | None = None
    #: For PIRs that only ever say "motion": the gateway reports ``motion: false``
    #: after this long without a new detection, as Zigbee2MQTT's own timer does.
    occupancy_timeout_s: Annotated[int, Meta(gt=0, le=86_400)] | None = None

    def __post_init__(self) -> None:
        limited = sorted(str(t) for t in self.min_interval_s if t in LIFE_SAFETY_TYPES)
        if limited:
            raise ValueError(f"life-safety types are never rate limited: {', '.join(limited)}")


class Example(_Strict, frozen=True, kw_only=True):
    """A real payload and the events it must decode to; the registry test runs each."""

    note: str | None = None
    payload: dict[str, Any] | None = None
    frame_hex: str | None = None
    line: str | None = None
    expect: list[dict[str, Any]]


class Profile(_Strict, frozen=True, kw_only=True):
    """A device model: how to match it, decode it and supervise it."""

    id: Annotated[str, Meta(pattern=r"^[a-z0-9_]+\Z")]
    vendor: str
    model: str
    description: str
    source: SourceKind
    framing: str | None = None
    models: list[str] = field(default_factory=list)
    power: Power
    life_safety: bool = False
    supervision: Supervision
    events: Annotated[list[EventRule], Meta(min_length=1)]
    health: dict[str, FieldMap] = field(default_factory=dict)
    filters: Filters = field(default_factory=Filters)
    examples: Annotated[list[Example], Meta(min_length=1)]

    def __post_init__(self) -> None:
        if self.source is SourceKind.SERIAL and not self.framing:
            raise ValueError("a serial profile must name its framing")
        if self.source is not SourceKind.SERIAL and self.framing:
            raise ValueError("only serial profiles take a framing")
        if self.filters.occupancy_timeout_s is not None and EventType.MOTION not in {
            rule.type for rule in self.events
        }:
            raise ValueError("filters.occupancy_timeout_s needs a motion rule")

    @property
    def repeat_window_s(self) -> float:
        """Return the window within which identical radio frames are one transmission."""
        if self.filters.repeat_window_s is not None:
            return self.filters.repeat_window_s
        return 0.0 if self.source is SourceKind.ZIGBEE2MQTT else 1.0

    @property
    def event_types(self) -> frozenset[EventType]:
        return frozenset(rule.type for rule in self.events)
