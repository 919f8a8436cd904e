"""The outbox and dead-letter store on real SQLite files."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from gateway import InvalidReadingError
from gateway._store import open_store
from gateway.deadletter import DeadLetters
from gateway.outbox import Outbox, Pending
from gateway.pipeline import Reading
from gateway.sources import Rejection
from protocol import Envelope, EventType, decode_envelope
from tests.gateway._helpers import at


def _reading(t: float, device: str = "door-front") -> Reading:
    return Reading(device, EventType.CONTACT, {"open": t % 2 == 0}, at(t), "entrance")


def _decoded(stored: Sequence[Pending]) -> list[Envelope]:
    """Decode stored bodies with the reference models: each must be a valid envelope."""
    return [decode_envelope(json.loads(p.body)) for p in stored]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store" / "gateway.db"


@pytest.fixture
def outbox(db: Path) -> Iterator[Outbox]:
    conn = open_store(db)
    yield Outbox(conn, "H0001")
    conn.close()


def test_put_assigns_ids_seq_and_observation_time(outbox: Outbox) -> None:
    stored = outbox.put([_reading(0), _reading(1)])
    envelopes = _decoded(stored)
    assert [p.seq for p in stored] == [e.seq for e in envelopes] == [0, 1]
    assert [p.id for p in stored] == [str(e.id) for e in envelopes]
    assert envelopes[0].id != envelopes[1].id
    assert envelopes[0].id.version == 7
    assert envelopes[1].at == at(1)
    assert (envelopes[0].home, envelopes[0].device, envelopes[0].room) == (
        "H0001",
        "door-front",
        "entrance",
    )


def test_next_batch_returns_stored_envelopes_in_order(outbox: Outbox) -> None:
    stored = outbox.put([_reading(t) for t in range(5)])
    assert outbox.next_pending(3) == stored[:3]
    assert outbox.next_batch(10) == _decoded(stored)
    assert [e.data.model_dump() for e in _decoded(stored)] == [
        {"open": t % 2 == 0} for t in range(5)
    ]


def test_nothing_leaves_before_ack(outbox: Outbox) -> None:
    stored = outbox.put([_reading(t) for t in range(3)])
    outbox.next_batch(10)
    outbox.next_batch(10)
    assert outbox.size() == 3
    assert outbox.ack([stored[1].id]) == 1
    assert [e.seq for e in outbox.next_batch(10)] == [0, 2]
    assert outbox.ack([stored[1].id]) == 0
    assert outbox.ack(e.id for e in stored) == 2
    assert outbox.size() == 0
    assert outbox.next_batch(10) == []


def test_seq_and_events_survive_reopen(db: Path) -> None:
    conn = open_store(db)
    first = Outbox(conn, "H0001").put([_reading(0), _reading(1)])
    Outbox(conn, "H0001").ack([first[0].id])
    conn.close()

    conn = open_store(db)
    try:
        reopened = Outbox(conn, "H0001")
        assert reopened.next_pending(10) == [first[1]]
        later = reopened.put([_reading(2)])
        assert later[0].seq == 2
        assert reopened.next_seq() == 3
    finally:
        conn.close()


def test_an_invalid_reading_stores_nothing_and_uses_no_seq(outbox: Outbox) -> None:
    bad = Reading("door-front", EventType.CONTACT, {"open": "yes"}, at(0))
    with pytest.raises(InvalidReadingError) as caught:
        outbox.put([_reading(0), bad])
    assert caught.value.index == 1
    assert outbox.size() == 0
    assert outbox.put([_reading(1)])[0].seq == 0


def test_put_of_nothing_is_nothing(outbox: Outbox) -> None:
    assert outbox.put([]) == []
    assert outbox.ack([]) == 0


def test_store_runs_in_wal_mode_with_full_sync(db: Path) -> None:
    conn = open_store(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        conn.close()


def test_dead_letters_are_stored_counted_and_bounded(db: Path) -> None:
    conn = open_store(db)
    try:
        dead = DeadLetters(conn, keep=3)
        dead.add([Rejection("malformed JSON", "zigbee2mqtt", b"{", at(0), "zigbee2mqtt/x")])
        dead.add([Rejection("unknown device", "serial:rf", bytes([0xFD]), at(i)) for i in range(4)])
        assert dead.counts == {"malformed JSON": 1, "unknown device": 4}
        kept = dead.recent()
        assert len(kept) == 3
        assert {k.reason for k in kept} == {"unknown device"}
        assert kept[0].raw == b"\xfd"
        assert kept[0].source == "serial:rf"
    finally:
        conn.close()


def test_dead_letters_survive_reopen(db: Path) -> None:
    conn = open_store(db)
    DeadLetters(conn).add([Rejection("bad availability", "zigbee2mqtt", b"\x00", at(0))])
    conn.close()
    conn = open_store(db)
    try:
        (letter,) = DeadLetters(conn).recent()
        assert (letter.reason, letter.raw, letter.at) == (
            "bad availability",
            b"\x00",
            "2026-11-23T07:42:10.123Z",
        )
    finally:
        conn.close()
