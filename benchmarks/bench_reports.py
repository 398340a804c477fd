"""The full report against one GROUP BY over the same table, and its memory at two sizes.

Run:  python benchmarks/bench_reports.py [--complaints 1000000] [--keep DIR]
          [--rounds N] [--no-sqlite] [--no-postgres] [--tracemalloc]

For each store (SQLite; PostgreSQL too when ``COMPLAINT_FLOW_TEST_POSTGRES_URL``
is set) it fills a fresh database with ``--complaints`` complaints (default
100,000) and a tenth as many in another, then times:

- subject: ``report(engine, since, until, "week")``, the full report (every
  section: volumes, acknowledge and resolve times in calendar and working hours,
  SLA compliance, outcomes, first contact, reopenings, repeats, escalation,
  redress, weekly counts) over every complaint stored;
- floor: ``SELECT category, count(*) FROM complaints GROUP BY category`` on the
  same table, through the driver.

The issue's bar is subject / floor <= 10 on each store; the table prints the
ratio and PASS or FAIL. Each report runs in a fresh process, whose peak resident
memory is printed at both sizes (``--tracemalloc`` adds the peak of Python's own
allocations, from another run): flat means the same at a tenth of the complaints
and at all of them.

Filling: the smaller store's complaints go through the public store API,
``store.commit_many`` in batches of 2,000, each a creation carrying the
complaint's whole history (a TACTICS path with realistic delays: thank,
apologise, collect, act, put right, check, summarise with an outcome, close;
some stop early, some escalate, some get a remedy, some reopen), its snapshot's
clocks replayed from those events by the workflow's own clock book: the rows the
engine writes, without the engine's per-step checks (which would take hours at a
million). Complaints are spread over two years, 12 categories, 6 channels, a
customer for every three complaints. The large SQLite store is the small one
copied ten times over in SQL, with new complaint ids, references and customer
ids (:func:`grow_sqlite`): an hour of filling becomes minutes, the rows are
those of the small store. On PostgreSQL both are filled through the store.
``--keep DIR`` keeps the SQLite files there and reuses them.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from complaint_flow import Actor, Customer, Engine, ManualClock
from complaint_flow.model.entities import SYSTEM, Complaint, Event, Severity
from complaint_flow.services.reporting.report import report
from complaint_flow.storage.contract import Commit

FLOOR = "SELECT category, count(*) FROM complaints GROUP BY category"
"""The floor: one count per category over the same table."""

TARGET = 10.0
"""The issue's bar: the full report at most ten times the GROUP BY."""

