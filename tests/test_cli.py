"""The ``complaint-flow`` command and the demo scenario behind ``complaint-flow demo``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import attrs
import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

import complaint_flow
from complaint_flow import (
    Actor,
    AuditProblem,
    Complaint,
    ComplaintFlowError,
    Customer,
    Engine,
    Event,
    Intake,
    InvalidArgumentError,
    ManualClock,
    MissingFieldError,
    OutboxStatus,
    OutcomeKind,
    PermissionDeniedError,
    Severity,
)
from complaint_flow.cli import cli, deadlines, demo_command, parse_data
from complaint_flow.cli import outbox as outbox_commands
from complaint_flow.cli.demo import DEMO_START, DemoResult, message_text, run_demo
from complaint_flow.cli.refusals import in_cli_words
from complaint_flow.cli.render.deadlines import clocks_table
from complaint_flow.cli.render.demo import render_demo
from complaint_flow.cli.render.formats import span, working_span
from complaint_flow.cli.shared import STORE_ENV
from complaint_flow.definitions.packs import load_pack
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.fsm.diagram import to_mermaid
from complaint_flow.model.conduct import conduct_record_id
from complaint_flow.model.entities import ClockState, ClockStatus, OutboxMessage
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.plugins.channels import BUILTIN_CHANNELS
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from test_deadlines import WORKFLOW as TIMED_WORKFLOW

AGENT = Actor(id="A-1", name="Bo Agent", role="agent", email="bo@example.org")
WIDE = {"COLUMNS": "400"}  # wide enough that no cell or message is wrapped


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={**WIDE, **(env or {})})


def flat(text: str) -> str:
    """Output with table borders and line breaks reduced to single spaces."""
    return re.sub(r"[\s│┃║|]+", " ", text)


def tables(output: str) -> list[list[dict[str, str]]]:
    """The rich tables in ``output``: rows as {header: cell}, multi-line cells joined.

    A body line whose first cell is blank continues the row above (tests run wide,
    so only explicit line breaks in a cell make such lines).
    """
    found: list[list[dict[str, str]]] = []
    headers: list[list[str]] = []
    rows: list[list[list[str]]] = []

    def cells(line: str, bar: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip(bar).split(bar)]

    for line in output.splitlines():
        stripped = line.strip()
        if stripped.startswith("┃"):
            parts = cells(stripped, "┃")
            headers = headers or [[] for _ in parts]
            for column, part in zip(headers, parts, strict=True):
                column.append(part)
        elif stripped.startswith("│") and headers:
            parts = cells(stripped, "│")
            if parts[0] or not rows:
                rows.append([[] for _ in parts])
            for column, part in zip(rows[-1], parts, strict=True):
                column.append(part)
        elif stripped.startswith("└") and headers:
            names = [" ".join(filter(None, h)) for h in headers]
            found.append(
                [
                    {
                        name: " ".join(filter(None, cell))
                        for name, cell in zip(names, row, strict=True)
                    }
                    for row in rows
                ]
            )
            headers, rows = [], []
    return found


# -- the demo scenario (structured result) ------------------------------------


@pytest.fixture(scope="module")
def demo_result() -> DemoResult:
    return run_demo("memory://", run_id="t1", load_entry_points=False)


def story(result: DemoResult, channel: str) -> Any:
    (found,) = [s for s in result.complaints if s.complaint.channel == channel]
    return found


def test_demo_takes_one_complaint_per_channel_through_tactics(demo_result: DemoResult) -> None:
    assert demo_result.counts_by_channel == {
        "email": 1,
        "letter": 1,
        "phone": 1,
        "social_media": 1,
        "web_form": 1,
    }
    assert demo_result.counts_by_state == {"action_taken": 1, "closed": 3, "withdrawn": 1}
    happy = [e.trigger for e in story(demo_result, "email").history if e.trigger]
    assert happy == [
        "thank",
        "apologise",
        "collect_information",
        "take_action",
        "put_it_right",
        "confirm_satisfied",
        "summarise",
        "close",
    ]
    assert story(demo_result, "email").complaint.owner is not None
    assert story(demo_result, "email").complaint.owner.has_contact
    summary = story(demo_result, "email").complaint.data
    assert summary["resolution"]
    assert summary["timeline"]


def test_demo_unhappy_customer_goes_back_to_take_action(demo_result: DemoResult) -> None:
    events = story(demo_result, "web_form").history
    triggers = [e.trigger for e in events if e.trigger]
    unhappy = triggers.index("report_unsatisfied")
    assert triggers[unhappy + 1] == "take_action"
    assert triggers[-1] == "close"
    assert story(demo_result, "web_form").complaint.reply_channel == "email"


def test_demo_escalates_to_a_manager_who_decides(demo_result: DemoResult) -> None:
    chloe = story(demo_result, "phone")
    escalation = next(e for e in chloe.history if e.trigger == "escalate")
    assert escalation.dest == "escalated"
    after = [e for e in chloe.history if e.seq > escalation.seq and e.trigger]
    assert after
    assert all(e.actor.role == "manager" for e in after)
    assert chloe.complaint.owner is not None
    assert chloe.complaint.owner.rank > escalation.actor.rank
    assert chloe.complaint.state == "closed"
    assert story(demo_result, "letter").complaint.state == "withdrawn"


def test_demo_triple_delivery_makes_one_complaint(demo_result: DemoResult) -> None:
    duplicate = demo_result.duplicate
    assert duplicate.deliveries == 3
    assert duplicate.complaints == 1
    email = story(demo_result, "email")
    assert email.complaint.id == duplicate.complaint_ids[0]
    assert email.complaint.external_id == duplicate.external_id
    assert "t1" in duplicate.external_id
    assert [e.kind for e in email.history].count("received") == 1


def test_demo_role_refusal_stores_nothing(demo_result: DemoResult) -> None:
    refusal = demo_result.refusal
    assert refusal.actor.role == "agent"
    assert refusal.trigger == "reopen"
    assert refusal.error == PermissionDeniedError.__name__
    assert "may not fire 'reopen'" in refusal.message
    assert refusal.nothing_stored
    email = story(demo_result, "email")
    assert refusal.reference == email.complaint.reference
    assert email.complaint.version == refusal.version_after == len(email.history)
    assert all(e.trigger != "reopen" for e in email.history)


def test_demo_timeline_moves_forward_over_days(demo_result: DemoResult) -> None:
    for s in demo_result.complaints:
        times = [e.at for e in s.history]
        assert times == sorted(times)
        assert times[0] >= DEMO_START
    everything = [e.at for s in demo_result.complaints for e in s.history]
    assert (max(everything) - min(everything)).days >= 5
    assert demo_result.finished_at >= max(everything)


def test_demo_notifications_reach_the_right_person_on_the_right_channel(
    demo_result: DemoResult,
) -> None:
    by_reference = {s.complaint.reference: s.complaint for s in demo_result.complaints}
    customers = {
        conduct_record_id(c.customer.id): c.customer
        for c in (*by_reference.values(), demo_result.stop.record)
    }
    assert demo_result.notifications
    assert demo_result.delivery.delivered == len(demo_result.notifications)
    assert demo_result.delivery.failed == 0
    conduct_notices = [n for n in demo_result.notifications if n.reference in customers]
    assert conduct_notices
    for n in conduct_notices:
        # Stop-procedure letters and acknowledgements go in writing, to the customer.
        assert n.recipient == "customer"
        assert (n.channel, n.address) == ("email", customers[n.reference].email)
        assert n.name == customers[n.reference].name
        assert n.text
    for n in demo_result.notifications:
        if n in conduct_notices:
            continue
        complaint = by_reference[n.reference]
        if n.recipient == "customer":
            assert n.channel == complaint.reply_channel
            assert n.address == complaint.customer.address_for(complaint.reply_channel)
            assert n.name == complaint.customer.name
        else:
            assert n.recipient == "owner"
            assert n.address
            assert n.channel in ("email", "phone")
        assert n.delivered_at >= n.created_at
        assert n.text
    customers_thanked = {
        n.reference for n in demo_result.notifications if n.topic.endswith("thank")
    }
    assert customers_thanked == set(by_reference)


def test_demo_letters_of_the_stop_procedure_read_as_letters(demo_result: DemoResult) -> None:
    frank = conduct_record_id(demo_result.stop.customer.id)
    texts = {n.topic: n.text for n in demo_result.notifications if n.reference == frank}
    assert texts == {
        "conduct.warning": "Letter: A warning about how you contact us.",
        "conduct.restriction": "Letter: Restrictions on how you contact us.",
        "conduct.contact_filed": (
            "Your message was kept and will be read; please contact us in writing."
        ),
        "conduct.appeal_received": "Letter: We have received your appeal.",
        "conduct.appeal_outcome": "Letter: The outcome of your appeal.",
    }
    assert not [n.text for n in demo_result.notifications if "?" in n.text]


def _message(topic: str, payload: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage.pending(
        "k", "conduct:C-1", 1, topic, "customer", "email", "c@example.org", DEMO_START,
        freeze_mapping(payload),
    )  # fmt: skip


def test_a_notification_without_subject_or_state_is_still_worded() -> None:
    letter = {"text": "Dear Cy,\n\nThe restrictions have ended.\n\nYours sincerely,"}
    assert message_text(_message("conduct.lift", letter)) == "The restrictions have ended."
    assert message_text(_message("conduct.lapse", {"text": "Ended."})) == "Ended."
    assert message_text(_message("shop.chased", {})) == "About shop.chased."
    assert message_text(_message("shop.chased", {"state": "open"})) == "Now open (shop.chased)."


def test_demo_stop_procedure_warns_restricts_files_and_hears_an_appeal(
    demo_result: DemoResult,
) -> None:
    stop = demo_result.stop
    kinds = [e.kind for e in stop.history]
    assert kinds == [
        "warned",
        "restricted",
        "contact_filed",
        "review_item_resolved",
        "appealed",
        "appeal_decided",
    ]
    assert [e.at for e in stop.history] == sorted(e.at for e in stop.history)
    warned, restricted = stop.event("warned"), stop.event("restricted")
    assert warned.actor.role == "supervisor"
    assert restricted.actor.role == "manager"
    assert [r["kind"] for r in restricted.data["restrictions"]] == ["written_only"]
    review_at = datetime.fromisoformat(restricted.data["review_at"])
    assert review_at > demo_result.finished_at
    assert stop.record.review_at == review_at
    assert len(stop.restrictions) == 1
    assert "in writing only" in stop.restrictions[0]
    # The phone call is kept on the review queue and answered in writing.
    call = stop.call
    assert call.kind is OutcomeKind.FILED
    assert call.complaint is None
    assert call.acknowledged
    assert call.item is not None
    assert call.item.channel == "phone"
    assert any("writing only" in reason for reason in call.reasons)
    filed = stop.event("contact_filed")
    assert filed.data["item_id"] == call.item.id
    ack = stop.acknowledgement
    assert ack is not None
    assert ack.status is OutboxStatus.DELIVERED
    assert (ack.channel, ack.address) == ("email", stop.customer.email)
    assert ack.event_seq == filed.seq
    read = stop.event("review_item_resolved")
    assert read.data["item_id"] == call.item.id
    assert stop.record.review_queue == ()
    # The appeal is decided by someone who took no part in the decision appealed.
    decided = stop.event("appeal_decided")
    assert decided.actor.role == "director"
    assert decided.actor.id not in {warned.actor.id, restricted.actor.id}
    assert stop.restriction_stands is True
    assert stop.record.status.value == "reviewed"
    assert stop.record.restricted
    # No complaint was opened for the restricted customer.
    assert stop.customer.id not in {c.complaint.customer.id for c in demo_result.complaints}


def test_demo_re_raised_decided_complaint_becomes_a_linked_contact(
    demo_result: DemoResult,
) -> None:
    linked = demo_result.linked
    decided = linked.decided
    assert decided.id in {c.complaint.id for c in demo_result.complaints}
    assert decided.data["final_decision"]["response"] == linked.decision.reason
    assert linked.outcome.kind is OutcomeKind.LINKED
    assert linked.outcome.complaint is not None
    assert linked.outcome.complaint.id == decided.id
    assert decided.reference in linked.intake.details
    history = next(c.history for c in demo_result.complaints if c.complaint.id == decided.id)
    assert [e.kind for e in history][-2:] == ["final_decision", "contact_linked"]
    # Still five complaints: the message did not open a new one.
    assert demo_result.stored_after - demo_result.stored_before == len(demo_result.complaints)
    ack = linked.acknowledgement
    assert ack is not None
    assert (ack.channel, ack.address) == ("email", decided.customer.email)
    assert decided.reference in ack.payload["explanation"]
    assert linked.outcome.item is not None
    assert linked.reading.data["item_id"] == linked.outcome.item.id
    assert linked.reading.data["outcome"] == "no_new_information"


def test_demo_verifies_the_audit_trail_of_the_whole_store(demo_result: DemoResult) -> None:
    audit = demo_result.audit
    assert audit.ok
    assert audit.complaints == len(demo_result.complaints)
    # Frank's record and the record that keeps Ben's linked contact.
    assert audit.conduct_records == 2
    complaint_events = sum(len(c.history) for c in demo_result.complaints)
    ben_record_events = 2  # the linked contact filed, then read
    assert audit.events == complaint_events + len(demo_result.stop.history) + ben_record_events


@pytest.mark.parametrize(
    "start",
    [datetime(2026, 3, 2, 9, 30, tzinfo=UTC), datetime(2026, 3, 2, 8, 0)],
    ids=["after-nine", "naive"],
)
def test_demo_refuses_a_start_it_cannot_keep_to(start: datetime) -> None:
    with pytest.raises(InvalidArgumentError, match="must start at 09:00 or earlier"):
        run_demo("memory://", start=start, load_entry_points=False)


def test_demo_starts_when_told(demo_result: DemoResult) -> None:
    start = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    later = run_demo("memory://", start=start, load_entry_points=False)
    first = later.complaints[0].history[0].at
    assert first == start.replace(hour=9)
    assert first - demo_result.complaints[0].history[0].at == start.replace(hour=9) - DEMO_START


# -- complaint-flow demo (rendered, on the SQLite default) ---------------------


@pytest.fixture
def captured_demo(monkeypatch: pytest.MonkeyPatch) -> list[DemoResult]:
    """Keeps the structured result of each ``demo`` the CLI runs."""
    results: list[DemoResult] = []

    def keep(*args: Any, **kwargs: Any) -> DemoResult:
        result = run_demo(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(demo_command, "run_demo", keep)
    return results


def test_demo_command_on_the_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_demo: list[DemoResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    (demo,) = captured_demo
    assert demo.store_url == "sqlite:///complaints.db"
    assert (tmp_path / "complaints.db").exists()
    out = flat(result.output)
    assert demo.refusal.message in out
    duplicate = demo.duplicate
    assert (
        f"{duplicate.external_id} was delivered 3 times → 1 complaint: {duplicate.reference}" in out
    )
    for s in demo.complaints:
        assert s.complaint.reference in out
        for event in s.history:
            if event.reason:
                assert event.reason in out
    for n in demo.notifications:
        assert n.address is None or n.address in out
    assert f"Notifications delivered: {demo.delivery.delivered}" in out
    stop = demo.stop
    assert "Stop procedure" in out
    assert f"Frank Moss ({stop.customer.id})" in out
    for event in stop.history:
        if event.kind != "contact_filed":
            assert event.reason in out
    assert stop.restrictions[0] in out
    assert "phoned ('Where is my parcel?') → filed in the review queue, not dropped" in out
    assert f"acknowledged in writing by email to {stop.customer.email}" in out
    assert "Helen Brooks (director), who took no part in the restriction: dismissed" in out
    linked = demo.linked
    assert f"→ linked to {linked.decided.reference}, no new complaint opened" in out
    assert f"acknowledged in writing by email to {linked.decided.customer.email}" in out
    audit_line = (
        f"Audit check of the whole store: {demo.audit.complaints} complaints, "
        f"{demo.audit.conduct_records} conduct records, {demo.audit.events} events: "
        "audit trail intact"
    )
    assert audit_line in out
    assert f"complaint-flow conduct show {stop.customer.id}" in out

    with Engine.open("sqlite:///complaints.db", load_entry_points=False) as engine:
        stored = engine.find()
        assert {c.id for c in stored} == {s.complaint.id for s in demo.complaints}
        found = engine.store.find_by_external_id("email", duplicate.external_id)
        assert found is not None
        assert found.id == duplicate.complaint_ids[0]
        for s in demo.complaints:
            assert engine.history(s.complaint.id) == list(s.history)
            statuses = {m.status for m in engine.outbox(s.complaint.id)}
            assert statuses <= {OutboxStatus.DELIVERED}
        assert engine.conduct.history(stop.customer.id) == list(stop.history)
        assert engine.conduct.record(stop.customer.id).status.value == "reviewed"
        assert {m.status for m in engine.outbox(stop.record.id)} == {OutboxStatus.DELIVERED}
        assert engine.review_queue() == []
        assert engine.verify_audit() == demo.audit


def test_demo_runs_twice_on_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_demo: list[DemoResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    first = invoke("demo")
    second = invoke("demo")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    one, two = captured_demo
    assert one.run_id != two.run_id
    assert (one.stored_before, one.stored_after) == (0, 5)
    assert (two.stored_before, two.stored_after) == (5, 10)
    assert "5 complaints were there before this run" in flat(second.output)
    assert two.duplicate.complaints == 1
    references = {s.complaint.reference for s in (*one.complaints, *two.complaints)}
    assert len(references) == 10
    # Each run restricts a customer of its own, from a fresh conduct record.
    assert one.stop.customer.id != two.stop.customer.id
    assert [e.seq for e in two.stop.history] == [1, 2, 3, 4, 5, 6]
    assert two.stop.call.kind is OutcomeKind.FILED
    assert two.linked.outcome.kind is OutcomeKind.LINKED
    assert two.linked.decided.reference != one.linked.decided.reference
    # Each run's email answer threads onto that run's complaint, through its own server.
    for run in (one, two):
        (email_story,) = [s for s in run.complaints if s.complaint.channel == "email"]
        assert run.email.reply_outcome.complaint is not None
        assert run.email.reply_outcome.complaint.id == email_story.complaint.id
        assert run.email.replied in email_story.history
    assert one.email.acknowledgement.message_id != two.email.acknowledgement.message_id
    # The second check covers both runs: the first run's trails are still intact.
    assert (one.audit.complaints, one.audit.conduct_records) == (5, 2)
    assert (two.audit.complaints, two.audit.conduct_records) == (10, 3)
    assert two.audit.ok
    added = sum(len(c.history) for c in two.complaints) + len(two.stop.history)
    assert two.audit.events == one.audit.events + added + 2  # + Ben's second linked contact
    assert "10 complaints, 3 conduct records" in flat(second.output)


def test_demo_render_reports_a_broken_audit_trail(demo_result: DemoResult) -> None:
    broken = attrs.evolve(
        demo_result,
        audit=attrs.evolve(
            demo_result.audit,
            problems=(AuditProblem("CF-2026-000001", 2, "hash does not match"),),
        ),
    )
    console = Console(width=200, record=True, highlight=False)
    render_demo(console, broken)
    out = flat(console.export_text())
    assert "1 problem(s) in 1 trail(s); see complaint-flow audit verify" in out
    assert "audit trail intact" not in out


def test_demo_command_with_a_store_option(captured_demo: list[DemoResult]) -> None:
    result = invoke("demo", "--store", "memory://")
    assert result.exit_code == 0, result.output
    assert captured_demo[0].store_url == "memory://"
    assert "memory:// keeps nothing" in flat(result.output)


# -- show, history, triggers, fire, list on a store made by the test ------------


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store with two complaints: one received, one withdrawn."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = ManualClock(DEMO_START)
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        engine.receive(
            Intake(
                channel="email",
                customer=Customer(id="C-1", name="Ada Lovelace", email="ada@example.org"),
                summary="Parcel arrived broken",
                category="delivery",
                external_id="<m-1@example.org>",
            )
        )
        clock.advance(hours=1)
        other = engine.receive(
            Intake(
                channel="letter",
                customer=Customer(id="C-2", name="Ben Carter", postal_address="1 High St"),
                summary="Rude staff",
                category="staff",
            )
        )
        clock.advance(minutes=5)
        engine.assign(other.id, AGENT, actor=AGENT)
        engine.fire(other.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "sorted"})
    return url


def open_engine(url: str) -> Engine:
    return Engine.open(url, load_entry_points=False)


def complaint_ref(url: str, customer: str) -> str:
    with open_engine(url) as engine:
        (found,) = engine.find(customer_id=customer)
        return found.reference


def test_show_prints_the_complaint(store: str) -> None:
    with open_engine(store) as engine:
        (withdrawn,) = engine.find(customer_id="C-2")
    for key in (withdrawn.reference, withdrawn.id):
        result = invoke("show", key, "--store", store)
        assert result.exit_code == 0, result.output
        out = flat(result.output)
        assert withdrawn.reference in out
        assert withdrawn.id in out
        assert f"State {withdrawn.state}" in out
        assert f"Version {withdrawn.version}" in out
        assert "Ben Carter (C-2)" in out
        assert "Reply channel letter" in out
        assert "Bo Agent (agent, rank 1) · bo@example.org" in out
        assert "withdrawal_reason: sorted" in out


def test_history_prints_the_audit_trail(store: str) -> None:
    ref = complaint_ref(store, "C-2")
    result = invoke("history", ref, "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    with open_engine(store) as engine:
        trail = engine.history(ref)
    assert [row["#"] for row in rows] == [str(e.seq) for e in trail]
    assert rows[0]["What"] == "received on letter"
    assert rows[0]["State"] == "→ received"
    assert rows[1]["What"] == "assigned to Bo Agent"
    assert rows[2]["What"] == "withdraw withdrawal_reason: sorted"
    assert rows[2]["State"] == "received → withdrawn"
    assert rows[2]["Actor"] == "Bo Agent agent"
    assert rows[2]["When (UTC)"] == f"{trail[2].at:%a %Y-%m-%d %H:%M}"


def test_narrow_consoles_get_compact_tables(store: str) -> None:
    ref = complaint_ref(store, "C-2")
    narrow = {"COLUMNS": "80"}
    (rows,) = tables(invoke("history", ref, "--store", store, env=narrow).output)
    assert list(rows[0]) == ["#", "When (UTC)", "What"]
    assert rows[2]["What"] == "withdraw received → withdrawn withdrawal_reason: sorted"
    assert rows[2]["When (UTC)"].endswith("Bo Agent agent")
    (listed,) = tables(invoke("list", "--store", store, env=narrow).output)
    assert list(listed[0]) == ["Reference", "State", "Channel", "Customer", "Summary"]
    assert [row["Reference"] for row in listed] == [
        complaint_ref(store, "C-1"),
        complaint_ref(store, "C-2"),
    ]


def test_store_comes_from_the_environment(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke("show", ref, env={STORE_ENV: store})
    assert result.exit_code == 0, result.output
    assert ref in result.output


def test_triggers_lists_what_a_role_may_do(store: str) -> None:
    received = complaint_ref(store, "C-1")
    result = invoke("triggers", received, "--role", "agent", "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    tactics = load_pack("tactics")
    with open_engine(store) as engine:
        allowed = engine.triggers(received, Actor(id="x", name="x", role="agent"))
    assert allowed
    assert [row["Trigger"] for row in rows] == allowed
    for row in rows:
        (t,) = [t for t in tactics.transitions if t.trigger == row["Trigger"]]
        assert row["Move"] == f"→ {t.dest}"
        assert row["Needs"] == " ".join([*t.requires, *(f"{g} (guard)" for g in t.guards)])

    withdrawn = complaint_ref(store, "C-2")
    as_agent = invoke("triggers", withdrawn, "--role", "agent", "--store", store)
    assert as_agent.exit_code == 0, as_agent.output
    assert tables(as_agent.output) == []
    assert f"{withdrawn} is withdrawn: nothing role 'agent' may do." in as_agent.output
    assert "reopen: only supervisor, manager" in as_agent.output
    as_manager = invoke("triggers", withdrawn, "--role", "manager", "--store", store)
    assert as_manager.exit_code == 0, as_manager.output
    assert [row["Trigger"] for row in tables(as_manager.output)[0]] == ["reopen"]


def test_fire_moves_the_complaint_and_records_who_and_why(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke(
        "fire",
        ref,
        "thank",
        "--actor-id",
        "A-9",
        "--actor-name",
        "Cy Clerk",
        "--role",
        "agent",
        "--reason",
        "called back",
        "--data",
        "note=a=b",
        "--store",
        store,
    )
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert f"{ref}: thank by Cy Clerk (agent): received → thanked (version 2)" in out
    assert "queued: tell the customer on email (ada@example.org)" in out
    with open_engine(store) as engine:
        complaint = engine.get(ref)
        last = engine.history(ref)[-1]
    assert (complaint.state, complaint.version) == ("thanked", 2)
    assert (last.actor.id, last.actor.name, last.reason) == ("A-9", "Cy Clerk", "called back")
    assert dict(last.data) == {"note": "a=b"}


def actor_args(role: str) -> list[str]:
    return ["--actor-id", "X-1", "--actor-name", "Xi", "--role", role]


@pytest.mark.parametrize(
    ("customer", "trigger", "role", "data"),
    [
        pytest.param("C-2", "reopen", "agent", {"reopen_reason": "back"}, id="role"),
        pytest.param("C-1", "close", "agent", {}, id="not-from-this-state"),
        pytest.param("C-1", "fly_away", "agent", {}, id="unknown-trigger"),
        pytest.param("C-1", "thank", "intern", {}, id="unknown-role"),
    ],
)
def test_fire_refused_prints_the_message_exits_1_and_stores_nothing(
    store: str, customer: str, trigger: str, role: str, data: dict[str, str]
) -> None:
    ref = complaint_ref(store, customer)
    with open_engine(store) as engine:
        before, trail = engine.get(ref), engine.history(ref)
    items = [arg for key, value in data.items() for arg in ("--data", f"{key}={value}")]
    result = invoke("fire", ref, trigger, *actor_args(role), *items, "--store", store)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    with open_engine(store) as engine:
        with pytest.raises(ComplaintFlowError) as refused:
            engine.fire(ref, trigger, actor=Actor(id="X-1", name="Xi", role=role), data=data)
        assert engine.get(ref).version == before.version
        assert engine.history(ref) == trail
    assert f"Error: {refused.value}" in result.output


def test_fire_with_a_stale_expected_version_is_refused(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke(
        "fire", ref, "thank", *actor_args("agent"), "--expected-version", "7", "--store", store
    )
    assert result.exit_code == 1
    assert "no longer at version 7" in result.output
    with open_engine(store) as engine:
        assert engine.get(ref).version == 1


PYTHON_WORDS = re.compile(
    r"engine\.|\w\(\)|=\{|=\.\.\.|\bActor\b|WorkflowDefinition|_hook\b|register_\w+ hook"
    r"|\b[a-z]+_[a-z_]+ must be|\bpass \w+="
)
"""What a message written for Python callers says, and a command-line user cannot act on."""


CLI_REFUSALS = [
    pytest.param(
        ["show", "CF-2026-999999"],
        1,
        "shows the stored complaints",
        id="unknown-complaint",
    ),
    pytest.param(
        ["audit", "verify", "--complaint", "CF-2026-999999"],
        1,
        "shows the stored complaints",
        id="audit-unknown-complaint",
    ),
    pytest.param(
        ["fire", "REF", "withdraw", *actor_args("agent")],
        1,
        "requires 'withdrawal_reason'; give it with --data KEY=VALUE "
        "(e.g. --data withdrawal_reason='…')",
        id="missing-data",
    ),
    pytest.param(
        ["fire", "REF", "thank", *actor_args("agent"), "--expected-version", "7"],
        1,
        "is no longer at version 7 (--expected-version): it is at version 1",
        id="stale-version",
    ),
    pytest.param(
        ["fire", "REF", "thank", "--actor-id", " ", "--actor-name", "Xi", "--role", "agent"],
        2,
        "Invalid value for '--actor-id': must not be blank",
        id="blank-actor",
    ),
    pytest.param(
        ["triggers", "REF", "--role", ""],
        2,
        "Invalid value for '--role': must not be blank",
        id="blank-role",
    ),
    pytest.param(
        ["clocks", "REF", "--workflow-file", "no-such-file.toml"],
        2,
        "Invalid value for '--workflow-file': File 'no-such-file.toml' does not exist",
        id="missing-workflow-file",
    ),
    pytest.param(
        ["sweep", "--workflow", "tacticz"],
        1,
        "no workflow named 'tacticz' is registered here; known workflows: 'cfpb'",
        id="unknown-workflow",
    ),
    pytest.param(
        ["workflow", "show", "tacticz"],
        1,
        "Give one of them, or the path of a workflow's .toml file",
        id="show-unknown-workflow",
    ),
    pytest.param(
        [
            *("conduct", "resolve", "C-9", "I-1", "--outcome", "no_new_information"),
            *("--note", "x", "--actor-id", "A-1", "--role", "agent"),
        ],
        1,
        "`complaint-flow conduct queue` lists the items waiting",
        id="resolve-without-record",
    ),
    pytest.param(
        [
            *("conduct", "resolve", "C-1", "I-1", "--outcome", "no_new_information"),
            *("--note", " ", "--actor-id", "A-1", "--role", "agent"),
        ],
        2,
        "Invalid value for '--note': must not be blank",
        id="resolve-blank-note",
    ),
    pytest.param(
        ["conduct", "patterns", "--escalation-requests", "0"],
        2,
        "Invalid value for '--escalation-requests'",
        id="patterns-threshold",
    ),
    pytest.param(
        [
            *("privacy", "erase", " ", "--actor-id", "D-1", "--actor-name", "Dee"),
            *("--role", "dpo", "--reason", "R-1"),
        ],
        2,
        "Invalid value for 'CUSTOMER_ID': must not be blank",
        id="erase-blank-customer",
    ),
    pytest.param(
        ["retention", "purge", "--older-than", "3 yrs"],
        2,
        "Invalid value for '--older-than': cannot read the retention age '3 yrs'",
        id="purge-age",
    ),
]


@pytest.mark.parametrize(("args", "status", "expected"), CLI_REFUSALS)
def test_refusals_speak_of_the_command_line_not_of_python(
    store: str, args: list[str], status: int, expected: str
) -> None:
    ref = complaint_ref(store, "C-1")
    with open_engine(store) as engine:
        before, trail = engine.get(ref), engine.history(ref)
    store_options = [] if args[0] == "workflow" else ["--store", store]
    result = invoke(*[ref if arg == "REF" else arg for arg in args], *store_options)
    assert result.exit_code == status, result.output
    out = flat(result.output)
    assert expected in out
    assert not PYTHON_WORDS.search(out), out
    assert "Traceback" not in out
    with open_engine(store) as engine:
        assert engine.get(ref).version == before.version
        assert engine.history(ref) == trail


@given(
    st.lists(st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True), min_size=1, unique=True),
    st.sampled_from(["withdraw", "close"]),
)
def test_missing_data_is_asked_for_with_the_data_option(missing: list[str], trigger: str) -> None:
    message = in_cli_words(MissingFieldError(trigger, missing), options={"--data"})
    assert all(repr(name) in message for name in missing)
    assert f"--data {sorted(missing)[0]}=" in message
    assert not PYTHON_WORDS.search(message), message


def test_a_store_that_cannot_be_opened_points_to_the_store_option(store: str) -> None:
    result = invoke("history", "CF-2026-000001", "--store", "nosuch://here")
    assert result.exit_code == 1
    assert "Check the store URL (--store or $COMPLAINT_FLOW_STORE)." in flat(result.output)


def test_a_step_needing_an_owner_says_the_command_line_cannot_assign_one(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    with open_engine(store) as engine:
        for trigger, data in (
            ("thank", {}),
            ("apologise", {}),
            ("collect_information", {"facts": "Crushed"}),
            ("take_action", {"action": "Refund"}),
        ):
            engine.fire(ref, trigger, actor=AGENT, data=data)
        before = engine.get(ref)
    result = invoke("fire", ref, "put_it_right", *actor_args("agent"), "--store", store)
    assert result.exit_code == 1
    out = flat(result.output)
    assert f"{ref} has no owner yet. The command line does not assign owners" in out
    assert not PYTHON_WORDS.search(out), out
    with open_engine(store) as engine:
        assert engine.get(ref).version == before.version


def test_purge_without_any_retention_period_names_the_option(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Engine.open

    def without_retention(url: str, **options: Any) -> Engine:
        engine = opened(url, **options)
        for name, definition in list(engine.registry.workflows.items()):
            if definition.retention is not None:
                del engine.registry.workflows[name]
        return engine

    monkeypatch.setattr(Engine, "open", without_retention)
    result = invoke("retention", "purge", "--store", store)
    assert result.exit_code == 1
    out = flat(result.output)
    assert "no retention period: give one with --older-than AGE" in out
    assert not PYTHON_WORDS.search(out), out


def test_fire_rejects_data_that_is_not_key_value(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke("fire", ref, "thank", *actor_args("agent"), "--data", "oops", "--store", store)
    assert result.exit_code == 2
    assert "'oops' is not key=value" in result.output


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1).filter(lambda k: "=" not in k and k.strip()),
            st.text(),
        ),
        max_size=5,
    )
)
def test_parse_data_splits_at_the_first_equals_sign(pairs: list[tuple[str, str]]) -> None:
    expected: dict[str, str] = {}
    for key, value in pairs:
        expected[key.strip()] = value
    assert parse_data([f"{key}={value}" for key, value in pairs]) == expected


@pytest.mark.parametrize("item", ["no-equals", "=value", "  =value"])
def test_parse_data_refuses_items_without_a_key(item: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_data([item])


def test_unknown_complaint_and_unknown_store_are_clean_errors(store: str) -> None:
    missing = invoke("show", "CF-2026-999999", "--store", store)
    assert missing.exit_code == 1
    assert "no complaint 'CF-2026-999999'" in missing.output
    bad_store = invoke("history", "CF-2026-000001", "--store", "nosuch://here")
    assert bad_store.exit_code == 1
    assert "cannot open store 'nosuch://here'" in bad_store.output
    assert "Traceback" not in missing.output + bad_store.output


READS = [
    pytest.param(["list"], id="list"),
    pytest.param(["show", "CF-2026-000001"], id="show"),
    pytest.param(["history", "CF-2026-000001"], id="history"),
    pytest.param(["triggers", "CF-2026-000001", "--role", "agent"], id="triggers"),
    pytest.param(["clocks", "CF-2026-000001"], id="clocks"),
    pytest.param(["outbox", "--status", "all"], id="outbox"),
    pytest.param(["audit", "verify"], id="audit-verify"),
    pytest.param(["conduct", "restricted"], id="conduct-restricted"),
    pytest.param(["conduct", "queue"], id="conduct-queue"),
    pytest.param(["conduct", "patterns"], id="conduct-patterns"),
    pytest.param(["conduct", "show", "C-1"], id="conduct-show"),
    pytest.param(["retention", "purge", "--dry-run", "--older-than", "1 day"], id="purge-dry"),
]


@pytest.mark.parametrize("args", READS)
def test_a_read_refuses_a_sqlite_file_that_does_not_exist(tmp_path: Path, args: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    result = invoke(*args, "--store", url)
    assert result.exit_code == 1
    out = flat(result.output)
    assert f"no store at {url}: {tmp_path / 'typo.db'} does not exist" in out
    assert f"complaint-flow demo --store {url}" in out
    assert "No complaints match" not in out
    assert not (tmp_path / "typo.db").exists()


def test_a_read_of_the_default_store_names_the_file_to_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("list")
    assert result.exit_code == 1
    assert f"no store at sqlite:///complaints.db: {tmp_path / 'complaints.db'}" in flat(
        result.output
    )
    assert not (tmp_path / "complaints.db").exists()


def test_a_store_given_as_argument_is_checked_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    result = invoke("audit", "verify", url)
    assert result.exit_code == 1
    assert f"no store at {url}" in flat(result.output)


def test_writes_still_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = invoke("sweep", "--store", url)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new.db").exists()
    assert invoke("list", "--store", url).output.strip() == "No complaints match."


def test_list_filters_by_state_customer_and_category(store: str) -> None:
    with open_engine(store) as engine:
        everything = engine.find()
    result = invoke("list", "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    assert [row["Reference"] for row in rows] == [c.reference for c in everything]
    assert [row["State"] for row in rows] == [c.state for c in everything]
    assert [row["Customer"] for row in rows] == [c.customer.name for c in everything]
    for option, value in (("--state", "withdrawn"), ("--customer", "C-2"), ("--category", "staff")):
        filtered = invoke("list", option, value, "--store", store)
        assert filtered.exit_code == 0, filtered.output
        (rows,) = tables(filtered.output)
        assert [row["Reference"] for row in rows] == [complaint_ref(store, "C-2")]
    none = invoke("list", "--state", "closed", "--store", store)
    assert none.exit_code == 0
    assert "No complaints match." in none.output


def test_list_refuses_a_state_no_registered_workflow_has(store: str) -> None:
    result = invoke("list", "--state", "withdrawnn", "--store", store)
    assert result.exit_code == 2
    out = flat(result.output)
    assert "Invalid value for '--state': no registered workflow has a state 'withdrawnn'" in out
    assert "(did you mean 'withdrawn'?)" in out
    tactics = load_pack("tactics")
    assert all(repr(state) in out for state in tactics.state_names)
    assert "No complaints match" not in out


def test_list_refuses_a_state_the_workflow_given_does_not_have(store: str) -> None:
    result = invoke("list", "--workflow", "cfpb", "--state", "thanked", "--store", store)
    assert result.exit_code == 2
    out = flat(result.output)
    assert "workflow 'cfpb' has no state 'thanked'; its states are: " in out
    assert all(repr(state) in out for state in load_pack("cfpb").state_names)
    unknown = invoke("list", "--workflow", "tacticz", "--store", store)
    assert unknown.exit_code == 2
    assert "no workflow 'tacticz' is registered here" in flat(unknown.output)


def test_list_filters_by_workflow(store: str) -> None:
    result = invoke("list", "--workflow", "tactics", "--state", "withdrawn", "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    assert [row["Reference"] for row in rows] == [complaint_ref(store, "C-2")]
    other = invoke("list", "--workflow", "fca", "--store", store)
    assert other.exit_code == 0, other.output
    assert "No complaints match." in other.output


def test_list_knows_the_states_of_workflow_files(timed: Timed) -> None:
    refused = invoke("list", "--state", "awaiting_customer", "--store", timed.url)
    assert refused.exit_code == 2
    assert "--workflow-file PATH" in flat(refused.output)
    result = invoke(
        "list", "--state", "thanked", "--workflow", "timed", "--store", timed.url, *timed.files
    )
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    assert [row["Customer"] for row in rows] == ["Customer T"]
    waiting = invoke("list", "--state", "awaiting_customer", "--store", timed.url, *timed.files)
    assert waiting.exit_code == 0, waiting.output
    assert "No complaints match." in waiting.output


# -- workflow check / show -----------------------------------------------------

VALID = """
name = "mini"
initial = "open"
roles = ["agent"]
[states.open]
[states.working]
[states.closed]
terminal = true
[[transitions]]
trigger = "start"
source = "open"
dest = "working"
roles = ["agent"]
[[transitions]]
trigger = "close"
source = ["open", "working"]
dest = "closed"
"""

BROKEN = """
name = "broken"
initial = "open"
roles = ["agent"]
[states.open]
[states.stuck]
[states.closed]
terminal = true
[[transitions]]
trigger = "start"
source = "open"
dest = "stuck"
[[transitions]]
trigger = "close"
source = "open"
dest = "nowhere"
roles = ["clerk"]
guards = ["moon_is_full"]
"""


def test_workflow_check_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(VALID, encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "workflow 'mini' — 3 states (1 terminal), 2 transitions" in flat(result.output)


def test_workflow_check_accepts_the_shipped_tactics_file() -> None:
    tactics = load_pack("tactics")
    packs = resources.files("complaint_flow.definitions.packs")
    with resources.as_file(packs / "tactics.toml") as path:
        result = invoke("workflow", "check", str(path))
    assert result.exit_code == 0, result.output
    expected = f"{len(tactics.states)} states ({len(tactics.terminal_states)} terminal), "
    assert expected + f"{len(tactics.transitions)} transitions" in flat(result.output)


def test_workflow_check_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    guards = Registry(make_plugin_manager(load_entry_points=False)).guards
    problems = WorkflowDefinition.load(path).problems(guards)
    assert any("unknown destination state 'nowhere'" in p for p in problems)
    assert any("unknown guard 'moon_is_full'" in p for p in problems)
    assert any("unknown role 'clerk'" in p for p in problems)
    assert f"has {len(problems)} problem(s)" in result.output
    for problem in problems:
        assert problem in result.output


def test_workflow_check_reports_a_dead_end(tmp_path: Path) -> None:
    path = tmp_path / "dead.toml"
    path.write_text(VALID.replace('source = ["open", "working"]', 'source = "open"'), "utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    assert "state 'working' is a dead end" in result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            'dest = "working"',
            'dest = "closed"',
            "state 'working' is unreachable",
            id="unreachable",
        ),
        pytest.param(
            'source = ["open", "working"]\ndest = "closed"',
            'source = ["open", "working"]\ndest = "closed"\n'
            '[[transitions]]\ntrigger = "close"\nsource = "open"\ndest = "working"',
            "trigger 'close' is defined twice from state 'open'",
            id="duplicate-trigger",
        ),
        pytest.param(
            'source = ["open", "working"]',
            'source = ["open", "limbo"]',
            "unknown source state 'limbo'",
            id="unknown-state",
        ),
        pytest.param(
            "[states.closed]\nterminal = true",
            "[states.closed]",
            "no state is terminal",
            id="no-terminal",
        ),
    ],
)
def test_workflow_check_reports_graph_problems(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in VALID
    path = tmp_path / "wf.toml"
    path.write_text(VALID.replace(old, new), encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "OK" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("name = ", "not valid TOML", id="bad-toml"),
        pytest.param(None, "cannot read the file", id="missing-file"),
        pytest.param('name = "x"\ninitial = "a"\n', "'states' must be", id="shape"),
    ],
)
def test_workflow_check_rejects_unreadable_files(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "wf.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_version_and_help() -> None:
    version = invoke("--version")
    assert version.exit_code == 0
    assert version.output.split()[-1] == complaint_flow.__version__
    help_text = invoke("--help").output
    for command in ("demo", "show", "history", "triggers", "fire", "list", "workflow", "plugins"):
        assert f"  {command} " in help_text


def test_workflow_show_lists_states_and_transitions() -> None:
    result = invoke("workflow", "show", "tactics")
    assert result.exit_code == 0, result.output
    states, transitions = tables(result.output)
    tactics = load_pack("tactics")
    assert [row["State"] for row in states] == list(tactics.state_names)
    terminal = [row["State"] for row in states if row["Kind"] == "terminal"]
    assert terminal == list(tactics.terminal_states)
    assert [row["Trigger"] for row in transitions] == [t.trigger for t in tactics.transitions]
    for row, t in zip(transitions, tactics.transitions, strict=True):
        assert row["Move"].endswith(f"→ {t.dest}")
        assert row["Roles"] == " ".join(t.roles)
        assert row["Description"] == t.description


def test_workflow_show_mermaid_is_the_diagram() -> None:
    result = invoke("workflow", "show", "tactics", "--mermaid")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[3] == "stateDiagram-v2"  # after the title
    assert result.output == to_mermaid(load_pack("tactics"))


def test_workflow_show_reads_a_file_and_refuses_unknown_names(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(VALID, encoding="utf-8")
    from_file = invoke("workflow", "show", str(path), "--mermaid")
    assert from_file.output == to_mermaid(WorkflowDefinition.from_toml(VALID))
    unknown = invoke("workflow", "show", "nope")
    assert unknown.exit_code == 1
    assert "no workflow named 'nope'" in unknown.output


# -- plugins --------------------------------------------------------------------


def test_plugins_lists_hook_implementers_stores_and_channels() -> None:
    result = invoke("plugins")
    assert result.exit_code == 0, result.output
    plugins, stores, channels, workflows, guards = tables(result.output)
    registry = Registry(make_plugin_manager())
    hooks = {row["Plugin"]: row["Hooks"].split(", ") for row in plugins}
    store_plugins = [
        row["name"]
        for row in registry.describe()
        if "complaint_flow_register_stores" in row["hooks"]
    ]
    assert "complaint_flow.plugins.stores" in store_plugins
    for name in store_plugins:
        assert "complaint_flow_register_stores" in hooks[name]
    assert {row["Scheme"] for row in stores} == {f"{scheme}://" for scheme in registry.stores}
    shown = {row["Channel"]: row["Kind"] for row in channels}
    for channel in BUILTIN_CHANNELS:
        assert shown[channel.name] == str(channel.kind)
    assert "tactics" in {row["Workflow"] for row in workflows}
    assert "owner_with_contact" in {row["Guard"] for row in guards}


# -- sweep and clocks on a store with deadline clocks ---------------------------

TIMED_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Long past when the CLI sweeps with the real clock: these clocks are all due."""
FAR_FUTURE = datetime(2090, 1, 2, 9, 0, tzinfo=UTC)
"""Far ahead of any real clock: these clocks are not due."""


