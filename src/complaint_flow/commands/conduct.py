"""``complaint-flow conduct``: the stop procedure from the command line.

Lists the customers under restriction with their review dates, the review queue
of filed and linked messages, the patterns that suggest a look at a customer's
conduct, and one customer's conduct record with its history; resolves a review
item once it has been read. Decisions (warn, restrict, appeal…) stay in the
library (``engine.conduct``): they need reasons and authorised actors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import click
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.commands import CommandGroup, store_option
from complaint_flow.errors import ConductError
from complaint_flow.model.conduct import (
    ConductRecord,
    Restriction,
    RestrictionKind,
    ReviewItem,
    ReviewReason,
)
from complaint_flow.model.entities import Actor, Event
from complaint_flow.services.conduct_patterns import PatternFlag
from complaint_flow.services.final_decisions import ReviewOutcome

_REASONS = {
    ReviewReason.OUTSIDE_RESTRICTION: "outside a restriction",
    ReviewReason.DECIDED_MATTER: "re-raises a decided matter",
    ReviewReason.PATTERN: "pattern seen",
}


def restriction_words(restriction: Restriction) -> str:
    """One restriction in plain words, e.g. ``at most 3 contacts in 30 days``."""
    kind = restriction.kind
    if kind is RestrictionKind.SINGLE_POINT_OF_CONTACT:
        words = f"contact only through {restriction.contact_name} ({restriction.contact})"
    elif kind is RestrictionKind.WRITTEN_ONLY:
        words = "contact in writing only"
    elif kind is RestrictionKind.CONTACT_LIMIT:
        words = f"at most {restriction.max_contacts} contacts in {restriction.period_days} days"
    elif kind is RestrictionKind.NO_REOPENING:
        words = f"no new complaints about {', '.join(restriction.matters)}"
    else:
        # Guidance for staff at intake: nothing is filed because of it.
        return f"calls kept to {restriction.call_minutes} minutes"
    if not restriction.acknowledge:
        words += " (filed messages not acknowledged)"
    return words


def _restrictions_text(record: ConductRecord) -> Text:
    if not record.restrictions:
        return Text("none", style="dim")
    lines = [restriction_words(r) for r in record.restrictions]
    if not record.restricted:
        return Text("\n".join(lines) + "\n(not in force)", style="dim")
    return Text("\n".join(lines))


def _date(at: datetime | None) -> str:
    return "" if at is None else f"{at.astimezone(UTC):%Y-%m-%d}"


def _decided_by(record: ConductRecord, events: Sequence[Event]) -> Text:
    """The name and role of whoever took the decision in force (its id if not found)."""
    if record.decided_by is None:
        return Text("")
    for event in reversed(events):
        if event.actor.id == record.decided_by:
            return Text.assemble(event.actor.name, (f"\n{event.actor.role}", "dim"))
    return Text(record.decided_by)


def _customer(record: ConductRecord) -> Text:
    return Text.assemble(record.customer.name, (f"\n{record.customer_id}", "dim"))


def restricted_table(records: Sequence[ConductRecord], decided_by: Sequence[Text]) -> Table:
    """Customers under restriction: customer, status, restrictions, review date, who decided."""
    table = Table(title="Customers under restriction", title_justify="left", show_lines=True)
    table.add_column("Customer", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Restrictions", overflow="fold")
    table.add_column("Review date", no_wrap=True)
    table.add_column("Decided by", overflow="fold")
    for record, who in zip(records, decided_by, strict=True):
        table.add_row(
            _customer(record),
            record.status.value,
            _restrictions_text(record),
            _date(record.review_at),
            who,
        )
    return table


def _reason(item: ReviewItem) -> Text:
    text = Text(_REASONS.get(item.reason, item.reason.value))
    if item.why:
        text.append(f"\n{item.why}", style="dim")
    return text


def queue_table(
    rows: Sequence[tuple[ConductRecord, ReviewItem]], title: str, *, with_customer: bool = True
) -> Table:
    """Review items: customer, item id, reason, channel, received, summary, regarding."""
    from complaint_flow.cli import _when

    table = Table(title=title, title_justify="left", show_lines=True)
    if with_customer:
        table.add_column("Customer", overflow="fold")
    table.add_column("Item", no_wrap=True)
    table.add_column("Reason", overflow="fold")
    table.add_column("Channel", no_wrap=True)
    table.add_column("Received (UTC)", no_wrap=True)
    table.add_column("Summary", overflow="fold")
    table.add_column("Regarding", overflow="fold")
    for record, item in rows:
        received = item.received_at or item.filed_at
        cells: list[RenderableType] = [_customer(record)] if with_customer else []
        summary = Text(item.summary)
        if item.acknowledged:
            summary.append("\n(acknowledged)", style="dim")
        cells += [
            item.id,
            _reason(item),
            item.channel or "",
            _when(received, two_lines=True),
            summary,
            item.regarding or "",
        ]
        table.add_row(*cells)
    return table


def patterns_table(flags: Sequence[PatternFlag]) -> Table:
    """Pattern flags: customer, pattern, count, since, complaints involved, what was seen."""
    table = Table(
        title="Patterns to review (suggestions, not decisions)",
        title_justify="left",
        show_lines=True,
    )
    table.add_column("Customer", overflow="fold")
    table.add_column("Pattern", no_wrap=True)
    table.add_column("Count", justify="right", no_wrap=True)
    table.add_column("Since", no_wrap=True)
    table.add_column("Complaints", overflow="fold")
    table.add_column("Seen", overflow="fold")
    for flag in flags:
        table.add_row(
            Text.assemble(flag.customer_name, (f"\n{flag.customer_id}", "dim")),
            flag.pattern.replace("_", " "),
            str(flag.count),
            _date(flag.since),
            "\n".join(flag.references),
            Text(flag.seen),
        )
    return table


def record_panel(record: ConductRecord, events: Sequence[Event]) -> Panel:
    """A conduct record: status, restrictions, reasons, review date, adjustments."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Customer", f"{record.customer.name} ({record.customer_id})")
    grid.add_row("Status", record.status.value)
    grid.add_row("Restrictions", _restrictions_text(record))
    if record.reasons:
        grid.add_row("Reasons", Text(record.reasons))
    if record.decided_by:
        grid.add_row("Decided by", _decided_by(record, events).plain.replace("\n", ", "))
    grid.add_row("Review date", _date(record.review_at) or Text("none", style="dim"))
    if record.appeal_grounds:
        grid.add_row("Appeal grounds", Text(record.appeal_grounds))
    if record.adjustments:
        lines = []
        for adjustment in record.adjustments:
            line = adjustment.need
            if adjustment.channels:
                line += f" — may use {', '.join(adjustment.channels)}"
            if adjustment.recorded_by or adjustment.recorded_at:
                line += f" (recorded {_date(adjustment.recorded_at)} by {adjustment.recorded_by})"
            lines.append(line)
        grid.add_row("Adjustments", Text("\n".join(lines)))
    else:
        grid.add_row("Adjustments", Text("none", style="dim"))
    if record.adjustment_note:
        grid.add_row("How adjusted", Text(record.adjustment_note))
    grid.add_row("Review queue", f"{len(record.review_queue)} item(s) waiting")
    grid.add_row("Version", str(record.version))
    return Panel(grid, title=f"Conduct record · {record.customer_id}", title_align="left")


