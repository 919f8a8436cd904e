"""Crash safety: a backend killed with SIGKILL while 5,000 events are in flight loses none.

The backend acknowledges a message only after its events are committed, on a persistent
session; the broker delivers what was not acknowledged again after the restart, and the
event id turns each repeat into a duplicate. So every event is stored exactly once, each
SOS raises or attaches to its alert exactly once, and no gateway's numbering looks reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.storage import Store
from backend.storage._tables import alerts, events, homes
from protocol import events_topic, format_timestamp, new_event_id
from protocol.mqtt import NO_MATCHING_SUBSCRIBERS, MqttClient, MqttError
from tests.backend.conftest import TOKEN
from tests.brokers import Broker, free_port, mosquitto_binary, running_broker

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

EVENTS = 5000
HOMES = 10
PER_MESSAGE = 10
#: Kill once this many are stored: well under way, far from done.
KILL_AT = 1000
_SECRET = "crash-test-signing-key-0123456789abcdef01"


def _config(tmp_path: Path, broker: Broker, database_url: str) -> Path:
    path = tmp_path / "backend.toml"
    path.write_text(
        f'database_url = "{database_url}"\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        f'client_id = "crash-{uuid.uuid4().hex[:8]}"\n'
        f'[api]\nport = {free_port()}\ntoken = "{TOKEN}"\n'
        f'[auth]\nsecret_key = "{_SECRET}"\n'
    )
    return path


class _Backends:
    """Backend processes of one test, each logging to its own file; all killed at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self._dir = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, config: Path) -> subprocess.Popen[bytes]:
        log = (self._dir / f"backend-{len(self.procs)}.log").open("wb")
        # HOMECARE_* variables override the config (the test run's own would be refused).
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMECARE_")}
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "homecare", "backend", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self._dir.glob("backend-*.log"))
        )

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture
def backends(tmp_path: Path) -> Iterator[_Backends]:
    procs = _Backends(tmp_path)
    yield procs
    procs.kill_all()


def _messages(home_ids: list[str]) -> tuple[list[tuple[str, bytes]], set[str], Counter[str]]:
    """5,000 events from the homes, ten to a message; every 50th event is an SOS press."""
    messages: list[tuple[str, bytes]] = []
    ids: set[str] = set()
    sos: Counter[str] = Counter()
    seq = Counter[str]()
    at = format_timestamp(datetime.now(UTC))
    for m in range(EVENTS // PER_MESSAGE):
        home = home_ids[m % HOMES]
        items = []
        for _ in range(PER_MESSAGE):
            event_id = str(new_event_id())
            ids.add(event_id)
            n = len(ids)
            kind, data = (
                ("sos", '{"source":"pendant"}')
                if n % 50 == 0
                else (
                    "motion",
                    '{"motion":true}' if n % 2 else '{"motion":false}',
                )
            )
            if kind == "sos":
                sos[home] += 1
            items.append(
                f'{{"v":1,"id":"{event_id}","home":"{home}","device":"d-{kind}",'
                f'"type":"{kind}","at":"{at}","seq":{seq[home]},"room":"living","data":{data}}}'
            )
            seq[home] += 1
        messages.append((events_topic(home), ("[" + ",".join(items) + "]").encode()))
    return messages, ids, sos


async def _count(store: Store) -> int:
    async with store.reading() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar_one()
        )


async def _wait_subscribed(
    gateway: MqttClient, message: tuple[str, bytes], proc: subprocess.Popen[bytes]
) -> None:
    # Until the backend's session subscribes, the broker drops what nobody subscribed to
    # (and says so); a repeat of an event is harmless, its id makes it a duplicate.
    deadline = time.monotonic() + 30
    while await gateway.publish(*message) == NO_MATCHING_SUBSCRIBERS:
        assert proc.poll() is None, "the backend stopped"
        assert time.monotonic() < deadline, "the backend never subscribed"
        await asyncio.sleep(0.1)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker of this test's own: no other test's session subscribes to its events."""
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed")
    with running_broker(tmp_path / "broker") as b:
        yield b


async def test_kill_9_with_5000_events_in_flight_stores_each_exactly_once(
    broker: Broker, fresh_database_url: str, tmp_path: Path, backends: _Backends
) -> None:
    home_ids = [f"C{uuid.uuid4().hex[:8]}{i}" for i in range(HOMES)]
    messages, sent_ids, sos = _messages(home_ids)
    config = _config(tmp_path, broker, fresh_database_url)
    first = backends.start(config)
    async with MqttClient(
        host=broker.host, port=broker.port, client_id=f"gw-{uuid.uuid4().hex[:8]}"
    ) as gateway:
        try:
            await _wait_subscribed(gateway, messages[0], first)
        except AssertionError as err:
            raise AssertionError(f"{err}\n{backends.logs()}") from None
        store = await Store.open(fresh_database_url, migrate=False)
        publishing = asyncio.gather(*(gateway.publish(t, p) for t, p in messages[1:]))
        try:
            deadline = time.monotonic() + 60
            while (stored := await _count(store)) < KILL_AT:
                assert first.poll() is None, backends.logs()
                assert time.monotonic() < deadline, f"only {stored} stored\n{backends.logs()}"
                await asyncio.sleep(0.005)
            # Not right after a commit landed: at any moment of the batch that follows.
            await asyncio.sleep(random.uniform(0.0, 0.3))
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
            at_kill = await _count(store)
            # Everything is published; what the dead backend did not acknowledge waits in
            # its session on the broker.
            await publishing
            assert KILL_AT <= at_kill < EVENTS, f"{at_kill} stored when killed: not in flight"

            backends.start(config)
            deadline = time.monotonic() + 90
            while (stored := await _count(store)) < EVENTS:
                assert time.monotonic() < deadline, f"{stored} stored\n{backends.logs()}"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # late repeats, if any, would land now

            async with store.reading() as conn:
                rows = (await conn.execute(sa.select(events.c.id, events.c.raw))).all()
                sos_alerts = (
                    await conn.execute(
                        sa.select(alerts.c.home, alerts.c.trigger_count).where(
                            alerts.c.kind == "sos"
                        )
                    )
                ).all()
                sequences = {
                    r.id: r.sequence
                    for r in await conn.execute(sa.select(homes.c.id, homes.c.sequence))
                }
        finally:
            publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError, MqttError):
                await publishing
            await store.close()

    assert len(rows) == EVENTS
    assert {str(r.id) for r in rows} == sent_ids
    assert {r.raw["id"] for r in rows} == sent_ids
    # Each SOS press raised or attached exactly once: a redelivered one is a duplicate.
    assert sorted((str(h), int(n)) for h, n in sos_alerts) == sorted(sos.items())
    for home in home_ids:
        track = sequences[home]
        assert track["high"] == EVENTS // HOMES - 1
        assert (track["missing"], track["resets"]) == ([], 0), track
