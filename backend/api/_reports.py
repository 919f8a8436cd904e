"""``GET /reports/sla``: response times of alerts, as JSON or CSV."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict

from backend._errors import StorageError
from backend.api._deps import StoreDep, SupervisorDep
from backend.api._problems import Problem
from backend.metrics import count_db_error
from backend.reports import (
    STANDARD,
    AckBin,
    GroupBy,
    Period,
    ReportError,
    SlaReport,
    acknowledge_histogram,
    check_window,
    compute_sla,
    load_sla_rows,
    sla_csv,
)

__all__ = ["SlaBinOut", "SlaGroupOut", "SlaMeasureOut", "SlaReportOut", "reports_router"]

_log = logging.getLogger(__name__)
reports_router = APIRouter(tags=["reports"])

_DEFAULT_WINDOW = timedelta(days=30)


class SlaMeasureOut(BaseModel):
    """One response time in seconds: nearest-rank percentiles and the shares within target."""

    model_config = ConfigDict(from_attributes=True)

    count: int
    population: int
    waiting: int
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None
    within_60s: float | None
    within_180s: float | None


class SlaGroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str | None
    alerts: int
    acknowledge: SlaMeasureOut
    dispatch: SlaMeasureOut
    arrive: SlaMeasureOut
    #: Acknowledgement against the telecare standard (97.5 % within 60 s, 99 % within 180 s).
    standard_met: bool | None


class SlaBinOut(BaseModel):
    """Acknowledged alerts that took from ``from_s`` (inclusive) to ``to_s`` (exclusive)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    from_s: int
    to_s: int | None
    count: int


class SlaReportOut(BaseModel):
    since: datetime
    until: datetime
    generated_at: datetime
    group_by: GroupBy
    period: Period | None
    time_zone: str
    priority: int | None
    standard: dict[str, float]
    total: SlaGroupOut
    groups: list[SlaGroupOut]
    #: Time to acknowledge over the whole window; alerts never acknowledged are not in it.
    acknowledge_histogram: list[SlaBinOut]

    @classmethod
    def from_report(cls, r: SlaReport, priority: int | None, histogram: list[AckBin]) -> Self:
        return cls(
            since=r.since,
            until=r.until,
            generated_at=r.generated_at,
            group_by=r.group_by,
            period=r.period,
            time_zone=r.time_zone,
            priority=priority,
            standard={f"within_{t}s": share for t, share in STANDARD.items()},
            total=SlaGroupOut.model_validate(r.total),
            groups=[SlaGroupOut.model_validate(g) for g in r.groups],
            acknowledge_histogram=[SlaBinOut.model_validate(b) for b in histogram],
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise Problem(422, f"tz: unknown time zone {name!r}; use an IANA name") from err


def _wants_csv(format_: str | None, accept: str | None) -> bool:
    if format_ is not None:
        return format_ == "csv"
    return accept is not None and "text/csv" in accept.lower()


@reports_router.get(
    "/reports/sla",
    response_model=SlaReportOut,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def sla_report(
    _principal: SupervisorDep,
    store: StoreDep,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: GroupBy = GroupBy.NONE,
    period: Period = Period.DAY,
    tz: Annotated[str, Query(pattern=r"^[A-Za-z0-9_+\-/]{1,64}$")] = "UTC",
    priority: Annotated[int | None, Query(ge=1, le=3)] = None,
    format: Literal["json", "csv"] | None = None,  # noqa: A002 - the documented parameter
    accept: Annotated[str | None, Header()] = None,
) -> SlaReportOut | Response:
    """Report time to acknowledge, dispatch and arrive for alerts opened in ``[since, until)``.

    ``until`` defaults to now and ``since`` to 30 days before ``until``. ``format=csv`` (or
    ``Accept: text/csv``) answers CSV with a header row.
    """
    now = datetime.now(UTC)
    end = until if until is not None else now
    start = since if since is not None else end - _DEFAULT_WINDOW
    zone = _zone(tz)
    try:
        check_window(start, end)
        rows = await load_sla_rows(store, start, end, priority=priority)
        report = compute_sla(
            rows,
            since=start,
            until=end,
            now=now,
            group_by=group_by,
            period=period,
            zone=zone,
            zone_name=tz,
        )
    except ReportError as err:
        raise Problem(422, str(err)) from err
    except StorageError as err:
        count_db_error("api")
        _log.warning("SLA report failed on storage: %s", err)
        raise Problem(503, "the database is unavailable; retry shortly") from err
    if _wants_csv(format, accept):
        name = f"sla-{start:%Y%m%d}-{end:%Y%m%d}.csv"
        return Response(
            sla_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return SlaReportOut.from_report(report, priority, acknowledge_histogram(rows))
