"""Composing outgoing email: any Outgoing survives the trip through a real parser."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow.channels.email_composing import (
    compose_email,
    email_address,
    mail_domain,
    message_id,
    message_ids,
    subject_with_reference,
)
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.channels import Outgoing

# RFC 5322 3.6.4: msg-id = "<" dot-atom-text "@" (dot-atom-text / no-fold-literal) ">"
ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
DOT_ATOM = rf"{ATEXT}+(?:\.{ATEXT}+)*"
MSG_ID = re.compile(rf"<{DOT_ATOM}@{DOT_ATOM}>\Z")
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

ids_inside = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="<>@"),
    min_size=1,
    max_size=40,
)
msg_ids = st.builds(
    lambda left, right: f"<{left}@{right}>",
    ids_inside,
    st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}", fullmatch=True),
)
references = st.one_of(
    st.just(""), st.from_regex(r"CF-20[0-9]{2}-[0-9]{6}", fullmatch=True), st.text(max_size=20)
)
outgoings = st.builds(
    Outgoing,
    key=st.text(),
    channel=st.just("email"),
    address=st.emails(),
    recipient_name=st.text(max_size=80),
    subject=st.text(max_size=300),
    text=st.text(max_size=2000),
    reference=references,
    automatic=st.booleans(),
    in_reply_to=st.none() | msg_ids,
    references=st.lists(msg_ids, max_size=12).map(tuple),
    html=st.none() | st.text(max_size=500),
)


def compose(outgoing: Outgoing, **options: Any) -> EmailMessage:
    settings: dict[str, Any] = {
        "sender": "complaints@shop.example",
        "sender_name": "Shop complaints",
        "domain": "shop.example",
        "date": WHEN,
    }
    return compose_email(outgoing, **{**settings, **options})


def received(mail: EmailMessage, linesep: str = "\n") -> EmailMessage:
    """The message as a receiving mail client reads it."""
    wire = mail.as_bytes(policy=policy.default.clone(linesep=linesep))
    parsed = message_from_bytes(wire, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body_of(mail: EmailMessage, subtype: str) -> str | None:
    part = mail.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content = part.get_content()
    assert isinstance(content, str)
    # A parser keeps the line ends it was given; mail clients read CRLF as a line end.
    return content.replace("\r\n", "\n")


def as_received(body: str) -> str:
    """What a body reads like after the trip: \\n line ends, ending with one."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return body if body.endswith("\n") else body + "\n"


def display_name(mail: EmailMessage, header: str) -> str:
    """The display name of the address in ``header``, as RFC 2047 says to read it.

    Whitespace between two adjacent encoded words is not part of the text (6.2), but
    the email package's address parser keeps it (its unstructured parser does not):
    a long encoded name would read with a stray space. Joining the words first reads
    the header the way mail clients do.
    """
    raw = message_from_bytes(mail.as_bytes(), policy=policy.compat32)[header]
    unfolded = re.sub(r"\r?\n(?=[ \t])", "", str(raw))
    joined = re.sub(r"\?=\s+=\?", "?==?", unfolded)
    (address,) = policy.default.header_factory(header, joined).addresses
    name: str = address.display_name
    return name


def message_ids_in(mail: EmailMessage, header: str) -> list[str]:
    """The ids of a Message-ID, In-Reply-To or References header, as a mail client reads them.

    RFC 2047 (section 5) allows no encoded words in these headers, so nothing in
    them is decoded: the email package reads ``References`` as unstructured text and
    would decode an id such as ``<=?x?q?y?=@host>``, which is a valid message id.
    """
    raw = [str(value) for name, value in mail.raw_items() if name.lower() == header.lower()]
    return " ".join(raw).split()


def one_line(value: str) -> str:
    return " ".join(value.split())


