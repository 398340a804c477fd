"""Similar complaints across customers: measured on a labelled multilingual set.

``tests/data/similar_complaints.jsonl`` (written by ``make_similar_complaints.py``
beside it) holds 236 complaints in English, French, German, Russian and
Belarusian: 21 groups of 6 to 14 customers describing one problem in their own
words (paraphrases, typos, capitals, order numbers, greetings) and 40 complaints
about problems nobody else has. Some groups are deliberately close (the same
kettle, another fault; a double charge and a wrong bill).

Measured pairwise with the defaults (threshold 0.4, cohesion 0.25): two
complaints of one group in one suggested cluster is a true pair.

=====================  =========  ======
set                    precision  recall
=====================  =========  ======
the committed file     1.000      0.908
five fresh seeds       0.998      0.904
=====================  =========  ======

The defaults were chosen on the committed file; the fresh seeds (1 to 5, the same
generator, other draws) are the honest figures. Precision suffers most from
chaining when the average-linkage split is off (``cohesion=0``: 0.87 on the
committed file), recall from short paraphrases that share few words.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaint_flow.analysis import similarity, text_pairs
from complaint_flow.analysis.learning_extra import LearningExtraMissingError
from complaint_flow.analysis.similarity import SimilarCluster, find_similar_complaints
from complaint_flow.errors import InvalidArgumentError

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")

DATA = Path(__file__).parent / "data"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_similar_complaints", DATA / "make_similar_complaints.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def labelled() -> list[dict[str, Any]]:
    lines = (DATA / "similar_complaints.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def as_items(rows: list[dict[str, Any]]) -> list[tuple[str, str, datetime, str]]:
    return [
        (row["id"], row["customer"], datetime.fromisoformat(row["received_at"]), row["text"])
        for row in rows
    ]


def pairwise(
    rows: list[dict[str, Any]], clusters: tuple[SimilarCluster, ...]
) -> tuple[float, float]:
    """Precision and recall of 'same cluster' for 'same group'."""
    cluster_of = {cid: n for n, c in enumerate(clusters) for cid in c.complaint_ids}
    true_positive = false_positive = false_negative = 0
    for one, two in itertools.combinations(rows, 2):
        same_group = one["group"] is not None and one["group"] == two["group"]
        same_cluster = one["id"] in cluster_of and cluster_of[one["id"]] == cluster_of.get(
            two["id"]
        )
        true_positive += same_group and same_cluster
        false_positive += same_cluster and not same_group
        false_negative += same_group and not same_cluster
    return (
        true_positive / (true_positive + false_positive),
        true_positive / (true_positive + false_negative),
    )


def test_the_labelled_set_is_what_its_script_writes() -> None:
    assert generator().build() == labelled()
    rows = labelled()
    assert len(rows) == 236
    assert {row["language"] for row in rows} == {"en", "fr", "de", "ru", "be"}
    assert len({row["group"] for row in rows if row["group"]}) == 21


def test_precision_and_recall_on_the_labelled_set() -> None:
    rows = labelled()
    clusters = find_similar_complaints(as_items(rows), window=timedelta(days=365))
    precision, recall = pairwise(rows, clusters)
    assert precision >= 0.95, (precision, recall)
    assert recall >= 0.85, (precision, recall)


def test_precision_and_recall_on_sets_the_defaults_were_not_chosen_on() -> None:
    build = generator().build
    measured = [
        pairwise(rows, find_similar_complaints(as_items(rows), window=timedelta(days=365)))
        for rows in (build(seed) for seed in range(1, 6))
    ]
    precision = sum(p for p, _ in measured) / len(measured)
    recall = sum(r for _, r in measured) / len(measured)
    assert precision >= 0.95, measured
    assert recall >= 0.85, measured
    assert min(r for _, r in measured) >= 0.80, measured


def test_without_the_average_linkage_split_unrelated_groups_chain() -> None:
    rows = labelled()
    chained = find_similar_complaints(as_items(rows), window=timedelta(days=365), cohesion=0)
    split = find_similar_complaints(as_items(rows), window=timedelta(days=365))
    assert pairwise(rows, chained)[0] < pairwise(rows, split)[0] - 0.05


def test_the_pairs_are_exactly_those_of_comparing_every_text_with_every_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = labelled()
    vectors = text_pairs.vectorise([row["text"] for row in rows])
    received = [datetime.fromisoformat(row["received_at"]) for row in rows]
    window = timedelta(days=20)
    full = (vectors @ vectors.T).toarray()
    expected = {
        (i, j)
        for i, j in itertools.combinations(range(len(rows)), 2)
        if full[i, j] >= 0.4 - 1e-6 and abs(received[i] - received[j]) <= window
    }
    found = text_pairs.similar_pairs(vectors, received, 0.4, window)
    assert set(zip(found.first.tolist(), found.second.tolist(), strict=True)) == expected
    assert len(expected) > 100
    # Tiny blocks give the same pairs: the blocking loses nothing at its edges.
    monkeypatch.setattr(text_pairs, "PRODUCT_BUDGET", 60)
    tiny = text_pairs.similar_pairs(vectors, received, 0.4, window)
    assert set(zip(tiny.first.tolist(), tiny.second.tolist(), strict=True)) == expected


def test_every_language_has_its_groups_found() -> None:
    rows = labelled()
    clusters = find_similar_complaints(as_items(rows), window=timedelta(days=365))
    language = {row["id"]: row["language"] for row in rows}
    flagged_languages = {language[c.complaint_ids[0]] for c in clusters if c.flagged}
    assert flagged_languages == {"en", "fr", "de", "ru", "be"}


# -- flags, windows, what a person sees -------------------------------------------------------

KETTLE = [
    "The K200 kettle leaks water from the bottom after a few uses.",
    "My new K200 kettle leaks water from the bottom!",
    "Kettle K200 leaks from the base, water all over the counter.",
    "kettle k200 leaks water from the bottom, order 558812",
]
OTHER = [
    "The delivery driver was rude to my mother.",
    "I was charged a fee for closing my account.",
    "Your website does not accept my postcode.",
]


def with_others(
    items: list[tuple[str, str, datetime, str]],
) -> list[tuple[str, str, datetime, str]]:
    """The items among unrelated complaints (inverse document frequencies need a corpus)."""
    others = [(f"O{n}", f"other-{n}", START + timedelta(days=n), t) for n, t in enumerate(OTHER)]
    return items + others


def test_three_customers_within_the_window_flag_a_cluster() -> None:
    items = [
        (f"K{n}", f"customer-{n}", START + timedelta(days=2 * n), text)
        for n, text in enumerate(KETTLE)
    ]
    corpus = with_others(items)
    [cluster] = find_similar_complaints(corpus)
    assert cluster.complaint_ids == ("K0", "K1", "K2", "K3")
    vectors = text_pairs.vectorise([item[3] for item in corpus])
    cosines = (vectors[:4] @ vectors[:4].T).toarray()
    assert cluster.cohesion == pytest.approx((cosines.sum() - 4) / 12, abs=1e-5)
    assert cluster.customer_ids == ("customer-0", "customer-1", "customer-2", "customer-3")
    assert cluster.distinct_customers == 4
    assert cluster.flagged
    assert cluster.window_customers == 4
    assert (cluster.window_start, cluster.window_end) == (START, START + timedelta(days=6))
    assert cluster.representative_id in cluster.complaint_ids
    assert cluster.representative_text in KETTLE
    assert {"kettle", "leaks"} <= set(cluster.top_terms)


def test_one_customer_writing_again_is_a_cluster_but_no_flag() -> None:
    items = [(f"K{n}", "the-same-one", START + timedelta(days=n), t) for n, t in enumerate(KETTLE)]
    [cluster] = find_similar_complaints(with_others(items))
    assert cluster.distinct_customers == 1
    assert not cluster.flagged


def test_customers_spread_beyond_the_window_are_not_flagged() -> None:
    items = [
        (f"K{n}", f"customer-{n}", START + timedelta(days=20 * n), text)
        for n, text in enumerate(KETTLE)
    ]
    [cluster] = find_similar_complaints(with_others(items), window=timedelta(days=30))
    assert cluster.window_customers == 2
    assert not cluster.flagged
    assert cluster.window_end - cluster.window_start <= timedelta(days=30)
    [wide] = find_similar_complaints(with_others(items), window=timedelta(days=90))
    assert wide.flagged
    assert not find_similar_complaints(with_others(items), window=timedelta(days=10))


def test_min_customers_sets_the_flag() -> None:
    items = [(f"K{n}", f"c{n}", START + timedelta(hours=n), t) for n, t in enumerate(KETTLE)]
    assert find_similar_complaints(with_others(items), min_customers=4)[0].flagged
    assert not find_similar_complaints(with_others(items), min_customers=5)[0].flagged


def test_flagged_clusters_come_first() -> None:
    many = [(f"K{n}", f"c{n}", START + timedelta(hours=n), t) for n, t in enumerate(KETTLE)]
    pair = [
        ("P1", "x", START, "The parking machine at the Leeds store swallowed my card."),
        (
            "P2",
            "x",
            START + timedelta(hours=1),
            "Parking machine at your Leeds store swallowed my card!",
        ),
    ]
    clusters = find_similar_complaints(with_others(pair + many))
    assert [c.flagged for c in clusters] == [True, False]
    assert clusters[1].complaint_ids == ("P1", "P2")


def test_a_component_too_large_to_split_is_cut_at_a_higher_threshold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Six customers send one text, six another that is linked to it: one group of
    # twelve, unless the group is too large for the average-linkage split.
    items = [(f"A{n}", f"a{n}", START + timedelta(hours=n), KETTLE[0]) for n in range(6)]
    items += [(f"B{n}", f"b{n}", START + timedelta(hours=n), KETTLE[2]) for n in range(6)]
    [together] = find_similar_complaints(with_others(items))
    assert len(together.complaint_ids) == 12
    assert together.cohesion < 0.9
    for limit in (8, 3):  # at 3, identical texts never fall apart: they stay together
        monkeypatch.setattr(similarity, "MAX_SPLIT", limit)
        clusters = find_similar_complaints(with_others(items))
        assert sorted(sorted(c.complaint_ids) for c in clusters) == [
            [f"A{n}" for n in range(6)],
            [f"B{n}" for n in range(6)],
        ]
        assert [c.cohesion for c in clusters] == pytest.approx([1.0, 1.0])


def test_nothing_to_compare_is_no_cluster() -> None:
    assert find_similar_complaints([]) == ()
    assert find_similar_complaints([("A", "c", START, "Hello")]) == ()
    assert find_similar_complaints([("A", "c", START, " "), ("B", "d", START, " ")]) == ()


SENTENCES = st.sampled_from(KETTLE + OTHER)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(SENTENCES, st.integers(0, 5), st.integers(0, 60 * 24)), min_size=0, max_size=25
    ),
    st.integers(1, 4),
)
def test_clusters_are_disjoint_and_their_figures_agree(
    drawn: list[tuple[str, int, int]], min_customers: int
) -> None:
    items = [
        (f"id{n}", f"c{customer}", START + timedelta(minutes=minutes), text)
        for n, (text, customer, minutes) in enumerate(drawn)
    ]
    window = timedelta(days=7)
    clusters = find_similar_complaints(items, window=window, min_customers=min_customers)
    seen: set[str] = set()
    by_id = {item[0]: item for item in items}
    for cluster in clusters:
        assert len(cluster.complaint_ids) >= 2
        assert not seen & set(cluster.complaint_ids)
        seen |= set(cluster.complaint_ids)
        members = [by_id[cid] for cid in cluster.complaint_ids]
        assert [m[2] for m in members] == sorted(m[2] for m in members)
        assert set(cluster.customer_ids) == {m[1] for m in members}
        assert cluster.window_customers <= cluster.distinct_customers
        assert cluster.flagged == (cluster.window_customers >= min_customers)
        assert timedelta(0) <= cluster.window_end - cluster.window_start <= window
        assert cluster.first_received <= cluster.window_start
        assert cluster.window_end <= cluster.last_received


# -- arguments and the extra -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("complaints", "kwargs", "message"),
    [
        ("text", {}, "complaints must be a list"),
        ([("A", "c", START)], {}, "complaints[0] must be (complaint_id, customer_id"),
        ([("A", "c", START, "x"), ("A", "d", START, "y")], {}, "repeats the complaint id"),
        ([("A", "c", datetime(2026, 3, 2), "x")], {}, "timezone-aware"),
        ([("A", "", START, "x")], {}, "customer id"),
        ([("A", "c", START, b"x")], {}, "decode it first"),
        ([], {"threshold": 0}, "threshold must be a number from 0.01 to 1"),
        ([], {"cohesion": 0.5}, "cohesion must be a number from 0 to 0.4"),
        ([], {"window": 30}, "window must be a timedelta"),
        ([], {"min_customers": 0}, "min_customers must be a whole number of at least 1"),
    ],
)
def test_malformed_arguments_are_refused(
    complaints: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        find_similar_complaints(complaints, **kwargs)
    assert message in str(raised.value)


def test_without_scikit_learn_the_message_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(LearningExtraMissingError, match=r"complaint-flow\[learning\]"):
        find_similar_complaints([("A", "c", START, "x"), ("B", "d", START, "x")])
