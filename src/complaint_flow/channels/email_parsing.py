"""Reading inbound email: one raw message in, everything a complaint desk needs out.

:func:`parse_email` reads the bytes of one message as a mail server delivered them
(an ``.eml`` file, an IMAP ``RFC822`` fetch, an SMTP ``DATA`` section) and returns a
:class:`ParsedEmail`: who wrote, to whom, when, about what, the text, the newest part
of the text without the quoted conversation below it, the attachments (described,
not kept), whether a machine rather than a person sent it, and, for a bounce, which
recipients failed and why. It never guesses what the message is about: finding the
complaint it answers is the threading service's job, helped by
:func:`find_reference` and :func:`strip_subject_prefixes`.

It reads with the standard library's ``email`` package (the MIME structure with
``policy.compat32``, which is about seven times faster on real mail, and the headers
that carry meaning with ``policy.default``'s header registry), and with the optional
``email`` extra (``pip install 'complaint-flow[email]'``):
`inscriptis <https://github.com/weblyzard/inscriptis>`_ turns an HTML-only body into
text and `mail-parser-reply <https://github.com/alfonsrv/mail-parser-reply>`_ finds
where the newest reply ends, in English, German, French, Swedish, Danish, Dutch,
Spanish, Italian, Polish, Czech, Chinese, Japanese and Korean; this module adds
Russian, Belarusian and Ukrainian, and the separators that clients of any language
write above a quoted or forwarded message.

What is read, and how
---------------------

- **Text.** The inline ``text/plain`` parts in reading order (of a
  ``multipart/alternative``, the plain version); when a message has only HTML, the
  HTML turned into text. Every charset Python knows is read, with WHATWG's rule that
  ``iso-8859-1`` and ``us-ascii`` labels mean ``windows-1252`` (what senders who write
  them actually use), undeclared 8-bit text is read as UTF-8 or else
  ``windows-1252``, an unknown charset as UTF-8 or else ``windows-1252``, and bytes
  invalid in their charset become U+FFFD. ``format=flowed`` text (RFC 3676) is
  joined back into its paragraphs. Line ends are ``\\n``.
- **Newest part** (``reply_text``). The text above the first quoted message
  ("On … wrote:", "Am … schrieb …:", "От: … Отправлено: …", "-----Original
  Message-----", "Begin forwarded message:"…), without ``>``-quoted lines and without
  the signature; the whole text when that leaves nothing (a forward with no comment,
  a message that starts with the quote). The separators and attribution lines of
  this module are looked for in the whole text; mail-parser-reply's patterns, whose
  cost grows with the square of a line's length, in the first 200 lines.
- **Addresses.** ``sender`` and ``recipients`` (``To`` then ``Cc``) are bare
  addresses with the domain in lower case (the local part keeps its case, as RFC
  5321 says it may matter). Message ids keep their angle brackets:
  ``<id@host>`` whether or not the header had them, so they compare equal to
  :func:`email.utils.make_msgid` and to ``Receipt.message_id``.
- **Automatic mail** (``automatic``). The reason a machine sent it, or ``None``
  when a person did: ``Auto-Submitted`` other than ``no`` (RFC 3834), a
  ``multipart/report`` (bounces, read receipts), auto-reply headers
  (``X-Autoreply``, ``X-Autorespond``, ``X-Auto-Response-Suppress`` other than
  ``None``…), ``Precedence: bulk``/``junk``/``list``, mailing-list headers
  (``List-Id``, ``List-Unsubscribe``), a null ``Return-Path: <>``, an out-of-office
  subject ("Out of Office", "Automatic reply", "Abwesenheitsnotiz", "Réponse
  automatique", "Autosvar", "Автоматический ответ"…) or a robot sender
  (``no-reply@``, ``noreply@``, ``mailer-daemon@``, ``postmaster@``…). Never answer
  such mail automatically: that is how mail loops start.
- **Bounces** (``delivery_report``). For ``multipart/report;
  report-type=delivery-status`` (RFC 3464): each recipient's ``Action``, ``Status``
  and diagnostic, and the Message-ID of the returned message (from its
  ``message/rfc822`` or ``text/rfc822-headers`` part), which is how a bounce finds
  the message that bounced.
- **Attachments.** Every part that is not body text: file name (RFC 2231 and RFC
  2047 forms decoded; untrusted: never use it as a path), content type, size and
  SHA-256 of the decoded content. Inline images count (``inline=True``); an attached
  message (``message/rfc822``, a bounce's returned message) counts as one
  attachment. The alternative renderings of the body (the HTML beside the plain
  text) and a report's machine-readable ``message/delivery-status`` are not
  attachments.

What is refused
---------------

A message that cannot be read faithfully is refused with
:class:`~complaint_flow.errors.QuarantinedMessageError`, whose ``reason`` says
why, so the caller keeps it whole in the quarantine rather than acting on a
misreading:

- it has no header lines (it is not an email), or no ``From`` with an address;
- its header section is broken: a line in it is neither a header nor the blank
  line that ends it (``MissingHeaderBodySeparatorDefect``), so later headers would
  be read as body;
- a multipart part declares no boundary, or its boundary never appears
  (``NoBoundaryInMultipartDefect``, ``StartBoundaryNotFoundDefect``,
  ``MultipartInvariantViolationDefect``): its parts cannot be told apart;
- a base64 part cannot be decoded at all (``InvalidBase64LengthDefect``): its
  content would be lost;
- its parts are nested more than 50 deep (no mail client writes that).

Every other defect (a missing closing boundary, bad base64 padding or characters,
undecodable header bytes, an invalid date, an unknown charset…) is repaired the
way the ``email`` package repairs it and listed in ``defects`` for the record.
Nothing else is raised for any bytes: a failure of the ``email`` package itself on
hostile input is quarantined too.

>>> message = parse_email(
...     b"From: Ada Byron <ada@Example.ORG>\\r\\n"
...     b"To: service@shop.example\\r\\n"
...     b"Subject: =?utf-8?q?Re:_Ihre_Beschwerde_CF-2026-000042?=\\r\\n"
...     b"\\r\\n"
...     b"The replacement is broken too.\\r\\n"
...     b"\\r\\n"
...     b"On Mon, 2 Mar 2026 at 09:15, Service <service@shop.example> wrote:\\r\\n"
...     b"> We are sorry to hear that.\\r\\n"
... )
>>> message.sender, message.subject
('ada@example.org', 'Re: Ihre Beschwerde CF-2026-000042')
>>> message.reply_text
'The replacement is broken too.'
>>> find_reference(message.subject), strip_subject_prefixes(message.subject)
('CF-2026-000042', 'Ihre Beschwerde CF-2026-000042')
"""

# Mail is read in many scripts: Cyrillic, Greek and full-width letters here are meant.
# ruff: noqa: RUF001, RUF002

from __future__ import annotations

import codecs
import hashlib
import html
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email import errors as email_errors
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, Final, TypeVar

import attrs

from complaint_flow import arguments
from complaint_flow.errors import (
    ChannelError,
    ComplaintFlowError,
    InvalidArgumentError,
    QuarantinedMessageError,
)

