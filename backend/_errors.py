"""Exceptions raised by the backend."""

from __future__ import annotations

__all__ = ["BackendError", "StorageError"]


class BackendError(Exception):
    """Root of every error this package raises."""


class StorageError(BackendError):
    """The database failed or could not be reached (retryable)."""
