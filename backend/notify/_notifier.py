"""``Notifications``: delivers the lifecycle's notification requests in the background.

Each request names a recipient: a responder, whose channels are tried in the order listed,
or a role queue (``queue:operator``), whose channels come from the ``[notify]`` config and
default to the console. A channel is tried up to ``max_attempts`` times with doubling
backoff; the first success ends the request. Every attempt updates the request's row in
``notifications``. When every channel has failed, the row is marked ``failed`` and the
failure callback is called, so that the ladder moves on.

Delivery is at least once: a crash between a send and its record leaves the row pending,
and ``resume()`` sends it again on the next start (and a sweep each minute picks up a row
whose delivery a database fault interrupted). Receivers drop repeats by the message's ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from backend._errors import StorageError
from backend.directory import (
    AppriseChannel,
    MqttChannel,
    WebhookChannel,
    channels_from_doc,
    get_responder,
)
from backend.notify._channels import (
    Adapter,
    AppriseAdapter,
    ConsoleAdapter,
    DeliveryError,
    MqttAdapter,
    Publish,
    WebhookAdapter,
)
from backend.notify._config import ConsoleChannel, NotifySettings
from backend.notify._model import DeliveryResult, FailureCallback, NotificationRequest
from backend.notify._records import NO_CHANNEL, is_pending, pending_requests, record_attempt
from backend.storage import Store

__all__ = ["QUEUE_PREFIX", "Notifications"]

_log = logging.getLogger(__name__)

#: Recipients that start with this are role queues, not responders.
QUEUE_PREFIX = "queue:"
#: How often pending rows are looked for again, should one have missed its worker (seconds).
_SWEEP_S = 60.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Notifications:
    """Deliver notifications on the recipients' channels and record every attempt.

    ``publish`` sends MQTT messages (pass the backend's ``MqttClient.publish``); without it
    the ``mqtt`` channel fails. ``on_failure`` (settable later, before ``start``) hears of
    every notification that failed on all its channels.
    """

    def __init__(
        self,
        store: Store,
        config: NotifySettings,
        *,
        publish: Publish | None = None,
        on_failure: FailureCallback | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._config = config
        self._publish = publish
        self.on_failure = on_failure
        self._clock = clock
        self._queue: asyncio.Queue[NotificationRequest] = asyncio.Queue()
        self._queued: set[UUID] = set()
        self._workers: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> int:
        """Start the workers and resend what a previous run left pending; return that count."""
        if self._workers:
            return 0
        self._http = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        self._workers = [
            asyncio.create_task(self._work(), name=f"notify-{i}")
            for i in range(self._config.workers)
        ]
        resumed = await self.resume()
        self._workers.append(asyncio.create_task(self._sweep(), name="notify-sweep"))
        return resumed

    async def stop(self) -> None:
        """Stop delivering; requests not finished stay pending for the next ``resume()``."""
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def resume(self) -> int:
        """Queue every pending notification in the database; return how many were queued."""
        async with self._store.reading() as conn:
            requests = await pending_requests(conn)
        before = len(self._queued)
        self.submit(requests)
        resumed = len(self._queued) - before
        if resumed:
            _log.info("resuming %d pending notifications", resumed)
        return resumed

    def submit(self, requests: Sequence[NotificationRequest]) -> None:
        """Queue ``requests`` (already committed as pending rows); never block."""
        for request in requests:
            if request.id in self._queued:
                continue
            self._queued.add(request.id)
            self._queue.put_nowait(request)

    async def join(self) -> None:
        """Wait until every queued request has been delivered or has failed."""
        await self._queue.join()

    async def _sweep(self) -> None:
        # A row whose delivery stopped on a database fault stays pending: try it again.
        while True:
            await asyncio.sleep(_SWEEP_S)
            try:
                await self.resume()
            except StorageError as err:
                _log.warning("cannot look for pending notifications: %s", err)

    # -- delivery ----------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            request = await self._queue.get()
            try:
                await self._deliver(request)
            except Exception:  # noqa: BLE001 - the one supervisor of each delivery worker
                _log.exception("notification %s: delivery stopped by an error", request.id)
            finally:
                self._queued.discard(request.id)
                self._queue.task_done()

    async def _deliver(self, request: NotificationRequest) -> None:
        async with self._store.reading() as conn:
            if not await is_pending(conn, request.id):
                _log.debug("notification %s is not pending; skipped", request.id)
                return
            adapters, problem = await self._adapters(conn, request.recipient)
        if problem is not None:
            attempts = await self._record(request.id, NO_CHANNEL, problem, "failed", count=0)
            if attempts is not None:
                await self._failed(DeliveryResult(request, "failed", NO_CHANNEL, attempts, problem))
            return
        attempts, error, channel = 0, "", NO_CHANNEL
        for index, adapter in enumerate(adapters):
            last_channel = index == len(adapters) - 1
            outcome = await self._try_channel(request, adapter, last_channel=last_channel)
            if outcome is None:
                return
            attempts, error, channel = outcome
        await self._failed(DeliveryResult(request, "failed", channel, attempts, error))

    async def _try_channel(
        self, request: NotificationRequest, adapter: Adapter, *, last_channel: bool
    ) -> tuple[int, str, str] | None:
        """Send on one channel with retries; ``None`` once delivered (or no longer pending)."""
        delay = self._config.backoff_s
        attempts, error = 0, ""
        for attempt in range(1, self._config.max_attempts + 1):
            now = self._clock()
            try:
                await adapter.send(request, timestamp=int(now.timestamp()))
            except DeliveryError as err:
                error = str(err)
                final = not err.retryable or attempt == self._config.max_attempts
                status: Literal["pending", "failed"] = (
                    "failed" if final and last_channel else "pending"
                )
                recorded = await self._record(request.id, adapter.name, error, status)
                if recorded is None:
                    return None
                attempts = recorded
                _log.info(
                    "notification %s to %s: %s attempt %d failed: %s",
                    request.id,
                    request.recipient,
                    adapter.name,
                    attempt,
                    error,
                )
                if final:
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._config.backoff_max_s)
                continue
            await self._record(request.id, adapter.name, None, "delivered")
            _log.info(
                "notification %s to %s delivered on %s", request.id, request.recipient, adapter.name
            )
            return None
        return attempts, error, adapter.name

    async def _adapters(
        self, conn: AsyncConnection, recipient: str
    ) -> tuple[list[Adapter], str | None]:
        """Return the recipient's adapters in order, or why there are none."""
        timeout = self._config.timeout_s
        if recipient.startswith(QUEUE_PREFIX):
            configured = self._config.queues.get(recipient[len(QUEUE_PREFIX) :]) or [
                ConsoleChannel()
            ]
            return [self._adapter(recipient, c, timeout) for c in configured], None
        responder = await get_responder(conn, recipient)
        if responder is None:
            return [], f"no responder {recipient}"
        if not responder.active:
            return [], f"responder {recipient} is inactive"
        try:
            channels = channels_from_doc(responder.channels)
        except ValidationError:
            return [], f"responder {recipient} has an invalid channel on record"
        if not channels:
            return [], f"responder {recipient} has no notification channel"
        return [self._adapter(recipient, c, timeout) for c in channels], None

    def _adapter(
        self,
        recipient: str,
        channel: ConsoleChannel | WebhookChannel | MqttChannel | AppriseChannel,
        timeout: float,
    ) -> Adapter:
        if isinstance(channel, WebhookChannel):
            assert self._http is not None, "Notifications.start() was not awaited"
            return WebhookAdapter(channel, self._http, timeout)
        if isinstance(channel, MqttChannel):
            return MqttAdapter(recipient, self._publish, timeout)
        if isinstance(channel, AppriseChannel):
            return AppriseAdapter(channel, timeout)
        return ConsoleAdapter()

    async def _record(
        self,
        notification_id: UUID,
        channel: str,
        error: str | None,
        status: Literal["pending", "delivered", "failed"],
        *,
        count: int = 1,
    ) -> int | None:
        try:
            async with self._store.transaction() as tx:
                return await record_attempt(
                    tx.conn,
                    notification_id,
                    channel=channel,
                    error=error,
                    status=status,
                    now=self._clock(),
                    count=count,
                )
        except StorageError as err:
            # Deliver all the same; the row stays pending and is resumed after a restart.
            _log.warning("notification %s: cannot record the attempt: %s", notification_id, err)
            return 0

    async def _failed(self, result: DeliveryResult) -> None:
        _log.warning(
            "notification %s to %s failed after %d attempts: %s",
            result.request.id,
            result.request.recipient,
            result.attempts,
            result.error,
        )
        if self.on_failure is not None:
            await self.on_failure(result)
