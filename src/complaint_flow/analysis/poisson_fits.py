"""Weighted Poisson log-linear regressions, many small ones at once (numpy).

The spike detector fits one small regression per judged period (a few dozen
baseline counts, an intercept and perhaps a trend). Fitting them one by one in a
general GLM library costs milliseconds each; stacking them into arrays of shape
``(problems, points)`` and running iteratively reweighted least squares on all of
them together costs microseconds each. A point with prior weight 0 takes no part
in its problem, which lets problems of different sizes share one array.

The dispersion of the quasi-Poisson model is not estimated here: the caller
computes it from the fitted means (it decides the floor and the weights).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Array = npt.NDArray[np.float64]
    Mask = npt.NDArray[np.bool_]

_MAX_LINEAR_PREDICTOR = 50.0
"""exp(50) is far beyond any count; clipping keeps a diverging fit finite."""


class PoissonFit(NamedTuple):
    """The fits of ``problems`` regressions (every array's first axis is the problem)."""

    coefficients: Array
    """(problems, terms): the fitted coefficients on the log scale."""
    fitted: Array
    """(problems, points): the fitted means, exposure included."""
    unscaled_covariance: Array
    """(problems, terms, terms): (X'WX)^-1; times the dispersion it is the covariance."""
    leverage: Array
    """(problems, points): the diagonal of the hat matrix."""
    converged: Mask
    """(problems,): the fit converged to finite coefficients."""


def fit_poisson(
    counts: Array,
    log_exposure: Array,
    design: Array,
    weights: Array,
    *,
    iterations: int = 50,
    tolerance: float = 1e-9,
) -> PoissonFit:
    """Fit log E[y] = log_exposure + design @ beta by weighted Poisson likelihood.

    Args:
        counts: (problems, points) observed counts.
        log_exposure: (problems, points) offsets (zeros without exposure).
        design: (problems, points, terms) the covariates; the first is the intercept.
        weights: (problems, points) prior weights, 0 for a point that is not used.
        iterations: the most IRLS steps.
        tolerance: stop when no coefficient moves more than this.
    """
    import numpy as np

    terms = design.shape[2]
    if terms == 1:
        return _fit_intercept(counts, log_exposure, weights)
    # Start from the intercept-only fit: always defined, and close for small trends.
    start = _fit_intercept(counts, log_exposure, weights)
    beta = np.zeros((counts.shape[0], terms))
    beta[:, 0] = start.coefficients[:, 0]
    active = np.isfinite(beta[:, 0])
    beta[~active, 0] = 0.0
    converged = np.zeros(counts.shape[0], dtype=bool)
    for _ in range(iterations):
        eta = np.clip(
            log_exposure + np.einsum("bnp,bp->bn", design, beta),
            -_MAX_LINEAR_PREDICTOR,
            _MAX_LINEAR_PREDICTOR,
        )
        mu = np.exp(eta)
        working = weights * mu
        response = eta - log_exposure + (counts - mu) / mu
        information = np.einsum("bnp,bn,bnq->bpq", design, working, design)
        score = np.einsum("bnp,bn,bn->bp", design, working, response)
        solvable = active & (np.abs(np.linalg.det(information)) > 1e-12)
        updated = beta.copy()
        if solvable.any():
            updated[solvable] = np.linalg.solve(information[solvable], score[solvable][..., None])[
                ..., 0
            ]
        step = np.max(np.abs(updated - beta), axis=1)
        beta = updated
        converged = solvable & (step < tolerance)
        if not (solvable & ~converged).any():
            break
    eta = np.clip(
        log_exposure + np.einsum("bnp,bp->bn", design, beta),
        -_MAX_LINEAR_PREDICTOR,
        _MAX_LINEAR_PREDICTOR,
    )
    mu = np.exp(eta)
    working = weights * mu
    information = np.einsum("bnp,bn,bnq->bpq", design, working, design)
    inverse = np.full_like(information, np.nan)
    invertible = np.abs(np.linalg.det(information)) > 1e-12
    inverse[invertible] = np.linalg.inv(information[invertible])
    leverage = np.einsum("bnp,bpq,bnq,bn->bn", design, inverse, design, working)
    finite = np.isfinite(beta).all(axis=1) & np.isfinite(inverse).all(axis=(1, 2))
    # A trend fitted to a baseline with no count at all runs off to minus infinity.
    has_counts = (weights * counts).sum(axis=1) > 0
    return PoissonFit(beta, mu, inverse, leverage, converged & finite & has_counts)


def _fit_intercept(counts: Array, log_exposure: Array, weights: Array) -> PoissonFit:
    """The closed form: the weighted rate, total count over total exposure."""
    import numpy as np

    exposure = np.exp(log_exposure)
    total = (weights * counts).sum(axis=1)
    at_risk = (weights * exposure).sum(axis=1)
    rate = total / at_risk
    fitted = rate[:, None] * exposure
    information = (weights * fitted).sum(axis=1)
    with np.errstate(divide="ignore"):
        coefficient = np.log(rate)
    safe = np.where(information > 0, information, 1.0)
    inverse = np.where(information > 0, 1.0 / safe, np.inf)
    # With no count at all every fitted mean is 0 and so is every leverage.
    leverage = weights * fitted / safe[:, None]
    return PoissonFit(
        coefficient[:, None],
        fitted,
        inverse[:, None, None],
        leverage,
        np.ones(counts.shape[0], dtype=bool),
    )
