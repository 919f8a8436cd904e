"""With provisioned credentials and ACL, a gateway cannot publish for another home."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from backend.app import Backend
from backend.config import ApiSettings, BackendConfig, MqttSettings
from backend.storage import EventFilter
from gateway import Gateway
from gateway.config import BrokerSettings
from gateway.config import SecretStr as GatewaySecret
from homecare.provision import provision_backend, provision_home
from simulators.home import SimHome
from tests.brokers import Broker, running_broker
from tests.gateway._mqtt import eventually

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


@pytest.mark.timeout(90)
async def test_a_gateway_publishing_for_another_home_is_refused_and_sees_it(
    broker: Broker, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    own, other = f"A{tag}", f"B{tag}"
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    own_cred = provision_home(own, passwd_file=passwd, acl_file=acl)
    provision_home(other, passwd_file=passwd, acl_file=acl)
    be_cred = provision_backend(passwd_file=passwd, acl_file=acl)
    extra = f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
    with running_broker(tmp_path / "uplink", extra_config=extra) as uplink:
        config = BackendConfig(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'backend.db'}",
            mqtt=MqttSettings(
                host=uplink.host,
                port=uplink.port,
                username=be_cred.username,
                password=SecretStr(be_cred.password),
                client_id=f"be-{tag}",
            ),
            api=ApiSettings(enabled=False, token=SecretStr("t" * 32)),
        )
        honest_home = SimHome(own, z2m_port=broker.port, base_topic=f"z2m/{own}", serial=False)
        rogue_home = SimHome(other, z2m_port=broker.port, base_topic=f"z2m/{other}", serial=False)
        async with Backend(config) as backend, honest_home, rogue_home:
            creds = BrokerSettings(
                host=uplink.host,
                port=uplink.port,
                username=own_cred.username,
                password=GatewaySecret(own_cred.password),
            )
            honest_cfg = honest_home.gateway_config(uplink.host, uplink.port, tmp_path / "gw1")
            honest_cfg = honest_cfg.model_copy(
                update={"uplink": creds.model_copy(update={"client_id": f"gw1-{tag}"})}
            )
            # A gateway of home `other`, set up with the credentials of home `own`.
            rogue_cfg = rogue_home.gateway_config(uplink.host, uplink.port, tmp_path / "gw2")
            rogue_cfg = rogue_cfg.model_copy(
                update={"uplink": creds.model_copy(update={"client_id": f"gw2-{tag}"})}
            )
            async with Gateway(honest_cfg) as honest, Gateway(rogue_cfg) as rogue:
                async with asyncio.timeout(15):
                    while not (honest.ready and rogue.ready):  # noqa: ASYNC110
                        await asyncio.sleep(0.02)
                await rogue_home.press_sos()
                await honest_home.press_sos()
                await eventually(lambda: rogue.stats.get("refused", 0) >= 1, timeout_s=20)
                await eventually(lambda: rogue.outbox_size() == 0)
                await eventually(lambda: honest.outbox_size() == 0, timeout_s=20)
                refused = [d for d in rogue.dead_letters.recent() if d.reason == "publish refused"]
                assert refused
                assert all("(135)" in d.detail for d in refused)
                assert any(b'"type":"sos"' in d.raw for d in refused)
                assert rogue.stats.get("published", 0) == 0
                assert rogue.stats.get("status_refused", 0) >= 1

                async with asyncio.timeout(20):
                    while True:
                        if await backend.store.count_events(own) >= honest.stats["published"]:
                            break
                        await asyncio.sleep(0.05)
                # Positive control: the honest gateway's SOS is stored; the rogue's never is.
                assert await backend.store.list_events(EventFilter(home=own, type="sos"))
                assert await backend.store.count_events(other) == 0
                assert backend.stats.dead_lettered == 0
