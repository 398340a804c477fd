"""Did a corrective action work? The complaint rate before and after it (M10).

:func:`assess_effect` compares the rate of complaints in the category a corrective
action was meant to fix, before and after it, per unit of exposure (weeks, orders,
deliveries), and returns the figures with a verdict for a person to confirm.

The rate ratio is ``after rate / before rate``. Its confidence interval and a
one-sided p-value for "the rate fell" come from one of two methods:

- ``"exact"``: the conditional test for two Poisson rates. Given the total
  ``n`` of complaints, the number after is binomial with ``p = e_a·RR / (e_b +
  e_a·RR)`` (``e`` the exposures), so an exact (Clopper-Pearson) interval for
  ``p`` gives one for ``RR`` (Przyborowski and Wereski 1940; Ulm 1990). Used
  when the periods vary no more than Poisson counts would, or when there is one
  period a side (no variation to measure).
- ``"quasi_poisson"``: when the periods vary more than Poisson counts (the
  Pearson dispersion φ over ``periods - 2`` degrees of freedom is above 1), a
  quasi-Poisson log-linear model with a before/after term: ``log RR`` is the
  log of the ratio of the rates, its standard error ``sqrt(φ·(1/n_b + 1/n_a))``,
  and the interval and p-value use Student's t with ``periods - 2`` degrees of
  freedom (0.5 is added to each total when one of them is 0). Without this,
  overdispersed weekly counts make chance look like an effect.

The verdict, from the ``confidence`` interval of the rate ratio:

- ``"not_effective"``: the interval's low end is above ``1 - min_reduction``:
  even the most favourable reading is a smaller fall than the one that matters
  (or a rise);
- ``"effective"``: otherwise, when the whole interval is below 1 (a fall at the
  one-sided level ``(1 - confidence) / 2``: at most 2.5% of unchanged rates are
  called effective);
- ``"inconclusive"``: the interval holds both "no change" and a fall that matters;
  wait for more periods.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import attrs

from complaint_flow.analysis.learning_extra import require_learning
from complaint_flow.arguments import items, number, shown, whole_number
from complaint_flow.errors import InvalidArgumentError

VERDICTS: Final = ("effective", "not_effective", "inconclusive")


@attrs.frozen
class EffectAssessment:
    """The complaint rate before and after a corrective action, and what it suggests.

    Args:
        before_count, after_count: complaints counted before and after.
        before_exposure, after_exposure: the exposure each was counted over.
        before_rate, after_rate: complaints per unit of exposure.
        rate_ratio: ``after_rate / before_rate`` (``inf`` if none before and some
            after, ``nan`` with no complaint at all).
        low, high: the ``confidence`` interval of the rate ratio.
        p_value: one-sided, for "the rate fell".
        method: ``"exact"`` or ``"quasi_poisson"``.
        dispersion: φ of the periods (1 when not measured or not above 1).
        verdict: ``"effective"``, ``"not_effective"`` or ``"inconclusive"``.
        confidence: the interval's level.
        min_reduction: the smallest fall that matters, as a fraction.
    """

    before_count: int
    before_exposure: float
    after_count: int
    after_exposure: float
    before_rate: float
    after_rate: float
    rate_ratio: float
    low: float
    high: float
    p_value: float
    method: str
    dispersion: float
    verdict: str
    confidence: float
    min_reduction: float

    @property
    def summary(self) -> str:
        """One sentence for the person who confirms the verdict."""
        change = (
            "no complaint before or after"
            if math.isnan(self.rate_ratio)
            else f"rate ratio {self.rate_ratio:.2f} ({self.confidence:.0%} interval "
            f"{self.low:.2f} to {self.high:.2f}, one-sided p = {self.p_value:.3g})"
        )
        return (
            f"{self.verdict.replace('_', ' ')}: {self.before_count} complaints over "
            f"{self.before_exposure:g} before, {self.after_count} over "
            f"{self.after_exposure:g} after; {change}; method {self.method}"
        )


def assess_effect(
    before: Sequence[int | tuple[int, float]],
    after: Sequence[int | tuple[int, float]],
    *,
    confidence: float = 0.95,
    min_reduction: float = 0.25,
) -> EffectAssessment:
    """Compare the complaint rate before and after a corrective action.

    Args:
        before: the periods before it, oldest first: each a count (over one unit
            of exposure, e.g. a week) or ``(count, exposure)``. One item for a
            total: ``[(count, exposure)]``.
        after: the periods after it, the same way.
        confidence: the level of the rate ratio's interval (0.5 to 0.999).
        min_reduction: the smallest fall that matters (0.25: a quarter fewer).

    Raises:
        InvalidArgumentError: a malformed period or option.
        LearningExtraMissingError: numpy or scipy is not installed.
    """
    confidence = number("confidence", confidence, minimum=0.5, maximum=0.999)
    min_reduction = number("min_reduction", min_reduction, minimum=0.0, maximum=0.99)
    before_periods = _periods("before", before)
    after_periods = _periods("after", after)
    require_learning("assess_effect", "numpy", "scipy")

    n_b = sum(count for count, _ in before_periods)
    n_a = sum(count for count, _ in after_periods)
    e_b = sum(exposure for _, exposure in before_periods)
    e_a = sum(exposure for _, exposure in after_periods)
    dispersion = _dispersion(before_periods, after_periods, n_b / e_b, n_a / e_a)
    if dispersion > 1.0:
        method = "quasi_poisson"
        low, high, p_value = _quasi_poisson(
            n_b, e_b, n_a, e_a, dispersion, len(before_periods) + len(after_periods), confidence
        )
    else:
        method = "exact"
        low, high, p_value = _exact(n_b, e_b, n_a, e_a, confidence)
    rate_b, rate_a = n_b / e_b, n_a / e_a
    ratio = rate_a / rate_b if n_b else (math.nan if n_a == 0 else math.inf)
    if low > 1.0 - min_reduction:
        verdict = "not_effective"
    elif high < 1.0:
        verdict = "effective"
    else:
        verdict = "inconclusive"
    return EffectAssessment(
        before_count=n_b,
        before_exposure=e_b,
        after_count=n_a,
        after_exposure=e_a,
        before_rate=rate_b,
        after_rate=rate_a,
        rate_ratio=ratio,
        low=low,
        high=high,
        p_value=p_value,
        method=method,
        dispersion=max(dispersion, 1.0),
        verdict=verdict,
        confidence=confidence,
        min_reduction=min_reduction,
    )


def _periods(argument: str, value: object) -> list[tuple[int, float]]:
    listed = items(argument, value, empty=False)
    periods: list[tuple[int, float]] = []
    for index, item in enumerate(listed):
        where = f"{argument}[{index}]"
        if isinstance(item, tuple | list):
            if len(item) != 2:
                raise InvalidArgumentError(
                    f"{where} must be a count or (count, exposure), got {shown(item)}; pass "
                    "e.g. 4 or (4, 1250.0)"
                )
            count = whole_number(f"{where}[0] (the count)", item[0])
            exposure = number(f"{where}[1] (the exposure)", item[1], minimum=0)
            if exposure <= 0:
                raise InvalidArgumentError(
                    f"{where}[1] (the exposure) must be more than 0, got {shown(item[1])}; a "
                    "period with no exposure has no rate: leave it out"
                )
            periods.append((count, float(exposure)))
        else:
            periods.append((whole_number(where, item), 1.0))
    return periods


def _dispersion(
    before: list[tuple[int, float]], after: list[tuple[int, float]], rate_b: float, rate_a: float
) -> float:
    """Pearson's statistic of the two-rate model over its degrees of freedom (0 if none)."""
    freedom = len(before) + len(after) - 2
    if freedom < 1:
        return 0.0
    pearson = 0.0
    for periods, rate in ((before, rate_b), (after, rate_a)):
        for count, exposure in periods:
            expected = rate * exposure
            if expected > 0:
                pearson += (count - expected) ** 2 / expected
    return pearson / freedom


