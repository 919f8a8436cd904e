"""The ingest loop: drain, commit one batch per transaction, then acknowledge, then announce."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from backend._errors import StorageError
from backend.detectors import ImmediateState
from backend.hub import Hub
from backend.ingest._commit import Outcome, commit_plan
from backend.ingest._detection import Detection
from backend.ingest._plan import SOURCE, Plan, plan_batch
from backend.ingest._seq import SeqTrack
from backend.storage import DeadLetterRow, Store
from protocol import TopicError, parse_topic
from protocol.events import LIFE_SAFETY_TYPES
from protocol.mqtt import MqttClient, MqttMessage

__all__ = ["SUBSCRIPTIONS", "Ingest", "IngestStats"]

_log = logging.getLogger(__name__)

#: Messages decoded between two steps of the commit in flight.
_PLAN_SLICE = 20
SUBSCRIPTIONS: list[tuple[str, int]] = [("homecare/v1/+/events", 1), ("homecare/v1/+/status", 1)]


@dataclass(slots=True)
class IngestStats:
    """Counters since start; they carry no resident data."""

    received: int = 0
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    statuses: int = 0
    alerts_opened: int = 0
    alerts_attached: int = 0
    alerts_cleared: int = 0
    storage_failures: int = 0
    internal_errors: int = 0
    batches: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _topic_home(topic: str) -> str | None:
    try:
        return parse_topic(topic).home
    except TopicError:
        return None


class Ingest:
    """Consume gateway events and status from one MQTT session (``manual_ack=True``)."""

    def __init__(
        self,
        client: MqttClient,
        store: Store,
        hub: Hub,
        *,
        stats: IngestStats | None = None,
        batch_limit: int = 250,
        batch_bytes: int = 256 * 1024,
        clock: Callable[[], datetime] = _utcnow,
        retry_delay_s: float = 0.2,
        max_retry_delay_s: float = 30.0,
        detection: Detection | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._hub = hub
        self.stats = stats or IngestStats()
        self._limit = batch_limit
        self._max_bytes = batch_bytes
        self._clock = clock
        self._retry_delay = retry_delay_s
        self._max_retry_delay = max_retry_delay_s
        self._state = ImmediateState()
        self._detection = detection
        self.sequences: dict[str, SeqTrack] = {}
        self._stopping = False
        self._idle = True
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run the loop as a task."""
        self._task = asyncio.create_task(self.run(), name="backend-ingest")

    async def stop(self) -> None:
        """Finish the batch in hand, then end the loop."""
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        if self._idle:
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise

    async def run(self) -> None:
        """Process batches until stopped; supervises every batch.

        Batches are pipelined: while one commits (its database work runs in the driver's
        thread or in the server), the next is decoded. Commits stay in arrival order, and
        each batch is acknowledged as soon as its own commit is done.
        """
        committing: asyncio.Task[None] | None = None
        try:
            while not self._stopping:
                batch = self._take()
                if not batch:
                    if committing is not None:
                        await committing
                        committing = None
                        continue
                    self._idle = True
                    await self._client.wait_messages()
                    batch = self._take()
                    if not batch:
                        if not self._client.is_connected:
                            await self._client.wait_connected()
                        continue
                    self._idle = False
                self._idle = False
                now = self._clock()
                plan: Plan | Exception
                try:
                    plan = await self._plan(batch, now)
                except Exception as err:  # noqa: BLE001 - handed to the batch's supervisor
                    plan = err
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._supervise(batch, plan, now))
        finally:
            if committing is not None:
                await committing

    def _take(self) -> list[MqttMessage]:
        """Take the messages already received, up to the batch limits."""
        batch: list[MqttMessage] = []
        size = 0
        while len(batch) < self._limit and size < self._max_bytes:
            got = self._client.drain(1)
            if not got:
                break
            batch.extend(got)
            size += len(got[0].payload)
        return batch

    async def _plan(self, batch: Sequence[MqttMessage], now: datetime) -> Plan:
        # Decode in slices, letting the commit in flight take its next step between them.
        plan: Plan | None = None
        for start in range(0, len(batch), _PLAN_SLICE):
            if plan is not None:
                await asyncio.sleep(0)
            plan = plan_batch(batch[start : start + _PLAN_SLICE], now, plan)
        return plan if plan is not None else Plan()

    async def _supervise(
        self, batch: Sequence[MqttMessage], plan: Plan | Exception, now: datetime
    ) -> None:
        if isinstance(plan, Plan):
            try:
                await self._handle(batch, plan, now)
            except Exception as err:  # noqa: BLE001 - the one supervisor of the ingest's batches
                plan = err
            else:
                return
        self.stats.internal_errors += 1
        _log.error("ingest failed on a batch of %d messages", len(batch), exc_info=plan)
        await self._dead_letter_and_ack(batch, "internal error while ingesting")

    async def _handle(self, batch: Sequence[MqttMessage], plan: Plan, now: datetime) -> None:
        urgent = {e.home for e in plan.envelopes if e.type in LIFE_SAFETY_TYPES}
        if urgent:
            # Homes with an SOS, a fall, smoke or gas go first, in a transaction of their own,
            # so that an alarm does not wait for a large batch of routine events to commit.
            # Each home's messages stay together and in order: its detectors see them so.
            first = [m for m in batch if _topic_home(m.topic) in urgent]
            if len(first) < len(batch):
                first_plan, rest_plan = plan.split(urgent)
                await self._handle_part(first, first_plan, now)
                rest = [m for m in batch if _topic_home(m.topic) not in urgent]
                await self._handle_part(rest, rest_plan, now)
                return
        await self._handle_part(batch, plan, now)

    async def _handle_part(self, batch: Sequence[MqttMessage], plan: Plan, now: datetime) -> None:
        self.stats.received += len(batch)
        self.stats.batches += 1
        self.stats.events += plan.events_received
        try:
            outcome = await self._commit(plan, now)
        except StorageError as err:
            self.stats.storage_failures += 1
            _log.warning("batch of %d failed (%s); retrying message by message", len(batch), err)
            for msg in batch:
                await self._handle_one(msg)
            return
        self._ack(batch)
        self._announce(outcome)

    async def _handle_one(self, msg: MqttMessage) -> None:
        delay = self._retry_delay
        attempts = 0
        while True:
            now = self._clock()
            try:
                outcome = await self._commit(plan_batch([msg], now), now)
            except StorageError as err:
                self.stats.storage_failures += 1
                attempts += 1
                if attempts >= 2 and await self._try_dead_letter(msg, f"storage refused: {err}"):
                    self._ack([msg])
                    return
                _log.warning("storing a message failed (%s); retrying in %.1f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_delay)
                continue
            self._ack([msg])
            self._announce(outcome)
            return

    async def _commit(self, plan: Plan, now: datetime) -> Outcome:
        detection = self._detection
        if detection is None:
            state, outcome = await commit_plan(
                self._store, plan, self._state, now, sequences=self.sequences
            )
        else:
            async with detection.lock:
                state, outcome = await commit_plan(
                    self._store,
                    plan,
                    self._state,
                    now,
                    sequences=self.sequences,
                    detection=detection,
                )
                if outcome.detection is not None:
                    detection.commit(outcome.detection)
        self._state = state
        self.sequences.update(outcome.sequences)
        return outcome

    async def _try_dead_letter(self, msg: MqttMessage, reason: str) -> bool:
        row = DeadLetterRow(self._clock(), SOURCE, msg.topic[:256], reason[:2000], msg.payload)
        try:
            async with self._store.transaction() as tx:
                await tx.add_dead_letter(row)
        except StorageError:
            return False
        self.stats.dead_lettered += 1
        return True

    async def _dead_letter_and_ack(self, batch: Sequence[MqttMessage], reason: str) -> None:
        for msg in batch:
            if await self._try_dead_letter(msg, reason):
                self._ack([msg])

    def _ack(self, batch: Sequence[MqttMessage]) -> None:
        for msg in batch:
            self._client.ack(msg)

    def _announce(self, outcome: Outcome) -> None:
        s = self.stats
        s.stored += outcome.stored
        s.duplicates += outcome.duplicates
        s.dead_lettered += outcome.dead_lettered
        s.statuses += outcome.statuses
        for change in outcome.changes:
            if change.change == "opened":
                s.alerts_opened += 1
            elif change.change == "attached":
                s.alerts_attached += 1
            else:
                s.alerts_cleared += 1
            self._hub.publish(change)
