"""Message links and quarantined messages: what they accept, what they refuse, how they show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import InvalidArgumentError, StoreError
from complaint_flow.model.channel_records import (
    MAX_MESSAGE_ID_LENGTH,
    MAX_RAW_BYTES,
    LinkDirection,
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
)
from complaint_flow.storage import channel_arguments
from complaint_flow.testing.conformance import creation, make_complaint, make_link

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def held(**fields: object) -> QuarantinedMessage:
    values: dict[str, object] = {
        "id": "q-1",
        "source": "imap:INBOX",
        "channel": "email",
        "received_at": T0,
        "reason": "no sender address",
        "raw": b"Subject: ?\r\n\r\n\xff",
    }
    values.update(fields)
    return QuarantinedMessage(**values)  # type: ignore[arg-type]


# -- message links -------------------------------------------------------------------

# What a Message-ID can hold: printable characters, none around it.
message_ids = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"]),
    min_size=1,
    max_size=MAX_MESSAGE_ID_LENGTH,
).filter(lambda text: text == text.strip() and text.isprintable())


@given(message_id=message_ids)
def test_any_printable_message_id_is_kept_exactly_as_given(message_id: str) -> None:
    link = MessageLink(message_id, "c-1", "inbound", T0)
    assert link.message_id == message_id
    assert channel_arguments.message_ids([message_id, message_id]) == [message_id]


@pytest.mark.parametrize(
    ("message_id", "why"),
    [
        ("", "non-empty text"),
        ("   ", "non-empty text"),
        (" <a@x>", "surrounding whitespace"),
        ("<a@x>\r\n", "surrounding whitespace"),
        ("<a\n@x>", "line breaks"),
        ("<a\x00@x>", "control characters"),
        ("<" + "a" * MAX_MESSAGE_ID_LENGTH + ">", "at most 998 characters"),
        (b"<a@x>", "decode it first"),
        (None, "non-empty text"),
    ],
)
def test_a_message_id_that_could_never_match_is_refused(message_id: object, why: str) -> None:
    with pytest.raises(InvalidArgumentError, match=why) as raised:
        MessageLink(message_id, "c-1", "inbound", T0)  # type: ignore[arg-type]
    assert "MessageLink.message_id" in str(raised.value)


def test_a_link_checks_its_complaint_direction_and_time() -> None:
    link = MessageLink("<a@x>", "c-1", "outbound", T0)
    assert link.direction is LinkDirection.OUTBOUND
    with pytest.raises(InvalidArgumentError, match="'inbound', 'outbound'"):
        MessageLink("<a@x>", "c-1", "sideways", T0)
    with pytest.raises(InvalidArgumentError, match=r"MessageLink\.at must be a timezone-aware"):
        MessageLink("<a@x>", "c-1", "inbound", datetime(2026, 3, 2, 9, 0))
    with pytest.raises(InvalidArgumentError, match="NUL"):
        MessageLink("<a@x>", "c-\x00", "inbound", T0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        link.message_id = "<b@x>"  # type: ignore[misc]


def test_the_store_arguments_refuse_a_lone_id_and_keep_the_first_link_of_each_id() -> None:
    with pytest.raises(InvalidArgumentError, match=r"pass a list: \['<a@x>'\]"):
        channel_arguments.message_ids("<a@x>")
    first = make_link("c-1", "<a@x>")
    second = make_link("c-2", "<a@x>")
    other = make_link("c-2", "<b@x>")
    assert channel_arguments.new_links((first, other, second)) == [first, other]
    with pytest.raises(InvalidArgumentError, match=r"links\[1\] must be a MessageLink"):
        channel_arguments.new_links([first, "<b@x>"])


def test_a_commit_keeps_its_links_and_refuses_others() -> None:
    complaint = make_complaint()
    link = make_link(complaint.id)
    commit = creation(complaint, links=[link])
    assert commit.links == (link,)
    assert creation(complaint).links == ()
    with pytest.raises(StoreError, match="MessageLink of its complaint"):
        creation(complaint, links=[make_link("someone-else")])
    with pytest.raises(StoreError, match="linked twice"):
        creation(complaint, links=[link, attrs.evolve(link, at=T0 + timedelta(hours=1))])


# -- quarantined messages ----------------------------------------------------------------


def test_a_quarantined_message_keeps_its_bytes_and_never_shows_them() -> None:
    buffer = bytearray(b"From: ada@example.org\r\n\r\nsecret")
    item = held(raw=buffer)
    buffer[:4] = b"XXXX"  # the caller's buffer changes; the message does not
    assert item.raw == b"From: ada@example.org\r\n\r\nsecret"
    assert type(item.raw) is bytes
    assert item.size == len(item.raw)
    assert "secret" not in repr(item)
    assert f"raw=<{len(buffer)} bytes>" in repr(item)
    assert held(raw=memoryview(b"abc")).raw == b"abc"


def test_a_quarantined_message_defaults_and_entry() -> None:
    item = held()
    assert (item.status, item.attempts, item.updated_at, item.complaint_id, item.note) == (
        QuarantineStatus.HELD,
        0,
        T0,
        None,
        "",
    )
    entry = item.entry()
    assert isinstance(entry, QuarantineEntry)
    assert not hasattr(entry, "raw")
    assert entry.size == item.size
    assert {f.name for f in attrs.fields(QuarantineEntry)} == (
        {f.name for f in attrs.fields(QuarantinedMessage)} - {"raw"} | {"size"}
    )


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"raw": "text"}, "must be bytes, got 'text' .*not text decoded"),
        ({"raw": None}, "must be bytes"),
        ({"status": "lost"}, "QuarantinedMessage.status must be one of"),
        ({"status": "released"}, "released but has no complaint_id"),
        ({"attempts": -1}, "QuarantinedMessage.attempts must be a whole number"),
        ({"attempts": True}, "not True or False"),
        ({"received_at": datetime(2026, 3, 2)}, "received_at must be a timezone-aware"),
        ({"reason": "  "}, "reason must be non-empty text"),
        ({"channel": "e mail\n"}, "channel must be a name"),
        ({"id": "q\x00"}, "without NUL"),
    ],
)
def test_a_wrong_quarantined_message_is_refused(fields: dict[str, object], why: str) -> None:
    with pytest.raises(InvalidArgumentError, match=why):
        held(**fields)


def test_a_message_larger_than_the_quarantine_keeps_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="more than the 67108864 the quarantine keeps"):
        held(raw=bytes(MAX_RAW_BYTES + 1))


def test_describing_a_message_never_fails_on_a_nul() -> None:
    item = held(reason="bad header \x00 here", note="n\x00", source="imap:\x00")
    assert (item.reason, item.note, item.source) == (
        "bad header \ufffd here",
        "n\ufffd",
        "imap:\ufffd",
    )


def test_a_released_message_names_its_complaint() -> None:
    released = attrs.evolve(held(), status="released", complaint_id="c-9")
    assert released.status is QuarantineStatus.RELEASED
    with pytest.raises(InvalidArgumentError, match="released but has no complaint_id"):
        attrs.evolve(held().entry(), status=QuarantineStatus.RELEASED)


def test_quarantine_update_takes_a_message_or_an_entry_only() -> None:
    item = held()
    assert channel_arguments.quarantine_update(item, "held") == (item, QuarantineStatus.HELD)
    assert (
        channel_arguments.quarantine_update(item.entry(), QuarantineStatus.HELD)[0] == item.entry()
    )
    with pytest.raises(InvalidArgumentError, match="QuarantinedMessage or a QuarantineEntry"):
        channel_arguments.quarantine_update("q-1", "held")
    with pytest.raises(InvalidArgumentError, match="expected_status must be one of"):
        channel_arguments.quarantine_update(item, "gone")