@given(outgoings, st.sampled_from(["\n", "\r\n"]))
def test_any_outgoing_round_trips_through_a_parser(outgoing: Outgoing, linesep: str) -> None:
    mail = compose(outgoing)
    parsed = received(mail, linesep)

    assert parsed["Subject"] == subject_with_reference(outgoing.subject, outgoing.reference)
    assert body_of(parsed, "plain") == as_received(outgoing.text)
    if outgoing.html is None:
        assert not parsed.is_multipart()
    else:
        assert body_of(parsed, "html") == as_received(outgoing.html)
    assert parsed["Message-ID"] == message_id(outgoing.key, "shop.example")
    expected_references = list(outgoing.references)
    if outgoing.in_reply_to is not None:
        assert message_ids_in(parsed, "In-Reply-To") == [outgoing.in_reply_to]
        expected_references.append(outgoing.in_reply_to)
    else:
        assert parsed["In-Reply-To"] is None
    assert message_ids_in(parsed, "References") == list(dict.fromkeys(expected_references))
    (to,) = parsed["To"].addresses
    assert to.addr_spec == outgoing.address
    assert display_name(mail, "To") == one_line(outgoing.recipient_name)
    assert parsed["From"].addresses[0].display_name == "Shop complaints"
    assert (parsed["Auto-Submitted"] == "auto-replied") is outgoing.automatic
    assert (parsed["X-Auto-Response-Suppress"] == "All") is outgoing.automatic


@given(outgoings)
def test_the_wire_form_is_seven_bit_with_short_lines(outgoing: Outgoing) -> None:
    wire = compose(outgoing).as_bytes(policy=policy.SMTP)
    assert wire.isascii()
    assert max(len(line) for line in wire.split(b"\r\n")) <= 998
    assert b"Content-Transfer-Encoding: 8bit" not in wire
    headers = wire.split(b"\r\n\r\n", 1)[0].decode()
    threading = re.findall(r"^(?:Message-ID|In-Reply-To|References):.*(?:\r\n .*)*", headers, re.M)
    assert all("=?" not in header for header in threading)


@given(
    st.text(),
    st.from_regex(r"[a-z0-9]{1,30}(\.[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?){0,4}", fullmatch=True),
)
def test_any_key_gives_a_valid_stable_message_id(key: str, domain: str) -> None:
    made = message_id(key, domain)
    assert MSG_ID.match(made), made
    assert made == message_id(key, domain)
    assert made.endswith(f"@{domain}>")
    assert made != message_id(key + "x", domain)


def test_the_message_id_hides_the_key() -> None:
    made = message_id("conduct:customer-4711@example.org:3:customer", "shop.example")
    assert "4711" not in made
    assert "example.org" not in made


def test_long_reference_lists_fold_between_ids() -> None:
    ids = tuple(f"<{'m' * 40}.{n}@mail.example.org>" for n in range(8))
    wire = compose(outgoing_for(references=ids)).as_bytes().decode()
    block = re.search(r"^References:.*(?:\n .*)*", wire, re.M)
    assert block is not None
    lines = block.group(0).split("\n")
    assert len(lines) == 8
    assert all(len(line) <= 78 for line in lines)
    assert [line.split()[-1] for line in lines] == list(ids)


def test_the_reference_goes_in_once() -> None:
    assert subject_with_reference("Your complaint", "CF-2026-000042") == (
        "[CF-2026-000042] Your complaint"
    )
    again = subject_with_reference("[CF-2026-000042] Your complaint", "CF-2026-000042")
    assert again == "[CF-2026-000042] Your complaint"
    assert subject_with_reference("", "CF-2026-000042") == "[CF-2026-000042]"
    assert subject_with_reference(" Your\r\n  complaint\t", "") == "Your complaint"
    mail = compose(outgoing_for(subject="Re: [CF-2026-000042] Refund", reference="CF-2026-000042"))
    assert mail["Subject"] == "Re: [CF-2026-000042] Refund"


def test_a_person_s_message_is_not_marked_automatic() -> None:
    mail = compose(outgoing_for(automatic=False))
    assert mail["Auto-Submitted"] is None
    assert mail["X-Auto-Response-Suppress"] is None


