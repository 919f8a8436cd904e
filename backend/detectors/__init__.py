"""Detectors: pure functions of (state, event, now) that return findings and deadlines."""

from backend.detectors._codec import STATE_VERSION, state_from_doc, state_to_doc
from backend.detectors._engine import (
    HomeState,
    advance,
    deadlines,
    fire,
    gateway_status,
    next_due,
    step,
    visit,
)
from backend.detectors._immediate import (
    IMMEDIATE_RULES,
    SEAM_RULES,
    ImmediateRule,
    ImmediateState,
    detect_immediate,
)
from backend.detectors._model import CLEARABLE, Deadline, Finding, Timer

__all__ = [
    "CLEARABLE",
    "IMMEDIATE_RULES",
    "SEAM_RULES",
    "STATE_VERSION",
    "Deadline",
    "Finding",
    "HomeState",
    "ImmediateRule",
    "ImmediateState",
    "Timer",
    "advance",
    "deadlines",
    "detect_immediate",
    "fire",
    "gateway_status",
    "next_due",
    "state_from_doc",
    "state_to_doc",
    "step",
    "visit",
]
