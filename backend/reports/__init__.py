"""Reports over the alert lifecycle: the SLA report (pure core, query, CSV)."""

from backend.reports._csv import SLA_CSV_COLUMNS, sla_csv, sla_csv_rows
from backend.reports._errors import ReportError
from backend.reports._query import Counts, load_counts, load_sla_rows
from backend.reports._sla import (
    ACK_BIN_EDGES,
    MAX_WINDOW,
    PERCENTILES,
    STANDARD,
    AckBin,
    GroupBy,
    Measure,
    Period,
    SlaGroup,
    SlaReport,
    SlaRow,
    acknowledge_histogram,
    check_window,
    compute_sla,
    percentile,
)

__all__ = [
    "ACK_BIN_EDGES",
    "MAX_WINDOW",
    "PERCENTILES",
    "SLA_CSV_COLUMNS",
    "STANDARD",
    "AckBin",
    "Counts",
    "GroupBy",
    "Measure",
    "Period",
    "ReportError",
    "SlaGroup",
    "SlaReport",
    "SlaRow",
    "acknowledge_histogram",
    "check_window",
    "compute_sla",
    "load_counts",
    "load_sla_rows",
    "percentile",
    "sla_csv",
    "sla_csv_rows",
]
