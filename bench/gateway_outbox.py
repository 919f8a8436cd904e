"""The outbox on disk: commit rate with synchronous FULL and NORMAL, and disk per event.

Run: ``python -m bench gateway-outbox``. Writes real SQLite files in a temporary
directory on the same disk as ``$TMPDIR``; on a Raspberry Pi, point ``TMPDIR``
at the SD card to measure the card.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway._store import Synchronous, open_store
from gateway.outbox import ROW_OVERHEAD_BYTES, Outbox
from gateway.pipeline import Reading
from protocol import EventType

__all__ = ["main"]

_T0 = datetime(2026, 11, 23, tzinfo=UTC)


def _readings(n: int, start: int = 0) -> list[Reading]:
    return [
        Reading(
            f"door-{k % 30:02d}",
            EventType.CONTACT,
            {"open": k % 2 == 0},
            _T0 + timedelta(seconds=k),
            "entrance",
        )
        for k in range(start, start + n)
    ]


def _put_rate(root: Path, sync: Synchronous, batch: int, total: int) -> float:
    path = root / f"rate-{sync}-{batch}" / "gateway.db"
    conn = open_store(path, synchronous=sync)
    try:
        outbox = Outbox(conn, "BENCH1")
        batches = [_readings(batch, i) for i in range(0, total, batch)]
        t0 = time.perf_counter()
        for readings in batches:
            outbox.put(readings)
        return total / (time.perf_counter() - t0)
    finally:
        conn.close()


def _disk(root: Path, n: int) -> tuple[int, int, int]:
    path = root / "disk" / "gateway.db"
    conn = open_store(path)
    try:
        outbox = Outbox(conn, "BENCH1")
        for i in range(0, n, 500):
            outbox.put(_readings(500, i))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (bodies,) = conn.execute("SELECT sum(length(body)) FROM outbox").fetchone()
        budget = outbox.bytes_used()
    finally:
        conn.close()
    return path.stat().st_size, int(bodies), budget


def _eviction_rate(root: Path, n: int) -> float:
    path = root / "evict" / "gateway.db"
    conn = open_store(path)
    try:
        outbox = Outbox(conn, "BENCH1", max_events=n)
        for i in range(0, n, 500):
            outbox.put(_readings(500, i))
        more = 20_000
        t0 = time.perf_counter()
        for i in range(n, n + more, 50):
            outbox.put(_readings(50, i))
        assert outbox.size() == n
        return more / (time.perf_counter() - t0)
    finally:
        conn.close()


def main() -> None:
    """Print commit rates and disk figures of the outbox."""
    with tempfile.TemporaryDirectory(prefix="homecare-bench-") as tmp:
        root = Path(tmp)
        print("  outbox.put, one transaction per call (events/s):")
        print("  events per put   synchronous=FULL   synchronous=NORMAL")
        for batch, total in ((1, 2_000), (10, 10_000), (100, 50_000)):
            full = _put_rate(root, "FULL", batch, total)
            normal = _put_rate(root, "NORMAL", batch, total)
            print(f"  {batch:>14}   {full:>16,.0f}   {normal:>18,.0f}")
        n = 100_000
        size, bodies, budget = _disk(root, n)
        print(f"  disk for {n:,} queued events (after a checkpoint): {size / 1e6:.1f} MB,")
        print(
            f"  {size / n:.0f} bytes per event ({bodies / n:.0f} of JSON body);"
            f" budget counts {budget / n:.0f} (row overhead {ROW_OVERHEAD_BYTES})"
        )
        rate = _eviction_rate(root, n)
        print(f"  put of 50 at a time into a full {n:,}-event outbox (evicting): {rate:,.0f}/s")


if __name__ == "__main__":
    main()
