"""Ingest: MQTT events and status into storage, detectors and alerts."""

from backend.ingest._commit import Outcome, commit_plan
from backend.ingest._detection import Detection, DetectionBatch, Scheduler
from backend.ingest._gc import tune_garbage_collector
from backend.ingest._plan import Plan, StatusUpdate, plan_batch
from backend.ingest._runner import SUBSCRIPTIONS, Ingest, IngestStats

__all__ = [
    "SUBSCRIPTIONS",
    "Detection",
    "DetectionBatch",
    "Ingest",
    "IngestStats",
    "Outcome",
    "Plan",
    "Scheduler",
    "StatusUpdate",
    "commit_plan",
    "plan_batch",
    "tune_garbage_collector",
]
