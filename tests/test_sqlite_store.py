"""What only the SQLite store promises: durability settings, schema versions, URLs, processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from complaint_flow import (
    Actor,
    ComplaintNotFoundError,
    ConcurrencyError,
    Customer,
    DuplicateIntakeError,
    Engine,
    Intake,
    InvalidArgumentError,
    SchemaVersionError,
    StoreError,
)
from complaint_flow.model.channel_records import QuarantineStatus
from complaint_flow.model.conduct import ConductRecord, ConductStatus, ReviewItem, ReviewReason
from complaint_flow.model.entities import Event
from complaint_flow.services.audit import verify_events
from complaint_flow.storage import sqlite as sqlite_store
from complaint_flow.storage.contract import Commit, ConductCommit
from complaint_flow.storage.hashing import content_digest
from complaint_flow.storage.sqlite import (
    SCHEMA_VERSION,
    SQLiteStore,
    open_sqlite_store,
    parse_sqlite_url,
)
from complaint_flow.testing.conformance import (
    CUSTOMER,
    T0,
    change,
    creation,
    make_complaint,
    make_event,
    make_link,
    make_message,
    make_quarantined,
)
from sqlite_files import digest, dump, raw

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "complaints.db"


@pytest.fixture
def url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def store(url: str) -> Iterator[SQLiteStore]:
    store = open_sqlite_store(url)
    yield store
    store.close()


def pragma(connection: sqlite3.Connection, name: str) -> Any:
    return connection.execute(f"PRAGMA {name}").fetchone()[0]


# -- persistence -------------------------------------------------------------


def test_an_engine_finds_everything_again_after_reopening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Engine.open("sqlite:///complaints.db", load_entry_points=False) as engine:
        received = engine.receive(
            Intake(channel="email", customer=CUSTOMER, summary="Broken", external_id="<m1>")
        )
        fired = engine.fire(received.id, "thank", actor=AGENT, reason="first contact")
        history = engine.history(received.id)
        outbox = engine.outbox(received.id)
    assert (tmp_path / "complaints.db").exists()
    with Engine.open("sqlite:///complaints.db", load_entry_points=False) as engine:
        assert engine.get(received.id) == fired
        assert engine.get(fired.reference) == fired
        assert engine.history(received.id) == history
        assert engine.outbox(received.id) == outbox
        again = engine.receive(
            Intake(channel="email", customer=CUSTOMER, summary="Broken", external_id="<m1>")
        )
        assert again == fired


def test_close_closes_the_connections_of_every_thread(store: SQLiteStore, path: Path) -> None:
    created = store.commit(creation())

    def read() -> None:
        store.get(created.id)

    workers = [threading.Thread(target=read) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert Path(f"{path}-wal").exists()
    store.close()
    # SQLite removes the WAL file when the last connection to the database closes.
    assert not Path(f"{path}-wal").exists()
    with pytest.raises(StoreError, match="closed"):
        store.get(created.id)
    with pytest.raises(StoreError, match="closed"):
        store.find()


# -- durability settings -----------------------------------------------------


def test_connections_use_wal_full_sync_foreign_keys_and_a_busy_timeout(
    store: SQLiteStore, path: Path
) -> None:
    seen: dict[str, list[Any]] = {}

    def inspect() -> None:
        connection = store._connection()
        for name in (
            "journal_mode",
            "synchronous",
            "foreign_keys",
            "busy_timeout",
            "secure_delete",
        ):
            seen.setdefault(name, []).append(pragma(connection, name))

    inspect()
    worker = threading.Thread(target=inspect)  # another thread gets its own connection
    worker.start()
    worker.join()
    assert seen == {
        "journal_mode": ["wal", "wal"],
        "synchronous": [2, 2],  # FULL
        "foreign_keys": [1, 1],
        "busy_timeout": [30_000, 30_000],
        "secure_delete": [1, 1],
    }
    other = raw(path)
    assert pragma(other, "journal_mode") == "wal"  # WAL is a property of the file
    other.close()


@pytest.mark.parametrize(("query", "level"), [("NORMAL", 1), ("normal", 1), ("FULL", 2)])
def test_synchronous_can_be_chosen_in_the_url(url: str, query: str, level: int) -> None:
    store = open_sqlite_store(f"{url}?synchronous={query}")
    try:
        assert store.synchronous == query.upper()
        assert pragma(store._connection(), "synchronous") == level
    finally:
        store.close()


# -- schema versions ---------------------------------------------------------


def test_a_new_database_gets_the_current_schema_version_with_its_indexes(
    store: SQLiteStore, path: Path
) -> None:
    connection = raw(path)
    try:
        assert connection.execute("SELECT version FROM complaint_flow_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]
        assert SCHEMA_VERSION == 5
        assert pragma(connection, "user_version") == SCHEMA_VERSION
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        outbox_keys = connection.execute("PRAGMA foreign_key_list(outbox)").fetchall()
    finally:
        connection.close()
    assert {"complaints", "events", "outbox", "reference_counters"} <= names
    assert {"conduct_records", "conduct_events"} <= names
    assert {
        "message_links",
        "quarantined_messages",
        "quarantined_bytes",
        "channel_cursors",
    } <= names
    assert {
        "message_links_by_complaint",
        "quarantined_messages_by_status",
        "quarantined_messages_by_received_at",
    } <= names
    assert {"complaints_due", "complaints_by_state", "complaints_by_external_id"} <= names
    assert {
        "conduct_records_by_review_at",
        "conduct_records_with_review_items",
        "conduct_records_by_status",
    } <= names
    assert {
        "corrective_actions",
        "action_events",
        "corrective_actions_by_status",
        "corrective_actions_by_owner",
        "corrective_actions_check_due",
    } <= names
    assert outbox_keys == []  # conduct notices share the outbox


def set_schema_version(path: Path, version: int) -> None:
    connection = raw(path)
    connection.execute("UPDATE complaint_flow_schema SET version = ?", (version,))
    connection.close()


def test_a_newer_schema_is_refused_untouched(store: SQLiteStore, path: Path, url: str) -> None:
    store.commit(creation())
    store.close()
    set_schema_version(path, SCHEMA_VERSION + 1)
    before = digest(path)
    with pytest.raises(SchemaVersionError) as raised:
        open_sqlite_store(url)
    message = str(raised.value)
    assert f"version {SCHEMA_VERSION + 1}" in message
    assert "Upgrade complaint_flow" in message
    assert digest(path) == before


def test_an_older_schema_is_refused_with_the_upgrade_command(
    store: SQLiteStore, path: Path, url: str
) -> None:
    store.close()
    set_schema_version(path, 0)
    before = digest(path)
    with pytest.raises(SchemaVersionError) as raised:
        Engine.open(url, load_entry_points=False)
    assert f"complaint-flow db upgrade {url}" in str(raised.value)
    assert "version 0" in str(raised.value)
    assert digest(path) == before


def test_a_damaged_schema_table_is_refused(store: SQLiteStore, path: Path, url: str) -> None:
    store.close()
    connection = raw(path)
    connection.execute("INSERT INTO complaint_flow_schema VALUES (1)")
    connection.close()
    with pytest.raises(StoreError, match="damaged"):
        open_sqlite_store(url)


def test_another_applications_database_is_refused_untouched(path: Path, url: str) -> None:
    connection = raw(path)
    connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    connection.execute("INSERT INTO customers (name) VALUES ('Ada')")
    connection.close()
    before = digest(path)
    with pytest.raises(StoreError, match="not a complaint_flow one") as raised:
        open_sqlite_store(url)
    assert not isinstance(raised.value, SchemaVersionError)
    assert "customers" in str(raised.value)
    assert digest(path) == before
    connection = raw(path)
    assert pragma(connection, "journal_mode") == "delete"  # not switched to WAL
    connection.close()


def test_a_file_that_is_not_a_database_is_refused_untouched(path: Path, url: str) -> None:
    path.write_text("name,email\nAda,ada@example.org\n" * 200)
    before = digest(path)
    with pytest.raises(StoreError, match="cannot be used as a complaint_flow database"):
        open_sqlite_store(url)
    assert digest(path) == before


def test_an_empty_existing_file_becomes_a_store(path: Path, url: str) -> None:
    path.touch()
    store = open_sqlite_store(url)
    try:
        assert store.commit(creation()).reference == "CF-2026-000001"
    finally:
        store.close()


def test_two_stores_opening_a_new_file_at_once_share_one_schema(path: Path, url: str) -> None:
    stores: list[SQLiteStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        try:
            stores.append(open_sqlite_store(url))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_it) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    try:
        assert errors == []
        references = sorted(s.commit(creation()).reference for s in stores)
        assert references == [f"CF-2026-00000{n}" for n in range(1, 5)]
    finally:
        for opened in stores:
            opened.close()


# -- URLs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("sqlite://complaints.db", "three slashes"),
        ("sqlite:///", "names no database file"),
        ("sqlite:///?synchronous=FULL", "names no database file"),
        ("sqlite:///:memory:", "'memory://'"),
        ("sqlite:///x.db?synchronous=FAST", "synchronous='FAST' is not supported"),
        ("sqlite:///x.db?mode=ro", "unknown option 'mode'"),
        ("postgresql:///x.db", "does not start with 'sqlite://'"),
        ("complaints.db", "does not start with 'sqlite://'"),
    ],
)
def test_malformed_urls_are_refused_with_a_hint(bad: str, hint: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_sqlite_store(bad)
    assert hint in str(raised.value)
    assert "sqlite:///complaints.db" in str(raised.value)  # shows a correct form


def test_memory_sqlite_url_is_refused_through_the_engine() -> None:
    with pytest.raises(StoreError, match="memory://"):
        Engine.open("sqlite:///:memory:", load_entry_points=False)


def test_urls_name_relative_absolute_and_escaped_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_sqlite_url("sqlite:///data/c.db").path == str(tmp_path / "data" / "c.db")
    assert parse_sqlite_url("sqlite:////srv/c.db").path == "/srv/c.db"
    assert parse_sqlite_url("SQLite:///my%20complaints.db").path == str(
        tmp_path / "my complaints.db"
    )
    location = parse_sqlite_url("sqlite:///c.db?synchronous=normal")
    assert (location.path, location.synchronous) == (str(tmp_path / "c.db"), "NORMAL")
    assert parse_sqlite_url("sqlite:///c.db").synchronous == "FULL"


def test_a_relative_path_is_fixed_when_the_store_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_sqlite_store("sqlite:///complaints.db")
    try:
        created = store.commit(creation())
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        # A new thread opens its own connection: it must reach the same file.
        found: list[Any] = []
        worker = threading.Thread(target=lambda: found.append(store.get(created.id)))
        worker.start()
        worker.join()
        assert found == [created]
        assert not (elsewhere / "complaints.db").exists()
    finally:
        store.close()


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory exists"):
        open_sqlite_store(f"sqlite:///{tmp_path / 'missing' / 'c.db'}")


# -- refusals write nothing ---------------------------------------------------


def test_refused_commits_leave_every_table_unchanged(store: SQLiteStore, path: Path) -> None:
    first = store.commit(creation(external_id="m-1"))
    first = store.commit(change(first, outbox=[make_message(first.id, 2, key="k-1")]))
    again = make_complaint(external_id="m-1")
    refused = [
        (DuplicateIntakeError, creation(again, outbox=[make_message(again.id, 1)])),
        (ConcurrencyError, creation(make_complaint(first.id))),
        (ConcurrencyError, change(first, expected_version=1, state="closed")),
        (StoreError, change(first, outbox=[make_message(first.id, 3, key="k-1")])),
        (ConcurrencyError, change(make_complaint(version=4), state="ghost")),
    ]
    before = dump(path)
    for error, commit in refused:
        with pytest.raises(error):
            store.commit(commit)
    assert dump(path) == before
    assert store.commit(creation()).reference == "CF-2026-000002"


def test_a_commit_that_waits_too_long_for_the_lock_writes_nothing(
    path: Path, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_SECONDS", 0.05)
    store = open_sqlite_store(url)
    try:
        created = store.commit(creation())
        blocker = raw(path)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            before = store.events(created.id)
            with pytest.raises(StoreError, match="locked") as raised:
                store.commit(change(created, state="thanked"))
            assert "nothing was written" in str(raised.value)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert store.events(created.id) == before
        assert store.commit(change(created, state="thanked")).version == 2
    finally:
        store.close()


def test_due_needs_an_aware_datetime(store: SQLiteStore) -> None:
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        store.due(datetime(2026, 1, 1), 10)  # naive: the mistake under test


# -- batches ------------------------------------------------------------------------


def test_a_batch_numbers_creations_in_order_with_one_counter_per_prefix_and_year(
    store: SQLiteStore, path: Path
) -> None:
    existing = store.commit(creation())
    batch = [
        creation(prefix="CF"),
        creation(prefix="XY"),
        change(existing, state="thanked"),
        creation(prefix="CF", received_at=T0.replace(year=2027)),
        creation(prefix="CF"),
        creation(prefix="XY"),
    ]
    stored = store.commit_many(batch)
    assert [complaint.reference for complaint in stored] == [
        "CF-2026-000002",
        "XY-2026-000001",
        existing.reference,
        "CF-2027-000001",
        "CF-2026-000003",
        "XY-2026-000002",
    ]
    assert [store.get(complaint.id) for complaint in stored] == stored
    connection = raw(path)
    try:
        counters = connection.execute("SELECT * FROM reference_counters ORDER BY 1, 2").fetchall()
    finally:
        connection.close()
    assert counters == [("CF", 2026, 3), ("CF", 2027, 1), ("XY", 2026, 2)]


def test_a_refused_batch_reports_its_first_offence_and_leaves_every_table_unchanged(
    store: SQLiteStore, path: Path
) -> None:
    first = store.commit(creation(external_id="m-1"))
    taken = make_complaint(external_id="m-1")
    fresh = [make_complaint() for _ in range(2)]
    fresh_commits = [
        creation(complaint, outbox=[make_message(complaint.id, 1)]) for complaint in fresh
    ]
    clashing = make_complaint()
    refused = [
        (
            DuplicateIntakeError,
            [*fresh_commits, creation(taken), change(first, expected_version=2)],
        ),
        (ConcurrencyError, [fresh_commits[0], change(first, expected_version=5), creation(taken)]),
        (ConcurrencyError, [creation(make_complaint(first.id)), *fresh_commits]),
        (
            StoreError,
            [
                fresh_commits[0],
                change(first, outbox=[make_message(first.id, 2, key="k")]),
                creation(clashing, outbox=[make_message(clashing.id, 1, key="k")]),
            ],
        ),
    ]
    before = dump(path)
    for error, batch in refused:
        with pytest.raises(error):
            store.commit_many(batch)
        assert dump(path) == before
    assert store.commit_many(fresh_commits)[0].reference == "CF-2026-000002"


# -- erasure leaves no trace in the files ---------------------------------------------

NAME = "Zebulon Quillfeather"
EMAIL = "zebulon.q@erasure-test.example"
PHONE = "+44 7700 900417"
PERSONAL = (NAME, EMAIL, PHONE)


def file_bytes(path: Path) -> bytes:
    """The database file with its -wal and -shm files, as they are on disk now."""
    return b"".join(
        candidate.read_bytes()
        for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
        if candidate.exists()
    )


def traces(path: Path) -> list[str]:
    content = file_bytes(path)
    return [text for text in PERSONAL if text.encode() in content]


def personal_commit() -> Commit:
    customer = Customer(id="C-erase", name=NAME, email=EMAIL, phone=PHONE)
    complaint = make_complaint(
        customer=customer,
        summary=f"{NAME}'s parcel never came",
        details=f"Write to {EMAIL} or call {PHONE}",
    )
    event = make_event(complaint.id, 1, kind="received", data={"from": EMAIL, "name": NAME})
    message = make_message(
        complaint.id, 1, address=EMAIL, payload={"greeting": f"Dear {NAME}", "phone": PHONE}
    )
    return Commit(complaint, 0, [event], [message], reference_prefix="CF")


def redacted_event(event: Event) -> Event:
    return attrs.evolve(event, reason="", data={}, redacted=content_digest(event))


def test_erasure_and_purge_leave_no_personal_data_in_the_database_files(
    store: SQLiteStore, path: Path
) -> None:
    kept = store.commit(creation())
    erased = store.commit(personal_commit())
    purged = store.commit(personal_commit())
    for _ in range(3):  # several versions: each left a copy of the personal data behind
        for complaint in (erased, purged):
            moved = store.commit(
                change(
                    store.get(complaint.id),
                    event_data={"note": f"called {PHONE}"},
                    outbox=[make_message(complaint.id, 0, address=EMAIL, payload={"n": NAME})],
                )
            )
            assert moved.version > complaint.version
        erased, purged = store.get(erased.id), store.get(purged.id)
    assert traces(path) == list(PERSONAL)  # the test would otherwise prove nothing

    anonymous = Customer(id="C-erase", name="(erased)")
    erasure = change(
        erased, customer=anonymous, summary="(erased)", details="(erased)", event_data={}
    )
    events = [redacted_event(event) for event in store.events(erased.id)]
    messages = [
        attrs.evolve(message, address=None, payload={}) for message in store.outbox(erased.id)
    ]
    rewritten = store.rewrite(erasure, events, messages)
    assert store.purge({purged.id: purged.version, "no-such-complaint": 1}) == 1

    assert traces(path) == []
    assert store.get(rewritten.id) == rewritten
    assert store.get(kept.id) == kept
    assert store.count() == 2
    trail = store.events(erased.id)
    assert trail[:-1] == events
    assert verify_events(erased.id, trail, head=rewritten.audit_head) == []
    assert [message.payload for message in store.outbox(erased.id)] == [{}] * len(messages)
    assert store.outbox(purged.id) == []
    with pytest.raises(ComplaintNotFoundError):
        store.events(purged.id)
    store.close()
    assert traces(path) == []


def test_erasing_a_conduct_record_leaves_no_personal_data_in_the_database_files(
    store: SQLiteStore, path: Path
) -> None:
    customer = Customer(id="C-erase", name=NAME, email=EMAIL, phone=PHONE)
    filed = ReviewItem(
        id="r-1", reason=ReviewReason.OUTSIDE_RESTRICTION, filed_at=T0, details=f"from {EMAIL}"
    )
    record = ConductRecord(
        customer_id="C-erase",
        customer=customer,
        status=ConductStatus.WARNED,
        version=1,
        updated_at=T0,
        review_queue=(filed,),
    )
    warned = make_event(record.id, 1, kind="warned", data={"to": NAME, "phone": PHONE})
    notice = make_message(record.id, 1, address=EMAIL, payload={"greeting": f"Dear {NAME}"})
    stored = store.conduct_commit(ConductCommit(record, 0, [warned], [notice]))
    assert traces(path) == list(PERSONAL)

    erased = attrs.evolve(
        stored, customer=Customer(id="C-erase", name="(erased)"), review_queue=(), version=2
    )
    erasure = ConductCommit(erased, 1, [make_event(record.id, 2, kind="erased")])
    (event,) = store.conduct_events("C-erase")
    (message,) = store.outbox(record.id)
    rewritten = store.conduct_rewrite(
        erasure, [redacted_event(event)], [attrs.evolve(message, address=None, payload={})]
    )

    assert traces(path) == []
    assert store.conduct_get("C-erase") == rewritten
    trail = store.conduct_events("C-erase")
    assert trail[0] == redacted_event(event)
    assert verify_events(record.id, trail, head=rewritten.audit_head) == []
    assert store.conduct_find(with_review_items=True) == []


def test_a_rewrite_of_an_unstored_event_or_message_writes_nothing(
    store: SQLiteStore, path: Path
) -> None:
    created = store.commit(creation())
    other = store.commit(creation(outbox=[]))
    other = store.commit(change(other, outbox=[make_message(other.id, 2, key="theirs")]))
    (event,) = store.events(created.id)
    before = dump(path)
    attempts = [
        ([attrs.evolve(event, seq=7)], []),  # no event 7
        ([attrs.evolve(event, complaint_id=other.id)], []),  # someone else's event
        ([], store.outbox(other.id)),  # someone else's message
        ([], [make_message(created.id, 1, key="never-stored")]),
    ]
    for events, messages in attempts:
        with pytest.raises(StoreError, match=r"[Nn]othing was written"):
            store.rewrite(change(created), events, messages)
        assert dump(path) == before
    with pytest.raises(ConcurrencyError):
        store.rewrite(change(created, expected_version=3), [event], [])
    assert dump(path) == before


def test_a_checkpoint_that_readers_block_says_so_and_succeeds_once_they_finish(
    store: SQLiteStore, path: Path
) -> None:
    created = store.commit(creation())
    reader = raw(path)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM complaints").fetchall()  # holds a snapshot
        store.commit(change(created))  # a page the reader's snapshot does not have
        assert store.checkpoint() is False
        assert Path(f"{path}-wal").stat().st_size > 0
        reader.execute("ROLLBACK")
        assert store.checkpoint() is True
        assert Path(f"{path}-wal").stat().st_size == 0
    finally:
        reader.close()
    assert pragma(store._connection(), "busy_timeout") == 30_000  # restored


# -- indexes -----------------------------------------------------------------------


def query_plan(store: SQLiteStore, call: Any) -> str:
    """The plan SQLite chose for the statements ``call`` made on this thread's connection."""
    connection = store._connection()
    statements: list[str] = []
    connection.set_trace_callback(statements.append)
    try:
        call()
    finally:
        connection.set_trace_callback(None)
    (statement,) = statements
    rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    return " | ".join(row[-1] for row in rows)


