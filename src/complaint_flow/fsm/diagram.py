"""Drawing a workflow as a Mermaid state diagram (renders on GitHub and in MkDocs)."""

from __future__ import annotations

from complaint_flow.definitions.workflow import WorkflowDefinition


def to_mermaid(definition: WorkflowDefinition) -> str:
    """A ``stateDiagram-v2`` of the workflow: one arrow per (source, trigger).

    Terminal states get an arrow to ``[*]``; roles are shown after the trigger.

    >>> from complaint_flow.definitions.packs import load_pack
    >>> print(to_mermaid(load_pack("tactics")).splitlines()[1])
        [*] --> received
    """
    lines = ["stateDiagram-v2", f"    [*] --> {definition.initial}"]
    for t in definition.transitions:
        label = t.trigger + (f" ({', '.join(t.roles)})" if t.roles else "")
        lines.extend(f"    {source} --> {t.dest}: {label}" for source in t.sources)
    lines.extend(f"    {name} --> [*]" for name in definition.terminal_states)
    for state in definition.states:
        if state.description:
            lines.append(f"    {state.name}: {state.name} - {state.description}")
    return "\n".join(lines) + "\n"
