"""The ``[auth]`` section of the backend config."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from protocol.config import ConfigError

__all__ = ["MIN_SECRET_KEY_LENGTH", "AuthSettings", "check_auth_settings"]

MIN_SECRET_KEY_LENGTH = 32


class AuthSettings(BaseModel):
    """Operator logins: the token signing key, token lifetime and the failed-login limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Signs access tokens (HS256). Required outside demo mode; a demo makes a random one.
    secret_key: SecretStr | None = None
    #: One operator shift: a token outlives no shift, and revocation is checked per request.
    token_lifetime_s: Annotated[int, Field(ge=60, le=86_400)] = 8 * 3600
    #: Failed logins allowed per username and per client address within the window.
    login_max_failures: Annotated[int, Field(ge=1, le=1000)] = 5
    login_window_s: Annotated[int, Field(ge=1, le=86_400)] = 300


def check_auth_settings(settings: AuthSettings, *, required: bool, where: str) -> None:
    """Refuse a short signing key, and a missing one where ``required``."""
    key = settings.secret_key
    fix = (
        'for example `python -c "import secrets; print(secrets.token_urlsafe(48))"` '
        "in [auth] secret_key or HOMECARE_AUTH__SECRET_KEY"
    )
    if key is None and required:
        raise ConfigError(
            f"{where}: auth.secret_key: not set, and access tokens have no default signing key; "
            f"fix: set a random key of at least {MIN_SECRET_KEY_LENGTH} characters, {fix} "
            "(or demo = true to use a random one-off key)"
        )
    if key is not None and len(key.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"{where}: auth.secret_key: shorter than {MIN_SECRET_KEY_LENGTH} characters; "
            f"fix: use a long random key, {fix}"
        )