__all__ = [
    "REPLY_PREFIXES",
    "Attachment",
    "DeliveryStatus",
    "ParsedEmail",
    "RecipientStatus",
    "find_reference",
    "latest_reply",
    "parse_email",
    "strip_subject_prefixes",
]

T = TypeVar("T")

_MAX_DEPTH: Final = 50
"""Parts nested deeper than this are refused (no mail client nests past a handful)."""


# -- what a message is read into -------------------------------------------------


@attrs.frozen
class Attachment:
    """One attached file or inline image, described; its content is not kept.

    Args:
        filename: the name the sender gave it, decoded (``None`` when none was
            given). Untrusted text: never use it as a path.
        content_type: the part's MIME type in lower case (``image/png``).
        size: the size of the decoded content in bytes.
        sha256: the SHA-256 of the decoded content, in hex: equal files have equal
            hashes, so a resent attachment can be recognised.
        inline: shown in the body (an inline image, a signature logo) rather than
            offered as a file.
    """

    filename: str | None
    content_type: str
    size: int
    sha256: str
    inline: bool = False


@attrs.frozen
class RecipientStatus:
    """What a delivery report says about one recipient (RFC 3464 per-recipient fields).

    Args:
        recipient: the address that was tried (``Final-Recipient``, else
            ``Original-Recipient``), domain in lower case.
        action: ``failed``, ``delayed``, ``delivered``, ``relayed`` or ``expanded``.
        status: the enhanced status code (RFC 3463) such as ``5.1.1``; ``""`` when
            the report gives none.
        diagnostic: the remote server's answer (``Diagnostic-Code``), such as
            ``smtp; 550 5.1.1 <x@example.org>: Recipient address rejected``; ``""``
            when none.
        remote_mta: the server that answered (``Remote-MTA``), or ``""``.
    """

    recipient: str
    action: str
    status: str
    diagnostic: str = ""
    remote_mta: str = ""

    @property
    def permanent(self) -> bool:
        """The failure will not go away by itself: a 5.x.x status (do not resend)."""
        return self.status.startswith("5.")


@attrs.frozen
class DeliveryStatus:
    """A bounce (or delay notice), read from an RFC 3464 delivery status report.

    Args:
        original_message_id: the Message-ID of the message the report is about (from
            the returned message or its headers), ``<id@host>``; ``None`` when the
            report returned neither.
        recipients: one :class:`RecipientStatus` per recipient reported on.
        reporting_mta: the server that wrote the report (``Reporting-MTA``), or ``""``.
    """

    original_message_id: str | None
    recipients: tuple[RecipientStatus, ...]
    reporting_mta: str = ""

    @property
    def failed(self) -> tuple[RecipientStatus, ...]:
        """The recipients whose ``Action`` is ``failed``."""
        return tuple(recipient for recipient in self.recipients if recipient.action == "failed")

    @property
    def permanent(self) -> bool:
        """Some recipient failed for good (a 5.x.x status)."""
        return any(recipient.permanent for recipient in self.failed)


@attrs.frozen
class ParsedEmail:
    """One inbound email, read; see the module documentation for each rule.

    Args:
        message_id: the ``Message-ID``, as ``<id@host>``; ``None`` when absent.
        in_reply_to: the ids in ``In-Reply-To``, in order, each ``<id@host>``.
        references: the ids in ``References``, oldest first, each ``<id@host>``.
        subject: the decoded subject, runs of whitespace made one space; ``""``
            when absent.
        sender: the ``From`` address, domain in lower case.
        sender_name: the ``From`` display name, decoded; ``""`` when none.
        recipients: the ``To`` then ``Cc`` addresses, without repeats.
        date: the ``Date``, timezone-aware (``-0000`` is read as UTC); ``None``
            when absent or unreadable.
        text: the whole text of the body (HTML turned into text when there is no
            plain text); ``""`` when there is none.
        reply_text: the newest part of ``text``: quoted messages and the signature
            removed (``text`` itself when that leaves nothing).
        attachments: every attached file and inline image, in order.
        automatic: why a machine sent it (``"Auto-Submitted: auto-replied"``,
            ``"List-Id: <complaints.lists.example>"``…), or ``None`` when a person
            wrote it.
        delivery_report: for a delivery status report (a bounce), what it says.
        defects: the minor defects found and repaired, as text, for the record.
    """

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: str
    sender_name: str
    recipients: tuple[str, ...]
    date: datetime | None
    text: str
    reply_text: str
    attachments: tuple[Attachment, ...] = ()
    automatic: str | None = None
    delivery_report: DeliveryStatus | None = None
    defects: tuple[str, ...] = ()


# -- the public calls ------------------------------------------------------------


def parse_email(raw: bytes) -> ParsedEmail:
    """Read one raw email message (see the module documentation for the rules).

    Args:
        raw: the message's bytes, headers and body, as delivered (CRLF or LF line
            ends).

    Returns:
        The message, read.

    Raises:
        InvalidArgumentError: ``raw`` is not ``bytes`` (or ``bytearray``).
        QuarantinedMessageError: the bytes are not an email, or are too damaged to
            read faithfully; ``reason`` says which. Keep the message whole in the
            quarantine.
        ChannelError: the ``email`` extra is not installed (inscriptis,
            mail-parser-reply).

    >>> parse_email(b"no headers here")
    Traceback (most recent call last):
    ...
    complaint_flow.errors.QuarantinedMessageError: the message has no header lines, so it is not an email; the message is kept in the quarantine: list it with `complaint-flow channels quarantine` and re-process it once fixed
    """  # noqa: E501
    if not isinstance(raw, bytes | bytearray):
        raise InvalidArgumentError(
            f"raw must be the message's bytes, got {arguments.shown(raw)}; read the file "
            "in binary mode (open(path, 'rb')) or encode the text you have"
        )
    try:
        return _Reading(bytes(raw)).parsed()
    except (ComplaintFlowError, MemoryError):
        raise
    except RecursionError as exc:
        raise QuarantinedMessageError(
            "its parts are nested too deeply for the email package to read"
        ) from exc
    except Exception as exc:
        # The email package has raised odd errors on hostile input before (IndexError,
        # HeaderParseError, ValueError in CPython's issue tracker); a message it cannot
        # read is quarantined, never lost and never a crash of the caller.
        raise QuarantinedMessageError(
            f"the email package could not read it ({type(exc).__name__}: {exc})"
        ) from exc


REPLY_PREFIXES: Final[tuple[str, ...]] = (
    # English and international
    "re", "fwd", "fw",
    # German, Dutch, Swedish/Danish/Norwegian, Finnish, Icelandic
    "aw", "wg", "antwort", "antw", "doorst", "sv", "svar", "vs", "vl", "fs",
    # French, Spanish, Portuguese, Italian (Outlook's "R:" and "I:")
    "tr", "rv", "res", "enc", "r", "i",
    # Polish, Czech, Hungarian, Slovenian/Croatian, Turkish, Latvian, Lithuanian
    "odp", "pd", "přeposlat", "vá", "továbbítás", "odg", "ynt", "ilt", "İlt", "cvp",
    "atb", "pārs", "ats", "pers",
    # Russian, Belarusian, Ukrainian, Greek
    "отв", "ответ", "пересл", "переслать", "адказ", "перасл", "відп", "відповідь", "σχετ", "πρθ",
    # Chinese, Japanese, Hebrew, Arabic
    "回复", "回覆", "答复", "转发", "轉寄", "返信", "転送", "השב", "הועבר", "رد", "إعادة توجيه",
)  # fmt: skip
"""The reply and forward prefixes :func:`strip_subject_prefixes` removes (any case)."""

