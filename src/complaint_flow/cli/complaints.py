"""``complaint-flow list``, ``show``, ``history``, ``triggers``, ``fire``: complaints one by one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path

import click
from rich.text import Text

from complaint_flow.cli.render.complaints import (
    COMPACT_BELOW,
    WIDE_LIST_FROM,
    complaint_panel,
    complaints_table,
    timeline_table,
)
from complaint_flow.cli.render.workflows import transitions_table
from complaint_flow.cli.shared import (
    console,
    data_callback,
    fail,
    non_blank,
    open_engine,
    store_option,
    workflow_file_option,
)
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import GuardRefusedError
from complaint_flow.model.entities import Actor

OWNER_GUARD = "owner_with_contact"
"""The built-in guard that wants an owner; the command line cannot assign one."""


def _names(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names))


def _check_filters(
    workflows: Mapping[str, WorkflowDefinition], state: str | None, workflow: str | None
) -> None:
    """Refuse a ``--workflow`` that is not registered, or a ``--state`` no such workflow has.

    A mistyped state would otherwise match nothing and read as "no complaints".
    """
    if workflow is not None and workflow not in workflows:
        raise click.BadParameter(
            f"no workflow {workflow!r} is registered here; known workflows: "
            f"{_names(workflows)}. For a workflow in a TOML file, add --workflow-file PATH.",
            param_hint="'--workflow'",
        )
    if state is None:
        return
    if workflow is not None:
        states = set(workflows[workflow].state_names)
        whose = f"workflow {workflow!r} has no state {state!r}"
        listed = "its states are"
    else:
        states = {name for definition in workflows.values() for name in definition.state_names}
        whose = f"no registered workflow has a state {state!r}"
        listed = "the states of the registered workflows are"
    if state in states:
        return
    close = difflib.get_close_matches(state, sorted(states), n=1)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    hint = (
        ""
        if workflow is not None
        else " For complaints of a workflow that is not registered here, add its TOML file "
        "with --workflow-file PATH."
    )
    raise click.BadParameter(
        f"{whose}{guess}; {listed}: {_names(states)}.{hint}", param_hint="'--state'"
    )


@click.command(name="list")
@click.option("--state", default=None, help="Only complaints in this state.")
@click.option("--customer", "customer_id", default=None, help="Only this customer's (by id).")
@click.option("--category", default=None, help="Only this category.")
@click.option(
    "--workflow", default=None, metavar="NAME", help="Only complaints following this workflow."
)
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many.")
@store_option
@workflow_file_option
def list_complaints(
    state: str | None,
    customer_id: str | None,
    category: str | None,
    workflow: str | None,
    limit: int | None,
    store_url: str,
    workflow_files: tuple[Path, ...],
) -> None:
    """List complaints, oldest received first."""
    with open_engine(store_url, must_exist=True, workflow_files=workflow_files) as engine:
        _check_filters(engine.registry.workflows, state, workflow)
        found = engine.find(
            state=state,
            customer_id=customer_id,
            category=category,
            workflow=workflow,
            limit=limit,
        )
    out = console()
    if not found:
        out.print(Text("No complaints match."))
        return
    compact = out.width < WIDE_LIST_FROM
    out.print(complaints_table(found, f"Complaints ({len(found)})", compact=compact))


@click.command()
@click.argument("complaint")
@store_option
def show(complaint: str, store_url: str) -> None:
    """Show a complaint (by reference such as CF-2026-000001, or by id)."""
    with open_engine(store_url, must_exist=True) as engine:
        console().print(complaint_panel(engine.get(complaint)))


@click.command()
@click.argument("complaint")
@store_option
def history(complaint: str, store_url: str) -> None:
    """Show a complaint's audit trail: who did what, when and why."""
    with open_engine(store_url, must_exist=True) as engine:
        current = engine.get(complaint)
        events = engine.history(current.id)
    out = console()
    title = f"{current.reference} · {current.summary}"
    out.print(timeline_table(events, title, compact=out.width < COMPACT_BELOW))