def timed_intake(customer: str, **changes: Any) -> Intake:
    fields: dict[str, Any] = {
        "channel": "email",
        "customer": Customer(id=customer, name=f"Customer {customer}", email="c@example.org"),
        "summary": "Late refund",
    }
    fields.update(changes)
    return Intake(**fields)


class Timed(NamedTuple):
    url: str
    path: Path
    """The ``timed`` workflow's file."""
    files: list[str]
    """``--workflow-file`` options registering both workflows with clocks."""


@pytest.fixture
def timed(tmp_path: Path) -> Timed:
    """A SQLite store with complaints of two workflows with deadline clocks, and one without.

    R (received) and T (thanked) are overdue; E (an emergency) is overdue and
    already at the top of the ladder; F was received far in the future, so
    nothing is due; X follows a copy of the workflow named ``timed_copy``, and
    is overdue; P follows ``mini``, which has no clocks.
    """
    path = tmp_path / "timed.toml"
    path.write_text(TIMED_WORKFLOW, encoding="utf-8")
    copy = tmp_path / "timed_copy.toml"
    copy.write_text(TIMED_WORKFLOW.replace('name = "timed"', 'name = "timed_copy"'), "utf-8")
    url = f"sqlite:///{tmp_path / 'timed.db'}"
    clock = ManualClock(TIMED_START)
    with Engine.open(
        url, workflow=WorkflowDefinition.load(path), clock=clock, load_entry_points=False
    ) as engine:
        engine.registry.workflows["timed_copy"] = WorkflowDefinition.load(copy)
        engine.registry.workflows["mini"] = WorkflowDefinition.from_toml(VALID)
        engine.receive(timed_intake("R"))
        thanked = engine.receive(timed_intake("T"))
        engine.fire(thanked.id, "thank", actor=AGENT)
        engine.receive(timed_intake("E", severity=Severity.EMERGENCY, summary="Gas smell"))
        engine.receive(timed_intake("X"), workflow="timed_copy")
        engine.receive(timed_intake("P"), workflow="mini")
        clock.set(FAR_FUTURE)
        engine.receive(timed_intake("F"))
    return Timed(url, path, ["--workflow-file", str(path), "--workflow-file", str(copy)])


