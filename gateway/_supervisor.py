"""The one supervisor of long-lived tasks: log, count, and restart with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
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
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``run()`` until cancelled; restart it whenever it fails or returns.

    A long-lived task that returns has stopped doing its job, so it is restarted
    too. The backoff doubles from ``min_backoff_s`` to ``max_backoff_s`` and starts
    again after a run that lasted ``healthy_after_s``. Cancellation, and
    ``BaseException`` such as ``KeyboardInterrupt``, pass through.
    """
    backoff = min_backoff_s
    while True:
        started = monotonic()
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the one supervisor of each long-lived task
            restarts[name] += 1
            failed = True
        else:
            restarts[name] += 1
            failed = False
        if monotonic() - started >= healthy_after_s:
            backoff = min_backoff_s
        # Jitter, so that a city's gateways do not all retry in the same second.
        delay = backoff * random.uniform(0.8, 1.2)  # noqa: S311 - not cryptography
        if failed:
            _log.exception("%s failed; restarting in %.1f s", name, delay)
        else:
            _log.warning("%s stopped by itself; restarting in %.1f s", name, delay)
        await sleep(delay)
        backoff = min(backoff * 2, max_backoff_s)
