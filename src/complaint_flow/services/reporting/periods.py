"""Reporting periods: weeks, months and quarters on a time zone's wall clock.

A report covers ``[since, until)`` and breaks it into periods that start where a
person reading it expects: a week on Monday at midnight, a month on its first
day, a quarter on 1 January, April, July or October, all in the report's time
zone (a complaint received at 00:30 on a Monday in London belongs to that week
even though it is still Sunday in UTC). The first and last periods are cut to
the window.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta, tzinfo

import attrs

from complaint_flow.errors import InvalidArgumentError

PERIODS = ("day", "week", "month", "quarter")
"""The period lengths a report can use."""


@attrs.frozen
class Period:
    """One period of a report: its label, its first day and the instants it covers.

    Attributes:
        label: how people write it: ``2026-03-02`` (a day), ``2026-W10`` (an ISO
            week), ``2026-03`` (a month), ``2026-Q1`` (a quarter).
        start_day: the first day of the whole period (a Monday for weeks), even when
            the report's window starts later.
        start, end: the instants covered, ``end`` excluded (cut to the window).
    """

    label: str
    start_day: date
    start: datetime
    end: datetime


def time_zone(name: str | tzinfo | None) -> tzinfo:
    """The zone named (``"Europe/London"``), the zone given, or UTC for None.

    Raises:
        InvalidArgumentError: not a known IANA zone name.
    """
    if name is None:
        return zoneinfo.ZoneInfo("UTC")
    if isinstance(name, tzinfo):
        return name
    if not isinstance(name, str):
        raise InvalidArgumentError(
            f"time_zone must be a zone name such as 'Europe/London', got {name!r}"
        )
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgumentError(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/London' or 'UTC'"
        ) from None


def _first_day(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day


def _next_day(day: date, period: str) -> date:
    if period == "day":
        return day + timedelta(days=1)
    if period == "week":
        return day + timedelta(days=7)
    months = 1 if period == "month" else 3
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def _label(day: date, period: str) -> str:
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return day.isoformat()


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def periods(since: datetime, until: datetime, period: str, zone: tzinfo) -> tuple[Period, ...]:
    """The periods covering ``[since, until)``, the first and last cut to it.

    Args:
        since, until: aware instants, ``since`` before ``until``.
        period: one of :data:`PERIODS`.
        zone: the zone whose wall clock periods start on.

    Raises:
        InvalidArgumentError: an unknown period, naive or inverted instants.
    """
    if period not in PERIODS:
        raise InvalidArgumentError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    for label, moment in (("since", since), ("until", until)):
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidArgumentError(
                f"{label} must be a timezone-aware datetime, got {moment!r}; pass e.g. "
                "datetime(2026, 1, 1, tzinfo=timezone.utc)"
            )
    if until <= since:
        raise InvalidArgumentError(
            f"until ({until.isoformat()}) must be after since ({since.isoformat()})"
        )
    found: list[Period] = []
    day = _first_day(since.astimezone(zone).date(), period)
    start = since
    while start < until:
        following = _next_day(day, period)
        end = min(until, max(_midnight(following, zone), start))
        if end > start:
            found.append(Period(_label(day, period), day, start, end))
        start, day = end, following
    return tuple(found)


__all__ = ["PERIODS", "Period", "periods", "time_zone"]