END = datetime(2026, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
SINCE = END - SPAN
BATCH = 2000
CATEGORIES = (
    "billing",
    "delivery",
    "product",
    "service",
    "website",
    "app",
    "refunds",
    "returns",
    "staff",
    "pricing",
    "privacy",
    "other",
)
CHANNELS = ("email", "phone", "letter", "web_form", "social_media", "in_person")
AGENTS = [
    Actor(id=f"agent-{n}", name=f"Agent {n}", role="agent", email=f"agent{n}@example.org")
    for n in range(40)
]
SUPERVISOR = Actor(
    id="sup-1", name="Sam Supervisor", role="supervisor", rank=2, email="sam@example.org"
)
PATH = (
    ("thank", "received", "thanked", {}),
    ("apologise", "thanked", "apologised", {}),
    ("collect_information", "apologised", "information_collected", {"facts": "What happened"}),
    ("take_action", "information_collected", "action_taken", {"action": "Replace it"}),
    ("put_it_right", "action_taken", "checking_satisfaction", {}),
    ("confirm_satisfied", "checking_satisfaction", "satisfied", {"customer_feedback": "Fine"}),
    ("summarise", "satisfied", "summarised", {"resolution": "Replaced", "timeline": "2 days"}),
    ("close", "summarised", "closed", {}),
)


class History:
    """One complaint's events and snapshot, built step by step."""

    def __init__(self, complaint_id: str, received: datetime, book: Any) -> None:
        self.id = complaint_id
        self.at = received
        self.events: list[Event] = []
        self.data: dict[str, Any] = {}
        self.state = "received"
        self.level = 1
        self.owner: Actor | None = None
        self.book = book
        self.add("received", SYSTEM, None, None, "received", {"received_at": received.isoformat()})

    def add(
        self,
        kind: str,
        actor: Actor,
        trigger: str | None,
        source: str | None,
        dest: str | None,
        data: dict[str, Any],
    ) -> None:
        self.events.append(
            Event.build(
                self.id, len(self.events) + 1, kind, self.at, actor, trigger, source, dest, "", data
            )
        )
        if kind == "transition":
            self.data.update(data)
            self.state = dest or self.state

    def step(
        self, trigger: str, source: str, dest: str, data: dict[str, Any], actor: Actor
    ) -> None:
        self.add("transition", actor, trigger, source, dest, data)


def complaint_commit(n: int, rng: random.Random, book: Any) -> Commit:
    """A creation carrying one complaint's whole, realistic TACTICS history."""
    received = SINCE + timedelta(seconds=rng.uniform(0, SPAN.total_seconds()))
    complaint_id = uuid.UUID(int=rng.getrandbits(128)).hex
    history = History(complaint_id, received, book)
    agent = rng.choice(AGENTS)
    stop = len(PATH) if rng.random() < 0.82 else rng.randrange(0, len(PATH))
    for index, (trigger, source, dest, data) in enumerate(PATH[:stop]):
        history.at += timedelta(hours=rng.expovariate(1 / (10 if index == 0 else 20)))
        if trigger == "put_it_right":
            history.owner = agent
        if trigger == "summarise":
            data = {**data, "outcome": rng.choices(OUTCOMES, WEIGHTS)[0]}
        if trigger == "take_action" and rng.random() < 0.1:
            history.at += timedelta(hours=rng.expovariate(1 / 8))
            history.add("escalated", agent, None, None, None, {"from_level": 1, "to_level": 2})
            history.level = 2
            history.owner = SUPERVISOR
        if trigger == "confirm_satisfied" and rng.random() < 0.15:
            amount = f"{rng.randrange(5, 250)}.{rng.randrange(0, 100):02d}"
            history.add(
                "remedy_granted",
                SUPERVISOR,
                None,
                None,
                None,
                {"kind": "refund", "amount": amount, "currency": None, "description": ""},
            )
        history.step(trigger, source, dest, data, agent)
    if history.state == "closed" and rng.random() < 0.03:
        history.at += timedelta(days=rng.expovariate(1 / 5))
        history.step(
            "reopen", "closed", "information_collected", {"reopen_reason": "Back"}, SUPERVISOR
        )
        for trigger, source, dest, data in PATH[3:]:
            history.at += timedelta(hours=rng.expovariate(1 / 20))
            history.step(trigger, source, dest, data, agent)
    clocks = book.replay(history.events)
    customer = n // 3
    complaint = Complaint(
        id=complaint_id,
        reference="",
        workflow="tactics",
        customer=Customer(
            id=f"C-{customer}", name=f"Customer {customer}", email=f"c{customer}@example.org"
        ),
        channel=rng.choice(CHANNELS),
        category=rng.choice(CATEGORIES),
        severity=Severity.NORMAL,
        summary=f"Complaint {n} about an order",
        details="The parcel arrived late and the box was crushed; the customer wants a refund.",
        state=history.state,
        received_at=received,
        updated_at=history.at,
        version=len(history.events),
        data=history.data,
        owner=history.owner,
        escalation_level=history.level,
        clocks=clocks,
        due_at=book.due_at(clocks),
    )
    return Commit(complaint, 0, history.events, reference_prefix="CF")


OUTCOMES = ("upheld", "partly_upheld", "not_upheld")
WEIGHTS = (5, 2, 3)


def fill(url: str, count: int, seed: int = 7) -> float:
    """Store ``count`` complaints in the store at ``url``; the seconds it took."""
    engine = Engine.open(url, load_entry_points=False)
    book = engine.kernel.workflow("tactics").clocks
    store = engine.kernel.store
    rng = random.Random(seed)
    started = time.perf_counter()
    try:
        done = 0
        while done < count:
            size = min(BATCH, count - done)
            store.commit_many([complaint_commit(done + n, rng, book) for n in range(size)])
            done += size
            if done % 100_000 == 0:
                print(f"  {url.split('?')[0]}: {done:,} complaints stored", file=sys.stderr)
    finally:
        engine.close()
    return time.perf_counter() - started


def run_report(url: str) -> float:
    engine = Engine.open(url, load_entry_points=False, clock=ManualClock(END))
    try:
        started = time.perf_counter()
        made = report(engine, SINCE, END, "week")
        elapsed = time.perf_counter() - started
        assert made.section("volume").values("received"), "the report read nothing"
        return elapsed
    finally:
        engine.close()


def floor_sqlite(path: Path) -> Callable[[], float]:
    def floor() -> float:
        connection = sqlite3.connect(path)
        try:
            started = time.perf_counter()
            connection.execute(
                "SELECT category, count(*) FROM complaints GROUP BY category"
            ).fetchall()
            return time.perf_counter() - started
        finally:
            connection.close()

    return floor


def floor_postgres(url: str, schema: str) -> Callable[[], float]:
    import psycopg

    def floor() -> float:
        with psycopg.connect(url) as connection:
            connection.execute(f"SET search_path TO {schema}")
            started = time.perf_counter()
            connection.execute(
                "SELECT category, count(*) FROM complaints GROUP BY category"
            ).fetchall()
            return time.perf_counter() - started

    return floor


def measure(url: str, traced: bool = False) -> tuple[float, float]:
    """(seconds, peak MB) of one full report in a fresh process.

    The peak is the process's peak resident set (the interpreter, the engine and
    SQLite's bounded page cache included) or, with ``traced``, tracemalloc's peak
    of Python allocations (which slows the run down).
    """
    code = "\n".join(
        [
            "import resource, sys, time, tracemalloc",
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})",
            "import bench_reports as b",
            "tracemalloc.start()" if traced else "",
            f"elapsed = b.run_report({url!r})",
            "peak = tracemalloc.get_traced_memory()[1] / 2**20" if traced else
            "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024",
            "print(elapsed, peak)",
        ]
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    elapsed, peak = found.stdout.split()
    return float(elapsed), float(peak)


