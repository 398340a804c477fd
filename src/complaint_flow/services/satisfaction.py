"""Customer satisfaction: the check step's answer, the survey after resolution, CSAT.

Everything here is events on the complaint, drafted in the kernel's unit of work
(``docs/satisfaction.md``):

- **The check step records its answer.** Firing one of the workflow's
  ``check_steps`` (TACTICS: ``confirm_satisfied``, ``report_unsatisfied``) records a
  ``satisfaction_checked`` event in the same commit as the step, and the answer
  (satisfied or not, the customer's words) under ``data["satisfaction_check"]``.
- **One survey after resolution.** Entering one of the ``survey_on`` states sends a
  survey (a 1-5 score and an optional comment) through the outbox on the
  customer's reply channel, in the same commit as the step; a survey nothing can
  reach is kept *unreachable* like any message. It is never sent twice for one
  complaint, and never to an anonymous complaint, a customer under a restriction
  of the stop procedure (a conduct record in force) or a customer who opted out:
  then a ``survey_skipped`` event says why. Entering a ``withdrawn`` state cancels
  an open survey.
- **One reminder, then expiry, by the sweep.** The survey sets a timer
  (:mod:`complaint_flow.model.timers`) that the complaint's indexed ``due_at``
  includes: the sweep sends the one reminder at ``remind_after`` if there is no
  answer yet (unless the customer has since been restricted or opted out, or the
  complaint was reopened) and expires the survey at ``expires_after``.
- **Answers come from the customer only.** :func:`record_survey_answer` takes who
  answers as a :class:`SurveyRespondent`: the customer's own reply on a channel
  they write on, or the customer as the host authenticated them. A member of
  staff (an ``Actor``) is refused with :class:`SurveyRespondentError`. One answer
  per complaint; an answer after expiry is refused (:class:`SurveyClosedError`).
  :func:`answer_from_reply` reads the score from a reply's text
  (:func:`complaint_flow.channels.survey_replies.read_score`) for a channel intake.
- **CSAT** per period, category, channel and team: :func:`csat_report`, computed
  by the store where it can (SQL aggregates).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import attrs

from complaint_flow import arguments
from complaint_flow.channels.survey_replies import read_score, reply_part
from complaint_flow.definitions.satisfaction import SatisfactionSettings
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, HasKernel, Kernel, as_kernel
from complaint_flow.model.entities import SYSTEM, Actor, ChannelKind, Complaint, Event
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.model.reply_routing import is_anonymous
from complaint_flow.model.satisfaction import (
    ANSWERED,
    CANCELLED,
    CHECK_KEY,
    CHECKED,
    EXPIRED,
    OPT_OUT_KEY,
    PREFERENCE,
    REMINDED,
    REMINDER_SKIPPED,
    SENT,
    SKIPPED,
    SURVEY_KEY,
    SURVEY_TIMER,
    TIMER_RESET,
    AnsweredSurvey,
    CsatRow,
    Survey,
    SurveyClosedError,
    SurveyError,
    SurveyRespondent,
    SurveyRespondentError,
    SurveyStatus,
    csat,
    csat_grouping,
    survey_of,
    team_of,
)
from complaint_flow.model.timers import timer_at, with_timer
from complaint_flow.storage.satisfaction_reads import SatisfactionReads, answered_survey

TOPIC = "satisfaction_survey"
"""The outbox topic of a survey (``<workflow>.satisfaction_survey``)."""

REMINDER_TOPIC = "satisfaction_survey_reminder"

RESTRICTED = "restricted"
OPTED_OUT = "opted_out"
ANONYMOUS = "anonymous"
WITHDRAWN = "withdrawn"
REOPENED = "reopened"

_WHY = {
    RESTRICTED: "the customer is under a restriction of the stop procedure",
    OPTED_OUT: "the customer opted out of surveys",
    ANONYMOUS: "the complaint is anonymous: there is nobody to ask",
    WITHDRAWN: "the complaint was withdrawn",
    REOPENED: "the complaint was reopened: it is no longer resolved",
}

_TEXTS = {
    "en": (
        "Dear {name},\n\n"
        "We have closed your complaint {reference}. How happy are you with how we "
        "handled it?\n\n"
        "Please reply to this message with a number from 1 to 5 (where five means very "
        "happy and one very unhappy) and, if you like, a few words about why. You can "
        "answer until {until}.\n\n"
        "If you would rather not be asked, tell us and we will not send you surveys.\n"
    ),
    "fr": (
        "Bonjour {name},\n\n"
        "Nous avons clos votre réclamation {reference}. Êtes-vous satisfait(e) de la "
        "façon dont nous l'avons traitée ?\n\n"
        "Répondez à ce message par un nombre de 1 à 5 (cinq : très satisfait(e), un : "
        "pas du tout satisfait(e)) et, si vous le souhaitez, quelques mots d'explication. "
        "Vous pouvez répondre jusqu'au {until}.\n\n"
        "Si vous préférez ne pas être sollicité(e), dites-le-nous : nous ne vous enverrons "
        "plus de questionnaire.\n"
    ),
}
_SUBJECTS = {
    "en": "Tell us how we handled your complaint",
    "fr": "Donnez-nous votre avis sur le traitement de votre réclamation",
}
_REMINDER_SUBJECTS = {
    "en": "A reminder: tell us how we handled your complaint",
    "fr": "Petit rappel : donnez-nous votre avis sur le traitement de votre réclamation",
}
_REMINDER_LEAD = {
    "en": "A reminder: we would still like to hear from you.\n\n",
    "fr": "Petit rappel : votre avis nous intéresse toujours.\n\n",
}


# -- inside a step: the check answer, the survey, a cancellation --------------------------


def after_step(
    kernel: Kernel, draft: Draft[Complaint], settings: SatisfactionSettings, event: Event
) -> None:
    """Record what a step just drafted means for satisfaction (called by the step service).

    ``event`` is the step's ``transition`` event, already applied to the draft.
    """
    watched = settings.watched
    if event.trigger not in watched and event.dest not in watched:
        return
    satisfied = settings.check_answer(event.trigger)
    if satisfied is not None:
        _record_check(draft, settings, event, satisfied)
    dest = event.dest
    if dest in settings.withdrawn:
        _cancel(draft, event.actor)
    elif dest in settings.survey_on:
        _send_survey(kernel, draft, settings)


def _record_check(
    draft: Draft[Complaint], settings: SatisfactionSettings, event: Event, satisfied: bool
) -> None:
    before = draft.subject.data.get(CHECK_KEY)
    checks = before.get("checks", 0) if isinstance(before, Mapping) else 0
    answer: dict[str, Any] = {
        "satisfied": satisfied,
        "step": event.trigger,
        "checked_at": draft.now.isoformat(),
        "checks": checks + 1 if isinstance(checks, int) else 1,
    }
    feedback = draft.subject.data.get(settings.feedback)
    if isinstance(feedback, str) and feedback.strip():
        answer["feedback"] = feedback.strip()
    said = "satisfied" if satisfied else "not satisfied yet"
    draft.record(
        CHECKED,
        event.actor,
        reason=f"the customer said they are {said} ({event.trigger})",
        data={CHECK_KEY: answer},
        merge_data=True,
    )


def _cancel(draft: Draft[Complaint], actor: Actor) -> None:
    survey = survey_of(draft.subject)
    if survey is None or not survey.open:
        return
    _record_survey(
        draft,
        CANCELLED,
        actor,
        f"survey cancelled: {_WHY[WITHDRAWN]}",
        {"status": SurveyStatus.CANCELLED.value, "why": WITHDRAWN},
        timer=None,
    )


def not_surveyed_because(kernel: Kernel, complaint: Complaint, now: datetime) -> str | None:
    """Why the customer of ``complaint`` may not be asked now (a code), or None if they may.

    The reasons, in order: ``anonymous``, ``restricted`` (a conduct record in force
    at ``now``), ``opted_out`` (their latest recorded preference).
    """
    if is_anonymous(complaint):
        return ANONYMOUS
    record = kernel.store.conduct_get(complaint.customer.id)
    if record is not None and record.in_force_at(now):
        return RESTRICTED
    if survey_opted_out(kernel, complaint.customer.id):
        return OPTED_OUT
    return None


def _send_survey(kernel: Kernel, draft: Draft[Complaint], settings: SatisfactionSettings) -> None:
    complaint = draft.subject
    existing = survey_of(complaint)
    if existing is not None and existing.status is not SurveyStatus.SKIPPED:
        return  # one survey per complaint, whatever happens after
    now = draft.now
    why = not_surveyed_because(kernel, complaint, now)
    if why is not None:
        _record_survey(
            draft,
            SKIPPED,
            SYSTEM,
            f"no survey: {_WHY[why]}",
            {"status": SurveyStatus.SKIPPED.value, "why": why},
            timer=None,
        )
        return
    expires = now + settings.expires_after
    remind = None if settings.remind_after is None else now + settings.remind_after
    route = kernel.reply_router.route(complaint, now)
    survey: dict[str, Any] = {
        "status": SurveyStatus.OPEN.value,
        "sent_at": now.isoformat(),
        "expires_at": expires.isoformat(),
        "remind_at": None if remind is None else remind.isoformat(),
        "channel": route.channel,
        "reachable": route.reachable,
    }
    event = _record_survey(
        draft,
        SENT,
        SYSTEM,
        f"survey sent on {route.channel}" + ("" if route.reachable else f" ({route.why})"),
        survey,
        timer=remind or expires,
    )
    _send(draft, event, TOPIC, _survey_text(draft.subject, expires), _SUBJECTS)


def _record_survey(
    draft: Draft[Complaint],
    kind: str,
    actor: Actor,
    reason: str,
    changes: Mapping[str, Any],
    *,
    timer: datetime | None,
    event_data: Mapping[str, Any] | None = None,
) -> Event:
    """Record ``kind`` with the survey's data updated by ``changes`` and its timer set."""
    before = draft.subject.data.get(SURVEY_KEY)
    survey = {**(before if isinstance(before, Mapping) else {}), **changes}
    data = with_timer({**draft.subject.data, SURVEY_KEY: survey}, SURVEY_TIMER, timer)
    return draft.record(
        kind,
        actor,
        reason=reason,
        data=dict(changes) if event_data is None else event_data,
        change={"data": freeze_mapping(data)},
    )


