"""Inbound email: new complaints, threaded replies, bounces, automatic mail and the quarantine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from complaint_flow import (
    Actor,
    Customer,
    EmailIntake,
    Engine,
    Intake,
    InvalidArgumentError,
    LinkDirection,
    MailOutcomeKind,
    ManualClock,
    MessageLink,
    OutboxStatus,
    QuarantineStatus,
)
from complaint_flow.kernel.reply_router import UNDELIVERABLE_KEY

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
MAIL = Path(__file__).parent / "mail"
AGENT = Actor(id="A-1", name="Al", role="agent")
MAILBOX = Actor(id="mailbox", name="Complaints mailbox", role="supervisor")


def email(
    subject: str = "My parcel is late",
    body: str = "It was due on Monday and has not come.",
    *,
    sender: str = "Ada Byron <ada@example.org>",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "complaints@shop.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(START)
    message["Message-ID"] = message_id or make_msgid(domain="example.org")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes(policy=SMTP)


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", clock=ManualClock(START)) as opened:
        yield opened


@pytest.fixture
def mail(engine: Engine) -> EmailIntake:
    return EmailIntake(engine.kernel, engine.reception)


def test_a_new_email_opens_a_complaint_once(engine: Engine, mail: EmailIntake) -> None:
    raw = email()
    outcome = mail.take(raw)
    assert outcome.kind is MailOutcomeKind.OPENED
    complaint = outcome.complaint
    assert complaint is not None
    assert (complaint.channel, complaint.summary) == ("email", "My parcel is late")
    assert complaint.customer.email == "ada@example.org"
    assert complaint.customer.name == "Ada Byron"
    assert complaint.details.startswith("It was due on Monday")
    assert complaint.data["email"]["message_id"] == outcome.message_id
    again = mail.take(raw)
    assert again.kind is MailOutcomeKind.DUPLICATE
    assert again.complaint is not None
    assert again.complaint.id == complaint.id
    assert engine.store.count() == 1


@pytest.mark.parametrize("prefix", ["Re: ", "AW: ", "SV: ", "VS: ", "Fwd: ", "RE[2]: Re: "])
def test_a_reply_with_the_reference_in_the_subject_joins_its_complaint(
    engine: Engine, mail: EmailIntake, prefix: str
) -> None:
    first = mail.take(email()).complaint
    assert first is not None
    reply = mail.take(email(f"{prefix}[{first.reference}] My parcel is late", "Still nothing."))
    assert reply.kind is MailOutcomeKind.REPLY
    assert reply.reason == "reference in the subject"
    assert reply.complaint is not None
    assert reply.complaint.id == first.id
    last = engine.history(first.id)[-1]
    assert last.kind == "customer_replied"
    assert last.data["text"].startswith("Still nothing.")
    assert engine.store.count() == 1


def test_a_reply_to_a_message_we_sent_is_threaded_by_its_headers(
    engine: Engine, mail: EmailIntake
) -> None:
    first = mail.take(email()).complaint
    assert first is not None
    ours = "<ack-1@shop.example>"
    engine.store.links_add([MessageLink(ours, first.id, LinkDirection.OUTBOUND, START)])
    reply = mail.take(email("Re: your answer", "Thanks, but no.", in_reply_to=ours))
    assert reply.kind is MailOutcomeKind.REPLY
    assert reply.reason == "In-Reply-To/References"
    assert reply.complaint is not None
    assert reply.complaint.id == first.id


def test_a_reference_in_the_body_is_the_last_resort(engine: Engine, mail: EmailIntake) -> None:
    first = mail.take(email()).complaint
    assert first is not None
    reply = mail.take(email("About my complaint", f"Regarding {first.reference}: any news?"))
    assert reply.kind is MailOutcomeKind.REPLY
    assert reply.reason == "reference in the body"


def test_a_reply_can_reopen_a_closed_complaint_once(engine: Engine) -> None:
    mail = EmailIntake(
        engine.kernel, engine.reception, reply_triggers={"closed": "reopen"}, reply_actor=MAILBOX
    )
    complaint = mail.take(email()).complaint
    assert complaint is not None
    engine.fire(complaint.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "sorted"})
    state = engine.get(complaint.id).state
    mail_closed = EmailIntake(
        engine.kernel, engine.reception, reply_triggers={state: "reopen"}, reply_actor=MAILBOX
    )
    reply = mail_closed.take(email(f"Re: [{complaint.reference}]", "It broke again."))
    assert reply.kind is MailOutcomeKind.REPLY
    assert reply.fired == "reopen"
    reopened = engine.get(complaint.id)
    assert reopened.state == "information_collected"
    assert reopened.data["reopen_reason"].startswith("the customer replied by email")
    # In the new state no step is configured: the next reply is recorded only.
    later = mail_closed.take(email(f"Re: [{complaint.reference}]", "And again."))
    assert later.fired is None


def test_the_limit_on_steps_fired_by_replies_stops_a_loop(engine: Engine) -> None:
    mail = EmailIntake(
        engine.kernel,
        engine.reception,
        reply_triggers={"received": "thank", "thanked": "apologise"},
        reply_actor=Actor(id="mailbox", name="Mailbox", role="agent"),
        auto_reply_limit=1,
    )
    complaint = mail.take(email()).complaint
    assert complaint is not None
    first = mail.take(email(f"Re: [{complaint.reference}]", "Hello?"))
    second = mail.take(email(f"Re: [{complaint.reference}]", "Hello??"))
    assert (first.fired, second.fired) == ("thank", None)
    assert engine.get(complaint.id).state == "thanked"
    kinds = [e.kind for e in engine.history(complaint.id)]
    assert kinds.count("customer_replied") == 2


def test_an_automatic_reply_is_recorded_and_never_answered(
    engine: Engine, mail: EmailIntake
) -> None:
    complaint = mail.take(email()).complaint
    assert complaint is not None
    outbox_before = len(engine.outbox(complaint.id))
    auto = mail.take(
        email(
            f"Automatic reply: [{complaint.reference}]",
            "I am out of the office.",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    assert auto.kind is MailOutcomeKind.AUTOMATIC
    assert engine.history(complaint.id)[-1].kind == "automatic_reply_received"
    assert len(engine.outbox(complaint.id)) == outbox_before


def test_automatic_mail_about_no_complaint_is_quarantined(
    engine: Engine, mail: EmailIntake
) -> None:
    raw = (MAIL / "mailman_list.eml").read_bytes()
    outcome = mail.take(raw)
    assert outcome.kind is MailOutcomeKind.QUARANTINED
    assert "automatic message" in outcome.reason
    assert engine.store.count() == 0
    [entry] = engine.store.quarantine_find(status=QuarantineStatus.HELD)
    assert entry.id == outcome.quarantine_id
    # Re-processed, a person having decided it is a complaint after all: it opens one.
    released = mail.reprocess(entry.id)
    assert released.kind is MailOutcomeKind.OPENED
    stored = engine.store.quarantine_get(entry.id)
    assert stored is not None
    assert stored.status is QuarantineStatus.RELEASED
    assert released.complaint is not None
    assert stored.complaint_id == released.complaint.id


def test_an_unreadable_message_is_kept_whole_and_once(engine: Engine, mail: EmailIntake) -> None:
    raw = (MAIL / "quarantine_no_boundary.eml").read_bytes()
    first = mail.take(raw, source="imap:INBOX")
    second = mail.take(raw, source="imap:INBOX")
    assert first.kind is second.kind is MailOutcomeKind.QUARANTINED
    assert first.quarantine_id == second.quarantine_id
    item = engine.store.quarantine_get(first.quarantine_id or "")
    assert item is not None
    assert item.raw == raw
    assert item.source == "imap:INBOX"
    again = mail.reprocess(item.id)
    assert again.kind is MailOutcomeKind.QUARANTINED
    held = engine.store.quarantine_get(item.id)
    assert held is not None
    assert (held.status, held.attempts) == (QuarantineStatus.HELD, 1)
    mail.discard(item.id, actor=AGENT, note="Spam")
    discarded = engine.store.quarantine_get(item.id)
    assert discarded is not None
    assert discarded.status is QuarantineStatus.DISCARDED
    assert discarded.raw == raw
    with pytest.raises(InvalidArgumentError, match="no held quarantined message"):
        mail.reprocess(item.id)


def test_a_bounce_marks_the_address_and_replies_go_elsewhere(
    engine: Engine, mail: EmailIntake
) -> None:
    ada = Customer(id="C-1", name="Ada", email="nobody@example.org", postal_address="1 Lane")
    complaint = engine.receive(Intake(channel="email", customer=ada, summary="Late"))
    # The fixture bounces this message, which we sent to nobody@ and full@example.net.
    sent = "<cf.20260302091500.42@shop.example>"
    engine.store.links_add([MessageLink(sent, complaint.id, LinkDirection.OUTBOUND, START)])
    outcome = mail.take((MAIL / "postfix_bounce.eml").read_bytes())
    assert outcome.kind is MailOutcomeKind.BOUNCE
    assert outcome.complaint is not None
    assert outcome.complaint.id == complaint.id
    marked = engine.get(complaint.id).data[UNDELIVERABLE_KEY]
    assert set(marked) == {"nobody@example.org", "full@example.net"}
    assert marked["nobody@example.org"].startswith("5.1.1")
    assert engine.history(complaint.id)[-1].kind == "delivery_failed"
    engine.fire(complaint.id, "thank", actor=AGENT)
    reply = [m for m in engine.outbox(complaint.id) if m.recipient == "customer"][-1]
    assert (reply.channel, reply.address) == ("letter", "1 Lane")


def test_a_bounce_about_a_message_we_never_sent_is_quarantined(
    engine: Engine, mail: EmailIntake
) -> None:
    outcome = mail.take((MAIL / "postfix_bounce.eml").read_bytes())
    # No link to its original and no complaint of that reference: set aside.
    assert outcome.kind is MailOutcomeKind.QUARANTINED
    assert "delivery status report about a message we cannot find" in outcome.reason
    assert engine.store.count() == 0


def test_two_pollers_taking_one_reply_record_it_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    with Engine.open(url, clock=ManualClock(START)) as engine:
        first = EmailIntake(engine.kernel, engine.reception).take(email()).complaint
        assert first is not None
    reply = email(f"Re: [{first.reference}]", "Any news?")
    outcomes = []

    def take() -> None:
        with Engine.open(url, clock=ManualClock(START)) as other:
            outcomes.append(EmailIntake(other.kernel, other.reception).take(reply).kind)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Engine.open(url) as engine:
        kinds = [e.kind for e in engine.history(first.id)]
    assert kinds.count("customer_replied") == 1
    assert sorted(outcomes).count(MailOutcomeKind.REPLY) == 1


def test_bad_arguments_are_named(engine: Engine, mail: EmailIntake) -> None:
    with pytest.raises(InvalidArgumentError, match="raw"):
        mail.take("From: a@b.c\n\nhi")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="source"):
        mail.take(email(), source=" ")
    with pytest.raises(InvalidArgumentError, match="reply_actor"):
        EmailIntake(engine.kernel, engine.reception, reply_actor="bot")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="auto_reply_limit"):
        EmailIntake(engine.kernel, engine.reception, auto_reply_limit=-1)
    with pytest.raises(InvalidArgumentError, match="customer_of"):
        EmailIntake(engine.kernel, engine.reception, customer_of=None)  # type: ignore[arg-type]
    assert engine.store.outbox_find(status=OutboxStatus.UNREACHABLE) == []


def test_a_backlog_is_taken_in_order_with_new_complaints_in_one_batch(
    engine: Engine, mail: EmailIntake
) -> None:
    first = email("Kettle leaks", message_id="<b1@example.org>")
    raws = [
        first,
        email("Toaster burns", message_id="<b2@example.org>", sender="Bo <bo@example.org>"),
        first,  # the same message twice in one batch: one complaint
        b"garbage",
    ]
    outcomes = mail.take_many(raws)
    assert [o.kind for o in outcomes] == [
        MailOutcomeKind.OPENED,
        MailOutcomeKind.OPENED,
        MailOutcomeKind.DUPLICATE,
        MailOutcomeKind.QUARANTINED,
    ]
    assert engine.store.count() == 2
    ids = [o.complaint.id for o in outcomes[:3] if o.complaint is not None]
    assert ids[0] == ids[2] != ids[1]
    reference = outcomes[0].complaint.reference if outcomes[0].complaint else ""
    later = mail.take_many(
        [email(f"Re: [{reference}]", "More."), email("Kettle leaks", message_id="<b1@example.org>")]
    )
    assert [o.kind for o in later] == [MailOutcomeKind.REPLY, MailOutcomeKind.DUPLICATE]
    # Linked for threading: an answer to the first message finds its complaint.
    links = engine.store.links_find(["<b1@example.org>", "<b2@example.org>"])
    assert {link.complaint_id for link in links} == set(ids)
