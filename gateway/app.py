"""The gateway process: sources -> pipeline -> outbox -> uplink, each task supervised."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self

from device_profiles import Profile, load_registry
from gateway._clock import clock_synced as system_clock_synced
from gateway._errors import InvalidReadingError
from gateway._store import open_store
from gateway._supervisor import supervise
from gateway.config import GatewayConfig
from gateway.deadletter import DeadLetters
from gateway.devicetable import DeviceTable
from gateway.outbox import Outbox
from gateway.pipeline import (
    DeviceIndex,
    FilterState,
    Reading,
    device_snapshot,
    next_deadline,
    process,
    status_devices,
)
from gateway.pipeline import start as start_pipeline
from gateway.pipeline import tick as tick_pipeline
from gateway.sources import Rejection, SourceItem
from gateway.sources.rtl433 import Rtl433Source
from gateway.sources.serial import SerialSource
from gateway.sources.zigbee2mqtt import Zigbee2MqttSource
from gateway.uplink import Uplink

__all__ = ["STORE_FILE", "Gateway", "run_gateway"]

_log = logging.getLogger(__name__)

STORE_FILE = "gateway.db"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _reading_bytes(reading: Reading) -> bytes:
    return json.dumps(
        {"device": reading.device_id, "type": str(reading.type), "data": reading.data},
        default=str,
    ).encode()


class Gateway:
    """One home's gateway; use as ``async with Gateway(config) as gw:``."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        profiles: Mapping[str, Profile] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        clock_synced: Callable[[], bool | None] = system_clock_synced,
        serial_read_timeout_s: float = 0.5,
        tick_interval_s: float = 1.0,
    ) -> None:
        self._config = config
        self._profiles = profiles
        self._clock = clock
        self._clock_synced = clock_synced
        self._serial_read_timeout = serial_read_timeout_s
        self._state = FilterState()
        self._counts: Counter[str] = Counter()
        self._restarts: Counter[str] = Counter()
        self._tasks: list[asyncio.Task[None]] = []
        self._conn: sqlite3.Connection | None = None
        self._outbox: Outbox | None = None
        self._dead: DeadLetters | None = None
        self._uplink: Uplink | None = None
        self._zigbee: Zigbee2MqttSource | None = None
        self._serial: list[SerialSource] = []
        self._tick_s = tick_interval_s
        self._devices: DeviceTable | None = None
        self._persisted_at: datetime | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "the gateway is not started"
        return self._outbox

    @property
    def dead_letters(self) -> DeadLetters:
        assert self._dead is not None, "the gateway is not started"
        return self._dead

    async def start(self) -> None:
        """Open the store and start every source and the uplink."""
        config = self._config
        profiles = self._profiles or load_registry()
        index = DeviceIndex.from_config(config, profiles)
        self._conn = open_store(config.data_dir / STORE_FILE)
        self._outbox = Outbox(
            self._conn,
            config.home_id,
            max_bytes=config.outbox.max_bytes,
            max_events=config.outbox.max_events,
            life_safety_devices=[
                d.device_id for d in config.devices if profiles[d.profile].life_safety
            ],
        )
        self._dead = DeadLetters(self._conn)
        self._devices = DeviceTable(self._conn)
        start_pipeline(self._state, index, self._clock(), self._devices.last_heard())
        self._uplink = Uplink(
            config,
            self._outbox,
            self._dead,
            clock=self._clock,
            clock_synced=self._clock_synced,
            health=self._health,
        )

        async def ingest(items: list[SourceItem]) -> None:
            await self._ingest(index, items)

        self._spawn("uplink", self._uplink.run)
        self._spawn("supervision", lambda: self._tick_loop(index))
        if config.rtl_433 is not None:
            rtl = Rtl433Source(
                config.rtl_433, client_id=f"homecare-rtl433-{config.home_id}", clock=self._clock
            )
            self._spawn("rtl_433", lambda: rtl.run(ingest))
        if config.zigbee2mqtt is not None:
            zigbee = Zigbee2MqttSource(
                config.zigbee2mqtt, client_id=f"homecare-z2m-{config.home_id}", clock=self._clock
            )
            self._zigbee = zigbee
            self._spawn("zigbee2mqtt", lambda: zigbee.run(ingest))
        for port in config.serial:
            source = SerialSource(port, clock=self._clock, read_timeout_s=self._serial_read_timeout)
            self._serial.append(source)
            self._spawn(f"serial:{port.name}", lambda s=source: s.run(ingest))  # type: ignore[misc]
        _log.info(
            "gateway %s started: %d devices, %d events waiting",
            config.home_id,
            len(config.devices),
            self._outbox.size(),
        )

    def _spawn(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        task = asyncio.create_task(supervise(name, run, restarts=self._restarts), name=name)
        self._tasks.append(task)

    async def stop(self) -> None:
        """Stop every task, close connections and the store."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _ingest(self, index: DeviceIndex, items: list[SourceItem]) -> None:
        readings: list[Reading] = []
        rejections: list[Rejection] = []
        for item in items:
            out = process(self._state, index, item)
            readings.extend(out.readings)
            rejections.extend(out.rejections)
        self._counts["items_received"] += len(items)
        stored = self._store(readings, rejections)
        self.dead_letters.add(rejections)
        self._counts["events_stored"] += stored
        if stored and self._uplink is not None:
            self._uplink.notify()
        self._persist(index)

    async def _tick_loop(self, index: DeviceIndex) -> None:
        # The pure core is called with the time; deadlines are absolute, so a late
        # wake-up releases everything that fell due meanwhile.
        while True:
            now = self._clock()
            out = tick_pipeline(self._state, index, now)
            if out.readings or out.rejections:
                rejections = list(out.rejections)
                stored = self._store(out.readings, rejections)
                self.dead_letters.add(rejections)
                self._counts["events_stored"] += stored
                if stored and self._uplink is not None:
                    self._uplink.notify()
            self._persist(index)
            due = next_deadline(self._state)
            delay = self._tick_s if due is None else (due - now).total_seconds()
            await asyncio.sleep(min(max(delay, 0.01), self._tick_s))

    def _persist(self, index: DeviceIndex) -> None:
        if self._devices is None:
            return
        now = self._clock()
        every = self._config.status_interval_s
        full = self._persisted_at is None or (now - self._persisted_at).total_seconds() >= every
        if not full and not self._state.dirty:
            return
        snapshot = device_snapshot(self._state, index)
        if not full:
            snapshot = {k: v for k, v in snapshot.items() if k in self._state.dirty}
        else:
            self._persisted_at = now
        self._state.dirty.clear()
        self._devices.write(snapshot, now)

    def _store(self, readings: list[Reading], rejections: list[Rejection]) -> int:
        pending = list(readings)
        while pending:
            try:
                return len(self.outbox.put(pending))
            except InvalidReadingError as err:
                bad = pending.pop(err.index)
                rejections.append(
                    Rejection("invalid event", "pipeline", _reading_bytes(bad), bad.at, err.reason)
                )
        return 0

    def source_states(self) -> dict[str, str]:
        """Return each source's state: the Zigbee2MQTT bridge state, serial ports open or closed."""
        sources = dict(self._state.sources)
        if self._zigbee is not None and self._zigbee.bridge_state is not None:
            sources["zigbee2mqtt"] = self._zigbee.bridge_state
        for port in self._serial:
            sources[f"serial:{port.name}"] = "open" if port.is_open else "closed"
        return sources

    def _health(self) -> dict[str, Any]:
        return {
            "devices": status_devices(self._state),
            "sources": self.source_states(),
        }

    @property
    def stats(self) -> dict[str, int]:
        """Counters: items, events stored and published, dead letters by reason, restarts."""
        out: dict[str, int] = dict(self._counts)
        if self._dead is not None:
            for reason, n in self._dead.counts.items():
                out[f"dead_letter:{reason}"] = n
            out["dead_letters"] = sum(self._dead.counts.values())
        if self._uplink is not None:
            out.update(self._uplink.stats)
        if self._outbox is not None:
            out.update({f"outbox:{k}": v for k, v in self._outbox.stats.items()})
        for name, n in self._restarts.items():
            out[f"restarts:{name}"] = n
        for why, n in self._state.suppressed.items():
            out[f"suppressed:{why}"] = n
        return out

    def outbox_size(self) -> int:
        """Return how many events wait to be published."""
        return self.outbox.size()

    @property
    def ready(self) -> bool:
        """Tell whether the uplink is up and every source is listening."""
        return (
            self.uplink_connected
            and (self._zigbee is None or self._zigbee.listening)
            and all(port.is_open for port in self._serial)
        )

    async def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Wait until ``ready``; raise ``TimeoutError`` after ``timeout_s``.

        Zigbee2MQTT device messages are not retained and pyserial drops bytes that
        arrive before it opens the port, so readings sent earlier are lost.
        """
        async with asyncio.timeout(timeout_s):
            while not self.ready:  # noqa: ASYNC110 - readiness combines flags set by source threads
                await asyncio.sleep(0.02)

    @property
    def uplink_connected(self) -> bool:
        """Tell whether the uplink session is up."""
        return self._uplink is not None and self._uplink.connected


async def run_gateway(config: GatewayConfig) -> None:
    """Run the gateway until cancelled, SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
            installed.append(sig)
    try:
        async with Gateway(config):
            await stopping.wait()
            _log.info("gateway %s stopping on signal", config.home_id)
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
