"""The gateway as a real process: steady RSS, throughput on one core, replay after an outage.

Run: ``python -m bench gateway-rss``, ``gateway-throughput``, ``gateway-replay``.
The gateway runs as ``python -m homecare gateway`` with a 30-device home. For
throughput and replay it is pinned to CPU 0 (``taskset -c 0``) while mosquitto,
the load generator and the counting subscriber run on the other CPUs.
Targets: RSS <= 40 MB with 100,000 events queued; >= 2,000 events/s from
source to outbox to broker; replay >= 1,000 events/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.gateway_common import (
    count_events,
    fill_outbox,
    gateway_process,
    rss_kib,
    toggle_payloads,
    write_config,
)
from homecare.broker import MosquittoProcess, free_port
from protocol.mqtt import MqttClient

__all__ = ["replay", "rss", "throughput"]

HOME = "BENCH1"
BASE = "z2m-bench"
QUEUED = 100_000


def _away_from_cpu0() -> None:
    cpus = os.sched_getaffinity(0)
    if len(cpus) > 1 and 0 in cpus:
        os.sched_setaffinity(0, cpus - {0})


def _outbox_count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        (n,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    return int(n)


async def _publish_all(client: MqttClient, n: int, start: int = 0, window: int = 500) -> float:
    """Publish ``n`` toggles with QoS 1, ``window`` in flight; return the seconds taken."""
    t0 = time.perf_counter()
    pending: list[asyncio.Future[int]] = []
    for topic, payload in toggle_payloads(BASE, n, start):
        pending.append(asyncio.ensure_future(client.publish(topic, payload, qos=1)))
        if len(pending) >= window:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return time.perf_counter() - t0


async def _rss_of(root: Path, *, cli: bool) -> tuple[int, int, int]:
    data_dir = root / ("gw-cli" if cli else "gw-only")
    fill_outbox(data_dir, HOME, QUEUED)
    live = 5_000
    with MosquittoProcess(root / "broker") as broker:
        config = write_config(
            root / "gw.toml",
            home=HOME,
            data_dir=data_dir,
            uplink_port=free_port(),  # unreachable: the outbox only grows
            z2m_port=broker.port,
            base=BASE,
        )
        with gateway_process(config, cli=cli) as proc:
            async with MqttClient(host=broker.host, port=broker.port) as client:
                await asyncio.sleep(3.0)  # start-up and subscriptions
                await _publish_all(client, live)
                db = data_dir / "gateway.db"
                async with asyncio.timeout(60):
                    while _outbox_count(db) < QUEUED + live:  # noqa: ASYNC110 - another process
                        await asyncio.sleep(0.5)
                await asyncio.sleep(5.0)  # steady state
                now, peak = rss_kib(proc.pid)
    return QUEUED + live, now, peak


async def _rss(root: Path) -> None:
    print(f"  gateway process, 30 devices, uplink unreachable, {QUEUED:,} events queued")
    print("  before start and 5,000 more received live; target <= 40 MB")
    for cli, name in ((True, "python -m homecare gateway"), (False, "run_gateway alone")):
        queued, now, peak = await _rss_of(root, cli=cli)
        # VmRSS is in KiB; the target is in MB (10^6 bytes), so both units are printed.
        print(
            f"  {name:<28} {queued:,} queued: VmRSS {now / 1024:5.1f} MiB"
            f" ({now * 1024 / 1e6:4.1f} MB), peak {peak / 1024:5.1f} MiB"
        )


async def _throughput(root: Path) -> None:
    _away_from_cpu0()
    n = 30_000
    with MosquittoProcess(root / "broker") as broker:
        config = write_config(
            root / "gw.toml",
            home=HOME,
            data_dir=root / "gw",
            uplink_port=broker.port,
            z2m_port=broker.port,
            base=BASE,
        )
        counter = MqttClient(
            host=broker.host, port=broker.port, subscriptions=[("homecare/v1/+/events", 1)]
        )
        async with counter, MqttClient(host=broker.host, port=broker.port) as source:
            await counter.wait_subscribed()
            with gateway_process(config, cpu=0):
                await asyncio.sleep(3.0)
                warm = 600
                await _publish_all(source, warm)
                # 30 availability-free devices: the warm-up yields one event per report.
                await count_events(counter, warm, 60)
                t0 = time.perf_counter()
                sender = asyncio.create_task(_publish_all(source, n, start=warm))
                got, _, last = await count_events(counter, n, 120)
                send_s = await sender
    elapsed = last - t0
    print(f"  {n:,} Zigbee2MQTT reports -> gateway (pinned to CPU 0) -> outbox -> mosquitto")
    print(f"  {got:,} events in {elapsed:.2f} s: {got / elapsed:,.0f} events/s   target >= 2,000")
    print(f"  (the load generator alone took {send_s:.2f} s: {n / send_s:,.0f} reports/s)")


async def _replay(root: Path) -> None:
    _away_from_cpu0()
    data_dir = root / "gw"
    fill_outbox(data_dir, HOME, QUEUED)
    with MosquittoProcess(root / "broker") as broker:
        config = write_config(
            root / "gw.toml",
            home=HOME,
            data_dir=data_dir,
            uplink_port=broker.port,
            z2m_port=broker.port,
            base=BASE,
        )
        counter = MqttClient(
            host=broker.host, port=broker.port, subscriptions=[("homecare/v1/+/events", 1)]
        )
        async with counter:
            await counter.wait_subscribed()
            started = time.perf_counter()
            with gateway_process(config, cpu=0):
                got, first, last = await count_events(counter, QUEUED, 110)
    print(f"  {QUEUED:,} queued events, gateway (pinned to CPU 0) starts with the uplink up:")
    print(f"  first event after {first - started:.2f} s (process start-up included)")
    print(
        f"  {got:,} events in {last - first:.2f} s: {got / (last - first):,.0f} events/s"
        "   target >= 1,000"
    )


def _run(coro_fn: object) -> None:
    with tempfile.TemporaryDirectory(prefix="homecare-bench-") as tmp:
        asyncio.run(coro_fn(Path(tmp)))  # type: ignore[operator]


def rss() -> None:
    """Print the steady RSS of a gateway process with 100,000 events queued."""
    _run(_rss)


def throughput() -> None:
    """Print the events per second the gateway sustains on one core."""
    _run(_throughput)


def replay() -> None:
    """Print the replay rate of a 100,000-event backlog."""
    _run(_replay)
