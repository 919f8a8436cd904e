"""Exceptions of operator accounts and their tokens."""

from __future__ import annotations

from backend._errors import BackendError

__all__ = [
    "AuthError",
    "InvalidTokenError",
    "LastAdminError",
    "LoginFailedError",
    "LoginThrottledError",
    "PolicyError",
    "UnknownUserError",
    "UserExistsError",
]


class AuthError(BackendError):
    """Root of the errors of accounts, logins and tokens."""


class PolicyError(AuthError):
    """A new username or password breaks the account rules; the message says which."""


class UserExistsError(AuthError):
    """A user of that name exists already."""


class UnknownUserError(AuthError):
    """No user has that name."""


class LastAdminError(AuthError):
    """The change would leave no active admin."""


class LoginFailedError(AuthError):
    """Wrong username or password, or the account is deactivated (one error for all)."""


class LoginThrottledError(AuthError):
    """Too many failed logins; retry after ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class InvalidTokenError(AuthError):
    """An access token is malformed, tampered with, expired or revoked."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
