"""Workflow definitions as data: load them from a dict or TOML, and validate them.

A workflow lists its states (terminal or not) and its transitions (trigger,
source states, destination, roles allowed, required data, named guards, who
to notify). :meth:`WorkflowDefinition.problems` finds every inconsistency at
once; :func:`complaint_flow.fsm.workflow_machine.compile_workflow` turns a valid definition
into the one shared state machine that runs it.

>>> wf = WorkflowDefinition.from_dict({
...     "name": "tiny", "initial": "open", "roles": ["agent"],
...     "states": {"open": {}, "closed": {"terminal": True}},
...     "transitions": [{"trigger": "close", "source": "open", "dest": "closed"}],
... })
>>> wf.triggers
('close',)
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from complaint_flow.definitions.ages import retention_cutoff
from complaint_flow.definitions.calendars import BusinessCalendar, CalendarError
from complaint_flow.definitions.deadlines import (
    ClockDefinition,
    clock_reference_problems,
    parse_clocks,
)
from complaint_flow.definitions.escalation import EscalationPolicy, parse_escalation
from complaint_flow.definitions.letter_content import LetterRequirement, parse_letter_requirements
from complaint_flow.definitions.structuring import Path as KeyPath
from complaint_flow.definitions.structuring import Texts, about, as_tuple, keys, lookup, read
from complaint_flow.errors import InvalidArgumentError, WorkflowDefinitionError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
RECIPIENTS = frozenset({"customer", "owner", "department"})
"""Who a transition may notify: the customer (on their reply channel), the owner, or
the department the complaint was routed to."""

ESCALATE_TRIGGER = "escalate"
"""In a workflow with an escalation ladder, firing this trigger also climbs the ladder."""

_NAME_MISSING = "'name' is missing: give the workflow a name such as 'tactics'"
_INITIAL_MISSING = "'initial' is missing: name the state new complaints start in"
_STATES = "a non-empty table of state name -> options"
_STATES_MISSING = f"'states' must be {_STATES}"
_TRANSITIONS = "a non-empty list of tables"
_TRANSITIONS_MISSING = f"'transitions' must be {_TRANSITIONS}"
_VERSION = "a positive integer"
_AGE = "an age such as '3 years', '36 months' or '90 days'"
_CALLBACKS = 'a name or a list of names such as ["notify_crm"]'


@attrs.frozen(kw_only=True)
class StateTable:
    """A state's options as a workflow file writes them (``[states.NAME]``)."""

    terminal: bool = False
    description: str = ""
    on_enter: Texts = attrs.field(default=(), metadata=about(expects=_CALLBACKS))


@attrs.frozen(kw_only=True)
class TransitionTable:
    """A transition as a workflow file writes it (``[[transitions]]``)."""

    trigger: str
    source: Texts = attrs.field(metadata=about(expects='a state, a list of states or "*"'))
    dest: str
    roles: Texts = ()
    requires: Texts = ()
    guards: Texts = ()
    before: Texts = attrs.field(default=(), metadata=about(expects=_CALLBACKS))
    after: Texts = attrs.field(default=(), metadata=about(expects=_CALLBACKS))
    notify: Texts = ()
    letter: str | None = None
    description: str = ""


@attrs.frozen(kw_only=True)
class WorkflowTable:
    """A workflow as a file writes it; its sections are read by their own modules."""

    name: str = attrs.field(metadata=about(missing=_NAME_MISSING))
    title: str = ""
    description: str = ""
    version: int = attrs.field(default=1, metadata=about(expects=_VERSION))
    initial: str = attrs.field(metadata=about(missing=_INITIAL_MISSING))
    roles: Texts = ()
    states: Mapping[str, StateTable | None] = attrs.field(
        metadata=about(expects=_STATES, missing=_STATES_MISSING)
    )
    transitions: tuple[TransitionTable, ...] = attrs.field(
        metadata=about(expects=_TRANSITIONS, missing=_TRANSITIONS_MISSING)
    )
    calendars: Mapping[str, Any] | None = attrs.field(
        default=None, metadata=about(expects="a table of calendar name -> settings")
    )
    clocks: Mapping[str, Any] | None = attrs.field(
        default=None, metadata=about(expects="a table of clock name -> options")
    )
    escalation: Mapping[str, Any] | None = attrs.field(
        default=None, metadata=about(expects="a table (with levels, ladders, routing)")
    )
    retention: str | None = attrs.field(
        default=None, metadata=about(label="retention", expects=_AGE)
    )
    letters: tuple[Any, ...] | None = attrs.field(
        default=None, metadata=about(expects="a list of tables ([[letters]])")
    )


