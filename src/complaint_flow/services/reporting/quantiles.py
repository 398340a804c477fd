"""Medians and 90th percentiles of durations in constant memory, to within 1%.

A report streams its complaints and must not hold them all, so durations go into
a histogram whose buckets grow geometrically, 2% wide (the scheme of DDSketch,
Masson, Rim and Lee, VLDB 2019): a bucket ``i`` holds the durations in
``(g^(i-1), g^i]`` seconds with ``g = 1.01 / 0.99``, and stands for
``2g^i / (g + 1)``, which is within 1% of every duration in it. Eight weeks need
about 770 buckets, whatever the number of complaints.

A quantile is read by the nearest-rank rule (the ``⌈q·n⌉``-th smallest duration),
so the value reported is exactly :func:`representative` of the duration that
rule picks from the sorted list: tests compare the two.
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


class DurationHistogram:
    """Counts of durations by bucket; quantiles from the counts."""

    __slots__ = ("buckets", "count")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0

    def add(self, seconds: float) -> None:
        """Count one duration."""
        self.add_bucket(bucket(seconds))

    def add_bucket(self, index: int) -> None:
        """Count one duration already put in its bucket (:func:`bucket`)."""
        self.buckets[index] = self.buckets.get(index, 0) + 1
        self.count += 1

    def merge(self, other: DurationHistogram) -> None:
        """Add another histogram's counts to this one."""
        for index, count in other.buckets.items():
            self.buckets[index] = self.buckets.get(index, 0) + count
        self.count += other.count

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile (0 < q ≤ 1) in seconds, or None when nothing was counted."""
        if not self.count:
            return None
        rank = nearest_rank(self.count, q)
        seen = 0
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen >= rank:
                return bucket_value(index)
        raise AssertionError("unreachable: the ranks add up to the count")  # pragma: no cover


def exact_quantile(values: Iterable[float], q: float) -> float | None:
    """The ``q`` quantile of ``values`` by the nearest-rank rule, exactly (for checks)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[nearest_rank(len(ordered), q) - 1]


__all__ = [
    "RELATIVE_ACCURACY",
    "DurationHistogram",
    "bucket",
    "bucket_value",
    "exact_quantile",
    "nearest_rank",
    "representative",
]
