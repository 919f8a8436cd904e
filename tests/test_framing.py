"""EV1527 serial framing: hand-written bytes, then random garbage around valid frames."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_profiles import Frame, FrameError, encode_ev1527, encode_vitals_line, framer_for

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


# -- the ``line`` framing of bedside vital-sign units ------------------------------------------

LINE = b"$VS,3F09A2,62,14,IN*0C\r\n"


def test_good_line() -> None:
    out = framer_for("line").feed(LINE)
    fields = {"unit": "3F09A2", "heart_rate": 62, "respiration_rate": 14, "bed": "in"}
    assert out == [Frame("3F09A2", fields, LINE)]
    assert encode_vitals_line(0x3F09A2, 62, 14, in_bed=True) == LINE


def test_line_split_across_feeds_and_empty_rates() -> None:
    framer = framer_for("line")
    line = encode_vitals_line(1, None, None, in_bed=False)
    assert framer.feed(line[:7]) == []
    out = framer.feed(line[7:])
    assert [f.fields for f in _frames(out)] == [
        {"unit": "000001", "heart_rate": None, "respiration_rate": None, "bed": "out"}
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"$VS,3F09A2,62,14,IN*0D\r\n", "bad checksum"),
        (b"$VS,3F09A2,62,14,IN\r\n", "no checksum"),
        (b"$VS,3F09A2,62,14*" + b"%02X" % 0 + b"\r\n", "bad checksum"),
        (b"$XX,3F09A2,62,14,IN*" + b"%02X" % 0 + b"\r\n", "bad checksum"),
        (b"$" + b"9" * 100, "line too long"),
    ],
)
def test_bad_lines_are_reported(raw: bytes, reason: str) -> None:
    out = framer_for("line").feed(raw)
    assert [e.reason for e in _errors(out)] == [reason]
    assert _frames(out) == []


def _signed(body: str) -> bytes:
    value = 0
    for byte in body.encode():
        value ^= byte
    return b"$" + body.encode() + b"*%02X\r\n" % value


@pytest.mark.parametrize(
    "body",
    [
        "VS,3F09A2,999,14,IN",
        "VS,3F09A2,62,14,MAYBE",
        "VS,0x09A2,62,14,IN",
        "XX,3F09A2,1,1,IN",
        "VS,1",
    ],
)
def test_well_signed_but_malformed_lines_are_rejected(body: str) -> None:
    out = framer_for("line").feed(_signed(body))
    assert [e.reason for e in _errors(out)] == ["malformed line"]


def test_line_resyncs_after_a_truncated_line_and_noise() -> None:
    second = encode_vitals_line(2, 70, 16, in_bed=True)
    out = framer_for("line").feed(b"noise" + LINE[:9] + second)
    assert [e.reason for e in _errors(out)] == ["bytes before line start", "truncated line"]
    assert [f.address for f in _frames(out)] == ["000002"]


rates = st.none() | st.integers(min_value=0, max_value=300)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.integers(0, (1 << 24) - 1), rates, st.none() | st.integers(0, 120), st.booleans()
        )
        | st.binary(max_size=30),
        max_size=12,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_fuzzed_line_stream_never_raises_and_never_invents_a_reading(
    items: list[tuple[int, int | None, int | None, bool] | bytes], cuts: list[int]
) -> None:
    stream = b"".join(
        encode_vitals_line(i[0], i[1], i[2], in_bed=i[3]) if isinstance(i, tuple) else i
        for i in items
    )
    framer = framer_for("line")
    out: list[Frame | FrameError] = []
    last = 0
    for cut in [*sorted({min(c, len(stream)) for c in cuts}), len(stream)]:
        out += framer.feed(stream[last:cut])
        last = cut
    for frame in _frames(out):
        assert frame.raw in stream
    valid = [i for i in items if isinstance(i, tuple)]
    # Noise without '$' or newline cannot cost a good line.
    if all(b"$" not in i and b"\n" not in i for i in items if isinstance(i, bytes)):
        got = [
            (
                int(f.address, 16),
                f.fields["heart_rate"],
                f.fields["respiration_rate"],
                f.fields["bed"] == "in",
            )
            for f in _frames(out)
        ]
        assert got == valid
