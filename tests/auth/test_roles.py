"""Role checks of the API dependencies, in process over a real store."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from backend.api import API_PREFIX, create_app
from backend.api._deps import AdminDep, OperatorDep, Principal, SupervisorDep
from backend.auth import Authenticator, Role, Users
from backend.hub import Hub
from backend.storage import Store
from tests.backend.conftest import SECRET_KEY, TOKEN, bearer, login

pytestmark = pytest.mark.timeout(90)

PASSWORD = "zebra-quilt-47-ochre"


@pytest.fixture
async def app(store: Store) -> FastAPI:
    app = create_app(store, Hub(), TOKEN, auth=Authenticator(Users(store), SECRET_KEY))

    @app.get("/probe/operator")
    async def for_operators(who: OperatorDep) -> dict[str, str]:
        return {"who": who.username}

    @app.get("/probe/supervisor")
    async def for_supervisors(who: SupervisorDep) -> dict[str, str]:
        return {"who": who.username}

    @app.get("/probe/admin")
    async def for_admins(who: AdminDep) -> dict[str, str]:
        return {"who": who.username}

    users = Users(store)
    for role in Role:
        await users.create("test", username=role.value, password=PASSWORD, role=role)
    return app


async def test_each_role_reaches_its_routes_and_no_further(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url=f"http://api{API_PREFIX}") as api,
        httpx.AsyncClient(transport=transport, base_url="http://api") as client,
    ):
        tokens = {role: bearer(await login(api, role.value, PASSWORD)) for role in Role}
        await _check_roles(client, tokens)


async def _check_roles(client: httpx.AsyncClient, tokens: dict[Role, dict[str, str]]) -> None:
    for holder in Role:
        for needed in Role:
            response = await client.get(f"/probe/{needed.value}", headers=tokens[holder])
            allowed = Principal(holder.value, holder).may(needed)
            if allowed:
                assert response.status_code == 200, (holder, needed)
                assert response.json() == {"who": holder.value}
            else:
                assert response.status_code == 403, (holder, needed)
                assert response.json()["detail"] == f"this needs the {needed.value} role"
    # The service token is an admin; no token at all is nobody.
    assert (await client.get("/probe/admin", headers=bearer(TOKEN))).json() == {"who": "api-token"}
    for needed in Role:
        assert (await client.get(f"/probe/{needed.value}")).status_code == 401


def test_the_ranks_are_ordered() -> None:
    assert [r.rank for r in Role] == [1, 2, 3]
    assert Principal("x", Role.SUPERVISOR).may(Role.OPERATOR)
    assert not Principal("x", Role.SUPERVISOR).may(Role.ADMIN)


async def test_an_app_with_accounts_only_refuses_the_absent_service_token(store: Store) -> None:
    app = create_app(store, Hub(), None, auth=Authenticator(Users(store), SECRET_KEY))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://api{API_PREFIX}") as c:
        response = await c.get("/alerts", headers=bearer(TOKEN))
    assert response.status_code == 401
    with pytest.raises(ValueError, match="service token"):
        create_app(store, Hub(), None)
