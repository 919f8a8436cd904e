"""Sequence gap tracking: pure, and folded in arrival order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.ingest._seq import MAX_RANGES, SeqTrack, observe


def test_in_order_numbers_leave_no_gap() -> None:
    track = observe(None, range(10))
    assert (track.high, track.missing, track.missing_count) == (9, (), 0)


def test_a_jump_opens_a_gap_that_late_numbers_fill() -> None:
    track = observe(None, [0, 1, 5])
    assert track.missing == ((2, 4),)
    track = observe(track, [3])
    assert track.missing == ((2, 2), (4, 4))
    track = observe(track, [2, 4])
    assert (track.missing_count, track.resets) == (0, 0)


def test_life_safety_first_replay_only_looks_like_a_gap_until_the_backlog_arrives() -> None:
    # Events 10..19 were queued during an outage; the SOS (seq 20) goes first.
    track = observe(SeqTrack(high=9), [20])
    assert track.missing == ((10, 19),)
    track = observe(track, range(10, 20))
    assert track.missing == ()


def test_a_reused_number_means_the_gateway_counter_was_reset() -> None:
    track = observe(None, range(100))
    track = observe(track, [0, 1])
    assert (track.high, track.missing, track.resets) == (1, (), 1)


def test_ranges_are_bounded_and_forgotten_numbers_counted() -> None:
    # n numbers two apart leave n - 1 single-number holes.
    track = observe(None, range(0, 2 * (MAX_RANGES + 11), 2))
    assert len(track.missing) == MAX_RANGES
    assert track.forgotten == 10


@given(st.permutations(list(range(50))))
def test_any_arrival_order_of_a_complete_run_ends_without_gaps(order: list[int]) -> None:
    track = observe(SeqTrack(high=-1), order)
    assert (track.high, track.missing_count, track.resets) == (49, 0, 0)


@given(st.sets(st.integers(0, 200), min_size=1))
def test_missing_is_exactly_what_never_arrived(arrived: set[int]) -> None:
    track = observe(SeqTrack(high=-1), sorted(arrived))
    expected = set(range(max(arrived) + 1)) - arrived
    got = {n for first, last in track.missing for n in range(first, last + 1)}
    assert got == expected
