"""The installer's view: the running gateway keeps a devices table the command reads."""

from __future__ import annotations

import io
import json
import os
import uuid
from pathlib import Path

import pytest

from device_profiles import encode_ev1527
from gateway import Gateway
from gateway.app import STORE_FILE
from gateway.config import load_gateway_config
from gateway.devicetable import read_devices
from homecare.cli import main
from homecare.devices import run_devices
from tests.brokers import Broker
from tests.gateway._helpers import SERIAL_CODE
from tests.gateway._mqtt import eventually, publish
from tests.gateway.test_serial import pty_pair

DOOR_OPEN = {"contact": False, "battery": 91, "voltage": 3005, "linkquality": 120}


def _toml(config_dir: Path, data_dir: Path, port: int, base: str, serial: str) -> Path:
    path = config_dir / "gateway.toml"
    path.write_text(
        f"""home_id = "H{uuid.uuid4().hex[:6]}"
data_dir = "{data_dir}"
[uplink]
port = {port}
[zigbee2mqtt]
base_topic = "{base}"
[zigbee2mqtt.broker]
port = {port}
[[serial]]
name = "rf"
path = "{serial}"
[[devices]]
device_id = "door-front"
profile = "aqara_mccgq11lm"
address = "door_front"
room = "entrance"
[[devices]]
device_id = "door-back"
profile = "ev1527_door"
address = "{SERIAL_CODE}"
port = "rf"
room = "kitchen"
"""
    )
    return path


@pytest.mark.broker
async def test_devices_command_reads_the_running_gateways_table(
    broker: Broker, tmp_path: Path
) -> None:
    base = f"z2m_{uuid.uuid4().hex[:8]}"
    with pty_pair() as (master, path):
        toml = _toml(tmp_path, tmp_path / "gw", broker.port, base, path)
        config = load_gateway_config(toml)
        async with Gateway(config, serial_read_timeout_s=0.1, tick_interval_s=0.05) as gw:
            await eventually(lambda: gw.ready)
            await publish(broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode())
            os.write(master, encode_ev1527(int(SERIAL_CODE, 16), 0x0A))

            def stored() -> dict[str, str]:
                return {r.device_id: r.verdict for r in read_devices(tmp_path / "gw" / STORE_FILE)}

            await eventually(lambda: stored() == {"door-front": "ok", "door-back": "no heartbeat"})
            out = io.StringIO()
            assert run_devices(toml, as_json=True, out=out) == 0
            rows = {r["device_id"]: r for r in json.loads(out.getvalue())}
            front = rows["door-front"]
            assert (front["battery"], front["link_quality"], front["room"]) == (91, 120, "entrance")
            assert front["state"] == {"contact": {"open": True}}
            assert front["last_seen"] is not None
            assert rows["door-back"]["state"] == {"contact": {"open": True}}

            table = io.StringIO()
            assert run_devices(toml, as_json=False, out=table) == 0
            lines = table.getvalue().splitlines()
            assert lines[0].split()[:3] == ["DEVICE", "ROOM", "PROFILE"]
            assert any(line.startswith("door-front") and "91%" in line for line in lines)


def test_devices_command_without_a_store_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = _toml(tmp_path, tmp_path / "nothing", 1883, "z2m", "/dev/null")
    assert main(["gateway", "devices", "--config", str(toml)]) == 1
    assert "no gateway store" in capsys.readouterr().err
