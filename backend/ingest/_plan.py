"""Turn received MQTT messages into what one transaction must write (no I/O here)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

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
from protocol.envelope import MAX_BATCH
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
    seen: set[UUID] = field(default_factory=set, repr=False)

    def split(self, homes: set[str]) -> tuple[Plan, Plan]:
        """Split into the part of ``homes`` and the rest (with every dead letter)."""
        first = Plan(
            envelopes=[e for e in self.envelopes if e.home in homes],
            rows=[r for r in self.rows if r.home in homes],
            statuses=[s for s in self.statuses if s.home in homes],
        )
        first.events_received = len(first.rows)
        rest = Plan(
            envelopes=[e for e in self.envelopes if e.home not in homes],
            rows=[r for r in self.rows if r.home not in homes],
            statuses=[s for s in self.statuses if s.home not in homes],
            dead=self.dead,
            repeated_in_batch=self.repeated_in_batch,
            events_received=self.events_received - first.events_received,
        )
        return first, rest


def _item_payload(payload: bytes, index: int | None) -> bytes:
    if index is None:
        return payload
    try:
        items = json.loads(payload)
        return json.dumps(items[index], separators=(",", ":")).encode()
    except (ValueError, IndexError, TypeError, KeyError):
        return payload


def _decode(payload: bytes) -> list[tuple[dict[str, Any] | None, Envelope | EnvelopeError]]:
    """Decode an events payload; keep each envelope's JSON object as received, to store as is."""
    try:
        parsed = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        parsed = None
    items = [parsed] if isinstance(parsed, dict) else parsed if isinstance(parsed, list) else []
    if 0 < len(items) <= MAX_BATCH and all(isinstance(item, dict) for item in items):
        try:
            return [(item, Envelope.model_validate(item)) for item in items]
        except ValidationError:
            pass
    # Something is wrong: let the protocol name each fault (it raises for the whole payload).
    decoded = decode_events_payload(payload)
    return [(items[i] if isinstance(d, Envelope) else None, d) for i, d in enumerate(decoded)]


def _row(envelope: Envelope, raw: dict[str, Any] | None, now: datetime) -> EventRow:
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
        raw=raw if raw is not None else envelope.model_dump(mode="json"),
    )


def plan_batch(messages: Sequence[MqttMessage], now: datetime, plan: Plan | None = None) -> Plan:
    """Decode and validate ``messages``; every reject becomes a dead letter with its reason.

    Given ``plan``, add the messages to it (a batch planned in slices) and return it.
    """
    plan = Plan() if plan is None else plan
    seen = plan.seen

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
            items = _decode(msg.payload)
        except EnvelopeError as err:
            reject(msg, f"invalid events payload: {err.reason}")
            continue
        for raw, item in items:
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
            plan.rows.append(_row(item, raw, now))
    return plan
