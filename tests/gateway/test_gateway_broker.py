"""The whole gateway against a real mosquitto: Zigbee2MQTT in, envelopes and status out."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest

from gateway import Gateway
from protocol import Envelope, GatewayStatus, decode_events_payload, events_topic, status_topic
from tests.brokers import Broker, free_port, running_broker
from tests.gateway._helpers import make_config
from tests.gateway._mqtt import Subscriber, eventually, publish, subscriber

pytestmark = pytest.mark.broker

DOOR_OPEN = {"contact": False, "battery": 91, "voltage": 3005, "linkquality": 120}


def _paho_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("paho")}


def _unique() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"H{tag}", f"z2m-{tag}"


async def _envelopes(sub: Subscriber, home: str) -> list[Envelope]:
    msg = await sub.next_matching(lambda m: m.topic == events_topic(home))
    decoded = decode_events_payload(msg.payload)
    assert all(isinstance(e, Envelope) for e in decoded), decoded
    return [e for e in decoded if isinstance(e, Envelope)]


async def test_zigbee2mqtt_reports_become_envelopes(broker: Broker, tmp_path: Path) -> None:
    home, base = _unique()
    config = make_config(
        tmp_path,
        uplink_port=broker.port,
        zigbee_port=broker.port,
        home_id=home,
        base_topic=base,
    )
    device_topic = f"{base}/door_front"
    async with subscriber(broker, "homecare/v1/+/events") as sub:
        # Retained, so that the gateway gets it whenever its subscription becomes active.
        await publish(broker, device_topic, json.dumps(DOOR_OPEN).encode(), retain=True)
        try:
            async with Gateway(config) as gw:
                first = await _envelopes(sub, home)
                got = [(e.type, e.data.model_dump()) for e in first]
                while len(got) < 2:
                    got += [(e.type, e.data.model_dump()) for e in await _envelopes(sub, home)]
                assert got == [
                    ("contact", {"open": True}),
                    ("battery", {"percent": 91, "low": False}),
                ]
                assert first[0].home == home
                assert first[0].device == "door-front"
                assert first[0].room == "entrance"

                heartbeat = {**DOOR_OPEN, "linkquality": 99}
                await publish(broker, device_topic, json.dumps(heartbeat).encode())
                await publish(broker, device_topic, b"{not json")
                closed = {**DOOR_OPEN, "contact": True}
                await publish(broker, device_topic, json.dumps(closed).encode())

                after = await _envelopes(sub, home)
                # The heartbeat repeated the cached contact: no event from it.
                assert [(e.type, e.data.model_dump()) for e in after] == [
                    ("contact", {"open": False})
                ]
                seqs = [e.seq for e in first] + [e.seq for e in after]
                assert seqs == sorted(seqs)
                assert after[-1].seq == 2
                await eventually(lambda: gw.outbox_size() == 0)
                assert gw.stats["dead_letter:malformed JSON"] == 1
                assert gw.stats["published"] == 3
        finally:
            await publish(broker, device_topic, b"", retain=True)


async def test_status_is_retained_with_health_and_says_offline_on_stop(
    broker: Broker, tmp_path: Path
) -> None:
    home, base = _unique()
    config = make_config(
        tmp_path, uplink_port=broker.port, zigbee_port=broker.port, home_id=home, base_topic=base
    )
    await publish(broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True)
    try:
        # The backend's subscription: without one the gateway keeps its events for retry.
        async with (
            subscriber(broker, events_topic(home)),
            Gateway(config, clock_synced=lambda: True) as gw,
        ):
            await eventually(lambda: gw.stats.get("published", 0) >= 1)
            await eventually(lambda: gw.stats.get("status_published", 0) >= 1)
            # A late subscriber still gets the retained status.
            async with subscriber(broker, status_topic(home)) as sub:
                msg = await sub.next_matching(lambda m: m.topic == status_topic(home))
                assert msg.retain
                status = GatewayStatus.model_validate_json(msg.payload)
                assert status.online is True
                assert status.clock_synced is True
                assert status.version
                assert status.outbox is not None
                assert status.at is not None
        async with subscriber(broker, status_topic(home)) as sub:
            msg = await sub.next_matching(lambda m: m.topic == status_topic(home))
            assert json.loads(msg.payload)["online"] is False
    finally:
        await publish(broker, f"{base}/door_front", b"", retain=True)
        await publish(broker, status_topic(home), b"", retain=True)


async def test_status_carries_device_health(broker: Broker, tmp_path: Path) -> None:
    home, base = _unique()
    config = make_config(
        tmp_path,
        uplink_port=broker.port,
        zigbee_port=broker.port,
        home_id=home,
        base_topic=base,
        status_interval_s=0.2,
    )
    await publish(broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True)
    try:
        async with (
            subscriber(broker, status_topic(home)) as sub,
            subscriber(broker, events_topic(home)),
            Gateway(config) as gw,
        ):
            await eventually(lambda: gw.stats.get("published", 0) >= 1)

            def has_health(m: object) -> bool:
                payload = getattr(m, "payload", b"")
                status = json.loads(payload)
                return bool(status.get("devices", {}).get("door-front"))

            msg = await sub.next_matching(has_health)
            health = json.loads(msg.payload)["devices"]["door-front"]
            assert health["link_quality"] == 120
            assert health["battery"] == 91
            assert "last_seen" in health
    finally:
        await publish(broker, f"{base}/door_front", b"", retain=True)
        await publish(broker, status_topic(home), b"", retain=True)


async def test_events_nobody_subscribed_to_are_kept_and_sent_once_the_backend_is_back(
    tmp_path: Path,
) -> None:
    # A broker of its own: persistent backend sessions from other tests would subscribe.
    with running_broker(tmp_path) as broker:
        await _kept_until_subscribed(broker, tmp_path)


async def _kept_until_subscribed(broker: Broker, tmp_path: Path) -> None:
    home, base = _unique()
    config = make_config(
        tmp_path, uplink_port=broker.port, zigbee_port=broker.port, home_id=home, base_topic=base
    )
    await publish(broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True)
    try:
        async with Gateway(config) as gw:
            # A broker that lost its sessions answers "no matching subscribers" (16).
            await eventually(lambda: gw.stats.get("no_subscribers", 0) >= 1)
            assert gw.outbox_size() >= 1
            async with subscriber(broker, events_topic(home)) as backend:
                msg = await backend.next_matching(lambda m: m.topic == events_topic(home))
                received = [
                    e for e in decode_events_payload(msg.payload) if isinstance(e, Envelope)
                ]
                assert [e.type for e in received][:1] == ["contact"]
                await eventually(lambda: gw.outbox_size() == 0)
    finally:
        await publish(broker, f"{base}/door_front", b"", retain=True)
        await publish(broker, status_topic(home), b"", retain=True)


async def test_refused_publish_is_dead_lettered_not_lost(tmp_path: Path) -> None:
    home, base = _unique()
    acl = tmp_path / "acl"
    # Anonymous clients may do anything except publish this home's events.
    acl.write_text(
        f"topic readwrite {base}/#\n"
        f"topic readwrite homecare/v1/{home}/status\n"
        "topic read homecare/#\n"
        "topic readwrite test/#\n"
    )
    # Mosquitto started as root drops to its own user, which cannot read pytest's tmp dirs.
    extra = f"acl_file {acl}\n"
    with running_broker(tmp_path, extra_config=extra) as denied:
        config = make_config(
            tmp_path,
            uplink_port=denied.port,
            zigbee_port=denied.port,
            home_id=home,
            base_topic=base,
        )
        await publish(denied, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True)
        async with Gateway(config) as gw:
            await eventually(lambda: gw.stats.get("refused", 0) >= 2)
            await eventually(lambda: gw.outbox_size() == 0)
            letters = gw.dead_letters.recent()
            assert {d.reason for d in letters} == {"publish refused"}
            kept = [json.loads(d.raw) for d in letters]
            assert {k["type"] for k in kept} == {"contact", "battery"}
            assert all("135" in d.detail for d in letters)


async def test_events_wait_in_the_outbox_until_the_uplink_comes_up(
    broker: Broker, tmp_path: Path
) -> None:
    home, base = _unique()
    uplink_port = free_port()
    config = make_config(
        tmp_path, uplink_port=uplink_port, zigbee_port=broker.port, home_id=home, base_topic=base
    )
    await publish(broker, f"{base}/door_front", json.dumps(DOOR_OPEN).encode(), retain=True)
    try:
        async with Gateway(config) as gw:
            await eventually(lambda: gw.outbox_size() == 2)
            assert gw.stats.get("published", 0) == 0
            stored = gw.outbox.next_batch(10)
            with Broker(tmp_path / "late", port=uplink_port) as late:
                async with subscriber(late, events_topic(home)) as sub:
                    got: list[Envelope] = []
                    while len(got) < 2:
                        got += await _envelopes(sub, home)
                    assert [e.id for e in got] == [e.id for e in stored]
                    await eventually(lambda: gw.outbox_size() == 0, timeout_s=20)
    finally:
        await publish(broker, f"{base}/door_front", b"", retain=True)


async def test_stop_while_the_uplink_is_unreachable_leaves_nothing_running(
    broker: Broker, tmp_path: Path
) -> None:
    home, base = _unique()
    config = make_config(
        tmp_path, uplink_port=free_port(), zigbee_port=broker.port, home_id=home, base_topic=base
    )
    before = _paho_threads()
    async with Gateway(config) as gw:
        # Both sessions' network threads run: the uplink one is still trying to connect.
        await eventually(lambda: len(_paho_threads() - before) >= 2)
    # The autouse leak check fails this test if a paho thread is left behind.
    assert not gw.uplink_connected
