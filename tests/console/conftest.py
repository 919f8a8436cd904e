"""A running backend with a simulated home and gateway, and Debian's Chromium driven by
Playwright (the system browser: nothing is downloaded)."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    WebSocketRoute,
    async_playwright,
)

from backend import Backend
from backend.auth import Role
from gateway.app import Gateway
from simulators.home import SimHome
from tests.alerts._directory import add_roster
from tests.backend.conftest import api_client, backend_config, bearer, login
from tests.brokers import Broker

CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags Chromium tries hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
#: Where a run with this variable set also copies the screenshots the docs show.
SCREENSHOTS_ENV = "HOMECARE_SCREENSHOTS_DIR"
#: The browser's own time zone: far from the resident's (the care plan's default,
#: Asia/Shanghai), so that a time shown in the wrong zone is seen.
BROWSER_ZONE = "America/Sao_Paulo"
RESIDENT_ZONE = "Asia/Shanghai"
COMMUNITY = "漕河泾街道"
#: The resident's health conditions, shown as tags in the alert detail.
CONDITIONS = ["高血压", "轻度认知障碍", "uses a walking frame"]
ROSTER = (("F1", "family", 1), ("C1", "community_worker", 1))
#: Responders told over MQTT, which the test broker accepts: their notifications succeed.
CHANNELS = [{"type": "mqtt"}]


@dataclass
class Console:
    """The system under test: backend, home and gateway, and the operators' logins."""

    backend: Backend
    home: SimHome
    api: httpx.AsyncClient
    browser: Browser
    users: dict[str, str]
    passwords: dict[str, str]
    #: Browser console errors and uncaught exceptions, per page.
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.backend.api_port}/console/"

    async def page(self, stream: Callable[[WebSocketRoute], Any] | None = None) -> Page:
        """A page in a browser context of its own (its own session storage); ``stream``, if
        given, handles each connection the page opens to the alert stream."""
        context = await self.browser.new_context(
            viewport={"width": 1400, "height": 900}, timezone_id=BROWSER_ZONE
        )
        page = await context.new_page()
        if stream is not None:
            await page.route_web_socket(re.compile(r".*/api/v1/stream$"), stream)
        page.set_default_timeout(10_000)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.errors.append(f"{message.text} ({message.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        await page.goto(self.url)
        await page.wait_for_selector("body[data-ready=true]")
        return page

    async def sign_in(self, page: Page, who: str) -> None:
        await page.fill("#username", self.users[who])
        await page.fill("#password", self.passwords[who])
        await page.click("#login-form button[type=submit]")
        await page.wait_for_selector("#conn[data-state=up]")


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium; CI must have it, elsewhere its tests are skipped without it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is required in CI (scripts/setup installs it)")
        pytest.skip("chromium is not installed")
    return CHROMIUM


@pytest.fixture
async def console(broker: Broker, tmp_path: Path, chromium: str) -> AsyncIterator[Console]:
    home_id = f"C{uuid.uuid4().hex[:10]}"
    config = backend_config(broker, f"sqlite+aiosqlite:///{tmp_path / 'backend.db'}")
    async with (
        Backend(config) as backend,
        SimHome(
            home_id, z2m_host=broker.host, z2m_port=broker.port, base_topic=f"z2m/{home_id}"
        ) as home,
        Gateway(home.gateway_config(broker.host, broker.port, tmp_path / "gw")) as gateway,
        api_client(backend) as api,
        async_playwright() as playwright,
    ):
        await gateway.wait_ready()
        await add_roster(backend.store, home_id, ROSTER, channels=CHANNELS)
        users: dict[str, str] = {}
        passwords: dict[str, str] = {}
        for who, role in (
            ("operator", Role.OPERATOR),
            ("operator2", Role.OPERATOR),
            ("supervisor", Role.SUPERVISOR),
            ("admin", Role.ADMIN),
        ):
            users[who] = f"{who}-{uuid.uuid4().hex[:6]}"
            passwords[who] = f"Pw-{uuid.uuid4().hex}"
            await backend.users.create(
                "test", username=users[who], password=passwords[who], role=role
            )
        admin = bearer(await login(api, users["admin"], passwords["admin"]))
        patched = await api.patch(
            f"/homes/{home_id}",
            json={"address": "上海市徐汇区漕溪北路 88 号 3-502", "community": COMMUNITY},
            headers=admin,
        )
        assert patched.status_code == 200, patched.text
        resident = await api.post(
            f"/homes/{home_id}/residents",
            json={
                "id": f"R{home_id}",
                "name": "王秀英",
                "birth_year": 1941,
                "phone": "+86 21 5555 0101",
                "notes": "独居",
                "conditions": CONDITIONS,
            },
            headers=admin,
        )
        assert resident.status_code == 201, resident.text
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield Console(backend, home, api, browser, users, passwords)
        finally:
            await browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder the screenshots go to (``artifacts/console/``, not versioned)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def publish_screenshot(shot: Path, name: str) -> None:
    """Copy ``shot`` as ``name`` into ``$HOMECARE_SCREENSHOTS_DIR`` (for example docs/img)."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(folder) / name)
