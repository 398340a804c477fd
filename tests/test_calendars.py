"""Business calendars: definitions, hand-worked deadlines and deadline properties."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaint_flow.definitions.calendars import (
    BusinessCalendar,
    CalendarError,
    Duration,
    DurationError,
    DurationUnit,
    WorkingPeriod,
)
from complaint_flow.errors import ComplaintFlowError

LONDON = ZoneInfo("Europe/London")
MICROSECOND = timedelta(microseconds=1)

ENGLAND = BusinessCalendar("england", time_zone="Europe/London", country="GB", subdivision="ENG")
SCOTLAND = BusinessCalendar("scotland", time_zone="Europe/London", country="GB", subdivision="SCT")


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in London (GMT in winter, BST in summer)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# ----------------------------------------------------------------- hand-worked cases


def test_christmas_2026_england_and_scotland_differ() -> None:
    # Received Wed 23 Dec 2026 10:00 GMT, inside working hours: the receipt day is
    # Wed 23 Dec and the count starts on the next working day.
    # holidays GB-ENG: Fri 25 Dec, Sat 26 Dec, Mon 28 Dec (Boxing Day observed),
    #   Fri 1 Jan 2027.  GB-SCT adds Sat 2 Jan 2027, observed on Mon 4 Jan.
    # England:  Thu 24 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4), Mon 4 Jan (5).
    # Scotland: Thu 24 (1), Tue 29 (2), Wed 30 (3), Thu 31 (4), [Mon 4 closed], Tue 5 (5).
    # The deadline is the close of that day, 17:00 GMT (= UTC in winter).
    received = london(2026, 12, 23, 10, 0)

    assert ENGLAND.deadline(received, "5 working days") == utc(2027, 1, 4, 17, 0)
    assert SCOTLAND.deadline(received, "5 working days") == utc(2027, 1, 5, 17, 0)


def test_easter_2027_with_the_clocks_going_forward() -> None:
    # Received Thu 25 Mar 2027 14:00 GMT. Good Friday 26 Mar is a bank holiday in
    # both; Easter Monday 29 Mar only in England. The clocks go forward on Sun 28 Mar,
    # so "close of business" (17:00 BST) is 16:00 UTC afterwards.
    # England, 3 working days:  Tue 30 (1), Wed 31 (2), Thu 1 Apr (3).
    # Scotland, 3 working days: Mon 29 (1), Tue 30 (2), Wed 31 (3).
    received = london(2027, 3, 25, 14, 0)

    assert ENGLAND.deadline(received, "3 business days") == utc(2027, 4, 1, 16, 0)
    assert SCOTLAND.deadline(received, "3 business days") == utc(2027, 3, 31, 16, 0)
    assert not ENGLAND.is_working_day(date(2027, 3, 29))
    assert SCOTLAND.is_working_day(date(2027, 3, 29))


def test_received_on_a_scottish_holiday() -> None:
    # Mon 30 Nov 2026 is St Andrew's Day: closed in Scotland, open in England.
    # Scotland: the receipt day becomes Tue 1 Dec; Wed 2 (1), Thu 3 (2), Fri 4 (3),
    #   Mon 7 (4), Tue 8 (5) -> Tue 8 Dec 17:00.
    # England: the receipt day is Mon 30 Nov; Tue 1 (1) … Mon 7 Dec (5).
    received = london(2026, 11, 30, 11, 0)

    assert SCOTLAND.deadline(received, "5 working days") == utc(2026, 12, 8, 17, 0)
    assert ENGLAND.deadline(received, "5 working days") == utc(2026, 12, 7, 17, 0)


@pytest.mark.parametrize(
    ("received", "expected", "why"),
    [
        # Fri 4 Dec 2026: Mon 7 (1), Tue 8 (2), Wed 9 (3).
        (london(2026, 12, 4, 16, 59), utc(2026, 12, 9, 17), "inside hours: receipt day Fri"),
        # At 17:00 the office has closed: received on the next working day, Mon 7 Dec.
        (london(2026, 12, 4, 17, 0), utc(2026, 12, 10, 17), "at closing: receipt day Mon"),
        (london(2026, 12, 4, 18, 30), utc(2026, 12, 10, 17), "evening: receipt day Mon"),
        (london(2026, 12, 5, 12, 0), utc(2026, 12, 10, 17), "Saturday: receipt day Mon"),
        # Before opening on a working day, the receipt day is that same day.
        (london(2026, 12, 7, 7, 0), utc(2026, 12, 10, 17), "before opening: receipt day Mon"),
    ],
)
def test_receipt_outside_working_hours(received: datetime, expected: datetime, why: str) -> None:
    assert ENGLAND.deadline(received, "3 working days") == expected, why


def test_working_hours_across_the_spring_clock_change() -> None:
    # Fri 27 Mar 2026 15:00 GMT: 2 hours left on Friday (to 17:00). The clocks go
    # forward on Sun 29 Mar; Monday opens at 09:00 BST = 08:00 UTC, and the other
    # 2 hours end at 11:00 BST = 10:00 UTC (not 11:00 UTC).
    received = london(2026, 3, 27, 15, 0)

    due = ENGLAND.deadline(received, "4 working hours")

    assert due == utc(2026, 3, 30, 10, 0)
    assert due.astimezone(LONDON).hour == 11
    assert ENGLAND.working_time_between(received, due) == timedelta(hours=4)


def test_working_hours_across_the_autumn_clock_change() -> None:
    # Fri 23 Oct 2026 16:00 BST: 1 hour on Friday. The clocks go back on Sun 25 Oct;
    # Monday 09:00 GMT = 09:00 UTC, plus 3 hours -> 12:00 UTC.
    due = ENGLAND.deadline(london(2026, 10, 23, 16, 0), "4 working hours")

    assert due == utc(2026, 10, 26, 12, 0)


def test_calendar_days_end_at_local_midnight_across_clock_changes() -> None:
    # Sat 21 Mar 2026 (GMT) + 15 days = Sun 5 Apr (BST); its end is local midnight,
    # 00:00 BST on 6 Apr = 23:00 UTC on 5 Apr. Weekends and Easter do not matter.
    assert ENGLAND.deadline(london(2026, 3, 21, 12), "15 calendar days") == utc(2026, 4, 5, 23, 0)
    # Sat 17 Oct 2026 (BST) + 15 days = Sun 1 Nov (GMT): ends 00:00 GMT on 2 Nov.
    assert ENGLAND.deadline(london(2026, 10, 17, 12), "15 calendar days") == utc(2026, 11, 2, 0, 0)


def test_weeks_are_seven_calendar_days() -> None:
    # Wed 23 Dec 2026 + 56 days = Wed 17 Feb 2027; its end is 00:00 GMT on 18 Feb.
    received = london(2026, 12, 23, 10, 0)

    assert ENGLAND.deadline(received, "8 weeks") == utc(2027, 2, 18, 0, 0)
    assert ENGLAND.deadline(received, "8 weeks") == ENGLAND.deadline(received, "56 days")


def test_hours_are_elapsed_time_whatever_the_calendar() -> None:
    # Sun 29 Mar 2026 00:30 GMT, just before the clocks go forward: 24 elapsed hours
    # later it is 01:30 BST on Monday (not 00:30 BST, which wall-clock arithmetic on an
    # aware London datetime would give).
    received = london(2026, 3, 29, 0, 30)

    assert ENGLAND.deadline(received, "24 hours") == utc(2026, 3, 30, 0, 30)


def test_split_day() -> None:
    office = BusinessCalendar(
        "office", time_zone="Europe/London", working_hours=["09:00-12:30", "13:30-17:00"]
    )
    # Tue 5 May 2026 11:00 BST: 1h30 until lunch, then 2h30 from 13:30 -> 16:00 BST.
    assert office.deadline(london(2026, 5, 5, 11, 0), "4 working hours") == london(
        2026, 5, 5, 16, 0
    )
    # Received during lunch: work starts at 13:30 the same day.
    assert office.next_working_start(london(2026, 5, 5, 12, 45)) == london(2026, 5, 5, 13, 30)
    assert not office.is_working_time(london(2026, 5, 5, 12, 45))
    assert office.working_time_between(london(2026, 5, 5, 0), london(2026, 5, 6, 0)) == timedelta(
        hours=7
    )


def test_extra_closures_are_skipped() -> None:
    # As in the Christmas case, but the office also closes on Thu 24 and Thu 31 Dec:
    # Tue 29 (1), Wed 30 (2), Mon 4 Jan (3), Tue 5 (4), Wed 6 (5).
    closed_at_christmas = BusinessCalendar(
        "office",
        time_zone="Europe/London",
        country="GB",
        subdivision="ENG",
        closures=["2026-12-24", date(2026, 12, 31)],
    )

    assert closed_at_christmas.deadline(london(2026, 12, 23, 10), "5 working days") == utc(
        2027, 1, 6, 17
    )
    assert closed_at_christmas.closed_days(2026)[date(2026, 12, 24)] == "closure"


def test_calendar_day_mode_counts_every_day_around_the_clock() -> None:
    every_day = BusinessCalendar("every_day", time_zone="Europe/London", calendar_days=True)
    received = london(2026, 12, 23, 10)

    assert every_day.deadline(received, "5 working days") == every_day.deadline(
        received, "5 calendar days"
    )
    assert every_day.deadline(received, "5 working days") == utc(2026, 12, 29, 0)
    # 00:30 GMT on the night the clocks go forward: 4 elapsed hours, 05:30 BST.
    night = london(2026, 3, 29, 0, 30)
    assert every_day.deadline(night, "4 working hours") == utc(2026, 3, 29, 4, 30)


def test_a_working_period_containing_a_clock_change_is_shorter_or_longer() -> None:
    night_shift = BusinessCalendar(
        "night", time_zone="Europe/London", working_days=["sun"], working_hours="00:00-03:00"
    )
    # Sun 29 Mar 2026: 01:00-02:00 never happens, so 00:00-03:00 lasts 2 hours;
    # Sun 25 Oct 2026: 01:00-02:00 happens twice, so it lasts 4 hours.
    spring = night_shift.working_time_between(london(2026, 3, 29), london(2026, 3, 30))
    autumn = night_shift.working_time_between(london(2026, 10, 25), london(2026, 10, 26))

    assert spring == timedelta(hours=2)
    assert autumn == timedelta(hours=4)


def test_a_period_ending_in_skipped_time_ends_when_the_clocks_jump() -> None:
    early_shift = BusinessCalendar(
        "early", time_zone="Europe/London", working_days=["sun"], working_hours="00:00-01:30"
    )
    # On Sun 29 Mar 2026 the clocks jump from 01:00 GMT to 02:00 BST, so they never
    # show 01:30: the shift ends at the jump, after 1 hour.
    assert early_shift.working_time_between(london(2026, 3, 29), london(2026, 3, 30)) == timedelta(
        hours=1
    )
    # A week later the clocks are on BST: the next shift is 00:00-01:30 BST.
    assert early_shift.deadline(london(2026, 3, 29, 0, 30), "1 working day") == utc(
        2026, 4, 5, 0, 30
    )
    assert early_shift.next_working_start(utc(2026, 3, 29, 1, 0)) == utc(2026, 4, 4, 23, 0)


def test_a_day_whose_midnight_is_skipped_ends_when_the_clocks_jump() -> None:
    # Chile puts its clocks forward at midnight (2026-09-06 00:00 -04 -> 01:00 -03):
    # the end of 5 Sep is the jump, 04:00 UTC.
    chile = BusinessCalendar("chile", time_zone="America/Santiago", calendar_days=True)
    received = datetime(2026, 9, 1, 12, tzinfo=UTC)

    assert chile.deadline(received, "4 calendar days") == utc(2026, 9, 6, 4, 0)
    assert chile.deadline(received, "5 calendar days") == utc(2026, 9, 7, 3, 0)


def test_working_days_follow_the_holidays_package() -> None:
    # The per-year cache must agree with the holidays package day by day.
    for calendar, subdivision in ((ENGLAND, "ENG"), (SCOTLAND, "SCT")):
        source = holidays.country_holidays("GB", subdiv=subdivision, years=[2026, 2027])
        day = date(2026, 1, 1)
        while day.year < 2028:
            expected = day.isoweekday() <= 5 and day not in source
            assert calendar.is_working_day(day) is expected, (calendar.name, day)
            day += timedelta(days=1)


def test_subdivision_holidays() -> None:
    assert SCOTLAND.closed_days(2026)[date(2026, 11, 30)] == "Saint Andrew's Day"
    assert date(2026, 11, 30) not in ENGLAND.closed_days(2026)
    assert not SCOTLAND.is_working_day(date(2026, 1, 2))
    assert ENGLAND.is_working_day(date(2026, 1, 2))
    assert not ENGLAND.is_working_day(date(2026, 4, 6))  # Easter Monday
    assert SCOTLAND.is_working_day(date(2026, 4, 6))


def test_week_wraps_and_iso_numbers() -> None:
    sunday_to_thursday = BusinessCalendar("il", time_zone="Asia/Jerusalem", working_days="sun-thu")
    by_number = BusinessCalendar("il", time_zone="Asia/Jerusalem", working_days=[7, 1, 2, 3, 4])

    assert sunday_to_thursday.working_days == (1, 2, 3, 4, 7)
    assert sunday_to_thursday == by_number
    assert sunday_to_thursday.is_working_day(date(2026, 5, 3))  # a Sunday
    assert not sunday_to_thursday.is_working_day(date(2026, 5, 8))  # a Friday


def test_subdivision_aliases_are_normalised() -> None:
    by_alias = BusinessCalendar(
        "scotland", time_zone="Europe/London", country="gb", subdivision="Scotland"
    )

    assert (by_alias.country, by_alias.subdivision) == ("GB", "SCT")
    assert by_alias == SCOTLAND
    assert hash(by_alias) == hash(SCOTLAND)


def test_working_time_between_is_signed() -> None:
    start, end = london(2026, 12, 4, 16), london(2026, 12, 7, 10)

    assert ENGLAND.working_time_between(start, end) == timedelta(hours=2)
    assert ENGLAND.working_time_between(end, start) == -timedelta(hours=2)


# ------------------------------------------------------------------------ from_dict


def test_from_toml_table() -> None:
    pack = tomllib.loads(
        """
        [calendars.scotland]
        description = "Scottish public bodies"
        time_zone = "Europe/London"
        working_days = ["mon-fri"]
        working_hours = ["09:00-12:30", "13:30-17:00"]
        country = "GB"
        subdivision = "SCT"
        closures = [2026-12-24, "2026-12-31"]
        """
    )

    calendar = BusinessCalendar.from_dict(pack["calendars"]["scotland"], name="scotland")

    assert calendar.name == "scotland"
    assert [str(period) for period in calendar.working_hours] == ["09:00-12:30", "13:30-17:00"]
    assert calendar.closures == (date(2026, 12, 24), date(2026, 12, 31))
    assert not calendar.is_working_day(date(2026, 12, 24))


def test_from_dict_reports_every_problem_at_once() -> None:
    with pytest.raises(CalendarError) as raised:
        BusinessCalendar.from_dict(
            {
                "name": "broken",
                "time_zone": "Europe/Lundon",
                "working_days": [],
                "working_hours": ["17:00-09:00"],
                "country": "XX",
                "colour": "blue",
            }
        )

    message = str(raised.value)
    assert len(raised.value.problems) == 5
    for fragment in ("'colour'", "no working days", "ends before it starts", "'Europe/London'"):
        assert fragment in message
    assert "no country 'XX'" in message


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"time_zone": 0}, "time_zone must be a zone name such as 'Europe/London', got 0"),
        ({"time_zone": "UTC", "calendar_days": "yes"}, "calendar_days must be true or false"),
        ({"time_zone": "UTC", "working_days": {"mon": True}}, "working_days must be weekday"),
        ({"time_zone": "UTC", "working_days": [True]}, "working_days must be weekday"),
        ({"time_zone": "UTC", "working_hours": 9}, "working_hours must be periods such as"),
        ({"time_zone": "UTC", "closures": 20261224}, "closures must be dates such as"),
        ({"time_zone": "UTC", "holiday_categories": [1]}, "holiday_categories must be names"),
        ({"time_zone": "UTC", "subdivison": "SCT"}, "(did you mean 'subdivision'?)"),
    ],
)
def test_from_dict_names_the_key_of_a_value_of_the_wrong_kind(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(CalendarError) as raised:
        BusinessCalendar.from_dict(settings, name="office")
    assert raised.value.calendar == "office"
    assert any(message in problem for problem in raised.value.problems), raised.value


def test_from_dict_keeps_every_form_the_constructor_takes() -> None:
    calendar = BusinessCalendar.from_dict(
        {
            "time_zone": "Europe/London",
            "working_days": "mon-thu",
            "working_hours": "09:00-12:30, 13:30-17:00",
            "closures": date(2026, 12, 24),
        },
        name="office",
    )
    assert calendar.working_days == (1, 2, 3, 4)
    assert [str(period) for period in calendar.working_hours] == ["09:00-12:30", "13:30-17:00"]
    assert calendar.closures == (date(2026, 12, 24),)


def test_from_dict_needs_a_name_and_a_time_zone() -> None:
    with pytest.raises(CalendarError, match="no name"):
        BusinessCalendar.from_dict({"time_zone": "UTC"})
    with pytest.raises(CalendarError, match="time_zone is missing"):
        BusinessCalendar.from_dict({}, name="nowhere")


# -------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"time_zone": "Europe/Lundon"}, "unknown time zone 'Europe/Lundon'.*'Europe/London'"),
        ({"time_zone": "Europe/London", "country": "XX"}, "no country 'XX'"),
        (
            {"time_zone": "Europe/London", "country": "GB", "subdivision": "YKS"},
            "no subdivision 'YKS'; valid subdivisions: 'ENG', 'NIR', 'SCT', 'WLS'",
        ),
        ({"time_zone": "Europe/London", "subdivision": "SCT"}, "needs a country"),
        (
            {"time_zone": "Europe/London", "country": "GB", "holiday_categories": ["bank"]},
            "no holiday categories 'bank'; its categories: 'public'",
        ),
        ({"time_zone": "UTC", "working_days": []}, "no working days"),
        ({"time_zone": "UTC", "working_days": [0]}, "ISO 8601: 1 = Monday"),
        ({"time_zone": "UTC", "working_days": ["funday"]}, "'funday' is not a weekday"),
        ({"time_zone": "UTC", "working_hours": []}, "no working time"),
        ({"time_zone": "UTC", "working_hours": ["17:00-09:00"]}, "ends before it starts"),
        ({"time_zone": "UTC", "working_hours": ["09:00-09:00"]}, "is empty"),
        ({"time_zone": "UTC", "working_hours": ["09:00-25:00"]}, "'25:00' is not a time"),
        ({"time_zone": "UTC", "working_hours": ["nine to five"]}, "HH:MM"),
        (
            {"time_zone": "UTC", "working_hours": ["09:00-13:00", "12:00-17:00"]},
            "09:00-13:00 and 12:00-17:00 overlap",
        ),
        ({"time_zone": "UTC", "closures": ["24/12/2026"]}, "YYYY-MM-DD"),
        ({"time_zone": "UTC", "closures": [datetime(2026, 12, 24, 9)]}, "whole days"),
        (
            {"time_zone": "UTC", "calendar_days": True, "working_hours": "09:00-17:00"},
            "calendar_days = true .* cannot have working_hours",
        ),
        ({"time_zone": "UTC", "calendar_days": True, "country": "GB"}, "cannot have country"),
    ],
)
def test_impossible_calendars_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message) as raised:
        BusinessCalendar("bad", **settings)  # type: ignore[arg-type]

    assert isinstance(raised.value, ComplaintFlowError)
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5 working days", "at least 1, got -5"),
        ("0 days", "at least 1, got 0"),
        ("1.5 days", "whole number"),
        ("five days", "cannot read the duration"),
        ("3 fortnights", "cannot read the duration"),
        ("2 working weeks", "ambiguous"),
        ("", "cannot read the duration"),
    ],
)
def test_bad_durations_are_refused(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        Duration.parse(text)
    with pytest.raises(DurationError, match=message):
        ENGLAND.deadline(utc(2026, 1, 5, 9), text)


def test_duration_values_are_checked() -> None:
    with pytest.raises(DurationError, match="at least 1"):
        Duration(-1, "weeks")
    with pytest.raises(DurationError, match="unknown duration unit 'fortnights'"):
        Duration(1, "fortnights")
    with pytest.raises(DurationError, match="whole number"):
        Duration(1.5, "weeks")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "amount", "unit", "written"),
    [
        ("5 working days", 5, DurationUnit.WORKING_DAYS, "5 working days"),
        ("3 Business Days", 3, DurationUnit.WORKING_DAYS, "3 working days"),
        ("1 working day", 1, DurationUnit.WORKING_DAYS, "1 working day"),
        ("4 working hours", 4, DurationUnit.WORKING_HOURS, "4 working hours"),
        ("15 calendar days", 15, DurationUnit.CALENDAR_DAYS, "15 calendar days"),
        ("60 days", 60, DurationUnit.CALENDAR_DAYS, "60 calendar days"),
        ("8 weeks", 8, DurationUnit.WEEKS, "8 weeks"),
        (" 1 week ", 1, DurationUnit.WEEKS, "1 week"),
        ("24 hours", 24, DurationUnit.HOURS, "24 hours"),
    ],
)
def test_durations_parse(text: str, amount: int, unit: DurationUnit, written: str) -> None:
    duration = Duration.parse(text)

    assert (duration.amount, duration.unit) == (amount, unit)
    assert str(duration) == written
    assert Duration.parse(str(duration)) == duration


@pytest.mark.parametrize(
    "call",
    [
        lambda: ENGLAND.deadline(datetime(2026, 1, 5, 9), "5 working days"),
        lambda: ENGLAND.is_working_time(datetime(2026, 1, 5, 9)),
        lambda: ENGLAND.next_working_start(datetime(2026, 1, 5, 9)),
        lambda: ENGLAND.working_time_between(datetime(2026, 1, 5, 9), utc(2026, 1, 6)),
    ],
)
def test_naive_datetimes_are_refused(call: object) -> None:
    with pytest.raises(CalendarError, match="has no time zone"):
        call()  # type: ignore[operator]


def test_is_working_day_wants_a_date() -> None:
    with pytest.raises(CalendarError, match="is_working_time"):
        ENGLAND.is_working_day(utc(2026, 1, 5, 9))


def test_a_deadline_past_the_supported_years_is_refused() -> None:
    with pytest.raises(CalendarError, match="years 2-9998"):
        ENGLAND.deadline(utc(9998, 12, 1), "100 working days")


def test_working_period_text() -> None:
    en_dash = "\u2013"
    assert str(WorkingPeriod.parse(f"9:00 {en_dash} 17:30")) == "09:00-17:30"
    assert WorkingPeriod.parse("00:00-24:00").length == timedelta(days=1)


# ------------------------------------------------------------------------ properties

CALENDARS = [
    ENGLAND,
    SCOTLAND,
    BusinessCalendar(
        "split",
        time_zone="Europe/London",
        working_hours=["09:00-12:30", "13:30-17:00"],
        country="GB",
        subdivision="ENG",
        closures=["2026-12-24", "2027-12-24"],
    ),
    # Periods around midnight and across the clock changes (01:00-02:00 in London).
    BusinessCalendar(
        "night",
        time_zone="Europe/London",
        working_days="mon-sun",
        working_hours=["00:00-01:30", "22:00-24:00"],
    ),
    BusinessCalendar("israel", time_zone="Asia/Jerusalem", working_days="sun-thu", country="IL"),
    BusinessCalendar(
        "new_york",
        time_zone="America/New_York",
        working_hours="08:30-17:30",
        country="US",
        subdivision="NY",
    ),
    BusinessCalendar("chile", time_zone="America/Santiago", calendar_days=True),
]
WORKING_UNITS = (DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS)
CALENDAR_UNITS = (DurationUnit.CALENDAR_DAYS, DurationUnit.WEEKS)

calendars = st.sampled_from(CALENDARS)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2029, 12, 31),
    timezones=st.sampled_from(
        [UTC, LONDON, ZoneInfo("America/Santiago"), ZoneInfo("Asia/Kolkata")]
    ),
)
units = st.sampled_from(list(DurationUnit))
amounts = st.integers(min_value=1, max_value=40)
durations = st.builds(Duration, amounts, units)
quick = settings(max_examples=60, deadline=None)


def local_date(calendar: BusinessCalendar, instant: datetime) -> date:
    # Through UTC: hypothesis also makes wall times that never happen (in a clock
    # change's gap), which astimezone() to their own zone would return unchanged.
    return instant.astimezone(UTC).astimezone(calendar.zone).date()


@quick
@given(calendars, instants, durations)
def test_deadline_is_after_start_and_in_utc(
    calendar: BusinessCalendar, start: datetime, duration: Duration
) -> None:
    due = calendar.deadline(start, duration)

    assert due > start
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(calendar.zone).astimezone(UTC) == due


@quick
@given(calendars, instants, instants, durations)
def test_deadline_is_monotonic_in_start(
    calendar: BusinessCalendar, first: datetime, second: datetime, duration: Duration
) -> None:
    earlier, later = sorted((first, second))

    assert calendar.deadline(earlier, duration) <= calendar.deadline(later, duration)


@quick
@given(calendars, instants, amounts, amounts, units)
def test_deadline_is_monotonic_in_amount(
    calendar: BusinessCalendar, start: datetime, first: int, second: int, unit: DurationUnit
) -> None:
    smaller, larger = sorted((first, second))

    assert calendar.deadline(start, Duration(smaller, unit)) <= calendar.deadline(
        start, Duration(larger, unit)
    )


@quick
@given(calendars, instants, amounts, st.sampled_from(WORKING_UNITS))
def test_working_deadlines_end_working_time_on_a_working_day(
    calendar: BusinessCalendar, start: datetime, amount: int, unit: DurationUnit
) -> None:
    due = calendar.deadline(start, Duration(amount, unit))
    # A deadline is the end of a working period: the instant just before it works.
    last_moment = due - MICROSECOND

    assert calendar.is_working_time(last_moment)
    assert calendar.is_working_day(local_date(calendar, last_moment))


@quick
@given(calendars, instants, amounts)
def test_working_days_count_whole_working_days_after_the_receipt_day(
    calendar: BusinessCalendar, start: datetime, amount: int
) -> None:
    due = calendar.deadline(start, Duration(amount, DurationUnit.WORKING_DAYS))
    receipt_day = local_date(calendar, calendar.next_working_start(start))
    last_day = local_date(calendar, due - MICROSECOND)
    counted = 0
    day = receipt_day
    while day < last_day:
        day += timedelta(days=1)
        counted += calendar.is_working_day(day)

    assert counted == amount
    # The deadline is the close of that day: no working time is left in it.
    assert local_date(calendar, calendar.next_working_start(due)) > last_day


@quick
@given(calendars, instants, amounts, st.sampled_from(CALENDAR_UNITS))
def test_calendar_deadlines_end_the_nth_local_day(
    calendar: BusinessCalendar, start: datetime, amount: int, unit: DurationUnit
) -> None:
    due = calendar.deadline(start, Duration(amount, unit))
    days = amount * 7 if unit is DurationUnit.WEEKS else amount
    last_day = local_date(calendar, start) + timedelta(days=days)

    assert local_date(calendar, due - MICROSECOND) == last_day
    assert local_date(calendar, due) == last_day + timedelta(days=1)


@quick
@given(calendars, instants, st.integers(min_value=1, max_value=200))
def test_working_hours_add_exactly_that_much_working_time(
    calendar: BusinessCalendar, start: datetime, hours: int
) -> None:
    due = calendar.deadline(start, Duration(hours, DurationUnit.WORKING_HOURS))

    assert calendar.working_time_between(start, due) == timedelta(hours=hours)


@quick
@given(calendars, instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
def test_add_working_time_is_the_inverse_of_working_time_between(
    calendar: BusinessCalendar, start: datetime, amount: timedelta
) -> None:
    # Clocks resuming after a pause add back an arbitrary remainder, not whole hours.
    due = calendar.add_working_time(start, amount)

    assert due >= start
    assert calendar.working_time_between(start, due) == amount


def test_add_working_time_refuses_negative_amounts() -> None:
    with pytest.raises(CalendarError, match="non-negative"):
        ENGLAND.add_working_time(utc(2026, 1, 5, 9), timedelta(minutes=-1))


@quick
@given(calendars, instants)
def test_next_working_start_skips_only_closed_time(
    calendar: BusinessCalendar, start: datetime
) -> None:
    begins = calendar.next_working_start(start)

    assert begins >= start
    assert calendar.is_working_time(begins)
    assert calendar.working_time_between(start, begins) == timedelta(0)
    # Compared in UTC: Python never finds a wall time in a gap equal to another zone's.
    assert calendar.is_working_time(start) is (begins == start.astimezone(UTC))


@quick
@given(calendars, instants, instants, instants)
def test_working_time_between_adds_up(
    calendar: BusinessCalendar, first: datetime, second: datetime, third: datetime
) -> None:
    a, b, c = sorted((first, second, third))
    between = calendar.working_time_between

    assert between(a, c) == between(a, b) + between(b, c)
    # Elapsed time: subtracting two datetimes of one zone would give wall-clock time.
    assert timedelta(0) <= between(a, b) <= b.astimezone(UTC) - a.astimezone(UTC)
    assert between(b, a) == -between(a, b)
