"""Retention ages: "3 years", "36 months", "8 weeks", "90 days", and the cutoff they give."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from complaint_flow.errors import InvalidArgumentError

_AGE_PATTERN = re.compile(r"^\s*(?P<amount>\d+)\s*(?P<unit>years?|months?|weeks?|days?)\s*$", re.I)


def retention_cutoff(now: datetime, older_than: timedelta | str) -> datetime:
    """The instant before which a complaint's last change makes it old enough to purge.

    Args:
        now: the current time (timezone-aware).
        older_than: a :class:`~datetime.timedelta`, or text such as ``"3 years"``,
            ``"36 months"``, ``"8 weeks"`` or ``"90 days"``. Years and months are
            calendar years and months (3 years before 5 March 2029 is 5 March
            2026; from 29 February, the 28th).

    Raises:
        InvalidArgumentError: ``older_than`` is not a positive age.
    """
    if isinstance(older_than, timedelta):
        if older_than <= timedelta(0):
            raise InvalidArgumentError(
                f"a retention age must be positive, got {older_than!r}; e.g. timedelta(days=90)"
            )
        return now - older_than
    if not isinstance(older_than, str):
        raise InvalidArgumentError(
            f"older_than must be a timedelta or text such as '3 years', got {older_than!r}"
        )
    match = _AGE_PATTERN.match(older_than)
    if match is None or int(match["amount"]) < 1:
        raise InvalidArgumentError(
            f"cannot read the retention age {older_than!r}; write a positive whole number "
            "and a unit, e.g. '3 years', '36 months', '8 weeks' or '90 days'"
        )
    amount = int(match["amount"])
    unit = match["unit"].lower().rstrip("s")
    too_old = InvalidArgumentError(
        f"the retention age {older_than!r} reaches back before the year 1; give a shorter one"
    )
    if unit in ("day", "week"):
        try:
            return now - timedelta(**{f"{unit}s": amount})
        except OverflowError:
            raise too_old from None
    months = amount * 12 if unit == "year" else amount
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    if year < 1:
        raise too_old
    month += 1
    day = now.day
    while True:  # the 31st of a shorter month: its last day
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


__all__ = ["retention_cutoff"]
