"""``homecare replay`` and the replay API: the same alerts as the live path, in event time."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from backend.app import Backend
from backend.careplan import CarePlan, HomeSettings
from backend.config import ApiSettings, AuthSettings, BackendConfig, MqttSettings
from backend.detectors.replay import replay
from backend.storage import EventFilter
from homecare.cli import main
from protocol import Envelope, encode_envelope, events_topic, new_event_id
from protocol.mqtt import MqttClient
from tests.brokers import Broker

TOKEN = "replay-token-0123456789"
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


def _event(
    home: str,
    device: str,
    type_: str,
    room: str | None,
    data: dict[str, Any],
    *,
    at: datetime,
    seq: int,
) -> Envelope:
    return Envelope.model_validate(
        {
            "id": str(new_event_id()),
            "home": home,
            "device": device,
            "type": type_,
            "at": at,
            "seq": seq,
            "room": room,
            "data": data,
        }
    )


def test_replay_command_writes_alerts_as_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        _event("H1", "pir_bathroom", "motion", "bathroom", {"motion": True}, at=T0, seq=1),
        _event("H2", "pir_bathroom", "motion", "bathroom", {"motion": True}, at=T0, seq=1),
        _event(
            "H2",
            "pir_kitchen",
            "motion",
            "kitchen",
            {"motion": True},
            at=T0 + timedelta(minutes=5),
            seq=2,
        ),
        _event(
            "H1",
            "sos",
            "sos",
            "living",
            {"source": "pendant"},
            at=T0 + timedelta(minutes=50),
            seq=2,
        ),
    ]
    source = tmp_path / "events.jsonl"
    source.write_text(
        "\n".join(e.model_dump_json() for e in events[:2])
        + '\n{"not": "an envelope"}\n'
        + "\n".join(e.model_dump_json() for e in events[2:])
        + "\n"
    )
    plans = tmp_path / "plans.yaml"
    plans.write_text("homes:\n  - id: H1\n    care_plan:\n      bathroom_dwell_min: 30\n")
    out = tmp_path / "alerts.jsonl"
    assert main(["replay", str(source), "--care-plans", str(plans), "--out", str(out)]) == 0
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(a["home"], a["kind"], a["at"], a["event_id"]) for a in alerts] == [
        ("H1", "fall_suspected", "2026-11-23T02:30:00Z", None),
        ("H1", "sos", "2026-11-23T02:50:00Z", str(events[3].id)),
    ]
    err = capsys.readouterr().err
    assert f"{source}:3: skipped" in err
    assert "replayed 4 events (1 skipped)" in err


def test_replay_fires_deadlines_up_to_until(tmp_path: Path) -> None:
    event = _event("H1", "pir_bathroom", "motion", "bathroom", {"motion": True}, at=T0, seq=1)
    assert list(replay([event], {})) == []
    [alert] = replay([event], {}, until=T0 + timedelta(minutes=45))
    assert (alert.kind, alert.at, alert.change) == (
        "fall_suspected",
        T0 + timedelta(minutes=45),
        "opened",
    )
    source = tmp_path / "events.jsonl"
    source.write_text(event.model_dump_json() + "\n")
    assert main(["replay", str(source), "--until", "2026-11-23T03:00:00"]) == 2  # no zone


@pytest.mark.broker
@pytest.mark.timeout(60)
async def test_replay_gives_the_alerts_of_the_live_path(broker: Broker, tmp_path: Path) -> None:
    homes = [f"R{uuid.uuid4().hex[:8]}{n}" for n in range(3)]
    short = CarePlan(bathroom_dwell_min=0.05, radar_still_min=0.05)
    config = BackendConfig(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        mqtt=MqttSettings(host=broker.host, port=broker.port, client_id=f"be-{homes[0]}"),
        api=ApiSettings(port=0, token=SecretStr(TOKEN)),
        auth=AuthSettings(secret_key=SecretStr("replay-signing-key-0123456789abcdef0123")),
        homes=[HomeSettings(id=h, care_plan=short) for h in homes],
    )
    plans = config.care_plans()
    async with (
        Backend(config) as backend,
        MqttClient(host=broker.host, port=broker.port, client_id=f"gw-{homes[0]}") as gateway,
    ):
        now = datetime.now(UTC)

        async def send(
            home: str, device: str, type_: str, room: str | None, data: dict[str, Any], *, seq: int
        ) -> None:
            event = _event(home, device, type_, room, data, at=datetime.now(UTC), seq=seq)
            await gateway.publish(events_topic(home), encode_envelope(event))

        a, b, c = homes
        await send(a, "pir_bathroom", "motion", "bathroom", {"motion": True}, seq=1)  # dwell fires
        await send(b, "pir_bathroom", "motion", "bathroom", {"motion": True}, seq=1)
        await send(b, "pir_kitchen", "motion", "kitchen", {"motion": True}, seq=2)  # left: no alert
        await send(c, "sos", "sos", "living", {"source": "button"}, seq=1)
        await send(c, "sos", "sos", "living", {"source": "button"}, seq=2)  # attaches
        await send(c, "smoke_kitchen", "battery", "kitchen", {"percent": 3, "low": True}, seq=3)
        await asyncio.sleep(0.05 * 60 + 2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{backend.api_port}/api/v1") as api:
            live: list[tuple[str, str, int]] = []
            firsts: list[tuple[str, str]] = []
            for home in homes:
                resp = await api.get(
                    "/alerts", params={"home": home}, headers={"Authorization": f"Bearer {TOKEN}"}
                )
                items = resp.json()["items"]
                live += [(a_["home"], a_["kind"], a_["trigger_count"]) for a_ in items]
                firsts += [
                    (a_["kind"], a_["first_event_id"])
                    for a_ in items
                    if a_["kind"] != "fall_suspected"
                ]
        stored: list[Envelope] = []
        for home in homes:
            rows = await backend.store.list_events(EventFilter(home=home), limit=1000)
            stored += [Envelope.model_validate(r.raw) for r in rows]
    del now
    stored.sort(key=lambda e: (e.at, e.seq))  # millisecond ties: seq orders them
    replayed = list(replay(stored, plans.homes, until=datetime.now(UTC)))
    counts: dict[tuple[str, str], int] = {}
    for alert in replayed:
        counts[(alert.home, alert.kind)] = counts.get((alert.home, alert.kind), 0) + 1
    assert sorted(live) == sorted((h, k, n) for (h, k), n in counts.items())
    # The same triggering events open the alerts (a deadline has none in replay).
    assert sorted(firsts) == sorted(
        (r.kind, str(r.event_id)) for r in replayed if r.change == "opened" and r.event_id
    )
    assert sorted(live) == sorted([(a, "fall_suspected", 1), (c, "sos", 2), (c, "low_battery", 1)])
