"""Deadline performance figures against their floors, measured in the same run.

Run:  python benchmarks/bench_deadlines.py [--quick]

Prints one table. Each figure is compared with the floor named in the issue:

- ``engine.sweep`` on SQLite acting on the same 1,000 due complaints stored
  among 10,000 and among 1,000,000 complaints: the time at 1M must be within
  1.5x of the time at 10k (the sweep finds due complaints through the due-time
  index, so its cost grows with what is due, not with the store). Measured at
  the store's default durability (``synchronous=FULL``: one fsync per commit) and
  at ``synchronous=NORMAL``, where no fsync hides what the store size costs.
- ``BusinessCalendar.deadline`` for "5 working days" on a calendar with the
  English bank holidays, from random instants over 2026-2027: at least 100,000
  deadlines per second. "8 weeks", "4 working hours" and a duration given as
  text (parsed at each call) are reported for information.

The large store is filled with bulk SQL, in the store's own tables and row
format: a template set of complaints is taken through the engine on a scratch
database (due ones, open ones with deadlines ahead, closed ones with no clock
running), and their complaint, event and outbox rows are copied with new ids,
references and customer ids. Before each timed sweep the 1,000 due complaints
are put back as they were (their rows restored, the events and outbox messages
the previous sweep added deleted), so that every sweep does exactly the same
work. Subjects run interleaved, several rounds, and the best round of each
counts, so that background noise on a small machine does not decide the ratio.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock, WorkflowDefinition
from complaint_flow.definitions.calendars import BusinessCalendar, Duration
from complaint_flow.services.sweep import SweepReport

WORKFLOW = """
name = "bench"
initial = "received"
roles = ["agent", "manager"]

[states.received]
[states.acknowledged]
[states.waiting_for_customer]
[states.resolved]
terminal = true

[[transitions]]
trigger = "acknowledge"
source = "received"
dest = "acknowledged"
notify = ["customer"]
[[transitions]]
trigger = "ask_customer"
source = "acknowledged"
dest = "waiting_for_customer"
notify = ["customer"]
[[transitions]]
trigger = "customer_replied"
source = "waiting_for_customer"
dest = "acknowledged"
[[transitions]]
trigger = "resolve"
source = ["received", "acknowledged"]
dest = "resolved"
requires = ["resolution"]
notify = ["customer"]

[calendars.office]
time_zone = "Europe/London"
country = "GB"
subdivision = "ENG"

[clocks.acknowledge]
title = "Acknowledge"
calendar = "office"
duration = "3 working days"
stops_on = ["acknowledge"]
warn_before = "4 working hours"

[clocks.final_response]
title = "Final response"
calendar = "office"
duration = "8 weeks"
stops_on = ["resolve"]
pause_states = ["waiting_for_customer"]
warn_before = "7 days"
on_breach = ["notify", "escalate"]

[escalation]
currency = "GBP"
[[escalation.levels]]
number = 1
title = "Frontline"
role = "agent"
rank = 1
email = "frontline@example.org"
authority_limit = "25"
[[escalation.levels]]
number = 2
title = "Team manager"
role = "manager"
rank = 2
email = "team@example.org"
authority_limit = "250"
[[escalation.levels]]
number = 3
title = "Complaints director"
role = "manager"
rank = 3
phone = "+44 20 7946 0999"
unlimited_authority = true
"""

SWEEP_AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
"""When the timed sweeps run (a Tuesday)."""
DUE_RECEIVED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Due templates arrived here: every deadline of theirs has passed at SWEEP_AT."""
AGENT = Actor(id="A-1", name="Bo Agent", role="agent", email="bo@example.org")
DUE = 1_000
CUSTOMER_TOKEN = "CUSTOMERTEMPLATE"


# -- the template set -----------------------------------------------------------------------


