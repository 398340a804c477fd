"""Medians and 90th percentiles of durations in constant memory, to within 1%.

A report streams its complaints and must not hold them all, so durations go into
a histogram whose buckets grow geometrically, 2% wide (the scheme of DDSketch,
Masson, Rim and Lee, VLDB 2019): a bucket ``i`` holds the durations in
``(g^(i-1), g^i]`` seconds with ``g = 1.01 / 0.99``, and stands for
``2g^i / (g + 1)``, which is within 1% of every duration in it. Eight weeks need
about 770 buckets, whatever the number of complaints.

A quantile is read by the nearest-rank rule (the ``⌈q·n⌉``-th smallest duration):
the value reported is the representative of the bucket that duration falls in,
brought within the smallest and largest durations counted in that bucket (so a
bucket of equal durations reports them exactly). :func:`reported_quantile` works
the same value out from the sorted list; tests compare the two.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

RELATIVE_ACCURACY = 0.01
"""How far a reported quantile may be from the exact one, relatively."""

_GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_ZERO_BUCKET = -(10**9)  # durations of zero (or less): reported as exactly 0


def bucket(seconds: float) -> int:
    """The histogram bucket of a duration in seconds."""
    if seconds <= 0:
        return _ZERO_BUCKET
    return math.ceil(math.log(seconds) / _LOG_GAMMA)


def bucket_value(index: int) -> float:
    """The duration (seconds) a bucket stands for: within 1% of everything in it."""
    if index == _ZERO_BUCKET:
        return 0.0
    return 2 * _GAMMA**index / (_GAMMA + 1)


def representative(seconds: float) -> float:
    """The value the histogram reports for a duration: its bucket's."""
    return bucket_value(bucket(seconds))


def nearest_rank(count: int, q: float) -> int:
    """The 1-based rank of the ``q`` quantile of ``count`` values (nearest-rank rule)."""
    return max(1, math.ceil(q * count - 1e-9))


def _within(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


class DurationHistogram:
    """Counts of durations by bucket, with each bucket's extremes; quantiles from them."""

    __slots__ = ("buckets", "count")

    def __init__(self) -> None:
        # bucket -> [count, smallest, largest]
        self.buckets: dict[int, list[float]] = {}
        self.count = 0

    def add(self, seconds: float) -> None:
        """Count one duration (a negative one counts as zero)."""
        self.add_bucket(bucket(seconds), max(seconds, 0.0))

    def add_bucket(self, index: int, seconds: float) -> None:
        """Count one duration already put in its bucket (:func:`bucket`)."""
        found = self.buckets.get(index)
        if found is None:
            self.buckets[index] = [1, seconds, seconds]
        else:
            found[0] += 1
            if seconds < found[1]:
                found[1] = seconds
            elif seconds > found[2]:
                found[2] = seconds
        self.count += 1

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0 < q ≤ 1) in seconds, or None when nothing was counted."""
        if not self.count:
            return None
        rank = nearest_rank(self.count, q)
        seen = 0
        for index in sorted(self.buckets):
            count, low, high = self.buckets[index]
            seen += int(count)
            if seen >= rank:
                return _within(bucket_value(index), low, high)
        raise AssertionError("unreachable: the ranks add up to the count")  # pragma: no cover


def exact_quantile(values: Iterable[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` by the nearest-rank rule, exactly (for checks)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[nearest_rank(len(ordered), q) - 1]


def reported_quantile(values: Iterable[float], q: float) -> float | None:
    """What a :class:`DurationHistogram` of ``values`` reports, from the sorted list."""
    durations = [max(value, 0.0) for value in values]
    exact = exact_quantile(durations, q)
    if exact is None:
        return None
    index = bucket(exact)
    members = [value for value in durations if bucket(value) == index]
    return _within(bucket_value(index), min(members), max(members))


__all__ = [
    "RELATIVE_ACCURACY",
    "DurationHistogram",
    "bucket",
    "bucket_value",
    "exact_quantile",
    "nearest_rank",
    "reported_quantile",
    "representative",
]
