"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd, plain, STARTTLS or SSL, with logins.

Use it as a context manager anywhere::

    from smtp_server import SmtpServer

    with SmtpServer(security="starttls", ca=trustme.CA(), users={"app": "secret"}) as server:
        ...  # send to server.host, server.port, trusting server.cafile
        (mail,) = server.received
        assert mail.message["Subject"] == "..."

or through the fixtures below: ``smtp_ca`` (a test certificate authority, one per
session) and ``smtp_servers`` (starts servers, stops them after the test). A test
module outside ``tests/channels`` gets them with
``from smtp_server import smtp_ca, smtp_servers  # noqa: F401``.

What the server can be told to do: ``refused`` recipients get the reply given (e.g.
``"550 5.1.1 No such user"``); ``data_delay`` makes it wait before answering a
message (to test time limits).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator, Mapping
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import attrs
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Security = Literal["none", "starttls", "ssl"]


@attrs.frozen
class Received:
    """One message the server accepted: its envelope, the bytes and the message as parsed."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    login: str | None
    message: EmailMessage


class _Handler:
    def __init__(self, refused: Mapping[str, str], data_delay: float) -> None:
        self.refused = dict(refused)
        self.data_delay = data_delay
        self.received: list[Received] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        data = envelope.original_content or b""
        # Line ends as a mail client reads them (the email package keeps CRLF as given).
        message = message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.login.decode() if session.auth_data else None
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                login=login,
                message=message,
            )
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"


class _Controller(Controller):
    """aiosmtpd's controller on a port the system chooses, counting connections."""

    connections = 0

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()

    def _trigger_server(self) -> None:
        # Bound to port 0: learn the port chosen before aiosmtpd connects to it.
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 and a free port, started by ``with`` or ``start()``.

    Args:
        security: ``"none"``, ``"starttls"`` (STARTTLS required before MAIL) or
            ``"ssl"`` (TLS from the first byte).
        ca: the authority that signs the server's certificate (needed for TLS).
        users: logins the server accepts, ``{username: password}`` (AUTH PLAIN and
            LOGIN; required before MAIL on a STARTTLS server, checked when given on
            the others).
        refused: recipients refused, with the reply (``"550 5.1.1 No such user"``).
        data_delay: seconds to wait before answering DATA.
        idle_timeout: seconds after which the server closes an idle connection.
        auth_mechanisms: the login mechanisms offered (``LOGIN``, ``PLAIN``).
        tmp_path: a directory for ``cafile``, the CA certificate clients should trust.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        security: Security = "none",
        ca: trustme.CA | None = None,
        users: Mapping[str, str] | None = None,
        refused: Mapping[str, str] | None = None,
        data_delay: float = 0.0,
        idle_timeout: float = 300.0,
        auth_mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN"),
        tmp_path: Path | None = None,
    ) -> None:
        self.security = security
        self.users = dict(users or {})
        self.handler = _Handler(refused or {}, data_delay)
        self.cafile: Path | None = None
        options: dict[str, Any] = {"hostname": self.host, "port": 0, "timeout": idle_timeout}
        if security != "none":
            if ca is None:
                raise ValueError(f"a {security} server needs ca=trustme.CA()")
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(self.host, "localhost").configure_cert(server_context)
            if tmp_path is not None:
                self.cafile = tmp_path / "smtp-test-ca.pem"
                ca.cert_pem.write_to_path(str(self.cafile))
            key = "tls_context" if security == "starttls" else "ssl_context"
            options[key] = server_context
            options["require_starttls"] = security == "starttls"
        if self.users:
            options["authenticator"] = self._authenticate
            options["auth_exclude_mechanism"] = [
                mechanism for mechanism in ("LOGIN", "PLAIN") if mechanism not in auth_mechanisms
            ]
            # aiosmtpd sees no TLS on an "ssl" server's connections (encrypted from the
            # start), so it can only require a login over TLS with STARTTLS; elsewhere a
            # login is checked when given, not required.
            options["auth_required"] = options["auth_require_tls"] = security == "starttls"
        self._controller = _Controller(self.handler, **options)

    @property
    def port(self) -> int:
        port: int = self._controller.port
        return port

    @property
    def received(self) -> list[Received]:
        """The messages accepted so far, oldest first."""
        return self.handler.received

    @property
    def connections(self) -> int:
        """How many connections clients opened."""
        # One connection is aiosmtpd's own, made at start to check the server is up.
        return self._controller.connections - 1

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if mechanism not in ("LOGIN", "PLAIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        accepted = login in self.users and self.users[login] == password
        # handled=False: aiosmtpd then answers a refusal with 535 itself.
        return AuthResult(
            success=accepted, handled=False, auth_data=auth_data if accepted else None
        )


@pytest.fixture(scope="session")
def smtp_ca() -> trustme.CA:
    """A certificate authority for test servers (its certificate is in each server's cafile)."""
    return trustme.CA()


@pytest.fixture
def smtp_servers(smtp_ca: trustme.CA, tmp_path: Path) -> Iterator[Callable[..., SmtpServer]]:
    """Start SMTP servers on 127.0.0.1: ``smtp_servers(security="ssl", users={...})``.

    Servers are signed by ``smtp_ca`` and stopped after the test.
    """
    started: list[SmtpServer] = []

    def start(**options: Any) -> SmtpServer:
        directory = tmp_path / f"server-{len(started)}"
        directory.mkdir()
        server = SmtpServer(ca=smtp_ca, tmp_path=directory, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


__all__ = ["Received", "SmtpServer", "smtp_ca", "smtp_servers"]
