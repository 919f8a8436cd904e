"""Care plans: per-resident detector settings, every one with a documented default.

A care plan is loaded per home from the backend config (``[[homes]]``) or from a seed file
(TOML, JSON or YAML with the same shape). Homes without one use ``default_care_plan``.
All times of day are local to the plan's ``timezone``. The seed file also lists each home's
label, address, residents and contacts, and the responders (see backend/directory).
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from backend.directory import DirectorySeed, HomeEntry, ResponderEntry, merge_seeds
from protocol.config import ConfigError

__all__ = [
    "CarePlan",
    "CarePlans",
    "Circle",
    "Geofence",
    "HomeSettings",
    "LearnedInactivity",
    "Polygon",
    "SeedFile",
    "TimeWindow",
    "VitalsLimits",
    "load_care_plans",
    "load_directory",
    "load_seed_file",
]

Minutes = Annotated[float, Field(gt=0, le=24 * 60)]
Hours = Annotated[float, Field(gt=0, le=72)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeWindow(_Frozen):
    """A daily window of local time; it wraps past midnight when ``end <= start``."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        """Tell whether local time ``t`` lies in the window (start inclusive, end exclusive)."""
        t = t.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class LearnedInactivity(_Frozen):
    """The learned inactivity model: an hour-of-day Poisson baseline of the resident's activity.

    The resident's own activity (distinct active minutes per local hour of day) is averaged
    over the last ``window_days`` days; once ``min_history_days`` days are known, a silence
    that started at ``t0`` is improbable when the expected count of active minutes over it,
    ``sum of hourly rates over [t0, now]``, exceeds ``-ln(improbability)``.
    """

    enabled: bool = True
    min_history_days: Annotated[int, Field(ge=1, le=365)] = 14
    window_days: Annotated[int, Field(ge=1, le=365)] = 28
    #: Probability of the silence under the baseline below which an alert is raised.
    improbability: Annotated[float, Field(gt=0, lt=1)] = 1e-4
    #: No learned alert for a silence shorter than this (hours), whatever the baseline says.
    min_silence_hours: Hours = 1.5

    @model_validator(mode="after")
    def _window_covers_history(self) -> LearnedInactivity:
        if self.window_days < self.min_history_days:
            raise ValueError("window_days must be at least min_history_days")
        return self


class VitalsLimits(_Frozen):
    """Heart rate (beats/min) and respiration (breaths/min) limits, and how long a breach lasts."""

    heart_rate_min: Annotated[int, Field(ge=0, le=300)] = 40
    heart_rate_max: Annotated[int, Field(ge=0, le=300)] = 120
    respiration_min: Annotated[int, Field(ge=0, le=120)] = 8
    respiration_max: Annotated[int, Field(ge=0, le=120)] = 28
    #: A reading beyond these makes the vitals alert priority 1 (critical).
    heart_rate_critical_min: Annotated[int, Field(ge=0, le=300)] = 30
    heart_rate_critical_max: Annotated[int, Field(ge=0, le=300)] = 150
    #: A breach must persist this long (seconds) before it is an alert.
    sustained_s: Annotated[float, Field(gt=0, le=3600)] = 120.0

    @model_validator(mode="after")
    def _ordered(self) -> VitalsLimits:
        if not (
            self.heart_rate_critical_min <= self.heart_rate_min < self.heart_rate_max
            and self.heart_rate_max <= self.heart_rate_critical_max
        ):
            raise ValueError(
                "heart rate limits must satisfy critical_min <= min < max <= critical_max"
            )
        if not self.respiration_min < self.respiration_max:
            raise ValueError("respiration_min must be below respiration_max")
        return self


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be finite")
    return value


class Circle(_Frozen):
    """A circular geofence: the resident should stay within ``radius_m`` of the centre."""

    type: Literal["circle"] = "circle"
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    radius_m: Annotated[float, Field(gt=0, le=100_000)]


class Polygon(_Frozen):
    """A polygonal geofence, as ``[[lat, lon], ...]`` (at least three corners, not closed)."""

    type: Literal["polygon"] = "polygon"
    points: Annotated[list[tuple[float, float]], Field(min_length=3, max_length=1000)]

    @field_validator("points")
    @classmethod
    def _in_range(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for lat, lon in points:
            _finite(lat)
            _finite(lon)
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"corner ({lat}, {lon}) is not a latitude and longitude")
        return points


Geofence = Annotated[Circle | Polygon, Field(discriminator="type")]


class CarePlan(_Frozen):
    """Detector settings for one resident; see docs/detection.md for what each one drives."""

    #: IANA time zone of the home; every time of day below is local to it.
    timezone: str = "Asia/Shanghai"
    #: The night: bed exits and door openings (for dementia) are watched in it.
    night_window: TimeWindow = TimeWindow(start=time(22, 0), end=time(7, 0))
    #: The day: the rule-based inactivity detector runs only in it.
    active_hours: TimeWindow = TimeWindow(start=time(7, 0), end=time(22, 0))
    #: Night bed exit with no return to bed (and no explaining activity) for this long.
    bed_exit_return_min: Minutes = 20.0
    #: Bathroom entered and no exit (door or motion elsewhere) for this long.
    bathroom_dwell_min: Minutes = 45.0
    #: Radar presence (a seat does not count) with no motion anywhere for this long.
    radar_still_min: Minutes = 30.0
    #: Rooms where lying still for long is suspect (not the bedroom, not a chair's room).
    radar_still_rooms: tuple[str, ...] = ("bathroom", "kitchen", "hall", "entrance")
    #: No activity anywhere in the home, within active hours, for this long.
    inactivity_hours: Hours = 4.0
    #: Seated or seen by a radar, with no other sign of life, for this long (active hours).
    presence_still_hours: Hours = 6.0
    learned_inactivity: LearnedInactivity = LearnedInactivity()
    #: The resident's usual local wake time; ``None`` disables the morning check.
    usual_wake_time: time | None = None
    #: Morning check: not up this many hours after ``usual_wake_time``.
    morning_check_grace_hours: Hours = 2.0
    #: After the front door closes with no motion inside for this long, the resident is away.
    away_confirm_min: Minutes = 10.0
    #: Residents living with dementia: a front door opening in the night window is wandering.
    dementia: bool = False
    #: Where a wearable's location must stay; ``None`` disables the geofence.
    geofence: Geofence | None = None
    vitals: VitalsLimits = VitalsLimits()
    #: In bed, yet the mattress reports no vitals for this long.
    vitals_absent_in_bed_min: Minutes = 15.0
    #: The gateway's last will must persist this long (seconds) before ``gateway_offline``.
    offline_grace_s: Annotated[float, Field(ge=0, le=86_400)] = 300.0
    #: A life-safety device (smoke, gas, SOS, fall) offline this long loses coverage: priority 2.
    life_safety_offline_min: Minutes = 60.0

    @field_validator("geofence", mode="before")
    @classmethod
    def _geofence_type(cls, value: Any) -> Any:
        # The shape may be left implicit: a radius makes a circle, corners a polygon.
        if isinstance(value, Mapping) and "type" not in value:
            return {**value, "type": "polygon" if "points" in value else "circle"}
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown IANA time zone {value!r}") from err
        return value

    @property
    def zone(self) -> ZoneInfo:
        """Return the plan's time zone."""
        return ZoneInfo(self.timezone)


