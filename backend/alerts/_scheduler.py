"""Fire alert deadlines at their time: a heap of ``(due, alert, name, token)`` and one task."""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from uuid import UUID

from backend._errors import StorageError
from backend._tasks import cancel_and_wait, sleep_until_due

__all__ = ["DeadlineScheduler"]

_log = logging.getLogger(__name__)

Fire = Callable[[UUID, str, int], Awaitable[None]]


class DeadlineScheduler:
    """Keep pending deadlines in memory and fire each once it is due.

    An entry is only a wake-up call: whether it still counts is decided by ``fire`` against
    the stored deadline and its token, so stale and repeated entries are harmless.
    """

    def __init__(
        self, fire: Fire, clock: Callable[[], datetime], *, max_sleep_s: float = 30.0
    ) -> None:
        self._fire = fire
        self._clock = clock
        self._max_sleep = max_sleep_s
        self._heap: list[tuple[datetime, str, str, int]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.failures = 0
        self.fired = 0

    def add(self, alert_id: UUID, name: str, due: datetime, token: int) -> None:
        """Schedule one deadline (a repeat of an entry already held costs one stale check)."""
        heapq.heappush(self._heap, (due, str(alert_id), name, token))
        if self._heap[0][0] == due:
            self._wake.set()

    def __len__(self) -> int:
        return len(self._heap)

    def next_due(self) -> datetime | None:
        """Return when the earliest entry is due."""
        return self._heap[0][0] if self._heap else None

    async def fire_due(self) -> int:
        """Fire every entry due by now, soonest first; return how many were fired.

        If storage fails, the entry and those after it are kept, a second later, and the
        error is raised.
        """
        now = self._clock()
        count = 0
        while self._heap and self._heap[0][0] <= now:
            _, alert, name, token = heapq.heappop(self._heap)
            try:
                await self._fire(UUID(alert), name, token)
            except StorageError:
                heapq.heappush(self._heap, (now + timedelta(seconds=1), alert, name, token))
                raise
            count += 1
        self.fired += count
        return count

    def start(self) -> None:
        """Run the firing loop as a task."""
        self._task = asyncio.create_task(self.run(), name="backend-alert-deadlines")

    async def stop(self) -> None:
        """Stop the loop (a firing in progress finishes or rolls back)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def run(self) -> None:
        """Sleep until the next entry is due, fire what is due; supervises every round."""
        delay = 0.2
        while True:
            self._wake.clear()
            await sleep_until_due(self._wake, self.next_due(), self._clock(), self._max_sleep)
            try:
                await self.fire_due()
            except StorageError as err:
                self.failures += 1
                _log.warning("firing alert deadlines failed (%s); retrying in %.1f s", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except Exception:  # noqa: BLE001 - the one supervisor of the alert deadline task
                self.failures += 1
                _log.exception("firing alert deadlines failed")
                await asyncio.sleep(delay)
                continue
            delay = 0.2
