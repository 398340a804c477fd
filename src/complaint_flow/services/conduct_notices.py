"""The stop procedure's letters to the customer, as outbox messages on a written channel.

Every decision of the procedure (warning, restriction, appeal outcome,
extension, lift, lapse) is told to the customer in writing: the notice is an
ordinary :class:`~complaint_flow.model.entities.OutboxMessage` committed with the
decision's event, whose ``complaint_id`` is the conduct record's id, delivered
by the outbox dispatcher to the ``complaint_flow_notify`` hook (with
``complaint=None``). Its payload carries the letter's fields and, under
``text``, the whole letter in plain words.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.model.conduct import (
    ConductRecord,
    Restriction,
    RestrictionKind,
)
from complaint_flow.model.entities import Customer, Event, OutboxMessage
from complaint_flow.model.immutable import freeze_mapping


class NoticeKind(enum.StrEnum):
    """The letters of the procedure; the message topic is ``conduct_<kind>``."""

    WARNING = "warning"
    RESTRICTION = "restriction"
    APPEAL_RECEIVED = "appeal_received"
    APPEAL_OUTCOME = "appeal_outcome"
    EXTENSION = "extension"
    LIFT = "lift"
    LAPSE = "lapse"

    @property
    def topic(self) -> str:
        """The outbox topic of this letter (``conduct.warning``…), as acknowledgements'."""
        return f"conduct.{self.value}"


@attrs.frozen
class NoticeRoute:
    """Where a notice goes: a written channel and the customer's address there (or None)."""

    channel: str
    address: str | None

    def event_data(self) -> dict[str, Any]:
        """What the decision's event records about the notice."""
        data: dict[str, Any] = {"notice_channel": self.channel}
        if self.address is None:
            data["notice_address_missing"] = True
        return data


def notice_route(customer: Customer, written_channels: Collection[str]) -> NoticeRoute:
    """The written channel a notice goes on, and the address.

    The first written channel on which the customer has an address: their preferred
    channel, then email, then letter, then the others by name. Without an address on
    any of them the notice is still created on their preferred written channel (else
    letter), with ``address`` None, so that the gap is visible.
    """
    preferred = customer.preferred_channel
    for channel in (preferred, "email", "letter", *sorted(written_channels)):
        if channel is None or channel not in written_channels:
            continue
        address = customer.address_for(channel)
        if address:
            return NoticeRoute(channel, address)
    if preferred is not None and preferred in written_channels:
        return NoticeRoute(preferred, None)
    return NoticeRoute("letter", None)


def _date(when: datetime) -> str:
    return f"{when.day} {when:%B %Y}"


def describe_restriction(restriction: Restriction, written_channels: Sequence[str] = ()) -> str:
    """One restriction in plain words, as the letter states it."""
    kind = restriction.kind
    if kind is RestrictionKind.SINGLE_POINT_OF_CONTACT:
        return (
            f"All contact with us must go through {restriction.contact_name} "
            f"({restriction.contact})."
        )
    if kind is RestrictionKind.WRITTEN_ONLY:
        ways = (
            ", ".join(c.replace("_", " ") for c in written_channels)
            if written_channels
            else "letter or email"
        )
        return f"Please contact us in writing only ({ways})."
    if kind is RestrictionKind.CONTACT_LIMIT:
        days = "day" if restriction.period_days == 1 else f"{restriction.period_days} days"
        return (
            f"We will deal with at most {restriction.max_contacts} contacts from you in any "
            f"{days}; further contacts are kept and read, but may not be answered one by one."
        )
    if kind is RestrictionKind.NO_REOPENING:
        matters = ", ".join(restriction.matters)
        return (
            f"We will not open new complaints about {matters}: we have considered these "
            "matters fully and our position on them will not change. Anything new you "
            "send about them is still read."
        )
    return f"Telephone calls with us will be kept to {restriction.call_minutes} minutes."


def restriction_data(restriction: Restriction) -> dict[str, Any]:
    """A restriction as JSON-like event data (only the settings its kind uses)."""
    data: dict[str, Any] = {"kind": restriction.kind.value, "acknowledge": restriction.acknowledge}
    for name in ("contact", "contact_name", "max_contacts", "period_days", "call_minutes"):
        value = getattr(restriction, name)
        if value is not None:
            data[name] = value
    if restriction.matters:
        data["matters"] = list(restriction.matters)
    return data


@attrs.frozen
class Letter:
    """What one notice says; ``text`` is the whole letter."""

    kind: NoticeKind
    subject: str
    paragraphs: tuple[str, ...]
    fields: Mapping[str, Any] = attrs.field(factory=dict)

    def text(self, name: str) -> str:
        """The letter addressed to ``name``."""
        return "\n\n".join((f"Dear {name},", *self.paragraphs, "Yours sincerely,"))


def _appeal_paragraph(now: datetime, appeal_days: int) -> tuple[str, str]:
    appeal_by = now + timedelta(days=appeal_days)
    return (
        f"You may appeal against this decision within {appeal_days} days, by "
        f"{_date(appeal_by)}. Tell us in writing why you disagree; someone who took no part "
        "in the decision will look at it again.",
        appeal_by.isoformat(),
    )