def grow_sqlite(source: Path, target: Path, times: int) -> float:
    """Copy ``source`` to ``target`` with its complaints ``times`` over; the seconds it took.

    Each copy gets new complaint ids (the first two characters of the id replaced
    by ``z`` and the copy's number, at most 10 copies), references and customer
    ids (``Cz<copy>-…``), in the columns and inside the JSON bodies of complaints
    and events; everything else,
    received times included, is the same. Hash chains are not recomputed: reports
    do not read them.
    """
    started = time.perf_counter()
    shutil.copyfile(source, target)
    connection = sqlite3.connect(target, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous = OFF")
        (complaints,) = connection.execute("SELECT max(rowid) FROM complaints").fetchone()
        (events,) = connection.execute("SELECT max(rowid) FROM events").fetchone()
        for copy in range(1, times):
            mark = f"z{copy}"  # never hex: a copy's id is never an original one
            connection.execute("BEGIN")
            connection.execute(
                """INSERT INTO complaints (id, reference, workflow, state, customer_id,
                    category, severity, channel, external_id, received_at, updated_at,
                    due_at, version, body)
                SELECT :mark || substr(id, 3), replace(reference, 'CF-', 'CF' || :mark || '-'),
                    workflow, state, replace(customer_id, 'C-', 'C' || :mark || '-'),
                    category, severity, channel, external_id, received_at, updated_at,
                    due_at, version,
                    replace(replace(replace(body, id, :mark || substr(id, 3)),
                        '"reference":"CF-', '"reference":"CF' || :mark || '-'),
                        '"id":"C-', '"id":"C' || :mark || '-')
                FROM complaints WHERE rowid <= :last""",
                {"mark": mark, "last": complaints},
            )
            connection.execute(
                """INSERT INTO events (complaint_id, seq, kind, at, body)
                SELECT :mark || substr(complaint_id, 3), seq, kind, at,
                    replace(body, complaint_id, :mark || substr(complaint_id, 3))
                FROM events WHERE rowid <= :last""",
                {"mark": mark, "last": events},
            )
            connection.execute("COMMIT")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return time.perf_counter() - started


def sqlite_case(
    directory: Path, count: int, base: int
) -> tuple[str, Callable[[], float], float | None]:
    """The SQLite store of ``count`` complaints: filled through the store, or grown."""
    path = directory / f"reports-{count}.db"
    loaded = None
    if not path.exists():
        source = directory / f"reports-{base}.db"
        if not source.exists():
            loaded = fill(f"sqlite:///{source}?synchronous=OFF", base)
        if count != base:
            times = count // base
            if not 1 < times <= 10:
                raise SystemExit("the large SQLite store is the small one copied 2 to 10 times")
            loaded = (loaded or 0.0) + grow_sqlite(source, path, times)
    return f"sqlite:///{path}", floor_sqlite(path), loaded


def postgres_cases(base: str, count: int) -> Iterator[tuple[str, Callable[[], float], float]]:
    schema = f"cf_bench_reports_{count}_{uuid.uuid4().hex[:6]}"
    url = f"{base}{'&' if '?' in base else '?'}schema={schema}"
    try:
        loaded = fill(url, count)
        yield url, floor_postgres(base, schema), loaded
    finally:
        import psycopg

        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the SQLite files here")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also measure the peak of Python's allocations (another run, many times slower)",
    )
    arguments = parser.parse_args(argv)
    sizes = (arguments.complaints // 10, arguments.complaints)
    load = os.getloadavg()[0]
    print(f"# bench_reports: {sizes[0]:,} and {sizes[1]:,} complaints; load {load:.2f}")
    rows = []
    failed = False
    directory = arguments.keep or Path(tempfile.mkdtemp(prefix="cf-bench-reports-"))
    directory.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, int, Callable[[], Iterator[tuple[str, Callable[[], float], Any]]]]] = []
    for size in sizes if not arguments.no_sqlite else ():
        cases.append(
            ("sqlite", size, lambda size=size: iter([sqlite_case(directory, size, sizes[0])]))
        )
    postgres = os.environ.get("COMPLAINT_FLOW_TEST_POSTGRES_URL")
    if postgres and not arguments.no_postgres:
        for size in sizes:
            cases.append(("postgresql", size, lambda size=size: postgres_cases(postgres, size)))
    for store, size, open_case in cases:
        for url, floor, loaded in open_case():
            if loaded is not None:
                print(f"  {store} {size:,}: filled in {loaded:.0f} s", file=sys.stderr)
            floors, reports, peaks = [], [], []
            for _ in range(arguments.rounds):
                floors.append(floor())
                elapsed, peak = measure(url)
                reports.append(elapsed)
                peaks.append(peak)
            traced = measure(url, traced=True)[1] if arguments.tracemalloc else None
            ratio = min(reports) / min(floors)
            verdict = "PASS" if ratio <= TARGET else "FAIL"
            failed = failed or (size == sizes[-1] and ratio > TARGET)
            peak = max(peaks)
            rows.append((store, size, min(floors), min(reports), ratio, verdict, peak, traced))
            print(f"  {store} {size:,}: report {min(reports):.1f} s", file=sys.stderr)
    print(
        f"{'store':<11} {'complaints':>10} {'GROUP BY s':>10} {'report s':>9} "
        f"{'ratio':>8} {'<=10x':>5} {'peak RSS MB':>11} {'py peak MB':>10}"
    )
    for store, size, floor_time, report_time, ratio, verdict, rss, traced in rows:
        shown = "-" if traced is None else f"{traced:.1f}"
        print(
            f"{store:<11} {size:>10,} {floor_time:>10.3f} {report_time:>9.2f} "
            f"{ratio:>7.1f}x {verdict:>5} {rss:>11.1f} {shown:>10}"
        )
    print(f"# load after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
