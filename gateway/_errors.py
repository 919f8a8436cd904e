"""Exceptions raised by the gateway."""

from __future__ import annotations

__all__ = ["GatewayError", "InvalidReadingError", "StoreError"]


class GatewayError(Exception):
    """Root of every error this package raises."""


class StoreError(GatewayError):
    """The local SQLite store failed (disk full, I/O error); retryable after operator action."""


class InvalidReadingError(GatewayError):
    """A reading cannot become a valid envelope (permanent; dead-letter it)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"reading {index}: {reason}")
        self.index = index
        self.reason = reason
