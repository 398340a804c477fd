"""Business calendars: working days and hours, public holidays, and deadline arithmetic.

A :class:`BusinessCalendar` says when an organisation works: which weekdays,
which hours (in its own time zone), which public holidays it observes (from the
``holidays`` package, by country and subdivision) and which extra days it is
closed. :meth:`BusinessCalendar.deadline` turns "received at this instant" plus
a :class:`Duration` such as ``"5 working days"`` or ``"8 weeks"`` into the
instant (in UTC) by which the work is due.

How each unit counts (the full rules, with examples, are in
``docs/calendars.md``):

- **N working days** (also "business days"): the receipt day is the working day
  on which the complaint arrived, or -- if it arrived on a closed day or after the
  day's last working hour -- the next working day. The deadline is the *end of
  the working day* (close of the day's last working period) that is N working
  days after the receipt day. This is the FCA's "close of business on the third
  business day following the day on which it is received".
- **N working hours**: N hours of working time, counted from the receipt
  instant (or from the next working start if it arrived outside working hours).
  Working time is elapsed time: on a day when the clocks change inside a working
  period, that period is an hour shorter or longer.
- **N calendar days** / **N weeks** (7 N days): the *end of the calendar day*
  (local midnight) N days after the local date of receipt. Closed days and
  working hours do not matter; the time zone does.
- **N hours**: exactly N elapsed hours after the receipt instant.

>>> from datetime import datetime, timezone
>>> scotland = BusinessCalendar(
...     "scotland", time_zone="Europe/London", country="GB", subdivision="SCT"
... )
>>> received = datetime(2026, 11, 30, 11, 0, tzinfo=timezone.utc)  # St Andrew's Day
>>> scotland.deadline(received, "5 working days").isoformat()
'2026-12-08T17:00:00+00:00'
"""

from __future__ import annotations

import bisect
import difflib
import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs
import holidays

from complaint_flow.definitions.structuring import Dates, Texts, Weekdays, about, keys, read
from complaint_flow.errors import ComplaintFlowError

__all__ = [
    "BusinessCalendar",
    "CalendarError",
    "Duration",
    "DurationError",
    "DurationUnit",
    "WorkingPeriod",
]

_DAY = timedelta(days=1)
_ZERO = timedelta(0)
# Day boundaries near datetime's limits cannot be converted to UTC in every zone.
_MIN_YEAR = 2
_MAX_YEAR = 9998


