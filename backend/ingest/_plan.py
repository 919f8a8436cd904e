"""Turn received MQTT messages into what one transaction must write (no I/O here)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from backend.storage import DeadLetterRow, EventRow
from protocol import (
    Envelope,
    EnvelopeError,
    GatewayStatus,
    TopicError,
    decode_events_payload,
    parse_topic,
)
from protocol.mqtt import MqttMessage

__all__ = ["Plan", "StatusUpdate", "plan_batch"]

_log = logging.getLogger(__name__)
SOURCE = "mqtt"


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    home: str
    online: bool
    status: dict[str, Any]


@dataclass(slots=True)
class Plan:
    """Valid events in arrival order (first copy of each id), status updates, and rejects."""

    envelopes: list[Envelope] = field(default_factory=list)
    rows: list[EventRow] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    dead: list[DeadLetterRow] = field(default_factory=list)
    repeated_in_batch: int = 0
    events_received: int = 0


def _item_payload(payload: bytes, index: int | None) -> bytes:
    if index is None:
        return payload
    try:
        items = json.loads(payload)
        return json.dumps(items[index], separators=(",", ":")).encode()
    except (ValueError, IndexError, TypeError, KeyError):
        return payload


def _row(envelope: Envelope, now: datetime) -> EventRow:
    return EventRow(
        id=envelope.id,
        home=envelope.home,
        device=envelope.device,
        type=envelope.type.value,
        at=envelope.at,
        received_at=now,
        seq=envelope.seq,
        room=envelope.room,
        data=envelope.data.model_dump(mode="json"),
        raw=envelope.model_dump(mode="json"),
    )


def plan_batch(messages: Sequence[MqttMessage], now: datetime) -> Plan:
    """Decode and validate ``messages``; every reject becomes a dead letter with its reason."""
    plan = Plan()
    seen: set[object] = set()

    def reject(msg: MqttMessage, reason: str, payload: bytes | None = None) -> None:
        _log.warning("rejected message on %s: %s", msg.topic, reason)
        plan.dead.append(
            DeadLetterRow(now, SOURCE, msg.topic[:256], reason, payload or msg.payload)
        )

    for msg in messages:
        try:
            ref = parse_topic(msg.topic)
        except TopicError as err:
            reject(msg, str(err))
            continue
        if ref.kind == "status":
            if not msg.payload:
                continue  # an empty retained message only clears the topic
            try:
                status = GatewayStatus.model_validate_json(msg.payload)
            except ValidationError as err:
                reason = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'status'}: {e['msg']}"
                    for e in err.errors(include_url=False, include_input=False)
                )
                reject(msg, f"invalid status: {reason}")
                continue
            plan.statuses.append(
                StatusUpdate(ref.home, status.online, status.model_dump(mode="json"))
            )
            continue
        if ref.kind != "events":
            reject(msg, f"the backend does not consume {ref.kind} messages")
            continue
        try:
            items = decode_events_payload(msg.payload)
        except EnvelopeError as err:
            reject(msg, f"invalid events payload: {err.reason}")
            continue
        for item in items:
            if isinstance(item, EnvelopeError):
                where = "" if item.index is None else f"item {item.index}: "
                reject(
                    msg,
                    f"invalid envelope: {where}{item.reason}",
                    _item_payload(msg.payload, item.index),
                )
                continue
            plan.events_received += 1
            if item.home != ref.home:
                reject(
                    msg,
                    f"envelope {item.id} names home {item.home!r} but arrived on home {ref.home!r}",
                    item.model_dump_json().encode(),
                )
                continue
            if item.id in seen:
                plan.repeated_in_batch += 1
                continue
            seen.add(item.id)
            plan.envelopes.append(item)
            plan.rows.append(_row(item, now))
    return plan
