"""The operator console: static HTML, CSS and ES modules served at ``/console/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["CONSOLE_PATH", "STATIC_DIR", "mount_console"]

#: The files the browser loads; no build step makes them.
STATIC_DIR = Path(__file__).parent / "static"
CONSOLE_PATH = "/console"


def mount_console(app: FastAPI) -> None:
    """Serve the console at ``/console/`` and send ``/`` there."""
    app.mount(CONSOLE_PATH, StaticFiles(directory=STATIC_DIR, html=True), name="console")

    @app.get("/", include_in_schema=False)
    async def _root() -> RedirectResponse:
        return RedirectResponse(f"{CONSOLE_PATH}/")
