"""Sustained ingest of one backend process, next to a bare paho client on the same flow.

Run: ``python -m bench ingest [--db sqlite|postgres|both] [--homes 1000] [--batch 50]``.
Publishers feed gateway-format batches from many homes (a realistic mix, a few of them
raising alerts) through a private mosquitto. Each consumer runs in a process of its own:
first a bare paho client subscribed at QoS 1 that only counts (the client library's limit
on this machine), then the real backend (storage, detectors, alerts, API; manual acks after
each commit, persistent session) on each database. The publishers stay a bounded number of
messages ahead of the consumer, so it is never starved and the broker's queue stays small.
After a warm-up the rate of stored events is measured over a fixed window, with the
consumer's CPU time over the same window.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backend.config import BackendConfig
from bench._feed import (
    Consumer,
    MachineCpu,
    Sample,
    empty_postgres,
    postgres_reachable,
    publish_paced,
    raw_publishers,
)
from bench._load import EventMix, Homes
from homecare.broker import MosquittoProcess

__all__ = ["Result", "main"]

DEFAULT_POSTGRES = os.environ.get(
    "HOMECARE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TARGET = 5000
PAHO = "bare paho client, QoS 1"


@dataclass(frozen=True, slots=True)
class Result:
    """What one consumer did over the measured window."""

    name: str
    seconds: float
    events: int
    messages: int
    cpu_s: float
    alerts: int
    backlog: int
    others: dict[str, float]

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def message_rate(self) -> float:
        return self.messages / self.seconds

    @property
    def per_cpu(self) -> float:
        """Events per CPU-second of the consumer: its rate were it given a whole core."""
        return self.events / self.cpu_s if self.cpu_s > 0 else 0.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench ingest", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="its tables are dropped")
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50, help="events per MQTT message")
    parser.add_argument("--alert-share", type=float, default=0.002)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--ahead", type=int, default=2000, help="messages ahead of the consumer")
    parser.add_argument("--no-paho", action="store_true", help="skip the bare paho client")
    parser.add_argument("--profile", type=Path, help="write the backend's cProfile here")
    return parser


async def _measure(
    name: str,
    consumer: Consumer,
    broker: MosquittoProcess,
    next_message: Callable[[], tuple[str, bytes]],
    args: argparse.Namespace,
) -> Result:
    stop = asyncio.Event()

    def ahead(sent: int) -> bool:
        return bool(sent - consumer.sample().messages >= args.ahead)

    with raw_publishers(broker.host, broker.port, 4) as publishers:
        feeding = asyncio.create_task(publish_paced(publishers, next_message, ahead, stop))
        try:
            first = await consumer.next_sample()
            while first.events == 0:
                first = await consumer.next_sample()
            await asyncio.sleep(args.warmup)
            start = await consumer.next_sample()
            broker_pid = broker.process.pid if broker.process is not None else 0
            machine = MachineCpu({"broker": broker_pid, "publisher": os.getpid()})
            await asyncio.sleep(args.seconds)
            end = await consumer.next_sample()
            others = machine.used()
        finally:
            stop.set()
            sent = await feeding
    return _result(name, start, end, sent - end.messages, others)


def _fresh(homes: Homes, batch: int) -> Callable[[], tuple[str, bytes]]:
    """Each call, the next home's next batch: new ids, as gateways send them."""
    cursor = itertools.cycle(range(len(homes.ids)))
    return lambda: homes.batch(next(cursor), batch)


def _pooled(homes: Homes, batch: int) -> Callable[[], tuple[str, bytes]]:
    """The same flow from a pool made in advance: the publisher then costs next to nothing."""
    pool = [homes.batch(i % len(homes.ids), batch) for i in range(2 * len(homes.ids))]
    return itertools.cycle(pool).__next__


def _result(
    name: str, start: Sample, end: Sample, backlog: int, others: dict[str, float]
) -> Result:
    return Result(
        name=name,
        seconds=end.t - start.t,
        events=end.events - start.events,
        messages=end.messages - start.messages,
        cpu_s=end.cpu - start.cpu,
        alerts=int(end.raw.get("alerts", 0)) - int(start.raw.get("alerts", 0)),
        backlog=backlog,
        others={k: v / (end.t - start.t) for k, v in others.items()},
    )


