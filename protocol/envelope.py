"""The event envelope of protocol v1: model, encoding and decoding."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from protocol._errors import EnvelopeError
from protocol.codec import PROTOCOL_VERSION, format_timestamp, new_event_id
from protocol.events import EventData, EventType, data_model_for
from protocol.topics import HOME_ID_PATTERN

__all__ = [
    "PROTOCOL_VERSION",
    "Envelope",
    "decode_envelope",
    "decode_events_payload",
    "encode_batch",
    "encode_envelope",
    "format_timestamp",
    "new_event_id",
]

MAX_BATCH = 1000


def _require_text_or_native(kind: type) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str | kind):
            return value
        raise ValueError(f"must be a string, not {type(value).__name__}")

    return check


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_require_text_or_native(datetime)),
    PlainSerializer(format_timestamp, return_type=str),
]
EventId = Annotated[
    UUID,
    BeforeValidator(_require_text_or_native(UUID)),
    PlainSerializer(str, return_type=str),
]
HomeId = Annotated[StrictStr, Field(pattern=rf"^{HOME_ID_PATTERN.pattern}$", max_length=64)]
DeviceId = Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class Envelope(BaseModel):
    """One event, as a gateway sends it and the backend stores it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    v: Literal[1] = 1
    id: EventId
    home: HomeId
    device: DeviceId
    type: EventType
    at: Timestamp
    seq: Annotated[StrictInt, Field(ge=0)]
    room: Annotated[StrictStr, Field(max_length=64)] | None = None
    data: EventData

    @model_validator(mode="before")
    @classmethod
    def _typed_data(cls, values: Any) -> Any:
        # Validate `data` by the model its `type` names, so that a contact event
        # can never carry, say, an SOS payload that merely happens to parse.
        if not isinstance(values, Mapping):
            return values
        raw_type, raw_data = values.get("type"), values.get("data")
        if isinstance(raw_data, Mapping) and isinstance(raw_type, str):
            try:
                model = data_model_for(EventType(raw_type))
            except ValueError:
                return values
            try:
                data = model.model_validate(raw_data)
            except ValidationError as err:
                raise ValueError(f"data of a {raw_type} event: {_describe(err)}") from err
            return {**values, "data": data}
        return values


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "envelope"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def decode_envelope(obj: Mapping[str, Any]) -> Envelope:
    """Validate one already-parsed JSON object as an envelope."""
    try:
        return Envelope.model_validate(obj)
    except ValidationError as err:
        raise EnvelopeError(_describe(err)) from err


def decode_events_payload(payload: bytes | str) -> list[Envelope | EnvelopeError]:
    """Decode an events message: one envelope, or a JSON array of envelopes.

    A bad item in a batch yields an ``EnvelopeError`` in its place; the rest
    still decode. A payload that is not JSON at all raises ``EnvelopeError``.
    """
    try:
        parsed = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise EnvelopeError(f"not JSON: {err}") from err
    if isinstance(parsed, dict):
        return [_decode_one(parsed, None)]
    if isinstance(parsed, list):
        if not parsed:
            raise EnvelopeError("empty batch")
        if len(parsed) > MAX_BATCH:
            raise EnvelopeError(f"batch of {len(parsed)} exceeds {MAX_BATCH} envelopes")
        return [_decode_one(item, i) for i, item in enumerate(parsed)]
    raise EnvelopeError(f"expected an object or an array, got {type(parsed).__name__}")


def _decode_one(item: Any, index: int | None) -> Envelope | EnvelopeError:
    if not isinstance(item, dict):
        return EnvelopeError(f"expected an object, got {type(item).__name__}", index=index)
    try:
        return decode_envelope(item)
    except EnvelopeError as err:
        err.index = index
        return err


def encode_envelope(envelope: Envelope) -> bytes:
    """Serialize an envelope to compact JSON bytes."""
    return envelope.model_dump_json(exclude_none=False).encode()


def encode_batch(envelopes: list[Envelope]) -> bytes:
    """Serialize several envelopes as one JSON array."""
    return b"[" + b",".join(encode_envelope(e) for e in envelopes) + b"]"
