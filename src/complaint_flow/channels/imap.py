"""Reading a mailbox over IMAP with a cursor the caller keeps: email's way in.

:class:`ImapMailbox` logs in to an IMAP server (``imaplib`` over TLS, STARTTLS or,
for tests, plain text), and :meth:`ImapMailbox.fetch_new` yields the messages that
arrived after a :class:`MailboxCursor`, oldest first, each as its exact RFC 5322
bytes (``UID FETCH … BODY.PEEK[]``: reading never marks a message ``\\Seen``) with
the cursor that points just past it. :meth:`ImapMailbox.mark_done` then flags a
message for the people who look at the mailbox. Every failure of the server, the
network or TLS is a :class:`~complaint_flow.errors.ChannelError` naming the server
and what to check.

The cursor contract: exactly once per message, across crashes
--------------------------------------------------------------

The caller keeps the cursor (a store table) and runs this loop::

    cursor = load_cursor()                    # None the first time
    with ImapMailbox(settings) as mailbox:
        for message in mailbox.fetch_new(cursor, limit=100):
            take(message.raw)                 # 1. commit the complaint
            save_cursor(message.cursor)       # 2. then persist the cursor
            mailbox.mark_done(message.uid)    # 3. then flag it, for people

IMAP gives every new message of a mailbox a higher UID than any message before it
(RFC 3501, 2.3.1.1), and ``fetch_new`` yields in ascending UID order, so "every
message up to ``last_uid`` was taken" describes the progress completely. A crash
before step 2 leaves the saved cursor where it was: the message is fetched again
on the next run and nothing is ever skipped. A crash between steps 1 and 2 fetches
again a message that was already committed, so step 1 must be idempotent; the
intake service makes it so by dropping a message whose Message-ID it already has
(``Engine.receive`` with ``external_id`` set to the Message-ID returns the stored
complaint). Together: each message makes exactly one complaint. Saving the cursor in
the same database transaction as the complaint removes even the repeat.

The flags of step 3 are only for people; the library never reads them back. A crash
between steps 2 and 3 leaves one taken message unflagged, which is harmless.

When the mailbox's UIDVALIDITY is not the cursor's (the mailbox was deleted and made
again, or the server rebuilt its indexes), its UIDs name other messages: the cursor
is reset and every message in the mailbox is read again, and the service drops the
ones it already has by their Message-ID. A cursor beyond the mailbox's UIDNEXT
(a mailbox restored from a backup under the same UIDVALIDITY) is reset the same way,
since otherwise new messages numbered below it would never be read.
"""

from __future__ import annotations

import imaplib
import logging
import os
import re
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import TracebackType
from typing import Final, Literal, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import attrs

from complaint_flow import arguments
from complaint_flow.channels.mailbox_names import decode_mailbox_name, encode_mailbox_name
from complaint_flow.errors import ChannelError, InvalidArgumentError

Security = Literal["ssl", "starttls", "none"]

SECURITIES: Final = ("ssl", "starttls", "none")
"""``ssl``: TLS from the first byte (IMAPS, port 993); ``starttls``: plain IMAP
upgraded with STARTTLS before logging in (port 143); ``none``: no encryption at all
(only for a server on the same machine)."""

DEFAULT_PORTS: Final = {"ssl": 993, "starttls": 143, "none": 143}

DONE_KEYWORD: Final = "$ComplaintFlowDone"
"""The IMAP keyword :meth:`ImapMailbox.mark_done` adds, with ``\\Seen``."""

MAX_UID: Final = 2**32 - 1
"""UIDs and UIDVALIDITY values are unsigned 32-bit numbers (RFC 3501)."""

_SEARCH_WINDOW = 20_000
"""UIDs asked for per ``UID SEARCH``: keeps each answer far below imaplib's 1 MB
line limit however large the mailbox is."""

_MAILBOXES_SHOWN = 20
"""Mailbox names an error message lists at most."""

_URL_OPTIONS = ("cafile", "security", "timeout")

_log = logging.getLogger(__name__)


# -- settings ------------------------------------------------------------------------


