"""Workflow definitions: loading, validation, compilation and the TACTICS pack."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from complaint_flow import WorkflowDefinition, WorkflowDefinitionError
from complaint_flow.definitions.packs import load_pack, pack_names
from complaint_flow.errors import TriggerNotAllowedError, UnknownTriggerError
from complaint_flow.fsm.diagram import to_mermaid
from complaint_flow.fsm.workflow_machine import compile_workflow


def minimal() -> dict[str, Any]:
    return {
        "name": "mini",
        "initial": "open",
        "roles": ["agent"],
        "states": {"open": {}, "working": {}, "closed": {"terminal": True}},
        "transitions": [
            {"trigger": "start", "source": "open", "dest": "working", "roles": ["agent"]},
            {"trigger": "close", "source": ["open", "working"], "dest": "closed"},
        ],
    }


def problems_of(data: dict[str, Any], guards: tuple[str, ...] = ()) -> list[str]:
    try:
        definition = WorkflowDefinition.from_dict(data)
    except WorkflowDefinitionError as exc:
        return exc.problems
    return definition.problems(guards)


def test_minimal_definition_is_valid_and_compiles() -> None:
    definition = WorkflowDefinition.from_dict(minimal()).check(known_guards=())
    compiled = compile_workflow(definition)
    assert compiled.destination("open", "start") == "working"
    assert compiled.destination("working", "close") == "closed"
    assert [t.trigger for t in compiled.available("open")] == ["start", "close"]


def test_compiled_machine_is_shared_per_definition() -> None:
    first = compile_workflow(WorkflowDefinition.from_dict(minimal()))
    second = compile_workflow(WorkflowDefinition.from_dict(minimal()))
    assert first is second
    assert first.machine.models == []  # never bound to a complaint


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["transitions"][0].update(dest="wrking"), "unknown destination state 'wrking'"),
        (lambda d: d["transitions"][0].update(source="nowhere"), "unknown source state 'nowhere'"),
        (lambda d: d.update(initial="start"), "initial state 'start' is not declared"),
        (lambda d: d["states"].update(limbo={}), "state 'limbo' is unreachable"),
        (
            lambda d: (
                d["states"].update(limbo={})
                or d["transitions"].append({"trigger": "park", "source": "open", "dest": "limbo"})
            ),
            "state 'limbo' is a dead end",
        ),
        (
            lambda d: (
                d["states"].update(a={}, b={})
                or d["transitions"].extend(
                    [
                        {"trigger": "to_a", "source": "open", "dest": "a"},
                        {"trigger": "to_b", "source": "a", "dest": "b"},
                        {"trigger": "to_a", "source": "b", "dest": "a"},
                    ]
                )
            ),
            "state 'a' has no path to a terminal state",
        ),
        (
            lambda d: d["transitions"].append(
                {"trigger": "start", "source": "open", "dest": "closed"}
            ),
            "trigger 'start' is defined twice from state 'open'",
        ),
        (lambda d: d["transitions"][0].update(roles=["agnet"]), "unknown role 'agnet'"),
        (lambda d: d["transitions"][0].update(guards=["is_vip"]), "unknown guard 'is_vip'"),
        (lambda d: d["transitions"][0].update(requries=["x"]), "unknown key 'requries'"),
        (lambda d: d["transitions"][0].update(notify=["boss"]), "cannot notify 'boss'"),
        (lambda d: d["states"]["closed"].update(terminal=False), "no state is terminal"),
        (lambda d: d.pop("initial"), "'initial' is missing"),
        (lambda d: d.update(transitions=[]), "'transitions' must be a non-empty list"),
        (lambda d: d["states"].update({"Bad State": {}}), "'Bad State' is not a valid name"),
        (lambda d: d.update(version=0), "'version' must be a positive integer"),
    ],
)
def test_each_inconsistency_is_reported_precisely(mutate: Any, expected: str) -> None:
    data = minimal()
    mutate(data)
    problems = problems_of(data)
    assert any(expected in problem for problem in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    data = minimal()
    data["transitions"][0].update(roles=["agnet"], dest="wrking")
    data["transitions"][1].update(source="nowhere")
    with pytest.raises(WorkflowDefinitionError) as raised:
        WorkflowDefinition.from_dict(data).check(known_guards=())
    assert len(raised.value.problems) == 3
    assert "workflow 'mini' is not valid" in str(raised.value)


def test_star_source_means_every_non_terminal_state() -> None:
    data = minimal()
    data["states"]["cancelled"] = {"terminal": True}
    data["transitions"].append({"trigger": "cancel", "source": "*", "dest": "cancelled"})
    definition = WorkflowDefinition.from_dict(data).check(known_guards=())
    cancel = next(t for t in definition.transitions if t.trigger == "cancel")
    assert set(cancel.sources) == {"open", "working"}


def test_toml_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "wf.toml"
    path.write_text(
        """
