"""Operator accounts, roles, logins and access tokens."""

from backend.auth._errors import (
    AuthError,
    InvalidTokenError,
    LastAdminError,
    LoginFailedError,
    LoginThrottledError,
    PolicyError,
    UnknownUserError,
    UserExistsError,
)
from backend.auth._limiter import LoginLimit, Throttle, admit, forget_expired, succeeded
from backend.auth._passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    Passwords,
    check_password,
)
from backend.auth._roles import SERVICE, Principal, Role
from backend.auth._service import Authenticator, UserChange, Users, check_username
from backend.auth._settings import MIN_SECRET_KEY_LENGTH, AuthSettings, check_auth_settings
from backend.auth._tokens import IssuedToken, TokenClaims, issue_token, password_stamp, read_token
from backend.auth._users import USERNAME_PATTERN, UserRow

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "MIN_SECRET_KEY_LENGTH",
    "SERVICE",
    "USERNAME_PATTERN",
    "AuthError",
    "AuthSettings",
    "Authenticator",
    "InvalidTokenError",
    "IssuedToken",
    "LastAdminError",
    "LoginFailedError",
    "LoginLimit",
    "LoginThrottledError",
    "Passwords",
    "PolicyError",
    "Principal",
    "Role",
    "Throttle",
    "TokenClaims",
    "UnknownUserError",
    "UserChange",
    "UserExistsError",
    "UserRow",
    "Users",
    "admit",
    "check_auth_settings",
    "check_password",
    "check_username",
    "forget_expired",
    "issue_token",
    "password_stamp",
    "read_token",
    "succeeded",
]