def by_customer(url: str, customer: str) -> Complaint:
    with open_engine(url) as engine:
        (found,) = engine.find(customer_id=customer)
        return found


def histories(url: str) -> dict[str, list[Event]]:
    with open_engine(url) as engine:
        return {c.customer.id: engine.history(c.id) for c in engine.find()}


def sweep_counts(output: str) -> dict[str, int]:
    """The counts of the last sweep table in ``output``, by row label."""
    return {row["What"]: int(row["Count"]) for row in tables(output)[-1]}


def recorded(before: dict[str, list[Event]], after: dict[str, list[Event]]) -> dict[str, int]:
    """What sweeps recorded between two snapshots of every history, counted like the table."""
    new = {key: after[key][len(before[key]) :] for key in after}
    return {
        "Complaints examined": sum(1 for events in new.values() if events),
        "Warnings": sum(e.kind == "clock_warning" for ev in new.values() for e in ev),
        "Breaches": sum(e.kind == "clock_breached" for ev in new.values() for e in ev),
        "Escalations": sum(e.kind == "escalated" for ev in new.values() for e in ev),
        "Conflicts": 0,
        "Top of ladder": 0,
        "Unknown workflow": 0,
        "Lapsed restrictions": sum(e.kind == "lapsed" for ev in new.values() for e in ev),
    }


