"""The consumer side of the backend benchmarks, each in a process of its own.

``python -m bench._consumer backend CONFIG_JSON`` runs the real backend (storage, detectors,
alerts and the API); ``python -m bench._consumer paho HOST PORT CLIENT_ID`` runs a bare paho
client that subscribes to the same events at QoS 1 and only counts them. Both print a JSON
line of counters every 0.2 s (``t`` on the system-wide monotonic clock, ``cpu`` the process's
CPU time across its threads) until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

TICK_S = 0.2


def _emit(**counters: Any) -> None:
    line = json.dumps({"t": time.monotonic(), "cpu": time.process_time(), **counters})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _backend(config_json: str, profile: Path | None) -> None:
    from backend.app import Backend  # noqa: PLC0415 - the paho consumer does not need it
    from backend.config import BackendConfig  # noqa: PLC0415
    from backend.ingest import tune_garbage_collector  # noqa: PLC0415

    config = BackendConfig.model_validate_json(config_json)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    profiler = cProfile.Profile() if profile is not None else None
    async with Backend(config) as backend:
        tune_garbage_collector()  # as run_backend does
        if profiler is not None:
            profiler.enable()
        s = backend.stats
        while not stopping.is_set():
            _emit(
                messages=s.received,
                events=s.stored,
                duplicates=s.duplicates,
                alerts=s.alerts_opened + s.alerts_attached,
                batches=s.batches,
                errors=s.internal_errors + s.storage_failures + s.dead_lettered,
                api_port=backend.api_port,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await stopping.wait()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))


def _paho(host: str, port: int, client_id: str) -> None:
    import paho.mqtt.client as paho  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion  # noqa: PLC0415
    from paho.mqtt.packettypes import PacketTypes  # noqa: PLC0415
    from paho.mqtt.properties import Properties  # noqa: PLC0415

    counts = {"messages": 0, "events": 0}
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    def on_message(_c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        counts["messages"] += 1
        # One envelope, or a JSON array of them: counting the ids costs next to nothing.
        counts["events"] += msg.payload.count(b'"id":')

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe("homecare/v1/+/events", qos=1)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = 1000
    client.connect(host, port, 30, clean_start=True, properties=props)
    client.loop_start()
    try:
        while not stopping.wait(TICK_S):
            _emit(**counts, subscribed=client.is_connected())
    finally:
        client.disconnect()
        client.loop_stop()


def main(argv: list[str]) -> None:
    """Run the consumer named by ``argv[0]``."""
    if argv[0] == "backend":
        profile = Path(argv[2]) if len(argv) > 2 else None
        asyncio.run(_backend(argv[1], profile))
    elif argv[0] == "paho":
        _paho(argv[1], int(argv[2]), argv[3])
    else:
        raise SystemExit(f"unknown consumer {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