@attrs.frozen(init=False)
class ImapSettings:
    """Where a mailbox is and how to log in to it; every value is checked here.

    Args:
        host: the server's host name or address.
        username: the login name.
        password: the password (never shown by ``repr`` or in error messages).
        port: the TCP port; by default 993 for ``ssl``, 143 otherwise.
        security: ``"ssl"`` (IMAPS), ``"starttls"`` or ``"none"`` (plain text: only
            for a server on this machine).
        mailbox: the mailbox (folder) to read; names outside ASCII are sent in IMAP's
            modified UTF-7, as the protocol requires.
        timeout: seconds to wait for the server on every operation.
        cafile: a PEM file of the certificates to trust instead of the system's (a
            private CA or a self-signed server certificate).
        ssl_context: an ``ssl.SSLContext`` to use as it is (instead of ``cafile``).

    Raises:
        InvalidArgumentError: a value is malformed; the message says which and why.

    >>> settings = ImapSettings("imap.example.org", "complaints", "s3cret")
    >>> settings.port, settings.security, settings.mailbox
    (993, 'ssl', 'INBOX')
    >>> "s3cret" in repr(settings)
    False
    """

    host: str
    username: str
    password: str = attrs.field(repr=False)
    port: int
    security: Security
    mailbox: str
    timeout: float
    cafile: str | None
    ssl_context: ssl.SSLContext | None = attrs.field(repr=False)

    def __init__(
        self,
        host: str,
        username: str,
        password: str,
        *,
        port: int | None = None,
        security: Security = "ssl",
        mailbox: str = "INBOX",
        timeout: float = 30.0,
        cafile: str | os.PathLike[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        checked_security = cast(Security, arguments.one_of("security", security, SECURITIES))
        checked_port = arguments.optional_whole_number("port", port, minimum=1, maximum=65535)
        checked_cafile = _cafile(cafile)
        if ssl_context is not None:
            arguments.instance(
                "ssl_context", ssl_context, ssl.SSLContext, "ssl.create_default_context()"
            )
        if checked_security == "none" and (checked_cafile is not None or ssl_context is not None):
            raise InvalidArgumentError(
                "cafile and ssl_context are for TLS, but security is 'none'; use "
                "security='ssl' or 'starttls', or leave cafile and ssl_context out"
            )
        if checked_cafile is not None and ssl_context is not None:
            raise InvalidArgumentError(
                "give cafile or ssl_context, not both; to use both, load the file into the "
                "context: ssl_context.load_verify_locations(cafile)"
            )
        self.__attrs_init__(
            host=arguments.name("host", host),
            username=arguments.text("username", username, strip=False),
            password=_password(password),
            port=checked_port if checked_port is not None else DEFAULT_PORTS[checked_security],
            security=checked_security,
            mailbox=arguments.name("mailbox", mailbox),
            timeout=float(arguments.number("timeout", timeout, minimum=0.1, maximum=3600)),
            cafile=checked_cafile,
            ssl_context=ssl_context,
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> ImapSettings:
        """Settings from a URL: ``imaps://user:password@host:993/MAILBOX?option=value``.

        ``imaps://`` is TLS from the start; ``imap://`` is STARTTLS unless the URL
        says ``?security=none``. The user name, the password and the mailbox are
        percent-decoded (write ``%40`` for an ``@`` in a user name); no path means
        ``INBOX``. Options: ``cafile=PATH``, ``timeout=SECONDS``,
        ``security=starttls|none`` (``imap://`` only).

        Args:
            url: the URL.
            password: the password, if the URL has none (keep it out of the URL when
                the URL is written in a configuration file).
            ssl_context: an ``ssl.SSLContext`` to use instead of ``cafile``.

        Raises:
            InvalidArgumentError: the URL is malformed; the message shows it with the
                password hidden.

        >>> settings = ImapSettings.from_url("imap://help%40shop.example:pw@mail.shop.example/Complaints")
        >>> settings.username, settings.security, settings.port, settings.mailbox
        ('help@shop.example', 'starttls', 143, 'Complaints')
        >>> settings.display
        'imap://help%40shop.example@mail.shop.example:143/Complaints'
        """
        if not isinstance(url, str):
            raise InvalidArgumentError(
                f"url must be text such as 'imaps://user:password@host/INBOX', got a "
                f"{type(url).__name__} (not shown: it may hold a password); pass a str"
            )
        arguments.text("url", _hide_password(url))
        url = url.strip()
        shown = _hide_password(url)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise _bad_url(shown, str(exc)) from None
        scheme = parts.scheme.lower()
        if scheme not in ("imap", "imaps") or not url.partition(":")[2].startswith("//"):
            raise _bad_url(shown, "it does not start with 'imaps://' or 'imap://'")
        if not parts.hostname:
            raise _bad_url(shown, "it names no host")
        if not parts.username:
            raise _bad_url(shown, "it names no user: write imaps://USER@host/INBOX")
        options: dict[str, str] = {}
        for option, value in parse_qsl(parts.query, keep_blank_values=True):
            if option not in _URL_OPTIONS:
                known = ", ".join(_URL_OPTIONS)
                raise _bad_url(shown, f"unknown option {option!r}; the options are {known}")
            if option in options:
                raise _bad_url(shown, f"option {option!r} is given twice")
            options[option] = value
        security = options.get("security", "ssl" if scheme == "imaps" else "starttls")
        if scheme == "imaps" and security != "ssl":
            raise _bad_url(
                shown, f"imaps:// is TLS from the start, not security={security!r}: use imap://"
            )
        if security not in SECURITIES:
            raise _bad_url(shown, f"security={security!r}: use starttls or none")
        timeout: float = 30.0
        if "timeout" in options:
            try:
                timeout = float(options["timeout"])
            except ValueError:
                raise _bad_url(
                    shown, f"timeout={options['timeout']!r} is not a number of seconds"
                ) from None
        url_password = unquote(parts.password) if parts.password is not None else None
        if url_password is not None and password is not None:
            raise _bad_url(shown, "it has a password and password= is given too: give one")
        given_password = password if password is not None else url_password
        if given_password is None:
            raise _bad_url(shown, "it has no password: write USER:PASSWORD@ or pass password=")
        mailbox = unquote(parts.path[1:]) if parts.path not in ("", "/") else "INBOX"
        return cls(
            host=parts.hostname,
            username=unquote(parts.username),
            password=given_password,
            port=port,
            security=cast(Security, security),
            mailbox=mailbox,
            timeout=timeout,
            cafile=options.get("cafile") or None,
            ssl_context=ssl_context,
        )

    @property
    def display(self) -> str:
        """The settings as a URL without the password, for messages and logs."""
        scheme = "imaps" if self.security == "ssl" else "imap"
        user = _percent_encoded(self.username)
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?security=none" if self.security == "none" else ""
        return f"{scheme}://{user}@{host}:{self.port}/{_percent_encoded(self.mailbox)}{query}"

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context connections use: ``ssl_context``, or one trusting ``cafile``
        (or the system's certificates); None for ``security="none"``."""
        if self.security == "none":
            return None
        if self.ssl_context is not None:
            return self.ssl_context
        return ssl.create_default_context(cafile=self.cafile)


def _password(value: object) -> str:
    # Checked without arguments.text, whose message would show the value.
    if isinstance(value, str) and value:
        try:
            value.encode()
        except UnicodeEncodeError:
            pass
        else:
            return value  # spaces around a password are part of it
    kind = "empty text" if value == "" else f"a {type(value).__name__}"
    raise InvalidArgumentError(
        f"password must be non-empty text, got {kind} (the value is not shown); "
        "pass the password as a str"
    )


def _cafile(value: object) -> str | None:
    if value is None:
        return None
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    checked = arguments.text("cafile", path, strip=False)
    if not os.path.isfile(checked):
        raise InvalidArgumentError(
            f"cafile must be the path of a PEM file of certificates, got {checked!r}, "
            "which is not a file; check the path (relative paths start at the current "
            "directory)"
        )
    try:  # read once here, so that a wrong file is refused now rather than at connect
        ssl.create_default_context(cafile=checked)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise InvalidArgumentError(
            f"cafile must be a PEM file of certificates, but {checked!r} cannot be read as "
            f"one ({exc}); give the CA's certificate in PEM form (-----BEGIN CERTIFICATE-----)"
        ) from None
    return checked


_PASSWORD_IN_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@?#]*):[^@/?#]*@")


def _hide_password(url: str) -> str:
    return _PASSWORD_IN_USERINFO.sub(r"\1:***@", url)


def _bad_url(shown: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"url must be an IMAP URL, got {shown!r}: {why}. Write e.g. "
        "'imaps://complaints:PASSWORD@imap.example.org:993/INBOX' or "
        "'imap://complaints:PASSWORD@127.0.0.1:143/INBOX?security=none'"
    )


def _percent_encoded(value: str) -> str:
    return "".join(
        char if char.isalnum() or char in "-._~" else "".join(f"%{b:02X}" for b in char.encode())
        for char in value
    )


# -- cursor and messages -------------------------------------------------------------


def _uid_number(minimum: int) -> Callable[[object, attrs.Attribute[int], object], None]:
    def check(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
        arguments.whole_number(attribute.name, value, minimum=minimum, maximum=MAX_UID)

    return check


@attrs.frozen
class MailboxCursor:
    """How far a mailbox has been read: every message up to ``last_uid`` was taken.

    Args:
        uidvalidity: the mailbox's UIDVALIDITY when it was read; UIDs mean nothing
            under another one.
        last_uid: the UID of the last message taken (0: none yet).

    >>> MailboxCursor(uidvalidity=1700000000, last_uid=42)
    MailboxCursor(uidvalidity=1700000000, last_uid=42)
    """

    uidvalidity: int = attrs.field(validator=_uid_number(1))
    last_uid: int = attrs.field(default=0, validator=_uid_number(0))


@attrs.frozen
class FetchedMessage:
    """One message read from the mailbox, and the cursor to save once it is taken.

    Args:
        uid: its UID in the mailbox.
        uidvalidity: the mailbox's UIDVALIDITY it was read under.
        raw: the whole message exactly as the server keeps it (RFC 5322 bytes).
    """

    uid: int
    uidvalidity: int
    raw: bytes = attrs.field(repr=lambda raw: f"<{len(raw)} bytes>")

    @property
    def cursor(self) -> MailboxCursor:
        """The cursor just past this message: save it after the message is committed."""
        return MailboxCursor(uidvalidity=self.uidvalidity, last_uid=self.uid)


# -- the mailbox ---------------------------------------------------------------------


@attrs.frozen
class _Selection:
    uidvalidity: int
    uidnext: int | None
    keywords_allowed: bool


class ImapMailbox:
    """An IMAP mailbox to read new messages from; a context manager that logs out.

    The connection opens on ``with`` (or the first call) and is kept for the calls
    that follow; after a failure the next call connects again. One connection
    serves one thread: give each thread its own ``ImapMailbox``.

    Args:
        settings: where the mailbox is and how to log in.

    Raises:
        InvalidArgumentError: ``settings`` is not an :class:`ImapSettings`.
    """

    def __init__(self, settings: ImapSettings) -> None:
        self._settings = arguments.instance(
            "settings",
            settings,
            ImapSettings,
            "ImapSettings.from_url('imaps://user:pw@host/INBOX')",
        )
        self._connection: imaplib.IMAP4 | None = None
        self._selection: _Selection | None = None
        self._last_uidvalidity: int | None = None

    def __repr__(self) -> str:
        return f"ImapMailbox({self._settings.display!r})"

    def __enter__(self) -> ImapMailbox:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def settings(self) -> ImapSettings:
        """The settings it was made with."""
        return self._settings

    def open(self) -> None:
        """Connect and log in, if not connected already.

        Raises:
            ChannelError: the server cannot be reached, TLS fails or the login is
                refused; the message names the server and what to check.
        """
        if self._connection is None:
            self._connection = self._connect()

    def close(self) -> None:
        """Log out and close the connection; never raises (a dead connection is just dropped)."""
        connection, self._connection, self._selection = self._connection, None, None
        if connection is None:
            return
        try:
            connection.logout()
        except (imaplib.IMAP4.error, OSError, EOFError):
            with suppress(OSError):
                connection.shutdown()

    def fetch_new(
        self, cursor: MailboxCursor | None, limit: int | None = None, *, batch: int = 100
    ) -> Iterator[FetchedMessage]:
        """The messages after ``cursor``, oldest first, each with the cursor past it.

        Reading uses ``BODY.PEEK[]``: no message is marked ``\\Seen`` by being read.
        Messages are fetched ``batch`` at a time (a batch is held in memory); the
        mailbox is opened when this is called, then searched and fetched as the
        iterator is consumed. Save ``message.cursor`` only after the message
        is committed (the contract is in this module's docstring).

        Args:
            cursor: the saved cursor, or None to read the mailbox from its first
                message. A cursor of another UIDVALIDITY (or one beyond the mailbox's
                UIDNEXT) is reset: every message is read again.
            limit: at most this many messages (None: all new ones; 0: none).
            batch: messages asked for per ``UID FETCH``.

        Raises:
            InvalidArgumentError: an argument is malformed.
            ChannelError: the server, the network or the mailbox failed (also while
                iterating); the saved cursor is still right: call again later.
        """
        if cursor is not None:
            arguments.instance(
                "cursor", cursor, MailboxCursor, "MailboxCursor(uidvalidity=..., last_uid=...)"
            )
        checked_limit = arguments.optional_whole_number("limit", limit, minimum=0)
        checked_batch = arguments.whole_number("batch", batch, minimum=1, maximum=10_000)
        selection = self._select()
        first = 1
        if cursor is not None and cursor.uidvalidity == selection.uidvalidity:
            if selection.uidnext is not None and cursor.last_uid >= selection.uidnext:
                _log.warning(
                    "%s: the cursor (last UID %d) is beyond the mailbox's next UID %d; "
                    "reading every message again",
                    self._settings.display,
                    cursor.last_uid,
                    selection.uidnext,
                )
            else:
                first = cursor.last_uid + 1
        elif cursor is not None:
            _log.warning(
                "%s: UIDVALIDITY is %d, the cursor's is %d (the mailbox was made again); "
                "reading every message again",
                self._settings.display,
                selection.uidvalidity,
                cursor.uidvalidity,
            )
        self._last_uidvalidity = selection.uidvalidity
        return self._messages(selection, first, checked_limit, checked_batch)

    def mark_done(self, uid: int) -> None:
        """Flag a taken message ``\\Seen`` and ``$ComplaintFlowDone``, for people.

        ``\\Seen`` is what every mail client shows (the message no longer looks
        new); the keyword says the library took it rather than a person read it
        (search for it with ``SEARCH KEYWORD $ComplaintFlowDone``, or
        ``UNKEYWORD`` for the messages not taken). A server that keeps no keywords
        gets ``\\Seen`` alone. The library never reads the flags back: the cursor
        alone decides what is new. Marking a message that was deleted meanwhile does
        nothing.

        Args:
            uid: a UID that :meth:`fetch_new` gave on this mailbox.

        Raises:
            InvalidArgumentError: ``uid`` is not a UID.
            ChannelError: the server refused, or the mailbox was made again since
                the message was fetched (its UIDs now name other messages).
        """
        checked = arguments.whole_number("uid", uid, minimum=1, maximum=MAX_UID)
        fetched_under = self._last_uidvalidity
        selection = self._selection or self._select()
        if fetched_under is not None and selection.uidvalidity != fetched_under:
            raise ChannelError(
                f"IMAP server {self._settings.display}: not marking UID {checked}: the "
                f"mailbox's UIDVALIDITY changed from {fetched_under} to "
                f"{selection.uidvalidity} since it was fetched, so that UID names another "
                "message now; fetch again from the saved cursor"
            )
        flags = f"(\\Seen {DONE_KEYWORD})" if selection.keywords_allowed else "(\\Seen)"
        advice = f"check that the account may change flags in {self._settings.mailbox!r}"
        with self._talking(f"flag UID {checked} as done", advice):
            typ, data = self._live().uid("STORE", str(checked), "+FLAGS.SILENT", flags)
        if typ != "OK":
            # Open the mailbox again next time: its UIDVALIDITY may be what changed.
            self._selection = None
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot flag UID {checked} as done: "
                f"{_said(data)}; {advice}"
            )

    # -- the conversation ----------------------------------------------------------

    def _live(self) -> imaplib.IMAP4:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> imaplib.IMAP4:
        settings = self._settings
        where = f"{settings.host}:{settings.port}"
        with self._talking(f"connect to {where}", _reach_advice(settings)):
            context = settings.tls_context()
            connection: imaplib.IMAP4
            if settings.security == "ssl":
                connection = imaplib.IMAP4_SSL(
                    settings.host, settings.port, ssl_context=context, timeout=settings.timeout
                )
            else:
                connection = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
        try:
            if settings.security == "starttls":
                if "STARTTLS" not in connection.capabilities:
                    raise ChannelError(
                        f"IMAP server {settings.display} does not offer STARTTLS; use "
                        "security='ssl' if it has an IMAPS port (usually 993)"
                    )
                with self._talking("start TLS (STARTTLS)", _reach_advice(settings)):
                    connection.starttls(context)
            self._log_in(connection)
        except BaseException:
            with suppress(OSError):
                connection.shutdown()
            raise
        return connection

    def _log_in(self, connection: imaplib.IMAP4) -> None:
        settings = self._settings
        advice = (
            f"check the username ({settings.username!r}) and the password; the server's "
            "log says more"
        )
        with self._talking(f"log in as {settings.username!r}", advice):
            if "AUTH=PLAIN" in connection.capabilities:
                # SASL PLAIN carries UTF-8; LOGIN would refuse a password outside ASCII.
                secret = f"\0{settings.username}\0{settings.password}".encode()
                connection.authenticate("PLAIN", lambda _challenge: secret)
            elif settings.username.isascii() and settings.password.isascii():
                connection.login(settings.username, settings.password)
            else:
                raise ChannelError(
                    f"IMAP server {settings.display} offers no AUTH=PLAIN, and its LOGIN "
                    "command takes ASCII only: the username or password is outside ASCII; "
                    "use an ASCII password or a server that offers AUTH=PLAIN"
                )

    def _select(self) -> _Selection:
        connection = self._live()
        mailbox = self._settings.mailbox
        with self._talking(f"open mailbox {mailbox!r}", f"check the mailbox {mailbox!r} exists"):
            self._selection = None
            typ, data = connection.select(_quoted(mailbox))
            if typ != "OK":
                raise ChannelError(
                    f"IMAP server {self._settings.display}: cannot open mailbox {mailbox!r}: "
                    f"{_said(data)}; the account's mailboxes are: {self._mailbox_names()}. "
                    "Check the mailbox setting"
                )
            uidvalidity = _number_in(connection.response("UIDVALIDITY")[1])
            uidnext = _number_in(connection.response("UIDNEXT")[1])
            permanent = connection.response("PERMANENTFLAGS")[1]
        if uidvalidity is None or not 1 <= uidvalidity <= MAX_UID:
            raise ChannelError(
                f"IMAP server {self._settings.display} gave no UIDVALIDITY for {mailbox!r}, "
                "so no cursor can be kept on it; use a server that follows RFC 3501"
            )
        flags = b" ".join(item for item in permanent if isinstance(item, bytes))
        self._selection = _Selection(
            uidvalidity=uidvalidity,
            uidnext=uidnext,
            keywords_allowed=b"\\*" in flags or DONE_KEYWORD.encode() in flags,
        )
        return self._selection

    def _mailbox_names(self) -> str:
        try:
            typ, data = self._live().list()
        except (imaplib.IMAP4.error, OSError, EOFError):
            return "(they cannot be listed)"
        names = []
        for line in data if typ == "OK" else ():
            if isinstance(line, bytes):
                found = re.search(rb'"((?:[^"\\]|\\.)*)"\s*$|(\S+)\s*$', line)
                if found:
                    quoted, atom = found.group(1), found.group(2)
                    raw = quoted.replace(b'\\"', b'"').replace(b"\\\\", b"\\") if quoted else atom
                    names.append(repr(decode_mailbox_name(raw.decode("ascii", "replace"))))
        shown = ", ".join(sorted(names)[:_MAILBOXES_SHOWN]) or "(none)"
        more = len(names) - _MAILBOXES_SHOWN
        return f"{shown} and {more} more" if more > 0 else shown

    def _messages(
        self, selection: _Selection, first: int, limit: int | None, batch: int
    ) -> Iterator[FetchedMessage]:
        remaining = limit
        for uids in self._new_uids(selection, first):
            for start in range(0, len(uids), batch):
                if remaining is not None and remaining <= 0:
                    return
                size = batch if remaining is None else min(batch, remaining)
                wanted = uids[start : start + size]
                for uid, raw in self._fetch(wanted):
                    yield FetchedMessage(uid=uid, uidvalidity=selection.uidvalidity, raw=raw)
                    if remaining is not None:
                        remaining -= 1

    def _new_uids(self, selection: _Selection, first: int) -> Iterator[list[int]]:
        """The UIDs from ``first`` on, in ascending windows of the UID space."""
        last = selection.uidnext - 1 if selection.uidnext is not None else None
        while last is None or first <= last:
            end = min(first + _SEARCH_WINDOW - 1, last) if last is not None else None
            span = f"{first}:{end}" if end is not None else f"{first}:*"
            with self._talking("search for new messages", "try again later"):
                typ, data = self._live().uid("SEARCH", "UID", span)
            if typ != "OK":
                raise ChannelError(
                    f"IMAP server {self._settings.display}: cannot search "
                    f"{self._settings.mailbox!r}: {_said(data)}; try again later"
                )
            found = sorted(
                uid
                for line in data
                if isinstance(line, bytes)
                for uid in map(int, line.split())
                # "N:*" means at least the last message even when its UID is below N.
                if uid >= first and (end is None or uid <= end)
            )
            if found:
                yield found
            if end is None:
                return
            first = end + 1

    def _fetch(self, uids: Sequence[int]) -> list[tuple[int, bytes]]:
        with self._talking(f"fetch {len(uids)} messages", "try again later"):
            typ, data = self._live().uid("FETCH", _sequence_set(uids), "(UID BODY.PEEK[])")
        if typ != "OK":
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot fetch messages "
                f"{_sequence_set(uids)} of {self._settings.mailbox!r}: {_said(data)}; the "
                "server's log says why (a damaged message file?); the saved cursor is unchanged"
            )
        wanted = set(uids)
        bodies = {uid: raw for uid, raw in _bodies(data) if uid in wanted}
        # A UID missing from the answer was deleted since the search: nothing to take.
        return [(uid, bodies[uid]) for uid in uids if uid in bodies]

    @contextmanager
    def _talking(self, doing: str, advice: str) -> Iterator[None]:
        try:
            yield
        except ChannelError:
            raise
        except imaplib.IMAP4.abort as exc:
            self._drop()
            raise ChannelError(
                f"IMAP server {self._settings.display} closed the connection while trying "
                f"to {doing}: {_sentence(exc)}; the next call connects again (check the "
                "server runs)"
            ) from exc
        except imaplib.IMAP4.error as exc:
            self._selection = None
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot {doing}: {_sentence(exc)}; {advice}"
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot {doing}: its TLS certificate "
                f"is not trusted ({exc.verify_message}); give cafile= the certificate of the "
                "CA that signed it (or the server's own, if self-signed), and check the host "
                "name is one the certificate names"
            ) from exc
        except ssl.SSLError as exc:
            self._drop()
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot {doing}: TLS failed ({exc}); "
                "check security= matches the port: 'ssl' for IMAPS (usually 993), "
                "'starttls' for IMAP (usually 143)"
            ) from exc
        except TimeoutError as exc:
            self._drop()
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot {doing}: no answer within "
                f"{self._settings.timeout:g} s; check the host and port, the firewall, that "
                "the server runs and that security= matches the port (or raise timeout=)"
            ) from exc
        except (OSError, EOFError) as exc:
            self._drop()
            raise ChannelError(
                f"IMAP server {self._settings.display}: cannot {doing}: "
                f"{exc or type(exc).__name__}; {advice}"
            ) from exc

    def _drop(self) -> None:
        connection, self._connection, self._selection = self._connection, None, None
        if connection is not None:
            with suppress(OSError, imaplib.IMAP4.error):
                connection.shutdown()