def test_sweep_acts_on_due_clocks_of_every_workflow_exactly_once(timed: Timed) -> None:
    url = timed.url
    before = histories(url)
    result = invoke("sweep", "--store", url, *timed.files)
    assert result.exit_code == 0, result.output
    counts = sweep_counts(result.output)
    after = histories(url)
    # R and X: both clocks breached, one escalation each; T: only the final
    # response (its acknowledgement was stopped by "thank"); E: both, at the top.
    assert counts == {
        "Complaints examined": 4,
        "Warnings": 0,
        "Breaches": 7,
        "Escalations": 3,
        "Conflicts": 0,
        "Top of ladder": 1,
        "Unknown workflow": 0,
        "Lapsed restrictions": 0,
    }
    assert counts == {**recorded(before, after), "Top of ladder": 1}
    assert after["F"] == before["F"]
    assert after["P"] == before["P"]
    for customer in ("R", "T", "E", "X"):
        for state in by_customer(url, customer).clocks:
            assert state.breached or state.status is ClockStatus.STOPPED
    assert by_customer(url, "X").escalation_level == 2
    assert "Sweep of " + url in flat(result.output)

    again = invoke("sweep", "--store", url, *timed.files)
    assert again.exit_code == 0, again.output
    assert set(sweep_counts(again.output).values()) == {0}
    assert "Nothing was due." in again.output
    assert histories(url) == after


