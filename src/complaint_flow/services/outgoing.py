"""Turning an outbox message into the :class:`Outgoing` a channel adapter sends.

The subject carries the complaint's reference, so that an answer finds its way back
to the complaint whatever the channel; the text is the message's own text (a stop
procedure letter carries it in ``payload["text"]``) or a plain statement of what
happened, in the recipient's terms. For email, the ids of the messages already
exchanged on the complaint (received and sent, from the store's message links) go in
``in_reply_to`` and ``references``, so that the customer's mail program threads the
conversation and their answer threads back.
"""

from __future__ import annotations

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.channel_records import LinkDirection
from complaint_flow.model.channels import Outgoing
from complaint_flow.model.entities import Complaint, OutboxMessage
from complaint_flow.storage.contract import ChannelStore

TOPIC_SENTENCES = {
    "received": "We have received your complaint.",
    "acknowledged": "We have received your complaint and are looking into it.",
    "resolved": "We have reached a decision on your complaint.",
    "escalated": "Your complaint has been passed to a more senior colleague.",
    "closed": "Your complaint is now closed.",
}


def plain_outgoing(message: OutboxMessage, complaint: Complaint | None) -> Outgoing:
    """A plain-text :class:`Outgoing` for ``message`` (no letter template)."""
    if message.address is None:
        raise InvalidArgumentError(f"outbox message {message.key} has no address to send to")
    reference = complaint.reference if complaint is not None else ""
    topic = message.topic.rsplit(".", 1)[-1]
    text = message.payload.get("text")
    if not isinstance(text, str) or not text:
        sentence = TOPIC_SENTENCES.get(topic, f"There is news about your complaint ({topic}).")
        state = message.payload.get("state", complaint.state if complaint else "")
        text = f"Dear {message.payload.get('name', '')},\n\n{sentence}\n"
        if state:
            text += f"\nIt is now: {str(state).replace('_', ' ')}.\n"
    subject = f"Your complaint: {topic.replace('_', ' ')}"
    return Outgoing(
        key=message.key,
        channel=message.channel,
        address=message.address,
        recipient_name=str(message.payload.get("name", "")),
        subject=f"[{reference}] {subject}" if reference else subject,
        text=text,
        reference=reference,
        automatic=True,
    )


MAX_REFERENCES = 20
"""The most message ids an outgoing message names in ``references`` (the latest ones)."""


class Composer:
    """Builds each :class:`Outgoing`: :func:`plain_outgoing`, threaded on its complaint.

    Args:
        store: where the complaint's message links are read.
    """

    __slots__ = ("store",)

    def __init__(self, store: ChannelStore) -> None:
        self.store = store

    def __call__(self, message: OutboxMessage, complaint: Complaint | None) -> Outgoing:
        outgoing = plain_outgoing(message, complaint)
        if complaint is None:
            return outgoing
        links = self.store.links_of(complaint.id)
        if not links:
            return outgoing
        inbound = [link for link in links if link.direction is LinkDirection.INBOUND]
        return attrs.evolve(
            outgoing,
            in_reply_to=inbound[-1].message_id if inbound else None,
            references=tuple(link.message_id for link in links[-MAX_REFERENCES:]),
        )


__all__ = ["MAX_REFERENCES", "TOPIC_SENTENCES", "Composer", "plain_outgoing"]
