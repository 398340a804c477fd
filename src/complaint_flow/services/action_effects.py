"""Did a corrective action work? Its effect on the complaint rate, checked after a set period.

For an action done at time ``T`` with a check period ``P`` (``check_days``), the
complaints received in its categories are counted by the store, week by week, over
``[T - P, T)`` (before) and ``[T, T + P)`` (after), each week with its exposure: its
length in weeks, or what the host measures (orders, deliveries, accounts) through an
:data:`Exposure` function. The analysis module's test compares the two rates and
suggests a verdict (``effective``, ``not_effective``, ``inconclusive``); the figures
and the verdict are recorded on the action as an ``effectiveness_checked`` event, the
owner is told, and the action waits for a person to confirm (or reopen) it.

The test is the analysis module's :func:`~complaint_flow.analysis.effectiveness.assess_effect`
(an exact conditional test of two Poisson rates, or quasi-Poisson when the weeks vary
more than Poisson counts do; it needs the ``learning`` extra's numpy and scipy); any
function with the same call (:class:`EffectTest`) may stand in for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from complaint_flow.analysis.effectiveness import assess_effect
from complaint_flow.arguments import (
    instance,
    number,
    optional_aware_datetime,
    text,
    whole_number,
)
from complaint_flow.errors import ComplaintFlowError, ComplaintNotFoundError, InvalidArgumentError
from complaint_flow.fsm.action_machine import ActionStatusError, ActionTrigger, action_machine
from complaint_flow.kernel.actions import change_action
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.actions import ActionStatus, CorrectiveAction, EffectCheck, Verdict
from complaint_flow.model.entities import SYSTEM, Actor
from complaint_flow.services.corrective_actions import CHECKED, checks_due

WEEK = timedelta(weeks=1)
"""The length of one counted period."""

Exposure = Callable[[tuple[str, ...], datetime, datetime], float]
"""The exposure of ``categories`` from ``start`` to ``end`` (e.g. orders shipped then).