def _language(complaint: Complaint) -> str:
    language = complaint.data.get("language")
    return language if isinstance(language, str) and language in _TEXTS else "en"


def _survey_text(complaint: Complaint, expires: datetime, *, reminder: bool = False) -> str:
    language = _language(complaint)
    text = _TEXTS[language].format(
        name=complaint.customer.name,
        reference=complaint.reference,
        until=expires.astimezone(UTC).date().isoformat(),
    )
    if reminder:
        greeting, _, rest = text.partition("\n\n")
        text = f"{greeting}\n\n{_REMINDER_LEAD[language]}{rest}"
    return text


def _send(
    draft: Draft[Complaint], event: Event, topic: str, text: str, subjects: Mapping[str, str]
) -> None:
    """The survey (or its reminder) to the customer, routed as every reply is."""
    subject = subjects[_language(draft.subject)]
    for message in draft.aggregate.notifications(draft.subject, ("customer",), event, topic, False):
        payload = {**message.payload, "text": text, "subject": subject, "survey": True}
        draft.send(attrs.evolve(message, payload=MappingProxyType(payload)))


# -- the sweep: reminder and expiry ---------------------------------------------------------


@attrs.frozen
class DueOutcome:
    """What the sweep did for a complaint's survey."""

    reminders: int = 0
    expired: int = 0


