"""``GET /api/v1/reports/sla`` over a real store, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from backend.auth import Role, Users
from backend.reports import SLA_CSV_COLUMNS, load_sla_rows
from backend.storage import Store
from tests.reports.conftest import AUTH, add_alert

URL = "/api/v1/reports/sla"
DAY = datetime(2026, 3, 2, tzinfo=UTC)
WINDOW = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-10T00:00:00Z"}


async def _seed(store: Store) -> None:
    await add_alert(
        store,
        DAY,
        ack_after=20,
        by="alice",
        dispatch_after=50,
        arrivals_after=(None, 700, 600),
        resolve_after=900,
    )
    await add_alert(store, DAY + timedelta(hours=1), ack_after=100, by="bob", resolve_after=200)
    await add_alert(store, DAY + timedelta(days=1), priority=2, ack_after=30, by="alice")
    await add_alert(store, DAY + timedelta(days=1, hours=2), priority=2, resolve_after=10)
    # Outside the window: before it, and at its exclusive end.
    await add_alert(store, DAY - timedelta(days=5), ack_after=1, by="alice")
    await add_alert(store, datetime(2026, 3, 10, tzinfo=UTC), ack_after=1, by="alice")


async def test_rows_take_the_earliest_arrival(store: Store) -> None:
    await _seed(store)
    rows = await load_sla_rows(store, DAY - timedelta(days=1), DAY + timedelta(days=8))
    assert len(rows) == 4
    first = min(rows, key=lambda r: r.opened_at)
    assert first.arrived_at == DAY + timedelta(seconds=600)
    assert first.acknowledged_by == "alice"
    assert all(r.opened_at.tzinfo is not None for r in rows)
    only_p2 = await load_sla_rows(store, DAY, DAY + timedelta(days=8), priority=2)
    assert {r.priority for r in only_p2} == {2}
    assert len(only_p2) == 2


async def test_report_as_json(store: Store, client: httpx.AsyncClient) -> None:
    await _seed(store)
    response = await client.get(URL, params=WINDOW, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    total = body["total"]
    assert total["alerts"] == 4
    ack = total["acknowledge"]
    assert (ack["count"], ack["population"], ack["p50"], ack["p99"]) == (3, 4, 30.0, 100.0)
    assert (ack["within_60s"], ack["within_180s"]) == (0.5, 0.75)
    assert total["standard_met"] is False
    assert total["arrive"] == {
        "count": 1,
        "population": 1,
        "waiting": 0,
        "p50": 600.0,
        "p90": 600.0,
        "p95": 600.0,
        "p99": 600.0,
        "within_60s": 0.0,
        "within_180s": 0.0,
    }
    assert body["groups"][0]["key"] is None
    assert body["standard"] == {"within_60s": 0.975, "within_180s": 0.99}


async def test_report_by_operator_priority_and_period(
    store: Store, client: httpx.AsyncClient
) -> None:
    await _seed(store)

    async def keys(**params: str) -> list[tuple[str | None, int]]:
        response = await client.get(URL, params={**WINDOW, **params}, headers=AUTH)
        assert response.status_code == 200, response.text
        return [(g["key"], g["alerts"]) for g in response.json()["groups"]]

    assert await keys(group_by="operator") == [("alice", 2), ("bob", 1), (None, 1)]
    assert await keys(group_by="priority") == [("1", 2), ("2", 2)]
    assert await keys(group_by="period") == [("2026-03-02", 2), ("2026-03-03", 2)]
    assert await keys(group_by="period", period="week") == [("2026-03-02", 4)]
    assert await keys(group_by="period", period="month", tz="Pacific/Auckland") == [
        ("2026-03-01", 4)
    ]
    assert await keys(group_by="priority", priority="2") == [("2", 2)]


async def test_report_as_csv(store: Store, client: httpx.AsyncClient) -> None:
    await _seed(store)
    for extra, headers in (({"format": "csv"}, AUTH), ({}, {**AUTH, "Accept": "text/csv"})):
        response = await client.get(
            URL, params={**WINDOW, "group_by": "operator", **extra}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        lines = list(csv.DictReader(io.StringIO(response.text)))
        assert tuple(lines[0]) == SLA_CSV_COLUMNS
        assert [(r["group"], r["alerts"], r["acknowledge_p50_s"]) for r in lines] == [
            ("alice", "2", "20.0"),
            ("bob", "1", "100.0"),
            ("", "1", ""),
        ]
    as_json = await client.get(
        URL, params={**WINDOW, "format": "json"}, headers={**AUTH, "Accept": "text/csv"}
    )
    assert as_json.headers["content-type"] == "application/json"


async def test_default_window_is_the_last_30_days(store: Store, client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    await add_alert(store, now - timedelta(days=29), ack_after=5, by="alice")
    await add_alert(store, now - timedelta(days=31), ack_after=5, by="alice")
    response = await client.get(URL, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"]["alerts"] == 1
    since, until = (datetime.fromisoformat(body[k]) for k in ("since", "until"))
    assert until - since == timedelta(days=30)


async def test_bad_parameters_are_problems(client: httpx.AsyncClient) -> None:
    for params in (
        {"since": "2026-03-01T00:00:00"},  # no time zone
        {"since": "2026-03-05T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        {"since": "2024-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"tz": "Mars/Olympus_Mons"},
        {"group_by": "home"},
        {"format": "xml"},
    ):
        response = await client.get(URL, params=params, headers=AUTH)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_report_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get(URL)
    assert response.status_code == 401
    wrong = await client.get(URL, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401


async def test_report_needs_the_supervisor_role(store: Store, client: httpx.AsyncClient) -> None:
    users = Users(store)
    for role in Role:
        name, password = f"{role.value}-1", f"Pw-{uuid.uuid4().hex}"
        await users.create("test", username=name, password=password, role=role)
        login = await client.post(
            "/api/v1/auth/token", data={"username": name, "password": password}
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        response = await client.get(URL, headers=headers)
        assert response.status_code == (403 if role is Role.OPERATOR else 200), role
        metrics = await client.get("/metrics", headers=headers)
        assert metrics.status_code == 200, role
