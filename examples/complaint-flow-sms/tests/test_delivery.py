"""Replies by text message, through a real HTTP gateway on 127.0.0.1 and a real engine."""

from __future__ import annotations

from typing import Any

import pytest
from complaint_flow import (
    ChannelError,
    Customer,
    Intake,
    LinkDirection,
    ManualClock,
    OutboxStatus,
    Outgoing,
    UnreachableAddressError,
)

from complaint_flow_sms import LetterTooLongError, SmsChannel, count_segments
from complaint_flow_sms.testing import GatewayStub, webhook
from conftest import AGENT, SECRET

NUMBER = "+447700900123"


def _complaint_by_sms(opened: Any, number: str = "+44 7700 900123") -> Any:
    body, headers = webhook(number, "My bill doubled", message_id="in-1", secret=SECRET)
    opened.sms.verify(body, headers["X-SMS-Signature"])
    complaint = opened.engine.receive(opened.sms.parse(body))
    return opened.engine.fire(complaint.id, "thank", actor=AGENT)


def _to_customer(opened: Any, complaint: Any) -> Any:
    [message] = [m for m in opened.engine.outbox(complaint.id) if m.recipient == "customer"]
    return message


def test_a_complaint_received_by_sms_is_answered_by_sms(opened: Any, gateway: GatewayStub) -> None:
    sms = opened(sender="Northwind")
    complaint = _complaint_by_sms(sms)
    message = _to_customer(sms, complaint)
    assert (message.channel, message.address) == ("sms", NUMBER)

    report = sms.engine.deliver()

    assert report.delivered == 1
    [sent] = gateway.messages
    assert sent.to == NUMBER
    assert sent.text.startswith(f"[{complaint.reference}] Dear {NUMBER},")
    assert "It is now: thanked." in sent.text
    assert sent.body["from"] == "Northwind"
    assert sent.headers["authorization"] == f"Bearer {gateway.token}"
    assert sent.key == f"{message.key}/1"
    assert _to_customer(sms, complaint).status is OutboxStatus.DELIVERED
    # The gateway's id is kept, for a later status report or answer to find the complaint.
    outbound = [
        link.message_id
        for link in sms.engine.store.links_of(complaint.id)
        if link.direction is LinkDirection.OUTBOUND
    ]
    assert outbound == ["gw-1"]


def test_an_invalid_number_makes_the_message_unreachable(
    opened: Any, gateway: GatewayStub, clock: ManualClock
) -> None:
    sms = opened()
    gateway.invalid_numbers.add(NUMBER)
    complaint = _complaint_by_sms(sms)

    report = sms.engine.deliver()

    assert (report.delivered, report.failed, report.unreachable) == (0, 0, 1)
    message = _to_customer(sms, complaint)
    assert message.status is OutboxStatus.UNREACHABLE
    assert "invalid_number" in message.last_error
    assert NUMBER in message.last_error
    # Never tried again: the number will not work tomorrow either.
    clock.advance(hours=2)
    assert sms.engine.deliver().unreachable == 0
    assert len(gateway.requests) == 1


def test_an_outage_leaves_the_message_pending_and_a_later_attempt_delivers_it(
    opened: Any, gateway: GatewayStub, clock: ManualClock
) -> None:
    sms = opened()
    complaint = _complaint_by_sms(sms)
    gateway.fail(503)

    report = sms.engine.deliver()

    assert (report.delivered, report.failed, report.dead) == (0, 1, 0)
    message = _to_customer(sms, complaint)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert "503" in message.last_error
    assert "tries again later" in message.last_error
    assert gateway.messages == []

    clock.advance(minutes=5)  # past the outbox's backoff
    assert sms.engine.deliver().delivered == 1
    assert _to_customer(sms, complaint).status is OutboxStatus.DELIVERED
    [sent] = gateway.messages
    assert complaint.reference in sent.text


def test_a_refused_token_is_retried_and_says_what_to_check(
    opened: Any, gateway: GatewayStub, clock: ManualClock
) -> None:
    sms = opened()
    gateway.token = "rotated-token"
    complaint = _complaint_by_sms(sms)

    assert sms.engine.deliver().failed == 1

    message = _to_customer(sms, complaint)
    assert message.status is OutboxStatus.PENDING
    assert "refused the token" in message.last_error
    assert "COMPLAINT_FLOW_SMS_TOKEN" in message.last_error


def test_an_address_that_is_no_phone_number_is_unreachable_without_asking_the_gateway(
    opened: Any, gateway: GatewayStub
) -> None:
    sms = opened()
    customer = Customer(id="C-1", name="Ada", contacts={"sms": "ada at home"})
    complaint = sms.engine.receive(Intake(channel="sms", customer=customer, summary="Late"))
    sms.engine.fire(complaint.id, "thank", actor=AGENT)

    assert sms.engine.deliver().unreachable == 1

    message = _to_customer(sms, complaint)
    assert "it has letters" in message.last_error
    assert gateway.requests == []


