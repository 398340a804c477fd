"""Email intake over mail nobody wrote for it: CPython's own email test data, and junk.

Every message must end as an opened complaint, a reply (or automatic message, or
bounce) on one, a duplicate of one taken before, or a quarantined message kept byte
for byte with a clear reason. Nothing raises, and the store's counts add up.
"""

from __future__ import annotations

import sysconfig
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow import (
    EmailIntake,
    Engine,
    LinkDirection,
    MailOutcome,
    MailOutcomeKind,
    parse_email,
)
from complaint_flow.errors import QuarantinedMessageError

CPYTHON_MAIL = Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"
CPYTHON_MESSAGES = sorted(CPYTHON_MAIL.glob("msg_*.txt"))
FIXTURES = sorted((Path(__file__).parent / "mail").glob("*.eml"))
THE_PACKAGE_FAILED = "the email package could not read it"
"""How a quarantine reason starts when the email package raised something unforeseen."""

needs_cpython_mail = pytest.mark.skipif(
    not CPYTHON_MESSAGES,
    reason=f"this Python has no email test data in {CPYTHON_MAIL}: its distribution "
    "leaves out the test package",
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", load_entry_points=False) as opened:
        yield opened


def taken_as_said(engine: Engine, raw: bytes, outcome: MailOutcome) -> None:
    """``outcome`` is what the store holds for ``raw``, and what the parser said of it."""
    store = engine.store
    assert isinstance(outcome, MailOutcome)
    try:
        parse_email(raw)
    except QuarantinedMessageError as refused:
        refusal: str | None = refused.reason
    else:
        refusal = None
    if refusal is not None:
        assert (outcome.kind, outcome.reason) == (MailOutcomeKind.QUARANTINED, refusal)
    if outcome.kind is MailOutcomeKind.QUARANTINED:
        assert outcome.complaint is None
        assert outcome.reason.strip()
        assert outcome.quarantine_id is not None
        item = store.quarantine_get(outcome.quarantine_id)
        assert item is not None
        assert item.raw == raw  # kept byte for byte
        assert item.reason == outcome.reason
        return
    assert outcome.complaint is not None
    assert outcome.message_id
    complaint = store.get(outcome.complaint.id)
    if outcome.kind is MailOutcomeKind.OPENED:
        assert complaint.channel == "email"
        assert complaint.external_id == outcome.message_id
        return
    links = store.links_find([outcome.message_id])
    if outcome.kind is MailOutcomeKind.DUPLICATE:
        # Taken before: opened the complaint, or linked to it as a reply.
        assert store.find_by_external_id("email", outcome.message_id) == complaint or any(
            link.complaint_id == complaint.id for link in links
        )
        return
    # A reply, an automatic message or a bounce: linked to its complaint, and recorded.
    assert [(link.complaint_id, link.direction) for link in links] == [
        (complaint.id, LinkDirection.INBOUND)
    ]
    assert any(
        event.data.get("message_id") == outcome.message_id for event in store.events(complaint.id)
    )


def accounted(engine: Engine, taken: list[tuple[bytes, MailOutcome]]) -> Counter[str]:
    """Every message is in the store's counts once: complaints, links, the quarantine."""
    store = engine.store
    kinds = Counter(outcome.kind.value for _, outcome in taken)
    opened = [outcome.complaint.id for _, outcome in taken if outcome.kind == "opened"]  # type: ignore[union-attr]
    assert len(set(opened)) == len(opened)  # each opened a complaint of its own
    assert store.count() == len(opened)  # and no other message did
    joined = {outcome.complaint.id for _, outcome in taken if outcome.complaint is not None}
    assert joined <= set(opened)
    quarantined = {
        outcome.quarantine_id: raw for raw, outcome in taken if outcome.kind == "quarantined"
    }
    assert {item.id for item in store.quarantine_find()} == set(quarantined)
    for item_id, raw in quarantined.items():
        assert store.quarantine_get(item_id).raw == raw  # type: ignore[union-attr]
    assert sum(kinds.values()) == len(taken)
    return kinds


# -- CPython's email test data ------------------------------------------------------------


@needs_cpython_mail
def test_every_message_of_cpython_s_email_tests_is_taken_or_quarantined(engine: Engine) -> None:
    mail = EmailIntake(engine.kernel, engine.reception)
    taken = []
    for path in CPYTHON_MESSAGES:
        raw = path.read_bytes()
        outcome = mail.take(raw, source=f"cpython:{path.name}")
        taken_as_said(engine, raw, outcome)
        taken.append((raw, outcome))

    kinds = accounted(engine, taken)
    assert kinds["opened"]
    assert kinds["duplicate"]
    assert kinds["quarantined"]
    outcomes = {
        path.name: outcome for path, (_, outcome) in zip(CPYTHON_MESSAGES, taken, strict=True)
    }
    # Every refusal is one the parser meant, in words, never a crash it caught.
    for name, outcome in outcomes.items():
        assert not outcome.reason.startswith(THE_PACKAGE_FAILED), (name, outcome.reason)
    # A few messages whose fate is known (they have not changed since Python 2.2).
    assert outcomes["msg_01.txt"].kind is MailOutcomeKind.OPENED
    assert outcomes["msg_03.txt"].kind is MailOutcomeKind.DUPLICATE  # msg_01's Message-ID
    assert outcomes["msg_03.txt"].complaint == outcomes["msg_01.txt"].complaint
    assert outcomes["msg_19.txt"].reason == "the message has no header lines, so it is not an email"
    # A Mailman digest from a list's robot is never acknowledged.
    assert outcomes["msg_02.txt"].reason == (
        "an automatic message (X-Mailman-Version: 2.0.4) about no known complaint"
    )

    # Taking them all again changes nothing: each is a duplicate or quarantined once.
    count, held = engine.store.count(), len(engine.store.quarantine_find())
    for raw, first in taken:
        again = mail.take(raw, source="again")
        if first.kind is MailOutcomeKind.QUARANTINED:
            assert (again.kind, again.quarantine_id) == (first.kind, first.quarantine_id)
        else:
            assert again.kind is MailOutcomeKind.DUPLICATE
            assert again.complaint is not None
            assert first.complaint is not None
            assert again.complaint.id == first.complaint.id
    assert (engine.store.count(), len(engine.store.quarantine_find())) == (count, held)


# -- junk ---------------------------------------------------------------------------------

REFERENCES = [
    b"CF-2026-000001",
    b"Subject: Re: CF-2026-000002\n",
    b"\nIn-Reply-To: <15090.61304.110929.45684@aaa.zzz.org>\n",
    b"\nReferences: <a@b> <\x7f\xe2\x80\x8b@x>\n",
    b"\nMessage-ID: <" + b"x" * 1200 + b"@long>\n",
]
"""Pieces that thread junk onto complaints taken before, or damage its ids."""


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real message (a fixture, or one of CPython's) with bytes inserted, cut and copied."""
    raw = bytearray(draw(st.sampled_from(FIXTURES + CPYTHON_MESSAGES)).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "copy"]))
        if kind == "insert":
            raw[where:where] = draw(
                st.binary(min_size=1, max_size=12)
                | st.sampled_from([b"\n", b":", b";", b"=?", b"?=", b"<", b'"', b"--", b"\x00"])
                | st.sampled_from(REFERENCES)
            )
        elif kind == "delete":
            del raw[where : where + draw(st.integers(1, 40))]
        elif kind == "replace" and raw:
            raw[min(where, len(raw) - 1)] = draw(st.integers(0, 255))
        else:
            start = draw(st.integers(0, len(raw)))
            raw[where:where] = raw[start : start + draw(st.integers(1, 80))]
    return bytes(raw)


