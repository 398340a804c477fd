"""Spikes in complaint counts: is this week's count more than its past can explain?

One series is the complaint count of one category per period (a week or a day),
oldest first, optionally with an exposure per period (orders, deliveries, active
customers) so that the rate rather than the count is judged. Three methods:

``Farrington`` (the default) judges each period on its own against comparable
past periods, after Farrington et al. (1996) with the improvements of Noufaily
et al. (2013), as in R's ``surveillance::farringtonFlexible``:

1. Baseline. With at least two whole years of history, the baseline is the
   periods ``k`` years back for ``k = 1 … years_back`` (at most), each with
   ``window`` periods either side: with the defaults (5 years, window 3) up to
   35 weekly counts from the same time of year, so seasonality needs no model.
   With less history, the baseline is the last ``recent`` periods before the
   one judged (26 by default; at least ``min_history``), with no seasonality: a
   sharp seasonal rise in the first years can then alarm. A year is 52 weeks or
   364 days; for a daily series every baseline steps by whole weeks (the window
   is ``window`` weeks either side, the recent baseline the same weekday of the
   last ``recent`` weeks), so a Monday is compared with Mondays only.
2. Model. A quasi-Poisson log-linear regression of the baseline counts (with
   log exposure as offset), with a linear time trend when the baseline spans at
   least three years (always for the recent baseline). The trend is kept only
   when it is significant at 5% (a t test with the quasi-Poisson standard
   error) and it does not predict more than the baseline's largest count
   (Farrington's rule against extrapolating a steep trend); otherwise the
   intercept-only model is used. The dispersion φ is the Pearson statistic over
   its degrees of freedom, floored at 1 (never less variable than Poisson).
3. Past outbreaks. Baseline points with a standardised Anscombe residual above
   ``reweight_above`` (2.58, Noufaily) get the weight gamma/s² instead of gamma, gamma
   chosen so that the weights sum to the number of points; the model and φ are
   then fitted again with these weights, so last year's spike does not hide
   this year's.
4. Threshold. ``threshold="nb"`` (the default, Noufaily's plug-in): the
   ``1 - alpha`` quantile of a negative binomial with the predicted mean μ and
   variance φμ (Poisson when φ = 1). ``threshold="power"`` (Farrington 1996): the
   upper limit of the prediction interval on the 2/3-power scale, which also
   counts the uncertainty of μ: ``(μ^(2/3) + z·sqrt(4/9·μ^(1/3)·(φ + μ·var(log μ))))^(3/2)``.
   The threshold is never below the expected count.
5. Alarm when the count exceeds the threshold and at least ``min_cases``
   complaints were counted in the last ``min_cases_periods`` periods (the
   period judged included; Farrington's "5 in 4 weeks" rule against alarms on
   a handful of complaints).

``Ewma`` and ``Cusum`` watch for a sustained shift rather than one high period:
both compare each period with the mean rate of a moving reference window (the
``reference`` periods that end ``guard`` periods before it, so that the first
periods of a shift do not raise their own baseline; for a daily series, the same
weekday of as many weeks), with φ estimated there and floored at 1. They
assume a stable level: use them on series without strong seasonality (or with
an exposure that carries the season).

- ``Ewma`` (Roberts 1959; one-sided, on Anscombe residuals so that small counts
  are nearly normal): ``z = max(0, λ·r + (1 - λ)·z_prev)``, alarm when
  ``z > limit·sqrt(λ/(2 - λ))``.
- ``Cusum`` (the Poisson CUSUM of Lucas 1985, as a quasi log-likelihood ratio
  for a ``shift``-fold rise): ``S = max(0, S_prev + (y·ln δ - (δ - 1)·μ)/φ)``,
  alarm when ``S > limit``; in counts this is Lucas's reference value
  ``K = (δ - 1)μ/ln δ`` with decision interval ``φ·limit/ln δ``. ``limit`` is in
  log-likelihood units: in control, a crossing takes about ``e^limit`` periods or
  more (Wald's bound).

Both restart from zero after an alarm (a shift that persists alarms again a few
periods later); a crossing refused by the minimum-count rule holds the statistic
at its limit. For every method the threshold is the smallest count that would
have alarmed in that period, so ``alarm`` is exactly ``observed > threshold``
with the minimum-count rule, and ``score = observed / threshold``.

A baseline with no complaint at all gives expected 0 and threshold 0: any
complaint exceeds it (score ``inf``), subject to the minimum-count rule.

References: C. P. Farrington, N. J. Andrews, A. D. Beale, M. A. Catchpole, "A
statistical algorithm for the early detection of outbreaks of infectious
disease", J. R. Stat. Soc. A 159 (1996) 547-563. A. Noufaily, D. G. Enki, P.
Farrington, P. Garthwaite, N. Andrews, A. Charlett, "An improved algorithm for
outbreak detection in multiple surveillance systems", Stat. Med. 32 (2013)
1206-1222. J. M. Lucas, "Counted data CUSUM's", Technometrics 27 (1985) 129-144.
S. W. Roberts, "Control chart tests based on geometric moving averages",
Technometrics 1 (1959) 239-250. M. Salmon, D. Schumacher, M. Höhle,
"Monitoring count time series in R: aberration detection in public health
surveillance", J. Stat. Softw. 70 (2016).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple

import attrs

from complaint_flow.analysis.learning_extra import require_learning
from complaint_flow.analysis.poisson_fits import PoissonFit, fit_poisson
from complaint_flow.arguments import (
    instance,
    items,
    number,
    one_of,
    optional_whole_number,
    shown,
    whole_number,
)
from complaint_flow.errors import InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Array = npt.NDArray[np.float64]

PERIODS: Final = {"week": 7, "day": 1}
"""The periods a series may count, with their length in days."""

YEAR: Final = {"week": 52, "day": 364}
"""Periods in a year: whole weeks, so that a day is compared with the same weekday."""

STEP: Final = {"week": 1, "day": 7}
"""Periods between two baseline points: a day's baseline holds the same weekday only."""

