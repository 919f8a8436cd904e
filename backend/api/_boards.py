"""Reads for the console's boards: what responders are doing now, and device health by community.

Neither carries personal data: homes appear by id, label and community, never by address or
resident, so these reads are not audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from backend.alerts import AlertKind, AlertStatus, DispatchStatus
from backend.api._deps import OperatorDep
from backend.api._directory_out import DirectoryDep, directory_errors
from backend.api._pagination import Page, PageDep
from backend.directory import ID_PATTERN, HomeHealthRow, ResponderTaskRow

__all__ = [
    "DeviceHealthOut",
    "HomeHealthOut",
    "ResponderTaskOut",
    "boards_router",
    "device_problems",
]

boards_router = APIRouter()

#: What can be wrong with a device, as the gateway's supervision reports it.
DeviceProblem = Literal["offline", "low_battery", "tampered"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResponderTaskOut(_Out):
    """A dispatch and the alert it serves: what a responder is doing."""

    id: UUID
    responder_id: str
    status: DispatchStatus
    created_at: datetime
    accepted_at: datetime | None
    arrived_at: datetime | None
    alert_id: UUID
    home: str
    kind: AlertKind
    priority: int
    alert_status: AlertStatus

    @classmethod
    def from_row(cls, row: ResponderTaskRow) -> Self:
        return cls(
            id=row.dispatch_id,
            responder_id=row.responder_id,
            status=DispatchStatus(row.status),
            created_at=row.created_at,
            accepted_at=row.accepted_at,
            arrived_at=row.arrived_at,
            alert_id=row.alert_id,
            home=row.home,
            kind=AlertKind(row.kind),
            priority=row.priority,
            alert_status=AlertStatus(row.alert_status),
        )


class DeviceHealthOut(_Out):
    """One device as its gateway last reported it."""

    id: str
    room: str | None
    battery: float | None
    verdict: str | None
    problems: list[DeviceProblem]


class HomeHealthOut(_Out):
    """A home's gateway and devices; ``devices`` holds those with a problem unless all are asked."""

    id: str
    label: str | None
    community: str | None
    gateway_online: bool | None
    last_status_at: datetime | None
    devices: list[DeviceHealthOut]

    @property
    def has_problem(self) -> bool:
        return self.gateway_online is False or any(d.problems for d in self.devices)


def device_problems(health: Mapping[str, Any]) -> list[DeviceProblem]:
    """Name what is wrong with a device from its health figures in a gateway status."""
    verdict = health.get("verdict")
    found: list[DeviceProblem] = []
    if verdict == "offline" or health.get("online") is False:
        found.append("offline")
    if verdict == "low battery" or health.get("battery_low") is True:
        found.append("low_battery")
    if verdict == "tampered" or health.get("tampered") is True:
        found.append("tampered")
    return found


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def home_health(row: HomeHealthRow, *, every_device: bool) -> HomeHealthOut:
    """Return a home's health from its stored gateway status."""
    status = row.last_status or {}
    reported = status.get("devices")
    devices = []
    for device_id, health in sorted((reported if isinstance(reported, dict) else {}).items()):
        if not isinstance(health, dict):
            continue
        problems = device_problems(health)
        if problems or every_device:
            devices.append(
                DeviceHealthOut(
                    id=str(device_id),
                    room=_text(health.get("room")),
                    battery=_number(health.get("battery")),
                    verdict=_text(health.get("verdict")),
                    problems=problems,
                )
            )
    return HomeHealthOut(
        id=row.id,
        label=row.label,
        community=row.community,
        gateway_online=row.gateway_online,
        last_status_at=row.last_status_at,
        devices=devices,
    )


@boards_router.get("/dispatches")
async def list_dispatches(
    _: OperatorDep,
    directory: DirectoryDep,
    page: PageDep,
    responder: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    live: bool = False,
) -> Page[ResponderTaskOut]:
    """List dispatches with their alerts, newest first.

    ``live=true`` keeps those under way (pending, accepted, arrived) on alerts not resolved:
    what each responder is doing now.
    """
    with directory_errors():
        rows, total = await directory.responder_tasks(
            responder=responder, live=live, limit=page.limit, offset=page.offset
        )
    return page.of([ResponderTaskOut.from_row(r) for r in rows], total)


@boards_router.get("/device-health")
async def list_device_health(
    _: OperatorDep,
    directory: DirectoryDep,
    page: PageDep,
    all_homes: bool = False,
) -> Page[HomeHealthOut]:
    """List homes by community (none last), then id, with their gateway and device health.

    By default only homes with a problem (gateway offline, a device offline, low on battery or
    tampered) and only their devices with one; ``all_homes=true`` lists every home and device.
    """
    with directory_errors():
        rows = await directory.home_health()
    homes = [home_health(r, every_device=all_homes) for r in rows]
    if not all_homes:
        homes = [h for h in homes if h.has_problem]
    return page.of(homes[page.offset : page.offset + page.limit], len(homes))
