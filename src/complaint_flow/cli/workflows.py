"""``complaint-flow workflow check`` and ``workflow show``: workflow definitions."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from complaint_flow.cli.render.workflows import states_table, transitions_table
from complaint_flow.cli.shared import CommandGroup, console, error_console, fail, load_registry
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import WorkflowDefinitionError
from complaint_flow.fsm.diagram import to_mermaid


@click.group(cls=CommandGroup)
def workflow() -> None:
    """Check and show workflow definitions."""


@workflow.command(name="check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def workflow_check(file: Path) -> None:
    """Validate the TOML workflow in FILE against the registered guards."""
    registry = load_registry()
    try:
        definition = WorkflowDefinition.load(file)
    except WorkflowDefinitionError as exc:
        name, problems = exc.workflow, exc.problems
    else:
        name, problems = definition.name, definition.problems(registry.guards)
    out = console()
    if problems:
        err = error_console()
        err.print(
            Text(f"{file}: workflow {name!r} has {len(problems)} problem(s):", style="bold red"),
            soft_wrap=True,
        )
        for problem in problems:
            err.print(Text(f"  - {problem}", style="red"), soft_wrap=True)
        raise click.exceptions.Exit(1)
    terminal = len(definition.terminal_states)
    out.print(
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
    registry = load_registry()
    if name not in registry.workflows:
        known = ", ".join(repr(known) for known in sorted(registry.workflows))
        fail(
            f"no workflow named {name!r} is registered here; known workflows: {known}. "
            "Give one of them, or the path of a workflow's .toml file."
        )
    return registry.workflow(name)


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
    out = console()
    heading = f"{definition.name}: {definition.title}" if definition.title else definition.name
    out.print(Text(f"{heading} (version {definition.version})", style="bold"))
    if definition.description:
        out.print(Text(definition.description))
    out.print(states_table(definition))
    out.print(transitions_table(definition, definition.transitions, "Transitions"))


__all__ = ["workflow"]
