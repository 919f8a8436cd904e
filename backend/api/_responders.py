"""Responders: operators read them (with contact details, never channel secrets); admins change."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response

from backend.api._deps import AdminDep, OperatorDep
from backend.api._directory_out import DirectoryDep, EntityId, ResponderOut, directory_errors
from backend.api._pagination import Page, PageDep
from backend.directory import ResponderEntry, ResponderKind, ResponderPatch

__all__ = ["responders_router"]

responders_router = APIRouter()


def _now() -> datetime:
    return datetime.now(UTC)


@responders_router.get("/responders")
async def list_responders(
    _: OperatorDep,
    directory: DirectoryDep,
    page: PageDep,
    kind: ResponderKind | None = None,
    active: bool | None = None,
) -> Page[ResponderOut]:
    """List responders in id order, optionally of one kind or activity."""
    with directory_errors():
        rows, total = await directory.list_responders(
            kind=kind.value if kind is not None else None,
            active=active,
            limit=page.limit,
            offset=page.offset,
        )
    return page.of([ResponderOut.from_row(r) for r in rows], total)


@responders_router.post("/responders", status_code=201)
async def create_responder(
    who: AdminDep, directory: DirectoryDep, body: ResponderEntry
) -> ResponderOut:
    """Add a responder with their channels and availability."""
    with directory_errors():
        row = await directory.create_responder(body, actor=who.username, now=_now())
    return ResponderOut.from_row(row)


@responders_router.get("/responders/{responder_id}")
async def get_responder(
    _: OperatorDep, directory: DirectoryDep, responder_id: EntityId
) -> ResponderOut:
    """Return one responder."""
    with directory_errors():
        row = await directory.responder(responder_id)
    return ResponderOut.from_row(row)


@responders_router.patch("/responders/{responder_id}")
async def update_responder(
    who: AdminDep, directory: DirectoryDep, responder_id: EntityId, body: ResponderPatch
) -> ResponderOut:
    """Change a responder; ``channels`` replaces the whole list, ``active: false`` retires."""
    with directory_errors():
        row = await directory.update_responder(responder_id, body, actor=who.username, now=_now())
    return ResponderOut.from_row(row)


@responders_router.delete("/responders/{responder_id}", status_code=204)
async def delete_responder(
    who: AdminDep, directory: DirectoryDep, responder_id: EntityId
) -> Response:
    """Remove a responder never dispatched (409 otherwise: retire them instead)."""
    with directory_errors():
        await directory.delete_responder(responder_id, actor=who.username, now=_now())
    return Response(status_code=204)
