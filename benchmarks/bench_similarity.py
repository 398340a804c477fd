"""How long find_similar_complaints takes on 50,000 complaints, and how much memory.

The texts are real English prose: two to four sentences drawn from the comments of
Python's own standard library (so the character n-grams are those of natural
language, not of random letters), 5% of them carrying one of 300 shared
sentences so that there is something to find, received over ``--spread`` days by
customers drawn at random. The pair search is checked against comparing every
text with every other on the first ``--check`` texts.

    PYTHONPATH=src python benchmarks/bench_similarity.py            # 50,000 over a year
    PYTHONPATH=src python benchmarks/bench_similarity.py --n 5000   # quick

Prints wall-clock and CPU seconds per stage (on a loaded machine the wall clock
grows, the CPU time much less) and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sysconfig
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from complaint_flow.analysis import text_pairs
from complaint_flow.analysis.similarity import find_similar_complaints


def sentences() -> list[str]:
    """Comment and docstring lines of the standard library that read as prose."""
    found: set[str] = set()
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        for line in path.read_text(encoding="utf-8", errors="ignore").splitlines():
            text = line.strip().lstrip("#").strip()
            prose = re.search(r"[a-z]{3,} [a-z]{3,} [a-z]{3,}", text)
            if len(text) > 40 and prose and not re.search(r"[=(){}\[\]]", text):
                found.add(text)
    return sorted(found)


def complaints(n: int, spread_days: int, seed: int = 7) -> list[tuple[str, str, datetime, str]]:
    rng = random.Random(seed)
    pool = sentences()
    shared = rng.sample(pool, 300)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items = []
    for number in range(n):
        parts = rng.sample(pool, rng.randint(2, 4))
        if rng.random() < 0.05:
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(shared))
        received = start + timedelta(minutes=rng.randrange(spread_days * 24 * 60))
        items.append((f"X{number}", f"U{rng.randrange(n)}", received, " ".join(parts)))
    return items


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label: str, work):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    print(
        f"{label:<34} {time.perf_counter() - wall:7.1f} s wall {time.process_time() - cpu:7.1f} s "
        f"CPU   peak {peak_memory_mb():6.0f} MB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="complaints (50,000)")
    parser.add_argument("--window", type=int, default=30, help="window in days (30)")
    parser.add_argument("--spread", type=int, default=365, help="days they arrive over (365)")
    parser.add_argument("--check", type=int, default=3000, help="texts checked exactly (3,000)")
    arguments = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as load:
        print(f"load average before: {load.read().split()[0]}")
    items = timed("corpus", lambda: complaints(arguments.n, arguments.spread))
    window = timedelta(days=arguments.window)
    texts = [item[3] for item in items]
    received = [item[2] for item in items]
    vectors = timed("vectorise (char 3-5-grams, TF-IDF)", lambda: text_pairs.vectorise(texts))
    pairs = timed(
        "pairs within the window",
        lambda: text_pairs.similar_pairs(vectors, received, 0.4, window),
    )
    clusters = timed(
        "find_similar_complaints (all steps)",
        lambda: find_similar_complaints(items, window=window),
    )
    largest = max((len(c.complaint_ids) for c in clusters), default=0)
    print(
        f"{arguments.n} complaints over {arguments.spread} days, window {arguments.window} days: "
        f"{len(pairs.first)} pairs, {len(clusters)} clusters, "
        f"{sum(c.flagged for c in clusters)} flagged, largest {largest}"
    )
    head = min(arguments.check, arguments.n)
    subset = text_pairs.vectorise(texts[:head])
    found = text_pairs.similar_pairs(subset, received[:head], 0.4, window)
    full = (subset @ subset.T).tocoo()
    expected = {
        (int(i), int(j))
        for i, j, value in zip(full.row, full.col, full.data, strict=True)
        if i < j and value >= 0.4 - 1e-6 and abs(received[i] - received[j]) <= window
    }
    same = set(zip(found.first.tolist(), found.second.tolist(), strict=True)) == expected
    print(f"exact on the first {head}: {'yes' if same else 'NO'} ({len(expected)} pairs)")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
