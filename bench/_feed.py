"""Parts the backend benchmarks share: a consumer process, a paced publisher, a clean database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy.ext.asyncio import create_async_engine

from backend.storage import metadata

__all__ = [
    "Consumer",
    "MachineCpu",
    "RawPublisher",
    "Sample",
    "empty_postgres",
    "postgres_reachable",
    "publish_paced",
    "raw_publishers",
]


@dataclass(frozen=True, slots=True)
class Sample:
    """One counter line of a consumer process."""

    t: float
    cpu: float
    messages: int
    events: int
    raw: dict[str, Any]


class MachineCpu:
    """CPU seconds the whole machine and some processes used since ``start`` (Linux /proc)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
            out["machine"] = (sum(fields) - fields[3] - fields[4]) / self._tick  # not idle/iowait
            for name, pid in self._pids.items():
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read().rsplit(")", 1)[1].split()
                out[name] = (int(stat[11]) + int(stat[12])) / self._tick
        except (OSError, ValueError, IndexError):
            pass
        return out

    def used(self) -> dict[str, float]:
        """Return the CPU seconds used since start, by name (``machine`` for all)."""
        now = self._read()
        return {k: v - self._start[k] for k, v in now.items() if k in self._start}


class Consumer:
    """A consumer process of ``bench._consumer``, its latest counters read as they come."""

    def __init__(self, *args: str) -> None:
        self._args = args
        self._proc: asyncio.subprocess.Process | None = None
        self.pid = 0
        self._reader: asyncio.Task[None] | None = None
        self.latest: Sample | None = None
        self._ready = asyncio.Event()
        self.stderr = b""

    async def __aenter__(self) -> Consumer:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._consumer",
            *self._args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        self.pid = self._proc.pid
        self._reader = asyncio.create_task(self._read())
        self._errors = asyncio.create_task(self._read_stderr())
        try:
            async with asyncio.timeout(60):
                await self._ready.wait()
        except BaseException:
            await self.stop()
            raise
        if self.latest is None:
            await self.stop()
            raise RuntimeError(f"the consumer did not start: {self.stderr.decode()[-2000:]}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _read(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        async for line in self._proc.stdout:
            doc = json.loads(line)
            self.latest = Sample(
                doc["t"], doc["cpu"], int(doc["messages"]), int(doc["events"]), doc
            )
            self._ready.set()
        self._ready.set()

    async def _read_stderr(self) -> None:
        assert self._proc is not None
        assert self._proc.stderr is not None
        self.stderr = await self._proc.stderr.read()

    def sample(self) -> Sample:
        """Return the latest counters."""
        if self.latest is None:
            raise RuntimeError("the consumer has not reported yet")
        return self.latest

    async def next_sample(self) -> Sample:
        """Wait for a counter line newer than the current one."""
        current = self.latest
        while self.latest is current:
            if self._reader is None or self._reader.done():
                raise RuntimeError(f"the consumer stopped: {self.stderr.decode()[-2000:]}")
            await asyncio.sleep(0.02)
        return self.sample()

    async def stop(self) -> None:
        """Ask the consumer to stop; kill it if it takes more than 30 s."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        for task in (self._reader, self._errors):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task


class RawPublisher:
    """A bare paho client publishing at QoS 1 without waiting: paho keeps the in-flight window.

    Our asyncio client awaits every PUBACK, which is right for a gateway and far too costly
    for a load generator sharing the machine with what it measures.
    """

    def __init__(self, host: str, port: int, client_id: str) -> None:
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self._client.max_inflight_messages_set(1000)
        self._host, self._port = host, port
        self.acked = 0

    def __enter__(self) -> RawPublisher:
        def on_publish(*_: Any) -> None:
            self.acked += 1

        self._client.on_publish = on_publish
        self._client.connect(self._host, self._port, 30)
        self._client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one message (QoS 1); paho sends it as the in-flight window allows."""
        self._client.publish(topic, payload, qos=1)


@contextlib.contextmanager
def raw_publishers(host: str, port: int, count: int) -> Iterator[list[RawPublisher]]:
    """``count`` bare publishing connections, standing in for many gateways."""
    tag = uuid.uuid4().hex[:6]
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(RawPublisher(host, port, f"bench-pub-{tag}-{i}"))
            for i in range(count)
        ]


async def publish_paced(
    publishers: list[RawPublisher],
    next_message: Callable[[], tuple[str, bytes]],
    ahead: Callable[[int], bool],
    stop: asyncio.Event,
) -> int:
    """Publish ``next_message()`` round the publishers until ``stop``; return the count.

    ``ahead(sent)`` tells when the publisher is far enough ahead of the consumer to pause,
    so that the consumer is never starved and the broker's queue stays bounded.
    """
    sent = 0
    while not stop.is_set():
        if ahead(sent):
            await asyncio.sleep(0.02)  # the consumer reports every 0.2 s
            continue
        publishers[sent % len(publishers)].publish(*next_message())
        sent += 1
        if sent % 50 == 0:
            await asyncio.sleep(0)
    return sent


def postgres_reachable(url: str) -> bool:
    """Tell whether the PostgreSQL server of ``url`` accepts TCP connections."""
    import socket  # noqa: PLC0415 - only for this probe

    parsed = sa.make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 1):
            return True
    except OSError:
        return False


async def empty_postgres(url: str) -> None:
    """Drop the backend's tables in the database of ``url``, so that a run starts empty."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table in [*(t.name for t in reversed(metadata.sorted_tables)), "alembic_version"]:
                await conn.execute(sa.text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    finally:
        await engine.dispose()
