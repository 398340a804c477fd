"""Was a corrective action effective? Checked on simulated rates with known effects.

Measured (fixed seeds, 400 simulations each, weekly counts at 4 complaints a week
before the action):

- a halving with 26 weeks before and 26 after (Poisson weeks) is called
  ``effective`` in about 98% of simulations; with 13 and 13, about 77%;
- no change is called ``effective`` in at most 2.5% by construction, measured
  about 2% for Poisson weeks and for overdispersed weeks (variance 3 times the
  mean), where the quasi-Poisson method is chosen; the exact test on the totals
  alone would call 12% of those unchanged rates effective.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest

from complaint_flow.analysis.effectiveness import EffectAssessment, assess_effect
from complaint_flow.analysis.learning_extra import LearningExtraMissingError
from complaint_flow.errors import InvalidArgumentError

np = pytest.importorskip("numpy")
stats = pytest.importorskip("scipy.stats")

RUNS = 400


def weekly(rng: Any, mean: float, weeks: int, dispersion: float = 1.0) -> list[int]:
    if dispersion == 1.0:
        return [int(c) for c in rng.poisson(mean, weeks)]
    size = mean / (dispersion - 1)
    return [int(c) for c in rng.negative_binomial(size, size / (size + mean), weeks)]


def share(verdict: str, seed: int, weeks: int, ratio: float, dispersion: float = 1.0) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(RUNS):
        before = weekly(rng, 4, weeks, dispersion)
        after = weekly(rng, 4 * ratio, weeks, dispersion)
        hits += assess_effect(before, after).verdict == verdict
    return hits / RUNS


def test_a_halving_is_found_with_the_stated_power() -> None:
    assert share("effective", seed=1, weeks=26, ratio=0.5) >= 0.95
    assert 0.65 <= share("effective", seed=2, weeks=13, ratio=0.5) <= 0.88


@pytest.mark.parametrize("dispersion", [1.0, 3.0])
def test_no_change_is_rarely_called_effective(dispersion: float) -> None:
    assert share("effective", seed=3, weeks=13, ratio=1.0, dispersion=dispersion) <= 0.05


def test_overdispersed_weeks_need_the_quasi_poisson_method() -> None:
    rng = np.random.default_rng(4)
    quasi = exact = 0
    for _ in range(RUNS):
        before, after = weekly(rng, 4, 13, 3.0), weekly(rng, 4, 13, 3.0)
        judged = assess_effect(before, after)
        quasi += judged.verdict == "effective"
        totals = assess_effect([(sum(before), 13.0)], [(sum(after), 13.0)])
        assert totals.method == "exact"
        exact += totals.verdict == "effective"
    assert quasi / RUNS <= 0.05
    assert exact / RUNS >= 0.08


def test_the_exact_method_is_the_conditional_binomial_test() -> None:
    judged = assess_effect([(30, 10.0)], [(10, 8.0)])
    assert judged.method == "exact"
    share_after = 8.0 / 18.0
    reference = stats.binomtest(10, 40, share_after, alternative="less")
    assert judged.p_value == pytest.approx(reference.pvalue)
    interval = stats.binomtest(10, 40, share_after).proportion_ci(0.95, method="exact")
    to_ratio = lambda p: p / (1 - p) * 10.0 / 8.0  # noqa: E731
    assert judged.low == pytest.approx(to_ratio(interval.low))
    assert judged.high == pytest.approx(to_ratio(interval.high))
    assert judged.rate_ratio == pytest.approx((10 / 8) / (30 / 10))
    assert judged.verdict == "effective"


def test_the_quasi_poisson_method_matches_a_glm() -> None:
    sm = pytest.importorskip("statsmodels.api")
    before, after = [2, 9, 3, 11, 4, 10], [1, 6, 0, 7, 2, 5]
    judged = assess_effect(before, after)
    assert judged.method == "quasi_poisson"
    y = np.array(before + after, dtype=float)
    x = sm.add_constant(np.array([0] * 6 + [1] * 6, dtype=float))
    fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2")
    assert judged.dispersion == pytest.approx(fit.scale)
    assert math.log(judged.rate_ratio) == pytest.approx(fit.params[1])
    t_fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2", use_t=True)
    low, high = np.exp(t_fit.conf_int(alpha=0.05)[1])
    assert (judged.low, judged.high) == pytest.approx((low, high))
    assert judged.p_value == pytest.approx(t_fit.pvalues[1] / 2)


def test_the_verdicts() -> None:
    assert assess_effect([20] * 10, [4] * 10).verdict == "effective"
    rose = assess_effect([5] * 10, [9] * 10)
    assert rose.verdict == "not_effective"
    assert rose.low > 1
    assert assess_effect([3, 2], [1, 2]).verdict == "inconclusive"
    # A small, certain fall is not the fall that matters.
    small = assess_effect([(10_000, 1.0)], [(9_500, 1.0)])
    assert small.high < 1
    assert small.verdict == "not_effective"
    assert assess_effect([(10_000, 1.0)], [(9_500, 1.0)], min_reduction=0.01).verdict == (
        "effective"
    )


def test_no_complaint_on_one_side() -> None:
    gone = assess_effect([6, 5, 7, 6], [0, 0, 0, 0])
    assert gone.rate_ratio == 0
    assert gone.verdict == "effective"
    new = assess_effect([0, 0, 0], [3, 4, 2])
    assert new.rate_ratio == math.inf
    assert new.verdict == "not_effective"
    none = assess_effect([0, 0], [0, 0])
    assert math.isnan(none.rate_ratio)
    assert none.verdict == "inconclusive"
    assert "no complaint before or after" in none.summary


def test_the_summary_gives_the_figures() -> None:
    judged = assess_effect([(48, 12.0)], [(18, 12.0)])
    assert isinstance(judged, EffectAssessment)
    assert judged.summary.startswith("effective: 48 complaints over 12 before, 18 over 12 after;")
    assert "rate ratio 0.38" in judged.summary
    assert "method exact" in judged.summary


@pytest.mark.parametrize(
    ("before", "after", "kwargs", "message"),
    [
        ([], [1], {}, "before must be a non-empty list"),
        ([1], 5, {}, "after must be a non-empty list, got 5"),
        ([-1], [1], {}, "before[0] must be a whole number"),
        ([(1, 0.0)], [1], {}, "more than 0"),
        ([(1, 2.0, 3)], [1], {}, "before[0] must be a count or (count, exposure)"),
        ([1.5], [1], {}, "before[0] must be a whole number"),
        ([1], [1], {"confidence": 95}, "confidence must be a number from 0.5 to 0.999"),
        ([1], [1], {"min_reduction": 1}, "min_reduction must be a number from 0.0 to 0.99"),
    ],
)
def test_malformed_arguments_are_refused(
    before: Any, after: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        assess_effect(before, after, **kwargs)
    assert message in str(raised.value)


def test_without_scipy_the_message_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(LearningExtraMissingError, match="assess_effect needs scipy"):
        assess_effect([3], [1])
