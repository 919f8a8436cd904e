"""The fast ingest path: bulk inserts, envelopes kept as received, pipelined batches in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend import Backend
from backend._errors import StorageError
from backend.detectors import ImmediateState
from backend.ingest import commit_plan, plan_batch
from backend.ingest._seq import SeqTrack, observe
from backend.storage import EventFilter, EventRow, Store
from protocol import encode_batch, encode_envelope, events_topic
from protocol.mqtt import MqttClient, MqttMessage
from tests.backend.conftest import envelope, home_id

NOW = datetime(2026, 11, 23, 7, 42, tzinfo=UTC)


async def test_a_database_error_while_storing_events_is_a_storage_error(store: Store) -> None:
    rows = _rows("H1", 3)

    async def insert_without_the_table() -> None:
        async with store.transaction() as tx:
            await tx.conn.exec_driver_sql("ALTER TABLE events RENAME TO events_gone")
            await tx.insert_events(rows)

    with pytest.raises(StorageError, match="events"):
        await insert_without_the_table()


def _msg(topic: str, payload: bytes) -> MqttMessage:
    return MqttMessage(topic=topic, payload=payload, qos=1, retain=False, mid=1)


def _rows(home: str, count: int) -> list[EventRow]:
    """Rows as the ingest makes them, from envelopes that carry an unknown field."""
    envelopes = [
        envelope(home, "motion", {"motion": True}, seq=i, extra={"nested": [1, 2.5, None]})
        for i in range(count)
    ]
    messages = [
        _msg(events_topic(home), encode_batch(envelopes[i : i + 500])) for i in range(0, count, 500)
    ]
    return plan_batch(messages, NOW).rows


async def test_bulk_insert_returns_only_the_new_ids_of_a_large_batch(store: Store) -> None:
    rows = _rows("H1", 2000)
    async with store.transaction() as tx:
        assert await tx.insert_events(rows[::2]) == {r.id for r in rows[::2]}
    async with store.transaction() as tx:
        # Half of them stored before, one repeated within the batch: only the others are new.
        new = await tx.insert_events([*rows, rows[1]])
    assert new == {r.id for r in rows[1::2]}
    assert await store.count_events("H1") == 2000
    (back,) = await store.list_events(EventFilter(home="H1"), limit=1)
    sent = next(r for r in rows if r.id == back.id)
    assert back == sent
    assert back.raw["extra"] == {"nested": [1, 2.5, None]}


async def test_bulk_insert_refuses_a_naive_time(store: Store) -> None:
    naive = datetime(2026, 11, 23, 7, 42)  # noqa: DTZ001 - the point of the test
    row = replace(_rows("H1", 1)[0], at=naive)
    with pytest.raises(StorageError, match="timezone-aware"):
        async with store.transaction() as tx:
            await tx.insert_events([row])
    assert await store.count_events() == 0


async def test_a_home_is_recorded_with_its_first_event_and_numbered_after(store: Store) -> None:
    home = home_id()
    first = plan_batch(
        [
            _msg(
                events_topic(home),
                encode_envelope(envelope(home, "motion", {"motion": True}, seq=7)),
            )
        ],
        NOW,
    )
    _, outcome = await commit_plan(store, first, ImmediateState(), NOW)
    later = NOW + timedelta(minutes=1)
    again = plan_batch(
        [
            _msg(
                events_topic(home),
                encode_envelope(envelope(home, "motion", {"motion": False}, seq=9)),
            )
        ],
        later,
    )
    await commit_plan(store, again, ImmediateState(), later, sequences=outcome.sequences)
    row = await store.get_home(home)
    assert row is not None
    assert row.first_seen == NOW
    assert row.sequence == {"high": 9, "missing": [[8, 8]], "resets": 0, "forgotten": 0}


def test_plan_stores_each_envelope_as_it_was_received() -> None:
    home = home_id()
    sent = json.loads(encode_envelope(envelope(home, "motion", {"motion": True})))
    sent["at"] = "2026-11-23T08:42:10.123+01:00"  # valid, though not how a gateway writes it
    sent["firmware"] = {"version": "2.1"}
    bad = {**sent, "id": str(uuid.uuid4()), "data": {"motion": "yes"}}
    plan = plan_batch([_msg(events_topic(home), json.dumps([sent, bad]).encode())], NOW)
    assert [r.raw for r in plan.rows] == [sent]
    assert plan.rows[0].at == datetime(2026, 11, 23, 7, 42, 10, 123000, tzinfo=UTC)
    assert plan.rows[0].data == {"motion": True}
    (dead,) = plan.dead
    assert dead.reason.startswith("invalid envelope: item 1: ")
    assert "data of a motion event: motion: Input should be a valid boolean" in dead.reason
    assert json.loads(dead.payload) == bad


def test_a_batch_planned_in_slices_drops_repeats_across_them() -> None:
    home = home_id()
    event = envelope(home, "motion", {"motion": True})
    first = plan_batch([_msg(events_topic(home), encode_envelope(event))], NOW)
    both = plan_batch([_msg(events_topic(home), encode_envelope(event))], NOW, first)
    assert both is first
    assert [r.id for r in both.rows] == [event.id]
    assert both.repeated_in_batch == 1


@given(st.lists(st.integers(0, 120), max_size=60), st.integers(-1, 40))
def test_observing_numbers_at_once_equals_one_at_a_time(seqs: list[int], high: int) -> None:
    start = SeqTrack(high=high)
    one_by_one = start
    for seq in seqs:
        one_by_one = observe(one_by_one, [seq])
    assert observe(start, seqs) == one_by_one


@pytest.mark.broker
@pytest.mark.timeout(60)
async def test_pipelined_batches_announce_alerts_in_arrival_order(
    backend: Backend, gateway: MqttClient
) -> None:
    homes = [home_id() for _ in range(30)]
    with backend.hub.subscribe() as sub:
        await asyncio.gather(
            *(
                gateway.publish(
                    events_topic(home),
                    b"["
                    + b",".join(
                        [
                            *(
                                encode_envelope(envelope(home, "motion", {"motion": True}, seq=i))
                                for i in range(100)
                            ),
                            encode_envelope(envelope(home, "sos", {"source": "button"}, seq=100)),
                        ]
                    )
                    + b"]",
                )
                for home in homes
            )
        )
        opened: list[str] = []
        async with asyncio.timeout(30):
            while len(opened) < len(homes):
                change = await anext(sub)
                opened.append(change.alert.home)
    # One connection, so the broker keeps the publishing order, and so does the backend
    # across its batches (each at most 256 KiB, so there are several).
    assert opened == homes
    assert backend.stats.stored == 101 * len(homes)
    assert backend.stats.batches > 1


def test_a_plan_splits_by_home_keeping_each_homes_order() -> None:
    alarm, calm = home_id(), home_id()
    messages = [
        _msg(events_topic(calm), encode_envelope(envelope(calm, "motion", {"motion": True}))),
        _msg(
            events_topic(alarm),
            encode_batch(
                [
                    envelope(alarm, "motion", {"motion": True}, seq=1),
                    envelope(alarm, "sos", {"source": "button"}, seq=2),
                ]
            ),
        ),
        _msg(events_topic(calm), b"not json"),
    ]
    plan = plan_batch(messages, NOW)
    first, rest = plan.split({alarm})
    assert [(e.home, e.type.value) for e in first.envelopes] == [
        (alarm, "motion"),
        (alarm, "sos"),
    ]
    assert [r.id for r in first.rows] == [e.id for e in first.envelopes]
    assert [e.home for e in rest.envelopes] == [calm]
    assert len(rest.dead) == 1
    assert first.dead == []
    assert first.events_received + rest.events_received == plan.events_received == 3


@pytest.mark.broker
@pytest.mark.timeout(60)
async def test_an_sos_amid_a_burst_of_routine_events_is_stored_and_alerted_once(
    backend: Backend, gateway: MqttClient
) -> None:
    routine = [home_id() for _ in range(150)]
    alarm = home_id()
    sos = envelope(alarm, "sos", {"source": "button"})
    with backend.hub.subscribe() as sub:
        await asyncio.gather(
            *(
                gateway.publish(
                    events_topic(home), encode_envelope(envelope(home, "motion", {"motion": True}))
                )
                for home in routine[:75]
            ),
            gateway.publish(events_topic(alarm), encode_envelope(sos)),
            *(
                gateway.publish(
                    events_topic(home), encode_envelope(envelope(home, "motion", {"motion": True}))
                )
                for home in routine[75:]
            ),
        )
        async with asyncio.timeout(30):
            change = await anext(sub)
    assert (change.change, change.alert.home, change.event_id) == ("opened", alarm, sos.id)
    async with asyncio.timeout(30):
        while backend.stats.stored < len(routine) + 1:  # noqa: ASYNC110 - the ingest's counter
            await asyncio.sleep(0.05)
    assert backend.stats.alerts_opened == 1
    assert backend.stats.duplicates == 0