def test_due_reads_only_the_deadline_index(store: SQLiteStore) -> None:
    for n in range(60):
        due = T0 + timedelta(hours=n) if n % 10 == 0 else None
        store.commit(creation(due_at=due))
    plan = query_plan(store, lambda: store.due(T0 + timedelta(days=1), 100))
    assert "complaints_due" in plan
    assert "SCAN complaints" not in plan.replace("USING INDEX", "")
    assert "TEMP B-TREE" not in plan  # the index already gives (due_at, id) order
    assert len(store.due(T0 + timedelta(days=1), 100)) == 3


def test_lookups_use_their_indexes(store: SQLiteStore) -> None:
    for n in range(20):
        store.commit(creation(external_id=f"m-{n}"))
    plans = {
        "complaints_by_state": lambda: store.find(state="received", limit=5),
        "complaints_by_customer": lambda: store.find(customer_id="customer-1"),
        "complaints_by_external_id": lambda: store.find_by_external_id("email", "m-3"),
        "outbox_pending": lambda: store.outbox_pending(10),
    }
    for index, call in plans.items():
        assert index in query_plan(store, call)


def test_channel_reads_use_their_indexes(store: SQLiteStore) -> None:
    complaint = store.commit(creation())
    store.links_add([make_link(complaint.id, f"<{n}@x>") for n in range(50)])
    for n in range(30):
        store.quarantine_add(make_quarantined(f"q-{n:02d}", received_at=T0 + timedelta(minutes=n)))
    store.cursor_set("imap:INBOX", "7:1", expected=None)
    plans = {
        "SEARCH message_links USING PRIMARY KEY": lambda: store.links_find(["<3@x>", "<7@x>"]),
        "message_links_by_complaint": lambda: store.links_of(complaint.id),
        "quarantined_messages_by_status": lambda: store.quarantine_find(
            status=QuarantineStatus.HELD, limit=5
        ),
        "quarantined_messages_by_received_at": lambda: store.quarantine_find(limit=5),
        "SEARCH channel_cursors USING PRIMARY KEY": lambda: store.cursor_get("imap:INBOX"),
    }
    for wanted, call in plans.items():
        plan = query_plan(store, call)
        assert wanted in plan, plan
        assert "TEMP B-TREE" not in plan  # the index gives the order: nothing is sorted


