"""A mail server on this machine for the demo: aiosmtpd on 127.0.0.1, keeping what arrives.

:class:`LocalMailServer` listens on 127.0.0.1 on a free port, accepts every message
and keeps it as a :class:`Delivery` (the envelope and the bytes), so the demo can
show exactly what a customer would have received: :meth:`LocalMailServer.to` reads
a recipient's messages as :class:`ArrivedEmail` (the headers that thread a
conversation, the plain text). Messages are read when asked for, not as they arrive,
so that the sender never waits for the reading. It needs aiosmtpd (the ``demo``
extra); without it, starting raises ``ChannelError`` saying what to install.

>>> with LocalMailServer() as server:
...     import smtplib
...     with smtplib.SMTP(server.host, server.port, local_hostname="localhost") as client:
...         _ = client.sendmail(
...             "shop@example.org",
...             ["ada@example.org"],
...             b"Subject: Hello\\r\\nMessage-ID: <h1@example.org>\\r\\n\\r\\nHi Ada\\r\\n",
...         )
...     (mail,) = server.to("ada@example.org")
>>> mail.rcpt_tos, mail.subject, mail.message_id, mail.text
(('ada@example.org',), 'Hello', '<h1@example.org>', 'Hi Ada\\n')
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Self

import attrs

from complaint_flow.errors import ChannelError

if TYPE_CHECKING:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, Envelope, Session

PORT_ATTEMPTS = 5
"""How many free ports are tried (another program may take one between probe and bind)."""

READY_TIMEOUT = 10.0
"""Seconds aiosmtpd may take to start (generous: the machine may be busy)."""


def utc_now() -> datetime:
    """The time now, in UTC (the default clock of the server)."""
    return datetime.now(UTC)


@attrs.frozen
class Delivery:
    """One message the server accepted, as it came: the envelope and the bytes.

    ``arrived_at`` is the server's clock when it arrived (the demo's manual clock in
    the demo).
    """

    mail_from: str
    rcpt_tos: tuple[str, ...]
    arrived_at: datetime
    data: bytes = attrs.field(repr=False)

    def is_for(self, address: str) -> bool:
        """Whether ``address`` (case ignored) is one of the envelope's recipients."""
        wanted = address.casefold()
        return any(wanted == recipient.casefold() for recipient in self.rcpt_tos)

    def read(self) -> ArrivedEmail:
        """The message as a mail program reads it."""
        return arrived_email(self.mail_from, self.rcpt_tos, self.data, self.arrived_at)


@attrs.frozen
class ArrivedEmail:
    """One message the server accepted: the envelope, the threading headers, the text.

    ``arrived_at`` is the server's clock when it arrived (the demo's manual clock in
    the demo); ``in_reply_to`` and ``auto_submitted`` are empty strings when absent.
    """

    mail_from: str
    rcpt_tos: tuple[str, ...]
    arrived_at: datetime
    sender: str
    to: str
    subject: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    auto_submitted: str
    text: str
    size: int


def arrived_email(
    mail_from: str, rcpt_tos: tuple[str, ...], data: bytes, at: datetime
) -> ArrivedEmail:
    """What the server keeps of a message: ``data`` read as a mail program reads it."""
    # Line ends as a mail program reads them (the email package keeps CRLF as given).
    message = message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""

    def header(name: str) -> str:
        value = message[name]
        return "" if value is None else str(value)

    return ArrivedEmail(
        mail_from=mail_from,
        rcpt_tos=rcpt_tos,
        arrived_at=at,
        sender=header("From"),
        to=header("To"),
        subject=header("Subject"),
        message_id=header("Message-ID"),
        in_reply_to=header("In-Reply-To"),
        references=tuple(header("References").split()),
        auto_submitted=header("Auto-Submitted"),
        text=str(text),
        size=len(data),
    )


class _Inbox:
    """aiosmtpd's handler: keeps each accepted message (called on the server's thread)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        # Kept as bytes: reading them takes longer than the rest of the exchange.
        delivery = Delivery(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            arrived_at=self.clock(),
            data=bytes(envelope.original_content or b""),
        )
        with self.lock:
            self.deliveries.append(delivery)
            count = len(self.deliveries)
        return f"250 2.0.0 Ok: queued as L{count}"


def free_port(host: str) -> int:
    """A TCP port nothing listens on at ``host`` just now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _controller_class() -> type[Controller]:
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:
        raise ChannelError(
            f"the demo's local mail server needs aiosmtpd ({exc}); install the demo extra: "
            "pip install 'complaint-flow[demo]'"
        ) from exc
    return Controller


class LocalMailServer:
    """An SMTP server on 127.0.0.1 and a free port, from ``start()`` (or ``with``) to ``stop()``.

    Args:
        clock: stamps each message's ``arrived_at`` (default: the real time, UTC).
    """

    host = "127.0.0.1"

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        if not callable(clock):
            raise ChannelError(f"clock must be a function returning a datetime, got {clock!r}")
        self._inbox = _Inbox(clock)
        self._controller: Controller | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (once started)."""
        if self._port is None:
            raise ChannelError("the local mail server is not started: call start() first")
        return self._port

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._controller is not None

    @property
    def deliveries(self) -> tuple[Delivery, ...]:
        """Every message accepted so far, oldest first, as it came."""
        with self._inbox.lock:
            return tuple(self._inbox.deliveries)

    def to(self, address: str) -> tuple[ArrivedEmail, ...]:
        """The messages accepted for ``address`` (case ignored), oldest first, read."""
        return tuple(d.read() for d in self.deliveries if d.is_for(address))

    def start(self) -> Self:
        """Listen on a free port of 127.0.0.1.

        Raises:
            ChannelError: aiosmtpd is not installed, or no port could be taken.
        """
        if self._controller is not None:
            return self
        controller_class = _controller_class()
        error: Exception | None = None
        for _ in range(PORT_ATTEMPTS):
            port = free_port(self.host)
            options: dict[str, Any] = {
                "hostname": self.host,
                "port": port,
                "ready_timeout": READY_TIMEOUT,
                # Naming the server saves a DNS lookup of this machine's name.
                "server_hostname": "localhost",
            }
            controller = controller_class(self._inbox, **options)
            try:
                controller.start()
            except OSError as exc:
                # Taken between the probe and the bind: try another port.
                if exc.errno != errno.EADDRINUSE:
                    error = exc
                    break
                error = exc
                continue
            except (TimeoutError, RuntimeError) as exc:
                error = exc
                break
            self._controller, self._port = controller, port
            return self
        raise ChannelError(
            f"the local mail server could not listen on {self.host}: {error}; "
            "check that this machine allows listening on 127.0.0.1"
        )

    def stop(self) -> None:
        """Stop listening (the messages kept stay readable)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


__all__ = ["ArrivedEmail", "Delivery", "LocalMailServer", "arrived_email", "free_port"]
