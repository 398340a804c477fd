"""PostgreSQL ``engine.fire`` throughput against the raw psycopg floor, measured in the same run.

Run:  python benchmarks/bench_postgres.py [--url URL] [--quick]

Needs a PostgreSQL server: ``--url``, else the environment variable
``COMPLAINT_FLOW_TEST_POSTGRES_URL``. A private one for trying this out:

    export COMPLAINT_FLOW_TEST_POSTGRES_URL="$(bash scripts/postgres.sh start)"

Everything happens in a fresh schema (``?schema=cf_bench_<random>``), dropped at
the end. With 1, 4 and 8 concurrent worker processes (spawned, each with its own
connections), it compares:

- complaint_flow: ``engine.fire(id, "bump")`` on a one-state workflow whose
  ``bump`` loops back to where it started (load + transition + one commit writing
  the complaint's new version and one event, no outbox row), each worker
  round-robin over complaints of its own, so that no two writers ever conflict;
- the floor: raw psycopg doing, per transaction, the same version-checked
  ``UPDATE complaints SET state, version, updated_at, body WHERE id AND version``
  and one ``INSERT INTO events`` on the store's own tables and indexes, with
  bodies copied from real rows the engine wrote, each worker on complaints of its
  own too.

Round trips to the server: a fire makes two (the read of the complaint, then
the store's commit, one statement that is its own transaction: the version-checked
update with the event inserted for the row it updated), the floor four (BEGIN,
UPDATE, INSERT, COMMIT); the rest of a fire is the engine's CPU (the workflow
step, JSON encoding, hash-chaining the event) and the store's (pool, encoding).

The target is complaint_flow >= 0.6x the floor's transactions per second at each
worker count. Both run against the same server at the same durability; the
server's ``fsync`` and ``synchronous_commit`` settings are printed with the table
(the development server of scripts/postgres.sh runs with both off, which leaves
round trips and CPU, not the disk, to decide the figures). Subjects run
interleaved, several rounds, and the best round of each counts, so that background
noise on a small machine does not decide the ratio.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from complaint_flow import Actor, Customer, Engine, Intake, WorkflowDefinition

URL_VARIABLE = "COMPLAINT_FLOW_TEST_POSTGRES_URL"
# Query options of complaint_flow's own in a store URL; libpq does not know them.
STORE_OPTIONS = frozenset({"schema", "pool_size", "pool_min_size", "pool_timeout"})
WORKER_COUNTS = (1, 4, 8)
TARGET = 0.6

# ``bump`` loops on ``open``: any number of fires is valid, and each writes exactly
# one new complaint version and one event (no notification, so no outbox row).
WORKFLOW = """
name = "bench"
initial = "open"
roles = ["agent"]

[states.open]
[states.closed]
terminal = true

[[transitions]]
trigger = "bump"
source = "open"
dest = "open"

[[transitions]]
trigger = "close"
source = "open"
dest = "closed"
"""

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")

UPDATE_FLOOR = (
    "UPDATE complaints SET state = %s, version = %s, updated_at = %s, body = %s "
    "WHERE id = %s AND version = %s"
)
INSERT_EVENT_FLOOR = (
    "INSERT INTO events (complaint_id, seq, kind, at, body) VALUES (%s, %s, %s, %s, %s)"
)


def intake(worker: int, n: int) -> Intake:
    return Intake(
        channel="email",
        customer=Customer(id=f"C-{worker}-{n}", name="Ada", email="ada@example.org"),
        summary=f"Parcel {n} arrived broken",
        details="The box was crushed on delivery; the vase inside is in pieces.",
    )


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


def conninfo(url: str) -> str:
    """The store URL without complaint_flow's own options: what psycopg connects with."""
    parts = urlsplit(url)
    kept = [
        item
        for item in parts.query.split("&")
        if item and unquote(item.partition("=")[0]) not in STORE_OPTIONS
    ]
    return urlunsplit(parts._replace(query="&".join(kept)))


# -- the worker process ---------------------------------------------------------------------


def worker_main(index: int, url: str, schema: str, complaints: int, pipe: Connection) -> None:
    """One worker: its own engine and raw connection, its own complaints for each subject.

    Waits for ``(subject, start_at, duration)`` commands on ``pipe``; runs the subject
    from ``start_at`` (``time.monotonic``, shared by all processes on one host) until
    ``duration`` has passed and answers with its operations per second.
    """
    engine = Engine.open(
        url, workflow=WorkflowDefinition.from_toml(WORKFLOW), load_entry_points=False
    )
    engine_ids = [engine.receive(intake(index, n)).id for n in range(complaints)]
    floor_ids = [engine.receive(intake(index, complaints + n)).id for n in range(complaints)]
    # A real row after one fire gives the floor bodies of the sizes a fire writes.
    sample = engine.fire(floor_ids[0], "bump", actor=AGENT).id
    engine.fire(engine_ids[0], "bump", actor=AGENT)  # warm the engine's first-use paths

    raw = psycopg.connect(conninfo(url), autocommit=True)
    raw.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    complaint_body, state = raw.execute(
        "SELECT body, state FROM complaints WHERE id = %s", (sample,)
    ).fetchone() or ("", "")
    event_body = raw.execute(
        "SELECT body FROM events WHERE complaint_id = %s ORDER BY seq DESC LIMIT 1", (sample,)
    ).fetchone()
    assert complaint_body
    assert event_body
    event_json: str = event_body[0]
    versions: dict[str, int] = dict(
        raw.execute(
            "SELECT id, version FROM complaints WHERE id = ANY(%s)", (floor_ids,)
        ).fetchall()
    )
    pipe.send(("ready", len(complaint_body), len(event_json)))

    def fire(complaint_id: str) -> None:
        engine.fire(complaint_id, "bump", actor=AGENT)

    def floor(complaint_id: str) -> None:
        v = versions[complaint_id]
        now = datetime.now(UTC)
        with raw.transaction():
            cursor = raw.execute(UPDATE_FLOOR, (state, v + 1, now, complaint_body, complaint_id, v))
            if cursor.rowcount != 1:
                raise RuntimeError(f"floor lost a race on {complaint_id}: the setup is wrong")
            raw.execute(INSERT_EVENT_FLOOR, (complaint_id, v + 1, "transition", now, event_json))
        versions[complaint_id] = v + 1

    subjects: dict[str, tuple[Callable[[str], None], list[str]]] = {
        "complaint_flow": (fire, engine_ids),
        "floor": (floor, floor_ids),
    }
    while True:
        command = pipe.recv()
        if command[0] == "stop":
            break
        name, start_at, duration = command
        operation, ids = subjects[name]
        pause = start_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        end = start_at + duration
        count = 0
        started = now = time.monotonic()
        while now < end:
            operation(ids[count % len(ids)])
            count += 1
            now = time.monotonic()
        pipe.send(count / (now - started))
    raw.close()
    engine.close()
    pipe.send("stopped")


