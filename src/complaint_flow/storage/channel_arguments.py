"""The checks of the channel part's arguments, the same in every store.

Each returns the value as the store uses it (message ids without repeats, links
with the first of each id) or raises
:class:`~complaint_flow.errors.InvalidArgumentError` before anything is read or
written. A third-party store may call them too.
"""

from __future__ import annotations

from complaint_flow import arguments
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.channel_records import (
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
    check_key,
    check_message_id,
)

_LINK = "MessageLink(message_id, complaint_id, direction, at)"
_QUARANTINED = "QuarantinedMessage(id, source, channel, received_at, reason, raw)"


def message_ids(value: object) -> list[str]:
    """The distinct message ids of ``value`` (a list, set…, not a lone id), in order."""
    listed = arguments.items("message_ids", value)
    return list(
        dict.fromkeys(
            check_message_id(f"message_ids[{index}]", item) for index, item in enumerate(listed)
        )
    )


def new_links(value: object) -> list[MessageLink]:
    """The links of ``value`` to add: the first of each message id, in order."""
    listed = arguments.items("links", value)
    first: dict[str, MessageLink] = {}
    for index, item in enumerate(listed):
        link = arguments.instance(f"links[{index}]", item, MessageLink, _LINK)
        first.setdefault(link.message_id, link)
    return list(first.values())


def complaint_id(value: object) -> str:
    """A complaint id (text, kept as given)."""
    return check_key("complaint_id", value)


def quarantined(value: object) -> QuarantinedMessage:
    """The message ``quarantine_add`` keeps."""
    return arguments.instance("item", value, QuarantinedMessage, _QUARANTINED)


def quarantine_update(
    item: object, expected_status: object
) -> tuple[QuarantinedMessage | QuarantineEntry, QuarantineStatus]:
    """The item and the expected status of ``quarantine_update``."""
    if not isinstance(item, QuarantinedMessage | QuarantineEntry):
        raise InvalidArgumentError(
            f"item must be a QuarantinedMessage or a QuarantineEntry, got "
            f"{arguments.shown(item)}; pass what quarantine_get or quarantine_find "
            "returned, changed with attrs.evolve"
        )
    return item, quarantine_status("expected_status", expected_status)


def quarantine_status(argument: str, value: object) -> QuarantineStatus:
    """A :class:`QuarantineStatus` (or its value as text)."""
    return QuarantineStatus(arguments.one_of(argument, value, [s.value for s in QuarantineStatus]))


def optional_quarantine_status(argument: str, value: object) -> QuarantineStatus | None:
    """None, or a status as :func:`quarantine_status` checks it."""
    return None if value is None else quarantine_status(argument, value)


def limit(value: object) -> int | None:
    """How many at most (None: no limit)."""
    return arguments.optional_whole_number("limit", value)


def item_id(value: object) -> str:
    """A quarantined message's id (text, kept as given)."""
    return check_key("item_id", value)


def cursor_name(value: object) -> str:
    """A cursor's name (non-empty text, kept as given)."""
    return check_key("name", value)


def cursor_values(value: object, expected: object) -> tuple[str, str | None]:
    """A cursor's new value and the value expected (None: it must not exist yet)."""
    return (
        check_key("value", value),
        None if expected is None else check_key("expected", expected),
    )
