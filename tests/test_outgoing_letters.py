"""Messages to customers leave as their workflow's letters, checked, threaded, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from complaint_flow import (
    Actor,
    Channel,
    ChannelKind,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    LetterSettings,
    LinkDirection,
    ManualClock,
    MessageLink,
    OutboxStatus,
    Receipt,
    hookimpl,
)

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
AGENT = Actor(id="A-1", name="Al", role="agent")
ADA = Customer(id="C-1", name="Ada Byron", email="ada@example.org")
SETTINGS = LetterSettings(
    organisation="Northwind Bank", signed_by="Jo Smith", contact="complaints@northwind.example"
)


class Mail:
    """An email adapter that keeps what it is given, as a mail server would."""

    channel = Channel("email", ChannelKind.WRITTEN, "Email")

    def __init__(self) -> None:
        self.sent: list = []  # type: ignore[type-arg]

    def parse(self, raw: bytes):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def send(self, message):  # type: ignore[no-untyped-def]
        self.sent.append(message)
        return Receipt("email", message.address, message_id=f"<{message.key}@northwind.example>")

    @hookimpl
    def complaint_flow_register_channels(self, register):  # type: ignore[no-untyped-def]
        register(self)


def opened(workflow: str, mail: Mail, letters: LetterSettings | None = SETTINGS) -> Engine:
    return Engine.open(
        "memory://", workflow=workflow, clock=ManualClock(START), plugins=[mail], letters=letters
    )


def test_an_fca_acknowledgement_is_the_packs_letter_signed_and_referenced() -> None:
    mail = Mail()
    with opened("fca", mail) as engine:
        complaint = engine.receive(Intake(channel="email", customer=ADA, summary="Fees"))
        engine.fire(complaint.id, "acknowledge", actor=AGENT)
        report = engine.deliver()
    assert report.delivered == 1
    [sent] = mail.sent
    assert complaint.reference in sent.subject
    assert "Ada Byron" in sent.text
    assert "Jo Smith" in sent.text
    assert "Northwind Bank" in sent.text
    assert sent.text != sent.subject


def test_without_letter_settings_the_message_is_plain_text() -> None:
    mail = Mail()
    with opened("fca", mail, letters=None) as engine:
        complaint = engine.receive(Intake(channel="email", customer=ADA, summary="Fees"))
        engine.fire(complaint.id, "acknowledge", actor=AGENT)
        engine.deliver()
    [sent] = mail.sent
    assert "Northwind Bank" not in sent.text
    assert complaint.reference in sent.subject


def test_a_letter_missing_required_content_is_never_sent(tmp_path: Path) -> None:
    own = tmp_path / "packs" / "fca" / "en"
    own.mkdir(parents=True)
    (own / "final_response.txt").write_text(
        '{% set subject = "Our answer " ~ reference %}Dear {{ customer_name }}, no.\n',
        encoding="utf-8",
    )
    settings = LetterSettings(
        organisation="Northwind Bank",
        signed_by="Jo Smith",
        contact="complaints@northwind.example",
        override_dirs=[tmp_path],
    )
    mail = Mail()
    with opened("fca", mail, letters=settings) as engine:
        complaint = engine.receive(Intake(channel="email", customer=ADA, summary="Fees"))
        engine.fire(complaint.id, "acknowledge", actor=AGENT)
        engine.fire(
            complaint.id,
            "send_final_response",
            actor=AGENT,
            data={"final_response": "We do not uphold it."},
        )
        report = engine.deliver()
        messages = engine.outbox(complaint.id)
    final = [m for m in messages if m.payload.get("letter") == "final_response"]
    assert report.delivered == 1  # the acknowledgement
    assert report.failed == 1
    assert len(mail.sent) == 1
    assert mail.sent[0].key == next(
        m.key for m in messages if m.payload.get("letter") == "acknowledgement"
    )
    [message] = final
    assert message.status is OutboxStatus.PENDING
    assert "ombudsman referral right" in (message.last_error or "")
    assert "six-month time limit" in (message.last_error or "")


def test_a_reply_is_threaded_on_the_messages_of_its_complaint() -> None:
    mail = Mail()
    with opened("tactics", mail) as engine:
        complaint = engine.receive(Intake(channel="email", customer=ADA, summary="Late"))
        engine.store.links_add(
            [MessageLink("<first@ada.example>", complaint.id, LinkDirection.INBOUND, START)]
        )
        engine.fire(complaint.id, "thank", actor=AGENT)
        engine.deliver()
        [sent] = mail.sent
        assert sent.in_reply_to == "<first@ada.example>"
        assert sent.references == ("<first@ada.example>",)
        # What was sent is linked back, for the customer's answer to thread on.
        links = engine.store.links_of(complaint.id)
    assert {(link.message_id, link.direction) for link in links} == {
        ("<first@ada.example>", LinkDirection.INBOUND),
        (f"<{sent.key}@northwind.example>", LinkDirection.OUTBOUND),
    }


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"organisation": " "}, "organisation"),
        ({"signed_by": 3}, "signed_by"),
        ({"language": 5}, "language"),
        ({"override_dirs": "dir"}, "override_dirs"),
        ({"contact": ""}, "contact"),
    ],
)
def test_letter_settings_name_what_is_wrong(changes: dict, named: str) -> None:  # type: ignore[type-arg]
    arguments = {"organisation": "N", "signed_by": "J", "contact": "c"}
    arguments.update(changes)
    with pytest.raises(InvalidArgumentError, match=named):
        LetterSettings(**arguments)
