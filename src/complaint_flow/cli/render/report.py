"""Reports and regulatory returns on the console: one table per section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from complaint_flow.services.reporting.report import Report, Section
from complaint_flow.services.reporting.returns import RegulatoryReturn

_RIGHT = frozenset({"count", "percent", "hours", "money", "number"})


def cell(value: Any, unit: str) -> str:
    """A value as a table shows it: ``-`` for nothing, percentages with ``%``."""
    if value is None:
        return "-"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "hours":
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def section_table(section: Section) -> Group:
    """A section as a table with its notes underneath."""
    table = Table(title=escape(section.title), title_justify="left")
    for column in section.columns:
        # Names (groups, clocks, periods) stay whole; numbers' headers wrap instead.
        table.add_column(
            column.title,
            justify="right" if column.unit in _RIGHT else "left",
            no_wrap=column.unit not in _RIGHT,
            overflow="fold",
        )
    for row in section.rows:
        table.add_row(
            *(cell(value, column.unit) for value, column in zip(row, section.columns, strict=True))
        )
    notes = [Text(note, style="dim") for note in section.notes]
    if not section.rows:
        notes.insert(0, Text("(nothing to show)", style="dim"))
    return Group(table, *notes, Text(""))


def report_header(report: Report) -> Text:
    """The report's title and window."""
    return Text.assemble(
        (report.title, "bold"),
        f"  received {report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} "
        f"({report.time_zone}), by {report.period}; as of {report.as_of:%Y-%m-%d %H:%M}",
    )


def report_tables(report: Report, only: Sequence[str] = ()) -> list[Any]:
    """Every section's table (or those named in ``only``), after the header."""
    wanted = set(only)
    return [report_header(report)] + [
        section_table(section)
        for section in report.sections
        if not wanted or section.name in wanted
    ]


def return_table(found: RegulatoryReturn) -> Table:
    """A regulatory return as a table, its columns as the CSV has them."""
    title = f"{found.title} [{found.format}], {found.since:%Y-%m-%d} to {found.until:%Y-%m-%d}"
    table = Table(title=escape(title), title_justify="left")
    for key in found.header:
        table.add_column(key, overflow="fold")
    for row in found.rows:
        table.add_row(*("-" if value is None else str(value) for value in row))
    return table


__all__ = ["cell", "report_header", "report_tables", "return_table", "section_table"]