_PREFIX_WORDS = "|".join(re.escape(word) for word in sorted(REPLY_PREFIXES, key=len, reverse=True))
_SUBJECT_PREFIXES: Final = re.compile(
    rf"(?:(?:{_PREFIX_WORDS})(?:\[\d+\]|\(\d+\)|\^\d+|\d+)?\s*[:：]\s*)+", re.IGNORECASE
)


def strip_subject_prefixes(subject: str) -> str:
    """The subject without the reply and forward prefixes a mail client put before it.

    Removes any run of :data:`REPLY_PREFIXES` at the start, in any case, each with an
    optional counter (``RE[2]:``, ``Re^2:``, ``Re(3):``, ``Re2:``), spaces before the
    colon (French ``TR :``) and full-width colons (``回复：``), and the whitespace
    around the result. Nothing after the first word that is not such a prefix is
    touched, so applying it twice changes nothing more.

    Args:
        subject: a subject line.

    Raises:
        InvalidArgumentError: ``subject`` is not text.

    >>> strip_subject_prefixes("AW: RE[2]: Fwd: Отв: Parcel CF-2026-000042 arrived broken")
    'Parcel CF-2026-000042 arrived broken'
    >>> strip_subject_prefixes("Rework: the plan")
    'Rework: the plan'
    """
    subject = arguments.text("subject", subject, blank=True, strip=False)
    stripped = subject.strip()
    match = _SUBJECT_PREFIXES.match(stripped)
    return stripped[match.end() :].strip() if match else stripped


def find_reference(text: str, prefix: str = "CF") -> str | None:
    """The first complaint reference in ``text`` (a subject, a body), or ``None``.

    A reference is ``PREFIX-YYYY-NNNNNN``: the prefix, a four-digit year and six or
    more digits (numbers past 999999 grow a seventh digit; every digit present is
    taken, never a truncated six). It must stand as a token of its own: a letter,
    digit or underscore right before or after it, or a hyphen that joins it to one,
    makes it part of a longer word (``XCF-2026-000042``, ``CF-2026-000042abc`` and
    ``ABC-CF-2026-000042`` are not references). Brackets, ``#``, quotes and
    punctuation around it are fine. The prefix is matched in any case and returned
    as given, so the result can be looked up directly.

    Args:
        text: where to look.
        prefix: the references' prefix (the engine's ``reference_prefix``): letters,
            digits and underscores.

    Raises:
        InvalidArgumentError: ``text`` is not text, or ``prefix`` is not a valid prefix.

    >>> find_reference("AW: [cf-2026-000042] Ihre Beschwerde")
    'CF-2026-000042'
    >>> find_reference("Ref #CF-2026-1000001, see XCF-2026-000043") is not None
    True
    >>> print(find_reference("order XCF-2026-000043"))
    None
    """
    text = arguments.text("text", text, blank=True, strip=False)
    if not (isinstance(prefix, str) and prefix and prefix.replace("_", "").isalnum()):
        raise InvalidArgumentError(
            f"prefix must be letters, digits or underscores such as 'CF', got "
            f"{arguments.shown(prefix)}; pass the engine's reference_prefix"
        )
    if prefix.casefold() not in text.casefold():
        return None  # the common case, decided without a regular expression
    pattern = re.compile(
        rf"(?<!\w)(?<!\w-){re.escape(prefix)}-([0-9]{{4}})-([0-9]{{6,}})(?![\w])(?!-\w)",
        re.IGNORECASE,
    )
    found = pattern.search(text)
    return f"{prefix}-{found.group(1)}-{found.group(2)}" if found else None


def latest_reply(text: str) -> str:
    """The newest part of a message's text: quoted messages and the signature removed.

    Cuts at the first separator a mail client writes above a quoted or forwarded
    message, in any of the languages listed in the module documentation, drops
    ``>``-quoted lines and the signature, and returns ``text`` itself (stripped)
    when nothing is left.

    Args:
        text: a message's plain text.

    Raises:
        InvalidArgumentError: ``text`` is not text.
        ChannelError: the ``email`` extra (mail-parser-reply) is not installed.

    >>> latest_reply("Still broken.\\n-- \\nAda\\n\\nAm 02.03.2026 um 09:15 schrieb Bo:\\n> Sorry")
    'Still broken.'
    """
    text = arguments.text("text", text, blank=True, strip=False)
    return _newest_part(text)


# -- reading one message ---------------------------------------------------------


_SERIOUS: Final[dict[type[email_errors.MessageDefect], str]] = {
    email_errors.NoBoundaryInMultipartDefect: "declares no boundary",
    email_errors.StartBoundaryNotFoundDefect: "has a boundary that never appears",
    email_errors.MultipartInvariantViolationDefect: "is a multipart whose parts cannot be found",
    email_errors.InvalidBase64LengthDefect: "is base64 that cannot be decoded",
}
"""Part defects that lose content: the message is quarantined (why, per defect)."""

_MESSAGE_TYPES: Final = frozenset({"message/rfc822", "message/global"})
_STATUS_TYPES: Final = frozenset({"message/delivery-status", "message/global-delivery-status"})
_RETURNED_TYPES: Final = _MESSAGE_TYPES | {"text/rfc822-headers", "message/global-headers"}
_BODY_TYPES: Final = frozenset({"text/plain", "text/html"})

_EXTRA_MISSING: Final = (
    "reading email needs the email extra ({error}); install it with "
    "pip install 'complaint-flow[email]'"
)


_HEADERS: Final = policy.default.header_factory
"""``policy.default``'s header registry: reads From, To, Cc, Date and Subject."""


