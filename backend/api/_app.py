"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from backend.api._deps import ApiContext
from backend.api._problems import install_problem_handlers
from backend.api._routes import open_router, protected_router, stream_router
from backend.api._visits import visits_router
from backend.hub import Hub
from backend.ingest import Detection
from backend.storage import Store

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"


def create_app(
    store: Store,
    hub: Hub,
    token: str,
    *,
    mqtt_connected: Callable[[], bool] | None = None,
    detection: Detection | None = None,
) -> FastAPI:
    """Build the API app over ``store`` and ``hub``, guarded by ``token``."""
    if not token:
        raise ValueError("the API needs a non-empty token")
    app = FastAPI(
        title="homecare backend",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = ApiContext(
        store=store, hub=hub, token=token, mqtt_connected=mqtt_connected, detection=detection
    )
    install_problem_handlers(app)
    app.include_router(open_router, prefix=API_PREFIX)
    app.include_router(protected_router, prefix=API_PREFIX)
    app.include_router(visits_router, prefix=API_PREFIX)
    app.include_router(stream_router, prefix=API_PREFIX)
    return app
