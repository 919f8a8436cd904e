"""``GET /metrics``: the token or the allow-list, the values, and no resident data."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from backend.alerts import AlertChange, ChangeKind
from backend.api import create_app
from backend.hub import Hub
from backend.ingest import IngestStats
from backend.metrics import REGISTRY, MetricsSettings, observe_acknowledged
from backend.storage import AlertRow, Store
from tests.backend.conftest import TOKEN
from tests.reports.conftest import AUTH, add_alert, add_notification, client_for, make_app


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse the exposition text: ``{(name, sorted labels): value}``."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_need_a_token(store: Store) -> None:
    async with client_for(make_app(store)) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"] == "application/problem+json"
        response = await client.get("/metrics", headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert (await client.get("/api/v1/metrics", headers=AUTH)).status_code == 404


async def test_allow_list_lets_scrapers_in_without_a_token(store: Store) -> None:
    settings = MetricsSettings.model_validate({"scrape_allow": ["10.20.0.0/16", "::1"]})
    app = make_app(store, metrics=settings)
    for address, status in (
        ("10.20.3.4", 200),
        ("::1", 200),
        ("10.21.0.1", 401),
        ("127.0.0.1", 401),
    ):
        async with client_for(app, address) as client:
            assert (await client.get("/metrics")).status_code == status, address
    # The allow-list opens /metrics only, never the API.
    async with client_for(app, "10.20.3.4") as client:
        assert (await client.get("/api/v1/alerts")).status_code == 401


def test_allow_list_refuses_bad_entries() -> None:
    with pytest.raises(ValueError, match="scrape_allow"):
        MetricsSettings.model_validate({"scrape_allow": ["10.0.0.0/33"]})
    with pytest.raises(ValueError, match="scrape_allow"):
        MetricsSettings.model_validate({"scrape_allow": ["everyone"]})
    with pytest.raises(ValueError, match="extra"):
        MetricsSettings.model_validate({"allow": ["10.0.0.1"]})
    assert not MetricsSettings().allows("127.0.0.1")
    assert MetricsSettings.model_validate({"scrape_allow": ["10.0.0.0/8"]}).allows(
        "::ffff:10.1.1.1"
    )


async def test_database_counts_carry_no_home_ids(store: Store) -> None:
    now = datetime.now(UTC)
    homes = ["Hsecret-home-1", "Hsecret-home-2", "Hsecret-home-3"]
    first = await add_alert(store, now - timedelta(minutes=5), home=homes[0])
    await add_alert(store, now, home=homes[1], ack_after=1, by="alice")
    await add_alert(store, now, home=homes[2], kind="smoke", resolve_after=3)
    await add_notification(store, first, "webhook", "delivered")
    await add_notification(store, first, "webhook", "failed")
    await add_notification(store, first, "mqtt", "delivered")
    async with client_for(make_app(store)) as client:
        text = (await client.get("/metrics", headers=AUTH)).text
    assert not any(home in text for home in homes)
    assert "alice" not in text
    values = samples(text)
    assert values["homecare_alerts_opened_total", (("kind", "sos"), ("priority", "1"))] == 2
    assert values["homecare_alerts_opened_total", (("kind", "smoke"), ("priority", "1"))] == 1
    assert values["homecare_open_alerts", (("priority", "1"), ("status", "open"))] == 1
    assert values["homecare_open_alerts", (("priority", "1"), ("status", "acknowledged"))] == 1
    assert ("homecare_open_alerts", (("priority", "1"), ("status", "resolved"))) not in values
    assert values["homecare_notifications", (("channel", "webhook"), ("status", "failed"))] == 1
    assert values["homecare_notifications", (("channel", "mqtt"), ("status", "delivered"))] == 1
    assert values["homecare_database_up", ()] == 1
    assert values["homecare_stream_subscribers", ()] == 0


async def test_ingest_counters_are_read_at_scrape_time(store: Store) -> None:
    stats = IngestStats()
    app = create_app(store, Hub(), TOKEN, ingest_stats=stats)
    stats.stored, stats.duplicates, stats.dead_lettered = 5, 2, 1
    async with client_for(app) as client:
        values = samples((await client.get("/metrics", headers=AUTH)).text)
    assert values["homecare_ingest_stored_total", ()] == 5
    assert values["homecare_ingest_duplicates_total", ()] == 2
    assert values["homecare_ingest_dead_lettered_total", ()] == 1
    assert values["homecare_ingest_internal_errors_total", ()] == 0
    assert len([k for k in values if k[0].startswith("homecare_ingest_")]) == len(fields(stats))


async def test_database_down_is_reported_not_fatal() -> None:
    # Nothing listens on port 1 of loopback: every query fails.
    broken = await Store.open("postgresql+asyncpg://postgres@127.0.0.1:1/none", migrate=False)
    before = REGISTRY.get_sample_value("homecare_db_errors_total", {"component": "metrics"}) or 0
    try:
        async with client_for(make_app(broken)) as client:
            response = await client.get("/metrics", headers=AUTH)
    finally:
        await broken.close()
    assert response.status_code == 200
    values = samples(response.text)
    assert values["homecare_database_up", ()] == 0
    assert values["homecare_db_errors_total", (("component", "metrics"),)] == before + 1
    assert "homecare_open_alerts" not in response.text


def test_acknowledge_latency_histogram() -> None:
    labels = {"priority": "1"}
    count = REGISTRY.get_sample_value("homecare_alert_acknowledge_seconds_count", labels) or 0
    fast = (
        REGISTRY.get_sample_value(
            "homecare_alert_acknowledge_seconds_bucket", {**labels, "le": "60.0"}
        )
        or 0
    )
    opened = datetime(2026, 3, 1, tzinfo=UTC)
    observe_acknowledged(1, opened, opened + timedelta(seconds=42))
    observe_acknowledged(1, opened, opened + timedelta(seconds=95))
    assert (
        REGISTRY.get_sample_value("homecare_alert_acknowledge_seconds_count", labels) == count + 2
    )
    assert (
        REGISTRY.get_sample_value(
            "homecare_alert_acknowledge_seconds_bucket", {**labels, "le": "60.0"}
        )
        == fast + 1
    )


def _alert(opened: datetime, acknowledged: datetime | None, updated: datetime) -> AlertRow:
    return AlertRow(
        id=uuid.uuid4(),
        home="Hsecret",
        kind="sos",
        priority=2,
        status="acknowledged",
        escalation_level=0,
        opened_at=opened,
        updated_at=updated,
        trigger_count=1,
        first_event_id=uuid.uuid4(),
        last_event_id=uuid.uuid4(),
        acknowledged_at=acknowledged,
        acknowledged_by="alice" if acknowledged else None,
    )


async def test_acknowledgements_on_the_hub_are_timed(store: Store) -> None:
    hub = Hub()
    create_app(store, hub, TOKEN)
    labels = {"priority": "2"}
    before = REGISTRY.get_sample_value("homecare_alert_acknowledge_seconds_count", labels) or 0
    opened = datetime(2026, 3, 1, tzinfo=UTC)
    acked = opened + timedelta(seconds=30)
    later = acked + timedelta(minutes=5)
    changes: list[tuple[ChangeKind, AlertRow]] = [
        ("acknowledged", _alert(opened, acked, acked)),
        ("dispatched", _alert(opened, later, later)),  # acknowledged by this first dispatch
        ("dispatched", _alert(opened, acked, later)),  # acknowledged before: not again
        ("escalated", _alert(opened, None, later)),
        ("resolved", _alert(opened, acked, later)),
    ]
    for change, alert in changes:
        hub.publish(AlertChange(change, alert, uuid.uuid4()))
    after = REGISTRY.get_sample_value("homecare_alert_acknowledge_seconds_count", labels)
    assert after == before + 2
