"""Dependencies of the API routes, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from backend._errors import StorageError
from backend.api._problems import Problem
from backend.auth import SERVICE, Authenticator, InvalidTokenError, Principal, Role
from backend.hub import Hub
from backend.ingest import Detection
from backend.storage import Store

__all__ = [
    "SERVICE",
    "AdminDep",
    "ApiContext",
    "AuthDep",
    "Authorized",
    "ContextDep",
    "HubDep",
    "OperatorDep",
    "Principal",
    "Role",
    "StoreDep",
    "SupervisorDep",
    "identify",
    "require_token",
    "token_matches",
]


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the routes need, set on ``app.state.context`` by the app factory."""

    store: Store
    hub: Hub
    #: The service token (automation), or ``None`` when only accounts may sign in.
    token: str | None
    mqtt_connected: Callable[[], bool] | None = None
    detection: Detection | None = None
    #: Operator accounts; ``None`` when the app serves only the service token.
    auth: Authenticator | None = None


def _context(conn: HTTPConnection) -> ApiContext:
    context = conn.app.state.context
    assert isinstance(context, ApiContext)
    return context


def _store(context: Annotated[ApiContext, Depends(_context)]) -> Store:
    return context.store


def _hub(context: Annotated[ApiContext, Depends(_context)]) -> Hub:
    return context.hub


def _auth(context: Annotated[ApiContext, Depends(_context)]) -> Authenticator:
    if context.auth is None:
        raise Problem(503, "operator accounts are not enabled in this process")
    return context.auth


ContextDep = Annotated[ApiContext, Depends(_context)]
StoreDep = Annotated[Store, Depends(_store)]
HubDep = Annotated[Hub, Depends(_hub)]
AuthDep = Annotated[Authenticator, Depends(_auth)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /api/v1/auth/token, or the backend's service token",
)


def token_matches(expected: str, given: str | None) -> bool:
    """Compare a presented token with the expected one in constant time."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _unauthenticated(detail: str, *, error: str | None = None) -> Problem:
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return Problem(401, detail, title="Not authenticated", headers={"WWW-Authenticate": challenge})


async def identify(context: ApiContext, given: str | None) -> Principal:
    """Return who ``given`` (a bearer token) belongs to; raise a 401 or 503 problem if nobody."""
    if not given:
        raise _unauthenticated("send Authorization: Bearer <token>")
    if context.token is not None and token_matches(context.token, given):
        return SERVICE
    if context.auth is None:
        raise _unauthenticated("the token is not valid", error="invalid_token")
    try:
        return await context.auth.principal(given)
    except InvalidTokenError as err:
        raise _unauthenticated(str(err), error="invalid_token") from err
    except StorageError as err:
        raise Problem(503, "the database is unavailable; retry shortly") from err


async def require_token(
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Refuse a request without a valid service or access token; return who sent it."""
    return await identify(context, credentials.credentials if credentials is not None else None)


Authorized = Depends(require_token)


def _needs(role: Role) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(require_token)]) -> Principal:
        if not principal.may(role):
            raise Problem(403, f"this needs the {role.value} role", title="Forbidden")
        return principal

    return check


OperatorDep = Annotated[Principal, Depends(_needs(Role.OPERATOR))]
SupervisorDep = Annotated[Principal, Depends(_needs(Role.SUPERVISOR))]
AdminDep = Annotated[Principal, Depends(_needs(Role.ADMIN))]
