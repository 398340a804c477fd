"""Drawing a workflow as a Mermaid state diagram, with transitions' own diagram support.

transitions' Mermaid engine writes the diagram as text, so it needs no Graphviz;
GitHub and MkDocs render it.
"""

from __future__ import annotations

import json

from transitions.extensions.diagrams import HierarchicalGraphMachine
from transitions.extensions.nesting import NestedState

from complaint_flow.definitions.workflow import StateDefinition, WorkflowDefinition


class _LabelledState(NestedState):
    """A state with the text the diagram shows for it (transitions draws ``label``)."""

    # The nested machine joins state names with ``separator``, by default "_", which
    # valid state names contain; a workflow has no nested states, so any other will do.
    separator = "."

    def __init__(self, name: str, *, label: str, final: bool) -> None:
        self.label = label
        super().__init__(name, final=final)


class _DiagramMachine(HierarchicalGraphMachine):
    # The nested graph is used because transitions' flat Mermaid graph leaves out
    # the ``state --> [*]`` arrows of final states; it draws a flat workflow the same.
    state_cls = _LabelledState
    # Top to bottom rather than transitions' left to right: workflows are long chains
    # of states with long labels, too wide for a page drawn sideways.
    machine_attributes = {"rankdir": "TB"}
    # Only the style every state gets: the others mark a model's current and previous
    # states, and a definition's diagram has no model.
    style_attributes = {
        **HierarchicalGraphMachine.style_attributes,
        "node": {"default": {"fillcolor": "white", "color": "black"}},
    }


def to_mermaid(definition: WorkflowDefinition) -> str:
    """A Mermaid ``stateDiagram-v2`` of the workflow, drawn by transitions' Mermaid engine.

    Each state shows its description; each arrow, its trigger and the roles allowed
    (triggers between the same two states share an arrow, separated by ``|``).
    ``[*]`` points to the initial state and from the terminal ones; the workflow's
    title is the diagram's.

    Raises:
        WorkflowDefinitionError: the definition is not valid (an unknown state…).

    >>> from complaint_flow.definitions.packs import load_pack
    >>> lines = to_mermaid(load_pack("tactics")).splitlines()
    >>> print("\\n".join(lines[:4]))
    ---
    title: "TACTICS complaint handling"
    ---
    stateDiagram-v2
    >>> print("\\n".join(line for line in lines if "closed" in line or "[*]" in line))
      state "closed - Handling finished" as closed
      closed --> [*]
      Class closed s_default
      withdrawn --> [*]
      summarised --> closed: close (agent, supervisor, manager)
      closed --> information_collected: reopen (supervisor, manager)
      [*] --> received
    """
    definition.check()
    machine = _DiagramMachine(
        model=None,
        states=[_state(state) for state in definition.states],
        transitions=[
            {
                "trigger": t.trigger,
                "source": list(t.sources),
                "dest": t.dest,
                "label": t.trigger + (f" ({', '.join(t.roles)})" if t.roles else ""),
            }
            for t in definition.transitions
        ],
        initial=definition.initial,
        auto_transitions=False,
        graph_engine="mermaid",
    )
    # transitions writes the title verbatim between the front matter's "---" lines,
    # where Mermaid expects YAML: a bare title is dropped, and one with ": " in it
    # breaks the whole diagram. A JSON string is a valid YAML scalar.
    title = "title: " + json.dumps(definition.title or definition.name, ensure_ascii=False)
    # No model is attached: a model's graph would highlight its current state.
    text = machine.graph_cls(machine).get_graph(title=title).draw(None) or ""
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _state(state: StateDefinition) -> _LabelledState:
    label = f"{state.name} - {state.description}" if state.description else state.name
    # Mermaid ends a quoted label at a '"' and a line at a line break.
    label = " ".join(label.split()).replace('"', "#quot;")
    return _LabelledState(state.name, label=label, final=state.terminal)
