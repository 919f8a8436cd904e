"""Backend configuration: one TOML file, overridden by ``HOMECARE_...`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from backend.alerts import EscalationSettings
from backend.auth import AuthSettings, check_auth_settings
from backend.careplan import CarePlan, CarePlans, HomeSettings, load_care_plans, load_directory
from backend.directory import DirectorySeed, ResponderEntry
from backend.metrics import MetricsSettings
from backend.notify import NotifySettings
from protocol.config import ConfigError, load_config

__all__ = [
    "ApiSettings",
    "AuthSettings",
    "BackendConfig",
    "EscalationSettings",
    "MetricsSettings",
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
    """The HTTP API; ``port = 0`` picks a free port, ``enabled = false`` serves nothing.

    ``token`` is the service token for automation (scrapers, scripts); people log in.
    """

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
    metrics: MetricsSettings = MetricsSettings()
    auth: AuthSettings = AuthSettings()
    demo: bool = False
    #: Homes and their care plans may also come from a seed file (TOML, JSON or YAML).
    seed_file: Path | None = None
    #: The care plan of homes not listed; unset, the seed file's (or the built-in defaults).
    default_care_plan: CarePlan | None = None
    homes: list[HomeSettings] = Field(default_factory=list)
    #: Responders beside the seed file's (see docs/operations.md, "Seed files").
    responders: list[ResponderEntry] = Field(default_factory=list)
    notify: NotifySettings = NotifySettings()
    #: The escalation ladder of each alert priority (docs/alerts.md).
    escalation: EscalationSettings = EscalationSettings()

    def care_plans(self) -> CarePlans:
        """Return every home's care plan, merging ``homes`` with the seed file's."""
        return load_care_plans(self.homes, self.default_care_plan, self.seed_file)

    def directory(self) -> DirectorySeed:
        """Return the homes, residents, responders and contacts of the config and seed file."""
        return load_directory(self.homes, self.responders, self.seed_file)


def check_backend_config(config: BackendConfig, where: str = "(built-in defaults)") -> None:
    """Refuse a config that would run with an unsafe default (no signing key outside demo mode)."""
    # Without an API nothing signs tokens; a demo makes a random key.
    required = config.api.enabled and not config.demo
    check_auth_settings(config.auth, required=required, where=where)
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
    config.directory()
    return config
