"""The lifecycle runner on SQLite and PostgreSQL, in virtual time: the ladder, dispatches,
failures, restarts of the deadline table, and two operators at once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa

from backend.alerts import (
    AlertChange,
    AlertKind,
    AlertNotFoundError,
    DispatchNotFoundError,
    IllegalTransitionError,
    InvalidCommandError,
    Lifecycle,
    Outcome,
    Priority,
    Trigger,
    apply_trigger,
    list_dispatches,
    list_notifications,
)
from backend.hub import Hub
from backend.notify import DeliveryResult, NotificationRequest
from backend.storage import EventRow, Store, metadata
from tests.alerts._directory import add_roster

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ROSTER = (
    ("F1", "family", 1),
    ("F2", "family", 2),
    ("C1", "community_worker", 1),
    ("E1", "emergency_service", 1),
)
DEADLINES = metadata.tables["alert_deadlines"]


class Clock:
    """Virtual time, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def to(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


class RecordingNotifier:
    """Keeps what the lifecycle hands over for delivery (our own interface, not a broker)."""

    def __init__(self) -> None:
        self.requests: list[NotificationRequest] = []

    def submit(self, requests: list[NotificationRequest]) -> None:
        self.requests.extend(requests)

    def take(self) -> list[str]:
        taken = [r.recipient for r in self.requests]
        self.requests.clear()
        return taken


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
async def lifecycle(store: Store, hub: Hub, clock: Clock, notifier: RecordingNotifier) -> Lifecycle:
    await add_roster(store, "H1", ROSTER)
    return Lifecycle(store, hub, notifier=notifier, clock=clock)


async def open_alert(
    store: Store, lifecycle: Lifecycle, home: str = "H1", *, at: datetime = T0
) -> UUID:
    """Open a priority-1 SOS alert the way ingest does, and take up its follow-up."""
    change = await press_sos(store, lifecycle, home, at)
    lifecycle.on_change(change)
    return change.alert.id


async def press_sos(store: Store, lifecycle: Lifecycle, home: str, at: datetime) -> AlertChange:
    event = EventRow(uuid.uuid4(), home, "sos-1", "sos", at, at, 1, "hall", {}, {})
    trigger = Trigger(home, AlertKind.SOS, Priority.LIFE_THREATENING, event.id, at, "SOS")
    async with store.transaction() as tx:
        await tx.touch_homes([home], at)
        await tx.insert_events([event])
        return await apply_trigger(tx, trigger, at, on_open=lifecycle.start_ladder)


async def trail(store: Store, alert_id: UUID) -> list[tuple[str | None, float, int | None, str]]:
    """Return ``(action, seconds after T0, level, actor)`` of each audit entry."""
    return [
        (t.action, (t.at - T0).total_seconds(), t.escalation_level, t.actor)
        for t in await store.alert_transitions(alert_id)
    ]


async def stored_deadlines(store: Store, alert_id: UUID) -> dict[str, float]:
    async with store.reading() as conn:
        rows = await conn.execute(sa.select(DEADLINES).where(DEADLINES.c.alert_id == alert_id))
        return {r.name: (r.due - T0).total_seconds() for r in rows}


async def test_the_priority_1_ladder_runs_from_the_database(
    store: Store, lifecycle: Lifecycle, clock: Clock, notifier: RecordingNotifier
) -> None:
    alert_id = await open_alert(store, lifecycle)
    assert notifier.take() == ["queue:operator", "F1"]
    assert await stored_deadlines(store, alert_id) == {"escalate": 60, "remind": 30}
    async with store.reading() as conn:
        pending = await list_notifications(conn, alert_id)
    assert [(n.recipient, n.status, n.attempts) for n in pending] == [
        ("queue:operator", "pending", 0),
        ("F1", "pending", 0),
    ]

    for seconds, expected in ((29.9, []), (30, ["queue:operator", "F1"]), (59, [])):
        clock.to(seconds)
        await lifecycle.fire_due()
        assert notifier.take() == expected, seconds
    clock.to(60)
    await lifecycle.fire_due()
    assert notifier.take() == ["queue:supervisor", "F2"]
    clock.to(90)
    await lifecycle.fire_due()
    assert notifier.take() == ["queue:supervisor", "F2"]
    # Jump to 180 s: the reminder due at 120 s fires late (and restarts its rhythm from now),
    # then the escalation due at 180 s.
    clock.to(180)
    await lifecycle.fire_due()
    assert notifier.take() == ["queue:supervisor", "F2", "C1"]

    alert = await store.get_alert(alert_id)
    assert alert is not None
    assert (alert.status, alert.escalation_level) == ("open", 2)
    assert await trail(store, alert_id) == [
        ("open", 0, 0, "system"),
        ("remind", 30, 0, "system"),
        ("escalate", 60, 1, "system"),
        ("remind", 90, 1, "system"),
        ("remind", 180, 1, "system"),
        ("escalate", 180, 2, "system"),
    ]
    assert await stored_deadlines(store, alert_id) == {"remind": 210}


async def test_acknowledging_stops_the_ladder_in_the_database(
    store: Store, lifecycle: Lifecycle, clock: Clock, notifier: RecordingNotifier, hub: Hub
) -> None:
    alert_id = await open_alert(store, lifecycle)
    notifier.take()
    clock.to(12)
    with hub.subscribe() as sub:
        result = await lifecycle.acknowledge(alert_id, "alice", "calling")
        change: AlertChange = await anext(sub)
    assert (change.change, change.actor, change.action) == ("acknowledged", "alice", "acknowledge")
    assert result.alert.version == change.alert.version == 1
    assert await stored_deadlines(store, alert_id) == {}
    clock.to(600)
    assert await lifecycle.fire_due() == 2, "both entries fire, and find nothing to do"
    assert notifier.take() == []
    alert = await store.get_alert(alert_id)
    assert alert is not None
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_at, alert.version) == (
        "acknowledged",
        "alice",
        T0 + timedelta(seconds=12),
        1,
    )


