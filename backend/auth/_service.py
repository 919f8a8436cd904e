"""Accounts and logins: the runners over the store, the hasher and the limiter."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from backend.auth._errors import (
    InvalidTokenError,
    LastAdminError,
    LoginFailedError,
    LoginThrottledError,
    PolicyError,
    UnknownUserError,
    UserExistsError,
)
from backend.auth._limiter import LoginLimit, Throttle, admit, succeeded
from backend.auth._passwords import MAX_PASSWORD_LENGTH, Passwords, check_password
from backend.auth._roles import Principal, Role
from backend.auth._settings import AuthSettings
from backend.auth._tokens import IssuedToken, issue_token, password_stamp, read_token
from backend.auth._users import (
    RESERVED_USERNAMES,
    USERNAME_PATTERN,
    UserRow,
    active_admins,
    append_audit,
    count_users,
    get_user,
    insert_user,
    list_users,
    replace_hash,
    update_user,
)
from backend.storage import Store

__all__ = ["Authenticator", "UserChange", "Users", "check_username"]

_log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_username(username: str) -> None:
    """Refuse a username that breaks the naming rule or names a non-person."""
    if USERNAME_PATTERN.fullmatch(username) is None:
        raise PolicyError(
            "the username needs 2 to 64 lower-case letters, digits or . _ @ -, "
            "starting with a letter or digit"
        )
    if username in RESERVED_USERNAMES:
        raise PolicyError(f"the username {username!r} is reserved")


@dataclass(frozen=True, slots=True)
class UserChange:
    """Fields of a user to change; ``None`` leaves one as it is."""

    role: Role | None = None
    display_name: str | None = None
    active: bool | None = None


class Users:
    """Create, list and change operator accounts; every change is audited."""

    def __init__(
        self,
        store: Store,
        passwords: Passwords | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.passwords = passwords if passwords is not None else Passwords()
        self.now = clock

    async def get(self, username: str) -> UserRow | None:
        """Return one user, or ``None``."""
        async with self.store.reading() as conn:
            return await get_user(conn, username)

    async def page(self, *, limit: int, offset: int) -> tuple[list[UserRow], int]:
        """Return a page of users by name, and how many there are."""
        async with self.store.reading() as conn:
            return await list_users(conn, limit=limit, offset=offset), await count_users(conn)

    async def create(
        self, actor: str, *, username: str, password: str, role: Role, display_name: str = ""
    ) -> UserRow:
        """Create an active user; raise if the name is taken or the password is weak."""
        check_username(username)
        check_password(password, username=username)
        now = self.now()
        row = UserRow(
            id=uuid.uuid4(),
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=await self.passwords.hash(password),
            active=True,
            created_at=now,
        )
        async with self.store.transaction() as tx:
            if not await insert_user(tx, row):
                raise UserExistsError(f"a user named {username!r} exists already")
            await append_audit(
                tx,
                at=now,
                actor=actor,
                action="user_created",
                subject_type="user",
                subject_id=username,
                detail={"role": role.value},
            )
        _log.info("user %s created by %s with role %s", username, actor, role.value)
        return row

    async def change(self, actor: str, username: str, change: UserChange) -> UserRow:
        """Change a user's role, display name or active flag; keep at least one active admin."""
        now = self.now()
        values: dict[str, Any] = {}
        detail: dict[str, Any] = {}
        if change.role is not None:
            values["role"] = detail["role"] = change.role.value
        if change.active is not None:
            values["active"] = detail["active"] = change.active
        if change.display_name is not None:
            values["display_name"] = change.display_name
            detail["display_name"] = True
        async with self.store.transaction() as tx:
            before = await active_admins(tx.conn)
            row = await update_user(tx, username, **values) if values else None
            if row is None:
                row = await get_user(tx.conn, username)
                if row is None:
                    raise UnknownUserError(f"no user named {username!r}")
                return row
            still_admin = row.active and row.role is Role.ADMIN
            if username in before and not still_admin and not set(before) - {username}:
                raise LastAdminError(
                    f"{username!r} is the last active admin; make another admin first"
                )
            await append_audit(
                tx,
                at=now,
                actor=actor,
                action="user_changed",
                subject_type="user",
                subject_id=username,
                detail=detail,
            )
        _log.info("user %s changed by %s: %s", username, actor, sorted(detail))
        return row

    async def set_password(self, actor: str, username: str, password: str) -> None:
        """Give a user a new password, which revokes the tokens issued under the old one."""
        check_password(password, username=username)
        new_hash = await self.passwords.hash(password)
        action = "password_changed" if actor == username else "password_reset"
        async with self.store.transaction() as tx:
            if await update_user(tx, username, password_hash=new_hash) is None:
                raise UnknownUserError(f"no user named {username!r}")
            await append_audit(
                tx,
                at=self.now(),
                actor=actor,
                action=action,
                subject_type="user",
                subject_id=username,
            )
        _log.info("password of %s set by %s", username, actor)

    async def change_own_password(self, username: str, old: str, new: str) -> None:
        """Set a new password after checking the old one."""
        user = await self.get(username)
        if user is None or not user.active:
            raise UnknownUserError(f"no active user named {username!r}")
        ok = (
            len(old) <= MAX_PASSWORD_LENGTH
            and (await self.passwords.verify(user.password_hash, old))[0]
        )
        if not ok:
            raise LoginFailedError("the current password is wrong")
        if new == old:
            raise PolicyError("the new password must differ from the current one")
        await self.set_password(username, username, new)


