"""The audit check on the console: the problems found in the hash-chained trails."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table

from complaint_flow.services.audit import AuditReport


def problems_table(report: AuditReport, labels: Mapping[str, str]) -> Table:
    """The problems of ``report`` as a table: complaint, event, problem.

    ``labels`` names each subject (a complaint's reference and id); a subject
    missing from it is shown by its id.
    """
    table = Table(title="Audit trail problems", title_justify="left")
    table.add_column("Complaint", overflow="fold")
    table.add_column("Event", justify="right", no_wrap=True)
    table.add_column("Problem", overflow="fold")
    for problem in report.problems:
        seq = "" if problem.seq is None else str(problem.seq)
        table.add_row(labels.get(problem.subject, problem.subject), seq, problem.problem)
    return table


__all__ = ["problems_table"]
