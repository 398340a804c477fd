"""Email end to end: a complaint by email, its acknowledgement over SMTP, the answer threaded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from complaint_flow import (
    Actor,
    Customer,
    EmailIntake,
    Engine,
    Intake,
    LetterSettings,
    MailOutcomeKind,
    ManualClock,
    OutboxStatus,
    SmtpChannel,
    SmtpSettings,
    hookimpl,
)
from smtp_server import SmtpServer

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(the event loop|Task was destroyed|was never awaited).*"
)

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
AGENT = Actor(id="A-1", name="Al", role="agent")


class Mail:
    """The host's plugin: the SMTP channel replaces the built-in email channel."""

    def __init__(self, channel: SmtpChannel) -> None:
        self.channel = channel

    @hookimpl
    def complaint_flow_register_channels(self, register):  # type: ignore[no-untyped-def]
        register(self.channel)


def customer_mail(subject: str, body: str, message_id: str, in_reply_to: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = "Ada Byron <ada@example.org>"
    message["To"] = "complaints@shop.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message.as_bytes(policy=SMTP)


def test_an_answer_to_our_email_threads_back_by_its_headers(
    smtp_servers: Callable[..., SmtpServer],
) -> None:
    server = smtp_servers(security="starttls", users={"shop": "s3cret"})
    settings = SmtpSettings(
        host=server.host,
        port=server.port,
        security="starttls",
        username="shop",
        password="s3cret",
        sender="complaints@shop.example",
        sender_name="Shop complaints",
        cafile=server.cafile,
        timeout=5,
    )
    letters = LetterSettings(
        organisation="Shop", signed_by="Jo Smith", contact="complaints@shop.example"
    )
    with (
        SmtpChannel(settings) as channel,
        Engine.open(
            "memory://", clock=ManualClock(START), plugins=[Mail(channel)], letters=letters
        ) as engine,
    ):
        mail = EmailIntake(engine.kernel, engine.reception)
        first = mail.take(customer_mail("Broken kettle", "It leaks.", "<k1@example.org>"))
        complaint = first.complaint
        assert complaint is not None
        engine.fire(complaint.id, "thank", actor=AGENT)
        report = engine.deliver()
        assert (report.delivered, report.failed) == (1, 0)
        [arrived] = server.received
        assert arrived.rcpt_tos == ("ada@example.org",)
        assert arrived.login == "shop"
        sent = arrived.message
        assert complaint.reference in str(sent["Subject"])
        assert str(sent["Auto-Submitted"]) == "auto-replied"
        assert str(sent["In-Reply-To"]) == "<k1@example.org>"
        assert "Jo Smith" in sent.get_body(("plain",)).get_content()
        ours = str(sent["Message-ID"])
        # The customer answers without the reference: the headers alone thread it.
        answer = mail.take(
            customer_mail("Re: Thank you", "Still leaking.", "<k2@example.org>", ours)
        )
        assert answer.kind is MailOutcomeKind.REPLY
        assert answer.reason == "In-Reply-To/References"
        assert answer.complaint is not None
        assert answer.complaint.id == complaint.id


def test_a_recipient_refused_for_good_is_unreachable_and_replies_move(
    smtp_servers: Callable[..., SmtpServer],
) -> None:
    server = smtp_servers(refused={"gone@example.org": "550 5.1.1 No such user here"})
    settings = SmtpSettings(
        host=server.host, port=server.port, security="none", sender="complaints@shop.example"
    )
    with (
        SmtpChannel(settings) as channel,
        Engine.open("memory://", clock=ManualClock(START), plugins=[Mail(channel)]) as engine,
    ):
        bo = Customer(id="C-2", name="Bo", email="gone@example.org", postal_address="2 Lane")
        complaint = engine.receive(Intake(channel="email", customer=bo, summary="Late"))
        engine.fire(complaint.id, "thank", actor=AGENT)
        report = engine.deliver()
        assert (report.delivered, report.unreachable) == (0, 1)
        [refused] = [m for m in engine.outbox(complaint.id) if m.recipient == "customer"]
        assert refused.status is OutboxStatus.UNREACHABLE
        assert "550 5.1.1" in (refused.last_error or "")
        assert engine.history(complaint.id)[-1].kind == "delivery_failed"
        engine.fire(complaint.id, "apologise", actor=AGENT)
        routed = engine.get(complaint.id)
        assert "gone@example.org" in routed.data["undeliverable_addresses"]
    assert server.received == []