def test_a_status_change_does_not_rewrite_a_quarantined_message(
    store: SQLiteStore, path: Path
) -> None:
    item = make_quarantined(raw=bytes(range(256)) * 20_000)  # 5 MB
    store.quarantine_add(item)
    assert store.checkpoint()  # the log starts empty: what the update writes is all it holds
    wal = Path(f"{path}-wal")
    before = wal.stat().st_size
    discarded = attrs.evolve(item, status=QuarantineStatus.DISCARDED, note="spam")
    assert store.quarantine_update(discarded, expected_status=QuarantineStatus.HELD)
    # A few pages of the small row and its indexes, not the 5 MB of bytes again.
    assert wal.stat().st_size - before < 100_000
    assert store.quarantine_get(item.id) == discarded


def conduct_commit(customer_id: str, **fields: Any) -> ConductCommit:
    record = ConductRecord(
        customer_id=customer_id,
        customer=CUSTOMER,
        status=fields.pop("status", ConductStatus.WARNED),
        version=1,
        updated_at=T0,
        **fields,
    )
    return ConductCommit(record, 0, [make_event(record.id, 1, kind="warned")])


def test_conduct_sweeps_read_only_their_partial_indexes(store: SQLiteStore) -> None:
    item = ReviewItem(id="r-1", reason=ReviewReason.PATTERN, filed_at=T0)
    for n in range(30):
        review_at = T0 + timedelta(days=n) if n % 10 == 0 else None
        queue = (item,) if n % 15 == 0 else ()
        store.conduct_commit(conduct_commit(f"C-{n:02d}", review_at=review_at, review_queue=queue))

    def due() -> list[ConductRecord]:
        return store.conduct_find(review_before=T0 + timedelta(days=15))

    def queued() -> list[ConductRecord]:
        return store.conduct_find(with_review_items=True)

    assert [record.customer_id for record in due()] == ["C-00", "C-10"]
    assert [record.customer_id for record in queued()] == ["C-00", "C-15"]
    assert "conduct_records_by_review_at" in query_plan(store, due)
    assert "conduct_records_with_review_items" in query_plan(store, queued)
    for call in (due, queued):
        for step in query_plan(store, call).split(" | "):
            # Scanning a partial index reads only the records it holds.
            assert "conduct_records" not in step or "INDEX conduct_records_" in step