def _exact(
    n_b: int, e_b: float, n_a: int, e_a: float, confidence: float
) -> tuple[float, float, float]:
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    total = n_b + n_a
    if total == 0:
        return 0.0, math.inf, 1.0
    share = e_a / (e_a + e_b)
    p_value = float(stats.binom.cdf(n_a, total, share))
    # Clopper-Pearson: the beta quantiles that invert the two one-sided binomial tests.
    tail = (1.0 - confidence) / 2
    low = 0.0 if n_a == 0 else float(stats.beta.ppf(tail, n_a, total - n_a + 1))
    high = 1.0 if n_a == total else float(stats.beta.ppf(1 - tail, n_a + 1, total - n_a))

    def ratio(p: float) -> float:
        return math.inf if p >= 1.0 else p / (1.0 - p) * e_b / e_a

    return ratio(low), ratio(high), p_value


def _quasi_poisson(
    n_b: int, e_b: float, n_a: int, e_a: float, dispersion: float, periods: int, confidence: float
) -> tuple[float, float, float]:
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    if n_b == 0 or n_a == 0:
        n_b_used, n_a_used = n_b + 0.5, n_a + 0.5
    else:
        n_b_used, n_a_used = float(n_b), float(n_a)
    log_ratio = math.log((n_a_used / e_a) / (n_b_used / e_b))
    error = math.sqrt(dispersion * (1.0 / n_b_used + 1.0 / n_a_used))
    freedom = periods - 2
    quantile = float(stats.t.ppf(0.5 + confidence / 2, freedom))
    p_value = float(stats.t.cdf(log_ratio / error, freedom))
    return math.exp(log_ratio - quantile * error), math.exp(log_ratio + quantile * error), p_value
