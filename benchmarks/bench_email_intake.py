"""Email intake into SQLite against the stdlib and a raw insert; threading at 1k vs 100k.

Run:  PYTHONPATH=src python benchmarks/bench_email_intake.py [--quick]

1. **Intake throughput.** ``N`` real-shaped messages (the readable fixtures of
   ``tests/mail``, each given its own Message-ID and sender) are taken into a fresh
   SQLite store with ``EmailIntake.take_many`` in batches of 500 (parse, thread, open
   the new complaints with one ``receive_many`` transaction per batch). The floor does
   the least of that job with the standard library alone: ``message_from_bytes`` with
   ``policy.default``, the body's text, and a batched ``INSERT`` of id, sender, subject
   and text into a plain SQLite table, one transaction per batch, with the same
   durability (WAL, ``synchronous=FULL`` as the store uses). Target: complaint_flow's
   throughput >= 0.5x the floor's.
2. **Threading lookups** (reference in the subject, then ``In-Reply-To``) with 1k and
   with 100k complaints stored: the median time of ``EmailIntake.thread`` for a reply.
   Target: 100k within 1.3x of 1k (the lookups are indexed, O(1) in the store's size).

Every figure is the best of several interleaved rounds; the script exits 1 if a row
misses its target.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from complaint_flow import Customer, EmailIntake, Engine, Intake, find_reference, parse_email
from complaint_flow.errors import QuarantinedMessageError

MAIL = Path(__file__).resolve().parent.parent / "tests" / "mail"
THROUGHPUT_FLOOR = 0.5
FLAT_CEILING = 1.3
BATCH = 500


def readable_fixtures() -> list[bytes]:
    found = []
    for path in sorted(MAIL.glob("*.eml")):
        raw = path.read_bytes()
        try:
            parsed = parse_email(raw)
        except QuarantinedMessageError:
            continue
        quotes_a_reference = find_reference(f"{parsed.subject}\n{parsed.text}") is not None
        if parsed.automatic is None and parsed.delivery_report is None and not quotes_a_reference:
            found.append(raw)  # a new complaint each time it is copied
    return found


def fresh_copy(raw: bytes, number: int) -> bytes:
    """The message with its own Message-ID and sender, and no threading headers."""
    head, sep, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    kept = [
        line
        for line in head.split(newline)
        if not line.lower().startswith((b"message-id:", b"from:", b"in-reply-to:", b"references:"))
    ]
    kept.insert(0, f"Message-ID: <bench-{number}-{uuid.uuid4().hex}@example.org>".encode())
    kept.insert(0, f"From: Customer {number} <customer{number}@example.org>".encode())
    return newline.join(kept) + sep + body


def messages(count: int) -> list[bytes]:
    shapes = readable_fixtures()
    return [fresh_copy(shapes[n % len(shapes)], n) for n in range(count)]


def take_all(directory: Path, raws: list[bytes]) -> float:
    url = f"sqlite:///{directory / f'{uuid.uuid4().hex}.db'}"
    with Engine.open(url, load_entry_points=False) as engine:
        intake = EmailIntake(engine.kernel, engine.reception)
        started = time.perf_counter()
        for start in range(0, len(raws), BATCH):
            intake.take_many(raws[start : start + BATCH])
        elapsed = time.perf_counter() - started
        assert engine.store.count() == len(raws)
    return elapsed


def floor_all(directory: Path, raws: list[bytes]) -> float:
    connection = sqlite3.connect(directory / f"{uuid.uuid4().hex}.db", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE mail (message_id TEXT PRIMARY KEY, sender TEXT, subject TEXT, body TEXT)"
    )
    started = time.perf_counter()
    for start in range(0, len(raws), BATCH):
        rows = []
        for raw in raws[start : start + BATCH]:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            body = message.get_body(("plain", "html"))
            text = ""
            if body is not None:
                try:
                    text = str(body.get_content())
                except LookupError:
                    text = ""
            rows.append(
                (str(message["Message-ID"]), str(message["From"]), str(message["Subject"]), text)
            )
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO mail VALUES (?, ?, ?, ?)", rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def stored_engine(directory: Path, complaints: int) -> Engine:
    url = f"sqlite:///{directory / f'stored-{complaints}.db'}"
    engine = Engine.open(url, load_entry_points=False)
    batch = []
    for number in range(complaints):
        customer = Customer(id=f"C-{number}", name=f"Customer {number}", email=f"c{number}@x.org")
        batch.append(
            Intake(channel="email", customer=customer, summary="Late", external_id=f"e{number}")
        )
        if len(batch) == 2000:
            engine.receive_many(batch)
            batch = []
    if batch:
        engine.receive_many(batch)
    return engine


def thread_time(engine: Engine, lookups: int) -> float:
    intake = EmailIntake(engine.kernel, engine.reception)
    stored = engine.find(limit=lookups)
    replies = []
    for complaint in stored:
        message = EmailMessage()
        message["From"] = "c@x.org"
        message["Subject"] = f"Re: [{complaint.reference}] Late"
        message["Message-ID"] = f"<r-{uuid.uuid4().hex}@x.org>"
        message["In-Reply-To"] = "<never-seen@x.org>"
        message.set_content("Any news?")
        replies.append(parse_email(message.as_bytes()))
    times = []
    for parsed in replies:
        started = time.perf_counter()
        found, _ = intake.thread(parsed)
        times.append(time.perf_counter() - started)
        assert found is not None
    return statistics.median(times)


def best(rounds: int, *subjects: Callable[[], float]) -> list[float]:
    results: list[list[float]] = [[] for _ in subjects]
    for _ in range(rounds):
        for index, subject in enumerate(subjects):
            results[index].append(subject())
    return [min(r) for r in results]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (noisier)")
    args = parser.parse_args(argv)
    count = 2_000 if args.quick else 10_000
    large = 10_000 if args.quick else 100_000
    load = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        directory = Path(tmp)
        raws = messages(count)
        ours, floor = best(
            2 if args.quick else 3,
            lambda: take_all(directory, raws),
            lambda: floor_all(directory, raws),
        )
        ratio = floor / ours
        rows.append(
            (
                f"1 email intake of {count:,} messages into SQLite (take_many)",
                f"{count / ours:,.0f} msg/s",
                f"{count / floor:,.0f} msg/s",
                f"{ratio:.2f}x",
                ("PASS" if ratio >= THROUGHPUT_FLOOR else "FAIL") + f" (>= {THROUGHPUT_FLOOR})",
            )
        )
        small_engine = stored_engine(directory, 1_000)
        large_engine = stored_engine(directory, large)
        try:
            small, big = best(
                3, lambda: thread_time(small_engine, 200), lambda: thread_time(large_engine, 200)
            )
        finally:
            small_engine.close()
            large_engine.close()
        flat = big / small
        rows.append(
            (
                f"2 threading a reply, {large:,} vs 1,000 stored",
                f"{big * 1e6:.0f} us",
                f"{small * 1e6:.0f} us",
                f"{flat:.2f}x",
                ("PASS" if flat <= FLAT_CEILING else "FAIL") + f" (<= {FLAT_CEILING})",
            )
        )
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    headers = ("figure", "complaint_flow", "floor / baseline", "ratio", "target")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0 if all(row[4].startswith("PASS") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
