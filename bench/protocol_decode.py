"""Decoding speed of the event envelope: pydantic v2 (what we ship) against msgspec.

Run: ``python -m bench protocol``. Prints microseconds per envelope for both, on
the same 10,000 encoded envelopes, single and in batches of 100.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import msgspec

from protocol import EventType, decode_events_payload, encode_batch, encode_envelope
from protocol.envelope import Envelope, new_event_id

__all__ = ["main"]

_N = 10_000


class _MsContact(msgspec.Struct, forbid_unknown_fields=False):
    open: bool


class _MsEnvelope(msgspec.Struct, forbid_unknown_fields=False):
    v: Literal[1]
    id: str
    home: str
    device: str
    type: str
    at: datetime
    seq: int
    data: dict[str, Any]
    room: str | None = None


def _sample() -> list[Envelope]:
    start = datetime(2026, 11, 23, tzinfo=UTC)
    return [
        Envelope(
            id=new_event_id(),
            home="H0001",
            device="door-front",
            type=EventType.CONTACT,
            at=start + timedelta(seconds=i),
            seq=i,
            room="entrance",
            data={"open": i % 2 == 0},
        )
        for i in range(_N)
    ]


def _per_item_us(fn: Any, items: list[bytes], count: int) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t0)
    return best / count * 1e6


def main() -> None:
    """Print decode cost per envelope for pydantic and msgspec."""
    envelopes = _sample()
    singles = [encode_envelope(e) for e in envelopes]
    batches = [encode_batch(envelopes[i : i + 100]) for i in range(0, _N, 100)]
    ms_single = msgspec.json.Decoder(_MsEnvelope)
    ms_batch = msgspec.json.Decoder(list[_MsEnvelope])

    def ms_typed(raw: bytes) -> None:
        env = ms_single.decode(raw)
        msgspec.convert(env.data, _MsContact)

    rows = [
        ("pydantic v2, single", _per_item_us(decode_events_payload, singles, _N)),
        ("pydantic v2, batch of 100", _per_item_us(decode_events_payload, batches, _N)),
        ("msgspec, single", _per_item_us(ms_typed, singles, _N)),
        ("msgspec, batch of 100", _per_item_us(ms_batch.decode, batches, _N)),
    ]
    print(f"envelope decode, {_N} envelopes (best of 3)")
    for name, us in rows:
        print(f"  {name:<28} {us:7.2f} us/envelope  {1e6 / us:>10,.0f} envelopes/s")


if __name__ == "__main__":
    main()