class _Reading:
    """One parse in progress: the message, the defects seen, what the walk found."""

    def __init__(self, raw: bytes) -> None:
        # compat32 for the structure: with policy.default every access to a part's
        # Content-Type re-parses it with the full RFC 5322 grammar, which made reading
        # a message about seven times slower; the headers that carry meaning are read
        # with policy.default's registry all the same (_structured).
        self.message: Message = message_from_bytes(raw, policy=policy.compat32)
        self.defects: list[str] = []
        self.serious: list[str] = []
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.headers: dict[str, list[str]] = {}
        self._hint: str | None = None
        self._hinted = False

    # -- the whole message --

    def parsed(self) -> ParsedEmail:
        message = self.message
        raw_headers = list(message.raw_items())
        if not raw_headers:
            raise QuarantinedMessageError("the message has no header lines, so it is not an email")
        if any(
            isinstance(d, email_errors.MissingHeaderBodySeparatorDefect) for d in message.defects
        ):
            raise QuarantinedMessageError(
                "its header section is broken: a line in it is neither a header nor the "
                "blank line that ends the headers, so the headers after it would be lost"
            )
        for name, value in raw_headers:
            self.headers.setdefault(str(name).lower(), []).append(self._header_text(value))
        if "from" not in self.headers:
            raise QuarantinedMessageError("it has no From header, so no one can be answered")
        senders = self._addresses("from")
        if not senders:
            shown = arguments.shown(self.headers["from"][0])
            raise QuarantinedMessageError(f"its From header names no address (got {shown})")
        if len(senders) > 1:
            self.note("the From header names several mailboxes; the first is the sender")
        sender_name, sender = senders[0]

        self._walk(message, "", 0, body=True)
        if self.serious:
            raise QuarantinedMessageError(self.serious[0])

        subject = " ".join(self._unstructured("subject").split())
        text = self._text()
        return ParsedEmail(
            message_id=next(iter(self._ids("message-id")), None),
            in_reply_to=self._ids("in-reply-to"),
            references=self._ids("references"),
            subject=subject,
            sender=sender,
            sender_name=" ".join(sender_name.split()),
            recipients=_unique(address for _, address in self._addresses("to", "cc")),
            date=self._date(),
            text=text,
            reply_text=_newest_part(text),
            attachments=tuple(self.attachments),
            automatic=self._automatic(subject, sender),
            delivery_report=self._delivery_report(),
            defects=_unique(self.defects),
        )

    def note(self, defect: str) -> None:
        self.defects.append(_clean(defect))

    def guarded(self, what: str, read: Callable[[], T], default: T) -> T:
        """``read()``, or ``default`` with a defect noted when the email package fails."""
        try:
            return read()
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:
            # Hostile input has made the email package raise from its accessors; the
            # rest of the message is still worth reading.
            self.note(f"{what} could not be read ({type(exc).__name__}: {exc})")
            return default

    # -- headers --

    def _charset_hint(self) -> str:
        """The body's charset: how a sender who wrote raw 8-bit headers most likely wrote them."""
        if not self._hinted:
            self._hinted = True
            for part in self.message.walk():
                charset = self.guarded("a charset", part.get_content_charset, None)
                if charset:
                    self._hint = charset
                    break
        return self._hint or "windows-1252"

    def _header_text(self, value: object) -> str:
        """A raw header value unfolded, raw 8-bit bytes decoded (UTF-8, else the body's charset)."""
        text = _UNFOLD.sub("", str(value))
        if text.isascii():
            return text
        data = text.encode("utf-8", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return _decoded(data, self._charset_hint())[0]

    def _structured(self, name: str, value: str) -> Any:
        """The header as the email package's header registry reads it (``None`` if it fails)."""

        def read() -> Any:
            return _HEADERS(name, value)

        header = self.guarded(f"the {name} header", read, None)
        for defect in getattr(header, "defects", ()):
            self.note(f"{name} header: {_described(defect)}")
        return header

    def _unstructured(self, name: str) -> str:
        values = self.headers.get(name)
        if not values:
            return ""
        header = self._structured(name, values[0])
        return _c1_as_windows_1252(_clean(str(header) if header is not None else values[0]))

    def _addresses(self, *names: str) -> list[tuple[str, str]]:
        """(display name, address) of every mailbox in the headers ``names``, in order."""
        found: list[tuple[str, str]] = []
        for name in names:
            for value in self.headers.get(name, ()):
                header = self._structured(name, value)
                addresses = getattr(header, "addresses", None)
                if addresses is not None:
                    pairs = [(str(a.display_name), str(a.addr_spec)) for a in addresses]
                else:
                    pairs = self.guarded(f"the {name} header", _lenient_addresses(value), [])
                for display, spec in pairs:
                    address = _address(spec)
                    if address:
                        found.append((_c1_as_windows_1252(_clean(display)), address))
        return found

    def _ids(self, name: str) -> tuple[str, ...]:
        ids: list[str] = []
        for value in self.headers.get(name, ()):
            tokens = ["".join(token.split()) for token in _BRACKETED.findall(value)]
            if not any(tokens):  # ids written without brackets
                tokens = [t.strip("<>") for t in re.split(r"[\s,;]+", value) if "@" in t]
                if not tokens and name == "message-id":
                    tokens = ["".join(value.split()).strip("<>")]
            ids.extend(f"<{_clean(token)}>" for token in tokens if token)
        return _unique(ids)

    def _date(self) -> datetime | None:
        values = self.headers.get("date")
        if not values:
            return None
        header = self._structured("date", values[0])
        when = getattr(header, "datetime", None)
        if header is None:  # the registry failed: the lenient reader may still manage

            def lenient() -> datetime | None:
                return parsedate_to_datetime(values[0])

            when = self.guarded("the date header", lenient, None)
        if not isinstance(when, datetime):
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)

    # -- the parts --

    def _walk(self, part: Message, path: str, depth: int, *, body: bool) -> None:
        """Sort the parts into body text and attachments, noting their defects.

        ``body`` is false inside the alternatives not chosen (and the resources of a
        ``multipart/related``): their text duplicates the body, so it is dropped,
        but their images and files are still attachments.
        """
        if depth > _MAX_DEPTH:
            self.serious.append(f"its parts are nested more than {_MAX_DEPTH} deep")
            return
        content_type = self.guarded("a content type", part.get_content_type, "text/plain")
        where = f"part {path} ({content_type})" if path else f"the message ({content_type})"
        payload = self.guarded(where, _payload_of(part), None)
        if content_type in _MESSAGE_TYPES or (
            isinstance(payload, list) and not content_type.startswith("multipart/")
        ):
            filename = self._file_name(part, where)
            data = self._message_bytes(part, payload, where)
            self._attach(content_type, data, filename=filename)
        elif not isinstance(payload, list):
            self._leaf(part, content_type, where, body=body)
        else:
            self._container(part, content_type, payload, path, depth, body=body)
        # Read after the content was decoded: decoding finds base64 defects.
        for defect in part.defects:
            if isinstance(defect, email_errors.MissingHeaderBodySeparatorDefect) and not path:
                continue  # the top-level one was refused before the walk
            reason = _SERIOUS.get(type(defect))
            if reason is not None:
                self.serious.append(f"{where} {reason}, so its content cannot be read")
            else:
                self.note(f"{where}: {_described(defect)}")

    def _container(
        self,
        part: Message,
        content_type: str,
        payload: list[Any],
        path: str,
        depth: int,
        *,
        body: bool,
    ) -> None:
        children = [child for child in payload if isinstance(child, Message)]
        subtype = content_type.partition("/")[2]
        chosen: Message | None = None
        if subtype == "alternative":
            chosen = _preferred(children)
        elif subtype == "related":
            chosen = _related_root(part, children)
        for number, child in enumerate(children, 1):
            child_type = self.guarded("a content type", child.get_content_type, "text/plain")
            if subtype == "report" and child_type in _STATUS_TYPES:
                continue  # read by _delivery_report; not an attachment
            as_body = body and (chosen is None or child is chosen)
            if subtype == "report" and number > 1:
                as_body = False  # the returned message is not this message's text
            child_path = f"{path}.{number}" if path else str(number)
            self._walk(child, child_path, depth + 1, body=as_body)

    def _leaf(self, part: Message, content_type: str, where: str, *, body: bool) -> None:
        disposition = self.guarded(f"{where} disposition", part.get_content_disposition, None)
        filename = self._file_name(part, where)

        def content() -> bytes:
            data = part.get_payload(decode=True)
            return data if isinstance(data, bytes) else b""

        data = self.guarded(f"{where} content", content, b"")
        if content_type in _BODY_TYPES and disposition != "attachment" and not filename:
            if body:  # else an alternative rendering of the body: dropped
                self._body_text(part, content_type, data, where)
            return
        inline = disposition == "inline" or (disposition is None and "content-id" in part)
        self._attach(content_type, data, filename=filename, inline=inline)

    def _body_text(self, part: Message, content_type: str, data: bytes, where: str) -> None:
        charset = self.guarded(f"{where} charset", part.get_content_charset, None)
        text, problem = _decoded(data, charset)
        if problem:
            self.note(f"{where}: {problem}")
        if content_type == "text/html":
            self.html.append(text)
            return
        if _param(self, part, "format", where).lower() == "flowed":
            delete_space = _param(self, part, "delsp", where).lower() == "yes"
            text = _unflowed(text, delete_space=delete_space)
        self.plain.append(text)

    def _attach(
        self, content_type: str, data: bytes, *, filename: str | None, inline: bool = False
    ) -> None:
        name = " ".join(_clean(filename).split()) if filename else None
        self.attachments.append(
            Attachment(
                filename=name or None,
                content_type=content_type,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                inline=inline,
            )
        )

    def _file_name(self, part: Message, where: str) -> str | None:
        """A part's file name: RFC 2231 (by the email package), then RFC 2047 decoded.

        Raw 8-bit names are decoded first (UTF-8, else the body's charset), as the
        email package would read them as unknown bytes. RFC 2047 words inside a
        quoted parameter are not standard, but Gmail and Outlook write them
        (``filename="=?UTF-8?B?...?="``).
        """

        def read() -> str | None:
            holder = part
            raw = [(str(k), str(v)) for k, v in part.raw_items()]
            if not all(value.isascii() for _, value in raw):
                holder = Message()
                for name, value in raw:
                    if name.lower() in {"content-type", "content-disposition"}:
                        holder[name] = self._header_text(value)
            found = holder.get_filename()
            if not found or "=?" not in found:
                return found
            return "".join(
                chunk if isinstance(chunk, str) else _decoded(chunk, charset)[0]
                for chunk, charset in decode_header(found)
            )

        name = self.guarded(f"{where} file name", read, None)
        return _c1_as_windows_1252(_clean(name)) if name else None

    def _message_bytes(self, part: Message, payload: object, where: str) -> bytes:
        """An attached message as the email package writes it back (its bytes are not kept)."""
        if not isinstance(payload, list):

            def content() -> bytes:
                data = part.get_payload(decode=True)
                return data if isinstance(data, bytes) else b""

            return self.guarded(where, content, b"")

        def written() -> bytes:
            return b"".join(
                inner.as_bytes(policy=policy.compat32)
                for inner in payload
                if isinstance(inner, Message)
            )

        return self.guarded(where, written, b"")

    def _text(self) -> str:
        if self.plain:
            return _tidy("\n\n".join(text.strip("\n") for text in self.plain))
        if self.html:
            return _tidy("\n\n".join(self._html_text(markup) for markup in self.html), html=True)
        return ""

    def _html_text(self, markup: str) -> str:
        try:
            from inscriptis import get_text  # type: ignore[import-untyped]
            from inscriptis.css_profiles import CSS_PROFILES  # type: ignore[import-untyped]
            from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on what is installed
            raise ChannelError(_EXTRA_MISSING.format(error=exc)) from exc
        # lxml refuses NUL and most C0 controls in a document; they carry no text.
        markup = _CONTROLS.sub(" ", markup)
        # A block holding only a no-break space is how web mailers write an empty
        # line; inscriptis would drop it, and with it the paragraph breaks.
        markup = _BLANK_BLOCK.sub(_blank_line, markup)
        try:
            # The strict profile lays out mail as a mail client shows it; the relaxed
            # one indents every <div>, and mail is made of <div>s.
            return str(get_text(markup, ParserConfig(css=CSS_PROFILES["strict"])))
        except (MemoryError, RecursionError):
            raise
        except Exception as exc:
            # lxml rejects some broken documents outright; the words are still there.
            self.note(f"the HTML body could not be laid out ({type(exc).__name__}); tags removed")
            return html.unescape(_TAGS.sub(" ", markup))

    # -- what kind of message --

    def _first(self, name: str) -> str:
        values = self.headers.get(name)
        return _clean(" ".join(values[0].split())) if values else ""

    def _automatic(self, subject: str, sender: str) -> str | None:
        submitted = self._first("auto-submitted")
        if submitted and submitted.split(";")[0].strip().lower() != "no":
            return f"Auto-Submitted: {submitted}"
        if self.guarded("the content type", self.message.get_content_type, "") == (
            "multipart/report"
        ):
            kind = _param(self, self.message, "report-type", "the message")
            return f"multipart/report; report-type={kind or 'unknown'}"
        for name, shown in _AUTOREPLY_HEADERS.items():
            value = self._first(name)
            if name in self.headers and value.lower() not in {"no", "false", "0", "none"}:
                return f"{shown}: {value}" if value else shown
        precedence = self._first("precedence")
        if precedence.lower() in {"bulk", "junk", "list", "auto_reply"}:
            return f"Precedence: {precedence}"
        for name, shown in (("list-id", "List-Id"), ("list-unsubscribe", "List-Unsubscribe")):
            if name in self.headers:
                value = self._first(name)
                return f"{shown}: {value}" if value else shown
        if self._first("return-path") == "<>":
            return "Return-Path: <>"
        if _AUTOMATIC_SUBJECT.search(subject):
            return f"out-of-office subject: {subject}"
        if _ROBOT_SENDER.match(sender.rpartition("@")[0] or sender):
            return f"robot sender: {sender}"
        return None

    def _delivery_report(self) -> DeliveryStatus | None:
        message = self.message
        if self.guarded("the content type", message.get_content_type, "") != "multipart/report":
            return None
        if _param(self, message, "report-type", "the message").lower() != "delivery-status":
            return None
        parts = self.guarded("the report", _payload_of(message), None)
        blocks: list[dict[str, str]] = []
        original: str | None = None
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, Message):
                continue
            content_type = self.guarded("a content type", part.get_content_type, "")
            if content_type in _STATUS_TYPES and not blocks:
                blocks = self._status_blocks(part)
            elif content_type in _RETURNED_TYPES and original is None:
                original = self._returned_message_id(part)
        recipients = []
        for block in blocks:
            address = block.get("final-recipient") or block.get("original-recipient")
            if address is None:
                continue
            diagnostic = " ".join(block.get("diagnostic-code", "").split())
            status = _STATUS_CODE.search(block.get("status", "")) or _STATUS_CODE.search(diagnostic)
            recipients.append(
                RecipientStatus(
                    recipient=_address(address.rpartition(";")[2]) or address.strip(),
                    action=(block.get("action", "").split() or [""])[0].lower(),
                    status=status.group(0) if status else "",
                    diagnostic=diagnostic,
                    remote_mta=" ".join(block.get("remote-mta", "").split()),
                )
            )
        reporting = blocks[0].get("reporting-mta", "") if blocks else ""
        return DeliveryStatus(
            original_message_id=original,
            recipients=tuple(recipients),
            reporting_mta=" ".join(reporting.split()),
        )

    def _status_blocks(self, part: Message) -> list[dict[str, str]]:
        """The field blocks of a delivery status part, names in lower case.

        The email package splits ``message/delivery-status`` into its blocks, and
        reads ``message/global-delivery-status`` (RFC 6533) as one message whose
        headers are the first block and whose body holds the others.
        """
        blocks: list[dict[str, str]] = []
        payload = self.guarded("the delivery status", _payload_of(part), None)
        if not isinstance(payload, list):
            return _field_blocks(self._text_of(part, "the delivery status"))
        for block in payload:
            if isinstance(block, Message):
                fields = {str(k).lower(): self._header_text(v) for k, v in block.raw_items()}
                blocks.append({name: _clean(value) for name, value in fields.items()})
                if not block.is_multipart():
                    blocks.extend(_field_blocks(self._text_of(block, "the delivery status")))
        return [fields for fields in blocks if fields]

    def _text_of(self, part: Message, what: str) -> str:
        """A part's decoded body as UTF-8 text (report fields are ASCII or UTF-8)."""

        def content() -> bytes:
            data = part.get_payload(decode=True)
            return data if isinstance(data, bytes) else b""

        return _decoded(self.guarded(what, content, b""), "utf-8")[0]

    def _returned_message_id(self, part: Message) -> str | None:
        payload = self.guarded("the returned message", _payload_of(part), None)
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):

            def headers() -> Message:
                data = part.get_payload(decode=True)
                raw = data if isinstance(data, bytes) else b""
                return BytesHeaderParser(policy=policy.compat32).parsebytes(raw)

            inner = self.guarded("the returned headers", headers, None)
            if inner is None:
                return None
        for name, value in inner.raw_items():
            if str(name).lower() == "message-id":
                text = self._header_text(value)
                ids = [i for i in _BRACKETED.findall(text) if i.strip()] or [text]
                token = "".join(ids[0].split()).strip("<>")
                return f"<{_clean(token)}>" if token else None
        return None


