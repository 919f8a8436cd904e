"""Fixtures of the account tests: a store, accounts, and running backends on both databases."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from backend import Backend
from backend.auth import AuthSettings, Users
from backend.storage import Store
from tests.backend import conftest as backend_fixtures
from tests.backend.conftest import SECRET_KEY, api_client, backend_config
from tests.brokers import Broker

#: The failed-login window of the running backends; their clock is turned past it.
WINDOW_S = 6
MAX_FAILURES = 3

# The backend tests' fixtures of an emptied database and a store over it.
fresh_database_url = backend_fixtures.fresh_database_url
store = backend_fixtures.store


@pytest.fixture
def users(store: Store) -> Users:
    return Users(store)


class LimitClock:
    """A monotonic clock for the failed-login limits that a test can turn forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def limit_clock() -> LimitClock:
    return LimitClock()


@pytest.fixture
async def running(
    broker: Broker, fresh_database_url: str, limit_clock: LimitClock
) -> AsyncIterator[Backend]:
    """A running backend on SQLite and on PostgreSQL, with a small failed-login limit."""
    config = backend_config(broker, fresh_database_url).model_copy(
        update={
            "auth": AuthSettings(
                secret_key=SecretStr(SECRET_KEY),
                login_max_failures=MAX_FAILURES,
                login_window_s=WINDOW_S,
            )
        }
    )
    async with Backend(config, monotonic=limit_clock) as b:
        yield b


@pytest.fixture
async def client(running: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(running) as c:
        yield c


def name() -> str:
    """A username unique to one test."""
    return f"u{uuid.uuid4().hex[:10]}"
