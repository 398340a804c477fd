"""What the channel services keep in a store: message links and quarantined messages.

A :class:`MessageLink` ties one message id (an email's ``Message-ID``, as the email
layer normalises it: ``<local@domain>``) to the complaint it belongs to, so that a
reply, a bounce or a second delivery of the same message finds its complaint. A
:class:`QuarantinedMessage` is an inbound message that could not be read as a
complaint or an answer to one: it is kept whole, byte for byte, with why it was
set aside, until it is re-processed (``released``) or a person decides it is not
one (``discarded``, kept for the record). A :class:`QuarantineEntry` is the same
without its bytes: what a listing of the quarantine returns.

Every value is immutable and checked when built: a wrong one raises
:class:`~complaint_flow.errors.InvalidArgumentError` saying what to give instead.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from complaint_flow import arguments
from complaint_flow.errors import InvalidArgumentError

MAX_MESSAGE_ID_LENGTH = 998
"""The longest message id kept: RFC 5322's limit on a line, which a ``Message-ID`` fits on."""

MAX_RAW_BYTES = 64 * 1024 * 1024
"""The largest message the quarantine keeps (64 MiB; mail servers refuse larger ones)."""


class LinkDirection(enum.StrEnum):
    """Whether a linked message came in (from a customer) or went out (from us)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class QuarantineStatus(enum.StrEnum):
    """Where a quarantined message stands.

    ``HELD``: waiting to be re-processed or decided on. ``RELEASED``: re-processed
    into a complaint (or an answer to one), whose id it then carries.
    ``DISCARDED``: a person decided it is not a complaint; kept for the record.
    """

    HELD = "held"
    RELEASED = "released"
    DISCARDED = "discarded"


_DIRECTIONS = frozenset(direction.value for direction in LinkDirection)
_STATUSES = frozenset(status.value for status in QuarantineStatus)


def check_message_id(argument: str, value: object) -> str:
    """A message id as stores key it: non-empty text, as given, at most 998 characters.

    Ids are compared exactly, so one with surrounding whitespace, a line break or
    another control character (which no header holds) is refused rather than
    silently never matching.

    Raises:
        InvalidArgumentError: ``value`` is not such an id; the message says why.

    >>> check_message_id("message_id", "<abc@mail.example.org>")
    '<abc@mail.example.org>'
    """
    text = arguments.text(argument, value, strip=False)
    if text != text.strip() or not text.isprintable():
        raise InvalidArgumentError(
            f"{argument} must be a message id without surrounding whitespace, line "
            f"breaks or other control characters, got {arguments.shown(value)}; give it "
            "as the email layer normalises it, e.g. '<abc@mail.example.org>'"
        )
    if len(text) > MAX_MESSAGE_ID_LENGTH:
        raise InvalidArgumentError(
            f"{argument} must be at most {MAX_MESSAGE_ID_LENGTH} characters (a header "
            f"line's limit), got one of {len(text)}: {arguments.shown(value)}; it is not "
            "a message id"
        )
    return text


def check_key(argument: str, value: object) -> str:
    """An id or a cursor's name or value: non-empty text, kept as given, without NUL.

    PostgreSQL's text cannot hold the NUL character, so no store could keep it.

    >>> check_key("name", "imap:INBOX")
    'imap:INBOX'
    """
    text = arguments.text(argument, value, strip=False)
    if "\x00" in text:
        raise InvalidArgumentError(
            f"{argument} must be text without NUL characters, got {arguments.shown(value)}; "
            "remove them (no store can keep them)"
        )
    return text


def _prose(argument: str, value: object, *, blank: bool = False) -> str:
    # Descriptive text (a reason, a note) must never make setting a message aside
    # fail: a NUL, which no store can keep, becomes U+FFFD.
    return arguments.text(argument, value, blank=blank).replace("\x00", "\ufffd")


def _link_message_id(value: object) -> str:
    return check_message_id("MessageLink.message_id", value)


def _link_complaint_id(value: object) -> str:
    return check_key("MessageLink.complaint_id", value)


def _link_direction(value: object) -> LinkDirection:
    if isinstance(value, str) and value in _DIRECTIONS:  # the common case, decided at once
        return LinkDirection(value)
    return LinkDirection(arguments.one_of("MessageLink.direction", value, _DIRECTIONS))


def _link_at(value: object) -> datetime:
    return arguments.aware_datetime("MessageLink.at", value)


# The quarantine's fields, checked alike in a message and in its entry.


def _item_id(value: object) -> str:
    return check_key("QuarantinedMessage.id", value)


def _source(value: object) -> str:
    return _prose("QuarantinedMessage.source", value)


def _channel(value: object) -> str:
    return arguments.name("QuarantinedMessage.channel", value)


def _received_at(value: object) -> datetime:
    return arguments.aware_datetime("QuarantinedMessage.received_at", value)


def _reason(value: object) -> str:
    return _prose("QuarantinedMessage.reason", value)


def _status(value: object) -> QuarantineStatus:
    if isinstance(value, str) and value in _STATUSES:
        return QuarantineStatus(value)
    return QuarantineStatus(arguments.one_of("QuarantinedMessage.status", value, _STATUSES))


def _attempts(value: object) -> int:
    return arguments.whole_number("QuarantinedMessage.attempts", value)


def _size(value: object) -> int:
    return arguments.whole_number("QuarantineEntry.size", value)


def _updated_at(value: object) -> datetime:
    return arguments.aware_datetime("QuarantinedMessage.updated_at", value)


def _complaint_id(value: object) -> str | None:
    return None if value is None else check_key("QuarantinedMessage.complaint_id", value)


def _note(value: object) -> str:
    return _prose("QuarantinedMessage.note", value, blank=True)


def _raw(value: object) -> bytes:
    argument = "QuarantinedMessage.raw"
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, bytearray | memoryview):
        raw = bytes(value)  # a copy: the caller's buffer can change, the stored message cannot
    else:
        advice = (
            "keep the message as received: pass the bytes, not text decoded from them"
            if isinstance(value, str)
            else "pass the message's bytes as received"
        )
        raise InvalidArgumentError(
            f"{argument} must be bytes, got {arguments.shown(value)}; {advice}"
        )
    if len(raw) > MAX_RAW_BYTES:
        raise InvalidArgumentError(
            f"{argument} holds {len(raw)} bytes, more than the {MAX_RAW_BYTES} the quarantine "
            "keeps; a message that large is refused by mail servers too: reject it at the "
            "channel instead"
        )
    return raw


def _size_repr(raw: bytes) -> str:
    # Never the content: a message may be megabytes long and hold personal data.
    return f"<{len(raw)} bytes>"


def _released_has_complaint(
    instance: QuarantinedMessage | QuarantineEntry, attribute: attrs.Attribute[Any], value: object
) -> None:
    if instance.status is QuarantineStatus.RELEASED and value is None:
        raise InvalidArgumentError(
            f"quarantined message {instance.id!r} is released but has no complaint_id; "
            "give the id of the complaint it was re-processed into"
        )


@attrs.frozen
class MessageLink:
    """One message id and the complaint it belongs to.

    Args:
        message_id: the message's id as the email layer normalises it
            (``<abc@mail.example.org>``); compared exactly; at most 998 characters.
        complaint_id: the complaint it belongs to.
        direction: ``inbound`` (it came from the customer) or ``outbound`` (we sent it).
        at: when it was received or sent (timezone-aware).

    >>> from datetime import datetime, timezone
    >>> link = MessageLink("<abc@mail.example.org>", "c-1", "inbound",
    ...                    datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    >>> link.direction
    <LinkDirection.INBOUND: 'inbound'>
    """

    message_id: str = attrs.field(converter=_link_message_id)
    complaint_id: str = attrs.field(converter=_link_complaint_id)
    direction: LinkDirection = attrs.field(converter=_link_direction)
    at: datetime = attrs.field(converter=_link_at)


@attrs.frozen
class QuarantinedMessage:
    """An inbound message set aside, kept whole, with why and what became of it.

    Args:
        id: its id in the quarantine, chosen by whoever sets it aside (a digest of
            the bytes, or the mailbox's ``uidvalidity:uid``); adding the same id
            again changes nothing.
        source: where it came from, e.g. ``imap:INBOX``, ``webhook``, ``api``.
        channel: the channel it came in on (``email``…).
        received_at: when it was received (timezone-aware).
        reason: why it was set aside, in words. In ``source``, ``reason`` and
            ``note`` a NUL character (which no store can keep) becomes U+FFFD,
            so that setting a message aside never fails on how it was described.
        raw: the message exactly as received, up to :data:`MAX_RAW_BYTES`; never altered.
        status: ``held`` until it is ``released`` (re-processed into a complaint)
            or ``discarded`` (a person decided; kept for the record).
        attempts: how many times re-processing it was tried.
        updated_at: when its status, reason, attempts or note last changed
            (``received_at`` unless given).
        complaint_id: the complaint it went to once released (required then).
        note: what a person wrote about it.
    """

    id: str = attrs.field(converter=_item_id)
    source: str = attrs.field(converter=_source)
    channel: str = attrs.field(converter=_channel)
    received_at: datetime = attrs.field(converter=_received_at)
    reason: str = attrs.field(converter=_reason)
    raw: bytes = attrs.field(converter=_raw, repr=_size_repr)
    status: QuarantineStatus = attrs.field(default=QuarantineStatus.HELD, converter=_status)
    attempts: int = attrs.field(default=0, converter=_attempts)
    updated_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.received_at, takes_self=True),
        converter=_updated_at,
    )
    complaint_id: str | None = attrs.field(
        default=None, converter=_complaint_id, validator=_released_has_complaint
    )
    note: str = attrs.field(default="", converter=_note)

    @property
    def size(self) -> int:
        """How many bytes the message has."""
        return len(self.raw)

    def entry(self) -> QuarantineEntry:
        """This message without its bytes, as :meth:`ChannelStore.quarantine_find` lists it."""
        return QuarantineEntry(
            id=self.id,
            source=self.source,
            channel=self.channel,
            received_at=self.received_at,
            reason=self.reason,
            size=len(self.raw),
            status=self.status,
            attempts=self.attempts,
            updated_at=self.updated_at,
            complaint_id=self.complaint_id,
            note=self.note,
        )


@attrs.frozen
class QuarantineEntry:
    """A quarantined message without its bytes: a line of the quarantine's listing.

    The fields are those of :class:`QuarantinedMessage`, with ``size`` (how many
    bytes the message has) in place of ``raw``; read the bytes with
    ``quarantine_get(id)``. An entry can be given to ``quarantine_update`` as it is.
    """

    id: str = attrs.field(converter=_item_id)
    source: str = attrs.field(converter=_source)
    channel: str = attrs.field(converter=_channel)
    received_at: datetime = attrs.field(converter=_received_at)
    reason: str = attrs.field(converter=_reason)
    size: int = attrs.field(converter=_size)
    status: QuarantineStatus = attrs.field(default=QuarantineStatus.HELD, converter=_status)
    attempts: int = attrs.field(default=0, converter=_attempts)
    updated_at: datetime = attrs.field(
        default=attrs.Factory(lambda self: self.received_at, takes_self=True),
        converter=_updated_at,
    )
    complaint_id: str | None = attrs.field(
        default=None, converter=_complaint_id, validator=_released_has_complaint
    )
    note: str = attrs.field(default="", converter=_note)


__all__ = [
    "MAX_MESSAGE_ID_LENGTH",
    "MAX_RAW_BYTES",
    "LinkDirection",
    "MessageLink",
    "QuarantineEntry",
    "QuarantineStatus",
    "QuarantinedMessage",
    "check_key",
    "check_message_id",
]
