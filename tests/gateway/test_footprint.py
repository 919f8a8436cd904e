"""The gateway's process stays small: what it must never import (docs/gateway.md, "Performance")."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import homecare
from gateway.uplink import gateway_version
from homecare.broker import free_port

#: Start a gateway from a config file as ``homecare gateway`` does, store an event,
#: build a status message, stop, and print the modules the process has loaded.
_RUN = """
import asyncio, json, sys
from datetime import UTC, datetime
from pathlib import Path
from homecare.cli import main as _cli  # the command line's own imports
from gateway.app import Gateway
from gateway.config import load_gateway_config
from gateway.pipeline import Reading
from protocol import EventType

async def run() -> None:
    config = load_gateway_config(Path(sys.argv[1]))
    async with Gateway(config) as gw:
        gw.outbox.put([Reading("door-front", EventType.CONTACT, {"open": True},
                               datetime.now(UTC), "hall")])
        assert gw._uplink is not None
        json.loads(gw._uplink.status_payload())
        await asyncio.sleep(0.3)
    print(json.dumps(sorted(sys.modules)))

asyncio.run(run())
"""

#: Each of these costs the Raspberry Pi megabytes and the gateway needs none of them.
FORBIDDEN = ("pydantic", "pydantic_core", "importlib.metadata", "fastapi", "sqlalchemy", "uvicorn")


def test_a_running_gateway_imports_no_pydantic_and_no_backend(tmp_path: Path) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(
        f"""
home_id = "H0001"
data_dir = {json.dumps(str(tmp_path / "gw"))}
[uplink]
host = "127.0.0.1"
port = {free_port()}
[zigbee2mqtt]
[zigbee2mqtt.broker]
port = {free_port()}
[[devices]]
device_id = "door-front"
profile = "aqara_mccgq11lm"
address = "door_front"
"""
    )
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert "gateway.app" in modules
    assert "msgspec" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in FORBIDDEN or m in FORBIDDEN)
    assert loaded == []


def test_the_reported_version_is_the_installed_one() -> None:
    assert gateway_version() == homecare.__version__ == metadata.version("homecare")