class CalendarError(ComplaintFlowError, ValueError):
    """A calendar definition is impossible, or a calendar was asked an impossible question.

    ``problems`` lists every problem found, so a definition can be fixed in one go.
    """

    def __init__(self, problems: str | Iterable[str], *, calendar: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.calendar = calendar
        if calendar is None and len(self.problems) == 1:
            message = self.problems[0]
        else:
            where = f"calendar {calendar!r}" if calendar is not None else "calendar"
            lines = "\n".join(f"  - {problem}" for problem in self.problems)
            message = f"{where} is not valid:\n{lines}"
        super().__init__(message)


class DurationError(CalendarError):
    """A duration cannot be parsed or is not a positive whole amount of a known unit."""


# --------------------------------------------------------------------------- durations


class DurationUnit(StrEnum):
    """What a :class:`Duration` counts; see the module docstring for the exact rules."""

    WORKING_DAYS = "working days"
    WORKING_HOURS = "working hours"
    CALENDAR_DAYS = "calendar days"
    WEEKS = "weeks"
    HOURS = "hours"


_SINGULAR = {
    DurationUnit.WORKING_DAYS: "working day",
    DurationUnit.WORKING_HOURS: "working hour",
    DurationUnit.CALENDAR_DAYS: "calendar day",
    DurationUnit.WEEKS: "week",
    DurationUnit.HOURS: "hour",
}
_DURATION_EXAMPLES = (
    "'5 working days', '3 business days', '4 working hours', '15 calendar days', "
    "'60 days', '8 weeks' or '24 hours'"
)
_DURATION_PATTERN = re.compile(
    r"^\s*(?P<amount>[+-]?\d+(?:[.,]\d*)?)\s*"
    r"(?:(?P<kind>working|business|calendar)\s+)?"
    r"(?P<unit>days?|weeks?|hours?)\s*$",
    re.IGNORECASE,
)


def _duration_unit(value: DurationUnit | str) -> DurationUnit:
    try:
        return DurationUnit(value)
    except ValueError:
        known = ", ".join(repr(unit.value) for unit in DurationUnit)
        raise DurationError(f"unknown duration unit {value!r}; use one of {known}") from None


def _positive_amount(_instance: Duration, _attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DurationError(
            f"a duration's amount must be a whole number, not {value!r}; "
            "write e.g. Duration(5, 'working days')"
        )
    if value < 1:
        raise DurationError(
            f"a duration must be at least 1, got {value}: a deadline cannot be now or in the "
            "past. Give a positive amount, or leave the clock out."
        )


@attrs.frozen
class Duration:
    """An amount of time as rules state it: ``Duration(5, "working days")``.

    Args:
        amount: a whole number, at least 1.
        unit: a :class:`DurationUnit` or its text (``"working days"``, ``"weeks"``…).

    Raises:
        DurationError: the amount is not a positive whole number or the unit is unknown.

    >>> Duration.parse("3 business days")
    Duration(amount=3, unit=<DurationUnit.WORKING_DAYS: 'working days'>)
    >>> str(Duration.parse("1 Week"))
    '1 week'
    """

    amount: int = attrs.field(validator=_positive_amount)
    unit: DurationUnit = attrs.field(converter=_duration_unit)

    @classmethod
    def parse(cls, text: str | Duration) -> Duration:
        """Read a duration written as rules state it, e.g. ``"5 working days"``.

        "business" means the same as "working"; a bare "days" means calendar days;
        a bare "hours" means elapsed hours, regardless of the calendar.

        Args:
            text: the duration text (a :class:`Duration` is returned unchanged).

        Raises:
            DurationError: the text is not a positive whole amount of a known unit.
        """
        if isinstance(text, Duration):
            return text
        if not isinstance(text, str):
            raise DurationError(
                f"a duration must be text such as {_DURATION_EXAMPLES}; got {text!r}"
            )
        match = _DURATION_PATTERN.match(text)
        if match is None:
            raise DurationError(
                f"cannot read the duration {text!r}; write a whole number and a unit, "
                f"e.g. {_DURATION_EXAMPLES}"
            )
        amount_text = match["amount"]
        if not re.fullmatch(r"[+-]?\d+", amount_text):
            raise DurationError(
                f"the duration {text!r} must use a whole number; express fractions in a "
                "smaller unit (e.g. '12 hours' rather than '0.5 days')"
            )
        kind = (match["kind"] or "").lower()
        unit_word = match["unit"].lower().rstrip("s")
        unit: DurationUnit
        if unit_word == "week":
            if kind in {"working", "business"}:
                raise DurationError(
                    f"{text!r} is ambiguous; count working time in working days "
                    "(e.g. '10 working days') or calendar time in weeks (e.g. '2 weeks')"
                )
            unit = DurationUnit.WEEKS
        elif unit_word == "day":
            unit = (
                DurationUnit.WORKING_DAYS
                if kind in {"working", "business"}
                else DurationUnit.CALENDAR_DAYS
            )
        else:
            unit = (
                DurationUnit.WORKING_HOURS
                if kind in {"working", "business"}
                else DurationUnit.HOURS
            )
        try:
            return cls(int(amount_text), unit)
        except DurationError as error:
            raise DurationError(f"in {text!r}: {error}") from None

    def __str__(self) -> str:
        unit = _SINGULAR[self.unit] if self.amount == 1 else self.unit.value
        return f"{self.amount} {unit}"


# ------------------------------------------------------------------------ working hours


_TIME_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
# Also accept an en dash or em dash between the times, as people write ranges.
_PERIOD_SPLIT = re.compile("\\s*(?:-|\u2013|\u2014|to)\\s*")


def _offset_from_text(text: str, what: str) -> timedelta:
    match = _TIME_PATTERN.match(text)
    if match is None:
        raise CalendarError(
            f"cannot read the {what} time {text!r}; write it as HH:MM, e.g. '09:00'"
        )
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes != 0):
        raise CalendarError(
            f"the {what} time {text!r} is not a time of day; use 00:00 to 23:59, or 24:00 "
            "for the end of the day"
        )
    return timedelta(hours=hours, minutes=minutes)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@attrs.frozen(order=True, repr=False)
class WorkingPeriod:
    """One stretch of working time in a day, as wall-clock offsets from local midnight.

    ``WorkingPeriod.parse("09:00-17:00")``; ``"00:00-24:00"`` is the whole day.

    Args:
        start: when the period starts, from midnight (0 to 24 hours, whole minutes).
        end: when it ends; later than ``start``.

    Raises:
        CalendarError: the period is empty, inverted or outside the day.
    """

    start: timedelta
    end: timedelta

    def __attrs_post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if not isinstance(value, timedelta):
                raise CalendarError(
                    f"a working period's {name} must be a timedelta from midnight, not {value!r}"
                )
            if not _ZERO <= value <= _DAY or value % timedelta(minutes=1):
                raise CalendarError(
                    f"a working period's {name} must be whole minutes between 00:00 and 24:00, "
                    f"not {value}"
                )
        if self.end <= self.start:
            problem = "is empty" if self.end == self.start else "ends before it starts"
            raise CalendarError(
                f"the working period {self} {problem}; write the earlier time first, "
                "e.g. '09:00-17:00' (a period cannot run past midnight: split it in two days)"
            )

    @classmethod
    def parse(cls, text: str | WorkingPeriod) -> WorkingPeriod:
        """Read ``"HH:MM-HH:MM"`` (an en dash or "to" also works).

        Raises:
            CalendarError: the text is not two times of day, the first before the second.
        """
        if isinstance(text, WorkingPeriod):
            return text
        if not isinstance(text, str):
            raise CalendarError(f"a working period must be text like '09:00-17:00', not {text!r}")
        parts = _PERIOD_SPLIT.split(text.strip())
        if len(parts) != 2:
            raise CalendarError(
                f"cannot read the working period {text!r}; write it as 'HH:MM-HH:MM', "
                "e.g. '09:00-17:00'"
            )
        return cls(_offset_from_text(parts[0], "start"), _offset_from_text(parts[1], "end"))

    @property
    def length(self) -> timedelta:
        """The period's nominal (wall-clock) length."""
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_offset_text(self.start)}-{_offset_text(self.end)}"

    def __repr__(self) -> str:
        return f"WorkingPeriod.parse({str(self)!r})"


