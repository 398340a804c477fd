"""The stop procedure's state machine, as data, compiled once into a shared machine.

Like the complaint workflows (:mod:`complaint_flow.fsm.workflow_machine`), the conduct
procedure is one ``transitions.Machine(model=None)`` built once; a trigger is
fired on a transient token carrying a record's status, never on a machine bound
to each record.

The rules the machine itself cannot express (who may fire a trigger, and that
``restrict`` from ``normal`` or ``lapsed`` needs a recorded reason for skipping
the warning) are enforced by :class:`~complaint_flow.services.conduct_desk.ConductDesk`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable

import attrs
from transitions import EventData, Machine, MachineError

from complaint_flow.errors import ConductError
from complaint_flow.model.conduct import ConductStatus


class ConductTrigger(enum.StrEnum):
    """The steps of the stop procedure."""

    WARN = "warn"
    RESTRICT = "restrict"
    APPEAL = "appeal"
    UPHOLD = "uphold"
    OVERTURN = "overturn"
    EXTEND = "extend"
    LIFT = "lift"
    LAPSE = "lapse"


@attrs.frozen
class ConductTransition:
    """One step: from which statuses ``trigger`` goes to ``dest``."""

    trigger: ConductTrigger
    sources: tuple[ConductStatus, ...]
    dest: ConductStatus
    description: str = ""


_RESTRICTING = tuple(status for status in ConductStatus if status.restricts)

CONDUCT_TRANSITIONS: tuple[ConductTransition, ...] = (
    ConductTransition(
        ConductTrigger.WARN,
        (ConductStatus.NORMAL, ConductStatus.LAPSED),
        ConductStatus.WARNED,
        "a warning that restrictions may follow",
    ),
    ConductTransition(
        ConductTrigger.RESTRICT,
        (ConductStatus.WARNED, ConductStatus.NORMAL, ConductStatus.LAPSED),
        ConductStatus.RESTRICTED,
        "restrictions decided by an authorised actor (without a warning first only "
        "with a recorded reason)",
    ),
    ConductTransition(
        ConductTrigger.APPEAL,
        (ConductStatus.RESTRICTED, ConductStatus.EXTENDED),
        ConductStatus.UNDER_APPEAL,
        "the customer appeals the restriction or its extension",
    ),
    ConductTransition(
        ConductTrigger.UPHOLD,
        (ConductStatus.UNDER_APPEAL,),
        ConductStatus.REVIEWED,
        "the appeal is decided and the restriction stands",
    ),
    ConductTransition(
        ConductTrigger.OVERTURN,
        (ConductStatus.UNDER_APPEAL,),
        ConductStatus.LAPSED,
        "the appeal is decided and the restriction ends",
    ),
    ConductTransition(
        ConductTrigger.EXTEND,
        (ConductStatus.RESTRICTED, ConductStatus.REVIEWED, ConductStatus.EXTENDED),
        ConductStatus.EXTENDED,
        "at review, the restriction is extended with reasons and a new review date",
    ),
    ConductTransition(
        ConductTrigger.LIFT,
        _RESTRICTING,
        ConductStatus.LAPSED,
        "the restriction is lifted early",
    ),
    ConductTransition(
        ConductTrigger.LAPSE,
        _RESTRICTING,
        ConductStatus.LAPSED,
        "the review date came (or a review let the restriction go)",
    ),
)
"""The conduct procedure: every step and the statuses it leaves from."""

SKIP_WARNING_SOURCES = frozenset({ConductStatus.NORMAL, ConductStatus.LAPSED})
"""Statuses from which ``restrict`` skips the warning: a recorded reason is required."""


Performed = Callable[[ConductStatus, ConductStatus], None]
"""Called by the machine once it has moved a record: ``(source, destination)``."""


class ConductStep:
    """The transient model a conduct trigger runs on: a status, and who records the move."""

    __slots__ = ("performed", "state")

    def __init__(self, status: ConductStatus, performed: Performed | None) -> None:
        self.state = status.value
        self.performed = performed


def _performed(event: EventData) -> None:
    step = event.model
    assert isinstance(step, ConductStep)
    assert event.transition is not None
    if step.performed is not None:
        step.performed(ConductStatus(event.transition.source), ConductStatus(step.state))


class ConductMachine:
    """The compiled conduct procedure: one shared machine, the authority on every step."""

    def __init__(self, transitions: tuple[ConductTransition, ...]) -> None:
        self.transitions = transitions
        self.machine = Machine(
            model=None,
            states=[status.value for status in ConductStatus],
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

    def allowed(self, status: ConductStatus) -> list[ConductTrigger]:
        """The steps that leave ``status``, as the machine knows them, in definition order."""
        here = set(self.machine.get_triggers(ConductStatus(status).value))
        return [trigger for trigger in ConductTrigger if trigger.value in here]

    def check(self, status: ConductStatus, trigger: ConductTrigger | str) -> ConductTrigger:
        """Refuse early a step that does not apply in ``status`` (before other checks).

        Raises:
            ConductError: the step is unknown, or does not apply in ``status`` (the
                message names the steps that do).
        """
        step = _trigger(trigger)
        if step not in self.allowed(status):
            raise self._not_allowed(ConductStatus(status), step)
        return step

    def fire(
        self,
        status: ConductStatus,
        trigger: ConductTrigger | str,
        performed: Performed | None = None,
    ) -> ConductStatus:
        """Take ``trigger`` from ``status`` on the shared machine; return the new status.

        ``performed(source, destination)`` is called by the machine once it has moved,
        so the caller records the status the machine produced.

        Raises:
            ConductError: the step is unknown or does not apply in ``status``.
        """
        status = ConductStatus(status)
        step = _trigger(trigger)
        model = ConductStep(status, performed)
        try:
            self.machine.events[step.value].trigger(model)
        except MachineError:
            raise self._not_allowed(status, step) from None
        return ConductStatus(model.state)

    def _not_allowed(self, status: ConductStatus, step: ConductTrigger) -> ConductError:
        allowed = self.allowed(status)
        choices = ", ".join(repr(t.value) for t in allowed) if allowed else "(none)"
        return ConductError(
            f"cannot {step.value} a conduct record that is {status.value!r}; from "
            f"{status.value!r} the possible steps are {choices}"
        )


def _trigger(trigger: ConductTrigger | str) -> ConductTrigger:
    try:
        return ConductTrigger(trigger)
    except ValueError:
        raise ConductError(
            f"unknown conduct step {trigger!r}; the steps are "
            f"{', '.join(repr(t.value) for t in ConductTrigger)}"
        ) from None


@functools.lru_cache(maxsize=1)
def conduct_machine() -> ConductMachine:
    """The shared compiled conduct machine, built once."""
    return ConductMachine(CONDUCT_TRANSITIONS)


def destination(status: ConductStatus, trigger: ConductTrigger | str) -> ConductStatus:
    """Where ``trigger`` takes a record in ``status``.

    >>> destination(ConductStatus.WARNED, "restrict")
    <ConductStatus.RESTRICTED: 'restricted'>

    Raises:
        ConductError: the step does not apply in ``status``; the message names
            the steps that do.
    """
    return conduct_machine().fire(status, trigger)


__all__ = [
    "CONDUCT_TRANSITIONS",
    "SKIP_WARNING_SOURCES",
    "ConductMachine",
    "ConductTransition",
    "ConductTrigger",
    "conduct_machine",
    "destination",
]
