"""The shipped rule packs: each loads, and its deadlines follow the rule it cites.

Every expected instant below is worked out by hand in the comments from the rule
and the calendar (public holidays, time zone), then checked through the real
engine: receipt, transitions, extensions and sweeps with a ManualClock. Times
are UTC; London is on GMT until 29 March 2026 and on BST (UTC+1) after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
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
    PlaceholderContactWarning,
    Severity,
    TriggerNotAllowedError,
)
from complaint_flow.definitions.packs import load_pack, pack_names
from complaint_flow.definitions.remedies import Remedy
from complaint_flow.definitions.workflow import ESCALATE_TRIGGER
from complaint_flow.errors import AuthorityExceededError
from complaint_flow.fsm.workflow_machine import compile_workflow
from complaint_flow.model.entities import ClockState, ClockStatus
from complaint_flow.model.timers import TIMERS_KEY, earliest, timers_due
from complaint_flow.testing import CapturedNotifications

# The shipped ladders' contacts are placeholders, and escalating to them warns; that is
# what the tests below do on purpose, so the warning is checked once
# (test_escalating_to_a_pack_ladder_warns_that_its_contact_is_a_placeholder) and not
# repeated for every walk through a pack.
pytestmark = pytest.mark.filterwarnings("ignore::complaint_flow.errors.PlaceholderContactWarning")

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHIPPED = ("cfpb", "fca", "fca_payments", "spso", "tactics")
# What each pack's clock descriptions must cite: the rule's source.
SOURCES = {
    "spso": "SPSO model CHP",
    "fca": "DISP 1.",
    "fca_payments": "DISP 1.",
    "cfpb": "CFPB complaint process",
    "tactics": "TACTICS",
}

ADA = Customer(id="C-1", name="Ada", email="ada@example.org")
AGENT = Actor(id="A-1", name="Bo", role="agent", rank=1, email="bo@example.org")
SUPERVISOR = Actor(id="S-1", name="Di", role="supervisor", rank=2, email="di@example.org")
INVESTIGATOR = Actor(id="I-1", name="Ivo", role="investigator", rank=2, email="ivo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=3, email="mo@example.org")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def captured() -> CapturedNotifications:
    return CapturedNotifications()


class Desk:
    """One pack's engine on an in-memory store, with its clock and captured messages."""

    def __init__(self, pack: str, start: datetime, captured: CapturedNotifications) -> None:
        self.clock = ManualClock(start)
        self.captured = captured
        self.engine = Engine.open(
            "memory://",
            workflow=pack,
            clock=self.clock,
            plugins=[captured],
            load_entry_points=False,
        )

    def receive(self, **changes: Any) -> Complaint:
        fields: dict[str, Any] = {"channel": "email", "customer": ADA, "summary": "Late refund"}
        fields.update(changes)
        return self.engine.receive(Intake(**fields))

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def fire(self, complaint: Complaint, trigger: str, actor: Actor, **data: str) -> Complaint:
        return self.engine.fire(complaint.id, trigger, actor=actor, data=data or None)

    def clock_of(self, complaint: Complaint, name: str) -> ClockState:
        state = self.engine.get(complaint.id).clock(name)
        assert state is not None, f"clock {name!r} never started"
        return state

    def sweep(self, when: datetime) -> tuple[int, int, int]:
        """(warnings, breaches, escalations) of a sweep at ``when``, moving the clock there."""
        self.at(when)
        report = self.engine.sweep(when)
        return report.warnings, report.breaches, report.escalations

    def marks(self, complaint: Complaint) -> list[tuple[str, str]]:
        """The clock warnings and breaches recorded, in order: (kind, clock)."""
        return [
            (event.kind, event.data["clock"])
            for event in self.engine.history(complaint.id)
            if event.kind in ("clock_warning", "clock_breached")
        ]


@pytest.fixture
def desk_for(captured: CapturedNotifications) -> Iterator[Any]:
    opened: list[Desk] = []

    def open_desk(pack: str, start: datetime) -> Desk:
        desk = Desk(pack, start, captured)
        opened.append(desk)
        return desk

    yield open_desk
    for desk in opened:
        desk.engine.close()


# -- every pack -----------------------------------------------------------------------------


def test_the_regulators_packs_are_shipped() -> None:
    assert set(SHIPPED) <= set(pack_names())


