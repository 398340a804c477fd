"""``complaint-flow privacy`` and ``complaint-flow retention``: erasure and retention."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from complaint_flow.cli.render.formats import minute
from complaint_flow.cli.shared import (
    CommandGroup,
    console,
    fail,
    non_blank,
    open_engine,
    store_option,
)
from complaint_flow.definitions.ages import retention_cutoff
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.entities import Actor
from complaint_flow.services.privacy import erase_customer, purge_closed


@click.group(cls=CommandGroup)
def privacy() -> None:
    """Erase a customer's personal data (right to erasure)."""


@privacy.command(name="erase")
@click.argument("customer_id", callback=non_blank)
@click.option("--actor-id", required=True, callback=non_blank, help="Who erases (their id).")
@click.option(
    "--actor-name", required=True, callback=non_blank, help="Their name, for the audit trail."
)
@click.option(
    "--role", required=True, callback=non_blank, help="Their role (e.g. data_protection_officer)."
)
@click.option("--rank", type=int, default=1, show_default=True, help="Their rank.")
@click.option(
    "--reason",
    required=True,
    callback=non_blank,
    help="Why, e.g. the erasure request's reference. Kept in the audit trail: no "
    "personal data in it.",
)
@store_option
def erase(
    customer_id: str,
    actor_id: str,
    actor_name: str,
    role: str,
    rank: int,
    reason: str,
    store_url: str,
) -> None:
    """Erase the personal data of customer CUSTOMER_ID (the host's customer id).

    Names, contacts and free text become "[erased]" in their complaints, events,
    outbox messages and conduct record; ids, counts, times and states stay. Each
    erased complaint records a customer_erased event. Running it again changes
    nothing more.
    """
    actor = Actor(id=actor_id, name=actor_name, role=role, rank=rank)
    with open_engine(store_url) as engine:
        report = erase_customer(engine, customer_id, actor=actor, reason=reason)
        references = [engine.get(complaint_id).reference for complaint_id in report.complaints]
    out = console()
    if not report.changed:
        out.print(
            f"nothing to erase for customer {customer_id}: "
            f"{len(report.unchanged)} complaint(s), all erased before"
            if report.unchanged
            else f"nothing to erase: no complaint or conduct record of customer {customer_id}"
        )
        return
    lines = [f"erased customer {customer_id}:"]
    if references:
        lines.append(f"  complaints: {', '.join(references)}")
    if report.conduct_record:
        lines.append("  conduct record: erased")
    lines.append(
        f"  {report.events_redacted} event(s) and {report.messages_redacted} outbox "
        "message(s) redacted"
    )
    if report.unchanged:
        lines.append(f"  {len(report.unchanged)} complaint(s) had been erased before")
    out.print("\n".join(lines))


@click.group(cls=CommandGroup)
def retention() -> None:
    """Apply the retention policy: delete closed complaints after a period."""


_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def _age(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            # Only the form of the age is checked here; the purge counts it back from
            # the engine's clock.
            retention_cutoff(_FAR_FUTURE, value)
        except InvalidArgumentError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


@retention.command(name="purge")
@click.option(
    "--older-than",
    default=None,
    callback=_age,
    metavar="AGE",
    help="How long a closed complaint is kept after its last change: '3 years', "
    "'36 months', '8 weeks' or '90 days'. Default: each workflow's own `retention` "
    "(workflows without one are left alone).",
)
@click.option("--dry-run", is_flag=True, help="Only list what would be purged.")
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Complaints deleted per transaction.",
)
@store_option
def purge(older_than: str | None, dry_run: bool, batch: int, store_url: str) -> None:
    """Delete complaints in a terminal state (closed, withdrawn…) unchanged for AGE.

    Their events and outbox messages go with them. Complaints still open, or of a
    workflow this command does not know, are never deleted.
    """
    with open_engine(store_url, must_exist=dry_run) as engine:
        kept = [d.name for d in engine.registry.workflows.values() if d.retention is not None]
        if older_than is None and not kept:
            fail(
                "no retention period: give one with --older-than AGE (e.g. --older-than "
                "'3 years'), or set `retention` in the workflows (the fca packs keep "
                "complaints 3 years)"
            )
        report = purge_closed(engine, older_than, batch=batch, dry_run=dry_run)
    out = console()
    verb = "would purge" if dry_run else "purged"
    if report.cutoff is not None:
        cutoff = f"{minute(report.cutoff)} UTC"
    else:
        cutoff = (
            "the cutoff of its workflow's retention ("
            + ", ".join(f"{name}: {minute(moment)} UTC" for name, moment in report.cutoffs.items())
            + ")"
        )
    if not report.total:
        out.print(f"nothing to purge: no closed complaint last changed before {cutoff}")
        return
    per_workflow = ", ".join(f"{name}: {count}" for name, count in report.by_workflow.items())
    out.print(
        f"{verb} {report.total} closed complaint(s) last changed before {cutoff} ({per_workflow})"
    )
    out.print("\n".join(f"  {reference}" for reference in report.references))


__all__ = ["erase", "privacy", "purge", "retention"]