def test_sweep_takes_the_store_as_an_argument_and_reads_in_small_batches(
    timed: Timed,
) -> None:
    result = invoke("sweep", timed.url, "--batch", "1", *timed.files)
    assert result.exit_code == 0, result.output
    assert sweep_counts(result.output)["Complaints examined"] == 4
    assert sweep_counts(result.output)["Breaches"] == 7


def test_sweep_of_an_unregistered_workflow_says_how_to_register_it(
    timed: Timed,
) -> None:
    url = timed.url
    before = histories(url)
    result = invoke("sweep", "--store", url)
    assert result.exit_code == 1
    assert "Unknown workflow" in result.output
    assert "follow a workflow this command does not know" in flat(result.output)
    assert "--workflow-file" in result.output
    assert "Traceback" not in result.output
    assert histories(url) == before


def test_sweep_default_workflow_may_name_a_file_or_a_registered_workflow(
    timed: Timed,
) -> None:
    url = timed.url
    named = invoke("sweep", "--store", url, "--workflow", "timed_copy", *timed.files)
    assert named.exit_code == 0, named.output
    assert sweep_counts(named.output)["Breaches"] == 7
    unknown = invoke("sweep", "--store", url, "--workflow", "nope")
    assert unknown.exit_code == 1
    assert "no workflow named 'nope'" in unknown.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--iterations", "2"], "add --watch SECONDS", id="iterations-alone"),
        pytest.param(["--watch", "0"], "--watch", id="zero-interval"),
        pytest.param(["--watch", "-1"], "--watch", id="negative-interval"),
        pytest.param(["--batch", "0"], "--batch", id="empty-batch"),
        pytest.param(["sqlite:///other.db"], "two stores given", id="two-stores"),
    ],
)
def test_sweep_refuses_a_wrong_command_line(timed: Timed, args: list[str], message: str) -> None:
    url = timed.url
    before = histories(url)
    result = invoke("sweep", *args, "--store", url, *timed.files)
    assert result.exit_code == 2
    assert message in result.output
    assert histories(url) == before


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the waits between --watch sweeps instead of sleeping."""
    waited: list[float] = []
    monkeypatch.setattr(deadlines, "pause", waited.append)
    return waited


def test_sweep_watch_repeats_and_sums_up(timed: Timed, pauses: list[float]) -> None:
    url = timed.url
    before = histories(url)
    result = invoke("sweep", "--store", url, *timed.files, "--watch", "0.01", "--iterations", "3")
    assert result.exit_code == 0, result.output
    assert len(pauses) == 2
    assert all(0 <= wait <= 0.01 for wait in pauses)
    out = flat(result.output)
    assert "sweep 1: examined 4 · breaches 7 · escalations 3 · top of ladder 1" in out
    assert "sweep 2:" not in out  # quiet sweeps print nothing
    assert "3 sweep(s) of " + url in out
    assert sweep_counts(result.output) == {
        **recorded(before, histories(url)),
        "Top of ladder": 1,
    }
    assert "Ctrl-C" not in out


def test_sweep_watch_stops_cleanly_on_ctrl_c(timed: Timed, monkeypatch: pytest.MonkeyPatch) -> None:
    url = timed.url

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(deadlines, "pause", interrupted)
    result = invoke("sweep", "--store", url, *timed.files, "--watch", "60")
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "1 sweep(s) of " + url in out
    assert sweep_counts(result.output)["Breaches"] == 7
    assert "Stopped by Ctrl-C" in out


def test_sweep_watch_interrupted_during_the_first_sweep(
    timed: Timed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: Engine, now: datetime | None = None, *, batch: int = 500) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(Engine, "sweep", interrupted)
    result = invoke("sweep", "--store", timed.url, *timed.files, "--watch", "1")
    assert result.exit_code == 0, result.output
    assert "Stopped before the first sweep finished; nothing counted." in result.output
    assert tables(result.output) == []


def test_clocks_shows_each_clock_of_a_complaint(timed: Timed) -> None:
    url, path = timed.url, timed.path
    thanked = by_customer(url, "T")
    result = invoke("clocks", thanked.reference, "--store", url, "--workflow-file", str(path))
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    definition = WorkflowDefinition.load(path)
    rules = {clock.name: clock for clock in definition.clocks}
    assert [row["Clock"] for row in rows] == [c.name for c in thanked.clocks]
    for row, state in zip(rows, thanked.clocks, strict=True):
        rule = rules[state.name]
        assert row["Rule"] == f"{rule.title} {rule.duration} {rule.calendar} calendar"
        assert row["Started (UTC)"] == f"{state.started_at:%a %Y-%m-%d %H:%M}"
        assert row["Deadline (UTC)"] == f"{state.deadline:%a %Y-%m-%d %H:%M}"
        warning = state.warning_at
        assert row["Warning (UTC)"] == (f"{warning:%a %Y-%m-%d %H:%M}" if warning else "—")
        assert row["Extensions"] == str(state.extensions)
    acknowledge, resolve = rows
    assert acknowledge["Status"].startswith("stopped")
    assert acknowledge["Warned / breached"] == "no"
    # Missed, but no sweep has recorded it yet: the next one will.
    assert resolve["Status"] == "running overdue"
    assert resolve["Warned / breached"] == "overdue: the next sweep records the breach"
    assert thanked.due_at is not None
    out = flat(result.output)
    assert f"Overdue since {thanked.due_at:%a %Y-%m-%d %H:%M} UTC: the next sweep acts on it" in out
    assert "Next due" not in out
    assert "from then on" not in out

    assert invoke("sweep", "--store", url, *timed.files).exit_code == 0
    swept = invoke("clocks", thanked.reference, "--store", url, "--workflow-file", str(path))
    (rows,) = tables(swept.output)
    assert rows[1]["Status"] == "running"
    assert rows[1]["Warned / breached"] == "breached"
    assert "Nothing due: no running clock" in swept.output


def test_clocks_shows_pauses_extensions_and_future_deadlines(timed: Timed) -> None:
    url, path = timed.url, timed.path
    future = by_customer(url, "F")
    manager = Actor(id="M-1", name="Mo", role="manager", rank=2)
    clock = ManualClock(FAR_FUTURE)
    definition = WorkflowDefinition.load(path)
    with Engine.open(url, workflow=definition, clock=clock, load_entry_points=False) as engine:
        resolve = future.clock("resolve")
        assert resolve is not None
        engine.extend_clock(
            future.id, "resolve", until=resolve.deadline + timedelta(days=7), actor=manager,
            reason="waiting for the courier",
        )  # fmt: skip
        engine.fire(future.id, "thank", actor=manager)
        clock.advance(hours=2)
        engine.fire(future.id, "ask_customer", actor=manager)
        current = engine.get(future.id)
    result = invoke("clocks", future.id, "--store", url, "--workflow-file", str(path))
    assert result.exit_code == 0, result.output
    rows = {row["Clock"]: row for row in tables(result.output)[0]}
    paused = current.clock("resolve")
    assert paused is not None
    assert paused.paused_at is not None
    assert rows["resolve"]["Status"] == f"paused since {paused.paused_at:%a %Y-%m-%d %H:%M}"
    assert rows["resolve"]["Extensions"] == "1"
    # Paused at 11:00 on 2 January with the extended deadline at midnight on 25
    # January: the instant moves on when the clock resumes, the time left does not.
    assert paused.deadline - paused.paused_at == timedelta(days=22, hours=13)
    assert rows["resolve"]["Deadline (UTC)"] == "paused 22 days 13 h left"
    assert f"{paused.deadline:%Y-%m-%d}" not in rows["resolve"]["Deadline (UTC)"]
    assert rows["resolve"]["Warned / breached"] == "no"
    assert "Next due" not in result.output  # paused or stopped: nothing to sweep
    assert "A paused clock does not count down" in flat(result.output)


def test_clocks_without_the_workflow_and_without_clocks(timed: Timed) -> None:
    url = timed.url
    received = by_customer(url, "R")
    result = invoke("clocks", received.reference, "--store", url)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    assert [row["Clock"] for row in rows] == [state.name for state in received.clocks]
    assert {row["Rule"] for row in rows} == {""}
    assert "pass --workflow-file" in flat(result.output)
    plain = by_customer(url, "P")
    bare = invoke("clocks", plain.reference, "--store", url)
    assert bare.exit_code == 0, bare.output
    assert tables(bare.output) == []
    assert f"{plain.reference} has no deadline clocks (workflow 'mini')." in bare.output
    missing = invoke("clocks", "CF-2026-999999", "--store", url)
    assert missing.exit_code == 1
    assert "no complaint 'CF-2026-999999'" in missing.output


def test_triggers_and_fire_accept_a_workflow_file(timed: Timed) -> None:
    url, path = timed.url, timed.path
    ref = by_customer(url, "R").reference
    refused = invoke("triggers", ref, "--role", "agent", "--store", url)
    assert refused.exit_code == 1
    assert "--workflow-file" in refused.output
    listed = invoke(
        "triggers", ref, "--role", "agent", "--store", url, "--workflow-file", str(path)
    )
    assert listed.exit_code == 0, listed.output
    assert [row["Trigger"] for row in tables(listed.output)[0]] == ["thank"]
    fired = invoke(
        "fire", ref, "thank", *actor_args("agent"), "--store", url, "--workflow-file", str(path)
    )
    assert fired.exit_code == 0, fired.output
    assert by_customer(url, "R").state == "thanked"


def test_a_broken_or_repeated_workflow_file_is_refused(timed: Timed) -> None:
    url, path = timed.url, timed.path
    before = histories(url)
    broken = path.with_name("broken.toml")
    broken.write_text(
        TIMED_WORKFLOW.replace('pause_states = ["awaiting_customer"]', 'pause_states = ["nap"]'),
        encoding="utf-8",
    )
    result = invoke("sweep", "--store", url, "--workflow-file", str(broken))
    assert result.exit_code == 1
    assert "pause state 'nap' does not exist" in result.output
    twice = invoke(
        "sweep", "--store", url, "--workflow-file", str(path), "--workflow-file", str(path)
    )
    assert twice.exit_code == 2
    assert "define the workflow 'timed'" in twice.output
    assert histories(url) == before


def test_help_lists_the_deadline_commands() -> None:
    help_text = invoke("--help").output
    for command in ("sweep", "clocks"):
        assert f"  {command} " in help_text
    sweep_help = flat(invoke("sweep", "--help").output)
    for option in (
        "--store",
        "--watch",
        "--iterations",
        "--batch",
        "--workflow",
        "--workflow-file",
    ):
        assert option in sweep_help


MONDAY = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""09:00 UTC on a Monday, a working day of the ``office`` calendar (09:00 to 17:00)."""
CALENDAR_TIME = WorkflowDefinition.from_toml(TIMED_WORKFLOW)
"""``resolve`` counts 15 calendar days."""
WORKING_TIME = WorkflowDefinition.from_toml(
    TIMED_WORKFLOW.replace('duration = "15 calendar days"', 'duration = "3 working days"')
)
"""``resolve`` counts 3 working days."""


