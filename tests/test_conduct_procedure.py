"""The stop procedure, step by step: every rule, every refusal, the notices and the sweep.

Each refusal is checked to leave the customer's conduct record, its events and
the outbox exactly as they were.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from complaint_flow import Actor, Customer, Engine, Intake
from complaint_flow.errors import (
    ConductError,
    ConflictOfInterestError,
    InvalidArgumentError,
    NotAuthorisedError,
    UnknownChannelError,
)
from complaint_flow.fsm.conduct_machine import (
    CONDUCT_TRANSITIONS,
    ConductTrigger,
    conduct_machine,
    destination,
)
from complaint_flow.model.clock import ManualClock
from complaint_flow.model.conduct import ConductStatus, Restriction, RestrictionKind
from complaint_flow.model.entities import SYSTEM, Complaint, OutboxMessage
from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.services.conduct_desk import ConductDesk, ConductPolicy
from complaint_flow.testing.capture import CapturedNotifications

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
ADA = Customer(id="C-1", name="Ada Byron", email="ada@example.org", postal_address="1 Lane")
SUPERVISOR = Actor(id="S-1", name="Sam", role="supervisor")
MANAGER = Actor(id="M-1", name="Mo", role="manager")
OTHER_MANAGER = Actor(id="M-2", name="Meg", role="manager")
DIRECTOR = Actor(id="D-1", name="Dee", role="director")
AGENT = Actor(id="A-1", name="Al", role="agent")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    with Engine.open("memory://", clock=clock) as opened:
        yield opened


def desk_of(engine: Engine, policy: ConductPolicy | None = None) -> ConductDesk:
    """The engine's desk (or one of our own with ``policy``)."""
    wired = getattr(engine, "conduct", None)
    if policy is None and isinstance(wired, ConductDesk):
        return wired
    return ConductDesk(engine, policy)


@pytest.fixture
def desk(engine: Engine) -> ConductDesk:
    return desk_of(engine)


def later(clock: ManualClock, days: int = 90) -> datetime:
    return clock() + timedelta(days=days)


def warned(desk: ConductDesk, customer: Customer = ADA) -> None:
    desk.warn(customer, actor=SUPERVISOR, reason="Abusive calls on 27 and 28 February.")


def restricted(desk: ConductDesk, clock: ManualClock, customer: Customer = ADA) -> None:
    warned(desk, customer)
    desk.restrict(
        customer,
        [Restriction.written_only(), Restriction.contact_limit(2, 7)],
        actor=MANAGER,
        reasons="The calls continued after the warning.",
        review_at=later(clock),
    )


def snapshot(engine: Engine, customer_id: str = "C-1") -> tuple[Any, ...]:
    record = engine.store.conduct_get(customer_id)
    record_id = f"conduct:{customer_id}"
    return (
        record,
        engine.store.conduct_events(customer_id),
        engine.store.outbox(record_id),
    )


def refused(
    engine: Engine, error: type[Exception], call: Callable[[], object], match: str = ""
) -> None:
    """``call`` raises ``error`` and changes nothing stored."""
    before = snapshot(engine)
    with pytest.raises(error, match=match or None):
        call()
    assert snapshot(engine) == before


# -- the machine ----------------------------------------------------------------


def test_the_machine_is_compiled_once_and_shared() -> None:
    machine = conduct_machine()
    assert machine is conduct_machine()
    assert machine.machine.models == []  # model=None: no record is bound to it


@pytest.mark.parametrize(
    ("trigger", "source", "dest"),
    [(t.trigger, source, t.dest) for t in CONDUCT_TRANSITIONS for source in t.sources],
)
def test_every_transition_goes_where_the_data_says(
    trigger: ConductTrigger, source: ConductStatus, dest: ConductStatus
) -> None:
    assert destination(source, trigger) is dest


def test_a_step_that_does_not_apply_names_the_steps_that_do() -> None:
    with pytest.raises(ConductError, match="'warn', 'restrict'") as caught:
        destination(ConductStatus.NORMAL, "appeal")
    assert "normal" in str(caught.value)
    with pytest.raises(ConductError, match="unknown conduct step 'pardon'"):
        destination(ConductStatus.NORMAL, "pardon")


def test_restrictions_are_only_in_force_where_the_machine_arrives_by_a_decision() -> None:
    # Every transition into a restricting status from a non-restricting one is restrict.
    for t in CONDUCT_TRANSITIONS:
        for source in t.sources:
            if t.dest.restricts and not source.restricts:
                assert t.trigger is ConductTrigger.RESTRICT
    for t in CONDUCT_TRANSITIONS:
        if t.trigger in (ConductTrigger.LIFT, ConductTrigger.LAPSE):
            assert set(t.sources) == {s for s in ConductStatus if s.restricts}


# -- the procedure --------------------------------------------------------------


