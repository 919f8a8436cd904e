"""Why an alert command was refused."""

from __future__ import annotations

from typing import Any

from backend._errors import BackendError

__all__ = [
    "AlertNotFoundError",
    "ConcurrentChangeError",
    "DispatchNotFoundError",
    "IllegalTransitionError",
    "InvalidCommandError",
    "LifecycleError",
]


class LifecycleError(BackendError):
    """Root of the errors of the alert lifecycle."""


class IllegalTransitionError(LifecycleError):
    """The command does not apply to the alert (or dispatch) in its current state."""

    def __init__(self, detail: str, **facts: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        #: What the caller may want to show: ``alert_status``, ``acknowledged_by``, ...
        self.facts = facts


class InvalidCommandError(LifecycleError):
    """The command names something that cannot be used (an unknown or inactive responder)."""


class AlertNotFoundError(LifecycleError):
    """No alert has this id."""


class DispatchNotFoundError(LifecycleError):
    """No dispatch has this id."""


class ConcurrentChangeError(LifecycleError):
    """The alert kept changing under the command; retrying may succeed (retryable)."""
