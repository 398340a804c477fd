"""Workflow definitions: loading, validation, compilation and the TACTICS pack."""

from __future__ import annotations

import copy
import re
import tomllib
from importlib import resources
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


# -- named callbacks ----------------------------------------------------------------------


def with_callbacks() -> dict[str, Any]:
    data = minimal()
    data["transitions"][0].update(before=["check_budget"], after="tell_crm")
    data["states"]["closed"]["on_enter"] = ["archive", "tell_crm"]
    return data


def test_callback_names_are_read_from_dicts_and_toml() -> None:
    definition = WorkflowDefinition.from_dict(with_callbacks())
    start, close = definition.transitions
    assert (start.before, start.after) == (("check_budget",), ("tell_crm",))
    assert (close.before, close.after) == ((), ())
    assert definition.state("closed").on_enter == ("archive", "tell_crm")
    assert definition.state("open").on_enter == ()
    toml = WorkflowDefinition.from_toml(
        """
name = "mini"
initial = "open"
[states.open]
[states.closed]
terminal = true
on_enter = ["archive"]
[[transitions]]
trigger = "close"
source = "open"
dest = "closed"
before = ["check_budget"]
after = ["tell_crm"]
"""
    )
    assert toml.transitions[0].before == ("check_budget",)
    assert toml.transitions[0].after == ("tell_crm",)
    assert toml.state("closed").on_enter == ("archive",)


def test_unknown_callbacks_are_reported_only_when_the_registered_ones_are_given() -> None:
    definition = WorkflowDefinition.from_dict(with_callbacks())
    assert definition.problems() == []
    assert definition.problems((), {"check_budget": print}) == [
        "state 'closed': unknown callback 'archive'; registered callbacks: check_budget",
        "state 'closed': unknown callback 'tell_crm'; registered callbacks: check_budget",
        "transition 'start': unknown callback 'tell_crm'; registered callbacks: check_budget",
    ]
    registered = {"check_budget": print, "tell_crm": print, "archive": print}
    assert definition.problems(known_guards=(), callbacks=registered) == []
    assert definition.check((), registered) is definition
    with pytest.raises(WorkflowDefinitionError, match="registered callbacks: none"):
        definition.check(callbacks={})
    # The guards argument alone, positional, works as it always did.
    assert definition.problems(("is_vip",)) == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["transitions"][0].update(before=[1]),
            "transition #1 ('start'): 'before' must be a name or a list of names",
        ),
        (
            lambda d: d["states"]["closed"].update(on_enter={"archive": True}),
            "state 'closed': 'on_enter' must be a name or a list of names",
        ),
        (
            lambda d: d["states"]["closed"].update(terminal="yes"),
            "state 'closed': 'terminal' must be true or false, got 'yes'",
        ),
        (
            lambda d: d["transitions"][1].update(roles={"agent": True}),
            "transition #2 ('close'): 'roles' must be text or a list of text",
        ),
        (lambda d: d["transitions"].append(5), "transition #3: must be a table, got 5"),
        (lambda d: d["states"].update(limbo=5), "state 'limbo': must be a table, got 5"),
        (lambda d: d.update(version="2"), "'version' must be a positive integer, got '2'"),
        (lambda d: d.update(version=True), "'version' must be a positive integer, got True"),
        (lambda d: d.update(retention=3), "retention must be an age such as '3 years'"),
        (lambda d: d.update(states=["open"]), "'states' must be a non-empty table"),
        (lambda d: d.update(clocks=["open"]), "'clocks' must be a table of clock name"),
        (
            lambda d: d["transitions"][0].pop("dest"),
            "transition #1 ('start'): 'dest' must be text; it is missing",
        ),
        (
            lambda d: d.update(inital="open"),
            "unknown key 'inital' (did you mean 'initial'?)",
        ),
    ],
)
def test_values_of_the_wrong_kind_are_named_by_key_and_place(mutate: Any, expected: str) -> None:
    data = with_callbacks()
    mutate(data)
    with pytest.raises(WorkflowDefinitionError) as refused:
        WorkflowDefinition.from_dict(data)
    assert any(expected in problem for problem in refused.value.problems), refused.value


def test_nothing_is_converted_silently() -> None:
    # Before the definitions were structured strictly, these loaded as True and "5".
    data = minimal()
    data["states"]["closed"]["terminal"] = 1
    data["transitions"][0]["description"] = 5
    with pytest.raises(WorkflowDefinitionError) as refused:
        WorkflowDefinition.from_dict(data)
    assert refused.value.problems == [
        "state 'closed': 'terminal' must be true or false, got 1",
        "transition #1 ('start'): 'description' must be text, got 5",
    ]


# -- property: a wrong key anywhere is a WorkflowDefinitionError naming where it is ------------

KeyPath = tuple[str | int, ...]