async def test_dispatch_pass_over_and_arrival(
    store: Store, lifecycle: Lifecycle, clock: Clock, notifier: RecordingNotifier
) -> None:
    alert_id = await open_alert(store, lifecycle)
    notifier.take()
    clock.to(20)
    result = await lifecycle.dispatch(alert_id, "alice", ["F1", "E1"], "go")
    assert [(d.responder_id, d.status) for d in result.dispatches] == [
        ("F1", "pending"),
        ("E1", "pending"),
    ]
    assert notifier.take() == ["F1", "E1"]
    _, emergency = result.dispatches
    await lifecycle.accept(emergency.id, "alice")
    clock.to(20 + 300)
    await lifecycle.fire_due()
    assert notifier.take() == ["F2"], "F1 did not accept: the next family member is sent"
    async with store.reading() as conn:
        dispatches = await list_dispatches(conn, alert_id)
    assert [(d.responder_id, d.status, d.created_by) for d in dispatches] == [
        ("F1", "passed_over", "alice"),
        ("E1", "accepted", "alice"),
        ("F2", "pending", "system"),
    ]
    clock.to(400)
    arrived = await lifecycle.arrive(emergency.id, "alice")
    assert arrived.dispatches[0].arrived_at == T0 + timedelta(seconds=400)
    resolved = await lifecycle.resolve(alert_id, "bob", Outcome.GENUINE_EMERGENCY, "to hospital")
    assert [(d.responder_id, d.status) for d in resolved.dispatches] == [("F2", "cancelled")]
    assert notifier.take() == ["F2"], "the pending responder hears of the cancellation"
    assert await stored_deadlines(store, alert_id) == {}
    actions = [a for a, *_ in await trail(store, alert_id)]
    assert actions == ["open", "dispatch", "accept", "pass_over", "dispatch", "arrive", "resolve"]


