"""Fixtures of the backend tests: a fresh store, envelopes, and a running backend."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import create_async_engine

from backend import Backend, BackendConfig
from backend.auth import Role
from backend.config import ApiSettings, AuthSettings, MqttSettings
from backend.storage import Store, metadata
from protocol import Envelope, new_event_id
from protocol.mqtt import MqttClient
from tests.backend._process import stop_all
from tests.brokers import Broker

TOKEN = "test-token-0123456789abcdef"
#: Signs the test backends' access tokens.
SECRET_KEY = "test-signing-key-0123456789abcdef0123456789"
# Every table the migrations create, children first, then Alembic's own.
_TABLES = (
    *(t.name for t in reversed(metadata.sorted_tables)),
    "alembic_version",
)


async def empty_database(url: str) -> None:
    """Drop the backend's tables, so that a shared PostgreSQL database starts empty."""
    if not url.startswith("postgresql"):
        return
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in _TABLES:
                await conn.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def fresh_database_url(database_url: str) -> str:
    await empty_database(database_url)
    return database_url


@pytest.fixture
async def store(fresh_database_url: str) -> AsyncIterator[Store]:
    s = await Store.open(fresh_database_url)
    try:
        yield s
    finally:
        await s.close()


def home_id() -> str:
    """A home id unique to one test, so tests sharing the session broker do not mix."""
    return f"H{uuid.uuid4().hex[:12]}"


def envelope(
    home: str, type_: str, data: dict[str, Any], *, seq: int = 1, **extra: Any
) -> Envelope:
    return Envelope.model_validate(
        {
            "id": str(new_event_id()),
            "home": home,
            "device": f"{type_}-1",
            "type": type_,
            "at": datetime.now(UTC),
            "seq": seq,
            "room": "hall",
            "data": data,
            **extra,
        }
    )


def backend_config(broker: Broker, database_url: str) -> BackendConfig:
    return BackendConfig(
        database_url=database_url,
        mqtt=MqttSettings(
            host=broker.host, port=broker.port, client_id=f"backend-{uuid.uuid4().hex[:8]}"
        ),
        api=ApiSettings(port=0, token=SecretStr(TOKEN)),
        auth=AuthSettings(secret_key=SecretStr(SECRET_KEY)),
    )


@pytest.fixture
async def backend(broker: Broker, tmp_path: Path) -> AsyncIterator[Backend]:
    """A running backend on SQLite, with the API on a free port."""
    config = backend_config(broker, f"sqlite+aiosqlite:///{tmp_path / 'backend.db'}")
    async with Backend(config) as b:
        yield b


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[MqttClient]:
    """A bare MQTT client standing in for a gateway."""
    async with MqttClient(
        host=broker.host, port=broker.port, client_id=f"gw-{uuid.uuid4().hex[:8]}"
    ) as client:
        yield client


@pytest.fixture
def backend_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Backends a test runs as processes of their own; any still running are killed after."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    stop_all(procs)


def api_client(backend: Backend) -> httpx.AsyncClient:
    """An HTTP client for a running backend's API (use it as an async context manager)."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.api_port}/api/v1", timeout=10)


@pytest.fixture
async def api(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the running backend's API."""
    async with api_client(backend) as client:
        yield client


@dataclass(frozen=True, slots=True)
class Account:
    """A user the tests log in as."""

    username: str
    password: str
    role: Role


def bearer(token: str) -> dict[str, str]:
    """Return the ``Authorization`` header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """Log in with ``POST /auth/token`` (``client`` has the ``/api/v1`` base); return the token."""
    response = await client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


async def create_accounts(backend: Backend) -> dict[Role, Account]:
    """Create one active user of each role in a running backend."""
    made: dict[Role, Account] = {}
    for role in Role:
        account = Account(f"{role.value}-{uuid.uuid4().hex[:6]}", f"Pw-{uuid.uuid4().hex}", role)
        await backend.users.create(
            "test", username=account.username, password=account.password, role=role
        )
        made[role] = account
    return made


@pytest.fixture
async def accounts(backend: Backend) -> dict[Role, Account]:
    """One user of each role (operator, supervisor, admin) in the ``backend`` fixture."""
    return await create_accounts(backend)
