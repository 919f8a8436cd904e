"""EV1527 serial framing: hand-written bytes, then random garbage around valid frames."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_profiles import Frame, FrameError, encode_ev1527, framer_for

GOOD = bytes.fromhex("FD A1B2C3 0A DF")


def _frames(out: list[Frame | FrameError]) -> list[Frame]:
    return [item for item in out if isinstance(item, Frame)]


def _errors(out: list[Frame | FrameError]) -> list[FrameError]:
    return [item for item in out if isinstance(item, FrameError)]


def test_good_frame() -> None:
    out = framer_for("ev1527").feed(GOOD)
    assert out == [Frame("A1B2C3", {"code": "A1B2C3", "key": 0x0A}, GOOD)]


def test_encode_matches_the_module_output() -> None:
    assert encode_ev1527(0xA1B2C3, 0x0A) == GOOD
    with pytest.raises(ValueError, match="24 bits"):
        encode_ev1527(1 << 24, 0)
    with pytest.raises(ValueError, match="one byte"):
        encode_ev1527(0, 256)


def test_frame_split_across_feeds() -> None:
    framer = framer_for("ev1527")
    assert framer.feed(GOOD[:1]) == []
    assert framer.feed(GOOD[1:4]) == []
    out = framer.feed(GOOD[4:])
    assert [f.address for f in _frames(out)] == ["A1B2C3"]
    assert _errors(out) == []


def test_byte_by_byte_then_next_frame() -> None:
    framer = framer_for("ev1527")
    out: list[Frame | FrameError] = []
    second = encode_ev1527(0x000001, 0x06)
    for byte in GOOD + second:
        out += framer.feed(bytes([byte]))
    assert [(f.address, f.fields["key"]) for f in _frames(out)] == [
        ("A1B2C3", 0x0A),
        ("000001", 0x06),
    ]


def test_garbage_before_frame() -> None:
    out = framer_for("ev1527").feed(b"\x00\x13\x37" + GOOD)
    assert out[0] == FrameError("bytes before frame header", b"\x00\x13\x37")
    assert [f.raw for f in _frames(out)] == [GOOD]


def test_only_garbage() -> None:
    out = framer_for("ev1527").feed(b"hello")
    assert out == [FrameError("no frame header", b"hello")]


def test_bad_trailer_then_good_frame() -> None:
    bad = bytes.fromhex("FD 112233 0A 00")
    out = framer_for("ev1527").feed(bad + GOOD)
    assert [f.raw for f in _frames(out)] == [GOOD]
    assert any(e.reason == "bad frame trailer" for e in _errors(out))
    dropped = b"".join(e.raw for e in _errors(out))
    assert dropped == bad


def test_truncated_frame_then_good_frame() -> None:
    # A frame cut short by the radio: header and two code bytes, no more.
    truncated = bytes.fromhex("FD 1122")
    out = framer_for("ev1527").feed(truncated + GOOD)
    assert [f.raw for f in _frames(out)] == [GOOD]
    assert b"".join(e.raw for e in _errors(out)) == truncated


def test_header_byte_inside_code_resyncs() -> None:
    # A false header followed, within the window, by the real frame.
    noisy = bytes([0xFD, 0x01]) + GOOD
    out = framer_for("ev1527").feed(noisy)
    assert [f.raw for f in _frames(out)] == [GOOD]


def test_unknown_framing() -> None:
    with pytest.raises(ValueError, match="unknown framing 'morse'"):
        framer_for("morse")


def test_buffer_is_bounded() -> None:
    framer = framer_for("ev1527")
    out: list[Frame | FrameError] = []
    # Headers every 6 bytes with bad trailers, fed in small pieces, never a frame.
    for _ in range(2000):
        out += framer.feed(bytes([0xFD, 0, 0, 0, 0]))
    assert _frames(out) == []
    assert sum(len(e.raw) for e in _errors(out)) > 9000


codes = st.integers(min_value=0, max_value=(1 << 24) - 1)
keys = st.integers(min_value=0, max_value=255)
garbage = st.binary(max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(st.one_of(st.tuples(codes, keys), garbage), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=10),
)
def test_garbage_never_raises_and_clean_frames_survive(
    items: list[tuple[int, int] | bytes], cuts: list[int]
) -> None:
    stream = b"".join(encode_ev1527(*i) if isinstance(i, tuple) else i for i in items)
    framer = framer_for("ev1527")
    out: list[Frame | FrameError] = []
    last = 0
    for cut in [*sorted({min(c, len(stream)) for c in cuts}), len(stream)]:
        out += framer.feed(stream[last:cut])
        last = cut
    got = [(int(f.address, 16), f.fields["key"]) for f in _frames(out)]
    valid = [i for i in items if isinstance(i, tuple)]
    # Every emitted frame was really sent, and no byte is reported twice.
    consumed = sum(len(f.raw) for f in _frames(out)) + sum(len(e.raw) for e in _errors(out))
    assert consumed <= len(stream)
    for code, key in got:
        assert encode_ev1527(code, key) in stream
    # With garbage that holds no header byte, every valid frame is recovered in order.
    if all(0xFD not in i for i in items if isinstance(i, bytes)):
        assert got == valid


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(st.tuples(codes, keys), min_size=1, max_size=10),
    junk=st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=10),
)
def test_garbage_with_headers_loses_no_frame_it_does_not_overlap(
    frames: list[tuple[int, int]], junk: list[bytes]
) -> None:
    # Junk may hold header bytes. A false header can claim at most the next five
    # bytes, so padding of six non-header bytes after each junk run isolates it;
    # then every valid frame must come out, in order.
    pad = b"\x00" * 6
    stream = b""
    for i, (code, key) in enumerate(frames):
        stream += junk[i % len(junk)] + pad + encode_ev1527(code, key)
    out = framer_for("ev1527").feed(stream)
    got = [(int(f.address, 16), f.fields["key"]) for f in _frames(out)]
    # A junk run may by chance contain a whole valid frame; it is a real frame then.
    it = iter(got)
    assert all(any(g == f for g in it) for f in frames), (frames, got)
