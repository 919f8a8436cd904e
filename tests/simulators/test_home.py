"""Simulated homes put the real Zigbee2MQTT JSON and EV1527 frames on the wire."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import serial

from device_profiles import Frame, decode, encode_ev1527, framer_for, load_registry
from gateway.config import GatewayConfig
from protocol.mqtt import MqttClient, MqttMessage
from simulators import SimHome, SimulatorError, default_kit, serial_code
from tests.brokers import Broker

WAIT_S = 10.0


def _base() -> str:
    return f"z2m_{uuid.uuid4().hex[:10]}"


async def _next(client: MqttClient, topic: str) -> MqttMessage:
    """Return the next message on ``topic``, skipping others."""
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages():
            if message.topic == topic:
                return message
    raise AssertionError(f"client closed before a message on {topic}")


def _json(message: MqttMessage) -> dict[str, Any]:
    payload = json.loads(message.payload)
    assert isinstance(payload, dict)
    return payload


@pytest.mark.broker
async def test_zigbee2mqtt_wire_format(broker: Broker) -> None:
    base = _base()
    registry = load_registry()
    async with MqttClient(host=broker.host, port=broker.port) as sub:
        await sub.subscribe(f"{base}/#")
        async with SimHome(
            "H0001", z2m_host=broker.host, z2m_port=broker.port, base_topic=base, serial=False
        ) as home:
            bridge = await _next(sub, f"{base}/bridge/state")
            assert _json(bridge) == {"state": "online"}
            assert not bridge.retain  # a live copy: the subscription came first
            availability = await _next(sub, f"{base}/door_front/availability")
            assert _json(availability) == {"state": "online"}

            door = f"{base}/door_front"
            await home.open_door()
            opened = _json(await _next(sub, door))
            # Aqara: contact false means open; the whole cached state rides along.
            assert opened == {
                "contact": False,
                "battery": 100,
                "voltage": 3005,
                "linkquality": 120,
                "device_temperature": 22,
            }
            await home.door_heartbeat()
            assert _json(await _next(sub, door)) == opened
            await home.close_door()
            closed = _json(await _next(sub, door))
            assert closed == {**opened, "contact": True}

            await home.battery("door_front", 9)
            low = _json(await _next(sub, door))
            assert low == {**closed, "battery": 9}
            events = decode(registry["aqara_mccgq11lm"], low).events
            assert [(e.type, e.data) for e in events] == [
                ("contact", {"open": False}),
                ("battery", {"percent": 9, "low": True}),
            ]

            sos = f"{base}/sos_bedroom"
            await home.press_sos()
            pressed = _json(await _next(sub, sos))
            assert pressed == {"battery": 100, "linkquality": 138, "action": "emergency"}
            await home.battery("sos_bedroom", 50)
            # The action is momentary: it is not part of the cached state.
            assert _json(await _next(sub, sos)) == {"battery": 50, "linkquality": 138}

            await home.smoke()
            smoke = _json(await _next(sub, f"{base}/smoke_kitchen"))
            assert smoke["smoke"] is True
            assert smoke["battery_low"] is False
            assert smoke["tamper"] is False
            assert smoke["battery"] == 100

            await home.gas()
            gas = _json(await _next(sub, f"{base}/gas_kitchen"))
            assert gas == {"gas": True, "tamper": False, "battery_low": False, "linkquality": 156}
            await home.gas(on=False)
            assert _json(await _next(sub, f"{base}/gas_kitchen"))["gas"] is False

            await home.motion()
            pir = _json(await _next(sub, f"{base}/pir_living"))
            assert pir["occupancy"] is True
            assert pir["illuminance"] == 40

            with pytest.raises(SimulatorError, match="cannot report"):
                await home.battery("gas_kitchen", 10)
            with pytest.raises(SimulatorError, match="no device"):
                await home.press_pendant()

        offline = await _next(sub, f"{base}/bridge/state")
        assert _json(offline) == {"state": "offline"}


@pytest.mark.broker
async def test_legacy_action_reset_is_no_second_press(broker: Broker) -> None:
    base = _base()
    button = load_registry()["tuya_ts0215a_sos"]
    async with MqttClient(host=broker.host, port=broker.port) as sub:
        await sub.subscribe(f"{base}/sos_bedroom")
        async with SimHome(
            "H0008",
            z2m_host=broker.host,
            z2m_port=broker.port,
            base_topic=base,
            serial=False,
            action_reset=True,
        ) as home:
            await home.press_sos()
            press = _json(await _next(sub, f"{base}/sos_bedroom"))
            reset = _json(await _next(sub, f"{base}/sos_bedroom"))
    assert press["action"] == "emergency"
    assert reset["action"] == ""
    assert [e.type for e in decode(button, press).events] == ["sos", "battery"]
    assert [e.type for e in decode(button, reset).events] == ["battery"]


@pytest.mark.broker
async def test_availability_is_retained(broker: Broker) -> None:
    base = _base()
    async with SimHome(
        "H0002", z2m_host=broker.host, z2m_port=broker.port, base_topic=base, serial=False
    ) as home:
        await home.set_available("gas_kitchen", online=False)
        # A client that connects later still learns the state from the retained copies.
        async with MqttClient(host=broker.host, port=broker.port) as late:
            await late.subscribe(f"{base}/gas_kitchen/availability")
            message = await _next(late, f"{base}/gas_kitchen/availability")
            assert message.retain
            assert _json(message) == {"state": "offline"}


def _read_exactly(port: serial.Serial, size: int) -> bytes:
    data = port.read(size)
    assert len(data) == size, f"got {data.hex()} of {size} bytes"
    return bytes(data)


async def test_serial_frames_on_the_pty() -> None:
    registry = load_registry()
    async with SimHome("H0003", zigbee=False) as home:
        codes = {d.device_id: d.code for d in home.devices.values()}
        assert set(codes) == {"door_back", "pir_hall", "pendant"}
        with serial.Serial(home.serial_path, 9600, timeout=WAIT_S) as port:
            await home.press_pendant()
            await home.open_back_door()
            await home.write_serial_garbage(b"\x00\xfd\x13")
            await home.close_back_door()
            await home.hall_motion()
            await home.battery("pendant", 5)
            await home.battery("pir_hall", 80)  # a 433 MHz sensor says nothing then
            expected = (
                encode_ev1527(codes["pendant"], 0x03)
                + encode_ev1527(codes["door_back"], 0x0A)
                + b"\x00\xfd\x13"
                + encode_ev1527(codes["door_back"], 0x0E)
                + encode_ev1527(codes["pir_hall"], 0x0A)
                + encode_ev1527(codes["pendant"], 0x06)
            )
            assert _read_exactly(port, len(expected)) == expected
            assert port.in_waiting == 0

        by_address = {f"{d.code:06X}": d for d in home.devices.values()}
        frames = [f for f in framer_for("ev1527").feed(expected) if isinstance(f, Frame)]
        got = [
            (by_address[f.address].device_id, e.type, e.data)
            for f in frames
            for e in decode(registry[by_address[f.address].profile], f.fields).events
        ]
        assert got == [
            ("pendant", "sos", {"source": "pendant"}),
            ("door_back", "contact", {"open": True}),
            ("door_back", "contact", {"open": False}),
            ("pir_hall", "motion", {"motion": True}),
            ("pendant", "battery", {"percent": None, "low": True}),
        ]


async def test_serial_repeats_each_code() -> None:
    async with SimHome("H0004", zigbee=False, repeats=3) as home:
        with serial.Serial(home.serial_path, 9600, timeout=WAIT_S) as port:
            await home.press_pendant()
            frame = encode_ev1527(home.devices["pendant"].code, 0x03)
            assert _read_exactly(port, 18) == frame * 3


async def test_serial_needs_a_started_home() -> None:
    home = SimHome("H0005", zigbee=False)
    with pytest.raises(SimulatorError, match="not started"):
        _ = home.serial_path
    with pytest.raises(SimulatorError, match="not started"):
        await home.write_serial_garbage(b"x")


@pytest.mark.broker
async def test_gateway_config_matches_the_home(broker: Broker, tmp_path: Path) -> None:
    base = _base()
    async with SimHome(
        "H0006", z2m_host=broker.host, z2m_port=broker.port, base_topic=base
    ) as home:
        config = home.gateway_config("127.0.0.1", 1884, tmp_path / "gw")
        again = GatewayConfig.model_validate(config.model_dump())
        assert again == config
        assert config.home_id == "H0006"
        assert config.zigbee2mqtt is not None
        assert config.zigbee2mqtt.base_topic == base
        assert config.zigbee2mqtt.broker.port == broker.port
        assert [(p.name, p.path, p.framing) for p in config.serial] == [
            ("rf433", home.serial_path, "ev1527")
        ]
        assert (config.uplink.host, config.uplink.port) == ("127.0.0.1", 1884)
        by_id = {d.device_id: d for d in config.devices}
        assert set(by_id) == {
            "door_front",
            "pir_living",
            "smoke_kitchen",
            "gas_kitchen",
            "sos_bedroom",
            "door_back",
            "pir_hall",
            "pendant",
        }
        assert by_id["door_front"].address == "door_front"
        assert by_id["door_front"].port is None
        assert by_id["pendant"].port == "rf433"
        assert by_id["pendant"].address == f"{home.devices['pendant'].code:06X}"
        assert by_id["smoke_kitchen"].room == "kitchen"


def test_kit_codes_are_deterministic_and_distinct() -> None:
    first, again, other = default_kit("H0001"), default_kit("H0001"), default_kit("H0002")
    assert first == again
    serial_first = [d.address for d in first if d.source == "serial"]
    serial_other = [d.address for d in other if d.source == "serial"]
    assert len(set(serial_first)) == 3
    assert serial_first != serial_other
    assert serial_code("H0001", "pendant") == int(
        next(d.address for d in first if d.device_id == "pendant"), 16
    )
    registry = load_registry()
    assert all(d.profile in registry for d in first)


def test_kit_initial_state_decodes_to_its_readings() -> None:
    registry = load_registry()
    home = SimHome("H0007", serial=False)
    for device in home.devices.values():
        events = decode(registry[device.profile], home.state(device.device_id)).events
        assert [(e.type, e.data) for e in events] == list(device.initial), device.device_id
