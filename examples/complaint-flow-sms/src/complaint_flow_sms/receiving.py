"""Taking the gateway's webhook end to end: what to answer, and where the message went.

:func:`take_webhook` is what a web handler calls with the request's body and signature
header: whatever web framework the host uses, it only turns the :class:`WebhookAnswer`
into a response. Gateways retry a webhook until they get a 2xx, so the answer is 2xx
whenever the message is safely kept, as a complaint or in the quarantine, and an error
only when it is not (a bad signature: 401; the store failing: the exception, so 500).
"""

from __future__ import annotations

import hashlib

import attrs
from complaint_flow import (
    Engine,
    IntakeOutcome,
    InvalidIntakeError,
    QuarantinedMessage,
)

from complaint_flow_sms.channel import SmsChannel
from complaint_flow_sms.errors import WebhookSignatureError
from complaint_flow_sms.inbound import CHANNEL

SOURCE = "webhook"
"""The quarantine's ``source`` of the messages this module sets aside."""


@attrs.frozen
class WebhookAnswer:
    """What to answer the gateway, and what became of its message.

    Args:
        status: the HTTP status to answer with.
        text: a line for the response body and the logs.
        outcome: what ``Engine.accept`` did with it (opened, duplicate, filed,
            linked), if it was read.
        quarantine_id: the quarantine's id for it, if it could not be read.
    """

    status: int
    text: str
    outcome: IntakeOutcome | None = None
    quarantine_id: str | None = None


def take_webhook(
    engine: Engine, sms: SmsChannel, body: bytes, signature: str | None
) -> WebhookAnswer:
    """Check, read and take in one inbound SMS webhook.

    - A missing or wrong signature: 401, and nothing is read or kept (anyone can post
      to a URL; only the gateway can sign).
    - A body that is not a message from a customer: kept whole in the quarantine, with
      the reason, for a person to look at (``complaint-flow channels quarantine``);
      200, since sending it again would not make it readable.
    - A message: taken in with ``Engine.accept`` under the stop procedure (a new
      complaint, the same one again for a redelivery, or filed on the customer's
      conduct record); 200.

    Args:
        engine: where it goes.
        sms: the channel that checks and reads it.
        body: the request's body, exactly as received.
        signature: the ``X-SMS-Signature`` header (``None`` if absent).

    Raises:
        ComplaintFlowError: the store failed; answer 500 and the gateway retries.
    """
    try:
        sms.verify(body, signature)
    except WebhookSignatureError as error:
        return WebhookAnswer(401, str(error))
    try:
        intake = sms.parse(body)
    except InvalidIntakeError as error:
        digest = hashlib.sha256(body).hexdigest()[:32]
        kept = engine.store.quarantine_add(
            QuarantinedMessage(
                id=f"{CHANNEL}:{digest}",
                source=SOURCE,
                channel=CHANNEL,
                received_at=engine.now(),
                reason=str(error),
                raw=body,
            )
        )
        return WebhookAnswer(
            200, f"kept in the quarantine as {kept.id}: {error}", quarantine_id=kept.id
        )
    outcome = engine.accept(intake)
    about = f" {outcome.complaint.reference}" if outcome.complaint is not None else ""
    return WebhookAnswer(200, f"{outcome.kind.value}{about}", outcome=outcome)


__all__ = ["SOURCE", "WebhookAnswer", "take_webhook"]
