"""The ``complaint-flow`` command: demo, complaints, deadline sweeps, the outbox, workflows.

Every command that reads complaints takes ``--store URL`` (default: the
``COMPLAINT_FLOW_STORE`` environment variable, else ``sqlite:///complaints.db``).
A refusal of the library (a :class:`~complaint_flow.errors.ComplaintFlowError`)
is printed in red on standard error and the command exits with status 1.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import attrs
import click
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.commands import STORE_ENV, store_option
from complaint_flow.definitions.deadlines import ClockDefinition
from complaint_flow.definitions.workflow import TransitionDefinition, WorkflowDefinition
from complaint_flow.demo import (
    DemoResult,
    DuplicateDelivery,
    LinkedContact,
    Notification,
    Refusal,
    StopProcedure,
    run_demo,
)
from complaint_flow.engine import DEFAULT_STORE_URL, Engine
from complaint_flow.errors import (
    ComplaintFlowError,
    ComplaintNotFoundError,
    StoreError,
    UnknownWorkflowError,
    WorkflowDefinitionError,
)
from complaint_flow.fsm.diagram import to_mermaid
from complaint_flow.model.conduct import is_conduct_record_id
from complaint_flow.model.entities import (
    Actor,
    ClockState,
    ClockStatus,
    Complaint,
    Customer,
    Event,
    OutboxMessage,
    OutboxStatus,
)
from complaint_flow.model.immutable import EMPTY, thaw
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.services.audit import AuditReport
from complaint_flow.services.delivery import DeliveryReport, OutboxDispatcher
from complaint_flow.services.sweep import SweepReport
from complaint_flow.storage.contract import scheme_of

PLAIN_WIDTH = 120
"""Output width when writing to a file or pipe and ``COLUMNS`` is not set."""

F = TypeVar("F", bound=Callable[..., Any])


# -- plumbing -----------------------------------------------------------------


_GROUPS_ELSEWHERE = {
    "audit": "complaint_flow.commands.audit",
    "conduct": "complaint_flow.commands.conduct",
    "privacy": "complaint_flow.commands.privacy",
    "retention": "complaint_flow.commands.privacy",
}
"""Command groups kept in their own modules, loaded when first asked for.

Loading them lazily lets those modules use this one's helpers without an
import cycle, and keeps ``complaint-flow --help`` fast.
"""


class _Commands(click.Group):
    """The command group; turns the library's refusals into a red message and status 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_GROUPS_ELSEWHERE})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _GROUPS_ELSEWHERE:
            module = importlib.import_module(_GROUPS_ELSEWHERE[cmd_name])
            command = getattr(module, cmd_name)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UnknownWorkflowError as exc:
            if "--workflow-file" in _options_of(ctx):
                _fail(f"{exc} From the command line, pass its TOML file with --workflow-file PATH.")
            _fail(str(exc))
        except ComplaintFlowError as exc:
            _fail(str(exc))


def _options_of(ctx: click.Context) -> set[str]:
    """The options of the subcommand being run (empty if none could be found)."""
    name = ctx.invoked_subcommand
    group = ctx.command
    command = group.get_command(ctx, name) if name and isinstance(group, click.Group) else None
    if command is None:
        return set()
    return {option for param in command.params for option in param.opts}


def _fail(message: str) -> NoReturn:
    console = Console(stderr=True, highlight=False)
    console.print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)
    raise click.exceptions.Exit(1)


def _console() -> Console:
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # Piped output is read in files and logs: 80 columns would squash the tables.
        console = Console(highlight=False, width=PLAIN_WIDTH)
    return console


def _workflow_file_option(func: F) -> F:
    option = click.option(
        "--workflow-file",
        "workflow_files",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PATH",
        help="Register the TOML workflow in PATH for this command (repeatable): for "
        "complaints following a workflow that no installed plugin registers.",
    )
    return option(func)


def _open(
    store_url: str, *, workflow: str | None = None, workflow_files: Sequence[Path] = ()
) -> Engine:
    """Open an engine, with the workflows of ``workflow_files`` registered and checked.

    The default workflow is ``workflow`` (a registered name or the name of one of the
    files), else the first file's, else the engine's own default.
    """
    definitions = [WorkflowDefinition.load(path) for path in workflow_files]
    by_name: dict[str, WorkflowDefinition] = {}
    for path, definition in zip(workflow_files, definitions, strict=True):
        if definition.name in by_name:
            raise click.UsageError(
                f"two --workflow-file files define the workflow {definition.name!r} "
                f"(the second is {path}); give each workflow once"
            )
        by_name[definition.name] = definition
    if workflow is not None:
        engine = Engine.open(store_url, workflow=by_name.get(workflow, workflow))
    elif definitions:
        engine = Engine.open(store_url, workflow=definitions[0])
    else:
        engine = Engine.open(store_url)
    try:
        for definition in definitions:
            engine.registry.workflows[definition.name] = definition
            # Refuse a broken file now, not half-way through a sweep.
            engine.workflow(definition.name)
    except BaseException:
        engine.close()
        raise
    return engine


def _registry() -> Registry:
    return Registry(make_plugin_manager())


def parse_data(items: Iterable[str]) -> dict[str, str]:
    """Turn ``key=value`` texts (from ``--data``) into a mapping; values stay text.

    Each item is split at its first ``=``; a later item overrides an earlier key.

    Raises:
        click.BadParameter: an item has no ``=`` or an empty key.
    """
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"{item!r} is not key=value (e.g. --data facts='Box crushed in transit')"
            )
        data[key.strip()] = value
    return data