def clock_row(
    now: datetime, definition: WorkflowDefinition | None = CALENDAR_TIME, **changes: Any
) -> dict[str, str]:
    """The row ``clocks_table`` shows at ``now`` for a ``resolve`` clock with ``changes``."""
    fields: dict[str, Any] = {
        "name": "resolve",
        "status": ClockStatus.RUNNING,
        "started_at": MONDAY,
        "deadline": MONDAY + timedelta(days=3),
        "warning_at": MONDAY + timedelta(days=2),
    }
    fields.update(changes)
    with Engine.open("memory://", workflow=CALENDAR_TIME, load_entry_points=False) as engine:
        complaint = engine.receive(timed_intake("Z"))
    complaint = attrs.evolve(complaint, clocks=(ClockState(**fields),))
    console = Console(width=400)
    with console.capture() as captured:
        console.print(clocks_table(complaint, definition, now))
    ((row,),) = tables(captured.get())
    return row


@pytest.mark.parametrize(
    ("after", "changes", "status", "marks"),
    [
        pytest.param(timedelta(days=1), {}, "running", "no", id="ahead"),
        pytest.param(
            timedelta(days=2, hours=1),
            {},
            "running",
            "warning due: the next sweep warns the owner",
            id="warning-past",
        ),
        pytest.param(
            timedelta(days=2, hours=1), {"warned": True}, "running", "warned", id="warned"
        ),
        pytest.param(
            timedelta(days=4),
            {},
            "running overdue",
            "overdue: the next sweep records the breach",
            id="deadline-past",
        ),
        pytest.param(
            timedelta(days=4),
            {"warned": True},
            "running overdue",
            "warned; overdue: the next sweep records the breach",
            id="warned-and-deadline-past",
        ),
        pytest.param(
            timedelta(days=4),
            {"warned": True, "breached": True},
            "running",
            "breached",
            id="breached",
        ),
    ],
)
def test_clocks_say_whether_a_sweep_has_acted_and_what_the_next_one_does(
    after: timedelta, changes: dict[str, Any], status: str, marks: str
) -> None:
    row = clock_row(MONDAY + after, **changes)
    assert row["Status"] == status
    assert row["Warned / breached"] == marks
    assert row["Deadline (UTC)"] == "Thu 2026-01-08 09:00"
    assert row["Warning (UTC)"] == "Wed 2026-01-07 09:00"


