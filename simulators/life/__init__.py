"""Simulated lives: seeded cohorts of residents whose homes' sensors emit protocol envelopes.

A fast generator in virtual time (no broker, no sleeping) for evaluating detectors: each
resident has a routine with day-to-day variation and incidents whose ground truth is kept
as :class:`Incident` records.
"""

from simulators.life._cohort import SCENARIOS, Cohort, care_plan_for, generate_cohort
from simulators.life._model import ROOMS, DeviceSpec, Incident, Kit, Persona, kit_devices

__all__ = [
    "ROOMS",
    "SCENARIOS",
    "Cohort",
    "DeviceSpec",
    "Incident",
    "Kit",
    "Persona",
    "care_plan_for",
    "generate_cohort",
    "kit_devices",
]