# -- several connections and processes ----------------------------------------------


def test_two_stores_on_one_file_see_each_others_changes(url: str) -> None:
    first, second = open_sqlite_store(url), open_sqlite_store(url)
    try:
        created = first.commit(creation(category="billing"))
        other = Customer(id="customer-2", name="Bo")
        # Alternate writers; each change moves a different indexed column.
        moves: list[tuple[SQLiteStore, dict[str, Any]]] = [
            (second, {"category": "delivery"}),
            (first, {"customer": other}),
            (second, {"state": "thanked", "due_at": T0}),
            (first, {"due_at": None, "category": "billing"}),
            (first, {"state": "closed"}),
        ]
        current = created
        for writer, fields in moves:
            current = writer.commit(change(writer.get(created.id), **fields))
            for reader in (first, second):
                assert reader.get(created.id) == current
                assert reader.find(category=current.category) == [current]
                assert reader.find(customer_id=current.customer.id) == [current]
                assert reader.find(state=current.state) == [current]
                assert reader.due(T0 + timedelta(days=1), 10) == (
                    [current] if current.due_at else []
                )
        with pytest.raises(ConcurrencyError):
            second.commit(change(created, state="stale"))
        first.commit(creation(external_id="<x>"))
        with pytest.raises(DuplicateIntakeError):
            second.commit(creation(external_id="<x>"))
    finally:
        first.close()
        second.close()


