"""Channels: where complaints come in and where replies go out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol, runtime_checkable

import attrs

from complaint_flow.model.entities import ChannelKind, Intake


@attrs.frozen
class Channel:
    """A named contact channel and its kind (written, spoken or online).

    ``reaches_customer`` says whether a reply can go out on it at all: a web form
    or a desk visit has no address to answer to, so replies to a complaint that came
    in that way are routed elsewhere (see the reply routing in ``docs/channels.md``).

    >>> Channel("email", ChannelKind.WRITTEN).kind
    <ChannelKind.WRITTEN: 'written'>
    """

    name: str
    kind: ChannelKind = attrs.field(converter=ChannelKind)
    description: str = ""
    reaches_customer: bool = True


@attrs.frozen
class Outgoing:
    """One message ready to leave on a channel: what a channel adapter's ``send`` gets.

    Built by the outbox delivery from an outbox message, its complaint and its letter.

    Args:
        key: the outbox message's key; the same key is the same message (adapters
            use it to drop repeats and to derive a stable Message-ID).
        channel: the channel's name.
        address: where it goes (an email address, a phone number, a postal address).
        recipient_name: how to address the recipient.
        subject: a one-line subject (carries the complaint's reference).
        text: the body, as plain text.
        reference: the complaint's reference (e.g. ``CF-2026-000042``), or ``""``.
        automatic: sent by the library on its own (an acknowledgement, a reminder),
            not written by a person: email marks it ``Auto-Submitted: auto-replied``.
        in_reply_to: the id of the message this answers, if any (email threading).
        references: earlier message ids of the same conversation, oldest first.
        html: an HTML body, if the letter has one.
    """

    key: str
    channel: str
    address: str
    recipient_name: str
    subject: str
    text: str
    reference: str = ""
    automatic: bool = True
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    html: str | None = None


@attrs.frozen
class Receipt:
    """What a channel adapter says it did with an :class:`Outgoing`.

    Args:
        channel: the channel it went out on.
        address: the address it went to.
        message_id: the channel's own id for the message (an email's Message-ID, an
            SMS gateway's id), kept so that answers can be threaded back.
        detail: anything else worth keeping (the server's reply, a tracking number).
    """

    channel: str
    address: str
    message_id: str | None = None
    detail: str = ""


@runtime_checkable
class ChannelAdapter(Protocol):
    """The moving part of a channel: how messages come in and how replies go out.

    Registered with ``register(adapter)`` in ``complaint_flow_register_channels``,
    like a plain :class:`Channel`. The outbox delivery hands every message on
    ``adapter.channel.name`` to ``send``; an adapter that only receives raises
    :class:`~complaint_flow.errors.ChannelError` from ``send``.
    """

    @property
    def channel(self) -> Channel:
        """The channel's name and kind, and whether it reaches a customer."""
        ...

    def parse(self, raw: bytes) -> Intake:
        """A new complaint from one raw inbound message.

        Raises:
            InvalidIntakeError: the message cannot be read as a complaint (say why).
        """
        ...

    def send(self, message: Outgoing) -> Receipt:
        """Send one message; raising marks the attempt failed (it is retried).

        Raises:
            ChannelError: the message cannot be sent (retried until it is dead).
        """
        ...


def written_channels(
    configured: Collection[str] | None, registered: Mapping[str, Channel]
) -> frozenset[str]:
    """The channels that count as writing: those configured, else the written kinds.

    Used wherever only a written contact counts (escalation beyond the cap, the stop
    procedure's letters and restrictions).

    Args:
        configured: the channels a policy names (None: not configured).
        registered: the engine's channels by name.
    """
    if configured is not None:
        return frozenset(configured)
    return frozenset(
        name for name, channel in registered.items() if channel.kind is ChannelKind.WRITTEN
    )


__all__ = ["Channel", "ChannelAdapter", "Outgoing", "Receipt", "written_channels"]