def backend_config(broker: MosquittoProcess, url: str, token: str) -> str:
    """Return a backend config as JSON, its one-off secrets included."""
    doc: dict[str, object] = {
        "database_url": url,
        "mqtt": {
            "host": broker.host,
            "port": broker.port,
            "client_id": f"bench-backend-{uuid.uuid4().hex[:8]}",
        },
        "api": {"port": 0, "token": token},
    }
    if "auth" in BackendConfig.model_fields:
        doc["auth"] = {"secret_key": secrets.token_urlsafe(48)}
    BackendConfig.model_validate(doc)  # fail here, not in the consumer process
    return json.dumps(doc)


async def _run(args: argparse.Namespace, root: Path) -> list[Result]:
    results: list[Result] = []
    mix = EventMix(alert_share=args.alert_share)
    with MosquittoProcess(root / "broker") as broker:
        if not args.no_paho:
            homes = Homes(args.homes, prefix="P", mix=mix)
            client_id = f"bench-paho-{uuid.uuid4().hex[:8]}"
            async with Consumer("paho", broker.host, str(broker.port), client_id) as consumer:
                await _wait_subscribed(consumer)
                flow = _pooled(homes, args.batch)
                results.append(await _measure(PAHO, consumer, broker, flow, args))
        targets: list[tuple[str, str]] = []
        if args.db in ("sqlite", "both"):
            targets.append(("backend, SQLite (WAL)", f"sqlite+aiosqlite:///{root / 'bench.db'}"))
        if args.db in ("postgres", "both"):
            if postgres_reachable(args.postgres_url):
                await empty_postgres(args.postgres_url)
                targets.append(("backend, PostgreSQL", args.postgres_url))
            else:
                print(f"  PostgreSQL at {args.postgres_url} is not reachable: skipped")
        for name, url in targets:
            homes = Homes(args.homes, prefix="S" if "SQLite" in name else "G", mix=mix)
            config = backend_config(broker, url, secrets.token_urlsafe(24))
            extra = [str(args.profile)] if args.profile else []
            async with Consumer("backend", config, *extra) as consumer:
                flow = _fresh(homes, args.batch)
                results.append(await _measure(name, consumer, broker, flow, args))
    return results


async def _wait_subscribed(consumer: Consumer) -> None:
    while not consumer.sample().raw.get("subscribed"):
        await consumer.next_sample()
    await asyncio.sleep(0.3)  # the SUBACK follows the CONNACK


def main(argv: Sequence[str] = ()) -> None:
    """Print sustained events/s of a bare paho client and of the backend on each database."""
    args = _parser().parse_args(list(argv))
    load = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="homecare-bench-") as tmp:
        results = asyncio.run(_run(args, Path(tmp)))
    print(
        f"ingest: {args.homes} homes, {args.batch} events per message, "
        f"{args.alert_share:.1%} alerting; warm-up {args.warmup:g} s, "
        f"measured {args.seconds:g} s; {os.cpu_count()} CPUs, load average {load:.2f} at start"
    )
    print(
        f"  {'consumer':<26}{'events/s':>10}{'msgs/s':>9}{'CPU':>6}{'ev/CPU-s':>10}"
        f"{'events':>11}{'s':>6}{'alerts':>7}{'backlog':>8}"
    )
    paho = next((r for r in results if r.name == PAHO), None)
    for r in results:
        print(
            f"  {r.name:<26}{r.rate:>10,.0f}{r.message_rate:>9,.0f}{r.cpu_s / r.seconds:>6.2f}"
            f"{r.per_cpu:>10,.0f}{r.events:>11,}{r.seconds:>6.1f}{r.alerts:>7,}{r.backlog:>8,}"
        )
    if paho is not None:
        for r in results:
            if r is not paho:
                print(
                    f"  {r.name}: {r.rate / paho.rate:.1%} of the paho client's events/s, "
                    f"{r.per_cpu / paho.per_cpu:.1%} of its events per CPU-second"
                )
    for r in results:
        if r.others:
            parts = ", ".join(f"{k} {v:.2f}" for k, v in r.others.items())
            print(f"  {r.name}: CPU in cores over the window: {parts}")
    print(
        "  CPU: the consumer process's CPU time over the window, in cores (all its threads);\n"
        "  machine: all processes on its CPUs, the database server's included. A backlog under\n"
        f"  --ahead ({args.ahead:,} messages) means the publishers, not the consumer, set the pace."
    )
    print(f"  target: >= {TARGET:,} events/s stored with detectors and alerts on")
    print(f"  ({time.monotonic() - started:.0f} s in all)")


if __name__ == "__main__":
    main(sys.argv[1:])
