"""Reports over the alert lifecycle: the SLA report (pure core, query, CSV)."""

from backend.reports._csv import SLA_CSV_COLUMNS, sla_csv, sla_csv_rows
from backend.reports._errors import ReportError
from backend.reports._query import Counts, load_counts, load_sla_rows
from backend.reports._sla import (
    MAX_WINDOW,
    PERCENTILES,
    STANDARD,
    GroupBy,
    Measure,
    Period,
    SlaGroup,
    SlaReport,
    SlaRow,
    check_window,
    compute_sla,
    percentile,
)

__all__ = [
    "MAX_WINDOW",
    "PERCENTILES",
    "SLA_CSV_COLUMNS",
    "STANDARD",
    "Counts",
    "GroupBy",
    "Measure",
    "Period",
    "ReportError",
    "SlaGroup",
    "SlaReport",
    "SlaRow",
    "check_window",
    "compute_sla",
    "load_counts",
    "load_sla_rows",
    "percentile",
    "sla_csv",
    "sla_csv_rows",
]
