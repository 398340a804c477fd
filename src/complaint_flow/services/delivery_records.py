"""What the outbox delivery learns, written back: sent message ids, refused addresses.

- A channel adapter's receipt carries the channel's own id of what it sent (an email's
  ``Message-ID``): it is linked to the complaint, so that the customer's answer, which
  quotes it in ``In-Reply-To``, threads back to the complaint, and a bounce finds the
  complaint of the message that bounced.
- An address a channel refused for good (``UnreachableAddressError``) is marked
  undeliverable on the complaint, with an event saying why, so that later replies are
  routed to another channel (``docs/channels.md``, reply routing).
"""

from __future__ import annotations

import logging

from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.reply_router import UNDELIVERABLE_KEY
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.actions import is_action_id
from complaint_flow.model.channel_records import LinkDirection, MessageLink
from complaint_flow.model.channels import Receipt
from complaint_flow.model.conduct import is_conduct_record_id
from complaint_flow.model.entities import SYSTEM, Complaint, OutboxMessage
from complaint_flow.services.workflow_steps import frozen_data

logger = logging.getLogger("complaint_flow.outbox")


def record_sent(kernel: Kernel, message: OutboxMessage, receipt: Receipt) -> None:
    """Link the id of a message a channel sent to its complaint (for threading answers).

    A failure here is logged, not raised: the message *was* sent, and the reference in
    its subject still threads an answer back.
    """
    if not receipt.message_id or message.recipient != "customer":
        return  # only the customer's conversation is threaded
    if not _about_a_complaint(message):
        return
    try:
        kernel.store.links_add(
            [
                MessageLink(
                    receipt.message_id,
                    message.complaint_id,
                    LinkDirection.OUTBOUND,
                    kernel.clock(),
                )
            ]
        )
    except Exception:
        logger.exception("could not link sent message %s to its complaint", receipt.message_id)


def record_undeliverable(kernel: Kernel, message: OutboxMessage, why: str) -> None:
    """Mark the message's address undeliverable on its complaint, with an event."""
    address = message.address
    if not address or not _about_a_complaint(message):
        return

    def build(draft: Draft[Complaint]) -> None:
        marked = dict(draft.base.data.get(UNDELIVERABLE_KEY) or {})
        if address.casefold() in marked:
            return
        marked[address.casefold()] = why
        draft.record(
            "delivery_failed",
            SYSTEM,
            reason=why,
            data={"address": address, "channel": message.channel, "message": message.key},
            change={"data": frozen_data({**draft.base.data, UNDELIVERABLE_KEY: marked})},
        )

    try:
        kernel.change(message.complaint_id, build, retries=RETRIES)
    except Exception:
        logger.exception("could not mark %s undeliverable on %s", address, message.complaint_id)


def _about_a_complaint(message: OutboxMessage) -> bool:
    """Whether the message is a complaint's (not a conduct record's or an action's)."""
    subject = message.complaint_id
    return not is_conduct_record_id(subject) and not is_action_id(subject)


__all__ = ["record_sent", "record_undeliverable"]