METHODS: Final = ("farrington", "ewma", "cusum")

_MIN_SEASONAL_YEARS: Final = 2
_MIN_TREND_YEARS: Final = 3
_TREND_SIGNIFICANCE: Final = 0.05


def _check_min_cases(owner: str, min_cases: object, min_cases_periods: object) -> None:
    whole_number(f"{owner}.min_cases", min_cases)
    whole_number(f"{owner}.min_cases_periods", min_cases_periods, minimum=1)


@attrs.frozen
class Farrington:
    """Options of the Farrington method (see the module's description for each step).

    Args:
        years_back: the most years back the seasonal baseline reaches (``b``).
        window: periods either side of the same time of year (``w``).
        alpha: the false-alarm probability the threshold aims at per period.
        threshold: ``"nb"`` (negative binomial quantile, Noufaily 2013) or
            ``"power"`` (2/3-power prediction limit, Farrington 1996).
        reweight_above: standardised Anscombe residual above which a baseline
            point is down-weighted as a past outbreak; ``None`` turns it off.
        recent: periods in the baseline when there are not two years of history.
        min_history: the fewest periods of history to judge a period at all.
        min_cases: the fewest complaints in the last ``min_cases_periods``
            periods for an alarm.
        min_cases_periods: how many periods (the judged one included) that is.
    """

    years_back: int = 5
    window: int = 3
    alpha: float = 0.05
    threshold: str = "nb"
    reweight_above: float | None = 2.58
    recent: int = 26
    min_history: int = 8
    min_cases: int = 5
    min_cases_periods: int = 4

    def __attrs_post_init__(self) -> None:
        whole_number("Farrington.years_back", self.years_back, minimum=_MIN_SEASONAL_YEARS)
        whole_number("Farrington.window", self.window, maximum=25)
        number("Farrington.alpha", self.alpha, minimum=1e-9, maximum=0.5)
        one_of("Farrington.threshold", self.threshold, ("nb", "power"))
        if self.reweight_above is not None:
            number("Farrington.reweight_above", self.reweight_above, minimum=0)
        whole_number("Farrington.min_history", self.min_history, minimum=3)
        whole_number("Farrington.recent", self.recent, minimum=self.min_history)
        _check_min_cases("Farrington", self.min_cases, self.min_cases_periods)