def warning_letter(record: ConductRecord) -> Letter:
    """The warning: what behaviour concerns us, and that restrictions may follow."""
    return Letter(
        NoticeKind.WARNING,
        "A warning about how you contact us",
        (
            f"We are writing about the way you have been contacting us. {record.reasons}",
            "If this continues we may decide to restrict how you can contact us. We will "
            "keep dealing with your complaints, and anything you send us is still read.",
        ),
        {"reasons": record.reasons},
    )


def _restriction_lines(record: ConductRecord, written_channels: Sequence[str]) -> list[str]:
    return [describe_restriction(r, written_channels) for r in record.restrictions]


def restriction_letter(
    record: ConductRecord,
    now: datetime,
    appeal_days: int,
    written_channels: Sequence[str],
    *,
    extension: bool = False,
) -> Letter:
    """The restriction (or extension) decision: reasons, restrictions, review date, appeal."""
    assert record.review_at is not None
    lines = _restriction_lines(record, written_channels)
    appeal, appeal_by = _appeal_paragraph(now, appeal_days)
    paragraphs = [
        (
            "We have reviewed the restrictions on how you contact us and decided to keep them."
            if extension
            else "We have decided to restrict how you can contact us."
        ),
        f"Our reasons: {record.reasons}",
        "From now on:\n" + "\n".join(f"- {line}" for line in lines),
    ]
    if record.adjustment_note:
        paragraphs.append(f"How we take account of your needs: {record.adjustment_note}")
    paragraphs += [
        "Nothing you send us is thrown away: messages outside these arrangements are kept "
        "and read by a member of staff.",
        f"We will review this decision by {_date(record.review_at)}; unless we decide "
        "otherwise then, the restrictions end on that date.",
        appeal,
    ]
    return Letter(
        NoticeKind.EXTENSION if extension else NoticeKind.RESTRICTION,
        "We have extended restrictions on how you contact us"
        if extension
        else "Restrictions on how you contact us",
        tuple(paragraphs),
        {
            "reasons": record.reasons,
            "restrictions": lines,
            "review_at": record.review_at.isoformat(),
            "appeal_by": appeal_by,
            "appeal_days": appeal_days,
            "adjustment_note": record.adjustment_note,
        },
    )


def appeal_received_letter(record: ConductRecord) -> Letter:
    """The acknowledgement of an appeal."""
    return Letter(
        NoticeKind.APPEAL_RECEIVED,
        "We have received your appeal",
        (
            "Thank you for your appeal against the restrictions on how you contact us. "
            "Someone who took no part in the decision will look at it and write to you "
            "with the outcome.",
            "Until then the restrictions stay in place.",
        ),
        {"grounds": record.appeal_grounds},
    )


def appeal_outcome_letter(record: ConductRecord, restriction_stands: bool, reasons: str) -> Letter:
    """The appeal's outcome: the restriction stands, or it ends."""
    if restriction_stands:
        review = _date(record.review_at) if record.review_at is not None else "its review date"
        paragraphs: tuple[str, ...] = (
            "We have considered your appeal and decided that the restrictions on how you "
            "contact us stay in place.",
            f"Our reasons: {reasons}",
            f"They will be reviewed by {review}.",
        )
    else:
        paragraphs = (
            "We have considered your appeal and decided to end the restrictions on how you "
            "contact us. You can contact us in any of the usual ways again.",
            f"Our reasons: {reasons}",
        )
    return Letter(
        NoticeKind.APPEAL_OUTCOME,
        "The outcome of your appeal",
        paragraphs,
        {"restriction_stands": restriction_stands, "reasons": reasons},
    )


def end_letter(kind: NoticeKind, reasons: str) -> Letter:
    """The end of the restrictions: lifted early, or lapsed at review."""
    opening = (
        "We have decided to lift the restrictions on how you contact us."
        if kind is NoticeKind.LIFT
        else "The restrictions on how you contact us have now ended."
    )
    return Letter(
        kind,
        "The restrictions on how you contact us have ended",
        (opening, f"Our reasons: {reasons}", "You can contact us in any of the usual ways."),
        {"reasons": reasons},
    )


def notice_message(
    record: ConductRecord, event: Event, letter: Letter, route: NoticeRoute
) -> OutboxMessage:
    """The outbox message carrying ``letter`` about ``event`` of ``record`` to the customer."""
    customer = record.customer
    payload: dict[str, Any] = {
        "letter": letter.kind.value,
        "name": customer.name,
        "subject": letter.subject,
        **letter.fields,
        "text": letter.text(customer.name),
    }
    return OutboxMessage.pending(
        f"{record.id}:{event.seq}:customer",
        record.id,
        event.seq,
        letter.kind.topic,
        "customer",
        route.channel,
        route.address,
        event.at,
        freeze_mapping(payload),
    )


__all__ = [
    "Letter",
    "NoticeKind",
    "NoticeRoute",
    "describe_restriction",
    "notice_message",
    "notice_route",
    "restriction_data",
]
