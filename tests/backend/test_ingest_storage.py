"""One transaction per batch on SQLite and PostgreSQL: idempotency, alerts, dead letters."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from backend import Backend, StorageError
from backend.detectors import ImmediateState
from backend.ingest import commit_plan, plan_batch
from backend.storage import AlertFilter, AlertRow, EventFilter, Store
from protocol import encode_batch, encode_envelope, events_topic
from protocol.mqtt import MqttClient, MqttMessage
from tests.backend.conftest import backend_config, envelope, home_id
from tests.brokers import Broker

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _msg(home: str, payload: bytes) -> MqttMessage:
    return MqttMessage(events_topic(home), payload, 1, False, 1)


async def test_redelivered_batch_is_stored_and_alerted_once(store: Store) -> None:
    sos = envelope("H1", "sos", {"source": "button"}, seq=1)
    door = envelope("H1", "contact", {"open": True}, seq=2)
    payload = encode_batch([sos, door])
    state = ImmediateState()
    state, first = await commit_plan(store, plan_batch([_msg("H1", payload)], NOW), state, NOW)
    state, again = await commit_plan(store, plan_batch([_msg("H1", payload)], NOW), state, NOW)
    assert (first.stored, first.duplicates, len(first.changes)) == (2, 0, 1)
    assert (again.stored, again.duplicates, again.changes) == (0, 2, [])
    assert await store.count_events("H1") == 2
    (alert,) = await store.list_alerts(AlertFilter(home="H1"))
    assert (alert.kind, alert.priority, alert.status, alert.trigger_count) == ("sos", 1, "open", 1)
    assert [e.id for e in await store.alert_events(alert.id)] == [sos.id]
    (opened,) = await store.alert_transitions(alert.id)
    assert (opened.actor, opened.from_status, opened.to_status) == ("system", None, "open")


async def test_further_triggers_attach_in_order(store: Store) -> None:
    events = [envelope("H1", "sos", {"source": "button"}, seq=i) for i in range(3)]
    smoke = envelope("H1", "smoke", {"alarm": True}, seq=3)
    plan = plan_batch([_msg("H1", encode_batch([*events, smoke]))], NOW)
    _, outcome = await commit_plan(store, plan, ImmediateState(), NOW)
    assert [(c.change, c.alert.kind) for c in outcome.changes] == [
        ("opened", "sos"),
        ("attached", "sos"),
        ("attached", "sos"),
        ("opened", "smoke"),
    ]
    alerts = await store.list_alerts(AlertFilter(home="H1", kind="sos"))
    assert len(alerts) == 1
    assert alerts[0].trigger_count == 3
    assert alerts[0].last_event_id == events[2].id
    assert [e.id for e in await store.alert_events(alerts[0].id)] == [e.id for e in events]


async def test_a_bad_item_is_dead_lettered_while_the_batch_is_stored(store: Store) -> None:
    good = envelope("H1", "gas", {"alarm": True})
    payload = b"[" + encode_envelope(good) + b',{"v":1,"type":"sos"}]'
    _, outcome = await commit_plan(
        store, plan_batch([_msg("H1", payload)], NOW), ImmediateState(), NOW
    )
    assert (outcome.stored, outcome.dead_lettered) == (1, 1)
    (dead,) = await store.list_dead_letters()
    assert dead.reason.startswith("invalid envelope: item 1")
    assert dead.topic == events_topic("H1")


async def test_one_unresolved_alert_per_home_and_kind(store: Store) -> None:
    def alert() -> AlertRow:
        return AlertRow(
            uuid.uuid4(), "H1", "sos", 1, "open", 0, NOW, NOW, 1, uuid.uuid4(), uuid.uuid4()
        )

    async def insert_two() -> None:
        async with store.transaction() as tx:
            await tx.insert_alert(alert())
            await tx.insert_alert(alert())

    with pytest.raises(StorageError):
        await insert_two()
    async with store.transaction() as tx:
        await tx.insert_alert(alert())
        current = await tx.find_unresolved_alert("H1", "sos")
        assert current is not None
        await tx.update_alert(replace(current, status="resolved"))
        assert await tx.find_unresolved_alert("H1", "sos") is None
        await tx.insert_alert(alert())
    assert len(await store.list_alerts(AlertFilter(home="H1"))) == 2


@pytest.mark.broker
async def test_backend_migrates_and_ingests_on_each_database(
    broker: Broker, fresh_database_url: str
) -> None:
    home = home_id()
    config = backend_config(broker, fresh_database_url)
    config = config.model_copy(update={"api": config.api.model_copy(update={"enabled": False})})
    sos = envelope(home, "sos", {"source": "wearable"})
    async with (
        Backend(config) as backend,
        MqttClient(host=broker.host, port=broker.port, client_id=f"gw-{home}") as gateway,
    ):
        assert backend.api_port is None
        with backend.hub.subscribe() as sub:
            await gateway.publish(events_topic(home), encode_envelope(sos))
            async with asyncio.timeout(10):
                change = await anext(sub)
        assert (change.change, change.event_id) == ("opened", sos.id)
        stored = await backend.store.list_events(EventFilter(home=home))
        assert [e.id for e in stored] == [sos.id]
        assert stored[0].received_at >= stored[0].at - timedelta(seconds=5)
