"""A home's community: the neighbourhood or service area its workers cover.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("homes") as batch:
        batch.add_column(sa.Column("community", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("homes") as batch:
        batch.drop_column("community")
