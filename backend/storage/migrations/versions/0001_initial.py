"""Create the initial tables: homes, events, alerts, their links and audit, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "homes",
        sa.Column("id", sa.String(64), primary_key=True),
        _ts("first_seen"),
        sa.Column("gateway_online", sa.Boolean(), nullable=True),
        sa.Column("last_status", _JSON, nullable=True),
        _ts("last_status_at", nullable=True),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("home", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        _ts("at"),
        _ts("received_at"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("room", sa.String(64), nullable=True),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("raw", _JSON, nullable=False),
    )
    op.create_index("ix_events_home_at", "events", ["home", "at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("home", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("escalation_level", sa.SmallInteger(), nullable=False),
        _ts("opened_at"),
        _ts("updated_at"),
        sa.Column("trigger_count", sa.Integer(), nullable=False),
        sa.Column("first_event_id", sa.Uuid(), nullable=False),
        sa.Column("last_event_id", sa.Uuid(), nullable=False),
    )
    op.create_index("ix_alerts_opened_at", "alerts", ["opened_at"])
    op.create_index(
        "uq_alerts_unresolved",
        "alerts",
        ["home", "kind"],
        unique=True,
        sqlite_where=sa.text("status != 'resolved'"),
        postgresql_where=sa.text("status != 'resolved'"),
    )
    op.create_table(
        "alert_events",
        sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("event_id", sa.Uuid(), sa.ForeignKey("events.id"), primary_key=True),
    )
    op.create_table(
        "alert_transitions",
        sa.Column("id", _SERIAL, primary_key=True),
        sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_alert_transitions_alert_id", "alert_transitions", ["alert_id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", _SERIAL, primary_key=True),
        _ts("at"),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("topic", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("alert_transitions")
    op.drop_table("alert_events")
    op.drop_index("uq_alerts_unresolved", table_name="alerts")
    op.drop_index("ix_alerts_opened_at", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_events_home_at", table_name="events")
    op.drop_table("events")
    op.drop_table("homes")
