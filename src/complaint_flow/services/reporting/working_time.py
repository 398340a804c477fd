"""Working time between two instants, fast enough for every complaint of a report.

:meth:`BusinessCalendar.working_time_between` walks the calendar day by day,
which is right for one deadline and slow for a million complaints eight weeks
long each. :class:`WorkingTime` keeps, per calendar, the working time
accumulated from one day to the next (a prefix sum, extended as far as the
instants asked for reach), so that the time between two instants costs two
look-ups and one call to the calendar within a single day. The answers are those
of the calendar's own functions (a property test checks it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from complaint_flow.definitions.calendars import BusinessCalendar

_ZERO = timedelta(0)
_DAY = timedelta(days=1)


class WorkingTime:
    """Working time and working days of one calendar, with prefix sums by day.

    Memory grows with the number of days spanned by the instants asked about,
    never with how many were asked.
    """

    __slots__ = ("_counts", "_first", "_sums", "_zone", "calendar")

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self._zone = calendar.zone
        self._first: int | None = None
        # By day ordinal from _first on: working time before that day's midnight, and
        # the working days up to and including it.
        self._sums: list[timedelta] = []
        self._counts: list[int] = []

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
        midnight = self._midnight(ordinal)
        if moment <= midnight:
            return self._sums[ordinal - offset]
        return self._sums[ordinal - offset] + self.calendar.working_time_between(midnight, moment)

    def _cover(self, ordinal: int) -> None:
        """Extend the prefix sums so that they include day ``ordinal``."""
        calendar = self.calendar
        first = self._first
        if first is None:
            self._first = ordinal
            self._sums = [_ZERO]
            self._counts = [1 if calendar.is_working_day(date.fromordinal(ordinal)) else 0]
            return
        if ordinal < first:
            # Prepending moves the origin of every sum: rebuild from an earlier day (at
            # most a few times per report, as complaints are read in time order).
            rebuilt = WorkingTime(calendar)
            rebuilt._cover(first - max(first - ordinal, 31))
            rebuilt._cover(first + len(self._sums) - 1)
            self._first, self._sums, self._counts = rebuilt._first, rebuilt._sums, rebuilt._counts
            return
        last = first + len(self._sums) - 1
        while last < ordinal:
            total = calendar.working_time_between(self._midnight(last), self._midnight(last + 1))
            last += 1
            self._sums.append(self._sums[-1] + total)
            working = calendar.is_working_day(date.fromordinal(last))
            self._counts.append(self._counts[-1] + (1 if working else 0))


__all__ = ["WorkingTime"]
