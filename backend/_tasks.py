"""Running and stopping the backend's long-lived tasks."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

__all__ = ["cancel_and_wait", "sleep_until_due"]


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` and wait for it to end (work in progress finishes or rolls back).

    A cancellation of the caller itself still propagates; only the task's own is absorbed.
    """
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise


async def sleep_until_due(
    wake: asyncio.Event, due: datetime | None, now: datetime, max_sleep_s: float
) -> None:
    """Sleep until ``due`` (``max_sleep_s`` at most), or until ``wake`` is set sooner."""
    wait = max_sleep_s
    if due is not None:
        wait = min(wait, max(0.0, (due - now).total_seconds()))
    if wait > 0:
        # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that races
        # with the wake-up, and the task would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await wake.wait()
