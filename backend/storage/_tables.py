"""Table definitions (SQLAlchemy Core); the migrations create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

from backend.storage._types import JsonDoc, UtcDateTime

__all__ = [
    "alert_deadlines",
    "alert_events",
    "alert_transitions",
    "alerts",
    "audit_log",
    "dead_letters",
    "detector_deadlines",
    "detector_states",
    "dispatches",
    "events",
    "home_responders",
    "homes",
    "metadata",
    "notifications",
    "residents",
    "responders",
    "users",
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
    # Set by the seed file or the admin API; ``address`` is personal data.
    sa.Column("label", sa.String(128), nullable=True),
    sa.Column("address", sa.String(256), nullable=True),
    # The community (neighbourhood, service area) whose workers cover the home (revision 0005).
    sa.Column("community", sa.String(64), nullable=True),
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
    # The lifecycle (revision 0004): who acted when, and how it ended. ``version`` rises
    # with every change, so that concurrent operators cannot both win.
    sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("assignee", sa.String(64), nullable=True),
    sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
    sa.Column("acknowledged_by", sa.String(64), nullable=True),
    sa.Column("dispatched_at", UtcDateTime(), nullable=True),
    sa.Column("resolved_at", UtcDateTime(), nullable=True),
    sa.Column("resolved_by", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
    sa.Column("resolution_note", sa.String(500), nullable=True),
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
    # What happened (open, acknowledge, dispatch, escalate, remind, resolve, ...): an
    # escalation or reminder keeps the status and is recorded all the same.
    sa.Column("action", sa.String(32), nullable=True),
    sa.Column("escalation_level", sa.SmallInteger(), nullable=True),
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

# -- people, responders and alert handling (revision 0004) -------------------------------------

# Operator accounts: passwords are stored only as argon2 hashes.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(128), nullable=False),
    # operator, supervisor or admin (backend/auth).
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

# The person (or people) living in a home: personal data, read only with an audit entry.
residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("home", sa.String(64), sa.ForeignKey("homes.id"), nullable=False),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("birth_year", sa.SmallInteger(), nullable=True),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("language", sa.String(16), nullable=True),
    sa.Column("notes", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    # Health conditions, a JSON list of short strings (revision 0006); ``[]`` when none.
    sa.Column("conditions", JsonDoc, nullable=False, server_default=sa.text("'[]'")),
    sa.Index("ix_residents_home", "home"),
)

# Everyone who can be notified or sent: family, community workers, care providers,
# emergency services. ``channels`` lists notification targets ({"type": "webhook", ...});
# ``availability`` holds on-duty windows (null means always available).
responders = sa.Table(
    "responders",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("phone", sa.String(32), nullable=True),
    sa.Column("email", sa.String(128), nullable=True),
    sa.Column("channels", JsonDoc, nullable=False),
    sa.Column("availability", JsonDoc, nullable=True),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

# Which responders serve a home, in ladder order (rank 1 is asked first within a kind).
home_responders = sa.Table(
    "home_responders",
    metadata,
    sa.Column("home", sa.String(64), sa.ForeignKey("homes.id"), primary_key=True),
    sa.Column("responder_id", sa.String(64), sa.ForeignKey("responders.id"), primary_key=True),
    sa.Column("rank", sa.SmallInteger(), nullable=False),
    sa.Column("relation", sa.String(64), nullable=True),
)

# A responder sent to an alert: pending until accepted, declined, passed over or cancelled;
# then arrived. ``accept_by`` is the deadline after which the next responder is asked.
dispatches = sa.Table(
    "dispatches",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("responder_id", sa.String(64), sa.ForeignKey("responders.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("accept_by", UtcDateTime(), nullable=True),
    sa.Column("accepted_at", UtcDateTime(), nullable=True),
    sa.Column("declined_at", UtcDateTime(), nullable=True),
    sa.Column("arrived_at", UtcDateTime(), nullable=True),
    sa.Column("ended_at", UtcDateTime(), nullable=True),
    sa.Column("note", sa.String(200), nullable=True),
    sa.Index("ix_dispatches_alert_id", "alert_id"),
    sa.Index("ix_dispatches_responder_id", "responder_id"),
)

# Every notification attempt and its delivery; a failure is visible on the alert.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), nullable=False),
    sa.Column("dispatch_id", sa.Uuid(), nullable=True),
    # A responder id, or a role queue such as "queue:operator".
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.SmallInteger(), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("last_error", sa.String(300), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_notifications_alert_id", "alert_id"),
)

# Pending alert deadlines (escalation, reminder, accept timeout): rebuilt on start, and a
# token guards against a late or duplicate firing.
alert_deadlines = sa.Table(
    "alert_deadlines",
    metadata,
    sa.Column("alert_id", sa.Uuid(), sa.ForeignKey("alerts.id"), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("due", UtcDateTime(), nullable=False),
    sa.Column("token", sa.BigInteger(), nullable=False),
    sa.Index("ix_alert_deadlines_due", "due"),
)

# Append-only record of actions outside an alert's own trail: logins, reads of personal
# data, administration. Holds ids, never the personal data itself.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(48), nullable=False),
    sa.Column("subject_type", sa.String(32), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("detail", JsonDoc, nullable=True),
    sa.Index("ix_audit_log_subject", "subject_type", "subject_id"),
    sa.Index("ix_audit_log_at", "at"),
)