def act_on_due(kernel: Kernel, draft: Draft[Complaint], now: datetime) -> DueOutcome:
    """Send the survey's reminder or expire it if its timer is due at ``now`` (sweep).

    The reminder is skipped (and recorded so) when the customer is restricted or
    opted out since, or the complaint is no longer in a resolved state.
    """
    complaint = draft.subject
    due = timer_at(complaint.data, SURVEY_TIMER)
    if due is None or due > now:
        return DueOutcome()
    survey = survey_of(complaint)
    if survey is None or not survey.open:
        # A timer left over (the survey's data erased or edited): the sweep must not
        # keep coming back to it.
        _record_survey(draft, TIMER_RESET, SYSTEM, "survey timer cleared", {}, timer=None)
        return DueOutcome()
    expires = survey.expires_at
    if expires is None or expires <= now:
        _record_survey(
            draft,
            EXPIRED,
            SYSTEM,
            "survey expired without an answer",
            {"status": SurveyStatus.EXPIRED.value},
            timer=None,
        )
        return DueOutcome(expired=1)
    if survey.remind_at is None or survey.reminded_at is not None:
        _record_survey(draft, TIMER_RESET, SYSTEM, "survey timer moved", {}, timer=expires)
        return DueOutcome()
    why = _not_reminded_because(kernel, complaint, now)
    if why is not None:
        _record_survey(
            draft,
            REMINDER_SKIPPED,
            SYSTEM,
            f"no reminder: {_WHY[why]}",
            {"remind_at": None, "reminder_skipped": why},
            timer=expires,
        )
        return DueOutcome()
    event = _record_survey(
        draft,
        REMINDED,
        SYSTEM,
        "survey reminder sent",
        {"remind_at": None, "reminded_at": now.isoformat()},
        timer=expires,
    )
    _send(
        draft,
        event,
        REMINDER_TOPIC,
        _survey_text(draft.subject, expires, reminder=True),
        _REMINDER_SUBJECTS,
    )
    return DueOutcome(reminders=1)


