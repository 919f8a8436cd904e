"""The pure parts: detector rules, the alert decision, batch planning, the hub, config."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend import Backend, BackendConfig, Hub, load_backend_config
from backend.alerts import AlertChange, AlertKind, Priority, Trigger, decide
from backend.detectors import ImmediateState, detect_immediate
from backend.ingest import plan_batch
from protocol import encode_batch, encode_envelope
from protocol.config import ConfigError
from protocol.mqtt import MqttMessage
from tests.backend.conftest import envelope

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def _msg(topic: str, payload: bytes) -> MqttMessage:
    return MqttMessage(topic=topic, payload=payload, qos=1, retain=False, mid=1)


@pytest.mark.parametrize(
    ("type_", "data", "kind"),
    [
        ("sos", {"source": "button"}, AlertKind.SOS),
        ("smoke", {"alarm": True}, AlertKind.SMOKE),
        ("gas", {"alarm": True}, AlertKind.GAS),
        ("smoke", {"alarm": False}, None),
        ("gas", {"alarm": False}, None),
        ("contact", {"open": True}, None),
        ("motion", {"motion": True}, None),
        ("water_leak", {"alarm": True}, None),
    ],
)
def test_immediate_detector(type_: str, data: dict[str, object], kind: AlertKind | None) -> None:
    event = envelope("H1", type_, data)
    state = ImmediateState()
    after, triggers = detect_immediate(state, event, NOW)
    assert after == state
    assert [t.kind for t in triggers] == ([kind] if kind else [])
    for t in triggers:
        assert t.priority is Priority.LIFE_THREATENING
        assert (t.home, t.event_id, t.at) == ("H1", event.id, event.at)


def _trigger(kind: AlertKind = AlertKind.SOS) -> Trigger:
    return Trigger("H1", kind, Priority.LIFE_THREATENING, uuid.uuid4(), NOW, "SOS pressed")


def test_decide_opens_then_attaches() -> None:
    first, second = _trigger(), _trigger()
    alert_id = uuid.uuid4()
    opened = decide(None, first, NOW, alert_id)
    assert opened.change == "opened"
    assert opened.alert.id == alert_id
    assert opened.alert.status == "open"
    assert opened.transition is not None
    assert (opened.transition.actor, opened.transition.to_status) == ("system", "open")
    later = NOW + timedelta(seconds=5)
    attached = decide(opened.alert, second, later, uuid.uuid4())
    assert attached.change == "attached"
    assert attached.transition is None
    assert attached.alert.id == alert_id
    assert attached.alert.trigger_count == 2
    assert attached.alert.first_event_id == first.event_id
    assert attached.alert.last_event_id == second.event_id
    assert attached.alert.updated_at == later


def test_decide_refuses_a_mismatched_alert() -> None:
    opened = decide(None, _trigger(AlertKind.SOS), NOW, uuid.uuid4())
    with pytest.raises(ValueError, match="home and kind"):
        decide(opened.alert, _trigger(AlertKind.SMOKE), NOW, uuid.uuid4())


def test_plan_keeps_unknown_fields_and_drops_repeats() -> None:
    event = envelope("H1", "contact", {"open": True}, firmware="2.1")
    plan = plan_batch([_msg("homecare/v1/H1/events", encode_batch([event, event]))], NOW)
    assert [r.id for r in plan.rows] == [event.id]
    assert plan.rows[0].raw["firmware"] == "2.1"
    assert plan.rows[0].received_at == NOW
    assert plan.repeated_in_batch == 1
    assert plan.dead == []


def test_plan_dead_letters_each_kind_of_bad_input() -> None:
    good = envelope("H1", "contact", {"open": True})
    wrong = {**json.loads(encode_envelope(good)), "id": str(uuid.uuid4()), "data": {"open": "yes"}}
    batch = json.dumps([json.loads(encode_envelope(good)), wrong]).encode()
    plan = plan_batch(
        [
            _msg("homecare/v1/H1/events", b"\x00\xffgarbage"),
            _msg("homecare/v1/H2/events", encode_envelope(good)),
            _msg("homecare/v1/H1/events", batch),
            _msg("somewhere/else", b"{}"),
            _msg("homecare/v1/H1/status", b'{"online": "yes"}'),
        ],
        NOW,
    )
    assert [r.id for r in plan.rows] == [good.id]
    reasons = [d.reason for d in plan.dead]
    assert len(reasons) == 5
    assert "not JSON" in reasons[0]
    assert "names home 'H1' but arrived on home 'H2'" in reasons[1]
    assert "item 1" in reasons[2]
    assert "open" in reasons[2]
    assert json.loads(plan.dead[2].payload)["id"] == wrong["id"]
    assert "not a homecare/v1" in reasons[3]
    assert "invalid status" in reasons[4]


def test_plan_reads_status_and_ignores_a_cleared_retained_status() -> None:
    plan = plan_batch(
        [
            _msg("homecare/v1/H1/status", b'{"online": false}'),
            _msg("homecare/v1/H2/status", b""),
        ],
        NOW,
    )
    assert [(s.home, s.online) for s in plan.statuses] == [("H1", False)]
    assert plan.dead == []


@given(st.binary(max_size=300))
def test_plan_never_raises_on_arbitrary_bytes(payload: bytes) -> None:
    plan = plan_batch([_msg("homecare/v1/H1/events", payload)], NOW)
    assert len(plan.rows) + len(plan.dead) >= 1


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_plan_never_raises_on_arbitrary_json(doc: object) -> None:
    plan = plan_batch([_msg("homecare/v1/H1/events", json.dumps(doc).encode())], NOW)
    assert len(plan.rows) + len(plan.dead) >= 1


def _change() -> AlertChange:
    decision = decide(None, _trigger(), NOW, uuid.uuid4())
    return AlertChange(decision.change, decision.alert, uuid.uuid4())


async def test_hub_fans_out_and_drops_a_slow_subscriber() -> None:
    hub = Hub(queue_size=2)
    fast = hub.subscribe()
    slow = hub.subscribe()
    changes = [_change() for _ in range(3)]
    hub.publish(changes[0])
    async with asyncio.timeout(5):
        assert await anext(fast) is changes[0]
    hub.publish(changes[1])
    async with asyncio.timeout(5):
        assert await anext(fast) is changes[1]
    hub.publish(changes[2])
    assert slow.lagged
    assert not fast.lagged
    assert hub.dropped_subscribers == 1
    assert hub.subscriber_count == 1
    async with asyncio.timeout(5):
        assert [c async for c in slow] == changes[:2]
    hub.close()
    async with asyncio.timeout(5):
        assert [c async for c in fast] == [changes[2]]


def test_config_refuses_a_missing_signing_key_outside_demo(tmp_path: Path) -> None:
    path = tmp_path / "backend.toml"
    path.write_text('database_url = "sqlite+aiosqlite:///x.db"\n')
    with pytest.raises(ConfigError, match=r"auth\.secret_key: not set"):
        load_backend_config(path)
    with pytest.raises(ConfigError, match=r"auth\.secret_key"):
        Backend(BackendConfig())
    path.write_text('[auth]\nsecret_key = "too-short"\n')
    with pytest.raises(ConfigError, match=r"auth\.secret_key: shorter than 32"):
        load_backend_config(path)
    # The service token is optional once accounts can log in.
    path.write_text(f'[auth]\nsecret_key = "{"k" * 32}"\n')
    assert Backend(load_backend_config(path)).api_token is None
    path.write_text("demo = true\n[api]\nport = 0\n")
    config = load_backend_config(path)
    first, second = Backend(config), Backend(config)
    assert first.api_token is not None
    assert len(first.api_token) >= 32
    assert first.api_token != second.api_token


def test_config_names_an_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "backend.toml"
    path.write_text('[mqtt]\nhots = "broker"\n')
    with pytest.raises(ConfigError, match=r"mqtt\.hots"):
        load_backend_config(path)