_WORKFLOW_KEYS = keys(WorkflowTable)
_STATE_KEYS = keys(StateTable)
_TRANSITION_KEYS = keys(TransitionTable)


@attrs.frozen
class StateDefinition:
    """A state; ``terminal`` states are where a complaint's handling may end.

    ``on_enter`` names registered callbacks run once a transition into the state
    is committed.
    """

    name: str
    terminal: bool = False
    description: str = ""
    on_enter: tuple[str, ...] = ()


@attrs.frozen
class TransitionDefinition:
    """A move from any of ``sources`` to ``dest`` when ``trigger`` is fired.

    ``roles`` empty means any actor may fire it; ``requires`` names data keys that
    must be known (given with the trigger or recorded before); ``guards`` names
    registered checks; ``notify`` says who is told (``customer``, ``owner``).
    ``before`` names registered callbacks run inside the transition before anything
    is written (one may refuse it by raising); ``after`` names callbacks run once it
    is committed. ``letter`` names the letter the customer is sent (``final_response``):
    with letters configured, the outbox writes it from its template and checks the
    content the workflow's rules require.
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    description: str = ""
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    letter: str | None = None


@attrs.frozen
class WorkflowDefinition:
    """A complete, named process a complaint follows."""

    name: str
    initial: str
    states: tuple[StateDefinition, ...]
    transitions: tuple[TransitionDefinition, ...]
    roles: tuple[str, ...] = ()
    title: str = ""
    description: str = ""
    version: int = 1
    calendars: tuple[BusinessCalendar, ...] = ()
    clocks: tuple[ClockDefinition, ...] = ()
    escalation: EscalationPolicy | None = None
    retention: str | None = None
    """How long a complaint that ended is kept after its last change ("3 years"), if set."""
    letters: tuple[LetterRequirement, ...] = ()
    """What each letter must mention under the workflow's rules (``[[letters]]``)."""

    # -- loading ------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowDefinition:
        """Build a definition from plain data (as parsed from TOML or JSON).

        ``states`` is a table of state name to ``{terminal, description, on_enter}``;
        ``source`` of a transition is a state, a list of states, or ``"*"`` for
        every non-terminal state.

        Raises:
            WorkflowDefinitionError: listing every shape problem found.
        """
        if not isinstance(data, Mapping):
            raise WorkflowDefinitionError(
                "<unnamed>", [f"a workflow must be a table/mapping, got {type(data).__name__}"]
            )
        name = data.get("name")
        name = name if isinstance(name, str) and name else "<unnamed>"
        reading = read(data, WorkflowTable, functools.partial(_where, data))
        problems = list(reading.problems)
        table = reading.value
        if table is not None:
            problems += _table_problems(table, data)

        # The sections are read on their own, so that their problems are reported
        # even when the rest of the workflow has some; a section of the wrong kind
        # was reported above.
        declared = _section(data, "calendars")
        calendars = _calendars(declared, problems)
        # Clocks may name a calendar that is declared but invalid: that calendar's own
        # problems are reported; the clocks should not add "unknown calendar".
        calendar_names = [str(calendar) for calendar in declared or ()]
        clocks, clock_problems = parse_clocks(_section(data, "clocks"), calendar_names)
        problems.extend(clock_problems)
        escalation, escalation_problems = parse_escalation(_section(data, "escalation"))
        problems.extend(f"escalation: {problem}" for problem in escalation_problems)
        listed = data.get("letters")
        letters, letter_problems = parse_letter_requirements(
            listed if isinstance(listed, list | tuple) else None
        )
        problems.extend(letter_problems)
        if problems or table is None:
            raise WorkflowDefinitionError(name, problems)
        non_terminal = [state for state, options in table.states.items() if not _terminal(options)]
        return cls(
            name=table.name,
            initial=table.initial,
            states=tuple(
                StateDefinition(
                    name=state,
                    terminal=_terminal(options),
                    description=options.description if options else "",
                    on_enter=as_tuple(options.on_enter) if options else (),
                )
                for state, options in table.states.items()
            ),
            transitions=tuple(
                TransitionDefinition(
                    trigger=raw.trigger,
                    sources=tuple(non_terminal) if raw.source == "*" else as_tuple(raw.source),
                    dest=raw.dest,
                    roles=as_tuple(raw.roles),
                    requires=as_tuple(raw.requires),
                    guards=as_tuple(raw.guards),
                    notify=as_tuple(raw.notify),
                    description=raw.description,
                    before=as_tuple(raw.before),
                    after=as_tuple(raw.after),
                    letter=raw.letter,
                )
                for raw in table.transitions
            ),
            roles=as_tuple(table.roles),
            title=table.title,
            description=table.description,
            version=table.version,
            calendars=calendars,
            clocks=clocks,
            escalation=escalation,
            retention=table.retention,
            letters=letters,
        )

    @classmethod
    def from_toml(cls, text: str) -> WorkflowDefinition:
        """Build a definition from TOML text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise WorkflowDefinitionError("<toml>", [f"not valid TOML: {exc}"]) from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> WorkflowDefinition:
        """Read a definition from a ``.toml`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WorkflowDefinitionError(str(path), [f"cannot read the file: {exc}"]) from None
        try:
            return cls.from_toml(text)
        except WorkflowDefinitionError as exc:
            raise WorkflowDefinitionError(f"{exc.workflow} ({path})", exc.problems) from None

    # -- questions ----------------------------------------------------------

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(state.name for state in self.states)

    @property
    def terminal_states(self) -> tuple[str, ...]:
        return tuple(state.name for state in self.states if state.terminal)

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, in order of first appearance."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def calendar(self, name: str) -> BusinessCalendar:
        for calendar in self.calendars:
            if calendar.name == name:
                return calendar
        raise KeyError(name)

    def state(self, name: str) -> StateDefinition:
        for state in self.states:
            if state.name == name:
                return state
        raise KeyError(name)

    # -- validation ---------------------------------------------------------

    def problems(
        self,
        known_guards: Iterable[str] | None = None,
        callbacks: Mapping[str, object] | None = None,
    ) -> list[str]:
        """Every inconsistency of the definition, each with how to fix it.

        Args:
            known_guards: the guard names registered; ``None`` skips that check.
            callbacks: the callbacks registered, by name (those that ``before``,
                ``after`` and ``on_enter`` may name); ``None`` skips that check.
        """
        found: list[str] = []
        names = self.state_names
        declared = set(names)
        roles = set(self.roles)
        guards = None if known_guards is None else set(known_guards)

        for name in _repeats(names):
            found.append(f"state {name!r} is declared twice; keep one")
        for state in self.states:
            found += _unknown_callbacks(f"state {state.name!r}", state.on_enter, callbacks)
        for name in names:
            if not NAME_PATTERN.match(name):
                found.append(f"state {name!r} is not a valid name: use lower_snake_case")
        if self.initial not in declared:
            found.append(f"initial state {self.initial!r} is not declared; declare it in states")
        if not self.terminal_states:
            found.append("no state is terminal: mark at least one with terminal = true")
        for role in _repeats(self.roles):
            found.append(f"role {role!r} is listed twice")

        seen: dict[tuple[str, str], str] = {}
        for t in self.transitions:
            where = f"transition {t.trigger!r}"
            if not NAME_PATTERN.match(t.trigger):
                found.append(f"{where}: trigger is not a valid name: use lower_snake_case")
            if not t.sources:
                found.append(f"{where}: has no source state")
            for source in t.sources:
                if source not in declared:
                    found.append(
                        f"{where}: unknown source state {source!r}; declared states: "
                        f"{', '.join(names)}"
                    )
                key = (source, t.trigger)
                if key in seen:
                    found.append(
                        f"{where}: trigger {t.trigger!r} is defined twice from state "
                        f"{source!r} (to {seen[key]!r} and {t.dest!r}); a trigger must lead "
                        "to one place from one state: rename one of them"
                    )
                seen[key] = t.dest
            if t.dest not in declared:
                found.append(
                    f"{where}: unknown destination state {t.dest!r}; declared states: "
                    f"{', '.join(names)}"
                )
            for role in t.roles:
                if role not in roles:
                    found.append(
                        f"{where}: unknown role {role!r}; add it to the workflow's roles "
                        f"({', '.join(self.roles) or 'none declared'}) or fix the spelling"
                    )
            if t.letter is not None and "customer" not in t.notify:
                found.append(
                    f"{where}: sends the letter {t.letter!r} but does not notify the customer; "
                    'add notify = ["customer"] or remove the letter'
                )
            for recipient in t.notify:
                if recipient not in RECIPIENTS:
                    found.append(
                        f"{where}: cannot notify {recipient!r}; use one of "
                        f"{', '.join(sorted(RECIPIENTS))}"
                    )
            if guards is not None:
                for guard in t.guards:
                    if guard not in guards:
                        found.append(
                            f"{where}: unknown guard {guard!r}; registered guards: "
                            f"{', '.join(sorted(guards)) or 'none'}"
                        )
            found += _unknown_callbacks(where, (*t.before, *t.after), callbacks)
        found.extend(clock_reference_problems(self.clocks, names, self.triggers))
        if self.escalation is None:
            found.extend(
                f"clock {clock.name!r}: on_breach 'escalate' needs an escalation ladder; add "
                "an [escalation] table or remove 'escalate'"
                for clock in self.clocks
                if "escalate" in clock.on_breach
            )
        if found:
            return found  # the graph checks below assume the names are right

        outgoing: dict[str, set[str]] = {name: set() for name in names}
        for t in self.transitions:
            for source in t.sources:
                outgoing[source].add(t.dest)
        reachable = _reach(self.initial, outgoing)
        for name in names:
            if name not in reachable:
                found.append(
                    f"state {name!r} is unreachable from the initial state {self.initial!r}: "
                    "add a transition into it or remove it"
                )
        terminals = set(self.terminal_states)
        for state in self.states:
            if state.terminal:
                continue
            if not outgoing[state.name]:
                found.append(
                    f"state {state.name!r} is a dead end: it is not terminal and no transition "
                    "leaves it; add one or mark it terminal = true"
                )
            elif not (_reach(state.name, outgoing) & terminals):
                found.append(
                    f"state {state.name!r} has no path to a terminal state: complaints "
                    "there could never be closed"
                )
        return found

    def check(
        self,
        known_guards: Iterable[str] | None = None,
        callbacks: Mapping[str, object] | None = None,
    ) -> WorkflowDefinition:
        """Return ``self`` if valid (see :meth:`problems` for the arguments).

        Raises:
            WorkflowDefinitionError: listing every problem found.
        """
        problems = self.problems(known_guards, callbacks)
        if problems:
            raise WorkflowDefinitionError(self.name, problems)
        return self


def _table_problems(table: WorkflowTable, data: Mapping[str, Any]) -> list[str]:
    """What a well-shaped workflow table still gets wrong: empty values, bad amounts."""
    problems: list[str] = []
    if not table.name:
        problems.append(_NAME_MISSING)
    if not table.initial:
        problems.append(_INITIAL_MISSING)
    if not table.states:
        problems.append(_STATES_MISSING)
    if not table.transitions:
        problems.append(_TRANSITIONS_MISSING)
    for index, raw in enumerate(table.transitions):
        empty = [key for key in ("trigger", "source", "dest") if not getattr(raw, key)]
        if empty:
            problems.append(f"{_where(data, ('transitions', index))}: missing {', '.join(empty)}")
    if table.version < 1:
        problems.append(f"'version' must be {_VERSION}, got {table.version!r}")
    if table.retention is not None:
        try:
            retention_cutoff(datetime(2000, 1, 1, tzinfo=UTC), table.retention)
        except InvalidArgumentError as exc:
            problems.append(f"retention must be {_AGE} ({exc})")
    return problems


def _where(data: Mapping[str, Any], path: KeyPath) -> str:
    """How problems name the table at ``path`` of a workflow."""
    match path:
        case ("states", state):
            return f"state {state!r}"
        case ("transitions", int(index)):
            trigger = lookup(data, (*path, "trigger"))
            if isinstance(trigger, str) and trigger:
                return f"transition #{index + 1} ({trigger!r})"
            return f"transition #{index + 1}"
    return ""


def _section(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    return value if isinstance(value, Mapping) else None


def _terminal(options: StateTable | None) -> bool:
    return options is not None and options.terminal


def _calendars(
    value: Mapping[str, Any] | None, problems: list[str]
) -> tuple[BusinessCalendar, ...]:
    calendars = []
    for name, settings in (value or {}).items():
        try:
            calendars.append(BusinessCalendar.from_dict(settings, name=str(name)))
        except CalendarError as exc:
            problems.extend(f"calendar {name!r}: {problem}" for problem in exc.problems)
    return tuple(calendars)


def _unknown_callbacks(
    where: str, named: Iterable[str], callbacks: Mapping[str, object] | None
) -> list[str]:
    if callbacks is None:
        return []
    return [
        f"{where}: unknown callback {name!r}; registered callbacks: "
        f"{', '.join(sorted(callbacks)) or 'none'}"
        for name in dict.fromkeys(named)
        if name not in callbacks
    ]


def _repeats(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for value in values:
        if value in seen and value not in repeated:
            repeated.append(value)
        seen.add(value)
    return repeated


def _reach(start: str, outgoing: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in outgoing.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen
