"""Signed access tokens (JWT, HS256): issued at login, checked on every request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from backend.auth._errors import InvalidTokenError
from backend.auth._roles import Role

__all__ = ["ISSUER", "IssuedToken", "TokenClaims", "issue_token", "password_stamp", "read_token"]

ISSUER = "homecare"
_ALGORITHM = "HS256"
# A token issued by a server whose clock runs a little ahead is still accepted.
_SKEW_S = 60
_REQUIRED = ("iss", "sub", "role", "iat", "exp", "jti", "pwd")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A fresh access token and how many seconds it lives."""

    token: str
    expires_in: int
    jti: str


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says."""

    username: str
    role: Role
    issued_at: datetime
    expires_at: datetime
    jti: str
    stamp: str


def password_stamp(secret_key: str, password_hash: str) -> str:
    """Derive a short mark of the password hash; a new password changes it.

    A token carries the stamp of the password it was issued under, so that setting a new
    password revokes every token issued before. It reveals nothing about the password:
    it is keyed with the signing key.
    """
    digest = hmac.new(secret_key.encode(), password_hash.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def issue_token(
    secret_key: str, *, username: str, role: Role, stamp: str, now: datetime, lifetime_s: int
) -> IssuedToken:
    """Sign a token for ``username`` that expires ``lifetime_s`` after ``now``."""
    jti = uuid.uuid4().hex
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": username,
        "role": role.value,
        "iat": issued,
        "exp": issued + lifetime_s,
        "jti": jti,
        "pwd": stamp,
    }
    return IssuedToken(jwt.encode(claims, secret_key, algorithm=_ALGORITHM), lifetime_s, jti)


def read_token(secret_key: str, token: str, *, now: datetime) -> TokenClaims:
    """Check a token's signature, issuer and times against ``now``; return its claims."""
    try:
        claims = jwt.decode(
            token,
            secret_key,
            algorithms=[_ALGORITHM],
            issuer=ISSUER,
            # Times are checked below against the given ``now``, so that tests can move it.
            options={"require": list(_REQUIRED), "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as err:
        raise InvalidTokenError(f"the token is not valid: {err}") from err
    try:
        issued, expires = int(claims["iat"]), int(claims["exp"])
        role = Role(claims["role"])
        username, jti, stamp = str(claims["sub"]), str(claims["jti"]), str(claims["pwd"])
    except (TypeError, ValueError) as err:
        raise InvalidTokenError(f"the token's claims are malformed: {err}") from err
    moment = now.timestamp()
    if moment >= expires:
        raise InvalidTokenError("the token has expired; log in again", expired=True)
    if issued > moment + _SKEW_S:
        raise InvalidTokenError("the token is issued in the future")
    return TokenClaims(
        username=username,
        role=role,
        issued_at=datetime.fromtimestamp(issued, UTC),
        expires_at=datetime.fromtimestamp(expires, UTC),
        jti=jti,
        stamp=stamp,
    )
