"""Notification delivery to responders and role queues."""

from backend.notify._channels import DeliveryError, NotifyError, Publish
from backend.notify._config import ConsoleChannel, NotifySettings, QueueChannel
from backend.notify._message import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode_message,
    message_doc,
    sign,
    verify_webhook,
)
from backend.notify._model import DeliveryResult, FailureCallback, NotificationRequest, Notifier
from backend.notify._notifier import QUEUE_PREFIX, Notifications
from backend.notify._records import NO_CHANNEL, insert_pending

__all__ = [
    "DELIVERY_HEADER",
    "NO_CHANNEL",
    "QUEUE_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ConsoleChannel",
    "DeliveryError",
    "DeliveryResult",
    "FailureCallback",
    "NotificationRequest",
    "Notifications",
    "Notifier",
    "NotifyError",
    "NotifySettings",
    "Publish",
    "QueueChannel",
    "encode_message",
    "insert_pending",
    "message_doc",
    "sign",
    "verify_webhook",
]