def tactics_data() -> dict[str, Any]:
    """The TACTICS pack as plain data, with a ladder and a routing rule added."""
    text = resources.files("complaint_flow.definitions.packs").joinpath("tactics.toml")
    data = tomllib.loads(text.read_text(encoding="utf-8"))
    data["escalation"]["ladders"] = [
        {
            "name": "billing",
            "categories": ["billing"],
            "levels": [
                {"number": 1, "title": "Desk", "role": "agent", "rank": 1, "email": "b@x.org"}
            ],
        }
    ]
    data["escalation"]["routing"] = [
        {"department": "Finance", "categories": ["billing"], "email": "finance@x.org"}
    ]
    return data


TACTICS = tactics_data()


def tables(data: dict[str, Any]) -> list[tuple[KeyPath, str, frozenset[str]]]:
    """Every table of a workflow: its path, how problems name it (a regex), its required keys."""
    found: list[tuple[KeyPath, str, frozenset[str]]] = [
        ((), "", frozenset({"name", "initial", "states", "transitions"}))
    ]
    found += [(("states", name), f"state '{name}'", frozenset()) for name in data["states"]]
    found += [
        (("transitions", index), f"transition #{index + 1}\\b", frozenset({"trigger", "dest"}))
        for index in range(len(data["transitions"]))
    ]
    found += [
        (("calendars", name), f"calendar '{name}'", frozenset({"time_zone"}))
        for name in data["calendars"]
    ]
    found += [
        (("clocks", name), f"clock '{name}'", frozenset({"calendar", "duration"}))
        for name in data["clocks"]
    ]
    escalation = data["escalation"]
    found.append((("escalation",), re.escape("[escalation]"), frozenset()))
    level_keys = frozenset({"number", "title", "role", "rank"})
    found += [
        (("escalation", "levels", index), f"ladder 'default', level #{index + 1}\\b", level_keys)
        for index in range(len(escalation["levels"]))
    ]
    found.append(
        (("escalation", "ladders", 0), "escalation ladder ('billing'|#1)", frozenset({"name"}))
    )
    found.append(
        (("escalation", "ladders", 0, "levels", 0), "ladder ('billing'|#1), level #1", level_keys)
    )
    found.append((("escalation", "routing", 0), "escalation routing #1", frozenset({"department"})))
    return found


TABLES = tables(TACTICS)


def at(data: Any, path: KeyPath) -> Any:
    for step in path:
        data = data[step]
    return data


@st.composite
def mistakes(draw: st.DrawFn) -> tuple[str, int, str]:
    """(kind, table index, key): an extra key, a missing one, a wrong kind, or a non-table."""
    index = draw(st.integers(0, len(TABLES) - 1))
    path, _, required = TABLES[index]
    table = at(TACTICS, path)
    kinds = (
        ["extra", "wrong kind"] + (["missing"] if required else []) + (["not a table"] * bool(path))
    )
    kind = draw(st.sampled_from(kinds))
    if kind == "extra":
        key = draw(st.from_regex(r"x_[a-z_]{1,8}", fullmatch=True))
    elif kind == "missing":
        key = draw(st.sampled_from(sorted(required)))
    elif kind == "wrong kind":
        key = draw(st.sampled_from(sorted(table)))
    else:  # the table itself: its label names it (a list item has no key)
        key = path[-1] if isinstance(path[-1], str) else ""
    return kind, index, key


@settings(max_examples=300, deadline=None)
@given(st.lists(mistakes(), min_size=1, max_size=3))
def test_every_wrong_key_is_a_workflow_definition_error_naming_it(
    chosen: list[tuple[str, int, str]],
) -> None:
    data = copy.deepcopy(TACTICS)
    made: list[tuple[Any, KeyPath, str, str]] = []
    for kind, index, key in chosen:
        path, label, _ = TABLES[index]
        try:
            table = at(data, path)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mistake removed or replaced it
        if not isinstance(table, dict):
            continue
        if kind == "extra":
            table[key] = "surprise"
        elif kind == "missing":
            table.pop(key, None)
        elif kind == "wrong kind":
            table[key] = 7 if isinstance(at(TACTICS, path).get(key), dict) else {"zz": 1}
        else:
            # Named by its own label ("state 'open'") or as a key of its parent table.
            at(data, path[:-1])[path[-1]] = 7
            table = at(data, path[:-1])
            parent = next((found for at_, found, _ in TABLES if at_ == path[:-1]), "")
            label = f"{label}|{parent}.*'{key}'" if key else label
            key = ""
        made.append((table, path if kind != "not a table" else path[:-1], label, key))
    with pytest.raises(WorkflowDefinitionError) as refused:
        WorkflowDefinition.from_dict(data).check()
    problems = refused.value.problems
    for table, path, label, key in made:
        try:
            still_there = at(data, path) is table
        except (KeyError, IndexError, TypeError):
            still_there = False
        if not still_there:
            continue  # a later mistake replaced the table this one was made in
        named = [p for p in problems if re.search(label, p) and key in p]
        assert named, (label, key, problems)
