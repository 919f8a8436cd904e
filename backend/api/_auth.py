"""Login (the OAuth2 password flow), the caller's own account, and user administration."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Literal, Self
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from backend._errors import StorageError
from backend.api._deps import SERVICE, AdminDep, AuthDep, OperatorDep
from backend.api._problems import Problem
from backend.auth import (
    MAX_PASSWORD_LENGTH,
    USERNAME_PATTERN,
    AuthError,
    LastAdminError,
    LoginFailedError,
    LoginThrottledError,
    PolicyError,
    Role,
    UnknownUserError,
    UserChange,
    UserExistsError,
    UserRow,
)

__all__ = [
    "MeOut",
    "PasswordChangeIn",
    "PasswordResetIn",
    "TokenOut",
    "UserChangeIn",
    "UserIn",
    "UserOut",
    "UserPage",
    "auth_router",
]

_log = logging.getLogger(__name__)
auth_router = APIRouter(tags=["auth"])

Username = Annotated[str, Path(pattern=f"^{USERNAME_PATTERN.pattern}$")]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
DisplayName = Annotated[str, Field(min_length=1, max_length=128)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenOut(BaseModel):
    """An OAuth2 access token response (RFC 6749, section 5.1)."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


class MeOut(BaseModel):
    username: str
    role: Role
    display_name: str | None
    #: True for the configured service token, which is no person's account.
    service: bool


class UserOut(BaseModel):
    id: UUID
    username: str
    display_name: str
    role: Role
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: UserRow) -> Self:
        return cls(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            active=row.active,
            created_at=row.created_at,
        )


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


class UserIn(_In):
    username: Annotated[str, Field(pattern=f"^{USERNAME_PATTERN.pattern}$")]
    password: Password
    role: Role
    display_name: DisplayName | None = None


class UserChangeIn(_In):
    """Fields to change; those left out stay as they are."""

    role: Role | None = None
    display_name: DisplayName | None = None
    active: bool | None = None


class PasswordResetIn(_In):
    new_password: Password


class PasswordChangeIn(_In):
    old_password: Password
    new_password: Password


def _problem(err: AuthError | StorageError) -> Problem:
    if isinstance(err, LoginThrottledError):
        return Problem(
            429,
            str(err),
            title="Too many failed logins",
            headers={"Retry-After": str(err.retry_after_s)},
        )
    if isinstance(err, LoginFailedError):
        return Problem(401, str(err), title="Login failed", headers={"WWW-Authenticate": "Bearer"})
    if isinstance(err, PolicyError):
        return Problem(422, str(err))
    if isinstance(err, UserExistsError | LastAdminError):
        return Problem(409, str(err))
    if isinstance(err, UnknownUserError):
        return Problem(404, str(err))
    if isinstance(err, StorageError):
        _log.warning("API request failed on storage: %s", err)
        return Problem(503, "the database is unavailable; retry shortly")
    raise err


@auth_router.post("/auth/token")
async def login(
    request: Request,
    auth: AuthDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    """Exchange a username and password for an access token (OAuth2 password flow)."""
    client = request.client.host if request.client is not None else "unknown"
    try:
        issued = await auth.login(form.username, form.password, client=client)
    except (AuthError, StorageError) as err:
        raise _problem(err) from err
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@auth_router.get("/auth/me")
async def me(principal: OperatorDep, auth: AuthDep) -> MeOut:
    """Say who the token belongs to."""
    if principal == SERVICE:
        return MeOut(
            username=principal.username, role=principal.role, display_name=None, service=True
        )
    try:
        user = await auth.users.get(principal.username)
    except StorageError as err:
        raise _problem(err) from err
    name = user.display_name if user is not None else None
    return MeOut(username=principal.username, role=principal.role, display_name=name, service=False)


@auth_router.post("/auth/me/password", status_code=204)
async def change_own_password(
    principal: OperatorDep, auth: AuthDep, body: PasswordChangeIn
) -> Response:
    """Set a new password, giving the current one; tokens issued before stop working."""
    if principal == SERVICE:
        raise Problem(403, "the service token has no password", title="Forbidden")
    try:
        await auth.users.change_own_password(
            principal.username, body.old_password, body.new_password
        )
    except LoginFailedError as err:
        raise Problem(403, str(err), title="Forbidden") from err
    except (AuthError, StorageError) as err:
        raise _problem(err) from err
    return Response(status_code=204)


@auth_router.get("/users")
async def list_users(
    _admin: AdminDep,
    auth: AuthDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> UserPage:
    """List operator accounts by name."""
    try:
        rows, total = await auth.users.page(limit=limit, offset=offset)
    except StorageError as err:
        raise _problem(err) from err
    return UserPage(
        items=[UserOut.from_row(r) for r in rows], total=total, limit=limit, offset=offset
    )


@auth_router.post("/users", status_code=201)
async def create_user(admin: AdminDep, auth: AuthDep, body: UserIn) -> UserOut:
    """Create an operator account."""
    try:
        row = await auth.users.create(
            admin.username,
            username=body.username,
            password=body.password,
            role=body.role,
            display_name=body.display_name or "",
        )
    except (AuthError, StorageError) as err:
        raise _problem(err) from err
    return UserOut.from_row(row)


@auth_router.get("/users/{username}")
async def get_user(_admin: AdminDep, auth: AuthDep, username: Username) -> UserOut:
    """Return one operator account."""
    try:
        row = await auth.users.get(username)
    except StorageError as err:
        raise _problem(err) from err
    if row is None:
        raise Problem(404, f"no user named {username!r}")
    return UserOut.from_row(row)


@auth_router.patch("/users/{username}")
async def change_user(
    admin: AdminDep, auth: AuthDep, username: Username, body: UserChangeIn
) -> UserOut:
    """Change a role or display name, or deactivate (``active: false``) or reactivate a user."""
    change = UserChange(role=body.role, display_name=body.display_name, active=body.active)
    try:
        row = await auth.users.change(admin.username, username, change)
    except (AuthError, StorageError) as err:
        raise _problem(err) from err
    return UserOut.from_row(row)


@auth_router.post("/users/{username}/password", status_code=204)
async def reset_password(
    admin: AdminDep, auth: AuthDep, username: Username, body: PasswordResetIn
) -> Response:
    """Set a user's password; the user's earlier tokens stop working."""
    try:
        await auth.users.set_password(admin.username, username, body.new_password)
    except (AuthError, StorageError) as err:
        raise _problem(err) from err
    return Response(status_code=204)