def _working_hours(value: str | Iterable[str | WorkingPeriod]) -> tuple[WorkingPeriod, ...]:
    """Normalise working hours; overlapping periods are refused."""
    items: list[str | WorkingPeriod]
    if isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, WorkingPeriod):
        items = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            raise CalendarError(
                f"working hours must be a list like ['09:00-17:00'], not {value!r}"
            ) from None
    if not items:
        raise CalendarError(
            "the working hours are empty, so the calendar has no working time; give at least "
            "one period such as '09:00-17:00' (or use calendar_days = true for round-the-clock)"
        )
    periods = sorted(WorkingPeriod.parse(item) for item in items)
    for earlier, later in itertools.pairwise(periods):
        if later.start < earlier.end:
            raise CalendarError(
                f"the working periods {earlier} and {later} overlap; list separate stretches, "
                "e.g. '09:00-12:30' and '13:30-17:00'"
            )
    return tuple(periods)


# --------------------------------------------------------------------------- weekdays

_WEEKDAY_NAMES = {
    "mon": 1, "monday": 1,
    "tue": 2, "tues": 2, "tuesday": 2,
    "wed": 3, "wednesday": 3,
    "thu": 4, "thur": 4, "thurs": 4, "thursday": 4,
    "fri": 5, "friday": 5,
    "sat": 6, "saturday": 6,
    "sun": 7, "sunday": 7,
}  # fmt: skip
MONDAY_TO_FRIDAY = (1, 2, 3, 4, 5)
"""The default working days, as ISO 8601 weekday numbers (1 = Monday … 7 = Sunday)."""
EVERY_DAY = (1, 2, 3, 4, 5, 6, 7)
WHOLE_DAY = (WorkingPeriod(_ZERO, _DAY),)
NINE_TO_FIVE = (WorkingPeriod(timedelta(hours=9), timedelta(hours=17)),)
"""The default working hours."""


def _weekday_number(item: object) -> int:
    if isinstance(item, bool):
        raise CalendarError(f"{item!r} is not a weekday")
    if isinstance(item, int):
        if 1 <= item <= 7:
            return item
        raise CalendarError(
            f"{item} is not a weekday number; numbers are ISO 8601: 1 = Monday … 7 = Sunday "
            "(names such as 'mon' avoid any doubt)"
        )
    if isinstance(item, str):
        number = _WEEKDAY_NAMES.get(item.strip().lower())
        if number is not None:
            return number
    raise CalendarError(
        f"{item!r} is not a weekday; use names ('mon', 'tuesday'…), ranges ('mon-fri') "
        "or ISO numbers (1 = Monday … 7 = Sunday)"
    )


def _working_days(value: str | int | Iterable[str | int]) -> tuple[int, ...]:
    """Normalise working days to sorted ISO weekday numbers."""
    items: list[object]
    if isinstance(value, str | int):
        items = [value]
    else:
        try:
            items = list(value)
        except TypeError:
            raise CalendarError(
                f"working days must be a list like ['mon-fri'], not {value!r}"
            ) from None
    days: set[int] = set()
    for item in items:
        if isinstance(item, str) and "-" in item:
            first_text, _, last_text = item.partition("-")
            first, last = _weekday_number(first_text), _weekday_number(last_text)
            # A range may wrap over the weekend, e.g. 'sun-thu'.
            span = (last - first) % 7
            days.update((first - 1 + step) % 7 + 1 for step in range(span + 1))
        else:
            days.add(_weekday_number(item))
    if not days:
        raise CalendarError(
            "the calendar has no working days, so no deadline could ever fall; give at least "
            "one, e.g. ['mon-fri']"
        )
    return tuple(sorted(days))


