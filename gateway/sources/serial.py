"""Serial receivers: one reader thread per port, framing by the port's profile framing.

The reader uses ``read(max(1, in_waiting))``: a fixed-size read with a timeout
would add the whole timeout to every frame. When the other end goes away (a
pseudo-terminal closed, a USB receiver unplugged) pyserial raises
``SerialException``; the reader closes the port and reopens it with backoff.
Each loss and each reopening is reported as a ``LinkState`` of ``serial:<name>``,
so that supervision can say the receiver went offline and came back.

Reopening uses the configured path again, so point it at a name that survives
a replug: ``/dev/serial/by-id/...`` (udev re-points that link at whichever
``ttyUSBn`` the receiver gets) rather than ``/dev/ttyUSB0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime

import serial

from device_profiles import Frame, SourceKind, framer_for
from gateway.config import SerialPortConfig
from gateway.sources._base import LinkState, RawReading, Rejection, SourceItem

__all__ = ["SerialSource"]

_log = logging.getLogger(__name__)

Sink = Callable[[list[SourceItem]], Awaitable[None]]


class SerialSource:
    """Read one serial port in a thread and hand its frames to a sink."""

    def __init__(
        self,
        port: SerialPortConfig,
        *,
        clock: Callable[[], datetime],
        read_timeout_s: float = 0.5,
        min_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
    ) -> None:
        framer_for(port.framing)  # fail at start on an unknown framing
        self._port = port
        self._clock = clock
        self._read_timeout = read_timeout_s
        self._min_backoff = min_backoff_s
        self._max_backoff = max_backoff_s
        self._serial: serial.Serial | None = None
        self.is_open = False
        self.opened_count = 0

    @property
    def name(self) -> str:
        return self._port.name

    async def run(self, sink: Sink) -> None:
        """Read until cancelled; each burst of frames is one call of ``sink``."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[list[SourceItem]] = asyncio.Queue()
        stop = threading.Event()
        thread = threading.Thread(
            target=self._read_loop,
            args=(loop, queue, stop),
            name=f"serial-{self._port.name}",
            daemon=True,
        )
        thread.start()
        try:
            while True:
                items = await queue.get()
                while not queue.empty():
                    items.extend(queue.get_nowait())
                await sink(items)
        finally:
            stop.set()
            port = self._serial
            if port is not None:
                with contextlib.suppress(OSError, ValueError, serial.SerialException):
                    port.cancel_read()
            await asyncio.to_thread(thread.join)

    def _emit(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[list[SourceItem]],
        items: list[SourceItem],
    ) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while stopping
            loop.call_soon_threadsafe(queue.put_nowait, items)

    def _link(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[list[SourceItem]],
        *,
        up: bool,
        detail: str,
    ) -> None:
        name = f"{SourceKind.SERIAL.value}:{self._port.name}"
        self._emit(loop, queue, [LinkState(name, up, self._clock(), detail)])

    def _read_loop(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[list[SourceItem]],
        stop: threading.Event,
    ) -> None:
        backoff = self._min_backoff
        failures = 0
        while not stop.is_set():
            try:
                port = serial.serial_for_url(
                    self._port.path, baudrate=self._port.baudrate, timeout=self._read_timeout
                )
            except (serial.SerialException, OSError, ValueError) as err:
                failures += 1
                if failures == 1:
                    _log.warning("serial %s: cannot open: %s", self._port.name, err)
                    self._link(loop, queue, up=False, detail="cannot open the port")
                stop.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            failures = 0
            self._serial = port
            self.is_open = True
            self.opened_count += 1
            _log.info("serial %s: open", self._port.name)
            self._link(loop, queue, up=True, detail="port open")
            try:
                self._read_port(port, loop, queue, stop)
                backoff = self._min_backoff
            except (serial.SerialException, OSError) as err:
                _log.warning("serial %s: read failed, reopening: %s", self._port.name, err)
                self._link(loop, queue, up=False, detail="port lost")
            finally:
                self.is_open = False
                self._serial = None
                port.close()
            stop.wait(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    def _read_port(
        self,
        port: serial.Serial,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[list[SourceItem]],
        stop: threading.Event,
    ) -> None:
        framer = framer_for(self._port.framing)
        source = f"{SourceKind.SERIAL.value}:{self._port.name}"
        while not stop.is_set():
            data = port.read(max(1, port.in_waiting))
            if not data:
                continue
            now = self._clock()
            items: list[SourceItem] = []
            for out in framer.feed(data):
                if isinstance(out, Frame):
                    items.append(
                        RawReading(
                            SourceKind.SERIAL,
                            out.address,
                            dict(out.fields),
                            now,
                            out.raw,
                            port=self._port.name,
                        )
                    )
                else:
                    items.append(Rejection(out.reason, source, out.raw, now))
            if items:
                self._emit(loop, queue, items)
