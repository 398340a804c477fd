"""Bulk intake into SQLite against raw batched sqlite3 INSERTs of the same rows.

Run:  python benchmarks/bench_intake.py [--quick]

Both sides start from the same 1000 input dicts (channel, customer, summary,
details, external id) and write into a fresh database file with the store's own
schema and pragmas (WAL, ``synchronous=FULL``, foreign keys and ``secure_delete``
on), in one transaction:

- subject: ``engine.receive_many`` of 1000 ``Intake`` s built from the dicts (every
  intake rule: duplicate check, conduct record look-up, routing, deadline clocks,
  hash chain, outbox, one ``store.commit_many``);
- floor: ``executemany`` of the same complaint and ``received`` event rows (same
  columns, bodies with the same keys and same-sized values), the bodies
  ``json.dumps`` of dicts built from the input dicts, plus the reference counter.

Both timings include building the rows from the dicts. Best of 5 rounds each,
interleaved. The issue's floor is a ratio raw/engine >= 0.5 (the engine at least
half as fast as the raw INSERTs); the table says PASS or FAIL.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from complaint_flow import Customer, Engine, Intake

ROWS = 1000
TARGET = 0.5
"""The issue's floor: the engine at least half as fast as the raw INSERTs."""


def inputs(count: int, batch: int) -> list[dict[str, Any]]:
    """The input dicts: what a channel adapter would hand over."""
    return [
        {
            "channel": "email",
            "customer": {"id": f"C-{n % 300}", "name": f"Customer {n}", "email": f"c{n}@ex.org"},
            "summary": f"Parcel {n} arrived broken",
            "details": "The box was crushed on delivery.",
            "external_id": f"msg-{batch}-{n}",
        }
        for n in range(count)
    ]


