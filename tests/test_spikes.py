"""Spike detection: measured on simulated series with known spikes, and its invariants.

The simulation (fixed seeds): weekly complaint counts over six years, negative
binomial with variance 1.5 times the mean, a seasonal wave of random amplitude (±10%
to ±50% on the log scale) and phase, a small random trend, at mean levels 5, 20
and 100 a week. Each of the five past years has two spikes and the judged sixth
year four: a spike week's count is drawn with three times the mean. Only the
sixth year is judged, so every baseline holds past spikes to down-weight.

Measured with the defaults (``Farrington()``, alpha 0.05), 100 series per level,
5,200 category-weeks per level (400 spike weeks):

=========  ===============  =====================================
mean/week  3x spikes found  false alarms (per non-spike week)
=========  ===============  =====================================
5          74.5%            3.7%
20         97.5%            4.0%
100        100%             3.2%
all        90.7%            3.6%
=========  ===============  =====================================

The target, at least 90% of 3x spikes found with at most 5% false alarms, is met
at 20 and 100 a week and overall. At 5 a week it is out of reach for any
detector: even knowing the true mean and dispersion, the best threshold with 5%
false alarms finds a 3x spike about 83% of the time (computed in
``test_a_mean_of_five_is_near_what_knowing_the_truth_allows``). The test asserts
the floors, not the figures, which move a little with numpy's random streams.
"""

from __future__ import annotations

import math
import sys
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow.analysis.learning_extra import LearningExtraMissingError
from complaint_flow.analysis.spikes import (
    Cusum,
    Ewma,
    Farrington,
    SpikeFinding,
    detect_spikes,
)
from complaint_flow.errors import ComplaintFlowError, InvalidArgumentError

np = pytest.importorskip("numpy")

MONDAY = date(2020, 1, 6)
LEVELS = (5, 20, 100)
SERIES_PER_LEVEL = 100
DISPERSION = 1.5


def negative_binomial(rng: Any, mean: Any, dispersion: float) -> Any:
    """Counts with the given mean and variance ``dispersion * mean``."""
    size = mean / (dispersion - 1)
    return rng.negative_binomial(size, size / (size + mean))


def simulated_series(rng: Any, level: float) -> tuple[list[tuple[date, int]], Any]:
    """Six years of weekly counts, and which weeks of the last year are spikes."""
    weeks = 6 * 52
    t = np.arange(weeks)
    amplitude = rng.uniform(0.1, 0.5)
    phase = rng.uniform(0, 2 * np.pi)
    trend = rng.uniform(-0.05, 0.05)
    mean = level * np.exp(amplitude * np.sin(2 * np.pi * t / 52 + phase) + trend * (t - weeks) / 52)
    spike = np.zeros(weeks, dtype=bool)
    for year in range(5):
        spike[rng.choice(np.arange(year * 52, (year + 1) * 52), 2, replace=False)] = True
    spike[rng.choice(np.arange(weeks - 52, weeks), 4, replace=False)] = True
    counts = negative_binomial(rng, np.where(spike, 3 * mean, mean), DISPERSION)
    series = [(MONDAY + timedelta(weeks=i), int(c)) for i, c in enumerate(counts)]
    return series, spike[-52:]


def rates(method: Farrington, level: float, seed: int) -> tuple[float, float]:
    """Detection rate of the spike weeks and false-alarm rate of the others, last year."""
    rng = np.random.default_rng(seed)
    found = spikes = false_alarms = quiet = 0
    for _ in range(SERIES_PER_LEVEL):
        series, spike = simulated_series(rng, level)
        findings = detect_spikes(series, method, last=52)
        assert [f.period_start for f in findings] == [s for s, _ in series[-52:]]
        alarms = np.array([f.alarm for f in findings])
        found += int(alarms[spike].sum())
        spikes += int(spike.sum())
        false_alarms += int(alarms[~spike].sum())
        quiet += int((~spike).sum())
    return found / spikes, false_alarms / quiet


@pytest.fixture(scope="module")
def measured() -> dict[int, tuple[float, float]]:
    return {level: rates(Farrington(), level, seed=level) for level in LEVELS}


def test_three_fold_spikes_are_found_with_few_false_alarms(
    measured: dict[int, tuple[float, float]],
) -> None:
    shown = {level: (round(d, 3), round(f, 3)) for level, (d, f) in measured.items()}
    assert measured[5][0] >= 0.70, shown
    assert measured[20][0] >= 0.95, shown
    assert measured[100][0] >= 0.98, shown
    for level in LEVELS:
        assert measured[level][1] <= 0.05, shown
    pooled = sum(d for d, _ in measured.values()) / len(LEVELS)
    assert pooled >= 0.90, shown


