"""Alert handling: lifecycle columns, users, residents, responders, dispatches, notifications,
alert deadlines and the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_ALERT_COLUMNS = (
    ("assignee", sa.String(64)),
    ("acknowledged_at", sa.DateTime(timezone=True)),
    ("acknowledged_by", sa.String(64)),
    ("dispatched_at", sa.DateTime(timezone=True)),
    ("resolved_at", sa.DateTime(timezone=True)),
    ("resolved_by", sa.String(64)),
    ("outcome", sa.String(32)),
    ("resolution_note", sa.String(500)),
)


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("homes") as batch:
        batch.add_column(sa.Column("label", sa.String(128), nullable=True))
        batch.add_column(sa.Column("address", sa.String(256), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        for name, type_ in _ALERT_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
    with op.batch_alter_table("alert_transitions") as batch:
        batch.add_column(sa.Column("action", sa.String(32), nullable=True))
        batch.add_column(sa.Column("escalation_level", sa.SmallInteger(), nullable=True))
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("home", sa.String(64), sa.ForeignKey("homes.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("birth_year", sa.SmallInteger(), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        _ts("created_at"),
    )
    op.create_index("ix_residents_home", "residents", ["home"])
    op.create_table(
        "responders",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("email", sa.String(128), nullable=True),
        sa.Column("channels", _JSON, nullable=False),
        sa.Column("availability", _JSON, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "home_responders",
        sa.Column("home", sa.String(64), sa.ForeignKey("homes.id"), primary_key=True),
        sa.Column("responder_id", sa.String(64), sa.ForeignKey("responders.id"), primary_key=True),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("relation", sa.String(64), nullable=True),
    )
    op.create_table(
        "dispatches",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("responder_id", sa.String(64), sa.ForeignKey("responders.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(64), nullable=False),
        _ts("accept_by", nullable=True),
        _ts("accepted_at", nullable=True),
        _ts("declined_at", nullable=True),
        _ts("arrived_at", nullable=True),
        _ts("ended_at", nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
    )
    op.create_index("ix_dispatches_alert_id", "dispatches", ["alert_id"])
    op.create_index("ix_dispatches_responder_id", "dispatches", ["responder_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("dispatch_id", sa.Uuid(), nullable=True),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("last_error", sa.String(300), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_notifications_alert_id", "notifications", ["alert_id"])
    op.create_table(
        "alert_deadlines",
        sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        _ts("due"),
        sa.Column("token", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_alert_deadlines_due", "alert_deadlines", ["due"])
    op.create_table(
        "audit_log",
        sa.Column("id", _SERIAL, primary_key=True),
        _ts("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("subject_type", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("detail", _JSON, nullable=True),
    )
    op.create_index("ix_audit_log_subject", "audit_log", ["subject_type", "subject_id"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_audit_log_subject", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_alert_deadlines_due", table_name="alert_deadlines")
    op.drop_table("alert_deadlines")
    op.drop_index("ix_notifications_alert_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_dispatches_responder_id", table_name="dispatches")
    op.drop_index("ix_dispatches_alert_id", table_name="dispatches")
    op.drop_table("dispatches")
    op.drop_table("home_responders")
    op.drop_table("responders")
    op.drop_index("ix_residents_home", table_name="residents")
    op.drop_table("residents")
    op.drop_table("users")
    with op.batch_alter_table("alert_transitions") as batch:
        batch.drop_column("escalation_level")
        batch.drop_column("action")
    with op.batch_alter_table("alerts") as batch:
        for name, _type in reversed(_ALERT_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("version")
    with op.batch_alter_table("homes") as batch:
        batch.drop_column("address")
        batch.drop_column("label")
