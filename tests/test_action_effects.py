"""Effectiveness checks: the complaint rate before and after an action, counted by the store."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from complaint_flow import (
    Actor,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    LearningExtraMissingError,
    ManualClock,
)
from complaint_flow.fsm.action_machine import ActionStatusError
from complaint_flow.model.actions import ActionStatus, CorrectiveAction, EffectCheck, Verdict
from complaint_flow.services.action_desk import ActionDesk
from complaint_flow.services.action_effects import (
    CheckNotDueError,
    NothingToMeasureError,
    periods,
    run_due_checks,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)
BO = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MO = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")


@attrs.frozen
class Figures:
    verdict: str
    rate_ratio: float = float("inf")
    low: float = 0.2
    high: float = float("inf")
    p_value: float = 0.5
    method: str = "exact"
    summary: str = "inconclusive: too few complaints"


class Recording:
    """An effect test that keeps the periods it was given and answers ``verdict``."""

    def __init__(self, verdict: str = "inconclusive") -> None:
        self.verdict = verdict
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        before: Sequence[tuple[int, float]],
        after: Sequence[tuple[int, float]],
        *,
        confidence: float,
        min_reduction: float,
    ) -> Figures:
        self.calls.append(
            {
                "before": list(before),
                "after": list(after),
                "confidence": confidence,
                "min_reduction": min_reduction,
            }
        )
        return Figures(self.verdict)


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def engine(url: str, clock: ManualClock) -> Iterator[Engine]:
    with Engine.open(url, clock=clock, load_entry_points=False) as opened:
        yield opened


def receive_at(engine: Engine, at: datetime, category: str = "delivery") -> None:
    customer = Customer(id=f"C-{at.timestamp()}-{category}", name="Ada")
    intake = Intake(
        channel="email", customer=customer, summary="Late", category=category, received_at=at
    )
    engine.receive(intake)


def done_action(
    desk: ActionDesk, clock: ManualClock, *, weeks: int = 4, **fields: Any
) -> CorrectiveAction:
    """An action opened and done at ``clock()``, checked ``weeks`` weeks later."""
    fields.setdefault("categories", ["delivery"])
    action = desk.open(
        kind="procedure",
        title="Label parcels twice",
        owner=BO,
        due_at=clock() + timedelta(days=1),
        actor=MO,
        check_after=timedelta(weeks=weeks),
        **fields,
    )
    return desk.complete(action.id, actor=BO)


# -- the periods counted ----------------------------------------------------------------------


def test_periods_are_weeks_away_from_the_time_it_was_done() -> None:
    bounds = periods(T0, 28)
    assert bounds == tuple(T0 + n * WEEK for n in range(-4, 5))
    short = periods(T0, 10)
    assert [b - T0 for b in short] == [
        timedelta(days=-10),
        timedelta(days=-7),
        timedelta(0),
        timedelta(days=7),
        timedelta(days=10),
    ]
    assert periods(T0, 1) == (T0 - timedelta(days=1), T0, T0 + timedelta(days=1))


# -- what a check counts and records -------------------------------------------------------------


def test_a_check_counts_each_week_in_the_store_and_records_the_figures(
    engine: Engine, clock: ManualClock
) -> None:
    test = Recording("effective")
    desk = ActionDesk(engine, effect_test=test, confidence=0.9, min_reduction=0.3)
    # Before: 3, 2, 0, 4 a week in "delivery"; after: 1, 0, 1, 0. Other categories and
    # complaints outside the eight weeks are not counted.
    per_week = [3, 2, 0, 4, 1, 0, 1, 0]
    action = done_action(desk, clock)
    clock.advance(4 * WEEK)  # complaints arrive as time passes: none is received ahead
    for week, count in enumerate(per_week):
        start = T0 + (week - 4) * WEEK
        for n in range(count):
            receive_at(engine, start + timedelta(hours=n * 30))
    receive_at(engine, T0 - 4 * WEEK - timedelta(seconds=1))
    receive_at(engine, T0 + 4 * WEEK)
    receive_at(engine, T0, category="billing")
    checked = desk.check(action.id, actor=MO)
    (call,) = test.calls
    assert call == {
        "before": [(3, 1.0), (2, 1.0), (0, 1.0), (4, 1.0)],
        "after": [(1, 1.0), (0, 1.0), (1, 1.0), (0, 1.0)],
        "confidence": 0.9,
        "min_reduction": 0.3,
    }
    assert checked.status is ActionStatus.CHECKED
    assert checked.check == EffectCheck(
        verdict=Verdict.EFFECTIVE,
        categories=("delivery",),
        before_start=T0 - 4 * WEEK,
        done_at=T0,
        after_end=T0 + 4 * WEEK,
        before_counts=(3, 2, 0, 4),
        after_counts=(1, 0, 1, 0),
        before_exposure=4.0,
        after_exposure=4.0,
        exposure_unit="weeks",
        rate_ratio=None,  # infinite figures are kept as missing
        low=0.2,
        high=None,
        p_value=0.5,
        method="exact",
        summary="inconclusive: too few complaints",
        checked_at=clock(),
    )
    assert (checked.check.before_count, checked.check.after_count) == (9, 2)
    event = desk.history(action.id)[-1]
    assert (event.kind, event.actor, event.reason) == (
        "effectiveness_checked",
        MO,
        "inconclusive: too few complaints",
    )
    assert EffectCheck.from_data(event.data) == checked.check
    assert (event.data["confidence"], event.data["min_reduction"]) == (0.9, 0.3)
    assert desk.verify(action.id) == []


def test_without_categories_the_linked_complaints_categories_are_counted(
    engine: Engine, clock: ManualClock
) -> None:
    test = Recording()
    desk = ActionDesk(engine, effect_test=test)
    receive_at(engine, T0 - timedelta(days=3), "billing")
    (billing,) = engine.find(category="billing")
    action = desk.open(
        kind="procedure",
        title="Explain the bill",
        owner=BO,
        due_at=T0 + timedelta(days=1),
        actor=MO,
        complaints=[billing.reference],
        categories=[],
        check_after=timedelta(weeks=1),
    )
    assert action.categories == ()
    desk.complete(action.id, actor=BO)
    clock.advance(WEEK)
    checked = desk.check(action.id)
    assert checked.check is not None
    assert checked.check.categories == ("billing",)
    assert test.calls[0]["before"] == [(1, 1.0)]


def test_the_hosts_exposure_replaces_weeks(engine: Engine, clock: ManualClock) -> None:
    asked: list[tuple[tuple[str, ...], datetime, datetime]] = []

    def orders(categories: tuple[str, ...], start: datetime, end: datetime) -> float:
        asked.append((categories, start, end))
        return 1000.0 if start < T0 else 1250.0

    test = Recording()
    desk = ActionDesk(engine, effect_test=test, exposure=orders, exposure_unit="orders")
    action = done_action(desk, clock, weeks=2, categories=["delivery", "returns"])
    clock.advance(2 * WEEK)
    checked = desk.check(action.id)
    assert asked == [
        (("delivery", "returns"), T0 + n * WEEK, T0 + (n + 1) * WEEK) for n in range(-2, 2)
    ]
    assert test.calls[0]["before"] == [(0, 1000.0), (0, 1000.0)]
    assert test.calls[0]["after"] == [(0, 1250.0), (0, 1250.0)]
    assert checked.check is not None
    assert (checked.check.before_exposure, checked.check.after_exposure) == (2000.0, 2500.0)
    assert checked.check.exposure_unit == "orders"


@pytest.mark.parametrize("bad", [0, -3.0, float("nan"), float("inf"), "12", True])
def test_an_exposure_that_is_not_a_positive_number_is_refused(
    engine: Engine, clock: ManualClock, bad: object
) -> None:
    desk = ActionDesk(engine, effect_test=Recording(), exposure=lambda c, s, e: bad)  # type: ignore[arg-type, return-value]
    action = done_action(desk, clock, weeks=1)
    clock.advance(WEEK)
    with pytest.raises(InvalidArgumentError, match="exposure"):
        desk.check(action.id)
    assert desk.get(action.id).status is ActionStatus.DONE


def test_checks_are_refused_before_their_time_or_without_categories(
    engine: Engine, clock: ManualClock
) -> None:
    desk = ActionDesk(engine, effect_test=Recording())
    opened = desk.open(
        kind="procedure", title="x", owner=BO, due_at=T0 + WEEK, actor=MO, categories=[]
    )
    with pytest.raises(ActionStatusError, match="cannot check a corrective action that is 'open'"):
        desk.check(opened.id)
    done = desk.complete(opened.id, actor=BO)
    with pytest.raises(CheckNotDueError, match="84-day check period"):
        desk.check(done.id)
    clock.advance(12 * WEEK)
    with pytest.raises(NothingToMeasureError, match="link a category"):
        desk.check(done.id)
    assert desk.get(done.id) == done


def test_a_check_never_counts_weeks_that_have_not_happened(
    engine: Engine, clock: ManualClock
) -> None:
    desk = ActionDesk(engine, effect_test=Recording())
    action = done_action(desk, clock, weeks=1)
    ahead = clock() + 2 * WEEK
    with pytest.raises(InvalidArgumentError, match="later than the clock's time"):
        desk.check(action.id, now=ahead)
    with pytest.raises(InvalidArgumentError, match="later than the clock's time"):
        desk.check_due(ahead)
    assert desk.get(action.id).status is ActionStatus.DONE


def test_running_the_due_checks_checks_each_once_and_reports_failures(
    engine: Engine, clock: ManualClock
) -> None:
    test = Recording("not_effective")
    desk = ActionDesk(engine, effect_test=test)
    first = done_action(desk, clock, weeks=1)
    nothing = done_action(desk, clock, weeks=1, categories=[])
    later = done_action(desk, clock, weeks=3)
    clock.advance(WEEK)
    report = desk.check_due()
    assert report.checked == (first.id,)
    assert (report.effective, report.not_effective, report.inconclusive) == (0, 1, 0)
    assert [action_id for action_id, _ in report.failed] == [nothing.id]
    assert "no category" in report.failed[0][1]
    assert desk.get(first.id).verdict is Verdict.NOT_EFFECTIVE
    assert desk.get(nothing.id).status is ActionStatus.DONE
    assert desk.get(later.id).status is ActionStatus.DONE
    again = run_due_checks(engine.kernel, effect_test=test)
    assert again.checked == ()
    clock.advance(2 * WEEK)
    assert desk.check_due().checked == (later.id,)
    assert len(test.calls) == 2


# -- with the analysis module's test -----------------------------------------------------------


def plant(engine: Engine, rate_before: float, rate_after: float, weeks: int, seed: int) -> None:
    """Complaints at a Poisson rate per week before ``T0`` and another after it (the
    engine's clock must be past the last week)."""
    rng = random.Random(seed)
    for rate, start in ((rate_before, T0 - weeks * WEEK), (rate_after, T0)):
        at = start
        while True:
            at += timedelta(weeks=rng.expovariate(rate))
            if at >= start + weeks * WEEK:
                break
            receive_at(engine, at)


def test_with_the_analysis_module_a_planted_fall_is_effective_and_no_change_is_not() -> None:
    verdicts = {}
    for name, after in (("fall", 2.0), ("same", 12.0)):
        clock = ManualClock(T0)
        with Engine.open("memory://", clock=clock, load_entry_points=False) as engine:
            desk = ActionDesk(engine)
            action = done_action(desk, clock, weeks=12)
            clock.advance(12 * WEEK)
            plant(engine, 12.0, after, 12, seed=11)
            checked = desk.check(action.id)
            assert checked.check is not None
            verdicts[name] = (checked.verdict, checked.check.before_count)
    assert verdicts["fall"][0] is Verdict.EFFECTIVE
    assert verdicts["same"][0] is not Verdict.EFFECTIVE
    assert 100 < verdicts["fall"][1] < 190  # about 12 a week for 12 weeks


def test_without_scipy_the_check_says_what_to_install_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = ManualClock(T0)
    with Engine.open("memory://", clock=clock, load_entry_points=False) as engine:
        desk = ActionDesk(engine)
        action = done_action(desk, clock, weeks=1)
        clock.advance(WEEK)
        monkeypatch.setitem(sys.modules, "scipy", None)
        with pytest.raises(LearningExtraMissingError, match=r"complaint-flow\[learning\]"):
            desk.check(action.id)
        assert desk.get(action.id).status is ActionStatus.DONE
