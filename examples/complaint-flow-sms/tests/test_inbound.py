"""Text messages from customers: the gateway's signed webhook, read as a complaint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from complaint_flow import (
    Actor,
    ChannelKind,
    Customer,
    InvalidArgumentError,
    InvalidIntakeError,
    ManualClock,
    OutcomeKind,
    Restriction,
)

from complaint_flow_sms import (
    SIGNATURE_HEADER,
    SmsChannel,
    WebhookSignatureError,
    read_webhook,
    signature_for,
    take_webhook,
    verify_signature,
)
from complaint_flow_sms.testing import GatewayStub, webhook
from conftest import SECRET


def test_a_text_message_becomes_a_complaint_and_its_redelivery_the_same_one(
    opened: Any,
) -> None:
    sms = opened()
    sent_at = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    body, headers = webhook(
        "+44 7700 900123",
        "My bill doubled this month\nPlease call me back",
        message_id="in-7f3a",
        received_at=sent_at,
        secret=SECRET,
    )

    sms.sms.verify(body, headers[SIGNATURE_HEADER])
    first = sms.engine.receive(sms.sms.parse(body))
    again = sms.engine.receive(sms.sms.parse(body))  # the gateway retried the webhook

    assert again.id == first.id
    assert len(sms.engine.find()) == 1
    assert (first.channel, first.external_id) == ("sms", "in-7f3a")
    assert first.summary == "My bill doubled this month"
    assert first.details == "My bill doubled this month\nPlease call me back"
    assert first.received_at == sent_at
    assert first.customer.id == "phone:+447700900123"
    assert first.customer.address_for("sms") == "+447700900123"
    assert first.data["to"] == "+447700900999"


def test_two_messages_from_one_number_are_one_customers(opened: Any) -> None:
    sms = opened()
    for message_id, number in [("in-1", "+44 7700 900123"), ("in-2", "0044 7700-900123")]:
        body, _ = webhook(number, "Still waiting", message_id=message_id)
        sms.engine.receive(sms.sms.parse(body))
    assert len(sms.engine.find(customer_id="phone:+447700900123")) == 2


def test_the_hosts_customer_is_found_by_number(gateway: GatewayStub) -> None:
    ada = Customer(id="C-42", name="Ada Lovelace", email="ada@example.org")
    known = {"+447700900123": ada}
    sms = SmsChannel(gateway.settings(default_country="44"), find_customer=known.get)

    intake = sms.parse(webhook("07700 900123", "Hello", message_id="in-1")[0])

    assert (intake.customer.id, intake.customer.name) == ("C-42", "Ada Lovelace")
    assert intake.customer.email == "ada@example.org"
    assert intake.customer.address_for("sms") == "+447700900123"


def test_a_signature_is_checked_against_the_exact_body() -> None:
    body, headers = webhook("+447700900123", "Hello", message_id="in-1", secret=SECRET)
    verify_signature(body, headers[SIGNATURE_HEADER], SECRET)

    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(body.replace(b"Hello", b"Hellp"), headers[SIGNATURE_HEADER], SECRET)
    with pytest.raises(WebhookSignatureError, match="another secret"):
        verify_signature(body, headers[SIGNATURE_HEADER], "another-secret")
    with pytest.raises(WebhookSignatureError, match=f"no {SIGNATURE_HEADER} header"):
        verify_signature(body, None, SECRET)
    assert signature_for(body, SECRET) == headers[SIGNATURE_HEADER]


def test_verifying_needs_a_webhook_secret(gateway: GatewayStub) -> None:
    body, headers = webhook("+447700900123", "Hello", message_id="in-1", secret=SECRET)
    with pytest.raises(InvalidArgumentError, match="COMPLAINT_FLOW_SMS_WEBHOOK_SECRET"):
        SmsChannel(gateway.settings()).verify(body, headers[SIGNATURE_HEADER])


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"id": "1", "text": "Hi"}', "'from' must be the sender's number"),
        (b'{"id": "1", "from": "+44 ABC", "text": "Hi"}', "it has letters"),
        (b'{"id": "1", "from": "07700 900123", "text": "Hi"}', "national number"),
        (b'{"id": "1", "from": "+447700900123", "text": "  "}', "'text' is empty"),
        (b'{"from": "+447700900123", "text": "Hi"}', "has no 'id'"),
        (
            b'{"id": "1", "from": "+447700900123", "text": "Hi", "received_at": "2026-01-05"}',
            "with its time zone",
        ),
    ],
)
def test_a_body_that_is_no_message_is_refused_saying_why(body: bytes, problem: str) -> None:
    with pytest.raises(InvalidIntakeError, match=problem):
        read_webhook(body)


def test_a_numeric_id_and_a_time_in_another_zone_are_read() -> None:
    paris = timezone(timedelta(hours=1))
    intake = read_webhook(
        b'{"id": 42, "from": "+33612345678", "text": "Bonjour",'
        b' "received_at": "2026-01-05T09:30:00+01:00"}'
    )
    assert intake.external_id == "42"
    assert intake.received_at == datetime(2026, 1, 5, 9, 30, tzinfo=paris)


def test_a_web_handler_takes_a_message_once_and_answers_200_each_time(opened: Any) -> None:
    sms = opened()
    body, headers = webhook("+447700900123", "No signal", message_id="in-9", secret=SECRET)

    first = take_webhook(sms.engine, sms.sms, body, headers[SIGNATURE_HEADER])
    again = take_webhook(sms.engine, sms.sms, body, headers[SIGNATURE_HEADER])

    assert first.outcome is not None
    assert again.outcome is not None
    assert (first.status, first.outcome.kind) == (200, OutcomeKind.OPENED)
    assert (again.status, again.outcome.kind) == (200, OutcomeKind.DUPLICATE)
    assert first.outcome.complaint is not None
    reference = first.outcome.complaint.reference
    assert (first.text, again.text) == (f"opened {reference}", f"duplicate {reference}")


def test_an_unsigned_webhook_is_answered_401_and_nothing_is_kept(opened: Any) -> None:
    sms = opened()
    body, _ = webhook("+447700900123", "No signal", message_id="in-9")

    answer = take_webhook(sms.engine, sms.sms, body, None)

    assert answer.status == 401
    assert "no X-SMS-Signature header" in answer.text
    assert sms.engine.find() == []
    assert sms.engine.store.quarantine_find() == []


def test_a_signed_body_that_is_no_message_is_kept_in_the_quarantine(opened: Any) -> None:
    sms = opened()
    body = b'{"id": "in-3", "from": "+447700900123", "text": ""}'

    answer = take_webhook(sms.engine, sms.sms, body, signature_for(body, SECRET))
    take_webhook(sms.engine, sms.sms, body, signature_for(body, SECRET))  # redelivered

    assert answer.status == 200
    [entry] = sms.engine.store.quarantine_find()
    assert entry.id == answer.quarantine_id
    assert (entry.channel, entry.source) == ("sms", "webhook")
    assert "'text' is empty" in entry.reason
    kept = sms.engine.store.quarantine_get(entry.id)
    assert kept is not None
    assert kept.raw == body


@pytest.mark.parametrize(
    ("kind", "to_the_officer"),
    [(ChannelKind.WRITTEN, OutcomeKind.OPENED), (ChannelKind.ONLINE, OutcomeKind.FILED)],
)
def test_the_stop_procedure_reads_a_text_messages_kind_and_number(
    opened: Any, clock: ManualClock, kind: ChannelKind, to_the_officer: OutcomeKind
) -> None:
    sms = opened(kind=kind)
    number = "+44 7700 900123"

    def text(message_id: str, to: str) -> Any:
        body, _ = webhook(number, "Again about my bill", message_id=message_id, to=to)
        return sms.engine.accept(sms.sms.parse(body))

    first = text("in-1", "+447700900999")
    assert first.complaint is not None
    sms.engine.conduct.restrict(
        first.complaint.customer.id,
        [
            Restriction.written_only(),
            Restriction.single_point_of_contact("+447700900555", "Sam, complaints officer"),
        ],
        actor=Actor(id="M-1", name="Mo", role="manager"),
        reasons="Forty messages a day to every number we have.",
        review_at=clock() + timedelta(days=90),
        skip_warning_reason="The messages threatened our staff.",
    )

    # A text to the officer's number, however written, is let in if texts count as writing.
    assert text("in-2", "+44 (0)7700 900555").kind is to_the_officer
    assert text("in-3", "+447700900999").kind is OutcomeKind.FILED