def test_a_mean_of_five_is_near_what_knowing_the_truth_allows(
    measured: dict[int, tuple[float, float]],
) -> None:
    from scipy import stats

    # The oracle knows mean 5 and φ: its threshold is the 95% quantile of the week's
    # distribution; a spike week is negative binomial with mean 15 and the same φ.
    def quantile(mean: float, q: float) -> float:
        size = mean / (DISPERSION - 1)
        return float(stats.nbinom.ppf(q, size, size / (size + mean)))

    threshold = quantile(5, 0.95)
    size = 15 / (DISPERSION - 1)
    oracle = float(stats.nbinom.sf(threshold, size, size / (size + 15)))
    assert 0.80 < oracle < 0.86
    assert measured[5][0] >= oracle - 0.10


def test_without_down_weighting_past_spikes_fewer_are_found(
    measured: dict[int, tuple[float, float]],
) -> None:
    # The reweighting of past outbreaks is what keeps last year's spikes from
    # raising this year's threshold.
    with_weights, _ = measured[20]
    without, _ = rates(Farrington(reweight_above=None), 20, seed=20)
    assert without < with_weights - 0.02


# -- EWMA and CUSUM: sustained shifts -------------------------------------------------------


def shifted(rng: Any, level: float, shift: float) -> list[tuple[date, int]]:
    """Two stable years, the level multiplied by ``shift`` from week 80 for 12 weeks."""
    mean = np.full(104, float(level))
    mean[80:92] *= shift
    counts = negative_binomial(rng, mean, DISPERSION)
    return [(MONDAY + timedelta(weeks=i), int(c)) for i, c in enumerate(counts)]


@pytest.mark.parametrize(
    ("method", "quiet_rate", "found_within_4"),
    [(Ewma(), 0.005, 0.95), (Cusum(), 0.005, 0.95)],
    ids=["ewma", "cusum"],
)
def test_sustained_doubling_is_caught_within_four_weeks(
    method: Ewma | Cusum, quiet_rate: float, found_within_4: float
) -> None:
    rng = np.random.default_rng(11)
    false_alarms = quiet = caught = 0
    for _ in range(100):
        findings = detect_spikes(shifted(rng, 20, 2.0), method)
        first = (findings[0].period_start - MONDAY).days // 7
        alarms = np.array([f.alarm for f in findings])
        week = np.arange(first, 104)
        false_alarms += int(alarms[week < 80].sum())
        quiet += int((week < 80).sum())
        caught += bool(alarms[(week >= 80) & (week < 84)].any())
    assert false_alarms / quiet <= quiet_rate
    assert caught / 100 >= found_within_4


def test_cusum_accumulates_what_one_week_cannot_show() -> None:
    # 1.6 times the usual each week: the first week is not enough, the sum is.
    counts = [20] * 40 + [32] * 6
    cusum = detect_spikes(weekly(counts), Cusum())
    assert not any(f.alarm for f in cusum[:-6])
    assert not cusum[-6].alarm
    first = next(f for f in cusum if f.alarm)
    assert first.period_start > cusum[-6].period_start
    assert first.observed > first.threshold > first.expected == pytest.approx(20, rel=0.05)


# -- the Farrington steps, one at a time ------------------------------------------------------


def weekly(counts: list[int]) -> list[tuple[date, int]]:
    return [(MONDAY + timedelta(weeks=i), c) for i, c in enumerate(counts)]


def test_the_seasonal_baseline_is_the_same_weeks_of_past_years() -> None:
    # Every year: 10 a week, 40 a week in weeks 20 to 26. The season is expected;
    # the same 40 in week 40 is not.
    year = [40 if 20 <= week <= 26 else 10 for week in range(52)]
    counts = year * 3
    counts[2 * 52 + 40] = 40
    findings = detect_spikes(weekly(counts), last=52)
    in_season, out_of_season = findings[23], findings[40]
    assert in_season.baseline == out_of_season.baseline == "seasonal"
    assert in_season.baseline_periods == 2 * 7
    assert in_season.expected == pytest.approx(40)
    assert not in_season.alarm
    assert out_of_season.expected == pytest.approx(10)
    assert out_of_season.alarm


def test_with_less_than_two_years_the_recent_periods_are_the_baseline() -> None:
    findings = detect_spikes(weekly([10] * 30 + [40]))
    assert [f.baseline for f in findings] == ["recent"] * (31 - 8)
    assert findings[0].period_start == MONDAY + timedelta(weeks=8)
    assert findings[-1].baseline_periods == 26
    assert findings[-1].expected == pytest.approx(10)
    assert findings[-1].alarm
    assert findings[-1].score == pytest.approx(40 / findings[-1].threshold)


