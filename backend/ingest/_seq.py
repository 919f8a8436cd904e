"""Sequence tracking: spot events a gateway sent that never arrived.

A gateway numbers its events 0, 1, 2, ... and the number survives restarts.
After an outage it sends life-safety events ahead of its backlog, so numbers
arrive out of order: a gap is only a gap while nothing fills it. A *new* event
(new id) carrying a number already consumed means the gateway's counter was
reset (a replaced SD card, a wiped data dir): tracking starts again from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_RANGES", "SeqTrack", "observe"]

#: Gap ranges kept per home; beyond this the oldest ranges are forgotten (and counted).
MAX_RANGES = 64


@dataclass(frozen=True, slots=True)
class SeqTrack:
    """What one home's gateway has delivered: the highest number and the holes below it."""

    high: int
    missing: tuple[tuple[int, int], ...] = ()
    resets: int = 0
    forgotten: int = 0

    @property
    def missing_count(self) -> int:
        """Return how many numbers below ``high`` have not arrived."""
        return sum(last - first + 1 for first, last in self.missing)

    def is_missing(self, seq: int) -> bool:
        """Tell whether ``seq`` is a known hole."""
        return any(first <= seq <= last for first, last in self.missing)


def _fill(missing: tuple[tuple[int, int], ...], seq: int) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for first, last in missing:
        if first <= seq <= last:
            if first < seq:
                out.append((first, seq - 1))
            if seq < last:
                out.append((seq + 1, last))
        else:
            out.append((first, last))
    return tuple(out)


def observe(track: SeqTrack | None, seqs: Iterable[int]) -> SeqTrack:
    """Fold the numbers of newly stored events, in arrival order, into ``track``."""
    numbers = iter(seqs)
    if track is None:
        first = next(numbers, None)
        if first is None:
            raise ValueError("observe needs a track or at least one number")
        track = SeqTrack(high=first)
    high, missing, resets, forgotten = track.high, track.missing, track.resets, track.forgotten
    for seq in numbers:
        if seq == high + 1:
            high = seq  # the usual case: the next number, no hole
        elif seq > high:
            missing = (*missing, (high + 1, seq - 1))
            if len(missing) > MAX_RANGES:
                dropped = missing[: len(missing) - MAX_RANGES]
                forgotten += sum(last - first + 1 for first, last in dropped)
                missing = missing[len(missing) - MAX_RANGES :]
            high = seq
        elif any(first <= seq <= last for first, last in missing):
            missing = _fill(missing, seq)
        else:
            high, missing, resets = seq, (), resets + 1
    return SeqTrack(high, missing, resets, forgotten)
