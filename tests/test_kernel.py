"""The kernel: one unit of work, effects once after the commit, the machine deciding each step."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    ClockError,
    ComplaintFlowError,
    ConcurrencyError,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    InvalidIntakeError,
    ManualClock,
    PluginError,
    WorkflowDefinition,
    WorkflowDefinitionError,
    hookimpl,
)
from complaint_flow.kernel.draft import Draft
from complaint_flow.model.entities import Complaint, Event

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")
ROLES = ("agent", "supervisor", "manager")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")
START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def intake(**changes: Any) -> Intake:
    fields: dict[str, Any] = {"channel": "email", "customer": ADA, "summary": "Broken parcel"}
    fields.update(changes)
    return Intake(**fields)


# -- the unit of work ------------------------------------------------------------------------


def test_a_lost_race_is_drafted_again_on_the_latest_version_and_effects_run_once() -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    complaint = engine.receive(intake())
    builds: list[int] = []
    effects: list[int] = []

    def build(draft: Draft[Complaint]) -> str:
        builds.append(draft.base.version)
        if len(builds) == 1:
            # Another writer gets there between this read and this commit.
            engine.add_note(complaint.id, "meanwhile", actor=AGENT)
        draft.record("note", AGENT, reason=f"on version {draft.base.version}")
        draft.after_commit(lambda stored: effects.append(stored.version))
        return "built"

    stored, result = engine.kernel.change(complaint.id, build, retries=1)
    assert result == "built"
    assert builds == [1, 2]
    assert effects == [3]  # once, for the stored version only
    assert [e.reason for e in engine.history(complaint.id)[1:]] == ["meanwhile", "on version 2"]
    assert stored == engine.get(complaint.id)


def test_without_retries_a_lost_race_writes_nothing_and_runs_no_effect() -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    complaint = engine.receive(intake())
    effects: list[int] = []

    def build(draft: Draft[Complaint]) -> None:
        engine.add_note(complaint.id, "meanwhile", actor=AGENT)
        draft.record("note", AGENT, reason="lost")
        draft.after_commit(lambda stored: effects.append(stored.version))

    with pytest.raises(ConcurrencyError):
        engine.kernel.change(complaint.id, build)
    assert effects == []
    assert [e.reason for e in engine.history(complaint.id)[1:]] == ["meanwhile"]


def test_a_refusal_in_build_writes_nothing_and_runs_no_effect() -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    complaint = engine.receive(intake())
    effects: list[int] = []

    def build(draft: Draft[Complaint]) -> None:
        draft.record("note", AGENT, reason="drafted")
        draft.after_commit(lambda stored: effects.append(stored.version))
        raise InvalidArgumentError("refused after drafting")

    with pytest.raises(InvalidArgumentError):
        engine.kernel.change(complaint.id, build, retries=3)
    assert effects == []
    assert engine.get(complaint.id) == complaint


def test_a_failing_effect_is_logged_and_the_change_stays(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    complaint = engine.receive(intake())

    def build(draft: Draft[Complaint]) -> None:
        draft.record("note", AGENT, reason="kept")
        draft.after_commit(lambda stored: 1 / 0)

    with caplog.at_level(logging.ERROR, logger="complaint_flow.kernel"):
        stored, _ = engine.kernel.change(complaint.id, build)
    assert stored.version == 2
    assert engine.history(complaint.id)[-1].reason == "kept"
    assert "after-commit effect" in caplog.text


@pytest.mark.parametrize(
    ("expected_version", "retries"),
    [("1", 0), (1.0, 0), (True, 0), (-1, 0), (None, "3"), (None, -1), (None, 2.5), (1, 2)],
)
def test_the_unit_of_work_refuses_bad_versions_and_retries(
    expected_version: Any, retries: Any
) -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    complaint = engine.receive(intake())
    with pytest.raises(InvalidArgumentError):
        engine.kernel.change(
            complaint.id,
            lambda draft: None,
            expected_version=expected_version,
            retries=retries,
        )


def test_blind_notes_from_two_writers_are_all_kept(tmp_path: Path) -> None:
    """Recorders retry a lost race: two writers adding notes blindly lose none."""
    url = f"sqlite:///{tmp_path / 'notes.db'}"
    with Engine.open(url, load_entry_points=False) as engine:
        complaint = engine.receive(intake())
    failures: list[BaseException] = []
    per_writer = 60

    def write(name: str) -> None:
        with Engine.open(url, load_entry_points=False) as engine:
            for n in range(per_writer):
                try:
                    engine.add_note(complaint.id, f"{name} {n}", actor=AGENT)
                except BaseException as exc:
                    failures.append(exc)

    writers = [threading.Thread(target=write, args=(name,)) for name in ("left", "right")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert failures == []
    with Engine.open(url, load_entry_points=False) as engine:
        notes = [e.reason for e in engine.history(complaint.id) if e.kind == "note"]
    assert len(notes) == 2 * per_writer
    assert sorted(notes) == sorted(f"{w} {n}" for w in ("left", "right") for n in range(per_writer))


# -- the machine decides and performs ----------------------------------------------------------

FLOW: dict[str, Any] = {
    "name": "flow",
    "initial": "open",
    "roles": ["agent", "manager"],
    "states": {
        "open": {},
        "working": {"on_enter": ["entered_working"]},
        "closed": {"terminal": True},
    },
    "transitions": [
        {
            "trigger": "start",
            "source": "open",
            "dest": "working",
            "before": ["vetted"],
            "after": ["started"],
        },
        {
            "trigger": "close",
            "source": "working",
            "dest": "closed",
            "roles": ["manager"],
            "requires": ["resolution"],
        },
    ],
}


class Callbacks:
    """A plugin registering workflow callbacks; records what it saw."""

    def __init__(self, refuse: BaseException | None = None, fail_after: bool = False) -> None:
        self.refuse = refuse
        self.fail_after = fail_after
        self.calls: list[tuple[str, str, int, str | None]] = []

    @hookimpl
    def complaint_flow_register_callbacks(
        self, register: Callable[[str, Callable[[Complaint, Event], None]], None]
    ) -> None:
        def vetted(complaint: Complaint, event: Event) -> None:
            self.calls.append(("vetted", complaint.state, complaint.version, event.dest))
            if self.refuse is not None:
                raise self.refuse

        def started(complaint: Complaint, event: Event) -> None:
            self.calls.append(("started", complaint.state, complaint.version, event.dest))
            if self.fail_after:
                raise RuntimeError("the dashboard is down")

        def entered(complaint: Complaint, event: Event) -> None:
            self.calls.append(("entered_working", complaint.state, complaint.version, event.dest))

        register("vetted", vetted)
        register("started", started)
        register("entered_working", entered)


def flow_engine(plugin: Callbacks) -> Engine:
    return Engine.open(
        "memory://",
        workflow=WorkflowDefinition.from_dict(FLOW),
        plugins=[plugin],
        load_entry_points=False,
    )


def test_plugin_callbacks_run_before_the_move_and_once_after_the_commit() -> None:
    plugin = Callbacks()
    engine = flow_engine(plugin)
    complaint = engine.receive(intake())
    moved = engine.fire(complaint.id, "start", actor=AGENT)
    assert moved.state == "working"
    assert plugin.calls == [
        ("vetted", "open", 1, "working"),  # before: the version read, the proposed step
        ("started", "working", 2, "working"),  # after the commit: the stored version
        ("entered_working", "working", 2, "working"),
    ]


def test_a_before_callback_refuses_with_its_own_error_and_nothing_is_written() -> None:
    engine = flow_engine(Callbacks(refuse=InvalidArgumentError("not vetted yet")))
    complaint = engine.receive(intake())
    with pytest.raises(InvalidArgumentError, match="not vetted yet"):
        engine.fire(complaint.id, "start", actor=AGENT)
    assert engine.get(complaint.id) == complaint
    assert [e.kind for e in engine.history(complaint.id)] == ["received"]


def test_a_before_callback_that_crashes_is_a_plugin_error_naming_it() -> None:
    engine = flow_engine(Callbacks(refuse=KeyError("oops")))
    complaint = engine.receive(intake())
    with pytest.raises(PluginError, match="'vetted' callback"):
        engine.fire(complaint.id, "start", actor=AGENT)
    assert engine.get(complaint.id) == complaint


def test_an_after_callback_that_fails_does_not_undo_the_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    plugin = Callbacks(fail_after=True)
    engine = flow_engine(plugin)
    complaint = engine.receive(intake())
    with caplog.at_level(logging.ERROR):
        moved = engine.fire(complaint.id, "start", actor=AGENT)
    assert engine.get(complaint.id) == moved
    assert moved.state == "working"
    assert "the dashboard is down" in caplog.text
    assert ("entered_working", "working", 2, "working") in plugin.calls


def test_a_workflow_naming_an_unregistered_callback_is_refused_at_open() -> None:
    with pytest.raises(WorkflowDefinitionError, match="unknown callback 'vetted'"):
        Engine.open(
            "memory://", workflow=WorkflowDefinition.from_dict(FLOW), load_entry_points=False
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "thank",
                    "apologise",
                    "collect_information",
                    "escalate",
                    "close",
                    "withdraw",
                    "reopen",
                    "nonsense",
                ]
            ),
            st.sampled_from(ROLES),
            st.sampled_from([None, {"facts": "seen"}]),
        ),
        max_size=12,
    )
)
def test_every_step_is_the_machines_move_or_a_refusal_that_changes_nothing(
    steps: list[tuple[str, str, dict[str, str] | None]],
) -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    compiled = engine.kernel.workflow("tactics")
    complaint = engine.receive(intake())
    for trigger, role, data in steps:
        actor = Actor(id=f"{role}-1", name=role.title(), role=role, email=f"{role}@example.org")
        before = engine.get(complaint.id)
        history = engine.history(complaint.id)
        try:
            after = engine.fire(complaint.id, trigger, actor=actor, data=data)
        except ComplaintFlowError:
            assert engine.get(complaint.id) == before
            assert engine.history(complaint.id) == history
            continue
        assert after.state == compiled.destination(before.state, trigger)
        moved = [e for e in engine.history(complaint.id) if e.seq > before.version]
        assert moved[0].kind == "transition"
        assert (moved[0].source, moved[0].dest) == (before.state, after.state)


# -- arguments and intake checked at the edge ----------------------------------------------------


@pytest.fixture
def engine() -> Engine:
    return Engine.open("memory://", clock=ManualClock(START), load_entry_points=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda e, c: e.fire(c.id, "thank", actor=AGENT, expected_version="1"),
        lambda e, c: e.fire(c.id, 1, actor=AGENT),
        lambda e, c: e.fire(c.id, "thank", actor=AGENT, data="facts"),
        lambda e, c: e.sweep("2026-03-02T09:00Z"),
        lambda e, c: e.sweep(datetime(2026, 3, 2, 9)),
        lambda e, c: e.sweep(batch=0),
        lambda e, c: e.find(limit="5"),
        lambda e, c: e.find(limit=2.5),
        lambda e, c: e.find(limit=-1),
        lambda e, c: e.find(state=["received"]),
        lambda e, c: e.deliver(None),
        lambda e, c: e.deliver(-1),
        lambda e, c: e.deliver(2**70),
        lambda e, c: e.change_reply_channel(c.id, ["sms"], actor=AGENT, consent="asked"),
        lambda e, c: e.add_note(c.id, "x", actor=AGENT, retries=-1),
        lambda e, c: e.add_note(c.id, "x", actor=AGENT, expected_version=1, retries=2),
        lambda e, c: e.review_queue(limit="all"),
        lambda e, c: e.get(42),
    ],
)
def test_wrongly_typed_arguments_get_invalid_argument_error(
    engine: Engine, call: Callable[[Engine, Complaint], object]
) -> None:
    complaint = engine.receive(intake())
    with pytest.raises(InvalidArgumentError):
        call(engine, complaint)
    assert engine.get(complaint.id) == complaint


def test_the_right_expected_version_is_accepted(engine: Engine) -> None:
    complaint = engine.receive(intake())
    assert engine.fire(complaint.id, "thank", actor=AGENT, expected_version=1).version == 2


def test_a_receipt_time_in_the_future_is_refused_beyond_a_small_skew(engine: Engine) -> None:
    with pytest.raises(InvalidIntakeError, match="in the future"):
        engine.receive(intake(received_at=START + timedelta(hours=1)))
    assert engine.find() == []
    nearly_now = engine.receive(intake(received_at=START + timedelta(minutes=2)))
    assert nearly_now.received_at == START + timedelta(minutes=2)
    letter = engine.receive(intake(channel="letter", received_at=START - timedelta(days=3)))
    assert letter.received_at == START - timedelta(days=3)


def test_a_clock_is_extended_by_a_duration_in_its_own_calendar(engine: Engine) -> None:
    complaint = engine.receive(intake())
    state = next(iter(complaint.clocks))
    calendar = engine.kernel.workflow(complaint.workflow).clocks.calendars[state.name]
    extended = engine.extend_clock(
        complaint.id, state.name, until="5 working days", actor=MANAGER, reason="agreed"
    )
    assert extended.clock(state.name) is not None
    new = extended.clock(state.name)
    assert new is not None
    assert new.deadline == calendar.deadline(state.deadline, "5 working days")
    assert new.deadline > state.deadline
    event = engine.history(complaint.id)[-1]
    assert (event.kind, event.data["by"]) == ("clock_extended", "5 working days")
    with pytest.raises(InvalidArgumentError, match="until"):
        engine.extend_clock(complaint.id, state.name, until="soon", actor=MANAGER, reason="x")


def test_the_deadline_of_an_unknown_or_stopped_clock(engine: Engine) -> None:
    complaint = engine.receive(intake())
    with pytest.raises(ClockError, match="no clock 'nope'"):
        engine.deadline(complaint.id, "nope")
    state = next(iter(complaint.clocks))
    assert engine.deadline(complaint.id, state.name) == state.deadline
    withdrawn = engine.fire(
        complaint.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "sorted"}
    )
    assert all(engine.deadline(withdrawn.id, s.name) is None for s in withdrawn.clocks)


@pytest.mark.parametrize(
    "call",
    [
        lambda: Engine.open("memory://", plugins=5, load_entry_points=False),
        lambda: Engine.open("memory://", clock="now", load_entry_points=False),  # type: ignore[arg-type]
        lambda: Engine.open("memory://", conduct_policy="x", load_entry_points=False),  # type: ignore[arg-type]
        lambda: Engine.open("memory://", load_entry_points="no"),  # type: ignore[arg-type]
    ],
)
def test_engine_open_checks_its_arguments(call: Callable[[], object]) -> None:
    with pytest.raises(InvalidArgumentError):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda e: e.workflow(["tactics"]),
        lambda e: e.resolve_review_item(["C-1"], "item", actor=MANAGER, outcome="x", note="n"),
        lambda e: e.purge_closed("99999999999 years", dry_run=True),
        lambda e: e.purge_closed("99999999999 days", dry_run=True),
        lambda e: e.purge_closed("90 days", dry_run=0),
        lambda e: e.fire(["x"], "thank", actor=AGENT),
        lambda e: e.conduct.appeal(ADA, grounds="unfair", actor=MANAGER, received_via=["x"]),
    ],
)
def test_more_public_arguments_are_checked(
    tmp_path: Path, call: Callable[[Engine], object]
) -> None:
    with Engine.open(f"sqlite:///{tmp_path / 'a.db'}", load_entry_points=False) as engine:
        engine.receive(intake())
        with pytest.raises(InvalidArgumentError):
            call(engine)


class Rival:
    """An org chart whose first answer comes after another escalation got there first."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self.complaint_id = ""
        self.interfered = False

    @hookimpl
    def complaint_flow_escalation_target(
        self, complaint: Complaint, actor: Actor | None, level: Any
    ) -> Actor | None:
        if not self.interfered and self.engine is not None:
            self.interfered = True
            self.engine.escalate(self.complaint_id, actor=MANAGER, reason="the other desk")
        return None


