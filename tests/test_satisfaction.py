"""Satisfaction: the check step's answer, the survey after resolution, reminders, answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any

import pytest

from complaint_flow import (
    Actor,
    Customer,
    EmailIntake,
    Engine,
    Intake,
    InvalidArgumentError,
    MailOutcomeKind,
    ManualClock,
    OutboxStatus,
    Restriction,
    WorkflowDefinition,
    WorkflowDefinitionError,
)
from complaint_flow.definitions.packs import load_pack
from complaint_flow.model.satisfaction import (
    ANSWERED,
    CANCELLED,
    CHECK_KEY,
    CHECKED,
    EXPIRED,
    REMINDED,
    REMINDER_SKIPPED,
    SENT,
    SKIPPED,
    SURVEY_TIMER,
    SurveyClosedError,
    SurveyError,
    SurveyRespondent,
    SurveyRespondentError,
    SurveyStatus,
    survey_of,
)
from complaint_flow.model.timers import timer_at
from complaint_flow.services import satisfaction

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BO = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=3, email="mo@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org", phone="+44 7700 900001")

TO_CLOSE: list[tuple[str, dict[str, Any]]] = [
    ("thank", {}),
    ("apologise", {}),
    ("collect_information", {"facts": "box crushed"}),
    ("take_action", {"action": "send a new one"}),
    ("put_it_right", {}),
    ("confirm_satisfied", {"customer_feedback": "Happy now"}),
    ("summarise", {"resolution": "replaced", "timeline": "2 days"}),
    ("close", {}),
]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    with Engine.open("memory://", workflow="tactics", clock=clock, load_entry_points=False) as e:
        yield e


def receive(engine: Engine, customer: Customer = ADA, **extra: Any) -> str:
    intake = Intake(channel="email", customer=customer, summary="Parcel arrived broken", **extra)
    complaint = engine.receive(intake)
    engine.assign(complaint.id, BO, actor=BO, reason="mine")
    return complaint.id


def close(engine: Engine, complaint_id: str, steps: int = len(TO_CLOSE)) -> None:
    for trigger, data in TO_CLOSE[:steps]:
        engine.fire(complaint_id, trigger, actor=BO, data=data)


def kinds(engine: Engine, complaint_id: str) -> list[str]:
    return [event.kind for event in engine.history(complaint_id)]


def survey_messages(engine: Engine, complaint_id: str) -> list[Any]:
    return [m for m in engine.outbox(complaint_id) if m.payload.get("survey")]


def customer_reply(customer: Customer = ADA) -> SurveyRespondent:
    return SurveyRespondent.reply(customer.id, "email", message_id="<reply-1@example.org>")


def restrict(engine: Engine, customer: Customer = ADA) -> None:
    engine.conduct.restrict(
        customer,
        [Restriction.written_only()],
        actor=MANAGER,
        reasons="abusive calls",
        review_at=engine.now() + timedelta(days=90),
        skip_warning_reason="staff safety",
    )


# -- the check step -----------------------------------------------------------------------


def test_the_check_step_records_the_answer_in_the_same_commit(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id, steps=5)
    before = engine.get(complaint_id).version
    unhappy = engine.fire(
        complaint_id, "report_unsatisfied", actor=BO, data={"customer_feedback": "Still broken"}
    )
    assert unhappy.version == before + 2  # the step and its answer, one commit
    history = engine.history(complaint_id)
    assert [e.kind for e in history[-2:]] == ["transition", CHECKED]
    assert unhappy.data[CHECK_KEY]["satisfied"] is False
    assert unhappy.data[CHECK_KEY]["feedback"] == "Still broken"
    engine.fire(complaint_id, "take_action", actor=BO, data={"action": "refund"})
    engine.fire(complaint_id, "put_it_right", actor=BO)
    happy = engine.fire(
        complaint_id, "confirm_satisfied", actor=BO, data={"customer_feedback": "Thanks!"}
    )
    assert happy.data[CHECK_KEY] == {
        "satisfied": True,
        "step": "confirm_satisfied",
        "checked_at": T0.isoformat(),
        "checks": 2,
        "feedback": "Thanks!",
    }
    assert kinds(engine, complaint_id).count(CHECKED) == 2


def custom_workflow(satisfaction_section: str) -> WorkflowDefinition:
    return WorkflowDefinition.from_toml(
        f"""
