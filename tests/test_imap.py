"""Reading a mailbox over IMAP, against a real Dovecot started by ``scripts/dovecot.sh``.

The server is started once per session (``bash scripts/dovecot.sh start``; it stays
up if it was already running, and is stopped at the end otherwise). Without Dovecot
the tests skip with the reason, except under ``CI=true``, where its absence fails
them, as for PostgreSQL. Messages are put in the mailbox with IMAP ``APPEND``, which
is how a delivery looks to a client; every test works in a mailbox of its own.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow.channels.imap import (
    DONE_KEYWORD,
    FetchedMessage,
    ImapMailbox,
    ImapSettings,
    MailboxCursor,
)
from complaint_flow.channels.mailbox_names import decode_mailbox_name, encode_mailbox_name
from complaint_flow.errors import ChannelError, InvalidArgumentError

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "dovecot.sh"
SECURITIES = ("ssl", "starttls", "none")


# -- the server ----------------------------------------------------------------------


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"Dovecot is required under CI=true, but {reason}", pytrace=False)
    pytest.skip(reason)


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=900,  # the first start may install Dovecot with apt-get
        env={**os.environ, **(env or {})},
        check=False,
    )


@attrs.frozen
class Dovecot:
    """A running test server: its URLs by security, and the script's environment."""

    urls: dict[str, str]
    env: dict[str, str] = attrs.field(factory=dict)

    def settings(
        self, mailbox: str = "INBOX", security: str = "ssl", **changes: object
    ) -> ImapSettings:
        url = self.urls[security].replace("/INBOX?", f"/{quote(mailbox, safe='')}?")
        settings = ImapSettings.from_url(url)
        return attrs.evolve(settings, **changes) if changes else settings

    @contextlib.contextmanager
    def admin(self) -> Iterator[imaplib.IMAP4_SSL]:
        """A plain imaplib session, for what the tests do to the mailbox themselves."""
        settings = self.settings()
        with imaplib.IMAP4_SSL(
            settings.host, settings.port, ssl_context=settings.tls_context(), timeout=10
        ) as connection:
            connection.login(settings.username, settings.password)
            yield connection

    def doveadm(self, *args: str) -> str:
        result = run_script("doveadm", *args, env=self.env)
        assert result.returncode == 0, result.stderr
        return result.stdout


