"""The outbox's disk budget, eviction policy and send order, on real SQLite files."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway._store import open_store
from gateway.outbox import ROW_OVERHEAD_BYTES, EventClass, Outbox, event_class
from gateway.pipeline import Reading
from protocol import LIFE_SAFETY_TYPES, EventType
from tests.gateway._helpers import at

_DATA: dict[EventType, dict[str, Any]] = {
    EventType.CONTACT: {"open": True},
    EventType.MOTION: {"motion": True},
    EventType.PRESENCE: {"present": True},
    EventType.BED: {"occupied": False},
    EventType.SMOKE: {"alarm": True},
    EventType.GAS: {"alarm": True},
    EventType.WATER_LEAK: {"alarm": True},
    EventType.SOS: {"source": "button"},
    EventType.FALL: {"source": "radar", "confidence": 0.9},
    EventType.VITALS: {"heart_rate": 60, "respiration_rate": 14},
    EventType.LOCATION: {"lat": 52.5, "lon": 13.4, "accuracy_m": 5.0},
    EventType.BATTERY: {"percent": 40, "low": False},
    EventType.TAMPER: {"tampered": True},
    EventType.DEVICE_STATUS: {"online": False, "reason": "zigbee2mqtt availability"},
}


def _r(event_type: EventType, t: float = 0, device: str = "dev") -> Reading:
    return Reading(device, event_type, _DATA[event_type], at(t), "room")


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    c = open_store(tmp_path / "gateway.db")
    yield c
    c.close()


def _types(outbox: Outbox) -> list[str]:
    return [str(e.type) for e in outbox.next_batch(10_000)]


def test_classes_follow_the_documented_policy() -> None:
    for t in LIFE_SAFETY_TYPES:
        assert event_class(t, life_safety_device=False) is EventClass.LIFE_SAFETY
    assert event_class(EventType.WATER_LEAK, life_safety_device=False) is EventClass.URGENT
    assert event_class(EventType.TAMPER, life_safety_device=True) is EventClass.URGENT
    assert event_class(EventType.TAMPER, life_safety_device=False) is EventClass.MAINTENANCE
    assert event_class(EventType.BATTERY, life_safety_device=True) is EventClass.MAINTENANCE
    assert event_class(EventType.DEVICE_STATUS, life_safety_device=True) is EventClass.MAINTENANCE
    for t in (EventType.CONTACT, EventType.MOTION, EventType.PRESENCE, EventType.BED):
        assert event_class(t, life_safety_device=False) is EventClass.ACTIVITY


def test_maintenance_is_evicted_before_activity_and_oldest_first(
    conn: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(conn, "H0001", max_events=4)
    outbox.put([_r(EventType.BATTERY, 0), _r(EventType.CONTACT, 1), _r(EventType.BATTERY, 2)])
    outbox.put([_r(EventType.MOTION, 3)])
    assert outbox.size() == 4
    with caplog.at_level(logging.WARNING, logger="gateway.outbox"):
        outbox.put([_r(EventType.CONTACT, 4)])
    kept = outbox.next_batch(10)
    assert [(str(e.type), e.seq) for e in kept] == [
        ("contact", 1),
        ("battery", 2),
        ("motion", 3),
        ("contact", 4),
    ]
    outbox.put([_r(EventType.CONTACT, 5), _r(EventType.CONTACT, 6)])
    # The last maintenance event goes, then the oldest activity.
    assert [e.seq for e in outbox.next_batch(10)] == [3, 4, 5, 6]
    assert outbox.stats["evicted:maintenance"] == 2
    assert outbox.stats["evicted:activity"] == 1
    assert outbox.stats["evicted"] == 3
    assert "evicted the 1 oldest maintenance events" in caplog.text
    assert "dev" not in caplog.text  # no device ids, let alone personal data


def test_life_safety_is_never_evicted_and_over_budget_is_reported(
    conn: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(conn, "H0001", max_events=3)
    outbox.put([_r(EventType.SOS, 0), _r(EventType.MOTION, 1), _r(EventType.SMOKE, 2)])
    with caplog.at_level(logging.ERROR, logger="gateway.outbox"):
        outbox.put([_r(EventType.GAS, 3), _r(EventType.FALL, 4)])
    assert _types(outbox) == ["sos", "smoke", "gas", "fall"]
    assert outbox.over_budget
    assert outbox.stats["over_budget"] == 1
    assert "only life-safety events left" in caplog.text
    # A maintenance event arriving now is the one that goes.
    outbox.put([_r(EventType.BATTERY, 5)])
    assert _types(outbox) == ["sos", "smoke", "gas", "fall"]
    assert outbox.stats["over_budget"] == 1  # reported once per episode
    outbox.ack_pending(outbox.next_pending(2))
    assert not outbox.over_budget


def test_the_byte_budget_counts_bodies_and_row_overhead(conn: sqlite3.Connection) -> None:
    probe = Outbox(conn, "H0001")
    (one,) = probe.put([_r(EventType.CONTACT, 0)])
    per_event = probe.bytes_used()
    assert per_event > ROW_OVERHEAD_BYTES
    probe.ack([one.id])
    assert probe.bytes_used() == 0

    outbox = Outbox(conn, "H0001", max_bytes=10 * per_event + per_event // 2)
    outbox.put([_r(EventType.CONTACT, t) for t in range(1, 15)])
    assert outbox.size() == 10
    assert outbox.bytes_used() <= 10 * per_event + per_event // 2
    assert [e.seq for e in outbox.next_batch(20)] == list(range(5, 15))


def test_urgent_goes_after_activity_and_a_life_safety_devices_tamper_is_urgent(
    conn: sqlite3.Connection,
) -> None:
    outbox = Outbox(conn, "H0001", max_events=3, life_safety_devices=["smoke-1"])
    outbox.put(
        [
            _r(EventType.TAMPER, 0, device="smoke-1"),
            _r(EventType.WATER_LEAK, 1),
            _r(EventType.CONTACT, 2),
            _r(EventType.TAMPER, 3, device="door-1"),
        ]
    )
    assert _types(outbox) == ["tamper", "water_leak", "contact"]
    outbox.put([_r(EventType.VITALS, 4)])
    assert _types(outbox) == ["tamper", "water_leak", "vitals"]
    outbox.put([_r(EventType.SOS, 5)])
    assert [e.device for e in outbox.next_batch(10)] == ["dev", "dev", "dev"]
    assert _types(outbox) == ["sos", "water_leak", "vitals"]


def test_life_safety_events_are_sent_first_and_each_class_keeps_its_order(
    conn: sqlite3.Connection,
) -> None:
    outbox = Outbox(conn, "H0001")
    outbox.put([_r(EventType.CONTACT, t, device=f"d{t % 3}") for t in range(6)])
    outbox.put([_r(EventType.SMOKE, 6, device="s"), _r(EventType.BATTERY, 7, device="d0")])
    outbox.put([_r(EventType.SOS, 8, device="b"), _r(EventType.SMOKE, 9, device="s")])
    pending = outbox.next_pending(4)
    assert [p.seq for p in pending] == [6, 8, 9, 0]
    assert [p.cls for p in pending[:3]] == [EventClass.LIFE_SAFETY] * 3
    assert [e.seq for e in outbox.next_batch(100)] == [6, 8, 9, 0, 1, 2, 3, 4, 5, 7]
    outbox.ack_pending(pending)
    assert [p.seq for p in outbox.next_pending(100)] == [1, 2, 3, 4, 5, 7]
    body = json.loads(outbox.next_pending(1)[0].body)
    assert body["seq"] == 1


def test_sizes_are_rebuilt_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    conn = open_store(path)
    first = Outbox(conn, "H0001")
    first.put([_r(EventType.SOS, 0), _r(EventType.BATTERY, 1), _r(EventType.CONTACT, 2)])
    used = first.bytes_used()
    conn.close()
    conn = open_store(path)
    try:
        again = Outbox(conn, "H0001")
        assert (again.size(), again.bytes_used()) == (3, used)
        assert again.counts_by_class() == {"life_safety": 1, "activity": 1, "maintenance": 1}
    finally:
        conn.close()


def test_an_outbox_from_before_event_classes_is_classified_on_open(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
        " body TEXT NOT NULL);"
    )
    bodies = [(0, "a", "contact"), (1, "b", "sos"), (2, "c", "battery"), (3, "d", "water_leak")]
    old.executemany(
        "INSERT INTO outbox VALUES (?, ?, ?)",
        [(s, i, json.dumps({"type": t})) for s, i, t in bodies],
    )
    old.commit()
    old.close()
    conn = open_store(path)
    try:
        rows = conn.execute("SELECT seq, cls FROM outbox ORDER BY seq").fetchall()
        assert rows == [(0, 2), (1, 0), (2, 3), (3, 1)]
    finally:
        conn.close()


_TYPES = st.sampled_from(list(EventType))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    puts=st.lists(st.lists(_TYPES, min_size=1, max_size=8), min_size=1, max_size=12),
    max_events=st.integers(min_value=1, max_value=12),
)
def test_the_budget_holds_unless_only_life_safety_is_left(
    tmp_path_factory: pytest.TempPathFactory, puts: list[list[EventType]], max_events: int
) -> None:
    conn = open_store(tmp_path_factory.mktemp("prop") / "gateway.db")
    try:
        outbox = Outbox(conn, "H0001", max_events=max_events)
        sent: list[tuple[int, EventType]] = []
        for batch in puts:
            stored = outbox.put([_r(t, 0, device=f"d{i % 2}") for i, t in enumerate(batch)])
            sent += [(p.seq, EventType(json.loads(p.body)["type"])) for p in stored]
        kept = outbox.next_batch(10_000)
        kept_seqs = {e.seq for e in kept}
        # Every life-safety event is kept.
        assert {s for s, t in sent if t in LIFE_SAFETY_TYPES} <= kept_seqs
        life = sum(1 for e in kept if e.type in LIFE_SAFETY_TYPES)
        assert len(kept) <= max(max_events, life)
        assert outbox.size() == len(kept)
        assert outbox.over_budget == (len(kept) > max_events)
        # Life-safety first, then the rest, each in seq order (so per-device order holds).
        split = [e.type in LIFE_SAFETY_TYPES for e in kept]
        assert split == sorted(split, reverse=True)
        assert [e.seq for e in kept[:life]] == sorted(e.seq for e in kept[:life])
        assert [e.seq for e in kept[life:]] == sorted(e.seq for e in kept[life:])
        # Eviction takes the oldest of the least important class present: a kept event
        # of the same or a less important class than an evicted one is newer than it.
        for seq, t in sent:
            if seq in kept_seqs:
                continue
            evicted_cls = event_class(t, life_safety_device=False)
            assert evicted_cls is not EventClass.LIFE_SAFETY
            for e in kept:
                if event_class(e.type, life_safety_device=False) >= evicted_cls:
                    assert e.seq > seq
    finally:
        conn.close()