# ---------------------------------------------------------------------------- closures


def _closures(value: Iterable[date | str]) -> tuple[date, ...]:
    """Normalise extra closure days to a sorted tuple of unique dates."""
    if isinstance(value, str | date):
        value = [value]
    days: set[date] = set()
    for item in value:
        if isinstance(item, datetime):
            raise CalendarError(
                f"closure {item.isoformat()!r} is a date and time; closures are whole days, "
                "give the date alone (e.g. '2026-12-24')"
            )
        if isinstance(item, date):
            days.add(item)
        elif isinstance(item, str):
            try:
                days.add(date.fromisoformat(item.strip()))
            except ValueError:
                raise CalendarError(
                    f"cannot read the closure date {item!r}; write it as YYYY-MM-DD"
                ) from None
        else:
            raise CalendarError(f"closure {item!r} is not a date; write it as YYYY-MM-DD")
    return tuple(sorted(days))


def _categories(value: str | Iterable[str]) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise CalendarError(f"holiday category {item!r} must be a name such as 'public'")
    return tuple(sorted({item.strip().lower() for item in items}))


# -------------------------------------------------------------------------- validation


def _zone_problem(key: object) -> str | None:
    if not isinstance(key, str) or not key.strip():
        return f"time_zone must be a zone name such as 'Europe/London', not {key!r}"
    try:
        zoneinfo.ZoneInfo(key)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(key, zoneinfo.available_timezones(), n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        return (
            f"unknown time zone {key!r}{hint}; use an IANA zone name such as "
            "'Europe/London' (zoneinfo.available_timezones() lists them)"
        )
    return None


@functools.lru_cache(maxsize=256)
def _holiday_entity(country: str) -> holidays.HolidayBase:
    # An empty instance is enough to read the country's subdivisions and categories.
    return holidays.country_holidays(country, years=[])


@functools.lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    return holidays.list_supported_countries(include_aliases=True)


def _holiday_problems(
    country: str | None, subdivision: str | None, categories: tuple[str, ...]
) -> tuple[list[str], str | None, str | None]:
    """Check the holiday source; return problems and the normalised country and subdivision."""
    problems: list[str] = []
    if country is None:
        if subdivision is not None:
            problems.append(f"subdivision {subdivision!r} needs a country; add e.g. country = 'GB'")
        if categories:
            problems.append("holiday_categories need a country; add e.g. country = 'GB'")
        return problems, None, None
    if not isinstance(country, str) or not country.strip():
        return [f"country must be a country code such as 'GB', not {country!r}"], None, None
    code = country.strip().upper()
    supported = _supported_countries()
    if code not in supported:
        close = difflib.get_close_matches(code, supported, n=3)
        hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        return (
            [
                f"the holidays package has no country {country!r}{hint}; use an ISO 3166 code "
                "such as 'GB', 'US' or 'DE' (holidays.list_supported_countries() lists all "
                f"{len(supported)} codes)"
            ],
            None,
            None,
        )
    entity = _holiday_entity(code)
    normalised_country: str = entity.country
    normalised_subdivision: str | None = None
    if subdivision is not None:
        codes = {str(item).upper(): str(item) for item in entity.subdivisions}
        aliases = {
            str(alias).lower(): str(target)
            for alias, target in getattr(entity, "subdivisions_aliases", {}).items()
        }
        text = str(subdivision).strip()
        normalised_subdivision = codes.get(text.upper()) or aliases.get(text.lower())
        if normalised_subdivision is None:
            valid = ", ".join(repr(item) for item in entity.subdivisions) or "(none)"
            problems.append(
                f"country {normalised_country!r} has no subdivision {subdivision!r}; "
                f"valid subdivisions: {valid}"
            )
    supported_categories = tuple(entity.supported_categories)
    unknown = [item for item in categories if item not in supported_categories]
    if unknown:
        problems.append(
            f"country {normalised_country!r} has no holiday categories "
            f"{', '.join(map(repr, unknown))}; its categories: "
            f"{', '.join(map(repr, supported_categories))}"
        )
    return problems, normalised_country, normalised_subdivision


@functools.lru_cache(maxsize=4096)
def _holidays_in(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> tuple[tuple[date, str], ...]:
    """The holidays of one year, shared by every calendar using the same source."""
    found = holidays.country_holidays(
        country, subdiv=subdivision, years=year, categories=categories or None
    )
    return tuple(sorted(found.items()))


# --------------------------------------------------------------------- time-zone helpers


def _wall_to_utc(zone: zoneinfo.ZoneInfo, wall: datetime) -> datetime:
    """The instant at which the calendar's clocks show ``wall`` (a naive local time).

    A wall time shown twice (clocks going back) gives the first instant; a wall time
    skipped (clocks going forward) gives the instant the clocks jumped, i.e. the first
    instant whose wall time is later. Both keep the mapping monotonic.
    """
    first = wall.replace(tzinfo=zone)
    before = first.utcoffset()
    after = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None
    assert after is not None
    if before >= after:
        return (wall - before).replace(tzinfo=UTC)
    # Skipped wall time: the jump lies between the two readings; find it to the second.
    low = wall - after
    steps = int((after - before).total_seconds())
    low_step, high_step = 0, steps
    while high_step - low_step > 1:
        middle = (low_step + high_step) // 2
        probe = (low + timedelta(seconds=middle)).replace(tzinfo=UTC)
        if probe.astimezone(zone).replace(tzinfo=None) >= wall:
            high_step = middle
        else:
            low_step = middle
    return (low + timedelta(seconds=high_step)).replace(tzinfo=UTC)


def _aware(value: object, what: str) -> datetime:
    """``value`` in UTC; ``what`` names it for the error message."""
    if not isinstance(value, datetime):
        raise CalendarError(f"{what} must be a datetime, not {value!r}")
    if value.utcoffset() is None:
        raise CalendarError(
            f"{what} ({value.isoformat()}) has no time zone, so the calendar cannot tell "
            "which instant it is; pass an aware datetime, e.g. "
            "datetime(2026, 1, 5, 9, tzinfo=timezone.utc)"
        )
    return value.astimezone(UTC)


# ------------------------------------------------------------------------ the calendar

_Period = tuple[datetime, datetime]


@attrs.frozen
class _Year:
    """A year of a calendar, precomputed so that deadlines are lookups, not searches."""

    number: int
    first: int  # ordinal of 1 January
    working: tuple[int, ...]  # ordinals of working days, ascending
    periods: tuple[tuple[_Period, ...], ...]  # per day of the year; () when closed


def _default_days(calendar: BusinessCalendar) -> tuple[int, ...]:
    return EVERY_DAY if calendar.calendar_days else MONDAY_TO_FRIDAY


def _default_hours(calendar: BusinessCalendar) -> tuple[WorkingPeriod, ...]:
    return WHOLE_DAY if calendar.calendar_days else NINE_TO_FIVE


@attrs.frozen(kw_only=True)
class CalendarTable:
    """A calendar as a rule pack writes it (``[calendars.NAME]``).

    Working days, hours, holiday categories and closures are kept as written (one
    or a list); the calendar's own converters read them and say what is wrong with
    a weekday, a period or a date.
    """

    name: str | None = attrs.field(
        default=None, metadata=about(label="name", expects="non-empty text")
    )
    description: str = attrs.field(default="", metadata=about(label="description"))
    time_zone: str = attrs.field(
        metadata=about(
            label="time_zone",
            expects="a zone name such as 'Europe/London'",
            missing="time_zone is missing; add e.g. time_zone = 'Europe/London'",
        )
    )
    calendar_days: bool = attrs.field(default=False, metadata=about(label="calendar_days"))
    working_days: Weekdays = attrs.field(
        default=MONDAY_TO_FRIDAY,
        metadata=about(
            label="working_days",
            expects="weekday names, ranges or ISO numbers such as ['mon-fri']",
        ),
    )
    working_hours: Texts = attrs.field(
        default=(),
        metadata=about(label="working_hours", expects="periods such as ['09:00-17:00']"),
    )
    country: str | None = attrs.field(
        default=None, metadata=about(label="country", expects="text such as 'GB'")
    )
    subdivision: str | None = attrs.field(
        default=None, metadata=about(label="subdivision", expects="text such as 'SCT'")
    )
    holiday_categories: Texts = attrs.field(
        default=(), metadata=about(label="holiday_categories", expects="names such as ['public']")
    )
    closures: Dates = attrs.field(
        default=(), metadata=about(label="closures", expects="dates such as ['2026-12-24']")
    )


@attrs.frozen
class BusinessCalendar:
    """When an organisation works, and the deadline arithmetic that follows from it.

    Args:
        name: how rules and clocks refer to the calendar.
        time_zone: an IANA zone name (``"Europe/London"``); working hours and day
            boundaries are wall-clock times in this zone.
        calendar_days: count every day, around the clock (all seven days,
            00:00-24:00, no holidays): "N working days" then means N calendar days.
        working_days: weekday names (``"mon"``), ranges (``"mon-fri"``, ``"sun-thu"``)
            or ISO numbers (1 = Monday … 7 = Sunday). Default Monday to Friday.
        working_hours: periods such as ``"09:00-17:00"``, or a split day
            ``["09:00-12:30", "13:30-17:00"]``. Default 09:00-17:00.
        country: a country code of the ``holidays`` package (``"GB"``) whose public
            holidays are closed days; None for no public holidays.
        subdivision: the country's subdivision (``"SCT"``, ``"ENG"``, or an alias
            such as ``"Scotland"``); its holidays are added to the national ones.
        holiday_categories: the ``holidays`` categories to observe; default the
            country's public holidays.
        closures: extra closed days (dates or ``"YYYY-MM-DD"``).
        description: free text for people reading the rule pack.

    Raises:
        CalendarError: the definition is impossible (no working time, overlapping
            or inverted hours, unknown time zone, country or subdivision…).
    """

    name: str = attrs.field()
    time_zone: str = attrs.field(kw_only=True)
    calendar_days: bool = attrs.field(default=False, kw_only=True)
    working_days: tuple[int, ...] = attrs.field(
        default=attrs.Factory(_default_days, takes_self=True),
        converter=_working_days,
        kw_only=True,
    )
    working_hours: tuple[WorkingPeriod, ...] = attrs.field(
        default=attrs.Factory(_default_hours, takes_self=True),
        converter=_working_hours,
        kw_only=True,
    )
    country: str | None = attrs.field(default=None, kw_only=True)
    subdivision: str | None = attrs.field(default=None, kw_only=True)
    holiday_categories: tuple[str, ...] = attrs.field(
        default=(), converter=_categories, kw_only=True
    )
    closures: tuple[date, ...] = attrs.field(default=(), converter=_closures, kw_only=True)
    description: str = attrs.field(default="", kw_only=True)
    _zone: zoneinfo.ZoneInfo = attrs.field(init=False, repr=False, eq=False)
    _years: dict[int, _Year] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = _definition_problems(self)
        if problems:
            raise CalendarError(
                problems, calendar=self.name if isinstance(self.name, str) else None
            )
        _, country, subdivision = _holiday_problems(
            self.country, self.subdivision, self.holiday_categories
        )
        object.__setattr__(self, "country", country)
        object.__setattr__(self, "subdivision", subdivision)
        object.__setattr__(self, "_zone", zoneinfo.ZoneInfo(self.time_zone))
        object.__setattr__(self, "_years", {})

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, name: str | None = None) -> BusinessCalendar:
        """Build a calendar from a dict, e.g. a ``[calendars.NAME]`` table of a rule pack.

        The keys are the constructor's arguments; ``name`` may instead be given as an
        argument (the table's key). Dates may be TOML dates or ``"YYYY-MM-DD"`` text.

        Args:
            data: the calendar's settings.
            name: the calendar's name when ``data`` has no ``name`` key.

        Raises:
            CalendarError: listing every problem found at once.

        >>> office = BusinessCalendar.from_dict(
        ...     {"time_zone": "Europe/London", "working_hours": ["09:00-12:30", "13:30-17:00"]},
        ...     name="office",
        ... )
        >>> [str(period) for period in office.working_hours]
        ['09:00-12:30', '13:30-17:00']
        """
        if not isinstance(data, Mapping):
            raise CalendarError(f"a calendar must be a table of settings, not {data!r}")
        label = data.get("name", name)
        if label is None:
            raise CalendarError("the calendar has no name; add name = '...' or pass name=")
        reading = read(data, CalendarTable, lambda path: "")
        problems = list(reading.problems)
        settings: dict[str, Any] = {"name": label}
        if reading.value is not None:
            settings.update(
                (key, getattr(reading.value, key)) for key in data if key in keys(CalendarTable)
            )
            converters: dict[str, Any] = {
                "working_days": _working_days,
                "working_hours": _working_hours,
                "holiday_categories": _categories,
                "closures": _closures,
            }
            converted = dict(settings)
            for key, convert in converters.items():
                if key in settings:
                    try:
                        converted[key] = convert(settings[key])
                    except CalendarError as error:
                        problems.extend(error.problems)
            problems.extend(_definition_problems(_Draft(**converted), given=set(settings)))
        if problems:
            raise CalendarError(problems, calendar=str(label))
        return cls(**settings)

    # -------------------------------------------------------------------- queries

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day: a working weekday, not a holiday or closure.

        Raises:
            CalendarError: ``day`` is a datetime (ask :meth:`is_working_time` instead).
        """
        if isinstance(day, datetime) or not isinstance(day, date):
            raise CalendarError(
                f"is_working_day() takes a date, not {day!r}; for an instant use is_working_time()"
            )
        ordinal = day.toordinal()
        year = self._year(day.year)
        return bool(year.periods[ordinal - year.first])

    def is_working_time(self, when: datetime) -> bool:
        """Whether the instant ``when`` falls inside a working period of a working day.

        Periods include their start and exclude their end: at 17:00 the office is closed.

        Raises:
            CalendarError: ``when`` is naive.
        """
        instant = _aware(when, "the time given to is_working_time()")
        local = instant.astimezone(self._zone)
        year = self._year(local.year)
        return any(
            start <= instant < end for start, end in year.periods[local.toordinal() - year.first]
        )

    def next_working_start(self, when: datetime) -> datetime:
        """The first instant at or after ``when`` that is working time (in UTC).

        An instant inside working hours is returned unchanged (converted to UTC).

        Raises:
            CalendarError: ``when`` is naive.
        """
        instant = _aware(when, "the time given to next_working_start()")
        for periods in self._working_periods_from(instant):
            for start, end in periods:
                if instant < end:
                    return start if start > instant else instant
        raise AssertionError("unreachable: working days never run out")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time elapsed from ``start`` to ``end`` (negative if ``end`` is earlier).

        Pausable clocks use this to measure business time; pauses are subtracted by
        the caller.

        Raises:
            CalendarError: either time is naive.
        """
        first = _aware(start, "the start given to working_time_between()")
        last = _aware(end, "the end given to working_time_between()")
        if last < first:
            return -self.working_time_between(last, first)
        total = _ZERO
        for periods in self._working_periods_from(first):
            for period_start, period_end in periods:
                if period_start >= last:
                    return total
                if period_end > first:
                    total += min(period_end, last) - max(period_start, first)
        raise AssertionError("unreachable: working days never run out")  # pragma: no cover

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant (UTC) at which ``amount`` of working time has passed since ``start``.

        The inverse of :meth:`working_time_between`, to any precision: a clock that
        resumes after a pause with some working time left uses this to find its new
        deadline. ``"N working hours"`` deadlines are ``add_working_time(start, N h)``.

        Args:
            start: an aware datetime.
            amount: the working time to add; zero returns ``start``.

        Raises:
            CalendarError: ``start`` is naive or ``amount`` is negative.
        """
        instant = _aware(start, "the start given to add_working_time()")
        if not isinstance(amount, timedelta) or amount < _ZERO:
            raise CalendarError(
                f"add_working_time() adds a non-negative timedelta, not {amount!r}; "
                "a deadline cannot be earlier than its start"
            )
        if amount == _ZERO:
            return instant
        return self._after_working_time(instant, amount)

    def closed_days(self, year: int) -> dict[date, str]:
        """The public holidays and extra closures in ``year``, by date, with their names."""
        found: dict[date, str] = {}
        if self.country is not None:
            found.update(
                _holidays_in(self.country, self.subdivision, self.holiday_categories, year)
            )
        for day in self.closures:
            if day.year == year:
                found[day] = f"{found[day]}; closure" if day in found else "closure"
        return dict(sorted(found.items()))

    def deadline(self, start: datetime, duration: Duration | str) -> datetime:
        """When something that starts at ``start`` and may take ``duration`` is due (UTC).

        See the module docstring (and ``docs/calendars.md``) for how each unit counts.
        Acting at or before the returned instant is on time.

        Args:
            start: an aware datetime, e.g. when the complaint was received.
            duration: a :class:`Duration` or its text, e.g. ``"5 working days"``.

        Raises:
            CalendarError: ``start`` is naive, or the deadline would fall after year 9999.
            DurationError: ``duration`` cannot be read.
        """
        instant = _aware(start, "the start given to deadline()")
        if not isinstance(duration, Duration):
            duration = Duration.parse(duration)
        unit, amount = duration.unit, duration.amount
        try:
            if unit is DurationUnit.WORKING_DAYS:
                return self._after_working_days(instant, amount)
            if unit is DurationUnit.WORKING_HOURS:
                return self._after_working_time(instant, timedelta(hours=amount))
            if unit is DurationUnit.HOURS:
                return instant + timedelta(hours=amount)
            days = amount * 7 if unit is DurationUnit.WEEKS else amount
            local = instant.astimezone(self._zone)
            end_of_day = datetime.fromordinal(local.toordinal() + days + 1)
            return _wall_to_utc(self._zone, end_of_day)
        except CalendarError:
            raise
        except (OverflowError, ValueError):
            raise CalendarError(
                f"the deadline {duration} after {instant.isoformat()} falls outside the years "
                f"{_MIN_YEAR}-{_MAX_YEAR} that calendars cover; check the duration"
            ) from None

    # ------------------------------------------------------------------ internals

    def _after_working_days(self, instant: datetime, amount: int) -> datetime:
        local = instant.astimezone(self._zone)
        ordinal = local.toordinal()
        year = self._year(local.year)
        periods = year.periods[ordinal - year.first]
        if not periods or instant >= periods[-1][1]:
            # Received on a closed day or after closing: the receipt day is the next
            # working day, which is one more working day to skip.
            amount += 1
        index = bisect.bisect_right(year.working, ordinal)
        while index + amount > len(year.working):
            amount -= len(year.working) - index
            year = self._year(year.number + 1)
            index = 0
        target = year.working[index + amount - 1]
        return year.periods[target - year.first][-1][1]

    def _after_working_time(self, instant: datetime, remaining: timedelta) -> datetime:
        for periods in self._working_periods_from(instant):
            for start, end in periods:
                if end <= instant:
                    continue
                begin = start if start > instant else instant
                available = end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        raise AssertionError("unreachable: working days never run out")  # pragma: no cover

    def _working_periods_from(self, instant: datetime) -> Iterator[tuple[_Period, ...]]:
        """The working periods of each working day, from the local day of ``instant`` on."""
        local = instant.astimezone(self._zone)
        year = self._year(local.year)
        index = bisect.bisect_left(year.working, local.toordinal())
        while True:
            for ordinal in year.working[index:]:
                yield year.periods[ordinal - year.first]
            year = self._year(year.number + 1)
            index = 0

    def _year(self, number: int) -> _Year:
        cached = self._years.get(number)
        if cached is None:
            cached = self._years[number] = self._build_year(number)
        return cached

    def _build_year(self, number: int) -> _Year:
        if not _MIN_YEAR <= number <= _MAX_YEAR:
            raise CalendarError(
                f"calendar {self.name!r} covers the years {_MIN_YEAR}-{_MAX_YEAR}; "
                f"{number} is out of range"
            )
        first = date(number, 1, 1).toordinal()
        last = date(number, 12, 31).toordinal()
        closed = {day.toordinal() for day in self.closures if day.year == number}
        if self.country is not None:
            closed.update(
                day.toordinal()
                for day, _ in _holidays_in(
                    self.country, self.subdivision, self.holiday_categories, number
                )
            )
        weekdays = {day - 1 for day in self.working_days}  # date.weekday() numbering
        zone = self._zone
        working: list[int] = []
        periods: list[tuple[_Period, ...]] = []
        for ordinal in range(first, last + 1):
            if (ordinal - 1) % 7 not in weekdays or ordinal in closed:
                periods.append(())
                continue
            midnight = datetime.fromordinal(ordinal)
            day_periods = []
            for period in self.working_hours:
                begin = _wall_to_utc(zone, midnight + period.start)
                end = _wall_to_utc(zone, midnight + period.end)
                # A period lying wholly in skipped wall time (clocks going forward) is empty.
                if begin < end:
                    day_periods.append((begin, end))
            periods.append(tuple(day_periods))
            if day_periods:
                working.append(ordinal)
        return _Year(number, first, tuple(working), tuple(periods))


@attrs.define
class _Draft:
    """A calendar's settings before construction, for collecting every problem at once."""

    name: object = None
    time_zone: object = None
    calendar_days: object = False
    working_days: object = None
    working_hours: object = None
    country: object = None
    subdivision: object = None
    holiday_categories: object = ()
    closures: object = ()
    description: object = ""


def _definition_problems(
    calendar: BusinessCalendar | _Draft, given: set[str] | None = None
) -> list[str]:
    """Every problem of a calendar's (already converted) settings."""
    problems: list[str] = []
    name = calendar.name
    if not isinstance(name, str) or not name.strip():
        problems.append(f"a calendar needs a name (non-empty text), not {name!r}")
    if calendar.time_zone is not None or given is None:
        problem = _zone_problem(calendar.time_zone)
        if problem:
            problems.append(problem)
    if not isinstance(calendar.description, str):
        problems.append(f"description must be text, not {calendar.description!r}")
    if not isinstance(calendar.calendar_days, bool):
        problems.append(f"calendar_days must be true or false, not {calendar.calendar_days!r}")
    elif calendar.calendar_days:
        clashes: list[str] = []
        if given is not None:
            clashes = [key for key in ("working_days", "working_hours") if key in given]
        else:
            if calendar.working_days != EVERY_DAY:
                clashes.append("working_days")
            if calendar.working_hours != WHOLE_DAY:
                clashes.append("working_hours")
        if calendar.country is not None:
            clashes.append("country")
        if calendar.closures:
            clashes.append("closures")
        if clashes:
            problems.append(
                "calendar_days = true counts every day around the clock, so it cannot have "
                f"{', '.join(clashes)}; remove them or set calendar_days = false"
            )
    holiday_settings_ok = isinstance(calendar.holiday_categories, tuple)
    for key in ("country", "subdivision"):
        value = getattr(calendar, key)
        if value is not None and not isinstance(value, str):
            problems.append(f"{key} must be text such as 'GB' or 'SCT', not {value!r}")
            holiday_settings_ok = False
    if holiday_settings_ok:
        found, _, _ = _holiday_problems(
            calendar.country,  # type: ignore[arg-type]
            calendar.subdivision,  # type: ignore[arg-type]
            calendar.holiday_categories,  # type: ignore[arg-type]
        )
        problems.extend(found)
    return problems
