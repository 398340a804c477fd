"""Compiling a workflow into the one shared ``transitions.Machine`` that runs it.

A machine is built once per definition (``model=None``) and cached; a trigger is
fired with ``machine.events[trigger].trigger(step)`` on a transient :class:`Step`
carrying one complaint's state and what the step needs. Binding a machine to each
complaint would cost about half a millisecond and tens of KB per complaint, and
``add_model`` grows quadratically.

The machine is the authority on a transition. Its ``prepare`` callbacks check the
actor's role and the required data, its conditions run the named guards (each
raising the library's precise error), its ``before`` callbacks let plugins refuse,
and its ``after`` callback hands the state the machine produced to whoever records
it. Nothing beside the machine computes a destination.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from transitions import EventData, Machine, MachineError

from complaint_flow.definitions.deadlines import ClockBook
from complaint_flow.definitions.workflow import (
    ESCALATE_TRIGGER,
    TransitionDefinition,
    WorkflowDefinition,
)
from complaint_flow.errors import (
    GuardRefusedError,
    MissingFieldError,
    PermissionDeniedError,
    TriggerNotAllowedError,
    UnknownTriggerError,
)
from complaint_flow.model.entities import Actor, Complaint
from complaint_flow.model.immutable import FrozenData

Guard = Callable[[Complaint, Actor, Mapping[str, Any]], "str | None"]
"""A named check: ``None`` allows the transition, a sentence says why not."""


class Step:
    """The transient model one trigger runs on: a complaint's state and the step's inputs.

    The service firing the trigger subclasses it to answer what the machine asks while
    it checks and performs the step.
    """

    __slots__ = ("actor", "complaint", "data", "state")

    def __init__(self, complaint: Complaint, actor: Actor, data: FrozenData) -> None:
        self.state = complaint.state
        self.complaint = complaint
        self.actor = actor
        self.data = data

    def guard(self, name: str) -> Guard:
        """The registered guard called ``name``."""
        raise NotImplementedError

    def prepare_escalation(self) -> None:
        """Check that the complaint can climb its ladder (raise when it cannot)."""
        raise NotImplementedError

    def before(self, transition: TransitionDefinition, dest: str) -> None:
        """Run just before the state changes (plugins may still refuse)."""
        raise NotImplementedError

    def performed(self, transition: TransitionDefinition, source: str) -> None:
        """Record the transition the machine performed; ``self.state`` is the new state."""
        raise NotImplementedError


def _blank(value: object) -> bool:
    return value is None or value == "" or value == () or value == {}


def _step(event: EventData) -> Step:
    step = event.model
    assert isinstance(step, Step)
    return step


def _checks(definition: TransitionDefinition, climbs: bool) -> Callable[[EventData], None]:
    """One ``prepare`` callback for the transition's own checks, in the order users meet them.

    The actor's role first, then the data the step requires, then (for ``escalate``)
    that the ladder has a level above. One callback rather than three keeps the
    machine's per-callback bookkeeping off the hot path.
    """
    roles = definition.roles
    requires = definition.requires
    trigger = definition.trigger

    def check(event: EventData) -> None:
        step = _step(event)
        actor = step.actor
        if roles and actor.role not in roles:
            raise PermissionDeniedError(actor.id, actor.role, trigger, roles)
        if requires:
            known = step.complaint.data
            missing = [
                key for key in requires if _blank(step.data.get(key)) and _blank(known.get(key))
            ]
            if missing:
                raise MissingFieldError(trigger, missing)
        if climbs:
            step.prepare_escalation()

    return check


def _guard_condition(definition: TransitionDefinition, name: str) -> Callable[[EventData], bool]:
    def guard_allows(event: EventData) -> bool:
        step = _step(event)
        refusal = step.guard(name)(step.complaint, step.actor, step.data)
        if refusal is not None:
            raise GuardRefusedError(definition.trigger, name, refusal)
        return True

    return guard_allows


def _before(definition: TransitionDefinition) -> Callable[[EventData], None]:
    def before(event: EventData) -> None:
        assert event.transition is not None
        dest = event.transition.dest
        assert dest is not None  # the workflow has no internal transitions
        _step(event).before(definition, dest)

    return before


def _performed(definition: TransitionDefinition) -> Callable[[EventData], None]:
    def performed(event: EventData) -> None:
        assert event.transition is not None
        _step(event).performed(definition, event.transition.source)

    return performed


class CompiledWorkflow:
    """A validated definition with its shared machine."""

    def __init__(self, definition: WorkflowDefinition) -> None:
        self.definition = definition
        self.name = definition.name
        climbs = definition.escalation is not None
        transitions: list[dict[str, Any]] = []
        for t in definition.transitions:
            # Refuse at the top of the ladder before anything moves.
            escalates = climbs and t.trigger == ESCALATE_TRIGGER
            transitions.append(
                {
                    "trigger": t.trigger,
                    "source": list(t.sources),
                    "dest": t.dest,
                    "prepare": [_checks(t, escalates)]
                    if t.roles or t.requires or escalates
                    else [],
                    "conditions": [_guard_condition(t, name) for name in t.guards],
                    "before": [_before(t)] if t.before else [],
                    "after": [_performed(t)],
                }
            )
        self.machine = Machine(
            model=None,
            states=list(definition.state_names),
            transitions=transitions,
            initial=None,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            send_event=True,
        )
        self._events = self.machine.events
        outgoing: dict[str, list[TransitionDefinition]] = {
            name: [] for name in definition.state_names
        }
        for t in definition.transitions:
            for source in t.sources:
                outgoing[source].append(t)
        self._outgoing: Mapping[str, tuple[TransitionDefinition, ...]] = {
            name: tuple(found) for name, found in outgoing.items()
        }
        self.on_enter: Mapping[str, tuple[str, ...]] = {
            state.name: state.on_enter for state in definition.states
        }
        """The callbacks each state names to run once a complaint has entered it."""
        self._triggers = frozenset(definition.triggers)
        self.terminal_states = frozenset(definition.terminal_states)
        self.clocks = ClockBook(
            definition.clocks,
            {calendar.name: calendar for calendar in definition.calendars},
            definition.terminal_states,
        )
        self.has_clocks = bool(definition.clocks)

    def available(self, state: str) -> list[TransitionDefinition]:
        """The transitions that leave ``state``, in definition order (for menus)."""
        return list(self._outgoing.get(state, ()))

    def transition(self, state: str, trigger: str) -> TransitionDefinition:
        """The definition of the transition ``trigger`` takes from ``state`` (for menus).

        Raises:
            UnknownTriggerError: the workflow has no such trigger.
            TriggerNotAllowedError: the trigger does not apply in ``state``.
        """
        allowed = {t.trigger: t for t in self._outgoing.get(state, ())}
        found = allowed.get(trigger)
        if found is not None:
            return found
        if trigger not in self._triggers:
            raise UnknownTriggerError(self.name, trigger, self._triggers)
        raise TriggerNotAllowedError(trigger, state, allowed)

    def destination(self, state: str, trigger: str) -> str:
        """Where ``trigger`` leads from ``state``, as the machine's transitions say.

        A question for menus, diagrams and tests: no check runs and nothing moves.

        Raises:
            UnknownTriggerError: the workflow has no such trigger.
            TriggerNotAllowedError: the trigger does not apply in ``state``.
        """
        event = self._events.get(trigger)
        if event is None:
            raise UnknownTriggerError(self.name, trigger, self._triggers)
        found = event.transitions.get(state)
        if not found:
            allowed = {t.trigger: t for t in self._outgoing.get(state, ())}
            raise TriggerNotAllowedError(trigger, state, allowed)
        return str(found[0].dest)

    def fire(self, trigger: str, step: Step) -> None:
        """Fire ``trigger`` on the shared machine; ``step.state`` becomes the new state.

        Raises:
            UnknownTriggerError: the workflow has no such trigger.
            TriggerNotAllowedError: the trigger does not apply in the step's state.
            PermissionDeniedError, MissingFieldError, GuardRefusedError,
            EscalationError: a check of the transition refused it; nothing moved.
        """
        event = self._events.get(trigger)
        if event is None:
            raise UnknownTriggerError(self.name, trigger, self._triggers)
        try:
            event.trigger(step)
        except MachineError:
            allowed = {t.trigger: t for t in self._outgoing.get(step.state, ())}
            raise TriggerNotAllowedError(trigger, step.state, allowed) from None


@functools.lru_cache(maxsize=256)
def compile_workflow(definition: WorkflowDefinition) -> CompiledWorkflow:
    """The shared compiled machine of a (valid) definition, built once."""
    return CompiledWorkflow(definition.check())
