"""The sample broker config in deploy/mosquitto runs on a real mosquitto and enforces the ACL."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway._broker import connection_kwargs
from gateway.config import BrokerSettings, SecretStr
from homecare.broker import free_port, mosquitto_binary
from homecare.provision import provision_backend, provision_home
from protocol.mqtt import MqttClient, MqttConnectError, PublishRefusedError
from tests.gateway._tls import make_pki

pytestmark = pytest.mark.broker

SAMPLE = Path(__file__).parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"


@pytest.fixture
def sample_broker(tmp_path: Path) -> Iterator[tuple[int, Path, Path]]:
    binary = mosquitto_binary()
    if binary is None:
        pytest.skip("mosquitto is not installed")
    pki = make_pki(tmp_path / "pki", client_cn="gw-H0001")
    passwd, acl = tmp_path / "homecare.passwd", tmp_path / "homecare.acl"
    tls_port, plain_port = free_port(), free_port()
    conf = SAMPLE.read_text()
    for old, new in {
        "listener 8883": f"listener {tls_port} 127.0.0.1",
        "listener 1883 127.0.0.1": f"listener {plain_port} 127.0.0.1",
        "/etc/mosquitto/certs/ca.pem": str(pki.ca),
        "/etc/mosquitto/certs/broker.pem": str(pki.server_cert),
        "/etc/mosquitto/certs/broker.key": str(pki.server_key),
        "/etc/mosquitto/homecare.passwd": str(passwd),
        "/etc/mosquitto/homecare.acl": str(acl),
        "/var/lib/mosquitto/": f"{tmp_path}/",
        "log_dest syslog": f"log_dest file {tmp_path / 'mosquitto.log'}",
    }.items():
        assert old in conf, old
        conf = conf.replace(old, new)
    if os.geteuid() == 0:
        conf += "user root\n"
    (tmp_path / "mosquitto.conf").write_text(conf)
    provision_backend(passwd_file=passwd, acl_file=acl)
    cred = provision_home("H0001", passwd_file=passwd, acl_file=acl)
    (tmp_path / "gw.secret").write_text(cred.password)
    proc = subprocess.Popen(
        [binary, "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, "mosquitto refused the sample config"
            try:
                socket.create_connection(("127.0.0.1", tls_port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto did not listen"
                time.sleep(0.05)
        yield tls_port, tmp_path / "gw.secret", pki.ca
    finally:
        proc.terminate()
        proc.wait(10)


async def test_the_sample_config_serves_tls_and_enforces_the_provisioned_acl(
    sample_broker: tuple[int, Path, Path],
) -> None:
    port, secret, ca = sample_broker
    settings = BrokerSettings(
        host="127.0.0.1",
        port=port,
        username="gw-H0001",
        password=SecretStr(secret.read_text()),
        tls=True,
        ca_file=ca,
    )
    async with MqttClient(**connection_kwargs(settings), client_id="gw-H0001") as client:
        await client.publish("homecare/v1/H0001/events", b"[]", qos=1)
        with pytest.raises(PublishRefusedError) as refused:
            await client.publish("homecare/v1/H0002/events", b"[]", qos=1)
        assert refused.value.code == 135
    anonymous = BrokerSettings(host="127.0.0.1", port=port, tls=True, ca_file=ca)
    with pytest.raises(MqttConnectError):
        await MqttClient(**connection_kwargs(anonymous)).connect(timeout_s=2)
