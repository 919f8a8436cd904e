"""``GET /metrics``: Prometheus text format, behind a token or the scrape allow-list."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from backend._errors import StorageError
from backend.alerts import AlertChange
from backend.api._deps import ContextDep, _bearer, identify
from backend.hub import Hub
from backend.ingest import IngestStats
from backend.metrics import REGISTRY, MetricsSettings, count_db_error, observe_acknowledged
from backend.reports import Counts, load_counts

__all__ = [
    "METRICS_CONTENT_TYPE",
    "MetricsState",
    "install_metrics",
    "metrics_router",
    "observe_acknowledgement",
]

_log = logging.getLogger(__name__)

#: The classic text format, which every Prometheus version scrapes.
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

metrics_router = APIRouter(tags=["metrics"])

_INGEST_HELP = {
    "received": "MQTT messages taken from the broker",
    "events": "Event envelopes decoded from those messages",
    "stored": "Events stored for the first time",
    "duplicates": "Events already stored (a redelivery or a gateway's retry), skipped",
    "dead_lettered": "Inputs rejected and kept as dead letters",
    "statuses": "Gateway status messages stored",
    "alerts_opened": "Alerts opened by ingest and by detector deadlines",
    "alerts_attached": "Triggers attached to an alert already unresolved",
    "alerts_cleared": "Maintenance alerts cleared automatically",
    "storage_failures": "Ingest transactions the database refused",
    "internal_errors": "Ingest batches that failed unexpectedly",
    "batches": "Ingest batches handled",
}


@dataclass(frozen=True, slots=True)
class MetricsState:
    """What ``/metrics`` reads besides the store and hub: set on ``app.state.metrics``."""

    settings: MetricsSettings
    ingest: IngestStats | None = None


def install_metrics(
    app: FastAPI,
    hub: Hub,
    *,
    settings: MetricsSettings | None = None,
    ingest: IngestStats | None = None,
) -> None:
    """Serve ``/metrics`` on ``app``; time acknowledgements announced on ``hub``."""
    app.state.metrics = MetricsState(settings=settings or MetricsSettings(), ingest=ingest)
    app.include_router(metrics_router)
    hub.add_listener(observe_acknowledgement)


def observe_acknowledgement(change: AlertChange) -> None:
    """Time an acknowledgement announced on the hub (explicit, or by a first dispatch)."""
    alert = change.alert
    # Acknowledged in this very change: a later dispatch keeps the earlier time.
    if (
        change.change in ("acknowledged", "dispatched")
        and alert.acknowledged_at is not None
        and alert.acknowledged_at == alert.updated_at
    ):
        observe_acknowledged(alert.priority, alert.opened_at, alert.acknowledged_at)


class _Scrape(Collector):
    """The values read at scrape time: ingest counters, the hub, database totals."""

    def __init__(
        self,
        ingest: IngestStats | None,
        hub: Hub,
        counts: Counts | None,
        mqtt_connected: Callable[[], bool] | None,
    ) -> None:
        self._ingest = ingest
        self._hub = hub
        self._counts = counts
        self._mqtt_connected = mqtt_connected

    def collect(self) -> Iterator[Metric]:
        if self._ingest is not None:
            for field in dataclasses.fields(self._ingest):
                value = getattr(self._ingest, field.name)
                if isinstance(value, int):
                    help_ = _INGEST_HELP.get(field.name, f"Ingest counter {field.name}")
                    yield CounterMetricFamily(f"homecare_ingest_{field.name}", help_, value=value)
        yield GaugeMetricFamily(
            "homecare_stream_subscribers",
            "Live alert-stream subscriptions (WebSocket clients and in-process readers)",
            value=self._hub.subscriber_count,
        )
        yield CounterMetricFamily(
            "homecare_stream_dropped_subscribers",
            "Stream subscribers dropped for falling too far behind",
            value=self._hub.dropped_subscribers,
        )
        if self._mqtt_connected is not None:
            yield GaugeMetricFamily(
                "homecare_mqtt_connected",
                "1 while the backend's broker session is connected",
                value=int(self._mqtt_connected()),
            )
        yield GaugeMetricFamily(
            "homecare_database_up",
            "1 if the database answered this scrape",
            value=int(self._counts is not None),
        )
        if self._counts is not None:
            yield from _database_metrics(self._counts)


def _summed(
    counts: dict[tuple[str, int, str], int], key: Callable[[str, int, str], tuple[str, str] | None]
) -> list[tuple[tuple[str, str], int]]:
    sums: dict[tuple[str, str], int] = {}
    for (kind, priority, status), n in counts.items():
        labels = key(kind, priority, status)
        if labels is not None:
            sums[labels] = sums.get(labels, 0) + n
    return sorted(sums.items())


def _database_metrics(counts: Counts) -> Iterator[Metric]:
    opened = CounterMetricFamily(
        "homecare_alerts_opened",
        "Alerts ever opened, from the database, by kind and priority",
        labels=["kind", "priority"],
    )
    for labels, n in _summed(counts.alerts, lambda kind, priority, _s: (kind, str(priority))):
        opened.add_metric(list(labels), n)
    yield opened
    unresolved = GaugeMetricFamily(
        "homecare_open_alerts",
        "Alerts not yet resolved, by priority and status",
        labels=["priority", "status"],
    )
    for labels, n in _summed(
        counts.alerts,
        lambda _k, priority, status: (str(priority), status) if status != "resolved" else None,
    ):
        unresolved.add_metric(list(labels), n)
    yield unresolved
    notes = GaugeMetricFamily(
        "homecare_notifications",
        "Notification records by channel and current status",
        labels=["channel", "status"],
    )
    for (channel, status), n in sorted(counts.notifications.items()):
        notes.add_metric([channel, status], n)
    yield notes


async def _authorize(
    request: Request,
    context: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    state: MetricsState = request.app.state.metrics
    if state.settings.allows(request.client.host if request.client is not None else None):
        return
    await identify(context, credentials.credentials if credentials is not None else None)


@metrics_router.get(
    "/metrics",
    dependencies=[Depends(_authorize)],
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request, context: ContextDep) -> Response:
    """Serve the backend's metrics in the Prometheus text format; they hold no resident data."""
    state: MetricsState = request.app.state.metrics
    try:
        counts: Counts | None = await load_counts(context.store)
    except StorageError as err:
        count_db_error("metrics")
        _log.warning("metrics could not read the database: %s", err)
        counts = None
    scrape = CollectorRegistry()
    scrape.register(_Scrape(state.ingest, context.hub, counts, context.mqtt_connected))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=METRICS_CONTENT_TYPE)
