"""Byte framing of serial receivers, with resynchronisation on bad frames.

``ev1527``: the UART of common 433 MHz EV1527 receiver modules emits one fixed
6-byte frame per received code::

    0xFD  C2 C1 C0  K  0xDF
    head  24-bit code  key/status  trail

The 24-bit code identifies the transmitter (EV1527 sends a 20-bit address and
4 data bits; modules report all 24 bits). ``K`` is the key or status nibble the
transmitter sent (for example open, close, tamper, low battery). There is no
checksum, so a frame is accepted only when both header and trailer sit where
they should; anything else is dropped one byte at a time until the next header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "EV1527_HEAD",
    "EV1527_TRAIL",
    "Ev1527Framer",
    "Frame",
    "FrameError",
    "Framer",
    "encode_ev1527",
    "framer_for",
]

EV1527_HEAD = 0xFD
EV1527_TRAIL = 0xDF
_EV1527_LEN = 6
_MAX_BUFFER = 4096


@dataclass(frozen=True, slots=True)
class Frame:
    """A good frame: the device address and the payload fields a profile decodes."""

    address: str
    fields: dict[str, Any]
    raw: bytes


@dataclass(frozen=True, slots=True)
class FrameError:
    """Bytes that were dropped while resynchronising, and why."""

    reason: str
    raw: bytes


class Framer(Protocol):
    """Incremental framing: feed bytes as they arrive, get whole frames and errors back."""

    def feed(self, data: bytes) -> list[Frame | FrameError]: ...


def encode_ev1527(code: int, key: int) -> bytes:
    """Build the frame a receiver module emits for ``code`` and ``key``."""
    if not 0 <= code < 1 << 24:
        raise ValueError("code must fit in 24 bits")
    if not 0 <= key < 256:
        raise ValueError("key must fit in one byte")
    return bytes([EV1527_HEAD, *code.to_bytes(3, "big"), key, EV1527_TRAIL])


class Ev1527Framer:
    """Frames of the ``ev1527`` format, resynchronising on the next header."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Add bytes; return every complete frame and every dropped run, in order."""
        self._buf += data
        out: list[Frame | FrameError] = []
        while self._buf:
            start = self._buf.find(EV1527_HEAD)
            if start < 0:
                out.append(FrameError("no frame header", bytes(self._buf)))
                self._buf.clear()
                break
            if start > 0:
                out.append(FrameError("bytes before frame header", bytes(self._buf[:start])))
                del self._buf[:start]
            if len(self._buf) < _EV1527_LEN:
                break
            if self._buf[_EV1527_LEN - 1] != EV1527_TRAIL:
                # Drop only the false header byte: the real one may be inside.
                out.append(FrameError("bad frame trailer", bytes(self._buf[:1])))
                del self._buf[:1]
                continue
            raw = bytes(self._buf[:_EV1527_LEN])
            del self._buf[:_EV1527_LEN]
            code = int.from_bytes(raw[1:4], "big")
            address = f"{code:06X}"
            out.append(Frame(address, {"code": address, "key": raw[4]}, raw))
        if len(self._buf) > _MAX_BUFFER:
            out.append(FrameError("buffer overflow", bytes(self._buf)))
            self._buf.clear()
        return out


_FRAMERS: dict[str, type[Ev1527Framer]] = {"ev1527": Ev1527Framer}


def framer_for(name: str) -> Framer:
    """Return a fresh framer for the framing a profile names."""
    try:
        return _FRAMERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown framing {name!r}; known: {', '.join(sorted(_FRAMERS))}"
        ) from None


def known_framings() -> frozenset[str]:
    """Return the names of every supported framing."""
    return frozenset(_FRAMERS)
