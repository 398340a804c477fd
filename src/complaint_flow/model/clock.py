"""Injected time: every component asks a clock, never ``datetime.now()``."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything callable that returns the current timezone-aware time."""

    def __call__(self) -> datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that only moves when told to; for tests and simulations.

    >>> from datetime import datetime, timedelta, timezone
    >>> clock = ManualClock(datetime(2026, 1, 5, 9, tzinfo=timezone.utc))
    >>> clock.advance(days=2).isoformat()
    '2026-01-07T09:00:00+00:00'
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if start.utcoffset() is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> datetime:
        """Jump to ``when`` (it must not be earlier than now: time never runs backwards)."""
        if when.utcoffset() is None:
            raise ValueError("ManualClock.set needs a timezone-aware time")
        with self._lock:
            if when < self._now:
                raise ValueError(f"cannot move the clock back from {self._now} to {when}")
            self._now = when
            return when

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**kwargs)`` and return the new time."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("ManualClock.advance needs a non-negative step")
        with self._lock:
            self._now = self._now + step
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"
