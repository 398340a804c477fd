"""Corrective actions: opened, owned, done, checked, confirmed or reopened, every step audited."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    ComplaintNotFoundError,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    ManualClock,
)
from complaint_flow.fsm.action_machine import (
    ACTION_TRANSITIONS,
    ActionStatusError,
    ActionTrigger,
    action_destination,
)
from complaint_flow.kernel.actions import ActionNotFoundError
from complaint_flow.model.actions import ActionKind, ActionStatus, CorrectiveAction, Verdict
from complaint_flow.model.entities import SYSTEM
from complaint_flow.services.action_desk import ActionDesk
from complaint_flow.testing.capture import CapturedNotifications

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BO = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MO = Actor(id="M-1", name="Mo", role="manager", phone="+44 7700 900002")
NO_CONTACT = Actor(id="N-1", name="Nobody", role="agent")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")


@attrs.frozen
class Figures:
    """What an effect test returns (the analysis module's fields)."""

    verdict: str
    rate_ratio: float = 0.5
    low: float = 0.3
    high: float = 0.9
    p_value: float = 0.01
    method: str = "exact"
    summary: str = "effective: fewer complaints after"


class FixedVerdict:
    """An effect test that answers ``verdict`` and keeps what it was given."""

    def __init__(self, verdict: str = "effective") -> None:
        self.verdict = verdict
        self.calls: list[tuple[list[tuple[int, float]], list[tuple[int, float]]]] = []

    def __call__(
        self,
        before: Sequence[tuple[int, float]],
        after: Sequence[tuple[int, float]],
        *,
        confidence: float,
        min_reduction: float,
    ) -> Figures:
        self.calls.append((list(before), list(after)))
        return Figures(self.verdict)


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def captured() -> CapturedNotifications:
    return CapturedNotifications()


@pytest.fixture
def engine(url: str, clock: ManualClock, captured: CapturedNotifications) -> Iterator[Engine]:
    with Engine.open(url, clock=clock, plugins=[captured], load_entry_points=False) as opened:
        yield opened


@pytest.fixture
def desk(engine: Engine) -> ActionDesk:
    return ActionDesk(engine, effect_test=FixedVerdict())


def complaint(engine: Engine, category: str = "delivery") -> str:
    intake = Intake(channel="email", customer=ADA, summary="Parcel late", category=category)
    return engine.receive(intake).reference


def open_one(desk: ActionDesk, **given: Any) -> CorrectiveAction:
    fields: dict[str, Any] = {
        "kind": "procedure",
        "title": "Check labels before dispatch",
        "owner": BO,
        "due_at": T0 + timedelta(days=14),
        "actor": MO,
        "categories": ["delivery"],
    }
    fields.update(given)
    return desk.open(**fields)


# -- opening ---------------------------------------------------------------------------


def test_opening_records_the_action_and_tells_its_owner(
    engine: Engine, desk: ActionDesk, captured: CapturedNotifications
) -> None:
    first = complaint(engine)
    second = complaint(engine, "billing")
    action = desk.open(
        kind="product or service fault",
        title="Change courier",
        owner=BO,
        due_at=T0 + timedelta(days=14),
        actor=MO,
        description="Three late parcels in a week",
        complaints=[first, second],
    )
    assert action.id.startswith("action:")
    assert (action.kind, action.status, action.version) == (
        ActionKind.PRODUCT_OR_SERVICE_FAULT,
        ActionStatus.OPEN,
        1,
    )
    # Complaints are linked by id; categories default to theirs, in order.
    assert action.complaints == (engine.get(first).id, engine.get(second).id)
    assert action.categories == ("delivery", "billing")
    assert (action.opened_at, action.opened_by, action.check_days) == (T0, "M-1", 84)
    assert desk.get(action.id) == action
    assert desk.get(action.id.removeprefix("action:")) == action
    (event,) = desk.history(action.id)
    assert (event.kind, event.actor, event.dest) == ("opened", MO, "open")
    assert event.data["categories"] == ("delivery", "billing")
    engine.deliver()
    (message,) = captured.for_complaint(action.id)
    assert (message.topic, message.recipient, message.address) == (
        "actions.assigned",
        "owner",
        "bo@example.org",
    )
    assert message.payload["title"] == "Change courier"
    assert engine.store.outbox(action.id)[0].status.value == "delivered"
    assert desk.verify(action.id) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"owner": NO_CONTACT}, "has no email or phone"),
        ({"due_at": T0}, "due_at must be later than now"),
        ({"due_at": datetime(2026, 4, 1)}, "due_at must be a timezone-aware datetime"),
        ({"kind": "magic"}, "kind must be one of 'procedure'"),
        ({"title": " "}, "title must be non-empty text"),
        ({"check_after": timedelta(days=10, hours=3)}, "check_after must be whole days"),
        ({"check_after": timedelta(days=4000)}, "check_after must be whole days, at most"),
        ({"categories": "delivery"}, "categories must be a list"),
        ({"actor": "mo"}, "actor must be an Actor"),
    ],
)
def test_opening_checks_everything_first_and_writes_nothing(
    engine: Engine, desk: ActionDesk, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        open_one(desk, **change)
    assert desk.find() == []
    assert engine.store.outbox_pending(10) == []


def test_opening_with_an_unknown_complaint_is_refused(desk: ActionDesk) -> None:
    with pytest.raises(ComplaintNotFoundError):
        open_one(desk, complaints=["CF-2026-000042"])
    assert desk.find() == []


def test_an_unknown_action_says_how_to_find_them(desk: ActionDesk) -> None:
    with pytest.raises(ActionNotFoundError, match="complaint-flow actions list"):
        desk.get("action:nope")
    with pytest.raises(ActionNotFoundError):
        desk.start("nope", actor=BO)


# -- the steps ----------------------------------------------------------------------------


def test_the_whole_life_of_an_action(
    engine: Engine, desk: ActionDesk, clock: ManualClock, captured: CapturedNotifications
) -> None:
    action = open_one(desk, check_after=timedelta(weeks=4))
    clock.advance(timedelta(days=1))
    started = desk.start(action.id, actor=BO, note="Ordered the scanners")
    assert (started.status, started.started_at) == (ActionStatus.IN_PROGRESS, clock())
    clock.advance(timedelta(days=5))
    done = desk.complete(action.id, actor=BO)
    assert done.status is ActionStatus.DONE
    assert done.done_at == clock()
    assert done.check_due_at == clock() + timedelta(weeks=4)
    assert desk.checks_due() == []
    clock.advance(timedelta(weeks=4))
    assert desk.checks_due() == [done]
    checked = desk.check(action.id)
    assert checked.status is ActionStatus.CHECKED
    assert checked.verdict is Verdict.EFFECTIVE
    assert checked.check_due_at is None
    confirmed = desk.confirm(action.id, actor=MO, note="Fewer late parcels indeed")
    assert (confirmed.status, confirmed.confirmed_by) == (ActionStatus.CONFIRMED, "M-1")
    events = desk.history(action.id)
    assert [(e.kind, e.trigger, e.source, e.dest) for e in events] == [
        ("opened", None, None, "open"),
        ("started", "start", "open", "in_progress"),
        ("completed", "complete", "in_progress", "done"),
        ("effectiveness_checked", "check", "done", "checked"),
        ("confirmed", "confirm", "checked", "confirmed"),
    ]
    assert events[3].actor == SYSTEM
    assert events[4].data["verdict"] == "effective"
    assert confirmed.version == len(events) == 5
    assert desk.verify(action.id) == []
    engine.deliver()
    assert [m.topic for m in captured.for_complaint(action.id)] == [
        "actions.assigned",
        "actions.checked",
    ]
    # Closed: nothing more happens to it.
    for step in (
        lambda: desk.reopen(action.id, actor=MO, reason="no"),
        lambda: desk.assign(action.id, actor=MO, owner=MO),
        lambda: desk.link(action.id, actor=MO, categories=["billing"]),
    ):
        with pytest.raises(ActionStatusError, match="confirmed"):
            step()
    assert desk.get(action.id) == confirmed


def test_a_step_that_does_not_apply_names_those_that_do(desk: ActionDesk) -> None:
    action = open_one(desk)
    with pytest.raises(ActionStatusError) as raised:
        desk.confirm(action.id, actor=MO)
    assert str(raised.value) == (
        "cannot confirm a corrective action that is 'open'; from 'open' the possible steps "
        "are 'start', 'complete'"
    )
    assert desk.get(action.id) == action


def test_a_check_before_its_period_ended_is_refused(desk: ActionDesk, clock: ManualClock) -> None:
    action = open_one(desk)
    desk.complete(action.id, actor=BO)
    clock.advance(timedelta(weeks=12) - timedelta(seconds=1))
    before = desk.get(action.id)
    with pytest.raises(ActionStatusError, match="can be checked from 2026-05-25T09:00:00"):
        desk.check(action.id)
    assert desk.get(action.id) == before


def test_a_person_confirms_reopens_and_extends_not_the_system(
    desk: ActionDesk, clock: ManualClock
) -> None:
    action = open_one(desk, check_after=timedelta(weeks=2))
    desk.complete(action.id, actor=BO)
    clock.advance(timedelta(weeks=2))
    checked = desk.check(action.id)
    for step in (
        lambda: desk.confirm(action.id, actor=SYSTEM),
        lambda: desk.reopen(action.id, actor=SYSTEM, reason="x"),
        lambda: desk.extend_check(action.id, actor=SYSTEM, extra=timedelta(weeks=1), reason="x"),
    ):
        with pytest.raises(InvalidArgumentError, match="only a person may"):
            step()
    assert desk.get(action.id) == checked


def test_reopening_resumes_the_work_and_clears_the_check(
    desk: ActionDesk, clock: ManualClock
) -> None:
    action = open_one(desk, check_after=timedelta(weeks=2))
    desk.complete(action.id, actor=BO)
    clock.advance(timedelta(weeks=2))
    desk.check(action.id)
    with pytest.raises(InvalidArgumentError, match="reason must be non-empty text"):
        desk.reopen(action.id, actor=MO, reason="")
    reopened = desk.reopen(
        action.id,
        actor=MO,
        reason="The new labels peel off",
        due_at=clock() + timedelta(days=7),
    )
    assert reopened.status is ActionStatus.IN_PROGRESS
    assert (reopened.done_at, reopened.check_due_at, reopened.check) == (None, None, None)
    assert reopened.due_at == clock() + timedelta(days=7)
    last = desk.history(action.id)[-1]
    assert (last.kind, last.reason, last.data["verdict"]) == (
        "reopened",
        "The new labels peel off",
        "effective",
    )
    # The checked figures stay in the history.
    assert desk.history(action.id)[-2].data["verdict"] == "effective"


def test_extending_the_check_waits_longer_and_widens_both_periods(
    engine: Engine, clock: ManualClock
) -> None:
    test = FixedVerdict("inconclusive")
    desk = ActionDesk(engine, effect_test=test)
    action = open_one(desk, check_after=timedelta(weeks=2))
    done = desk.complete(action.id, actor=BO)
    clock.advance(timedelta(weeks=2))
    assert desk.check(action.id).verdict is Verdict.INCONCLUSIVE
    assert [len(periods) for periods in test.calls[-1]] == [2, 2]
    with pytest.raises(InvalidArgumentError, match="extra must be whole days"):
        desk.extend_check(action.id, actor=MO, extra=timedelta(hours=5), reason="more")
    extended = desk.extend_check(
        action.id, actor=MO, extra=timedelta(weeks=2), reason="Wait for more weeks"
    )
    assert (extended.status, extended.check_days) == (ActionStatus.DONE, 28)
    assert extended.done_at == done.done_at
    assert extended.check_due_at == done.done_at + timedelta(weeks=4)  # type: ignore[operator]
    with pytest.raises(ActionStatusError):
        desk.check(action.id)
    clock.advance(timedelta(weeks=2))
    desk.check(action.id)
    assert [len(periods) for periods in test.calls[-1]] == [4, 4]


def test_assigning_changes_the_owner_or_the_due_time(
    engine: Engine, desk: ActionDesk, captured: CapturedNotifications
) -> None:
    action = open_one(desk)
    with pytest.raises(InvalidArgumentError, match="give a new owner, a new due_at, or both"):
        desk.assign(action.id, actor=MO)
    assert desk.assign(action.id, actor=MO, owner=BO) == action  # nothing changes
    moved = desk.assign(action.id, actor=MO, owner=MO, reason="Bo is away")
    assert moved.owner == MO
    event = desk.history(action.id)[-1]
    assert (event.kind, event.data["owner"], event.data["previous_owner"]) == (
        "assigned",
        "M-1",
        "A-1",
    )
    later = desk.assign(action.id, actor=MO, due_at=T0 + timedelta(days=30))
    assert later.due_at == T0 + timedelta(days=30)
    engine.deliver()
    # The new owner is told, by phone (Mo has no email); a new due time alone tells nobody.
    assert [(m.topic, m.channel, m.address) for m in captured.for_complaint(action.id)] == [
        ("actions.assigned", "email", "bo@example.org"),
        ("actions.assigned", "phone", "+44 7700 900002"),
    ]


def test_linking_and_unlinking_complaints_and_categories(engine: Engine, desk: ActionDesk) -> None:
    first = complaint(engine)
    second = complaint(engine, "billing")
    action = open_one(desk, complaints=[first])
    linked = desk.link(action.id, actor=MO, complaints=[second, first], categories=["billing"])
    assert linked.complaints == (engine.get(first).id, engine.get(second).id)
    assert linked.categories == ("delivery", "billing")
    assert desk.link(action.id, actor=MO, complaints=[second]) == linked  # nothing new
    with pytest.raises(InvalidArgumentError, match="reason must be non-empty text"):
        desk.unlink(action.id, actor=MO, categories=["billing"], reason=" ")
    unlinked = desk.unlink(
        action.id, actor=MO, complaints=[first], categories=["billing"], reason="Not related"
    )
    assert unlinked.complaints == (engine.get(second).id,)
    assert unlinked.categories == ("delivery",)
    event = desk.history(action.id)[-1]
    assert (event.kind, event.data["complaints"], event.data["categories"]) == (
        "unlinked",
        (engine.get(first).id,),
        ("billing",),
    )


# -- overdue actions and the sweep ------------------------------------------------------------


def test_concurrent_sweeps_warn_each_overdue_action_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    clock = ManualClock(T0)
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        desk = ActionDesk(engine)
        actions = [open_one(desk, due_at=T0 + timedelta(days=1)) for _ in range(12)]
    clock.advance(timedelta(days=2))
    warned: list[int] = []
    start = threading.Barrier(4)

    def sweep() -> None:
        with Engine.open(url, clock=clock, load_entry_points=False) as engine:
            start.wait()
            warned.append(ActionDesk(engine).warn_overdue().warned)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(warned) == 12
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        for action in actions:
            kinds = [e.kind for e in ActionDesk(engine).history(action.id)]
            assert kinds.count("overdue_warning") == 1


def test_two_people_completing_at_once_complete_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    clock = ManualClock(T0)
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        action = open_one(ActionDesk(engine))
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def complete() -> None:
        with Engine.open(url, clock=clock, load_entry_points=False) as engine:
            start.wait()
            try:
                ActionDesk(engine).complete(action.id, actor=BO)
            except ActionStatusError:
                outcomes.append("refused")
            else:
                outcomes.append("completed")

    threads = [threading.Thread(target=complete) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["completed", "refused", "refused", "refused"]


# -- the status machine's rules, for any sequence of steps ----------------------------------

STEPS = ("start", "complete", "check", "extend_check", "confirm", "reopen", "assign", "link")
ALLOWED = {t.trigger.value: {s.value for s in t.sources} for t in ACTION_TRANSITIONS}


def test_the_machine_table_is_the_documented_one() -> None:
    assert {
        "start": {"open"},
        "complete": {"open", "in_progress"},
        "check": {"done"},
        "extend_check": {"checked"},
        "confirm": {"checked"},
        "reopen": {"checked"},
    } == ALLOWED
    assert action_destination(ActionStatus.CHECKED, ActionTrigger.REOPEN) is (
        ActionStatus.IN_PROGRESS
    )
    with pytest.raises(ActionStatusError, match="unknown corrective action step 'cancel'"):
        action_destination(ActionStatus.OPEN, "cancel")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(STEPS),
            st.sampled_from(["effective", "not_effective", "inconclusive"]),
        ),
        max_size=14,
    )
)
def test_any_sequence_of_steps_keeps_the_machines_rules(
    steps: list[tuple[str, str]],
) -> None:
    clock = ManualClock(T0)
    with Engine.open("memory://", clock=clock, load_entry_points=False) as engine:
        test = FixedVerdict()
        desk = ActionDesk(engine, effect_test=test)
        action = open_one(desk, due_at=T0 + timedelta(days=3650), check_after=timedelta(days=7))
        status = "open"
        for step, verdict in steps:
            clock.advance(timedelta(days=8))  # every check period has ended by the next step
            test.verdict = verdict
            before = desk.get(action.id)
            history = desk.history(action.id)
            closed = status == "confirmed"
            allowed = not closed if step in ("assign", "link") else status in ALLOWED[step]
            try:
                after = perform(desk, action.id, step)
            except ActionStatusError:
                assert not allowed, f"{step} refused from {status}"
                assert desk.get(action.id) == before
                assert desk.history(action.id) == history
                continue
            assert allowed, f"{step} allowed from {status}"
            if step in ALLOWED:
                status = action_destination(ActionStatus(status), step).value
                assert after.version == before.version + 1
                assert desk.history(action.id)[-1].trigger == step
            assert after.status.value == status
            # What each status implies about the snapshot.
            assert (after.done_at is not None) == (status in ("done", "checked", "confirmed"))
            assert (after.check_due_at is not None) == (status == "done")
            assert (after.check is not None) == (status in ("checked", "confirmed"))
            if after.check is not None:
                assert after.check.verdict.value == verdict or step != "check"
        final = desk.get(action.id)
        events = desk.history(action.id)
        assert final.version == len(events)
        assert desk.verify(action.id) == []
        assert [e.seq for e in events] == list(range(1, len(events) + 1))


def perform(desk: ActionDesk, key: str, step: str) -> CorrectiveAction:
    if step == "start":
        return desk.start(key, actor=BO)
    if step == "complete":
        return desk.complete(key, actor=BO)
    if step == "check":
        return desk.check(key)
    if step == "extend_check":
        return desk.extend_check(key, actor=MO, extra=timedelta(days=1), reason="more weeks")
    if step == "confirm":
        return desk.confirm(key, actor=MO)
    if step == "reopen":
        return desk.reopen(key, actor=MO, reason="it did not work")
    if step == "assign":
        owner = MO if desk.get(key).owner == BO else BO
        return desk.assign(key, actor=MO, owner=owner)
    return desk.link(key, actor=MO, categories=[f"c{len(desk.get(key).categories)}"])
