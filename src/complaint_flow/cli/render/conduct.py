"""The stop procedure on the console: restricted customers, the review queue, patterns, records."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.cli.render.formats import day, when
from complaint_flow.model.conduct import (
    ConductRecord,
    Restriction,
    RestrictionKind,
    ReviewItem,
    ReviewReason,
)
from complaint_flow.model.entities import Event
from complaint_flow.services.conduct_patterns import PatternFlag

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


def decided_by(record: ConductRecord, events: Sequence[Event]) -> Text:
    """The name and role of whoever took the decision in force (its id if not found)."""
    if record.decided_by is None:
        return Text("")
    for event in reversed(events):
        if event.actor.id == record.decided_by:
            return Text.assemble(event.actor.name, (f"\n{event.actor.role}", "dim"))
    return Text(record.decided_by)


def _customer(record: ConductRecord) -> Text:
    return Text.assemble(record.customer.name, (f"\n{record.customer_id}", "dim"))


def restricted_table(records: Sequence[ConductRecord], deciders: Sequence[Text]) -> Table:
    """Customers under restriction: customer, status, restrictions, review date, who decided."""
    table = Table(title="Customers under restriction", title_justify="left", show_lines=True)
    table.add_column("Customer", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Restrictions", overflow="fold")
    table.add_column("Review date", no_wrap=True)
    table.add_column("Decided by", overflow="fold")
    for record, who in zip(records, deciders, strict=True):
        table.add_row(
            _customer(record),
            record.status.value,
            _restrictions_text(record),
            day(record.review_at),
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
            when(received, two_lines=True),
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
            day(flag.since),
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
        grid.add_row("Decided by", decided_by(record, events).plain.replace("\n", ", "))
    grid.add_row("Review date", day(record.review_at) or Text("none", style="dim"))
    if record.appeal_grounds:
        grid.add_row("Appeal grounds", Text(record.appeal_grounds))
    if record.adjustments:
        lines = []
        for adjustment in record.adjustments:
            line = adjustment.need
            if adjustment.channels:
                line += f" — may use {', '.join(adjustment.channels)}"
            if adjustment.recorded_by or adjustment.recorded_at:
                line += f" (recorded {day(adjustment.recorded_at)} by {adjustment.recorded_by})"
            lines.append(line)
        grid.add_row("Adjustments", Text("\n".join(lines)))
    else:
        grid.add_row("Adjustments", Text("none", style="dim"))
    if record.adjustment_note:
        grid.add_row("How adjusted", Text(record.adjustment_note))
    grid.add_row("Review queue", f"{len(record.review_queue)} item(s) waiting")
    grid.add_row("Version", str(record.version))
    return Panel(grid, title=f"Conduct record · {record.customer_id}", title_align="left")


__all__ = [
    "decided_by",
    "patterns_table",
    "queue_table",
    "record_panel",
    "restricted_table",
    "restriction_words",
]
