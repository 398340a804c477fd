"""Deadline clocks, sweeps, escalation by rank, remedies: through the engine."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    ClockError,
    Complaint,
    Customer,
    Engine,
    EscalationError,
    Intake,
    ManualClock,
    Severity,
    WorkflowDefinition,
    WorkflowDefinitionError,
    hookimpl,
)
from complaint_flow.definitions.escalation import EscalationLevel
from complaint_flow.definitions.remedies import Remedy
from complaint_flow.errors import AuthorityExceededError
from complaint_flow.kernel.aggregates import URGENT_HOLD
from complaint_flow.model.entities import ClockStatus, OutboxMessage, OutboxStatus
from complaint_flow.services.delivery import OutboxDispatcher
from complaint_flow.testing import CapturedNotifications

WORKFLOW = """
name = "timed"
initial = "received"
roles = ["agent", "manager"]

[states.received]
[states.thanked]
[states.awaiting_customer]
[states.investigating]
[states.escalated]
[states.closed]
terminal = true

[[transitions]]
trigger = "thank"
source = "received"
dest = "thanked"
[[transitions]]
trigger = "ask_customer"
source = ["thanked", "investigating"]
dest = "awaiting_customer"
[[transitions]]
trigger = "customer_replied"
source = "awaiting_customer"
dest = "investigating"
[[transitions]]
trigger = "investigate"
source = ["thanked", "escalated"]
dest = "investigating"
[[transitions]]
trigger = "escalate"
source = ["thanked", "investigating"]
dest = "escalated"
[[transitions]]
trigger = "close"
source = ["investigating", "escalated"]
dest = "closed"
[[transitions]]
trigger = "reopen"
source = "closed"
dest = "investigating"

[calendars.office]
time_zone = "Europe/London"
country = "GB"
subdivision = "ENG"

[clocks.acknowledge]
title = "Acknowledge"
calendar = "office"
duration = "2 working days"
stops_on = ["thank"]
warn_before = "4 working hours"

[clocks.resolve]
title = "Final response"
calendar = "office"
duration = "15 calendar days"
starts_on = ["received", "reopen"]
stops_on = ["close"]
pause_states = ["awaiting_customer"]
on_breach = ["notify", "escalate"]

