"""Timers: when a service wants the sweep to come back to a complaint.

A deadline clock is declared by the workflow; a timer is set by a service for its
own work on one complaint (a satisfaction survey's reminder, then its expiry). A
timer is kept in the complaint's data under :data:`TIMERS_KEY` as
``{name: {"due_at": ISO time}}``, so that it is an event's change like any other
(audited, replayed, erased with the rest), and the complaint's ``due_at`` — the
indexed time the sweep reads — is the earliest of its clocks' next warning or
deadline and its timers (the complaint aggregate folds them together). The sweep
then hands a due complaint to the service that owns the timer.

>>> from datetime import UTC, datetime
>>> data = with_timer({}, "survey", datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
>>> timer_at(data, "survey")
datetime.datetime(2026, 3, 9, 9, 0, tzinfo=datetime.timezone.utc)
>>> TIMERS_KEY in with_timer(data, "survey", None)
False
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

TIMERS_KEY = "timers"
"""The complaint data key holding the timers services set (name -> ``{"due_at": ISO}``)."""

DUE_AT = "due_at"


def _moment(value: object) -> datetime | None:
    """A timer's time, or None if it is not a readable, timezone-aware ISO time.

    An erased or hand-edited timer must not stop the complaint from advancing:
    it is ignored, and the service owning it finds its own data gone.
    """
    if not isinstance(value, Mapping):
        return None
    text = value.get(DUE_AT)
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def timers_due(timers: object) -> datetime | None:
    """The earliest time among ``timers`` (the value under :data:`TIMERS_KEY`), if any."""
    if not isinstance(timers, Mapping):
        return None
    moments = [moment for moment in map(_moment, timers.values()) if moment is not None]
    return min(moments) if moments else None


def timer_at(data: Mapping[str, Any], name: str) -> datetime | None:
    """When the timer ``name`` of a complaint's ``data`` is due, or None if it is not set."""
    timers = data.get(TIMERS_KEY)
    return _moment(timers.get(name)) if isinstance(timers, Mapping) else None


def with_timer(data: Mapping[str, Any], name: str, at: datetime | None) -> dict[str, Any]:
    """A copy of ``data`` with the timer ``name`` set to ``at`` (removed when ``at`` is None)."""
    timers = data.get(TIMERS_KEY)
    updated: dict[str, Any] = dict(timers) if isinstance(timers, Mapping) else {}
    if at is None:
        updated.pop(name, None)
    else:
        updated[name] = {DUE_AT: at.isoformat()}
    result = dict(data)
    if updated:
        result[TIMERS_KEY] = updated
    else:
        result.pop(TIMERS_KEY, None)
    return result


def earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    """The earlier of two optional times."""
    if first is None:
        return second
    if second is None:
        return first
    return min(first, second)


__all__ = ["DUE_AT", "TIMERS_KEY", "earliest", "timer_at", "timers_due", "with_timer"]
