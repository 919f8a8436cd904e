"""Fixtures of the API tests: a fresh store on SQLite and on PostgreSQL."""

from __future__ import annotations

from tests.backend.conftest import fresh_database_url, store

__all__ = ["fresh_database_url", "store"]
