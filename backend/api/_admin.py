"""The audit log, for supervisors: who read or changed what, by id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from backend.api._deps import SupervisorDep
from backend.api._directory_out import DirectoryDep, directory_errors
from backend.api._pagination import Page, PageDep
from backend.directory import AuditRow

__all__ = ["AuditOut", "admin_router"]

admin_router = APIRouter()


class AuditOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: AuditRow) -> Self:
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            detail=row.detail,
        )


@admin_router.get("/audit")
async def list_audit(
    _: SupervisorDep,
    directory: DirectoryDep,
    page: PageDep,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditOut]:
    """List audit entries, newest first, optionally about one subject (``resident``, ``R1``)."""
    with directory_errors():
        rows, total = await directory.audit(
            subject_type=subject_type, subject_id=subject_id, limit=page.limit, offset=page.offset
        )
    return page.of([AuditOut.from_row(r) for r in rows], total)