def test_a_case_from_warning_to_lift(desk: ConductDesk, engine: Engine, clock: ManualClock) -> None:
    record = desk.warn(ADA, actor=SUPERVISOR, reason="Abusive calls.")
    assert (record.status, record.version, record.decided_by) == (ConductStatus.WARNED, 1, "S-1")
    assert record.involved == ("S-1",)
    review_at = later(clock)
    record = desk.restrict(
        "C-1",
        [Restriction.written_only()],
        actor=MANAGER,
        reasons="Calls continued.",
        review_at=review_at,
    )
    assert record.status is ConductStatus.RESTRICTED
    assert record.restrictions == (Restriction.written_only(),)
    assert (record.review_at, record.reasons, record.decided_by) == (
        review_at,
        "Calls continued.",
        "M-1",
    )
    assert record.involved == ("S-1", "M-1")
    record = desk.appeal("C-1", grounds="I was upset.", actor=AGENT, received_via="letter")
    assert (record.status, record.appeal_grounds) == (ConductStatus.UNDER_APPEAL, "I was upset.")
    assert record.restricted
    record = desk.decide_appeal(
        "C-1", restriction_stands=True, actor=DIRECTOR, reasons="Proportionate."
    )
    assert (record.status, record.decided_by) == (ConductStatus.REVIEWED, "D-1")
    assert record.restrictions == (Restriction.written_only(),)
    new_review = later(clock, 200)
    record = desk.review(
        "C-1", actor=OTHER_MANAGER, reasons="Still needed.", extend_until=new_review
    )
    assert (record.status, record.review_at) == (ConductStatus.EXTENDED, new_review)
    assert record.involved == ("S-1", "M-1", "M-2")
    record = desk.lift("C-1", actor=MANAGER, reasons="Behaviour improved.")
    assert record.status is ConductStatus.LAPSED
    assert (record.restrictions, record.review_at) == ((), None)
    assert not record.restricted
    history = desk.history("C-1")
    assert [e.kind for e in history] == [
        "warned",
        "restricted",
        "appealed",
        "appeal_decided",
        "extended",
        "lifted",
    ]
    assert [e.seq for e in history] == list(range(1, 7))
    assert record.version == 6
    assert [(e.source, e.dest) for e in history][1] == ("warned", "restricted")
    assert history[2].data["received_via"] == "letter"
    assert engine.store.conduct_get("C-1") == record


def test_an_overturned_appeal_ends_the_restriction(desk: ConductDesk, clock: ManualClock) -> None:
    restricted(desk, clock)
    desk.appeal("C-1", grounds="Unfair.", actor=AGENT)
    record = desk.decide_appeal(
        "C-1", restriction_stands=False, actor=DIRECTOR, reasons="Too strict."
    )
    assert (record.status, record.restrictions, record.review_at) == (
        ConductStatus.LAPSED,
        (),
        None,
    )
    assert desk.history("C-1")[-1].data["restriction_stands"] is False


def test_a_review_without_extension_lets_the_restriction_go(
    desk: ConductDesk, clock: ManualClock
) -> None:
    restricted(desk, clock)
    record = desk.review("C-1", actor=DIRECTOR, reasons="No longer needed.")
    assert (record.status, record.restrictions) == (ConductStatus.LAPSED, ())
    event = desk.history("C-1")[-1]
    assert (event.kind, event.actor, event.data["reviewed"]) == ("lapsed", DIRECTOR, True)


def test_an_extension_may_change_the_restrictions(desk: ConductDesk, clock: ManualClock) -> None:
    restricted(desk, clock)
    record = desk.review(
        "C-1",
        actor=DIRECTOR,
        reasons="Calls are the problem now.",
        extend_until=later(clock, 100),
        restrictions=[Restriction.call_time_limit(15)],
    )
    assert record.restrictions == (Restriction.call_time_limit(15),)
    assert record.restriction(RestrictionKind.CALL_TIME_LIMIT) is not None


