"""Satisfaction on the console: a complaint's check answer and survey, CSAT tables, guides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.cli.render.formats import when
from complaint_flow.model.entities import Complaint
from complaint_flow.model.satisfaction import CHECK_KEY, CsatRow, SurveyStatus, survey_of
from complaint_flow.services.staff_guides import Guide, level_line

_STATUS_STYLE = {
    SurveyStatus.OPEN: "yellow",
    SurveyStatus.ANSWERED: "green",
    SurveyStatus.EXPIRED: "dim",
    SurveyStatus.CANCELLED: "dim",
    SurveyStatus.SKIPPED: "dim",
}


def satisfaction_panel(complaint: Complaint) -> Panel:
    """What a complaint's customer said: the check step's answer and the survey."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    check = complaint.data.get(CHECK_KEY)
    if isinstance(check, Mapping):
        said = "satisfied" if check.get("satisfied") else "not satisfied"
        text = Text(said, style="green" if check.get("satisfied") else "red")
        text.append(f" ({check.get('step')}, {check.get('checks')} check(s))", style="dim")
        table.add_row("Check step", text)
        if check.get("feedback"):
            table.add_row("Feedback", Text(str(check["feedback"])))
    else:
        table.add_row("Check step", Text("not recorded", style="dim"))
    survey = survey_of(complaint)
    if survey is None:
        table.add_row("Survey", Text("none sent", style="dim"))
    else:
        table.add_row("Survey", Text(survey.status.value, style=_STATUS_STYLE[survey.status]))
        if survey.why:
            table.add_row("Why", Text(survey.why))
        if survey.sent_at is not None:
            reach = "" if survey.reachable else " (unreachable: kept in the outbox)"
            table.add_row("Sent", Text(f"{when(survey.sent_at)} UTC on {survey.channel}{reach}"))
        if survey.reminded_at is not None:
            table.add_row("Reminded", Text(f"{when(survey.reminded_at)} UTC"))
        elif survey.remind_at is not None and survey.open:
            table.add_row("Reminder due", Text(f"{when(survey.remind_at)} UTC"))
        if survey.expires_at is not None and survey.status is not SurveyStatus.ANSWERED:
            table.add_row("Expires", Text(f"{when(survey.expires_at)} UTC"))
        if survey.score is not None:
            table.add_row("Score", Text(f"{survey.score}/5", style="bold"))
            if survey.comment:
                table.add_row("Comment", Text(survey.comment))
            if survey.answered_at is not None:
                table.add_row("Answered", Text(f"{when(survey.answered_at)} UTC ({survey.via})"))
    return Panel(table, title=f"{complaint.reference} · satisfaction", expand=False)


def csat_table(rows: Sequence[CsatRow], by: Sequence[str], period: str | None) -> Table:
    """CSAT rows: the groups, the answers, the share of 4-5 scores and the mean."""
    table = Table(title="Customer satisfaction (CSAT: share of answers scoring 4 or 5)")
    if period is not None:
        table.add_column(period.capitalize(), no_wrap=True)
    for dimension in by:
        table.add_column(dimension.capitalize())
    table.add_column("Answers", justify="right")
    table.add_column("CSAT %", justify="right")
    table.add_column("Mean", justify="right")
    table.add_column("1 · 2 · 3 · 4 · 5", justify="right", style="dim")
    for row in rows:
        cells: list[RenderableType] = []
        if period is not None:
            cells.append(row.period.isoformat() if row.period else "")
        values: dict[str, Any] = {
            "category": row.category,
            "channel": row.channel,
            "team": row.team,
        }
        cells += [Text(values[d] or "(none)") for d in by]
        style = "green" if row.csat >= 80 else "yellow" if row.csat >= 60 else "red"
        cells += [
            str(row.answers),
            Text(f"{row.csat:.1f}", style=style),
            f"{row.mean:.2f}",
            " · ".join(str(n) for n in row.by_score),
        ]
        table.add_row(*cells)
    return table


def guide_view(guide: Guide) -> RenderableType:
    """A staff guide: a panel per ladder, then deadlines, remedies and steps as Markdown."""
    parts: list[RenderableType] = [
        Text(f"Staff guide: {guide.role}, rank {guide.rank}", style="bold"),
        Text(f"Workflow: {guide.workflow_title} ({guide.workflow})", style="dim"),
    ]
    for ladder in guide.ladders:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("You", _level(ladder.level) if ladder.level else Text("no level"))
        if ladder.level is not None and ladder.level.guidelines:
            grid.add_row("Your guidelines", Text(" ".join(ladder.level.guidelines.split())))
        if ladder.escalate_to is not None:
            grid.add_row("Escalate to", _level(ladder.escalate_to))
            if ladder.escalate_to.guidelines:
                guidelines = " ".join(ladder.escalate_to.guidelines.split())
                grid.add_row("Their guidelines", Text(guidelines, style="dim"))
        else:
            grid.add_row("Escalate to", Text("nobody: you are at the top of this ladder"))
        grid.add_row("Emergencies", _level(ladder.emergency))
        grid.add_row("You may grant", Text(ladder.authority))
        parts.append(Panel(grid, title=ladder.applies_to, subtitle=f"ladder {ladder.ladder.name}"))
    markdown = guide.to_markdown()
    rest = markdown[markdown.index("## When") :] if "## When" in markdown else markdown
    parts.append(Markdown(rest))
    return Group(*parts)


def _level(level: Any) -> Text:
    text = Text(level_line(level))
    if level.placeholder:
        text.stylize("yellow")
    return text


__all__ = ["csat_table", "guide_view", "satisfaction_panel"]
