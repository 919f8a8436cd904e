"""What a notification says, and how a webhook body is signed and checked.

The message carries the alert's facts and a link path, never a resident's personal data.
A webhook body is signed with HMAC-SHA256 under the responder's secret; the body holds the
send time, so the signature covers it, and a receiver refuses a body older than a few
minutes (a replay) and drops an ``id`` it has seen (a retry already handled).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from backend.notify._model import NotificationRequest

__all__ = [
    "DELIVERY_HEADER",
    "MESSAGE_VERSION",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "encode_message",
    "message_doc",
    "message_text",
    "sign",
    "verify_webhook",
]

MESSAGE_VERSION = 1
SIGNATURE_HEADER = "X-Homecare-Signature"
TIMESTAMP_HEADER = "X-Homecare-Timestamp"
DELIVERY_HEADER = "X-Homecare-Delivery"


def message_doc(request: NotificationRequest, *, timestamp: int | None = None) -> dict[str, Any]:
    """Return the message as a JSON document; ``timestamp`` is the send time (Unix seconds)."""
    doc: dict[str, Any] = {
        "v": MESSAGE_VERSION,
        "id": str(request.id),
        "alert_id": str(request.alert_id),
        "dispatch_id": str(request.dispatch_id) if request.dispatch_id is not None else None,
        "recipient": request.recipient,
        "reason": request.reason,
        "kind": request.kind,
        "priority": request.priority,
        "home": request.home,
        "status": request.status,
        "escalation_level": request.escalation_level,
        "created_at": request.created_at.isoformat(),
        "link": f"/api/v1/alerts/{request.alert_id}",
    }
    if request.dispatch_id is not None:
        doc["dispatch_link"] = f"/api/v1/dispatches/{request.dispatch_id}"
    if timestamp is not None:
        doc["timestamp"] = timestamp
    return doc


def encode_message(request: NotificationRequest, *, timestamp: int | None = None) -> bytes:
    """Return the message as compact UTF-8 JSON."""
    doc = message_doc(request, timestamp=timestamp)
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def message_text(request: NotificationRequest) -> tuple[str, str]:
    """Return a short title and body for SMS, push and e-mail."""
    title = f"homecare P{request.priority} {request.kind} alert, home {request.home}"
    body = (
        f"Alert {request.alert_id} is {request.status} "
        f"(escalation level {request.escalation_level}): {request.reason}. "
        f"Details: /api/v1/alerts/{request.alert_id}"
    )
    if request.dispatch_id is not None:
        body += f" Accept: /api/v1/dispatches/{request.dispatch_id}/accept"
    return title, body


def sign(secret: str, body: bytes) -> str:
    """Return the signature header's value for ``body``: ``sha256=<hex HMAC>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_webhook(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> bool:
    """Tell whether a received webhook is authentic and recent (for receivers and tests)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    given = lowered.get(SIGNATURE_HEADER.lower())
    if given is None or not hmac.compare_digest(given.encode(), sign(secret, body).encode()):
        return False
    try:
        sent = json.loads(body)["timestamp"]
        stamped = int(lowered.get(TIMESTAMP_HEADER.lower(), ""))
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(sent, int) and sent == stamped and abs(now - sent) <= tolerance_s
