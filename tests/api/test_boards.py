"""The reads behind the console's boards: responders at work, device health by community, the
SLA report's histogram, and a home's community and time zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from backend.api import create_app
from backend.api._boards import device_problems
from backend.auth import Authenticator, Users
from backend.careplan import CarePlan, CarePlans
from backend.hub import Hub
from backend.ingest import Detection
from backend.reports import SlaRow, acknowledge_histogram
from backend.storage import Store
from tests.backend.conftest import SECRET_KEY, TOKEN
from tests.reports.conftest import AUTH, add_alert, client_for, make_app

pytestmark = pytest.mark.timeout(60)

NOW = datetime.now(UTC).replace(microsecond=0)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def test_live_dispatches_say_what_each_responder_is_doing(store: Store) -> None:
    on_scene = await add_alert(
        store,
        NOW - timedelta(minutes=5),
        home="H1",
        ack_after=10,
        dispatch_after=20,
        arrivals_after=(200,),
    )
    await add_alert(
        store,
        NOW - timedelta(hours=2),
        home="H2",
        ack_after=10,
        dispatch_after=20,
        arrivals_after=(300,),
        resolve_after=900,
    )
    await add_alert(
        store,
        NOW - timedelta(minutes=3),
        home="H3",
        kind="smoke",
        dispatch_after=5,
        arrivals_after=(None,),
    )
    async with client_for(make_app(store)) as client:
        every = await ok(await client.get("/api/v1/dispatches", headers=AUTH))
        live = await ok(await client.get("/api/v1/dispatches?live=true", headers=AUTH))
        one = every["items"][0]["responder_id"]
        theirs = await ok(await client.get(f"/api/v1/dispatches?responder={one}", headers=AUTH))
        assert (await client.get("/api/v1/dispatches")).status_code == 401
    # Newest first; the declined one and the one on a resolved alert are not under way.
    assert every["total"] == 3
    assert [d["home"] for d in every["items"]] == ["H3", "H1", "H2"]
    assert live["total"] == 1
    (doing,) = live["items"]
    assert doing["alert_id"] == str(on_scene)
    assert (doing["status"], doing["kind"], doing["priority"], doing["alert_status"]) == (
        "arrived",
        "sos",
        1,
        "dispatched",
    )
    assert [d["responder_id"] for d in theirs["items"]] == [one]


async def test_device_health_lists_homes_with_a_problem_by_community(store: Store) -> None:
    statuses = {
        "H1": {"door": {"verdict": "ok", "battery": 90}, "smoke": {"verdict": "offline"}},
        "H2": {"pir": {"battery": 7, "battery_low": True, "verdict": "low battery"}},
        "H3": {"door": {"verdict": "ok"}},
        "H4": {},
    }
    async with client_for(make_app(store)) as client:
        for home, community in (("H1", "Riverside"), ("H2", "Garden Lane"), ("H3", "Riverside")):
            body = {"id": home, "label": f"Flat {home}", "community": community}
            await ok(await client.post("/api/v1/homes", json=body, headers=AUTH), 201)
        async with store.transaction() as tx:
            for home, devices in statuses.items():
                online = home != "H4"
                status = {"online": online, "devices": devices} if online else {"online": False}
                await tx.update_home_status(home, online=online, status=status, now=NOW)
        problems = await ok(await client.get("/api/v1/device-health", headers=AUTH))
        every = await ok(await client.get("/api/v1/device-health?all_homes=true", headers=AUTH))
        homes = await ok(await client.get("/api/v1/homes", headers=AUTH))
    # Garden Lane before Riverside, and a home without a community last.
    assert [(h["id"], h["community"]) for h in problems["items"]] == [
        ("H2", "Garden Lane"),
        ("H1", "Riverside"),
        ("H4", None),
    ]
    h2, h1, h4 = problems["items"]
    assert h2["devices"] == [
        {
            "id": "pir",
            "room": None,
            "battery": 7.0,
            "verdict": "low battery",
            "problems": ["low_battery"],
        }
    ]
    assert [(d["id"], d["problems"]) for d in h1["devices"]] == [("smoke", ["offline"])]
    assert (h4["gateway_online"], h4["devices"]) == (False, [])
    assert every["total"] == 4
    assert [len(h["devices"]) for h in every["items"]] == [1, 2, 1, 0]
    assert {h["id"]: h["community"] for h in homes["items"]}["H3"] == "Riverside"


def test_device_problems_read_the_gateway_verdicts() -> None:
    assert device_problems({"verdict": "ok", "battery": 80}) == []
    assert device_problems({"verdict": "tampered"}) == ["tampered"]
    assert device_problems({"online": False, "battery_low": True}) == ["offline", "low_battery"]


async def test_a_home_tells_its_community_and_its_residents_time_zone(store: Store) -> None:
    plans = CarePlans(homes={"H1": CarePlan(timezone="Europe/Berlin")})
    app = create_app(
        store,
        Hub(),
        TOKEN,
        detection=Detection(plans),
        auth=Authenticator(Users(store), SECRET_KEY),
    )
    async with client_for(app) as client:
        for home in ("H1", "H2"):
            await ok(await client.post("/api/v1/homes", json={"id": home}, headers=AUTH), 201)
        patched = await ok(
            await client.patch("/api/v1/homes/H1", json={"community": "Mitte"}, headers=AUTH)
        )
        h1 = await ok(await client.get("/api/v1/homes/H1", headers=AUTH))
        h2 = await ok(await client.get("/api/v1/homes/H2", headers=AUTH))
        cleared = await ok(
            await client.patch("/api/v1/homes/H1", json={"community": None}, headers=AUTH)
        )
    assert patched["community"] == "Mitte"
    assert (h1["community"], h1["timezone"]) == ("Mitte", "Europe/Berlin")
    assert (h2["community"], h2["timezone"]) == (None, "Asia/Shanghai")  # the default plan's
    assert cleared["community"] is None


async def test_responders_say_whether_they_are_on_duty_now(store: Store) -> None:
    always = {"id": "R1", "name": "Always", "kind": "family"}
    never = {"id": "R2", "name": "Never", "kind": "family", "availability": []}
    retired = {"id": "R3", "name": "Retired", "kind": "family", "active": False}
    async with client_for(make_app(store)) as client:
        for body in (always, never, retired):
            await ok(await client.post("/api/v1/responders", json=body, headers=AUTH), 201)
        listed = await ok(await client.get("/api/v1/responders", headers=AUTH))
    assert [(r["id"], r["on_duty"]) for r in listed["items"]] == [
        ("R1", True),
        ("R2", False),
        ("R3", False),
    ]


def test_the_acknowledge_histogram_bins_by_seconds_taken() -> None:
    opened = NOW - timedelta(hours=1)

    def row(ack_after: float | None) -> SlaRow:
        acked = None if ack_after is None else opened + timedelta(seconds=ack_after)
        return SlaRow(alert_id=uuid.uuid4(), priority=1, opened_at=opened, acknowledged_at=acked)

    bins = acknowledge_histogram([row(s) for s in (0, 14.9, 15, 59, 60, 179, 180, 4000, None)])
    assert [(b.from_s, b.to_s, b.count) for b in bins] == [
        (0, 15, 2),
        (15, 30, 1),
        (30, 45, 0),
        (45, 60, 1),
        (60, 90, 1),
        (90, 120, 0),
        (120, 180, 1),
        (180, 300, 1),
        (300, 600, 0),
        (600, None, 1),
    ]


async def test_the_sla_report_carries_the_histogram(store: Store) -> None:
    for ack_after in (5, 20, 70, None):
        await add_alert(store, NOW - timedelta(hours=1), ack_after=ack_after, by="op1")
    async with client_for(make_app(store)) as client:
        report = await ok(await client.get("/api/v1/reports/sla?group_by=operator", headers=AUTH))
        csv = await client.get("/api/v1/reports/sla?format=csv", headers=AUTH)
    counts = {b["from_s"]: b["count"] for b in report["acknowledge_histogram"]}
    assert (counts[0], counts[15], counts[60], sum(counts.values())) == (1, 1, 1, 3)
    assert "histogram" not in csv.text
