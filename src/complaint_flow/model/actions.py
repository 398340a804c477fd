"""Corrective actions: what is done so that the same complaint does not happen again (M10).

A :class:`CorrectiveAction` is, like a complaint or a conduct record, an immutable
snapshot of one version: every change to it is an
:class:`~complaint_flow.model.entities.Event` whose ``complaint_id`` is the action's
id (``action:<key>``), committed with its messages through an ``ActionCommit``. Its
kind is one of the five measures the source names (better procedures, fixing product
or service faults, better service behaviour, higher performance standards, more focus
on customer needs); after it is done, its effect on the complaint rate in its
categories is checked (:class:`EffectCheck`) and a person confirms the verdict.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.entities import Actor

ACTION_PREFIX = "action:"
"""Ids of corrective actions (in events and outbox messages) start with this."""


def action_id(key: str) -> str:
    """The id of the action with ``key``: ``action:<key>`` (an id given whole is kept)."""
    return key if key.startswith(ACTION_PREFIX) else ACTION_PREFIX + key


def is_action_id(subject: str) -> bool:
    """Whether an event's or message's ``complaint_id`` names a corrective action."""
    return subject.startswith(ACTION_PREFIX)


class ActionKind(enum.StrEnum):
    """The kinds of corrective action the source names, the measures complaints lead to."""

    PROCEDURE = "procedure"
    """A better procedure: a step changed, added or removed."""
    PRODUCT_OR_SERVICE_FAULT = "product_or_service_fault"
    """A fault of the product or the service fixed."""
    SERVICE_BEHAVIOUR = "service_behaviour"
    """Better behaviour of the people serving customers (training, coaching)."""
    PERFORMANCE_STANDARD = "performance_standard"
    """A higher performance standard (a target, a deadline, a check)."""
    CUSTOMER_FOCUS = "customer_focus"
    """More focus on what customers need (an offer, information, accessibility)."""

    @classmethod
    def parse(cls, value: object) -> ActionKind:
        """The kind named ``value`` ("product or service fault" and "product-or-service-fault"
        are read as ``product_or_service_fault``).

        Raises:
            InvalidArgumentError: no kind has that name; the message lists them.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            normalised = "_".join(value.strip().lower().replace("-", " ").split())
            try:
                return cls(normalised)
            except ValueError:
                pass
        choices = ", ".join(repr(kind.value) for kind in cls)
        raise InvalidArgumentError(
            f"kind must be one of {choices}, got {value!r}; pass the kind of measure the action is"
        )


class ActionStatus(enum.StrEnum):
    """Where a corrective action stands.

    ``open`` → ``in_progress`` → ``done`` → ``checked`` (its effect measured) →
    ``confirmed`` by a person, or reopened (back to ``in_progress``).
    """

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CHECKED = "checked"
    CONFIRMED = "confirmed"

    @property
    def unfinished(self) -> bool:
        """Whether the work is still to be done (``open`` or ``in_progress``): it can be overdue."""
        return self in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)

    @property
    def closed(self) -> bool:
        """Whether nothing more can happen to the action (``confirmed``)."""
        return self is ActionStatus.CONFIRMED


class Verdict(enum.StrEnum):
    """What an effectiveness check suggests, for a person to confirm."""

    EFFECTIVE = "effective"
    """The complaint rate fell, beyond what chance explains."""
    NOT_EFFECTIVE = "not_effective"
    """Even the most favourable reading is a smaller fall than the one that matters."""
    INCONCLUSIVE = "inconclusive"
    """The figures hold both "no change" and a fall that matters: wait for more periods."""


