"""The sweep tells the owners of overdue corrective actions, once per due time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from complaint_flow import Engine, ManualClock
from complaint_flow.services.action_desk import ActionDesk
from complaint_flow.testing.capture import CapturedNotifications
from test_corrective_actions import BO, MO, T0, open_one


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def captured() -> CapturedNotifications:
    return CapturedNotifications()


@pytest.fixture
def engine(clock: ManualClock, captured: CapturedNotifications) -> Iterator[Engine]:
    with Engine.open("memory://", clock=clock, plugins=[captured], load_entry_points=False) as e:
        yield e


@pytest.fixture
def desk(engine: Engine) -> ActionDesk:
    return ActionDesk(engine)


def test_the_sweep_warns_the_owner_of_an_overdue_action_once_per_due_time(
    engine: Engine, desk: ActionDesk, clock: ManualClock, captured: CapturedNotifications
) -> None:
    late = open_one(desk, due_at=T0 + timedelta(days=2))
    on_time = open_one(desk, due_at=T0 + timedelta(days=30))
    done = open_one(desk, due_at=T0 + timedelta(days=1))
    desk.complete(done.id, actor=BO)
    clock.advance(timedelta(days=3))
    assert desk.overdue() == [late]
    assert desk.due(T0 + timedelta(days=30)) == [late, on_time]
    report = engine.sweep()
    assert report.overdue_actions == 1
    assert engine.sweep().overdue_actions == 0  # once per due time
    warned = desk.get(late.id)
    assert warned.overdue_warned
    assert desk.history(late.id)[-1].kind == "overdue_warning"
    # A new due time that passes too is warned about again.
    desk.assign(late.id, actor=MO, due_at=clock() + timedelta(days=1))
    clock.advance(timedelta(days=2))
    assert engine.sweep().overdue_actions == 1
    engine.deliver()
    topics = [m.topic for m in captured.for_complaint(late.id)]
    assert topics == ["actions.assigned", "actions.overdue", "actions.overdue"]
    assert desk.verify(late.id) == []