def test_a_paused_clock_shows_the_time_it_has_left() -> None:
    paused = {"status": ClockStatus.PAUSED, "paused_at": MONDAY + timedelta(days=1, hours=4)}
    late = MONDAY + timedelta(days=30)  # a pause does not count: nothing is overdue
    row = clock_row(late, **paused)
    assert row["Status"] == "paused since Tue 2026-01-06 13:00"
    assert row["Deadline (UTC)"] == "paused 1 day 20 h left"
    assert row["Warning (UTC)"] == "paused 20 h left"
    assert row["Warned / breached"] == "no"
    # Working time is counted on the clock's calendar: Monday 13:00 to Thursday
    # 17:00 is 4 + 8 + 8 + 8 working hours.
    working = clock_row(
        late,
        WORKING_TIME,
        status=ClockStatus.PAUSED,
        paused_at=MONDAY + timedelta(hours=4),
        deadline=datetime(2026, 1, 8, 17, 0, tzinfo=UTC),
        warning_at=None,
    )
    assert working["Deadline (UTC)"] == "paused 28 h working time left"
    assert working["Warning (UTC)"] == "—"
    unknown = clock_row(late, None, **paused)
    assert unknown["Deadline (UTC)"] == "paused time left unknown"


def _minutes_in(words: str) -> int:
    units = {"day": 24 * 60, "days": 24 * 60, "h": 60, "min": 1}
    numbers = words.split()
    return sum(int(n) * units[unit] for n, unit in zip(numbers[::2], numbers[1::2], strict=True))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=999)))
