"""The documentation keeps up with the code: hooks, public names, Engine, errors, TACTICS.

The examples in ``docs/*.md`` are executed by Sybil (see the root ``conftest.py``);
these tests check what examples cannot: that every hook, public name, engine
method and error class is documented, and that the generated parts of the pages
(the TACTICS diagram and table, the error tree) match the code exactly.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pluggy
import pytest

import complaint_flow
from complaint_flow import Engine, errors
from complaint_flow.definitions.packs import load_pack
from complaint_flow.definitions.workflow import _STATE_KEYS, _TRANSITION_KEYS, _WORKFLOW_KEYS
from complaint_flow.fsm.diagram import to_mermaid
from complaint_flow.plugins import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.MULTILINE)
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def headings(text: str) -> list[str]:
    """Heading texts, outside fenced code blocks."""
    return [match.group(2) for match in HEADING.finditer(FENCE.sub("", text))]


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    for match in HEADING.finditer(text):
        if match.group(2) == heading:
            level = len(match.group(1))
            rest = text[match.end() :]
            following = re.search(rf"^#{{1,{level}}}\s", rest, re.MULTILINE)
            return rest[: following.start()] if following else rest
    raise AssertionError(f"no heading {heading!r}")


def fenced(text: str, language: str) -> list[str]:
    return [match.group(2) for match in FENCE.finditer(text) if match.group(1) == language]


def code_text(text: str) -> str:
    """Everything written as code: fenced blocks and inline code spans."""
    blocks = [match.group(2) for match in FENCE.finditer(text)]
    spans = re.findall(r"`([^`\n]+)`", FENCE.sub("", text))
    return "\n".join(blocks + spans)


# -- hooks -----------------------------------------------------------------------


def hook_callers() -> list[Any]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    callers = [caller for name, caller in vars(pm.hook).items() if name.startswith("complaint_")]
    return sorted(callers, key=lambda caller: caller.name)


def test_the_hooks_are_found() -> None:
    # Guards the walk below: an empty walk would make every hook test pass vacuously.
    names = {caller.name for caller in hook_callers()}
    assert "complaint_flow_notify" in names
    assert names == {
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("complaint_flow_") and inspect.isfunction(value)
    }


@pytest.mark.parametrize("caller", hook_callers(), ids=lambda caller: caller.name)
def test_every_hook_has_a_section_with_its_arguments(caller: Any) -> None:
    argnames = tuple(caller.spec.argnames)
    expected = f"{caller.name}({', '.join(argnames)})"
    documented = [text for text in headings(page("plugins.md")) if caller.name in text]
    assert documented == [expected], (
        f"docs/plugins.md needs exactly one heading {expected!r} (the hook's name and every "
        f"argument); found {documented}"
    )


@pytest.mark.parametrize("caller", hook_callers(), ids=lambda caller: caller.name)
def test_every_hook_section_says_how_it_is_called(caller: Any) -> None:
    heading = f"{caller.name}({', '.join(caller.spec.argnames)})"
    body = section(page("plugins.md"), heading)
    calling = "firstresult" if caller.spec.opts.get("firstresult") else "broadcast"
    assert f"**Call:** {calling}" in body
    assert "@hookimpl" in body, "each hook section shows a plugin"
    assert "```python" in body, "each hook section has an executed example"


# -- public API ----------------------------------------------------------------------


def documented_names() -> str:
    return "\n".join(code_text(path.read_text(encoding="utf-8")) for path in DOCS.glob("*.md"))


def public_callables() -> list[str]:
    return [
        name
        for name in complaint_flow.__all__
        if not name.startswith("_")
        and (
            inspect.isclass(getattr(complaint_flow, name))
            or inspect.isfunction(getattr(complaint_flow, name))
            or callable(getattr(complaint_flow, name))
        )
    ]


def test_the_public_api_is_walked() -> None:
    assert {"Engine", "make_plugin_manager", "hookimpl"} <= set(public_callables())


@pytest.mark.parametrize("name", public_callables())
def test_every_public_class_and_function_is_documented(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", documented_names()), (
        f"complaint_flow.{name} is public but no page in docs/ shows it as code"
    )


# -- the engine ---------------------------------------------------------------------


def engine_methods() -> list[tuple[str, list[str]]]:
    methods = []
    for name, member in inspect.getmembers(Engine):
        if name.startswith("_") or not callable(member):
            continue
        parameters = list(inspect.signature(member).parameters)
        methods.append((name, [p for p in parameters if p not in ("self", "cls")]))
    return methods


def test_the_engine_methods_are_walked() -> None:
    names = {name for name, _ in engine_methods()}
    assert {"open", "receive", "fire", "deliver"} <= names


@pytest.mark.parametrize(
    ("name", "parameters"), engine_methods(), ids=[name for name, _ in engine_methods()]
)
def test_every_engine_method_has_a_heading_with_its_signature(
    name: str, parameters: list[str]
) -> None:
    found = [
        text
        for text in headings(page("engine.md"))
        if re.search(rf"`(?:engine|Engine)\.{name}\(", text)
    ]
    assert len(found) == 1, f"docs/engine.md needs one heading for Engine.{name}()"
    arguments = found[0].split("(", 1)[1]
    for parameter in parameters:
        assert re.search(rf"\b{parameter}\b", arguments), (
            f"the heading of Engine.{name} does not show its argument {parameter!r}"
        )


# -- workflows -----------------------------------------------------------------------


def table_keys(text: str, heading_line: str) -> set[str]:
    """The backticked keys in the first column of the table that follows ``heading_line``."""
    after = text[text.index(heading_line) :]
    rows = re.findall(r"^\|\s*(`[^|]*)\|", after.split("\n\n", 2)[1], re.MULTILINE)
    return {key for row in rows for key in re.findall(r"`(\w+)`", row)}


def test_every_workflow_key_is_documented() -> None:
    text = section(page("workflows.md"), "Every key")
    assert table_keys(text, "The workflow table:") == _WORKFLOW_KEYS
    assert table_keys(text, "A state's options") == _STATE_KEYS
    assert table_keys(text, "A transition (") == _TRANSITION_KEYS


# -- TACTICS ---------------------------------------------------------------------------


def test_the_tactics_diagram_is_the_generated_one() -> None:
    [diagram] = fenced(page("tactics.md"), "mermaid")
    assert diagram == to_mermaid(load_pack("tactics"))


def test_the_tactics_table_lists_every_transition_as_shipped() -> None:
    tactics = load_pack("tactics")
    open_states = tuple(s.name for s in tactics.states if not s.terminal)
    rows = [
        [re.findall(r"`([^`]+)`", cell) for cell in line.strip().strip("|").split("|")]
        for line in section(page("tactics.md"), "The steps").splitlines()
        if line.startswith("| ") and "`" in line
    ]
    documented = []
    for _step, [trigger], sources, [dest], roles, requires, guards, notify in rows:
        documented.append(
            (
                trigger,
                open_states if sources == ["*"] else tuple(sources),
                dest,
                tuple(roles),
                tuple(requires),
                tuple(guards),
                tuple(notify),
            )
        )
    shipped = [
        (t.trigger, t.sources, t.dest, t.roles, t.requires, t.guards, t.notify)
        for t in tactics.transitions
    ]
    assert documented == shipped


# -- errors ------------------------------------------------------------------------------


def error_classes() -> list[type[errors.ComplaintFlowError]]:
    """The errors of ``complaint_flow.errors`` in definition order, then other public ones."""
    candidates = [*vars(errors).values()]
    candidates += [getattr(complaint_flow, name) for name in complaint_flow.__all__]
    found: dict[type[errors.ComplaintFlowError], None] = {}
    for value in candidates:
        public = getattr(value, "__module__", None) == errors.__name__ or (
            getattr(value, "__name__", None) in complaint_flow.__all__
        )
        if public and isinstance(value, type) and issubclass(value, errors.ComplaintFlowError):
            found[value] = None
    return list(found)


def error_tree() -> str:
    classes = error_classes()

    def label(cls: type) -> str:
        extra = [b.__name__ for b in cls.__bases__ if not issubclass(b, errors.ComplaintFlowError)]
        return cls.__name__ + (f" ({', '.join(extra)})" if extra else "")

    def parent(cls: type) -> type | None:
        return next((b for b in cls.__bases__ if issubclass(b, errors.ComplaintFlowError)), None)

    def render(cls: type, prefix: str) -> list[str]:
        children = [c for c in classes if parent(c) is cls]
        lines = []
        for index, child in enumerate(children):
            last = index == len(children) - 1
            lines.append(prefix + ("└── " if last else "├── ") + label(child))
            lines.extend(render(child, prefix + ("    " if last else "│   ")))
        return lines

    root = errors.ComplaintFlowError
    return "\n".join([label(root), *render(root, "")]) + "\n"


def test_the_error_tree_is_the_class_hierarchy() -> None:
    assert error_tree().count("\n") == len(error_classes())
    assert fenced(page("errors.md"), "text")[0] == error_tree()


@pytest.mark.parametrize("cls", error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_has_a_section(cls: type) -> None:
    assert cls.__name__ in headings(page("errors.md"))


# -- links -------------------------------------------------------------------------------

OWN_PAGES = [
    "index.md",
    "quickstart.md",
    "workflows.md",
    "tactics.md",
    "engine.md",
    "deadlines.md",
    "packs.md",
    "escalation.md",
    "plugins.md",
    "testing.md",
    "errors.md",
    "stop-procedure.md",
    "conduct.md",
    "audit.md",
    "privacy.md",
    "channels.md",
    "web-form.md",
    "letters.md",
    "email-in.md",
    "email.md",
    "email-out.md",
    "webhooks.md",
    "analysis.md",
    "channel-packages.md",
]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def links() -> list[tuple[str, str]]:
    found: dict[tuple[str, str], None] = {}
    for name in OWN_PAGES:
        text = FENCE.sub("", page(name))
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if not re.match(r"[a-z]+://", target):
                found[(name, target)] = None
    return list(found)


@pytest.mark.parametrize(("name", "target"), links())
def test_links_between_pages_resolve(name: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (DOCS / path).resolve() if path else DOCS / name
    assert file.exists(), f"{name} links to {target}, which does not exist"
    if anchor:
        anchors = {slug(text) for text in headings(file.read_text(encoding="utf-8"))}
        assert anchor in anchors, f"{name} links to #{anchor}, not a heading of {file.name}"
