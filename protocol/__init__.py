"""The wire contract between gateway and backend (protocol v1).

The pydantic models (``Envelope``, the event data, ``GatewayStatus``, ``Command``)
and the functions built on them are imported on first use: the gateway's process
never needs them (it writes envelopes with ``protocol.codec``), and importing
pydantic would cost it about a quarter of its memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from protocol._errors import EnvelopeError, ProtocolError, TopicError
from protocol._event_types import LIFE_SAFETY_TYPES, EventType
from protocol.codec import PROTOCOL_VERSION, format_timestamp, new_event_id
from protocol.topics import (
    HOME_ID_PATTERN,
    TopicRef,
    commands_topic,
    events_topic,
    is_valid_home_id,
    parse_topic,
    status_topic,
)

if TYPE_CHECKING:
    from protocol.envelope import (
        Envelope,
        decode_envelope,
        decode_events_payload,
        encode_batch,
        encode_envelope,
    )
    from protocol.events import EventData, data_model_for
    from protocol.status import Command, GatewayStatus

__all__ = [
    "HOME_ID_PATTERN",
    "LIFE_SAFETY_TYPES",
    "PROTOCOL_VERSION",
    "Command",
    "Envelope",
    "EnvelopeError",
    "EventData",
    "EventType",
    "GatewayStatus",
    "ProtocolError",
    "TopicError",
    "TopicRef",
    "commands_topic",
    "data_model_for",
    "decode_envelope",
    "decode_events_payload",
    "encode_batch",
    "encode_envelope",
    "events_topic",
    "format_timestamp",
    "is_valid_home_id",
    "new_event_id",
    "parse_topic",
    "status_topic",
]

_LAZY = {
    "Envelope": "protocol.envelope",
    "decode_envelope": "protocol.envelope",
    "decode_events_payload": "protocol.envelope",
    "encode_batch": "protocol.envelope",
    "encode_envelope": "protocol.envelope",
    "EventData": "protocol.events",
    "data_model_for": "protocol.events",
    "Command": "protocol.status",
    "GatewayStatus": "protocol.status",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
