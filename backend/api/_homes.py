"""Homes, their residents and contacts: operators read, admins change.

Showing a resident (or a home's address) records a ``read_personal_data`` entry in the
audit log, in the same transaction as the read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict

from backend.api._deps import AdminDep, ContextDep, OperatorDep
from backend.api._directory_out import (
    ContactOut,
    DirectoryDep,
    EntityId,
    ResidentOut,
    directory_errors,
)
from backend.api._pagination import Page, PageDep
from backend.api._schemas import HomeOut
from backend.directory import (
    ContactSettings,
    HomeDetail,
    HomeEntryRow,
    HomePatch,
    NewHome,
    ResidentEntry,
    ResidentPatch,
)
from protocol import HOME_ID_PATTERN

__all__ = ["HomeDetailOut", "HomeEntryOut", "HomeSummaryOut", "homes_router"]

homes_router = APIRouter()
HomeId = Annotated[str, Path(pattern=f"^{HOME_ID_PATTERN.pattern}$")]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class HomeSummaryOut(_Out):
    """A home in a list: no personal data."""

    id: str
    label: str | None
    #: The community whose workers cover the home; ``null`` when none is set.
    community: str | None
    first_seen: datetime
    gateway_online: bool | None
    last_status_at: datetime | None

    @classmethod
    def from_row(cls, row: HomeEntryRow) -> Self:
        return cls(
            id=row.id,
            label=row.label,
            community=row.community,
            first_seen=row.first_seen,
            gateway_online=row.gateway_online,
            last_status_at=row.last_status_at,
        )


class HomeEntryOut(HomeSummaryOut):
    """A home as an admin just wrote it."""

    address: str | None

    @classmethod
    def from_row(cls, row: HomeEntryRow) -> Self:
        return cls(**HomeSummaryOut.from_row(row).model_dump(), address=row.address)


class HomeDetailOut(HomeOut):
    """A home: gateway state and device health, label, address and community, its time zone,
    residents and contacts."""

    label: str | None
    address: str | None
    community: str | None
    #: The IANA time zone of the home's care plan, in which its residents live their day;
    #: ``null`` when this process runs no detection (and so holds no care plans).
    timezone: str | None
    residents: list[ResidentOut]
    contacts: list[ContactOut]

    @classmethod
    def from_detail(cls, detail: HomeDetail, timezone: str | None) -> Self:
        return cls(
            **HomeOut.from_row(detail.home).model_dump(),
            label=detail.label,
            address=detail.address,
            community=detail.community,
            timezone=timezone,
            residents=[ResidentOut.from_row(r) for r in detail.residents],
            contacts=[ContactOut.from_row(c) for c in detail.contacts],
        )


def _now() -> datetime:
    return datetime.now(UTC)


@homes_router.get("/homes")
async def list_homes(
    _: OperatorDep, directory: DirectoryDep, page: PageDep
) -> Page[HomeSummaryOut]:
    """List homes in id order, without personal data."""
    with directory_errors():
        rows, total = await directory.list_homes(limit=page.limit, offset=page.offset)
    return page.of([HomeSummaryOut.from_row(r) for r in rows], total)


@homes_router.post("/homes", status_code=201)
async def create_home(who: AdminDep, directory: DirectoryDep, body: NewHome) -> HomeEntryOut:
    """Add a home (409 if it is known already, even from its gateway alone)."""
    patch = HomePatch.model_validate(body.model_dump(include=body.model_fields_set - {"id"}))
    with directory_errors():
        row = await directory.create_home(body.id, patch, actor=who.username, now=_now())
    return HomeEntryOut.from_row(row)


@homes_router.get("/homes/{home_id}")
async def get_home(
    who: OperatorDep, directory: DirectoryDep, context: ContextDep, home_id: HomeId
) -> HomeDetailOut:
    """Return a home's gateway state, device health, time zone, residents and contacts (audited)."""
    with directory_errors():
        detail = await directory.home_detail(home_id, actor=who.username, now=_now())
    plans = context.detection.plans if context.detection is not None else None
    timezone = plans.for_home(home_id).timezone if plans is not None else None
    return HomeDetailOut.from_detail(detail, timezone)