def _not_reminded_because(kernel: Kernel, complaint: Complaint, now: datetime) -> str | None:
    settings = kernel.workflow(complaint.workflow).definition.satisfaction
    if settings is not None:
        if complaint.state in settings.withdrawn:
            return WITHDRAWN
        if settings.survey_on and complaint.state not in settings.survey_on:
            return REOPENED
    return not_surveyed_because(kernel, complaint, now)


# -- answers ---------------------------------------------------------------------------------


def _respondent(via: object) -> SurveyRespondent:
    if isinstance(via, Actor):
        raise SurveyRespondentError(
            f"{via.name} ({via.role}) is a member of staff, and staff cannot answer a survey "
            "on a customer's behalf: only the customer's own reply (SurveyRespondent.reply) "
            "or the customer as you authenticated them (SurveyRespondent.authenticated) "
            "counts. Ask the customer to answer, or record what they said with add_note."
        )
    return arguments.instance(
        "via",
        via,
        SurveyRespondent,
        "SurveyRespondent.reply(customer_id, 'email', message_id=...) or "
        "SurveyRespondent.authenticated(customer_id, 'signed survey link')",
    )


def _check_respondent(kernel: Kernel, complaint: Complaint, respondent: SurveyRespondent) -> None:
    if respondent.customer_id != complaint.customer.id:
        raise SurveyRespondentError(
            f"the answer comes from customer {respondent.customer_id!r}, but "
            f"{complaint.reference} is customer {complaint.customer.id!r}'s complaint: only "
            "the complaint's own customer may answer its survey"
        )
    if respondent.channel is None:
        return
    channel = kernel.registry.channels.get(respondent.channel)
    if channel is None:
        known = ", ".join(sorted(kernel.registry.channels))
        raise InvalidArgumentError(
            f"via: {respondent.channel!r} is not a registered channel; channels: {known}"
        )
    if channel.kind is ChannelKind.SPOKEN:
        raise SurveyRespondentError(
            f"an answer on {respondent.channel!r} is taken down by a member of staff, and "
            "staff cannot answer on a customer's behalf: ask the customer to reply in writing "
            "or through an authenticated survey link"
        )