def _outgoing(text: str, key: str = "m-1") -> Outgoing:
    return Outgoing(
        key=key,
        channel="sms",
        address="+44 7700 900123",
        recipient_name="Ada",
        subject="[CF-2026-000001] Your complaint",
        text=text,
        reference="CF-2026-000001",
    )


LONG_LETTER = " ".join(f"Sentence {n} of our answer to your complaint." for n in range(30))


def test_a_long_letter_goes_as_several_messages_in_order(gateway: GatewayStub) -> None:
    sms = SmsChannel(gateway.settings(max_segments=2))

    receipt = sms.send(_outgoing(LONG_LETTER))

    parts = [message.text for message in gateway.messages]
    assert len(parts) == 5
    assert [part.split(" ", 1)[0] for part in parts] == [f"({n}/5)" for n in range(1, 6)]
    assert all(count_segments(part).count <= 2 for part in parts)
    assert parts[0].startswith("(1/5) [CF-2026-000001] Sentence 0 ")
    # Nothing lost, nothing doubled: the words are the letter's, in order.
    words = [word for part in parts for word in part.split()[1:]]
    assert words == f"[CF-2026-000001] {LONG_LETTER}".split()
    assert [message.key for message in gateway.messages] == [f"m-1/{n}" for n in range(1, 6)]
    assert receipt.message_id == "gw-1"
    assert receipt.detail == "5 messages (GSM-7): gw-1, gw-2, gw-3, gw-4, gw-5"


def test_a_long_letter_is_refused_when_splitting_is_not_allowed(gateway: GatewayStub) -> None:
    sms = SmsChannel(gateway.settings(max_segments=2, long_letters="refuse"))

    with pytest.raises(LetterTooLongError, match=r"needs 9 SMS segments .* at most 2"):
        sms.send(_outgoing(LONG_LETTER))

    assert gateway.requests == []


def test_a_retry_after_a_partial_failure_sends_only_the_rest(gateway: GatewayStub) -> None:
    sms = SmsChannel(gateway.settings(max_segments=4))
    gateway.fail(503, after=1)

    with pytest.raises(ChannelError, match="503"):
        sms.send(_outgoing(LONG_LETTER))
    assert len(gateway.messages) == 1

    receipt = sms.send(_outgoing(LONG_LETTER))

    assert [message.key for message in gateway.messages] == ["m-1/1", "m-1/2", "m-1/3"]
    assert receipt.detail == "3 messages (GSM-7): gw-1, gw-2, gw-3"


def test_text_outside_the_gsm_alphabet_is_counted_in_ucs2(gateway: GatewayStub) -> None:
    sms = SmsChannel(gateway.settings())

    receipt = sms.send(_outgoing("Dziękujemy za wiadomość."))

    assert receipt.detail == "1 segment(s), UCS-2: gw-1"
    assert gateway.messages[0].text == "[CF-2026-000001] Dziękujemy za wiadomość."


def test_a_gateway_that_does_not_answer_in_time_fails_the_attempt() -> None:
    with GatewayStub(delay=1.0) as slow:
        sms = SmsChannel(slow.settings(timeout=0.2))
        with pytest.raises(ChannelError, match=r"could not be reached .*timed out"):
            sms.send(_outgoing("Hello"))


def test_a_gateway_that_is_down_fails_the_attempt(gateway: GatewayStub) -> None:
    settings = gateway.settings()
    gateway.close()
    with pytest.raises(ChannelError, match="could not be reached"):
        SmsChannel(settings).send(_outgoing("Hello"))


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (429, "rate_limited", "asks to slow down"),
        (400, "text_too_long", "refused the message"),
        (500, None, "failed"),
        (400, "opted_out", "cannot be reached"),
    ],
)
def test_what_each_refusal_means(
    gateway: GatewayStub, status: int, error: str | None, expected: str
) -> None:
    gateway.fail(status, error=error)
    with pytest.raises(ChannelError, match=expected) as raised:
        SmsChannel(gateway.settings()).send(_outgoing("Hello"))
    assert isinstance(raised.value, UnreachableAddressError) == (error == "opted_out")


def test_a_redirect_is_not_followed(gateway: GatewayStub) -> None:
    gateway.fail(307)
    with pytest.raises(ChannelError, match="redirect"):
        SmsChannel(gateway.settings()).send(_outgoing("Hello"))
    assert len(gateway.requests) == 1