def test_restricting_without_a_warning_needs_a_recorded_reason(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    refused(
        engine,
        ConductError,
        lambda: desk.restrict(
            ADA,
            [Restriction.written_only()],
            actor=MANAGER,
            reasons="Threats to staff.",
            review_at=later(clock),
        ),
        "skip_warning_reason",
    )
    record = desk.restrict(
        ADA,
        [Restriction.single_point_of_contact("officer@org.example", "Pat Officer")],
        actor=MANAGER,
        reasons="Threats to staff.",
        review_at=later(clock),
        skip_warning_reason="Staff safety: threats made on 1 March.",
    )
    assert (record.status, record.version, record.involved) == (
        ConductStatus.RESTRICTED,
        1,
        ("M-1",),
    )
    event = desk.history("C-1")[0]
    assert event.data["skip_warning_reason"] == "Staff safety: threats made on 1 March."


def test_a_new_cycle_after_a_lapse_starts_with_new_people_involved(
    desk: ConductDesk, clock: ManualClock
) -> None:
    restricted(desk, clock)
    desk.lift("C-1", actor=DIRECTOR, reasons="Improved.")
    record = desk.warn("C-1", actor=OTHER_MANAGER, reason="Again.")
    assert record.involved == ("M-2",)
    record = desk.restrict(
        "C-1",
        [Restriction.written_only()],
        actor=DIRECTOR,
        reasons="Again.",
        review_at=later(clock),
    )
    assert record.involved == ("M-2", "D-1")
    desk.appeal("C-1", grounds="No.", actor=AGENT)
    # The first cycle's restrictor took no part in this decision.
    assert desk.decide_appeal(
        "C-1", restriction_stands=True, actor=MANAGER, reasons="Fair."
    ).status == (ConductStatus.REVIEWED)


# -- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actor", "step"),
    [
        (AGENT, "warn"),
        (AGENT, "restrict"),
        (SUPERVISOR, "restrict"),
        (SUPERVISOR, "review"),
        (SUPERVISOR, "lift"),
        (SYSTEM, "restrict"),
    ],
)
def test_a_decision_needs_an_authorised_role(
    desk: ConductDesk, engine: Engine, clock: ManualClock, actor: Actor, step: str
) -> None:
    if step in ("review", "lift"):
        restricted(desk, clock)
    else:
        warned(desk)
    calls: dict[str, Callable[[], object]] = {
        "warn": lambda: desk.warn("C-1", actor=actor, reason="Rude."),
        "restrict": lambda: desk.restrict(
            "C-1",
            [Restriction.written_only()],
            actor=actor,
            reasons="Rude.",
            review_at=later(clock),
        ),
        "review": lambda: desk.review(
            "C-1", actor=actor, reasons="Go on.", extend_until=later(clock)
        ),
        "lift": lambda: desk.lift("C-1", actor=actor, reasons="Enough."),
    }
    refused(engine, NotAuthorisedError, calls[step], repr(actor.role))


def test_roles_come_from_the_policy(engine: Engine, clock: ManualClock) -> None:
    desk = desk_of(engine, ConductPolicy(warning_roles=("agent",), decision_roles=("agent",)))
    desk.warn(ADA, actor=AGENT, reason="Rude.")
    record = desk.restrict(
        ADA,
        [Restriction.written_only()],
        actor=Actor(id="A-2", name="Ann", role="agent"),
        reasons="Rude.",
        review_at=later(clock),
    )
    assert record.restricted
    refused(
        engine,
        NotAuthorisedError,
        lambda: desk.lift("C-1", actor=MANAGER, reasons="No."),
        "'agent'",
    )


