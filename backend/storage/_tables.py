"""Table definitions (SQLAlchemy Core); the migrations create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

from backend.storage._types import JsonDoc, UtcDateTime

__all__ = [
    "alert_events",
    "alert_transitions",
    "alerts",
    "dead_letters",
    "detector_deadlines",
    "detector_states",
    "events",
    "homes",
    "metadata",
    "visits",
]

metadata = sa.MetaData()

homes = sa.Table(
    "homes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("first_seen", UtcDateTime(), nullable=False),
    sa.Column("gateway_online", sa.Boolean(), nullable=True),
    sa.Column("last_status", JsonDoc, nullable=True),
    sa.Column("last_status_at", UtcDateTime(), nullable=True),
    # The gateway's event numbering: {"high", "missing": [[first, last], ...], "resets", ...}.
    sa.Column("sequence", JsonDoc, nullable=True),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("home", sa.String(64), nullable=False),
    sa.Column("device", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("room", sa.String(64), nullable=True),
    sa.Column("data", JsonDoc, nullable=False),
    sa.Column("raw", JsonDoc, nullable=False),
    sa.Index("ix_events_home_at", "home", "at"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("home", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("priority", sa.SmallInteger(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("escalation_level", sa.SmallInteger(), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("trigger_count", sa.Integer(), nullable=False),
    sa.Column("first_event_id", sa.Uuid(), nullable=False),
    sa.Column("last_event_id", sa.Uuid(), nullable=False),
    sa.Index("ix_alerts_opened_at", "opened_at"),
    # At most one unresolved alert per home and kind: further triggers attach to it.
    sa.Index(
        "uq_alerts_unresolved",
        "home",
        "kind",
        unique=True,
        sqlite_where=sa.text("status != 'resolved'"),
        postgresql_where=sa.text("status != 'resolved'"),
    ),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("event_id", sa.Uuid(), sa.ForeignKey("events.id"), primary_key=True),
)

alert_transitions = sa.Table(
    "alert_transitions",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("from_status", sa.String(16), nullable=True),
    sa.Column("to_status", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Index("ix_alert_transitions_alert_id", "alert_id"),
)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(256), nullable=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
)

# Detector state per home (a JSON document, see backend/detectors/_codec.py), written in the
# same transaction as the events and alerts it follows from.
detector_states = sa.Table(
    "detector_states",
    metadata,
    sa.Column("home", sa.String(64), primary_key=True),
    sa.Column("state", JsonDoc, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# The pending deadlines of every home's detectors; the scheduler reloads them on start.
detector_deadlines = sa.Table(
    "detector_deadlines",
    metadata,
    sa.Column("home", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(96), primary_key=True),
    sa.Column("due", UtcDateTime(), nullable=False),
    sa.Column("token", sa.BigInteger(), nullable=False),
    sa.Index("ix_detector_deadlines_due", "due"),
)

# Care visits: check-in and check-out through the API; one in progress suppresses inactivity.
visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("home", sa.String(64), nullable=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("carer", sa.String(64), nullable=True),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Index("ix_visits_home_started_at", "home", "started_at"),
)