def take_all_of(junk: st.SearchStrategy[bytes], examples: int) -> Counter[str]:
    """Take ``examples`` messages of ``junk`` into one engine; each checked, then all."""
    with Engine.open("memory://", load_entry_points=False) as engine:
        mail = EmailIntake(engine.kernel, engine.reception)
        # Complaints for the junk to thread onto, and replies to them.
        taken = [(raw, mail.take(raw)) for raw in (path.read_bytes() for path in FIXTURES)]

        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(junk)
        def take(raw: bytes) -> None:
            outcome = mail.take(raw, source="junk")
            taken_as_said(engine, raw, outcome)
            taken.append((raw, outcome))

        take()
        return accounted(engine, taken)


def test_random_bytes_are_taken_or_quarantined() -> None:
    kinds = take_all_of(st.binary(max_size=3000), 200)
    assert kinds["quarantined"]


def test_damaged_real_messages_are_taken_or_quarantined() -> None:
    kinds = take_all_of(mutated(), 500)
    assert kinds["quarantined"]
    assert kinds["opened"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=6))
def test_the_counts_add_up_for_any_batch(batch: list[bytes]) -> None:
    with Engine.open("memory://", load_entry_points=False) as engine:
        mail = EmailIntake(engine.kernel, engine.reception)
        taken = [(raw, mail.take(raw)) for raw in batch]
        for raw, outcome in taken:
            taken_as_said(engine, raw, outcome)
        accounted(engine, taken)