def test_non_ascii_names_are_encoded_words() -> None:
    mail = compose(outgoing_for(recipient_name="Zoë Åström"), sender_name="Service clientèle")
    headers = mail.as_bytes().split(b"\n\n", 1)[0]
    assert headers.isascii()
    assert b"To: =?utf-8?" in headers
    parsed = received(mail)
    assert parsed["To"].addresses[0].display_name == "Zoë Åström"
    assert parsed["From"].addresses[0].display_name == "Service clientèle"


def test_an_html_letter_is_an_alternative_to_the_text() -> None:
    mail = compose(outgoing_for(text="Hello", html="<p>Hello</p>"))
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]


def test_the_date_is_the_one_given() -> None:
    assert compose(outgoing_for())["Date"] == "Mon, 02 Mar 2026 09:30:00 +0000"
    assert compose_email(outgoing_for(), sender="a@b.example", domain="b.example")["Date"]


def test_an_international_domain_is_written_in_ascii() -> None:
    mail = compose(outgoing_for(address="kunde@bücher.example"), domain="bücher.example")
    assert mail["To"].addresses[0].domain == "xn--bcher-kva.example"
    assert mail["Message-ID"].endswith("@xn--bcher-kva.example>")


def test_message_ids_keep_the_usable_ones() -> None:
    assert message_ids("references", ["<a@x>", " b@y ", "no id", "<a@x>", "<@x>", 7]) == (
        "<a@x>",
        "<b@y>",
    )
    with pytest.raises(InvalidArgumentError, match=r"pass a tuple: \('<a@x>',\)"):
        message_ids("references", "<a@x>")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("not an address", "it needs a name, an '@' and a domain"),
        ("Ada <ada@example.org>", "give the bare address"),
        ("ada@exa mple.org", "its domain is not a domain name"),
        ("ada@", "it needs a name, an '@' and a domain"),
        (None, "pass a str"),
    ],
)
def test_a_bad_address_is_refused_with_what_is_wrong(address: object, problem: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"outgoing\.address must be an email address"):
        compose(outgoing_for(address=address))
    with pytest.raises(InvalidArgumentError, match=re.escape(problem)):
        email_address("address", address)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sender": "nobody"}, "sender must be an email address"),
        ({"domain": "shop.example:25"}, "domain must be a domain name"),
        ({"domain": ""}, "domain must be non-empty text"),
        ({"sender_name": 5}, "sender_name must be text"),
        ({"date": datetime(2026, 3, 2)}, "date must be a timezone-aware datetime"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        compose(outgoing_for(), **options)


def test_only_an_outgoing_is_composed() -> None:
    with pytest.raises(InvalidArgumentError, match=r"outgoing must be an Outgoing"):
        compose_email(  # type: ignore[arg-type]
            {"address": "ada@example.org"}, sender="a@b.example", domain="b.example"
        )


def test_mail_domain_refuses_what_is_not_a_domain() -> None:
    assert mail_domain("domain", "mail.shop.example") == "mail.shop.example"
    for bad in ("-shop.example", "shop..example", "shop_example.org", "a" * 64 + ".example"):
        with pytest.raises(InvalidArgumentError, match="domain must be a domain name"):
            mail_domain("domain", bad)


def outgoing_for(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "key": "c-1:2:customer",
        "channel": "email",
        "address": "ada@example.org",
        "recipient_name": "Ada Lovelace",
        "subject": "Your complaint",
        "text": "We are on it.",
        "reference": "CF-2026-000042",
    }
    return Outgoing(**{**fields, **changes})


def test_a_malformed_outgoing_field_is_named() -> None:
    with pytest.raises(InvalidArgumentError, match=r"outgoing\.automatic must be True or False"):
        compose(outgoing_for(automatic="no"))
    with pytest.raises(InvalidArgumentError, match=r"outgoing\.text .*lone surrogate"):
        compose(outgoing_for(text="broken \udce9 decode"))
    with pytest.raises(InvalidArgumentError, match=r"outgoing\.references must be a list"):
        compose(outgoing_for(references="<a@x>"))
