"""Restrictions enforced at intake, final decisions, linked contacts and the review queue.

Nothing inbound is ever lost: a message outside a customer's restrictions is
filed in full on the review queue (and acknowledged when the restriction says
so); a message re-raising a finally decided matter is linked to it. Lapsed or
normal records never block.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from complaint_flow import (
    Actor,
    ConcurrencyError,
    Customer,
    Engine,
    EscalationError,
    Intake,
    InvalidArgumentError,
    ManualClock,
)
from complaint_flow.errors import ConductError, ContactFiledError, NotAuthorisedError
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    ConductStatus,
    Restriction,
    RestrictionKind,
    ReviewReason,
)
from complaint_flow.model.entities import Event
from complaint_flow.services.intake import IntakeOutcome, OutcomeKind
from complaint_flow.storage.contract import ConductCommit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")
DIRECTOR = Actor(id="D-1", name="Di", role="director", email="di@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org", phone="+44 7700 900001")
BEN = Customer(id="C-2", name="Ben", email="ben@example.org")
OFFICER = "officer@example.org"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Any) -> Iterator[Engine]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    with Engine.open(url, clock=clock, load_entry_points=False) as opened:
        yield opened


def intake(channel: str = "email", customer: Customer = ADA, **changes: Any) -> Intake:
    fields: dict[str, Any] = {"summary": "The boiler is still broken", "details": "Third visit"}
    fields.update(changes)
    return Intake(channel=channel, customer=customer, **fields)


def restrict(
    engine: Engine,
    *restrictions: Restriction,
    customer: Customer = ADA,
    status: ConductStatus = ConductStatus.RESTRICTED,
    review_at: datetime | None = None,
    adjustments: tuple[Adjustment, ...] = (),
) -> ConductRecord:
    """Put a record in place directly through the store (the desk is tested elsewhere)."""
    current = engine.store.conduct_get(customer.id)
    version = current.version if current is not None else 0
    now = engine.clock()
    base = current or ConductRecord(
        customer_id=customer.id,
        customer=customer,
        status=ConductStatus.NORMAL,
        version=0,
        updated_at=now,
    )
    record = base.evolve(
        status=status,
        restrictions=restrictions,
        review_at=review_at if review_at is not None else now + timedelta(days=180),
        adjustments=adjustments,
        version=version + 1,
        updated_at=now,
        reasons="test",
    )
    event = Event(complaint_id=record.id, seq=version + 1, kind="restricted", at=now, actor=MANAGER)
    return engine.store.conduct_commit(ConductCommit(record, version, (event,)))


def queue(engine: Engine, customer: Customer = ADA) -> list[Any]:
    record = engine.store.conduct_get(customer.id)
    return list(record.review_queue) if record else []


def filed_events(engine: Engine, customer: Customer = ADA) -> list[Event]:
    return [e for e in engine.store.conduct_events(customer.id) if e.kind == "contact_filed"]


# -- no restriction ---------------------------------------------------------------------------


def test_a_customer_without_a_record_opens_a_complaint(engine: Engine) -> None:
    outcome = engine.accept(intake())
    assert outcome.kind is OutcomeKind.OPENED
    assert outcome.complaint is not None
    assert outcome.complaint.state == "received"
    assert engine.store.conduct_get(ADA.id) is None, "a plain intake writes no conduct record"


@pytest.mark.parametrize(
    "status", [ConductStatus.NORMAL, ConductStatus.WARNED, ConductStatus.LAPSED]
)
def test_records_not_restricting_never_block(engine: Engine, status: ConductStatus) -> None:
    restrict(engine, Restriction.written_only(), Restriction.contact_limit(1, 30), status=status)
    for _ in range(3):
        assert engine.accept(intake("phone")).kind is OutcomeKind.OPENED
    assert queue(engine) == []


def test_a_restriction_past_its_review_date_no_longer_blocks(
    engine: Engine, clock: ManualClock
) -> None:
    restrict(engine, Restriction.written_only(), review_at=START + timedelta(days=10))
    assert engine.accept(intake("phone")).kind is OutcomeKind.FILED
    clock.advance(timedelta(days=10))
    assert engine.accept(intake("phone", external_id="p-2")).kind is OutcomeKind.OPENED


# -- each restriction ------------------------------------------------------------------------


def test_written_only_files_a_phone_call_and_acknowledges_it_in_writing(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    outcome = engine.accept(intake("phone", external_id="call-1"))
    assert outcome.kind is OutcomeKind.FILED
    assert outcome.acknowledged
    assert outcome.item is not None
    assert outcome.item.restrictions == (RestrictionKind.WRITTEN_ONLY,)
    assert "phone" in outcome.reasons[0]
    [item] = queue(engine)
    assert (item.summary, item.details, item.channel) == (
        "The boiler is still broken",
        "Third visit",
        "phone",
    )
    [event] = filed_events(engine)
    assert event.data["summary"] == "The boiler is still broken"
    assert event.data["details"] == "Third visit"
    [notice] = engine.store.outbox(f"conduct:{ADA.id}")
    assert notice.channel == "email"
    assert notice.address == ADA.email
    assert notice.topic == "conduct.contact_filed"
    assert notice.payload["received_on"] == "phone"
    assert engine.find(customer_id=ADA.id) == []
    assert engine.accept(intake("letter")).kind is OutcomeKind.OPENED


def test_an_adjustment_keeps_a_channel_open_under_written_only(engine: Engine) -> None:
    restrict(
        engine,
        Restriction.written_only(),
        adjustments=(Adjustment("cannot write (sight loss)", ("phone",), "M-1", START),),
    )
    assert engine.accept(intake("phone")).kind is OutcomeKind.OPENED
    assert engine.accept(intake("chat")).kind is OutcomeKind.FILED


def test_an_adjustment_set_through_the_desk_is_honoured(engine: Engine) -> None:
    engine.conduct.record_adjustment(ADA, "cannot write", channels=("phone",), actor=MANAGER)
    restrict(
        engine,
        Restriction.written_only(),
        adjustments=engine.store.conduct_get(ADA.id).adjustments,  # type: ignore[union-attr]
    )
    assert engine.accept(intake("phone")).kind is OutcomeKind.OPENED


def test_single_point_of_contact_needs_the_message_addressed_to_the_officer(
    engine: Engine,
) -> None:
    restrict(engine, Restriction.single_point_of_contact(OFFICER, "Sam Officer"))
    elsewhere = engine.accept(intake(data={"to": "complaints@example.org"}))
    nowhere = engine.accept(intake(external_id="m-2"))
    addressed = engine.accept(intake(external_id="m-3", data={"to": " Officer@Example.org "}))
    assert elsewhere.kind is OutcomeKind.FILED
    assert "Sam Officer" in elsewhere.reasons[0]
    assert nowhere.kind is OutcomeKind.FILED
    assert "nobody in particular" in nowhere.reasons[0]
    assert addressed.kind is OutcomeKind.OPENED
    assert any("Sam Officer" in g for g in addressed.guidance)
    assert len(queue(engine)) == 2


def test_the_contact_limit_counts_every_contact_in_the_period(
    engine: Engine, clock: ManualClock
) -> None:
    restrict(engine, Restriction.contact_limit(2, 30))
    kinds = []
    for day in range(4):
        kinds.append(engine.accept(intake(external_id=f"e-{day}")).kind)
        clock.advance(timedelta(days=1))
    assert kinds == [OutcomeKind.OPENED, OutcomeKind.OPENED, OutcomeKind.FILED, OutcomeKind.FILED]
    record = engine.store.conduct_get(ADA.id)
    assert record is not None
    assert len(record.recent_contacts) == 4
    counted = [e for e in engine.store.conduct_events(ADA.id) if e.kind == "contact_counted"]
    assert len(counted) == 2
    # contact_limit does not acknowledge by default
    assert not any(item.acknowledged for item in record.review_queue)
    assert engine.store.outbox(record.id) == []
    clock.advance(timedelta(days=30))
    assert engine.accept(intake(external_id="e-late")).kind is OutcomeKind.OPENED


def test_no_reopening_files_a_message_about_a_named_matter(engine: Engine) -> None:
    old = engine.receive(intake())
    restrict(engine, Restriction.no_reopening(old.reference))
    about = engine.accept(intake(details=f"About {old.reference} again"))
    other = engine.accept(intake(summary="A new leak", external_id="x"))
    assert about.kind is OutcomeKind.FILED
    assert about.item is not None
    assert about.item.regarding == old.reference
    assert other.kind is OutcomeKind.OPENED


def test_call_time_limit_is_guidance_only(engine: Engine) -> None:
    restrict(engine, Restriction.call_time_limit(15))
    outcome = engine.accept(intake("phone"))
    assert outcome.kind is OutcomeKind.OPENED
    assert outcome.guidance == ("keep calls to 15 minutes",)


def test_combined_restrictions_give_every_reason(engine: Engine) -> None:
    restrict(
        engine,
        Restriction.written_only(),
        Restriction.single_point_of_contact(OFFICER, "Sam Officer", acknowledge=False),
    )
    both = engine.accept(intake("phone"))
    one = engine.accept(intake("phone", external_id="p", data={"to": OFFICER}))
    fine = engine.accept(intake("letter", external_id="l", data={"to": OFFICER}))
    assert both.item is not None
    assert set(both.item.restrictions) == {
        RestrictionKind.WRITTEN_ONLY,
        RestrictionKind.SINGLE_POINT_OF_CONTACT,
    }
    assert len(both.reasons) == 2
    assert both.acknowledged
    assert one.item is not None
    assert one.item.restrictions == (RestrictionKind.WRITTEN_ONLY,)
    assert fine.kind is OutcomeKind.OPENED


def test_no_acknowledgement_without_a_written_address(engine: Engine) -> None:
    phone_only = Customer(id="C-9", name="Cy", phone="+44 7700 900009")
    restrict(engine, Restriction.written_only(), customer=phone_only)
    outcome = engine.accept(intake("phone", customer=phone_only))
    assert outcome.kind is OutcomeKind.FILED
    assert not outcome.acknowledged
    assert engine.store.outbox("conduct:C-9") == []


# -- receive() and duplicates ------------------------------------------------------------------


def test_receive_raises_after_filing_and_keeps_the_message(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    with pytest.raises(ContactFiledError) as raised:
        engine.receive(intake("phone", external_id="call-1"))
    outcome = raised.value.outcome
    assert isinstance(outcome, IntakeOutcome)
    assert outcome.kind is OutcomeKind.FILED
    assert "filed for review" in str(raised.value)
    assert [i.external_id for i in queue(engine)] == ["call-1"]


def test_a_filed_message_delivered_again_is_not_filed_twice(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    first = engine.accept(intake("phone", external_id="call-1"))
    again = engine.accept(intake("phone", external_id="call-1"))
    assert again.kind is OutcomeKind.FILED
    assert again.item == first.item
    with pytest.raises(ContactFiledError):
        engine.receive(intake("phone", external_id="call-1"))
    assert len(queue(engine)) == 1
    assert len(filed_events(engine)) == 1


def test_a_duplicate_complaint_is_answered_first_even_under_restriction(engine: Engine) -> None:
    opened = engine.receive(intake(external_id="mail-1"))
    restrict(engine, Restriction.written_only(), Restriction.contact_limit(1, 30))
    assert engine.receive(intake(external_id="mail-1")) == opened
    assert engine.accept(intake(external_id="mail-1")).kind is OutcomeKind.DUPLICATE
    assert queue(engine) == []


# -- final decisions and linked contacts ---------------------------------------------------------


def decided(engine: Engine, customer: Customer = ADA) -> Any:
    complaint = engine.receive(intake(customer=customer, external_id=f"d-{customer.id}"))
    engine.fire(complaint.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "settled"})
    return engine.final_decision(complaint.id, actor=MANAGER, response="Our final response")


def test_a_final_decision_needs_a_closed_complaint(engine: Engine) -> None:
    complaint = engine.receive(intake())
    with pytest.raises(ConductError, match="close it first"):
        engine.final_decision(complaint.id, actor=MANAGER, response="Final")
    assert engine.get(complaint.id).version == complaint.version


def test_a_final_decision_is_recorded_and_sent(engine: Engine, clock: ManualClock) -> None:
    complaint = decided(engine)
    decision = complaint.data["final_decision"]
    assert decision["by"] == MANAGER.id
    assert decision["at"] == clock().isoformat()
    assert engine.history(complaint.id)[-1].kind == "final_decision"
    assert engine.outbox(complaint.id)[-1].recipient == "customer"
    with pytest.raises(ConductError, match="already has a final decision"):
        engine.final_decision(complaint.id, actor=MANAGER, response="Again")


def test_only_an_authorised_role_records_a_final_decision(engine: Engine) -> None:
    complaint = engine.receive(intake())
    engine.fire(complaint.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "settled"})
    closed = engine.get(complaint.id)
    with pytest.raises(NotAuthorisedError, match="may not record a final decision"):
        engine.final_decision(complaint.id, actor=AGENT, response="Final")
    assert engine.get(complaint.id) == closed
    assert engine.history(complaint.id)[-1].kind != "final_decision"


def test_escalation_is_refused_after_a_final_decision(engine: Engine) -> None:
    complaint = decided(engine)
    with pytest.raises(EscalationError, match="final decision"):
        engine.escalate(complaint.id, actor=AGENT, reason="customer insists")
    assert engine.get(complaint.id).version == complaint.version


@pytest.mark.parametrize("how", ["regarding", "quoted"])
def test_re_raising_a_decided_matter_is_linked_not_opened(engine: Engine, how: str) -> None:
    complaint = decided(engine)
    if how == "regarding":
        message = intake(external_id="again", data={"regarding": complaint.reference})
    else:
        message = intake(external_id="again", details=f"As in {complaint.reference}, again")
    outcome = engine.accept(message)
    assert outcome.kind is OutcomeKind.LINKED
    assert outcome.acknowledged
    assert outcome.complaint is not None
    assert outcome.complaint.id == complaint.id
    assert engine.history(complaint.id)[-1].kind == "contact_linked"
    [item] = queue(engine)
    assert item.reason is ReviewReason.DECIDED_MATTER
    assert item.regarding == complaint.reference
    [ack] = engine.store.outbox(f"conduct:{ADA.id}")
    assert ack.payload["regarding"] == complaint.reference
    assert complaint.reference in ack.payload["explanation"]
    assert len(engine.find(customer_id=ADA.id)) == 1
    # Delivered again: the same answer, not a second link.
    assert engine.accept(message).kind is OutcomeKind.LINKED
    assert len(queue(engine)) == 1
    with pytest.raises(ContactFiledError, match="final decision"):
        engine.receive(message)


def test_another_customer_quoting_a_reference_opens_normally(engine: Engine) -> None:
    complaint = decided(engine)
    outcome = engine.accept(intake(customer=BEN, details=f"My neighbour's {complaint.reference}"))
    assert outcome.kind is OutcomeKind.OPENED


# -- the review queue -------------------------------------------------------------------------


def test_review_no_new_information_closes_the_item(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    outcome = engine.accept(intake("phone"))
    assert outcome.item is not None
    [(record, item)] = engine.review_queue()
    assert record.customer_id == ADA.id
    assert item == outcome.item
    assert (
        engine.resolve_review_item(
            ADA.id, item.id, actor=AGENT, outcome="no_new_information", note="same as before"
        )
        is None
    )
    assert engine.review_queue() == []
    last = engine.store.conduct_events(ADA.id)[-1]
    assert (last.kind, last.data["outcome"]) == ("review_item_resolved", "no_new_information")
    with pytest.raises(ConductError, match="resolved already"):
        engine.resolve_review_item(
            ADA.id, item.id, actor=AGENT, outcome="no_new_information", note="again"
        )


def test_review_new_information_opens_a_complaint_past_the_restriction(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    outcome = engine.accept(intake("phone", external_id="call-7"))
    assert outcome.item is not None
    opened = engine.resolve_review_item(
        ADA.id, outcome.item.id, actor=AGENT, outcome="new_information", note="a new leak"
    )
    assert opened is not None
    assert opened.channel == "phone"
    assert opened.data["review_item"] == outcome.item.id
    assert tuple(opened.data["restrictions_bypassed"]) == ("written_only",)
    assert engine.review_queue() == []
    # The same call delivered again now finds the complaint opened from it.
    assert engine.receive(intake("phone", external_id="call-7")).id == opened.id


def test_an_item_resolved_twice_with_new_information_opens_one_complaint(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two reviewers at once, or a retry after a failed write, open the same complaint."""
    restrict(engine, Restriction.written_only())
    outcome = engine.accept(intake("phone"))  # no id of its own on its channel
    assert outcome.item is not None
    before = {c.id for c in engine.find()}
    real_commit = engine.store.conduct_commit

    def always_conflicting(commit: ConductCommit) -> Any:
        raise ConcurrencyError(commit.record.id, commit.expected_version)

    # The first reviewer opens the complaint, then cannot record the resolution.
    monkeypatch.setattr(engine.store, "conduct_commit", always_conflicting)
    with pytest.raises(ConcurrencyError):
        engine.resolve_review_item(
            ADA.id, outcome.item.id, actor=AGENT, outcome="new_information", note="new leak"
        )
    monkeypatch.setattr(engine.store, "conduct_commit", real_commit)
    # The item still waits; resolving it again finds the complaint already opened.
    again = engine.resolve_review_item(
        ADA.id, outcome.item.id, actor=MANAGER, outcome="new_information", note="new leak"
    )
    assert again is not None
    assert {c.id for c in engine.find()} - before == {again.id}
    assert engine.review_queue() == []