def test_an_appeal_is_never_decided_by_someone_involved(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    restricted(desk, clock)
    desk.appeal("C-1", grounds="Unfair.", actor=AGENT)
    for involved in (MANAGER, Actor(id="S-1", name="Sam", role="director")):
        refused(
            engine,
            ConflictOfInterestError,
            lambda actor=involved: desk.decide_appeal(  # type: ignore[misc]
                "C-1", restriction_stands=True, actor=actor, reasons="Fine."
            ),
            "took part",
        )
    refused(
        engine,
        NotAuthorisedError,
        lambda: desk.decide_appeal("C-1", restriction_stands=True, actor=AGENT, reasons="Fine."),
    )


def test_the_extender_is_involved_in_the_extension_appealed(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    restricted(desk, clock)
    desk.review("C-1", actor=DIRECTOR, reasons="Still.", extend_until=later(clock, 120))
    desk.appeal("C-1", grounds="Too long.", actor=AGENT)
    refused(
        engine,
        ConflictOfInterestError,
        lambda: desk.decide_appeal("C-1", restriction_stands=True, actor=DIRECTOR, reasons="Fine."),
    )
    assert desk.decide_appeal(
        "C-1", restriction_stands=True, actor=OTHER_MANAGER, reasons="Ok."
    ).status == (ConductStatus.REVIEWED)


@pytest.mark.parametrize(
    ("review_at", "match"),
    [
        (START - timedelta(days=1), "not in the future"),
        (START, "not in the future"),
        (START + timedelta(days=367), "more than 366 days"),
        (datetime(2026, 6, 1, 9), "timezone-aware"),
        ("2026-06-01", "timezone-aware"),
    ],
)
def test_a_review_date_must_be_ahead_and_within_the_limit(
    desk: ConductDesk, engine: Engine, review_at: Any, match: str
) -> None:
    warned(desk)
    refused(
        engine,
        ConductError,
        lambda: desk.restrict(
            "C-1",
            [Restriction.written_only()],
            actor=MANAGER,
            reasons="Rude.",
            review_at=review_at,
        ),
        match,
    )


def test_a_review_date_at_the_limit_is_accepted(desk: ConductDesk, clock: ManualClock) -> None:
    warned(desk)
    record = desk.restrict(
        "C-1",
        [Restriction.written_only()],
        actor=MANAGER,
        reasons="Rude.",
        review_at=later(clock, 366),
    )
    assert record.review_at == later(clock, 366)


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_reasons_are_required(
    desk: ConductDesk, engine: Engine, clock: ManualClock, blank: Any
) -> None:
    refused(engine, ConductError, lambda: desk.warn(ADA, actor=SUPERVISOR, reason=blank))
    warned(desk)
    refused(
        engine,
        ConductError,
        lambda: desk.restrict(
            "C-1",
            [Restriction.written_only()],
            actor=MANAGER,
            reasons=blank,
            review_at=later(clock),
        ),
        "reasons",
    )
    desk.restrict(
        "C-1", [Restriction.written_only()], actor=MANAGER, reasons="R.", review_at=later(clock)
    )
    refused(engine, ConductError, lambda: desk.appeal("C-1", grounds=blank, actor=AGENT))
    refused(engine, ConductError, lambda: desk.lift("C-1", actor=DIRECTOR, reasons=blank))
    refused(engine, ConductError, lambda: desk.review("C-1", actor=DIRECTOR, reasons=blank))


BAD_RESTRICTIONS: list[tuple[Any, str]] = [
    ([], "at least one restriction"),
    (Restriction.written_only(), "must be a list"),
    ([Restriction("bogus")], "unknown restriction kind 'bogus'"),  # type: ignore[arg-type]
    ([{"kind": "bogus"}], "unknown restriction kind 'bogus'"),
    ([{"kind": "written_only", "colour": "red"}], "unknown restriction setting"),
    (["written_only"], "must be a Restriction"),
    ([Restriction.contact_limit(0, 7)], "positive max_contacts"),
    ([Restriction.contact_limit(2, -1)], "positive max_contacts"),
    ([Restriction.call_time_limit(0)], "positive number of minutes"),
    ([Restriction.single_point_of_contact("", "Pat")], "single point of contact"),
    ([Restriction.single_point_of_contact("pat@org", " ")], "single point of contact"),
    ([Restriction.no_reopening()], "references of the decided complaints"),
    ([Restriction.no_reopening("CF-2026-999999")], "no complaint with reference"),
    ([Restriction.written_only(), {"kind": "written_only"}], "more than once"),
    ([Restriction(RestrictionKind.WRITTEN_ONLY, acknowledge="yes")], "acknowledge"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("restrictions", "match"), BAD_RESTRICTIONS)
def test_bad_restrictions_are_refused(
    desk: ConductDesk, engine: Engine, clock: ManualClock, restrictions: Any, match: str
) -> None:
    warned(desk)
    refused(
        engine,
        ConductError,
        lambda: desk.restrict(
            "C-1", restrictions, actor=MANAGER, reasons="Rude.", review_at=later(clock)
        ),
        match,
    )


def test_restrictions_may_be_given_as_mappings(desk: ConductDesk, clock: ManualClock) -> None:
    warned(desk)
    record = desk.restrict(
        "C-1",
        [{"kind": "contact_limit", "max_contacts": 3, "period_days": 14}],
        actor=MANAGER,
        reasons="Volume.",
        review_at=later(clock),
    )
    assert record.restrictions == (Restriction.contact_limit(3, 14),)
    assert record.restrictions[0].kind is RestrictionKind.CONTACT_LIMIT


def test_no_reopening_cites_the_customers_own_complaints(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    own = engine.receive(Intake(channel="email", customer=ADA, summary="Late parcel"))
    other = engine.receive(
        Intake(channel="email", customer=Customer(id="C-2", name="Bo"), summary="Broken parcel")
    )
    warned(desk)
    refused(
        engine,
        ConductError,
        lambda: desk.restrict(
            "C-1",
            [Restriction.no_reopening(other.reference)],
            actor=MANAGER,
            reasons="Repeats.",
            review_at=later(clock),
        ),
        "not a complaint of customer",
    )
    record = desk.restrict(
        "C-1",
        [Restriction.no_reopening(own.reference)],
        actor=MANAGER,
        reasons="Repeats.",
        review_at=later(clock),
    )
    assert record.restrictions[0].matters == (own.reference,)


@pytest.mark.parametrize(
    ("status_setup", "step"),
    [
        ("none", "appeal"),
        ("warned", "appeal"),
        ("warned", "decide"),
        ("restricted", "decide"),
        ("warned", "lift"),
        ("warned", "review"),
        ("none", "warn_again"),
        ("restricted", "warn_again"),
        ("under_appeal", "extend"),
        ("under_appeal", "appeal"),
    ],
)
def test_steps_out_of_order_are_refused(
    desk: ConductDesk, engine: Engine, clock: ManualClock, status_setup: str, step: str
) -> None:
    if status_setup == "warned":
        warned(desk)
    elif status_setup in ("restricted", "under_appeal"):
        restricted(desk, clock)
        if status_setup == "under_appeal":
            desk.appeal("C-1", grounds="No.", actor=AGENT)
    elif status_setup == "none":
        desk.record_adjustment(ADA, "Large print letters", actor=AGENT)
    if step == "warn_again" and status_setup == "none":
        warned(desk)
    calls: dict[str, Callable[[], object]] = {
        "appeal": lambda: desk.appeal("C-1", grounds="No.", actor=AGENT),
        "decide": lambda: desk.decide_appeal(
            "C-1", restriction_stands=True, actor=DIRECTOR, reasons="X."
        ),
        "lift": lambda: desk.lift("C-1", actor=DIRECTOR, reasons="X."),
        "review": lambda: desk.review("C-1", actor=DIRECTOR, reasons="X."),
        "warn_again": lambda: desk.warn("C-1", actor=SUPERVISOR, reason="Again."),
        "extend": lambda: desk.review(
            "C-1", actor=DIRECTOR, reasons="X.", extend_until=later(clock)
        ),
    }
    refused(engine, ConductError, calls[step], "possible steps are")


def test_bad_actors_and_channels_are_refused(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    refused(engine, ConductError, lambda: desk.warn(ADA, actor="S-1", reason="X."), "Actor")  # type: ignore[arg-type]
    restricted(desk, clock)
    refused(
        engine,
        UnknownChannelError,
        lambda: desk.appeal("C-1", grounds="No.", actor=AGENT, received_via="pigeon"),
    )
    refused(
        engine,
        UnknownChannelError,
        lambda: desk.record_adjustment("C-1", "Deaf", channels=("pigeon",), actor=AGENT),
    )
    refused(
        engine,
        ConductError,
        lambda: desk.record_adjustment("C-1", "Deaf", channels="sms", actor=AGENT),
    )
    refused(engine, ConductError, lambda: desk.record_adjustment("C-1", " ", actor=AGENT))
    refused(
        engine,
        ConductError,
        lambda: desk.decide_appeal("C-1", restriction_stands="yes", actor=DIRECTOR, reasons="X."),  # type: ignore[arg-type]
    )


def test_a_record_needs_to_know_the_customer(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    with pytest.raises(ConductError, match="pass the Customer"):
        desk.record("C-9")
    with pytest.raises(ConductError, match="pass the Customer"):
        desk.warn("C-9", actor=SUPERVISOR, reason="Rude.")
    assert engine.store.conduct_get("C-9") is None
    newer = Customer(id="C-9", name="Cy", email="cy@new.example")
    engine.receive(Intake(channel="email", customer=Customer(id="C-9", name="Cy"), summary="One"))
    clock.advance(hours=1)
    engine.receive(Intake(channel="email", customer=newer, summary="Two"))
    record = desk.record("C-9")
    assert (record.status, record.version, record.customer) == (ConductStatus.NORMAL, 0, newer)
    assert engine.store.conduct_get("C-9") is None  # reading stores nothing
    assert desk.warn("C-9", actor=SUPERVISOR, reason="Rude.").customer == newer


def test_policy_is_validated(engine: Engine) -> None:
    with pytest.raises(InvalidArgumentError, match="decision_roles"):
        ConductPolicy(decision_roles=())
    with pytest.raises(InvalidArgumentError, match="appeal_days"):
        ConductPolicy(appeal_days=0)
    with pytest.raises(InvalidArgumentError, match="max_review_days"):
        ConductPolicy(max_review_days=True)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="written_channels"):
        ConductPolicy(written_channels=())
    with pytest.raises(UnknownChannelError):
        ConductDesk(engine, ConductPolicy(written_channels=("pigeon",)))
    assert ConductPolicy(decision_roles=["director"]).decision_roles == ("director",)  # type: ignore[arg-type]


# -- reasonable adjustments ---------------------------------------------------------


def test_a_restriction_excluding_a_recorded_need_must_say_how_it_is_met(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    record = desk.record_adjustment(
        ADA, "Cannot write because of a disability", channels=("phone",), actor=AGENT
    )
    assert record.adjustments[0].channels == ("phone",)
    assert (record.adjustments[0].recorded_by, record.adjustments[0].recorded_at) == (
        "A-1",
        START,
    )
    warned(desk)

    def restrict(note: str, kinds: list[Restriction]) -> object:
        return desk.restrict(
            "C-1",
            kinds,
            actor=MANAGER,
            reasons="Volume.",
            review_at=later(clock),
            adjustment_note=note,
        )

    refused(
        engine,
        ConductError,
        lambda: restrict("  ", [Restriction.written_only()]),
        "Cannot write because of a disability.*phone",
    )
    # A restriction that does not exclude the channel needs no note.
    assert restrict("", [Restriction.contact_limit(3, 7)]).restricted
    desk.lift("C-1", actor=DIRECTOR, reasons="Re-decide.")
    desk.warn("C-1", actor=SUPERVISOR, reason="Again.")
    note = "Phone calls with Pat on Tuesdays stay open to her."
    record = restrict(note, [Restriction.written_only()])  # type: ignore[assignment]
    assert record.adjustment_note == note
    letter = engine.store.outbox(record.id)[-1].payload["text"]
    assert note in letter
    # Extending keeps the note; extending with a new conflicting restriction set keeps it too.
    extended = desk.review("C-1", actor=DIRECTOR, reasons="Still.", extend_until=later(clock))
    assert extended.adjustment_note == note


def test_channels_count_as_written_by_the_policy(engine: Engine, clock: ManualClock) -> None:
    desk = desk_of(engine, ConductPolicy(written_channels=("letter", "email", "chat")))
    desk.record_adjustment(ADA, "Uses live chat only", channels=("chat",), actor=AGENT)
    warned(desk)
    record = desk.restrict(
        "C-1", [Restriction.written_only()], actor=MANAGER, reasons="X.", review_at=later(clock)
    )
    assert record.adjustment_note == ""


def test_a_need_recorded_during_a_restriction_overrides_it(
    desk: ConductDesk, clock: ManualClock
) -> None:
    restricted(desk, clock)
    record = desk.record_adjustment("C-1", "Sight loss", channels=("phone",), actor=AGENT)
    assert record.status is ConductStatus.RESTRICTED
    assert record.version == 3
    event = desk.history("C-1")[-1]
    assert event.kind == "adjustment_recorded"
    assert list(event.data["overrides"]) == ["written_only"]
    assert list(event.data["excluded_channels"]) == ["phone"]


# -- notices --------------------------------------------------------------------------


def test_every_decision_sends_a_letter_with_its_content(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    restricted(desk, clock)
    desk.appeal("C-1", grounds="Unfair.", actor=AGENT)
    desk.decide_appeal(
        "C-1", restriction_stands=True, actor=DIRECTOR, reasons="Proportionate to the calls."
    )
    desk.review("C-1", actor=DIRECTOR, reasons="Calls went on.", extend_until=later(clock, 150))
    desk.lift("C-1", actor=OTHER_MANAGER, reasons="Things are calmer.")
    messages = engine.store.outbox("conduct:C-1")
    assert [m.topic for m in messages] == [
        "conduct.warning",
        "conduct.restriction",
        "conduct.appeal_received",
        "conduct.appeal_outcome",
        "conduct.extension",
        "conduct.lift",
    ]
    assert [m.event_seq for m in messages] == [1, 2, 3, 4, 5, 6]
    assert len({m.key for m in messages}) == 6
    for message in messages:
        assert (message.recipient, message.channel, message.address) == (
            "customer",
            "email",
            "ada@example.org",
        )
        assert message.complaint_id == "conduct:C-1"
        assert message.payload["text"].startswith("Dear Ada Byron,")
    warning, decision, _, outcome, extension, lift = (m.payload for m in messages)
    assert "Abusive calls on 27 and 28 February." in warning["text"]
    text = decision["text"]
    assert "The calls continued after the warning." in text
    assert "in writing only" in text
    assert "at most 2 contacts" in text
    assert "any 7 days" in text
    assert "31 May 2026" in text  # review date, 90 days on
    assert "within 28 days, by 30 March 2026" in text
    assert decision["review_at"] == later(clock).isoformat()
    assert len(decision["restrictions"]) == 2
    assert outcome["restriction_stands"] is True
    assert "Proportionate to the calls." in outcome["text"]
    assert "Calls went on." in extension["text"]
    assert "30 July 2026" in extension["text"]
    assert "Things are calmer." in lift["text"]


def test_the_appeal_period_comes_from_the_policy(engine: Engine, clock: ManualClock) -> None:
    desk = desk_of(engine, ConductPolicy(appeal_days=14))
    restricted(desk, clock)
    text = engine.store.outbox("conduct:C-1")[-1].payload["text"]
    assert "within 14 days, by 16 March 2026" in text


def test_each_restriction_is_in_plain_words(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    own = engine.receive(Intake(channel="email", customer=ADA, summary="Late parcel"))
    warned(desk)
    desk.restrict(
        "C-1",
        [
            Restriction.single_point_of_contact("pat@org.example", "Pat Officer"),
            Restriction.no_reopening(own.reference),
            Restriction.call_time_limit(20),
        ],
        actor=MANAGER,
        reasons="X.",
        review_at=later(clock),
    )
    lines = engine.store.outbox("conduct:C-1")[-1].payload["restrictions"]
    assert list(lines) == [
        "All contact with us must go through Pat Officer (pat@org.example).",
        f"We will not open new complaints about {own.reference}: we have considered these "
        "matters fully and our position on them will not change. Anything new you send "
        "about them is still read.",
        "Telephone calls with us will be kept to 20 minutes.",
    ]


@pytest.mark.parametrize(
    ("customer", "channel", "address"),
    [
        (
            Customer(
                id="C-1",
                name="A",
                email="a@x.org",
                postal_address="1 Lane",
                preferred_channel="letter",
            ),
            "letter",
            "1 Lane",
        ),
        (
            Customer(id="C-1", name="A", email="a@x.org", phone="+1", preferred_channel="phone"),
            "email",
            "a@x.org",
        ),
        (Customer(id="C-1", name="A", phone="+1", postal_address="1 Lane"), "letter", "1 Lane"),
        (
            Customer(
                id="C-1", name="A", contacts={"web_form": "acct-7"}, preferred_channel="web_form"
            ),
            "web_form",
            "acct-7",
        ),
        (Customer(id="C-1", name="A", phone="+1", preferred_channel="phone"), "letter", None),
    ],
)
def test_notices_go_on_a_written_channel(
    desk: ConductDesk, engine: Engine, customer: Customer, channel: str, address: str | None
) -> None:
    desk.warn(customer, actor=SUPERVISOR, reason="Rude.")
    [message] = engine.store.outbox("conduct:C-1")
    assert (message.channel, message.address) == (channel, address)
    event = desk.history("C-1")[0]
    assert event.data["notice_channel"] == channel
    assert event.data.get("notice_address_missing", False) is (address is None)


def test_notices_are_delivered_without_a_complaint(clock: ManualClock) -> None:
    seen: list[tuple[OutboxMessage, Complaint | None]] = []

    class Recorder:
        @hookimpl
        def complaint_flow_notify(
            self, message: OutboxMessage, complaint: Complaint | None
        ) -> None:
            seen.append((message, complaint))

    captured = CapturedNotifications()
    with Engine.open("memory://", clock=clock, plugins=[Recorder(), captured]) as engine:
        desk = desk_of(engine)
        complaint = engine.receive(Intake(channel="email", customer=ADA, summary="Late"))
        engine.fire(complaint.id, "thank", actor=AGENT)
        desk.warn(ADA, actor=SUPERVISOR, reason="Rude.")
        report = engine.deliver()
    assert report.delivered == len(seen) >= 1
    conduct = [(m, c) for m, c in seen if m.complaint_id == "conduct:C-1"]
    assert len(conduct) == 1
    assert conduct[0][1] is None
    others = [c for m, c in seen if m.complaint_id != "conduct:C-1"]
    assert others
    assert all(c is not None and c.id == complaint.id for c in others)
    assert captured.for_complaint("conduct:C-1")[0].topic == "conduct.warning"


# -- reading ---------------------------------------------------------------------------


def test_restricted_lists_records_by_review_date(desk: ConductDesk, clock: ManualClock) -> None:
    for number, days in ((1, 60), (2, 30), (3, 90)):
        customer = Customer(id=f"C-{number}", name=f"N{number}", email=f"n{number}@x.org")
        warned(desk, customer)
        desk.restrict(
            customer,
            [Restriction.written_only()],
            actor=MANAGER,
            reasons="X.",
            review_at=later(clock, days),
        )
    desk.warn(Customer(id="C-4", name="W"), actor=SUPERVISOR, reason="Only warned.")
    desk.lift("C-3", actor=DIRECTOR, reasons="Done.")
    assert [r.customer_id for r in desk.restricted()] == ["C-2", "C-1"]
    assert [r.customer_id for r in desk.restricted(limit=1)] == ["C-2"]
    with pytest.raises(InvalidArgumentError):
        desk.restricted(limit=0)


def test_a_late_appeal_is_recorded_as_late(desk: ConductDesk, clock: ManualClock) -> None:
    restricted(desk, clock)
    clock.advance(days=29)
    desk.appeal("C-1", grounds="I was away.", actor=AGENT)
    assert desk.history("C-1")[-1].data["late"] is True


# -- the sweep ------------------------------------------------------------------------


def test_lapse_due_lets_restrictions_go_at_their_review_date(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    for number, days in ((1, 10), (2, 20), (3, 40)):
        restricted_customer = Customer(id=f"C-{number}", name=f"N{number}", email="n@x.org")
        warned(desk, restricted_customer)
        desk.restrict(
            restricted_customer,
            [Restriction.written_only()],
            actor=MANAGER,
            reasons="X.",
            review_at=later(clock, days),
        )
    desk.appeal("C-2", grounds="No.", actor=AGENT)
    assert engine.conduct.lapse_due(clock()) == []
    clock.advance(days=20)
    lapsed = engine.conduct.lapse_due(clock())
    assert sorted(r.customer_id for r in lapsed) == ["C-1", "C-2"]
    for record in lapsed:
        assert (record.status, record.restrictions, record.review_at) == (
            ConductStatus.LAPSED,
            (),
            None,
        )
        event = engine.store.conduct_events(record.customer_id)[-1]
        assert (event.kind, event.actor, event.trigger) == ("lapsed", SYSTEM, "lapse")
        notice = engine.store.outbox(record.id)[-1]
        assert notice.topic == "conduct.lapse"
        assert notice.event_seq == record.version
    assert engine.store.conduct_get("C-3").status is ConductStatus.RESTRICTED  # type: ignore[union-attr]
    assert engine.conduct.lapse_due(clock()) == []


def test_lapse_due_works_in_batches(desk: ConductDesk, engine: Engine, clock: ManualClock) -> None:
    for number in range(5):
        customer = Customer(id=f"C-{number}", name="N", email="n@x.org")
        warned(desk, customer)
        desk.restrict(
            customer,
            [Restriction.written_only()],
            actor=MANAGER,
            reasons="X.",
            review_at=later(clock, 10 + number),
        )
    clock.advance(days=30)
    assert [r.customer_id for r in engine.conduct.lapse_due(clock(), batch=2)] == ["C-0", "C-1"]
    assert len(engine.conduct.lapse_due(clock(), batch=10)) == 3
    with pytest.raises(InvalidArgumentError):
        engine.conduct.lapse_due(clock(), batch=0)


def test_concurrent_sweepers_lapse_each_record_once(
    desk: ConductDesk, engine: Engine, clock: ManualClock
) -> None:
    count = 30
    for number in range(count):
        customer = Customer(id=f"C-{number}", name="N", email="n@x.org")
        warned(desk, customer)
        desk.restrict(
            customer,
            [Restriction.written_only()],
            actor=MANAGER,
            reasons="X.",
            review_at=later(clock, 5),
        )
    clock.advance(days=6)
    results: list[list[str]] = []
    barrier = threading.Barrier(4)

    def sweep() -> None:
        barrier.wait()
        results.append([r.customer_id for r in engine.conduct.lapse_due(clock())])

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lapsed = [customer_id for found in results for customer_id in found]
    assert sorted(lapsed) == sorted(f"C-{n}" for n in range(count))
    for number in range(count):
        kinds = [e.kind for e in engine.store.conduct_events(f"C-{number}")]
        assert kinds == ["warned", "restricted", "lapsed"]


def test_a_sweeper_that_read_a_stale_record_skips_it(
    desk: ConductDesk, engine: Engine, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    restricted(desk, clock)
    clock.advance(days=91)
    stale = engine.store.conduct_find(review_before=clock())
    assert [r.customer_id for r in stale] == ["C-1"]
    # Another sweeper lapses it between this sweeper's read and its write.
    assert len(engine.conduct.lapse_due(clock())) == 1
    monkeypatch.setattr(engine.store, "conduct_find", lambda **_: stale)
    before = snapshot(engine)
    assert engine.conduct.lapse_due(clock()) == []
    assert snapshot(engine) == before


def test_lapse_refuses_a_record_not_due(desk: ConductDesk, clock: ManualClock) -> None:
    restricted(desk, clock)
    record = desk.record("C-1")
    with pytest.raises(ConductError, match="not due"):
        desk.lapse(record, clock())


@pytest.mark.parametrize(
    ("customer", "route"),
    [
        # The preferred written channel when they can be reached there.
        (
            Customer(
                id="C",
                name="N",
                email="n@x.org",
                postal_address="1 Road",
                preferred_channel="letter",
            ),
            ("letter", "1 Road"),
        ),
        # Preferred, but no address there: the next written channel that reaches them.
        (
            Customer(id="C", name="N", email="n@x.org", preferred_channel="letter"),
            ("email", "n@x.org"),
        ),
        # A spoken preference is not a written channel.
        (
            Customer(
                id="C", name="N", phone="+44 1", postal_address="1 Road", preferred_channel="phone"
            ),
            ("letter", "1 Road"),
        ),
        # Nowhere to write to: still a letter, with the gap visible.
        (Customer(id="C", name="N", phone="+44 1"), ("letter", None)),
    ],
)
def test_notices_and_acknowledgements_take_the_same_written_route(
    customer: Customer, route: tuple[str, str | None]
) -> None:
    from complaint_flow.services.conduct_notices import notice_route

    written = {"letter", "email", "web_form", "fax"}
    found = notice_route(customer, written)
    assert (found.channel, found.address) == route
