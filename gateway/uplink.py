"""The uplink: publish the outbox to the backend broker, and the retained gateway status.

Events go out with QoS 1 on ``homecare/v1/{home}/events``; an envelope leaves
the outbox only after the broker's PUBACK. A refused publish (MQTT v5 reason
code at or above 0x80, such as 135 "Not authorized") is permanent: the events
are moved to the dead-letter store and reported, never dropped silently. While
the connection is down, paho keeps the in-flight messages and sends them again
on reconnect; the sender waits rather than piling up copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import homecare
from gateway._broker import connect, connection_kwargs
from gateway.config import GatewayConfig
from gateway.deadletter import DeadLetters
from gateway.outbox import Outbox, Pending
from gateway.sources import Rejection
from protocol import events_topic, format_timestamp, status_topic
from protocol.mqtt import (
    NO_MATCHING_SUBSCRIBERS,
    MqttClient,
    MqttError,
    PublishRefusedError,
    Will,
)

__all__ = ["OFFLINE_STATUS", "Uplink", "gateway_version"]

_log = logging.getLogger(__name__)

OFFLINE_STATUS = b'{"online": false}'


def gateway_version() -> str:
    """Return the homecare version.

    From the package, not from ``importlib.metadata``: that module and what it
    imports would add 2 MiB to the gateway's process.
    """
    return homecare.__version__


class Uplink:
    """One session to the backend broker, with a sender loop and a status loop."""

    def __init__(
        self,
        config: GatewayConfig,
        outbox: Outbox,
        dead_letters: DeadLetters,
        *,
        clock: Callable[[], datetime],
        clock_synced: Callable[[], bool | None],
        health: Callable[[], Mapping[str, Any]],
        batch_size: int = 250,
        publish_timeout_s: float = 60.0,
        min_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._config = config
        self._outbox = outbox
        self._dead = dead_letters
        self._clock = clock
        self._clock_synced = clock_synced
        self._health = health
        self._batch = batch_size
        self._publish_timeout = publish_timeout_s
        self._min_backoff = min_backoff_s
        self._max_backoff = max_backoff_s
        self._connect_timeout = connect_timeout_s
        self._events_topic = events_topic(config.home_id)
        self._status_topic = status_topic(config.home_id)
        self._wake = asyncio.Event()
        self._version = gateway_version()
        self.stats: Counter[str] = Counter()
        self.connected = False

    def notify(self) -> None:
        """Tell the sender that new events are in the outbox."""
        self._wake.set()

    def status_payload(self) -> bytes:
        """Build the retained status message (``protocol.GatewayStatus`` reads it)."""
        health = self._health()
        status: dict[str, Any] = {
            "online": True,
            "at": format_timestamp(self._clock()),
            "version": self._version,
            "clock_synced": self._clock_synced(),
            "outbox": self._outbox.size(),
            "devices": dict(health.get("devices", {})),
            "outbox_bytes": self._outbox.bytes_used(),
            "outbox_over_budget": self._outbox.over_budget,
            "outbox_evicted": self._outbox.stats["evicted"],
            **{k: v for k, v in health.items() if k != "devices"},
        }
        return json.dumps(status, ensure_ascii=False, separators=(",", ":")).encode()

    async def run(self) -> None:
        """Connect, then send and report status until cancelled."""
        settings = self._config.uplink
        client = MqttClient(
            **connection_kwargs(settings),
            client_id=settings.client_id or f"homecare-gw-{self._config.home_id}",
            will=Will(self._status_topic, OFFLINE_STATUS, qos=1, retain=True),
        )
        await connect(client, self._connect_timeout)
        self.stats["connects"] += 1
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._send_loop(client))
                group.create_task(self._status_loop(client))
        finally:
            await self._say_offline(client)
            await client.disconnect()
            self.connected = False

    async def _say_offline(self, client: MqttClient) -> None:
        # A clean DISCONNECT does not fire the will, so say it ourselves.
        if not client.is_connected:
            return
        payload = json.dumps({"online": False, "reason": "stopped"}).encode()
        try:
            async with asyncio.timeout(2.0):
                await client.publish(self._status_topic, payload, qos=1, retain=True)
        except (MqttError, TimeoutError) as err:
            _log.warning("could not publish the offline status: %s", err)

    async def _status_loop(self, client: MqttClient) -> None:
        interval = self._config.status_interval_s
        loop = asyncio.get_running_loop()
        while True:
            await client.wait_connected()
            self.connected = True
            try:
                await client.publish(self._status_topic, self.status_payload(), qos=1, retain=True)
                self.stats["status_published"] += 1
            except PublishRefusedError as err:
                self.stats["status_refused"] += 1
                _log.error("broker refused the gateway status: %s (%d)", err.reason, err.code)
            deadline = loop.time() + interval
            # Republish at once after a reconnect: the broker may have sent our will.
            while True:
                await asyncio.sleep(max(0.0, min(1.0, deadline - loop.time())))
                if not client.is_connected or loop.time() >= deadline:
                    break
            self.connected = client.is_connected

    async def _next_pending(self) -> list[Pending]:
        while True:
            batch = self._outbox.next_pending(self._batch)
            if batch:
                return batch
            self._wake.clear()
            batch = self._outbox.next_pending(self._batch)
            if batch:
                return batch
            await self._wake.wait()

    async def _send_loop(self, client: MqttClient) -> None:
        backoff = self._min_backoff
        while True:
            batch = await self._next_pending()
            await client.wait_connected()
            # The stored bodies are encoded envelopes: a batch is their JSON array.
            payload = (
                batch[0].body if len(batch) == 1 else b"[" + b",".join(p.body for p in batch) + b"]"
            )
            try:
                code = await self._publish_acked(client, payload)
            except PublishRefusedError as err:
                self._refused(batch, err)
                continue
            except (MqttError, TimeoutError) as err:
                self.stats["publish_retries"] += 1
                _log.warning("publishing %d events failed, retrying: %s", len(batch), err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if code == NO_MATCHING_SUBSCRIBERS:
                # The broker took it but nobody was subscribed: the backend's session is
                # gone (a broker restarted without persistence). Keep the events; retry.
                self.stats["no_subscribers"] += 1
                _log.warning("no backend is subscribed yet; %d events kept for retry", len(batch))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._min_backoff
            self._outbox.ack_pending(batch)
            self.stats["published"] += len(batch)
            self.stats["messages_published"] += 1

    async def _publish_acked(self, client: MqttClient, payload: bytes) -> int:
        """Publish and wait for the PUBACK, however long the connection is down.

        While disconnected, paho keeps the message and resends it on reconnect,
        so waiting adds no copy; only ``publish_timeout_s`` of connected time
        without a PUBACK gives up (and the caller publishes the batch again).
        """
        # A task and asyncio.wait, not wait_for: on Python 3.11 wait_for can swallow a
        # cancellation that arrives as the publish completes, and stop would hang.
        task = asyncio.ensure_future(client.publish(self._events_topic, payload, qos=1))
        try:
            waited_connected = 0.0
            step = min(1.0, self._publish_timeout)
            while True:
                done, _ = await asyncio.wait({task}, timeout=step)
                if done:
                    return task.result()
                if client.is_connected:
                    waited_connected += step
                if waited_connected >= self._publish_timeout:
                    raise TimeoutError(f"no PUBACK within {self._publish_timeout:.0f} s")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _refused(self, batch: list[Pending], err: PublishRefusedError) -> None:
        self.stats["refused"] += len(batch)
        _log.error(
            "broker refused %d events (seq %d to %d): %s (%d); moved to dead letters",
            len(batch),
            min(p.seq for p in batch),
            max(p.seq for p in batch),
            err.reason,
            err.code,
        )
        rejections = []
        for p in batch:
            # The body is an envelope this gateway wrote; its `at` is RFC 3339 UTC.
            at = datetime.fromisoformat(json.loads(p.body)["at"])
            rejections.append(
                Rejection(
                    "publish refused",
                    "uplink",
                    p.body,
                    at,
                    f"{err.reason} ({err.code}); seq {p.seq}",
                )
            )
        self._dead.add(rejections)
        self._outbox.ack_pending(batch)