Called once per counted week; must return a number above 0. Without one, a week's
exposure is its length in weeks (1, or less for a short last week).
"""


class EffectFigures(Protocol):
    """What a rate comparison returns (the analysis module's ``EffectAssessment``)."""

    @property
    def verdict(self) -> str: ...
    @property
    def rate_ratio(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    @property
    def p_value(self) -> float: ...
    @property
    def method(self) -> str: ...
    @property
    def summary(self) -> str: ...


class EffectTest(Protocol):
    """Compares the periods before and after; each period is ``(count, exposure)``."""

    def __call__(
        self,
        before: Sequence[tuple[int, float]],
        after: Sequence[tuple[int, float]],
        *,
        confidence: float,
        min_reduction: float,
    ) -> EffectFigures: ...


class CheckNotDueError(ActionStatusError):
    """The action's effect cannot be measured yet: its check period has not ended."""


class NothingToMeasureError(InvalidArgumentError):
    """The action has no category to count complaints in (none linked, directly or
    through its complaints)."""


@attrs.frozen
class DueChecksReport:
    """What one run of the due effectiveness checks did."""

    at: datetime
    checked: tuple[str, ...] = ()
    """The ids of the actions checked, in due order."""
    effective: int = 0
    not_effective: int = 0
    inconclusive: int = 0
    failed: tuple[tuple[str, str], ...] = ()
    """``(action id, why)`` of the actions that could not be checked (left ``done``)."""


def periods(done_at: datetime, check_days: int) -> tuple[datetime, ...]:
    """The bounds of the weeks counted: from ``done_at - check_days`` to ``done_at +
    check_days``, a week at a time away from ``done_at`` (the weeks farthest from it
    are short when ``check_days`` is not whole weeks).

    >>> from datetime import UTC, datetime
    >>> bounds = periods(datetime(2026, 3, 2, tzinfo=UTC), 10)
    >>> [b.day for b in bounds]
    [20, 23, 2, 9, 12]
    """
    steps = [timedelta(0)]
    while steps[-1] + WEEK < timedelta(days=check_days):
        steps.append(steps[-1] + WEEK)
    steps.append(timedelta(days=check_days))
    after = [done_at + step for step in steps]
    before = [done_at - step for step in reversed(steps[1:])]
    return (*before, *after)


def categories_of(kernel: Kernel, action: CorrectiveAction) -> tuple[str, ...]:
    """The categories the action's effect is measured in: its own, else its complaints'.

    Complaints purged since they were linked are left out.
    """
    if action.categories:
        return action.categories
    found: dict[str, None] = {}
    for complaint_id in action.complaints:
        try:
            found[kernel.store.get(complaint_id).category] = None
        except ComplaintNotFoundError:
            continue
    return tuple(found)


def check_effectiveness(
    kernel: Kernel,
    key: str,
    *,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    exposure: Exposure | None = None,
    exposure_unit: str = "weeks",
    effect_test: EffectTest | None = None,
    confidence: float = 0.95,
    min_reduction: float = 0.25,
) -> CorrectiveAction:
    """Measure a done action's effect and record the verdict for a person to confirm.

    Counts the complaints of the action's categories week by week before and after it
    was done (see :func:`periods`), compares the rates with ``effect_test``, records
    an ``effectiveness_checked`` event with the figures (the action becomes
    ``checked``) and tells the owner.

    Args:
        kernel: the engine's kernel.
        key: the action's id.
        actor: who runs the check (the system, by default).
        now: the time of the check (default: the kernel's clock; not later than it);
            the check period must have ended by then.
        exposure: the host's measure of exposure (see :data:`Exposure`); default:
            weeks.
        exposure_unit: what ``exposure`` counts, in words ("orders").
        effect_test: the test comparing the rates; default: the analysis module's
            ``assess_effect``.
        confidence: the level of the rate ratio's interval.
        min_reduction: the smallest fall of the rate that matters (0.25: a quarter).

    Raises:
        ActionStatusError: the action is not ``done``.
        CheckNotDueError: its check period has not ended.
        NothingToMeasureError: it has no category to count complaints in.
        InvalidArgumentError: a malformed argument, ``now`` later than the clock, or
            an exposure that is not a number above 0.
    """
    actor = instance("actor", actor, Actor, "Actor(id=..., name=..., role=...)")
    at = optional_aware_datetime("now", now)
    unit = text("exposure_unit", exposure_unit)
    confidence = number("confidence", confidence, minimum=0.5, maximum=0.999)
    min_reduction = number("min_reduction", min_reduction, minimum=0.0, maximum=0.99)
    if exposure is not None and not callable(exposure):
        raise InvalidArgumentError(
            f"exposure must be a function (categories, start, end) -> number, got {exposure!r}"
        )
    if effect_test is not None and not callable(effect_test):
        raise InvalidArgumentError(f"effect_test must be a function, got {effect_test!r}")

    def build(draft: Draft[CorrectiveAction]) -> None:
        action = draft.base
        checked_at = _not_ahead(at, draft.now)
        if action.status is not ActionStatus.DONE:
            raise action_machine().not_allowed(action.status, ActionTrigger.CHECK)
        assert action.done_at is not None  # set by ``complete``, with the check's due time
        assert action.check_due_at is not None
        if checked_at < action.check_due_at:
            raise CheckNotDueError(
                f"the effect of corrective action {action.id!r} can be checked from "
                f"{action.check_due_at.isoformat()}: its {action.check_days}-day check "
                f"period after it was done ({action.done_at.isoformat()}) has not ended"
            )
        categories = categories_of(kernel, action)
        if not categories:
            raise NothingToMeasureError(
                f"corrective action {action.id!r} has no category to count complaints in: "
                "link a category (or a complaint) to it first"
            )
        bounds = periods(action.done_at, action.check_days)
        counts = kernel.store.complaint_counts(categories, bounds)
        exposures = [
            _exposure(exposure, categories, bounds[index], bounds[index + 1])
            for index in range(len(bounds) - 1)
        ]
        half = len(counts) // 2
        before = list(zip(counts[:half], exposures[:half], strict=True))
        after = list(zip(counts[half:], exposures[half:], strict=True))
        test: EffectTest = effect_test or assess_effect
        figures = test(before, after, confidence=confidence, min_reduction=min_reduction)
        check = EffectCheck(
            verdict=Verdict(figures.verdict),
            categories=categories,
            before_start=bounds[0],
            done_at=action.done_at,
            after_end=bounds[-1],
            before_counts=tuple(counts[:half]),
            after_counts=tuple(counts[half:]),
            before_exposure=math.fsum(exposures[:half]),
            after_exposure=math.fsum(exposures[half:]),
            exposure_unit=unit,
            rate_ratio=_finite(figures.rate_ratio),
            low=_finite(figures.low),
            high=_finite(figures.high),
            p_value=_finite(figures.p_value),
            method=figures.method,
            summary=figures.summary,
            checked_at=checked_at,
        )

        def performed(source: ActionStatus, dest: ActionStatus) -> None:
            draft.record(
                CHECKED,
                actor,
                trigger=ActionTrigger.CHECK.value,
                source=source.value,
                dest=dest.value,
                reason=figures.summary,
                data={
                    **check.as_data(),
                    "confidence": confidence,
                    "min_reduction": min_reduction,
                },
                change={"status": dest, "check": check, "check_due_at": None},
                notify=("owner",),
                topic="checked",
            )

        action_machine().fire(action.status, ActionTrigger.CHECK, performed)

    stored, _ = change_action(kernel, text("action_id", key, strip=False), build)
    return stored


def run_due_checks(
    kernel: Kernel,
    now: datetime | None = None,
    *,
    exposure: Exposure | None = None,
    exposure_unit: str = "weeks",
    effect_test: EffectTest | None = None,
    confidence: float = 0.95,
    min_reduction: float = 0.25,
    batch: int = 100,
) -> DueChecksReport:
    """Check every done action whose check period has ended by ``now`` (see
    :func:`check_effectiveness`); one that cannot be checked is reported, not raised.

    Callable from a sweep or from ``complaint-flow actions check-due``; with several
    runners at once, each check is recorded once (the version check).
    """
    at = _not_ahead(optional_aware_datetime("now", now), kernel.clock())
    batch = whole_number("batch", batch, minimum=1, maximum=100_000)
    checked: list[str] = []
    failed: list[tuple[str, str]] = []
    tally = dict.fromkeys(Verdict, 0)
    tried: set[str] = set()
    while True:
        due = [a for a in checks_due(kernel, at, limit=batch + len(tried)) if a.id not in tried]
        if not due:
            break
        for action in due[:batch]:
            tried.add(action.id)
            try:
                stored = check_effectiveness(
                    kernel,
                    action.id,
                    now=at,
                    exposure=exposure,
                    exposure_unit=exposure_unit,
                    effect_test=effect_test,
                    confidence=confidence,
                    min_reduction=min_reduction,
                )
            except ActionStatusError:
                continue  # another runner checked it meanwhile
            except ComplaintFlowError as exc:
                failed.append((action.id, str(exc)))
                continue
            checked.append(stored.id)
            if stored.verdict is not None:
                tally[stored.verdict] += 1
    return DueChecksReport(
        at=at,
        checked=tuple(checked),
        effective=tally[Verdict.EFFECTIVE],
        not_effective=tally[Verdict.NOT_EFFECTIVE],
        inconclusive=tally[Verdict.INCONCLUSIVE],
        failed=tuple(failed),
    )


def _not_ahead(at: datetime | None, now: datetime) -> datetime:
    """``at`` (default ``now``), refused when later than ``now``: the weeks after an action
    are counted once they have happened, never ahead of time."""
    if at is None:
        return now
    if at > now:
        raise InvalidArgumentError(
            f"now ({at.isoformat()}) is later than the clock's time ({now.isoformat()}): a "
            "check counts the complaints of weeks that have passed; leave now out"
        )
    return at


def _exposure(
    exposure: Exposure | None, categories: tuple[str, ...], start: datetime, end: datetime
) -> float:
    if exposure is None:
        return (end - start) / WEEK
    value = exposure(categories, start, end)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgumentError(
            f"the exposure of {', '.join(categories)} from {start.isoformat()} to "
            f"{end.isoformat()} must be a number above 0, got {value!r}; a period with no "
            "exposure has no rate"
        )
    if not math.isfinite(value):
        raise InvalidArgumentError(f"the exposure must be finite, got {value!r}")
    return float(value)


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


__all__ = [
    "WEEK",
    "CheckNotDueError",
    "DueChecksReport",
    "EffectFigures",
    "EffectTest",
    "Exposure",
    "NothingToMeasureError",
    "categories_of",
    "check_effectiveness",
    "periods",
    "run_due_checks",
]