def _reach_advice(settings: ImapSettings) -> str:
    return (
        f"check the host ({settings.host!r}) and port ({settings.port}), that the server "
        f"runs and that it speaks {_SECURITY_WORDS[settings.security]} there"
    )


_SECURITY_WORDS = {
    "ssl": "IMAP over TLS (security='ssl')",
    "starttls": "IMAP with STARTTLS (security='starttls')",
    "none": "plain IMAP (security='none')",
}


# -- the protocol's details ----------------------------------------------------------


def _said(data: Sequence[object]) -> str:
    """What the server said in a NO or BAD answer."""
    words = [
        _sentence(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item))
        for item in data
        if item is not None
    ]
    return "; ".join(words) or "no reason given"


def _sentence(said: object) -> str:
    """A server's words without the full stop, to go inside a sentence of ours."""
    return str(said).strip().rstrip(".")


def _number_in(data: Sequence[object]) -> int | None:
    for item in data:
        if isinstance(item, bytes) and item.strip().isdigit():
            return int(item)
    return None


def _sequence_set(uids: Sequence[int]) -> str:
    """Ascending UIDs as an IMAP sequence set, runs written as ranges.

    >>> _sequence_set([1, 2, 3, 5, 7, 8])
    '1:3,5,7:8'
    """
    runs: list[str] = []
    start = previous = uids[0]
    for uid in [*uids[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        runs.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(runs)


_UID_ITEM = re.compile(rb"\bUID (\d+)")
_BODY_LITERAL = re.compile(rb"\bBODY\[\] \{\d+\}$")
_BODY_NIL = re.compile(rb"\bBODY\[\] NIL\b")


def _bodies(data: Sequence[object]) -> Iterator[tuple[int, bytes]]:
    """(uid, raw) pairs from imaplib's answer to ``UID FETCH … (UID BODY.PEEK[])``.

    imaplib gives a message as ``(b'7 (UID 12 BODY[] {3042}', b'<3042 bytes>')``
    followed by ``b')'``; a server may send the UID after the body instead (it then
    starts the bytes that follow), and may mix in FETCH answers about other messages
    (flags someone changed), which carry no body and are skipped.

    >>> answer = [
    ...     (b"1 (UID 7 BODY[] {5}", b"Hello"), b")",
    ...     b"2 (FLAGS ($Forwarded))",
    ...     (b"3 (BODY[] {3}", b"Bye"), b" UID 9)",
    ... ]
    >>> list(_bodies(answer))
    [(7, b'Hello'), (9, b'Bye')]
    """
    for index, item in enumerate(data):
        if isinstance(item, tuple) and len(item) == 2:
            head, raw = item
            if not (isinstance(head, bytes) and _BODY_LITERAL.search(head)):
                continue
            found = _UID_ITEM.search(head)
            if found is None and index + 1 < len(data):
                after = data[index + 1]
                found = _UID_ITEM.search(after) if isinstance(after, bytes) else None
            if found is not None and isinstance(raw, bytes):
                yield int(found.group(1)), raw
        elif isinstance(item, bytes) and _BODY_NIL.search(item):
            found = _UID_ITEM.search(item)
            if found is not None:
                yield int(found.group(1)), b""  # the server has no content for it


def _quoted(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string, in modified UTF-7."""
    encoded = encode_mailbox_name(mailbox)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = [
    "DONE_KEYWORD",
    "SECURITIES",
    "FetchedMessage",
    "ImapMailbox",
    "ImapSettings",
    "MailboxCursor",
]
