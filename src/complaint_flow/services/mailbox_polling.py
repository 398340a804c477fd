"""Polling a mailbox: every new message taken into complaints once, across restarts and crashes.

One pass reads the messages after the cursor the store keeps for the mailbox, gives each
to :class:`EmailIntake`, then moves the cursor past it (compare-and-set: two pollers of
one mailbox never both move it) and flags it taken on the server, in that order. A crash
between taking a message and moving the cursor makes the next pass read it again, which
is harmless: the intake is idempotent on the ``Message-ID`` (``duplicate``). A message the
intake cannot read is quarantined, never dropped, and the cursor moves on.
"""

from __future__ import annotations

import logging
from collections import Counter

import attrs

from complaint_flow.arguments import optional_whole_number, text
from complaint_flow.channels.imap import ImapMailbox, MailboxCursor
from complaint_flow.errors import ChannelError
from complaint_flow.services.email_intake import EmailIntake, MailOutcomeKind

logger = logging.getLogger("complaint_flow.mailbox")


@attrs.frozen
class PollReport:
    """What one pass over a mailbox did: how many messages became what."""

    fetched: int = 0
    opened: int = 0
    replies: int = 0
    automatic: int = 0
    bounces: int = 0
    duplicates: int = 0
    quarantined: int = 0
    cursor: str | None = None
    """The cursor after the pass (``UIDVALIDITY:UID``)."""


def cursor_name(mailbox: ImapMailbox) -> str:
    """The store's name for a mailbox's cursor: its server, user and folder."""
    return f"imap:{mailbox.settings.display}"


def read_cursor(value: str | None) -> MailboxCursor | None:
    """A cursor as the store keeps it (``UIDVALIDITY:UID``), or None if never set."""
    if value is None:
        return None
    uidvalidity, _, last_uid = value.partition(":")
    try:
        return MailboxCursor(uidvalidity=int(uidvalidity), last_uid=int(last_uid))
    except ValueError:
        raise ChannelError(
            f"the stored mailbox cursor {value!r} is not UIDVALIDITY:UID; reset it by "
            "polling with a new cursor name"
        ) from None


def poll_mailbox(
    intake: EmailIntake,
    mailbox: ImapMailbox,
    *,
    limit: int | None = None,
    name: str | None = None,
) -> PollReport:
    """Take the mailbox's new messages into complaints; see the module for the rules.

    Args:
        intake: how messages become complaints (``EmailIntake(engine.kernel, ...)``).
        mailbox: the mailbox to read (opened by this call if it is not).
        limit: at most this many messages in this pass (None: all new ones).
        name: the cursor's name in the store (default: :func:`cursor_name`).

    Raises:
        ChannelError: the server failed, or another poller moved the cursor meanwhile
            (the messages taken so far are kept; poll again).
    """
    checked_limit = optional_whole_number("limit", limit, minimum=0)
    key = cursor_name(mailbox) if name is None else text("name", name)
    store = intake.kernel.store
    saved = store.cursor_get(key)
    kinds: Counter[MailOutcomeKind] = Counter()
    fetched = 0
    source = f"imap:{mailbox.settings.mailbox}"
    for message in mailbox.fetch_new(read_cursor(saved), checked_limit):
        fetched += 1
        kinds[intake.take(message.raw, source=source).kind] += 1
        moved = f"{message.cursor.uidvalidity}:{message.cursor.last_uid}"
        if not store.cursor_set(key, moved, expected=saved):
            raise ChannelError(
                f"another poller moved the cursor of {mailbox.settings.display} meanwhile; "
                "the messages taken so far are kept: poll again (run one poller per mailbox)"
            )
        saved = moved
        mailbox.mark_done(message.uid)
    if fetched:
        logger.info("%s: %d message(s) taken", mailbox.settings.display, fetched)
    return PollReport(
        fetched=fetched,
        opened=kinds[MailOutcomeKind.OPENED],
        replies=kinds[MailOutcomeKind.REPLY],
        automatic=kinds[MailOutcomeKind.AUTOMATIC],
        bounces=kinds[MailOutcomeKind.BOUNCE],
        duplicates=kinds[MailOutcomeKind.DUPLICATE],
        quarantined=kinds[MailOutcomeKind.QUARANTINED],
        cursor=saved,
    )


__all__ = ["PollReport", "cursor_name", "poll_mailbox", "read_cursor"]
