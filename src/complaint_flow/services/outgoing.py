"""Turning an outbox message into the :class:`Outgoing` a channel adapter sends.

The subject carries the complaint's reference, so that an answer finds its way back
to the complaint whatever the channel; the text is the message's own text (a stop
procedure letter carries it in ``payload["text"]``) or a plain statement of what
happened, in the recipient's terms.
"""

from __future__ import annotations

from complaint_flow.model.channels import Outgoing
from complaint_flow.model.entities import Complaint, OutboxMessage

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
        raise ValueError("a message with no address cannot be sent")
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


__all__ = ["TOPIC_SENTENCES", "plain_outgoing"]
