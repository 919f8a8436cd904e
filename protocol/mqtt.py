"""A small asyncio face on paho-mqtt, shared by gateway, backend and simulators.

paho's network loop runs in its own thread. This module hands its callbacks to
the asyncio loop, turns each QoS 1 PUBACK into an awaitable result (so a refused
publish under MQTT v5, reason code 135, is seen rather than lost), and exposes
paho's manual acknowledgement, so that a consumer can acknowledge a message only
once its work is durable.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from protocol._errors import ProtocolError

__all__ = [
    "NO_MATCHING_SUBSCRIBERS",
    "MqttClient",
    "MqttConnectError",
    "MqttError",
    "MqttMessage",
    "PublishRefusedError",
    "Will",
]

_log = logging.getLogger(__name__)

#: MQTT v5 PUBACK reason 16: accepted, but the broker had no subscriber to deliver to.
NO_MATCHING_SUBSCRIBERS = 16


class MqttError(ProtocolError):
    """Root of the MQTT transport errors; these are retryable unless stated."""


class MqttConnectError(MqttError):
    """The broker could not be reached, or refused the connection."""


class PublishRefusedError(MqttError):
    """The broker answered a publish with a failure reason code (permanent)."""

    def __init__(self, topic: str, reason: str, code: int) -> None:
        super().__init__(f"publish to {topic} refused: {reason} ({code})")
        self.topic = topic
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """A received message; ``mid`` and ``qos`` are what ``ack`` needs."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