@pytest.mark.parametrize("name", SHIPPED)
def test_every_pack_loads_validates_and_cites_its_source(name: str) -> None:
    with Engine.open("memory://", workflow=name, load_entry_points=False) as engine:
        # Opening compiles the pack against the registered guards: every check runs.
        definition = engine.workflow()
    assert definition == load_pack(name)
    assert definition.problems(known_guards=["owner_with_contact"]) == []
    assert definition.clocks, "a rule pack promises deadlines"
    assert definition.escalation is not None
    for clock in definition.clocks:
        assert clock.title
        assert SOURCES[name] in clock.description, (
            f"{name}: clock {clock.name!r} must say where its rule comes from"
        )
        assert clock.calendar in {calendar.name for calendar in definition.calendars}


@pytest.mark.parametrize("name", SHIPPED)
def test_an_escalate_transition_always_has_a_level_above(name: str) -> None:
    definition = load_pack(name)
    assert definition.escalation is not None
    for ladder in definition.escalation.ladders:
        assert len(ladder.levels) >= 2
        if ESCALATE_TRIGGER in definition.triggers:
            # An emergency starts on the on-call level: the escalate step must still climb.
            assert ladder.emergency_level.number < ladder.top_level.number


def pack_section(name: str) -> str:
    text = (DOCS / "packs.md").read_text(encoding="utf-8")
    match = re.search(rf"^## `{name}`.*?(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/packs.md needs a section '## `{name}` ...'"
    return match.group(0)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_ladder_level_is_marked_as_a_placeholder(name: str) -> None:
    policy = load_pack(name).escalation
    assert policy is not None
    levels = [level for ladder in policy.ladders for level in ladder.levels]
    assert levels
    assert all(level.placeholder for level in levels)
    assert all(level.email.endswith("@example.org") for level in levels if level.email)


def test_escalating_to_a_pack_ladder_warns_that_its_contact_is_a_placeholder(
    desk_for: Any,
) -> None:
    desk = desk_for("tactics", utc(2026, 3, 2, 9))
    complaint = desk.receive()
    desk.fire(complaint, "thank", AGENT)
    with pytest.warns(PlaceholderContactWarning) as caught:
        escalated = desk.engine.escalate(complaint.id, actor=AGENT, reason="wants a supervisor")
    assert escalated.escalation_level == 2
    [warning] = caught
    assert str(warning.message).startswith(
        "CF-2026-000001 was escalated to level 2 (Supervisor (on call)), whose contact "
        "(complaints.supervisor@example.org, +44 20 7946 0100) is a placeholder"
    )


@pytest.mark.parametrize("name", [name for name in SHIPPED if name != "tactics"])
def test_docs_list_every_clock_with_its_duration(name: str) -> None:
    section = pack_section(name)
    for clock in load_pack(name).clocks:
        row = rf"^\| `{clock.name}` \| {re.escape(str(clock.duration))} \|"
        assert re.search(row, section, re.MULTILINE), (
            f"docs/packs.md, {name}: no clock row for {clock.name!r} ({clock.duration})"
        )


def test_the_tactics_page_lists_the_default_clocks() -> None:
    text = (DOCS / "tactics.md").read_text(encoding="utf-8")
    for clock in load_pack("tactics").clocks:
        assert re.search(
            rf"^\| `{clock.name}` \| {re.escape(str(clock.duration))} \|", text, re.MULTILINE
        )


# -- SPSO -----------------------------------------------------------------------------------


def test_spso_stage_1_over_scottish_christmas_and_new_year(desk_for: Any) -> None:
    desk = desk_for("spso", utc(2025, 12, 24, 10, 0))
    # Received Wednesday 24 December 2025, 10:00 GMT. Scottish bank holidays: Thu 25 and
    # Fri 26 December, Thu 1 and Fri 2 January. Working days after the receipt day:
    # Mon 29 (1), Tue 30 (2), Wed 31 (3), Mon 5 Jan (4), Tue 6 Jan (5): due Tuesday
    # 6 January 2026 at close of business, 17:00 GMT. (In England 2 January is a working
    # day, so the same complaint would be due a day earlier.)
    complaint = desk.receive()
    desk.engine.assign(complaint.id, AGENT, actor=AGENT)
    stage_1 = desk.clock_of(complaint, "stage_1")
    assert stage_1.deadline == utc(2026, 1, 6, 17, 0)
    assert not desk.engine.workflow().calendar("scotland").is_working_day(date(2026, 1, 2))
    # Warned 8 working hours (one working day) before: the close of Monday 5 January.
    assert stage_1.warning_at == utc(2026, 1, 5, 17, 0)
    assert desk.sweep(utc(2026, 1, 5, 16, 59)) == (0, 0, 0)
    assert desk.sweep(utc(2026, 1, 5, 17, 0)) == (1, 0, 0)
    assert desk.sweep(utc(2026, 1, 6, 16, 59)) == (0, 0, 0)
    # A missed stage 1 is notified, not escalated: the escalate step takes it to stage 2.
    assert desk.sweep(utc(2026, 1, 6, 17, 0)) == (0, 1, 0)
    assert desk.marks(complaint) == [("clock_warning", "stage_1"), ("clock_breached", "stage_1")]
    desk.engine.deliver()
    assert desk.captured.topics[-2:] == ["spso.deadline_warning", "spso.deadline_missed"]
    assert desk.engine.get(complaint.id).escalation_level == 1


def test_spso_stage_2_clocks_start_when_the_complaint_is_escalated(desk_for: Any) -> None:
    desk = desk_for("spso", utc(2026, 1, 5, 9, 0))
    complaint = desk.receive()
    desk.at(utc(2026, 1, 7, 11, 0))
    decided = desk.fire(complaint, "decide_stage_1", AGENT, stage_1_decision="Not upheld")
    stage_1 = decided.clock("stage_1")
    assert stage_1 is not None
    assert stage_1.status is ClockStatus.STOPPED
    assert decided.clock("stage_2_response") is None  # not started before stage 2
    # The customer is still dissatisfied and asks for stage 2 on Monday 12 January, 14:00.
    desk.at(utc(2026, 1, 12, 14, 0))
    escalated = desk.fire(complaint, "escalate", AGENT)
    assert (escalated.state, escalated.escalation_level) == ("stage_2", 2)
    assert escalated.owner is not None
    assert escalated.owner.role == "investigator"
    acknowledgement = desk.clock_of(complaint, "stage_2_acknowledgement")
    response = desk.clock_of(complaint, "stage_2_response")
    assert acknowledgement.started_at == response.started_at == utc(2026, 1, 12, 14, 0)
    # 3 working days after Mon 12 January: Tue 13, Wed 14, Thu 15 -> Thu 15, 17:00 GMT.
    assert acknowledgement.deadline == utc(2026, 1, 15, 17, 0)
    # 20 working days: 13-16 Jan (4), 19-23 (9), 26-30 (14), 2-6 Feb (19), Mon 9 Feb (20).
    assert response.deadline == utc(2026, 2, 9, 17, 0)
    # Warned 16 working hours (two working days) before: close of Thursday 5 February.
    assert response.warning_at == utc(2026, 2, 5, 17, 0)
    desk.at(utc(2026, 1, 14, 10, 0))
    desk.fire(complaint, "acknowledge_stage_2", INVESTIGATOR)
    assert desk.clock_of(complaint, "stage_2_acknowledgement").status is ClockStatus.STOPPED
    assert desk.sweep(utc(2026, 1, 15, 17, 0)) == (0, 0, 0)  # acknowledged in time
    assert desk.sweep(utc(2026, 2, 5, 17, 0)) == (1, 0, 0)
    # A missed stage 2 response climbs to the senior manager.
    assert desk.sweep(utc(2026, 2, 9, 17, 0)) == (0, 1, 1)
    late = desk.engine.get(complaint.id)
    assert late.escalation_level == 3
    assert late.owner is not None
    assert late.owner.email == "complaints.manager@example.org"
    assert desk.marks(complaint) == [
        ("clock_warning", "stage_2_response"),
        ("clock_breached", "stage_2_response"),
    ]


def test_spso_a_complex_complaint_goes_straight_to_stage_2(desk_for: Any) -> None:
    desk = desk_for("spso", utc(2026, 3, 2, 9, 30))
    complaint = desk.receive()
    desk.at(utc(2026, 3, 2, 10, 0))
    desk.fire(complaint, "escalate", INVESTIGATOR)
    # Escalation stops stage 1, whose deadline (Mon 9 March) then never breaches.
    assert desk.clock_of(complaint, "stage_1").stopped_at == utc(2026, 3, 2, 10, 0)
    assert desk.sweep(utc(2026, 3, 9, 17, 0)) == (0, 1, 0)  # only the acknowledgement
    assert desk.marks(complaint) == [("clock_breached", "stage_2_acknowledgement")]


def test_spso_a_stage_1_extension_is_recorded_and_moves_the_warning(desk_for: Any) -> None:
    desk = desk_for("spso", utc(2026, 3, 2, 10, 0))
    complaint = desk.receive()
    # 5 working days after Monday 2 March: Monday 9 March, 17:00 GMT.
    assert desk.clock_of(complaint, "stage_1").deadline == utc(2026, 3, 9, 17, 0)
    # Exceptional circumstances: up to 5 more working days, agreed with the customer.
    scotland = desk.engine.workflow().calendar("scotland")
    until = scotland.deadline(complaint.received_at, "10 working days")
    assert until == utc(2026, 3, 16, 17, 0)
    desk.at(utc(2026, 3, 5, 12, 0))
    extended = desk.engine.extend_clock(
        complaint.id,
        "stage_1",
        until=until,
        actor=AGENT,
        reason="Waiting for the housing officer back from leave on 12 March",
    )
    stage_1 = extended.clock("stage_1")
    assert stage_1 is not None
    assert (stage_1.deadline, stage_1.extensions) == (until, 1)
    # The warning is recomputed for the new deadline: close of Friday 13 March.
    assert stage_1.warning_at == utc(2026, 3, 13, 17, 0)
    event = desk.engine.history(complaint.id)[-1]
    assert (event.kind, event.data["previous"]) == ("clock_extended", "2026-03-09T17:00:00+00:00")
    assert desk.engine.outbox(complaint.id)[-1].recipient == "customer"
    with pytest.raises(ClockError, match="later than"):
        desk.engine.extend_clock(
            complaint.id, "stage_1", until=utc(2026, 3, 9, 17, 0), actor=AGENT, reason="shorter"
        )
    assert desk.sweep(utc(2026, 3, 9, 17, 0)) == (0, 0, 0)
    assert desk.sweep(utc(2026, 3, 13, 17, 0)) == (1, 0, 0)
    assert desk.sweep(utc(2026, 3, 16, 17, 0)) == (0, 1, 0)


def test_spso_the_customer_goes_to_the_ombudsman_after_stage_2(desk_for: Any) -> None:
    desk = desk_for("spso", utc(2026, 3, 2, 10, 0))
    complaint = desk.receive()
    with pytest.raises(TriggerNotAllowedError):
        desk.fire(complaint, "refer_to_spso", AGENT, spso_reference="202600123")
    desk.fire(complaint, "decide_stage_1", AGENT, stage_1_decision="Partly upheld")
    desk.fire(complaint, "escalate", AGENT)
    desk.fire(complaint, "acknowledge_stage_2", INVESTIGATOR)
    decided = desk.fire(complaint, "decide_stage_2", MANAGER, stage_2_decision="Not upheld")
    assert decided.state == "stage_2_decided"
    assert decided.due_at is None  # every clock has stopped
    referred = desk.fire(complaint, "refer_to_spso", AGENT, spso_reference="202600123")
    assert referred.state == "referred_to_spso"
    assert all(state.status is ClockStatus.STOPPED for state in referred.clocks)


def test_spso_an_emergency_starts_on_call_and_can_still_reach_stage_2(desk_for: Any) -> None:
    desk = desk_for("spso", utc(2026, 3, 2, 10, 0))
    complaint = desk.receive(severity=Severity.EMERGENCY, summary="Broken heating, tenant is 90")
    assert complaint.escalation_level == 2
    assert complaint.owner is not None
    assert complaint.owner.phone == "+44 131 496 0000"
    escalated = desk.fire(complaint, "escalate", INVESTIGATOR)
    assert (escalated.state, escalated.escalation_level) == ("stage_2", 3)


# -- FCA ------------------------------------------------------------------------------------

# Thursday 2 April 2026, 11:00 BST. English bank holidays: Good Friday 3 April and Easter
# Monday 6 April, so the business days after the day of receipt are Tue 7 (1), Wed 8 (2),
# Thu 9 (3), Fri 10 (4), Mon 13 (5)...; close of business is 17:00 BST = 16:00 UTC.
EASTER_THURSDAY = utc(2026, 4, 2, 10, 0)


def test_fca_deadlines_around_easter_2026(desk_for: Any) -> None:
    desk = desk_for("fca", EASTER_THURSDAY)
    complaint = desk.receive()
    desk.engine.assign(complaint.id, AGENT, actor=AGENT)
    acknowledge = desk.clock_of(complaint, "acknowledge")
    summary = desk.clock_of(complaint, "summary_resolution")
    final = desk.clock_of(complaint, "final_response")
    # "Prompt" read as the close of the next business day: Tuesday 7 April.
    assert acknowledge.deadline == utc(2026, 4, 7, 16, 0)
    # 4 working hours before it: 6 hours on Thursday + 8 on Tuesday = 14, minus 4 = 10
    # hours in: Tuesday 13:00 BST.
    assert acknowledge.warning_at == utc(2026, 4, 7, 12, 0)
    # DISP 1.5.1R: close of business on the 3rd business day following receipt: Thu 9 April.
    assert summary.deadline == utc(2026, 4, 9, 16, 0)
    # DISP 1.6.2R: the end of 8 weeks: 2 April + 56 days = 28 May, ends at midnight BST.
    assert final.deadline == utc(2026, 5, 28, 23, 0)
    assert final.warning_at == utc(2026, 5, 21, 23, 0)  # 7 days before
    assert desk.sweep(utc(2026, 4, 7, 12, 0)) == (1, 0, 0)
    assert desk.sweep(utc(2026, 4, 7, 16, 0)) == (0, 1, 0)
    assert desk.sweep(utc(2026, 4, 9, 16, 0)) == (0, 1, 0)
    assert desk.sweep(utc(2026, 5, 21, 22, 59)) == (0, 0, 0)
    assert desk.sweep(utc(2026, 5, 21, 23, 0)) == (1, 0, 0)
    assert desk.sweep(utc(2026, 5, 28, 23, 0)) == (0, 1, 1)
    assert desk.marks(complaint) == [
        ("clock_warning", "acknowledge"),
        ("clock_breached", "acknowledge"),
        ("clock_breached", "summary_resolution"),
        ("clock_warning", "final_response"),
        ("clock_breached", "final_response"),
    ]
    late = desk.engine.get(complaint.id)
    assert late.escalation_level == 2
    assert late.owner is not None
    assert late.owner.email == "complaints.lead@example.org"
    assert late.due_at is None  # every running clock has breached


def test_fca_summary_resolution_by_close_of_the_third_business_day(desk_for: Any) -> None:
    desk = desk_for("fca", EASTER_THURSDAY)
    complaint = desk.receive()
    desk.at(utc(2026, 4, 9, 15, 59))  # 16:59 BST on the 3rd business day
    resolved = desk.fire(
        complaint, "send_summary_resolution", AGENT, resolution="Fee refunded, apology given"
    )
    assert resolved.state == "summary_resolution_sent"
    summary = resolved.clock("summary_resolution")
    assert summary is not None
    assert summary.status is ClockStatus.STOPPED
    # The window's end stays readable: the resolution came inside it.
    assert summary.stopped_at is not None
    assert summary.stopped_at <= summary.deadline
    assert resolved.due_at is None
    assert desk.sweep(utc(2026, 6, 1, 0, 0)) == (0, 0, 0)
    assert desk.fire(complaint, "close", AGENT).state == "closed"


def test_fca_an_acknowledged_complaint_follows_the_eight_week_path(desk_for: Any) -> None:
    desk = desk_for("fca", EASTER_THURSDAY)
    complaint = desk.receive()
    desk.at(utc(2026, 4, 7, 9, 0))
    acknowledged = desk.fire(complaint, "acknowledge", AGENT)
    assert acknowledged.state == "investigating"
    # The acknowledgement stops both early clocks; only the 8 weeks run on.
    assert [state.name for state in acknowledged.clocks if state.running] == ["final_response"]
    assert desk.sweep(utc(2026, 4, 9, 16, 0)) == (0, 0, 0)
    desk.at(utc(2026, 5, 27, 9, 0))
    holding = desk.fire(
        complaint,
        "send_holding_response",
        SUPERVISOR,
        reasons_for_delay="Waiting for the insurer's report",
        expected_final_response="2026-06-30",
    )
    assert holding.due_at is None  # a holding response in time meets DISP 1.6.2R
    assert desk.sweep(utc(2026, 5, 28, 23, 0)) == (0, 0, 0)
    desk.at(utc(2026, 6, 29, 10, 0))
    final = desk.fire(complaint, "send_final_response", SUPERVISOR, final_response="Upheld")
    assert final.state == "final_response_sent"
    referred = desk.fire(complaint, "refer_to_ombudsman", AGENT, ombudsman_reference="FOS-1")
    assert referred.state == "referred_to_ombudsman"


def test_fca_payments_15_business_days_or_35_with_a_holding_reply(desk_for: Any) -> None:
    desk = desk_for("fca_payments", EASTER_THURSDAY)
    on_time = desk.receive()
    exceptional = desk.receive(summary="Transfer lost")
    final = desk.clock_of(on_time, "final_response")
    outer = desk.clock_of(on_time, "final_response_exceptional")
    # 15 business days after Thu 2 April: 7-10 April (4), 13-17 (9), 20-24 (14), Mon 27 (15).
    assert final.deadline == utc(2026, 4, 27, 16, 0)
    # 35: 28-30 April, 1 May (19); Mon 4 May is a bank holiday; 5-8 (23), 11-15 (28),
    # 18-22 (33); Mon 25 May is a bank holiday; Tue 26 (34), Wed 27 May (35).
    assert outer.deadline == utc(2026, 5, 27, 16, 0)
    # Warned 16 working hours before 15 days: the close of the 13th, Thursday 23 April.
    assert final.warning_at == utc(2026, 4, 23, 16, 0)
    desk.at(utc(2026, 4, 7, 9, 0))
    for complaint in (on_time, exceptional):
        desk.fire(complaint, "acknowledge", AGENT)
    desk.at(utc(2026, 4, 20, 10, 0))
    holding = desk.fire(
        exceptional,
        "send_holding_response",
        SUPERVISOR,
        reasons_for_delay="The receiving bank has not answered our recall",
        expected_final_response="2026-05-20",
    )
    assert [state.name for state in holding.clocks if state.running] == [
        "final_response_exceptional"
    ]
    assert desk.sweep(utc(2026, 4, 23, 16, 0)) == (1, 0, 0)  # only the one without a reply
    assert desk.sweep(utc(2026, 4, 27, 16, 0)) == (0, 1, 1)
    assert desk.marks(exceptional) == []
    assert desk.marks(on_time) == [
        ("clock_warning", "final_response"),
        ("clock_breached", "final_response"),
    ]
    # 35 business days is the outer limit for both.
    assert desk.sweep(utc(2026, 5, 27, 16, 0)) == (0, 2, 2)
    assert desk.engine.get(exceptional.id).escalation_level == 2
    assert desk.engine.get(on_time.id).escalation_level == 3


# -- CFPB -----------------------------------------------------------------------------------


def test_cfpb_15_and_60_calendar_days_in_new_york(desk_for: Any) -> None:
    # Sent to the company on Monday 2 March 2026 at 23:30 EST, already 3 March in UTC: the
    # days count from the New York date. 2 March + 15 = 17 March, which ends at midnight
    # EDT (clocks went forward on 8 March) = 04:00 UTC on 18 March; + 60 = 1 May, ending
    # at 04:00 UTC on 2 May.
    desk = desk_for("cfpb", utc(2026, 3, 3, 4, 30))
    complaint = desk.receive()
    response = desk.clock_of(complaint, "response")
    final = desk.clock_of(complaint, "final_response")
    assert response.deadline == utc(2026, 3, 18, 4, 0)
    assert final.deadline == utc(2026, 5, 2, 4, 0)
    assert response.warning_at == utc(2026, 3, 16, 4, 0)  # 48 hours before
    assert final.warning_at == utc(2026, 4, 25, 4, 0)  # 7 days before
    desk.at(utc(2026, 3, 10, 15, 0))
    in_progress = desk.fire(
        complaint,
        "respond_in_progress",
        AGENT,
        progress_explanation="We are reviewing the account statements",
    )
    assert [state.name for state in in_progress.clocks if state.running] == ["final_response"]
    assert desk.sweep(utc(2026, 3, 18, 4, 0)) == (0, 0, 0)
    assert desk.sweep(utc(2026, 4, 25, 4, 0)) == (1, 0, 0)
    desk.at(utc(2026, 4, 28, 15, 0))
    responded = desk.fire(
        complaint,
        "respond",
        AGENT,
        response_category="Closed with monetary relief",
        response="Late fee of 35 USD refunded",
    )
    assert responded.due_at is None
    assert desk.fire(complaint, "close", AGENT).state == "closed"


def test_cfpb_weekends_and_holidays_count_and_misses_escalate(desk_for: Any) -> None:
    # Friday 22 May 2026, 10:00 EDT; Memorial Day (Mon 25 May) counts like any day.
    # 22 May + 15 = Saturday 6 June: due at its end, 04:00 UTC on Sunday 7 June.
    desk = desk_for("cfpb", utc(2026, 5, 22, 14, 0))
    complaint = desk.receive()
    assert desk.clock_of(complaint, "response").deadline == utc(2026, 6, 7, 4, 0)
    # Swept only after the deadline: the breach is recorded, the moot warning is not.
    assert desk.sweep(utc(2026, 6, 7, 4, 0)) == (0, 1, 1)
    assert desk.engine.get(complaint.id).escalation_level == 2
    # 22 May + 60 = 21 July, ending 04:00 UTC on 22 July.
    assert desk.sweep(utc(2026, 7, 22, 4, 0)) == (0, 1, 1)
    assert desk.engine.get(complaint.id).escalation_level == 3


# -- TACTICS defaults --------------------------------------------------------------------------


def test_tactics_default_deadlines_warn_and_breach(desk_for: Any) -> None:
    desk = desk_for("tactics", utc(2026, 3, 2, 10, 0))  # Monday, GMT
    complaint = desk.receive()
    desk.engine.assign(complaint.id, AGENT, actor=AGENT)
    # Thank by the close of the next working day, warned 2 working hours before.
    thank = desk.clock_of(complaint, "thank")
    assert (thank.deadline, thank.warning_at) == (utc(2026, 3, 3, 17, 0), utc(2026, 3, 3, 15, 0))
    # A named owner within 3 working days: Thursday 5 March.
    assert desk.clock_of(complaint, "owner").deadline == utc(2026, 3, 5, 17, 0)
    # Resolve within 8 weeks: 2 March + 56 = 27 April, ending at midnight BST.
    resolve = desk.clock_of(complaint, "resolve")
    assert (resolve.deadline, resolve.warning_at) == (
        utc(2026, 4, 27, 23, 0),
        utc(2026, 4, 20, 23, 0),
    )
    assert desk.sweep(utc(2026, 3, 3, 15, 0)) == (1, 0, 0)
    desk.at(utc(2026, 3, 3, 16, 0))
    for trigger in ("thank", "apologise"):
        desk.fire(complaint, trigger, AGENT)
    desk.fire(complaint, "collect_information", AGENT, facts="Size 8 sent instead of 10")
    assert desk.sweep(utc(2026, 3, 3, 17, 0)) == (0, 0, 0)  # thanked in time
    assert desk.sweep(utc(2026, 3, 5, 13, 0)) == (1, 0, 0)  # owner: 4 working hours before
    assert desk.sweep(utc(2026, 3, 5, 17, 0)) == (0, 1, 0)  # notified, not escalated
    assert desk.sweep(utc(2026, 4, 20, 23, 0)) == (1, 0, 0)
    assert desk.sweep(utc(2026, 4, 27, 23, 0)) == (0, 1, 1)
    late = desk.engine.get(complaint.id)
    assert late.escalation_level == 2
    assert late.owner is not None
    assert late.owner.role == "supervisor"
    assert desk.marks(complaint) == [
        ("clock_warning", "thank"),
        ("clock_warning", "owner"),
        ("clock_breached", "owner"),
        ("clock_warning", "resolve"),
        ("clock_breached", "resolve"),
    ]


def test_tactics_reopening_starts_a_new_resolution_clock(desk_for: Any) -> None:
    desk = desk_for("tactics", utc(2026, 3, 2, 10, 0))
    complaint = desk.receive()
    desk.engine.assign(complaint.id, AGENT, actor=AGENT)
    steps: list[tuple[str, dict[str, str]]] = [
        ("thank", {}),
        ("apologise", {}),
        ("collect_information", {"facts": "Dented"}),
        ("take_action", {"action": "Replacement"}),
        ("put_it_right", {}),
        ("confirm_satisfied", {"customer_feedback": "Fine"}),
        ("summarise", {"resolution": "Replaced", "timeline": "Two days"}),
        ("close", {}),
    ]
    for trigger, data in steps:
        desk.fire(complaint, trigger, AGENT, **data)
    closed = desk.engine.get(complaint.id)
    # No clock is due any more; the satisfaction survey's reminder is (docs/satisfaction.md).
    assert all(state.status is ClockStatus.STOPPED for state in closed.clocks)
    assert closed.due_at == timers_due(closed.data[TIMERS_KEY])
    desk.at(utc(2026, 6, 1, 9, 0))  # Monday 1 June, 10:00 BST
    reopened = desk.fire(complaint, "reopen", SUPERVISOR, reopen_reason="Dented again")
    resolve = reopened.clock("resolve")
    assert resolve is not None
    assert resolve.running
    # 1 June + 56 days = 27 July, ending at midnight BST.
    assert (resolve.started_at, resolve.deadline) == (
        utc(2026, 6, 1, 9, 0),
        utc(2026, 7, 27, 23, 0),
    )
    # Thank and owner ran once, from receipt: reopening does not restart them.
    assert [state.name for state in reopened.clocks if state.running] == ["resolve"]


def test_tactics_escalate_climbs_the_default_ladder_to_the_top(desk_for: Any) -> None:
    desk = desk_for("tactics", utc(2026, 3, 2, 10, 0))
    complaint = desk.receive()
    for trigger, data in [
        ("thank", {}),
        ("apologise", {}),
        ("collect_information", {"facts": "Boiler fails"}),
    ]:
        desk.fire(complaint, trigger, AGENT, **data)
    first = desk.fire(complaint, "escalate", AGENT)
    assert first.escalation_level == 2
    assert first.owner is not None
    assert first.owner.email == "complaints.supervisor@example.org"
    desk.fire(complaint, "collect_information", SUPERVISOR)
    second = desk.fire(complaint, "escalate", SUPERVISOR)
    assert second.escalation_level == 3
    desk.fire(complaint, "collect_information", MANAGER)
    before = desk.engine.history(complaint.id)
    with pytest.raises(EscalationError, match="top level"):
        desk.fire(complaint, "escalate", MANAGER)
    assert desk.engine.history(complaint.id) == before


def test_tactics_authority_limits_follow_the_ladder(desk_for: Any) -> None:
    desk = desk_for("tactics", utc(2026, 3, 2, 10, 0))
    complaint = desk.receive()
    desk.engine.grant_remedy(complaint.id, Remedy(kind="refund", amount="25"), actor=AGENT)
    with pytest.raises(AuthorityExceededError, match="Supervisor"):
        desk.engine.grant_remedy(complaint.id, Remedy(kind="refund", amount="26"), actor=AGENT)
    desk.engine.grant_remedy(complaint.id, Remedy(kind="refund", amount="250"), actor=SUPERVISOR)
    with pytest.raises(AuthorityExceededError, match="Complaints manager"):
        desk.engine.grant_remedy(
            complaint.id, Remedy(kind="goodwill_payment", amount="251"), actor=SUPERVISOR
        )
    desk.engine.grant_remedy(
        complaint.id, Remedy(kind="goodwill_payment", amount="5000"), actor=MANAGER
    )


def test_a_complaint_logged_late_counts_from_its_receipt(desk_for: Any) -> None:
    # A letter received on Thursday 2 April and logged on Tuesday 7 April: DISP counts
    # from receipt, so the summary window still ends on Thursday 9 April.
    desk = desk_for("fca", utc(2026, 4, 7, 9, 0))
    complaint = desk.receive(channel="letter", received_at=EASTER_THURSDAY)
    assert desk.clock_of(complaint, "summary_resolution").deadline == utc(2026, 4, 9, 16, 0)


# -- any sequence of steps ---------------------------------------------------------------------

STEPS = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 240), st.booleans()), min_size=1, max_size=12
)


