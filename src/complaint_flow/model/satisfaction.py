"""Customer satisfaction as data: surveys on a complaint, who may answer, and CSAT.

What the satisfaction service records on a complaint is plain data and events
(their kinds and data keys are named here, so that the stores can read answers
without knowing the service): the answer of the workflow's "check the customer is
happy" step under :data:`CHECK_KEY`, the survey sent after resolution under
:data:`SURVEY_KEY` (read it with :func:`survey_of`), and each answer as a
:data:`ANSWERED` event carrying the score and what CSAT is grouped by.

:func:`csat` is the figure itself, a pure function over answered surveys: the
share of answers scoring 4 or 5 (the usual CSAT definition) and the mean score,
with counts, per period, category, channel and team. The SQL stores compute the
same rows with SQL aggregates; the conformance suite checks that they agree.

>>> from datetime import UTC, datetime
>>> answers = [
...     AnsweredSurvey(datetime(2026, 3, 2, tzinfo=UTC), score, "billing", "email", None)
...     for score in (5, 4, 2)
... ]
>>> [row] = csat(answers)
>>> row.answers, row.satisfied, row.csat, row.mean
(3, 2, 66.7, 3.67)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from complaint_flow import arguments
from complaint_flow.errors import ComplaintFlowError, InvalidArgumentError
from complaint_flow.model.entities import Complaint

# -- what is recorded on a complaint ----------------------------------------------------

CHECK_KEY = "satisfaction_check"
"""Complaint data: the latest answer of the workflow's check step (satisfied or not)."""

SURVEY_KEY = "satisfaction_survey"
"""Complaint data: the survey sent after resolution, its state and its answer."""

OPT_OUT_KEY = "survey_opt_out"
"""Complaint data: the customer's wish about surveys, as recorded on that complaint."""

SURVEY_TIMER = "satisfaction_survey"
"""The timer (:mod:`complaint_flow.model.timers`) that brings the sweep back to a survey."""

CHECKED = "satisfaction_checked"
SENT = "survey_sent"
SKIPPED = "survey_skipped"
REMINDED = "survey_reminded"
REMINDER_SKIPPED = "survey_reminder_skipped"
ANSWERED = "survey_answered"
EXPIRED = "survey_expired"
CANCELLED = "survey_cancelled"
PREFERENCE = "survey_preference"
TIMER_RESET = "survey_timer_reset"

EVENT_KINDS = (
    CHECKED,
    SENT,
    SKIPPED,
    REMINDED,
    REMINDER_SKIPPED,
    ANSWERED,
    EXPIRED,
    CANCELLED,
    PREFERENCE,
    TIMER_RESET,
)
"""Every event kind the satisfaction service records."""

SCORES = (1, 2, 3, 4, 5)
SATISFIED_FROM = 4
"""The lowest score that counts as satisfied in CSAT."""


class SurveyStatus(enum.StrEnum):
    """Where a complaint's survey stands."""

    OPEN = "open"
    """Sent and waiting for the customer's answer (until it expires)."""
    ANSWERED = "answered"
    EXPIRED = "expired"
    """Not answered in time; an answer now is refused."""
    CANCELLED = "cancelled"
    """The complaint was withdrawn while the survey was open."""
    SKIPPED = "skipped"
    """Not sent, and why (a restriction, an opt-out, an anonymous complaint)."""


# -- errors -----------------------------------------------------------------------------


class SurveyError(ComplaintFlowError):
    """A survey answer or a survey preference was refused; nothing was written."""


class SurveyClosedError(SurveyError):
    """The complaint has no survey open to answer: none was sent, or it was answered,
    expired or cancelled."""


class SurveyRespondentError(SurveyError, PermissionError):
    """The answer does not come from the customer: staff cannot answer for them."""


# -- who answers ------------------------------------------------------------------------

REPLY = "reply"
AUTHENTICATED = "authenticated"


