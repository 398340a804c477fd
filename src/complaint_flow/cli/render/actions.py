"""Corrective actions and root causes on the console: lists, an action, its check, the taxonomy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.cli.render.formats import actor_cell, contact_of, day, minute
from complaint_flow.definitions.root_causes import RootCauseTaxonomy
from complaint_flow.model.actions import CorrectiveAction, EffectCheck, Verdict
from complaint_flow.services.action_effects import DueChecksReport

_VERDICT_STYLES = {
    Verdict.EFFECTIVE: "green",
    Verdict.NOT_EFFECTIVE: "red",
    Verdict.INCONCLUSIVE: "yellow",
}


def verdict_text(verdict: Verdict | None) -> Text:
    """A verdict in words and colour (nothing if there is none)."""
    if verdict is None:
        return Text("")
    return Text(verdict.value.replace("_", " "), style=_VERDICT_STYLES[verdict])


def due_text(action: CorrectiveAction, now: datetime) -> Text:
    """The due day, marked when the action is overdue at ``now``."""
    text = Text(day(action.due_at))
    if action.overdue_at(now):
        text.append("\noverdue", style="bold red")
    return text


def actions_table(actions: Sequence[CorrectiveAction], now: datetime, title: str) -> Table:
    """Actions: id, kind, title, owner, status, due day, verdict."""
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("Action", no_wrap=True)
    table.add_column("Kind", overflow="fold")
    table.add_column("Title", overflow="fold")
    table.add_column("Owner", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Due", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    for action in actions:
        table.add_row(
            action.id,
            action.kind.value.replace("_", " "),
            action.title,
            actor_cell(action.owner),
            action.status.value,
            due_text(action, now),
            verdict_text(action.verdict),
        )
    return table


def action_panel(action: CorrectiveAction, now: datetime) -> Panel:
    """One action: kind, title, owner, status, dates, links."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("Kind", action.kind.value.replace("_", " "))
    grid.add_row("Title", Text(action.title))
    if action.description:
        grid.add_row("Description", Text(action.description))
    grid.add_row("Owner", contact_of(action.owner))
    grid.add_row("Status", action.status.value)
    grid.add_row("Due", due_text(action, now))
    grid.add_row("Opened", f"{minute(action.opened_at)} UTC by {action.opened_by}")
    if action.done_at is not None:
        grid.add_row("Done", f"{minute(action.done_at)} UTC")
    grid.add_row("Check period", f"{action.check_days} days before and after it is done")
    if action.check_due_at is not None:
        grid.add_row("Check due", f"{minute(action.check_due_at)} UTC")
    grid.add_row("Categories", Text(", ".join(action.categories) or "none", style=""))
    grid.add_row("Complaints", Text(", ".join(action.complaints) or "none"))
    if action.verdict is not None:
        grid.add_row("Verdict", verdict_text(action.verdict))
    if action.confirmed_by:
        grid.add_row("Confirmed by", action.confirmed_by)
    grid.add_row("Version", str(action.version))
    return Panel(grid, title=f"Corrective action · {action.id}", title_align="left")


def _figure(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def check_table(check: EffectCheck) -> Table:
    """The figures of an effectiveness check: the two periods side by side."""
    table = Table(
        title=f"Effectiveness check · {', '.join(check.categories)}",
        title_justify="left",
    )
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("Before", justify="right", no_wrap=True)
    table.add_column("After", justify="right", no_wrap=True)
    table.add_row("From", day(check.before_start), day(check.done_at))
    table.add_row("To", day(check.done_at), day(check.after_end))
    table.add_row("Complaints", str(check.before_count), str(check.after_count))
    table.add_row(
        f"Exposure ({check.exposure_unit})",
        f"{check.before_exposure:g}",
        f"{check.after_exposure:g}",
    )
    table.add_row(
        f"Rate per {check.exposure_unit.removesuffix('s')}",
        _figure(check.before_count / check.before_exposure),
        _figure(check.after_count / check.after_exposure),
    )
    table.add_row(
        "Each period",
        " ".join(str(count) for count in check.before_counts),
        " ".join(str(count) for count in check.after_counts),
    )
    return table


def check_summary(check: EffectCheck) -> Text:
    """The verdict, the rate ratio with its interval, the p-value and the method."""
    text = Text("Verdict: ")
    text.append_text(verdict_text(check.verdict))
    text.append(
        f" · rate ratio {_figure(check.rate_ratio)} (interval {_figure(check.low)} to "
        f"{_figure(check.high)}) · one-sided p = {_figure(check.p_value, 3)} · {check.method}"
    )
    return text


def check_view(action: CorrectiveAction) -> RenderableType:
    """An action's latest check: its figures and the verdict for a person to confirm."""
    assert action.check is not None  # shown only once checked
    return Group(check_table(action.check), check_summary(action.check))


def due_checks_table(report: DueChecksReport, actions: Sequence[CorrectiveAction]) -> Table:
    """What a run of the due checks found: each action checked with its verdict."""
    table = Table(
        title=f"Effectiveness checks due by {minute(report.at)} UTC", title_justify="left"
    )
    table.add_column("Action", no_wrap=True)
    table.add_column("Title", overflow="fold")
    table.add_column("Before → after", no_wrap=True)
    table.add_column("Rate ratio", justify="right", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    for action in actions:
        check = action.check
        if check is None:
            continue
        table.add_row(
            action.id,
            action.title,
            f"{check.before_count} → {check.after_count}",
            _figure(check.rate_ratio),
            verdict_text(check.verdict),
        )
    return table


def taxonomy_table(taxonomy: RootCauseTaxonomy) -> Table:
    """The causes of a taxonomy: name, title, group, the action kind that usually fixes it."""
    table = Table(title=taxonomy.title or "Root causes", title_justify="left")
    table.add_column("Cause", no_wrap=True)
    table.add_column("Title", overflow="fold")
    table.add_column("Group", overflow="fold")
    table.add_column("Usual action", overflow="fold")
    for cause in taxonomy.causes:
        table.add_row(
            cause.name,
            cause.title,
            cause.group,
            cause.action.value.replace("_", " ") if cause.action else Text("none", style="dim"),
        )
    return table


__all__ = [
    "action_panel",
    "actions_table",
    "check_summary",
    "check_table",
    "check_view",
    "due_checks_table",
    "due_text",
    "taxonomy_table",
    "verdict_text",
]
