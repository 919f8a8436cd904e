"""The SLA report as CSV: a header row, then one row per group."""

from __future__ import annotations

import csv
import io

from backend.reports._sla import Measure, SlaGroup, SlaReport

__all__ = ["SLA_CSV_COLUMNS", "sla_csv", "sla_csv_rows"]

_MEASURES = ("acknowledge", "dispatch", "arrive")
_FIELDS = (
    "count",
    "population",
    "waiting",
    "p50",
    "p90",
    "p95",
    "p99",
    "within_60s",
    "within_180s",
)
_SECONDS = {"p50", "p90", "p95", "p99"}

SLA_CSV_COLUMNS: tuple[str, ...] = (
    "since",
    "until",
    "group_by",
    "group",
    "alerts",
    *(f"{m}_{f}{'_s' if f in _SECONDS else ''}" for m in _MEASURES for f in _FIELDS),
    "standard_met",
)

# A cell starting with one of these runs as a formula in a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    # str() of a float is the shortest text that reads back as the same float.
    return str(value)


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def _measure_cells(name: str, measure: Measure) -> dict[str, str]:
    return {
        f"{name}_{f}{'_s' if f in _SECONDS else ''}": _cell(getattr(measure, f)) for f in _FIELDS
    }


def _row(report: SlaReport, group: SlaGroup) -> dict[str, str]:
    row = {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "group_by": report.group_by.value,
        "group": _text(group.key),
        "alerts": _cell(group.alerts),
    }
    for name in _MEASURES:
        row.update(_measure_cells(name, getattr(group, name)))
    row["standard_met"] = _cell(group.standard_met)
    return row


def sla_csv_rows(report: SlaReport) -> list[dict[str, str]]:
    """Return the report's rows as the CSV writes them, keyed by column."""
    return [_row(report, g) for g in report.groups]


def sla_csv(report: SlaReport) -> str:
    """Return the report as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SLA_CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(sla_csv_rows(report))
    return out.getvalue()