class HomeSettings(HomeEntry):
    """One home of the seed: its id, label, address, residents, contacts, and care plan."""

    #: Overrides ``care_plan.timezone`` when given.
    timezone: str | None = None
    care_plan: CarePlan = CarePlan()

    @model_validator(mode="before")
    @classmethod
    def _apply_timezone(cls, values: Any) -> Any:
        if not isinstance(values, Mapping) or values.get("timezone") is None:
            return values
        plan = values.get("care_plan", {})
        if isinstance(plan, CarePlan):
            plan = plan.model_dump(exclude_unset=True)
        if isinstance(plan, Mapping):
            return {**values, "care_plan": {**plan, "timezone": values["timezone"]}}
        return values


class SeedFile(_Frozen):
    """The seed file: a default care plan, the homes, and the responders they name."""

    default_care_plan: CarePlan = CarePlan()
    homes: list[HomeSettings] = Field(default_factory=list)
    responders: list[ResponderEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_homes(self) -> SeedFile:
        seen: set[str] = set()
        for home in self.homes:
            if home.id in seen:
                raise ValueError(f"home {home.id!r} is listed twice")
            seen.add(home.id)
        return self


@dataclass(frozen=True, slots=True)
class CarePlans:
    """The care plan of every known home, and the one for homes not listed."""

    default: CarePlan = field(default_factory=CarePlan)
    homes: Mapping[str, CarePlan] = field(default_factory=dict)

    def for_home(self, home: str) -> CarePlan:
        """Return the care plan of ``home``."""
        return self.homes.get(home, self.default)


def _read_document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the file: {err.strerror}") from err
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            return tomllib.loads(text)
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not valid {suffix[1:].upper()}: {err}") from err
    raise ConfigError(f"{path}: unknown seed format {suffix!r}; fix: use .toml, .json or .yaml")


def _reference_fault(
    homes: list[HomeSettings], responders: list[ResponderEntry], known: set[str] | None
) -> tuple[str, str, str] | None:
    """Find the first id listed twice or named but not listed, as ``(key, problem, fix)``.

    Contacts are checked against ``responders`` and ``known``, unless ``known`` is ``None``.
    """
    seen: set[str] = set()
    for i, responder in enumerate(responders):
        if responder.id in seen:
            return (
                f"responders.{i}.id",
                f"responder {responder.id!r} is listed twice",
                "use each id once",
            )
        seen.add(responder.id)
    people: set[str] = set()
    for i, home in enumerate(homes):
        for j, resident in enumerate(home.residents):
            if resident.id in people:
                return (
                    f"homes.{i}.residents.{j}.id",
                    f"resident {resident.id!r} is listed twice",
                    "give each resident one id, in one home",
                )
            people.add(resident.id)
        assigned: set[str] = set()
        for j, contact in enumerate(home.contacts):
            if contact.responder_id in assigned:
                return (
                    f"homes.{i}.contacts.{j}.responder_id",
                    f"responder {contact.responder_id!r} is listed twice for this home",
                    "list each contact once",
                )
            assigned.add(contact.responder_id)
            if known is not None and contact.responder_id not in seen | known:
                return (
                    f"homes.{i}.contacts.{j}.responder_id",
                    f"no responder {contact.responder_id!r}",
                    "list it under responders, or correct the id",
                )
    return None


def load_seed_file(path: Path, *, known_responders: set[str] | None = None) -> SeedFile:
    """Read a seed file (TOML, JSON or YAML); errors name the file, the key and the fix.

    A contact must name a responder of the file or of ``known_responders``; when that is
    ``None`` (care plans only), contacts are not checked.
    """
    doc = _read_document(path)
    try:
        seed = SeedFile.model_validate(doc if doc is not None else {})
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {key}: {first['msg']}; fix: correct the value") from err
    fault = _reference_fault(seed.homes, seed.responders, known_responders)
    if fault is not None:
        key, problem, fix = fault
        raise ConfigError(f"{path}: {key}: {problem}; fix: {fix}")
    return seed


def load_care_plans(
    homes: list[HomeSettings],
    default: CarePlan | None = None,
    seed_file: Path | None = None,
) -> CarePlans:
    """Merge the config's homes and default with a seed file's; the config wins on conflict."""
    plans: dict[str, CarePlan] = {}
    chosen = CarePlan()
    if seed_file is not None:
        seed = load_seed_file(seed_file)
        plans.update({h.id: h.care_plan for h in seed.homes})
        chosen = seed.default_care_plan
    plans.update({h.id: h.care_plan for h in homes})
    return CarePlans(default=default if default is not None else chosen, homes=plans)


def load_directory(
    homes: list[HomeSettings],
    responders: list[ResponderEntry],
    seed_file: Path | None = None,
    where: str = "(config)",
) -> DirectorySeed:
    """Merge the config's homes and responders with a seed file's; the config wins by key."""
    listed = {r.id for r in responders}
    seed = SeedFile()
    if seed_file is not None:
        seed = load_seed_file(seed_file, known_responders=listed)
    merged_responders = {r.id: r for r in seed.responders}
    fault = _reference_fault(homes, responders, set(merged_responders))
    if fault is not None:
        key, problem, fix = fault
        raise ConfigError(f"{where}: {key}: {problem}; fix: {fix}")
    merged_responders.update({r.id: r for r in responders})
    return DirectorySeed(
        homes=tuple(merge_seeds(seed.homes, homes)),
        responders=tuple(merged_responders.values()),
    )
