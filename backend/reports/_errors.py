"""Exceptions of the reports."""

from __future__ import annotations

from backend._errors import BackendError

__all__ = ["ReportError"]


class ReportError(BackendError):
    """A report was asked for with parameters it cannot honour (permanent)."""
