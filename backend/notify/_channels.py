"""Channel adapters: each sends one notification once, or raises ``DeliveryError``.

Retries, backoff and the record of attempts belong to the notifier; an adapter only says
whether a failure is worth retrying (a timeout, a 503) or not (a 404, a refused publish).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

import httpx

from backend._errors import BackendError
from backend.directory import AppriseChannel, WebhookChannel
from backend.notify._message import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode_message,
    message_text,
    sign,
)
from backend.notify._model import NotificationRequest
from protocol.mqtt import MqttError, PublishRefusedError
from protocol.topics import responder_notifications_topic

__all__ = [
    "Adapter",
    "AppriseAdapter",
    "ConsoleAdapter",
    "DeliveryError",
    "MqttAdapter",
    "NotifyError",
    "Publish",
    "WebhookAdapter",
]

#: Publishes a payload on a topic at QoS 1 and waits for the broker (``MqttClient.publish``).
Publish = Callable[[str, bytes], Awaitable[object]]

# Client errors that a later attempt may still get past: timeout, too early, too many.
_RETRYABLE_4XX = frozenset({408, 425, 429})


class NotifyError(BackendError):
    """Root of the errors of notification delivery."""


class DeliveryError(NotifyError):
    """One attempt on one channel failed; ``retryable`` tells whether to try it again."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Adapter(Protocol):
    """Sends on one channel; ``name`` is what ``notifications.channel`` records."""

    @property
    def name(self) -> str: ...

    async def send(self, request: NotificationRequest, *, timestamp: int) -> None:
        """Send once; raise ``DeliveryError`` on failure."""
        ...


class ConsoleAdapter:
    """A role queue seen on the operators' console: the live stream has already shown it."""

    name = "console"

    async def send(self, request: NotificationRequest, *, timestamp: int) -> None:
        del request, timestamp


class WebhookAdapter:
    """POST the JSON message, signed with the channel's secret."""

    name = "webhook"

    def __init__(self, channel: WebhookChannel, http: httpx.AsyncClient, timeout_s: float) -> None:
        self._url = channel.url
        self._secret = channel.secret.get_secret_value()
        self._http = http
        self._timeout = timeout_s

    async def send(self, request: NotificationRequest, *, timestamp: int) -> None:
        body = encode_message(request, timestamp=timestamp)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: str(request.id),
        }
        try:
            response = await self._http.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as err:
            raise DeliveryError(
                f"webhook timed out after {self._timeout} s", retryable=True
            ) from err
        except httpx.HTTPError as err:
            raise DeliveryError(
                f"webhook unreachable: {type(err).__name__}", retryable=True
            ) from err
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in _RETRYABLE_4XX
        raise DeliveryError(f"webhook answered HTTP {status}", retryable=retryable)


class MqttAdapter:
    """Publish the JSON message at QoS 1 on the responder's notifications topic."""

    name = "mqtt"

    def __init__(self, responder_id: str, publish: Publish | None, timeout_s: float) -> None:
        self._topic = responder_notifications_topic(responder_id)
        self._publish = publish
        self._timeout = timeout_s

    async def send(self, request: NotificationRequest, *, timestamp: int) -> None:
        if self._publish is None:
            raise DeliveryError("this backend has no MQTT connection", retryable=False)
        try:
            async with asyncio.timeout(self._timeout):
                await self._publish(self._topic, encode_message(request, timestamp=timestamp))
        except TimeoutError as err:
            raise DeliveryError(
                f"broker did not acknowledge within {self._timeout} s", retryable=True
            ) from err
        except PublishRefusedError as err:
            raise DeliveryError(
                f"broker refused the publish: {err.reason}", retryable=False
            ) from err
        except MqttError as err:
            raise DeliveryError(f"publish failed: {err}", retryable=True) from err


class AppriseAdapter:
    """Send through apprise (SMS, push, e-mail); its blocking call runs in a thread."""

    name = "apprise"

    def __init__(self, channel: AppriseChannel, timeout_s: float) -> None:
        self._url = channel.url.get_secret_value()
        self._scheme = self._url.split("://", 1)[0]
        self._timeout = timeout_s

    def _notify(self, title: str, body: str) -> bool:
        import apprise  # noqa: PLC0415 - loads every plugin; only needed when used

        # No service deadline: apprise would then wait in its own process-wide pool of
        # threads; this call already runs in a worker thread under our own timeout.
        asset = apprise.AppriseAsset(service_timeout=0, storage_mode="memory")
        sender = apprise.Apprise(asset=asset)
        if not sender.add(self._url):
            return False
        return bool(sender.notify(body=body, title=title))

    async def send(self, request: NotificationRequest, *, timestamp: int) -> None:
        del timestamp
        title, body = message_text(request)
        try:
            async with asyncio.timeout(self._timeout):
                sent = await asyncio.to_thread(self._notify, title, body)
        except TimeoutError as err:
            raise DeliveryError(
                f"apprise ({self._scheme}) timed out after {self._timeout} s", retryable=True
            ) from err
        if not sent:
            raise DeliveryError(f"apprise ({self._scheme}) reported a failure", retryable=True)