# -- what the data taught ------------------------------------------------------------------


def message(headers: str, sender: str = "Ada <ada@example.org>") -> bytes:
    return (
        f"From: {sender}\nTo: complaints@shop.example\nSubject: A complaint\n{headers}"
        "\nThe parcel came broken.\n"
    ).encode()


@pytest.mark.parametrize(
    ("sender", "automatic"),
    [
        ("ppp-request@zzz.org", "robot sender: ppp-request@zzz.org"),
        ("scr-bounces+ada=example.org@lists.example",
         "robot sender: scr-bounces+ada=example.org@lists.example"),
        ("requests@example.org", None),
        ("ada-requests@example.org", None),
        ("bounce-request-desk@example.org", "robot sender: bounce-request-desk@example.org"),
    ],
)  # fmt: skip
def test_a_list_s_robot_addresses_are_automatic(sender: str, automatic: str | None) -> None:
    assert parse_email(message("", sender)).automatic == automatic


def test_a_mailman_notice_without_list_id_is_automatic() -> None:
    parsed = parse_email(message("X-Mailman-Version: 2.1.39\n"))
    assert parsed.automatic == "X-Mailman-Version: 2.1.39"


@pytest.mark.parametrize(
    ("header", "stored"),
    [
        ("<abc\x7f@host.example>", "<abc@host.example>"),
        ("<abc\u200b@host.example>", "<abc@host.example>"),  # a zero-width space
        ("<abc\x03\u2028@host .example>", "<abc@host.example>"),
    ],
)
def test_damaged_message_ids_are_stored_without_the_damage(
    engine: Engine, header: str, stored: str
) -> None:
    mail = EmailIntake(engine.kernel, engine.reception)
    raw = message(f"Message-ID: {header}\n")
    assert parse_email(raw).message_id == stored
    first = mail.take(raw)
    assert (first.kind, first.message_id) == (MailOutcomeKind.OPENED, stored)
    assert mail.take(raw).kind is MailOutcomeKind.DUPLICATE
    reply = message(f"In-Reply-To: {header}\nReferences: {header}\n")
    threaded = mail.take(reply.replace(b"Subject: A complaint", b"Subject: Still broken"))
    assert threaded.kind is MailOutcomeKind.REPLY
    assert threaded.complaint is not None
    assert first.complaint is not None
    assert threaded.complaint.id == first.complaint.id


def test_a_message_id_longer_than_a_header_line_is_no_id(engine: Engine) -> None:
    raw = message(f"Message-ID: <{'x' * 1000}@host.example>\n")
    parsed = parse_email(raw)
    assert parsed.message_id is None
    assert any("Message-ID" in defect or "message-id" in defect for defect in parsed.defects)
    outcome = EmailIntake(engine.kernel, engine.reception).take(raw)
    assert outcome.kind is MailOutcomeKind.OPENED
    assert outcome.message_id is not None
    assert "no-message-id" in outcome.message_id
