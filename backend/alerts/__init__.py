"""Alerts: open one per trigger or attach to the unresolved one, then run its lifecycle."""

from backend.alerts._availability import (
    Availability,
    OnDutyWindow,
    is_available,
    parse_availability,
)
from backend.alerts._decide import (
    AlertChange,
    AlertDecision,
    ChangeKind,
    Followup,
    OpenHook,
    decide,
)
from backend.alerts._errors import (
    AlertNotFoundError,
    ConcurrentChangeError,
    DispatchNotFoundError,
    IllegalTransitionError,
    InvalidCommandError,
    LifecycleError,
)
from backend.alerts._ladder import (
    Candidate,
    EscalationSettings,
    Ladder,
    LadderStep,
    ResponderKind,
)
from backend.alerts._model import (
    LIVE_DISPATCH,
    PRIORITY_OF,
    AlertKind,
    AlertStatus,
    DispatchRow,
    DispatchStatus,
    NotificationRow,
    Outcome,
    Priority,
    Trigger,
)
from backend.alerts._queries import get_dispatch, list_dispatches, list_notifications
from backend.alerts._runner import Lifecycle, Result, apply_trigger

__all__ = [
    "LIVE_DISPATCH",
    "PRIORITY_OF",
    "AlertChange",
    "AlertDecision",
    "AlertKind",
    "AlertNotFoundError",
    "AlertStatus",
    "Availability",
    "Candidate",
    "ChangeKind",
    "ConcurrentChangeError",
    "DispatchNotFoundError",
    "DispatchRow",
    "DispatchStatus",
    "EscalationSettings",
    "Followup",
    "IllegalTransitionError",
    "InvalidCommandError",
    "Ladder",
    "LadderStep",
    "Lifecycle",
    "LifecycleError",
    "NotificationRow",
    "OnDutyWindow",
    "OpenHook",
    "Outcome",
    "Priority",
    "ResponderKind",
    "Result",
    "Trigger",
    "apply_trigger",
    "decide",
    "get_dispatch",
    "is_available",
    "list_dispatches",
    "list_notifications",
    "parse_availability",
]