def _param(reading: _Reading, part: Message, name: str, where: str) -> str:
    """A Content-Type parameter as text (``""`` when absent or unreadable)."""

    def read() -> str:
        value = part.get_param(name)
        return value if isinstance(value, str) else ""

    return reading.guarded(f"{where} {name} parameter", read, "")


def _field_blocks(text: str) -> list[dict[str, str]]:
    """Blocks of ``Name: value`` lines separated by blank lines, names in lower case."""
    blocks = []
    for chunk in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        for line in _UNFOLD.sub("", chunk).split("\n"):
            name, colon, value = line.partition(":")
            if colon and name.strip():
                fields.setdefault(name.strip().lower(), value.strip())
        if fields:
            blocks.append(fields)
    return blocks


def _payload_of(part: Message) -> Callable[[], object]:
    """The parts of a multipart or ``message/*`` part (``None`` for a leaf).

    A leaf's ``get_payload()`` is not asked for: undecoded, it decodes 8-bit text
    with the part's charset itself, and raises for charsets such as ``idna``.
    """

    def read() -> object:
        return part.get_payload() if part.is_multipart() else None

    return read


def _lenient_addresses(value: str) -> Callable[[], list[tuple[str, str]]]:
    def read() -> list[tuple[str, str]]:
        return getaddresses([value])

    return read