[escalation]
currency = "GBP"
[[escalation.levels]]
number = 1
title = "Frontline"
role = "agent"
rank = 1
email = "frontline@example.org"
authority_limit = "25"
[[escalation.levels]]
number = 2
title = "Team manager"
role = "manager"
rank = 2
email = "team@example.org"
authority_limit = "250"
[[escalation.levels]]
number = 3
title = "Duty director"
role = "manager"
rank = 3
phone = "+44 20 7946 0999"
on_call = true
unlimited_authority = true
[[escalation.routing]]
categories = ["billing"]
department = "Finance"
email = "finance@example.org"
"""

MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Europe/London is UTC in January
AGENT = Actor(id="A-1", name="Bo", role="agent", rank=1, email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=2, email="mo@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY)


@pytest.fixture
def captured() -> CapturedNotifications:
    return CapturedNotifications()


@pytest.fixture(params=["memory", "sqlite"])
def engine(
    request: pytest.FixtureRequest,
    clock: ManualClock,
    captured: CapturedNotifications,
    tmp_path: Path,
) -> Iterator[Engine]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'd.db'}"
    with Engine.open(
        url,
        workflow=WorkflowDefinition.from_toml(WORKFLOW),
        clock=clock,
        plugins=[captured],
        load_entry_points=False,
    ) as opened:
        yield opened


def receive(engine: Engine, **changes: Any) -> Complaint:
    fields: dict[str, Any] = {"channel": "email", "customer": ADA, "summary": "Late refund"}
    fields.update(changes)
    return engine.receive(Intake(**fields))


def kinds(engine: Engine, complaint: Complaint) -> list[str]:
    return [e.trigger or e.kind for e in engine.history(complaint.id)]


# -- clocks ---------------------------------------------------------------------------


def test_clocks_start_on_receipt_with_their_deadlines(engine: Engine) -> None:
    complaint = receive(engine)
    acknowledge = complaint.clock("acknowledge")
    resolve = complaint.clock("resolve")
    assert acknowledge is not None
    assert resolve is not None
    # Received Monday: 2 working days after the receipt day ends Wednesday 17:00.
    assert acknowledge.deadline == datetime(2026, 1, 7, 17, 0, tzinfo=UTC)
    assert acknowledge.warning_at == datetime(2026, 1, 7, 13, 0, tzinfo=UTC)
    # 15 calendar days: the local midnight ending 20 January.
    assert resolve.deadline == datetime(2026, 1, 21, 0, 0, tzinfo=UTC)
    assert complaint.due_at == acknowledge.warning_at


def test_a_stop_trigger_stops_its_clock_and_moves_the_due_time(
    engine: Engine, clock: ManualClock
) -> None:
    complaint = receive(engine)
    clock.advance(hours=3)
    thanked = engine.fire(complaint.id, "thank", actor=AGENT)
    acknowledge = thanked.clock("acknowledge")
    assert acknowledge is not None
    assert acknowledge.status is ClockStatus.STOPPED
    assert acknowledge.stopped_at == clock()
    assert thanked.due_at == datetime(2026, 1, 21, 0, 0, tzinfo=UTC)


def test_sweep_warns_then_breaches_each_exactly_once(
    engine: Engine, clock: ManualClock, captured: CapturedNotifications
) -> None:
    complaint = receive(engine)
    engine.assign(complaint.id, AGENT, actor=AGENT)
    assert engine.sweep(datetime(2026, 1, 7, 12, 59, tzinfo=UTC)).actions == 0
    warned = engine.sweep(datetime(2026, 1, 7, 13, 0, tzinfo=UTC))
    assert (warned.warnings, warned.breaches, warned.examined) == (1, 0, 1)
    assert engine.sweep(datetime(2026, 1, 7, 13, 0, tzinfo=UTC)).actions == 0
    breached = engine.sweep(datetime(2026, 1, 7, 17, 0, tzinfo=UTC))
    assert (breached.warnings, breached.breaches, breached.escalations) == (0, 1, 0)
    assert kinds(engine, complaint)[-2:] == ["clock_warning", "clock_breached"]
    state = engine.get(complaint.id).clock("acknowledge")
    assert state is not None
    assert state.warned
    assert state.breached
    engine.deliver()
    assert captured.topics[-2:] == ["timed.deadline_warning", "timed.deadline_missed"]
    assert {m.recipient for m in captured.messages[-2:]} == {"owner"}


def test_a_missed_resolution_escalates_one_rank_up(engine: Engine, clock: ManualClock) -> None:
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    report = engine.sweep(datetime(2026, 1, 21, 0, 0, tzinfo=UTC))
    assert (report.breaches, report.escalations) == (1, 1)
    escalated = engine.get(complaint.id)
    assert escalated.escalation_level == 2
    assert escalated.owner is not None
    assert escalated.owner.email == "team@example.org"
    event = engine.history(complaint.id)[-1]
    assert (event.kind, event.actor.id, event.data["to_level"]) == ("escalated", "system", 2)


def test_pausing_moves_the_deadline_by_the_paused_time(engine: Engine, clock: ManualClock) -> None:
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    clock.advance(days=1)
    paused = engine.fire(complaint.id, "ask_customer", actor=AGENT)
    state = paused.clock("resolve")
    assert state is not None
    assert state.status is ClockStatus.PAUSED
    assert engine.sweep(datetime(2026, 1, 25, tzinfo=UTC)).breaches == 0  # paused: nothing due
    # While paused the stored deadline stands still; engine.deadline() says where it
    # would be if the clock resumed now, and that is where resuming puts it.
    assert engine.deadline(complaint.id, "resolve") == datetime(2026, 1, 21, tzinfo=UTC)
    clock.advance(days=3, hours=5)
    assert paused.clock("resolve") == engine.get(complaint.id).clock("resolve")
    if_resumed = engine.deadline(complaint.id, "resolve")
    assert if_resumed == datetime(2026, 1, 21, tzinfo=UTC) + timedelta(days=3, hours=5)
    resumed = engine.fire(complaint.id, "customer_replied", actor=AGENT)
    assert engine.deadline(complaint.id, "resolve") == if_resumed
    state = resumed.clock("resolve")
    assert state is not None
    assert state.status is ClockStatus.RUNNING
    assert state.deadline == datetime(2026, 1, 21, tzinfo=UTC) + timedelta(days=3, hours=5)
    assert resumed.due_at == state.deadline


def test_extension_moves_the_deadline_later_only_and_tells_the_customer(
    engine: Engine, clock: ManualClock
) -> None:
    complaint = receive(engine)
    state = complaint.clock("resolve")
    assert state is not None
    with pytest.raises(ClockError, match="later than"):
        engine.extend_clock(
            complaint.id,
            "resolve",
            until=state.deadline,
            actor=MANAGER,
            reason="waiting for the courier's report",
        )
    with pytest.raises(ClockError, match="no clock 'answer'"):
        engine.extend_clock(complaint.id, "answer", until=state.deadline, actor=MANAGER, reason="x")
    before = engine.get(complaint.id)
    new_deadline = state.deadline + timedelta(days=14)
    extended = engine.extend_clock(
        complaint.id,
        "resolve",
        until=new_deadline,
        actor=MANAGER,
        reason="waiting for the courier's report",
    )
    after = extended.clock("resolve")
    assert after is not None
    assert after.deadline == new_deadline
    assert after.extensions == 1
    assert engine.outbox(complaint.id)[-1].recipient == "customer"
    assert extended.version == before.version + 1


def test_a_stopped_clock_restarts_when_a_start_trigger_fires(
    engine: Engine, clock: ManualClock
) -> None:
    complaint = receive(engine)
    for trigger in ("thank", "investigate", "close"):
        engine.fire(complaint.id, trigger, actor=AGENT)
    closed = engine.get(complaint.id)
    assert closed.due_at is None
    clock.advance(days=30)
    reopened = engine.fire(complaint.id, "reopen", actor=MANAGER)
    state = reopened.clock("resolve")
    assert state is not None
    assert state.started_at == clock()
    assert state.status is ClockStatus.RUNNING


def test_due_index_only_returns_due_complaints(engine: Engine, clock: ManualClock) -> None:
    early = receive(engine)
    clock.advance(days=1)
    receive(engine)
    due = engine.store.due(datetime(2026, 1, 7, 13, 0, tzinfo=UTC), 10)
    assert [c.id for c in due] == [early.id]


# -- escalation ------------------------------------------------------------------------


def test_fire_escalate_climbs_the_ladder_and_refuses_beyond_the_top(engine: Engine) -> None:
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    escalated = engine.fire(complaint.id, "escalate", actor=AGENT, reason="wants 100 GBP")
    assert (escalated.state, escalated.escalation_level) == ("escalated", 2)
    assert kinds(engine, complaint)[-2:] == ["escalate", "escalated"]
    engine.fire(complaint.id, "investigate", actor=MANAGER)
    top = engine.escalate(complaint.id, actor=MANAGER, reason="director must decide")
    assert top.escalation_level == 3
    before = engine.history(complaint.id)
    with pytest.raises(EscalationError, match="top"):
        engine.escalate(complaint.id, actor=MANAGER, reason="again")
    assert engine.history(complaint.id) == before


def test_an_org_chart_plugin_sends_the_agent_to_their_own_manager(
    clock: ManualClock,
) -> None:
    managers = {"A-1": Actor(id="M-7", name="Ann", role="manager", rank=2, email="ann@x.org")}

    class OrgChart:
        @hookimpl
        def complaint_flow_escalation_target(
            self, complaint: Complaint, actor: Actor | None, level: EscalationLevel
        ) -> Actor | None:
            return managers.get(actor.id) if actor is not None else None

    engine = Engine.open(
        "memory://",
        workflow=WorkflowDefinition.from_toml(WORKFLOW),
        clock=clock,
        plugins=[OrgChart()],
        load_entry_points=False,
    )
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    escalated = engine.escalate(complaint.id, actor=AGENT, reason="refund above my limit")
    assert escalated.owner == managers["A-1"]
    # Without an actor (a missed deadline) the static ladder answers.
    report = engine.sweep(datetime(2026, 2, 1, tzinfo=UTC))
    assert report.escalations == 1
    final = engine.get(complaint.id)
    assert final.owner is not None
    assert final.owner.phone == "+44 20 7946 0999"


def test_an_emergency_goes_straight_to_on_call_and_is_notified_at_once(
    engine: Engine, captured: CapturedNotifications
) -> None:
    complaint = receive(engine, severity=Severity.EMERGENCY, summary="Gas smell after repair")
    assert complaint.escalation_level == 3
    assert complaint.owner is not None
    assert complaint.owner.phone == "+44 20 7946 0999"
    assert kinds(engine, complaint) == ["received", "escalated"]
    # Delivered during receive(), without waiting for a dispatch run.
    assert [m.recipient for m in captured.messages] == ["owner"]
    assert captured.messages[0].payload["urgent"] is True


def test_an_urgent_message_is_sent_once_while_other_dispatchers_run(
    clock: ManualClock, tmp_path: Path
) -> None:
    sent: list[str] = []
    held_until: list[datetime | None] = []
    others: list[OutboxDispatcher] = []

    class Pager:
        """Pages on call; while it does, another worker's dispatcher runs a pass."""

        @hookimpl
        def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
            sent.append(message.key)
            held_until.append(message.next_attempt_at)
            for dispatcher in others:
                dispatcher.dispatch()

    with Engine.open(
        f"sqlite:///{tmp_path / 'u.db'}",
        workflow=WorkflowDefinition.from_toml(WORKFLOW),
        clock=clock,
        plugins=[Pager()],
        load_entry_points=False,
    ) as engine:
        others.append(OutboxDispatcher(engine.store, engine.registry, clock))
        complaint = receive(engine, severity=Severity.EMERGENCY, summary="Gas smell")
        [urgent] = [m for m in engine.outbox(complaint.id) if m.payload.get("urgent")]
        assert sent.count(urgent.key) == 1
        assert engine.outbox(complaint.id)[-1].status is OutboxStatus.DELIVERED
        # Had the engine died before sending it, a dispatcher sends it after the hold.
        assert held_until == [complaint.received_at + URGENT_HOLD]


