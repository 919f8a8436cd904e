"""Persist detector state and pending deadlines per home, and record care visits.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "detector_states",
        sa.Column("home", sa.String(64), primary_key=True),
        sa.Column("state", _JSON, nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "detector_deadlines",
        sa.Column("home", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(96), primary_key=True),
        _ts("due"),
        sa.Column("token", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_detector_deadlines_due", "detector_deadlines", ["due"])
    op.create_table(
        "visits",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("home", sa.String(64), nullable=False),
        _ts("started_at"),
        _ts("ended_at", nullable=True),
        sa.Column("carer", sa.String(64), nullable=True),
        sa.Column("note", sa.String(500), nullable=True),
    )
    op.create_index("ix_visits_home_started_at", "visits", ["home", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_visits_home_started_at", table_name="visits")
    op.drop_table("visits")
    op.drop_index("ix_detector_deadlines_due", table_name="detector_deadlines")
    op.drop_table("detector_deadlines")
    op.drop_table("detector_states")