# -- helpers -----------------------------------------------------------------------

_UNFOLD: Final = re.compile(r"\r?\n(?=[ \t])|\r(?=\n)")
_BRACKETED: Final = re.compile(r"<([^<>]*)>")
_CONTROLS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAGS: Final = re.compile(r"<[^<>]*>")
_C1: Final = re.compile(r"[\x80-\x9f]")
_BLANK_BLOCK: Final = re.compile(
    r"<(div|p)(\s[^<>]*)?>((?:[ \t\r\n\u00a0]|&nbsp;|&#160;|&#xa0;)+)</\1>", re.IGNORECASE
)
_STATUS_CODE: Final = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")

_AUTOREPLY_HEADERS: Final = {
    "x-autoreply": "X-Autoreply",
    "x-autorespond": "X-Autorespond",
    "x-autoresponder": "X-Autoresponder",
    "x-auto-reply": "X-Auto-Reply",
    "x-autogenerated": "X-Autogenerated",
    "x-auto-response-suppress": "X-Auto-Response-Suppress",
    "x-fc-machinegenerated": "X-FC-MachineGenerated",
}
"""Headers that auto-responders set (lower case: as shown in ``automatic``)."""
_AUTOMATIC_SUBJECT: Final = re.compile(
    r"^\s*(?:out of (?:the )?office|automatic reply|auto[- ]?reply|auto[- ]?response"
    r"|autosvar|automatisk svar|frånvaro(?:meddelande)?|fraværende"
    r"|abwesenheitsnotiz|abwesenheitsmeldung|automatische antwort"
    r"|réponse automatique|absence du bureau|message d'absence"
    r"|automatisch antwoord|afwezig"
    r"|respuesta automática|fuera de la oficina|risposta automatica|fuori sede"
    r"|resposta automática|ausente do escritório|automaattinen vastaus|poissa"
    r"|automatyczna odpowiedź|automatická odpověď|otomatik yanıt"
    r"|автоматический ответ|автоответ|аўтаматычны адказ|автоматична відповідь)\b"
    r"|\b(?:is out of (?:the )?office|ist außer haus|est absente? du bureau)\b",
    re.IGNORECASE,
)
_ROBOT_SENDER: Final = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]?daemon|postmaster|bounces?"
    r"|microsoftexchange[0-9a-f]{32})(?:[-+_.].*)?$",
    re.IGNORECASE,
)

# Charset labels that senders write for something else (WHATWG Encoding Standard):
# iso-8859-1 and us-ascii text is windows-1252 in practice.
_CHARSET_ALIASES: Final = {
    "iso-8859-1": "windows-1252",
    "iso8859-1": "windows-1252",
    "iso_8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "l1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "x-sjis": "shift_jis",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "x-gbk": "gbk",
    "gb_2312-80": "gbk",
}