def test_routing_sends_a_category_to_its_department(engine: Engine) -> None:
    complaint = receive(engine, category="billing")
    assert complaint.department == "Finance"
    assert kinds(engine, complaint) == ["received", "routed"]
    [message] = engine.outbox(complaint.id)
    assert (message.recipient, message.address) == ("department", "finance@example.org")


# -- remedies -------------------------------------------------------------------------------


def test_remedies_within_authority_are_granted_above_need_escalation(engine: Engine) -> None:
    complaint = receive(engine)
    granted = engine.grant_remedy(complaint.id, Remedy(kind="refund", amount="20"), actor=AGENT)
    assert granted.data["remedies"][0]["kind"] == "refund"
    before = engine.history(complaint.id)
    with pytest.raises(AuthorityExceededError, match="Team manager"):
        engine.grant_remedy(
            complaint.id, Remedy(kind="goodwill_payment", amount="100"), actor=AGENT
        )
    assert engine.history(complaint.id) == before
    engine.grant_remedy(complaint.id, Remedy(kind="goodwill_payment", amount="100"), actor=MANAGER)
    assert len(engine.get(complaint.id).data["remedies"]) == 2


# -- definitions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('duration = "2 working days"', 'duration = "-2 working days"', "at least 1"),
        ('duration = "2 working days"', 'duration = "soon"', "cannot read the duration"),
        (
            'pause_states = ["awaiting_customer"]',
            'pause_states = ["on_hold"]',
            "pause state 'on_hold' does not exist",
        ),
        ('stops_on = ["thank"]', 'stops_on = ["thnak"]', "trigger 'thnak' does not exist"),
        ('subdivision = "ENG"', 'subdivision = "XYZ"', "XYZ"),
        ('country = "GB"', 'country = "ZZ"', "ZZ"),
        (
            'calendar = "office"\nduration = "2',
            'calendar = "ofice"\nduration = "2',
            "unknown calendar 'ofice'",
        ),
        ('warn_before = "4 working hours"', 'warn_before = "1 working day"', "working hours"),
        ('on_breach = ["notify", "escalate"]', 'on_breach = ["panic"]', "unknown on_breach"),
    ],
)
def test_impossible_clock_definitions_are_refused_at_load(
    old: str, new: str, expected: str
) -> None:
    assert old in WORKFLOW
    with pytest.raises(WorkflowDefinitionError) as refused:
        WorkflowDefinition.from_toml(WORKFLOW.replace(old, new, 1)).check()
    assert expected in str(refused.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'duration = "2 working days"',
            "duration = 2",
            "clock 'acknowledge': duration must be text such as '5 working days', got 2",
        ),
        (
            'duration = "2 working days"',
            'durration = "2 working days"',
            "clock 'acknowledge': unknown key 'durration' (did you mean 'duration'?)",
        ),
        (
            'calendar = "office"\nduration = "2',
            'duration = "2',
            "clock 'acknowledge': 'calendar' is missing: name one of the workflow's calendars",
        ),
        (
            'stops_on = ["thank"]',
            "stops_on = [1]",
            "clock 'acknowledge': 'stops_on' must be text or a list of text, got [1]",
        ),
        (
            'warn_before = "4 working hours"',
            "warn_before = 4",
            "clock 'acknowledge': warn_before must be text such as '8 working hours', got 4",
        ),
        ("[clocks.resolve]", "[clocks.resolve.zz]", "clock 'resolve': unknown key 'zz'"),
        (
            'country = "GB"',
            "country = 44",
            "calendar 'office': country must be text such as 'GB', got 44",
        ),
        (
            'time_zone = "Europe/London"',
            'timezone = "Europe/London"',
            "calendar 'office': unknown key 'timezone' (did you mean 'time_zone'?)",
        ),
        (
            'time_zone = "Europe/London"',
            'time_zone = "Europe/London"\nworking_days = {mon = true}',
            "calendar 'office': working_days must be weekday names, ranges or ISO numbers",
        ),
        (
            'currency = "GBP"',
            'currency = "GBP"\nwritten_channels = 5',
            "escalation: [escalation]: 'written_channels' must be a list of text",
        ),
    ],
)
def test_keys_of_the_wrong_kind_are_refused_at_load_with_their_place(
    old: str, new: str, expected: str
) -> None:
    assert old in WORKFLOW
    with pytest.raises(WorkflowDefinitionError) as refused:
        WorkflowDefinition.from_toml(WORKFLOW.replace(old, new, 1))
    assert any(expected in problem for problem in refused.value.problems), refused.value


