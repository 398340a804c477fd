"""Workflows on the console: their states, their transitions, and what plugins provide."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text

from complaint_flow.definitions.workflow import TransitionDefinition, WorkflowDefinition
from complaint_flow.plugins.manager import Registry


def states_table(definition: WorkflowDefinition) -> Table:
    """The states of ``definition``: name, initial or terminal, description."""
    states = Table(title="States", title_justify="left")
    states.add_column("State", style="bold", no_wrap=True)
    states.add_column("Kind", no_wrap=True)
    states.add_column("Description")
    for state in definition.states:
        kind = "initial" if state.name == definition.initial else ""
        kind = "terminal" if state.terminal else kind
        states.add_row(state.name, kind, Text(state.description))
    return states


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


def registry_tables(registry: Registry) -> list[Table]:
    """What ``registry`` holds: plugins and their hooks, stores, channels, workflows, guards."""
    loaded = Table(title="Plugins", title_justify="left")
    loaded.add_column("Plugin", no_wrap=True)
    loaded.add_column("Hooks")
    for row in registry.describe():
        loaded.add_row(Text(str(row["name"])), Text(", ".join(row["hooks"])))

    stores = Table(title="Stores (by URL scheme)", title_justify="left")
    stores.add_column("Scheme", no_wrap=True)
    stores.add_column("Factory")
    for scheme, factory in sorted(registry.stores.items()):
        where = f"{getattr(factory, '__module__', '?')}.{getattr(factory, '__qualname__', '?')}"
        stores.add_row(f"{scheme}://", Text(where))

    channels = Table(title="Channels", title_justify="left")
    channels.add_column("Channel", no_wrap=True)
    channels.add_column("Kind", no_wrap=True)
    channels.add_column("Description")
    for channel in registry.channels.values():
        channels.add_row(channel.name, str(channel.kind), Text(channel.description))

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

    guards = Table(title="Guards", title_justify="left")
    guards.add_column("Guard", no_wrap=True)
    guards.add_column("Description")
    for guard_name, guard in sorted(registry.guards.items()):
        doc = (getattr(guard, "__doc__", None) or "").strip().splitlines()
        guards.add_row(guard_name, Text(doc[0].strip() if doc else ""))
    return [loaded, stores, channels, workflows, guards]


__all__ = ["registry_tables", "states_table", "transitions_table"]