@attrs.frozen
class Ewma:
    """Options of the one-sided EWMA chart.

    Args:
        smoothing: λ, the weight of the newest period (0.2: about the last 9
            periods count).
        limit: L, the alarm limit in standard deviations of the smoothed statistic.
        reference: periods in the moving reference window.
        guard: periods between the reference window and the period judged.
        min_cases, min_cases_periods: as for :class:`Farrington`.
    """

    smoothing: float = 0.2
    limit: float = 3.0
    reference: int = 26
    guard: int = 2
    min_cases: int = 5
    min_cases_periods: int = 4

    def __attrs_post_init__(self) -> None:
        number("Ewma.smoothing", self.smoothing, minimum=0.01, maximum=1)
        number("Ewma.limit", self.limit, minimum=0.1)
        whole_number("Ewma.reference", self.reference, minimum=4)
        whole_number("Ewma.guard", self.guard)
        _check_min_cases("Ewma", self.min_cases, self.min_cases_periods)


@attrs.frozen
class Cusum:
    """Options of the Poisson CUSUM.

    Args:
        shift: δ, the rise to detect quickly, as a multiple of the expected count
            (2: a doubling).
        limit: h, the alarm limit of the log-likelihood ratio.
        reference: periods in the moving reference window.
        guard: periods between the reference window and the period judged.
        min_cases, min_cases_periods: as for :class:`Farrington`.
    """

    shift: float = 2.0
    limit: float = 5.0
    reference: int = 26
    guard: int = 2
    min_cases: int = 5
    min_cases_periods: int = 4

    def __attrs_post_init__(self) -> None:
        number("Cusum.shift", self.shift, minimum=1.01, maximum=100)
        number("Cusum.limit", self.limit, minimum=0.1)
        whole_number("Cusum.reference", self.reference, minimum=4)
        whole_number("Cusum.guard", self.guard)
        _check_min_cases("Cusum", self.min_cases, self.min_cases_periods)


@attrs.frozen
class SpikeFinding:
    """How one period of a series was judged.

    Args:
        period_start: the first day of the period.
        observed: the complaints counted in it.
        expected: what the baseline predicts for it (exposure included).
        threshold: the count above which it alarms (never below ``expected`` for
            the Farrington method; see the module's description for the others).
        alarm: ``observed > threshold`` and the minimum-count rule holds.
        score: ``observed / threshold`` (``inf`` when the threshold is 0 and a
            complaint came in); above 1 means above the threshold.
        method: ``"farrington"``, ``"ewma"`` or ``"cusum"``.
        baseline: ``"seasonal"`` (same time of past years), ``"recent"`` (the last
            periods, no seasonality) or ``"reference"`` (EWMA and CUSUM window).
        baseline_periods: how many past periods the expected count rests on.
        dispersion: φ, the variance over the mean of the baseline (at least 1).
    """

    period_start: date
    observed: int
    expected: float
    threshold: float
    alarm: bool
    score: float
    method: str
    baseline: str
    baseline_periods: int
    dispersion: float