@pytest.mark.parametrize("name", SHIPPED)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_any_walk_through_a_pack_keeps_its_clocks_consistent(
    name: str, steps: list[tuple[int, int, bool]]
) -> None:
    definition = load_pack(name)
    book = compile_workflow(definition).clocks
    assert definition.escalation is not None
    ladder_size = len(definition.escalation.default_ladder.levels)
    clock = ManualClock(utc(2026, 3, 2, 9, 0))
    with Engine.open("memory://", workflow=name, clock=clock, load_entry_points=False) as engine:
        complaint = engine.receive(Intake(channel="email", customer=ADA, summary="Walk"))
        engine.assign(complaint.id, MANAGER, actor=MANAGER)
        for choice, hours, sweep in steps:
            clock.advance(hours=hours)
            if sweep:
                engine.sweep(clock())
                # Each due action is taken once: an immediate second sweep finds nothing.
                assert engine.sweep(clock()).actions == 0
            else:
                current = engine.get(complaint.id)
                triggers = engine.triggers(complaint.id, MANAGER)
                if triggers:
                    trigger = triggers[choice % len(triggers)]
                    [transition] = [
                        t
                        for t in definition.transitions
                        if t.trigger == trigger and current.state in t.sources
                    ]
                    data = {key: f"{key} given" for key in transition.requires}
                    try:
                        engine.fire(complaint.id, trigger, actor=MANAGER, data=data)
                    except EscalationError:
                        assert trigger == ESCALATE_TRIGGER  # the top of the ladder
            current = engine.get(complaint.id)
            assert book.replay(engine.history(complaint.id)) == current.clocks
            # The due time is the clocks' and the timers' (a satisfaction survey's).
            timers = timers_due(current.data.get(TIMERS_KEY))
            assert current.due_at == earliest(book.due_at(current.clocks), timers)
            assert 1 <= current.escalation_level <= ladder_size
            if current.state in definition.terminal_states:
                assert current.due_at == timers
                assert all(state.status is ClockStatus.STOPPED for state in current.clocks)
            for state in current.clocks:
                assert state.started_at <= state.deadline
                if state.warning_at is not None:
                    assert state.warning_at <= state.deadline
