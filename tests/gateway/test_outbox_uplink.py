"""After an outage, the uplink sends life-safety events ahead of the backlog."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gateway import Gateway
from protocol import Envelope, decode_events_payload, events_topic
from simulators.home import SimHome
from tests.brokers import Broker, free_port
from tests.gateway._mqtt import eventually, subscriber
from tests.gateway._system import Toggler, toggle_kit

pytestmark = pytest.mark.broker


@pytest.mark.timeout(60)
async def test_an_sos_queued_behind_a_backlog_is_published_first(
    broker: Broker, tmp_path: Path
) -> None:
    home_id = f"P{uuid.uuid4().hex[:8]}"
    kit = toggle_kit(doors=2, pirs=2)
    toggler = Toggler(kit)
    port = free_port()
    async with (
        SimHome(
            home_id, z2m_port=broker.port, base_topic=f"z2m/{home_id}", serial=False
        ) as sos_home,
        SimHome(
            f"{home_id}x",
            z2m_port=broker.port,
            base_topic=f"z2m/{home_id}",
            serial=False,
            kit=kit,
            zigbee=True,
        ) as toggles,
    ):
        config = sos_home.gateway_config(broker.host, port, tmp_path / "gw")
        # One gateway reads both simulated device sets under the same base topic.
        config = config.model_copy(
            update={
                "devices": [
                    *config.devices,
                    *toggles.gateway_config(broker.host, port, tmp_path).devices,
                ]
            }
        )
        async with Gateway(config) as gw:
            await eventually(lambda: gw.ready is False and gw.stats.get("items_received", 0) > 0)
            for n in range(600):
                await toggles.report(*toggler.next(n))
            await sos_home.smoke()
            await sos_home.press_sos()
            await eventually(lambda: gw.outbox.size() >= 602, timeout_s=20)
            with Broker(tmp_path / "late", port=port) as late:
                async with subscriber(late, events_topic(home_id)) as sub:
                    msg = await sub.next(timeout_s=20)
                    first = [
                        e for e in decode_events_payload(msg.payload) if isinstance(e, Envelope)
                    ]
                    await eventually(lambda: gw.outbox_size() == 0, timeout_s=20)
    types = [str(e.type) for e in first]
    assert types[:2] == ["smoke", "sos"], types[:5]
    # Behind them, the backlog in its original order.
    rest = [e.seq for e in first[2:]]
    assert rest == sorted(rest)
    assert first[0].seq > rest[-1]