def start(env: dict[str, str] | None = None) -> Dovecot:
    started = run_script("start", env=env)
    if started.returncode != 0:
        _unavailable(f"`bash scripts/dovecot.sh start` failed: {started.stderr.strip()[-800:]}")
    urls = {
        security: run_script("url", security, env=env).stdout.strip() for security in SECURITIES
    }
    return Dovecot(urls=urls, env=env or {})


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    was_running = run_script("status").returncode == 0
    server = start()
    yield server
    if not was_running:
        run_script("stop")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def private_dovecot(dovecot: Dovecot) -> Iterator[Dovecot]:
    """A second server of this test's own, which the test may stop."""
    directory = tempfile.mkdtemp(prefix="cf-dovecot-")
    env = {
        "COMPLAINT_FLOW_DOVECOT_DIR": directory,
        "COMPLAINT_FLOW_IMAP_PORT": str(free_port()),
        "COMPLAINT_FLOW_IMAPS_PORT": str(free_port()),
    }
    server = start(env)
    yield server
    run_script("stop", env=env)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Iterator[str]:
    """A fresh mailbox, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    with dovecot.admin() as admin:
        assert admin.create(name)[0] == "OK"
    yield name
    with dovecot.admin() as admin:
        admin.delete(name)


def deliver(dovecot: Dovecot, mailbox: str, *messages: bytes) -> list[int]:
    """APPEND the messages; their UIDs."""
    uids = []
    with dovecot.admin() as admin:
        for raw in messages:
            typ, data = admin.append(_quoted(mailbox), None, None, raw)
            assert typ == "OK", data
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0])
            assert found, data
            uids.append(int(found.group(1)))
    return uids


def remake(dovecot: Dovecot, mailbox: str) -> None:
    """Delete the mailbox and make it again: it gets a new UIDVALIDITY."""
    with dovecot.admin() as admin:
        assert admin.delete(_quoted(mailbox))[0] == "OK"
        assert admin.create(_quoted(mailbox))[0] == "OK"


def flags_of(dovecot: Dovecot, mailbox: str) -> dict[int, set[str]]:
    with dovecot.admin() as admin:
        admin.select(_quoted(mailbox), readonly=True)
        _typ, data = admin.uid("FETCH", "1:*", "(UID FLAGS)")
    found = {}
    for line in data:
        if isinstance(line, bytes) and (match := re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)):
            found[int(match.group(1))] = set(match.group(2).decode().split())
    return found


def _quoted(mailbox: str) -> str:
    return '"' + encode_mailbox_name(mailbox) + '"'


def message(number: int, body: bytes = b"The parcel arrived crushed.\r\n", **headers: str) -> bytes:
    """An RFC 5322 message with CRLF line ends (imaplib's APPEND makes every line end CRLF)."""
    fields = {
        "From": f"Customer {number} <customer{number}@example.org>",
        "To": "complaints@shop.example",
        "Subject": f"Complaint {number}",
        "Message-ID": f"<complaint-{number}-{uuid.uuid4().hex}@example.org>",
        **headers,
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return head.encode("utf-8") + b"\r\n" + body


def message_id(raw: bytes) -> str:
    found = re.search(rb"^Message-ID: (<[^>]+>)", raw, re.MULTILINE)
    assert found is not None
    return found.group(1).decode()


def fetch_all(
    settings: ImapSettings, cursor: MailboxCursor | None = None, **options: int
) -> list[FetchedMessage]:
    with ImapMailbox(settings) as box:
        return list(box.fetch_new(cursor, **options))


# -- bytes ---------------------------------------------------------------------------


def eight_bit_message() -> bytes:
    body = (
        "Le colis est arrivé écrasé — très déçu. Grüße, Ωμέγα, 台北.\r\n".encode()
        + bytes(range(0x80, 0x100))  # raw 8-bit octets that are not UTF-8
        + b"\r\n"
    )
    return message(
        2,
        body,
        **{
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Transfer-Encoding": "8bit",
            "Subject": "=?utf-8?q?Colis_=C3=A9cras=C3=A9?=",
        },
    )


def attachment_message(size: int = 5 * 1024 * 1024) -> bytes:
    import base64

    data = random.Random(7).randbytes(size)
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    body = (
        b"--b1\r\nContent-Type: text/plain\r\n\r\nPhotos of the damage attached.\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="photos.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b1--\r\n"
    )
    return message(
        3, body, **{"MIME-Version": "1.0", "Content-Type": 'multipart/mixed; boundary="b1"'}
    )


@pytest.mark.parametrize("security", SECURITIES)
def test_the_raw_bytes_come_back_identical(dovecot: Dovecot, mailbox: str, security: str) -> None:
    sent = [message(1), eight_bit_message(), attachment_message()]
    uids = deliver(dovecot, mailbox, *sent)
    fetched = fetch_all(dovecot.settings(mailbox, security))
    assert [m.uid for m in fetched] == uids
    assert [m.raw for m in fetched] == sent
    assert len({m.uidvalidity for m in fetched}) == 1


def test_reading_marks_nothing_seen(dovecot: Dovecot, mailbox: str) -> None:
    uids = deliver(dovecot, mailbox, message(1), message(2))
    assert len(fetch_all(dovecot.settings(mailbox))) == 2
    assert flags_of(dovecot, mailbox) == {uid: set() for uid in uids}


def test_a_mailbox_named_outside_ascii_is_read(dovecot: Dovecot) -> None:
    name = f"Réclamations & été 台北 {uuid.uuid4().hex[:6]}"
    with dovecot.admin() as admin:
        assert admin.create(_quoted(name))[0] == "OK"
        _typ, listed = admin.list()
    try:
        assert any(encode_mailbox_name(name).encode() in line for line in listed)
        sent = message(1)
        deliver(dovecot, name, sent)
        assert [m.raw for m in fetch_all(dovecot.settings(name))] == [sent]
    finally:
        with dovecot.admin() as admin:
            admin.delete(_quoted(name))


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_mailbox_names_survive_modified_utf7(name: str) -> None:
    encoded = encode_mailbox_name(name)
    assert all(" " <= char <= "~" for char in encoded)
    assert decode_mailbox_name(encoded) == name


# -- the cursor ----------------------------------------------------------------------


def test_a_second_fetch_from_the_cursor_returns_nothing(dovecot: Dovecot, mailbox: str) -> None:
    deliver(dovecot, mailbox, message(1), message(2))
    settings = dovecot.settings(mailbox)
    with ImapMailbox(settings) as box:
        first = list(box.fetch_new(None))
        assert len(first) == 2
        assert list(box.fetch_new(first[-1].cursor)) == []
    assert fetch_all(settings, first[-1].cursor) == []


def test_a_message_after_the_cursor_is_fetched_alone(dovecot: Dovecot, mailbox: str) -> None:
    deliver(dovecot, mailbox, message(1), message(2))
    settings = dovecot.settings(mailbox)
    with ImapMailbox(settings) as box:
        cursor = list(box.fetch_new(None))[-1].cursor
        later = message(3)
        [uid] = deliver(dovecot, mailbox, later)  # arrives while the session is open
        [fetched] = box.fetch_new(cursor)
    assert (fetched.uid, fetched.raw) == (uid, later)
    assert fetched.cursor == MailboxCursor(uidvalidity=cursor.uidvalidity, last_uid=uid)


def test_limit_and_batch_read_in_order_and_resume(dovecot: Dovecot, mailbox: str) -> None:
    sent = [message(n) for n in range(12)]
    uids = deliver(dovecot, mailbox, *sent)
    settings = dovecot.settings(mailbox)
    cursor = None
    pages = []
    with ImapMailbox(settings) as box:
        assert list(box.fetch_new(None, limit=0)) == []
        while page := list(box.fetch_new(cursor, limit=5, batch=2)):
            pages.append([m.uid for m in page])
            cursor = page[-1].cursor
    assert pages == [uids[0:5], uids[5:10], uids[10:12]]


def test_uids_far_apart_are_all_found(dovecot: Dovecot, mailbox: str) -> None:
    # Spread the UIDs over more than one search window (20,000 UIDs each).
    [low] = deliver(dovecot, mailbox, message(1))
    dovecot.doveadm("mailbox", "update", "-u", "complaints", "--min-next-uid", "45000", mailbox)
    [high] = deliver(dovecot, mailbox, message(2))
    assert high >= 45000
    settings = dovecot.settings(mailbox)
    assert [m.uid for m in fetch_all(settings)] == [low, high]
    cursor = MailboxCursor(uidvalidity=fetch_all(settings)[0].uidvalidity, last_uid=low)
    assert [m.uid for m in fetch_all(settings, cursor)] == [high]


class CrashError(Exception):
    """The process dies here."""


@attrs.define
class Desk:
    """The caller: commits complaints (dropping a Message-ID it has) and keeps the cursor."""

    cursor: MailboxCursor | None = None
    complaints: dict[str, int] = attrs.field(factory=dict)
    deliveries: list[str] = attrs.field(factory=list)

    def run(
        self, settings: ImapSettings, crash: Callable[[str, FetchedMessage], None] = lambda *_: None
    ) -> None:
        """One run of the documented loop; ``crash`` may raise CrashError at a step."""
        with ImapMailbox(settings) as box:
            for fetched in box.fetch_new(self.cursor):
                key = message_id(fetched.raw)
                self.deliveries.append(key)
                crash("before commit", fetched)
                self.complaints[key] = self.complaints.get(key, 0) + (key not in self.complaints)
                crash("before cursor", fetched)
                self.cursor = fetched.cursor
                crash("before flag", fetched)
                box.mark_done(fetched.uid)


def test_a_crash_before_the_cursor_is_saved_delivers_the_message_again(
    dovecot: Dovecot, mailbox: str
) -> None:
    sent = [message(n) for n in range(3)]
    uids = deliver(dovecot, mailbox, *sent)
    settings = dovecot.settings(mailbox)
    desk = Desk()

    def crash_on_second(step: str, fetched: FetchedMessage) -> None:
        if step == "before cursor" and fetched.uid == uids[1]:
            raise CrashError

    with pytest.raises(CrashError):
        desk.run(settings, crash_on_second)
    assert desk.cursor is not None
    assert desk.cursor.last_uid == uids[0]
    desk.run(settings)
    ids = [message_id(raw) for raw in sent]
    assert desk.deliveries == [ids[0], ids[1], ids[1], ids[2]]
    assert desk.complaints == dict.fromkeys(ids, 1)
    assert desk.cursor.last_uid == uids[2]
    assert flags_of(dovecot, mailbox) == {uid: {"\\Seen", DONE_KEYWORD} for uid in uids}


@pytest.fixture(scope="module")
def six_messages(dovecot: Dovecot) -> Iterator[tuple[str, list[int], list[str]]]:
    name = f"test-crashes-{uuid.uuid4().hex[:8]}"
    with dovecot.admin() as admin:
        admin.create(name)
    sent = [message(n) for n in range(6)]
    yield name, deliver(dovecot, name, *sent), [message_id(raw) for raw in sent]
    with dovecot.admin() as admin:
        admin.delete(name)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    crashes=st.lists(
        st.tuples(
            st.integers(0, 5), st.sampled_from(["before commit", "before cursor", "before flag"])
        ),
        max_size=4,
        unique=True,
    )
)
def test_every_message_is_taken_exactly_once_whatever_the_crashes(
    dovecot: Dovecot,
    six_messages: tuple[str, list[int], list[str]],
    crashes: list[tuple[int, str]],
) -> None:
    name, uids, ids = six_messages
    settings = dovecot.settings(name)
    pending = set(crashes)
    desk = Desk()

    def crash(step: str, fetched: FetchedMessage) -> None:
        point = (uids.index(fetched.uid), step)
        if point in pending:
            pending.discard(point)
            raise CrashError

    for _ in range(len(crashes) + 1):
        with contextlib.suppress(CrashError):
            desk.run(settings, crash)
    assert not pending
    assert desk.complaints == dict.fromkeys(ids, 1)  # each taken once
    assert desk.cursor == MailboxCursor(uidvalidity=desk.cursor.uidvalidity, last_uid=uids[-1])
    # Only a crash before the cursor was saved delivers a message again, once per crash.
    again = sorted(ids[index] for index, step in crashes if step != "before flag")
    assert sorted(desk.deliveries) == sorted(ids + again)


def test_a_new_uidvalidity_resets_the_cursor(
    dovecot: Dovecot, mailbox: str, caplog: pytest.LogCaptureFixture
) -> None:
    old = [message(1), message(2)]
    deliver(dovecot, mailbox, *old)
    settings = dovecot.settings(mailbox)
    desk = Desk()
    desk.run(settings)
    assert desk.cursor is not None
    remade_from = desk.cursor
    remake(dovecot, mailbox)  # e.g. restored from a backup: the old messages and a new one
    newer = message(3)
    uids = deliver(dovecot, mailbox, *old, newer)
    with caplog.at_level(logging.WARNING, logger="complaint_flow.channels.imap"):
        desk.run(settings)
    assert "UIDVALIDITY" in caplog.text
    assert desk.cursor.uidvalidity != remade_from.uidvalidity
    assert desk.cursor.last_uid == uids[-1]
    ids = [message_id(raw) for raw in [*old, newer]]
    assert desk.deliveries == [*ids[:2], *ids]  # all read again...
    assert desk.complaints == dict.fromkeys(ids, 1)  # ...and taken once


def test_a_cursor_beyond_the_mailbox_is_reset(dovecot: Dovecot, mailbox: str) -> None:
    uids = deliver(dovecot, mailbox, message(1), message(2))
    settings = dovecot.settings(mailbox)
    uidvalidity = fetch_all(settings)[0].uidvalidity
    ahead = MailboxCursor(uidvalidity=uidvalidity, last_uid=1_000_000)
    assert [m.uid for m in fetch_all(settings, ahead)] == uids


# -- flags ---------------------------------------------------------------------------


def test_mark_done_flags_only_that_message(dovecot: Dovecot, mailbox: str) -> None:
    uids = deliver(dovecot, mailbox, message(1), message(2))
    with ImapMailbox(dovecot.settings(mailbox)) as box:
        box.mark_done(uids[0])  # before any fetch: the mailbox is opened for it
        box.mark_done(999_999)  # no such message: nothing to flag
    assert flags_of(dovecot, mailbox) == {uids[0]: {"\\Seen", DONE_KEYWORD}, uids[1]: set()}


def test_mark_done_refuses_a_uid_of_a_remade_mailbox(dovecot: Dovecot, mailbox: str) -> None:
    deliver(dovecot, mailbox, message(1))
    with ImapMailbox(dovecot.settings(mailbox)) as box:
        [fetched] = box.fetch_new(None)
        remake(dovecot, mailbox)
        [other] = deliver(dovecot, mailbox, message(2))
        assert other == fetched.uid  # the same UID names another message now
        with pytest.raises(ChannelError, match=re.escape(box.settings.display)):
            box.mark_done(fetched.uid)  # Dovecot refuses to STORE in a mailbox made again
        with pytest.raises(ChannelError, match="UIDVALIDITY changed from"):
            box.mark_done(fetched.uid)
    assert flags_of(dovecot, mailbox) == {other: set()}


# -- failures ------------------------------------------------------------------------


def test_a_wrong_password_is_a_channel_error(dovecot: Dovecot) -> None:
    settings = dovecot.settings(password="Wrong-Password-42")
    with pytest.raises(ChannelError) as raised:
        ImapMailbox(settings).open()
    text = str(raised.value)
    assert settings.display in text
    assert "password" in text
    assert "AUTHENTICATIONFAILED" in text
    assert "Wrong-Password-42" not in text


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_an_untrusted_certificate_is_a_channel_error(dovecot: Dovecot, security: str) -> None:
    settings = dovecot.settings(security=security, cafile=None)
    with pytest.raises(ChannelError, match=r"not trusted .*cafile="):
        ImapMailbox(settings).open()


def test_the_wrong_security_for_the_port_is_a_channel_error(dovecot: Dovecot) -> None:
    plain_port = dovecot.settings(security="none").port
    settings = dovecot.settings(port=plain_port, timeout=2.0)  # TLS to the plain port
    with pytest.raises(ChannelError, match="security="):
        ImapMailbox(settings).open()


def test_a_missing_mailbox_is_a_channel_error_naming_the_mailboxes(dovecot: Dovecot) -> None:
    with pytest.raises(ChannelError, match=r"cannot open mailbox 'Nope'.*'INBOX'"):
        fetch_all(dovecot.settings("Nope"))


def test_a_stopped_server_is_a_channel_error_and_the_cursor_resumes(
    private_dovecot: Dovecot,
) -> None:
    sent = [message(n) for n in range(3)]
    deliver(private_dovecot, "INBOX", *sent)
    settings = private_dovecot.settings()
    box = ImapMailbox(settings)
    messages = box.fetch_new(None, batch=1)
    taken = next(messages)
    assert run_script("stop", env=private_dovecot.env).returncode == 0
    with pytest.raises(ChannelError, match=re.escape(settings.display)):
        next(messages)  # the connection died under the iteration
    with pytest.raises(ChannelError, match="Connection refused"):
        ImapMailbox(settings).open()
    with pytest.raises(ChannelError, match="Connection refused"):
        list(box.fetch_new(taken.cursor))  # the next call connects again, and fails
    box.close()
    start(private_dovecot.env)
    with ImapMailbox(settings) as box:
        assert [m.raw for m in box.fetch_new(taken.cursor)] == sent[1:]


# -- settings ------------------------------------------------------------------------


def test_settings_from_a_url() -> None:
    settings = ImapSettings.from_url(
        "imap://help%40shop.example:p%40ss%20word@mail.shop.example/Complaints%2F2026"
        "?security=none&timeout=5"
    )
    assert attrs.asdict(settings) == {
        "host": "mail.shop.example",
        "username": "help@shop.example",
        "password": "p@ss word",
        "port": 143,
        "security": "none",
        "mailbox": "Complaints/2026",
        "timeout": 5.0,
        "cafile": None,
        "ssl_context": None,
    }
    assert "p@ss" not in repr(settings)
    assert "p@ss" not in settings.display
    assert ImapSettings.from_url("imaps://u:p@h").mailbox == "INBOX"
    assert ImapSettings.from_url("imaps://u@h", password="p").password == "p"


printable = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1)