def test_a_significant_trend_is_followed_but_not_beyond_the_largest_count() -> None:
    falling = [60 - week for week in range(30)]
    last = detect_spikes(weekly(falling))[-1]
    assert last.expected == pytest.approx(31, rel=0.05)
    # Rising, the trend would predict more than any count of the baseline:
    # Farrington's rule drops it and the mean of the baseline is expected.
    rising = [20 + week for week in range(30)]
    last = detect_spikes(weekly(rising))[-1]
    assert last.expected == pytest.approx(sum(rising[3:29]) / 26)


def test_dispersion_is_floored_at_one() -> None:
    findings = detect_spikes(weekly([10] * 20))
    assert {f.dispersion for f in findings} == {1.0}


def test_the_minimum_count_rule_holds_back_a_handful() -> None:
    counts = [0] * 20 + [3]
    [*_, last] = detect_spikes(weekly(counts))
    assert last.expected == 0
    assert last.threshold == 0
    assert last.score == math.inf
    assert not last.alarm
    [*_, allowed] = detect_spikes(weekly(counts), Farrington(min_cases=3))
    assert allowed.alarm


def test_the_power_threshold_counts_the_uncertainty_of_the_mean() -> None:
    counts = [10, 12, 8, 11, 9, 10, 13, 7, 10, 11, 30]
    nb = detect_spikes(weekly(counts))[-1]
    power = detect_spikes(weekly(counts), Farrington(threshold="power"))[-1]
    assert nb.expected == power.expected
    assert power.threshold > power.expected
    assert power.threshold != nb.threshold


def test_a_day_is_compared_with_the_same_weekday() -> None:
    # Fifty complaints every Monday, five on other days: neither is a spike.
    days = [(date(2022, 1, 3) + timedelta(days=i), 5 if i % 7 else 50) for i in range(364 * 2 + 30)]
    seasonal = detect_spikes(days, period="day", last=7)
    recent = detect_spikes(days[:100], period="day", last=7)
    for findings, baseline in ((seasonal, "seasonal"), (recent, "recent")):
        assert {f.baseline for f in findings} == {baseline}
        assert sorted(f.expected for f in findings) == pytest.approx([5] * 6 + [50])
        assert not any(f.alarm for f in findings)
    for method in (Ewma(), Cusum()):
        assert not any(f.alarm for f in detect_spikes(days, method, period="day"))


def test_missing_periods_count_zero() -> None:
    later = [(MONDAY + timedelta(weeks=w), 5) for w in range(4, 20)]
    findings = detect_spikes([(MONDAY, 4), (MONDAY + timedelta(weeks=3), 6), *later])
    zeros = [(MONDAY + timedelta(weeks=1), 0), (MONDAY + timedelta(weeks=2), 0)]
    full = detect_spikes([(MONDAY, 4), *zeros, (MONDAY + timedelta(weeks=3), 6), *later])
    assert findings == full


def test_an_exposure_turns_counts_into_rates() -> None:
    # Orders doubled, complaints doubled: the rate did not change, no alarm.
    series = [(MONDAY + timedelta(weeks=i), 10, 1000.0) for i in range(20)]
    series.append((MONDAY + timedelta(weeks=20), 20, 2000.0))
    last = detect_spikes(series)[-1]
    assert last.expected == pytest.approx(20)
    assert not last.alarm


# -- invariants --------------------------------------------------------------------------------

