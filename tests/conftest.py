"""Shared fixtures: a private broker, database URLs, and leak checks."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.brokers import Broker, mosquitto_binary, running_broker

# Taken out of the environment: every HOMECARE_* variable is a config override to the
# processes under test, and they would refuse this one as an unknown key.
_BASE_POSTGRES_URL = os.environ.pop(
    "HOMECARE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _worker_database_url(base: str, worker: str | None) -> str:
    """The database of one pytest-xdist worker: ``test`` becomes ``test_gw0``, and so on.

    Tests empty the database they use, so workers running at once each need their own.
    """
    if not worker:
        return base
    url = make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_database_url(_BASE_POSTGRES_URL, os.environ.get("PYTEST_XDIST_WORKER"))


async def _create_database(base: str, target: str) -> None:
    name = make_url(target).database
    engine = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()


def pytest_sessionstart(session: pytest.Session) -> None:
    """A worker of a parallel run makes its own PostgreSQL database if it does not exist yet."""
    if POSTGRES_URL != _BASE_POSTGRES_URL and _postgres_reachable():
        asyncio.run(_create_database(_BASE_POSTGRES_URL, POSTGRES_URL))


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A mosquitto of our own on a free loopback port, for the whole session."""
    if mosquitto_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto is required in CI")
        pytest.skip("mosquitto is not installed")
    with running_broker(tmp_path_factory.mktemp("broker")) as b:
        yield b


def _postgres_reachable() -> bool:
    import socket  # noqa: PLC0415 - only needed for this probe

    try:
        with socket.create_connection(("127.0.0.1", 5432), 1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'homecare.db'}"
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL is not reachable")
    return POSTGRES_URL


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a thread running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while True:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and (not t.daemon or t.name.startswith("paho"))
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leaked, f"threads left running: {[t.name for t in leaked]}"
