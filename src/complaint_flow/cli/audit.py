"""``complaint-flow audit``: check the tamper-evident audit trail of a store."""

from __future__ import annotations

import click

from complaint_flow.cli.render.audit import problems_table
from complaint_flow.cli.shared import CommandGroup, console, open_engine, store_option
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
    with open_engine(url or store_url, must_exist=True) as engine:
        ids = [engine.get(complaint).id for complaint in complaints] if complaints else None
        report = verify_store(engine.store, complaint_ids=ids)
        out = console()
        checked = (
            f"checked {report.complaints} complaint(s), {report.conduct_records} conduct "
            f"record(s), {report.events} event(s)"
        )
        if report.ok:
            out.print(f"{checked}: the audit trail is intact")
            return
        out.print(problems_table(report, subject_labels(engine.store, report)))
        out.print(
            f"{checked}: {len(report.problems)} problem(s) in {len(report.subjects)} "
            "trail(s); restore them from a backup and find out who wrote to the database"
        )
    raise click.exceptions.Exit(1)


def subject_labels(store: Store, report: AuditReport) -> dict[str, str]:
    """Each complaint of ``report`` as its reference over its id (conduct records: their id)."""
    labels: dict[str, str] = {}
    for subject in report.subjects:
        try:
            labels[subject] = f"{store.get(subject).reference}\n{subject}"
        except ComplaintNotFoundError:
            labels[subject] = subject  # a conduct record: its id names the customer
    return labels


__all__ = ["audit", "subject_labels", "verify"]