def _decoded(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """``data`` as text, and what went wrong (``None`` when nothing did).

    Undeclared text, and text declared ASCII or Latin-1, is UTF-8 when it decodes as
    such, else windows-1252; an unknown charset is treated the same way; a known one
    decodes with U+FFFD for invalid bytes.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]  # a byte order mark is no text
    label = (charset or "").strip().strip("\"'").lower()
    name = _CHARSET_ALIASES.get(label, label)
    if name == "windows-1252" or not name:
        if data.isascii():
            return data.decode("ascii"), None
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return _windows_1252(data), None
    try:
        return _clean(data.decode(name)), None
    except LookupError:  # unknown, or not a text codec (base64, rot13)
        return _as_undeclared(data, f"unknown charset {label!r}")
    except (UnicodeError, ValueError, TypeError):
        pass
    try:
        return _clean(data.decode(name, "replace")), f"invalid {label} bytes replaced by U+FFFD"
    except (LookupError, UnicodeError, ValueError, TypeError):
        # Some codecs (idna, punycode) refuse the "replace" handler: they are not
        # charsets any mail client writes text in.
        return _as_undeclared(data, f"charset {label!r} cannot decode text")


def _as_undeclared(data: bytes, problem: str) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), f"{problem}; read as UTF-8"
    except UnicodeDecodeError:
        return _windows_1252(data), f"{problem}; read as windows-1252"


def _c1_as_windows_1252(text: str) -> str:
    """Header text with C1 controls read as windows-1252, as the WHATWG rule reads them.

    The email package decodes an ``iso-8859-1`` encoded word as Latin-1, so the
    ``–`` or ``€`` of a windows-1252 sender who labelled it ``iso-8859-1`` (Outlook
    does) would come out as invisible C1 controls, which no one ever means.
    """
    if not _C1.search(text):
        return text
    return _C1.sub(lambda c: _windows_1252(c.group(0).encode("latin-1")), text)


def _blank_line(block: re.Match[str]) -> str:
    """An HTML block of no-break spaces made an empty line (a block of plain spaces stays)."""
    if block.group(3).strip(" \t\r\n"):
        return f"<{block.group(1)}{block.group(2) or ''}><br></{block.group(1)}>"
    return block.group(0)


def _windows_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # The five bytes cp1252 leaves undefined are C1 controls in Latin-1.
        return data.decode("latin-1")


def _clean(text: str) -> str:
    """Text safe to store: no lone surrogates, no NUL (PostgreSQL refuses both)."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogateescape" if _only_escapes(text) else "replace")
        text = data.decode("utf-8", "replace")
    return text


def _only_escapes(text: str) -> bool:
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def _address(spec: str) -> str:
    """A bare address, its domain in lower case; ``""`` for none (``<>``, no domain)."""
    local, _, domain = _clean("".join(str(spec).split())).strip("<>").rpartition("@")
    return f"{local}@{domain.lower()}" if local and domain else ""


def _described(defect: email_errors.MessageDefect) -> str:
    detail = str(defect)
    name = type(defect).__name__
    return f"{name}: {detail}" if detail and detail != name else name


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _offers(part: Message, wanted: str, depth: int = 0) -> bool:
    """Whether ``part`` holds a body of type ``wanted`` (text/plain or text/html)."""
    try:
        content_type = part.get_content_type()
        if content_type == wanted:
            return part.get_content_disposition() != "attachment" and not part.get_filename()
        payload = part.get_payload() if part.is_multipart() else None
    except (MemoryError, RecursionError):
        raise
    except Exception:  # a broken part offers nothing; the walk notes its defect
        return False
    if not content_type.startswith("multipart/") or not isinstance(payload, list):
        return False
    return depth < _MAX_DEPTH and any(
        _offers(child, wanted, depth + 1) for child in payload if isinstance(child, Message)
    )


def _preferred(children: list[Message]) -> Message | None:
    """Of a multipart/alternative, the plain text version, else the HTML one."""
    for wanted in ("text/plain", "text/html"):
        for child in children:
            if _offers(child, wanted):
                return child
    return children[0] if children else None


def _related_root(part: Message, children: list[Message]) -> Message | None:
    """Of a multipart/related, the part its ``start`` names, else the first (RFC 2387)."""
    try:
        start = part.get_param("start")
        if isinstance(start, str) and start.strip():
            for child in children:
                if "".join(str(child.get("content-id", "")).split()) == "".join(start.split()):
                    return child
    except (MemoryError, RecursionError):
        raise
    except Exception:  # an unreadable start parameter: fall back to the first part
        pass
    return children[0] if children else None


