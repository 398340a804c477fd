"""Text messages customers send: the gateway's webhook, checked and read as an intake.

The gateway POSTs each message it receives to the host as JSON::

    {"id": "in-7f3a", "from": "+447700900123", "to": "+447700900999",
     "text": "My bill doubled this month", "received_at": "2026-03-02T09:30:00Z"}

with the header ``X-SMS-Signature: sha256=<hex>``, the HMAC-SHA256 of the body with the
webhook secret. Check it with :func:`verify_signature` *before* reading the body, then
read it with :func:`read_webhook` (``SmsChannel.parse``) and give the intake to
``engine.receive``. The gateway's ``id`` becomes the intake's external id, so a webhook
delivered twice (gateways retry until they get a 2xx) is one complaint.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
from complaint_flow import (
    Customer,
    Intake,
    InvalidArgumentError,
    InvalidIntakeError,
    customer_id_from_contact,
)

from complaint_flow_sms.errors import InvalidNumberError, WebhookSignatureError
from complaint_flow_sms.phone_numbers import normalise_number

CHANNEL = "sms"
"""The channel's name."""

SIGNATURE_HEADER = "X-SMS-Signature"
"""The header the gateway puts the webhook's signature in."""

SUMMARY_LENGTH = 80
"""The most characters of a message's first line that make the complaint's summary."""

FindCustomer = Callable[[str], Customer | None]
"""Looks up the host's customer by an E.164 number (``None``: not a known customer)."""


def signature_for(body: bytes, secret: str) -> str:
    """The signature of ``body`` with ``secret``: ``sha256=`` and the HMAC-SHA256 in hex.

    >>> signature_for(b'{"id": "in-1"}', "s3cret")[:20]
    'sha256=f93fbaf88f94e'
    """
    if not isinstance(body, bytes):
        raise InvalidArgumentError(f"body must be the request's bytes, got {type(body).__name__}")
    if not isinstance(secret, str) or not secret:
        raise InvalidArgumentError("secret must be the webhook secret, as non-empty text")
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str | None, secret: str) -> None:
    """Check that the gateway signed ``body`` with ``secret``; raise if not.

    Args:
        body: the request's body, exactly as received (before any decoding).
        signature: the :data:`SIGNATURE_HEADER` header's value (``None`` if absent).
        secret: the webhook secret shared with the gateway.

    Raises:
        WebhookSignatureError: no signature, or not this body's: answer 401 and read
            nothing from the body.
    """
    expected = signature_for(body, secret)
    if not signature:
        raise WebhookSignatureError(
            f"the webhook has no {SIGNATURE_HEADER} header: it did not come from the "
            "gateway (or the gateway is not set to sign webhooks); it was not read"
        )
    # Compared in constant time, so that timing says nothing about the expected value.
    if not hmac.compare_digest(signature.strip().encode(), expected.encode()):
        raise WebhookSignatureError(
            f"the webhook's {SIGNATURE_HEADER} does not match its body: it was changed on "
            "the way or signed with another secret (check the webhook secret); it was not "
            "read"
        )