@given(
    username=printable,
    password=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1),
    mailbox=printable.filter(lambda text: text == text.strip() and text.isprintable()),
)
def test_a_url_round_trips_any_user_password_and_mailbox(
    username: str, password: str, mailbox: str
) -> None:
    url = (
        f"imaps://{quote(username, safe='')}:{quote(password, safe='')}@h/{quote(mailbox, safe='')}"
    )
    settings = ImapSettings.from_url(url)
    assert (settings.username, settings.password, settings.mailbox) == (username, password, mailbox)


@given(password=st.text(st.characters(whitelist_categories=("L", "N")), min_size=6))
def test_a_bad_url_never_shows_its_password(password: str) -> None:
    secret = f"Pw{password}"
    for url in (
        f"imaps://u:{secret}@h/INBOX?colour=blue",
        f"imaps://u:{secret}@h:99999/INBOX",
        f"imaps://u:{secret}@h/INBOX?security=none",
        f"pop3://u:{secret}@h/INBOX",
        f"imaps://:{secret}@h/INBOX",
        f"imaps://u:{secret}@h/INBOX?timeout=soon",
    ):
        with pytest.raises(InvalidArgumentError) as raised:
            ImapSettings.from_url(url)
        assert secret not in str(raised.value)
        assert "***" in str(raised.value)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"host": " "}, "host must be a name"),
        ({"username": ""}, "username must be non-empty text"),
        (
            {"password": b"secret"},
            r"password must be non-empty text, got a bytes \(the value is not",
        ),
        ({"password": ""}, "password must be non-empty text, got empty text"),
        ({"port": 0}, "port must be a whole number from 1 to 65535"),
        ({"port": "993"}, "pass the number itself: 993"),
        ({"security": "tls"}, "security must be one of 'none', 'ssl', 'starttls'"),
        ({"mailbox": "INBOX\n"}, "mailbox must be a name"),
        ({"timeout": 0}, "timeout must be a number from 0.1 to 3600"),
        ({"cafile": "/no/such/file.pem"}, "which is not a file"),
        ({"cafile": __file__}, "cannot be read as one"),
        ({"security": "none", "ssl_context": ssl.create_default_context()}, "security is 'none'"),
        ({"ssl_context": "yes"}, "ssl_context must be a SSLContext"),
    ],
)
def test_settings_refuse_what_is_malformed(changes: dict[str, object], says: str) -> None:
    values: dict[str, object] = {"host": "imap.example.org", "username": "u", "password": "p"}
    with pytest.raises(InvalidArgumentError, match=says):
        ImapSettings(**{**values, **changes})  # type: ignore[arg-type]


