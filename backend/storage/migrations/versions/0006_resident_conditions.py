"""A resident's health conditions: a JSON list of short strings, ``[]`` when none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As JsonDoc in backend/storage/_types.py, fixed here as this revision wrote it.
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # The default fills the rows already there, and keeps NOT NULL on both databases.
    with op.batch_alter_table("residents") as batch:
        batch.add_column(
            sa.Column("conditions", _JSON, nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("conditions")
