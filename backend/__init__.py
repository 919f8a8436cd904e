"""homecare backend: ingest, detectors, alerts, storage and the API."""

from backend._errors import BackendError, StorageError
from backend.app import Backend, run_backend
from backend.config import BackendConfig, load_backend_config
from backend.hub import Hub, Subscription
from backend.ingest import IngestStats

__all__ = [
    "Backend",
    "BackendConfig",
    "BackendError",
    "Hub",
    "IngestStats",
    "StorageError",
    "Subscription",
    "load_backend_config",
    "run_backend",
]
