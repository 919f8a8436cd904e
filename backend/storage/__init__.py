"""Storage: SQLAlchemy Core on SQLite (WAL) or PostgreSQL, migrated by Alembic at start."""

from backend.storage._rows import (
    AlertFilter,
    AlertRow,
    DeadLetterRow,
    EventFilter,
    EventRow,
    HomeRow,
    TransitionRow,
    VisitRow,
)
from backend.storage._store import Store, Transaction
from backend.storage._tables import metadata

__all__ = [
    "AlertFilter",
    "AlertRow",
    "DeadLetterRow",
    "EventFilter",
    "EventRow",
    "HomeRow",
    "Store",
    "Transaction",
    "TransitionRow",
    "VisitRow",
    "metadata",
]