def _how(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    arguments.one_of(attribute.name, value, (REPLY, AUTHENTICATED))


def _text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    arguments.text(attribute.name, value, strip=False)


def _optional_name(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    arguments.optional_name(attribute.name, value)


@attrs.frozen
class SurveyRespondent:
    """Who answers a survey, and how they were recognised as the customer.

    Build it with :meth:`reply` (the customer's own message on a channel they write
    on themselves: an email, a letter, a web form, a chat) or :meth:`authenticated`
    (the host recognised the customer: a signed survey link, a logged-in account).
    There is no way to build one for a member of staff: an answer taken down by
    someone else (a call, a visit) is not the customer's answer.

    Args:
        customer_id: the customer who answers; it must be the complaint's customer.
        how: ``"reply"`` or ``"authenticated"``.
        channel: for a reply, the channel it came on.
        detail: the message id of a reply, or how the host authenticated the customer.
    """

    customer_id: str = attrs.field(validator=_text)
    how: str = attrs.field(validator=_how)
    channel: str | None = attrs.field(default=None, validator=_optional_name)
    detail: str = attrs.field(default="")

    def __attrs_post_init__(self) -> None:
        arguments.text("detail", self.detail, blank=self.how == REPLY)
        if self.how == REPLY and self.channel is None:
            raise InvalidArgumentError(
                "a reply needs the channel it came on: SurveyRespondent.reply(customer_id, "
                "'email', message_id=...)"
            )

    @classmethod
    def reply(
        cls, customer_id: str, channel: str, *, message_id: str | None = None
    ) -> SurveyRespondent:
        """The customer's own reply on ``channel`` (``message_id`` identifies it there)."""
        detail = arguments.optional_text("message_id", message_id, strip=False) or ""
        return cls(customer_id, REPLY, arguments.name("channel", channel), detail)

    @classmethod
    def authenticated(cls, customer_id: str, method: str) -> SurveyRespondent:
        """The customer, recognised by the host through ``method`` ("signed survey link")."""
        return cls(customer_id, AUTHENTICATED, None, arguments.text("method", method))

    @property
    def via(self) -> str:
        """How the answer came, as recorded: ``reply:email`` or ``authenticated``."""
        return f"{REPLY}:{self.channel}" if self.how == REPLY else AUTHENTICATED


# -- a complaint's survey ---------------------------------------------------------------


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None  # erased
    return moment if moment.utcoffset() is not None else None


@attrs.frozen
class Survey:
    """A complaint's survey as recorded (read it with :func:`survey_of`).

    Times the customer's personal data erasure removed read as None.
    """

    status: SurveyStatus
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    channel: str | None = None
    reachable: bool = True
    score: int | None = None
    comment: str = ""
    answered_at: datetime | None = None
    via: str | None = None
    why: str = ""

    @property
    def open(self) -> bool:
        return self.status is SurveyStatus.OPEN


def survey_of(complaint: Complaint) -> Survey | None:
    """The complaint's survey, or None if none was sent or skipped."""
    data = complaint.data.get(SURVEY_KEY)
    if not isinstance(data, Mapping):
        return None
    try:
        status = SurveyStatus(str(data.get("status")))
    except ValueError:
        return None
    score = data.get("score")
    channel = data.get("channel")
    via = data.get("via")
    return Survey(
        status=status,
        sent_at=_time(data.get("sent_at")),
        expires_at=_time(data.get("expires_at")),
        remind_at=_time(data.get("remind_at")),
        reminded_at=_time(data.get("reminded_at")),
        channel=channel if isinstance(channel, str) else None,
        reachable=data.get("reachable") is not False,
        score=score if isinstance(score, int) and not isinstance(score, bool) else None,
        comment=str(data.get("comment") or ""),
        answered_at=_time(data.get("answered_at")),
        via=via if isinstance(via, str) else None,
        why=str(data.get("why") or ""),
    )


def team_of(complaint: Complaint) -> str | None:
    """The team CSAT counts a complaint under: ``data["team"]`` if the host records one,
    else the department routing sent it to, else None."""
    team = complaint.data.get("team")
    if isinstance(team, str) and team.strip():
        return team.strip()
    return complaint.department


# -- CSAT ------------------------------------------------------------------------------

DIMENSIONS = ("category", "channel", "team")
"""What CSAT may be grouped by besides the period."""

PERIODS = ("day", "week", "month", "quarter", "year")
"""The periods CSAT may be grouped by (in UTC; a week starts on Monday)."""


@attrs.frozen
class AnsweredSurvey:
    """One survey answer as CSAT counts it: when, the score, and what it is grouped by."""

    answered_at: datetime
    score: int
    category: str
    channel: str
    team: str | None = None


def _scores(value: object) -> tuple[int, ...]:
    counts = tuple(value) if isinstance(value, Iterable) else ()
    if len(counts) != len(SCORES) or not all(
        isinstance(count, int) and count >= 0 for count in counts
    ):
        raise InvalidArgumentError(
            f"by_score must hold five counts (of scores 1 to 5), got {value!r}"
        )
    return counts


@attrs.frozen
class CsatRow:
    """CSAT for one group: how many answers scored 1, 2, 3, 4 and 5.

    ``period`` (the first day of the period), ``category``, ``channel`` and ``team``
    are the group's values for the dimensions grouped by, None for the others (and
    ``team`` None also for answers of complaints without a team).
    """

    period: date | None
    category: str | None
    channel: str | None
    team: str | None
    by_score: tuple[int, int, int, int, int] = attrs.field(converter=_scores)

    @property
    def answers(self) -> int:
        return sum(self.by_score)

    @property
    def satisfied(self) -> int:
        """Answers scoring 4 or 5."""
        return sum(self.by_score[SATISFIED_FROM - 1 :])

    @property
    def csat(self) -> float:
        """The share of satisfied answers, in percent (one decimal); 0.0 without answers."""
        return round(100 * self.satisfied / self.answers, 1) if self.answers else 0.0

    @property
    def mean(self) -> float:
        """The mean score (two decimals); 0.0 without answers."""
        if not self.answers:
            return 0.0
        total = sum(score * count for score, count in zip(SCORES, self.by_score, strict=True))
        return round(total / self.answers, 2)

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data (counts and figures)."""
        return {
            "period": None if self.period is None else self.period.isoformat(),
            "category": self.category,
            "channel": self.channel,
            "team": self.team,
            "answers": self.answers,
            "satisfied": self.satisfied,
            "csat": self.csat,
            "mean": self.mean,
            "by_score": list(self.by_score),
        }


def period_start(moment: datetime, period: str) -> date:
    """The first day (UTC) of the ``period`` holding ``moment``; weeks start on Monday.

    >>> period_start(datetime(2026, 3, 5, 23, 30, tzinfo=UTC), "week")
    datetime.date(2026, 3, 2)
    >>> period_start(datetime(2026, 8, 20, tzinfo=UTC), "quarter")
    datetime.date(2026, 7, 1)
    """
    day = moment.astimezone(UTC).date()
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period == "year":
        return date(day.year, 1, 1)
    raise InvalidArgumentError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


def csat_grouping(by: object, period: object) -> tuple[tuple[str, ...], str | None]:
    """``by`` and ``period`` checked: the dimensions (in :data:`DIMENSIONS` order) and period.

    Raises:
        InvalidArgumentError: an unknown dimension or period.
    """
    if isinstance(by, str):
        by = (by,)
    given = arguments.names("by", by)
    for dimension in given:
        arguments.one_of("by", dimension, DIMENSIONS)
    chosen = None if period is None else arguments.one_of("period", period, PERIODS)
    return tuple(d for d in DIMENSIONS if d in given), chosen


def row_order(row: CsatRow) -> tuple[Any, ...]:
    """How CSAT rows are sorted: by period, then category, channel and team (None first)."""
    return tuple(
        (value is not None, value or "")
        for value in (row.period.isoformat() if row.period else None, *_values(row))
    )


def _values(row: CsatRow) -> tuple[str | None, ...]:
    return (row.category, row.channel, row.team)


def csat(
    answers: Iterable[AnsweredSurvey],
    *,
    by: Sequence[str] | str = (),
    period: str | None = None,
) -> list[CsatRow]:
    """CSAT per group of ``answers``: one row per period and value of the ``by`` dimensions.

    Args:
        answers: answered surveys (any iterable: it is read once, and only the groups
            are kept in memory).
        by: any of ``"category"``, ``"channel"``, ``"team"``.
        period: ``"day"``, ``"week"``, ``"month"``, ``"quarter"`` or ``"year"``
            (of the answer, UTC); None for no grouping by time.

    Returns:
        The rows, sorted by period, category, channel and team; no row for a group
        without answers, so no answers give ``[]``.

    Raises:
        InvalidArgumentError: an unknown dimension or period, or an answer whose
            score is not 1 to 5.
    """
    dimensions, chosen = csat_grouping(by, period)
    groups: dict[tuple[Any, ...], list[int]] = {}
    for answer in answers:
        if answer.score not in SCORES:
            raise InvalidArgumentError(f"a survey score is 1 to 5, got {answer.score!r}")
        key = (
            None if chosen is None else period_start(answer.answered_at, chosen),
            answer.category if "category" in dimensions else None,
            answer.channel if "channel" in dimensions else None,
            answer.team if "team" in dimensions else None,
        )
        counts = groups.get(key)
        if counts is None:
            counts = groups[key] = [0, 0, 0, 0, 0]
        counts[answer.score - 1] += 1
    rows = [
        CsatRow(period, category, channel, team, tuple(counts))
        for (period, category, channel, team), counts in groups.items()
    ]
    return sorted(rows, key=row_order)


__all__ = [
    "ANSWERED",
    "CANCELLED",
    "CHECKED",
    "CHECK_KEY",
    "DIMENSIONS",
    "EVENT_KINDS",
    "EXPIRED",
    "OPT_OUT_KEY",
    "PERIODS",
    "PREFERENCE",
    "REMINDED",
    "REMINDER_SKIPPED",
    "SATISFIED_FROM",
    "SCORES",
    "SENT",
    "SKIPPED",
    "SURVEY_KEY",
    "SURVEY_TIMER",
    "TIMER_RESET",
    "AnsweredSurvey",
    "CsatRow",
    "Survey",
    "SurveyClosedError",
    "SurveyError",
    "SurveyRespondent",
    "SurveyRespondentError",
    "SurveyStatus",
    "csat",
    "csat_grouping",
    "period_start",
    "row_order",
    "survey_of",
    "team_of",
]