name = "shop"
initial = "open"
roles = ["agent"]
[states.open]
[states.asking]
[states.done]
terminal = true
[states.dropped]
terminal = true
[[transitions]]
trigger = "ask"
source = "open"
dest = "asking"
[[transitions]]
trigger = "happy"
source = "asking"
dest = "done"
[[transitions]]
trigger = "unhappy"
source = "asking"
dest = "open"
[[transitions]]
trigger = "drop"
source = ["open", "asking"]
dest = "dropped"
{satisfaction_section}
"""
    )


def test_check_steps_and_survey_states_are_the_workflows_own(clock: ManualClock) -> None:
    shop = custom_workflow(
        """
[satisfaction]
check_steps = { happy = true, unhappy = false }
feedback = "said"
survey_on = ["done"]
withdrawn = ["dropped"]
expires_after = "10 days"
remind_after = "3 days"
"""
    )
    with Engine.open("memory://", workflow=shop, clock=clock, load_entry_points=False) as engine:
        complaint_id = receive(engine)
        engine.fire(complaint_id, "ask", actor=BO)
        unhappy = engine.fire(complaint_id, "unhappy", actor=BO, data={"said": "meh"})
        assert unhappy.data[CHECK_KEY]["satisfied"] is False
        assert unhappy.data[CHECK_KEY]["feedback"] == "meh"
        engine.fire(complaint_id, "ask", actor=BO)
        done = engine.fire(complaint_id, "happy", actor=BO)
        survey = survey_of(done)
        assert survey is not None
        assert survey.open
        assert survey.expires_at == T0 + timedelta(days=10)
        assert survey.remind_at == T0 + timedelta(days=3)
        assert done.due_at == T0 + timedelta(days=3)


def test_a_workflow_without_the_section_records_nothing(clock: ManualClock) -> None:
    with Engine.open(
        "memory://", workflow=custom_workflow(""), clock=clock, load_entry_points=False
    ) as engine:
        complaint_id = receive(engine)
        engine.fire(complaint_id, "ask", actor=BO)
        done = engine.fire(complaint_id, "happy", actor=BO)
        assert CHECK_KEY not in done.data
        assert survey_of(done) is None
        assert kinds(engine, complaint_id)[-1] == "transition"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("check_steps = { smile = true }", "check step 'smile' is not a trigger"),
        ('survey_on = ["finished"]', "survey_on names state 'finished'"),
        ('survey_on = ["done"]\nwithdrawn = ["done"]', "is both in survey_on and in withdrawn"),
        ('remind_after = "30 days"', "remind_after (30 days, 0:00:00) must be shorter"),
        ('expires_after = "5 working days"', "counts working time"),
        ('expires_after = "soon"', "expires_after"),
        ("check_steps = { happy = 1 }", "'happy' must be true (the customer is satisfied)"),
        ('survey_om = ["done"]', "did you mean 'survey_on'"),
    ],
)
def test_a_wrong_section_is_refused_with_the_reason(section: str, problem: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as refused:
        custom_workflow(f"[satisfaction]\n{section}").check()
    assert problem in str(refused.value)


# -- the survey ----------------------------------------------------------------------------


def test_closing_sends_one_survey_on_the_reply_channel(engine: Engine) -> None:
    letters = Customer(
        id="C-2",
        name="Cy",
        email="cy@example.org",
        postal_address="1 High St",
        preferred_channel="letter",
    )
    complaint_id = receive(engine, letters)
    close(engine, complaint_id)
    closed = engine.get(complaint_id)
    assert kinds(engine, complaint_id)[-2:] == ["transition", SENT]
    [message] = survey_messages(engine, complaint_id)
    assert (message.channel, message.address) == ("letter", "1 High St")
    assert message.topic == "tactics.satisfaction_survey"
    assert message.status is OutboxStatus.PENDING
    assert "number from 1 to 5" in message.payload["text"]
    assert "2026-03-30" in message.payload["text"]  # answerable for 28 days
    survey = survey_of(closed)
    assert survey is not None
    assert (survey.status, survey.channel, survey.reachable) == (SurveyStatus.OPEN, "letter", True)
    assert timer_at(closed.data, SURVEY_TIMER) == T0 + timedelta(days=7)
    assert closed.due_at == T0 + timedelta(days=7)


def test_a_survey_nothing_reaches_is_kept_unreachable(engine: Engine) -> None:
    nowhere = Customer(id="C-3", name="Di")
    complaint = engine.receive(Intake(channel="web_form", customer=nowhere, summary="Broken"))
    engine.assign(complaint.id, BO, actor=BO, reason="mine")
    close(engine, complaint.id)
    [message] = survey_messages(engine, complaint.id)
    assert message.status is OutboxStatus.UNREACHABLE
    survey = survey_of(engine.get(complaint.id))
    assert survey is not None
    assert survey.open
    assert not survey.reachable


def test_a_french_customer_gets_the_survey_in_french(engine: Engine) -> None:
    complaint_id = receive(engine, data={"language": "fr"})
    close(engine, complaint_id)
    [message] = survey_messages(engine, complaint_id)
    assert "un nombre de 1 à 5" in message.payload["text"]


def test_no_survey_for_an_anonymous_complaint(engine: Engine) -> None:
    complaint_id = receive(engine, data={"anonymous": True})
    close(engine, complaint_id)
    survey = survey_of(engine.get(complaint_id))
    assert survey is not None
    assert survey.status is SurveyStatus.SKIPPED
    assert survey.why == satisfaction.ANONYMOUS
    assert kinds(engine, complaint_id)[-1] == SKIPPED
    assert survey_messages(engine, complaint_id) == []


def test_no_survey_for_a_customer_under_a_restriction(engine: Engine) -> None:
    complaint_id = receive(engine)
    restrict(engine)
    close(engine, complaint_id)
    survey = survey_of(engine.get(complaint_id))
    assert survey is not None
    assert survey.why == satisfaction.RESTRICTED
    assert survey_messages(engine, complaint_id) == []
    with pytest.raises(SurveyClosedError, match="under a restriction"):
        satisfaction.record_survey_answer(engine, complaint_id, 5, via=customer_reply())


def test_no_survey_when_the_customer_opted_out(engine: Engine) -> None:
    first = receive(engine)
    satisfaction.record_survey_preference(
        engine, ADA.id, opted_out=True, actor=BO, reason="asked by phone on 2 March"
    )
    assert satisfaction.survey_opted_out(engine, ADA.id)
    second = receive(engine)  # a later complaint: the preference is the customer's
    close(engine, first)
    close(engine, second)
    for complaint_id in (first, second):
        survey = survey_of(engine.get(complaint_id))
        assert survey is not None
        assert survey.why == satisfaction.OPTED_OUT
    satisfaction.record_survey_preference(
        engine, ADA.id, opted_out=False, actor=BO, reason="asked by email to be asked again"
    )
    assert not satisfaction.survey_opted_out(engine, ADA.id)
    third = receive(engine)
    close(engine, third)
    assert len(survey_messages(engine, third)) == 1


def test_an_opt_out_needs_a_complaint_to_be_recorded_on(engine: Engine) -> None:
    with pytest.raises(SurveyError, match="no complaint in this store"):
        satisfaction.record_survey_preference(
            engine, "C-404", opted_out=True, actor=BO, reason="asked"
        )


def test_withdrawing_cancels_an_open_survey(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    engine.fire(complaint_id, "reopen", actor=MANAGER, data={"reopen_reason": "broke again"})
    engine.fire(complaint_id, "withdraw", actor=BO, data={"withdrawal_reason": "sorted it myself"})
    withdrawn = engine.get(complaint_id)
    survey = survey_of(withdrawn)
    assert survey is not None
    assert survey.status is SurveyStatus.CANCELLED
    assert kinds(engine, complaint_id)[-1] == CANCELLED
    assert timer_at(withdrawn.data, SURVEY_TIMER) is None
    with pytest.raises(SurveyClosedError, match="cancelled"):
        satisfaction.record_survey_answer(engine, complaint_id, 4, via=customer_reply())


def test_closing_again_after_reopening_sends_no_second_survey(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    engine.fire(complaint_id, "reopen", actor=MANAGER, data={"reopen_reason": "broke again"})
    close(engine, complaint_id, steps=0)
    for trigger, data in TO_CLOSE[3:]:
        engine.fire(complaint_id, trigger, actor=BO, data=data)
    assert engine.get(complaint_id).state == "closed"
    assert kinds(engine, complaint_id).count(SENT) == 1
    assert len(survey_messages(engine, complaint_id)) == 1


# -- the sweep: one reminder, then expiry ------------------------------------------------------


def test_one_reminder_then_expiry(engine: Engine, clock: ManualClock) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    clock.advance(timedelta(days=7) - timedelta(minutes=1))
    assert engine.sweep().survey_reminders == 0
    clock.advance(timedelta(minutes=1))
    report = engine.sweep()
    assert (report.survey_reminders, report.surveys_expired) == (1, 0)
    messages = survey_messages(engine, complaint_id)
    assert [m.topic for m in messages] == [
        "tactics.satisfaction_survey",
        "tactics.satisfaction_survey_reminder",
    ]
    assert "A reminder" in messages[1].payload["text"]
    reminded = engine.get(complaint_id)
    assert reminded.due_at == T0 + timedelta(days=28)
    assert engine.sweep().survey_reminders == 0  # only one
    clock.advance(timedelta(days=21))
    assert engine.sweep().surveys_expired == 1
    expired = engine.get(complaint_id)
    assert survey_of(expired).status is SurveyStatus.EXPIRED  # type: ignore[union-attr]
    assert expired.due_at is None
    assert kinds(engine, complaint_id).count(REMINDED) == 1
    assert kinds(engine, complaint_id)[-1] == EXPIRED
    with pytest.raises(SurveyClosedError, match="expired"):
        satisfaction.record_survey_answer(engine, complaint_id, 5, via=customer_reply())


def test_an_answer_after_expiry_is_refused_before_the_sweep_records_it(
    engine: Engine, clock: ManualClock
) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    clock.advance(timedelta(days=28))
    before = engine.get(complaint_id)
    with pytest.raises(SurveyClosedError, match="answers after expiry are not counted"):
        satisfaction.record_survey_answer(engine, complaint_id, 5, via=customer_reply())
    assert engine.get(complaint_id) == before


@pytest.mark.parametrize("why", ["restricted", "opted_out", "reopened"])
def test_no_reminder_when_things_changed(engine: Engine, clock: ManualClock, why: str) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    if why == "restricted":
        restrict(engine)
    elif why == "opted_out":
        satisfaction.record_survey_preference(
            engine, ADA.id, opted_out=True, actor=BO, reason="asked"
        )
    else:
        engine.fire(complaint_id, "reopen", actor=MANAGER, data={"reopen_reason": "again"})
    clock.advance(timedelta(days=7))
    assert engine.sweep().survey_reminders == 0
    assert kinds(engine, complaint_id)[-1] == REMINDER_SKIPPED
    assert len(survey_messages(engine, complaint_id)) == 1
    current = engine.get(complaint_id)
    assert survey_of(current).open  # type: ignore[union-attr]
    assert timer_at(current.data, SURVEY_TIMER) == T0 + timedelta(days=28)


def test_the_survey_timer_survives_clock_changes(engine: Engine, clock: ManualClock) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    clock.advance(timedelta(days=1))
    # Reopening restarts the resolve clock (8 weeks): the reminder keeps its own time.
    reopened = engine.fire(complaint_id, "reopen", actor=MANAGER, data={"reopen_reason": "x"})
    assert reopened.due_at == T0 + timedelta(days=7)
    assert engine.recompute_clocks(complaint_id, actor=BO).due_at == T0 + timedelta(days=7)


# -- answers ------------------------------------------------------------------------------


def test_the_customers_answer_is_recorded_once(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    answered = satisfaction.record_survey_answer(
        engine, complaint_id, 4, "Quick and kind", via=customer_reply()
    )
    survey = survey_of(answered)
    assert survey is not None
    assert (survey.status, survey.score, survey.comment) == (
        SurveyStatus.ANSWERED,
        4,
        "Quick and kind",
    )
    assert survey.via == "reply:email"
    assert answered.due_at is None
    event = engine.history(complaint_id)[-1]
    assert event.kind == ANSWERED
    assert dict(event.data) == {
        "score": 4,
        "comment": "Quick and kind",
        "category": "general",
        "channel": "email",
        "team": None,
        "via": "reply:email",
        "sent_at": T0.isoformat(),
        "detail": "<reply-1@example.org>",
    }
    with pytest.raises(SurveyClosedError, match="one answer per complaint"):
        satisfaction.record_survey_answer(
            engine,
            complaint_id,
            5,
            via=SurveyRespondent.authenticated(ADA.id, "signed survey link"),
        )


def test_staff_cannot_answer_for_the_customer(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    before = engine.get(complaint_id)
    with pytest.raises(SurveyRespondentError, match="staff cannot answer a survey"):
        satisfaction.record_survey_answer(engine, complaint_id, 5, via=BO)  # type: ignore[arg-type]
    with pytest.raises(SurveyRespondentError, match="only the complaint's own customer"):
        satisfaction.record_survey_answer(
            engine, complaint_id, 5, via=SurveyRespondent.authenticated("C-9", "portal")
        )
    with pytest.raises(SurveyRespondentError, match="taken down by a member of staff"):
        satisfaction.record_survey_answer(
            engine, complaint_id, 5, via=SurveyRespondent.reply(ADA.id, "phone")
        )
    assert engine.get(complaint_id) == before


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"score": 0}, "score must be a whole number from 1 to 5"),
        ({"score": 6}, "score must be a whole number from 1 to 5"),
        ({"score": "4"}, "pass the number itself: 4"),
        ({"score": True}, "not True or False"),
        ({"score": 4.0}, "not a float"),
        ({"comment": 5}, "comment must be text"),
        ({"via": "ada@example.org"}, "via must be"),
        ({"complaint_id": None}, "complaint_id must be"),
        ({"via": SurveyRespondent.reply(ADA.id, "pigeon")}, "not a registered channel"),
    ],
)
def test_every_argument_is_checked(engine: Engine, arguments: dict[str, Any], message: str) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    given: dict[str, Any] = {
        "complaint_id": complaint_id,
        "score": 4,
        "comment": "",
        "via": customer_reply(),
    } | arguments
    with pytest.raises(InvalidArgumentError, match=message):
        satisfaction.record_survey_answer(engine, **given)


def test_a_respondent_is_checked_when_built() -> None:
    with pytest.raises(InvalidArgumentError, match="method must be non-empty text"):
        SurveyRespondent.authenticated("C-1", " ")
    with pytest.raises(InvalidArgumentError, match="how must be one of"):
        SurveyRespondent("C-1", "phoned")
    with pytest.raises(InvalidArgumentError, match="a reply needs the channel"):
        SurveyRespondent("C-1", "reply")


def test_no_survey_no_answer(engine: Engine) -> None:
    complaint_id = receive(engine)
    with pytest.raises(SurveyClosedError, match="no survey was sent"):
        satisfaction.record_survey_answer(engine, complaint_id, 3, via=customer_reply())


def test_a_reply_from_the_customer_answers_the_survey(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    reply = "Je vous donne 4 sur 5, merci.\n\nLe lun. 2 mars 2026, Northwind a écrit :\n> 1 à 5"
    stranger = satisfaction.answer_from_reply(
        engine, complaint_id, reply, channel="email", sender="eve@example.org"
    )
    no_score = satisfaction.answer_from_reply(
        engine, complaint_id, "Thanks!", channel="email", sender="ada@example.org"
    )
    assert stranger is None
    assert no_score is None
    assert kinds(engine, complaint_id)[-1] == SENT  # nothing written
    answered = satisfaction.answer_from_reply(
        engine,
        complaint_id,
        reply,
        channel="email",
        sender="Ada@Example.org",
        message_id="<r1@example.org>",
    )
    assert answered is not None
    survey = survey_of(answered)
    assert survey is not None
    assert (survey.score, survey.comment) == (4, "Je vous donne 4 sur 5, merci.")
    again = satisfaction.answer_from_reply(
        engine, complaint_id, "5/5", channel="email", sender="ada@example.org"
    )
    assert again is None  # one answer per complaint: a second reply is just a reply


def test_a_reply_after_expiry_is_not_an_answer(engine: Engine, clock: ManualClock) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    clock.advance(timedelta(days=30))
    assert (
        satisfaction.answer_from_reply(
            engine, complaint_id, "5", channel="email", sender="ada@example.org"
        )
        is None
    )


def test_every_pack_with_a_section_is_valid() -> None:
    for name in ("tactics", "fca", "fca_payments", "spso", "cfpb"):
        pack = load_pack(name)
        assert pack.satisfaction is not None
        assert pack.satisfaction.survey_on == ("closed",)
        assert pack.problems() == []


# -- answers by email ----------------------------------------------------------------------------


def survey_reply(reference: str, body: str, sender: str = "Ada <ada@example.org>") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "complaints@shop.example"
    message["Subject"] = f"Re: [{reference}] Tell us how we handled your complaint"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(body)
    return message.as_bytes(policy=SMTP)


def test_a_reply_to_the_survey_email_is_the_answer(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    reference = engine.get(complaint_id).reference
    mail = EmailIntake(
        engine.kernel,
        engine.reception,
        reply_triggers={"closed": "reopen"},
        reply_actor=MANAGER,
    )
    quoted = "\n\nOn Mon, 2 Mar 2026, Shop wrote:\n> a number from 1 to 5"
    outcome = mail.take(survey_reply(reference, "Four stars, thank you!" + quoted))
    assert outcome.kind is MailOutcomeKind.REPLY
    assert outcome.fired is None  # an answer does not reopen the complaint
    answered = engine.get(complaint_id)
    assert answered.state == "closed"
    survey = survey_of(answered)
    assert survey is not None
    assert (survey.score, survey.comment, survey.via) == (
        4,
        "Four stars, thank you!",
        "reply:email",
    )
    assert kinds(engine, complaint_id)[-2:] == ["customer_replied", ANSWERED]
    # A second reply is a reply: here it reopens the complaint as configured.
    again = mail.take(survey_reply(reference, "Actually it broke again. 1/5"))
    assert again.fired == "reopen"
    assert survey_of(engine.get(complaint_id)).score == 4  # type: ignore[union-attr]


def test_a_survey_reply_from_another_address_is_only_a_reply(engine: Engine) -> None:
    complaint_id = receive(engine)
    close(engine, complaint_id)
    reference = engine.get(complaint_id).reference
    mail = EmailIntake(engine.kernel, engine.reception)
    mail.take(survey_reply(reference, "5/5", sender="Eve <eve@example.org>"))
    survey = survey_of(engine.get(complaint_id))
    assert survey is not None
    assert survey.open
    assert kinds(engine, complaint_id)[-1] == "customer_replied"


def test_erasure_keeps_what_csat_needs_and_erases_the_comment(engine: Engine) -> None:
    complaint_id = receive(engine, data={"team": "Deliveries"})
    close(engine, complaint_id)
    satisfaction.record_survey_answer(
        engine, complaint_id, 2, "Ada Lovelace here: it took ages", via=customer_reply()
    )
    before = satisfaction.csat_report(engine, by=["category", "channel", "team"], period="day")
    engine.erase_customer(ADA.id, actor=MANAGER, reason="GDPR request 2026-7")
    after = satisfaction.csat_report(engine, by=["category", "channel", "team"], period="day")
    assert after == before
    assert [(row.team, row.by_score) for row in after] == [("Deliveries", (0, 1, 0, 0, 0))]
    survey = survey_of(engine.get(complaint_id))
    assert survey is not None
    assert survey.score == 2
    assert survey.comment == "[erased]"
    assert survey.answered_at is not None
