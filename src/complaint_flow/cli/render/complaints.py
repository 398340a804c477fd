"""Complaints on the console: one complaint's panel, a list of them, an audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.cli.render.formats import (
    actor_cell,
    contact_of,
    customer_of,
    data_lines,
    minute,
    when,
)
from complaint_flow.model.entities import Complaint, Event
from complaint_flow.model.immutable import EMPTY

COMPACT_BELOW = 120
"""Consoles narrower than this get the three-column timeline."""

WIDE_LIST_FROM = 140
"""Consoles at least this wide get every column in ``complaint-flow list``."""


def _what(event: Event, *, state_and_reason: bool = False) -> Text:
    data = event.data
    if event.kind == "received":
        text = Text(f"received on {data.get('channel', '?')}", style="bold")
        if data.get("external_id"):
            text.append(f"\nmessage id: {data['external_id']}", style="dim")
        data = EMPTY
    elif event.kind == "assigned":
        text = Text(f"assigned to {data.get('owner_name', data.get('owner_id', '?'))}", "bold")
        data = EMPTY
    elif event.kind == "reply_channel_changed":
        text = Text(f"reply channel {data.get('from')} → {data.get('to')}", style="bold")
        data = EMPTY
    else:
        text = Text(event.trigger or event.kind, style="bold")
    if state_and_reason:
        if event.dest:
            text.append(f"\n{_state_change(event, two_lines=False)}", style="green")
        if event.reason:
            text.append(f"\nwhy: {event.reason}", style="italic")
    if data:
        text.append("\n")
        text.append_text(data_lines(data))
    return text


def _state_change(event: Event, *, two_lines: bool = True) -> str:
    if event.source and event.dest:
        return f"{event.source} →{chr(10) if two_lines else ' '}{event.dest}"
    if event.dest:
        return f"→ {event.dest}"
    return ""


def timeline_table(events: Sequence[Event], title: str = "", *, compact: bool = False) -> Table:
    """The audit trail as a table: time, actor, what was done, state change, reason.

    ``compact`` folds the actor into the time column and the state change and
    reason into the "What" column, for consoles narrower than ``COMPACT_BELOW``.
    """
    table = Table(title=title or None, title_justify="left", show_lines=True)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("When (UTC)", no_wrap=not compact, overflow="fold")
    if compact:
        table.add_column("What", overflow="fold")
        for event in events:
            moment = Text(when(event.at, two_lines=True))
            moment.append("\n")
            moment.append_text(actor_cell(event.actor))
            table.add_row(str(event.seq), moment, _what(event, state_and_reason=True))
        return table
    # Folding, never an ellipsis: a cut-off message id or name misleads.
    table.add_column("Actor", overflow="fold")
    table.add_column("What", overflow="fold")
    table.add_column("State", no_wrap=True)  # "source →" over "dest": names stay whole
    table.add_column("Reason", overflow="fold")
    for event in events:
        table.add_row(
            str(event.seq),
            when(event.at, two_lines=True),
            actor_cell(event.actor),
            _what(event),
            Text(_state_change(event)),
            Text(event.reason),
        )
    return table


def complaint_panel(complaint: Complaint) -> Panel:
    """A complaint's current version: state, version, customer, channels, owner, data."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("Reference", complaint.reference),
        ("Id", complaint.id),
        ("State", Text(complaint.state, style="bold green")),
        ("Version", str(complaint.version)),
        ("Workflow", complaint.workflow),
        ("Customer", customer_of(complaint.customer)),
        ("Channel", complaint.channel),
        ("Reply channel", complaint.reply_channel),
        ("Category", complaint.category),
        ("Severity", str(complaint.severity)),
        ("Summary", complaint.summary),
        ("Details", complaint.details),
        ("Desired outcome", complaint.desired_outcome),
        ("Owner", contact_of(complaint.owner) if complaint.owner else "(nobody yet)"),
        ("Received", when(complaint.received_at)),
        ("Updated", when(complaint.updated_at)),
        ("External id", complaint.external_id or ""),
        ("Data", data_lines(complaint.data) if complaint.data else "(none)"),
    ]
    for label, value in rows:
        grid.add_row(label, value if isinstance(value, Text) else Text(value))
    return Panel(grid, title=f"{complaint.reference} · {complaint.state}", title_align="left")


def complaints_table(
    complaints: Iterable[Complaint], title: str = "Complaints", *, compact: bool = False
) -> Table:
    """One row per complaint: reference, state, channel, customer, category, owner, times.

    ``compact`` keeps reference, state, channel, customer and summary only.
    """
    table = Table(title=title, title_justify="left")
    # Wide: names of states and channels stay whole; narrow: everything may fold.
    table.add_column("Reference", no_wrap=True)
    table.add_column("State", no_wrap=not compact, overflow="fold")
    if not compact:
        table.add_column("v", justify="right", no_wrap=True)
    table.add_column("Channel", no_wrap=not compact, overflow="fold")
    table.add_column("Customer", overflow="fold")
    if not compact:
        table.add_column("Category", overflow="fold")
        table.add_column("Owner", overflow="fold")
        table.add_column("Received (UTC)", no_wrap=True)
    table.add_column("Summary", overflow="fold")
    for c in complaints:
        cells: list[str | Text] = [c.reference, c.state]
        if not compact:
            cells.append(str(c.version))
        cells += [c.channel, Text(c.customer.name)]
        if not compact:
            cells += [
                Text(c.category),
                Text(c.owner.name if c.owner else ""),
                minute(c.received_at),
            ]
        cells.append(Text(c.summary))
        table.add_row(*cells)
    return table


__all__ = [
    "COMPACT_BELOW",
    "WIDE_LIST_FROM",
    "complaint_panel",
    "complaints_table",
    "timeline_table",
]