COUNTS = st.lists(st.integers(min_value=0, max_value=300), min_size=9, max_size=130)
METHODS = st.sampled_from(
    [Farrington(), Farrington(threshold="power"), Farrington(reweight_above=None), Ewma(), Cusum()]
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(finding: SpikeFinding, recent_cases: int, min_cases: int) -> None:
    assert finding.expected >= 0
    assert math.isfinite(finding.expected)
    assert math.isfinite(finding.threshold)
    assert finding.threshold >= finding.expected - 1e-9 * max(1.0, finding.expected)
    assert finding.dispersion >= 1
    assert finding.alarm == (finding.observed > finding.threshold and recent_cases >= min_cases)
    if finding.threshold > 0:
        assert finding.score == pytest.approx(finding.observed / finding.threshold)


@SETTINGS
@given(COUNTS, METHODS)
def test_expected_and_threshold_are_sane_and_alarm_means_above_threshold(
    counts: list[int], method: Farrington | Ewma | Cusum
) -> None:
    for finding in detect_spikes(weekly(counts), method):
        index = (finding.period_start - MONDAY).days // 7
        recent = sum(counts[max(0, index - method.min_cases_periods + 1) : index + 1])
        check(finding, recent, method.min_cases)


@SETTINGS
@given(COUNTS, METHODS, st.floats(min_value=0.01, max_value=1000))
def test_scaling_every_exposure_changes_nothing(
    counts: list[int], method: Farrington | Ewma | Cusum, factor: float
) -> None:
    exposures = [50.0 + (i * 37) % 90 for i in range(len(counts))]
    one = detect_spikes(
        [(s, c, e) for (s, c), e in zip(weekly(counts), exposures, strict=True)], method
    )
    two = detect_spikes(
        [(s, c, e * factor) for (s, c), e in zip(weekly(counts), exposures, strict=True)], method
    )
    assert [f.alarm for f in one] == [f.alarm for f in two]
    for a, b in zip(one, two, strict=True):
        assert b.expected == pytest.approx(a.expected, rel=1e-6, abs=1e-9)
        assert b.threshold == pytest.approx(a.threshold, rel=1e-6, abs=1e-9)


@SETTINGS
@given(COUNTS, METHODS, st.integers(min_value=1, max_value=400))
def test_a_higher_count_now_leaves_the_baseline_and_can_only_add_an_alarm(
    counts: list[int], method: Farrington | Ewma | Cusum, extra: int
) -> None:
    before = detect_spikes(weekly(counts), method)
    raised = [*counts[:-1], counts[-1] + extra]
    after = detect_spikes(weekly(raised), method)
    if not before:
        return
    assert after[-1].expected == before[-1].expected
    assert after[-1].threshold == before[-1].threshold
    assert after[-1].alarm >= before[-1].alarm
    assert after[:-1] == before[:-1]


@SETTINGS
@given(COUNTS, METHODS, st.integers(min_value=1, max_value=40))
def test_judging_the_last_periods_is_the_tail_of_judging_all(
    counts: list[int], method: Farrington | Ewma | Cusum, last: int
) -> None:
    everything = detect_spikes(weekly(counts), method)
    tail = detect_spikes(weekly(counts), method, last=last)
    assert tail == everything[len(everything) - len(tail) :]
    assert len(tail) == min(last, len(everything))


# -- arguments and the extra ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("series", "kwargs", "message"),
    [
        ([], {}, "series must be a non-empty list"),
        ([(MONDAY, 1), (MONDAY, 2)], {}, "oldest first"),
        ([(MONDAY, 1), (MONDAY + timedelta(days=3), 2)], {}, "same weekday"),
        ([(MONDAY, -1)], {}, "count"),
        ([(MONDAY, 1.5)], {}, "count"),
        ([("2026-03-02", 1)], {}, "must be a date"),
        ([(MONDAY, 1, 0.0)], {}, "more than 0"),
        ([(MONDAY, 1, 1.0), (MONDAY + timedelta(weeks=1), 1)], {}, "exposure for every period"),
        ([(MONDAY, 1, 1.0), (MONDAY + timedelta(weeks=2), 1, 1.0)], {}, "give every period"),
        ([(MONDAY, 1)], {"method": "shewhart"}, "method must be one of"),
        ([(MONDAY, 1)], {"method": 3}, "method must be a Farrington"),
        ([(MONDAY, 1)], {"period": "month"}, "period must be one of"),
        ([(MONDAY, 1)], {"last": 0}, "last must be a whole number of at least 1"),
        ([5, 6], {}, "series[0] must be (period_start, count)"),
    ],
)
def test_malformed_arguments_are_refused(
    series: list[Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        detect_spikes(series, **kwargs)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Farrington(alpha=0.7), "Farrington.alpha"),
        (lambda: Farrington(threshold="normal"), "Farrington.threshold"),
        (lambda: Farrington(years_back=1), "Farrington.years_back"),
        (lambda: Farrington(recent=5), "Farrington.recent"),
        (lambda: Ewma(smoothing=0), "Ewma.smoothing"),
        (lambda: Cusum(shift=1.0), "Cusum.shift"),
        (lambda: Cusum(limit=-1), "Cusum.limit"),
        (lambda: Ewma(min_cases=True), "Ewma.min_cases"),
    ],
)
def test_malformed_options_are_refused(build: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        build()


def test_without_the_learning_extra_the_message_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(LearningExtraMissingError) as raised:
        detect_spikes(weekly([1] * 20))
    assert isinstance(raised.value, ComplaintFlowError)
    assert 'pip install "complaint-flow[learning]"' in str(raised.value)
    assert "detect_spikes needs scipy" in str(raised.value)


def test_importing_complaint_flow_imports_no_numerical_package() -> None:
    import subprocess

    code = (
        "import sys, complaint_flow, complaint_flow.analysis.spikes, "
        "complaint_flow.analysis.similarity, complaint_flow.analysis.effectiveness; "
        "print(sorted(m for m in ('numpy', 'scipy', 'sklearn', 'statsmodels') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
