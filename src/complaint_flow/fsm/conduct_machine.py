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
from collections.abc import Mapping

import attrs
from transitions import Machine, MachineError

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


class _Token:
    """The transient model a trigger runs on: just a status."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


class ConductMachine:
    """The compiled conduct procedure: one shared machine and a transition index."""

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
                }
                for t in transitions
            ],
            initial=None,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )
        index: dict[ConductStatus, dict[ConductTrigger, ConductTransition]] = {
            status: {} for status in ConductStatus
        }
        for t in transitions:
            for source in t.sources:
                index[source][t.trigger] = t
        self._from: Mapping[ConductStatus, Mapping[ConductTrigger, ConductTransition]] = index

    def allowed(self, status: ConductStatus) -> list[ConductTrigger]:
        """The triggers that leave ``status``, in definition order."""
        return list(self._from[ConductStatus(status)])

    def destination(self, status: ConductStatus, trigger: ConductTrigger | str) -> ConductStatus:
        """Where ``trigger`` takes a record in ``status``, fired on the shared machine.

        Raises:
            ConductError: the trigger is unknown, or does not apply in ``status``
                (the message names the steps that do).
        """
        status = ConductStatus(status)
        try:
            step = ConductTrigger(trigger)
        except ValueError:
            raise ConductError(
                f"unknown conduct step {trigger!r}; the steps are "
                f"{', '.join(repr(t.value) for t in ConductTrigger)}"
            ) from None
        if step not in self._from[status]:
            raise self._not_allowed(status, step)
        token = _Token(status.value)
        try:
            self.machine.events[step.value].trigger(token)
        except MachineError:  # pragma: no cover - the index and the machine agree
            raise self._not_allowed(status, step) from None
        return ConductStatus(token.state)

    def _not_allowed(self, status: ConductStatus, step: ConductTrigger) -> ConductError:
        allowed = self.allowed(status)
        choices = ", ".join(repr(t.value) for t in allowed) if allowed else "(none)"
        return ConductError(
            f"cannot {step.value} a conduct record that is {status.value!r}; from "
            f"{status.value!r} the possible steps are {choices}"
        )


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
    return conduct_machine().destination(status, trigger)


__all__ = [
    "CONDUCT_TRANSITIONS",
    "SKIP_WARNING_SOURCES",
    "ConductMachine",
    "ConductTransition",
    "ConductTrigger",
    "conduct_machine",
    "destination",
]
