"""Composing the email for an :class:`~complaint_flow.model.channels.Outgoing` message.

Pure: no network, no clock unless no ``date`` is given. What the headers are for:

- ``Subject`` carries the complaint's reference in square brackets
  (``[CF-2026-000042] Your complaint``), once: helpdesks thread replies on it first.
- ``Message-ID`` is derived from the outbox message's key and the sender's domain, so
  a retried send of the same message has the same id and a receiver can drop the repeat.
- ``In-Reply-To`` and ``References`` thread the reply under the customer's message;
  they are folded between ids and never encoded, as mail clients require.
- Names and subjects in any script are encoded (RFC 2047) without losing a space
  (see :mod:`complaint_flow.channels.email_headers`).
- ``Auto-Submitted: auto-replied`` (RFC 3834) and ``X-Auto-Response-Suppress: All``
  (Exchange) on automatic messages, so that out-of-office replies do not answer them
  and two robots do not mail each other forever.

>>> from datetime import UTC, datetime
>>> from complaint_flow.model.channels import Outgoing
>>> outgoing = Outgoing(
...     key="c-1:2:customer", channel="email", address="ada@example.org",
...     recipient_name="Ada Lovelace", subject="Your complaint", text="We are on it.",
...     reference="CF-2026-000042",
... )
>>> mail = compose_email(
...     outgoing, sender="complaints@shop.example", sender_name="Shop complaints",
...     domain="shop.example", date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
... )
>>> print(mail["Subject"], "|", mail["To"], "|", mail["Auto-Submitted"])
[CF-2026-000042] Your complaint | Ada Lovelace <ada@example.org> | auto-replied
>>> mail["Message-ID"] == message_id("c-1:2:customer", "shop.example")
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime

from complaint_flow.arguments import (
    flag,
    instance,
    optional_aware_datetime,
    shown,
    text,
)
from complaint_flow.channels.email_headers import AddressHeader, MessageIdsHeader, TextHeader
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.channels import Outgoing

MESSAGE_ID_PREFIX = "cf."
"""How the ids of the Message-IDs this library makes begin (``<cf.…@domain>``)."""

_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_PLAIN_LINE_LENGTH = 78
"""Lines longer than this (RFC 5322's advice) are sent quoted-printable or base64."""
_SEVEN_BIT = frozenset(chr(code) for code in range(32, 127)) | {"\t", "\n"}
_LONGEST_ID = 900
"""A message id longer than this could not be written on one header line (998 at most)."""


def compose_email(
    outgoing: Outgoing,
    *,
    sender: str,
    sender_name: str = "",
    domain: str,
    date: datetime | None = None,
) -> EmailMessage:
    """The email for ``outgoing``, ready for ``smtplib.SMTP.send_message``.

    Args:
        outgoing: the message to send.
        sender: the From address (``complaints@shop.example``).
        sender_name: the From display name (any text; non-ASCII is encoded).
        domain: the right-hand side of the Message-ID, usually the sender's domain.
        date: the ``Date`` header (default: now).

    Returns:
        A message with the ``policy.default`` policy: text in UTF-8, plus an HTML
        alternative when ``outgoing.html`` is set.

    Raises:
        InvalidArgumentError: an argument is malformed, or ``outgoing`` has an
            address that cannot be an email address (the message names the field).
    """
    instance("outgoing", outgoing, Outgoing, "Outgoing(key=..., channel='email', ...)")
    from_address = _address("From", text("sender_name", sender_name, blank=True), "sender", sender)
    to_address = _address(
        "To",
        text("outgoing.recipient_name", outgoing.recipient_name, blank=True),
        "outgoing.address",
        outgoing.address,
    )
    message_domain = mail_domain("domain", domain)
    sent_at = optional_aware_datetime("date", date) or datetime.now(UTC)
    subject = subject_with_reference(
        text("outgoing.subject", outgoing.subject, blank=True),
        text("outgoing.reference", outgoing.reference, blank=True),
    )
    in_reply_to = message_ids(
        "outgoing.in_reply_to", () if outgoing.in_reply_to is None else (outgoing.in_reply_to,)
    )
    references = message_ids("outgoing.references", outgoing.references)
    # RFC 5322 3.6.4: References ends with the id of the message answered.
    references += tuple(known for known in in_reply_to if known not in references)

    mail = EmailMessage(policy=email_policy.default)
    mail["From"] = from_address
    mail["To"] = to_address
    mail["Subject"] = TextHeader("Subject", subject)
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = MessageIdsHeader("Message-ID", (message_id(outgoing.key, message_domain),))
    if in_reply_to:
        mail["In-Reply-To"] = MessageIdsHeader("In-Reply-To", in_reply_to)
    if references:
        mail["References"] = MessageIdsHeader("References", references)
    if flag("outgoing.automatic", outgoing.automatic):
        mail["Auto-Submitted"] = "auto-replied"
        mail["X-Auto-Response-Suppress"] = "All"
    body = _lines(text("outgoing.text", outgoing.text, blank=True, strip=False))
    mail.set_content(body, charset="utf-8", cte=_transfer_encoding(body))
    if outgoing.html is not None:
        html = _lines(text("outgoing.html", outgoing.html, blank=True, strip=False))
        mail.add_alternative(html, subtype="html", charset="utf-8", cte=_transfer_encoding(html))
    return mail


def message_id(key: str, domain: str) -> str:
    """The Message-ID of the email for the outbox message ``key``: ``<cf.HASH@domain>``.

    The same key always gives the same id, so a message sent twice (the outbox
    delivers at least once) reads as one message to a receiver that drops repeats.
    The key is hashed (128 bits of SHA-256): any key gives a valid id, and an id
    says nothing about the complaint or the customer.

    >>> message_id("c-1:2:customer", "shop.example")
    '<cf.0476542fd6188e4c7993455c2e590110@shop.example>'

    Raises:
        InvalidArgumentError: ``key`` is not text, or ``domain`` is not a domain name.
    """
    if not isinstance(key, str):
        raise InvalidArgumentError(f"key must be text, got {shown(key)}; pass the outbox key")
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"<{MESSAGE_ID_PREFIX}{digest}@{mail_domain('domain', domain)}>"


def subject_with_reference(subject: str, reference: str) -> str:
    """``subject`` on one line, with ``[reference]`` in front unless it is there already.

    >>> subject_with_reference("Your complaint", "CF-2026-000042")
    '[CF-2026-000042] Your complaint'
    >>> subject_with_reference("Re: [CF-2026-000042] Your complaint", "CF-2026-000042")
    'Re: [CF-2026-000042] Your complaint'
    >>> subject_with_reference("Your\\ncomplaint ", "")
    'Your complaint'
    """
    line = _one_line(subject)
    tag = f"[{_one_line(reference)}]"
    if tag == "[]" or tag in line:
        return line
    return f"{tag} {line}" if line else tag


def message_ids(argument: str, values: Iterable[object]) -> tuple[str, ...]:
    """The usable message ids among ``values``, each in angle brackets, repeats dropped.

    An id given without its brackets gets them. One that cannot be a message id
    (no ``@``, spaces or line breaks inside, non-ASCII, too long) is left out: the
    email still goes, only less well threaded.

    >>> message_ids("references", ["<a@x>", "b@y", "not an id", "<a@x>"])
    ('<a@x>', '<b@y>')

    Raises:
        InvalidArgumentError: ``values`` is text rather than a list of ids.
    """
    if isinstance(values, str | bytes):
        raise InvalidArgumentError(
            f"{argument} must be a list of message ids, got {shown(values)}; pass a tuple: "
            f"({values!r},)"
        )
    found: list[str] = []
    for value in values:
        if not isinstance(value, str):
            continue
        candidate = value.strip()
        if not (candidate.startswith("<") and candidate.endswith(">")):
            candidate = f"<{candidate}>"
        inside = candidate[1:-1]
        usable = (
            "@" in inside
            and len(candidate) <= _LONGEST_ID
            and all("!" <= char <= "~" for char in inside)
            and "<" not in inside
            and ">" not in inside
            and not inside.startswith("@")
            and not inside.endswith("@")
        )
        if usable and candidate not in found:
            found.append(candidate)
    return tuple(found)


def mail_domain(argument: str, value: object) -> str:
    """A domain name as it goes in a header: ASCII, internationalised names as ``xn--``.

    >>> mail_domain("domain", "Shop.Example")
    'Shop.Example'
    >>> mail_domain("domain", "bücher.example")
    'xn--bcher-kva.example'

    Raises:
        InvalidArgumentError: ``value`` is not a domain name such as ``shop.example``.
    """
    given = text(argument, value)
    expected = "a domain name such as 'shop.example'"
    try:
        ascii_name = given.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(_HOST_LABEL.match(x) for x in labels):
        raise InvalidArgumentError(
            f"{argument} must be {expected}, got {shown(value)}; give the domain only, "
            "without '@', spaces or a port"
        )
    return ascii_name


def email_address(argument: str, value: object) -> str:
    """An email address (``local@domain``), its domain in ASCII (``xn--`` for IDNs).

    A non-ASCII local part is kept: sending it needs a server that offers SMTPUTF8.

    >>> email_address("sender", "complaints@bücher.example")
    'complaints@xn--bcher-kva.example'

    Raises:
        InvalidArgumentError: ``value`` is not an address such as ``ada@example.org``.
    """
    expected = "an email address such as 'ada@example.org'"
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{argument} must be {expected}, got {shown(value)}; pass a str")
    local, at, domain = value.strip().rpartition("@")
    problem = ""
    if not at or not local or not domain:
        problem = "it needs a name, an '@' and a domain"
    elif any(char.isspace() or not char.isprintable() for char in local) or any(
        char in local for char in '<>()[],;:\\"'
    ):
        problem = "give the bare address: no display name, spaces, brackets or quotes"
    else:
        try:
            domain = mail_domain(argument, domain)
        except InvalidArgumentError:
            problem = "its domain is not a domain name"
    if problem:
        raise InvalidArgumentError(f"{argument} must be {expected}, got {shown(value)}; {problem}")
    return f"{local}@{domain}"


def _address(header: str, display_name: str, argument: str, value: object) -> AddressHeader:
    local, _, domain = email_address(argument, value).rpartition("@")
    return AddressHeader(header, display_name, local, domain)


def _one_line(value: str) -> str:
    """Header text on one line: line breaks and runs of spaces become one space."""
    return " ".join(value.split())


def _lines(body: str) -> str:
    """A body with ``\\n`` line ends, however it came (SMTP writes them as CRLF)."""
    return body.replace("\r\n", "\n").replace("\r", "\n")


def _transfer_encoding(body: str) -> str:
    """7bit for short plain ASCII lines; else quoted-printable or base64, whichever is shorter.

    Never 8bit: ``smtplib`` does not ask the server for 8BITMIME, so 8-bit bodies
    would go out on a 7-bit transport.
    """
    lines = body.split("\n")
    if set(body) <= _SEVEN_BIT and all(len(line) <= _PLAIN_LINE_LENGTH for line in lines):
        return "7bit"
    encoded = body.encode("utf-8")
    escaped = sum(1 for byte in encoded if byte > 126 or (byte < 32 and byte not in (9, 10)))
    # Quoted-printable spends 3 bytes on an escaped byte, base64 4 on every 3.
    return "quoted-printable" if escaped * 6 < len(encoded) else "base64"


__all__ = [
    "MESSAGE_ID_PREFIX",
    "compose_email",
    "email_address",
    "mail_domain",
    "message_id",
    "message_ids",
    "subject_with_reference",
]
