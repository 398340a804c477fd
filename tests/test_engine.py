"""The engine: intake, transitions, guards, audit trail, outbox; refusals change nothing."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from complaint_flow import (
    Actor,
    ComplaintNotFoundError,
    ConcurrencyError,
    Customer,
    DeliveryReport,
    Engine,
    GuardRefusedError,
    Intake,
    InvalidArgumentError,
    InvalidIntakeError,
    ManualClock,
    MissingFieldError,
    OutboxStatus,
    PermissionDeniedError,
    Severity,
    TriggerNotAllowedError,
    UnknownChannelError,
    UnknownStoreError,
    UnknownTriggerError,
    UnknownWorkflowError,
    hookimpl,
)
from complaint_flow.model.entities import Complaint, Event, OutboxMessage
from complaint_flow.testing import CapturedNotifications

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=3, phone="+44 20 7946 0000")
ADA = Customer(
    id="C-1",
    name="Ada",
    email="ada@example.org",
    phone="+44 7700 900001",
    postal_address="1 High St, Leeds",
)


def intake(**changes: Any) -> Intake:
    fields: dict[str, Any] = {
        "channel": "email",
        "customer": ADA,
        "summary": "Parcel arrived broken",
        "details": "The box was crushed",
        "external_id": None,
    }
    fields.update(changes)
    return Intake(**fields)


def snapshot(
    engine: Engine, complaint_id: str
) -> tuple[Complaint, list[Event], list[OutboxMessage]]:
    return engine.get(complaint_id), engine.history(complaint_id), engine.outbox(complaint_id)


def walk_to(engine: Engine, complaint_id: str, trigger: str) -> Complaint:
    """Fire the TACTICS happy path up to and including ``trigger``."""
    steps: list[tuple[str, dict[str, str] | None]] = [
        ("thank", None),
        ("apologise", None),
        ("collect_information", {"facts": "box crushed in transit"}),
        ("take_action", {"action": "send a replacement"}),
        ("put_it_right", None),
        ("confirm_satisfied", {"customer_feedback": "happy, thanks"}),
        ("summarise", {"resolution": "replacement sent", "timeline": "2 days"}),
        ("close", None),
    ]
    complaint = engine.get(complaint_id)
    for name, data in steps:
        if name == "put_it_right" and complaint.owner is None:
            engine.assign(complaint_id, MANAGER, actor=AGENT)
        complaint = engine.fire(complaint_id, name, actor=AGENT, data=data)
        if name == trigger:
            break
    return complaint


# -- intake --------------------------------------------------------------------


def test_receive_stores_a_numbered_complaint_with_its_first_event(
    complaint_engine: Engine, complaint_clock: ManualClock
) -> None:
    first = complaint_engine.receive(intake())
    second = complaint_engine.receive(intake(summary="Late delivery", category="delivery"))
    assert first.reference == "CF-2026-000001"
    assert second.reference == "CF-2026-000002"
    assert (first.state, first.version, first.received_at) == ("received", 1, complaint_clock())
    [event] = complaint_engine.history(first.id)
    assert (event.kind, event.seq, event.dest, event.actor.id) == (
        "received",
        1,
        "received",
        "system",
    )
    assert complaint_engine.get(first.reference) == first


def test_same_message_delivered_three_times_is_one_complaint(complaint_engine: Engine) -> None:
    delivered = [
        complaint_engine.receive(intake(external_id="<msg-1@example.org>")) for _ in range(3)
    ]
    assert {c.id for c in delivered} == {delivered[0].id}
    assert len(complaint_engine.find()) == 1
    assert len(complaint_engine.history(delivered[0].id)) == 1
    # The same id on another channel is another message.
    other = complaint_engine.receive(intake(channel="web_form", external_id="<msg-1@example.org>"))
    assert other.id != delivered[0].id


def test_concurrent_duplicate_delivery_resolves_to_the_stored_complaint(
    complaint_engine: Engine,
) -> None:
    # Simulate losing the race: the store already holds the message when commit runs.
    stored = complaint_engine.receive(intake(external_id="m-2"))
    original = complaint_engine.store.find_by_external_id
    calls = {"n": 0}

    def miss_once(channel: str, external_id: str) -> Complaint | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else original(channel, external_id)

    complaint_engine.store.find_by_external_id = miss_once  # type: ignore[method-assign]
    again = complaint_engine.receive(intake(external_id="m-2"))
    assert again.id == stored.id
    assert complaint_engine.store.count() == 1


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: intake(channel="pigeon"), UnknownChannelError, "unknown channel 'pigeon'"),
        (lambda: intake(preferred_channel="telex"), UnknownChannelError, "'telex'"),
        (lambda: intake(summary="  "), InvalidIntakeError, "summary must be non-empty"),
        (lambda: intake(severity="apocalyptic"), InvalidIntakeError, "unknown severity"),
        (lambda: intake(received_at=datetime(2026, 1, 1)), InvalidIntakeError, "timezone-aware"),
        (lambda: intake(informal=True), InvalidIntakeError, "recorded_by"),
        (lambda: Customer(id="", name="x"), InvalidIntakeError, "customer id"),
        (lambda: intake(data={"n": object()}), InvalidIntakeError, "not JSON-like"),
        (lambda: intake(customer="Ada"), InvalidIntakeError, "must be a Customer"),
        (lambda: Actor(id="a", name="A", role="agent", rank="2"), InvalidIntakeError, "whole"),
    ],
)
def test_malformed_intake_is_refused_and_nothing_is_stored(
    complaint_engine: Engine, build: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        complaint_engine.receive(build())
    assert complaint_engine.store.count() == 0


def test_receive_rejects_what_is_not_an_intake(complaint_engine: Engine) -> None:
    with pytest.raises(InvalidIntakeError, match="receive\\(\\) takes an Intake"):
        complaint_engine.receive({"channel": "email"})  # type: ignore[arg-type]


def test_informal_complaint_is_recorded_without_blame(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(
        intake(channel="in_person", informal=True, recorded_by=AGENT, severity=Severity.LOW)
    )
    assert complaint.informal
    assert complaint.recorded_by == AGENT
    assert complaint_engine.history(complaint.id)[0].actor == AGENT


# -- transitions -----------------------------------------------------------------


def test_triggers_depend_on_state_and_role(complaint_engine: Engine) -> None:
    complaint = walk_to(complaint_engine, complaint_engine.receive(intake()).id, "close")
    assert complaint_engine.triggers(complaint.id, AGENT) == []
    assert complaint_engine.triggers(complaint.id, MANAGER) == ["reopen"]


def test_fire_records_who_what_when_why(
    complaint_engine: Engine, complaint_clock: ManualClock
) -> None:
    complaint = complaint_engine.receive(intake())
    complaint_clock.advance(hours=2)
    thanked = complaint_engine.fire(complaint.id, "thank", actor=AGENT, reason="first reply")
    assert (thanked.state, thanked.version, thanked.updated_at) == ("thanked", 2, complaint_clock())
    event = complaint_engine.history(complaint.id)[-1]
    assert (event.kind, event.trigger, event.source, event.dest) == (
        "transition",
        "thank",
        "received",
        "thanked",
    )
    assert (event.actor, event.reason, event.at) == (AGENT, "first reply", complaint_clock())


def test_full_tactics_path_collects_data_and_closes(complaint_engine: Engine) -> None:
    complaint = walk_to(complaint_engine, complaint_engine.receive(intake()).id, "close")
    assert complaint.state == "closed"
    assert complaint.data["facts"] == "box crushed in transit"
    assert complaint.data["resolution"] == "replacement sent"
    kinds = [e.trigger or e.kind for e in complaint_engine.history(complaint.id)]
    assert kinds == [
        "received",
        "thank",
        "apologise",
        "collect_information",
        "take_action",
        "assigned",
        "put_it_right",
        "confirm_satisfied",
        "satisfaction_checked",  # the check step's answer (docs/satisfaction.md)
        "summarise",
        "close",
        "survey_sent",  # one survey after closing
    ]
    assert complaint.version == len(kinds)


def test_refusals_explain_and_change_nothing(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake())
    before = snapshot(complaint_engine, complaint.id)
    with pytest.raises(UnknownTriggerError, match="no trigger 'thnak'"):
        complaint_engine.fire(complaint.id, "thnak", actor=AGENT)
    with pytest.raises(TriggerNotAllowedError, match="from state 'received'"):
        complaint_engine.fire(complaint.id, "close", actor=AGENT)
    with pytest.raises(ComplaintNotFoundError):
        complaint_engine.fire("nope", "thank", actor=AGENT)
    with pytest.raises(InvalidArgumentError, match="must be an Actor"):
        complaint_engine.fire(complaint.id, "thank", actor="bo")  # type: ignore[arg-type]
    assert snapshot(complaint_engine, complaint.id) == before


def test_role_refusal(complaint_engine: Engine) -> None:
    complaint = walk_to(complaint_engine, complaint_engine.receive(intake()).id, "close")
    before = snapshot(complaint_engine, complaint.id)
    with pytest.raises(PermissionDeniedError) as refused:
        complaint_engine.fire(complaint.id, "reopen", actor=AGENT, data={"reopen_reason": "x"})
    assert "role 'agent'" in str(refused.value)
    assert "'manager'" in str(refused.value)
    assert snapshot(complaint_engine, complaint.id) == before
    reopened = complaint_engine.fire(
        complaint.id, "reopen", actor=MANAGER, data={"reopen_reason": "fault came back"}
    )
    assert reopened.state == "information_collected"


def test_required_fields_come_from_the_trigger_or_earlier_data(complaint_engine: Engine) -> None:
    complaint = walk_to(complaint_engine, complaint_engine.receive(intake()).id, "apologise")
    with pytest.raises(MissingFieldError, match="requires 'facts'"):
        complaint_engine.fire(complaint.id, "collect_information", actor=AGENT)
    with pytest.raises(MissingFieldError):
        complaint_engine.fire(
            complaint.id, "collect_information", actor=AGENT, data={"facts": " "[1:]}
        )
    assert complaint_engine.get(complaint.id).version == complaint.version
    recorded = complaint_engine.add_note(complaint.id, "called the courier", actor=AGENT)
    assert recorded.version == complaint.version + 1


def test_put_it_right_needs_an_owner_with_contact_details(complaint_engine: Engine) -> None:
    complaint = walk_to(complaint_engine, complaint_engine.receive(intake()).id, "take_action")
    with pytest.raises(GuardRefusedError, match="no owner"):
        complaint_engine.fire(complaint.id, "put_it_right", actor=AGENT)
    unreachable = Actor(id="A-9", name="Nobody", role="agent")
    complaint_engine.assign(complaint.id, unreachable, actor=AGENT)
    with pytest.raises(GuardRefusedError, match="no phone or email"):
        complaint_engine.fire(complaint.id, "put_it_right", actor=AGENT)
    complaint_engine.assign(complaint.id, MANAGER, actor=AGENT, reason="needs authority")
    assert complaint_engine.fire(complaint.id, "put_it_right", actor=AGENT).owner == MANAGER


def test_stale_expected_version_is_a_concurrency_error(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake())
    complaint_engine.fire(complaint.id, "thank", actor=AGENT)
    with pytest.raises(ConcurrencyError, match="no longer at version 1"):
        complaint_engine.fire(
            complaint.id,
            "withdraw",
            actor=AGENT,
            expected_version=1,
            data={"withdrawal_reason": "sorted"},
        )
    assert complaint_engine.get(complaint.id).state == "thanked"


def test_store_rejects_a_write_based_on_a_stale_read(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake())
    store = complaint_engine.store
    stale_read = store.get
    store_state = {"first": True}

    def stale_get(complaint_id: str) -> Complaint:
        # The first read returns the version before someone else's thank.
        if store_state.pop("first", False):
            return complaint
        return stale_read(complaint_id)

    complaint_engine.fire(complaint.id, "thank", actor=AGENT)
    store.get = stale_get  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyError):
        complaint_engine.fire(
            complaint.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "x"}
        )
    assert stale_read(complaint.id).state == "thanked"
    assert len(complaint_engine.history(complaint.id)) == 2


# -- outbox and reply channel ----------------------------------------------------------


def test_customer_is_told_on_the_channel_they_used(
    complaint_engine: Engine, complaint_notifications: CapturedNotifications
) -> None:
    by_letter = complaint_engine.receive(intake(channel="letter"))
    complaint_engine.fire(by_letter.id, "thank", actor=AGENT)
    [message] = complaint_engine.outbox(by_letter.id)
    assert (message.recipient, message.channel, message.address) == (
        "customer",
        "letter",
        "1 High St, Leeds",
    )
    assert message.status is OutboxStatus.PENDING
    report = complaint_engine.deliver()
    assert (report.delivered, report.failed) == (1, 0)
    assert complaint_notifications.topics == ["tactics.thank"]
    assert complaint_engine.outbox(by_letter.id)[0].status is OutboxStatus.DELIVERED
    assert complaint_engine.deliver().delivered == 0  # nothing delivered twice


def test_reply_channel_changes_only_with_recorded_consent(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake(channel="letter"))
    with pytest.raises(InvalidArgumentError, match="consent"):
        complaint_engine.change_reply_channel(complaint.id, "email", actor=AGENT, consent=" ")
    with pytest.raises(UnknownChannelError):
        complaint_engine.change_reply_channel(complaint.id, "telex", actor=AGENT, consent="ok")
    changed = complaint_engine.change_reply_channel(
        complaint.id, "email", actor=AGENT, consent="agreed by phone on 5 Jan"
    )
    assert changed.reply_channel == "email"
    event = complaint_engine.history(complaint.id)[-1]
    assert (event.kind, event.reason, dict(event.data)) == (
        "reply_channel_changed",
        "agreed by phone on 5 Jan",
        {"from": "letter", "to": "email"},
    )
    complaint_engine.fire(complaint.id, "thank", actor=AGENT)
    assert complaint_engine.outbox(complaint.id)[-1].address == "ada@example.org"


def test_owner_is_notified_on_assignment(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake())
    complaint_engine.assign(complaint.id, MANAGER, actor=AGENT)
    [message] = complaint_engine.outbox(complaint.id)
    assert (message.recipient, message.channel, message.address) == (
        "owner",
        "phone",
        "+44 20 7946 0000",
    )


class FlakyNotifier:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[str] = []

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("smtp down")
        self.delivered.append(message.key)


def test_failing_notifier_loses_neither_transition_nor_message(caplog: Any) -> None:
    notifier = FlakyNotifier(failures=2)
    clock = ManualClock()
    engine = Engine.open("memory://", plugins=[notifier], clock=clock, load_entry_points=False)
    complaint = engine.receive(intake())
    engine.fire(complaint.id, "thank", actor=AGENT)
    with caplog.at_level(logging.WARNING, logger="complaint_flow.outbox"):
        assert engine.deliver().failed == 1
        # The engine's dispatcher backs off: nothing is due again at once.
        assert engine.deliver() == DeliveryReport()
        clock.advance(hours=1)
        assert engine.deliver().failed == 1
    [pending] = engine.outbox(complaint.id)
    assert (pending.status, pending.attempts) == (OutboxStatus.PENDING, 2)
    assert pending.next_attempt_at is not None
    assert pending.next_attempt_at > clock()
    assert "smtp down" in (pending.last_error or "")
    clock.advance(hours=1)
    assert engine.deliver().delivered == 1
    assert notifier.delivered == [pending.key]
    assert engine.get(complaint.id).state == "thanked"


def test_a_message_is_dead_lettered_after_max_attempts() -> None:
    clock = ManualClock()
    engine = Engine.open(
        "memory://", plugins=[FlakyNotifier(failures=99)], clock=clock, load_entry_points=False
    )
    complaint = engine.receive(intake())
    engine.fire(complaint.id, "thank", actor=AGENT)
    reports = []
    for _ in range(6):
        reports.append(engine.deliver())
        clock.advance(hours=2)  # past the longest backoff (1 hour)
    assert [r.dead for r in reports] == [0, 0, 0, 0, 1, 0]
    assert engine.outbox(complaint.id)[0].status is OutboxStatus.DEAD


# -- observers, queries, opening -------------------------------------------------------


class Observer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def complaint_flow_received(self, complaint: Complaint, event: Event) -> None:
        self.seen.append(("received", complaint.reference))

    @hookimpl
    def complaint_flow_transition(self, complaint: Complaint, event: Event) -> None:
        self.seen.append((event.trigger or "", complaint.state))
        if event.trigger == "apologise":
            raise RuntimeError("dashboard offline")


def test_observers_see_committed_changes_and_cannot_undo_them(caplog: Any) -> None:
    observer = Observer()
    engine = Engine.open("memory://", plugins=[observer], load_entry_points=False)
    complaint = engine.receive(intake())
    engine.fire(complaint.id, "thank", actor=AGENT)
    with caplog.at_level(logging.ERROR, logger="complaint_flow.plugins.manager"):
        apologised = engine.fire(complaint.id, "apologise", actor=AGENT)
    assert apologised.state == "apologised" == engine.get(complaint.id).state
    assert observer.seen == [
        ("received", complaint.reference),
        ("thank", "thanked"),
        ("apologise", "apologised"),
    ]
    assert "dashboard offline" in caplog.text


def test_find_filters_and_orders(complaint_engine: Engine, complaint_clock: ManualClock) -> None:
    bob = Customer(id="C-2", name="Bob", phone="+44 7700 900002")
    made = []
    for index, (customer, category) in enumerate(
        [(ADA, "delivery"), (bob, "billing"), (ADA, "billing")]
    ):
        complaint_clock.advance(timedelta(minutes=index + 1))
        made.append(complaint_engine.receive(intake(customer=customer, category=category)))
    complaint_engine.fire(made[1].id, "thank", actor=AGENT)
    assert [c.id for c in complaint_engine.find()] == [c.id for c in made]
    assert [c.id for c in complaint_engine.find(customer_id="C-1")] == [made[0].id, made[2].id]
    assert [c.id for c in complaint_engine.find(category="billing", state="received")] == [
        made[2].id
    ]
    assert [c.id for c in complaint_engine.find(state="thanked")] == [made[1].id]
    assert len(complaint_engine.find(limit=2)) == 2
    with pytest.raises(InvalidArgumentError):
        complaint_engine.find(limit=-1)


def test_open_refuses_unknown_stores_and_workflows() -> None:
    with pytest.raises(UnknownStoreError, match=r"'memory', .*'sqlite'"):
        Engine.open("mongodb://localhost/x", load_entry_points=False)
    with pytest.raises(UnknownStoreError, match="no scheme"):
        Engine.open("complaints.db", load_entry_points=False)
    with pytest.raises(UnknownWorkflowError, match="'tactics'"):
        Engine.open("memory://", workflow="tactix", load_entry_points=False)
    with pytest.raises(InvalidArgumentError, match="reference_prefix"):
        Engine.open("memory://", reference_prefix="C F", load_entry_points=False)


def test_engine_runs_a_custom_workflow_with_a_custom_reference_prefix(
    complaint_clock: ManualClock,
) -> None:
    from complaint_flow import WorkflowDefinition

    simple = WorkflowDefinition.from_dict(
        {
            "name": "simple",
            "initial": "open",
            "roles": ["clerk"],
            "states": {"open": {}, "done": {"terminal": True}},
            "transitions": [
                {
                    "trigger": "resolve",
                    "source": "open",
                    "dest": "done",
                    "roles": ["clerk"],
                    "notify": ["customer"],
                }
            ],
        }
    )
    with Engine.open(
        "memory://",
        workflow=simple,
        clock=complaint_clock,
        reference_prefix="GOV",
        load_entry_points=False,
    ) as engine:
        complaint = engine.receive(intake())
        assert complaint.reference == "GOV-2026-000001"
        clerk = Actor(id="K", name="Kim", role="clerk")
        assert engine.fire(complaint.id, "resolve", actor=clerk).state == "done"
        assert engine.outbox(complaint.id)[0].topic == "simple.resolve"


def test_data_that_is_not_json_like_is_refused_clearly(complaint_engine: Engine) -> None:
    complaint = walk_to(complaint_engine, complaint_engine.receive(intake()).id, "apologise")
    before = snapshot(complaint_engine, complaint.id)
    for bad in ({"facts": datetime(2026, 1, 1)}, {1: "x"}, "facts"):
        with pytest.raises(InvalidArgumentError, match="JSON-like"):
            complaint_engine.fire(complaint.id, "collect_information", actor=AGENT, data=bad)  # type: ignore[arg-type]
    assert snapshot(complaint_engine, complaint.id) == before


def test_recording_methods_check_the_expected_version(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake())
    complaint_engine.add_note(complaint.id, "first", actor=AGENT, expected_version=1)
    for call in (
        lambda: complaint_engine.add_note(complaint.id, "late", actor=AGENT, expected_version=1),
        lambda: complaint_engine.assign(complaint.id, MANAGER, actor=AGENT, expected_version=1),
        lambda: complaint_engine.change_reply_channel(
            complaint.id, "phone", actor=AGENT, consent="ok", expected_version=1
        ),
    ):
        with pytest.raises(ConcurrencyError):
            call()
    assert complaint_engine.get(complaint.id).version == 2


def test_a_message_whose_complaint_vanished_is_dead_lettered_not_blocking(
    complaint_engine: Engine,
) -> None:
    first = complaint_engine.receive(intake())
    second = complaint_engine.receive(intake(summary="Second"))
    complaint_engine.fire(first.id, "thank", actor=AGENT)
    complaint_engine.fire(second.id, "thank", actor=AGENT)
    store = complaint_engine.store
    real_get = store.get

    def get_without_first(complaint_id: str) -> Complaint:
        if complaint_id == first.id:
            raise ComplaintNotFoundError(complaint_id)
        return real_get(complaint_id)

    store.get = get_without_first  # type: ignore[method-assign]
    report = complaint_engine.deliver()
    store.get = real_get  # type: ignore[method-assign]
    assert (report.delivered, report.dead) == (1, 1)
    assert complaint_engine.outbox(first.id)[0].status is OutboxStatus.DEAD
    assert complaint_engine.outbox(second.id)[0].status is OutboxStatus.DELIVERED


def test_retries_reread_and_recheck_after_a_concurrent_change(complaint_engine: Engine) -> None:
    complaint = complaint_engine.receive(intake())
    store = complaint_engine.store
    real_commit = store.commit
    interfered = {"done": False}

    def commit_after_someone_else(commit: Any) -> Complaint:
        # Another writer thanks the complaint just before our first write lands.
        if not interfered["done"]:
            interfered["done"] = True
            store.commit = real_commit  # type: ignore[method-assign]
            complaint_engine.add_note(complaint.id, "called the customer", actor=MANAGER)
            store.commit = commit_after_someone_else  # type: ignore[method-assign]
        return real_commit(commit)

    store.commit = commit_after_someone_else  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyError):
        complaint_engine.fire(complaint.id, "thank", actor=AGENT)
    interfered["done"] = False
    thanked = complaint_engine.fire(complaint.id, "thank", actor=AGENT, retries=2)
    store.commit = real_commit  # type: ignore[method-assign]
    assert thanked.state == "thanked"
    kinds = [e.trigger or e.kind for e in complaint_engine.history(complaint.id)]
    assert kinds == ["received", "note", "note", "thank"]


def test_a_retry_is_refused_when_the_new_version_no_longer_allows_the_step(
    complaint_engine: Engine,
) -> None:
    complaint = complaint_engine.receive(intake())
    store = complaint_engine.store
    real_commit = store.commit

    def someone_thanks_first(commit: Any) -> Complaint:
        store.commit = real_commit  # type: ignore[method-assign]
        complaint_engine.fire(complaint.id, "thank", actor=MANAGER)
        return real_commit(commit)

    store.commit = someone_thanks_first  # type: ignore[method-assign]
    # Our thank loses the race; on re-reading, "thank" is no longer allowed.
    with pytest.raises(TriggerNotAllowedError):
        complaint_engine.fire(complaint.id, "thank", actor=AGENT, retries=3)
    assert [e.actor.id for e in complaint_engine.history(complaint.id)][-1] == MANAGER.id
    with pytest.raises(InvalidArgumentError, match="not both"):
        complaint_engine.fire(complaint.id, "apologise", actor=AGENT, retries=1, expected_version=2)


# -- firing on the store's cached version ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


def test_fire_on_a_stale_cached_version_decides_on_the_latest(shared_store_url: str) -> None:
    """Two workers on one database: each store caches what it wrote, never wrongly."""
    with (
        Engine.open(shared_store_url, load_entry_points=False) as first,
        Engine.open(shared_store_url, load_entry_points=False) as second,
    ):
        complaint = first.receive(intake())
        first.fire(complaint.id, "thank", actor=AGENT)
        cached = first.store.get_cached(complaint.id)  # type: ignore[attr-defined]
        assert cached is not None
        assert cached.state == "thanked"
        # The other worker moves it on; the first one's cache is now stale.
        second.fire(complaint.id, "apologise", actor=AGENT)
        # Allowed only from the latest state: decided again on a fresh read, accepted.
        moved = first.fire(complaint.id, "collect_information", actor=AGENT, data={"facts": "x"})
        assert (moved.state, moved.version) == ("information_collected", 4)
        # Allowed from the stale state only: refused, on the latest state, writing nothing.
        second.fire(complaint.id, "take_action", actor=AGENT, data={"action": "refund"})
        with pytest.raises(TriggerNotAllowedError):
            first.fire(complaint.id, "take_action", actor=AGENT, data={"action": "again"})
        history = second.history(complaint.id)
        assert [e.trigger for e in history][-2:] == ["collect_information", "take_action"]
        assert len(history) == second.get(complaint.id).version == 5
        assert second.verify_audit().ok


@pytest.mark.parametrize("url", ["memory://", "sqlite"])
def test_text_that_cannot_be_stored_is_refused_and_nothing_is_written(
    url: str, tmp_path: Any
) -> None:
    """A lone surrogate (a message decoded with the wrong codec) is bad input, not a crash."""
    store_url = url if url == "memory://" else f"sqlite:///{tmp_path / 's.db'}"
    with Engine.open(store_url, load_entry_points=False) as engine:
        with pytest.raises(InvalidIntakeError, match="lone surrogate"):
            engine.receive(intake(summary="Broken \ud800 parcel"))
        assert engine.find() == []
        complaint = engine.receive(intake())
        before = snapshot(engine, complaint.id)
        with pytest.raises(InvalidArgumentError, match="lone surrogate"):
            engine.fire(complaint.id, "thank", actor=AGENT, reason="called \udc00")
        with pytest.raises(InvalidArgumentError, match="lone surrogate"):
            engine.add_note(complaint.id, "note \udc00", actor=AGENT)
        assert snapshot(engine, complaint.id) == before
