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

``line``: text lines of a bedside vital-sign unit (a sensor mat under the
mattress), NMEA-style, one per reading::

    $VS,<unit>,<heart rate>,<respiration rate>,<IN|OUT>*<checksum>\r\n

``unit`` is the unit's id, six hex digits; the rates are whole numbers per
minute, or empty when the unit has no reading (nobody in bed, or still
settling); the checksum is two hex digits, the XOR of every byte between ``$``
and ``*``. A line is accepted only when it starts with ``$``, ends before 82
bytes and its checksum and fields are valid; anything else is dropped up to
the next ``$``.
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
    "LineFramer",
    "encode_ev1527",
    "encode_vitals_line",
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


_LINE_START = ord("$")
_LINE_MAX = 82
_LINE_TAG = "VS"


def _checksum(body: bytes) -> int:
    value = 0
    for byte in body:
        value ^= byte
    return value


def _rate(text: str, limit: int) -> int | None:
    if text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 3 or int(text) > limit:
        raise ValueError("rate out of range")
    return int(text)


def encode_vitals_line(
    unit: int, heart_rate: int | None, respiration_rate: int | None, *, in_bed: bool
) -> bytes:
    """Build the line a vital-sign unit writes for one reading."""
    if not 0 <= unit < 1 << 24:
        raise ValueError("unit must fit in 24 bits")
    hr = "" if heart_rate is None else str(heart_rate)
    rr = "" if respiration_rate is None else str(respiration_rate)
    body = f"{_LINE_TAG},{unit:06X},{hr},{rr},{'IN' if in_bed else 'OUT'}".encode()
    return b"$" + body + f"*{_checksum(body):02X}\r\n".encode()


class LineFramer:
    """Lines of the ``line`` format, resynchronising on the next ``$``."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Add bytes; return every complete line as a frame, and every dropped run."""
        self._buf += data
        out: list[Frame | FrameError] = []
        while self._buf:
            start = self._buf.find(_LINE_START)
            if start < 0:
                junk = bytes(self._buf).strip(b"\r\n")
                if junk:
                    out.append(FrameError("no line start", bytes(self._buf)))
                self._buf.clear()
                break
            if start > 0:
                if bytes(self._buf[:start]).strip(b"\r\n"):
                    out.append(FrameError("bytes before line start", bytes(self._buf[:start])))
                del self._buf[:start]
            end = self._buf.find(b"\n")
            nxt = self._buf.find(_LINE_START, 1)
            if nxt >= 0 and (end < 0 or nxt < end):
                # A new line began before this one ended: this one was cut short.
                out.append(FrameError("truncated line", bytes(self._buf[:nxt])))
                del self._buf[:nxt]
                continue
            if end < 0:
                if len(self._buf) > _LINE_MAX:
                    out.append(FrameError("line too long", bytes(self._buf)))
                    self._buf.clear()
                break
            raw = bytes(self._buf[: end + 1])
            del self._buf[: end + 1]
            out.append(self._line(raw))
        return out

    @staticmethod
    def _line(raw: bytes) -> Frame | FrameError:
        text = raw.rstrip(b"\r\n")
        if len(raw) > _LINE_MAX:
            return FrameError("line too long", raw)
        star = text.rfind(b"*")
        if star < 0 or len(text) - star != 3:
            return FrameError("no checksum", raw)
        body = text[1:star]
        try:
            if int(text[star + 1 :], 16) != _checksum(body):
                return FrameError("bad checksum", raw)
            tag, unit, hr, rr, bed = body.decode("ascii").split(",")
            hexdigits = set("0123456789abcdefABCDEF")
            if (
                tag != _LINE_TAG
                or len(unit) != 6
                or not set(unit) <= hexdigits
                or bed
                not in (
                    "IN",
                    "OUT",
                )
            ):
                return FrameError("malformed line", raw)
            address = f"{int(unit, 16):06X}"
            fields = {
                "unit": address,
                "heart_rate": _rate(hr, 300),
                "respiration_rate": _rate(rr, 120),
                "bed": bed.lower(),
            }
        except (ValueError, UnicodeDecodeError):
            return FrameError("malformed line", raw)
        return Frame(address, fields, raw)


_FRAMERS: dict[str, type[Ev1527Framer] | type[LineFramer]] = {
    "ev1527": Ev1527Framer,
    "line": LineFramer,
}


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
