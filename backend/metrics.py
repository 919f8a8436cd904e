"""Prometheus metrics that any part of the backend may count; none carries resident data.

Labels hold bounded vocabularies only (priority, kind, channel, status, component), never a
home, resident, responder or user id: that keeps the series few and the scrape free of
personal data. Counters read at scrape time (ingest, alerts, notifications) are built by
``backend/api/_metrics.py``; this module holds what code increments as it goes.
"""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv6Address, ip_address
from typing import Annotated

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork

__all__ = [
    "ACKNOWLEDGE_SECONDS",
    "DB_ERRORS",
    "REGISTRY",
    "MetricsSettings",
    "count_db_error",
    "observe_acknowledged",
]

#: The registry ``/metrics`` serves, beside what it reads at scrape time.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

#: Buckets around the telecare targets (60 s and 180 s).
ACKNOWLEDGE_SECONDS = Histogram(
    "homecare_alert_acknowledge_seconds",
    "Time from an alert opening to its first acknowledgement",
    ["priority"],
    buckets=(5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
DB_ERRORS = Counter(
    "homecare_db_errors",
    "Database operations that failed, by the component that ran them",
    ["component"],
    registry=REGISTRY,
)


def observe_acknowledged(priority: int, opened_at: datetime, acknowledged_at: datetime) -> None:
    """Record how long an alert waited for its acknowledgement."""
    seconds = max((acknowledged_at - opened_at).total_seconds(), 0.0)
    ACKNOWLEDGE_SECONDS.labels(priority=str(priority)).observe(seconds)


def count_db_error(component: str) -> None:
    """Count one failed database operation of ``component`` (``api``, ``lifecycle``, ...)."""
    DB_ERRORS.labels(component=component).inc()


class MetricsSettings(BaseModel):
    """``[metrics]``: who may scrape ``/metrics`` without a token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Client addresses or networks (``"10.0.4.0/24"``, ``"::1"``) let in without a token;
    #: empty (the default), only a valid token is.
    scrape_allow: Annotated[list[IPvAnyNetwork], Field(max_length=256)] = Field(
        default_factory=list
    )

    def allows(self, host: str | None) -> bool:
        """Tell whether a client at address ``host`` may scrape without a token."""
        if host is None or not self.scrape_allow:
            return False
        try:
            address = ip_address(host)
        except ValueError:
            return False
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.scrape_allow)
