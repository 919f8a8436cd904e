"""The task supervisor, in virtual time: restarts, backoff, and what passes through."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from gateway._supervisor import supervise


class _Clock:
    """Virtual monotonic time, moved only by the supervisor's sleeps and the task itself."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_failures_restart_with_doubling_backoff_up_to_the_cap() -> None:
    clock = _Clock()
    restarts: Counter[str] = Counter()
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 8:
            raise OSError("broker gone")
        raise asyncio.CancelledError  # the stop, on the ninth run

    with pytest.raises(asyncio.CancelledError):
        await supervise(
            "t",
            flaky,
            restarts=restarts,
            min_backoff_s=1,
            max_backoff_s=10,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
    assert restarts["t"] == 8
    nominal = [1, 2, 4, 8, 10, 10, 10, 10]
    assert len(clock.sleeps) == 8
    for slept, base in zip(clock.sleeps, nominal, strict=True):
        assert base * 0.8 <= slept <= base * 1.2


async def test_a_healthy_run_resets_the_backoff() -> None:
    clock = _Clock()
    restarts: Counter[str] = Counter()
    lengths = iter([0.0, 0.0, 0.0, 120.0, 0.0])

    async def run() -> None:
        try:
            clock.now += next(lengths)
        except StopIteration:
            raise asyncio.CancelledError from None
        raise RuntimeError("fail")

    with pytest.raises(asyncio.CancelledError):
        await supervise(
            "t",
            run,
            restarts=restarts,
            min_backoff_s=1,
            max_backoff_s=30,
            healthy_after_s=60,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
        )
    bases = [round(s / b) for s, b in zip(clock.sleeps, [1, 2, 4, 1, 2], strict=True)]
    assert bases == [1, 1, 1, 1, 1]


async def test_a_task_that_returns_is_restarted() -> None:
    clock = _Clock()
    restarts: Counter[str] = Counter()
    runs = 0

    async def returns() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await supervise(
            "t", returns, restarts=restarts, sleep=clock.sleep, monotonic=clock.monotonic
        )
    assert runs == 3
    assert restarts["t"] == 2


async def test_exception_groups_are_supervised_and_base_exceptions_pass() -> None:
    clock = _Clock()
    restarts: Counter[str] = Counter()
    runs = 0

    async def grouped() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise ExceptionGroup("task group", [ConnectionError("x")])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await supervise(
            "t", grouped, restarts=restarts, sleep=clock.sleep, monotonic=clock.monotonic
        )
    assert restarts["t"] == 1


async def test_cancel_during_backoff_stops_at_once() -> None:
    restarts: Counter[str] = Counter()
    failed = asyncio.Event()

    async def fails() -> None:
        failed.set()
        raise OSError("x")

    task = asyncio.create_task(
        supervise("t", fails, restarts=restarts, min_backoff_s=30, max_backoff_s=30)
    )
    await failed.wait()
    await asyncio.sleep(0)  # let the supervisor enter its 30 s backoff
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
