"""When a responder is on duty: a list of weekly windows of local time, or always.

The shape, as stored in ``responders.availability`` (JSON) and written in seed files::

    [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00", "tz": "Asia/Shanghai"}]

``days`` are weekdays, Monday = 0 to Sunday = 6, and name the day a window *starts*. A window
whose ``end`` is not after its ``start`` runs past midnight into the next day ("20:00" to
"08:00"); "00:00" to "24:00" is the whole day. ``null`` (``None``) means always available,
an empty list never.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

__all__ = ["Availability", "OnDutyWindow", "is_available", "parse_availability"]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


class OnDutyWindow(BaseModel):
    """One weekly on-duty window in a time zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: Annotated[tuple[Annotated[int, Field(ge=0, le=6)], ...], Field(min_length=1)]
    start: str
    end: str
    tz: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str, info: ValidationInfo) -> str:
        if not _CLOCK.match(value) or (info.field_name == "start" and value == "24:00"):
            raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 24:00)")
        return value

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown IANA time zone {value!r}") from err
        return value

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("start") == value:
            raise ValueError("start and end are equal; use 00:00 to 24:00 for the whole day")
        return value

    def contains(self, moment: datetime) -> bool:
        """Tell whether ``moment`` (aware) falls inside this window."""
        local = moment.astimezone(ZoneInfo(self.tz))
        minute = local.hour * 60 + local.minute
        start, end = _minutes(self.start), _minutes(self.end)
        if start < end:
            return local.weekday() in self.days and start <= minute < end
        # Past midnight: the evening part belongs to today, the morning part to yesterday.
        if minute >= start:
            return local.weekday() in self.days
        yesterday = (local - timedelta(days=1)).weekday()
        return minute < end and yesterday in self.days


#: ``None`` is always available; otherwise on duty inside any of the windows.
Availability = tuple[OnDutyWindow, ...] | None

_ADAPTER: TypeAdapter[tuple[OnDutyWindow, ...] | None] = TypeAdapter(
    tuple[OnDutyWindow, ...] | None
)


def parse_availability(doc: Any) -> Availability:
    """Validate a stored or seeded availability document; raise ``ValueError`` naming the fault."""
    try:
        return _ADAPTER.validate_python(doc)
    except ValidationError as err:
        raise ValueError(f"availability: {err.errors()[0]['msg']} at {_where(err)}") from err


def _where(err: ValidationError) -> str:
    loc = err.errors()[0].get("loc", ())
    return "/".join(str(part) for part in loc) or "(top)"


def is_available(availability: Sequence[OnDutyWindow] | None, moment: datetime) -> bool:
    """Tell whether a responder with ``availability`` is on duty at ``moment``."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    if availability is None:
        return True
    return any(w.contains(moment) for w in availability)
