"""Backend configuration: one TOML file, overridden by ``HOMECARE_...`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from backend.careplan import CarePlan, CarePlans, HomeSettings, load_care_plans
from protocol.config import ConfigError, load_config

__all__ = [
    "ApiSettings",
    "BackendConfig",
    "MqttSettings",
    "check_backend_config",
    "load_backend_config",
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    """The broker the gateways publish to."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=64)] = "homecare-backend"
    #: "5" in production; "3.1.1" only for the demo's embedded broker, which lacks v5.
    protocol: Literal["5", "3.1.1"] = "5"


class ApiSettings(_Section):
    """The HTTP API; ``port = 0`` picks a free port, ``enabled = false`` serves nothing."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    token: SecretStr | None = None


class BackendConfig(_Section):
    """Everything the backend process needs."""

    database_url: Annotated[str, Field(min_length=1)] = (
        "sqlite+aiosqlite:///var/backend/homecare.db"
    )
    mqtt: MqttSettings = MqttSettings()
    api: ApiSettings = ApiSettings()
    demo: bool = False
    #: Homes and their care plans may also come from a seed file (TOML, JSON or YAML).
    seed_file: Path | None = None
    #: The care plan of homes not listed; unset, the seed file's (or the built-in defaults).
    default_care_plan: CarePlan | None = None
    homes: list[HomeSettings] = Field(default_factory=list)

    def care_plans(self) -> CarePlans:
        """Return every home's care plan, merging ``homes`` with the seed file's."""
        return load_care_plans(self.homes, self.default_care_plan, self.seed_file)


def check_backend_config(config: BackendConfig, where: str = "(built-in defaults)") -> None:
    """Refuse a config that would run with an unsafe default (no API token outside demo mode)."""
    if config.api.token is None and not config.demo:
        raise ConfigError(
            f"{where}: api.token: not set, and the API has no default secret; fix: set "
            "[api] token (or HOMECARE_API__TOKEN), or demo = true to use a random one-off token"
        )
    if config.api.token is not None and len(config.api.token.get_secret_value()) < 16:
        raise ConfigError(
            f"{where}: api.token: shorter than 16 characters; fix: use a long random token "
            '(for example `python -c "import secrets; print(secrets.token_urlsafe(32))"`)'
        )


def load_backend_config(path: Path | None) -> BackendConfig:
    """Load the backend config from ``path`` and the environment, and check it is safe to run."""
    config = load_config(BackendConfig, path)
    if config.seed_file is not None and not config.seed_file.is_absolute() and path is not None:
        # A relative seed file is found beside the config file, wherever the process starts.
        config = config.model_copy(update={"seed_file": path.parent / config.seed_file})
    check_backend_config(config, str(path) if path is not None else "(built-in defaults)")
    config.care_plans()  # a bad seed file fails at start, naming the file and the key
    return config
