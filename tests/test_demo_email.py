"""The demo's email: a complaint in as real mail, replies out by SMTP, the answer threaded."""

from __future__ import annotations

import re
import smtplib
import socket
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from complaint_flow import ChannelError, EmailIntake, MailOutcomeKind
from complaint_flow.cli import demo_mail
from complaint_flow.cli.demo import ADA, DemoResult, run_demo
from complaint_flow.cli.demo_mail import (
    DEMO_EXTRA,
    DEMO_LETTERS,
    SHOP_MAILBOX,
    THREADED_BY_HEADERS,
    require_demo_extra,
)
from complaint_flow.cli.local_mail_server import LocalMailServer
from complaint_flow.cli.render.demo import render_demo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def week() -> DemoResult:
    return run_demo("memory://", run_id="mail", load_entry_points=False)


def flat(text: str) -> str:
    """Output with panel borders and line breaks reduced to single spaces."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


def parcel(week: DemoResult) -> Any:
    (found,) = [s for s in week.complaints if s.complaint.channel == "email"]
    return found


# -- in: a real RFC 5322 message, delivered three times ------------------------------------


def test_the_email_complaint_is_real_mail_taken_once_of_three_deliveries(
    week: DemoResult,
) -> None:
    taken = week.email.complaint_mail
    assert taken.kinds == (
        MailOutcomeKind.OPENED,
        MailOutcomeKind.DUPLICATE,
        MailOutcomeKind.DUPLICATE,
    )
    story = parcel(week)
    assert set(taken.complaint_ids) == {story.complaint.id}
    assert week.duplicate.complaint_ids == taken.complaint_ids
    assert week.duplicate.external_id == taken.message_id == story.complaint.external_id
    # What EmailIntake read out of the bytes: the sender, the subject, the attachment.
    complaint = story.complaint
    assert complaint.customer == ADA
    assert complaint.summary == "Parcel arrived broken"
    assert "in pieces" in complaint.details
    [photo] = complaint.data["email"]["attachments"]
    assert (photo["filename"], photo["content_type"]) == ("broken-vase.jpg", "image/jpeg")
    assert taken.attachments == ("broken-vase.jpg",)
    assert [e.kind for e in story.history].count("received") == 1


# -- out: what arrived at the SMTP server ---------------------------------------------------


def test_every_email_of_the_week_arrived_at_the_smtp_server(week: DemoResult) -> None:
    emailed = Counter(n.address for n in week.notifications if n.channel == "email")
    deliveries = week.email.deliveries
    arrived = Counter(address for d in deliveries for address in d.rcpt_tos)
    assert emailed == arrived
    assert len(deliveries) == sum(emailed.values())
    assert all(d.mail_from == SHOP_MAILBOX for d in deliveries)
    ids = [d.read().message_id for d in deliveries]
    assert len(set(ids)) == len(ids)
    assert week.email.sent == tuple(d.read() for d in deliveries if d.is_for(ADA.email))
    # The other channels' notifications reach the notifier and never the server.
    assert {n.channel for n in week.notifications} - {"email"}
    assert week.delivery.failed == week.delivery.dead == 0


def test_the_acknowledgement_arrived_by_smtp_written_from_its_letter(week: DemoResult) -> None:
    email = week.email
    reference = parcel(week).complaint.reference
    assert email.reference == reference
    to_ada = [n for n in week.notifications if n.address == ADA.email]
    assert len(email.sent) == len(to_ada) >= 3
    ack = email.acknowledgement
    assert ack.rcpt_tos == (ADA.email,)
    assert ack.arrived_at == to_ada[0].delivered_at
    assert reference in ack.subject
    assert re.fullmatch(r"<cf\.[0-9a-f]{32}@shop\.example>", ack.message_id)
    assert ack.in_reply_to == email.complaint_mail.message_id
    assert ack.references == (email.complaint_mail.message_id,)
    assert ack.auto_submitted == "auto-replied"
    assert "Dear Ada Lovelace" in ack.text
    assert DEMO_LETTERS.organisation in ack.text
    assert DEMO_LETTERS.signed_by in ack.text
    for sent in email.sent:
        assert reference in sent.subject


def test_replies_after_the_answer_answer_it(week: DemoResult) -> None:
    email = week.email
    later = [m for m in email.sent if m.arrived_at > email.replied.at]
    assert later  # the final response, on Wednesday
    for sent in later:
        assert sent.in_reply_to == email.answer.message_id
        assert email.acknowledgement.message_id in sent.references
        assert email.complaint_mail.message_id in sent.references
    final = next(m for m in later if "final response" in m.subject)
    assert "final response" in final.subject
    assert "replacement vase" in final.text


# -- the answer, threaded by its headers ----------------------------------------------------


def test_the_customers_answer_threads_onto_the_complaint_by_in_reply_to(
    week: DemoResult,
) -> None:
    email = week.email
    answer = email.answer
    story = parcel(week)
    assert answer.in_reply_to == email.acknowledgement.message_id
    assert not re.search(r"CF-\d{4}-\d+", answer.subject)
    outcome = email.reply_outcome
    assert answer.kinds == (MailOutcomeKind.REPLY,)
    assert outcome.reason == THREADED_BY_HEADERS
    assert outcome.complaint is not None
    assert outcome.complaint.id == story.complaint.id
    replied = email.replied
    assert replied in story.history
    assert replied.kind == "customer_replied"
    assert replied.data["message_id"] == answer.message_id
    assert replied.data["threaded_by"] == THREADED_BY_HEADERS
    assert "arrived intact" in replied.data["text"]
    # Between the acknowledgement and the customer's confirmation.
    assert email.acknowledgement.arrived_at < replied.at
    confirmed = next(e for e in story.history if e.trigger == "confirm_satisfied")
    assert replied.seq < confirmed.seq
    assert week.counts_by_channel["email"] == 1  # the answer opened nothing


def test_the_smtp_server_stops_with_the_run(week: DemoResult) -> None:
    host, port = week.email.server.rsplit(":", 1)
    assert host == "127.0.0.1"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_the_demo_stops_when_the_answer_is_not_threaded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EmailIntake, "thread", lambda self, parsed: (None, ""))
    with pytest.raises(AssertionError, match="Ada's answer was not threaded"):
        run_demo("memory://", run_id="nothread", load_entry_points=False)


# -- the Email section of the console output ------------------------------------------------


def test_the_email_section_says_each_fact(week: DemoResult) -> None:
    console = Console(width=400, record=True, highlight=False)
    render_demo(console, week)
    out = flat(console.export_text())
    email = week.email
    ack, answer = email.acknowledgement, email.answer
    taken = email.complaint_mail
    assert " Email " in out
    assert (
        f"Ada Lovelace's email {taken.message_id} ({taken.size} bytes of RFC 5322, "
        "broken-vase.jpg attached) was taken by EmailIntake 3 times: opened, duplicate, "
        f"duplicate → one complaint, {email.reference}"
    ) in out
    for sent in email.sent:
        assert f"sent by SMTP, arrived at the server: {sent.subject}" in out
        assert f"Message-ID {sent.message_id}" in out
    assert f"In-Reply-To {taken.message_id} (her complaint)" in out
    assert f"In-Reply-To {answer.message_id} (her answer)" in out
    assert (
        f"Ada Lovelace answered by email: {answer.subject!r} (no reference in the subject), "
        f"In-Reply-To {ack.message_id} (the acknowledgement's Message-ID as it arrived at "
        f"the server) → reply, threaded onto {email.reference} by In-Reply-To/References: "
        f"event {email.replied.seq}, customer_replied"
    ) in out
    assert (
        f"The SMTP server (aiosmtpd on {email.server}, for this run only) received "
        f"{len(email.deliveries)} emails this week, {len(email.sent)} of them to ada@example.org."
    ) in out


# -- the local server, and what the demo needs installed ------------------------------------


def test_the_local_server_keeps_what_arrives_and_stops() -> None:
    with LocalMailServer() as server:
        assert server.running
        with smtplib.SMTP(server.host, server.port, local_hostname="localhost") as client:
            client.sendmail(
                "shop@example.org",
                ["Ada@Example.org", "bo@example.org"],
                b"Subject: One\r\nMessage-ID: <one@example.org>\r\nIn-Reply-To: <zero@x>\r\n"
                b"References: <a@x> <zero@x>\r\nAuto-Submitted: auto-replied\r\n\r\nHello\r\n",
            )
            client.sendmail("shop@example.org", ["bo@example.org"], b"Subject: Two\r\n\r\nHi\r\n")
        [one] = server.to("ada@example.org")
        assert [m.subject for m in server.to("BO@example.org")] == ["One", "Two"]
        assert (one.message_id, one.in_reply_to, one.auto_submitted) == (
            "<one@example.org>",
            "<zero@x>",
            "auto-replied",
        )
        assert one.references == ("<a@x>", "<zero@x>")
        assert one.text == "Hello\n"
        port = server.port
    assert not server.running
    assert len(server.deliveries) == 2  # still readable once stopped
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_local_server_says_when_it_is_not_started() -> None:
    with pytest.raises(ChannelError, match=r"not started: call start\(\) first"):
        _ = LocalMailServer().port


def test_the_local_server_names_the_extra_when_aiosmtpd_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "aiosmtpd.controller", None)
    with pytest.raises(ChannelError, match=r"needs aiosmtpd .*complaint-flow\[demo\]"):
        LocalMailServer().start()


def test_the_demo_names_what_is_missing_before_writing_anything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real = demo_mail.importlib.util.find_spec

    def without_jinja(name: str, *args: Any) -> Any:
        return None if name == "jinja2" else real(name, *args)

    monkeypatch.setattr(demo_mail.importlib.util, "find_spec", without_jinja)
    with pytest.raises(ChannelError, match=r"needs Jinja2; install the demo extra"):
        require_demo_extra()
    store = tmp_path / "demo.db"
    with pytest.raises(ChannelError, match=r"complaint-flow\[demo\]"):
        run_demo(f"sqlite:///{store}", load_entry_points=False)
    assert not store.exists()


def _extra(extras: dict[str, list[str]], name: str) -> set[str]:
    """The distributions an extra installs, its own extras expanded (lower case)."""
    found: set[str] = set()
    for requirement in extras[name]:
        dist, _, rest = requirement.partition("[")
        if dist == "complaint-flow":
            for inner in rest.rstrip("]").split(","):
                found |= _extra(extras, inner.strip())
        else:
            found.add(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower())
    return found


def test_the_demo_and_test_extras_install_what_the_demo_needs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    demo = _extra(extras, "demo")
    assert {"click", "rich"} <= demo
    assert {dist.lower() for dist in DEMO_EXTRA.values()} <= demo
    assert demo <= _extra(extras, "test")
    first_line = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[1]
    assert first_line == 'pip install -e ".[demo]" && complaint-flow demo'
