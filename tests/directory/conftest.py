"""Fixtures of the directory tests: a fresh store, seed documents, and running backends."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend import Backend
from tests.backend.conftest import api_client, backend_config, fresh_database_url, store
from tests.brokers import Broker

__all__ = ["SEED", "fresh_database_url", "seed_doc", "store"]

#: A small seed with every kind of entry; tests copy and change it.
SEED: dict[str, Any] = {
    "responders": [
        {
            "id": "R1",
            "name": "Daughter One",
            "kind": "family",
            "phone": "+86 10 5550 0001",
            "channels": [
                {"type": "webhook", "url": "https://hooks.example.org/r1", "secret": "x" * 24},
                {"type": "mqtt"},
            ],
        },
        {
            "id": "R2",
            "name": "Day Worker",
            "kind": "community_worker",
            "email": "day@example.org",
            "channels": [{"type": "apprise", "url": "mailto://user:pw@example.org"}],
            "availability": [
                {"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00", "tz": "Asia/Shanghai"}
            ],
        },
    ],
    "homes": [
        {
            "id": "H1",
            "label": "Flat 1",
            "address": "1 Test Street",
            "residents": [{"id": "P1", "name": "Resident One", "birth_year": 1940}],
            "contacts": [
                {"responder_id": "R2", "rank": 5},
                {"responder_id": "R1", "rank": 1, "relation": "daughter"},
            ],
        },
        {"id": "H2", "care_plan": {"inactivity_hours": 6}},
    ],
}


def seed_doc() -> dict[str, Any]:
    """A fresh copy of ``SEED``."""
    return copy.deepcopy(SEED)


@pytest.fixture
async def running(broker: Broker, fresh_database_url: str) -> AsyncIterator[Backend]:
    """A running backend on SQLite and on PostgreSQL."""
    async with Backend(backend_config(broker, fresh_database_url)) as b:
        yield b


@pytest.fixture
async def client(running: Backend) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(running) as c:
        yield c
