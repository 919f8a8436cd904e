"""Dependencies of the API routes, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from backend.api._problems import Problem
from backend.hub import Hub
from backend.ingest import Detection
from backend.storage import Store

__all__ = [
    "ApiContext",
    "Authorized",
    "ContextDep",
    "HubDep",
    "StoreDep",
    "require_token",
    "token_matches",
]


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the routes need, set on ``app.state.context`` by the app factory."""

    store: Store
    hub: Hub
    token: str
    mqtt_connected: Callable[[], bool] | None = None
    detection: Detection | None = None


def _context(conn: HTTPConnection) -> ApiContext:
    context = conn.app.state.context
    assert isinstance(context, ApiContext)
    return context


def _store(context: Annotated[ApiContext, Depends(_context)]) -> Store:
    return context.store


def _hub(context: Annotated[ApiContext, Depends(_context)]) -> Hub:
    return context.hub


ContextDep = Annotated[ApiContext, Depends(_context)]
StoreDep = Annotated[Store, Depends(_store)]
HubDep = Annotated[Hub, Depends(_hub)]

_bearer = HTTPBearer(auto_error=False, description="The backend's API token")


def token_matches(expected: str, given: str | None) -> bool:
    """Compare a presented token with the expected one in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def require_token(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse a request without ``Authorization: Bearer <token>``."""
    given = credentials.credentials if credentials is not None else None
    if not token_matches(context.token, given):
        raise Problem(
            401,
            "send Authorization: Bearer <token>",
            title="Not authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )


Authorized = Depends(require_token)
