"""The SLA report's pure core: hand-made rows, properties, and the CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.reports import (
    SLA_CSV_COLUMNS,
    GroupBy,
    Measure,
    Period,
    ReportError,
    SlaReport,
    SlaRow,
    compute_sla,
    percentile,
    sla_csv,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SINCE = T0 - timedelta(days=1)
UNTIL = T0 + timedelta(days=1)
NOW = T0 + timedelta(days=2)


def row(
    opened: float = 0,
    *,
    ack: float | None = None,
    by: str | None = None,
    dispatched: float | None = None,
    arrived: float | None = None,
    resolved: float | None = None,
    priority: int = 1,
    at: datetime = T0,
) -> SlaRow:
    """An alert opened ``opened`` seconds after ``at``; the other times are offsets from opening."""
    start = at + timedelta(seconds=opened)

    def after(s: float | None) -> datetime | None:
        return None if s is None else start + timedelta(seconds=s)

    return SlaRow(
        alert_id=uuid.uuid4(),
        priority=priority,
        opened_at=start,
        acknowledged_at=after(ack),
        acknowledged_by=by if ack is not None else None,
        dispatched_at=after(dispatched),
        arrived_at=after(arrived),
        resolved_at=after(resolved),
    )


def report(rows: list[SlaRow], **kwargs: object) -> SlaReport:
    args: dict[str, object] = {"since": SINCE, "until": UNTIL, "now": NOW, "zone": UTC}
    args.update(kwargs)
    return compute_sla(rows, **args)  # type: ignore[arg-type]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 90, 95, 99, 100)] == [50, 90, 95, 99, 100]
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([], 50) is None


def test_hand_made_acknowledgements() -> None:
    rows = [
        row(ack=30, by="alice"),
        row(ack=60, by="bob"),
        row(ack=90, by="bob"),
        row(ack=200, by="alice"),
        row(resolved=400),  # closed without anyone answering: late
    ]
    ack = report(rows).total.acknowledge
    assert ack == Measure(
        count=4,
        population=5,
        waiting=0,
        p50=60.0,
        p90=200.0,
        p95=200.0,
        p99=200.0,
        within_60s=2 / 5,
        within_180s=3 / 5,
    )
    assert report(rows).total.standard_met is False
    assert report(rows).total.alerts == 5


def test_standard_met_when_every_alert_is_answered_in_time() -> None:
    rows = [row(ack=5 + i, by="alice", opened=i) for i in range(40)]
    total = report(rows).total
    assert total.acknowledge.within_60s == 1.0
    assert total.standard_met is True
    # One late answer in 40 is 97.5 % within 60 s: still met; a second is not.
    assert report([*rows[1:], row(ack=61, by="bob")]).total.standard_met is True
    assert report([*rows[2:], row(ack=61), row(ack=61)]).total.standard_met is False


def test_open_alerts_are_judged_only_once_their_target_has_passed() -> None:
    now = T0 + timedelta(seconds=100)
    rows = [
        row(ack=10, by="alice"),
        row(opened=70),  # 30 s old at ``now``: may still make both targets
        row(opened=0),  # 100 s old: late for 60 s, may still make 180 s
    ]
    ack = report(rows, now=now).total.acknowledge
    assert (ack.population, ack.count, ack.waiting) == (3, 1, 2)
    assert ack.within_60s == 1 / 2
    assert ack.within_180s == 1 / 1
    nobody_yet = report([row(opened=90)], now=now).total
    assert nobody_yet.acknowledge.within_60s is None
    assert nobody_yet.standard_met is None


def test_dispatch_is_judged_over_dispatched_alerts_and_arrival_may_be_late() -> None:
    rows = [
        row(ack=10, by="a", dispatched=50, arrived=900, resolved=2000),
        row(ack=10, by="a", dispatched=170, resolved=1000),  # nobody arrived: late
        row(ack=10, by="a", resolved=30),  # a phone call was enough: no dispatch needed
    ]
    total = report(rows).total
    assert (total.dispatch.population, total.dispatch.count) == (2, 2)
    assert total.dispatch.within_60s == 1 / 2
    assert total.dispatch.within_180s == 1.0
    assert (total.arrive.population, total.arrive.count, total.arrive.waiting) == (2, 1, 0)
    assert total.arrive.p50 == 900.0  # from opening, not from dispatch
    assert total.arrive.within_180s == 0.0


def test_window_is_half_open() -> None:
    rows = [row(at=SINCE, ack=1, by="a"), row(at=UNTIL, ack=1, by="a"), row(at=T0)]
    assert report(rows).total.alerts == 2
    with pytest.raises(ReportError, match="later"):
        report(rows, since=UNTIL, until=UNTIL)
    with pytest.raises(ReportError, match="at most"):
        report(rows, since=UNTIL - timedelta(days=400))
    with pytest.raises(ReportError, match="time zone"):
        report(rows, since=SINCE.replace(tzinfo=None))


def test_group_by_operator_lists_the_unanswered_last() -> None:
    rows = [row(ack=20, by="zoe"), row(ack=70, by="adam"), row(resolved=5), row(ack=30, by="zoe")]
    groups = report(rows, group_by=GroupBy.OPERATOR).groups
    assert [(g.key, g.alerts) for g in groups] == [("adam", 1), ("zoe", 2), (None, 1)]
    assert groups[1].acknowledge.p50 == 20.0
    assert groups[2].acknowledge.within_60s == 0.0


def test_group_by_priority() -> None:
    rows = [row(priority=2, ack=5, by="a"), row(priority=1, ack=5, by="a"), row(priority=1)]
    groups = report(rows, group_by=GroupBy.PRIORITY).groups
    assert [(g.key, g.alerts) for g in groups] == [("1", 2), ("2", 1)]


def test_group_by_period_in_a_time_zone() -> None:
    monday = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    rows = [
        row(at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC)),  # Monday 00:30 in Berlin
        row(at=monday),
        row(at=datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),  # Sunday
        row(at=datetime(2026, 4, 1, 12, 0, tzinfo=UTC)),
    ]
    since, until, now = monday - timedelta(days=3), monday + timedelta(days=60), monday
    berlin = ZoneInfo("Europe/Berlin")
    kw: dict[str, object] = {"since": since, "until": until, "now": now, "group_by": GroupBy.PERIOD}
    days = report(rows, **kw, period=Period.DAY, zone=berlin).groups
    assert [(g.key, g.alerts) for g in days] == [
        ("2026-03-02", 2),
        ("2026-03-08", 1),
        ("2026-04-01", 1),
    ]
    assert report(rows, **kw, period=Period.DAY).groups[0].key == "2026-03-01"
    weeks = report(rows, **kw, period=Period.WEEK, zone=berlin).groups
    assert [(g.key, g.alerts) for g in weeks] == [("2026-03-02", 3), ("2026-03-30", 1)]
    months = report(rows, **kw, period=Period.MONTH, zone=berlin).groups
    assert [(g.key, g.alerts) for g in months] == [("2026-03-01", 3), ("2026-04-01", 1)]
    assert report(rows, **kw, period=Period.MONTH).period is Period.MONTH
    assert report(rows, since=since, until=until, now=now).period is None


def test_csv_has_a_header_and_escapes_formulas() -> None:
    rows = [row(ack=20, by="=cmd()"), row(ack=20, by="alice")]
    text = sla_csv(report(rows, group_by=GroupBy.OPERATOR))
    lines = list(csv.reader(io.StringIO(text)))
    assert tuple(lines[0]) == SLA_CSV_COLUMNS
    assert [line[3] for line in lines[1:]] == ["'=cmd()", "alice"]
    empty = list(csv.reader(io.StringIO(sla_csv(report([], group_by=GroupBy.PRIORITY)))))
    assert len(empty) == 1


# -- properties ------------------------------------------------------------------------------

_offsets = st.one_of(st.none(), st.floats(min_value=0, max_value=4000, allow_nan=False))


@st.composite
def sla_rows(draw: st.DrawFn) -> SlaRow:
    opened = draw(st.floats(min_value=-2 * 86400, max_value=2 * 86400, allow_nan=False))
    ack = draw(_offsets)
    dispatched = draw(_offsets)
    return row(
        opened,
        ack=ack,
        by=draw(st.sampled_from(["alice", "bob", "carol"])),
        dispatched=dispatched,
        arrived=draw(_offsets) if dispatched is not None else None,
        resolved=draw(_offsets),
        priority=draw(st.integers(1, 3)),
    )


def _check_measure(m: Measure) -> None:
    assert 0 <= m.count <= m.population
    assert m.waiting <= m.population - m.count
    for share in (m.within_60s, m.within_180s):
        assert share is None or 0.0 <= share <= 1.0
    values = [m.p50, m.p90, m.p95, m.p99]
    if m.count == 0:
        assert values == [None] * 4
    else:
        assert None not in values
        assert values == sorted(values)  # type: ignore[type-var]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    rows=st.lists(sla_rows(), max_size=40),
    group_by=st.sampled_from(GroupBy),
    period=st.sampled_from(Period),
    now_offset=st.floats(min_value=0, max_value=3 * 86400),
)
def test_report_invariants(
    rows: list[SlaRow], group_by: GroupBy, period: Period, now_offset: float
) -> None:
    now = T0 + timedelta(seconds=now_offset)
    result = report(rows, group_by=group_by, period=period, now=now)
    assert result.total.alerts == sum(1 for r in rows if SINCE <= r.opened_at < UNTIL)
    assert sum(g.alerts for g in result.groups) == result.total.alerts
    for group in (result.total, *result.groups):
        for m in (group.acknowledge, group.dispatch, group.arrive):
            _check_measure(m)
        assert group.arrive.population == group.dispatch.population
        if group.standard_met:
            assert group.acknowledge.within_60s is not None
            assert group.acknowledge.within_60s >= 0.975


def _parsed(value: str) -> object:
    if value == "":
        return None
    if value in ("true", "false"):
        return value == "true"
    return float(value)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(rows=st.lists(sla_rows(), max_size=30), group_by=st.sampled_from(GroupBy))
def test_csv_round_trips(rows: list[SlaRow], group_by: GroupBy) -> None:
    result = report(rows, group_by=group_by)
    parsed = list(csv.DictReader(io.StringIO(sla_csv(result))))
    assert len(parsed) == len(result.groups)
    for line, group in zip(parsed, result.groups, strict=True):
        assert line["group"] == (group.key or "")
        assert line["group_by"] == group_by.value
        assert datetime.fromisoformat(line["since"]) == result.since
        assert _parsed(line["alerts"]) == group.alerts
        assert _parsed(line["standard_met"]) == group.standard_met
        for name in ("acknowledge", "dispatch", "arrive"):
            m: Measure = getattr(group, name)
            for field in ("count", "population", "waiting", "within_60s", "within_180s"):
                assert _parsed(line[f"{name}_{field}"]) == getattr(m, field)
            for p in ("p50", "p90", "p95", "p99"):
                assert _parsed(line[f"{name}_{p}_s"]) == getattr(m, p)
