"""``complaint-flow actions`` and ``complaint-flow root-cause``: learning from complaints.

``root-cause REF CAUSE`` records a complaint's root cause (the taxonomy's causes are
listed by ``actions causes``). ``actions`` opens corrective actions, moves them on
(start, complete), checks their effect on the complaint rate (one, or every check that
is due) and records a person's confirmation or reopening; ``list`` and ``show`` read
them. Each step is an audited event of the action, as in the library
(:class:`~complaint_flow.services.action_desk.ActionDesk`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Group, RenderableType
from rich.text import Text

from complaint_flow.cli.render.actions import (
    action_panel,
    actions_table,
    check_view,
    due_checks_table,
    taxonomy_table,
)
from complaint_flow.cli.render.complaints import COMPACT_BELOW, timeline_table
from complaint_flow.cli.render.formats import day, minute
from complaint_flow.cli.shared import (
    CommandGroup,
    console,
    fail,
    moment_callback,
    non_blank,
    open_engine,
    store_option,
    workflow_file_option,
)
from complaint_flow.model.actions import ActionKind, ActionStatus, CorrectiveAction
from complaint_flow.model.entities import SYSTEM, Actor
from complaint_flow.services.action_desk import ActionDesk

F = TypeVar("F", bound=Callable[..., Any])


def actor_options(func: F) -> F:
    """``--actor-id``, ``--actor-name``, ``--role`` and ``--actor-email``: who acts."""
    for option in reversed(
        (
            click.option("--actor-id", required=True, callback=non_blank, help="Who acts (id)."),
            click.option(
                "--actor-name", callback=non_blank, default=None, help="Their name (default: id)."
            ),
            click.option(
                "--role", required=True, callback=non_blank, help="Their role (e.g. manager)."
            ),
            click.option("--actor-email", default=None, help="Their email."),
        )
    ):
        func = option(func)
    return func


def _actor(actor_id: str, actor_name: str | None, role: str, email: str | None) -> Actor:
    return Actor(id=actor_id, name=actor_name or actor_id, role=role, email=email)


def _done_line(action: CorrectiveAction) -> str:
    return f"{action.id} is {action.status.value.replace('_', ' ')} (version {action.version})."


# -- root causes ----------------------------------------------------------------------------


@click.command("root-cause")
@click.argument("reference")
@click.argument("cause")
@click.option("--reason", default="", help="Why (required to change a recorded cause).")
@actor_options
@store_option
@workflow_file_option
def root_cause(
    reference: str,
    cause: str,
    reason: str,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
    workflow_files: tuple[Path, ...],
) -> None:
    """Record CAUSE as the root cause of complaint REFERENCE (`actions causes` lists them)."""
    actor = _actor(actor_id, actor_name, role, actor_email)
    with open_engine(store_url, must_exist=True, workflow_files=workflow_files) as engine:
        before = engine.get(reference)
        complaint = ActionDesk(engine).classify(reference, cause, actor=actor, reason=reason)
    out = console()
    recorded = complaint.data["root_cause"]
    if complaint.version == before.version:
        out.print(f"{complaint.reference} already has the root cause {cause}; nothing recorded.")
        return
    out.print(
        f"{complaint.reference}: root cause {recorded['cause']} ({recorded['title']}), "
        f"recorded by {actor.name}."
    )
    if recorded.get("action"):
        out.print(
            Text(
                f"Such causes are usually fixed by a {recorded['action'].replace('_', ' ')} "
                "action: complaint-flow actions open ...",
                style="dim",
            )
        )


# -- the actions group ----------------------------------------------------------------------


@click.group(cls=CommandGroup)
def actions() -> None:
    """Corrective actions: open, move on, check their effect, confirm; the root causes."""


@actions.command()
@click.option("--workflow", default=None, help="The causes of this workflow's complaints.")
@store_option
@workflow_file_option
def causes(workflow: str | None, store_url: str, workflow_files: tuple[Path, ...]) -> None:
    """List the root causes complaints are classified in."""
    with open_engine(store_url, workflow_files=workflow_files) as engine:
        taxonomy = ActionDesk(engine).causes(workflow=workflow)
    console().print(taxonomy_table(taxonomy))


@actions.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in ActionStatus]),
    help="Only actions with this status (repeatable).",
)
@click.option("--owner", "owner_id", default=None, help="Only the actions of this owner (id).")
@click.option("--overdue", is_flag=True, help="Only unfinished actions past their due time.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N.")
@click.option(
    "--as-of",
    callback=moment_callback,
    default=None,
    metavar="WHEN",
    help="Judge overdue at this time (ISO date or time, UTC unless given); default: now.",
)
@store_option
def list_actions(
    statuses: tuple[str, ...],
    owner_id: str | None,
    overdue: bool,
    limit: int | None,
    as_of: datetime | None,
    store_url: str,
) -> None:
    """List corrective actions, earliest due first."""
    with open_engine(store_url, must_exist=True) as engine:
        desk = ActionDesk(engine)
        now = as_of or engine.now()
        if overdue:
            found = [
                a
                for a in desk.overdue(now)
                if (not statuses or a.status.value in statuses)
                and (owner_id is None or a.owner.id == owner_id)
            ][:limit]
        else:
            found = desk.find(statuses=statuses or None, owner_id=owner_id, limit=limit)
    out = console()
    if not found:
        out.print(
            "No corrective action matches."
            if statuses or owner_id or overdue
            else ("No corrective action yet: complaint-flow actions open ...")
        )
        return
    title = "Overdue corrective actions" if overdue else "Corrective actions"
    out.print(actions_table(found, now, title))


@actions.command()
@click.argument("action_id")
@store_option
def show(action_id: str, store_url: str) -> None:
    """Show ACTION_ID: the action, its latest check and its history."""
    with open_engine(store_url, must_exist=True) as engine:
        desk = ActionDesk(engine)
        action = desk.get(action_id)
        events = desk.history(action_id)
        now = engine.now()
    out = console()
    parts: list[RenderableType] = [action_panel(action, now)]
    if action.check is not None:
        parts.append(check_view(action))
    parts.append(timeline_table(events, "History", compact=out.width < COMPACT_BELOW))
    out.print(Group(*parts))


@actions.command("open")
@click.option(
    "--kind",
    required=True,
    type=click.Choice([k.value for k in ActionKind]),
    help="The kind of measure.",
)
@click.option("--title", required=True, callback=non_blank, help="What is to be done.")
@click.option("--description", default="", help="More detail.")
@click.option("--owner-id", required=True, callback=non_blank, help="Who puts it in place (id).")
@click.option("--owner-name", default=None, help="The owner's name (default: the id).")
@click.option("--owner-role", default="agent", show_default=True, help="The owner's role.")
@click.option("--owner-email", default=None, help="The owner's email (or give a phone).")
@click.option("--owner-phone", default=None, help="The owner's phone.")
@click.option(
    "--due",
    required=True,
    callback=moment_callback,
    metavar="WHEN",
    help="When it must be done (ISO date or time, UTC unless given).",
)
@click.option("--complaint", "complaints", multiple=True, help="A complaint it comes from.")
@click.option(
    "--category",
    "categories",
    multiple=True,
    help="A category whose rate it should lower (default: the complaints').",
)
@click.option(
    "--check-weeks",
    type=click.IntRange(min=1, max=156),
    default=12,
    show_default=True,
    help="Check its effect this many weeks after it is done.",
)
@actor_options
@store_option
def open_action(
    kind: str,
    title: str,
    description: str,
    owner_id: str,
    owner_name: str | None,
    owner_role: str,
    owner_email: str | None,
    owner_phone: str | None,
    due: datetime,
    complaints: tuple[str, ...],
    categories: tuple[str, ...],
    check_weeks: int,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Open a corrective action; its owner is told."""
    owner = Actor(
        id=owner_id,
        name=owner_name or owner_id,
        role=owner_role,
        email=owner_email,
        phone=owner_phone,
    )
    actor = _actor(actor_id, actor_name, role, actor_email)
    with open_engine(store_url) as engine:
        action = ActionDesk(engine).open(
            kind=kind,
            title=title,
            owner=owner,
            due_at=due,
            actor=actor,
            description=description,
            complaints=complaints,
            categories=categories or None,
            check_after=timedelta(weeks=check_weeks),
        )
    out = console()
    out.print(
        f"Opened {action.id} ({action.kind.value.replace('_', ' ')}): {action.title} — "
        f"owner {action.owner.name}, due {day(action.due_at)}."
    )
    if not action.categories:
        out.print(
            Text(
                "It has no category yet: its effect cannot be checked until one is linked.",
                style="yellow",
            )
        )