def intake(n: int, kind: str) -> Intake:
    return Intake(
        channel=("email", "web_form", "phone", "letter")[n % 4],
        customer=Customer(
            id=f"{CUSTOMER_TOKEN}{n:04d}",
            name=f"Customer {n}",
            email=f"customer{n}@example.org",
            phone="+44 20 7946 0000" if n % 3 == 0 else None,
        ),
        summary=f"{kind} complaint {n}: parcel arrived damaged",
        details="The box was crushed and the lid of the kettle inside is cracked. " * (1 + n % 3),
        category=("delivery", "billing", "service")[n % 3],
        desired_outcome="A replacement kettle",
    )


def build_templates(path: Path) -> dict[str, list[str]]:
    """Take complaints through the engine on a scratch database; their ids by kind.

    ``due``: every deadline passed at SWEEP_AT (some acknowledged in time, some
    not, some only due for the warning a week before the final response);
    ``open``: deadlines ahead of SWEEP_AT; ``closed``: resolved, no clock running.
    """
    clock = ManualClock(DUE_RECEIVED)
    definition = WorkflowDefinition.from_toml(WORKFLOW)
    kinds: dict[str, list[str]] = {"due": [], "open": [], "closed": []}
    with Engine.open(
        f"sqlite:///{path}?synchronous=OFF",
        workflow=definition,
        clock=clock,
        load_entry_points=False,
    ) as engine:
        for n in range(12):
            complaint = engine.receive(intake(n, "due"))
            if n % 3:
                engine.assign(complaint.id, AGENT, actor=AGENT)
            if n % 2:
                engine.fire(complaint.id, "acknowledge", actor=AGENT)
            kinds["due"].append(complaint.id)
        clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
        closed = [engine.receive(intake(n, "closed")).id for n in range(16, 40)]
        for complaint_id in closed:
            engine.assign(complaint_id, AGENT, actor=AGENT)
        clock.advance(hours=3)
        for complaint_id in closed:
            engine.fire(complaint_id, "acknowledge", actor=AGENT)
        for complaint_id in closed[::4]:
            engine.fire(complaint_id, "ask_customer", actor=AGENT)
        clock.advance(days=1)
        for complaint_id in closed[::4]:
            engine.fire(complaint_id, "customer_replied", actor=AGENT)
        clock.advance(days=2)
        for complaint_id in closed:
            engine.add_note(complaint_id, "Called the customer back", actor=AGENT)
            engine.fire(
                complaint_id, "resolve", actor=AGENT, data={"resolution": "replacement sent"}
            )
        kinds["closed"] = closed
        # Due only for the warning: 8 weeks minus 3 days before the sweep.
        clock.set(SWEEP_AT - timedelta(weeks=8) + timedelta(days=3))
        for n in range(12, 16):
            complaint = engine.receive(intake(n, "warning"))
            engine.assign(complaint.id, AGENT, actor=AGENT)
            engine.fire(complaint.id, "acknowledge", actor=AGENT)
            kinds["due"].append(complaint.id)
        clock.set(SWEEP_AT - timedelta(hours=2))
        for n in range(40, 52):
            complaint = engine.receive(intake(n, "open"))
            engine.assign(complaint.id, AGENT, actor=AGENT)
            if n % 2:
                engine.fire(complaint.id, "acknowledge", actor=AGENT)
            kinds["open"].append(complaint.id)
        engine.deliver(limit=10_000)  # a real store's older messages went out long ago
        for complaint_id in kinds["open"]:
            due_at = engine.get(complaint_id).due_at
            assert due_at is not None
            assert due_at > SWEEP_AT
        for complaint_id in kinds["closed"]:
            assert engine.get(complaint_id).due_at is None
        for complaint_id in kinds["due"]:
            due_at = engine.get(complaint_id).due_at
            assert due_at is not None
            assert due_at <= SWEEP_AT
    return kinds


