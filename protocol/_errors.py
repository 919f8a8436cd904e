"""Exceptions raised by the wire protocol."""

from __future__ import annotations

__all__ = ["EnvelopeError", "ProtocolError", "TopicError"]


class ProtocolError(Exception):
    """Root of every error this package raises."""


class EnvelopeError(ProtocolError):
    """A payload is not a valid event envelope; the reason is safe to log."""

    def __init__(self, reason: str, *, index: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index


class TopicError(ProtocolError):
    """A topic is not one of ours, or carries an invalid home id."""