@click.command()
@click.argument("complaint")
@click.option(
    "--role",
    required=True,
    callback=non_blank,
    help="The actor's role (e.g. agent, supervisor, manager).",
)
@click.option("--rank", type=int, default=1, show_default=True, help="The actor's rank.")
@store_option
@workflow_file_option
def triggers(
    complaint: str, role: str, rank: int, store_url: str, workflow_files: tuple[Path, ...]
) -> None:
    """List what an actor of ROLE may do with a complaint now."""
    actor = Actor(id=f"cli-{role}", name=role, role=role, rank=rank)
    with open_engine(store_url, must_exist=True, workflow_files=workflow_files) as engine:
        current = engine.get(complaint)
        allowed = set(engine.triggers(current.id, actor))
        definition = engine.workflow(current.workflow)
        leaving = [t for t in definition.transitions if current.state in t.sources]
    out = console()
    mine = [t for t in leaving if t.trigger in allowed]
    title = f"{current.reference} is {current.state}: what role {role!r} may do"
    if mine:
        out.print(transitions_table(definition, mine, title, show_sources=False))
    else:
        out.print(Text(f"{current.reference} is {current.state}: nothing role {role!r} may do."))
    for t in leaving:
        if t.trigger not in allowed:
            out.print(Text(f"{t.trigger}: only {', '.join(t.roles)}", style="dim"))


@click.command()
@click.argument("complaint")
@click.argument("trigger")
@click.option("--actor-id", required=True, callback=non_blank, help="Who fires it (their id).")
@click.option(
    "--actor-name", required=True, callback=non_blank, help="Their name, for the audit trail."
)
@click.option(
    "--role",
    required=True,
    callback=non_blank,
    help="Their role (e.g. agent, supervisor, manager).",
)
@click.option("--rank", type=int, default=1, show_default=True, help="Their rank.")
@click.option("--reason", default="", help="Why (kept in the audit trail).")
@click.option(
    "--data",
    "data",
    metavar="KEY=VALUE",
    multiple=True,
    callback=data_callback,
    help="Information recorded with the step, as key=value (repeatable).",
)
@click.option(
    "--expected-version",
    type=int,
    default=None,
    help="Refuse if the complaint is no longer at this version.",
)
@store_option
@workflow_file_option
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
    with open_engine(store_url, workflow_files=workflow_files) as engine:
        current = engine.get(complaint)
        if expected_version is not None and current.version != expected_version:
            fail(
                f"{current.reference} is no longer at version {expected_version} "
                f"(--expected-version): it is at version {current.version}, so someone "
                f"changed it since; nothing was written. Look at it again (complaint-flow "
                f"show {current.reference}) and fire with --expected-version "
                f"{current.version} if the step still makes sense."
            )
        try:
            updated = engine.fire(
                current.id,
                trigger,
                actor=actor,
                reason=reason,
                data=data,
                expected_version=expected_version,
            )
        except GuardRefusedError as exc:
            if exc.guard == OWNER_GUARD and current.owner is None:
                fail(
                    f"trigger {trigger!r} needs a named owner the customer can reach (guard "
                    f"{OWNER_GUARD!r}), and {current.reference} has no owner yet. The "
                    "command line does not assign owners: assign one where your team "
                    "handles complaints, then fire again."
                )
            raise
        event = next(e for e in reversed(engine.history(updated.id)) if e.seq == updated.version)
        queued = [m for m in engine.outbox(updated.id) if m.event_seq == updated.version]
    out = console()
    out.print(
        Text.assemble(
            (updated.reference, "bold"),
            f": {trigger} by {actor.name} ({actor.role}): {event.source} → ",
            (updated.state, "bold green"),
            f" (version {updated.version})",
        )
    )
    for message in queued:
        out.print(
            Text(
                f"queued: tell the {message.recipient} on {message.channel} "
                f"({message.address or 'no address'})",
                style="dim",
            )
        )


__all__ = ["fire", "history", "list_complaints", "show", "triggers"]
