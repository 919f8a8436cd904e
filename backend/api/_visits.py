"""Care visits: a carer checks in and out; a visit in progress suppresses inactivity alerts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Self
from uuid import UUID

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from backend._errors import StorageError
from backend.api._deps import Authorized, ContextDep
from backend.api._problems import Problem
from backend.ingest import Detection
from backend.storage import VisitRow
from protocol import HOME_ID_PATTERN

__all__ = ["VisitIn", "VisitOut", "VisitPage", "visits_router"]

_log = logging.getLogger(__name__)
visits_router = APIRouter(dependencies=[Authorized])
HomeId = Annotated[str, Path(pattern=f"^{HOME_ID_PATTERN.pattern}$")]


class VisitIn(BaseModel):
    """A check-in; ``carer`` is a staff id or role, never the resident's data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carer: Annotated[str, Field(max_length=64)] | None = None
    note: Annotated[str, Field(max_length=500)] | None = None


class VisitOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: UUID
    home: str
    started_at: datetime
    ended_at: datetime | None
    in_progress: bool
    carer: str | None
    note: str | None

    @classmethod
    def from_row(cls, row: VisitRow) -> Self:
        return cls(
            id=row.id,
            home=row.home,
            started_at=row.started_at,
            ended_at=row.ended_at,
            in_progress=row.ended_at is None,
            carer=row.carer,
            note=row.note,
        )


class VisitPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[VisitOut]
    limit: int
    offset: int


def _detection(context: ContextDep) -> Detection:
    if context.detection is None:
        raise Problem(503, "detection is not running in this process")
    return context.detection


def _unavailable(err: StorageError) -> Problem:
    _log.warning("API request failed on storage: %s", err)
    return Problem(503, "the database is unavailable; retry shortly")


@visits_router.post("/homes/{home_id}/visits", status_code=201)
async def start_visit(context: ContextDep, home_id: HomeId, body: VisitIn) -> VisitOut:
    """Check a care visit in; inactivity alerts for the home wait until it ends."""
    detection = _detection(context)
    try:
        row = await detection.start_visit(
            context.store, home_id, body.carer, body.note, datetime.now(UTC)
        )
    except StorageError as err:
        raise _unavailable(err) from err
    return VisitOut.from_row(row)


@visits_router.post("/homes/{home_id}/visits/{visit_id}/end")
async def end_visit(context: ContextDep, home_id: HomeId, visit_id: UUID) -> VisitOut:
    """Check a care visit out; ending it twice is harmless."""
    detection = _detection(context)
    try:
        row = await context.store.get_visit(visit_id)
        if row is None or row.home != home_id:
            raise Problem(404, f"no visit {visit_id} in home {home_id}")
        if row.ended_at is not None:
            return VisitOut.from_row(row)
        row = await detection.end_visit(context.store, row, datetime.now(UTC))
    except StorageError as err:
        raise _unavailable(err) from err
    return VisitOut.from_row(row)


@visits_router.get("/homes/{home_id}/visits")
async def list_visits(
    context: ContextDep,
    home_id: HomeId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,  # within every database's BIGINT
) -> VisitPage:
    """List a home's care visits, newest first."""
    try:
        rows = await context.store.list_visits(home_id, limit=limit, offset=offset)
    except StorageError as err:
        raise _unavailable(err) from err
    return VisitPage(items=[VisitOut.from_row(r) for r in rows], limit=limit, offset=offset)
