"""A test subscriber on the real broker, ready only once its subscriptions are active."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from protocol.mqtt import MqttClient, MqttMessage
from tests.brokers import Broker


class Subscriber:
    """Receive messages in order, each wait bounded."""

    def __init__(self, client: MqttClient) -> None:
        self.client = client
        self._iter = client.messages().__aiter__()
        self._held: list[MqttMessage] = []

    async def next(self, timeout_s: float = 10.0) -> MqttMessage:
        if self._held:
            return self._held.pop(0)
        async with asyncio.timeout(timeout_s):
            return await anext(self._iter)

    async def next_matching(
        self, accept: Callable[[MqttMessage], bool], timeout_s: float = 10.0
    ) -> MqttMessage:
        for i, msg in enumerate(self._held):
            if accept(msg):
                del self._held[: i + 1]
                return msg
        self._held.clear()
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await anext(self._iter)
                if accept(msg):
                    return msg

    async def wait_probe(self, topic: str, timeout_s: float = 10.0) -> None:
        """Hold every message that arrives before the probe on ``topic``."""
        async with asyncio.timeout(timeout_s):
            while True:
                msg = await anext(self._iter)
                if msg.topic == topic:
                    return
                self._held.append(msg)


@asynccontextmanager
async def subscriber(broker: Broker, *topics: str) -> AsyncIterator[Subscriber]:
    """Connect, subscribe, and return once a probe message proves the subscriptions live."""
    probe = f"test/probe/{uuid.uuid4().hex}"
    client = MqttClient(
        host=broker.host,
        port=broker.port,
        subscriptions=[(probe, 1), *((t, 1) for t in topics)],
    )
    async with client:
        sub = Subscriber(client)
        await client.publish(probe, b"probe", qos=1)
        await sub.wait_probe(probe)
        yield sub


async def publish(broker: Broker, topic: str, payload: bytes, *, retain: bool = False) -> None:
    """Publish one QoS 1 message and wait for its PUBACK."""
    async with MqttClient(host=broker.host, port=broker.port) as client:
        await client.publish(topic, payload, qos=1, retain=retain)


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until ``check()`` holds, failing after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while True:
            if check():
                return
            await asyncio.sleep(0.01)