def detect_spikes(
    series: Sequence[tuple[date, int] | tuple[date, int, float]],
    method: str | Farrington | Ewma | Cusum = "farrington",
    *,
    period: str = "week",
    last: int | None = None,
) -> tuple[SpikeFinding, ...]:
    """Judge each period of a count series against its past.

    Args:
        series: ``(period_start, count)`` or ``(period_start, count, exposure)``
            per period, oldest first, every item of the same form. Start dates
            are whole periods apart; a period missing between two given ones
            counts zero complaints (SQL aggregates leave empty periods out),
            unless exposures are given, which must then cover every period.
        method: ``"farrington"``, ``"ewma"``, ``"cusum"`` (with default options) or
            a :class:`Farrington`, :class:`Ewma` or :class:`Cusum` with options.
        period: ``"week"`` or ``"day"``.
        last: judge only the last this many periods (the statistics of EWMA and
            CUSUM still run over the whole series); ``None`` judges all.

    Returns:
        One finding per period that could be judged, oldest first; the first
        periods, with too little history, have none.

    Raises:
        InvalidArgumentError: a malformed series or option.
        LearningExtraMissingError: numpy or scipy is not installed.
    """
    options = _method(method)
    period = one_of("period", period, tuple(PERIODS))
    last = optional_whole_number("last", last, minimum=1)
    starts, counts, exposure = _read_series(series, PERIODS[period])
    require_learning("detect_spikes", "numpy", "scipy")
    import numpy as np

    counts_array = np.asarray(counts, dtype=float)
    exposure_array = None if exposure is None else np.asarray(exposure, dtype=float)
    first = 0 if last is None else max(0, len(counts) - last)
    if isinstance(options, Farrington):
        rows = _farrington(counts_array, exposure_array, period, options, first)
    else:
        rows = _sequential(counts_array, exposure_array, STEP[period], options, first)
    return tuple(
        SpikeFinding(
            period_start=starts[index],
            observed=counts[index],
            expected=expected,
            threshold=threshold,
            alarm=alarm,
            score=_score(counts[index], threshold),
            method=name,
            baseline=baseline,
            baseline_periods=size,
            dispersion=dispersion,
        )
        for index, expected, threshold, alarm, name, baseline, size, dispersion in rows
    )


Row = tuple[int, float, float, bool, str, str, int, float]
"""index, expected, threshold, alarm, method, baseline, baseline size, dispersion."""


def _method(method: object) -> Farrington | Ewma | Cusum:
    if isinstance(method, Farrington | Ewma | Cusum):
        return method
    if isinstance(method, str):
        chosen = one_of("method", method, METHODS)
        if chosen == "ewma":
            return Ewma()
        return Cusum() if chosen == "cusum" else Farrington()
    return instance("method", method, Farrington, "'farrington', 'ewma', 'cusum' or Farrington()")


def _score(observed: int, threshold: float) -> float:
    if threshold > 0:
        return observed / threshold
    return math.inf if observed > 0 else 0.0


def _read_series(
    series: object, step_days: int
) -> tuple[list[date], list[int], list[float] | None]:
    """Check the series and fill the periods it leaves out with zero counts."""
    listed = items("series", series, empty=False)
    width = None
    starts: list[date] = []
    counts: list[int] = []
    exposure: list[float] = []
    for index, item in enumerate(listed):
        where = f"series[{index}]"
        if not isinstance(item, tuple | list) or len(item) not in (2, 3):
            raise InvalidArgumentError(
                f"{where} must be (period_start, count) or (period_start, count, exposure), "
                f"got {shown(item)}; pass a tuple such as (date(2026, 3, 2), 4)"
            )
        if width is None:
            width = len(item)
        elif len(item) != width:
            raise InvalidArgumentError(
                f"{where} has {len(item)} values but series[0] has {width}; give an exposure "
                "for every period or for none"
            )
        start = item[0]
        if isinstance(start, datetime) or not isinstance(start, date):
            advice = "pass its .date()" if isinstance(start, datetime) else "pass a datetime.date"
            raise InvalidArgumentError(
                f"{where}[0] (the period's start) must be a date, got {shown(start)}; {advice}"
            )
        count = whole_number(f"{where}[1] (the count)", item[1])
        if starts:
            gap = (start - starts[-1]).days
            if gap <= 0:
                raise InvalidArgumentError(
                    f"{where} starts on {start}, not after {starts[-1]}; give the periods "
                    "oldest first, each once"
                )
            if gap % step_days:
                raise InvalidArgumentError(
                    f"{where} starts on {start}, {gap} days after {starts[-1]}, which is not a "
                    f"whole number of {step_days}-day periods; start every period on the same "
                    "weekday (or pass period='day')"
                )
            missing = gap // step_days - 1
            if missing and width == 3:
                raise InvalidArgumentError(
                    f"{where} starts on {start}, leaving {missing} period(s) out after "
                    f"{starts[-1]}; with exposures, give every period (0 complaints included)"
                )
            for skipped in range(missing, 0, -1):
                starts.append(start - timedelta(days=step_days * skipped))
                counts.append(0)
        starts.append(start)
        counts.append(count)
        if width == 3:
            exposure.append(_exposure(f"{where}[2] (the exposure)", item[2]))
    return starts, counts, (exposure if width == 3 else None)