def _unflowed(text: str, *, delete_space: bool) -> str:
    """``format=flowed`` text (RFC 3676) with its soft line breaks joined again."""
    lines: list[str] = []
    paragraph: list[str] = []
    depth = -1

    def flush() -> None:
        if paragraph:
            quote = ">" * depth + (" " if depth else "")
            lines.append(quote + "".join(paragraph))
            paragraph.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        quoted = len(line) - len(line.lstrip(">"))
        content = line[quoted:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if quoted != depth:
            flush()
            depth = quoted
        if content == "-- ":  # the signature separator is never flowed
            flush()
            lines.append(">" * quoted + (" " if quoted else "") + content)
            continue
        soft = content.endswith(" ")
        paragraph.append(content[:-1] if soft and delete_space else content)
        if not soft:
            flush()
    flush()
    return "\n".join(lines)


def _tidy(text: str, *, html: bool = False) -> str:
    """Line ends made ``\\n``, trailing spaces and surplus blank lines removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if html:
        text = text.replace("\xa0", " ")
    lines = [line if line == "-- " else line.rstrip() for line in text.split("\n")]
    return _clean(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n"))


# -- the newest part of a text -----------------------------------------------------

_Q = r"(?:>[ \t]?)*"
_SEPARATORS = (
    "Original Message|Forwarded message|Forwarded Message|Weitergeleitete Nachricht"
    "|Ursprüngliche Nachricht|Originalnachricht|Message d'origine|Message transféré"
    "|Message original|Ursprungligt meddelande|Vidarebefordrat meddelande"
    "|Oprindelig meddelelse|Videresendt meddelelse|Oorspronkelijk bericht|Doorgestuurd bericht"
    "|Mensaje original|Mensaje reenviado|Messaggio originale|Messaggio inoltrato"
    "|Mensagem original|Mensagem encaminhada|Oryginalna wiadomość|Wiadomość przekazana"
    "|Původní zpráva|Přeposlaná zpráva|Исходное сообщение|Пересылаемое сообщение"
    "|Пересланное сообщение|Арыгінальнае паведамленне|Перасланае паведамленне"
    "|Вихідне повідомлення|Переслане повідомлення"
)
_FORWARD_STARTS = (
    "Begin forwarded message|Anfang der weitergeleiteten Nachricht"
    "|Début du message réexpédié|Vidarebefordrat brev|Inizio messaggio inoltrato"
    "|Comienzo del mensaje reenviado|Начало переадресованного сообщения"
    "|Пачатак перасланага паведамлення|Початок пересланого повідомлення"
)
_WROTE = (
    r"написал\(а\)|написала|написал|пишет|напісаў\(-ла\)|напісала|напісаў|піша"
    r"|написав\(ла\)|написав|пише"
)
_HEADER_FROM = r"От|Ад|Від"
_HEADER_OTHER = r"Отправлено|Дата|Кому|Копия|Тема|Адпраўлена|Каму|Копія|Тэма|Надіслано|Тема"
_CUT: Final = re.compile(
    "|".join(
        [
            # Outlook's rule above the quoted header block; a mailing list's footer rule
            rf"^{_Q}[ \t]*(?:_{{32,}}|-{{32,}})[ \t]*$",
            # "-----Original Message-----", "-------- Исходное сообщение --------"
            rf"^{_Q}[ \t]*-{{2,}}[ \t]*(?:{_SEPARATORS})[ \t]*-{{2,}}[ \t]*$",
            # Apple Mail's forward: "Begin forwarded message:"
            rf"^{_Q}[ \t]*(?:{_FORWARD_STARTS})[ \t]*:[ \t]*$",
            # "05.03.2026 10:12, Иван Петров пишет:" (Thunderbird, Evolution, Gmail)
            rf"^{_Q}[^\n]{{0,200}}?(?<!\w)(?:{_WROTE})[ \t\u00a0\u202f]*:[ \t]*$",
            # An Outlook header block: "От: …" followed by "Отправлено: …", "Кому: …"
            rf"^{_Q}[ \t*]*(?:{_HEADER_FROM})[ \t*]*:[^\n]*\n"
            rf"{_Q}[ \t*]*(?:{_HEADER_OTHER})[ \t*]*:",
        ]
    ),
    re.MULTILINE | re.IGNORECASE,
)
_SIGNATURE: Final = re.compile(
    r"^[ \t]*(?:С уважением|С наилучшими пожеланиями|Всего доброго|З павагай"
    r"|З найлепшымі пажаданнямі|З повагою|Отправлено (?:с|из) |Адпраўлена з |Надіслано з )",
    re.MULTILINE | re.IGNORECASE,
)
_QUOTED_LINE: Final = re.compile(r"^[ \t]*>.*(?:\n|$)", re.MULTILINE)
_RULE_LINE: Final = re.compile(r"[ \t]*[-_=*]{2,}[ \t]*")
_ADDRESS_THEN_COLON: Final = re.compile(r"<[^\s<>@]+@[^\s<>]+>[^<>]{0,60}:")
_TIME: Final = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_LONGEST_ATTRIBUTION: Final = 300
"""Characters of an attribution line ("On … wrote:") at most; longer lines are text."""
_LONGEST_LINE_LOOKED_AT: Final = _LONGEST_ATTRIBUTION
"""mail-parser-reply sees at most this much of a line (an attribution is never longer)."""
_LINES_LOOKED_AT: Final = 200
"""mail-parser-reply looks for the quoted message in this many first lines."""
_HEADER_NAME_WIDTH: Final = 40
"""A quoted header's colon ("Gesendet:", "Адпраўлена:") comes within this many characters."""
_LONGEST_SIGNATURE: Final = 20
"""A "signature" of more lines than this is taken for text that starts like one."""


def _newest_part(text: str) -> str:
    whole = text.strip()
    if not whole:
        return ""
    text = text.replace("\r\n", "\n")
    newest = _above_quote_and_signature(text[: _first_quote(text)])
    newest = _QUOTED_LINE.sub("", newest)
    signature = _SIGNATURE.search(newest)
    if signature and newest[: signature.start()].strip():
        newest = newest[: signature.start()]
    lines = newest.split("\n")
    while lines and (not lines[-1].strip() or _RULE_LINE.fullmatch(lines[-1])):
        lines.pop()  # blank lines and rules left above the cut
    newest = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return newest if newest.strip() else whole


def _first_quote(text: str) -> int:
    """Where the first quoted or forwarded message starts (``len(text)`` if none).

    Besides the separators of :data:`_CUT`, an attribution line in any language:
    a line ending with an address in angle brackets and a colon (maybe a word or two
    between them) that, with the line before it when the address was wrapped onto
    a line of its own, holds a time, as Gmail, Yandex and Mail.ru write it
    ("05.03.2026, 10:12, "Служба поддержки" <service@shop.example>:").
    """
    found = _CUT.search(text)
    end = found.start() if found else len(text)
    offset = 0
    previous = ""
    for line in text[:end].split("\n"):
        unquoted = line.lstrip("> \t")
        if len(line) <= _LONGEST_ATTRIBUTION and line.rstrip().endswith(":"):
            address = _ADDRESS_THEN_COLON.search(unquoted)
            if address is not None and unquoted[address.end() :].strip() == "":
                if _TIME.search(unquoted[: address.start()]):
                    return offset
                if previous and _TIME.search(previous):
                    return offset - len(previous) - 1
        previous = line if len(line) <= _LONGEST_ATTRIBUTION else ""
        offset += len(line) + 1
    return end


def _above_quote_and_signature(text: str) -> str:
    """The lines above the first quoted message and the signature mail-parser-reply finds.

    mail-parser-reply strips every line before it looks, so its patterns are run
    on a stripped copy with the same lines, and the lines are cut from the original:
    the reply keeps its indentation. Its patterns slow down steeply on long lines
    (their nested lazy loops are quadratic), so they see the first
    :data:`_LINES_LOOKED_AT` lines, each cut to :data:`_LONGEST_LINE_LOOKED_AT`
    characters, and are tried only on lines that could start a header.
    """
    try:
        from mailparser_reply import EmailMessage as ReplyMessage  # type: ignore[import-untyped]
        from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on what is installed
        raise ChannelError(_EXTRA_MISSING.format(error=exc)) from exc
    if not text.strip():
        return ""
    lines = text.split("\n")
    window = [line.strip()[:_LONGEST_LINE_LOOKED_AT].strip() for line in lines[:_LINES_LOOKED_AT]]
    # Only its patterns are used (built for the languages); they are matched on the
    # window, whose lines are the text's lines one for one.
    reply = ReplyMessage(text="", languages=list(MAIL_LANGUAGES), keep_hyphen_lists=True)
    end = len(lines)
    header = _first_header(reply.HEADER_REGEX, window)
    if header is not None:
        end = header
        if not "\n".join(window[:end]).strip():
            return ""  # the text starts with the quoted message: nothing new above it
    head = "\n".join(lines[:end])
    signature = _at_a_line_start(reply.SIGNATURE_REGEX, "\n".join(window[:end]))
    if signature is not None:
        start = _line_of("\n".join(window[:end]), signature)
        signed = [line for line in lines[start:end] if line.strip()]
        if len(signed) <= _LONGEST_SIGNATURE:
            head = "\n".join(lines[:start])
    return head


def _first_header(pattern: re.Pattern[str], lines: list[str]) -> int | None:
    """The line where the first quoted message's header starts, or ``None``.

    Every mail-parser-reply header either has a colon within its first words
    ("From:", "Von:", "От:") or ends with one at most two lines further down ("On …
    wrote:", wrapped), or is a "-----Original Message-----" rule: other lines are
    not tried.
    """
    text = "\n".join(lines)
    offsets = []
    offset = 0
    for line in lines:
        offsets.append(offset)
        offset += len(line) + 1
    ends_with_colon = [line.rstrip().endswith((":", "：")) for line in lines]
    for number, line in enumerate(lines):
        if not (
            ":" in line[:_HEADER_NAME_WIDTH]
            or "：" in line[:_HEADER_NAME_WIDTH]
            or any(ends_with_colon[number : number + 3])
            or line.startswith(("-----", "["))
        ):
            continue
        found = pattern.match(text, offsets[number])
        if found is not None:
            return _line_of(text, found)
    return None


def _at_a_line_start(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` that starts a line.

    mail-parser-reply's patterns start with ``^`` or a line break, so they can only
    match there; trying them at each line start rather than at every character
    makes the search several times faster on its long alternation of languages.
    """
    start = 0
    while start <= len(text):
        found = pattern.match(text, start)
        if found is not None:
            return found
        end = text.find("\n", start)
        if end < 0:
            return None
        start = end + 1
    return None


def _offset_of(text: str, match: re.Match[str]) -> int:
    """Where a match's first visible character is (patterns may start on blank lines)."""
    found = match.group(0)
    return match.start() + len(found) - len(found.lstrip())


def _line_of(text: str, match: re.Match[str]) -> int:
    return text.count("\n", 0, _offset_of(text, match))
