"""Which texts are alike: character n-gram TF-IDF vectors and the pairs above a cosine.

Texts become TF-IDF vectors of their character 3- to 5-grams within word
boundaries (scikit-learn's ``char_wb`` analyzer with sublinear term frequency,
hashed into 2^20 columns so that no vocabulary is held in memory), after Unicode
NFKC normalisation and case folding, with runs of four or more digits (order and
reference numbers, which differ between customers) replaced by one ``#``. This
works for any script and tolerates typos and inflection: a misspelt word still
shares most of its n-grams.

The pairs with a cosine of at least ``threshold`` are found exactly (the same
pairs as comparing every text with every other) without an n-by-n matrix: the
texts are sorted by time and each block of rows is multiplied only with the rows
received within ``window`` before them, the block sized so that its product holds
at most ``PRODUCT_BUDGET`` entries (about 50 MB). The cost grows with the number of
complaints times the number received within one window: with 50,000 complaints
over a year and a 30-day window, each is compared with about 4,000 others.

Candidate filters that skip the common n-grams (the prefix bound of Bayardo, Ma
and Srikant's all-pairs search) were measured here and did not pay: between
complaints in one language a third of all pairs share a rare n-gram, and
checking a candidate pair costs more than the product's dense rows.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Array = npt.NDArray[np.float64]
    Indices = npt.NDArray[np.int64]

FEATURES = 2**20
"""Hashed n-gram columns: collisions are rare enough not to matter for a cosine."""

PRODUCT_BUDGET = 4_000_000
"""The most entries of one block's similarity product (float32 values and int32 indices)."""

_LONG_NUMBER = re.compile(r"\d{4,}")

_ROUNDING = 1e-6
"""float32 cosines of identical texts can come out a hair below 1."""


def normalise(text: str) -> str:
    """The text as its n-grams are taken from: NFKC, case-folded, long numbers as ``#``.

    >>> normalise("Order Nº 48213: ÉCRAN cassé")
    'order no #: écran cassé'
    """
    return _LONG_NUMBER.sub("#", unicodedata.normalize("NFKC", text).casefold())


def vectorise(texts: Sequence[str]) -> Any:
    """The L2-normalised TF-IDF matrix (CSR, float32) of the texts' character n-grams."""
    import numpy as np
    from sklearn.feature_extraction.text import (  # type: ignore[import-untyped, unused-ignore]
        HashingVectorizer,
        TfidfTransformer,
    )

    counts = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        n_features=FEATURES,
        alternate_sign=False,
        norm=None,
        lowercase=False,
        preprocessor=normalise,
        dtype=np.float32,
    ).transform(texts)
    weighted = TfidfTransformer(sublinear_tf=True, norm="l2").fit_transform(counts)
    return weighted.astype(np.float32).tocsr()


class Pairs(NamedTuple):
    """Pairs of rows (``first < second``) with their cosine."""

    first: Indices
    second: Indices
    similarity: Array


def similar_pairs(
    vectors: Any, received: Sequence[datetime], threshold: float, window: timedelta
) -> Pairs:
    """The pairs of rows with a cosine of at least ``threshold``, received within ``window``.

    Args:
        vectors: L2-normalised rows (CSR), in the order of ``received``.
        received: when each text came in; need not be sorted.
        threshold: the least cosine, above 0.
        window: the longest time between the two texts of a pair.
    """
    import numpy as np

    moments = np.asarray([moment.timestamp() for moment in received])
    order = np.argsort(moments, kind="stable")
    seconds = moments[order]
    rows = vectors[order]
    span = window.total_seconds()
    lows = np.searchsorted(seconds, seconds - span, side="left")
    found: list[tuple[Indices, Indices, Array]] = []
    start = 0
    while start < len(seconds):
        stop = start + 1
        while (
            stop < len(seconds) and (stop + 1 - start) * (stop + 1 - lows[start]) <= PRODUCT_BUDGET
        ):
            stop += 1
        low = int(lows[start])
        product = (rows[start:stop] @ rows[low:stop].T).tocoo()
        close = product.data >= threshold - _ROUNDING
        second = product.row[close].astype(np.int64) + start
        first = product.col[close].astype(np.int64) + low
        cosine = product.data[close].astype(np.float64)
        keep = (first < second) & (seconds[second] - seconds[first] <= span)
        found.append((order[first[keep]], order[second[keep]], cosine[keep]))
        start = stop
    first_all = np.concatenate([f for f, _, _ in found]) if found else np.zeros(0, np.int64)
    second_all = np.concatenate([s for _, s, _ in found]) if found else np.zeros(0, np.int64)
    similarity = np.concatenate([c for _, _, c in found]) if found else np.zeros(0)
    return Pairs(
        np.minimum(first_all, second_all),
        np.maximum(first_all, second_all),
        np.clip(similarity, 0.0, 1.0),
    )