def read_webhook(
    raw: bytes | str,
    *,
    default_country: str | None = None,
    find_customer: FindCustomer | None = None,
) -> Intake:
    """The complaint an inbound SMS webhook body carries.

    The customer is the host's (``find_customer``) or, for a number it does not know, a
    customer keyed by the number (``phone:+447700900123``, the same id a web form gives
    for that number), named by it. Either way their ``sms`` contact is the number, so
    the answer goes back by text message. The number the message was sent to goes in
    ``data["to"]`` (E.164), where the stop procedure's single point of contact looks.

    Args:
        raw: the webhook's JSON body.
        default_country: the calling code of national numbers, if the gateway sends any.
        find_customer: looks up a customer by number (E.164).

    Raises:
        InvalidIntakeError: the body is not a message from a customer (the message
            says which field is wrong).
    """
    message = _object(raw)
    number = _number(message.get("from"), default_country)
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidIntakeError(
            "the SMS webhook's 'text' is empty or missing: an empty message is not a complaint"
        )
    message_id = message.get("id")
    if isinstance(message_id, int) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if not isinstance(message_id, str) or not message_id.strip():
        raise InvalidIntakeError(
            "the SMS webhook has no 'id': without the gateway's message id a webhook "
            "delivered twice would make two complaints; set the gateway to send it"
        )
    data: dict[str, Any] = {}
    to = message.get("to")
    if isinstance(to, str) and to.strip():
        # complaint_flow's "to": what a single-point-of-contact restriction compares
        # with the contact it names (give that number in E.164 form too).
        try:
            data["to"] = normalise_number(to, default_country)
        except InvalidNumberError:
            data["to"] = to.strip()  # a short code or a name, as the gateway gave it
    return Intake(
        channel=CHANNEL,
        customer=_customer(number, find_customer),
        summary=summary_of(text),
        details=text.strip(),
        external_id=message_id.strip(),
        received_at=_received_at(message.get("received_at")),
        data=data,
    )


def summary_of(text: str) -> str:
    """A one-line summary of a message: its first line, cut between words if long.

    >>> summary_of("Bill doubled\\nplease call me")
    'Bill doubled'
    >>> summary_of("word " * 30)
    'word word word word word word word word word word word word word word word word…'
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InvalidArgumentError("a message with no text has no summary")
    line = " ".join(lines[0].split())
    if len(line) <= SUMMARY_LENGTH:
        return line
    cut = line[:SUMMARY_LENGTH]
    space = cut.rfind(" ")
    return (cut[:space] if space > SUMMARY_LENGTH // 2 else cut).rstrip() + "…"


def _object(raw: bytes | str) -> Mapping[str, Any]:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidIntakeError(f"the SMS webhook body is not UTF-8 text ({error})") from None
    if not isinstance(raw, str):
        raise InvalidIntakeError(f"an SMS webhook body is bytes or text, got {type(raw).__name__}")
    try:
        message = json.loads(raw)
    except ValueError as error:
        raise InvalidIntakeError(f"the SMS webhook body is not JSON ({error})") from None
    if not isinstance(message, dict):
        raise InvalidIntakeError(
            f"the SMS webhook body must be a JSON object, got {type(message).__name__}"
        )
    return message


def _number(value: object, default_country: str | None) -> str:
    if not isinstance(value, str):
        raise InvalidIntakeError(
            f"the SMS webhook's 'from' must be the sender's number, got {value!r}"
        )
    try:
        return normalise_number(value, default_country)
    except InvalidNumberError as error:
        raise InvalidIntakeError(f"the SMS webhook's 'from': {error}") from None


def _customer(number: str, find_customer: FindCustomer | None) -> Customer:
    known = find_customer(number) if find_customer is not None else None
    if known is None:
        customer_id = customer_id_from_contact({"name": number, "phone": number})
        return Customer(id=customer_id, name=number, phone=number, contacts={CHANNEL: number})
    if not isinstance(known, Customer):
        raise InvalidArgumentError(
            f"find_customer must return a Customer or None, returned {known!r} for {number}"
        )
    if known.address_for(CHANNEL) == number:
        return known
    return attrs.evolve(known, contacts={**known.contacts, CHANNEL: number})


def _received_at(value: object) -> datetime | None:
    if value is None:
        return None
    when = None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            when = None
    if when is None or when.tzinfo is None or when.utcoffset() is None:
        raise InvalidIntakeError(
            f"the SMS webhook's 'received_at' must be an ISO 8601 time with its time "
            f"zone, such as '2026-03-02T09:30:00Z', got {value!r}"
        )
    return when


__all__ = [
    "CHANNEL",
    "SIGNATURE_HEADER",
    "SUMMARY_LENGTH",
    "FindCustomer",
    "read_webhook",
    "signature_for",
    "summary_of",
    "verify_signature",
]