def _open_survey(complaint: Complaint, now: datetime) -> Survey:
    survey = survey_of(complaint)
    ref = complaint.reference
    if survey is None:
        raise SurveyClosedError(
            f"no survey was sent for {ref}: a survey goes out when the complaint enters a "
            "resolved state of its workflow ([satisfaction] survey_on)"
        )
    if survey.status is SurveyStatus.SKIPPED:
        why = _WHY.get(survey.why, survey.why)
        raise SurveyClosedError(f"no survey was sent for {ref}: {why}")
    if survey.status is SurveyStatus.ANSWERED:
        when = survey.answered_at.isoformat() if survey.answered_at else "before"
        raise SurveyClosedError(
            f"the survey of {ref} was answered already ({when}, score {survey.score}): one "
            "answer per complaint"
        )
    if survey.status is SurveyStatus.CANCELLED:
        raise SurveyClosedError(
            f"the survey of {ref} was cancelled when the complaint was withdrawn"
        )
    expires = survey.expires_at
    if survey.status is SurveyStatus.EXPIRED or expires is None or expires <= now:
        until = f" on {expires.isoformat()}" if expires else ""
        raise SurveyClosedError(
            f"the survey of {ref} expired{until}; answers after expiry are not counted "
            "(record what the customer said with add_note)"
        )
    return survey


def _record_answer(
    kernel: Kernel,
    draft: Draft[Complaint],
    score: int,
    comment: str,
    respondent: SurveyRespondent,
) -> None:
    complaint = draft.subject
    _check_respondent(kernel, complaint, respondent)
    survey = _open_survey(complaint, draft.now)
    answer: dict[str, Any] = {
        "status": SurveyStatus.ANSWERED.value,
        "score": score,
        "comment": comment,
        "answered_at": draft.now.isoformat(),
        "via": respondent.via,
        "remind_at": None,
    }
    counted = {
        "score": score,
        "comment": comment,
        "category": complaint.category,
        "channel": complaint.channel,
        "team": team_of(complaint),
        "via": respondent.via,
        "sent_at": survey.sent_at.isoformat() if survey.sent_at else None,
    }
    if respondent.detail:
        counted["detail"] = respondent.detail
    _record_survey(
        draft,
        ANSWERED,
        SYSTEM,
        f"the customer answered the survey: {score}/5 ({respondent.via})",
        answer,
        timer=None,
        event_data=counted,
    )


def record_survey_answer(
    owner: HasKernel | Kernel,
    complaint_id: str,
    score: int,
    comment: str = "",
    *,
    via: SurveyRespondent,
) -> Complaint:
    """Record the customer's answer to the survey of a complaint (one per complaint).

    Args:
        owner: the engine (or its kernel).
        complaint_id: the complaint's id or reference.
        score: 1 (very unhappy) to 5 (very happy).
        comment: what the customer said besides, if anything.
        via: who answers, as a :class:`SurveyRespondent`: the customer's own reply on
            a written or online channel, or the customer as the host authenticated
            them. Passing a member of staff (an ``Actor``) is refused.

    Returns:
        The complaint with a ``survey_answered`` event recorded.

    Raises:
        InvalidArgumentError: a score outside 1-5, a comment that is not text, an
            unregistered channel.
        SurveyRespondentError: the answer is not the customer's (staff, another
            customer, a spoken channel).
        SurveyClosedError: no survey is open: none was sent, it was answered, it
            expired (late answers are refused) or it was cancelled.
    """
    kernel = as_kernel(owner)
    complaint_id = arguments.text("complaint_id", complaint_id, strip=False)
    score = arguments.whole_number("score", score, minimum=1, maximum=5)
    comment = arguments.text("comment", comment, blank=True)
    respondent = _respondent(via)

    def build(draft: Draft[Complaint]) -> None:
        _record_answer(kernel, draft, score, comment, respondent)

    return kernel.change(complaint_id, build, retries=RETRIES)[0]