def test_a_calendar_with_no_working_time_is_refused() -> None:
    broken = WORKFLOW.replace('subdivision = "ENG"', 'subdivision = "ENG"\nworking_days = []')
    with pytest.raises(WorkflowDefinitionError, match="calendar 'office'"):
        WorkflowDefinition.from_toml(broken)


# -- several sweepers ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store several sweepers (threads, processes; hosts for PostgreSQL) can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sweep.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


def test_concurrent_sweepers_act_on_each_due_clock_exactly_once(shared_store_url: str) -> None:
    url = shared_store_url
    definition = WorkflowDefinition.from_toml(WORKFLOW)
    clock = ManualClock(MONDAY)
    with Engine.open(url, workflow=definition, clock=clock, load_entry_points=False) as setup:
        ids = [receive(setup).id for _ in range(40)]
    now = datetime(2026, 1, 7, 13, 0, tzinfo=UTC)
    reports = []

    def sweeper() -> None:
        with Engine.open(url, workflow=definition, clock=clock, load_entry_points=False) as engine:
            reports.append(engine.sweep(now, batch=7))

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.warnings for report in reports) == len(ids)
    with Engine.open(url, workflow=definition, clock=clock, load_entry_points=False) as check:
        for complaint_id in ids:
            assert kinds(check, check.get(complaint_id)).count("clock_warning") == 1


