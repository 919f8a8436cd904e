"""The one supervisor of long-lived tasks: log, count, and restart with backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable

__all__ = ["supervise"]

_log = logging.getLogger(__name__)


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    restarts: Counter[str],
    min_backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    healthy_after_s: float = 60.0,
) -> None:
    """Run ``run()`` until it returns or is cancelled; restart it whenever it fails."""
    backoff = min_backoff_s
    while True:
        started = time.monotonic()
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the one supervisor of each long-lived task
            restarts[name] += 1
            if time.monotonic() - started >= healthy_after_s:
                backoff = min_backoff_s
            _log.exception("%s failed; restarting in %.1f s", name, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)
        else:
            _log.info("%s finished", name)
            return