name = "mini"
initial = "open"
roles = ["agent"]
[states.open]
[states.closed]
terminal = true
[[transitions]]
trigger = "close"
source = "open"
dest = "closed"
roles = ["agent"]
""",
        encoding="utf-8",
    )
    definition = WorkflowDefinition.load(path)
    assert definition.triggers == ("close",)
    path.write_text("name = 'x'\n[states", encoding="utf-8")
    with pytest.raises(WorkflowDefinitionError, match="not valid TOML"):
        WorkflowDefinition.load(path)
    with pytest.raises(WorkflowDefinitionError, match="cannot read the file"):
        WorkflowDefinition.load(tmp_path / "missing.toml")


def test_tactics_pack_is_valid_and_follows_the_mission() -> None:
    assert "tactics" in pack_names()
    tactics = load_pack("tactics").check(known_guards=("owner_with_contact",))
    compiled = compile_workflow(tactics)
    path = [
        "thank",
        "apologise",
        "collect_information",
        "take_action",
        "put_it_right",
        "confirm_satisfied",
        "summarise",
        "close",
    ]
    state = tactics.initial
    for trigger in path:
        state = compiled.destination(state, trigger)
    assert state == "closed"
    # "I'll put it right" needs a named owner with contact details.
    assert compiled.transition("action_taken", "put_it_right").guards == ("owner_with_contact",)
    # Not happy: back to take action, or escalate.
    assert compiled.transition("checking_satisfaction", "report_unsatisfied").dest == (
        "information_collected"
    )
    assert compiled.transition("checking_satisfaction", "escalate").dest == "escalated"
    assert compiled.transition("closed", "reopen").roles == ("supervisor", "manager")
    assert {"closed", "withdrawn"} == set(tactics.terminal_states)


def test_compiled_refusals_name_the_alternatives() -> None:
    compiled = compile_workflow(load_pack("tactics"))
    with pytest.raises(UnknownTriggerError, match="no trigger 'thnak'"):
        compiled.transition("received", "thnak")
    with pytest.raises(TriggerNotAllowedError, match="'thank', 'withdraw'"):
        compiled.transition("received", "close")


def mermaid_arrows(text: str) -> list[tuple[str, str, str]]:
    """(source, label, dest) of every arrow, one per label of an arrow shared with ``|``."""
    arrows = []
    for line in text.splitlines():
        match = re.fullmatch(r"  (\w+) --> (\w+): (.+)", line)
        if match:
            source, dest, labels = match.groups()
            arrows.extend((source, label, dest) for label in labels.split(" | "))
    return arrows


def test_mermaid_shows_every_state_transition_and_end() -> None:
    tactics = load_pack("tactics")
    text = to_mermaid(tactics)
    lines = text.splitlines()
    assert lines[:4] == ["---", 'title: "TACTICS complaint handling"', "---", "stateDiagram-v2"]
    assert sorted(mermaid_arrows(text)) == sorted(
        (source, f"{t.trigger} ({', '.join(t.roles)})", t.dest)
        for t in tactics.transitions
        for source in t.sources
    )
    assert "  [*] --> received" in lines
    assert [line.split()[0] for line in lines if line.endswith(" --> [*]")] == [
        "closed",
        "withdrawn",
    ]
    for state in tactics.states:
        assert f'  state "{state.name} - {state.description}" as {state.name}' in lines
    # Nothing marks a current state: a definition has none.
    assert {line.split()[-1] for line in lines if line.startswith("  Class ")} == {"s_default"}


def test_mermaid_keeps_a_label_in_one_quoted_line() -> None:
    data = minimal()
    data["title"] = 'Refunds: "fast" track'
    data["states"]["open"]["description"] = 'Waiting; the "customer"\nsaid: hello'
    text = to_mermaid(WorkflowDefinition.from_dict(data))
    # A bare "Refunds: ..." between the "---" lines would be invalid YAML for Mermaid.
    assert text.splitlines()[1] == 'title: "Refunds: \\"fast\\" track"'
    assert '  state "open - Waiting; the #quot;customer#quot; said: hello" as open' in text


def test_mermaid_refuses_an_invalid_workflow() -> None:
    data = minimal()
    data["transitions"][0]["dest"] = "nowhere"
    with pytest.raises(WorkflowDefinitionError, match="unknown destination state 'nowhere'"):
        to_mermaid(WorkflowDefinition.from_dict(data))


# -- property: random graphs are judged exactly like a reference reachability check --

state_names = st.sampled_from(["s0", "s1", "s2", "s3", "s4", "s5"])


@st.composite
def random_workflows(draw: st.DrawFn) -> dict[str, Any]:
    states = draw(st.lists(state_names, min_size=2, max_size=6, unique=True))
    terminal = draw(st.sets(st.sampled_from(states), min_size=1))
    edges = draw(st.lists(st.tuples(st.sampled_from(states), st.sampled_from(states)), max_size=12))
    transitions = [
        {"trigger": f"t{i}", "source": src, "dest": dst} for i, (src, dst) in enumerate(edges)
    ] or [{"trigger": "t0", "source": states[0], "dest": states[0]}]
    return {
        "name": "random",
        "initial": states[0],
        "states": {name: {"terminal": name in terminal} for name in states},
        "transitions": transitions,
    }


def _reachable(start: str, edges: list[tuple[str, str]]) -> set[str]:
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        for src, dst in edges:
            if src == node and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    return seen


@settings(max_examples=150, deadline=None)
@given(random_workflows())
def test_validation_matches_reference_graph_rules(data: dict[str, Any]) -> None:
    edges = [(t["source"], t["dest"]) for t in data["transitions"]]
    states = list(data["states"])
    terminal = {name for name, opts in data["states"].items() if opts["terminal"]}
    reachable = _reachable(data["initial"], edges)
    expected_valid = all(name in reachable for name in states) and all(
        name in terminal
        or (_reachable(name, edges) & terminal and any(s == name for s, _ in edges))
        for name in states
    )
    problems = problems_of(copy.deepcopy(data))
    assert (not problems) == expected_valid, problems
    if not problems:
        compiled = compile_workflow(WorkflowDefinition.from_dict(data))
        for t in data["transitions"]:
            assert compiled.destination(t["source"], t["trigger"]) == t["dest"]


@settings(max_examples=60, deadline=None)
@given(random_workflows())
def test_mermaid_draws_every_transition_of_a_valid_workflow(data: dict[str, Any]) -> None:
    assume(not problems_of(copy.deepcopy(data)))
    definition = WorkflowDefinition.from_dict(data)
    text = to_mermaid(definition)
    assert sorted(mermaid_arrows(text)) == sorted(
        (t["source"], t["trigger"], t["dest"]) for t in data["transitions"]
    )
    ends = {line.split()[0] for line in text.splitlines() if line.endswith(" --> [*]")}
    assert ends == set(definition.terminal_states)
    assert f"  [*] --> {definition.initial}" in text.splitlines()