def test_review_safeguarding_alerts_the_owner_at_once(engine: Engine) -> None:
    complaint = engine.receive(intake(external_id="first"))
    engine.assign(complaint.id, MANAGER, actor=AGENT)
    restrict(engine, Restriction.written_only())
    outcome = engine.accept(intake("phone"))
    assert outcome.item is not None
    engine.resolve_review_item(
        ADA.id, outcome.item.id, actor=AGENT, outcome="safeguarding", note="said they are unsafe"
    )
    last = engine.history(complaint.id)[-1]
    assert last.kind == "safeguarding_concern"
    [alert] = [m for m in engine.outbox(complaint.id) if m.event_seq == last.seq]
    assert alert.recipient == "owner"
    assert alert.payload["urgent"] is True
    assert engine.review_queue() == []


def test_resolving_refuses_bad_input(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    item = engine.accept(intake("phone")).item
    assert item is not None
    with pytest.raises(InvalidArgumentError, match="unknown review outcome"):
        engine.resolve_review_item(ADA.id, item.id, actor=AGENT, outcome="ignore", note="x")
    with pytest.raises(InvalidArgumentError, match="needs a note"):
        engine.resolve_review_item(
            ADA.id, item.id, actor=AGENT, outcome="no_new_information", note=" "
        )
    with pytest.raises(ConductError, match="no conduct record"):
        engine.resolve_review_item(
            BEN.id, item.id, actor=AGENT, outcome="no_new_information", note="x"
        )
    assert len(engine.review_queue()) == 1


def test_review_queue_limit(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    restrict(engine, Restriction.written_only(), customer=BEN)
    for n in range(3):
        engine.accept(intake("phone", external_id=f"a{n}"))
        engine.accept(intake("phone", customer=BEN, external_id=f"b{n}"))
    assert len(engine.review_queue()) == 6
    assert len(engine.review_queue(limit=4)) == 4


# -- sweep and patterns -------------------------------------------------------------------------


def test_the_sweep_lapses_a_restriction_at_its_review_date(
    engine: Engine, clock: ManualClock
) -> None:
    engine.conduct.restrict(
        ADA,
        [Restriction.written_only()],
        actor=MANAGER,
        reasons="abusive calls",
        review_at=START + timedelta(days=30),
        skip_warning_reason="staff safety",
    )
    assert engine.accept(intake("phone")).kind is OutcomeKind.FILED
    clock.advance(timedelta(days=31))
    report = engine.sweep()
    assert report.lapsed == 1
    assert engine.store.conduct_get(ADA.id).status is ConductStatus.LAPSED  # type: ignore[union-attr]
    assert engine.sweep().lapsed == 0
    assert engine.accept(intake("phone", external_id="later")).kind is OutcomeKind.OPENED


def test_patterns_suggest_and_change_nothing(engine: Engine, clock: ManualClock) -> None:
    for n in range(5):
        engine.receive(intake(external_id=f"m{n}"))
    engine.receive(intake(customer=BEN))
    complaint = decided(engine, BEN)
    for n in range(2):
        engine.accept(
            intake(customer=BEN, external_id=f"r{n}", data={"regarding": complaint.reference})
        )
    before = (engine.store.count(), engine.store.conduct_events(BEN.id))
    flags = engine.conduct_patterns(many_complaints=5, repeats_after_final=2)
    seen = {(flag.customer_id, flag.pattern) for flag in flags}
    assert seen == {(ADA.id, "many_complaints"), (BEN.id, "repeats_after_final")}
    many = next(f for f in flags if f.pattern == "many_complaints")
    assert many.count == 5
    assert len(set(many.references)) == 5
    assert before == (engine.store.count(), engine.store.conduct_events(BEN.id))
    clock.advance(timedelta(days=91))
    assert engine.conduct_patterns() == []
    with pytest.raises(InvalidArgumentError):
        engine.conduct_patterns(window_days=0)


def test_patterns_count_escalation_requests(engine: Engine) -> None:
    complaint = engine.receive(intake())
    for trigger, data in (
        ("thank", {}),
        ("apologise", {}),
        ("collect_information", {"facts": "seen"}),
    ):
        engine.fire(complaint.id, trigger, actor=AGENT, data=data)
    engine.escalate(complaint.id, actor=AGENT, reason="asked", requested_via="email")
    for _ in range(2):
        try:
            engine.escalate(complaint.id, actor=AGENT, reason="asked again", requested_via="phone")
        except EscalationError:
            break
    flags = engine.conduct_patterns(escalation_requests=2)
    escalations = [f for f in flags if f.pattern == "escalation_requests"]
    assert escalations
    assert escalations[0].references == (complaint.reference,)
    assert escalations[0].count >= 2


# -- the stateful property: nothing lost, nothing twice --------------------------------------------

CUSTOMERS = [ADA, BEN, Customer(id="C-3", name="Cyd", email="cyd@example.org")]
CHANNELS = ["email", "letter", "web_form", "phone", "in_person", "chat", "social_media"]
RESTRICTION_SETS = st.lists(
    st.sampled_from(
        [
            Restriction.written_only(),
            Restriction.single_point_of_contact(OFFICER, "Sam"),
            Restriction.contact_limit(2, 7),
            Restriction.call_time_limit(10),
        ]
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda r: r.kind,
)


class IntakeMachine(RuleBasedStateMachine):
    """Random messages from customers under random restrictions and statuses."""

    @initialize()
    def start(self) -> None:
        self.clock = ManualClock(START)
        self.engine = Engine.open("memory://", clock=self.clock, load_entry_points=False)
        self.sent: dict[str, Customer] = {}
        self.counter = 0
        self.resolved_opened: set[str] = set()

    def teardown(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        restrictions=RESTRICTION_SETS,
        status=st.sampled_from(list(ConductStatus)),
        adjust=st.booleans(),
    )
    def set_record(
        self,
        customer: Customer,
        restrictions: list[Restriction],
        status: ConductStatus,
        adjust: bool,
    ) -> None:
        adjustments = (Adjustment("needs phone", ("phone",), "M-1", START),) if adjust else ()
        restrict(
            self.engine, *restrictions, customer=customer, status=status, adjustments=adjustments
        )

    @rule(
        customer=st.sampled_from(CUSTOMERS),
        channel=st.sampled_from(CHANNELS),
        addressed=st.booleans(),
        redeliver=st.booleans(),
    )
    def message(self, customer: Customer, channel: str, addressed: bool, redeliver: bool) -> None:
        redeliver = redeliver and bool(self.sent)
        if redeliver:
            external_id = sorted(self.sent)[self.counter % len(self.sent)]
            customer = self.sent[external_id]
            channel = external_id.split("/")[0]
        else:
            self.counter += 1
            external_id = f"{channel}/{self.counter}"
            self.sent[external_id] = customer
        data = {"to": OFFICER} if addressed else {}
        record = self.engine.store.conduct_get(customer.id)
        outcome = self.engine.accept(
            intake(channel, customer=customer, external_id=external_id, data=data)
        )
        if not redeliver and (
            record is None
            or not record.restricted
            or (record.review_at is not None and record.review_at <= self.clock())
        ):
            # Lapsed, normal or expired records never block a new message.
            assert outcome.kind is OutcomeKind.OPENED

    @rule(days=st.integers(min_value=1, max_value=200))
    def time_passes(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    @rule(new_information=st.booleans())
    def review_one(self, new_information: bool) -> None:
        waiting = self.engine.review_queue(limit=1)
        if not waiting:
            return
        record, item = waiting[0]
        outcome = "new_information" if new_information else "no_new_information"
        self.engine.resolve_review_item(
            record.customer_id, item.id, actor=AGENT, outcome=outcome, note="read"
        )

    @invariant()
    def every_message_is_a_complaint_or_filed_once(self) -> None:
        if not hasattr(self, "engine"):
            return
        store = self.engine.store
        for external_id, customer in self.sent.items():
            channel = external_id.split("/")[0]
            complaint = store.find_by_external_id(channel, external_id)
            filed = [
                e
                for e in store.conduct_events(customer.id)
                if e.kind == "contact_filed" and e.data["external_id"] == external_id
            ]
            assert len(filed) <= 1, f"{external_id} filed twice"
            assert complaint is not None or filed, f"{external_id} was lost"
            if complaint is not None and filed:
                # Only a reviewer opens a filed message.
                assert "review_item" in complaint.data
            waiting = [
                i
                for i in (store.conduct_get(customer.id) or _EMPTY).review_queue
                if i.external_id == external_id
            ]
            assert len(waiting) <= 1
        assert store.count() == len(
            {
                c.id
                for external_id in self.sent
                if (c := store.find_by_external_id(external_id.split("/")[0], external_id))
            }
        )


_EMPTY = ConductRecord(
    customer_id="-", customer=ADA, status=ConductStatus.NORMAL, version=0, updated_at=START
)

TestIntakeMachine = IntakeMachine.TestCase
TestIntakeMachine.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_concurrent_change_to_the_record_is_retried(engine: Engine) -> None:
    restrict(engine, Restriction.written_only())
    store = engine.store
    real = store.conduct_commit
    calls = {"n": 0}

    def conflicting(commit: ConductCommit) -> ConductRecord:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConcurrencyError(commit.record.id, commit.expected_version)
        return real(commit)

    store.conduct_commit = conflicting  # type: ignore[method-assign]
    outcome = engine.accept(intake("phone"))
    assert outcome.kind is OutcomeKind.FILED
    assert calls["n"] == 2
    assert len(queue(engine)) == 1


def test_a_linked_message_is_filed_once_even_if_the_link_keeps_conflicting(
    engine: Engine,
) -> None:
    complaint = decided(engine)
    store = engine.store

    def always_conflicting(commit: Any) -> Any:
        raise ConcurrencyError(commit.complaint.id, commit.expected_version)

    store.commit = always_conflicting  # type: ignore[method-assign]
    # No external id: a second filing could not be told from a new message.
    outcome = engine.accept(intake(data={"regarding": complaint.reference}))
    assert outcome.kind is OutcomeKind.LINKED
    assert len(filed_events(engine)) == 1
    [item] = queue(engine)
    assert item.regarding == complaint.reference


def test_an_opened_complaint_is_not_reported_as_unwritten_when_counting_conflicts(
    engine: Engine,
) -> None:
    restrict(engine, Restriction.contact_limit(5, 30))
    store = engine.store

    def always_conflicting(commit: ConductCommit) -> ConductRecord:
        raise ConcurrencyError(commit.record.id, commit.expected_version)

    store.conduct_commit = always_conflicting  # type: ignore[method-assign]
    outcome = engine.accept(intake())
    assert outcome.kind is OutcomeKind.OPENED
    assert len(engine.find(customer_id=ADA.id)) == 1