# -- property: the incremental fold equals a replay of the history ---------------------------------

STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "thank",
                "ask_customer",
                "customer_replied",
                "investigate",
                "close",
                "reopen",
                "sweep",
                "extend",
            ]
        ),
        st.integers(min_value=0, max_value=72),
    ),
    max_size=14,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_clock_state_always_equals_a_replay_of_the_history(steps: list[tuple[str, int]]) -> None:
    clock = ManualClock(MONDAY)
    definition = WorkflowDefinition.from_toml(WORKFLOW)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Engine.open(
            f"sqlite:///{Path(tmp) / 'p.db'}?synchronous=OFF",
            workflow=definition,
            clock=clock,
            load_entry_points=False,
        ) as engine,
    ):
        complaint = receive(engine)
        compiled = engine.kernel.workflow("timed")
        for action, hours in steps:
            clock.advance(hours=hours)
            if action == "sweep":
                engine.sweep(clock())
            elif action == "extend":
                state = engine.get(complaint.id).clock("resolve")
                if state is not None and state.status is not ClockStatus.STOPPED:
                    engine.extend_clock(
                        complaint.id,
                        "resolve",
                        until=state.deadline + timedelta(days=2),
                        actor=MANAGER,
                        reason="agreed",
                    )
            elif action in engine.triggers(complaint.id, MANAGER):
                engine.fire(complaint.id, action, actor=MANAGER)
            current = engine.get(complaint.id)
            assert compiled.clocks.replay(engine.history(complaint.id)) == current.clocks
            assert current.due_at == compiled.clocks.due_at(current.clocks)
            for state in current.clocks:
                if state.warning_at is not None:
                    assert state.warning_at <= state.deadline