def _exposure(argument: str, value: object) -> float:
    checked = number(argument, value, minimum=0)
    if checked <= 0:
        raise InvalidArgumentError(
            f"{argument} must be more than 0, got {shown(value)}; a period with no exposure "
            "cannot have a rate: leave it out of the series"
        )
    return float(checked)


# -- Farrington ---------------------------------------------------------------------------


def _farrington(
    counts: Array, exposure: Array | None, period: str, options: Farrington, first: int
) -> list[Row]:
    import numpy as np

    year, step = YEAR[period], STEP[period]
    judged: list[int] = []
    points: list[list[int]] = []
    seasonal: list[bool] = []
    trend_allowed: list[bool] = []
    reach = options.window * step
    for t in range(first, len(counts)):
        years = min(options.years_back, (t - reach) // year) if t >= reach else 0
        if years >= _MIN_SEASONAL_YEARS:
            idx = [
                t - k * year + j * step
                for k in range(1, years + 1)
                for j in range(-options.window, options.window + 1)
            ]
            judged.append(t)
            points.append(idx)
            seasonal.append(True)
            trend_allowed.append(years >= _MIN_TREND_YEARS)
            continue
        idx = [t - i * step for i in range(options.recent, 0, -1) if t - i * step >= 0]
        if len(idx) >= options.min_history:
            judged.append(t)
            points.append(idx)
            seasonal.append(False)
            trend_allowed.append(True)
    if not judged:
        return []
    size = max(len(idx) for idx in points)
    index = np.zeros((len(judged), size), dtype=int)
    mask = np.zeros((len(judged), size))
    for row, idx in enumerate(points):
        index[row, : len(idx)] = idx
        mask[row, : len(idx)] = 1.0
    now = np.asarray(judged)
    y = counts[index] * mask
    log_e = np.zeros_like(y) if exposure is None else np.log(exposure[index])
    log_e_now = np.zeros(len(judged)) if exposure is None else np.log(exposure[now])
    time = (index - now[:, None]) / year * mask

    intercept_only = np.ones((*y.shape, 1))
    flat = _reweighted_fit(y, log_e, intercept_only, mask, options.reweight_above)
    mean, var_log, dispersion = _predict(flat, log_e_now)

    allowed = np.asarray(trend_allowed)
    if allowed.any():
        rows = np.flatnonzero(allowed)
        design = np.stack([np.ones_like(y[rows]), time[rows]], axis=2)
        sloped = _reweighted_fit(y[rows], log_e[rows], design, mask[rows], options.reweight_above)
        t_mean, t_var_log, t_dispersion = _predict(sloped, log_e_now[rows])
        keep = (
            sloped.fit.converged
            & (_trend_p_value(sloped) < _TREND_SIGNIFICANCE)
            & (t_mean <= _largest_count(y[rows], log_e[rows], mask[rows], log_e_now[rows]))
        )
        chosen = rows[keep]
        mean[chosen] = t_mean[keep]
        var_log[chosen] = t_var_log[keep]
        dispersion[chosen] = t_dispersion[keep]

    threshold = _threshold(mean, var_log, dispersion, options)
    threshold = np.maximum(threshold, mean)
    recent_cases = _recent_sums(counts, options.min_cases_periods)
    found: list[Row] = []
    for row, t in enumerate(judged):
        alarm = counts[t] > threshold[row] and recent_cases[t] >= options.min_cases
        found.append(
            (
                t,
                float(mean[row]),
                float(threshold[row]),
                bool(alarm),
                "farrington",
                "seasonal" if seasonal[row] else "recent",
                len(points[row]),
                float(dispersion[row]),
            )
        )
    return found


class _Fitted(NamedTuple):
    """A fit with its weights and its dispersion (floored at 1)."""

    fit: PoissonFit
    weights: Array
    dispersion: Array
    terms: int


def _reweighted_fit(
    y: Array, log_e: Array, design: Array, mask: Array, reweight_above: float | None
) -> _Fitted:
    import numpy as np

    terms = design.shape[2]
    fit = fit_poisson(y, log_e, design, mask)
    dispersion = _dispersion(y, fit.fitted, mask, terms)
    if reweight_above is None:
        return _Fitted(fit, mask, dispersion, terms)
    residual = _anscombe(y, fit.fitted, dispersion, fit.leverage, mask)
    raw = np.where(residual > reweight_above, 1.0 / np.maximum(residual, 1e-12) ** 2, 1.0) * mask
    weights = raw * (mask.sum(axis=1) / raw.sum(axis=1))[:, None]
    fit = fit_poisson(y, log_e, design, weights)
    return _Fitted(fit, weights, _dispersion(y, fit.fitted, weights, terms), terms)


def _dispersion(y: Array, fitted: Array, weights: Array, terms: int) -> Array:
    """Pearson's statistic over its degrees of freedom, floored at 1."""
    import numpy as np

    used = weights > 0
    freedom = used.sum(axis=1) - terms
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(used & (fitted > 0), weights * (y - fitted) ** 2 / fitted, 0.0)
        phi = pearson.sum(axis=1) / freedom
    return np.where((freedom > 0) & np.isfinite(phi), np.maximum(phi, 1.0), 1.0)


def _anscombe(y: Array, fitted: Array, dispersion: Array, leverage: Array, mask: Array) -> Array:
    """Standardised Anscombe residuals, 0 outside the mask."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        spread = (
            np.sqrt(dispersion[:, None])
            * fitted ** (1 / 6)
            * np.sqrt(np.clip(1.0 - leverage, 1e-9, None))
        )
        residual = 1.5 * (y ** (2 / 3) - fitted ** (2 / 3)) / spread
    return np.where((mask > 0) & np.isfinite(residual), residual, 0.0)


def _predict(fitted: _Fitted, log_e_now: Array) -> tuple[Array, Array, Array]:
    """The expected count now (time 0), the variance of its log, and φ."""
    import numpy as np

    fit = fitted.fit
    with np.errstate(over="ignore"):
        mean = np.exp(fit.coefficients[:, 0] + log_e_now)
    var_log = fitted.dispersion * fit.unscaled_covariance[:, 0, 0]
    mean = np.where(np.isfinite(mean), mean, 0.0)
    var_log = np.where(np.isfinite(var_log), var_log, 0.0)
    return mean, var_log, fitted.dispersion.copy()


def _trend_p_value(fitted: _Fitted) -> Array:
    import numpy as np
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    fit = fitted.fit
    freedom = (fitted.weights > 0).sum(axis=1) - fitted.terms
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(fitted.dispersion * fit.unscaled_covariance[:, 1, 1])
        t_value = np.abs(fit.coefficients[:, 1]) / se
    p_value = 2 * stats.t.sf(t_value, np.maximum(freedom, 1))
    return np.where(np.isfinite(p_value) & (freedom > 0), p_value, 1.0)


def _largest_count(y: Array, log_e: Array, mask: Array, log_e_now: Array) -> Array:
    """The largest baseline count, scaled to the exposure of the period judged."""
    import numpy as np

    scaled = y * np.exp(log_e_now[:, None] - log_e)
    largest: Array = np.where(mask > 0, scaled, -np.inf).max(axis=1)
    return largest


def _threshold(mean: Array, var_log: Array, dispersion: Array, options: Farrington) -> Array:
    import numpy as np
    from scipy import stats  # type: ignore[import-untyped, unused-ignore]

    if options.threshold == "power":
        z = stats.norm.isf(options.alpha)
        spread = np.sqrt(4 / 9 * mean ** (1 / 3) * (dispersion + mean * var_log))
        result: Array = (mean ** (2 / 3) + z * spread) ** 1.5
        return result
    overdispersed = dispersion > 1 + 1e-9
    size = np.where(overdispersed, mean / np.where(overdispersed, dispersion - 1, 1.0), 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        negative_binomial = stats.nbinom.ppf(1 - options.alpha, size, size / (size + mean))
    poisson = stats.poisson.ppf(1 - options.alpha, mean)
    quantile = np.where(overdispersed & (mean > 0), negative_binomial, poisson)
    return np.where(mean > 0, quantile, 0.0)


def _recent_sums(counts: Array, periods: int) -> Array:
    """For each period, the complaints of it and the ``periods - 1`` before it."""
    import numpy as np

    running = np.concatenate([[0.0], np.cumsum(counts)])
    ends = np.arange(1, len(counts) + 1)
    result: Array = running[ends] - running[np.maximum(ends - periods, 0)]
    return result


# -- EWMA and CUSUM -------------------------------------------------------------------------


def _sequential(
    counts: Array, exposure: Array | None, step: int, options: Ewma | Cusum, first: int
) -> list[Row]:
    import numpy as np

    n = len(counts)
    weight = np.ones(n) if exposure is None else exposure
    recent_cases = _recent_sums(counts, options.min_cases_periods)
    statistic = 0.0
    found: list[Row] = []
    name = "ewma" if isinstance(options, Ewma) else "cusum"
    for t in range((options.guard + options.reference) * step, n):
        # The reference window, oldest first: `reference` points ending `guard` before t.
        idx = t - step * np.arange(options.guard + options.reference, options.guard, -1)
        rate = counts[idx].sum() / weight[idx].sum()
        fitted = rate * weight[idx]
        dispersion = 1.0
        if rate > 0:
            pearson = float(((counts[idx] - fitted) ** 2 / fitted).sum())
            dispersion = max(1.0, pearson / (options.reference - 1))
        expected = float(rate * weight[t])
        if expected <= 0:
            threshold = 0.0
        elif isinstance(options, Ewma):
            threshold = _ewma_threshold(statistic, expected, dispersion, options)
        else:
            threshold = _cusum_threshold(statistic, expected, dispersion, options)
        observed = float(counts[t])
        crossed = observed > threshold
        alarm = bool(crossed and recent_cases[t] >= options.min_cases)
        if expected <= 0 or alarm:
            statistic = 0.0
        elif crossed:
            statistic = _limit(options)
        else:
            statistic = _step(statistic, observed, expected, dispersion, options)
        if t >= first:
            found.append(
                (t, expected, threshold, alarm, name, "reference", options.reference, dispersion)
            )
    return found


def _limit(options: Ewma | Cusum) -> float:
    if isinstance(options, Ewma):
        lam = options.smoothing
        return options.limit * math.sqrt(lam / (2 - lam))
    return options.limit


def _anscombe_one(observed: float, expected: float, dispersion: float) -> float:
    change = math.pow(observed, 2 / 3) - math.pow(expected, 2 / 3)
    return 1.5 * change / (math.sqrt(dispersion) * math.pow(expected, 1 / 6))


def _step(
    statistic: float, observed: float, expected: float, dispersion: float, options: Ewma | Cusum
) -> float:
    if isinstance(options, Ewma):
        lam = options.smoothing
        residual = _anscombe_one(observed, expected, dispersion)
        return max(0.0, lam * residual + (1 - lam) * statistic)
    delta = options.shift
    return max(0.0, statistic + (observed * math.log(delta) - (delta - 1) * expected) / dispersion)


def _ewma_threshold(statistic: float, expected: float, dispersion: float, options: Ewma) -> float:
    lam = options.smoothing
    residual = (_limit(options) - (1 - lam) * statistic) / lam
    root = (
        math.pow(expected, 2 / 3)
        + residual * math.sqrt(dispersion) * math.pow(expected, 1 / 6) / 1.5
    )
    return math.pow(max(root, 0.0), 1.5)


def _cusum_threshold(statistic: float, expected: float, dispersion: float, options: Cusum) -> float:
    delta = options.shift
    return (dispersion * (options.limit - statistic) + (delta - 1) * expected) / math.log(delta)