def _micros(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def fresh_database(directory: Path, name: str) -> Path:
    """A new database file with the store's schema (created by opening the store)."""
    path = directory / f"{name}-{uuid.uuid4().hex[:8]}.db"
    Engine.open(f"sqlite:///{path}", load_entry_points=False).close()
    return path


def _clock(name: str, started: str, deadline: str, warning: str) -> dict[str, Any]:
    return {
        "name": name,
        "status": "running",
        "started_at": started,
        "deadline": deadline,
        "warning_at": warning,
        "warned": False,
        "breached": False,
        "paused_at": None,
        "stopped_at": None,
        "extensions": 0,
    }


def raw_floor(directory: Path, count: int) -> Callable[[], float]:
    """Seconds for raw sqlite3 to write ``count`` complaint + event rows in one transaction.

    The rows are the ones the engine writes (same columns, bodies with the same
    keys and values of the same size), so both sides put the same bytes in the
    file; the floor does none of the engine's work (no calendars: the deadlines
    are fixed offsets; no hashing: the chain hash is a placeholder of its length).
    """
    insert_complaint = """INSERT INTO complaints (reference, state, customer_id, category,
        channel, external_id, received_at, due_at, workflow, severity, updated_at, version,
        body, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
    insert_event = "INSERT INTO events (complaint_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)"
    counter = """INSERT INTO reference_counters (prefix, year, last_number) VALUES (?, ?, ?)
        ON CONFLICT (prefix, year) DO UPDATE SET last_number = last_number + excluded.last_number
        RETURNING last_number"""
    system = {"id": "system", "name": "complaint_flow", "role": "system", "rank": 0}
    system |= {"email": None, "phone": None}
    rounds = [0]

    def run() -> float:
        rounds[0] += 1
        path = fresh_database(directory, "raw")
        connection = sqlite3.connect(path, isolation_level=None)
        # The store's pragmas (its connections set these; WAL is already on the file).
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA secure_delete = ON")
        given = inputs(count, rounds[0])
        start = time.perf_counter()
        now = datetime.now(UTC)
        at = _micros(now)
        stamp = now.isoformat()
        due = now + timedelta(days=1)
        due_at = _micros(due)
        clocks = [
            _clock("thank", stamp, (now + timedelta(days=1, hours=2)).isoformat(), due.isoformat()),
            _clock(
                "owner",
                stamp,
                (now + timedelta(days=3)).isoformat(),
                (now + timedelta(days=2)).isoformat(),
            ),
            _clock(
                "resolve",
                stamp,
                (now + timedelta(days=56)).isoformat(),
                (now + timedelta(days=49)).isoformat(),
            ),
        ]
        complaints = []
        events = []
        for item in given:
            complaint_id = uuid.uuid4().hex
            customer = item["customer"]
            events.append(
                (
                    complaint_id,
                    1,
                    "received",
                    at,
                    json.dumps(
                        {
                            "complaint_id": complaint_id,
                            "seq": 1,
                            "kind": "received",
                            "at": stamp,
                            "actor": system,
                            "trigger": None,
                            "source": None,
                            "dest": "received",
                            "reason": "",
                            "data": {
                                "channel": item["channel"],
                                "external_id": item["external_id"],
                                "received_at": stamp,
                            },
                            "hash": complaint_id + complaint_id,
                            "redacted": None,
                        },
                        separators=(",", ":"),
                    ),
                )
            )
            complaints.append((complaint_id, item, customer))
        connection.execute("BEGIN IMMEDIATE")
        (last,) = connection.execute(counter, ("CF", now.year, len(given))).fetchone()
        rows = []
        for number, (complaint_id, item, customer) in enumerate(complaints, last - count + 1):
            reference = f"CF-{now.year}-{number:06d}"
            body = {
                "id": complaint_id,
                "reference": reference,
                "workflow": "tactics",
                "customer": {
                    **customer,
                    "phone": None,
                    "postal_address": None,
                    "contacts": {},
                    "preferred_channel": None,
                },
                "channel": item["channel"],
                "category": "general",
                "severity": "normal",
                "summary": item["summary"],
                "details": item["details"],
                "state": "received",
                "received_at": stamp,
                "updated_at": stamp,
                "version": 1,
                "desired_outcome": "",
                "preferred_channel": None,
                "external_id": item["external_id"],
                "owner": None,
                "informal": False,
                "recorded_by": None,
                "due_at": due.isoformat(),
                "data": {},
                "clocks": clocks,
                "escalation_level": 1,
                "department": None,
                "audit_head": complaint_id + complaint_id,
            }
            rows.append(
                (
                    reference,
                    "received",
                    customer["id"],
                    "general",
                    item["channel"],
                    item["external_id"],
                    at,
                    due_at,
                    "tactics",
                    "normal",
                    at,
                    1,
                    json.dumps(body, separators=(",", ":")),
                    complaint_id,
                )
            )
        connection.executemany(insert_complaint, rows)
        connection.executemany(insert_event, events)
        connection.execute("COMMIT")
        elapsed = time.perf_counter() - start
        connection.close()
        return elapsed

    return run


def engine_subject(directory: Path, count: int) -> Callable[[], float]:
    """Seconds for ``engine.receive_many`` of ``count`` intakes built from the same dicts."""
    rounds = [0]

    def run() -> float:
        rounds[0] += 1
        path = fresh_database(directory, "engine")
        with Engine.open(f"sqlite:///{path}", load_entry_points=False) as engine:
            given = inputs(count, rounds[0])
            start = time.perf_counter()
            intakes = [
                Intake(
                    channel=item["channel"],
                    customer=Customer(**item["customer"]),
                    summary=item["summary"],
                    details=item["details"],
                    external_id=item["external_id"],
                )
                for item in given
            ]
            outcomes = engine.receive_many(intakes)
            elapsed = time.perf_counter() - start
            assert len(outcomes) == count
            assert engine.store.count() == count
        return elapsed

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5")
    arguments = parser.parse_args()
    rounds = 2 if arguments.quick else 5
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        raw, subject = raw_floor(directory, ROWS), engine_subject(directory, ROWS)
        best_raw = best_subject = float("inf")
        for _ in range(rounds):
            best_raw = min(best_raw, raw())
            best_subject = min(best_subject, subject())
    ratio = best_raw / best_subject
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"Bulk intake of {ROWS} complaints into SQLite (best of {rounds}, one transaction)")
    print(f"{'what':<44} {'ms':>8} {'µs/row':>8} {'ratio':>6} {'target':>7} {'':>4}")
    print(
        f"{'raw sqlite3 executemany (complaint + event)':<44} {best_raw * 1e3:>8.1f} "
        f"{best_raw / ROWS * 1e6:>8.1f} {'1.00':>6} {'':>7}"
    )
    print(
        f"{'engine.receive_many':<44} {best_subject * 1e3:>8.1f} "
        f"{best_subject / ROWS * 1e6:>8.1f} {ratio:>6.2f} {f'>={TARGET}':>7} {verdict:>4}"
    )


if __name__ == "__main__":
    main()
