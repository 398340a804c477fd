"""Similar complaints from several customers: an early sign of a wider problem (M9).

:func:`find_similar_complaints` groups complaints whose texts say much the same
thing and flags a group when enough *different* customers wrote in within a time
window. It only suggests: nothing is merged or linked, a person looks at each
group and decides.

How texts are compared (see ``text_pairs`` for the details): character 3- to
5-gram TF-IDF vectors and their cosine, which works in any language and script
and tolerates typos and inflection, but does not match a text with its
translation; only complaints received within ``window`` of each other are
compared, and the search is exact without an n-by-n matrix.

How groups are formed, in two steps:

1. Link every pair with a cosine of at least ``threshold`` and take the
   connected components (single linkage): cheap, and it finds chains of
   paraphrases that are each close to the next.
2. Single linkage also chains unrelated complaints through one accidental
   link, so each component is split by average-linkage clustering (UPGMA) cut
   where the mean cosine between two parts falls below ``cohesion``: a group
   holds together on average, not through one link. The split needs the
   component's full similarity matrix, so a component of more than ``MAX_SPLIT``
   complaints is first cut into the components it falls into when the link
   threshold rises by ``CUT_STEP`` (again and again if need be; identical texts
   that never fall apart stay one group).

A group is flagged when some span of ``window`` holds complaints from at least
``min_customers`` distinct customers; the span with the most is reported.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from complaint_flow.analysis.learning_extra import require_learning
from complaint_flow.analysis.text_pairs import Pairs, normalise, similar_pairs, vectorise
from complaint_flow.arguments import (
    aware_datetime,
    duration,
    items,
    number,
    shown,
    text,
    whole_number,
)
from complaint_flow.errors import InvalidArgumentError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Indices = npt.NDArray[np.int64]

MAX_SPLIT: Final = 4000
"""The largest component split by average linkage (its similarity matrix is dense)."""

CUT_STEP: Final = 0.05
"""How much the link threshold rises to cut a component larger than ``MAX_SPLIT``."""

_ROUNDING: Final = 1e-6

TOP_TERMS: Final = 5
_WORD = re.compile(r"[^\W\d_]{3,}")


@attrs.frozen
class SimilarCluster:
    """A group of complaints that say much the same thing: a suggestion for a person.

    Args:
        complaint_ids: the members, oldest first.
        customer_ids: the distinct customers, in the order they first wrote.
        first_received, last_received: when the first and the last member came in.
        window_start, window_end: the span of at most ``window`` holding the most
            distinct customers (its first and last member's times).
        window_customers: how many distinct customers wrote within that span.
        flagged: ``window_customers`` reached ``min_customers``.
        representative_id, representative_text: the member closest to the group's
            centre, to show a person what the group is about.
        top_terms: the words that most set the group apart from all complaints.
        cohesion: the mean cosine between the members' texts (0 to 1).
    """

    complaint_ids: tuple[str, ...]
    customer_ids: tuple[str, ...]
    first_received: datetime
    last_received: datetime
    window_start: datetime
    window_end: datetime
    window_customers: int
    flagged: bool
    representative_id: str
    representative_text: str
    top_terms: tuple[str, ...]
    cohesion: float

    @property
    def distinct_customers(self) -> int:
        """How many different customers the group's complaints come from."""
        return len(self.customer_ids)


def find_similar_complaints(
    complaints: Sequence[tuple[str, str, datetime, str]],
    *,
    threshold: float = 0.4,
    cohesion: float = 0.25,
    window: timedelta = timedelta(days=30),
    min_customers: int = 3,
) -> tuple[SimilarCluster, ...]:
    """Groups of similar complaints, flagged when several customers wrote within ``window``.

    Args:
        complaints: ``(complaint_id, customer_id, received_at, text)`` per
            complaint; ids unique, ``received_at`` timezone-aware.
        threshold: the cosine from which two texts are linked (0 to 1).
        cohesion: the least mean cosine within a group (0 to ``threshold``).
        window: only complaints this close in time are compared, and the span in
            which distinct customers are counted for the flag.
        min_customers: distinct customers within ``window`` that flag a group.

    Returns:
        Every group of two complaints or more: flagged ones first, then by
        customers within the window, size and first received.

    Raises:
        InvalidArgumentError: a malformed complaint or option.
        LearningExtraMissingError: numpy, scipy or scikit-learn is not installed.
    """
    threshold = number("threshold", threshold, minimum=0.01, maximum=1)
    cohesion = number("cohesion", cohesion, minimum=0, maximum=threshold)
    window = duration("window", window)
    min_customers = whole_number("min_customers", min_customers, minimum=1)
    ids, customers, received, texts = _read_complaints(complaints)
    require_learning("find_similar_complaints", "numpy", "scipy", "sklearn")
    if len(ids) < 2:
        return ()
    vectors = vectorise(texts)
    pairs = similar_pairs(vectors, received, threshold, window)
    words = _word_frequencies(texts)
    clusters = [
        _describe(group, vectors, ids, customers, received, texts, words, window, min_customers)
        for group in _groups(vectors, pairs, threshold, cohesion)
    ]
    clusters.sort(
        key=lambda c: (not c.flagged, -c.window_customers, -len(c.complaint_ids), c.first_received)
    )
    return tuple(clusters)


def _read_complaints(
    complaints: object,
) -> tuple[list[str], list[str], list[datetime], list[str]]:
    listed = items("complaints", complaints)
    ids: list[str] = []
    customers: list[str] = []
    received: list[datetime] = []
    texts: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(listed):
        where = f"complaints[{index}]"
        if not isinstance(item, tuple | list) or len(item) != 4:
            raise InvalidArgumentError(
                f"{where} must be (complaint_id, customer_id, received_at, text), got "
                f"{shown(item)}; pass a tuple of those four"
            )
        complaint_id = text(f"{where}[0] (the complaint id)", item[0], strip=False)
        if complaint_id in seen:
            raise InvalidArgumentError(
                f"{where}[0] repeats the complaint id {complaint_id!r}; give each complaint once"
            )
        seen.add(complaint_id)
        ids.append(complaint_id)
        customers.append(text(f"{where}[1] (the customer id)", item[1], strip=False))
        received.append(aware_datetime(f"{where}[2] (received_at)", item[2]))
        texts.append(text(f"{where}[3] (the text)", item[3], blank=True))
    return ids, customers, received, texts


def _groups(vectors: Any, pairs: Pairs, threshold: float, cohesion: float) -> list[Indices]:
    """The groups of two or more: linked components, each split by average linkage."""
    import numpy as np

    everyone = np.arange(vectors.shape[0])
    return _cut(vectors, everyone, pairs, threshold, cohesion)


def _cut(
    vectors: Any, members: Indices, edges: Pairs, level: float, cohesion: float
) -> list[Indices]:
    """The components of ``members`` linked at ``level`` or more, each split or cut further.

    ``members`` are sorted row numbers, ``edges`` the pairs among them. A component
    too large for the average-linkage split is cut again with a higher ``level``.
    """
    import numpy as np
    import scipy.sparse as sparse  # type: ignore[import-untyped, unused-ignore]
    from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped, unused-ignore]

    strong = edges.similarity >= level - _ROUNDING
    first = np.searchsorted(members, edges.first[strong])
    second = np.searchsorted(members, edges.second[strong])
    size = len(members)
    graph = sparse.coo_matrix((np.ones(len(first)), (first, second)), shape=(size, size))
    count, labels = connected_components(graph.tocsr(), directed=False)
    node_order = np.argsort(labels, kind="stable")
    node_bounds = np.searchsorted(labels[node_order], np.arange(count + 1))
    edge_labels = labels[first]
    edge_order = np.argsort(edge_labels, kind="stable")
    edge_bounds = np.searchsorted(edge_labels[edge_order], np.arange(count + 1))
    groups: list[Indices] = []
    for component in range(count):
        nodes = members[node_order[node_bounds[component] : node_bounds[component + 1]]]
        if len(nodes) < 2:
            continue
        if len(nodes) <= MAX_SPLIT:
            groups.extend(_split(vectors, nodes, cohesion))
        elif level + CUT_STEP > 1.0:
            groups.append(nodes)
        else:
            inside = edge_order[edge_bounds[component] : edge_bounds[component + 1]]
            kept = np.flatnonzero(strong)[inside]
            part = Pairs(edges.first[kept], edges.second[kept], edges.similarity[kept])
            groups.extend(_cut(vectors, nodes, part, level + CUT_STEP, cohesion))
    return groups


