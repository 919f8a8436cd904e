"""An in-process pub/sub of committed alert changes; a slow subscriber never blocks ingest.

Listeners are called synchronously with every change (the alert lifecycle takes up the
follow-up of an alert just opened this way); subscribers read changes from a bounded queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Self

from backend.alerts import AlertChange

__all__ = ["Hub", "Subscription"]

_log = logging.getLogger(__name__)


class Subscription:
    """A bounded queue of changes; iterate it with ``async for``, close it when done.

    When the queue is full the subscription is dropped and ``lagged`` is set: the
    reader gets what was queued, then the iteration ends.
    """

    def __init__(self, hub: Hub, maxsize: int) -> None:
        self._hub = hub
        self._maxsize = maxsize
        self._items: deque[AlertChange] = deque()
        self._ready = asyncio.Event()
        self.closed = False
        self.lagged = False

    def _offer(self, change: AlertChange) -> None:
        if self.closed:
            return
        if len(self._items) >= self._maxsize:
            self.lagged = True
            _log.warning("alert stream subscriber fell %d changes behind; dropped", self._maxsize)
            self.close()
            return
        self._items.append(change)
        self._ready.set()

    def close(self) -> None:
        """Stop receiving; a waiting reader ends after the queued changes."""
        if not self.closed:
            self.closed = True
            self._hub._remove(self)
            self._ready.set()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> AlertChange:
        while True:
            if self._items:
                return self._items.popleft()
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.close()


class Hub:
    """Fan committed alert changes out to every subscriber."""

    def __init__(self, *, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._listeners: list[Callable[[AlertChange], None]] = []
        self._joined = asyncio.Event()
        self.dropped_subscribers = 0

    def add_listener(self, listener: Callable[[AlertChange], None]) -> None:
        """Call ``listener`` with each change as it is published; it must not block or raise."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[AlertChange], None]) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def subscribe(self, *, queue_size: int | None = None) -> Subscription:
        """Return a new subscription; use it as ``with hub.subscribe() as sub:``."""
        sub = Subscription(self, queue_size or self._queue_size)
        self._subscribers.add(sub)
        self._joined.set()
        return sub

    async def wait_subscribers(self, count: int = 1) -> None:
        """Wait until at least ``count`` subscriptions are open."""
        while len(self._subscribers) < count:
            self._joined.clear()
            await self._joined.wait()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, change: AlertChange) -> None:
        """Hand ``change`` to every listener and subscriber without waiting."""
        for listener in list(self._listeners):
            listener(change)
        for sub in list(self._subscribers):
            sub._offer(change)
            if sub.lagged:
                self.dropped_subscribers += 1

    def close(self) -> None:
        """End every subscription."""
        for sub in list(self._subscribers):
            sub.close()

    def _remove(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)
