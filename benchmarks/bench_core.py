"""Core performance figures against their floors, measured in the same run.

Run:  python benchmarks/bench_core.py [--quick]

Prints one table. Each figure is compared with the floor named in the issue:

- in-memory ``engine.fire`` against the bare ``machine.events[t].trigger(model)``
  on the same compiled TACTICS machine (floor ratio >= 0.5), and against that
  trigger plus one SHA-256 of the event's canonical JSON, the least an audited
  step does (>= 0.4);
- SQLite ``engine.fire`` (load + transition + commit, default durability) against
  raw sqlite3 doing one transaction with a version-checked UPDATE and an event
  INSERT, same pragmas, same disk (>= 0.7); and, for reference, against
  eventsourcing 9.x's SQLite application doing load + one event + save;
- receive + fire cost at 100k stored complaints against 1k (<= 1.3x).

Floors and subjects run interleaved, several rounds, and the best round of each
counts, so that background noise on a small machine does not decide the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from complaint_flow import Actor, Customer, Engine, Intake
from complaint_flow.definitions.packs import load_pack
from complaint_flow.fsm.workflow_machine import compile_workflow
from complaint_flow.storage.codec import to_dict

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
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


# -- 1. in-memory fire against the bare machine ------------------------------------------


def memory_fire(complaints: int, *, without_clocks: bool = False) -> tuple[float, float, float]:
    """Best seconds per step: bare trigger, trigger + event hash, ``engine.fire``; same path.

    The event hash is one SHA-256 of the canonical JSON (sorted keys, compact) of a
    real event of the path, encoded each time.

    ``without_clocks`` runs the TACTICS workflow without its default deadline clocks
    and ladder: the engine as the core issue defined it, before deadlines existed.
    """
    tactics = load_pack("tactics")
    if without_clocks:
        tactics = attrs.evolve(tactics, calendars=(), clocks=(), escalation=None)
    engine = Engine.open("memory://", workflow=tactics, load_entry_points=False)
    compiled = compile_workflow(tactics)
    events = compiled.machine.events

    class Token:
        __slots__ = ("state",)

    token = Token()
    # A real event of the path, as the plain JSON values its canonical form encodes.
    sample = engine.receive(intake(-1))
    engine.assign(sample.id, AGENT, actor=AGENT)
    for trigger, data in PATH[:3]:  # the third step records data
        engine.fire(sample.id, trigger, actor=AGENT, data=data)
    event_fields = to_dict(engine.history(sample.id)[-1])
    canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def floor() -> float:
        start = time.perf_counter()
        for _ in range(complaints):
            token.state = "received"
            for trigger, _data in PATH:
                events[trigger].trigger(token)
        return (time.perf_counter() - start) / (complaints * len(PATH))

    def hashed_floor() -> float:
        start = time.perf_counter()
        for _ in range(complaints):
            token.state = "received"
            for trigger, _data in PATH:
                events[trigger].trigger(token)
                hashlib.sha256(canonical.encode(event_fields).encode()).hexdigest()
        return (time.perf_counter() - start) / (complaints * len(PATH))

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

    floor_s, hashed_s, subject_s = best_of(5, floor, hashed_floor, subject)
    return floor_s, hashed_s, subject_s


# -- 2. SQLite fire against raw sqlite3 -----------------------------------------------------


def raw_sqlite_floor(directory: Path, operations: int) -> Callable[[], float]:
    """One transaction: version-checked UPDATE of the complaint + INSERT of its event."""
    path = directory / "raw.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA secure_delete=ON")  # as the store (erasure leaves no trace)
    connection.execute(
        "CREATE TABLE complaints (id TEXT PRIMARY KEY, state TEXT, version INTEGER, "
        "updated_at TEXT, body TEXT)"
    )
    connection.execute(
        "CREATE TABLE events (complaint_id TEXT, seq INTEGER, at TEXT, body TEXT, "
        "PRIMARY KEY (complaint_id, seq)) WITHOUT ROWID"
    )
    body = "x" * 900  # about the size of a stored complaint's JSON
    event_body = "y" * 350
    connection.execute("INSERT INTO complaints VALUES ('c', 'received', 0, '', ?)", (body,))
    version = [0]

    def floor() -> float:
        start = time.perf_counter()
        for _ in range(operations):
            v = version[0]
            connection.execute("BEGIN IMMEDIATE")
            cursor = connection.execute(
                "UPDATE complaints SET state = ?, version = ?, updated_at = ?, body = ? "
                "WHERE id = ? AND version = ?",
                ("thanked", v + 1, "2026-01-01T00:00:00", body, "c", v),
            )
            assert cursor.rowcount == 1
            connection.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?)", ("c", v + 1, "2026", event_body)
            )
            connection.execute("COMMIT")
            version[0] = v + 1
        return (time.perf_counter() - start) / operations

    return floor


def store_schema_floor(directory: Path, operations: int) -> Callable[[], float]:
    """The same raw UPDATE + INSERT, but on the SQLite store's own tables and indexes.

    Rows are created through the engine, so bodies have their real sizes; the
    timed loop then does by hand exactly what a fire must write at minimum.
    """
    path = directory / "store-floor.db"
    engine = Engine.open(f"sqlite:///{path}", load_entry_points=False)
    ids = [engine.receive(intake(n)).id for n in range(operations + 1)]
    body = engine.store.events(ids[0])[0]  # a real event, for its size
    from complaint_flow.storage.codec import to_json

    complaint_json = to_json(engine.get(ids[0]))
    event_json = to_json(body)
    engine.close()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA secure_delete=ON")  # the store's pragmas, all of them
    versions = dict.fromkeys(ids, 1)
    cursor_index = [0]

    def floor() -> float:
        start = time.perf_counter()
        for _ in range(operations):
            complaint_id = ids[cursor_index[0] % len(ids)]
            cursor_index[0] += 1
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
    """``engine.fire`` on SQLite over the TACTICS path.

    With ``quiet_steps_only`` it times only the steps that notify nobody, which
    write exactly what the floor writes (the complaint's new version and one
    event, no outbox row): the like-for-like comparison.
    """
    name = "engine-quiet.db" if quiet_steps_only else "engine.db"
    engine = Engine.open(f"sqlite:///{directory / name}", load_entry_points=False)
    manager = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")
    workflow = engine.workflow()
    notifying = {t.trigger for t in workflow.transitions if t.notify}

    def subject() -> float:
        ids = []
        for n in range(operations // len(PATH) * 2 + 2):
            complaint = engine.receive(intake(n))
            engine.assign(complaint.id, manager, actor=manager)
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


def eventsourcing_subject(directory: Path, operations: int) -> Callable[[], float] | None:
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        return None

    class Case(Aggregate):  # type: ignore[misc]
        def __init__(self, summary: str) -> None:
            self.summary = summary
            self.state = "received"

        @event("Moved")  # type: ignore[misc]
        def move(self, state: str) -> None:
            self.state = state

    os.environ.update(
        PERSISTENCE_MODULE="eventsourcing.sqlite",
        SQLITE_DBNAME=str(directory / "eventsourcing.db"),
    )
    app = Application()
    case = Case(summary="Parcel arrived broken")
    app.save(case)
    case_id = case.id

    def subject() -> float:
        start = time.perf_counter()
        for n in range(operations):
            loaded = app.repository.get(case_id)
            loaded.move(state=f"s{n % 7}")
            app.save(loaded)
        return (time.perf_counter() - start) / operations

    return subject


# -- 3. cost flat with store size ---------------------------------------------------------


def populate(url: str, count: int) -> None:
    engine = Engine.open(url, load_entry_points=False)
    for n in range(count):
        engine.receive(intake(n))
    engine.close()


def receive_and_fire(engine: Engine, operations: int) -> float:
    start = time.perf_counter()
    for n in range(operations):
        complaint = engine.receive(intake(n))
        engine.fire(complaint.id, "thank", actor=AGENT)
    return (time.perf_counter() - start) / operations


def flat_cost(directory: Path, small: int, large: int, operations: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, url_of in (
        ("memory", lambda name: "memory://"),
        ("sqlite", lambda name: f"sqlite:///{directory / name}"),
    ):
        engines = {}
        for size in (small, large):
            url = url_of(f"flat-{size}.db")
            if label == "memory":
                engine = Engine.open(url, load_entry_points=False)
                for n in range(size):
                    engine.receive(intake(n))
            else:
                populate(url + "?synchronous=OFF", size)
                engine = Engine.open(url, load_entry_points=False)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (noisier)")
    args = parser.parse_args(argv)
    memory_complaints = 300 if args.quick else 2000
    sqlite_ops = 150 if args.quick else 800
    large = 10_000 if args.quick else 100_000
    flat_ops = 200 if args.quick else 1000

    rows: list[tuple[str, str, str, str, str]] = []

    def us(seconds: float) -> str:
        return f"{seconds * 1e6:,.1f} µs"

    for label, without_clocks in (("no SLA clocks", True), ("with its SLA clocks", False)):
        floor_s, hashed_s, subject_s = memory_fire(memory_complaints, without_clocks=without_clocks)
        for against, target, floor_of in (
            ("bare trigger", 0.5, floor_s),
            ("trigger + SHA-256 of event JSON", 0.4, hashed_s),
        ):
            ratio = floor_of / subject_s
            rows.append(
                (
                    f"memory fire (TACTICS path, {label}) vs {against}",
                    us(subject_s),
                    us(floor_of),
                    f"{ratio:.2f}x of floor",
                    "PASS" if ratio >= target else f"FAIL (>= {target})",
                )
            )

    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        directory = Path(tmp)
        subjects = [
            raw_sqlite_floor(directory, sqlite_ops),
            store_schema_floor(directory, sqlite_ops),
            sqlite_fire_subject(directory, sqlite_ops),
            sqlite_fire_subject(directory, sqlite_ops, quiet_steps_only=True),
        ]
        es = eventsourcing_subject(directory, sqlite_ops)
        if es is not None:
            subjects.append(es)
        timings = best_of(3, *subjects)
        toy_s, schema_s, fire_s, quiet_s = timings[:4]
        for label, subject_s, floor_s in (
            ("sqlite fire, quiet steps vs raw txn on the store's tables", quiet_s, schema_s),
            ("sqlite fire, all steps (3/8 add an outbox row), same floor", fire_s, schema_s),
            ("sqlite fire, quiet steps vs raw txn on a minimal schema", quiet_s, toy_s),
        ):
            ratio = floor_s / subject_s
            rows.append(
                (
                    label,
                    us(subject_s),
                    us(floor_s),
                    f"{ratio:.2f}x of floor",
                    "PASS" if ratio >= 0.7 else "FAIL (>= 0.7)",
                )
            )
        if es is not None:
            es_s = timings[4]
            rows.append(
                (
                    "sqlite fire (all steps) vs eventsourcing 9 load+event+save",
                    us(fire_s),
                    us(es_s),
                    f"{es_s / fire_s:.1f}x faster",
                    "report",
                )
            )
        else:
            rows.append(
                (
                    "sqlite fire vs eventsourcing 9",
                    "-",
                    "-",
                    "not installed",
                    "pip install -e '.[bench]'",
                )
            )

        flat = flat_cost(directory, 1_000, large, flat_ops)
        for label, (small_s, large_s) in flat.items():
            growth = large_s / small_s
            rows.append(
                (
                    f"{label} receive+fire at {large:,} vs 1,000 stored",
                    us(large_s),
                    us(small_s),
                    f"{growth:.2f}x",
                    "PASS" if growth <= 1.3 else "FAIL (<= 1.3)",
                )
            )

    headers = ("measure", "complaint_flow", "floor / baseline", "ratio", "target")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0 if all(not r[4].startswith("FAIL") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