def race(url: str, complaint_id: str, rounds: int, read: Any, results: Any) -> None:
    """Run in another process: each round, read, wait until the rival has read too, write."""
    store = open_sqlite_store(url)
    won = refused = 0
    try:
        for attempt in range(rounds):
            current = store.get(complaint_id)
            read.wait(timeout=60)  # both have read the same version: exactly one may win
            try:
                store.commit(change(current, data={"attempt": attempt}))
            except ConcurrencyError:
                refused += 1
            else:
                won += 1
            read.wait(timeout=60)  # the round is over for both
    finally:
        store.close()
        results.put((won, refused))


def test_two_processes_racing_on_one_complaint_lose_no_update(store: SQLiteStore, url: str) -> None:
    created = store.commit(creation())
    rounds = 15
    context = multiprocessing.get_context("spawn")
    read, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=race, args=(url, created.id, rounds, read, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    # Every round one process won and the other was refused with ConcurrencyError.
    assert sum(won for won, _ in outcomes) == rounds
    assert sum(refused for _, refused in outcomes) == rounds
    final = store.get(created.id)
    assert final.version == 1 + rounds
    assert [e.seq for e in store.events(created.id)] == list(range(1, rounds + 2))
    assert final.data == {"attempt": rounds - 1}


def commit_in_child(store: SQLiteStore, complaint_id: str, parents_connection: int) -> None:
    # A SQLite connection must never cross fork(): the child opens its own.
    assert id(store._connection()) != parents_connection
    store.commit(change(store.get(complaint_id), state="from-child"))
    store.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()")
def test_a_store_inherited_through_fork_opens_its_own_connections(store: SQLiteStore) -> None:
    created = store.commit(creation())
    child = multiprocessing.get_context("fork").Process(
        target=commit_in_child, args=(store, created.id, id(store._connection()))
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert store.get(created.id).state == "from-child"
    assert store.commit(change(store.get(created.id))).version == 3


def test_connections_of_ended_threads_are_closed_when_new_threads_connect(
    store: SQLiteStore,
) -> None:
    created = store.commit(creation())
    for _ in range(5):  # like a thread pool replacing its workers
        worker = threading.Thread(target=store.get, args=(created.id,))
        worker.start()
        worker.join()
    # This thread's connection and the last worker's: the others were closed.
    assert len(store._connections) <= 2
