"""A virtual home that speaks the real wire formats of its sensors.

Zigbee2MQTT devices: each keeps the whole cached state Zigbee2MQTT holds for it
and publishes all of it as JSON on ``<base>/<friendly name>`` at every report,
as Zigbee2MQTT does; the bridge state and each device's availability are
retained, with ``{"state": "online"}``. A momentary field (a button's
``action``) is sent with one report and not kept in the cached state; with
``action_reset`` the report is followed by one with ``action: ""``, as
Zigbee2MQTT does when its legacy action sensor is on.

433 MHz devices: EV1527 receiver frames are written into the master end of a
pseudo-terminal; the gateway opens ``serial_path``, the slave end. A pty ignores
the baud rate, so writes are paced by ``frame_gap_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import tty
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from device_profiles import Profile, SourceKind, Trigger, encode_ev1527, load_registry, payload_for
from gateway.config import (
    BrokerSettings,
    DeviceConfig,
    GatewayConfig,
    SerialPortConfig,
    Zigbee2MqttConfig,
)
from protocol import EventType
from protocol.mqtt import MqttClient, MqttError, Will
from simulators._errors import SimulatorError
from simulators.kit import SERIAL_PORT, KitDevice, default_kit

__all__ = ["LOW_BATTERY_PERCENT", "SimHome"]

#: Below this, a simulated device reports its battery as low (the profiles' threshold).
LOW_BATTERY_PERCENT = 15

_ONLINE = json.dumps({"state": "online"}).encode()
_OFFLINE = json.dumps({"state": "offline"}).encode()
_WRITE_TIMEOUT_S = 10.0


class SimHome:
    """One simulated home; use as ``async with SimHome(...) as home``."""

    def __init__(
        self,
        home_id: str,
        *,
        z2m_host: str = "127.0.0.1",
        z2m_port: int = 1883,
        base_topic: str = "zigbee2mqtt",
        serial: bool = True,
        zigbee: bool = True,
        kit: tuple[KitDevice, ...] | None = None,
        qos: int = 1,
        frame_gap_s: float = 0.02,
        repeats: int = 1,
        action_reset: bool = False,
        mqtt_v5: bool = True,
    ) -> None:
        self.home_id = home_id
        self.base_topic = base_topic.rstrip("/")
        self._z2m_host, self._z2m_port = z2m_host, z2m_port
        self._zigbee_on, self._serial_on = zigbee, serial
        self._qos, self._gap, self._repeats = qos, frame_gap_s, repeats
        self._action_reset = action_reset
        self._mqtt_v5 = mqtt_v5
        registry = load_registry()
        devices = kit if kit is not None else default_kit(home_id)
        self.devices: dict[str, KitDevice] = {
            d.device_id: d
            for d in devices
            if (d.source is SourceKind.ZIGBEE2MQTT and zigbee)
            or (d.source is SourceKind.SERIAL and serial)
        }
        self._profiles: dict[str, Profile] = {
            d.device_id: registry[d.profile] for d in self.devices.values()
        }
        self._state: dict[str, dict[str, Any]] = {}
        for device in self.devices.values():
            if device.source is SourceKind.ZIGBEE2MQTT:
                state: dict[str, Any] = {}
                for event_type, data in device.initial:
                    state.update(payload_for(self._profiles[device.device_id], event_type, data))
                state.update(device.extras)
                self._state[device.device_id] = state
        self._mqtt: MqttClient | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._serial_path: str | None = None
        self._write_lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> Self:
        try:
            if self._serial_on:
                self._open_pty()
            if self._zigbee_on:
                await self._start_zigbee()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Say the bridge goes offline, disconnect and close the pty."""
        mqtt, self._mqtt = self._mqtt, None
        if mqtt is not None:
            # Best effort: with the broker gone, a QoS 1 publish would wait for ever.
            with contextlib.suppress(MqttError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await mqtt.publish(self._bridge_topic, _OFFLINE, qos=1, retain=True)
            await mqtt.disconnect()
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        # Raw, without echo: otherwise the line discipline would echo every frame
        # back into the master, which nobody reads, until writes block.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._serial_path = os.ttyname(slave)

    async def _start_zigbee(self) -> None:
        mqtt = MqttClient(
            host=self._z2m_host,
            port=self._z2m_port,
            client_id=f"sim-z2m-{self.home_id}",
            will=Will(self._bridge_topic, _OFFLINE, qos=1, retain=True),
            protocol_v5=self._mqtt_v5,
        )
        try:
            await mqtt.connect()
        except MqttError as err:
            raise SimulatorError(f"home {self.home_id}: cannot reach the broker: {err}") from err
        self._mqtt = mqtt
        await self._publish(self._bridge_topic, _ONLINE, retain=True)
        for device_id in self._zigbee_ids():
            await self.set_available(device_id, online=True)

    @property
    def _bridge_topic(self) -> str:
        return f"{self.base_topic}/bridge/state"

    @property
    def serial_path(self) -> str:
        """Return the slave tty the gateway opens to read the 433 MHz receiver."""
        if self._serial_path is None:
            raise SimulatorError("the serial side is off, or the home is not started")
        return self._serial_path

    # -- generic reporting -----------------------------------------------------

    def state(self, device_id: str) -> dict[str, Any]:
        """Return a copy of a Zigbee2MQTT device's cached state."""
        return dict(self._state[self._zigbee(device_id).device_id])

    async def report(self, device_id: str, event_type: EventType, data: dict[str, Any]) -> None:
        """Make a device report ``event_type`` with ``data`` in its real wire format."""
        device = self._device(device_id)
        profile = self._profiles[device_id]
        try:
            fields = payload_for(profile, event_type, data)
        except ValueError as err:
            raise SimulatorError(f"{device_id}: {err}") from err
        if device.source is SourceKind.SERIAL:
            if "key" not in fields:
                raise SimulatorError(f"{device_id}: profile {profile.id} yields no key code")
            await self._write_frames(encode_ev1527(device.code, int(fields["key"])))
            return
        momentary = any(
            r.type == event_type and r.trigger is Trigger.MOMENTARY for r in profile.events
        )
        if momentary:
            await self._publish_state(device_id, {**self._state[device_id], **fields})
            if self._action_reset and "action" in fields:
                await self._publish_state(device_id, {**self._state[device_id], "action": ""})
        else:
            self._state[device_id].update(fields)
            await self._publish_state(device_id, self._state[device_id])

    async def heartbeat(self, device_id: str) -> None:
        """Republish a Zigbee2MQTT device's cached state unchanged."""
        await self._publish_state(device_id, self._state[self._zigbee(device_id).device_id])

    async def set_available(self, device_id: str, *, online: bool) -> None:
        """Publish a Zigbee2MQTT device's retained availability."""
        name = self._zigbee(device_id).address
        payload = _ONLINE if online else _OFFLINE
        await self._publish(f"{self.base_topic}/{name}/availability", payload, retain=True)

    async def write_serial_garbage(self, data: bytes) -> None:
        """Write raw bytes to the receiver line, as radio noise would."""
        await self._write_raw(data)

    # -- scenario --------------------------------------------------------------

    async def press_sos(self) -> None:
        """Press the Zigbee SOS button in the bedroom."""
        await self.report("sos_bedroom", EventType.SOS, {"source": "button"})

    async def press_pendant(self) -> None:
        """Press the 433 MHz SOS pendant."""
        await self.report("pendant", EventType.SOS, {"source": "pendant"})

    async def open_door(self) -> None:
        """Open the front door."""
        await self.report("door_front", EventType.CONTACT, {"open": True})

    async def close_door(self) -> None:
        """Close the front door."""
        await self.report("door_front", EventType.CONTACT, {"open": False})

    async def door_heartbeat(self) -> None:
        """Send the front door sensor's hourly heartbeat: its cached state, unchanged."""
        await self.heartbeat("door_front")

    async def motion(self) -> None:
        """Walk past the living-room PIR."""
        await self.report("pir_living", EventType.MOTION, {"motion": True})

    async def motion_timeout(self) -> None:
        """Clear living-room occupancy, as Zigbee2MQTT's occupancy_timeout does."""
        await self.report("pir_living", EventType.MOTION, {"motion": False})

    async def hall_motion(self) -> None:
        """Walk past the 433 MHz PIR in the hall."""
        await self.report("pir_hall", EventType.MOTION, {"motion": True})

    async def smoke(self, *, on: bool = True) -> None:
        """Start (or clear) smoke at the kitchen detector."""
        await self.report("smoke_kitchen", EventType.SMOKE, {"alarm": on})

    async def gas(self, *, on: bool = True) -> None:
        """Start (or clear) a gas leak at the kitchen detector."""
        await self.report("gas_kitchen", EventType.GAS, {"alarm": on})

    async def open_back_door(self) -> None:
        """Open the 433 MHz back door."""
        await self.report("door_back", EventType.CONTACT, {"open": True})

    async def close_back_door(self) -> None:
        """Close the 433 MHz back door."""
        await self.report("door_back", EventType.CONTACT, {"open": False})

    async def battery(self, device_id: str, percent: int) -> None:
        """Report a battery level.

        A 433 MHz sensor has no level to report: it sends its low-battery code when
        ``percent`` is below ``LOW_BATTERY_PERCENT`` and says nothing otherwise.
        """
        if not 0 <= percent <= 100:
            raise SimulatorError(f"{device_id}: battery percent must be 0..100, not {percent}")
        low = percent < LOW_BATTERY_PERCENT
        if self._device(device_id).source is SourceKind.SERIAL:
            if low:
                await self.report(device_id, EventType.BATTERY, {"low": True})
            return
        await self.report(device_id, EventType.BATTERY, {"percent": percent, "low": low})

    # -- helpers ---------------------------------------------------------------

    def gateway_config(self, uplink_host: str, uplink_port: int, data_dir: Path) -> GatewayConfig:
        """Build the config of a gateway that reads this home."""
        devices = [
            DeviceConfig(
                device_id=d.device_id,
                profile=d.profile,
                address=d.address,
                room=d.room,
                port=SERIAL_PORT if d.source is SourceKind.SERIAL else None,
            )
            for d in self.devices.values()
        ]
        return GatewayConfig(
            home_id=self.home_id,
            data_dir=data_dir,
            uplink=BrokerSettings(
                host=uplink_host, port=uplink_port, client_id=f"gateway-{self.home_id}"
            ),
            zigbee2mqtt=Zigbee2MqttConfig(
                broker=BrokerSettings(host=self._z2m_host, port=self._z2m_port),
                base_topic=self.base_topic,
            )
            if self._zigbee_on
            else None,
            serial=[SerialPortConfig(name=SERIAL_PORT, path=self.serial_path, framing="ev1527")]
            if self._serial_on
            else [],
            devices=devices,
        )

    def _device(self, device_id: str) -> KitDevice:
        try:
            return self.devices[device_id]
        except KeyError:
            raise SimulatorError(
                f"home {self.home_id} has no device {device_id!r} (or its source is off)"
            ) from None

    def _zigbee(self, device_id: str) -> KitDevice:
        device = self._device(device_id)
        if device.source is not SourceKind.ZIGBEE2MQTT:
            raise SimulatorError(f"{device_id} is not a Zigbee2MQTT device")
        return device

    def _zigbee_ids(self) -> list[str]:
        return [d.device_id for d in self.devices.values() if d.source is SourceKind.ZIGBEE2MQTT]

    async def _publish_state(self, device_id: str, state: dict[str, Any]) -> None:
        name = self._zigbee(device_id).address
        await self._publish(f"{self.base_topic}/{name}", json.dumps(state).encode())

    async def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        if self._mqtt is None:
            raise SimulatorError("the Zigbee2MQTT side is off, or the home is not started")
        try:
            await self._mqtt.publish(topic, payload, qos=self._qos, retain=retain)
        except MqttError as err:
            raise SimulatorError(f"publish to {topic} failed: {err}") from err

    async def _write_frames(self, frame: bytes) -> None:
        # Transmitters repeat their code; the receiver module emits one frame per copy.
        for _ in range(self._repeats):
            await self._write_raw(frame)

    async def _write_raw(self, data: bytes) -> None:
        async with self._write_lock:
            if self._master is None:
                raise SimulatorError("the serial side is off, or the home is not started")
            view = memoryview(data)
            deadline = time.monotonic() + _WRITE_TIMEOUT_S
            while view:
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SimulatorError(
                            f"serial line full for {_WRITE_TIMEOUT_S:.0f} s; is anyone reading?"
                        ) from None
                    await asyncio.sleep(self._gap or 0.01)
                except OSError as err:
                    raise SimulatorError(f"cannot write to the pty: {err}") from err
            await asyncio.sleep(self._gap)
