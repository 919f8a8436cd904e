"""Exceptions raised by the simulators."""

from __future__ import annotations

__all__ = ["SimulatorError"]


class SimulatorError(Exception):
    """Root of every error this package raises: a scenario that cannot be played."""
