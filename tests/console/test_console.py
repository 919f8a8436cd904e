"""The operator console in Debian's headless Chromium: sign in, see an SOS arrive live,
acknowledge, dispatch and resolve it, record a care visit, watch a second operator's screen
follow, see the responders, device health and SLA boards, switch the language, and come back
from an expired session without losing the action."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, Route, WebSocketRoute, expect

from tests.backend.conftest import bearer, login
from tests.console.conftest import (
    COMMUNITY,
    CONDITIONS,
    RESIDENT_ZONE,
    Console,
    publish_screenshot,
)

pytestmark = [pytest.mark.broker, pytest.mark.e2e, pytest.mark.timeout(60)]

QUEUE_ROWS = "#queue tbody tr"


async def _alert_row(page: Page, status: str) -> str:
    """Wait for the queue's one alert to show ``status``; return its id."""
    row = page.locator(f"{QUEUE_ROWS}[data-status={status}]")
    await expect(row).to_have_count(1)
    alert_id = await row.get_attribute("data-id")
    assert alert_id
    return alert_id


async def test_an_sos_is_handled_from_queue_to_resolution_while_a_second_operator_watches(
    console: Console, artifacts: Path
) -> None:
    first, second = await console.page(), await console.page()
    # Chinese is the default.
    await expect(first.locator("#login-form h1")).to_have_text("登录")
    await console.sign_in(first, "operator")
    await console.sign_in(second, "operator2")
    await expect(first.locator("#queue-empty")).to_be_visible()
    # An operator may not escalate: the button is not offered.
    await expect(first.locator("#act-escalate")).to_be_hidden()

    pressed = time.monotonic()
    await console.home.press_sos()
    row = first.locator(f"{QUEUE_ROWS}[data-status=open]")
    await expect(row).to_have_count(1, timeout=2_000)
    assert time.monotonic() - pressed < 2.0
    await expect(second.locator(f"{QUEUE_ROWS}[data-status=open]")).to_have_count(1, timeout=2_000)
    # A new priority-1 alert flashes and sounds.
    await expect(row).to_have_class("p1 flash")
    assert await first.evaluate("document.body.dataset.cues") == "1"
    await expect(row.locator("td").nth(1)).to_have_text("紧急呼叫")
    await expect(row.locator("td.age")).to_have_class("age age-ok")
    await first.screenshot(path=artifacts / "queue.png")

    await row.click()
    detail = first.locator("#detail[data-status=open]")
    await expect(detail).to_be_visible()
    await expect(first.locator("#residents")).to_contain_text("王秀英")
    await expect(first.locator("#residents a[href='tel:+862155550101']")).to_be_visible()
    conditions = first.locator("#residents .conditions")
    await expect(conditions).to_contain_text("健康状况")
    await expect(conditions.locator("li.tag")).to_have_text(CONDITIONS)
    await expect(first.locator("#address")).to_contain_text("漕溪北路")
    await expect(first.locator("#contacts li")).to_have_count(2)
    # The SOS press is on the rooms chart of the last 24 h, in red.
    await expect(first.locator("#rooms-chart rect.event.alarm").first).to_be_visible()

    await first.keyboard.press("a")
    alert_id = await _alert_row(second, "acknowledged")
    await expect(second.locator(f"{QUEUE_ROWS} td").nth(6)).to_have_text(console.users["operator"])

    await first.keyboard.press("d")
    await expect(first.locator("#dispatch-form")).to_be_visible()
    await first.select_option("#dispatch-responder", "C1")
    await first.click("#dispatch-form button[type=submit]")
    await _alert_row(second, "dispatched")
    await expect(first.locator("#dispatches li")).to_contain_text("Responder C1")
    await expect(first.locator("#timeline li")).to_have_count(3)
    await expect(first.locator("#timeline li").last).to_contain_text(console.users["operator"])
    await expect(first.locator("#notifications li").first).to_be_visible()
    await expect(first.locator(f"{QUEUE_ROWS}.flash")).to_have_count(0)  # the cue ends

    # Times in the detail are the resident's (the care plan's zone), not the browser's.
    token = await login(console.api, console.users["operator"], console.passwords["operator"])
    doc = (await console.api.get(f"/alerts/{alert_id}", headers=bearer(token))).json()
    opened = datetime.fromisoformat(doc["opened_at"]).astimezone(ZoneInfo(RESIDENT_ZONE))
    await expect(first.locator(f"#detail[data-tz='{RESIDENT_ZONE}']")).to_be_visible()
    await expect(first.locator("#detail-state")).to_contain_text(opened.strftime("%H:%M:%S"))
    await expect(first.locator("#detail-tz")).to_contain_text(RESIDENT_ZONE)

    # A care visit, recorded from the detail with `v`.
    await first.keyboard.press("v")
    await expect(first.locator("#visit-carer")).to_have_value(console.users["operator"])
    await first.fill("#visit-note", "送药上门")
    await first.click("#visit-form button[type=submit]")
    visit = first.locator("#visits li[data-open=true]")
    await expect(visit).to_contain_text("送药上门")
    await expect(visit).to_contain_text(console.users["operator"])
    visits = await console.api.get(f"/homes/{console.home.home_id}/visits", headers=bearer(token))
    assert [(v["carer"], v["in_progress"]) for v in visits.json()["items"]] == [
        (console.users["operator"], True)
    ]
    await first.screenshot(path=artifacts / "detail.png")

    # The responders board: C1 accepted, so is on the way to this SOS.
    (dispatch,) = doc["dispatches"]
    accepted = await console.api.post(f"/dispatches/{dispatch['id']}/accept", headers=bearer(token))
    assert accepted.status_code == 200, accepted.text
    # An operator is not offered the SLA board, which needs a supervisor.
    await expect(first.locator("#nav [data-view=responders]")).to_be_visible()
    await expect(first.locator("#nav [data-view=sla]")).to_be_hidden()
    await first.click("#nav [data-view=responders]")
    busy = first.locator("#responders-table tr[data-id=C1]")
    await expect(busy).to_have_attribute("data-busy", "true")
    await expect(busy).to_contain_text("在途")
    await expect(busy).to_contain_text("紧急呼叫")
    await expect(first.locator("#responders-table tr[data-id=F1]")).to_have_attribute(
        "data-busy", "false"
    )
    await expect(first.locator("#shortcuts")).to_be_hidden()
    await first.screenshot(path=artifacts / "responders.png")
    # The task leads back to its alert in the queue.
    await busy.locator("button.task").click()
    await expect(first.locator(f"#detail[data-id='{alert_id}']")).to_be_visible()

    await first.keyboard.press("r")
    await first.select_option("#resolve-outcome", "false_alarm")
    await first.fill("#resolve-note", "电话确认无事")
    await first.click("#resolve-form button[type=submit]")
    for page in (first, second):
        await expect(page.locator(QUEUE_ROWS)).to_have_count(0)
        await expect(page.locator("#queue-empty")).to_be_visible()

    doc = (await console.api.get(f"/alerts/{alert_id}", headers=bearer(token))).json()
    assert [(t["action"], t["actor"]) for t in doc["transitions"]] == [
        ("open", "system"),
        ("acknowledge", console.users["operator"]),
        ("dispatch", console.users["operator"]),
        ("accept", console.users["operator"]),
        ("resolve", console.users["operator"]),
    ]
    assert (doc["outcome"], doc["resolution_note"]) == ("false_alarm", "电话确认无事")
    assert console.errors == []


