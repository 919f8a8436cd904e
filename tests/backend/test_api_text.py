"""Text holding U+0000 is refused with 422 before it reaches a route or the database."""

from __future__ import annotations

import httpx

from backend.api._text import _body_has_nul
from tests.backend.conftest import TOKEN, bearer, home_id

AUTH = bearer(TOKEN)


async def test_a_nul_in_a_json_body_is_refused(api: httpx.AsyncClient) -> None:
    home = home_id()
    response = await api.post(
        f"/homes/{home}/visits",
        content=b'{"carer": "nurse\\u0000", "note": null}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]
    listed = await api.get(f"/homes/{home}/visits", headers=AUTH)
    assert listed.status_code == 200
    assert listed.json()["items"] == []


async def test_an_escaped_backslash_before_u0000_is_ordinary_text(api: httpx.AsyncClient) -> None:
    home = home_id()
    response = await api.post(
        f"/homes/{home}/visits", json={"carer": "x", "note": "\\u0000"}, headers=AUTH
    )
    assert response.status_code == 201, response.text
    assert response.json()["note"] == "\\u0000"


async def test_a_nul_in_the_query_or_a_login_form_is_refused(api: httpx.AsyncClient) -> None:
    response = await api.get("/alerts", params={"home": "H1\x00"}, headers=AUTH)
    assert response.status_code == 422
    response = await api.post("/auth/token", data={"username": "a\x00", "password": "b"})
    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]


async def test_without_valid_credentials_a_nul_gets_the_routes_401(api: httpx.AsyncClient) -> None:
    home = home_id()
    body = b'{"carer": "nurse\\u0000", "note": null}'
    for headers in ({}, bearer("not-the-token"), {"Authorization": "Basic eDp5"}):
        response = await api.post(
            f"/homes/{home}/visits",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 401, response.text
        response = await api.get("/alerts", params={"home": "H1\x00"}, headers=headers)
        assert response.status_code == 401, response.text


def test_body_scan_tells_text_from_escapes() -> None:
    assert _body_has_nul(b'{"a": ["\\u0000"]}', b"application/json")
    assert _body_has_nul(b'{"\\u0000": 1}', b"application/json")
    assert not _body_has_nul(b'{"a": "\\\\u0000"}', b"application/json")
    assert not _body_has_nul(b'{"a": "100%00"}', b"application/json")
    assert _body_has_nul(b"a=1%00", b"application/x-www-form-urlencoded")
    assert _body_has_nul(b"raw\x00", b"text/plain")