@click.group(cls=CommandGroup)
def conduct() -> None:
    """The stop procedure: restricted customers, the review queue, patterns, records."""


@conduct.command()
@store_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N.")
def restricted(store_url: str, limit: int | None) -> None:
    """List customers under restriction, earliest review date first."""
    from complaint_flow.cli import _console, _open

    with _open(store_url) as engine:
        records = engine.conduct.restricted(limit)
        deciders = [_decided_by(r, engine.conduct.history(r.customer_id)) for r in records]
    console = _console()
    if not records:
        console.print("No customer is under restriction.")
        return
    console.print(restricted_table(records, deciders))


@conduct.command()
@store_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N items.")
def queue(store_url: str, limit: int | None) -> None:
    """Show the review queue: filed and linked messages waiting to be read."""
    from complaint_flow.cli import _console, _open

    with _open(store_url) as engine:
        rows = engine.review_queue(limit)
    console = _console()
    if not rows:
        console.print("The review queue is empty.")
        return
    console.print(queue_table(rows, "Review queue"))
    console.print(
        "Resolve an item once read: complaint-flow conduct resolve CUSTOMER ITEM "
        "--outcome no_new_information|new_information|safeguarding --note TEXT ..."
    )


def _as_of(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or time; use e.g. 2026-03-31 or 2026-03-31T17:00+00:00"
        ) from None
    return at if at.utcoffset() is not None else at.replace(tzinfo=UTC)