@actions.command()
@click.argument("action_id")
@click.option("--note", default="", help="What was done.")
@actor_options
@store_option
def start(
    action_id: str,
    note: str,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Record that the work on ACTION_ID started."""
    actor = _actor(actor_id, actor_name, role, actor_email)
    with open_engine(store_url, must_exist=True) as engine:
        action = ActionDesk(engine).start(action_id, actor=actor, note=note)
    console().print(_done_line(action))


@actions.command()
@click.argument("action_id")
@click.option("--note", default="", help="What was done.")
@actor_options
@store_option
def complete(
    action_id: str,
    note: str,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Record that the work of ACTION_ID is done; its effect is checked later."""
    actor = _actor(actor_id, actor_name, role, actor_email)
    with open_engine(store_url, must_exist=True) as engine:
        action = ActionDesk(engine).complete(action_id, actor=actor, note=note)
    assert action.check_due_at is not None  # set by completing
    console().print(
        f"{_done_line(action)} Its effect is checked from {minute(action.check_due_at)} UTC."
    )


@actions.command()
@click.argument("action_id")
@click.option(
    "--as-of",
    callback=moment_callback,
    default=None,
    metavar="WHEN",
    help="Check as at this time (ISO date or time, UTC unless given); default: now.",
)
@store_option
def check(action_id: str, as_of: datetime | None, store_url: str) -> None:
    """Check the effect of ACTION_ID (once its check period has ended)."""
    with open_engine(store_url, must_exist=True) as engine:
        action = ActionDesk(engine).check(action_id, actor=SYSTEM, now=as_of)
    out = console()
    out.print(check_view(action))
    out.print(_confirm_hint(action))


@actions.command("check-due")
@click.option(
    "--as-of",
    callback=moment_callback,
    default=None,
    metavar="WHEN",
    help="Run the checks due by this time (ISO date or time, UTC); default: now.",
)
@store_option
def check_due(as_of: datetime | None, store_url: str) -> None:
    """Check every action whose check period has ended."""
    with open_engine(store_url, must_exist=True) as engine:
        desk = ActionDesk(engine)
        report = desk.check_due(as_of)
        checked = [desk.get(action_id) for action_id in report.checked]
    out = console()
    if not checked and not report.failed:
        out.print(f"No effectiveness check is due by {minute(report.at)} UTC.")
        return
    if checked:
        out.print(due_checks_table(report, checked))
        out.print(
            "A person confirms each verdict: complaint-flow actions confirm ACTION "
            "(or reopen it with --reason)."
        )
    for action_id, why in report.failed:
        out.print(Text(f"{action_id} not checked: {why}", style="yellow"))
    if report.failed:
        fail(f"{len(report.failed)} due check(s) could not run; see above")


@actions.command()
@click.argument("action_id")
@click.option("--note", default="", help="What the confirmation rests on.")
@actor_options
@store_option
def confirm(
    action_id: str,
    note: str,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Confirm the verdict of ACTION_ID's check; the action is closed."""
    actor = _actor(actor_id, actor_name, role, actor_email)
    with open_engine(store_url, must_exist=True) as engine:
        action = ActionDesk(engine).confirm(action_id, actor=actor, note=note)
    verdict = action.verdict.value.replace("_", " ") if action.verdict else "no verdict"
    console().print(f"Confirmed {action.id}: {verdict}. The action is closed.")


@actions.command()
@click.argument("action_id")
@click.option("--reason", required=True, callback=non_blank, help="Why the work resumes.")
@click.option(
    "--due",
    callback=moment_callback,
    default=None,
    metavar="WHEN",
    help="A new due time (ISO date or time, UTC unless given).",
)
@actor_options
@store_option
def reopen(
    action_id: str,
    reason: str,
    due: datetime | None,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Reject the verdict of ACTION_ID's check: the work resumes."""
    actor = _actor(actor_id, actor_name, role, actor_email)
    with open_engine(store_url, must_exist=True) as engine:
        action = ActionDesk(engine).reopen(action_id, actor=actor, reason=reason, due_at=due)
    console().print(f"Reopened {action.id}: in progress again, due {day(action.due_at)}.")


def _confirm_hint(action: CorrectiveAction) -> Text:
    return Text(
        f"A person confirms the verdict: complaint-flow actions confirm {action.id} "
        "--actor-id ... --role ... (or reopen it with --reason).",
        style="dim",
    )


__all__ = ["actions", "root_cause"]