def _data_option(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    return parse_data(value)


# -- formatting ---------------------------------------------------------------


def _when(at: datetime, *, two_lines: bool = False) -> str:
    utc = at.astimezone(UTC)
    return f"{utc:%a %Y-%m-%d}{chr(10) if two_lines else ' '}{utc:%H:%M}"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(thaw(value), ensure_ascii=False)


def _data_lines(data: Mapping[str, Any]) -> Text:
    text = Text()
    for index, (key, value) in enumerate(data.items()):
        if index:
            text.append("\n")
        text.append(f"{key}: ", style="dim")
        text.append(_value(value))
    return text


def _actor(actor: Actor) -> Text:
    return Text.assemble(actor.name, (f"\n{actor.role}", "dim"))


def _contact_of(actor: Actor) -> str:
    parts = [f"{actor.name} ({actor.role}, rank {actor.rank})"]
    parts.extend(contact for contact in (actor.email, actor.phone) if contact)
    return " · ".join(parts)


def _customer_of(customer: Customer) -> str:
    parts = [f"{customer.name} ({customer.id})"]
    parts.extend(c for c in (customer.email, customer.phone, customer.postal_address) if c)
    parts.extend(f"{channel}: {address}" for channel, address in customer.contacts.items())
    return " · ".join(parts)


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
        text.append_text(_data_lines(data))
    return text


def _state_change(event: Event, *, two_lines: bool = True) -> str:
    if event.source and event.dest:
        return f"{event.source} →{chr(10) if two_lines else ' '}{event.dest}"
    if event.dest:
        return f"→ {event.dest}"
    return ""


COMPACT_BELOW = 120
"""Consoles narrower than this get the three-column timeline."""

WIDE_LIST_FROM = 140
"""Consoles at least this wide get every column in ``complaint-flow list``."""


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
            when = Text(_when(event.at, two_lines=True))
            when.append("\n")
            when.append_text(_actor(event.actor))
            table.add_row(str(event.seq), when, _what(event, state_and_reason=True))
        return table
    # Folding, never an ellipsis: a cut-off message id or name misleads.
    table.add_column("Actor", overflow="fold")
    table.add_column("What", overflow="fold")
    table.add_column("State", no_wrap=True)  # "source →" over "dest": names stay whole
    table.add_column("Reason", overflow="fold")
    for event in events:
        table.add_row(
            str(event.seq),
            _when(event.at, two_lines=True),
            _actor(event.actor),
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
        ("Customer", _customer_of(complaint.customer)),
        ("Channel", complaint.channel),
        ("Reply channel", complaint.reply_channel),
        ("Category", complaint.category),
        ("Severity", str(complaint.severity)),
        ("Summary", complaint.summary),
        ("Details", complaint.details),
        ("Desired outcome", complaint.desired_outcome),
        ("Owner", _contact_of(complaint.owner) if complaint.owner else "(nobody yet)"),
        ("Received", _when(complaint.received_at)),
        ("Updated", _when(complaint.updated_at)),
        ("External id", complaint.external_id or ""),
        ("Data", _data_lines(complaint.data) if complaint.data else "(none)"),
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
                f"{c.received_at.astimezone(UTC):%Y-%m-%d %H:%M}",
            ]
        cells.append(Text(c.summary))
        table.add_row(*cells)
    return table


def transitions_table(
    definition: WorkflowDefinition,
    transitions: Iterable[TransitionDefinition],
    title: str,
    *,
    show_sources: bool = True,
) -> Table:
    """Transitions of ``definition``: the move, roles, what they need, who they notify."""
    open_states = {s.name for s in definition.states if not s.terminal}
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("Trigger", style="bold", no_wrap=True)
    table.add_column("Move", no_wrap=not show_sources, overflow="fold")
    table.add_column("Roles", overflow="fold")
    table.add_column("Needs", overflow="fold")
    table.add_column("Notifies", overflow="fold")
    table.add_column("Description", overflow="fold")
    for t in transitions:
        if not show_sources:
            move = f"→ {t.dest}"
        elif len(t.sources) > 1 and set(t.sources) == open_states:
            move = f"any open state → {t.dest}"
        else:
            move = f"{', '.join(t.sources)} → {t.dest}"
        needs = [*t.requires, *(f"{guard} (guard)" for guard in t.guards)]
        table.add_row(
            Text(t.trigger),
            Text(move),
            Text("\n".join(t.roles) or "anyone"),
            Text("\n".join(needs)),
            Text("\n".join(t.notify)),
            Text(t.description),
        )
    return table


# -- the demo's rendering ------------------------------------------------------


def _duplicate_panel(duplicate: DuplicateDelivery) -> Panel:
    count = duplicate.complaints
    body = Text.assemble(
        f"The {duplicate.channel} message {duplicate.external_id} was delivered "
        f"{duplicate.deliveries} times → ",
        (f"{count} complaint" + ("" if count == 1 else "s"), "bold green"),
        f": {duplicate.reference}.\n",
        ("Intake is idempotent on (channel, external id): one received event, one reference.", ""),
    )
    return Panel(body, title="Duplicate delivery", title_align="left")


def _refusal_panel(refusal: Refusal) -> Panel:
    stored = "nothing was stored" if refusal.nothing_stored else "THE COMPLAINT CHANGED"
    body = Text.assemble(
        f"{refusal.actor.name} ({refusal.actor.role}) tried {refusal.trigger!r} on "
        f"{refusal.reference} and was refused ({refusal.error}):\n",
        (refusal.message, "bold red"),
        "\n",
        (
            f"{stored}: version {refusal.version_before} → {refusal.version_after}, "
            f"audit trail {refusal.events_before} → {refusal.events_after} events.",
            "dim",
        ),
    )
    return Panel(body, title="Role refusal", title_align="left")


def _by(actor: Actor) -> str:
    return f"{actor.name} ({actor.role})"


def _written_ack(message: OutboxMessage | None) -> Text:
    if message is None:
        return Text("not acknowledged: no written address known", style="bold red")
    delivered = (
        f", delivered {_when(message.delivered_at)}" if message.delivered_at is not None else ""
    )
    return Text.assemble(
        "acknowledged in writing by ",
        (message.channel, "bold"),
        f" to {message.address or '(no address)'}{delivered}",
    )


def _outcome(resolved: Event) -> str:
    """A review item's outcome in words (``no_new_information`` → "no new information")."""
    return str(resolved.data.get("outcome", "?")).replace("_", " ")


def _stop_rows(stop: StopProcedure) -> list[tuple[str, Text]]:
    warned, restricted = stop.event("warned"), stop.event("restricted")
    filed, read = stop.event("contact_filed"), stop.event("review_item_resolved")
    appealed, decided = stop.event("appealed"), stop.event("appeal_decided")
    review_at = restricted.data.get("review_at")
    review = _when(datetime.fromisoformat(review_at)) if isinstance(review_at, str) else "?"
    call = stop.call
    if stop.restriction_stands:
        verdict = Text("dismissed, the restriction stands until its review", style="bold")
    else:
        verdict = Text("allowed, the restriction ends", style="bold")
    return [
        (
            _when(warned.at),
            Text.assemble(("warned", "bold yellow"), f" by {_by(warned.actor)}: {warned.reason}"),
        ),
        (
            _when(restricted.at),
            Text.assemble(
                ("restricted", "bold red"),
                f" by {_by(restricted.actor)}: {restricted.reason}\n",
                " ".join(stop.restrictions),
                f" Review on {review}.",
            ),
        ),
        (
            _when(filed.at),
            Text.assemble(
                f"phoned ({call.item.summary if call.item else '?'!r}) → ",
                (call.kind.value, "bold green"),
                " in the review queue, not dropped: ",
                "; ".join(call.reasons),
                "\n",
                _written_ack(stop.acknowledgement),
            ),
        ),
        (
            _when(read.at),
            Text(f"read by {_by(read.actor)}: {_outcome(read)} ({read.reason})"),
        ),
        (
            _when(appealed.at),
            Text.assemble(
                ("appealed", "bold"),
                f" by {appealed.data.get('received_via', '?')}, recorded by "
                f"{_by(appealed.actor)}: {appealed.reason}",
            ),
        ),
        (
            _when(decided.at),
            Text.assemble(
                f"appeal decided by {_by(decided.actor)}, who took no part in the restriction: ",
                verdict,
                f" ({decided.reason})",
            ),
        ),
    ]


def _linked_rows(linked: LinkedContact) -> list[tuple[str, Text]]:
    decision, outcome, decided = linked.decision, linked.outcome, linked.decided
    return [
        (
            _when(decision.at),
            Text.assemble(
                ("final decision", "bold"),
                f" on {decided.reference} by {_by(decision.actor)}: {decision.reason}",
            ),
        ),
        (
            _when(
                outcome.item.received_at
                if outcome.item and outcome.item.received_at
                else decision.at
            ),
            Text.assemble(
                f"{decided.customer.name} wrote again by {linked.intake.channel} "
                f"({linked.intake.summary!r}) → ",
                (outcome.kind.value, "bold green"),
                f" to {decided.reference}, no new complaint opened\n",
                _written_ack(linked.acknowledgement),
            ),
        ),
        (
            _when(linked.reading.at),
            Text(
                f"read by {_by(linked.reading.actor)}: "
                f"{_outcome(linked.reading)} ({linked.reading.reason})"
            ),
        ),
    ]


def _stop_panel(stop: StopProcedure, linked: LinkedContact) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    record = stop.record
    grid.add_row(
        "",
        Text.assemble(
            (f"{stop.customer.name} ({stop.customer.id})", "bold"),
            " made abusive calls to staff. His conduct record is now ",
            (record.status.value, "bold"),
            f" ({len(stop.history)} events in its own audit trail).",
        ),
    )
    for when, what in _stop_rows(stop):
        grid.add_row(when, what)
    grid.add_row("", Text())
    grid.add_row(
        "",
        Text.assemble(
            ("A decided complaint raised again", "bold"),
            ": a message about it becomes a linked contact.",
        ),
    )
    for when, what in _linked_rows(linked):
        grid.add_row(when, what)
    return Panel(grid, title="Stop procedure", title_align="left")


def _audit_line(report: AuditReport) -> Text:
    counts = (
        f"Audit check of the whole store: {report.complaints} complaints, "
        f"{report.conduct_records} conduct records, {report.events} events: "
    )
    if report.ok:
        return Text.assemble(counts, ("audit trail intact", "bold green"))
    return Text.assemble(
        counts,
        (
            f"{len(report.problems)} problem(s) in {len(report.subjects)} trail(s); "
            "see complaint-flow audit verify",
            "bold red",
        ),
    )


def _notifications_table(notifications: Sequence[Notification]) -> Table:
    table = Table(
        title="Notifications delivered from the outbox: who was told what, on which channel",
        title_justify="left",
    )
    table.add_column("Delivered (UTC)", no_wrap=True)
    table.add_column("About", no_wrap=True)
    table.add_column("To", overflow="fold")
    table.add_column("On", overflow="fold")
    table.add_column("Message", overflow="fold")
    for n in notifications:
        table.add_row(
            _when(n.delivered_at, two_lines=True),
            # The "To" column names the customer; their record id would squash the table.
            Text("conduct\nrecord", style="italic")
            if is_conduct_record_id(n.reference)
            else n.reference,
            Text.assemble(n.name, (f"\n{n.recipient}", "dim")),
            Text.assemble((n.channel, "bold"), f"\n{n.address or '(no address)'}"),
            Text(n.text),
        )
    return table


def _counts_table(title: str, counts: Mapping[str, int], what: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(what)
    table.add_column("Complaints", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    return table


def _report(result: DemoResult) -> RenderableType:
    delivery = result.delivery
    summary = Text.assemble(
        f"Complaints this run: {len(result.complaints)} "
        f"(store held {result.stored_before} before, {result.stored_after} now)\n",
        f"Notifications delivered: {delivery.delivered}",
        f" (failed {delivery.failed}, dead {delivery.dead})" if delivery.failed else "",
        f"\nDeadlines caught by the evening sweeps: {result.deadlines.warnings} near, "
        f"{result.deadlines.breaches} missed, {result.deadlines.escalations} escalated",
        f"\nWeek simulated: {_when(result.started_at)} → {_when(result.finished_at)} UTC",
    )
    return Panel(
        Group(
            Columns(
                [
                    _counts_table("Per state", result.counts_by_state, "State"),
                    _counts_table("Per channel", result.counts_by_channel, "Channel"),
                ]
            ),
            summary,
        ),
        title="Report",
        title_align="left",
    )


def render_demo(console: Console, result: DemoResult) -> None:
    """Print a demo run: timelines, duplicate, refusal, stop procedure, notifications, report.

    The last line is the audit check of the whole store.
    """
    console.rule("complaint_flow demo: the TACTICS workflow")
    console.print(
        Text(
            f"Store {result.store_url}: {result.stored_before} complaints were there before "
            f"this run; they are kept. Run id {result.run_id} is part of this run's channel "
            "message ids, so each run adds its own complaints.",
        )
    )
    for story in result.complaints:
        c = story.complaint
        title = Text.assemble(
            (c.reference, "bold"),
            f" · {story.label} · {c.channel} (reply on {c.reply_channel}) · now ",
            (c.state, "bold green"),
        )
        console.print()
        console.print(title)
        console.print(Text(f"{c.customer.name}: {c.summary}", style="italic"))
        console.print(timeline_table(story.history, compact=console.width < COMPACT_BELOW))
    console.print()
    console.print(_duplicate_panel(result.duplicate))
    console.print(_refusal_panel(result.refusal))
    console.print(_stop_panel(result.stop, result.linked))
    console.print(_notifications_table(result.notifications))
    console.print(_report(result))
    console.print(_audit_line(result.audit))
    if scheme_of(result.store_url) == "memory":
        console.print(
            Text(
                "memory:// keeps nothing once the command ends; run the demo without --store "
                "to keep its complaints in complaints.db and explore them.",
                style="dim",
            )
        )
        return
    first = result.complaints[0].complaint.reference
    console.print(
        Text(
            "Explore the stored complaints:\n"
            f"  complaint-flow list --store {result.store_url}\n"
            f"  complaint-flow show {first} --store {result.store_url}\n"
            f"  complaint-flow history {first} --store {result.store_url}\n"
            f"  complaint-flow triggers {first} --role supervisor --store {result.store_url}\n"
            f"  complaint-flow conduct show {result.stop.customer.id} --store {result.store_url}\n"
            f"  complaint-flow audit verify --store {result.store_url}",
            style="dim",
        )
    )


# -- deadlines and sweeps -----------------------------------------------------


def _clock_status(state: ClockState, now: datetime) -> Text:
    if state.status is ClockStatus.STOPPED:
        text = Text("stopped", style="dim")
        if state.stopped_at is not None:
            text.append(f"\n{_when(state.stopped_at, two_lines=True)}", style="dim")
        return text
    if state.status is ClockStatus.PAUSED:
        text = Text("paused since", style="yellow")
        if state.paused_at is not None:
            text.append(f"\n{_when(state.paused_at, two_lines=True)}", style="dim")
        return text
    text = Text("running", style="green")
    if not state.breached and state.deadline <= now:
        # Missed, but no sweep has recorded it yet.
        text.append("\noverdue", style="bold red")
    return text


def _warned_breached(state: ClockState) -> Text:
    if state.breached:
        return Text("breached", style="bold red")
    if state.warned:
        return Text("warned", style="yellow")
    return Text("no")


def _clock_rule(definition: ClockDefinition | None) -> Text:
    if definition is None:
        return Text()
    text = Text(f"{definition.title}\n" if definition.title else "")
    text.append(f"{definition.duration}\n{definition.calendar} calendar", style="dim")
    return text


def clocks_table(
    complaint: Complaint,
    definition: WorkflowDefinition | None,
    now: datetime,
    title: str = "",
    *,
    compact: bool = False,
) -> Table:
    """A complaint's deadline clocks: status, start, deadline, warning, what a sweep did.

    ``definition`` (the complaint's workflow, when known) gives each clock's title
    and rule (duration and calendar). A running clock whose deadline is at or
    before ``now`` and that no sweep has marked breached yet is shown as overdue.
    ``compact`` puts the rule under the clock's name and the extensions under
    what the sweeps recorded, for consoles narrower than ``COMPACT_BELOW``.
    """
    rules = {clock.name: clock for clock in definition.clocks} if definition else {}
    table = Table(title=title or None, title_justify="left", show_lines=True)
    # Names and times stay whole: a folded time is easily misread.
    table.add_column("Clock", no_wrap=not compact, overflow="fold")
    if not compact:
        table.add_column("Rule", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Started (UTC)", no_wrap=True)
    table.add_column("Deadline (UTC)", no_wrap=True)
    table.add_column("Warning (UTC)", no_wrap=True)
    table.add_column("Warned / breached", overflow="fold")
    if not compact:
        table.add_column("Extensions", justify="right", overflow="fold")
    for state in complaint.clocks:
        rule = _clock_rule(rules.get(state.name))
        name = Text(state.name, style="bold")
        marks = _warned_breached(state)
        if compact:
            if rule:
                name.append("\n")
                name.append_text(rule)
            if state.extensions:
                marks.append(f"\nextensions: {state.extensions}", style="dim")
        cells: list[RenderableType] = [
            name,
            _clock_status(state, now),
            _when(state.started_at, two_lines=True),
            _when(state.deadline, two_lines=True),
            _when(state.warning_at, two_lines=True) if state.warning_at else "—",
            marks,
        ]
        if not compact:
            cells.insert(1, rule)
            cells.append(str(state.extensions))
        table.add_row(*cells)
    return table


_SWEEP_COUNTS = (
    ("examined", "Complaints examined", "due complaints read through the due-time index"),
    ("warnings", "Warnings", "owners told that a deadline is near"),
    ("breaches", "Breaches", "missed deadlines recorded; owners told"),
    ("escalations", "Escalations", "breached complaints moved one level up the ladder"),
    ("conflicts", "Conflicts", "changed by another writer first: re-read and re-checked"),
    ("top_of_ladder", "Top of ladder", "breaches that could not escalate any further"),
    ("unknown_workflow", "Unknown workflow", "due, but of a workflow not registered here"),
    ("lapsed", "Lapsed restrictions", "conduct restrictions that lapsed at their review date"),
)

_UNKNOWN_WORKFLOW_HINT = (
    "{count} due complaint(s) follow a workflow this command does not know and were left "
    "as they are; register it with --workflow-file PATH (or install its plugin) and sweep again"
)


def sweep_table(report: SweepReport, title: str) -> Table:
    """What a sweep (or the sum of several) did, one count per row."""
    table = Table(title=title, title_justify="left")
    table.add_column("What", no_wrap=True)
    table.add_column("Count", justify="right", no_wrap=True)
    table.add_column("Meaning", style="dim", overflow="fold")
    for field, label, meaning in _SWEEP_COUNTS:
        count: int = getattr(report, field)
        table.add_row(label, str(count), meaning)
    return table


def _added(total: SweepReport, report: SweepReport) -> SweepReport:
    """The counts of both; the time of the later."""
    counts = {field: getattr(total, field) + getattr(report, field) for field, *_ in _SWEEP_COUNTS}
    return attrs.evolve(total, at=report.at, **counts)


def _seconds(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def _sweep_line(number: int, report: SweepReport) -> Text:
    counts = "".join(
        f" · {label.lower()} {getattr(report, field)}"
        for field, label, _ in _SWEEP_COUNTS[1:]
        if getattr(report, field)
    )
    return Text(f"{_seconds(report.at)} UTC sweep {number}: examined {report.examined}{counts}")


def _watch_status(interval: float, sweeps: int, total: SweepReport | None) -> str:
    head = f"Sweeping every {interval:g} s · {sweeps} sweep(s)"
    if total is None:
        return f"{head} · Ctrl-C stops"
    return (
        f"{head} · last {total.at.astimezone(UTC):%H:%M:%S} UTC · examined {total.examined} · "
        f"warnings {total.warnings} · breaches {total.breaches} · "
        f"escalations {total.escalations} · conflicts {total.conflicts} · "
        f"lapsed {total.lapsed} · Ctrl-C stops"
    )


def _pause(seconds: float) -> None:
    """Wait between sweeps (a seam for tests)."""
    time.sleep(seconds)


@attrs.define
class _Watched:
    sweeps: int = 0
    first_at: datetime | None = None
    total: SweepReport | None = None
    interrupted: bool = False


def _watch(
    engine: Engine,
    console: Console,
    *,
    interval: float,
    iterations: int | None,
    batch: int,
) -> _Watched:
    watched = _Watched()
    status = console.status(_watch_status(interval, 0, None))
    try:
        with status:
            while True:
                started = time.monotonic()
                report = engine.sweep(batch=batch)
                watched.sweeps += 1
                watched.first_at = watched.first_at or report.at
                watched.total = report if watched.total is None else _added(watched.total, report)
                if report.examined:
                    # Printed above the status line, so that logs keep what each sweep did.
                    console.print(_sweep_line(watched.sweeps, report))
                status.update(_watch_status(interval, watched.sweeps, watched.total))
                if iterations is not None and watched.sweeps >= iterations:
                    break
                _pause(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        watched.interrupted = True
    return watched


# -- commands -----------------------------------------------------------------


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="complaint-flow")
def cli() -> None:
    """Handle customer complaints: demo, inspect and move complaints, sweep deadlines, workflows."""


@cli.command()
@click.option(
    "--store",
    "store_url",
    default=DEFAULT_STORE_URL,
    show_default=True,
    metavar="URL",
    help="Where the demo keeps its complaints (complaints.db in the current directory).",
)
def demo(store_url: str) -> None:
    """Take sample complaints from five channels through the TACTICS workflow.

    Prints each complaint's timeline, a duplicate delivery, a role refusal, the
    stop procedure (a warning, a written-only restriction, a phone call filed and
    acknowledged in writing, an appeal; a decided complaint raised again and
    linked), the notifications delivered, a short report and a check of the
    store's audit trail. Running it again adds a new set.
    """
    render_demo(_console(), run_demo(store_url))


@cli.command()
@click.argument("complaint")
@store_option
def show(complaint: str, store_url: str) -> None:
    """Show a complaint (by reference such as CF-2026-000001, or by id)."""
    with _open(store_url) as engine:
        _console().print(complaint_panel(engine.get(complaint)))


@cli.command()
@click.argument("complaint")
@store_option
def history(complaint: str, store_url: str) -> None:
    """Show a complaint's audit trail: who did what, when and why."""
    with _open(store_url) as engine:
        current = engine.get(complaint)
        events = engine.history(current.id)
    console = _console()
    title = f"{current.reference} · {current.summary}"
    console.print(timeline_table(events, title, compact=console.width < COMPACT_BELOW))


@cli.command()
@click.argument("complaint")
@click.option("--role", required=True, help="The actor's role (e.g. agent, supervisor, manager).")
@click.option("--rank", type=int, default=1, show_default=True, help="The actor's rank.")
@store_option
@_workflow_file_option
def triggers(
    complaint: str, role: str, rank: int, store_url: str, workflow_files: tuple[Path, ...]
) -> None:
    """List what an actor of ROLE may do with a complaint now."""
    actor = Actor(id=f"cli-{role}", name=role, role=role, rank=rank)
    with _open(store_url, workflow_files=workflow_files) as engine:
        current = engine.get(complaint)
        allowed = set(engine.triggers(current.id, actor))
        definition = engine.workflow(current.workflow)
        leaving = [t for t in definition.transitions if current.state in t.sources]
    console = _console()
    mine = [t for t in leaving if t.trigger in allowed]
    title = f"{current.reference} is {current.state}: what role {role!r} may do"
    if mine:
        console.print(transitions_table(definition, mine, title, show_sources=False))
    else:
        console.print(
            Text(f"{current.reference} is {current.state}: nothing role {role!r} may do.")
        )
    for t in leaving:
        if t.trigger not in allowed:
            console.print(Text(f"{t.trigger}: only {', '.join(t.roles)}", style="dim"))


@cli.command()
@click.argument("complaint")
@click.argument("trigger")
@click.option("--actor-id", required=True, help="Who fires it (their id).")
@click.option("--actor-name", required=True, help="Their name, for the audit trail.")
@click.option("--role", required=True, help="Their role (e.g. agent, supervisor, manager).")
@click.option("--rank", type=int, default=1, show_default=True, help="Their rank.")
@click.option("--reason", default="", help="Why (kept in the audit trail).")
@click.option(
    "--data",
    "data",
    metavar="KEY=VALUE",
    multiple=True,
    callback=_data_option,
    help="Information recorded with the step, as key=value (repeatable).",
)
@click.option(
    "--expected-version",
    type=int,
    default=None,
    help="Refuse if the complaint is no longer at this version.",
)
@store_option
@_workflow_file_option
def fire(
    complaint: str,
    trigger: str,
    actor_id: str,
    actor_name: str,
    role: str,
    rank: int,
    reason: str,
    data: dict[str, str],
    expected_version: int | None,
    store_url: str,
    workflow_files: tuple[Path, ...],
) -> None:
    """Fire TRIGGER on a complaint and print its new state."""
    actor = Actor(id=actor_id, name=actor_name, role=role, rank=rank)
    with _open(store_url, workflow_files=workflow_files) as engine:
        updated = engine.fire(
            complaint,
            trigger,
            actor=actor,
            reason=reason,
            data=data,
            expected_version=expected_version,
        )
        event = next(e for e in reversed(engine.history(updated.id)) if e.seq == updated.version)
        queued = [m for m in engine.outbox(updated.id) if m.event_seq == updated.version]
    console = _console()
    console.print(
        Text.assemble(
            (updated.reference, "bold"),
            f": {trigger} by {actor.name} ({actor.role}): {event.source} → ",
            (updated.state, "bold green"),
            f" (version {updated.version})",
        )
    )
    for message in queued:
        console.print(
            Text(
                f"queued: tell the {message.recipient} on {message.channel} "
                f"({message.address or 'no address'})",
                style="dim",
            )
        )


@cli.command(name="list")
@click.option("--state", default=None, help="Only complaints in this state.")
@click.option("--customer", "customer_id", default=None, help="Only this customer's (by id).")
@click.option("--category", default=None, help="Only this category.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many.")
@store_option
def list_complaints(
    state: str | None,
    customer_id: str | None,
    category: str | None,
    limit: int | None,
    store_url: str,
) -> None:
    """List complaints, oldest received first."""
    with _open(store_url) as engine:
        found = engine.find(state=state, customer_id=customer_id, category=category, limit=limit)
    console = _console()
    if not found:
        console.print(Text("No complaints match."))
        return
    compact = console.width < WIDE_LIST_FROM
    console.print(complaints_table(found, f"Complaints ({len(found)})", compact=compact))


@cli.command()
@click.argument("complaint")
@store_option
@_workflow_file_option
def clocks(complaint: str, store_url: str, workflow_files: tuple[Path, ...]) -> None:
    """Show a complaint's deadline clocks: status, deadline, warning, extensions."""
    with _open(store_url, workflow_files=workflow_files) as engine:
        current = engine.get(complaint)
        now = engine.now()
        # Titles and rules only: the clock states themselves are stored with the complaint.
        definition = engine.registry.workflows.get(current.workflow)
    console = _console()
    if not current.clocks:
        console.print(
            Text(
                f"{current.reference} has no deadline clocks (workflow {current.workflow!r}"
                + (" declares none)." if definition is not None and not definition.clocks else ").")
            )
        )
        return
    title = f"{current.reference} · {current.state} · deadline clocks"
    console.print(
        clocks_table(current, definition, now, title, compact=console.width < COMPACT_BELOW)
    )
    if current.due_at is None:
        console.print(Text("Nothing due: no running clock has a warning or deadline ahead."))
    else:
        console.print(
            Text(f"Next due: {_when(current.due_at)} UTC (a sweep from then on acts on it).")
        )
    if definition is None:
        console.print(
            Text(
                f"Workflow {current.workflow!r} is not registered here, so clock titles and "
                "rules are not shown; pass --workflow-file to see them.",
                style="dim",
            )
        )


@cli.command(name="sweep")
@click.argument("url", required=False, metavar="[URL]")
@store_option
@click.option(
    "--watch",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Sweep again every SECONDS, showing running totals, until Ctrl-C.",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="With --watch: stop after N sweeps.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    metavar="N",
    help="How many due complaints to read from the store at a time.",
)
@click.option(
    "--workflow",
    default=None,
    metavar="NAME",
    help="The engine's default workflow (each complaint is swept by its own workflow).",
)
@_workflow_file_option
@click.pass_context
def sweep_command(
    ctx: click.Context,
    url: str | None,
    store_url: str,
    watch: float | None,
    iterations: int | None,
    batch: int,
    workflow: str | None,
    workflow_files: tuple[Path, ...],
) -> None:
    """Act on due deadline warnings and breaches, once or every --watch SECONDS.

    Records a warning or a breach on each due clock exactly once (even with several
    sweepers at once), notifies owners and escalates where the clock says so, then
    prints what it did. The store is URL, else --store.
    """
    if url is not None:
        explicit = ctx.get_parameter_source("store_url") is click.core.ParameterSource.COMMANDLINE
        if explicit and url != store_url:
            raise click.UsageError(f"two stores given: {url} and --store {store_url}; give one")
        store_url = url
    if iterations is not None and watch is None:
        raise click.UsageError("--iterations counts --watch sweeps; add --watch SECONDS")
    console = _console()
    with _open(store_url, workflow=workflow, workflow_files=workflow_files) as engine:
        if watch is None:
            report = engine.sweep(batch=batch)
            console.print(sweep_table(report, f"Sweep of {store_url} at {_when(report.at)} UTC"))
            if not report.examined:
                console.print(Text("Nothing was due."))
            if report.unknown_workflow:
                _fail(_UNKNOWN_WORKFLOW_HINT.format(count=report.unknown_workflow))
            return
        watched = _watch(engine, console, interval=watch, iterations=iterations, batch=batch)
    if watched.total is None or watched.first_at is None:
        console.print(Text("Stopped before the first sweep finished; nothing counted."))
        return
    span = f"{_when(watched.first_at)} → {_when(watched.total.at)} UTC"
    title = f"{watched.sweeps} sweep(s) of {store_url}, {span}"
    console.print(sweep_table(watched.total, title))
    if watched.total.unknown_workflow:
        _fail(_UNKNOWN_WORKFLOW_HINT.format(count=watched.total.unknown_workflow))
    if watched.interrupted:
        console.print(
            Text(
                "Stopped by Ctrl-C. A sweep cut short is not counted above; what it had "
                "recorded is kept in the store, and the next sweep finishes its work.",
                style="dim",
            )
        )


@cli.group()
def workflow() -> None:
    """Check and show workflow definitions."""


@workflow.command(name="check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def workflow_check(file: Path) -> None:
    """Validate the TOML workflow in FILE against the registered guards."""
    registry = _registry()
    try:
        definition = WorkflowDefinition.load(file)
    except WorkflowDefinitionError as exc:
        name, problems = exc.workflow, exc.problems
    else:
        name, problems = definition.name, definition.problems(registry.guards)
    console = _console()
    if problems:
        err = Console(stderr=True, highlight=False)
        err.print(
            Text(f"{file}: workflow {name!r} has {len(problems)} problem(s):", style="bold red"),
            soft_wrap=True,
        )
        for problem in problems:
            err.print(Text(f"  - {problem}", style="red"), soft_wrap=True)
        raise click.exceptions.Exit(1)
    terminal = len(definition.terminal_states)
    console.print(
        Text.assemble(
            ("OK", "bold green"),
            f" {file}: workflow {definition.name!r} — {len(definition.states)} states "
            f"({terminal} terminal), {len(definition.transitions)} transitions, "
            f"{len(definition.triggers)} triggers, initial state {definition.initial!r}",
        ),
        soft_wrap=True,
    )


def _definition(name: str) -> WorkflowDefinition:
    path = Path(name)
    if name.endswith(".toml") or path.is_file():
        return WorkflowDefinition.load(path)
    return _registry().workflow(name)


@workflow.command(name="show")
@click.argument("name")
@click.option("--mermaid", is_flag=True, help="Print a Mermaid stateDiagram-v2 instead.")
def workflow_show(name: str, mermaid: bool) -> None:
    """Show the registered workflow NAME (or a .toml file): its states and transitions."""
    definition = _definition(name)
    if mermaid:
        # Plain text: Mermaid's "[*]" must not be read as console markup.
        click.echo(to_mermaid(definition), nl=False)
        return
    console = _console()
    heading = f"{definition.name}: {definition.title}" if definition.title else definition.name
    console.print(Text(f"{heading} (version {definition.version})", style="bold"))
    if definition.description:
        console.print(Text(definition.description))
    states = Table(title="States", title_justify="left")
    states.add_column("State", style="bold", no_wrap=True)
    states.add_column("Kind", no_wrap=True)
    states.add_column("Description")
    for state in definition.states:
        kind = "initial" if state.name == definition.initial else ""
        kind = "terminal" if state.terminal else kind
        states.add_row(state.name, kind, Text(state.description))
    console.print(states)
    console.print(transitions_table(definition, definition.transitions, "Transitions"))


@attrs.frozen
class _SchemaTools:
    """What ``complaint-flow db`` needs of a SQL store module."""

    schema_version: Callable[[str], int | None]
    upgrade: Callable[[str], tuple[int, int]]
    current: int


def _schema_tools(url: str) -> _SchemaTools:
    """The migration functions of the store module for ``url``'s scheme."""
    scheme = scheme_of(url)
    if scheme == "sqlite":
        from complaint_flow.storage import sqlite

        return _SchemaTools(sqlite.schema_version, sqlite.upgrade, sqlite.SCHEMA_VERSION)
    if scheme in ("postgresql", "postgres"):
        # Imported on use: psycopg is an optional dependency (the ``postgres`` extra).
        from complaint_flow.storage import postgres

        return _SchemaTools(postgres.schema_version, postgres.upgrade, postgres.SCHEMA_VERSION)
    if scheme == "memory":
        raise StoreError(f"nothing to upgrade: memory stores keep nothing ({url!r})")
    raise StoreError(
        f"complaint-flow db cannot handle {url!r}: it knows the schemas of sqlite:/// and "
        "postgresql:// stores (e.g. 'sqlite:///complaints.db'); a store a plugin registers "
        "upgrades its own schema, as its documentation says"
    )


@cli.group()
def db() -> None:
    """Show and upgrade the schema version of a SQLite or PostgreSQL store."""


@db.command(name="version")
@click.argument("url")
def db_version(url: str) -> None:
    """Show the schema version of the store at URL, without changing anything."""
    tools = _schema_tools(url)
    found = tools.schema_version(url)
    if found is None:
        click.echo("no complaint_flow schema yet")
    else:
        click.echo(f"schema version {found} (current: {tools.current})")


@db.command(name="upgrade")
@click.argument("url")
def db_upgrade(url: str) -> None:
    """Upgrade the store at URL to the current schema version, all or nothing.

    Back the database up and stop the workers using it first.
    """
    before, after = _schema_tools(url).upgrade(url)
    if before == after:
        click.echo(f"already at version {after}")
    else:
        click.echo(f"upgraded from {before} to {after}")


# -- the outbox -------------------------------------------------------------------

_OUTBOX_STATUSES: dict[str, OutboxStatus | None] = {
    "pending": OutboxStatus.PENDING,
    "dead": OutboxStatus.DEAD,
    "delivered": OutboxStatus.DELIVERED,
    "all": None,
}


def outbox_table(
    messages: Sequence[OutboxMessage], references: Mapping[str, str], title: str
) -> Table:
    """One row per outbox message: key, complaint, topic, recipient, where, status, attempts.

    Args:
        messages: the messages, in the order to show.
        references: complaint id to reference; a complaint missing from it is shown
            by its id.
        title: the table's title.
    """
    table = Table(title=title, title_justify="left")
    table.add_column("Key", overflow="fold")
    table.add_column("Complaint", no_wrap=True)
    table.add_column("Topic", overflow="fold")
    table.add_column("Recipient", overflow="fold")
    table.add_column("Channel / address", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Attempts", justify="right", no_wrap=True)
    table.add_column("Next attempt (UTC)", no_wrap=True)
    table.add_column("Last error", overflow="fold")
    styles = {
        OutboxStatus.PENDING: "yellow",
        OutboxStatus.DEAD: "bold red",
        OutboxStatus.DELIVERED: "green",
    }
    for m in messages:
        if m.status is not OutboxStatus.PENDING:
            next_attempt = ""
        elif m.next_attempt_at is None:
            next_attempt = "now"
        else:
            next_attempt = f"{m.next_attempt_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
        table.add_row(
            Text(m.key),
            references.get(m.complaint_id, m.complaint_id),
            Text(m.topic),
            Text(m.recipient),
            Text(f"{m.channel} {m.address}" if m.address else m.channel),
            Text(str(m.status), style=styles.get(m.status, "")),
            str(m.attempts),
            next_attempt,
            Text(m.last_error or ""),
        )
    return table


def _references(engine: Engine, messages: Iterable[OutboxMessage]) -> dict[str, str]:
    """The reference of each message's complaint (those no longer stored are left out)."""
    found: dict[str, str] = {}
    for complaint_id in {m.complaint_id for m in messages}:
        try:
            found[complaint_id] = engine.store.get(complaint_id).reference
        except ComplaintNotFoundError:
            continue
    return found


def _dispatcher(engine: Engine) -> OutboxDispatcher:
    return OutboxDispatcher(engine.store, engine.registry, engine.clock)


@cli.group(name="outbox", invoke_without_command=True)
@store_option
@click.option(
    "--status",
    type=click.Choice(list(_OUTBOX_STATUSES)),
    default="pending",
    show_default=True,
    help="Which messages to list.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many, oldest first.",
)
@click.pass_context
def outbox(ctx: click.Context, store_url: str, status: str, limit: int) -> None:
    """List outbox messages (pending by default); requeue dead ones; deliver.

    Without a subcommand, lists the messages with STATUS, oldest first.
    """
    if ctx.invoked_subcommand is not None:
        given = [
            name
            for name in ("store_url", "status", "limit")
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            # Otherwise `outbox --store X retry` would quietly act on the default store.
            raise click.UsageError(
                f"give the options after the subcommand: complaint-flow outbox "
                f"{ctx.invoked_subcommand} --store URL …"
            )
        return
    with _open(store_url) as engine:
        messages = engine.store.outbox_find(status=_OUTBOX_STATUSES[status], limit=limit)
        references = _references(engine, messages)
    console = _console()
    what = "" if status == "all" else f"{status} "
    if not messages:
        console.print(f"No {what}outbox messages in {store_url}.")
        return
    console.print(
        outbox_table(
            messages, references, f"Outbox: {len(messages)} {what}message(s), oldest first"
        )
    )


@outbox.command(name="retry")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option("--all-dead", is_flag=True, help="Requeue every dead message.")
@store_option
def outbox_retry(keys: tuple[str, ...], all_dead: bool, store_url: str) -> None:
    """Make the dead messages KEY… (or --all-dead) pending again, attempts reset to 0.

    An unknown key, or the key of a message that is not dead, requeues nothing.
    """
    if bool(keys) == all_dead:
        raise click.UsageError("give the keys of dead messages, or --all-dead (not both)")
    with _open(store_url) as engine:
        requeued = _dispatcher(engine).retry_dead(None if all_dead else list(keys))
        references = _references(engine, requeued)
    console = _console()
    if not requeued:
        console.print(f"No dead outbox messages in {store_url}: nothing to requeue.")
        return
    console.print(outbox_table(requeued, references, f"Requeued {len(requeued)} message(s)"))
    console.print(
        "They are due now: the next `complaint-flow outbox deliver` (or worker) delivers them.",
        markup=False,
    )


@outbox.command(name="deliver")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many messages, oldest first.",
)
@store_option
def outbox_deliver(limit: int, store_url: str) -> None:
    """Run one delivery pass: hand due pending messages to the installed notifiers."""
    with _open(store_url) as engine:
        report = _dispatcher(engine).dispatch(limit)
    _console().print(_delivery_line(report))


def _delivery_line(report: DeliveryReport) -> Text:
    text = Text.assemble(
        ("Delivered ", ""),
        (str(report.delivered), "bold green"),
        (", failed ", ""),
        (str(report.failed), "bold red" if report.failed else ""),
        (", now dead ", ""),
        (str(report.dead), "bold red" if report.dead else ""),
        (".", ""),
    )
    if report.failed > report.dead:
        text.append(" Failed messages are retried by a later pass.")
    if report.dead:
        text.append(" List the dead with `complaint-flow outbox --status dead`.")
    return text


@cli.command()
def plugins() -> None:
    """List loaded plugins and their hooks, and the stores, channels, workflows, guards."""
    registry = _registry()
    console = _console()
    loaded = Table(title="Plugins", title_justify="left")
    loaded.add_column("Plugin", no_wrap=True)
    loaded.add_column("Hooks")
    for row in registry.describe():
        loaded.add_row(Text(str(row["name"])), Text(", ".join(row["hooks"])))
    console.print(loaded)

    stores = Table(title="Stores (by URL scheme)", title_justify="left")
    stores.add_column("Scheme", no_wrap=True)
    stores.add_column("Factory")
    for scheme, factory in sorted(registry.stores.items()):
        where = f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', '?')}"
        stores.add_row(f"{scheme}://", Text(where))
    console.print(stores)

    channels = Table(title="Channels", title_justify="left")
    channels.add_column("Channel", no_wrap=True)
    channels.add_column("Kind", no_wrap=True)
    channels.add_column("Description")
    for channel in registry.channels.values():
        channels.add_row(channel.name, str(channel.kind), Text(channel.description))
    console.print(channels)

    workflows = Table(title="Workflows", title_justify="left")
    for column in ("Workflow", "Title", "States", "Transitions"):
        workflows.add_column(column)
    for definition in registry.workflows.values():
        workflows.add_row(
            definition.name,
            Text(definition.title),
            str(len(definition.states)),
            str(len(definition.transitions)),
        )
    console.print(workflows)

    guards = Table(title="Guards", title_justify="left")
    guards.add_column("Guard", no_wrap=True)
    guards.add_column("Description")
    for guard_name, guard in sorted(registry.guards.items()):
        doc = (getattr(guard, "__doc__", None) or "").strip().splitlines()
        guards.add_row(guard_name, Text(doc[0].strip() if doc else ""))
    console.print(guards)


def main() -> None:
    """The console script ``complaint-flow``."""
    cli()


__all__ = [
    "STORE_ENV",
    "cli",
    "clocks_table",
    "complaint_panel",
    "complaints_table",
    "main",
    "outbox_table",
    "parse_data",
    "render_demo",
    "sweep_table",
    "timeline_table",
    "transitions_table",
]
