"""The message and its webhook signature: what a receiver checks."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from backend.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    NotificationRequest,
    encode_message,
    sign,
    verify_webhook,
)

pytestmark = pytest.mark.timeout(10)

SECRET = "a-webhook-secret-of-some-length"
SENT = 1_795_000_000


def request(**fields: object) -> NotificationRequest:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "alert_id": uuid.uuid4(),
        "recipient": "R1",
        "reason": "unacknowledged at 60 s",
        "kind": "smoke",
        "priority": 1,
        "home": "H0002",
        "status": "open",
        "escalation_level": 1,
        "created_at": datetime(2026, 11, 23, 7, 0, tzinfo=UTC),
    }
    return NotificationRequest(**{**base, **fields})  # type: ignore[arg-type]


def signed(body: bytes, timestamp: int = SENT) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(SECRET, body), TIMESTAMP_HEADER: str(timestamp)}


def test_the_message_holds_the_alert_facts_and_links() -> None:
    dispatch = uuid.uuid4()
    r = request(dispatch_id=dispatch)
    doc = json.loads(encode_message(r, timestamp=SENT))
    assert doc == {
        "v": 1,
        "id": str(r.id),
        "alert_id": str(r.alert_id),
        "dispatch_id": str(dispatch),
        "recipient": "R1",
        "reason": "unacknowledged at 60 s",
        "kind": "smoke",
        "priority": 1,
        "home": "H0002",
        "status": "open",
        "escalation_level": 1,
        "created_at": "2026-11-23T07:00:00+00:00",
        "link": f"/api/v1/alerts/{r.alert_id}",
        "dispatch_link": f"/api/v1/dispatches/{dispatch}",
        "timestamp": SENT,
    }


def test_a_signed_recent_body_verifies_with_any_header_case() -> None:
    body = encode_message(request(), timestamp=SENT)
    headers = {k.lower(): v for k, v in signed(body).items()}
    assert verify_webhook(SECRET, body, headers, now=SENT + 10)


@pytest.mark.parametrize(
    "change",
    ["body", "secret", "signature missing", "stale", "future", "timestamp header", "no timestamp"],
)
def test_anything_else_is_refused(change: str) -> None:
    body = encode_message(request(), timestamp=SENT)
    headers, secret, now = signed(body), SECRET, SENT + 1
    if change == "body":
        body = body.replace(b'"kind":"smoke"', b'"kind":"gas"')
    elif change == "secret":
        secret = "another-secret-of-some-length"
    elif change == "signature missing":
        del headers[SIGNATURE_HEADER]
    elif change == "stale":
        now = SENT + 301  # a replay after the tolerance
    elif change == "future":
        now = SENT - 301
    elif change == "timestamp header":
        headers[TIMESTAMP_HEADER] = str(SENT + 1)
    else:
        body = encode_message(request())
        headers = signed(body)
    assert not verify_webhook(secret, body, headers, now=now)
