"""Email out: the ``email`` channel adapter, sending through an SMTP server with ``smtplib``.

Inbound mail is not read here: the mailbox service reads it (``parse`` says so).

>>> settings = SmtpSettings.from_url(
...     "smtp+starttls://app:s3cret@smtp.example.org?sender=complaints@shop.example"
... )
>>> settings.port, settings.security, settings.message_id_domain
(587, 'starttls', 'shop.example')
>>> "s3cret" in repr(settings)
False
"""

from __future__ import annotations

import ipaddress
import os
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from complaint_flow.arguments import (
    instance,
    number,
    one_of,
    optional_name,
    optional_text,
    shown,
    text,
    whole_number,
)
from complaint_flow.channels.email_composing import compose_email, email_address, mail_domain
from complaint_flow.errors import ChannelError, InvalidArgumentError, UnreachableAddressError
from complaint_flow.model.channels import Channel, Outgoing, Receipt
from complaint_flow.model.entities import ChannelKind, Intake

Security = Literal["starttls", "ssl", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
"""The usual port of each kind of connection (RFC 8314: 465 for TLS from the start,
587 for submission with STARTTLS; 25 for a relay that takes plain SMTP)."""
URL_SCHEMES: dict[str, Security] = {
    "smtp+starttls": "starttls",
    "smtps": "ssl",
    "smtp+ssl": "ssl",
    "smtp": "none",
}
"""The URL schemes :meth:`SmtpSettings.from_url` reads, and the security each means."""

EMAIL_CHANNEL = Channel("email", ChannelKind.WRITTEN, "Email")


class SmtpError(ChannelError):
    """The SMTP server refused a message, or could not be reached.

    Attributes:
        server: ``host:port``.
        code: the server's reply code, if it replied (``535``, ``554``…).
        permanent: the refusal is final (a 5xx reply): the same message would be
            refused again until the settings or the message change.
    """

    def __init__(
        self, message: str, *, server: str, code: int | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.server = server
        self.code = code
        self.permanent = permanent


class RecipientRefusedError(SmtpError):
    """The server refused the recipient's address.

    ``permanent`` (a 5xx reply, or an address that cannot be an email address) means
    the address does not take mail: mark it unreachable and reach the customer
    another way, rather than retrying. Otherwise (4xx: a full mailbox, greylisting)
    the message is retried as usual.

    Attributes:
        address: the address refused.
    """

    def __init__(
        self,
        message: str,
        *,
        address: str,
        server: str,
        code: int | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message, server=server, code=code, permanent=permanent)
        self.address = address


def _host(value: object) -> str:
    host = text("host", value)
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        return mail_domain("host", host)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"host must be a host name or IP address such as 'smtp.example.org', got "
            f"{shown(value)}; give the host only (the port is port=...)"
        ) from None


def _security(value: object) -> Security:
    return cast(Security, one_of("security", value, SECURITIES))


def _port(value: object) -> int:
    return whole_number("port", value, minimum=1, maximum=65535)


def _sender(value: object) -> str:
    return email_address("sender", value)


def _sender_name(value: object) -> str:
    return text("sender_name", value, blank=True)


def _optional_login(value: object) -> str | None:
    return optional_text("username", value, strip=False)


def _optional_password(value: object) -> str | None:
    return optional_text("password", value, blank=True, strip=False)


def _timeout(value: object) -> float:
    return float(number("timeout", value, minimum=0.001, maximum=3600))


def _keep_alive(value: object) -> float:
    return float(number("keep_alive", value, minimum=0, maximum=3600))


def _message_id_domain(value: object) -> str:
    return mail_domain("message_id_domain", value)


def _local_hostname(value: object) -> str | None:
    return optional_name("local_hostname", value)


def _optional_cafile(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    path = text("cafile", value)
    if not os.path.isfile(path):
        raise InvalidArgumentError(
            f"cafile must be the path of a PEM file of CA certificates, got {shown(value)}; "
            "no such file: check the path"
        )
    return path


def _optional_factory(value: object) -> Callable[[], ssl.SSLContext] | None:
    if value is None or callable(value):
        return value
    hint = (
        "pass a function that returns one: ssl_context=lambda: context"
        if isinstance(value, ssl.SSLContext)
        else "pass a function that returns an ssl.SSLContext"
    )
    raise InvalidArgumentError(
        f"ssl_context must be a function returning an ssl.SSLContext, got {shown(value)}; {hint}"
    )


@attrs.frozen(kw_only=True)
class SmtpSettings:
    """Where and how to send email: the server, the login, the sender.

    Args:
        host: the SMTP server (``smtp.example.org``).
        sender: the From address, also the envelope sender.
        security: ``"starttls"`` (default: plain connection, then STARTTLS, which is
            required), ``"ssl"`` (TLS from the start, "implicit TLS") or ``"none"``
            (no encryption: only for a relay on the same host or network).
        port: default 587 for ``starttls``, 465 for ``ssl``, 25 for ``none``.
        username: the login, if the server wants one (with ``password``).
        password: its password (never shown in ``repr``).
        timeout: seconds to wait for the server at each step.
        sender_name: the From display name (``"Shop complaints"``).
        message_id_domain: the domain of the Message-IDs (default: the sender's).
        cafile: a PEM file of the CA certificates to trust, for a server whose
            certificate a private CA signed (default: the system's CAs).
        ssl_context: a function returning the ``ssl.SSLContext`` to use instead (for
            client certificates or pinned settings); not with ``cafile``.
        local_hostname: the name given in EHLO (default: this host's FQDN).
        keep_alive: seconds a connection stays in use for the next message after
            one was sent (0: a new connection for each message).

    Raises:
        InvalidArgumentError: a setting is malformed; a login without TLS to a host
            other than this one; ``cafile`` or ``ssl_context`` with ``security="none"``.
    """

    host: str = attrs.field(converter=_host)
    sender: str = attrs.field(converter=_sender)
    security: Security = attrs.field(default="starttls", converter=_security)
    port: int = attrs.field(converter=_port)
    username: str | None = attrs.field(default=None, converter=_optional_login)
    password: str | None = attrs.field(default=None, converter=_optional_password, repr=False)
    timeout: float = attrs.field(default=30.0, converter=_timeout)
    sender_name: str = attrs.field(default="", converter=_sender_name)
    message_id_domain: str = attrs.field(converter=_message_id_domain)
    cafile: str | None = attrs.field(default=None, converter=_optional_cafile)
    ssl_context: Callable[[], ssl.SSLContext] | None = attrs.field(
        default=None, converter=_optional_factory, eq=False
    )
    local_hostname: str | None = attrs.field(default=None, converter=_local_hostname)
    keep_alive: float = attrs.field(default=30.0, converter=_keep_alive)

    @port.default
    def _default_port(self) -> int:
        return DEFAULT_PORTS[self.security]

    @message_id_domain.default
    def _sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]

    def __attrs_post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            given, missing = (
                ("username", "password")
                if self.password is None
                else (
                    "password",
                    "username",
                )
            )
            raise InvalidArgumentError(
                f"{given} is given without {missing}; give both to log in, or neither"
            )
        if self.security == "none":
            if self.username is not None and not _is_this_host(self.host):
                raise InvalidArgumentError(
                    f"security='none' would send the password for {self.username!r} to "
                    f"{self.host} unencrypted; use security='starttls' (port 587) or "
                    "'ssl' (port 465)"
                )
            if self.cafile is not None or self.ssl_context is not None:
                raise InvalidArgumentError(
                    "cafile and ssl_context are for TLS, but security is 'none'; "
                    "use security='starttls' or 'ssl'"
                )
        if self.cafile is not None and self.ssl_context is not None:
            raise InvalidArgumentError(
                "give cafile or ssl_context, not both: load the CA file into your context "
                "with context.load_verify_locations(cafile)"
            )

    @property
    def server(self) -> str:
        """``host:port``, as messages name the server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> SmtpSettings:
        """Settings from a URL: ``smtp+starttls://user:password@host:587?sender=...``.

        Schemes: ``smtp+starttls`` (STARTTLS), ``smtps`` or ``smtp+ssl`` (TLS from the
        start), ``smtp`` (no encryption). The user and password are percent-decoded
        (write ``@`` as ``%40``). Query options: ``sender`` (required unless given as
        an override), ``sender_name``, ``message_id_domain``, ``timeout``, ``cafile``,
        ``local_hostname``, ``keep_alive``. ``overrides`` are keyword settings that
        win over the URL (e.g. ``password=os.environ["SMTP_PASSWORD"]``).

        Raises:
            InvalidArgumentError: the URL or a setting is malformed (the message shows
                the URL without its password).
        """
        given = text("url", url)
        parts = urlsplit(given)
        shown_url = _without_password(given)
        if parts.scheme not in URL_SCHEMES:
            schemes = ", ".join(repr(f"{scheme}://") for scheme in URL_SCHEMES)
            raise InvalidArgumentError(
                f"url must start with one of {schemes}, got {shown_url!r}; e.g. "
                "'smtp+starttls://user:password@smtp.example.org:587?sender=me@example.org'"
            )
        try:
            port = parts.port
        except ValueError:
            raise InvalidArgumentError(
                f"the port in {shown_url!r} is not a number from 1 to 65535"
            ) from None
        if not parts.hostname:
            raise InvalidArgumentError(f"the url {shown_url!r} names no host")
        settings: dict[str, Any] = {
            "host": parts.hostname,
            "security": URL_SCHEMES[parts.scheme],
        }
        if port is not None:
            settings["port"] = port
        if parts.username is not None:
            settings["username"] = unquote(parts.username)
            settings["password"] = unquote(parts.password or "")
        numbers = {"timeout", "keep_alive"}
        known = {"sender", "sender_name", "message_id_domain", "cafile", "local_hostname"}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in known | numbers:
                listed = ", ".join(sorted(known | numbers))
                raise InvalidArgumentError(
                    f"unknown option {key!r} in {shown_url!r}; the options are: {listed}"
                )
            if key in settings:
                raise InvalidArgumentError(f"option {key!r} is given twice in {shown_url!r}")
            settings[key] = _number_in_url(key, value, shown_url) if key in numbers else value
        fields = attrs.fields_dict(cls)
        for key in overrides:
            if key not in fields:
                listed = ", ".join(fields)
                raise InvalidArgumentError(
                    f"from_url() got an unknown setting {key!r}; the settings are: {listed}"
                )
        settings.update(overrides)
        if "sender" not in settings:
            raise InvalidArgumentError(
                f"the url {shown_url!r} gives no sender; add ?sender=complaints@example.org"
            )
        return cls(**settings)


class SmtpChannel:
    """The ``email`` channel: sends each :class:`Outgoing` message as an email over SMTP.

    One connection is kept for the next message for ``settings.keep_alive`` seconds
    and reused (a server that closed it meanwhile gets a new one); ``close()`` (or
    ``with``) ends it. Sending is serialised: one message at a time per channel.

    Args:
        settings: the server, login and sender.
        channel: the channel it sends on (default: the built-in ``email``).
    """

    def __init__(self, settings: SmtpSettings, *, channel: Channel = EMAIL_CHANNEL) -> None:
        self.settings = instance(
            "settings", settings, SmtpSettings, "SmtpSettings(host=..., sender=...)"
        )
        self._channel = instance(
            "channel", channel, Channel, "Channel('email', ChannelKind.WRITTEN)"
        )
        self._context = _tls_context(self.settings)
        self._local_hostname = settings.local_hostname
        self._lock = threading.Lock()
        self._connection: _Connection | None = None
        self._last_used = 0.0

    @property
    def channel(self) -> Channel:
        """The channel it sends on."""
        return self._channel

    def parse(self, raw: bytes) -> Intake:
        """Not here: inbound mail is read by the mailbox service.

        Raises:
            ChannelError: always.
        """
        raise ChannelError(
            f"the SMTP channel only sends email; inbound mail on {self._channel.name!r} is "
            "read by the mailbox service: give the raw message to it, not to SmtpChannel"
        )

    def send(self, message: Outgoing) -> Receipt:
        """Send ``message`` as an email; the receipt carries its Message-ID.

        Raises:
            UnreachableAddressError: the server refused the address for good (a 5xx), or
                it cannot be an email address: the outbox keeps the message unreachable.
            RecipientRefusedError: the server refused the address for now (a 4xx).
            SmtpError: the server refused the login, the sender or the message, or
                could not be reached (the message says what to check).
            InvalidArgumentError: ``message`` is not an :class:`Outgoing`.
        """
        outgoing = instance("message", message, Outgoing, "Outgoing(key=..., ...)")
        server = self.settings.server
        try:
            address = email_address("outgoing.address", outgoing.address)
        except InvalidArgumentError as error:
            raise UnreachableAddressError(
                str(outgoing.address), f"not an email address ({error})"
            ) from error
        try:
            mail = compose_email(
                outgoing,
                sender=self.settings.sender,
                sender_name=self.settings.sender_name,
                domain=self.settings.message_id_domain,
            )
        except InvalidArgumentError as error:
            raise SmtpError(
                f"message {outgoing.key!r} cannot be written as an email: {error}",
                server=server,
                permanent=True,
            ) from error
        with self._lock:
            try:
                reply = self._deliver(mail, address)
            except RecipientRefusedError as error:
                if error.permanent:
                    # The outbox keeps the message unreachable and the address is marked.
                    raise UnreachableAddressError(address, str(error)) from error
                raise
        return Receipt(
            channel=self._channel.name,
            address=address,
            message_id=str(mail["Message-ID"]),
            detail=f"{reply} ({server})",
        )

    def close(self) -> None:
        """Close the connection kept for the next message, if any."""
        with self._lock:
            self._drop()

    def __enter__(self) -> SmtpChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one message ---------------------------------------------------------

    def _deliver(self, mail: EmailMessage, address: str) -> str:
        """Send on the kept connection, else a new one; the server's reply to the message."""
        settings = self.settings
        kept = self._connection is not None and (
            time.monotonic() - self._last_used <= settings.keep_alive
        )
        if not kept:
            self._drop()
        while True:
            step = "connecting"
            try:
                connection = self._connection
                if connection is None:
                    connection = self._connect()
                    self._connection = connection
                step = "sending the message"
                connection.send_message(mail, from_addr=settings.sender, to_addrs=[address])
                reply = connection.accepted
            except (smtplib.SMTPServerDisconnected, ConnectionError) as error:
                self._drop(politely=False)
                if kept and not _timed_out(error):
                    # The server closed the kept connection while it was idle: once
                    # more, on a new connection.
                    kept = False
                    continue
                raise _refusal(error, settings, step, address) from error
            except (smtplib.SMTPException, OSError) as error:
                self._drop(politely=False)
                raise _refusal(error, settings, step, address) from error
            except BaseException:
                self._drop(politely=False)
                raise
            self._last_used = time.monotonic()
            if settings.keep_alive == 0:
                self._drop()
            return reply

    def _connect(self) -> _Connection:
        """A connection ready to send: greeted, encrypted and logged in as the settings say."""
        settings = self.settings
        if self._local_hostname is None:
            # smtplib looks it up for every connection otherwise (a DNS query).
            self._local_hostname = socket.getfqdn()
        if settings.security == "ssl":
            connection: _Connection = _TlsConnection(
                settings.host,
                settings.port,
                local_hostname=self._local_hostname,
                timeout=settings.timeout,
                context=self._context,
            )
        else:
            connection = _Connection(
                settings.host,
                settings.port,
                local_hostname=self._local_hostname,
                timeout=settings.timeout,
            )
        try:
            step = "greeting (EHLO)"
            connection.ehlo()
            if settings.security == "starttls":
                step = "starting TLS (STARTTLS)"
                connection.starttls(context=self._context)
                connection.ehlo()
            if settings.username is not None and settings.password is not None:
                step = "logging in"
                connection.login(settings.username, settings.password)
        except BaseException as error:
            connection.close()
            if isinstance(error, smtplib.SMTPException | OSError):
                raise _refusal(error, settings, step, None) from error
            raise
        return connection

    def _drop(self, *, politely: bool = True) -> None:
        """Forget the kept connection: say QUIT, or (after an error) just close it.

        After an error the server may be the one not answering: waiting for its
        reply to QUIT would double the time a failed attempt takes.
        """
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if politely:
            try:
                connection.quit()
                return
            except (smtplib.SMTPException, OSError):
                pass
        connection.close()


class _Connection(smtplib.SMTP):
    """smtplib's connection, keeping the server's reply to the last message sent.

    That reply usually holds the server's id for the message (``queued as …``),
    which is worth keeping in the receipt to trace it in the server's logs.
    """

    accepted = ""

    def data(self, msg: Any) -> tuple[int, bytes]:
        code, reply = super().data(msg)
        self.accepted = f"{code} {reply.decode('utf-8', 'replace')}"
        return code, reply


class _TlsConnection(_Connection, smtplib.SMTP_SSL):
    """A connection encrypted from the start (``security="ssl"``)."""


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    if settings.security == "none":
        return None
    if settings.ssl_context is not None:
        made = settings.ssl_context()
        return instance("ssl_context()", made, ssl.SSLContext, "ssl.create_default_context()")
    try:
        return ssl.create_default_context(cafile=settings.cafile)
    except (ssl.SSLError, OSError) as error:
        raise InvalidArgumentError(
            f"cafile {settings.cafile!r} cannot be read as PEM CA certificates ({error}); "
            "give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)"
        ) from None


def _refusal(
    error: BaseException, settings: SmtpSettings, step: str, address: str | None
) -> SmtpError:
    """The library's error for what smtplib or the network raised, saying what to check."""
    server = settings.server
    at = f"{server} ({step})"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (0, b""))
        permanent = 500 <= code < 600
        advice = (
            "the address does not take mail: mark it unreachable and reach the customer another way"
            if permanent
            else "a temporary refusal: the message is retried later"
        )
        return RecipientRefusedError(
            f"{server} refused the recipient {address!r}: {code} {_text(reply)}; {advice}",
            address=address or "",
            server=server,
            code=code,
            permanent=permanent,
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SmtpError(
            f"{server} refused the login of {settings.username!r}: {error.smtp_code} "
            f"{_text(error.smtp_error)}; check the username and password (with two-factor "
            "login, an app password)",
            server=server,
            code=error.smtp_code,
            permanent=True,
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return SmtpError(
            f"{server} refused the sender {settings.sender!r}: {error.smtp_code} "
            f"{_text(error.smtp_error)}; check that this account may send as that address",
            server=server,
            code=error.smtp_code,
            permanent=500 <= error.smtp_code < 600,
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return SmtpError(
            f"{at} refused: {error.smtp_code} {_text(error.smtp_error)}",
            server=server,
            code=error.smtp_code,
            permanent=500 <= error.smtp_code < 600,
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        advice = {
            "starting TLS (STARTTLS)": "the server offers no STARTTLS: use security='ssl' "
            "(port 465) if it takes TLS from the start",
            "logging in": "the server offers no login (AUTH) here: drop username and password, "
            "or use the submission port (587) with STARTTLS",
        }.get(
            step,
            "the server lacks an extension this message needs (SMTPUTF8 for an address "
            "that is not ASCII)",
        )
        return SmtpError(f"{at}: {error}; {advice}", server=server, permanent=True)
    if _timed_out(error):
        return SmtpError(
            f"{at}: no answer within {settings.timeout:g} s; check the host and port, that "
            f"port {settings.port} takes security={settings.security!r} (587: 'starttls', "
            "465: 'ssl'), that the server is up and no firewall drops SMTP (or raise timeout=)",
            server=server,
        )
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionResetError | BrokenPipeError):
        return SmtpError(
            f"{at}: the server closed the connection ({error or 'no reason given'}); check "
            f"that port {settings.port} takes security={settings.security!r} (587: "
            "'starttls', 465: 'ssl')",
            server=server,
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return SmtpError(
            f"{at}: the server's certificate is not trusted ({error.verify_message}); check "
            f"that {settings.host!r} is the name on its certificate, or give cafile= for a "
            "private CA",
            server=server,
        )
    if isinstance(error, ssl.SSLError):
        return SmtpError(
            f"{at}: TLS failed ({error.reason or error}); check that port {settings.port} "
            f"takes security={settings.security!r} (587: 'starttls', 465: 'ssl')",
            server=server,
        )
    if isinstance(error, ConnectionRefusedError):
        return SmtpError(
            f"{at}: connection refused; check the host and port, and that the server runs",
            server=server,
        )
    if isinstance(error, socket.gaierror):
        return SmtpError(
            f"{at}: the host name {settings.host!r} cannot be resolved ({error.strerror}); "
            "check the host",
            server=server,
        )
    return SmtpError(f"{at}: {type(error).__name__}: {error}", server=server)


def _timed_out(error: BaseException) -> bool:
    """Whether the server did not answer in time (smtplib reports that as a disconnection)."""
    return isinstance(error, TimeoutError) or (
        isinstance(error, smtplib.SMTPServerDisconnected)
        and isinstance(error.__context__, TimeoutError)
    )


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _is_this_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _number_in_url(key: str, value: str, url: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidArgumentError(
            f"option {key!r} in {url!r} must be a number of seconds, got {value!r}"
        ) from None


__all__ = [
    "DEFAULT_PORTS",
    "EMAIL_CHANNEL",
    "SECURITIES",
    "URL_SCHEMES",
    "RecipientRefusedError",
    "Security",
    "SmtpChannel",
    "SmtpError",
    "SmtpSettings",
]