class MqttClient:
    """One MQTT v5 (or 3.1.1) session; use as ``async with``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        will: Will | None = None,
        clean_start: bool = True,
        session_expiry_s: int = 0,
        manual_ack: bool = False,
        receive_maximum: int = 1000,
        max_inflight: int = 1000,
        keepalive_s: int = 30,
        subscriptions: list[tuple[str, int]] | None = None,
        protocol_v5: bool = True,
    ) -> None:
        self._host, self._port, self._keepalive = host, port, keepalive_s
        self._subscriptions = list(subscriptions or [])
        self._v5 = protocol_v5
        self._clean_start = clean_start
        self._session_expiry = session_expiry_s
        self._receive_maximum = receive_maximum
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if protocol_v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if protocol_v5 else clean_start,
            manual_ack=manual_ack,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls is not None:
            self._client.tls_set_context(tls)
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._early: dict[int, ReasonCode] = {}
        self._inbox: deque[MqttMessage] = deque()
        self._wakeup_scheduled = False
        self._inbox_ready = asyncio.Event()
        self._connected = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._suback_pending: set[int] = set()
        self._suback_early: set[int] = set()
        self.refused_subscriptions: list[str] = []
        self._connect_failure: str | None = None
        self._inflight = asyncio.Semaphore(max_inflight)
        self._closed = False

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    @property
    def is_connected(self) -> bool:
        return self._connected.is_set()

    @property
    def is_subscribed(self) -> bool:
        """Tell whether the session is up and the broker answered every subscription."""
        return self._connected.is_set() and self._subscribed.is_set()

    async def connect(self, timeout_s: float = 10.0) -> None:
        """Connect, start the network thread and wait for the first CONNACK."""
        self._loop = asyncio.get_running_loop()
        props: Properties | None = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.ReceiveMaximum = self._receive_maximum
            if self._session_expiry:
                props.SessionExpiryInterval = self._session_expiry
        try:
            if self._v5:
                self._client.connect_async(
                    self._host,
                    self._port,
                    self._keepalive,
                    clean_start=self._clean_start,
                    properties=props,
                )
            else:
                self._client.connect_async(self._host, self._port, self._keepalive)
        except (OSError, ValueError) as err:
            raise MqttConnectError(f"cannot connect to {self._host}:{self._port}: {err}") from err
        self._client.loop_start()
        try:
            async with asyncio.timeout(timeout_s):
                await self._connected.wait()
        except TimeoutError as err:
            await self.disconnect()
            reason = self._connect_failure or "no answer"
            raise MqttConnectError(
                f"cannot connect to {self._host}:{self._port}: {reason}"
            ) from err
        except asyncio.CancelledError:
            # Never leave paho's network thread behind a cancelled connect.
            await self.disconnect()
            raise

    async def wait_connected(self) -> None:
        """Wait until the session is (re)connected."""
        await self._connected.wait()

    async def disconnect(self) -> None:
        """Close the session and stop the network thread."""
        if self._closed:
            return
        self._closed = True
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._connected.clear()
        with self._lock:
            pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(MqttError("disconnected before the broker acknowledged"))
        self._inbox_ready.set()

    # -- publishing ------------------------------------------------------------

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> int:
        """Publish and wait for the broker's acknowledgement (QoS 1) or the send (QoS 0).

        Returns the PUBACK's success reason code: 0, or ``NO_MATCHING_SUBSCRIBERS``
        (16) when an MQTT v5 broker had nobody to deliver to. Raises
        ``PublishRefusedError`` when the broker answers with a failure code.
        """
        async with self._inflight:
            return await self._publish(topic, payload, qos, retain)

    async def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> int:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise MqttError(f"publish to {topic} failed: {paho.error_string(info.rc)}")
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._pending[info.mid] = fut
        if early is not None:
            self._settle(fut, topic, early)
        try:
            return await fut
        except PublishRefusedError as err:
            raise PublishRefusedError(topic, err.reason, err.code) from None

    @staticmethod
    def _settle(fut: asyncio.Future[int], topic: str, reason: ReasonCode | None) -> None:
        if fut.done():
            return
        if reason is not None and reason.is_failure:
            fut.set_exception(PublishRefusedError(topic, str(reason), reason.value))
        else:
            fut.set_result(reason.value if reason is not None else 0)

    def _on_publish(
        self, _c: paho.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties | None
    ) -> None:
        with self._lock:
            fut = self._pending.pop(mid, None)
            if fut is None:
                self._early[mid] = reason
                return
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._settle, fut, "", reason)

    # -- subscribing -----------------------------------------------------------

    async def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now and again after every reconnect."""
        self._subscriptions.append((topic, qos))
        if self.is_connected:
            self._subscribed.clear()
            self._track_suback(self._client.subscribe(topic, qos)[1])

    async def wait_subscribed(self) -> None:
        """Wait until the broker has answered every subscription of this session."""
        await self._subscribed.wait()

    def _track_suback(self, mid: int | None) -> None:
        with self._lock:
            if mid is None:
                done = not self._suback_pending
            elif mid in self._suback_early:
                self._suback_early.discard(mid)
                done = not self._suback_pending
            else:
                self._suback_pending.add(mid)
                done = False
        if done:
            self._set_threadsafe(self._subscribed)

    def _on_subscribe(
        self, _c: paho.Client, _u: Any, mid: int, codes: list[ReasonCode], _p: Properties | None
    ) -> None:
        refused = [str(code) for code in codes if code.is_failure]
        if refused:
            _log.warning(
                "broker refused a subscription on %s:%s: %s", self._host, self._port, refused
            )
            self.refused_subscriptions.extend(refused)
        with self._lock:
            if mid not in self._suback_pending:
                self._suback_early.add(mid)
                return
            self._suback_pending.discard(mid)
            done = not self._suback_pending
        if done:
            self._set_threadsafe(self._subscribed)

    def _set_threadsafe(self, event: asyncio.Event) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        item = MqttMessage(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), msg.mid)
        self._inbox.append(item)
        # Wake the consumer once per burst, not once per message.
        if not self._wakeup_scheduled:
            self._wakeup_scheduled = True
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._wakeup_scheduled = False
        self._inbox_ready.set()

    async def messages(self) -> AsyncIterator[MqttMessage]:
        """Yield received messages until the client is closed."""
        while not self._closed:
            while self._inbox:
                yield self._inbox.popleft()
            self._inbox_ready.clear()
            if self._inbox:
                continue
            await self._inbox_ready.wait()

    def drain(self, limit: int) -> list[MqttMessage]:
        """Take up to ``limit`` already-received messages without waiting."""
        out: list[MqttMessage] = []
        while self._inbox and len(out) < limit:
            out.append(self._inbox.popleft())
        return out

    async def wait_messages(self) -> None:
        """Wait until at least one message is ready or the client is closed."""
        while not self._inbox and not self._closed:
            self._inbox_ready.clear()
            if self._inbox:
                break
            await self._inbox_ready.wait()

    def ack(self, message: MqttMessage) -> None:
        """Acknowledge a message received with ``manual_ack=True``."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    # -- connection callbacks --------------------------------------------------

    def _on_connect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if reason.is_failure:
            self._connect_failure = str(reason)
            _log.warning("mqtt connect to %s:%s refused: %s", self._host, self._port, reason)
            return
        # Runs on paho's network thread, so no SUBACK can be handled before it is tracked.
        with self._lock:
            self._suback_pending.clear()
            self._suback_early.clear()
        mid = self._client.subscribe(list(self._subscriptions))[1] if self._subscriptions else None
        self._track_suback(mid)
        self._set_threadsafe(self._connected)

    def _on_disconnect(
        self, _c: paho.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if not self._closed:
            _log.warning("mqtt connection to %s:%s lost: %s", self._host, self._port, reason)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._connected.clear)
            loop.call_soon_threadsafe(self._subscribed.clear)
