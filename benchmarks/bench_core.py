"""Core performance figures against their floors, measured in the same run.

Run:  python benchmarks/bench_core.py [--quick]

Prints one table; each figure is compared with its floor, measured in the same
process a moment apart (see benchmarks/README.md):

1. in-memory ``engine.fire`` on the full ``tactics`` pack (SLA clocks, ladder) over
   the TACTICS path, against a floor of one bare trigger of a plain shared
   ``transitions.Machine`` (no callbacks) plus one SHA-256 of the event's
   canonical JSON: floor / fire >= 0.4;
2. the same in-memory fire against eventsourcing 9.x's in-memory (POPO)
   application doing load + one event + save of an aggregate: >= 4x faster;
3. SQLite ``engine.fire`` (default durability) against raw sqlite3 doing, on the
   store's own tables with the store's pragmas, one transaction with a
   version-checked UPDATE of the complaint row and one event INSERT: >= 0.7, the
   median of three runs; eventsourcing 9.x's SQLite application for reference;
4. receive + fire at 100k stored complaints against 1k: <= 1.3x.

Only public names of ``complaint_flow`` are used, so the same script measures any
version of it: put the tree to measure first on ``PYTHONPATH``. Floors and subjects
run interleaved, several rounds, and the best round of each counts, so that
background noise on a small machine does not decide the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from transitions import Machine

import complaint_flow
from complaint_flow import Actor, Customer, Engine, Intake, WorkflowDefinition, load_pack

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")
CUSTOMER = Customer(id="C-1", name="Ada", email="ada@example.org")
PATH: list[tuple[str, dict[str, str] | None]] = [
    ("thank", None),
    ("apologise", None),
    ("collect_information", {"facts": "box crushed in transit"}),
    ("take_action", {"action": "send a replacement"}),
    ("put_it_right", None),
    ("confirm_satisfied", {"customer_feedback": "happy"}),
    ("summarise", {"resolution": "replacement sent", "timeline": "2 days"}),
    ("close", None),
]
MEMORY_FLOOR = 0.4  # floor / fire
EVENTSOURCING_SPEEDUP = 4.0  # eventsourcing / fire
SQLITE_FLOOR = 0.7  # floor / fire, median of SQLITE_RUNS
SQLITE_RUNS = 3
FLAT_GROWTH = 1.3  # large store / small store
Row = tuple[str, str, str, str, str]


def intake(n: int) -> Intake:
    return Intake(
        channel="email",
        customer=CUSTOMER,
        summary=f"Parcel {n} arrived broken",
        details="The box was crushed on delivery.",
    )


def best_of(rounds: int, *subjects: Callable[[], float]) -> list[float]:
    """Run the subjects interleaved ``rounds`` times; the best seconds-per-op of each."""
    best = [float("inf")] * len(subjects)
    for _ in range(rounds):
        for index, subject in enumerate(subjects):
            best[index] = min(best[index], subject())
    return best


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def verdict(ok: bool, target: str) -> str:
    return "PASS" if ok else f"FAIL ({target})"


# -- 1. in-memory fire against the bare machine + hash ------------------------------------


def bare_machine(workflow: WorkflowDefinition) -> Machine:
    """A plain shared machine of the workflow's states and transitions, no callbacks."""
    return Machine(
        model=None,
        states=[state.name for state in workflow.states],
        transitions=[
            {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
            for t in workflow.transitions
        ],
        initial=None,
        auto_transitions=False,
    )


def path_events(workflow: WorkflowDefinition, complaint_id: str) -> list[dict[str, Any]]:
    """The events of the PATH as plain dicts with an Event's fields (received, assigned first)."""
    state = workflow.initial
    events = []
    for seq, (trigger, data) in enumerate(PATH, start=3):
        dest = next(
            t.dest for t in workflow.transitions if t.trigger == trigger and state in t.sources
        )
        events.append(
            {
                "complaint_id": complaint_id,
                "seq": seq,
                "kind": "transition",
                "at": f"2026-03-02T09:{seq:02d}:27.123456+00:00",
                "actor": {"id": AGENT.id, "name": AGENT.name, "role": AGENT.role},
                "trigger": trigger,
                "source": state,
                "dest": dest,
                "reason": "",
                "data": data or {},
            }
        )
        state = dest
    return events


def memory_fire_subjects(complaints: int) -> tuple[Callable[[], float], Callable[[], float]]:
    """The floor and ``engine.fire`` over the PATH, each in seconds per fire."""
    tactics = load_pack("tactics")
    engine = Engine.open("memory://", workflow=tactics, load_entry_points=False)
    events = bare_machine(tactics).events
    steps = [
        (trigger, event)
        for (trigger, _data), event in zip(
            PATH, path_events(tactics, engine.receive(intake(-1)).id), strict=True
        )
    ]
    sha256, dumps = hashlib.sha256, json.dumps

    class Token:
        __slots__ = ("state",)
        state: str

    token = Token()

    def floor() -> float:
        start = time.perf_counter()
        for _ in range(complaints):
            token.state = tactics.initial
            for trigger, event in steps:
                events[trigger].trigger(token)
                sha256(
                    dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
                ).hexdigest()
        elapsed = time.perf_counter() - start
        assert token.state == "closed"
        return elapsed / (complaints * len(PATH))

    def subject() -> float:
        ids = []
        for n in range(complaints):
            complaint = engine.receive(intake(n))
            engine.assign(complaint.id, AGENT, actor=AGENT)
            ids.append(complaint.id)
        fire = engine.fire
        start = time.perf_counter()
        for complaint_id in ids:
            for trigger, data in PATH:
                fire(complaint_id, trigger, actor=AGENT, data=data)
        return (time.perf_counter() - start) / (complaints * len(PATH))

    return floor, subject


# -- eventsourcing 9.x: load + one event + save ---------------------------------------------


def eventsourcing_classes() -> tuple[type[Any], type[Any]] | None:
    """eventsourcing's aggregate and application classes, if it is installed.

    Made once per process: eventsourcing refuses a second class under the same topic.
    """
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
        from eventsourcing.utils import Environment
    except ImportError:
        return None

    class Case(Aggregate):
        def __init__(self, summary: str) -> None:
            self.summary = summary
            self.state = "received"

        @event("Moved")
        def move(
            self, trigger: str, source: str, dest: str, actor: dict[str, str], data: dict[str, str]
        ) -> None:
            self.state = dest

    class Cases(Application):  # type: ignore[type-arg]  # generic from eventsourcing 9.4
        """Configured by its ``env`` alone: this process's environment variables are ignored."""

        def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
            return Environment(name, dict(env or {}))

    return Case, Cases


def eventsourcing_subject(
    classes: tuple[type[Any], type[Any]], env: dict[str, str], aggregates: int
) -> tuple[Callable[[], float], str]:
    """eventsourcing's application over the PATH, one aggregate per complaint, per event.

    ``env`` alone configures the application: environment variables of this process
    (``PERSISTENCE_MODULE``, ``SQLITE_DBNAME``…) are ignored, so that the in-memory
    application is the default POPO one whatever the shell exports. Returns the
    subject and the name of the application's recorder class.
    """
    Case, Cases = classes  # noqa: N806
    app = Cases(env=env)
    actor = {"id": AGENT.id, "name": AGENT.name, "role": AGENT.role}
    moves = [
        (e["trigger"], e["source"], e["dest"], e["data"])
        for e in path_events(load_pack("tactics"), "-")
    ]

    def subject() -> float:
        ids = []
        for n in range(aggregates):
            case = Case(summary=f"Parcel {n} arrived broken")
            app.save(case)
            ids.append(case.id)
        get, save = app.repository.get, app.save
        start = time.perf_counter()
        for case_id in ids:
            for trigger, source, dest, data in moves:
                loaded = get(case_id)
                loaded.move(trigger=trigger, source=source, dest=dest, actor=actor, data=data)
                save(loaded)
        return (time.perf_counter() - start) / (aggregates * len(moves))

    return subject, type(app.recorder).__name__


# -- 3. SQLite fire against raw sqlite3 on the store's tables --------------------------------


def store_schema_floor(directory: Path, operations: int) -> Callable[[], float]:
    """A version-checked UPDATE + one event INSERT, on the SQLite store's own tables.

    Rows are created through the engine, and the bodies written are copied from a
    complaint and an event the engine wrote after a fire, so they have their real
    sizes; the timed loop then does by hand exactly what a fire must write at minimum.
    """
    path = directory / "store-floor.db"
    engine = Engine.open(f"sqlite:///{path}?synchronous=OFF", load_entry_points=False)
    ids = [engine.receive(intake(n)).id for n in range(operations + 1)]
    engine.assign(ids[0], MANAGER, actor=MANAGER)
    engine.fire(ids[0], PATH[0][0], actor=AGENT)
    engine.close()
    connection = sqlite3.connect(path, isolation_level=None)
    (complaint_json,) = connection.execute(
        "SELECT body FROM complaints WHERE id = ?", (ids[0],)
    ).fetchone()
    (event_json,) = connection.execute(
        "SELECT body FROM events WHERE complaint_id = ? ORDER BY seq DESC LIMIT 1", (ids[0],)
    ).fetchone()
    versions = dict(connection.execute("SELECT id, version FROM complaints").fetchall())
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.execute("PRAGMA synchronous = FULL")  # the store's pragmas, all of them
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA secure_delete = ON")
    position = [0]

    def floor() -> float:
        start = time.perf_counter()
        for _ in range(operations):
            complaint_id = ids[position[0] % len(ids)]
            position[0] += 1
            v = versions[complaint_id]
            connection.execute("BEGIN IMMEDIATE")
            cursor = connection.execute(
                "UPDATE complaints SET state = ?, updated_at = ?, version = ?, body = ? "
                "WHERE id = ? AND version = ?",
                (f"s{v % 5}", 1_700_000_000_000_000 + v, v + 1, complaint_json, complaint_id, v),
            )
            assert cursor.rowcount == 1
            connection.execute(
                "INSERT INTO events (complaint_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
                (complaint_id, v + 1, "transition", 1_700_000_000_000_000 + v, event_json),
            )
            connection.execute("COMMIT")
            versions[complaint_id] = v + 1
        return (time.perf_counter() - start) / operations

    return floor


def sqlite_fire_subject(
    directory: Path, operations: int, *, quiet_steps_only: bool = False
) -> Callable[[], float]:
    """``engine.fire`` on SQLite (default durability) over the TACTICS path.

    With ``quiet_steps_only`` it times only the steps that notify nobody, which
    write exactly what the floor writes (the complaint's new version and one
    event, no outbox row): the like-for-like comparison.
    """
    name = "engine-quiet.db" if quiet_steps_only else "engine.db"
    engine = Engine.open(
        f"sqlite:///{directory / name}", workflow=load_pack("tactics"), load_entry_points=False
    )
    notifying = {t.trigger for t in engine.workflow().transitions if t.notify}

    def subject() -> float:
        ids = []
        for n in range(operations // len(PATH) * 2 + 2):
            complaint = engine.receive(intake(n))
            engine.assign(complaint.id, MANAGER, actor=MANAGER)
            ids.append(complaint.id)
        steps = [(cid, t, d) for cid in ids for t, d in PATH]
        elapsed = 0.0
        timed = 0
        for complaint_id, trigger, data in steps:
            if timed == operations:
                break
            untimed = quiet_steps_only and trigger in notifying
            start = time.perf_counter()
            engine.fire(complaint_id, trigger, actor=AGENT, data=data)
            if not untimed:
                elapsed += time.perf_counter() - start
                timed += 1
        return elapsed / timed

    return subject


def sqlite_run(
    directory: Path, operations: int, classes: tuple[type[Any], type[Any]] | None
) -> dict[str, float]:
    """One run: fresh databases, the subjects interleaved, best of three rounds each."""
    directory.mkdir()
    subjects = {
        "floor": store_schema_floor(directory, operations),
        "fire": sqlite_fire_subject(directory, operations),
        "quiet": sqlite_fire_subject(directory, operations, quiet_steps_only=True),
    }
    if classes is not None:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(directory / "es.db"),
        }
        subjects["eventsourcing"] = eventsourcing_subject(
            classes, env, operations // len(PATH) + 1
        )[0]
    return dict(zip(subjects, best_of(3, *subjects.values()), strict=True))


def median_run_row(
    label: str, runs: list[dict[str, float]], subject: str, floor: str, target: float
) -> Row:
    """A row for floor / subject over the runs: the median run's times, all the ratios."""
    ratios = [run[floor] / run[subject] for run in runs]
    median = statistics.median(ratios)
    middle = runs[ratios.index(median)] if median in ratios else runs[0]
    return (
        label,
        us(middle[subject]),
        us(middle[floor]),
        f"{median:.2f}x (runs {' '.join(f'{r:.2f}' for r in ratios)})",
        verdict(median >= target, f">= {target}"),
    )


# -- 4. cost flat with store size ---------------------------------------------------------


def receive_and_fire(engine: Engine, operations: int) -> float:
    start = time.perf_counter()
    for n in range(operations):
        complaint = engine.receive(intake(n))
        engine.fire(complaint.id, "thank", actor=AGENT)
    return (time.perf_counter() - start) / operations


def flat_cost(
    directory: Path, small: int, large: int, operations: int
) -> dict[str, tuple[float, float]]:
    results: dict[str, tuple[float, float]] = {}
    tactics = load_pack("tactics")
    for label in ("memory", "sqlite"):
        engines = {}
        for size in (small, large):
            if label == "memory":
                engine = Engine.open("memory://", workflow=tactics, load_entry_points=False)
                for n in range(size):
                    engine.receive(intake(n))
            else:
                url = f"sqlite:///{directory / f'flat-{size}.db'}"
                filler = Engine.open(f"{url}?synchronous=OFF", load_entry_points=False)
                for n in range(size):
                    filler.receive(intake(n))
                filler.close()
                engine = Engine.open(url, workflow=tactics, load_entry_points=False)
            engines[size] = engine
        small_engine, large_engine = engines[small], engines[large]
        small_s, large_s = best_of(
            3,
            lambda: receive_and_fire(small_engine, operations),  # noqa: B023
            lambda: receive_and_fire(large_engine, operations),  # noqa: B023
        )
        results[label] = (small_s, large_s)
        for engine in engines.values():
            engine.close()
    return results


# -- the table ---------------------------------------------------------------------------


def installed(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def print_table(rows: list[Row]) -> None:
    headers = ("figure", "complaint_flow", "floor / baseline", "ratio", "target")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (noisier)")
    args = parser.parse_args(argv)
    memory_complaints = 300 if args.quick else 2000
    sqlite_ops = 150 if args.quick else 800
    large = 10_000 if args.quick else 100_000
    flat_ops = 200 if args.quick else 1000
    load_before = os.getloadavg()
    started = time.monotonic()
    rows: list[Row] = []

    # 1 and 2: in memory, the floor, the engine and eventsourcing interleaved.
    floor, fire = memory_fire_subjects(memory_complaints)
    classes = eventsourcing_classes()
    es_memory = None if classes is None else eventsourcing_subject(classes, {}, memory_complaints)
    memory = [floor, fire] + ([es_memory[0]] if es_memory is not None else [])
    timings = best_of(5, *memory)
    floor_s, fire_s = timings[:2]
    rows.append(
        (
            "1 memory fire (tactics, clocks+ladder) vs bare trigger + sha256",
            us(fire_s),
            us(floor_s),
            f"{floor_s / fire_s:.2f}x",
            verdict(floor_s / fire_s >= MEMORY_FLOOR, f">= {MEMORY_FLOOR}"),
        )
    )
    if es_memory is not None:
        es_s = timings[2]
        recorder = es_memory[1]
        rows.append(
            (
                f"2 memory fire vs eventsourcing {installed('eventsourcing')} ({recorder})",
                us(fire_s),
                us(es_s),
                f"{es_s / fire_s:.1f}x faster",
                verdict(
                    es_s / fire_s >= EVENTSOURCING_SPEEDUP and recorder.startswith("POPO"),
                    f">= {EVENTSOURCING_SPEEDUP:g}x, POPO",
                ),
            )
        )
    else:
        rows.append(("2 memory fire vs eventsourcing", "-", "-", "not installed", "SKIP"))

    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        directory = Path(tmp)
        runs = [sqlite_run(directory / f"run-{n}", sqlite_ops, classes) for n in range(SQLITE_RUNS)]
        rows.append(
            median_run_row(
                "3 sqlite fire, quiet steps vs raw txn on the store's tables",
                runs,
                "quiet",
                "floor",
                SQLITE_FLOOR,
            )
        )
        all_steps = median_run_row(
            "  sqlite fire, all steps (3/8 add an outbox row), same floor",
            runs,
            "fire",
            "floor",
            SQLITE_FLOOR,
        )
        rows.append((*all_steps[:4], "report"))
        if "eventsourcing" in runs[0]:
            ratios = [run["eventsourcing"] / run["fire"] for run in runs]
            median = statistics.median(ratios)
            middle = runs[ratios.index(median)]
            rows.append(
                (
                    "  sqlite fire (all steps) vs eventsourcing sqlite load+event+save",
                    us(middle["fire"]),
                    us(middle["eventsourcing"]),
                    f"{median:.1f}x faster",
                    "report",
                )
            )

        flat = flat_cost(directory, 1_000, large, flat_ops)
        for label, (small_s, large_s) in flat.items():
            growth = large_s / small_s
            rows.append(
                (
                    f"4 {label} receive+fire at {large:,} vs 1,000 stored",
                    us(large_s),
                    us(small_s),
                    f"{growth:.2f}x",
                    verdict(growth <= FLAT_GROWTH, f"<= {FLAT_GROWTH}"),
                )
            )

    load_after = os.getloadavg()
    print(
        f"complaint_flow {complaint_flow.__version__} from "
        f"{Path(complaint_flow.__file__).parent}; Python {platform.python_version()}, "
        f"transitions {installed('transitions')}, eventsourcing {installed('eventsourcing')}"
    )
    print(
        f"{'quick' if args.quick else 'full'} run, {time.monotonic() - started:.0f} s; "
        f"{os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (1 min), {load_after[1]:.2f} (5 min)"
    )
    print()
    print_table(rows)
    return 0 if all(not r[4].startswith("FAIL") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
