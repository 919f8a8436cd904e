"""Zigbee2MQTT adapter: device reports, availability and bridge state from the local broker.

Zigbee2MQTT publishes each device's whole cached state as a JSON object on
``<base>/<friendly name>``, its availability (retained) on
``<base>/<friendly name>/availability`` and its own state on
``<base>/bridge/state``. Both availability and bridge state are
``{"state": "online"|"offline"}`` in current releases and a plain string in older ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from device_profiles import SourceKind
from gateway._broker import connect, connection_kwargs
from gateway.config import Zigbee2MqttConfig
from gateway.sources._base import Availability, BridgeState, RawReading, Rejection, SourceItem
from protocol.mqtt import MqttClient

__all__ = ["Zigbee2MqttSource", "parse_message"]

_log = logging.getLogger(__name__)
_SOURCE = SourceKind.ZIGBEE2MQTT
_DRAIN = 500


def _state_word(payload: bytes) -> str | None:
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        value = obj.get("state") if isinstance(obj, dict) else None
        return value if isinstance(value, str) else None
    return text or None


def _reject(reason: str, payload: bytes, at: datetime, detail: str = "") -> Rejection:
    return Rejection(reason, _SOURCE.value, payload, at, detail)


def parse_message(
    base_topic: str, topic: str, payload: bytes, observed_at: datetime
) -> SourceItem | None:
    """Classify one message of the Zigbee2MQTT base topic; never raises.

    Returns None for the bridge's own topics other than its state.
    """
    prefix = base_topic.rstrip("/") + "/"
    if not topic.startswith(prefix):
        return _reject("foreign topic", payload, observed_at, topic)
    rest = topic[len(prefix) :]
    if rest == "bridge/state":
        state = _state_word(payload)
        if state is None:
            return _reject("bad bridge state", payload, observed_at)
        return BridgeState(_SOURCE, state, observed_at)
    if rest == "bridge" or rest.startswith("bridge/"):
        return None
    parts = rest.split("/")
    if len(parts) == 2 and parts[1] == "availability" and parts[0]:
        word = _state_word(payload)
        if word not in ("online", "offline"):
            return _reject("bad availability", payload, observed_at, topic)
        return Availability(_SOURCE, parts[0], word == "online", observed_at, payload)
    if len(parts) != 1 or not parts[0]:
        return _reject("unexpected topic", payload, observed_at, topic)
    try:
        obj: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        return _reject("malformed JSON", payload, observed_at, f"{topic}: {err}")
    if not isinstance(obj, dict):
        return _reject("not a JSON object", payload, observed_at, f"{topic}: {type(obj).__name__}")
    return RawReading(_SOURCE, parts[0], obj, observed_at, payload)


Sink = Callable[[list[SourceItem]], Awaitable[None]]


class Zigbee2MqttSource:
    """Subscribe to Zigbee2MQTT on the local broker and hand its messages to a sink."""

    def __init__(
        self,
        config: Zigbee2MqttConfig,
        *,
        client_id: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._client_id = client_id
        self._clock = clock
        self.bridge_state: str | None = None
        self._client: MqttClient | None = None

    @property
    def listening(self) -> bool:
        """Tell whether the broker has confirmed every subscription of this source."""
        return self._client is not None and self._client.is_subscribed

    async def run(self, sink: Sink) -> None:
        """Receive until cancelled; each burst of messages is one call of ``sink``.

        A message is acknowledged to the broker only after ``sink`` returns, that
        is, after its events are durable in the outbox.
        """
        base = self._config.base_topic.rstrip("/")
        subscriptions = [
            (f"{base}/+", 1),
            (f"{base}/bridge/state", 1),
            (f"{base}/+/availability", 1),
        ]
        client = MqttClient(
            **connection_kwargs(self._config.broker),
            client_id=self._config.broker.client_id or self._client_id,
            manual_ack=True,
            subscriptions=subscriptions,
        )
        self._client = client
        await connect(client, 10.0)
        try:
            _log.info("zigbee2mqtt: subscribed to %s/#", base)
            while True:
                await client.wait_messages()
                messages = client.drain(_DRAIN)
                if not messages:
                    return
                now = self._clock()
                items: list[SourceItem] = []
                for msg in messages:
                    item = parse_message(base, msg.topic, msg.payload, now)
                    if item is None:
                        continue
                    if isinstance(item, BridgeState):
                        if item.state != self.bridge_state:
                            _log.info("zigbee2mqtt bridge is %s", item.state)
                        self.bridge_state = item.state
                    items.append(item)
                await sink(items)
                for msg in messages:
                    client.ack(msg)
        finally:
            self._client = None
            await client.disconnect()
