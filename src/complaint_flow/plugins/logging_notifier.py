"""The default notifier: writes each notification to the ``complaint_flow.notify`` logger."""

from __future__ import annotations

import logging

from complaint_flow.model.entities import Complaint, OutboxMessage
from complaint_flow.plugins.hookspecs import hookimpl

logger = logging.getLogger("complaint_flow.notify")


@hookimpl(trylast=True)
def complaint_flow_notify(message: OutboxMessage, complaint: Complaint | None) -> None:
    logger.info(
        "notify %s of %s on %s (%s) for %s [%s]",
        message.recipient,
        message.topic,
        message.channel,
        message.address or "no address",
        complaint.reference if complaint is not None else message.complaint_id,
        message.key,
    )
