"""The survey rules hold whatever happens: random sequences of steps, restrictions, opt-outs,
sweeps and answers on the TACTICS workflow."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock, Restriction
from complaint_flow.errors import TransitionError
from complaint_flow.model.satisfaction import (
    ANSWERED,
    SENT,
    SurveyClosedError,
    SurveyRespondent,
    SurveyStatus,
    survey_of,
)
from complaint_flow.model.timers import TIMERS_KEY, earliest, timers_due
from complaint_flow.services import satisfaction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=3, email="mo@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")
DATA = {
    "facts": "box crushed",
    "action": "replace it",
    "customer_feedback": "ok",
    "resolution": "replaced",
    "timeline": "2 days",
    "withdrawal_reason": "sorted",
    "reopen_reason": "again",
}

# The step that moves a complaint towards closing, from each state (closed: reopen).
FORWARD = {
    "received": "thank",
    "thanked": "apologise",
    "apologised": "collect_information",
    "information_collected": "take_action",
    "action_taken": "put_it_right",
    "checking_satisfaction": "confirm_satisfied",
    "satisfied": "summarise",
    "summarised": "close",
    "escalated": "collect_information",
    "closed": "reopen",
    "withdrawn": "reopen",
}

OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("fire"), st.integers(0, 20)),
        st.tuples(st.just("forward"), st.integers(1, 9)),
        st.tuples(st.just("restrict"), st.booleans()),
        st.tuples(st.just("opt_out"), st.booleans()),
        st.tuples(st.just("wait"), st.integers(1, 24 * 30)),
        st.tuples(st.just("answer"), st.integers(1, 5)),
    ),
    max_size=40,
)


class Run:
    """One engine, one complaint, and what the test knows of the customer's situation."""

    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.engine = Engine.open(
            "memory://", workflow="tactics", clock=self.clock, load_entry_points=False
        )
        complaint = self.engine.receive(Intake(channel="email", customer=ADA, summary="Broken"))
        self.id = complaint.id
        self.engine.assign(self.id, MANAGER, actor=MANAGER, reason="mine")
        self.restricted = False
        self.opted_out = False

    def survey_messages(self) -> int:
        return sum(1 for m in self.engine.outbox(self.id) if m.payload.get("survey"))

    def surveys_sent(self) -> int:
        return sum(1 for e in self.engine.history(self.id) if e.kind == SENT)

    def step(self, operation: tuple[str, Any]) -> None:
        kind, value = operation
        before_messages = self.survey_messages()
        before_sent = self.surveys_sent()
        blocked = self.restricted or self.opted_out
        if kind == "fire":
            self.fire(value)
        elif kind == "forward":
            for _ in range(value):
                state = self.engine.get(self.id).state
                self.engine.fire(self.id, FORWARD[state], actor=MANAGER, data=DATA)
        elif kind == "restrict":
            self.restrict(value)
        elif kind == "opt_out":
            satisfaction.record_survey_preference(
                self.engine, ADA.id, opted_out=value, actor=MANAGER, reason="asked"
            )
            self.opted_out = value
        elif kind == "wait":
            self.clock.advance(timedelta(hours=value))
            self.engine.sweep()
        else:
            self.answer(value)
        sent = self.surveys_sent()
        assert sent <= 1, "two surveys for one complaint"
        if blocked:
            assert sent == before_sent, "a survey to a restricted or opted-out customer"
            assert self.survey_messages() == before_messages, "a message they should not get"
        self.check_due_time()

    def fire(self, index: int) -> None:
        allowed = sorted(self.engine.triggers(self.id, MANAGER))
        if not allowed:
            return
        trigger = allowed[index % len(allowed)]
        # The top of the ladder, a guard: refused, nothing was written.
        with contextlib.suppress(TransitionError):
            self.engine.fire(self.id, trigger, actor=MANAGER, data=DATA)

    def restrict(self, on: bool) -> None:
        if on and not self.restricted:
            self.engine.conduct.restrict(
                ADA,
                [Restriction.written_only()],
                actor=MANAGER,
                reasons="abusive calls",
                review_at=self.engine.now() + timedelta(days=365),
                skip_warning_reason="staff safety",
            )
            self.restricted = True
        elif not on and self.restricted:
            self.engine.conduct.lift(ADA, actor=MANAGER, reasons="calmer now")
            self.restricted = False

    def answer(self, score: int) -> None:
        current = self.engine.get(self.id)
        survey = survey_of(current)
        was_open = (
            survey is not None
            and survey.open
            and survey.expires_at is not None
            and self.engine.now() < survey.expires_at
        )
        respondent = SurveyRespondent.authenticated(ADA.id, "signed link")
        try:
            answered = satisfaction.record_survey_answer(
                self.engine, self.id, score, via=respondent
            )
        except SurveyClosedError:
            assert not was_open
            assert self.engine.get(self.id) == current
            return
        assert was_open
        assert survey_of(answered).status is SurveyStatus.ANSWERED  # type: ignore[union-attr]

    def check_due_time(self) -> None:
        complaint = self.engine.get(self.id)
        book = self.engine.kernel.workflow(complaint.workflow).clocks
        wanted = earliest(book.due_at(complaint.clocks), timers_due(complaint.data.get(TIMERS_KEY)))
        assert complaint.due_at == wanted


@settings(max_examples=60, deadline=None)
@given(operations=OPERATIONS)
def test_no_sequence_sends_two_surveys_or_one_to_a_customer_who_may_not_be_asked(
    operations: list[tuple[str, Any]],
) -> None:
    run = Run()
    try:
        for operation in operations:
            run.step(operation)
        history = run.engine.history(run.id)
        assert sum(1 for event in history if event.kind == ANSWERED) <= 1
        reminders = [
            m for m in run.engine.outbox(run.id) if m.topic.endswith("satisfaction_survey_reminder")
        ]
        assert len(reminders) <= 1
        assert run.survey_messages() <= 2
        survey = survey_of(run.engine.get(run.id))
        event(f"survey: {survey.status.value if survey else 'none'}")
    finally:
        run.engine.close()


@settings(max_examples=30, deadline=None)
@given(operations=OPERATIONS)
def test_a_survey_sent_and_untouched_ends_expired_or_answered(
    operations: list[tuple[str, Any]],
) -> None:
    run = Run()
    try:
        for operation in operations:
            run.step(operation)
        run.clock.advance(timedelta(days=60))
        run.engine.sweep()
        survey = survey_of(run.engine.get(run.id))
        if survey is not None and survey.status is not SurveyStatus.SKIPPED:
            assert survey.status in (
                SurveyStatus.ANSWERED,
                SurveyStatus.EXPIRED,
                SurveyStatus.CANCELLED,
            )
        assert TIMERS_KEY not in run.engine.get(run.id).data
    finally:
        run.engine.close()