@homes_router.patch("/homes/{home_id}")
async def update_home(
    who: AdminDep, directory: DirectoryDep, home_id: HomeId, body: HomePatch
) -> HomeEntryOut:
    """Change a home's label, address or community; ``null`` clears one."""
    with directory_errors():
        row = await directory.update_home(home_id, body, actor=who.username, now=_now())
    return HomeEntryOut.from_row(row)


@homes_router.delete("/homes/{home_id}", status_code=204)
async def delete_home(who: AdminDep, directory: DirectoryDep, home_id: HomeId) -> Response:
    """Remove a home with no residents and no contacts left (409 otherwise)."""
    with directory_errors():
        await directory.delete_home(home_id, actor=who.username, now=_now())
    return Response(status_code=204)


@homes_router.post("/homes/{home_id}/residents", status_code=201)
async def create_resident(
    who: AdminDep, directory: DirectoryDep, home_id: HomeId, body: ResidentEntry
) -> ResidentOut:
    """Add a resident to a home."""
    with directory_errors():
        row = await directory.create_resident(home_id, body, actor=who.username, now=_now())
    return ResidentOut.from_row(row)


@homes_router.get("/residents/{resident_id}")
async def get_resident(
    who: OperatorDep, directory: DirectoryDep, resident_id: EntityId
) -> ResidentOut:
    """Return one resident (audited)."""
    with directory_errors():
        row = await directory.resident(resident_id, actor=who.username, now=_now())
    return ResidentOut.from_row(row)


@homes_router.patch("/residents/{resident_id}")
async def update_resident(
    who: AdminDep, directory: DirectoryDep, resident_id: EntityId, body: ResidentPatch
) -> ResidentOut:
    """Change a resident, or move them to another home (``home``)."""
    with directory_errors():
        row = await directory.update_resident(resident_id, body, actor=who.username, now=_now())
    return ResidentOut.from_row(row)


@homes_router.delete("/residents/{resident_id}", status_code=204)
async def delete_resident(
    who: AdminDep, directory: DirectoryDep, resident_id: EntityId
) -> Response:
    """Remove a resident."""
    with directory_errors():
        await directory.delete_resident(resident_id, actor=who.username, now=_now())
    return Response(status_code=204)


@homes_router.get("/homes/{home_id}/contacts")
async def list_contacts(
    _: OperatorDep, directory: DirectoryDep, home_id: HomeId
) -> list[ContactOut]:
    """Return a home's responders in ladder order (rank, then id)."""
    with directory_errors():
        rows = await directory.contacts(home_id)
    return [ContactOut.from_row(r) for r in rows]


@homes_router.put("/homes/{home_id}/contacts/{responder_id}")
async def set_contact(
    *,
    who: AdminDep,
    directory: DirectoryDep,
    response: Response,
    home_id: HomeId,
    responder_id: EntityId,
    body: ContactSettings,
) -> ContactOut:
    """Assign a responder to a home (201), or change its rank and relation there (200)."""
    with directory_errors():
        row, created = await directory.set_contact(
            home_id,
            responder_id,
            rank=body.rank,
            relation=body.relation,
            actor=who.username,
            now=_now(),
        )
    if created:
        response.status_code = 201
    return ContactOut.from_row(row)


@homes_router.delete("/homes/{home_id}/contacts/{responder_id}", status_code=204)
async def remove_contact(
    who: AdminDep, directory: DirectoryDep, home_id: HomeId, responder_id: EntityId
) -> Response:
    """Take a responder off a home."""
    with directory_errors():
        await directory.remove_contact(home_id, responder_id, actor=who.username, now=_now())
    return Response(status_code=204)
