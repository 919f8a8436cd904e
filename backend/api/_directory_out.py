"""What the directory routes share: response schemas, path ids, and error translation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from fastapi import Depends, Path
from pydantic import BaseModel, ConfigDict

from backend._errors import StorageError
from backend.alerts import is_available, parse_availability
from backend.api._deps import StoreDep
from backend.api._problems import Problem
from backend.directory import (
    ID_PATTERN,
    ConflictError,
    ContactRow,
    Directory,
    NotFoundError,
    ResidentRow,
    ResponderKind,
    ResponderRow,
)
from protocol.topics import responder_notifications_topic

__all__ = [
    "ChannelOut",
    "ContactOut",
    "DirectoryDep",
    "EntityId",
    "ResidentOut",
    "ResponderOut",
    "directory_errors",
]

_log = logging.getLogger(__name__)

EntityId = Annotated[str, Path(pattern=ID_PATTERN)]


def _directory(store: StoreDep) -> Directory:
    return Directory(store)


DirectoryDep = Annotated[Directory, Depends(_directory)]


@contextmanager
def directory_errors() -> Iterator[None]:
    """Answer a missing subject with 404, a clash with 409, a database fault with 503."""
    try:
        yield
    except NotFoundError as err:
        raise Problem(404, str(err)) from err
    except ConflictError as err:
        raise Problem(409, str(err)) from err
    except StorageError as err:
        _log.warning("API request failed on storage: %s", err)
        raise Problem(503, "the database is unavailable; retry shortly") from err


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResidentOut(_Out):
    """A resident: personal data, shown only with an audit entry."""

    id: str
    home: str
    name: str
    birth_year: int | None
    phone: str | None
    language: str | None
    notes: str | None
    #: Health conditions (sensitive personal data), in the order given; ``[]`` when none.
    conditions: list[str]
    created_at: datetime

    @classmethod
    def from_row(cls, row: ResidentRow) -> Self:
        return cls(
            id=row.id,
            home=row.home,
            name=row.name,
            birth_year=row.birth_year,
            phone=row.phone,
            language=row.language,
            notes=row.notes,
            conditions=list(row.conditions),
            created_at=row.created_at,
        )


class ChannelOut(_Out):
    """A notification channel without its secrets: where it goes, at most scheme and host."""

    type: Literal["webhook", "mqtt", "apprise", "unknown"]
    target: str

    @classmethod
    def from_doc(cls, responder_id: str, doc: dict[str, Any]) -> Self:
        kind = doc.get("type")
        if kind == "webhook":
            parts = urlsplit(str(doc.get("url", "")))
            return cls(type="webhook", target=f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}")
        if kind == "mqtt":
            return cls(type="mqtt", target=responder_notifications_topic(responder_id))
        if kind == "apprise":
            scheme = str(doc.get("url", "")).split("://", 1)[0]
            return cls(type="apprise", target=f"{scheme}://")
        return cls(type="unknown", target="")


class ResponderOut(_Out):
    id: str
    name: str
    kind: ResponderKind
    phone: str | None
    email: str | None
    channels: list[ChannelOut]
    #: On-duty windows (``days``, ``start``, ``end``, ``tz``); ``null`` is always.
    availability: list[dict[str, Any]] | None
    #: Whether the responder is on duty at the moment of the answer (active and within a
    #: window); ``null`` when the stored windows cannot be read.
    on_duty: bool | None
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: ResponderRow, now: datetime | None = None) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            kind=ResponderKind(row.kind),
            phone=row.phone,
            email=row.email,
            channels=[ChannelOut.from_doc(row.id, c) for c in row.channels],
            availability=row.availability,
            on_duty=_on_duty(row, now if now is not None else datetime.now(UTC)),
            active=row.active,
            created_at=row.created_at,
        )


def _on_duty(row: ResponderRow, now: datetime) -> bool | None:
    try:
        windows = parse_availability(row.availability)
    except ValueError:
        _log.warning("responder %s: stored availability cannot be read", row.id)
        return None
    return row.active and is_available(windows, now)


class ContactOut(_Out):
    """A responder serving a home, in ladder order."""

    rank: int
    relation: str | None
    responder: ResponderOut

    @classmethod
    def from_row(cls, row: ContactRow) -> Self:
        return cls(
            rank=row.rank, relation=row.relation, responder=ResponderOut.from_row(row.responder)
        )
