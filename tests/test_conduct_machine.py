"""Stateful tests of the stop procedure: random steps by random actors, on the memory store.

Each step is predicted from a simple model (the machine's allowed steps, the
policy's roles, the skip-warning and conflict-of-interest rules); the desk must
accept exactly the predicted steps and refuse the others without changing
anything. After every step the invariants of the issue are checked against
the stored record and its whole audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from complaint_flow import Actor, Customer, Engine
from complaint_flow.errors import ConductError
from complaint_flow.fsm.conduct_machine import SKIP_WARNING_SOURCES, ConductTrigger, conduct_machine
from complaint_flow.model.clock import ManualClock
from complaint_flow.model.conduct import (
    ConductRecord,
    ConductStatus,
    Restriction,
    RestrictionKind,
)
from complaint_flow.model.entities import SYSTEM
from complaint_flow.services.conduct_desk import ConductDesk, ConductPolicy

POLICY = ConductPolicy()
CUSTOMERS = [
    Customer(id="C-1", name="Ada", email="ada@example.org"),
    Customer(id="C-2", name="Bo", postal_address="2 Road"),
]
ACTORS = [
    Actor(id="A-1", name="Al", role="agent"),
    Actor(id="S-1", name="Sam", role="supervisor"),
    Actor(id="M-1", name="Mo", role="manager"),
    Actor(id="M-2", name="Meg", role="manager"),
    Actor(id="D-1", name="Dee", role="director"),
]
RESTRICTION_SETS = [
    [Restriction.written_only()],
    [Restriction.contact_limit(2, 7), Restriction.call_time_limit(10)],
    [Restriction.single_point_of_contact("pat@org.example", "Pat")],
]
DECIDING = {"restricted", "extended"}

# Mostly the first customer: long procedures on one record reach appeals more often.
customers = st.sampled_from([CUSTOMERS[0], CUSTOMERS[0], CUSTOMERS[0], CUSTOMERS[1]])


def excludes_a_need(record: ConductRecord, restrictions: Sequence[Restriction]) -> bool:
    """Whether a written-only restriction would exclude a recorded spoken need."""
    written_only = any(r.kind is RestrictionKind.WRITTEN_ONLY for r in restrictions)
    return written_only and any("phone" in a.channels for a in record.adjustments)


actors = st.sampled_from(ACTORS)


class ConductProcedure(RuleBasedStateMachine):
    """Random stop-procedure steps; the desk must do exactly what the rules allow."""

    @initialize()
    def open_engine(self) -> None:
        self.clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
        self.engine = Engine.open("memory://", clock=self.clock)
        self.desk = ConductDesk(self.engine, POLICY)

    def teardown(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()

    # -- helpers ------------------------------------------------------------

    def current(self, customer: Customer) -> ConductRecord:
        return self.desk.record(customer)

    def stored(self, customer_id: str) -> tuple[Any, ...]:
        return (
            self.engine.store.conduct_get(customer_id),
            self.engine.store.conduct_events(customer_id),
            self.engine.store.outbox(f"conduct:{customer_id}"),
        )

    def attempt(self, customer: Customer, allowed: bool, call: Any) -> ConductRecord | None:
        """Run ``call``; it must succeed exactly when ``allowed``, and change nothing if not."""
        before = self.stored(customer.id)
        try:
            result: ConductRecord = call()
        except ConductError:
            assert not allowed, "the desk refused a step the rules allow"
            assert self.stored(customer.id) == before, "a refused step changed the record"
            return None
        assert allowed, "the desk took a step the rules forbid"
        assert self.engine.store.conduct_get(customer.id) == result
        return result

    def may(self, status: ConductStatus, trigger: ConductTrigger) -> bool:
        return trigger in conduct_machine().allowed(status)

    # -- rules ----------------------------------------------------------------

    @rule(customer=customers, actor=actors)
    def warn(self, customer: Customer, actor: Actor) -> None:
        record = self.current(customer)
        allowed = actor.role in POLICY.warning_roles and self.may(
            record.status, ConductTrigger.WARN
        )
        self.attempt(
            customer, allowed, lambda: self.desk.warn(customer, actor=actor, reason="Rude calls.")
        )

    @rule(
        customer=customers,
        actor=actors,
        skip=st.booleans(),
        chosen=st.sampled_from(RESTRICTION_SETS),
        days=st.integers(1, 60),
        note=st.booleans(),
    )
    def restrict(
        self,
        customer: Customer,
        actor: Actor,
        skip: bool,
        chosen: list[Restriction],
        days: int,
        note: bool,
    ) -> None:
        record = self.current(customer)
        allowed = (
            actor.role in POLICY.decision_roles
            and self.may(record.status, ConductTrigger.RESTRICT)
            and (skip or record.status not in SKIP_WARNING_SOURCES)
            and (note or not excludes_a_need(record, chosen))
        )
        self.attempt(
            customer,
            allowed,
            lambda: self.desk.restrict(
                customer,
                chosen,
                actor=actor,
                reasons="Unreasonable demands.",
                review_at=self.clock() + timedelta(days=days),
                skip_warning_reason="Staff safety." if skip else None,
                adjustment_note="Calls with Pat stay open." if note else "",
            ),
        )

    @rule(customer=customers, actor=actors)
    def appeal(self, customer: Customer, actor: Actor) -> None:
        record = self.current(customer)
        self.attempt(
            customer,
            self.may(record.status, ConductTrigger.APPEAL),
            lambda: self.desk.appeal(customer, grounds="It is unfair.", actor=actor),
        )

    @rule(customer=customers, actor=actors, restriction_stands=st.booleans())
    def decide(self, customer: Customer, actor: Actor, restriction_stands: bool) -> None:
        record = self.current(customer)
        trigger = ConductTrigger.UPHOLD if restriction_stands else ConductTrigger.OVERTURN
        allowed = (
            actor.role in POLICY.appeal_roles
            and self.may(record.status, trigger)
            and actor.id not in record.involved
        )
        self.attempt(
            customer,
            allowed,
            lambda: self.desk.decide_appeal(
                customer, restriction_stands=restriction_stands, actor=actor, reasons="Considered."
            ),
        )

    @rule(customer=customers, data=st.data(), restriction_stands=st.booleans())
    def decide_by_someone_involved(
        self, customer: Customer, data: st.DataObject, restriction_stands: bool
    ) -> None:
        """An involved actor, even one promoted to an appeal role since, may not decide."""
        record = self.current(customer)
        if not record.involved:
            return
        involved = data.draw(st.sampled_from(record.involved))
        actor = Actor(id=involved, name="Promoted", role="director")
        self.attempt(
            customer,
            False,
            lambda: self.desk.decide_appeal(
                customer, restriction_stands=restriction_stands, actor=actor, reasons="Considered."
            ),
        )

    @rule(customer=customers, actor=actors, extend_days=st.none() | st.integers(1, 60))
    def review(self, customer: Customer, actor: Actor, extend_days: int | None) -> None:
        record = self.current(customer)
        trigger = ConductTrigger.LAPSE if extend_days is None else ConductTrigger.EXTEND
        allowed = actor.role in POLICY.decision_roles and self.may(record.status, trigger)
        if extend_days is not None and not record.adjustment_note:
            allowed = allowed and not excludes_a_need(record, record.restrictions)
        extend_until = None if extend_days is None else self.clock() + timedelta(days=extend_days)
        self.attempt(
            customer,
            allowed,
            lambda: self.desk.review(
                customer, actor=actor, reasons="Reviewed.", extend_until=extend_until
            ),
        )

    @rule(customer=customers, actor=actors)
    def lift(self, customer: Customer, actor: Actor) -> None:
        record = self.current(customer)
        allowed = actor.role in POLICY.decision_roles and self.may(
            record.status, ConductTrigger.LIFT
        )
        self.attempt(
            customer,
            allowed,
            lambda: self.desk.lift(customer, actor=actor, reasons="Calmer now."),
        )

    @rule(customer=customers, phone=st.booleans())
    def adjustment(self, customer: Customer, phone: bool) -> None:
        channels = ("phone",) if phone else ()
        self.attempt(
            customer,
            True,
            lambda: self.desk.record_adjustment(
                customer, "Needs large print", channels=channels, actor=ACTORS[0]
            ),
        )

    @rule(days=st.integers(0, 40))
    def sweep(self, days: int) -> None:
        now = self.clock.advance(days=days)
        due = {
            c.id
            for c in CUSTOMERS
            if (r := self.engine.store.conduct_get(c.id)) is not None
            and r.restricted
            and r.review_at is not None
            and r.review_at <= now
        }
        lapsed = self.engine.conduct.lapse_due(now)
        assert {r.customer_id for r in lapsed} == due
        for record in lapsed:
            assert record.status is ConductStatus.LAPSED
            assert self.engine.store.conduct_events(record.customer_id)[-1].actor == SYSTEM

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def records_agree_with_their_trails(self) -> None:
        if not hasattr(self, "engine"):
            return
        for customer in CUSTOMERS:
            record = self.engine.store.conduct_get(customer.id)
            events = self.engine.store.conduct_events(customer.id)
            if record is None:
                assert events == []
                continue
            assert record.version == len(events)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            if record.status.restricts:
                assert record.restrictions
                assert record.review_at is not None
            else:
                assert record.restrictions == ()
                assert record.review_at is None
            self.check_trail(events)

    def check_trail(self, events: list[Any]) -> None:
        """Replay the trail: no restriction without an authorised decision, fair appeals."""
        status = ConductStatus.NORMAL
        involved: set[str] = set()
        for event in events:
            if event.dest is None:  # an adjustment: no change of status
                continue
            source, dest = ConductStatus(event.source), ConductStatus(event.dest)
            assert source is status, "the trail skips a step"
            if dest.restricts and not source.restricts:
                assert event.kind == "restricted"
            if event.kind in DECIDING:
                assert event.actor.role in POLICY.decision_roles
            if event.kind == "warned" or (
                event.kind == "restricted" and source in SKIP_WARNING_SOURCES
            ):
                involved = set()
            if event.kind in DECIDING or event.kind == "warned":
                involved.add(event.actor.id)
            if event.kind == "appeal_decided":
                assert event.actor.role in POLICY.appeal_roles
                assert event.actor.id not in involved, "an involved actor decided the appeal"
            status = dest


ConductProcedure.TestCase.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None
)
TestConductProcedure = ConductProcedure.TestCase