class TemplateRows:
    """The rows of one template complaint, ready to copy under a new identity."""

    def __init__(self, connection: sqlite3.Connection, complaint_id: str) -> None:
        self.id = complaint_id
        row = connection.execute(
            "SELECT reference, workflow, state, customer_id, category, severity, channel, "
            "external_id, received_at, updated_at, due_at, version, body "
            "FROM complaints WHERE id = ?",
            (complaint_id,),
        ).fetchone()
        self.reference: str = row[0]
        self.complaint = row
        self.events = connection.execute(
            "SELECT seq, kind, at, body FROM events WHERE complaint_id = ? ORDER BY seq",
            (complaint_id,),
        ).fetchall()
        self.outbox = connection.execute(
            "SELECT key, status, created_at, body FROM outbox WHERE complaint_id = ? "
            "ORDER BY position",
            (complaint_id,),
        ).fetchall()

    def copy(
        self, number: int, customer: str
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The rows of copy ``number``: new id, reference and customer id, same format."""
        new_id = uuid.uuid4().hex
        reference = f"CF-2026-{number:07d}"
        old_customer = self.complaint[3]

        def renamed(text: str) -> str:
            return (
                text.replace(self.id, new_id)
                .replace(self.reference, reference)
                .replace(old_customer, customer)
            )

        (_, workflow, state, _, category, severity, channel, _, received, updated, due) = (
            self.complaint[:11]
        )
        version, body = self.complaint[11:]
        complaint = (
            new_id, reference, workflow, state, customer, category, severity, channel, None,
            received, updated, due, version, renamed(body),
        )  # fmt: skip
        events = [(new_id, seq, kind, at, renamed(body)) for seq, kind, at, body in self.events]
        outbox = [
            (renamed(key), new_id, status, created, renamed(body))
            for key, status, created, body in self.outbox
        ]
        return complaint, events, outbox


def populate(path: Path, templates: dict[str, list[TemplateRows]], stored: int, seed: int) -> float:
    """Fill a new store with ``stored`` complaints, DUE of them due, spread evenly."""
    Engine.open(f"sqlite:///{path}", load_entry_points=False).close()  # the store's schema
    started = time.perf_counter()
    connection = sqlite3.connect(path, isolation_level=None)
    # A bulk load of rebuildable data: no journal, no fsync, a large cache.
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("PRAGMA cache_size = -1000000")
    rng = random.Random(seed)
    every = stored // DUE
    rows: tuple[list[Any], list[Any], list[Any]] = ([], [], [])

    def flush() -> None:
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO complaints (id, reference, workflow, state, customer_id, category, "
            "severity, channel, external_id, received_at, updated_at, due_at, version, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows[0],
        )
        connection.executemany(
            "INSERT INTO events (complaint_id, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
            rows[1],
        )
        connection.executemany(
            "INSERT INTO outbox (key, complaint_id, status, created_at, body) "
            "VALUES (?, ?, ?, ?, ?)",
            rows[2],
        )
        connection.execute("COMMIT")
        for part in rows:
            part.clear()

    for number in range(1, stored + 1):
        if number % every == 0:
            template = templates["due"][(number // every) % len(templates["due"])]
        else:
            # Most stored complaints are closed; some are open with deadlines ahead.
            kind = "open" if rng.random() < 0.25 else "closed"
            template = rng.choice(templates[kind])
        complaint, events, outbox = template.copy(number, f"C-{rng.randrange(200_000):06d}")
        rows[0].append(complaint)
        rows[1].extend(events)
        rows[2].extend(outbox)
        if len(rows[0]) >= 20_000:
            flush()
    flush()
    connection.execute(
        "INSERT INTO reference_counters (prefix, year, last_number) VALUES ('CF', 2026, ?)",
        (stored,),
    )
    connection.close()
    return time.perf_counter() - started


# -- sweeping the same due complaints again and again ------------------------------------------


class DueSet:
    """The due complaints of one store, and how to put them back as they were."""

    def __init__(self, path: Path) -> None:
        self.path = path
        connection = sqlite3.connect(path, isolation_level=None)
        self.rows = connection.execute(
            "SELECT state, due_at, updated_at, version, body, id FROM complaints "
            "WHERE due_at IS NOT NULL AND due_at <= ?",
            (_micros(SWEEP_AT),),
        ).fetchall()
        self.last_position = connection.execute("SELECT max(position) FROM outbox").fetchone()[0]
        self.counts = _counts(connection)
        connection.close()
        assert len(self.rows) == DUE, f"{len(self.rows)} due complaints, expected {DUE}"

    def reset(self) -> None:
        """Undo what a sweep did to the due complaints (untimed)."""
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "DELETE FROM events WHERE complaint_id = ? AND seq > ?",
            [(row[5], row[3]) for row in self.rows],
        )
        connection.execute("DELETE FROM outbox WHERE position > ?", (self.last_position,))
        connection.executemany(
            "UPDATE complaints SET state = ?, due_at = ?, updated_at = ?, version = ?, "
            "body = ? WHERE id = ?",
            self.rows,
        )
        connection.execute("COMMIT")
        assert _counts(connection) == self.counts
        # Every timed sweep starts with an empty write-ahead log.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _counts(connection: sqlite3.Connection) -> tuple[int, ...]:
    return tuple(
        connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("complaints", "events", "outbox")
    )


def sweep_subject(due: DueSet, synchronous: str, reports: list[SweepReport]) -> Callable[[], float]:
    definition = WorkflowDefinition.from_toml(WORKFLOW)

    def subject() -> float:
        due.reset()
        with Engine.open(
            f"sqlite:///{due.path}?synchronous={synchronous}",
            workflow=definition,
            clock=ManualClock(SWEEP_AT),
            load_entry_points=False,
        ) as engine:
            start = time.perf_counter()
            report = engine.sweep(SWEEP_AT)
            elapsed = time.perf_counter() - start
        reports.append(report)
        return elapsed

    return subject


def due_query_subject(due: DueSet) -> Callable[[], float]:
    def subject() -> float:
        due.reset()
        with Engine.open(f"sqlite:///{due.path}", load_entry_points=False) as engine:
            start = time.perf_counter()
            found = engine.store.due(SWEEP_AT, DUE)
            elapsed = time.perf_counter() - start
        assert len(found) == DUE
        return elapsed

    return subject


def best_of(rounds: int, *subjects: Callable[[], float]) -> list[float]:
    """Run the subjects interleaved ``rounds`` times; the best time of each."""
    best = [float("inf")] * len(subjects)
    for _ in range(rounds):
        for index, subject in enumerate(subjects):
            best[index] = min(best[index], subject())
    return best


# -- deadline arithmetic ------------------------------------------------------------------


def deadline_rate(
    calendar: BusinessCalendar, starts: Sequence[datetime], duration: Duration | str
) -> Callable[[], float]:
    deadline = calendar.deadline

    def subject() -> float:
        start = time.perf_counter()
        for moment in starts:
            deadline(moment, duration)
        return (time.perf_counter() - start) / len(starts)

    return subject


# -- the table -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k instead of 1M (noisier)")
    parser.add_argument(
        "--dir", type=Path, default=Path.cwd(), help="where the scratch databases go"
    )
    args = parser.parse_args(argv)
    small, large = 10_000, 100_000 if args.quick else 1_000_000
    rounds = 3 if args.quick else 5
    deadlines = 50_000 if args.quick else 200_000

    rows: list[tuple[str, str, str, str, str]] = []
    notes: list[str] = []

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        directory = Path(tmp)
        template_path = directory / "templates.db"
        kinds = build_templates(template_path)
        connection = sqlite3.connect(template_path)
        templates = {
            kind: [TemplateRows(connection, complaint_id) for complaint_id in ids]
            for kind, ids in kinds.items()
        }
        connection.close()
        sets: dict[int, DueSet] = {}
        for size in (small, large):
            path = directory / f"store-{size}.db"
            seconds = populate(path, templates, size, seed=size)
            sets[size] = DueSet(path)
            _, events, outbox = sets[size].counts
            notes.append(
                f"{size:>9,} complaints ({DUE:,} due): {events:,} events, {outbox:,} outbox "
                f"messages, {path.stat().st_size / 1e9:.2f} GB, filled in {seconds:.0f} s"
            )
        free = shutil.disk_usage(directory).free
        notes.append(f"free disk space with both stores: {free / 1e9:.0f} GB")

        for synchronous in ("FULL", "NORMAL"):
            reports: dict[int, list[SweepReport]] = {small: [], large: []}
            small_s, large_s = best_of(
                rounds,
                sweep_subject(sets[small], synchronous, reports[small]),
                sweep_subject(sets[large], synchronous, reports[large]),
            )
            work = {
                (r.examined, r.warnings, r.breaches, r.escalations, r.conflicts)
                for runs in reports.values()
                for r in runs
            }
            assert len(work) == 1, f"the sweeps did different work: {work}"
            examined, warnings, breaches, escalations, _ = work.pop()
            notes.append(
                f"each sweep ({synchronous}): examined {examined:,}, warnings {warnings:,}, "
                f"breaches {breaches:,}, escalations {escalations:,}, at both sizes"
            )
            growth = large_s / small_s
            rows.append(
                (
                    f"sweep {DUE:,} due among {large:,} vs {small:,} (sync {synchronous})",
                    f"{large_s * 1e3:,.0f} ms",
                    f"{small_s * 1e3:,.0f} ms",
                    f"{growth:.2f}x",
                    "PASS" if growth <= 1.5 else "FAIL (<= 1.5x)",
                )
            )
        small_q, large_q = best_of(
            rounds, due_query_subject(sets[small]), due_query_subject(sets[large])
        )
        rows.append(
            (
                f"store.due() of {DUE:,} among {large:,} vs {small:,}",
                f"{large_q * 1e3:,.1f} ms",
                f"{small_q * 1e3:,.1f} ms",
                f"{large_q / small_q:.2f}x",
                "report",
            )
        )

    calendar = BusinessCalendar(
        "office", time_zone="Europe/London", country="GB", subdivision="ENG"
    )
    rng = random.Random(2026)
    first = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    last = datetime(2028, 1, 1, tzinfo=UTC).timestamp()
    starts = [datetime.fromtimestamp(rng.uniform(first, last), UTC) for _ in range(deadlines)]
    for year in (2026, 2027, 2028):
        calendar.closed_days(year)
        calendar.deadline(datetime(year, 6, 1, tzinfo=UTC), "1 working day")  # year tables
    measures: list[tuple[str, Duration | str, bool]] = [
        ("5 working days", Duration.parse("5 working days"), True),
        ("8 weeks", Duration.parse("8 weeks"), False),
        ("4 working hours", Duration.parse("4 working hours"), False),
        ('"5 working days" as text', "5 working days", False),
    ]
    timings = best_of(
        rounds, *(deadline_rate(calendar, starts, duration) for _, duration, _ in measures)
    )
    for (label, _, floored), seconds in zip(measures, timings, strict=True):
        rate = 1 / seconds
        rows.append(
            (
                f"deadline {label}, GB-ENG holidays, 2026-2027 starts",
                f"{rate:,.0f} /s",
                "100,000 /s" if floored else "-",
                f"{rate / 100_000:.1f}x of floor" if floored else "-",
                ("PASS" if rate >= 100_000 else "FAIL (>= 100k/s)") if floored else "report",
            )
        )
    notes.append(
        f"deadlines: {deadlines:,} random starts, best of {rounds} rounds; the calendar's "
        "year tables (holidays, working periods) are built before timing, as in a running engine"
    )

    headers = ("measure", "complaint_flow", "floor / baseline", "ratio", "target")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print()
    for note in notes:
        print(note)
    return 0 if all(not r[4].startswith("FAIL") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
