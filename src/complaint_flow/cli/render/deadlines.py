"""Deadlines on the console: a complaint's clocks, and what sweeps did."""

from __future__ import annotations

from datetime import datetime

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from complaint_flow.cli.render.formats import second, span, time_of_day, when, working_span
from complaint_flow.definitions.deadlines import ClockDefinition
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.model.entities import ClockState, ClockStatus, Complaint
from complaint_flow.services.sweep import SweepReport


def _clock_status(state: ClockState, now: datetime) -> Text:
    if state.status is ClockStatus.STOPPED:
        text = Text("stopped", style="dim")
        if state.stopped_at is not None:
            text.append(f"\n{when(state.stopped_at, two_lines=True)}", style="dim")
        return text
    if state.status is ClockStatus.PAUSED:
        text = Text("paused since", style="yellow")
        if state.paused_at is not None:
            text.append(f"\n{when(state.paused_at, two_lines=True)}", style="dim")
        return text
    text = Text("running", style="green")
    if not state.breached and state.deadline <= now:
        # Missed, but no sweep has recorded it yet.
        text.append("\noverdue", style="bold red")
    return text


def _warned_breached(state: ClockState, now: datetime) -> Text:
    if state.breached:
        return Text("breached", style="bold red")
    running = state.status is ClockStatus.RUNNING
    # Past but not yet acted on: sweeps act on what is due, so the next one will.
    if running and state.deadline <= now:
        text = Text("warned; " if state.warned else "", style="yellow")
        text.append("overdue: the next sweep records the breach", style="bold red")
        return text
    if state.warned:
        return Text("warned", style="yellow")
    if running and state.warning_at is not None and state.warning_at <= now:
        return Text("warning due: the next sweep warns the owner", style="yellow")
    return Text("no")


def _paused_moment(
    moment: datetime,
    state: ClockState,
    rule: ClockDefinition | None,
    definition: WorkflowDefinition | None,
) -> Text | None:
    """What a paused clock has left until ``moment`` (None if ``moment`` came before the pause).

    A paused clock does not count down: when it resumes, its deadline and warning
    move on by the time paused, so the instant stored now is stale; the time left
    is what it will still have. Working-time rules count it on their calendar.
    """
    paused_at = state.paused_at
    if state.status is not ClockStatus.PAUSED or paused_at is None or moment <= paused_at:
        return None
    text = Text("paused", style="yellow")
    # One short line each: the column is as narrow as a date.
    if rule is None or definition is None:
        text.append("\ntime left\nunknown", style="dim")
    elif rule.counts_working_time:
        left = definition.calendar(rule.calendar).working_time_between(paused_at, moment)
        text.append(f"\n{working_span(left)}\nworking time\nleft")
    else:
        text.append(f"\n{span(moment - paused_at)}\nleft")
    return text


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
    and rule (duration and calendar). A running clock whose deadline (or warning
    time) is at or before ``now`` and that no sweep has acted on yet is shown as
    overdue (or its warning as due): the next sweep acts on it. A paused clock
    shows the time it has left instead of instants that move when it resumes.
    ``compact`` puts the rule under the clock's name and the extensions under
    what the sweeps recorded, for narrow consoles.
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
        clock = rules.get(state.name)
        rule = _clock_rule(clock)
        name = Text(state.name, style="bold")
        marks = _warned_breached(state, now)
        if compact:
            if rule:
                name.append("\n")
                name.append_text(rule)
            if state.extensions:
                marks.append(f"\nextensions: {state.extensions}", style="dim")
        deadline = _paused_moment(state.deadline, state, clock, definition)
        warning: RenderableType = "—"
        if state.warning_at is not None:
            warning = (
                None if state.warned else _paused_moment(state.warning_at, state, clock, definition)
            ) or when(state.warning_at, two_lines=True)
        cells: list[RenderableType] = [
            name,
            _clock_status(state, now),
            when(state.started_at, two_lines=True),
            deadline or when(state.deadline, two_lines=True),
            warning,
            marks,
        ]
        if not compact:
            cells.insert(1, rule)
            cells.append(str(state.extensions))
        table.add_row(*cells)
    return table


SWEEP_COUNTS = (
    ("examined", "Complaints examined", "due complaints read through the due-time index"),
    ("warnings", "Warnings", "owners told that a deadline is near"),
    ("breaches", "Breaches", "missed deadlines recorded; owners told"),
    ("escalations", "Escalations", "breached complaints moved one level up the ladder"),
    ("conflicts", "Conflicts", "changed by another writer first: re-read and re-checked"),
    ("top_of_ladder", "Top of ladder", "breaches that could not escalate any further"),
    ("unknown_workflow", "Unknown workflow", "due, but of a workflow not registered here"),
    ("lapsed", "Lapsed restrictions", "conduct restrictions that lapsed at their review date"),
)
"""The counts of a :class:`SweepReport`: field, label, meaning."""


def sweep_table(report: SweepReport, title: str) -> Table:
    """What a sweep (or the sum of several) did, one count per row."""
    table = Table(title=title, title_justify="left")
    table.add_column("What", no_wrap=True)
    table.add_column("Count", justify="right", no_wrap=True)
    table.add_column("Meaning", style="dim", overflow="fold")
    for field, label, meaning in SWEEP_COUNTS:
        count: int = getattr(report, field)
        table.add_row(label, str(count), meaning)
    return table


def sweep_line(number: int, report: SweepReport) -> Text:
    """One line for sweep ``number`` of a watch: its time and the counts that are not zero."""
    counts = "".join(
        f" · {label.lower()} {getattr(report, field)}"
        for field, label, _ in SWEEP_COUNTS[1:]
        if getattr(report, field)
    )
    return Text(f"{second(report.at)} UTC sweep {number}: examined {report.examined}{counts}")


def watch_status(interval: float, sweeps: int, total: SweepReport | None) -> str:
    """The status line of a watch: how often, how many sweeps, the running totals."""
    head = f"Sweeping every {interval:g} s · {sweeps} sweep(s)"
    if total is None:
        return f"{head} · Ctrl-C stops"
    return (
        f"{head} · last {time_of_day(total.at)} UTC · examined {total.examined} · "
        f"warnings {total.warnings} · breaches {total.breaches} · "
        f"escalations {total.escalations} · conflicts {total.conflicts} · "
        f"lapsed {total.lapsed} · Ctrl-C stops"
    )


__all__ = ["SWEEP_COUNTS", "clocks_table", "sweep_line", "sweep_table", "watch_status"]
