"""Charts of a report, as PNG or SVG files: weekly complaints with spikes, SLA, CSAT.

Drawn with matplotlib (the optional ``learning`` extra), imported only when a
chart is drawn and used through its object interface (a ``Figure`` on the Agg
canvas), so that nothing changes the backend or the figures of a host that uses
pyplot itself. Each chart reads one section of the report by its columns:

- ``weekly.<format>``: complaints per week (section ``weekly``), the weeks with a
  spike in red and named;
- ``sla.<format>``: compliance per deadline clock, over every complaint (``sla``);
- ``csat.<format>``: the CSAT trend per period (``satisfaction``); until surveys
  are recorded the chart says so.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from complaint_flow.arguments import one_of
from complaint_flow.errors import ComplaintFlowError
from complaint_flow.services.reporting.report import Report, Section

CHART_FORMATS = ("png", "svg")
"""The file formats charts are written in."""


class ChartsUnavailableError(ComplaintFlowError, ImportError):
    """matplotlib is not installed: charts need the ``learning`` extra."""


def _figure() -> Any:
    try:
        figure_module = importlib.import_module("matplotlib.figure")
        agg = importlib.import_module("matplotlib.backends.backend_agg")
    except ImportError:
        raise ChartsUnavailableError(
            "charts are drawn with matplotlib, which is not installed: "
            'pip install "complaint-flow[learning]" (or leave the charts out)'
        ) from None
    figure = figure_module.Figure(figsize=(10, 4.5), layout="constrained")
    agg.FigureCanvasAgg(figure)
    return figure


def _weekly(report: Report) -> Any:
    section = report.section("weekly")
    figure = _figure()
    axes = figure.add_subplot()
    weeks = section.values("week")
    counts = section.values("received")
    spikes = section.values("spikes")
    colours = ["#c0392b" if flagged else "#4a78a8" for flagged in spikes]
    positions = list(range(len(weeks)))
    axes.bar(positions, counts, color=colours)
    for position, count, flagged in zip(positions, counts, spikes, strict=True):
        if flagged:
            axes.annotate(
                flagged,
                (position, count),
                textcoords="offset points",
                xytext=(0, 4),
                ha="center",
                fontsize=8,
                color="#c0392b",
            )
    step = max(1, len(weeks) // 12)
    axes.set_xticks(positions[::step], weeks[::step], rotation=45, ha="right")
    axes.set_ylabel("complaints received")
    axes.set_title("Complaints per week (spikes in red)")
    return figure


def _sla(report: Report) -> Any:
    section = report.section("sla")
    rows = [row for row in section.records() if row["dimension"] == "all"]
    figure = _figure()
    axes = figure.add_subplot()
    clocks = [row["clock"] for row in rows]
    compliance = [row["compliance_pct"] or 0.0 for row in rows]
    axes.barh(range(len(clocks)), compliance, color="#2e8b57")
    axes.set_yticks(range(len(clocks)), clocks)
    axes.set_xlim(0, 100)
    axes.set_xlabel("met on time, % of decided")
    axes.set_title("SLA compliance per deadline clock")
    if not rows:
        axes.text(
            0.5, 0.5, "No deadline clocks", ha="center", va="center", transform=axes.transAxes
        )
    return figure


def _csat(report: Report) -> Any:
    section: Section = report.section("satisfaction")
    figure = _figure()
    axes = figure.add_subplot()
    if section.rows:
        periods = section.values("period")
        axes.plot(range(len(periods)), section.values("csat_pct"), marker="o", color="#8e44ad")
        axes.set_xticks(range(len(periods)), periods, rotation=45, ha="right")
        axes.set_ylim(0, 100)
        axes.set_ylabel("CSAT %")
    else:
        note = section.notes[0] if section.notes else "No satisfaction figures."
        axes.text(0.5, 0.5, note, ha="center", va="center", wrap=True, transform=axes.transAxes)
        axes.set_axis_off()
    axes.set_title("Customer satisfaction trend")
    return figure


_CHARTS = (("weekly", _weekly), ("sla", _sla), ("csat", _csat))


def write_charts(report: Report, directory: str | Path, chart_format: str = "png") -> list[Path]:
    """Draw the report's charts into ``directory`` (created if needed).

    Charts whose section the report lacks are left out.

    Args:
        report: a report from :func:`~complaint_flow.services.reporting.report.report`.
        directory: where to write ``weekly``, ``sla`` and ``csat`` files.
        chart_format: ``"png"`` or ``"svg"``.

    Returns:
        The files written.

    Raises:
        ChartsUnavailableError: matplotlib is not installed.
        InvalidArgumentError: an unknown format.
    """
    one_of("chart_format", chart_format, CHART_FORMATS)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    present = {section.name for section in report.sections}
    needed = {"weekly": "weekly", "sla": "sla", "csat": "satisfaction"}
    written = []
    for name, draw in _CHARTS:
        if needed[name] not in present:
            continue
        figure = draw(report)
        target = folder / f"{name}.{chart_format}"
        figure.savefig(target, format=chart_format, dpi=120)
        written.append(target)
    return written


__all__ = ["CHART_FORMATS", "ChartsUnavailableError", "write_charts"]