@conduct.command()
@store_option
@click.option(
    "--window-days", type=int, default=90, show_default=True, help="Look back this many days."
)
@click.option(
    "--many-complaints",
    type=int,
    default=5,
    show_default=True,
    help="Flag customers with at least this many complaints in the window.",
)
@click.option(
    "--repeats-after-final",
    type=int,
    default=2,
    show_default=True,
    help="Flag at least this many messages re-raising finally decided matters.",
)
@click.option(
    "--escalation-requests",
    type=int,
    default=3,
    show_default=True,
    help="Flag at least this many escalations the customer asked for.",
)
@click.option(
    "--as-of",
    callback=_as_of,
    default=None,
    metavar="WHEN",
    help="The end of the window (ISO date or time, UTC unless given); default: now.",
)
def patterns(
    store_url: str,
    window_days: int,
    many_complaints: int,
    repeats_after_final: int,
    escalation_requests: int,
    as_of: datetime | None,
) -> None:
    """Suggest customers whose recent contact may need a look; changes nothing."""
    from complaint_flow.cli import _console, _open

    with _open(store_url) as engine:
        flags = engine.conduct_patterns(
            now=as_of,
            window_days=window_days,
            many_complaints=many_complaints,
            repeats_after_final=repeats_after_final,
            escalation_requests=escalation_requests,
        )
    console = _console()
    if not flags:
        console.print(f"No pattern seen in the last {window_days} days.")
        return
    console.print(patterns_table(flags))
    console.print(
        "These are suggestions for a person to review; no warning or restriction was made."
    )


@conduct.command()
@click.argument("customer_id")
@store_option
def show(customer_id: str, store_url: str) -> None:
    """Show CUSTOMER_ID's conduct record, review queue and history."""
    from complaint_flow.cli import COMPACT_BELOW, _console, _open, timeline_table

    with _open(store_url) as engine:
        if engine.store.conduct_get(customer_id) is None and not engine.store.find(
            customer_id=customer_id, limit=1
        ):
            raise ConductError(
                f"no customer {customer_id!r} in this store: no conduct record and no "
                "complaint; check the id (complaint-flow conduct restricted and "
                "complaint-flow list show customers)"
            )
        record = engine.conduct.record(customer_id)
        events = engine.conduct.history(customer_id)
    console = _console()
    parts: list[RenderableType] = [record_panel(record, events)]
    if record.review_queue:
        rows = [(record, item) for item in record.review_queue]
        parts.append(queue_table(rows, "Review queue", with_customer=False))
    if events:
        parts.append(timeline_table(events, "History", compact=console.width < COMPACT_BELOW))
    else:
        parts.append(Text("No conduct event recorded yet.", style="dim"))
    console.print(Group(*parts))


@conduct.command()
@click.argument("customer_id")
@click.argument("item_id")
@click.option(
    "--outcome",
    required=True,
    type=click.Choice([o.value for o in ReviewOutcome]),
    help="no_new_information (close), new_information (open a complaint from the "
    "message) or safeguarding (close and raise an urgent concern).",
)
@click.option("--note", required=True, help="What was read and decided.")
@click.option("--actor-id", required=True, help="The reviewer's id.")
@click.option("--actor-name", default=None, help="The reviewer's name (default: the id).")
@click.option("--role", required=True, help="The reviewer's role (e.g. agent, manager).")
@click.option("--actor-email", default=None, help="The reviewer's email (safeguarding alerts).")
@store_option
def resolve(
    customer_id: str,
    item_id: str,
    outcome: str,
    note: str,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Resolve review item ITEM_ID of CUSTOMER_ID once it has been read."""
    from complaint_flow.cli import _console, _open

    actor = Actor(id=actor_id, name=actor_name or actor_id, role=role, email=actor_email)
    with _open(store_url) as engine:
        opened = engine.resolve_review_item(
            customer_id, item_id, actor=actor, outcome=outcome, note=note
        )
    console = _console()
    console.print(f"Resolved item {item_id} of customer {customer_id}: {outcome}.")
    if opened is not None:
        console.print(f"Opened complaint {opened.reference} from the message.")


__all__ = [
    "conduct",
    "patterns_table",
    "queue_table",
    "record_panel",
    "restricted_table",
    "restriction_words",
]
