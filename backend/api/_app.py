"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from backend.alerts import Lifecycle
from backend.api._admin import admin_router
from backend.api._alert_actions import alert_actions_router
from backend.api._auth import auth_router
from backend.api._boards import boards_router
from backend.api._deps import ApiContext, identify
from backend.api._homes import homes_router
from backend.api._metrics import install_metrics
from backend.api._problems import Problem, install_problem_handlers
from backend.api._reports import reports_router
from backend.api._responders import responders_router
from backend.api._routes import open_router, protected_router, stream_router
from backend.api._text import RefuseNul
from backend.api._visits import visits_router
from backend.auth import Authenticator
from backend.console import mount_console
from backend.hub import Hub
from backend.ingest import Detection, IngestStats
from backend.metrics import MetricsSettings
from backend.storage import Store

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
#: The API routes that need no token: everything else under the prefix does.
_OPEN_PATHS = frozenset({f"{API_PREFIX}/healthz", f"{API_PREFIX}/auth/token"})


def create_app(
    store: Store,
    hub: Hub,
    token: str | None,
    *,
    mqtt_connected: Callable[[], bool] | None = None,
    detection: Detection | None = None,
    auth: Authenticator | None = None,
    lifecycle: Lifecycle | None = None,
    ingest_stats: IngestStats | None = None,
    metrics: MetricsSettings | None = None,
) -> FastAPI:
    """Build the API app over ``store`` and ``hub``, guarded by ``token`` and ``auth``'s logins."""
    if token == "" or (token is None and auth is None):
        raise ValueError("the API needs a non-empty service token, or operator accounts")
    app = FastAPI(
        title="homecare backend",
        version="1",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = ApiContext(
        store=store,
        hub=hub,
        token=token,
        mqtt_connected=mqtt_connected,
        detection=detection,
        auth=auth,
    )
    # The alert lifecycle the action routes drive. An app built without the backend's own
    # (tests, tools) gets one that runs commands but times no deadlines.
    app.state.lifecycle = lifecycle if lifecycle is not None else Lifecycle(store, hub)
    install_problem_handlers(app)
    context: ApiContext = app.state.context

    async def authenticated(authorization: str | None) -> bool:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        try:
            await identify(context, given.strip())
        except Problem:
            return False
        return True

    def protected(path: str) -> bool:
        return path.startswith(f"{API_PREFIX}/") and path not in _OPEN_PATHS

    app.add_middleware(RefuseNul, authenticated=authenticated, protected=protected)
    app.include_router(open_router, prefix=API_PREFIX)
    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(homes_router, prefix=API_PREFIX)
    app.include_router(responders_router, prefix=API_PREFIX)
    app.include_router(boards_router, prefix=API_PREFIX)
    app.include_router(admin_router, prefix=API_PREFIX)
    app.include_router(protected_router, prefix=API_PREFIX)
    app.include_router(alert_actions_router, prefix=API_PREFIX)
    app.include_router(visits_router, prefix=API_PREFIX)
    app.include_router(stream_router, prefix=API_PREFIX)
    app.include_router(reports_router, prefix=API_PREFIX)
    install_metrics(app, hub, settings=metrics, ingest=ingest_stats)
    mount_console(app)
    return app