def test_the_mailbox_calls_refuse_malformed_arguments() -> None:
    box = ImapMailbox(ImapSettings("127.0.0.1", "u", "p", port=1, security="none"))
    with pytest.raises(InvalidArgumentError, match="cursor must be a MailboxCursor"):
        box.fetch_new((1, 2))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="limit must be a whole number"):
        box.fetch_new(None, limit=-1)
    with pytest.raises(InvalidArgumentError, match="batch must be a whole number from 1"):
        box.fetch_new(None, batch=0)
    with pytest.raises(InvalidArgumentError, match="uid must be a whole number from 1"):
        box.mark_done(0)
    with pytest.raises(InvalidArgumentError, match="last_uid must be a whole number"):
        MailboxCursor(uidvalidity=1, last_uid=2**32)
    with pytest.raises(InvalidArgumentError, match="uidvalidity must be a whole number"):
        MailboxCursor(uidvalidity=0)
    with pytest.raises(InvalidArgumentError, match="settings must be an ImapSettings"):
        ImapMailbox("imaps://u:p@h")  # type: ignore[arg-type]


# -- polling a mailbox into complaints (the service on top of the reader) -------------------


def test_polling_takes_each_message_once_across_a_crash(dovecot: Dovecot, mailbox: str) -> None:
    from complaint_flow import EmailIntake, Engine
    from complaint_flow.services.mailbox_polling import cursor_name, poll_mailbox

    deliver(dovecot, mailbox, message(1), message(2), b"\x00\x01 not mail at all")
    with Engine.open("memory://") as engine:
        intake = EmailIntake(engine.kernel, engine.reception)
        with ImapMailbox(dovecot.settings(mailbox)) as box:
            first = poll_mailbox(intake, box)
            assert (first.fetched, first.opened, first.quarantined) == (3, 2, 1)
            assert engine.store.count() == 2
            complaint = engine.find()[0]
            reply = message(
                1, b"Any news?\r\n", Subject=f"Re: [{complaint.reference}] Complaint 1"
            )
            deliver(dovecot, mailbox, reply)
            second = poll_mailbox(intake, box)
            assert (second.fetched, second.replies) == (1, 1)
            assert poll_mailbox(intake, box).fetched == 0
            # A crash after taking messages but before moving the cursor: the cursor is
            # back where it was, the messages are read again and taken as duplicates.
            name = cursor_name(box)
            moved = engine.store.cursor_get(name)
            assert moved is not None
            uidvalidity = moved.split(":")[0]
            assert engine.store.cursor_set(name, f"{uidvalidity}:0", expected=moved)
            again = poll_mailbox(intake, box)
            assert again.fetched == 4
            assert (again.duplicates, again.quarantined) == (3, 1)  # kept once, not doubled
            assert engine.store.count() == 2
            assert len(engine.store.quarantine_find()) == 1
    flags = flags_of(dovecot, mailbox)
    assert all("$ComplaintFlowDone" in marks for marks in flags.values())
