"""The wire contract between gateway and backend (protocol v1)."""

from protocol._errors import EnvelopeError, ProtocolError, TopicError
from protocol.envelope import (
    PROTOCOL_VERSION,
    Envelope,
    decode_envelope,
    decode_events_payload,
    encode_batch,
    encode_envelope,
    format_timestamp,
    new_event_id,
)
from protocol.events import LIFE_SAFETY_TYPES, EventData, EventType, data_model_for
from protocol.status import Command, GatewayStatus
from protocol.topics import (
    HOME_ID_PATTERN,
    TopicRef,
    commands_topic,
    events_topic,
    is_valid_home_id,
    parse_topic,
    status_topic,
)

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
