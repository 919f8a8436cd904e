"""The HTTP API (``/api/v1``) and its live WebSocket stream."""

from backend.api._app import API_PREFIX, create_app
from backend.api._deps import ApiContext
from backend.api._problems import PROBLEM_JSON, Problem
from backend.api._schemas import (
    AlertDetailOut,
    AlertOut,
    AlertPage,
    EventOut,
    EventPage,
    HealthOut,
    StreamAlertMessage,
    TransitionOut,
)

__all__ = [
    "API_PREFIX",
    "PROBLEM_JSON",
    "AlertDetailOut",
    "AlertOut",
    "AlertPage",
    "ApiContext",
    "EventOut",
    "EventPage",
    "HealthOut",
    "Problem",
    "StreamAlertMessage",
    "TransitionOut",
    "create_app",
]