def test_a_retried_escalation_climbs_once_when_someone_escalated_meanwhile() -> None:
    rival = Rival()
    engine = Engine.open("memory://", plugins=[rival], load_entry_points=False)
    complaint = engine.receive(intake())
    rival.engine, rival.complaint_id = engine, complaint.id
    with pytest.raises(ConcurrencyError):
        engine.escalate(complaint.id, actor=AGENT, reason="asked for a manager")
    escalated = engine.get(complaint.id)
    assert escalated.escalation_level == 2  # one level, by the request that won
    assert [e.kind for e in engine.history(complaint.id)].count("escalated") == 1


def test_an_urgent_delivery_that_fails_is_logged_and_the_change_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine.open("memory://", load_entry_points=False)
    calls: list[list[str]] = []

    def broken(subject_id: str, keys: list[str]) -> None:
        calls.append(keys)
        raise OSError("the mail relay is down")

    engine.kernel.deliver_now = broken
    with caplog.at_level(logging.ERROR, logger="complaint_flow.kernel"):
        emergency = engine.receive(intake(severity="emergency", summary="Gas smell"))
    assert calls  # it was tried at once
    assert emergency.escalation_level > 1
    assert [e.kind for e in engine.history(emergency.id)].count("escalated") == 1
    assert "urgent delivery" in caplog.text
    assert any(m.status == "pending" for m in engine.outbox(emergency.id))


class Watcher:
    """An observer keeping the events it is shown."""

    def __init__(self) -> None:
        self.seen: list[Event] = []

    @hookimpl
    def complaint_flow_received(self, complaint: Complaint, event: Event) -> None:
        self.seen.append(event)

    @hookimpl
    def complaint_flow_transition(self, complaint: Complaint, event: Event) -> None:
        self.seen.append(event)


@pytest.mark.parametrize("many", [False, True])
def test_observers_see_the_events_as_stored_with_their_hashes(many: bool) -> None:
    watcher = Watcher()
    engine = Engine.open("memory://", plugins=[watcher], load_entry_points=False)
    if many:
        complaint = engine.receive_many([intake()])[0].complaint
        assert complaint is not None
    else:
        complaint = engine.receive(intake())
    engine.fire(complaint.id, "thank", actor=AGENT)
    stored = engine.history(complaint.id)
    assert watcher.seen == stored
    assert all(event.hash for event in watcher.seen)
