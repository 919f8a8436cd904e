"""Whether the system clock is synchronized (a Raspberry Pi has no real-time clock)."""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["clock_synced"]

_TIME_ERROR = 5  # adjtimex(2): the clock is not synchronized


def clock_synced() -> bool | None:
    """Ask the kernel via ``adjtimex``; None when that cannot be asked here."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    # struct timex is about 208 bytes on 64-bit Linux; a zeroed, larger buffer
    # means modes = 0, a read-only query.
    buf = ctypes.create_string_buffer(512)
    state = adjtimex(buf)
    if state < 0:
        return None
    return bool(state != _TIME_ERROR)