def _sweep_in_a_process(url: str, now: datetime) -> tuple[int, int]:
    definition = WorkflowDefinition.from_toml(WORKFLOW)
    with Engine.open(url, workflow=definition, load_entry_points=False) as engine:
        report = engine.sweep(now, batch=5)
    return report.warnings, report.conflicts


def test_sweepers_in_several_processes_act_exactly_once(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    url = f"sqlite:///{tmp_path / 'processes.db'}"
    definition = WorkflowDefinition.from_toml(WORKFLOW)
    with Engine.open(
        url, workflow=definition, clock=ManualClock(MONDAY), load_entry_points=False
    ) as setup:
        ids = [receive(setup).id for _ in range(30)]
    now = datetime(2026, 1, 7, 13, 0, tzinfo=UTC)
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_sweep_in_a_process, [url] * 3, [now] * 3))
    assert sum(warnings for warnings, _ in results) == len(ids)
    with Engine.open(url, workflow=definition, load_entry_points=False) as check:
        for complaint_id in ids:
            assert kinds(check, check.get(complaint_id)).count("clock_warning") == 1


def test_changed_clock_definitions_are_replayed_from_the_history(
    tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    with Engine.open(
        url, workflow=WorkflowDefinition.from_toml(WORKFLOW), clock=clock, load_entry_points=False
    ) as engine:
        complaint = receive(engine)
        engine.fire(complaint.id, "thank", actor=AGENT)
        clock.advance(days=1)
        engine.fire(complaint.id, "ask_customer", actor=AGENT)
        clock.advance(days=2)
        engine.fire(complaint.id, "customer_replied", actor=AGENT)
    # The rule changes from 15 to 20 calendar days: the pause must survive the change.
    longer = WorkflowDefinition.from_toml(
        WORKFLOW.replace('duration = "15 calendar days"', 'duration = "20 calendar days"')
    )
    with Engine.open(url, workflow=longer, clock=clock, load_entry_points=False) as engine:
        stale = engine.get(complaint.id)
        recomputed = engine.recompute_clocks(complaint.id, actor=MANAGER)
        state = recomputed.clock("resolve")
        assert state is not None
        assert state.deadline == datetime(2026, 1, 26, tzinfo=UTC) + timedelta(days=2)
        assert recomputed.version == stale.version + 1
        assert engine.history(complaint.id)[-1].kind == "clocks_recomputed"
        assert engine.recompute_clocks(complaint.id, actor=MANAGER) == recomputed


def test_an_extension_agreed_during_a_pause_is_the_deadline_promised(
    engine: Engine, clock: ManualClock
) -> None:
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    engine.fire(complaint.id, "ask_customer", actor=AGENT)
    clock.advance(days=2)
    promised = datetime(2026, 1, 30, tzinfo=UTC)
    engine.extend_clock(
        complaint.id, "resolve", until=promised, actor=MANAGER, reason="agreed with the customer"
    )
    clock.advance(days=1)
    resumed = engine.fire(complaint.id, "customer_replied", actor=AGENT)
    state = resumed.clock("resolve")
    # Only the day paused after the agreement moves it.
    assert state is not None
    assert state.deadline == promised + timedelta(days=1)


def test_clocks_count_from_receipt_not_from_when_it_was_logged(engine: Engine) -> None:
    received = datetime(2026, 1, 2, 10, 0, tzinfo=UTC)  # Friday; logged Monday
    complaint = receive(engine, channel="letter", received_at=received)
    acknowledge = complaint.clock("acknowledge")
    assert acknowledge is not None
    assert acknowledge.started_at == received
    assert acknowledge.deadline == datetime(2026, 1, 6, 17, 0, tzinfo=UTC)


def test_escalate_without_a_ladder_and_breach_escalation_without_one_are_refused() -> None:
    without_ladder = WORKFLOW[: WORKFLOW.index("[escalation]")]
    with pytest.raises(WorkflowDefinitionError, match="needs an escalation ladder"):
        WorkflowDefinition.from_toml(without_ladder).check()
    quiet = without_ladder.replace('on_breach = ["notify", "escalate"]', 'on_breach = ["notify"]')
    engine = Engine.open(
        "memory://",
        workflow=WorkflowDefinition.from_toml(quiet),
        clock=ManualClock(MONDAY),
        load_entry_points=False,
    )
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    with pytest.raises(EscalationError, match="no escalation ladder"):
        engine.escalate(complaint.id, actor=AGENT, reason="customer asked")
    assert engine.get(complaint.id).state == "thanked"


def test_beyond_the_cap_only_a_written_request_escalates(clock: ManualClock) -> None:
    capped = WorkflowDefinition.from_toml(
        WORKFLOW.replace(
            '[escalation]\ncurrency = "GBP"',
            '[escalation]\ncurrency = "GBP"\nwritten_request_from = 3',
        )
    )
    assert capped.escalation is not None
    assert capped.escalation.written_request_from == 3
    engine = Engine.open("memory://", workflow=capped, clock=clock, load_entry_points=False)
    complaint = receive(engine)
    engine.fire(complaint.id, "thank", actor=AGENT)
    # Level 2 may be asked for on any channel.
    second = engine.escalate(
        complaint.id, actor=AGENT, reason="asked on the phone", requested_via="phone"
    )
    assert second.escalation_level == 2
    engine.fire(complaint.id, "investigate", actor=MANAGER)
    # Level 3 by phone: recorded and answered, not escalated.
    spoken = engine.escalate(
        complaint.id, actor=MANAGER, reason="wants the director", requested_via="phone"
    )
    assert spoken.escalation_level == 2
    event = engine.history(complaint.id)[-1]
    assert event.kind == "escalation_request_declined"
    assert event.data["level"] == 3
    assert "email" in event.data["written_channels"]
    [answer] = [m for m in engine.outbox(complaint.id) if m.event_seq == event.seq]
    assert (answer.recipient, answer.channel) == ("customer", "email")
    assert "in writing" in answer.payload["details"]["how_to_ask"]
    # The same request by letter counts.
    written = engine.escalate(
        complaint.id, actor=MANAGER, reason="letter received", requested_via="letter"
    )
    assert written.escalation_level == 3
    # Staff escalating on their own initiative are not capped.
    with pytest.raises(EscalationError, match="top"):
        engine.escalate(complaint.id, actor=MANAGER, reason="again")


@pytest.mark.parametrize("setting", ["written_request_from = 1", 'written_request_from = "soon"'])
def test_an_impossible_escalation_cap_is_refused(setting: str) -> None:
    text = WORKFLOW.replace(
        '[escalation]\ncurrency = "GBP"', f'[escalation]\ncurrency = "GBP"\n{setting}'
    )
    with pytest.raises(WorkflowDefinitionError, match="written_request_from must be"):
        WorkflowDefinition.from_toml(text)
