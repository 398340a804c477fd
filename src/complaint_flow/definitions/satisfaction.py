"""A workflow's satisfaction settings: its check steps and its survey after resolution.

The ``[satisfaction]`` section of a workflow file says which steps are the
"check the customer is happy" step (and whether each means satisfied or not),
which states count as resolved (entering one sends the survey), which states mean
the complaint was withdrawn (no survey, and an open one is cancelled), and how long
a survey stays open and when its one reminder goes::

    [satisfaction]
    check_steps = { confirm_satisfied = true, report_unsatisfied = false }
    feedback = "customer_feedback"
    survey_on = ["closed"]
    withdrawn = ["withdrawn"]
    expires_after = "28 days"
    remind_after = "7 days"

A workflow without the section records no check answers and sends no surveys.

>>> settings, problems = parse_satisfaction({"survey_on": ["closed"], "remind_after": "3 days"})
>>> problems, settings.survey_on, settings.remind_after.days, settings.expires_after.days
([], ('closed',), 3, 28)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import attrs

from complaint_flow.definitions.calendars import Duration, DurationError, DurationUnit
from complaint_flow.definitions.structuring import Texts, about, as_tuple, read
from complaint_flow.errors import InvalidArgumentError

DEFAULT_EXPIRY = timedelta(days=28)
DEFAULT_REMINDER = timedelta(days=7)
DEFAULT_FEEDBACK = "customer_feedback"

_ELAPSED = {
    DurationUnit.CALENDAR_DAYS: timedelta(days=1),
    DurationUnit.WEEKS: timedelta(weeks=1),
    DurationUnit.HOURS: timedelta(hours=1),
}
_DURATION = "text such as '28 days', '4 weeks' or '72 hours'"
_STEPS = "a table of trigger -> true (satisfied) or false (not satisfied)"


def _steps(value: object) -> tuple[tuple[str, bool], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    if not isinstance(pairs, Iterable) or isinstance(pairs, str):
        raise InvalidArgumentError(f"check_steps must be {_STEPS}, got {value!r}")
    steps: list[tuple[str, bool]] = []
    for pair in pairs:
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2
            or not isinstance(pair[0], str)
            or not isinstance(pair[1], bool)
        ):
            raise InvalidArgumentError(f"check_steps must be {_STEPS}, got {value!r}")
        steps.append(pair)
    return tuple(steps)


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable) or not all(isinstance(item, str) for item in value):
        raise InvalidArgumentError(f"expected a list of state names, got {value!r}")
    return tuple(value)


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "remind_after":
        return
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidArgumentError(f"{attribute.name} must be a positive timedelta, got {value!r}")


@attrs.frozen
class SatisfactionSettings:
    """How a workflow checks that the customer is happy and surveys them after resolution.

    Args:
        check_steps: the check step triggers, each with what it means: ``True`` the
            customer said they are satisfied, ``False`` they are not.
        feedback: the step data key holding the customer's words (recorded with
            the answer when given).
        survey_on: entering one of these states sends the survey (once per complaint).
        withdrawn: states meaning the complaint was withdrawn: no survey, and an open
            survey is cancelled on entering one.
        expires_after: how long a survey can be answered.
        remind_after: when the one reminder goes if there is no answer yet (None:
            no reminder); shorter than ``expires_after``.

    Raises:
        InvalidArgumentError: a value of the wrong kind, a reminder not before the
            expiry, or a state both resolved and withdrawn.
    """

    check_steps: tuple[tuple[str, bool], ...] = attrs.field(default=(), converter=_steps)
    feedback: str = DEFAULT_FEEDBACK
    survey_on: tuple[str, ...] = attrs.field(default=(), converter=_names)
    withdrawn: tuple[str, ...] = attrs.field(default=(), converter=_names)
    expires_after: timedelta = attrs.field(default=DEFAULT_EXPIRY, validator=_positive)
    remind_after: timedelta | None = attrs.field(default=DEFAULT_REMINDER, validator=_positive)
    watched: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    """The check steps and the states a step must touch to matter (every step asks)."""

    def __attrs_post_init__(self) -> None:
        problems = _settings_problems(self)
        if problems:
            raise InvalidArgumentError("satisfaction settings: " + "; ".join(problems))
        steps = (step for step, _ in self.check_steps)
        # Derived once: a step that touches none of these costs one set lookup.
        object.__setattr__(self, "watched", frozenset((*steps, *self.survey_on, *self.withdrawn)))

    def check_answer(self, trigger: str | None) -> bool | None:
        """What firing ``trigger`` says about the customer: satisfied, not, or nothing."""
        for step, satisfied in self.check_steps:
            if step == trigger:
                return satisfied
        return None

    def problems(self, states: Iterable[str], triggers: Iterable[str]) -> list[str]:
        """The settings' references to states and triggers the workflow does not have."""
        known_states, known_triggers = set(states), set(triggers)
        found = [
            f"satisfaction: check step {step!r} is not a trigger of the workflow; triggers: "
            f"{', '.join(sorted(known_triggers))}"
            for step, _ in self.check_steps
            if step not in known_triggers
        ]
        for key, names in (("survey_on", self.survey_on), ("withdrawn", self.withdrawn)):
            found.extend(
                f"satisfaction: {key} names state {state!r}, which the workflow does not "
                f"have; states: {', '.join(sorted(known_states))}"
                for state in names
                if state not in known_states
            )
        return found