@attrs.frozen
class EffectCheck:
    """The figures of one effectiveness check, as recorded on the action.

    The complaint rate in the action's categories over ``before`` (from
    ``before_start`` to ``done_at``) and ``after`` (from ``done_at`` to
    ``after_end``), per unit of exposure (``exposure_unit``: weeks unless the host
    gave another measure such as orders), compared by the analysis module's test.
    """

    verdict: Verdict
    categories: tuple[str, ...]
    before_start: datetime
    done_at: datetime
    after_end: datetime
    before_counts: tuple[int, ...]
    after_counts: tuple[int, ...]
    before_exposure: float
    after_exposure: float
    exposure_unit: str
    rate_ratio: float | None
    low: float | None
    high: float | None
    p_value: float | None
    method: str
    summary: str
    checked_at: datetime

    @property
    def before_count(self) -> int:
        """Complaints counted before the action was done."""
        return sum(self.before_counts)

    @property
    def after_count(self) -> int:
        """Complaints counted after the action was done."""
        return sum(self.after_counts)

    def as_data(self) -> dict[str, Any]:
        """The figures as JSON-like data (what the ``effectiveness_checked`` event carries)."""
        return {
            "verdict": self.verdict.value,
            "categories": list(self.categories),
            "before_start": self.before_start.isoformat(),
            "done_at": self.done_at.isoformat(),
            "after_end": self.after_end.isoformat(),
            "before_counts": list(self.before_counts),
            "after_counts": list(self.after_counts),
            "before_exposure": self.before_exposure,
            "after_exposure": self.after_exposure,
            "exposure_unit": self.exposure_unit,
            "rate_ratio": self.rate_ratio,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
            "method": self.method,
            "summary": self.summary,
            "checked_at": self.checked_at.isoformat(),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> EffectCheck:
        """The check :meth:`as_data` described (from an event's data)."""
        return cls(
            verdict=Verdict(data["verdict"]),
            categories=tuple(data["categories"]),
            before_start=datetime.fromisoformat(data["before_start"]),
            done_at=datetime.fromisoformat(data["done_at"]),
            after_end=datetime.fromisoformat(data["after_end"]),
            before_counts=tuple(data["before_counts"]),
            after_counts=tuple(data["after_counts"]),
            before_exposure=data["before_exposure"],
            after_exposure=data["after_exposure"],
            exposure_unit=data["exposure_unit"],
            rate_ratio=data["rate_ratio"],
            low=data["low"],
            high=data["high"],
            p_value=data["p_value"],
            method=data["method"],
            summary=data["summary"],
            checked_at=datetime.fromisoformat(data["checked_at"]),
        )


@attrs.frozen(slots=False)
class CorrectiveAction:
    """One version of a corrective action (an immutable snapshot).

    ``owner`` is the person who puts it in place ("I'll put it right": a named owner
    with contact details); ``due_at`` when the work must be done. ``complaints`` are
    the ids of the complaints that led to it and ``categories`` the complaint
    categories whose rate it should lower. ``check_days`` is how long after it is
    done its effect is measured (and how far back the rate it is compared with goes);
    ``check_due_at`` is when that check is due (set while ``done``). ``check`` holds
    the latest check's figures; ``overdue_warned`` says the owner was told the
    current ``due_at`` was missed. ``audit_head`` is the hash of its last event.
    """

    id: str
    kind: ActionKind
    title: str
    owner: Actor
    due_at: datetime
    status: ActionStatus
    version: int
    opened_at: datetime
    updated_at: datetime
    opened_by: str
    description: str = ""
    complaints: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    check_days: int = 84
    started_at: datetime | None = None
    done_at: datetime | None = None
    check_due_at: datetime | None = None
    check: EffectCheck | None = None
    confirmed_by: str | None = None
    overdue_warned: bool = False
    audit_head: str | None = None

    @property
    def verdict(self) -> Verdict | None:
        """The latest check's verdict, if the action was checked."""
        return None if self.check is None else self.check.verdict

    def overdue_at(self, now: datetime) -> bool:
        """Whether the work is unfinished and its due time has passed at ``now``."""
        return self.status.unfinished and self.due_at <= now

    def evolve(self, **changes: Any) -> CorrectiveAction:
        """This action with ``changes`` (a new snapshot; this one is unchanged)."""
        return attrs.evolve(self, **changes)


__all__ = [
    "ACTION_PREFIX",
    "ActionKind",
    "ActionStatus",
    "CorrectiveAction",
    "EffectCheck",
    "Verdict",
    "action_id",
    "is_action_id",
]