def answer_on_draft(
    kernel: Kernel,
    draft: Draft[Complaint],
    text: str,
    *,
    channel: str,
    sender: str,
    message_id: str | None = None,
) -> int | None:
    """Record the score a customer's reply gives, inside a channel intake's own change.

    For an intake that records the reply itself (a ``customer_replied`` event) and
    wants the answer in the same commit. Returns the score recorded, or None when
    the reply is not a survey answer: no score in it, no survey open (none sent,
    answered, expired, cancelled), or ``sender`` is not the customer's own address
    on ``channel``. Nothing is recorded then.

    Raises:
        InvalidArgumentError: a malformed argument or an unregistered channel.
        SurveyRespondentError: ``channel`` is a spoken one (staff take it down).
    """
    text = arguments.text("text", text, blank=True)
    channel = arguments.name("channel", channel)
    sender = arguments.text("sender", sender)
    complaint = draft.subject
    survey = survey_of(complaint)
    if survey is None or not survey.open or not _from_customer(complaint, channel, sender):
        return None
    score = read_score(text)
    if score is None:
        return None
    respondent = SurveyRespondent.reply(complaint.customer.id, channel, message_id=message_id)
    try:
        _record_answer(kernel, draft, score, reply_part(text).strip(), respondent)
    except SurveyClosedError:
        return None  # expired: the reply stays a reply
    return score


def _from_customer(complaint: Complaint, channel: str, sender: str) -> bool:
    address = complaint.customer.address_for(channel)
    return address is not None and address.strip().casefold() == sender.strip().casefold()


def answer_from_reply(
    owner: HasKernel | Kernel,
    complaint_id: str,
    text: str,
    *,
    channel: str,
    sender: str,
    message_id: str | None = None,
) -> Complaint | None:
    """Record the score a customer's reply (an email answering the survey) gives.

    The score is read with :func:`~complaint_flow.channels.survey_replies.read_score`
    and counted only when ``sender`` is the customer's own address on ``channel``;
    the whole reply is kept as the comment. Returns the complaint with the answer
    recorded, or None when the reply is not a survey answer (see
    :func:`answer_on_draft`): nothing is written then, and the reply is for the
    intake to record as a reply.
    """
    kernel = as_kernel(owner)
    complaint_id = arguments.text("complaint_id", complaint_id, strip=False)

    def build(draft: Draft[Complaint]) -> int | None:
        return answer_on_draft(
            kernel, draft, text, channel=channel, sender=sender, message_id=message_id
        )

    stored, score = kernel.change(complaint_id, build, retries=RETRIES)
    return stored if score is not None else None


# -- opting out --------------------------------------------------------------------------------


def survey_opted_out(owner: HasKernel | Kernel, customer_id: str) -> bool:
    """Whether the customer's latest recorded preference is not to be surveyed.

    The preference is recorded on one of the customer's complaints (the latest when it
    was recorded); the latest recorded over all their complaints counts.
    """
    kernel = as_kernel(owner)
    customer_id = arguments.text("customer_id", customer_id, strip=False)
    latest: tuple[datetime, bool] | None = None
    for complaint in kernel.store.find(customer_id=customer_id):
        preference = complaint.data.get(OPT_OUT_KEY)
        if not isinstance(preference, Mapping):
            continue
        at = _moment(preference.get("recorded_at"))
        opted_out = preference.get("opted_out")
        if at is None or not isinstance(opted_out, bool):
            continue
        # Complaints come oldest first, and a preference is recorded on the latest one:
        # of two recorded at the same instant, the one on the later complaint is later.
        if latest is None or at >= latest[0]:
            latest = (at, opted_out)
    return latest is not None and latest[1]


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def record_survey_preference(
    owner: HasKernel | Kernel,
    customer_id: str,
    *,
    opted_out: bool,
    actor: Actor,
    reason: str,
) -> Complaint:
    """Record whether a customer wants surveys (``opted_out=True``: no more surveys).

    The preference belongs to the customer: it is recorded as a ``survey_preference``
    event on their latest complaint and applies to all their complaints from then on
    (:func:`survey_opted_out` reads the latest). A member of staff may record it, as
    the customer asked on any channel: ``reason`` says how (it is kept in the audit
    trail). An open survey stays answerable; its reminder is not sent.

    Raises:
        InvalidArgumentError: a malformed argument.
        SurveyError: the customer has no complaint to record it on.
    """
    kernel = as_kernel(owner)
    customer_id = arguments.text("customer_id", customer_id, strip=False)
    opted_out = arguments.flag("opted_out", opted_out)
    actor = arguments.instance("actor", actor, Actor, "Actor(id=..., name=..., role=...)")
    reason = arguments.text("reason", reason)
    complaints = kernel.store.find(customer_id=customer_id)
    if not complaints:
        raise SurveyError(
            f"customer {customer_id!r} has no complaint in this store to record a survey "
            "preference on; record it once they have one"
        )
    latest = complaints[-1]

    def build(draft: Draft[Complaint]) -> None:
        preference = {"opted_out": opted_out, "recorded_at": draft.now.isoformat()}
        draft.record(
            PREFERENCE,
            actor,
            reason=reason,
            data={OPT_OUT_KEY: preference},
            merge_data=True,
        )

    return kernel.change(latest.id, build, retries=RETRIES)[0]


