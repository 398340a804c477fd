"""Compiling a workflow into the one shared ``transitions.Machine`` that runs it.

A machine is built once per definition (``model=None``) and cached; a trigger is
fired on a small transient token carrying a complaint's state. Binding a
machine to each complaint would cost about half a millisecond and tens of KB per
complaint, and ``add_model`` grows quadratically.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from transitions import Machine, MachineError

from complaint_flow.definitions.deadlines import ClockBook
from complaint_flow.definitions.workflow import TransitionDefinition, WorkflowDefinition
from complaint_flow.errors import TriggerNotAllowedError, UnknownTriggerError


class _Token:
    """The transient model a trigger runs on: just a state."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class CompiledWorkflow:
    """A validated definition with its shared machine and transition index."""

    def __init__(self, definition: WorkflowDefinition) -> None:
        self.definition = definition
        self.name = definition.name
        self.machine = Machine(
            model=None,
            states=list(definition.state_names),
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                for t in definition.transitions
            ],
            initial=None,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        index: dict[str, dict[str, TransitionDefinition]] = {
            name: {} for name in definition.state_names
        }
        for t in definition.transitions:
            for source in t.sources:
                index[source][t.trigger] = t
        self._from: Mapping[str, Mapping[str, TransitionDefinition]] = index
        self._triggers = frozenset(definition.triggers)
        self._events = self.machine.events
        self.terminal_states = frozenset(definition.terminal_states)
        self.clocks = ClockBook(
            definition.clocks,
            {calendar.name: calendar for calendar in definition.calendars},
            definition.terminal_states,
        )
        self.has_clocks = bool(definition.clocks)

    def transition(self, state: str, trigger: str) -> TransitionDefinition:
        """The transition ``trigger`` takes from ``state``.

        Raises:
            UnknownTriggerError: the workflow has no such trigger.
            TriggerNotAllowedError: the trigger does not apply in ``state``.
        """
        found = self._from.get(state, {}).get(trigger)
        if found is not None:
            return found
        if trigger not in self._triggers:
            raise UnknownTriggerError(self.name, trigger, self._triggers)
        raise TriggerNotAllowedError(trigger, state, self._from.get(state, {}))

    def available(self, state: str) -> list[TransitionDefinition]:
        """The transitions that leave ``state``, in definition order."""
        return list(self._from.get(state, {}).values())

    def run(self, state: str, trigger: str) -> str:
        """Fire ``trigger`` on the shared machine from ``state``; return the new state."""
        token = _Token(state)
        try:
            self._events[trigger].trigger(token)
        except MachineError:
            raise TriggerNotAllowedError(trigger, state, self._from.get(state, {})) from None
        return token.state


@functools.lru_cache(maxsize=256)
def compile_workflow(definition: WorkflowDefinition) -> CompiledWorkflow:
    """The shared compiled machine of a (valid) definition, built once."""
    return CompiledWorkflow(definition.check())
