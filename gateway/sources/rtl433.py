"""rtl_433 adapter: JSON events from rtl_433's MQTT output, a subprocess or a FIFO.

rtl_433 decodes 433/868/345 MHz sensors with an SDR dongle and prints one JSON
object per decoded transmission, such as::

    {"time": "2024-03-02 10:11:12", "model": "Kerui-Security", "id": 840811,
     "cmd": 10, "motion": 1, "state": "motion"}

A device's address is ``model:id`` (``model:channel`` for decoders that emit
no ``id``), exactly as rtl_433 prints them; field names vary by decoder and are
the profiles' business. With ``-F mqtt`` rtl_433 publishes each event on
``rtl_433/<hostname>/events``; with ``-F json`` it writes them to stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from device_profiles import SourceKind
from gateway._broker import connect, connection_kwargs
from gateway._errors import GatewayError
from gateway.config import Rtl433Config
from gateway.sources._base import LinkState, RawReading, Rejection, SourceItem
from protocol.mqtt import MqttClient

__all__ = ["LineBuffer", "Rtl433Source", "parse_event", "parse_lines"]

_log = logging.getLogger(__name__)
_SOURCE = SourceKind.RTL_433
_LINK = "rtl_433"
_MAX_LINE = 64 * 1024
_DRAIN = 500
_READ = 64 * 1024

Sink = Callable[[list[SourceItem]], Awaitable[None]]


def _reject(reason: str, raw: bytes, at: datetime, detail: str = "") -> Rejection:
    return Rejection(reason, _SOURCE.value, raw, at, detail)


def _ident(obj: dict[str, Any]) -> str | None:
    for key in ("id", "channel"):
        value = obj.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int) or (isinstance(value, str) and value.strip()):
            return str(value)
        return None
    return None


def parse_event(payload: bytes, observed_at: datetime) -> RawReading | Rejection:
    """Turn one rtl_433 JSON event into a raw reading; never raises."""
    try:
        obj: Any = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        return _reject("malformed JSON", payload, observed_at, str(err))
    if not isinstance(obj, dict):
        return _reject("not a JSON object", payload, observed_at, type(obj).__name__)
    model = obj.get("model")
    if not isinstance(model, str) or not model.strip():
        return _reject("no model", payload, observed_at)
    ident = _ident(obj)
    if ident is None:
        return _reject("no id", payload, observed_at, model)
    return RawReading(_SOURCE, f"{model}:{ident}", obj, observed_at, payload)


class LineBuffer:
    """Split a byte stream into lines, dropping (and reporting) any line over the limit."""

    def __init__(self, max_line: int = _MAX_LINE) -> None:
        self._buf = bytearray()
        self._max = max_line
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | Rejection]:
        """Add bytes; return complete lines, and an error for each overlong one."""
        self._buf += data
        out: list[bytes | Rejection] = []
        while True:
            end = self._buf.find(b"\n")
            if end < 0:
                break
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            out.append(line)
        if len(self._buf) > self._max:
            out.append(Rejection("line too long", _SOURCE.value, bytes(self._buf[:256]), _EPOCH))
            self._buf.clear()
            self._skipping = True
        return out


_EPOCH = datetime.fromtimestamp(0).astimezone()


def parse_lines(buffer: LineBuffer, data: bytes, observed_at: datetime) -> list[SourceItem]:
    """Feed bytes of JSON lines and return the readings and rejections they complete."""
    items: list[SourceItem] = []
    for line in buffer.feed(data):
        if isinstance(line, Rejection):
            items.append(Rejection(line.reason, line.source, line.raw, observed_at, line.detail))
            continue
        text = line.strip()
        if text:
            items.append(parse_event(text, observed_at))
    return items


class Rtl433Source:
    """Read rtl_433 events from every input its config names and hand them to a sink."""

    def __init__(
        self,
        config: Rtl433Config,
        *,
        client_id: str,
        clock: Callable[[], datetime],
        kill_after_s: float = 5.0,
    ) -> None:
        self._config = config
        self._client_id = client_id
        self._clock = clock
        self._kill_after = kill_after_s
        self.process_running = False

    async def run(self, sink: Sink) -> None:
        """Read until cancelled; a failed input raises so that the supervisor restarts it."""
        async with asyncio.TaskGroup() as group:
            if self._config.broker is not None:
                group.create_task(self._from_mqtt(sink))
            if self._config.command is not None:
                group.create_task(self._from_command(self._config.command, sink))
            if self._config.path is not None:
                group.create_task(self._from_path(self._config.path, sink))

    async def _from_mqtt(self, sink: Sink) -> None:
        assert self._config.broker is not None
        broker = self._config.broker
        client = MqttClient(
            **connection_kwargs(broker),
            client_id=broker.client_id or self._client_id,
            manual_ack=True,
            subscriptions=[(self._config.topic, 1)],
        )
        await connect(client, 10.0)
        try:
            while True:
                await client.wait_messages()
                messages = client.drain(_DRAIN)
                if not messages:
                    return
                now = self._clock()
                await sink([parse_event(m.payload, now) for m in messages])
                for msg in messages:
                    client.ack(msg)
        finally:
            await client.disconnect()

    async def _from_command(self, command: list[str], sink: Sink) -> None:
        try:
            proc = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
            )
        except OSError as err:
            await sink(
                [
                    LinkState(
                        _LINK, up=False, observed_at=self._clock(), detail="cannot start rtl_433"
                    )
                ]
            )
            raise GatewayError(f"cannot start rtl_433 ({command[0]}): {err}") from err
        self.process_running = True
        await sink([LinkState(_LINK, up=True, observed_at=self._clock(), detail="rtl_433 started")])
        assert proc.stdout is not None
        try:
            await self._pump(proc.stdout, sink)
            code = await proc.wait()
        finally:
            self.process_running = False
            if proc.returncode is None:
                await self._stop(proc)
        await sink(
            [
                LinkState(
                    _LINK, up=False, observed_at=self._clock(), detail=f"rtl_433 exited with {code}"
                )
            ]
        )
        raise GatewayError(f"rtl_433 exited with status {code}")

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            async with asyncio.timeout(self._kill_after):
                await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _pump(self, reader: asyncio.StreamReader, sink: Sink) -> None:
        lines = LineBuffer()
        while True:
            data = await reader.read(_READ)
            if not data:
                return
            items = parse_lines(lines, data, self._clock())
            if items:
                await sink(items)

    async def _from_path(self, path: str, sink: Sink) -> None:
        try:
            mode = os.stat(path).st_mode
        except OSError as err:
            raise GatewayError(f"rtl_433 input {path} is missing: {err}") from err
        if stat.S_ISREG(mode):
            await self._follow_file(path, sink)
            return
        loop = asyncio.get_running_loop()
        # Opened read-write, a FIFO always has a writer (ourselves), so a restart of
        # the program writing into it is not an end of file.
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        pipe = os.fdopen(fd, "rb", buffering=0)
        reader = asyncio.StreamReader(limit=_MAX_LINE)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
        try:
            await sink([LinkState(_LINK, up=True, observed_at=self._clock(), detail="pipe open")])
            await self._pump(reader, sink)
        finally:
            transport.close()
        raise GatewayError(f"rtl_433 input {path} closed")

    async def _follow_file(self, path: str, sink: Sink) -> None:
        lines = LineBuffer()
        with open(path, "rb") as f:  # noqa: ASYNC230 - a local file, read in small steps
            f.seek(0, os.SEEK_END)
            await sink([LinkState(_LINK, up=True, observed_at=self._clock(), detail="file open")])
            while True:
                data = f.read(_READ)
                if not data:
                    await asyncio.sleep(0.2)
                    continue
                items = parse_lines(lines, data, self._clock())
                if items:
                    await sink(items)