def _settings_problems(settings: SatisfactionSettings) -> list[str]:
    found = []
    both = sorted(set(settings.survey_on) & set(settings.withdrawn))
    if both:
        found.append(
            f"{', '.join(map(repr, both))} is both in survey_on and in withdrawn: a withdrawn "
            "complaint is never surveyed; keep each state in one of them"
        )
    reminder = settings.remind_after
    if reminder is not None and reminder >= settings.expires_after:
        found.append(
            f"remind_after ({reminder}) must be shorter than expires_after "
            f"({settings.expires_after}): the reminder comes while the survey is open"
        )
    steps = [step for step, _ in settings.check_steps]
    repeated = sorted({step for step in steps if steps.count(step) > 1})
    if repeated:
        found.append(f"check step {', '.join(map(repr, repeated))} is listed twice")
    return found


@attrs.frozen(kw_only=True)
class SatisfactionTable:
    """The ``[satisfaction]`` section as a workflow file writes it."""

    check_steps: Mapping[str, Any] = attrs.field(factory=dict, metadata=about(expects=_STEPS))
    feedback: str = DEFAULT_FEEDBACK
    survey_on: Texts = ()
    withdrawn: Texts = ()
    expires_after: str = attrs.field(
        default="28 days", metadata=about(label="expires_after", expects=_DURATION)
    )
    remind_after: str = attrs.field(
        default="7 days", metadata=about(label="remind_after", expects=_DURATION)
    )
    reminder: bool = True


def _elapsed(text: str, key: str, problems: list[str]) -> timedelta | None:
    try:
        duration = Duration.parse(text)
    except DurationError as exc:
        problems.append(f"satisfaction: {key}: {exc}")
        return None
    unit = _ELAPSED.get(duration.unit)
    if unit is None:
        problems.append(
            f"satisfaction: {key} {text!r} counts working time, which needs a calendar; "
            f"give it in days, weeks or hours (e.g. '28 days')"
        )
        return None
    return duration.amount * unit


def parse_satisfaction(
    data: Mapping[str, Any] | None,
) -> tuple[SatisfactionSettings | None, list[str]]:
    """Read a workflow's ``[satisfaction]`` section.

    Returns:
        ``(settings, [])``; ``(None, problems)`` listing every problem; ``(None, [])``
        when there is no section.
    """
    if data is None:
        return None, []
    reading = read(data, SatisfactionTable, lambda path: "satisfaction")
    table = reading.value
    if table is None:
        return None, list(reading.problems)
    problems = list(reading.problems)
    for step, satisfied in table.check_steps.items():
        if not isinstance(satisfied, bool):
            problems.append(
                f"satisfaction: check_steps: {step!r} must be true (the customer is satisfied) "
                f"or false (not satisfied), got {satisfied!r}"
            )
    if not table.feedback.strip():
        problems.append("satisfaction: 'feedback' must name a data key such as 'customer_feedback'")
    expires = _elapsed(table.expires_after, "expires_after", problems)
    remind = _elapsed(table.remind_after, "remind_after", problems) if table.reminder else None
    if problems or expires is None:
        return None, problems
    try:
        settings = SatisfactionSettings(
            check_steps=tuple(table.check_steps.items()),
            feedback=table.feedback.strip(),
            survey_on=as_tuple(table.survey_on),
            withdrawn=as_tuple(table.withdrawn),
            expires_after=expires,
            remind_after=remind,
        )
    except InvalidArgumentError as exc:
        return None, [str(exc)]
    return settings, []


__all__ = [
    "DEFAULT_EXPIRY",
    "DEFAULT_FEEDBACK",
    "DEFAULT_REMINDER",
    "SatisfactionSettings",
    "SatisfactionTable",
    "parse_satisfaction",
]
