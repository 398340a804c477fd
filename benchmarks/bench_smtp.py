"""Emails per second from SmtpChannel to a local aiosmtpd server: one connection vs one each.

Rows, plain SMTP and STARTTLS (with a trustme certificate):

- ``kept``: ``SmtpChannel`` with ``keep_alive`` (one connection for the whole batch);
- ``new each``: ``keep_alive=0`` (connect, EHLO, [STARTTLS, EHLO,] send, QUIT per message);
- ``floor``: raw ``smtplib`` ``sendmail`` of bytes composed beforehand, one connection:
  the least the same sends could cost, to show what composing and checking add.

Each row runs several rounds, interleaved, and the best round counts. The server runs
in this process (its own thread): on a 2-core machine client and server share the CPU,
so the figures are lower bounds of what a real server would take.

    PYTHONPATH=src python benchmarks/bench_smtp.py [--messages 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from typing import Any

import trustme
from aiosmtpd.controller import Controller

from complaint_flow import Outgoing
from complaint_flow.channels.email_composing import compose_email
from complaint_flow.channels.smtp import SmtpChannel, SmtpSettings

SENDER = "complaints@shop.example"


class Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def outgoing(number: int) -> Outgoing:
    return Outgoing(
        key=f"c-{number}:2:customer",
        channel="email",
        address="ada@example.org",
        recipient_name="Ada Lovelace",
        subject="Your complaint",
        text="Thank you for telling us. We are looking into it and will reply by Friday.\n" * 8,
        reference=f"CF-2026-{number:06d}",
    )


def rate(send: Callable[[int], object], messages: int) -> float:
    started = time.perf_counter()
    for number in range(messages):
        send(number)
    return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    cafile = os.path.join(tempfile.mkdtemp(), "ca.pem")
    ca.cert_pem.write_to_path(cafile)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for security in ("none", "starttls"):
        best = measure(security, server_context, cafile, options.messages, options.rounds)
        print(
            f"{security:>8}: kept {best['kept']:5.0f}/s   new each {best['new each']:5.0f}/s   "
            f"floor {best['floor']:5.0f}/s   kept/new {best['kept'] / best['new each']:.1f}x   "
            f"kept/floor {best['kept'] / best['floor']:.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def measure(
    security: str, server_context: ssl.SSLContext, cafile: str, messages: int, rounds: int
) -> dict[str, float]:
    """The best rate of each row over ``rounds`` interleaved rounds."""
    port = free_port()
    tls: dict[str, Any] = {"tls_context": server_context} if security == "starttls" else {}
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, **tls)
    controller.start()
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": security,
        "sender": SENDER,
        "local_hostname": "bench.example",
        "cafile": cafile if security == "starttls" else None,
    }
    kept = SmtpChannel(SmtpSettings(**settings))
    fresh = SmtpChannel(SmtpSettings(**settings, keep_alive=0))
    composed = [
        compose_email(outgoing(n), sender=SENDER, domain="shop.example").as_bytes()
        for n in range(messages)
    ]
    raw = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.example")
    if security == "starttls":
        raw.starttls(context=ssl.create_default_context(cafile=cafile))
    rows: dict[str, Callable[[int], object]] = {
        "kept": lambda n: kept.send(outgoing(n)),
        "new each": lambda n: fresh.send(outgoing(n)),
        "floor": lambda n: raw.sendmail(SENDER, ["ada@example.org"], composed[n]),
    }
    best: dict[str, float] = {}
    try:
        for _ in range(rounds):
            for row, send in rows.items():
                best[row] = max(best.get(row, 0.0), rate(send, messages))
    finally:
        kept.close()
        raw.quit()
        controller.stop()
    return best


if __name__ == "__main__":
    main()
