"""The gateway as a process: its example config, SIGTERM, and its last will on a crash."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import gateway
from gateway import load_gateway_config
from protocol import status_topic
from tests.brokers import Broker
from tests.gateway._mqtt import publish, subscriber

EXAMPLE = Path(gateway.__file__).parent / "gateway.example.toml"

_RUN = (
    "import asyncio, sys\n"
    "from pathlib import Path\n"
    "from gateway import load_gateway_config, run_gateway\n"
    "asyncio.run(run_gateway(load_gateway_config(Path(sys.argv[1]))))\n"
)


def test_example_config_loads() -> None:
    config = load_gateway_config(EXAMPLE)
    assert config.home_id == "H0001"
    assert config.zigbee2mqtt is not None
    assert [d.device_id for d in config.devices] == ["door-front", "door-back"]
    assert config.uplink.tls


def _config_file(tmp_path: Path, broker: Broker, home: str) -> Path:
    """The example's devices, with this test's broker, data dir and a missing serial port."""
    devices = tomllib.loads(EXAMPLE.read_text())["devices"]
    lines = [
        f'home_id = "{home}"',
        f"data_dir = {json.dumps(str(tmp_path / 'gw'))}",
        "[uplink]",
        f'host = "{broker.host}"',
        f"port = {broker.port}",
        "[zigbee2mqtt]",
        f'base_topic = "z2m-{home}"',
        "[zigbee2mqtt.broker]",
        f'host = "{broker.host}"',
        f"port = {broker.port}",
        "[[serial]]",
        'name = "rf"',
        f"path = {json.dumps(str(tmp_path / 'no-such-tty'))}",
    ]
    for dev in devices:
        lines.append("[[devices]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in dev.items()]
    path = tmp_path / "gateway.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@contextmanager
def gateway_process(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


async def _status(broker: Broker, home: str, online: bool) -> dict[str, object]:
    async with subscriber(broker, status_topic(home)) as sub:
        while True:
            msg = await sub.next_matching(lambda m: m.topic == status_topic(home), 20)
            status = json.loads(msg.payload)
            if status.get("online") is online:
                assert isinstance(status, dict)
                return status


@pytest.mark.broker
@pytest.mark.parametrize(("how", "reason"), [(signal.SIGTERM, "stopped"), (signal.SIGKILL, None)])
async def test_status_goes_offline_on_stop_and_on_crash(
    broker: Broker, tmp_path: Path, how: signal.Signals, reason: str | None
) -> None:
    home = f"H{uuid.uuid4().hex[:8]}"
    try:
        with gateway_process(_config_file(tmp_path, broker, home)) as proc:
            online = await _status(broker, home, True)
            assert online["sources"] == {"serial:rf": "closed"}
            proc.send_signal(how)
            offline = await _status(broker, home, False)
            # A crash leaves only the last will; a stop says why.
            assert offline.get("reason") == reason
            code = proc.wait(10)
            if how is signal.SIGTERM:
                assert code == 0, proc.stderr.read().decode() if proc.stderr else ""
    finally:
        await publish(broker, status_topic(home), b"", retain=True)
