"""The corrective actions' state machine, as data, compiled once into a shared machine.

Like the complaint workflows and the stop procedure, it is one
``transitions.Machine(model=None)`` built once; a step is fired on a transient token
carrying an action's status, never on a machine bound to each action. The machine is
the authority on which step applies to which status: the services record the status
it produced.

====================  ==============================  ==============
step                  from                            to
====================  ==============================  ==============
``start``             open                            in_progress
``complete``          open, in_progress               done
``check``             done                            checked
``extend_check``      checked                         done
``confirm``           checked                         confirmed
``reopen``            checked                         in_progress
====================  ==============================  ==============
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable

import attrs
from transitions import EventData, Machine, MachineError

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.actions import ActionStatus


class ActionStatusError(InvalidArgumentError):
    """A corrective action's step does not apply to its status (the action is unchanged).

    The message names the steps that do.
    """


class ActionTrigger(enum.StrEnum):
    """The steps of a corrective action."""

    START = "start"
    COMPLETE = "complete"
    CHECK = "check"
    EXTEND_CHECK = "extend_check"
    CONFIRM = "confirm"
    REOPEN = "reopen"


@attrs.frozen
class ActionTransition:
    """One step: from which statuses ``trigger`` goes to ``dest``."""

    trigger: ActionTrigger
    sources: tuple[ActionStatus, ...]
    dest: ActionStatus
    description: str = ""


ACTION_TRANSITIONS: tuple[ActionTransition, ...] = (
    ActionTransition(
        ActionTrigger.START,
        (ActionStatus.OPEN,),
        ActionStatus.IN_PROGRESS,
        "the owner starts the work",
    ),
    ActionTransition(
        ActionTrigger.COMPLETE,
        (ActionStatus.OPEN, ActionStatus.IN_PROGRESS),
        ActionStatus.DONE,
        "the work is done; its effect is checked after the check period",
    ),
    ActionTransition(
        ActionTrigger.CHECK,
        (ActionStatus.DONE,),
        ActionStatus.CHECKED,
        "the complaint rate before and after was compared; a person confirms the verdict",
    ),
    ActionTransition(
        ActionTrigger.EXTEND_CHECK,
        (ActionStatus.CHECKED,),
        ActionStatus.DONE,
        "a person asks for a longer check (an inconclusive verdict waits for more periods)",
    ),
    ActionTransition(
        ActionTrigger.CONFIRM,
        (ActionStatus.CHECKED,),
        ActionStatus.CONFIRMED,
        "a person confirms the check's verdict; the action is closed",
    ),
    ActionTransition(
        ActionTrigger.REOPEN,
        (ActionStatus.CHECKED,),
        ActionStatus.IN_PROGRESS,
        "a person rejects the verdict or the measure; work resumes",
    ),
)
"""Every step of a corrective action and the statuses it leaves from."""


Performed = Callable[[ActionStatus, ActionStatus], None]
"""Called by the machine once it has moved an action: ``(source, destination)``."""


class ActionStep:
    """The transient model a step runs on: a status, and who records the move."""

    __slots__ = ("performed", "state")

    def __init__(self, status: ActionStatus, performed: Performed | None) -> None:
        self.state = status.value
        self.performed = performed


def _performed(event: EventData) -> None:
    step = event.model
    assert isinstance(step, ActionStep)
    assert event.transition is not None
    if step.performed is not None:
        step.performed(ActionStatus(event.transition.source), ActionStatus(step.state))


class ActionMachine:
    """The compiled steps of corrective actions: one shared machine."""

    def __init__(self, transitions: tuple[ActionTransition, ...]) -> None:
        self.transitions = transitions
        self.machine = Machine(
            model=None,
            states=[status.value for status in ActionStatus],
            transitions=[
                {
                    "trigger": t.trigger.value,
                    "source": [s.value for s in t.sources],
                    "dest": t.dest.value,
                    "after": [_performed],
                }
                for t in transitions
            ],
            initial=None,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            send_event=True,
        )

    def allowed(self, status: ActionStatus) -> list[ActionTrigger]:
        """The steps that leave ``status``, in definition order."""
        here = set(self.machine.get_triggers(ActionStatus(status).value))
        return [trigger for trigger in ActionTrigger if trigger.value in here]

    def fire(
        self,
        status: ActionStatus,
        trigger: ActionTrigger | str,
        performed: Performed | None = None,
    ) -> ActionStatus:
        """Take ``trigger`` from ``status`` on the shared machine; return the new status.

        ``performed(source, destination)`` is called by the machine once it has moved.

        Raises:
            ActionStatusError: the step is unknown or does not apply in ``status``.
        """
        status = ActionStatus(status)
        step = _trigger(trigger)
        model = ActionStep(status, performed)
        try:
            self.machine.events[step.value].trigger(model)
        except MachineError:
            raise self.not_allowed(status, step) from None
        return ActionStatus(model.state)

    def not_allowed(self, status: ActionStatus, step: ActionTrigger) -> ActionStatusError:
        """The refusal of ``step`` in ``status``, naming the steps that apply."""
        allowed = self.allowed(status)
        choices = ", ".join(repr(t.value) for t in allowed) if allowed else "none: it is closed"
        return ActionStatusError(
            f"cannot {step.value.replace('_', ' ')} a corrective action that is "
            f"{status.value!r}; from {status.value!r} the possible steps are {choices}"
        )


def _trigger(trigger: ActionTrigger | str) -> ActionTrigger:
    try:
        return ActionTrigger(trigger)
    except ValueError:
        raise ActionStatusError(
            f"unknown corrective action step {trigger!r}; the steps are "
            f"{', '.join(repr(t.value) for t in ActionTrigger)}"
        ) from None


@functools.lru_cache(maxsize=1)
def action_machine() -> ActionMachine:
    """The shared compiled machine of corrective actions, built once."""
    return ActionMachine(ACTION_TRANSITIONS)


def action_destination(status: ActionStatus, trigger: ActionTrigger | str) -> ActionStatus:
    """Where ``trigger`` takes an action in ``status``.

    >>> action_destination(ActionStatus.OPEN, "complete")
    <ActionStatus.DONE: 'done'>

    Raises:
        ActionStatusError: the step does not apply in ``status``.
    """
    return action_machine().fire(status, trigger)


__all__ = [
    "ACTION_TRANSITIONS",
    "ActionMachine",
    "ActionStatusError",
    "ActionTransition",
    "ActionTrigger",
    "action_destination",
    "action_machine",
]
