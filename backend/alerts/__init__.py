"""Alerts: open one per trigger, or attach further triggers to the unresolved alert."""

from backend.alerts._decide import AlertChange, AlertDecision, decide
from backend.alerts._model import PRIORITY_OF, AlertKind, AlertStatus, Priority, Trigger
from backend.alerts._runner import apply_trigger

__all__ = [
    "PRIORITY_OF",
    "AlertChange",
    "AlertDecision",
    "AlertKind",
    "AlertStatus",
    "Priority",
    "Trigger",
    "apply_trigger",
    "decide",
]
