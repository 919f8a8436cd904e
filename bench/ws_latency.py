"""Event to alert on the WebSocket, under a steady background load.

Run: ``python -m bench ws-latency [--db sqlite|postgres] [--rate 1000] [--samples 200]``.
The backend runs in a process of its own (storage, detectors, alerts, the API) behind a
private mosquitto. A publisher sends non-alerting events from many homes at a steady rate,
each home its own gateway-format message; meanwhile an SOS press from a home not yet in
alarm is injected every ``--gap`` seconds. The clock starts just before the SOS envelope is
published and stops when the alert it opened arrives at a WebSocket client connected to
``/api/v1/stream`` with the service token. Target: p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import websockets

from bench._feed import (
    Consumer,
    RawPublisher,
    empty_postgres,
    postgres_reachable,
    raw_publishers,
)
from bench._load import EventMix, Homes
from bench.ingest import DEFAULT_POSTGRES, backend_config
from homecare.broker import MosquittoProcess
from protocol.mqtt import MqttClient

__all__ = ["main"]

TARGET_P99_MS = 100.0
WARMUP_SAMPLES = 5
_TICK_S = 0.01
#: A press whose alert takes longer counts as lost (the backend is not keeping up).
_GIVE_UP_S = 10.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench ws-latency", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="its tables are dropped")
    parser.add_argument("--homes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0, help="background events/s")
    parser.add_argument("--batch", type=int, default=1, help="background events per message")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between SOS presses")
    parser.add_argument("--profile", type=Path, help="write the backend's cProfile here")
    return parser


def pct(values: Sequence[float], q: float) -> float:
    """Return the ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _background(
    publishers: list[RawPublisher], homes: Homes, rate: float, batch: int, stop: asyncio.Event
) -> int:
    """Publish ``rate`` events/s in ticks of 10 ms, each message one home's; return the count."""
    sent = 0
    cursor = 0
    started = time.monotonic()
    while not stop.is_set():
        due = int((time.monotonic() - started) * rate)
        while sent < due:
            publishers[cursor % len(publishers)].publish(
                *homes.batch(cursor % len(homes.ids), batch)
            )
            cursor += 1
            sent += batch
        await asyncio.sleep(_TICK_S)
    return sent


async def _sample(
    sos_client: MqttClient,
    ws: websockets.ClientConnection,
    homes: Homes,
    index: int,
) -> float:
    """Publish one SOS press; return the milliseconds until its alert is on the stream."""
    payload = homes.one(index, "pendant", "sos", "bedroom", {"source": "pendant"})
    event_id = json.loads(payload)["id"]
    t0 = time.perf_counter()
    await sos_client.publish(homes.topics[index], payload)
    try:
        async with asyncio.timeout(_GIVE_UP_S):
            while json.loads(await ws.recv()).get("event_id") != event_id:
                pass
    except TimeoutError:
        return math.inf
    return (time.perf_counter() - t0) * 1000


async def _run(args: argparse.Namespace, root: Path) -> tuple[list[float], dict[str, float]]:
    token = secrets.token_urlsafe(24)
    url = f"sqlite+aiosqlite:///{root / 'bench.db'}"
    if args.db == "postgres":
        if not postgres_reachable(args.postgres_url):
            raise SystemExit(f"PostgreSQL at {args.postgres_url} is not reachable")
        await empty_postgres(args.postgres_url)
        url = args.postgres_url
    homes = Homes(args.homes, prefix="W", mix=EventMix(alert_share=0.0))
    if args.samples + WARMUP_SAMPLES > len(homes.ids):
        raise SystemExit("--samples must leave a home not yet in alarm for each press")
    with (
        MosquittoProcess(root / "broker") as broker,
        raw_publishers(broker.host, broker.port, 4) as publishers,
    ):
        async with (
            Consumer(
                "backend",
                backend_config(broker, url, token),
                *([str(args.profile)] if args.profile else []),
            ) as backend,
            MqttClient(host=broker.host, port=broker.port, client_id="bench-sos") as sos,
        ):
            port = backend.sample().raw["api_port"]
            stream = f"ws://127.0.0.1:{port}/api/v1/stream?token={token}"
            stop = asyncio.Event()
            load = asyncio.create_task(_background(publishers, homes, args.rate, args.batch, stop))
            latencies: list[float] = []
            try:
                async with websockets.connect(stream, max_queue=None) as ws:
                    await asyncio.sleep(3.0)  # the load settles
                    start = backend.sample()
                    for k in range(args.samples + WARMUP_SAMPLES):
                        latencies.append(await _sample(sos, ws, homes, k))
                        if math.isinf(latencies[-1]):
                            break  # the backend is not keeping up: no point waiting on
                        await asyncio.sleep(args.gap)
                    end = await backend.next_sample()
            finally:
                stop.set()
                await load
    seconds = end.t - start.t
    figures = {
        "seconds": seconds,
        "rate": (end.events - start.events) / seconds,
        "cpu": (end.cpu - start.cpu) / seconds,
        "errors": float(end.raw.get("errors", 0)),
        "behind": float(homes.sent - end.events),
    }
    return latencies[WARMUP_SAMPLES:], figures


def main(argv: Sequence[str] = ()) -> None:
    """Print p50 and p99 of SOS event to alert on the WebSocket, under background load."""
    args = _parser().parse_args(list(argv))
    load_avg = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="homecare-bench-") as tmp:
        latencies, figures = asyncio.run(_run(args, Path(tmp)))
    db = "SQLite (WAL)" if args.db == "sqlite" else "PostgreSQL"
    print(
        f"SOS event to alert on the WebSocket, {len(latencies)} presses, backend on {db}; "
        f"{os.cpu_count()} CPUs, load average {load_avg:.2f} at start"
    )
    print(
        f"  background: {args.rate:,.0f} events/s asked, {figures['rate']:,.0f} stored/s "
        f"from {args.homes} homes, {args.batch} per message; backend CPU {figures['cpu']:.2f} "
        f"cores over {figures['seconds']:.0f} s"
    )
    if latencies and math.isinf(latencies[-1]):
        print(
            f"  an alert took over {_GIVE_UP_S:g} s after {len(latencies) - 1} presses: the "
            f"backend is not keeping up ({figures['behind']:,.0f} events behind)"
        )
        latencies = latencies[:-1]
    if latencies:
        print(
            f"  event -> WebSocket  p50 {statistics.median(latencies):6.2f} ms   "
            f"p99 {pct(latencies, 0.99):6.2f} ms   max {max(latencies):6.2f} ms"
        )
    print(f"  target: p99 <= {TARGET_P99_MS:g} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
