"""The directory's API on a running backend: admin changes, operator reads, audit, pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from backend import Backend
from backend.auth import Role
from backend.storage._tables import dispatches
from tests.backend.conftest import TOKEN, bearer, create_accounts, login
from tests.notify.conftest import add_alert

pytestmark = [pytest.mark.broker, pytest.mark.timeout(90)]

ADMIN = bearer(TOKEN)  # the service token: principal "api-token", role admin
SECRET = "webhook-secret-0123456789"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def tokens(
    backend: Backend, client: httpx.AsyncClient
) -> dict[Role, tuple[str, dict[str, str]]]:
    """Log in one user of each role: ``{role: (username, headers)}``."""
    out = {}
    for role, account in (await create_accounts(backend)).items():
        out[role] = (
            account.username,
            bearer(await login(client, account.username, account.password)),
        )
    return out


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def make_home(client: httpx.AsyncClient, home: str = "H1", **fields: Any) -> None:
    await ok(await client.post("/homes", json={"id": home, **fields}, headers=ADMIN), 201)


async def test_admins_build_a_home_that_operators_read(
    running: Backend, client: httpx.AsyncClient
) -> None:
    people = await tokens(running, client)
    operator, as_operator = people[Role.OPERATOR]
    created = await ok(
        await client.post(
            "/homes", json={"id": "H1", "label": "Flat 1", "address": "1 Test St"}, headers=ADMIN
        ),
        201,
    )
    assert (created["label"], created["address"], created["gateway_online"]) == (
        "Flat 1",
        "1 Test St",
        None,
    )
    again = await client.post("/homes", json={"id": "H1"}, headers=ADMIN)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"

    hook = {"type": "webhook", "url": "https://hooks.example.org/path?key=abc", "secret": SECRET}
    r1 = await client.post(
        "/responders",
        json={"id": "R1", "name": "Daughter", "kind": "family", "channels": [hook]},
        headers=ADMIN,
    )
    assert SECRET not in r1.text
    assert "key=abc" not in r1.text
    assert (await ok(r1, 201))["channels"] == [
        {"type": "webhook", "target": "https://hooks.example.org"}
    ]
    await ok(
        await client.post(
            "/responders",
            json={
                "id": "R2",
                "name": "Worker",
                "kind": "community_worker",
                "channels": [{"type": "mqtt"}],
                "availability": [{"days": [5, 6], "start": "20:00", "end": "08:00"}],
            },
            headers=ADMIN,
        ),
        201,
    )
    contact = await client.put("/homes/H1/contacts/R2", json={"rank": 2}, headers=ADMIN)
    assert (await ok(contact, 201))["rank"] == 2
    changed = await client.put(
        "/homes/H1/contacts/R2", json={"rank": 3, "relation": "worker"}, headers=ADMIN
    )
    assert (await ok(changed))["relation"] == "worker"
    await ok(
        await client.put(
            "/homes/H1/contacts/R1", json={"rank": 1, "relation": "daughter"}, headers=ADMIN
        ),
        201,
    )
    assert (
        await client.put("/homes/H1/contacts/R9", json={"rank": 1}, headers=ADMIN)
    ).status_code == 404
    resident = {
        "id": "P1",
        "name": "Resident One",
        "birth_year": 1939,
        "language": "zh-CN",
        "conditions": ["hypertension", " 糖尿病 ", "uses a wheelchair"],
    }
    created_resident = await ok(
        await client.post("/homes/H1/residents", json=resident, headers=ADMIN), 201
    )
    assert created_resident["conditions"] == ["hypertension", "糖尿病", "uses a wheelchair"]
    await ok(
        await client.post("/homes/H1/residents", json={"id": "P2", "name": "Two"}, headers=ADMIN),
        201,
    )

    home = await ok(await client.get("/homes/H1", headers=as_operator))
    assert home["label"] == "Flat 1"
    assert home["address"] == "1 Test St"
    assert [(r["name"], r["conditions"]) for r in home["residents"]] == [
        ("Resident One", ["hypertension", "糖尿病", "uses a wheelchair"]),
        ("Two", []),
    ]
    assert [(c["rank"], c["responder"]["id"]) for c in home["contacts"]] == [(1, "R1"), (3, "R2")]
    assert home["contacts"][1]["responder"]["availability"] == [
        {"days": [5, 6], "start": "20:00", "end": "08:00", "tz": "UTC"}
    ]
    assert home["devices"] == {}
    contacts = await ok(await client.get("/homes/H1/contacts", headers=as_operator))
    assert [c["responder"]["id"] for c in contacts] == ["R1", "R2"]

    patched = await ok(await client.patch("/homes/H1", json={"address": None}, headers=ADMIN))
    assert (patched["label"], patched["address"]) == ("Flat 1", None)
    moved = await client.patch("/residents/P1", json={"home": "H404"}, headers=ADMIN)
    assert moved.status_code == 404
    renamed = await ok(
        await client.patch("/residents/P1", json={"phone": "+86 10 1"}, headers=ADMIN)
    )
    assert (renamed["name"], renamed["phone"]) == ("Resident One", "+86 10 1")
    assert renamed["conditions"] == ["hypertension", "糖尿病", "uses a wheelchair"]  # kept
    replaced = await client.patch("/residents/P1", json={"conditions": ["dementia"]}, headers=ADMIN)
    assert (await ok(replaced))["conditions"] == ["dementia"]
    assert (await ok(await client.get("/residents/P1", headers=as_operator)))["conditions"] == [
        "dementia"
    ]
    cleared = await client.patch("/residents/P1", json={"conditions": []}, headers=ADMIN)
    assert (await ok(cleared))["conditions"] == []
    await ok(await client.delete("/residents/P2", headers=ADMIN), 204)

    refused = await client.delete("/homes/H1", headers=ADMIN)
    assert refused.status_code == 409
    assert "residents and contacts" in refused.json()["detail"]
    await ok(await client.delete("/residents/P1", headers=ADMIN), 204)
    await ok(await client.delete("/homes/H1/contacts/R1", headers=ADMIN), 204)
    await ok(await client.delete("/responders/R2", headers=ADMIN), 204)  # and its contact
    assert (await client.delete("/homes/H1/contacts/R1", headers=ADMIN)).status_code == 404
    await ok(await client.delete("/homes/H1", headers=ADMIN), 204)
    assert (await client.get("/homes/H1", headers=as_operator)).status_code == 404
    del operator


async def test_each_role_may_do_only_its_part(running: Backend, client: httpx.AsyncClient) -> None:
    people = await tokens(running, client)
    await make_home(client)
    writes = [
        ("POST", "/homes", {"id": "H2"}),
        ("PATCH", "/homes/H1", {"label": "x"}),
        ("DELETE", "/homes/H1", None),
        ("POST", "/homes/H1/residents", {"id": "P9", "name": "Nine"}),
        ("PATCH", "/residents/P9", {"name": "x"}),
        ("DELETE", "/residents/P9", None),
        ("POST", "/responders", {"id": "R9", "name": "Nine", "kind": "family"}),
        ("PATCH", "/responders/R9", {"name": "x"}),
        ("DELETE", "/responders/R9", None),
        ("PUT", "/homes/H1/contacts/R9", {"rank": 1}),
        ("DELETE", "/homes/H1/contacts/R9", None),
    ]
    reads = ["/homes", "/homes/H1", "/homes/H1/contacts", "/responders", "/residents/P9"]
    for role in (Role.OPERATOR, Role.SUPERVISOR):
        _, headers = people[role]
        for method, path, body in writes:
            response = await client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (role, method, path)
            assert response.json()["detail"] == "this needs the admin role"
        for path in reads:
            assert (await client.get(path, headers=headers)).status_code in (200, 404), path
    assert (await client.get("/audit", headers=people[Role.OPERATOR][1])).status_code == 403
    await ok(await client.get("/audit", headers=people[Role.SUPERVISOR][1]))
    for method, path, body in writes:
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (method, path)
    for path in [*reads, "/audit"]:
        assert (await client.get(path)).status_code == 401, path
    # An admin who logged in may do it all.
    await ok(await client.post("/homes", json={"id": "H2"}, headers=people[Role.ADMIN][1]), 201)


async def test_reading_personal_data_is_audited_without_the_data(
    running: Backend, client: httpx.AsyncClient
) -> None:
    people = await tokens(running, client)
    operator, as_operator = people[Role.OPERATOR]
    _, as_supervisor = people[Role.SUPERVISOR]
    await make_home(client, address="1 Private Road")
    resident = {
        "id": "P1",
        "name": "Ada Private",
        "phone": "+86 10 5555 0199",
        "notes": "diabetic",
        "conditions": ["Parkinson's disease"],
    }
    await ok(await client.post("/homes/H1/residents", json=resident, headers=ADMIN), 201)

    async def audit(**query: str) -> dict[str, Any]:
        page: dict[str, Any] = await ok(
            await client.get("/audit", params=query, headers=as_supervisor)
        )
        return page

    assert (await audit(subject_type="resident", subject_id="P1"))["total"] == 1
    await ok(await client.get("/homes/H1", headers=as_operator))
    await ok(await client.get("/residents/P1", headers=as_operator))
    reads = await audit(subject_type="resident", subject_id="P1")
    assert reads["total"] == 3  # the admin's create, and two reads
    newest, older, created = reads["items"]
    assert (newest["actor"], newest["action"]) == (operator, "read_personal_data")
    assert newest["detail"] == {"via": "resident", "home": "H1"}
    assert (older["actor"], older["detail"]) == (operator, {"via": "home", "home": "H1"})
    assert (created["actor"], created["action"]) == ("api-token", "create_resident")
    assert created["detail"] == {"fields": ["conditions", "id", "name", "notes", "phone"]}
    home_reads = await audit(subject_type="home", subject_id="H1")
    assert [i["action"] for i in home_reads["items"]] == ["read_personal_data", "create_home"]
    await ok(await client.patch("/residents/P1", json={"conditions": ["stroke"]}, headers=ADMIN))
    changed = (await audit(subject_type="resident", subject_id="P1"))["items"][0]
    assert (changed["action"], changed["detail"]) == ("update_resident", {"fields": ["conditions"]})
    everything = await client.get("/audit", params={"limit": 1000}, headers=as_supervisor)
    for secret in ("Ada", "Private", "5555", "diabetic", "Parkinson", "stroke"):
        assert secret not in everything.text
    # A list of homes carries no personal data, and reading it is not audited.
    listed = await ok(await client.get("/homes", headers=as_operator))
    assert "address" not in listed["items"][0]
    assert (await audit(subject_id="H1"))["total"] == 2


async def test_lists_come_in_pages(running: Backend, client: httpx.AsyncClient) -> None:
    # Retained gateway statuses left on the session broker by other tests add homes of their
    # own ("H..."); these ids sort before them.
    for i in range(5):
        await make_home(client, f"0000{i}", label=f"Flat {i}", address="secret")
    for kind in ("family", "family", "care_provider"):
        body = {"id": f"R{uuid.uuid4().hex[:6]}", "name": "Someone", "kind": kind}
        await ok(await client.post("/responders", json=body, headers=ADMIN), 201)
    first = await ok(await client.get("/homes", params={"limit": 2}, headers=ADMIN))
    assert (first["limit"], first["offset"]) == (2, 0)
    assert first["total"] >= 5
    assert [h["id"] for h in first["items"]] == ["00000", "00001"]
    assert set(first["items"][0]) == {
        "id",
        "label",
        "community",
        "first_seen",
        "gateway_online",
        "last_status_at",
    }
    fifth = await ok(await client.get("/homes", params={"limit": 1, "offset": 4}, headers=ADMIN))
    assert [h["id"] for h in fifth["items"]] == ["00004"]
    beyond = await ok(await client.get("/homes", params={"offset": 100_000}, headers=ADMIN))
    assert beyond["items"] == []
    assert beyond["total"] >= 5
    family = await ok(await client.get("/responders", params={"kind": "family"}, headers=ADMIN))
    assert family["total"] == 2
    assert {r["kind"] for r in family["items"]} == {"family"}
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"kind": "nobody"}):
        response = await client.get("/responders", params=bad, headers=ADMIN)
        assert response.status_code == 422, bad
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_home_shows_device_health_from_its_gateway_status(
    running: Backend, client: httpx.AsyncClient
) -> None:
    status = {"online": True, "devices": {"door-front": {"online": True, "battery": 80}}}
    async with running.store.transaction() as tx:
        await tx.update_home_status("H7", online=True, status=status, now=NOW)
    home = await ok(await client.get("/homes/H7", headers=ADMIN))
    assert home["gateway_online"] is True
    assert home["devices"] == {"door-front": {"online": True, "battery": 80}}
    assert (home["label"], home["residents"], home["contacts"]) == (None, [], [])
    # A home its gateway made known can be labelled, but not created again.
    assert (await client.post("/homes", json={"id": "H7"}, headers=ADMIN)).status_code == 409
    await ok(await client.patch("/homes/H7", json={"label": "Flat 7"}, headers=ADMIN))


async def test_bad_bodies_are_refused_with_problem_details(
    running: Backend, client: httpx.AsyncClient
) -> None:
    await make_home(client)
    await ok(
        await client.post("/homes/H1/residents", json={"id": "P1", "name": "A"}, headers=ADMIN),
        201,
    )
    cases = [
        (
            "POST",
            "/responders",
            {"id": "R1", "name": "x", "kind": "family", "channels": [{"type": "fax"}]},
        ),
        ("POST", "/responders", {"id": "R1", "name": "x", "kind": "family", "pager": "1"}),
        ("POST", "/responders", {"id": "R/1", "name": "x", "kind": "family"}),
        ("PATCH", "/residents/P1", {"name": None}),
        ("PATCH", "/residents/P1", {"conditions": None}),
        ("PATCH", "/residents/P1", {"conditions": "dementia"}),
        ("PATCH", "/residents/P1", {"conditions": ["x" * 81]}),
        ("PATCH", "/residents/P1", {"conditions": ["a", ""]}),
        ("PATCH", "/residents/P1", {"conditions": ["a\tb"]}),
        ("PATCH", "/residents/P1", {"conditions": ["bad\u0000"]}),
        ("PATCH", "/residents/P1", {"conditions": [f"c{i}" for i in range(21)]}),
        ("POST", "/homes/H1/residents", {"id": "P2", "name": "x", "conditions": ["A", "a"]}),
        ("PATCH", "/homes/H1", {"label": "x" * 129}),
        ("POST", "/homes", {"id": "H 2"}),
        ("PUT", "/homes/H1/contacts/R1", {"rank": 0}),
    ]
    for method, path, body in cases:
        response = await client.request(method, path, json=body, headers=ADMIN)
        assert response.status_code == 422, (path, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_a_dispatched_responder_is_retired_not_deleted(
    running: Backend, client: httpx.AsyncClient
) -> None:
    body = {"id": "R1", "name": "Worker", "kind": "community_worker"}
    await ok(await client.post("/responders", json=body, headers=ADMIN), 201)
    alert_id = await add_alert(running.store, home="H1")
    async with running.store.transaction() as tx:
        await tx.conn.execute(
            sa.insert(dispatches).values(
                id=uuid.uuid4(),
                alert_id=alert_id,
                responder_id="R1",
                status="pending",
                created_at=NOW,
                created_by="op",
            )
        )
    refused = await client.delete("/responders/R1", headers=ADMIN)
    assert refused.status_code == 409
    assert "set active to false" in refused.json()["detail"]
    retired = await ok(await client.patch("/responders/R1", json={"active": False}, headers=ADMIN))
    assert retired["active"] is False
    inactive = await ok(await client.get("/responders", params={"active": False}, headers=ADMIN))
    assert [r["id"] for r in inactive["items"]] == ["R1"]