class Authenticator:
    """Log users in, and tell who a token belongs to."""

    def __init__(
        self,
        users: Users,
        secret_key: str,
        settings: AuthSettings | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = settings if settings is not None else AuthSettings()
        self.users = users
        self._key = secret_key
        self._lifetime_s = settings.token_lifetime_s
        self._limit = LoginLimit(settings.login_max_failures, float(settings.login_window_s))
        self._throttle = Throttle()
        self._monotonic = monotonic

    async def login(self, username: str, password: str, *, client: str) -> IssuedToken:
        """Check a username and password; return a token, or raise one error for every failure."""
        name = username.strip().lower()[:64]
        user_key, client_key = f"user:{name}", f"client:{client}"
        at = self._monotonic()
        self._throttle, wait = admit(self._throttle, self._limit, (user_key, client_key), at)
        if wait is not None:
            await self._audit("anonymous", "login_failed", name, client, "rate_limited")
            raise LoginThrottledError(wait)
        user = await self.users.get(name) if USERNAME_PATTERN.fullmatch(name) else None
        if user is None or len(password) > MAX_PASSWORD_LENGTH:
            await self.users.passwords.burn(password[:MAX_PASSWORD_LENGTH])
            await self._audit("anonymous", "login_failed", name, client, "unknown_user")
            raise LoginFailedError("incorrect username or password")
        ok, new_hash = await self.users.passwords.verify(user.password_hash, password)
        if not ok or not user.active:
            reason = "wrong_password" if not ok else "inactive"
            await self._audit("anonymous", "login_failed", name, client, reason)
            raise LoginFailedError("incorrect username or password")
        self._throttle = succeeded(
            self._throttle, self._limit, user_key=user_key, other_keys=(client_key,), at=at
        )
        password_hash = user.password_hash
        now = self.users.now()
        async with self.users.store.transaction() as tx:
            # The hash parameters changed since the hash was made: store a fresh one.
            if new_hash is not None and await replace_hash(tx, name, password_hash, new_hash):
                password_hash = new_hash
            await append_audit(
                tx,
                at=now,
                actor=name,
                action="login",
                subject_type="user",
                subject_id=name,
                detail={"client": client},
            )
        return issue_token(
            self._key,
            username=name,
            role=user.role,
            stamp=password_stamp(self._key, password_hash),
            now=now,
            lifetime_s=self._lifetime_s,
        )

    async def principal(self, token: str) -> Principal:
        """Return the active user a token was issued to, with their current role."""
        claims = read_token(self._key, token, now=self.users.now())
        user = await self.users.get(claims.username)
        if user is None or not user.active:
            raise InvalidTokenError("the token's user is deactivated or gone")
        if password_stamp(self._key, user.password_hash) != claims.stamp:
            raise InvalidTokenError("the password changed since the token was issued; log in again")
        return Principal(user.username, user.role)

    async def _audit(self, actor: str, action: str, subject: str, client: str, reason: str) -> None:
        async with self.users.store.transaction() as tx:
            await append_audit(
                tx,
                at=self.users.now(),
                actor=actor,
                action=action,
                subject_type="user",
                subject_id=subject,
                detail={"client": client, "reason": reason},
            )
