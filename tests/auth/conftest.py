"""Fixtures of the account tests: a store, accounts, and running backends on both databases."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from backend import Backend
from backend.auth import AuthSettings, Users
from backend.storage import Store
from tests.backend import conftest as backend_fixtures
from tests.backend.conftest import SECRET_KEY, backend_config
from tests.brokers import Broker

#: A short failed-login window, so that the API test can wait it out.
WINDOW_S = 6
MAX_FAILURES = 3

# The backend tests' fixtures of an emptied database and a store over it.
fresh_database_url = backend_fixtures.fresh_database_url
store = backend_fixtures.store


@pytest.fixture
def users(store: Store) -> Users:
    return Users(store)


@pytest.fixture
async def running(broker: Broker, fresh_database_url: str) -> AsyncIterator[Backend]:
    """A running backend on SQLite and on PostgreSQL, with a short failed-login window."""
    config = backend_config(broker, fresh_database_url).model_copy(
        update={
            "auth": AuthSettings(
                secret_key=SecretStr(SECRET_KEY),
                login_max_failures=MAX_FAILURES,
                login_window_s=WINDOW_S,
            )
        }
    )
    async with Backend(config) as b:
        yield b


@pytest.fixture
async def client(running: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{running.api_port}/api/v1", timeout=10
    ) as c:
        yield c


def name() -> str:
    """A username unique to one test."""
    return f"u{uuid.uuid4().hex[:10]}"