async def test_the_language_switch_changes_every_text_and_persists(console: Console) -> None:
    root = await console.api.get(console.url.removesuffix("console/"))
    assert (root.status_code, root.headers["location"]) == (307, "/console/")
    page = await console.page()
    await expect(page.locator("#login-form h1")).to_have_text("登录")
    await page.select_option("#lang", "en")
    await expect(page.locator("#login-form h1")).to_have_text("Sign in")
    await console.sign_in(page, "operator")
    await expect(page.locator("#queue-heading")).to_contain_text("Alert queue")
    await expect(page.locator("#shortcuts")).to_contain_text("a acknowledge")
    await expect(page.locator("#conn")).to_have_text("live")
    # The choice survives a reload; the session too.
    await page.reload()
    await page.wait_for_selector("#conn[data-state=up]")
    await expect(page.locator("#queue-heading")).to_contain_text("Alert queue")
    await page.select_option("#lang", "zh-CN")
    await expect(page.locator("#queue-heading")).to_contain_text("告警队列")
    await expect(page.locator("#conn")).to_have_text("实时")
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    assert console.errors == []


async def test_an_expired_session_signs_in_again_and_finishes_the_action(
    console: Console,
) -> None:
    page = await console.page()
    await console.sign_in(page, "operator")
    await console.home.press_sos()
    await _alert_row(page, "open")
    await page.locator(QUEUE_ROWS).click()
    await expect(page.locator("#detail[data-status=open]")).to_be_visible()

    await page.evaluate("sessionStorage.setItem('homecare.token', 'expired')")
    await page.keyboard.press("a")
    await expect(page.locator("#login-view")).to_be_visible()
    await expect(page.locator("#login-note")).to_be_visible()
    await console.sign_in(page, "operator")
    # The acknowledgement waited for the new session, and went through.
    await _alert_row(page, "acknowledged")
    await expect(page.locator("#detail[data-status=acknowledged]")).to_be_visible()
    # The refused requests (the action, and any refresh the stream asked for meanwhile) are
    # the only errors the browser reports.
    assert console.errors, "the expired token was not refused"
    assert all("401" in error for error in console.errors), console.errors


