"""Reading inbound email: ``parse_email`` on the test fixtures against the stdlib alone.

Run:  python benchmarks/bench_email_parsing.py [--quick]

For every message of ``tests/mail`` that is read (not quarantined), both sides
start from its bytes:

- subject: ``parse_email`` (headers, text, newest reply, attachments, automatic
  mail, delivery report);
- floor: what the standard library does for the least of that job:
  ``message_from_bytes`` with ``policy.default``, ``get_body()`` and its
  ``get_content()``, and the SHA-256 of every attachment's decoded content.

Each message is timed in rounds, subject and floor interleaved; the table shows
the median microseconds per message of each and the subject's cost as a multiple
of the floor's. There is no target: the figures are reported.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from complaint_flow.channels.email_parsing import parse_email
from complaint_flow.errors import QuarantinedMessageError

MAIL = Path(__file__).resolve().parent.parent / "tests" / "mail"


def floor(raw: bytes) -> None:
    """The stdlib's own reading of the message: parse, body text, attachment hashes."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain", "html"))
    if body is not None:
        try:
            body.get_content()
        except LookupError:  # an unknown charset: the stdlib gives up, so read bytes
            body.get_payload(decode=True)
    for part in message.iter_attachments():
        data = part.get_payload(decode=True)
        hashlib.sha256(data if isinstance(data, bytes) else b"").hexdigest()


def median_micros(work: Callable[[bytes], object], raw: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work(raw)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, noisier")
    rounds, repeat = (3, 20) if parser.parse_args().quick else (5, 60)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    rows = []
    for path in sorted(MAIL.glob("*.eml")):
        raw = path.read_bytes()
        try:
            parse_email(raw)
        except QuarantinedMessageError:
            continue
        subject, base = [], []
        for _ in range(rounds):
            subject.append(median_micros(parse_email, raw, repeat))
            base.append(median_micros(floor, raw, repeat))
        rows.append((path.name, len(raw), statistics.median(subject), statistics.median(base)))
    print(f"{'message':36} {'bytes':>6} {'parse_email µs':>15} {'floor µs':>9} {'x floor':>8}")
    for name, size, mine, base in rows:
        print(f"{name:36} {size:6} {mine:15.0f} {base:9.0f} {mine / base:8.1f}")
    all_mine = statistics.median(row[2] for row in rows)
    all_base = statistics.median(row[3] for row in rows)
    print(f"{'median over the messages':36} {'':6} {all_mine:15.0f} {all_base:9.0f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