async def test_refusals(store: Store, lifecycle: Lifecycle, clock: Clock) -> None:
    alert_id = await open_alert(store, lifecycle)
    with pytest.raises(InvalidCommandError, match="no responder NOBODY"):
        await lifecycle.dispatch(alert_id, "alice", ["F1", "NOBODY"])
    with pytest.raises(AlertNotFoundError):
        await lifecycle.acknowledge(uuid.uuid4(), "alice")
    with pytest.raises(DispatchNotFoundError):
        await lifecycle.accept(uuid.uuid4(), "alice")
    await lifecycle.resolve(alert_id, "alice", Outcome.TEST)
    with pytest.raises(IllegalTransitionError, match="resolved"):
        await lifecycle.escalate(alert_id, "sam")
    alert = await store.get_alert(alert_id)
    assert alert is not None
    assert alert.version == 1, "refusals write nothing"


async def test_a_failed_notification_is_recorded_and_escalates(
    store: Store, lifecycle: Lifecycle, clock: Clock, notifier: RecordingNotifier
) -> None:
    alert_id = await open_alert(store, lifecycle)
    family = next(r for r in notifier.requests if r.recipient == "F1")
    notifier.take()
    clock.to(8)
    await lifecycle.notification_failed(
        DeliveryResult(family, "failed", "webhook", 3, "HTTP 502 from the receiver")
    )
    assert notifier.take() == ["queue:supervisor", "F2"]
    assert await trail(store, alert_id) == [
        ("open", 0, 0, "system"),
        ("notification_failed", 8, 0, "system"),
        ("escalate", 8, 1, "system"),
    ]
    transitions = await store.alert_transitions(alert_id)
    assert "HTTP 502" in transitions[1].reason
    assert await stored_deadlines(store, alert_id) == {"escalate": 180, "remind": 38}
    # A delivered result changes nothing.
    await lifecycle.notification_failed(DeliveryResult(family, "delivered", "webhook", 1))
    assert len(await store.alert_transitions(alert_id)) == 3


async def test_deadlines_survive_a_new_runner_and_fire_once(
    store: Store, lifecycle: Lifecycle, clock: Clock, notifier: RecordingNotifier
) -> None:
    alert_id = await open_alert(store, lifecycle)
    notifier.take()
    # A new runner (a restart) over the same database, 75 s later: both deadlines are overdue.
    clock.to(75)
    again = Lifecycle(store, None, notifier=notifier, clock=clock)
    assert await again.restore() == 2
    await again.fire_due()
    # Overdue: the reminder of 30 s and the escalation of 60 s, each once, at once.
    assert sorted(notifier.take()) == sorted(["queue:operator", "F1", "queue:supervisor", "F2"])
    # Restoring twice (a duplicate firing) does nothing more.
    assert await again.restore() == 2
    await again.fire_due()
    assert notifier.take() == []
    assert [a for a, *_ in await trail(store, alert_id)] == ["open", "remind", "escalate"]
    assert await stored_deadlines(store, alert_id) == {"escalate": 180, "remind": 90}


async def test_two_operators_acknowledge_at_once(store: Store, lifecycle: Lifecycle) -> None:
    alert_id = await open_alert(store, lifecycle)
    outcomes = await asyncio.gather(
        lifecycle.acknowledge(alert_id, "alice"),
        lifecycle.acknowledge(alert_id, "bob"),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, IllegalTransitionError)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    winner = won[0].alert.acknowledged_by
    assert lost[0].facts["acknowledged_by"] == winner
    assert [a for a, *_ in await trail(store, alert_id)] == ["open", "acknowledge"]


async def test_a_trigger_attached_meanwhile_does_not_undo_an_acknowledgement(
    store: Store, lifecycle: Lifecycle
) -> None:
    alert_id = await open_alert(store, lifecycle)
    await lifecycle.acknowledge(alert_id, "alice")
    change = await press_sos(store, lifecycle, "H1", T0 + timedelta(seconds=3))
    assert change.change == "attached"
    alert = await store.get_alert(alert_id)
    assert alert is not None
    assert (alert.status, alert.acknowledged_by, alert.trigger_count) == (
        "acknowledged",
        "alice",
        2,
    )
    assert alert.version == 2