def test_time_left_is_written_to_the_minute_below_a_day_else_to_the_hour(
    left: timedelta,
) -> None:
    minutes = int(left.total_seconds() // 60)
    exact = minutes if minutes < 24 * 60 else minutes - minutes % 60
    assert _minutes_in(span(left)) == exact
    assert _minutes_in(working_span(left)) == minutes  # hours, however many


def test_a_paused_clock_keeps_the_instants_already_past_at_the_pause() -> None:
    row = clock_row(
        MONDAY + timedelta(days=30),
        status=ClockStatus.PAUSED,
        paused_at=MONDAY + timedelta(days=5),
        warned=True,
        breached=True,
    )
    assert row["Deadline (UTC)"] == "Thu 2026-01-08 09:00"
    assert row["Warning (UTC)"] == "Wed 2026-01-07 09:00"
    assert row["Warned / breached"] == "breached"


def test_clocks_word_a_deadline_ahead_as_next_due(timed: Timed) -> None:
    future = by_customer(timed.url, "F")
    result = invoke("clocks", future.reference, "--store", timed.url, *timed.files)
    assert result.exit_code == 0, result.output
    rows = {row["Clock"]: row for row in tables(result.output)[0]}
    assert rows["resolve"]["Warned / breached"] == "no"
    assert rows["resolve"]["Status"] == "running"
    assert future.due_at is not None
    out = flat(result.output)
    assert (
        f"Next due: {future.due_at:%a %Y-%m-%d %H:%M} UTC (a sweep from then on acts on it)" in out
    )
    assert "Overdue" not in out


def test_narrow_consoles_get_a_compact_clocks_table(timed: Timed) -> None:
    url, path = timed.url, timed.path
    received = by_customer(url, "R")
    manager = Actor(id="M-1", name="Mo", role="manager", rank=2)
    resolve = received.clock("resolve")
    assert resolve is not None
    with Engine.open(url, workflow=WorkflowDefinition.load(path), load_entry_points=False) as e:
        e.extend_clock(
            received.id, "resolve", until=resolve.deadline + timedelta(days=3), actor=manager,
            reason="agreed with the customer",
        )  # fmt: skip
    narrow = {"COLUMNS": "100"}
    result = invoke(
        "clocks", received.reference, "--store", url, "--workflow-file", str(path), env=narrow
    )
    assert result.exit_code == 0, result.output
    body = [line.split("│")[1:-1] for line in result.output.splitlines() if "│" in line]
    headers = flat(result.output.split("┡")[0])
    assert "Rule" not in headers
    assert "Extensions" not in headers
    # The rule goes under the clock's name, the extensions under what sweeps recorded.
    first = [cells[0].strip() for cells in body]
    start = first.index("resolve")
    assert first[start : start + 4] == [
        "resolve",
        "Final response",
        "15 calendar days",
        "office calendar",
    ]
    assert "extensions: 1" in [cells[-1].strip() for cells in body][start:]
    assert max(len(line) for line in result.output.splitlines()) <= 100


def test_demo_sweeps_catch_a_missed_deadline_and_escalation_follows_the_org_chart(
    tmp_path: Path,
) -> None:
    from complaint_flow.cli.demo import DANIEL, run_demo

    result = run_demo(f"sqlite:///{tmp_path / 'week.db'}")
    missed = [
        event
        for story in result.complaints
        for event in story.history
        if event.kind == "clock_breached"
    ]
    assert result.deadlines.breaches == len(missed) >= 1
    escalated = [
        event
        for story in result.complaints
        for event in story.history
        if event.kind == "escalated" and event.actor.role == "agent"
    ]
    assert escalated, "the phone complaint is escalated by its agent"
    assert all(event.data["owner_id"] == DANIEL.id for event in escalated)


# -- complaint-flow outbox ----------------------------------------------------------


class _Refusing:
    """A notifier that refuses every message, or only those for ``recipient``."""

    def __init__(self, recipient: str | None = None) -> None:
        self.recipient = recipient

    @complaint_flow.hookimpl
    def complaint_flow_notify(self, message: Any, complaint: Complaint) -> None:
        if self.recipient in (None, message.recipient):
            raise ConnectionError("smtp down")


def _refusing(recipient: str | None = None) -> Registry:
    return Registry(make_plugin_manager([_Refusing(recipient)], load_entry_points=False))


class OutboxStore(NamedTuple):
    url: str
    dead: str  # the key of a dead message (complaint A, to the customer)
    waiting: str  # failed once, next attempt a century away (complaint B, to the customer)
    delivered: str  # complaint B, to its owner
    references: dict[str, str]  # key -> complaint reference


@pytest.fixture
def outbox_store(tmp_path: Path) -> OutboxStore:
    """One dead, one pending (not due for a century) and one delivered outbox message."""
    from complaint_flow.services.delivery import Backoff, OutboxDispatcher

    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    clock = ManualClock(DEMO_START)
    ada = Customer(id="C-1", name="Ada Lovelace", email="ada@example.org")
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        a = engine.receive(Intake(channel="email", customer=ada, summary="Parcel broken"))
        engine.fire(a.id, "thank", actor=AGENT)
        b = engine.receive(Intake(channel="email", customer=ada, summary="Charged twice"))
        engine.fire(b.id, "thank", actor=AGENT)
        engine.assign(b.id, AGENT, actor=AGENT)
        dying = OutboxDispatcher(engine.store, _refusing(), clock, max_attempts=1)
        assert dying.dispatch(limit=1).dead == 1
        century = timedelta(days=36500)
        slow = OutboxDispatcher(
            engine.store,
            _refusing("customer"),
            clock,
            max_attempts=3,
            backoff=Backoff(base=century, cap=century),
        )
        report = slow.dispatch()
        assert (report.delivered, report.failed, report.dead) == (1, 1, 0)
        assert slow.dispatch().failed == 0  # not due again for a century
        (dead,) = engine.store.outbox_find(status=OutboxStatus.DEAD)
        (waiting,) = engine.store.outbox_find(status=OutboxStatus.PENDING)
        (delivered,) = engine.store.outbox_find(status=OutboxStatus.DELIVERED)
        references = {
            m.key: engine.get(m.complaint_id).reference for m in (dead, waiting, delivered)
        }
    return OutboxStore(url, dead.key, waiting.key, delivered.key, references)


def outbox_rows(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    return rows


def statuses(url: str) -> dict[str, OutboxStatus]:
    with open_engine(url) as engine:
        return {m.key: m.status for m in engine.store.outbox_find()}


def test_outbox_lists_messages_by_status_oldest_first(outbox_store: OutboxStore) -> None:
    o = outbox_store
    (waiting,) = outbox_rows(invoke("outbox", "--store", o.url))  # pending by default
    assert waiting["Key"] == o.waiting
    assert waiting["Complaint"] == o.references[o.waiting]
    assert (waiting["Topic"], waiting["Recipient"]) == ("tactics.thank", "customer")
    assert waiting["Channel / address"] == "email ada@example.org"
    assert (waiting["Status"], waiting["Attempts"]) == ("pending", "1")
    assert waiting["Next attempt (UTC)"].startswith("2126-")
    assert waiting["Last error"] == "ConnectionError('smtp down')"
    (dead,) = outbox_rows(invoke("outbox", "--store", o.url, "--status", "dead"))
    assert (dead["Key"], dead["Status"], dead["Next attempt (UTC)"]) == (o.dead, "dead", "")
    (delivered,) = outbox_rows(invoke("outbox", "--store", o.url, "--status", "delivered"))
    assert (delivered["Key"], delivered["Recipient"]) == (o.delivered, "owner")
    everything = outbox_rows(invoke("outbox", "--store", o.url, "--status", "all"))
    assert [row["Key"] for row in everything] == [o.dead, o.waiting, o.delivered]
    by_env = invoke("outbox", "--status", "all", "--limit", "1", env={STORE_ENV: o.url})
    first = outbox_rows(by_env)
    assert [row["Key"] for row in first] == [o.dead]
    assert invoke("outbox", "--store", o.url, "--status", "gone").exit_code == 2


def test_outbox_retry_requeues_dead_messages_and_refuses_unknown_keys(
    outbox_store: OutboxStore,
) -> None:
    o = outbox_store
    before = statuses(o.url)
    for keys in (["nope"], [o.dead, "nope"], [o.waiting], [o.delivered]):
        refused = invoke("outbox", "retry", "--store", o.url, *keys)
        assert refused.exit_code == 1
        assert "no dead outbox message with key" in refused.output
        assert "Traceback" not in refused.output
        assert statuses(o.url) == before
    for args in ([], [o.dead, "--all-dead"]):
        assert invoke("outbox", "retry", "--store", o.url, *args).exit_code == 2
    # Options before the subcommand would be ignored by it: refused, not silently misread.
    misplaced = invoke("outbox", "--store", o.url, "retry", o.dead)
    assert misplaced.exit_code == 2
    assert "after the subcommand" in misplaced.output
    assert statuses(o.url) == before

    (requeued,) = outbox_rows(invoke("outbox", "retry", "--store", o.url, o.dead))
    assert (requeued["Key"], requeued["Status"], requeued["Attempts"]) == (o.dead, "pending", "0")
    assert requeued["Next attempt (UTC)"] == "now"
    assert statuses(o.url) == {**before, o.dead: OutboxStatus.PENDING}
    nothing = invoke("outbox", "retry", "--store", o.url, "--all-dead")
    assert nothing.exit_code == 0
    assert "nothing to requeue" in nothing.output


def test_outbox_retry_all_dead_then_deliver_delivers_only_what_is_due(
    outbox_store: OutboxStore,
) -> None:
    o = outbox_store
    (requeued,) = outbox_rows(invoke("outbox", "retry", "--all-dead", "--store", o.url))
    assert requeued["Key"] == o.dead
    none = invoke("outbox", "deliver", "--store", o.url, "--limit", "0")
    assert (none.exit_code, flat(none.output).strip()) == (0, "Delivered 0, failed 0, now dead 0.")
    assert statuses(o.url)[o.dead] is OutboxStatus.PENDING
    result = invoke("outbox", "deliver", "--store", o.url)
    assert (result.exit_code, flat(result.output).strip()) == (
        0,
        "Delivered 1, failed 0, now dead 0.",
    )
    assert statuses(o.url) == {
        o.dead: OutboxStatus.DELIVERED,
        o.waiting: OutboxStatus.PENDING,  # its next attempt is a century away
        o.delivered: OutboxStatus.DELIVERED,
    }


def test_outbox_deliver_reports_failures_and_dead_messages(
    outbox_store: OutboxStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from complaint_flow.services.delivery import OutboxDispatcher

    o = outbox_store
    invoke("outbox", "retry", "--all-dead", "--store", o.url)

    def refusing_dispatcher(store: Any, registry: Registry, clock: Any) -> OutboxDispatcher:
        return OutboxDispatcher(store, _refusing(), clock, max_attempts=1)

    monkeypatch.setattr(outbox_commands, "OutboxDispatcher", refusing_dispatcher)
    result = invoke("outbox", "deliver", "--store", o.url)
    assert result.exit_code == 0
    assert flat(result.output).startswith("Delivered 0, failed 1, now dead 1.")
    assert "complaint-flow outbox --status dead" in result.output
    assert statuses(o.url)[o.dead] is OutboxStatus.DEAD