async def test_a_lost_stream_reconnects_and_refetches_what_it_missed(console: Console) -> None:
    connections: list[WebSocketRoute] = []
    lost = asyncio.Event()

    def relay(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        connections.append(route)
        if len(connections) == 1:
            server.on_message(lambda _message: lost.set())  # the first connection loses all

    page = await console.page(stream=relay)
    await console.sign_in(page, "operator")
    await console.home.press_sos()
    async with asyncio.timeout(10):
        await lost.wait()
    await expect(page.locator(QUEUE_ROWS)).to_have_count(0)

    await connections[0].close(code=1001, reason="going away")
    await _alert_row(page, "open")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    assert len(connections) == 2
    refetches = int(await page.locator("#queue").get_attribute("data-refetches") or "0")

    # A list older than what the stream has sent since must not undo it: the next reconnect's
    # list is taken at once but handed over only after a new alert came on the stream.
    release = asyncio.Event()

    async def stale(route: Route) -> None:
        response = await route.fetch()
        await release.wait()
        await route.fulfill(response=response)

    await page.route(re.compile(r".*/api/v1/alerts\?status="), stale)
    await connections[1].close(code=1001, reason="going away")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    await console.home.gas()
    await expect(page.locator(QUEUE_ROWS)).to_have_count(2)
    release.set()
    await expect(page.locator("#queue")).to_have_attribute("data-refetches", str(refetches + 1))
    await expect(page.locator(QUEUE_ROWS)).to_have_count(2)
    assert console.errors == []


async def test_a_supervisor_moves_through_the_queue_escalates_and_sees_the_boards(
    console: Console, artifacts: Path
) -> None:
    page = await console.page()
    await console.sign_in(page, "supervisor")
    await console.home.gas()
    await _alert_row(page, "open")
    await console.home.press_sos()
    await expect(page.locator(f"{QUEUE_ROWS}[data-status=open]")).to_have_count(2)
    # Both are priority 1: the older comes first.
    await expect(page.locator(f"{QUEUE_ROWS} td:nth-child(2)")).to_have_text(["燃气", "紧急呼叫"])
    title = page.locator("#detail-title")
    await page.keyboard.press("j")
    await expect(title).to_contain_text("燃气")
    await page.keyboard.press("j")
    await expect(title).to_contain_text("紧急呼叫")
    await page.keyboard.press("k")
    await expect(title).to_contain_text("燃气")
    await expect(page.locator("#act-escalate")).to_be_visible()
    levels = page.locator(f"{QUEUE_ROWS} td:nth-child(5)")
    await expect(levels).to_have_text(["0", "0"])
    await page.keyboard.press("e")
    await expect(levels).to_have_text(["1", "0"])
    await expect(page.locator("#timeline")).to_contain_text(console.users["supervisor"])
    await page.keyboard.press("a")
    await expect(page.locator(f"{QUEUE_ROWS}[data-status=acknowledged]")).to_have_count(1)

    # Device health: a home of the same community with a device offline and one low on
    # battery, and a home without a community whose gateway is offline.
    ill, silent = f"{console.home.home_id}b", f"{console.home.home_id}c"
    admin = bearer(await login(console.api, console.users["admin"], console.passwords["admin"]))
    for home, fields in ((ill, {"label": "3-503", "community": COMMUNITY}), (silent, {})):
        made = await console.api.post("/homes", json={"id": home, **fields}, headers=admin)
        assert made.status_code == 201, made.text
    devices = {
        "smoke_kitchen": {"verdict": "offline", "room": "kitchen"},
        "pir_hall": {"battery": 6, "battery_low": True, "verdict": "low battery"},
    }
    async with console.backend.store.transaction() as tx:
        now = datetime.now(UTC)
        await tx.update_home_status(
            ill, online=True, status={"online": True, "devices": devices}, now=now
        )
        await tx.update_home_status(silent, online=False, status={"online": False}, now=now)
    await page.click("#nav [data-view=devices]")
    group = page.locator(f"#devices-groups section[data-community='{COMMUNITY}']")
    await expect(group.locator(f"tr[data-home='{ill}']")).to_have_count(2)
    await expect(group.locator(f"tr[data-home='{ill}']").first).to_contain_text("电量低")
    await expect(group.locator(f"tr[data-home='{ill}']").last).to_contain_text("离线")
    nameless = page.locator("#devices-groups section[data-community='—']")
    await expect(nameless.locator(f"tr[data-home='{silent}']")).to_contain_text("网关离线")
    await page.screenshot(path=artifacts / "devices.png")

    # The SLA board charts the acknowledgement just made.
    await page.click("#nav [data-view=sla]")
    await expect(page.locator("#board-sla[data-loaded=true]")).to_be_visible()
    await expect(page.locator("#sla-histogram rect.bar")).to_have_count(10)
    await expect(page.locator("#sla-histogram rect.bar[data-count='1']")).to_have_count(1)
    # Two bars a day (within 60 s, within 180 s); both alerts opened on one day, or two.
    await expect(page.locator("#sla-days rect.bar").first).to_be_attached()
    assert await page.locator("#sla-days rect.bar").count() in (2, 4)
    await expect(page.locator("#sla-operators")).to_contain_text(console.users["supervisor"])
    await expect(page.locator("#sla-summary")).to_contain_text("告警 2 条")
    shot = artifacts / "sla.png"
    await page.screenshot(path=shot, full_page=True)
    publish_screenshot(shot, "console-sla.png")
    assert console.errors == []
