"""Learning from the event log: timeliness and outcome figures, reports, regulatory returns.

- :mod:`.reading`: the rules a store reads milestones by, and the batched stream;
- :mod:`.periods`, :mod:`.working_time`, :mod:`.quantiles`: periods on a wall
  clock, fast working time, constant-memory medians;
- :mod:`.metrics`: the figures by period, category, channel and team;
- :mod:`.report`: the report's sections, JSON and CSV;
- :mod:`.charts`: its charts (matplotlib, the ``learning`` extra);
- :mod:`.returns`: regulatory returns in versioned formats.

``docs/reports.md`` describes every figure.
"""

from complaint_flow.services.reporting.charts import (
    CHART_FORMATS,
    ChartsUnavailableError,
    write_charts,
)
from complaint_flow.services.reporting.metrics import (
    DIMENSIONS,
    INFORMAL_TEAM,
    OUTCOMES,
    ClockCompliance,
    GroupMetrics,
    Metrics,
    compute_metrics,
)
from complaint_flow.services.reporting.reading import ReportUnavailableError
from complaint_flow.services.reporting.report import (
    DEFAULT_SECTIONS,
    Column,
    Report,
    ReportContext,
    Section,
    report,
)
from complaint_flow.services.reporting.returns import (
    RETURN_FORMATS,
    RegulatoryReturn,
    ReturnFormat,
    regulatory_return,
)

__all__ = [
    "CHART_FORMATS",
    "DEFAULT_SECTIONS",
    "DIMENSIONS",
    "INFORMAL_TEAM",
    "OUTCOMES",
    "RETURN_FORMATS",
    "ChartsUnavailableError",
    "ClockCompliance",
    "Column",
    "GroupMetrics",
    "Metrics",
    "RegulatoryReturn",
    "Report",
    "ReportContext",
    "ReportUnavailableError",
    "ReturnFormat",
    "Section",
    "compute_metrics",
    "regulatory_return",
    "report",
    "write_charts",
]