# -- CSAT ---------------------------------------------------------------------------------------


def answered_surveys(
    owner: HasKernel | Kernel, *, since: datetime | None = None, until: datetime | None = None
) -> Iterator[AnsweredSurvey]:
    """Every survey answer given from ``since`` (inclusive) to ``until`` (exclusive).

    Read through the ordinary store contract (complaints with an answered survey,
    then their events): what :func:`csat_report` uses for a store that cannot
    compute CSAT itself.
    """
    kernel = as_kernel(owner)
    start = arguments.optional_aware_datetime("since", since)
    end = arguments.optional_aware_datetime("until", until)
    store = kernel.store
    for complaint in store.find():
        survey = survey_of(complaint)
        if survey is None or survey.status is not SurveyStatus.ANSWERED:
            continue
        for event in store.events(complaint.id):
            answer = answered_survey(event)
            if answer is None:
                continue
            if (start is None or answer.answered_at >= start) and (
                end is None or answer.answered_at < end
            ):
                yield answer


def csat_report(
    owner: HasKernel | Kernel,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: Sequence[str] | str = (),
    period: str | None = None,
) -> list[CsatRow]:
    """CSAT (share of 4-5 scores, mean score, counts) per period, category, channel, team.

    Computed by the store when it can (the SQL stores group and count in SQL), else
    from :func:`answered_surveys`; both give what
    :func:`~complaint_flow.model.satisfaction.csat` gives.

    Args:
        owner: the engine (or its kernel).
        since, until: the answers given in ``[since, until)`` (timezone-aware; None:
            no bound).
        by: any of ``"category"``, ``"channel"``, ``"team"`` (the team is
            ``data["team"]`` if the host records one, else the department).
        period: ``"day"``, ``"week"`` (from Monday), ``"month"``, ``"quarter"``,
            ``"year"``, in UTC; None for all the time together.

    Raises:
        InvalidArgumentError: an unknown dimension or period, or a naive time.
    """
    kernel = as_kernel(owner)
    start = arguments.optional_aware_datetime("since", since)
    end = arguments.optional_aware_datetime("until", until)
    dimensions, chosen = csat_grouping(by, period)
    store = kernel.store
    if isinstance(store, SatisfactionReads):
        return store.survey_csat(since=start, until=end, by=dimensions, period=chosen)
    return csat(answered_surveys(kernel, since=start, until=end), by=dimensions, period=chosen)


__all__ = [
    "ANONYMOUS",
    "OPTED_OUT",
    "REMINDER_TOPIC",
    "RESTRICTED",
    "TOPIC",
    "WITHDRAWN",
    "DueOutcome",
    "act_on_due",
    "after_step",
    "answer_from_reply",
    "answer_on_draft",
    "answered_surveys",
    "csat_report",
    "not_surveyed_because",
    "record_survey_answer",
    "record_survey_preference",
    "survey_opted_out",
]
