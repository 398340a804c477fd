"""``complaint-flow audit``: check the tamper-evident audit trail of a store."""

from __future__ import annotations

import click
from rich.table import Table

from complaint_flow.commands import CommandGroup, store_option
from complaint_flow.errors import ComplaintNotFoundError
from complaint_flow.services.audit import AuditReport, verify_store
from complaint_flow.storage.contract import Store


@click.group(cls=CommandGroup)
def audit() -> None:
    """Check that no event of the audit trail was altered, removed or reordered."""


@audit.command(name="verify")
@click.argument("url", required=False, metavar="[URL]")
@store_option
@click.option(
    "--complaint",
    "complaints",
    multiple=True,
    metavar="ID",
    help="Check only this complaint (id or reference; repeatable). Default: every "
    "complaint and conduct record.",
)
def verify(url: str | None, store_url: str, complaints: tuple[str, ...]) -> None:
    """Verify every complaint's (and conduct record's) hash-chained audit trail.

    Prints each problem found and exits with status 1 if there is any. URL, when
    given, is the store to check (instead of --store).
    """
    from complaint_flow.cli import _console, _open

    engine = _open(url or store_url)
    try:
        ids = [engine.get(complaint).id for complaint in complaints] if complaints else None
        report = verify_store(engine.store, complaint_ids=ids)
        console = _console()
        checked = (
            f"checked {report.complaints} complaint(s), {report.conduct_records} conduct "
            f"record(s), {report.events} event(s)"
        )
        if report.ok:
            console.print(f"{checked}: the audit trail is intact")
            return
        console.print(problems_table(engine.store, report))
        console.print(
            f"{checked}: {len(report.problems)} problem(s) in {len(report.subjects)} "
            "trail(s); restore them from a backup and find out who wrote to the database"
        )
    finally:
        engine.close()
    raise click.exceptions.Exit(1)


def problems_table(store: Store, report: AuditReport) -> Table:
    """The problems of ``report`` as a table: complaint (reference and id), event, problem."""
    table = Table(title="Audit trail problems", title_justify="left")
    table.add_column("Complaint", overflow="fold")
    table.add_column("Event", justify="right", no_wrap=True)
    table.add_column("Problem", overflow="fold")
    references: dict[str, str] = {}
    for problem in report.problems:
        subject = problem.subject
        if subject not in references:
            references[subject] = _label(store, subject)
        seq = "" if problem.seq is None else str(problem.seq)
        table.add_row(references[subject], seq, problem.problem)
    return table


def _label(store: Store, subject: str) -> str:
    try:
        return f"{store.get(subject).reference}\n{subject}"
    except ComplaintNotFoundError:
        return subject  # a conduct record: its id names the customer


__all__ = ["audit", "problems_table", "verify"]
