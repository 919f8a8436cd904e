"""Detectors: pure functions of (state, event, now) that return triggers for alerts."""

from backend.detectors._immediate import (
    IMMEDIATE_RULES,
    SEAM_RULES,
    ImmediateRule,
    ImmediateState,
    detect_immediate,
)

__all__ = ["IMMEDIATE_RULES", "SEAM_RULES", "ImmediateRule", "ImmediateState", "detect_immediate"]
