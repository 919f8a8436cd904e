"""The uplink over TLS (mqtts): password or client certificate, against a real mosquitto."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import Gateway, GatewayError
from gateway._broker import connection_kwargs
from gateway.config import BrokerSettings
from homecare.provision import provision_home
from protocol import Envelope, decode_events_payload, events_topic
from tests.brokers import Broker, free_port, running_broker
from tests.gateway._helpers import make_config
from tests.gateway._mqtt import eventually, publish, subscriber
from tests.gateway._tls import Pki, make_pki

pytestmark = pytest.mark.broker

DOOR_OPEN = {"contact": False, "battery": 91, "voltage": 3005, "linkquality": 120}


class TlsBroker:
    def __init__(self, broker: Broker, password_port: int, cert_port: int, pki: Pki) -> None:
        self.broker, self.password_port, self.cert_port, self.pki = (
            broker,
            password_port,
            cert_port,
            pki,
        )


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[TlsBroker]:
    home = "H0001"
    pki = make_pki(tmp_path / "pki", client_cn=f"gw-{home}")
    passwd = tmp_path / "passwd"
    # Only the password file: without an acl_file every authenticated user may publish.
    cred = provision_home(home, passwd_file=passwd, acl_file=tmp_path / "acl")
    (tmp_path / "gw.secret").write_text(cred.password)
    password_port, cert_port = free_port(), free_port()
    extra = (
        f"password_file {passwd}\n"
        f"listener {password_port} 127.0.0.1\n"
        f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        f"listener {cert_port} 127.0.0.1\n"
        f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        "require_certificate true\nuse_identity_as_username true\n"
    )
    with running_broker(tmp_path / "broker", extra_config=extra) as broker:
        yield TlsBroker(broker, password_port, cert_port, pki)


def _config(tmp_path: Path, tls: TlsBroker, base: str, uplink: dict[str, Any]) -> Any:
    return make_config(
        tmp_path,
        uplink_port=1,
        zigbee_port=tls.broker.port,
        home_id="H0001",
        base_topic=base,
        uplink={"host": "127.0.0.1", "tls": True, "ca_file": str(tls.pki.ca), **uplink},
    )


async def _door_events_arrive(tls: TlsBroker, config: Any, base: str) -> list[Envelope]:
    async with subscriber(tls.broker, events_topic("H0001")) as sub:
        await publish(tls.broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True)
        try:
            async with Gateway(config) as gw:
                got: list[Envelope] = []
                while len(got) < 2:
                    msg = await sub.next(timeout_s=20)
                    got += [
                        e for e in decode_events_payload(msg.payload) if isinstance(e, Envelope)
                    ]
                await eventually(lambda: gw.outbox_size() == 0)
                assert gw.stats["connects"] == 1
        finally:
            await publish(tls.broker, f"{base}/door_front", b"", retain=True)
    return got


async def test_uplink_over_tls_with_a_password(tls_broker: TlsBroker, tmp_path: Path) -> None:
    base = f"z2m-{uuid.uuid4().hex[:8]}"
    password = (tmp_path / "gw.secret").read_text()
    config = _config(
        tmp_path,
        tls_broker,
        base,
        {"port": tls_broker.password_port, "username": "gw-H0001", "password": password},
    )
    got = await _door_events_arrive(tls_broker, config, base)
    assert sorted(str(e.type) for e in got) == ["battery", "contact"]


async def test_uplink_over_tls_with_a_client_certificate(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    base = f"z2m-{uuid.uuid4().hex[:8]}"
    config = _config(
        tmp_path,
        tls_broker,
        base,
        {
            "port": tls_broker.cert_port,
            "cert_file": str(tls_broker.pki.client_cert),
            "key_file": str(tls_broker.pki.client_key),
        },
    )
    got = await _door_events_arrive(tls_broker, config, base)
    assert {e.home for e in got} == {"H0001"}


@pytest.mark.parametrize("problem", ["wrong password", "untrusted broker", "no certificate"])
async def test_a_refused_tls_session_keeps_events_and_retries(
    tls_broker: TlsBroker, tmp_path: Path, problem: str
) -> None:
    base = f"z2m-{uuid.uuid4().hex[:8]}"
    choices: dict[str, dict[str, Any]] = {
        "wrong password": {
            "port": tls_broker.password_port,
            "username": "gw-H0001",
            "password": "not-the-password",
        },
        "untrusted broker": {
            "port": tls_broker.password_port,
            "ca_file": str(tls_broker.pki.other_ca),
        },
        "no certificate": {"port": tls_broker.cert_port},
    }
    uplink = choices[problem]
    config = _config(tmp_path, tls_broker, base, uplink)
    await publish(
        tls_broker.broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True
    )
    try:
        async with Gateway(config) as gw:
            await eventually(lambda: gw.outbox_size() == 2)
            await eventually(lambda: gw.stats.get("restarts:uplink", 0) >= 1, timeout_s=20)
            assert not gw.uplink_connected
            assert gw.outbox_size() == 2
    finally:
        await publish(tls_broker.broker, f"{base}/door_front", b"", retain=True)


def test_unreadable_tls_files_are_a_clear_error(tmp_path: Path) -> None:
    settings = BrokerSettings(tls=True, ca_file=tmp_path / "missing-ca.pem")
    with pytest.raises(GatewayError, match="cannot load TLS files"):
        connection_kwargs(settings)
