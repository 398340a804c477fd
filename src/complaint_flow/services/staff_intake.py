"""Complaints a member of staff heard and records: phone, in person, letter, fax, social media.

Hidden complaints are lost quality information (mission M1): staff must be able to
record a complaint they heard in passing without it counting against them. So:

- the member of staff who records a complaint is named (``recorded_by``), and is the
  actor of its ``received`` event: the audit trail says who wrote it down;
- ``informal=True`` marks a complaint received informally (a remark at the counter, a
  grumble on a call about something else). It is **blame-free**: the library's reports
  never attribute an informal complaint to the member of staff who recorded it (they
  count it under the channel and category only), so recording one costs them nothing;
- ``customer=None`` records an **anonymous** complaint: a customer record with no
  contact and no name of theirs, marked ``data["anonymous"] = True``. Nothing is sent
  to an anonymous complainant (there is nobody to send it to), so no message waits in
  the outbox as unreachable for them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from complaint_flow.arguments import (
    flag,
    instance,
    name,
    optional_aware_datetime,
    optional_mapping,
    optional_name,
    optional_text,
    text,
)
from complaint_flow.errors import InvalidIntakeError
from complaint_flow.model.entities import Actor, Customer, Intake, Severity
from complaint_flow.model.reply_routing import ANONYMOUS_KEY

STAFF_CHANNELS = ("phone", "in_person", "letter", "fax", "social_media")
"""The channels staff usually record complaints from (any registered channel is allowed)."""

ANONYMOUS_NAME = "Anonymous complainant"


def anonymous_customer() -> Customer:
    """A customer record for one anonymous complaint: a fresh id, no contact at all."""
    return Customer(id=f"anonymous:{uuid.uuid4().hex}", name=ANONYMOUS_NAME)


def staff_intake(
    *,
    staff: Actor,
    channel: str,
    summary: str,
    customer: Customer | None = None,
    details: str = "",
    category: str = "general",
    severity: Severity | str = Severity.NORMAL,
    desired_outcome: str = "",
    preferred_channel: str | None = None,
    informal: bool = False,
    received_at: datetime | None = None,
    external_id: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> Intake:
    """The :class:`Intake` for a complaint ``staff`` heard on ``channel`` and records now.

    Pass it to ``Engine.receive`` (or ``accept``) like any other intake: the stop
    procedure, idempotency on ``external_id`` and the workflow's clocks apply. The
    clocks start at ``received_at`` (when the customer complained), not when it was
    written down.

    Args:
        staff: the member of staff recording it (named in the audit trail).
        channel: where it was heard (``phone``, ``in_person``, ``letter``, ``fax``,
            ``social_media`` or any registered channel).
        summary: one line saying what the complaint is about.
        customer: who complained; None records an anonymous complaint.
        informal: received informally; blame-free (see the module's notes).
        received_at: when the customer complained (default: now).
        external_id: the host's id for it (a call id, a letter's scan number), for
            idempotency.
        data: further data for the workflow.

    Raises:
        InvalidArgumentError: an argument is missing or of the wrong type (the
            message names it).
    """
    staff = instance("staff", staff, Actor, "Actor(id=..., name=..., role=...)")
    if customer is not None:
        customer = instance("customer", customer, Customer, "Customer(id=..., name=...)")
    extra = dict(optional_mapping("data", data) or {})
    if customer is None:
        if preferred_channel is not None:
            raise InvalidIntakeError(
                "an anonymous complaint has nobody to reply to: leave preferred_channel out, "
                "or give the customer"
            )
        customer = anonymous_customer()
        extra[ANONYMOUS_KEY] = True
    elif ANONYMOUS_KEY in extra:
        raise InvalidIntakeError(
            f"data[{ANONYMOUS_KEY!r}] is set by staff_intake for customer=None only"
        )
    return Intake(
        channel=name("channel", channel),
        customer=customer,
        summary=text("summary", summary),
        details=text("details", details, blank=True),
        external_id=optional_text("external_id", external_id),
        category=name("category", category),
        severity=severity,
        desired_outcome=text("desired_outcome", desired_outcome, blank=True),
        preferred_channel=optional_name("preferred_channel", preferred_channel),
        received_at=optional_aware_datetime("received_at", received_at),
        informal=flag("informal", informal),
        recorded_by=staff,
        data=extra,
    )


__all__ = [
    "ANONYMOUS_KEY",
    "ANONYMOUS_NAME",
    "STAFF_CHANNELS",
    "anonymous_customer",
    "staff_intake",
]
