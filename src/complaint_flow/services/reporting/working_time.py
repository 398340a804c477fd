"""Working time between two instants, fast enough for every complaint of a report.

:meth:`BusinessCalendar.working_time_between` walks the calendar day by day,
which is right for one deadline and slow for a million complaints eight weeks
long each. :class:`WorkingTime` keeps, per calendar, the working time
accumulated from one day to the next (a prefix sum, extended as far as the
instants asked for reach) and each day's working periods, so that the time
between two instants costs two look-ups and a few comparisons. A day whose
working hours fall in wall-clock time that does not exist (clocks going forward
at the start of a period) is left to the calendar's own function. The answers are
those of the calendar's functions (a property test checks it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from complaint_flow.definitions.calendars import BusinessCalendar

_ZERO = timedelta(0)

Periods = tuple[tuple[datetime, datetime], ...]


class WorkingTime:
    """Working time and working days of one calendar, with prefix sums by day.

    Memory grows with the number of days spanned by the instants asked about,
    never with how many were asked.
    """

    __slots__ = ("_counts", "_first", "_periods", "_sums", "_zone", "calendar")

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self._zone = calendar.zone
        self._first: int | None = None
        # By day ordinal from _first on: working time before that day's midnight, the
        # working days up to and including it, and its working periods (None: the
        # calendar's function measures within that day).
        self._sums: list[timedelta] = []
        self._counts: list[int] = []
        self._periods: list[Periods | None] = []

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from ``start`` to ``end`` (negative if ``end`` is earlier)."""
        first = self._local_day(start).toordinal()
        last = self._local_day(end).toordinal()
        # Both days first: covering an earlier day moves the origin of the sums.
        self._cover(min(first, last))
        self._cover(max(first, last))
        return self._before(end, last) - self._before(start, first)

    def working_days(self, start: datetime, end: datetime) -> int:
        """Working days after the day of ``start``, up to and including the day of ``end``.

        What "answered in N working days" counts: an answer on the day of receipt
        took 0 working days, one on the next working day 1.
        """
        first = self._local_day(start).toordinal()
        last = self._local_day(end).toordinal()
        self._cover(min(first, last))
        self._cover(max(first, last))
        offset = self._first
        assert offset is not None
        return self._counts[last - offset] - self._counts[first - offset]

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self._zone).date()

    def _midnight(self, ordinal: int) -> datetime:
        day = date.fromordinal(ordinal)
        return datetime(day.year, day.month, day.day, tzinfo=self._zone)

    def _before(self, moment: datetime, ordinal: int) -> timedelta:
        """Working time from the first covered day's midnight to ``moment`` (on day ``ordinal``)."""
        offset = self._first
        assert offset is not None
        index = ordinal - offset
        periods = self._periods[index]
        if periods is None:
            midnight = self._midnight(ordinal)
            if moment <= midnight:
                return self._sums[index]
            return self._sums[index] + self.calendar.working_time_between(midnight, moment)
        within = _ZERO
        for start, end in periods:
            if moment <= start:
                break
            within += (moment if moment < end else end) - start
        return self._sums[index] + within

    def _day(self, ordinal: int) -> tuple[Periods | None, bool]:
        """A day's working periods (None: measure it with the calendar) and whether it works."""
        day = date.fromordinal(ordinal)
        calendar = self.calendar
        if not calendar.is_working_day(day):
            return (), False
        periods = []
        for period in calendar.working_hours:
            start = self._instant(day, period.start)
            end = self._instant(day, period.end)
            if start is None or end is None:
                return None, True
            if start < end:
                periods.append((start, end))
        return tuple(periods), True

    def _instant(self, day: date, offset: timedelta) -> datetime | None:
        """When the calendar's clocks show ``offset`` after midnight of ``day``.

        A wall time shown twice (clocks going back) is its first instant, as the
        calendar takes it; a wall time that does not exist gives None.
        """
        wall = datetime.combine(day, time()) + offset
        first = wall.replace(tzinfo=self._zone)
        before = first.utcoffset()
        after = wall.replace(tzinfo=self._zone, fold=1).utcoffset()
        assert before is not None
        assert after is not None
        if before < after:
            return None
        return (wall - before).replace(tzinfo=UTC)

    def _cover(self, ordinal: int) -> None:
        """Extend the prefix sums so that they include day ``ordinal``."""
        first = self._first
        if first is None:
            periods, working = self._day(ordinal)
            self._first = ordinal
            self._sums = [_ZERO]
            self._counts = [1 if working else 0]
            self._periods = [periods]
            return
        if ordinal < first:
            # Prepending moves the origin of every sum: rebuild from an earlier day (at
            # most a few times per report, as complaints are read in time order).
            rebuilt = WorkingTime(self.calendar)
            rebuilt._cover(first - max(first - ordinal, 31))
            rebuilt._cover(first + len(self._sums) - 1)
            self._first, self._sums = rebuilt._first, rebuilt._sums
            self._counts, self._periods = rebuilt._counts, rebuilt._periods
            return
        last = first + len(self._sums) - 1
        while last < ordinal:
            periods = self._periods[-1]
            if periods is None:
                total = self.calendar.working_time_between(
                    self._midnight(last), self._midnight(last + 1)
                )
            else:
                total = sum((end - start for start, end in periods), _ZERO)
            last += 1
            following, working = self._day(last)
            self._sums.append(self._sums[-1] + total)
            self._counts.append(self._counts[-1] + (1 if working else 0))
            self._periods.append(following)


__all__ = ["WorkingTime"]