# -- the parent -----------------------------------------------------------------------------


class Workers:
    """The spawned worker processes, started once and reused by every round."""

    def __init__(self, url: str, schema: str, count: int, complaints: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[Any] = []
        for index in range(count):
            parent_end, child_end = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(index, url, schema, complaints, child_end),
                daemon=True,
            )
            process.start()
            self.pipes.append(parent_end)
            self.processes.append(process)
        ready = [pipe.recv() for pipe in self.pipes]
        self.body_sizes = ready[0][1], ready[0][2]

    def run(self, subject: str, workers: int, duration: float) -> float:
        """Total operations per second of ``subject`` run by the first ``workers`` at once."""
        start_at = time.monotonic() + 0.05
        for pipe in self.pipes[:workers]:
            pipe.send((subject, start_at, duration))
        return float(sum(pipe.recv() for pipe in self.pipes[:workers]))

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
                pipe.recv()
            except (EOFError, OSError):
                pass
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


def server_settings(connection: psycopg.Connection[Any]) -> dict[str, str]:
    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes")
    return {name: str(connection.execute(f"SHOW {name}").fetchone()[0]) for name in names}  # type: ignore[index]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_VARIABLE),
        help=f"a postgresql:// URL (default: ${URL_VARIABLE})",
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="interleaved rounds (default 3, 2 with --quick)"
    )
    args = parser.parse_args(argv)
    if not args.url:
        print(
            f"bench_postgres needs a PostgreSQL server: pass --url or set {URL_VARIABLE}.\n"
            "Start a private one for trying this out with:\n\n"
            f'    export {URL_VARIABLE}="$(bash scripts/postgres.sh start)"\n',
            file=sys.stderr,
        )
        return 2
    rounds = args.rounds or (2 if args.quick else 3)
    load_before = os.getloadavg()[0]
    duration = 1.0 if args.quick else 2.5
    complaints = 32

    schema = f"cf_bench_{uuid.uuid4().hex[:12]}"
    url = with_schema(args.url, schema)
    admin = psycopg.connect(conninfo(args.url), autocommit=True)
    settings = server_settings(admin)
    # Open once in the parent, so the workers find the tables made and do not queue
    # on the schema's creation lock.
    Engine.open(
        url, workflow=WorkflowDefinition.from_toml(WORKFLOW), load_entry_points=False
    ).close()
    workers: Workers | None = None
    try:
        workers = Workers(url, schema, max(WORKER_COUNTS), complaints)
        best: dict[tuple[str, int], float] = {}
        for _ in range(rounds):
            for count in WORKER_COUNTS:
                for subject in ("floor", "complaint_flow"):
                    rate = workers.run(subject, count, duration)
                    best[subject, count] = max(best.get((subject, count), 0.0), rate)
        body_sizes = workers.body_sizes
    finally:
        if workers is not None:
            workers.stop()
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        admin.close()

    print(
        f"PostgreSQL {settings['server_version']}: fsync={settings['fsync']}, "
        f"synchronous_commit={settings['synchronous_commit']}, "
        f"full_page_writes={settings['full_page_writes']}; "
        f"{os.cpu_count()} CPUs shared by the server and the workers; load average "
        f"{load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after (other work "
        "on the machine makes the figures noisy)"
    )
    print(
        f"best of {rounds} interleaved rounds of {duration:g} s; {complaints} complaints per "
        f"worker and subject; floor bodies {body_sizes[0]} B (complaint), "
        f"{body_sizes[1]} B (event); schema {schema} (dropped)"
    )
    print()
    headers = ("workers", "complaint_flow fires/s", "floor tx/s", "ratio", "target")
    rows = []
    for count in WORKER_COUNTS:
        subject_rate, floor_rate = best["complaint_flow", count], best["floor", count]
        ratio = subject_rate / floor_rate
        rows.append(
            (
                str(count),
                f"{subject_rate:,.0f}",
                f"{floor_rate:,.0f}",
                f"{ratio:.2f}x",
                "PASS" if ratio >= TARGET else f"FAIL (>= {TARGET})",
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0 if all(r[4] == "PASS" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