def _split(vectors: Any, members: Indices, cohesion: float) -> list[Indices]:
    """The component cut by average linkage where the mean cosine falls below ``cohesion``."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage  # type: ignore[import-untyped, unused-ignore]
    from scipy.spatial.distance import squareform  # type: ignore[import-untyped, unused-ignore]

    if len(members) == 2:
        return [members]
    block = _compact(vectors[members])
    distance = 1.0 - (block @ block.T).toarray()
    distance = np.clip((distance + distance.T) / 2, 0.0, 2.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    labels = fcluster(tree, t=1.0 - cohesion, criterion="distance")
    parts = [members[labels == label] for label in np.unique(labels)]
    return [part for part in parts if len(part) >= 2]


def _compact(block: Any) -> Any:
    """The rows with only the columns they use, in float64.

    Rows of 2^20 hashed columns make every transpose and product allocate for all
    of them; a group uses a few thousand.
    """
    import numpy as np
    import scipy.sparse as sparse  # type: ignore[import-untyped, unused-ignore]

    block = block.tocsr()
    used, columns = np.unique(block.indices, return_inverse=True)
    return sparse.csr_matrix(
        (block.data.astype(np.float64), columns, block.indptr), shape=(block.shape[0], len(used))
    )


def _describe(
    group: Indices,
    vectors: Any,
    ids: list[str],
    customers: list[str],
    received: list[datetime],
    texts: list[str],
    words: tuple[Counter[str], int],
    window: timedelta,
    min_customers: int,
) -> SimilarCluster:
    import numpy as np

    members = sorted(group.tolist(), key=lambda i: (received[i], ids[i]))
    block = _compact(vectors[members])
    size = len(members)
    # The mean cosine over all pairs from the sum of the vectors: |sum|² adds every
    # pair twice and every vector's own square once.
    total = np.asarray(block.sum(axis=0)).ravel()
    own = float(block.multiply(block).sum())
    mean_cosine = (float(total @ total) - own) / (size * (size - 1))
    closeness = block @ total
    representative = members[int(np.argmax(closeness))]
    start, end, most = _busiest_span(
        [received[i] for i in members], [customers[i] for i in members], window
    )
    distinct = tuple(dict.fromkeys(customers[i] for i in members))
    return SimilarCluster(
        complaint_ids=tuple(ids[i] for i in members),
        customer_ids=distinct,
        first_received=received[members[0]],
        last_received=received[members[-1]],
        window_start=start,
        window_end=end,
        window_customers=most,
        flagged=most >= min_customers,
        representative_id=ids[representative],
        representative_text=texts[representative],
        top_terms=_top_terms([texts[i] for i in members], words),
        cohesion=min(max(mean_cosine, 0.0), 1.0),
    )


def _busiest_span(
    times: list[datetime], customers: list[str], window: timedelta
) -> tuple[datetime, datetime, int]:
    """The span of at most ``window`` (times sorted) holding the most distinct customers."""
    inside: Counter[str] = Counter()
    best = (times[0], times[0], 0)
    left = 0
    for right, moment in enumerate(times):
        inside[customers[right]] += 1
        while moment - times[left] > window:
            inside[customers[left]] -= 1
            if not inside[customers[left]]:
                del inside[customers[left]]
            left += 1
        if len(inside) > best[2]:
            best = (times[left], moment, len(inside))
    return best


def _words(text_: str) -> set[str]:
    return set(_WORD.findall(normalise(text_)))


def _word_frequencies(texts: list[str]) -> tuple[Counter[str], int]:
    """In how many texts each word appears, and how many texts there are."""
    frequency: Counter[str] = Counter()
    for one in texts:
        frequency.update(_words(one))
    return frequency, len(texts)


def _top_terms(texts: list[str], words: tuple[Counter[str], int]) -> tuple[str, ...]:
    """Words in at least two members, by share of members times inverse document frequency."""
    frequency, total = words
    inside: Counter[str] = Counter()
    for one in texts:
        inside.update(_words(one))
    scored = [
        (count / len(texts) * math.log((1 + total) / (1 + frequency[word])), word)
        for word, count in inside.items()
        if count >= 2
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return tuple(word for _, word in scored[:TOP_TERMS])
