"""Schema migrations of the SQL stores: ``schema_version``, ``upgrade`` and ``complaint-flow db``.

The tests run as if the schema were at version 1 with no migration, and inject steps
(``MIGRATIONS``) and raise ``SCHEMA_VERSION`` with ``monkeypatch``, the way a later
release will. The PostgreSQL tests use the ``postgres_schema_url`` fixture of
``tests/conftest.py`` (each in a schema of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner, Result

from complaint_flow import ConcurrencyError, SchemaVersionError, StoreError
from complaint_flow.cli import cli
from complaint_flow.model.channel_records import QuarantineStatus
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.storage import sqlite as sqlite_store
from complaint_flow.storage.contract import ConductCommit
from complaint_flow.storage.sqlite import open_sqlite_store, schema_version, upgrade
from complaint_flow.testing.conformance import (
    CUSTOMER,
    T0,
    change,
    conduct_creation,
    creation,
    make_complaint,
    make_event,
    make_link,
    make_message,
    make_notice,
    make_quarantined,
)
from sqlite_files import digest, dump, raw

ADD_EXTRA = "ALTER TABLE complaints ADD COLUMN extra TEXT"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "complaints.db"


@pytest.fixture
def url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def stored(url: str) -> str:
    """A version-1 database holding one complaint; its id."""
    store = open_sqlite_store(url)
    try:
        return store.commit(creation()).id
    finally:
        store.close()


def set_version(path: Path, version: int) -> None:
    connection = raw(path)
    connection.execute("UPDATE complaint_flow_schema SET version = ?", (version,))
    connection.close()


def columns(path: Path, table: str) -> set[str]:
    connection = raw(path)
    try:
        return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
    finally:
        connection.close()


def recorded(path: Path) -> tuple[list[tuple[Any, ...]], int]:
    """The version row(s) and ``PRAGMA user_version``."""
    connection = raw(path)
    try:
        rows = connection.execute("SELECT version FROM complaint_flow_schema").fetchall()
        (user_version,) = connection.execute("PRAGMA user_version").fetchone()
        return rows, user_version
    finally:
        connection.close()


def release(monkeypatch: pytest.MonkeyPatch, module: ModuleType, steps: dict[int, Any]) -> None:
    """Pretend ``module`` is a later release: ``steps`` as MIGRATIONS, the last one's target."""
    monkeypatch.setattr(module, "MIGRATIONS", steps)
    monkeypatch.setattr(module, "SCHEMA_VERSION", max(steps) + 1)


# -- SQLite ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def as_of_version_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run these tests as if the current schema were version 1 with no migrations.

    The mechanics (which steps run, refusals, rollbacks) do not depend on the real
    steps; the real step 1 -> 2 (outbox claims) is tested in tests/test_outbox.py.
    """
    modules = [sqlite_store]
    try:
        from complaint_flow.storage import postgres
    except Exception:
        pass
    else:
        modules.append(postgres)
    for module in modules:
        monkeypatch.setattr(module, "SCHEMA_VERSION", 1)
        monkeypatch.setattr(module, "MIGRATIONS", {})


def test_the_current_schema_has_four_migrations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    assert sqlite_store.SCHEMA_VERSION == 5
    assert list(sqlite_store.MIGRATIONS) == [1, 2, 3, 4]


# The schema of version 2 as released (a copy: the store's own statements move on).
SCHEMA_V2 = (
    "CREATE TABLE complaint_flow_schema (version INTEGER NOT NULL)",
    """CREATE TABLE complaints (
        id TEXT PRIMARY KEY, reference TEXT NOT NULL UNIQUE, workflow TEXT NOT NULL,
        state TEXT NOT NULL, customer_id TEXT NOT NULL, category TEXT NOT NULL,
        severity TEXT NOT NULL, channel TEXT NOT NULL, external_id TEXT,
        received_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, due_at INTEGER,
        version INTEGER NOT NULL, body TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX complaints_by_external_id ON complaints (channel, external_id)
        WHERE external_id IS NOT NULL""",
    "CREATE INDEX complaints_by_received_at ON complaints (received_at)",
    "CREATE INDEX complaints_by_state ON complaints (state, received_at)",
    "CREATE INDEX complaints_by_customer ON complaints (customer_id, received_at)",
    "CREATE INDEX complaints_by_category ON complaints (category, received_at)",
    "CREATE INDEX complaints_due ON complaints (due_at, id) WHERE due_at IS NOT NULL",
    """CREATE TABLE events (
        complaint_id TEXT NOT NULL REFERENCES complaints (id), seq INTEGER NOT NULL,
        kind TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (complaint_id, seq)
    )""",
    """CREATE TABLE outbox (
        position INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,
        complaint_id TEXT NOT NULL REFERENCES complaints (id), status TEXT NOT NULL,
        created_at INTEGER NOT NULL, body TEXT NOT NULL, next_attempt_at INTEGER,
        claimed_by TEXT, claimed_until INTEGER
    )""",
    "CREATE INDEX outbox_by_complaint ON outbox (complaint_id)",
    "CREATE INDEX outbox_pending ON outbox (position) WHERE status = 'pending'",
    """CREATE TABLE reference_counters (
        prefix TEXT NOT NULL, year INTEGER NOT NULL, last_number INTEGER NOT NULL,
        PRIMARY KEY (prefix, year)
    ) WITHOUT ROWID""",
    "INSERT INTO complaint_flow_schema (version) VALUES (2)",
    "PRAGMA user_version = 2",
)
DATA_TABLES = ("complaints", "events", "outbox", "reference_counters")


def rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    connection = raw(path)
    try:
        return connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
    finally:
        connection.close()


def shape(path: Path) -> dict[str, Any]:
    """Every table's columns, foreign keys and indexes (what a schema means, not its text)."""
    connection = raw(path)
    try:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        result: dict[str, Any] = {}
        for table in tables:
            indexes = {}
            for row in connection.execute(f"PRAGMA index_list({table})"):
                name, unique, origin, partial = row[1], row[2], row[3], row[4]
                indexed = [r[2] for r in connection.execute(f"PRAGMA index_info({name})")]
                # Automatic (constraint) indexes are named after the table's first name.
                label = name if origin == "c" else f"{origin}:{indexed}"
                indexes[label] = (unique, origin, partial, indexed)
            result[table] = (
                [row[1:] for row in connection.execute(f"PRAGMA table_info({table})")],
                [row[2:] for row in connection.execute(f"PRAGMA foreign_key_list({table})")],
                indexes,
            )
        return result
    finally:
        connection.close()


@pytest.fixture
def version_2_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: Path) -> Path:
    """A version-2 database holding complaints, events and outbox messages.

    The rows are written by the current store into a scratch file and copied into
    a file built with the version-2 statements (their columns are the same); the
    outbox positions get gaps, as deliveries and purges leave them.
    """
    monkeypatch.undo()  # the real schema versions and steps
    scratch = tmp_path / "scratch.db"
    store = open_sqlite_store(f"sqlite:///{scratch}")
    try:
        for n in range(3):
            complaint = make_complaint(external_id=f"m-{n}", summary=f"cold soup {n}")
            created = store.commit(creation(complaint, outbox=[make_message(complaint.id, 1)]))
            store.commit(change(created, outbox=[make_message(created.id, 2, key=f"k-{n}")]))
    finally:
        store.close()
    connection = raw(path)
    for statement in SCHEMA_V2:
        connection.execute(statement)
    connection.execute("ATTACH DATABASE ? AS scratch", (str(scratch),))
    for table in DATA_TABLES:
        connection.execute(f"INSERT INTO {table} SELECT * FROM scratch.{table}")
    connection.execute("DETACH DATABASE scratch")
    connection.execute("UPDATE outbox SET position = position * 10 + 3")
    connection.close()
    return path


def test_a_version_2_file_is_refused_until_upgraded(url: str, version_2_file: Path) -> None:
    before = digest(version_2_file)
    with pytest.raises(SchemaVersionError) as raised:
        open_sqlite_store(url)
    message = str(raised.value)
    assert "schema version 2" in message
    assert f"complaint-flow db upgrade {url}" in message
    assert digest(version_2_file) == before
    assert schema_version(url) == 2


def test_upgrading_version_2_keeps_every_row_and_gives_the_current_schema(
    tmp_path: Path, path: Path, url: str, version_2_file: Path
) -> None:
    kept = {table: rows(path, table) for table in DATA_TABLES}
    positions = [row[0] for row in kept["outbox"]]
    assert positions == sorted(positions)
    assert positions[0] == 13  # the gaps of the fixture

    assert upgrade(url) == (2, 5)
    assert recorded(path) == ([(5,)], 5)
    assert {table: rows(path, table) for table in DATA_TABLES} == kept
    # Column for column, key for key and index for index, what a new file gets.
    fresh = tmp_path / "fresh.db"
    open_sqlite_store(f"sqlite:///{fresh}").close()
    assert shape(path) == shape(fresh)
    assert shape(path)["outbox"][1] == []  # no foreign key left
    connection = raw(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()


def test_after_the_upgrade_the_store_reads_old_data_and_stores_conduct_notices(
    path: Path, url: str, version_2_file: Path
) -> None:
    keys_in_commit_order = [row[1] for row in rows(path, "outbox")]
    upgrade(url)
    store = open_sqlite_store(url)
    try:
        stored = store.find()
        assert sorted(complaint.summary for complaint in stored) == [
            f"cold soup {n}" for n in range(3)
        ]
        first = stored[0]
        assert [event.seq for event in store.events(first.id)] == [1, 2]
        # Delivered in the order of the positions kept by the rebuild.
        assert [message.key for message in store.outbox_pending(100)] == keys_in_commit_order
        assert len(keys_in_commit_order) == 6
        moved = store.commit(change(first, outbox=[make_message(first.id, 3, key="k-new")]))
        assert moved.version == 3
        assert store.outbox_pending(100)[-1].key == "k-new"  # numbered after the kept ones

        record = ConductRecord(
            customer_id="C-9",
            customer=CUSTOMER,
            status=ConductStatus.WARNED,
            version=1,
            updated_at=T0,
        )
        notice = make_message(record.id, 1, key="conduct-notice")
        event = make_event(record.id, 1, kind="warned", at=T0)
        warned = store.conduct_commit(ConductCommit(record, 0, [event], [notice]))
        assert store.conduct_get("C-9") == warned
        assert [m.key for m in store.outbox(record.id)] == ["conduct-notice"]
        assert store.outbox_pending(100)[-1].key == "conduct-notice"
    finally:
        store.close()


# What version 4 added: version 3 is the current schema without these (and their indexes),
# and without what version 5 added (tests/test_action_migrations.py).
CHANNEL_TABLES = ("message_links", "quarantined_bytes", "quarantined_messages", "channel_cursors")
ACTION_TABLES = ("corrective_actions", "action_events")
VERSION_3_TABLES = (*DATA_TABLES, "conduct_records", "conduct_events")


def write_version_3_data(store: Any) -> tuple[str, str]:
    """Complaints with events and outbox messages, and a conduct record with a notice.

    Returns a complaint's id and the conduct record's customer id.
    """
    for n in range(3):
        complaint = make_complaint(external_id=f"m-{n}", summary=f"cold soup {n}")
        created = store.commit(creation(complaint, outbox=[make_message(complaint.id, 1)]))
        store.commit(change(created, outbox=[make_message(created.id, 2, key=f"k-{n}")]))
    record = conduct_creation()
    notice = make_notice(record.record, 1, key="notice-1")
    store.conduct_commit(ConductCommit(record.record, 0, record.events, [notice]))
    return created.id, record.record.customer_id


def check_the_channel_part_works(store: Any, complaint_id: str) -> None:
    """What version 4 added, used on an upgraded database."""
    current = store.get(complaint_id)
    link = make_link(current.id, "<upgraded@mail.example.org>")
    moved = store.commit(change(current, links=[link]))
    assert store.links_find([link.message_id]) == [link]
    with pytest.raises(ConcurrencyError):
        store.commit(change(moved, links=[make_link(moved.id, link.message_id)]))
    item = make_quarantined(raw=bytes(range(256)))
    assert store.quarantine_add(item) == item
    assert store.quarantine_get(item.id) == item
    assert store.quarantine_find(status=QuarantineStatus.HELD) == [item.entry()]
    assert store.cursor_set("imap:INBOX", "7:1", expected=None)
    assert store.cursor_get("imap:INBOX") == "7:1"


@pytest.fixture
def version_3_file(monkeypatch: pytest.MonkeyPatch, path: Path, url: str) -> tuple[Path, str, str]:
    """A version-3 database with data: the path, a complaint's id, a customer's id.

    Version 4 only added the channel tables and version 5 the action tables, so the
    current schema without them, recorded as version 3, is exactly what version 3
    created.
    """
    monkeypatch.undo()  # the real schema versions and steps
    store = open_sqlite_store(url)
    try:
        complaint_id, customer_id = write_version_3_data(store)
    finally:
        store.close()
    connection = raw(path)
    for table in (*CHANNEL_TABLES, *ACTION_TABLES):
        connection.execute(f"DROP TABLE {table}")
    connection.execute("UPDATE complaint_flow_schema SET version = 3")
    connection.execute("PRAGMA user_version = 3")
    connection.close()
    return path, complaint_id, customer_id


def test_a_version_3_file_upgrades_with_the_command_and_keeps_its_data(
    tmp_path: Path, url: str, version_3_file: tuple[Path, str, str]
) -> None:
    path, complaint_id, customer_id = version_3_file
    kept = {table: rows(path, table) for table in VERSION_3_TABLES}
    assert all(kept[table] for table in VERSION_3_TABLES)
    with pytest.raises(SchemaVersionError, match="db upgrade"):
        open_sqlite_store(url)

    result = invoke("upgrade", url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "upgraded from 3 to 5"
    assert recorded(path) == ([(5,)], 5)
    assert {table: rows(path, table) for table in VERSION_3_TABLES} == kept
    fresh = tmp_path / "fresh.db"
    open_sqlite_store(f"sqlite:///{fresh}").close()
    assert shape(path) == shape(fresh)
    assert invoke("upgrade", url).output.strip() == "already at version 5"

    store = open_sqlite_store(url)
    try:
        assert sorted(c.summary for c in store.find()) == [f"cold soup {n}" for n in range(3)]
        assert [event.seq for event in store.events(complaint_id)] == [1, 2]
        assert [m.key for m in store.outbox(complaint_id)][-1] == "k-2"
        record = store.conduct_get(customer_id)
        assert record is not None
        assert [m.key for m in store.outbox(record.id)] == ["notice-1"]
        check_the_channel_part_works(store, complaint_id)
    finally:
        store.close()


def test_a_new_file_has_no_version_until_upgrade_creates_the_schema(path: Path, url: str) -> None:
    assert schema_version(url) is None
    assert not path.exists()  # reading the version created nothing
    assert upgrade(url) == (0, 1)
    assert schema_version(url) == 1
    assert recorded(path) == ([(1,)], 1)
    store = open_sqlite_store(url)
    try:
        assert store.commit(creation()).reference == "CF-2026-000001"
    finally:
        store.close()


def test_an_empty_file_has_no_version_and_stays_empty(path: Path, url: str) -> None:
    path.touch()
    assert schema_version(url) is None
    assert path.stat().st_size == 0


def test_upgrading_a_current_database_changes_nothing(path: Path, url: str, stored: str) -> None:
    before = dump(path)
    assert upgrade(url) == (1, 1)
    assert upgrade(url) == (1, 1)
    assert dump(path) == before


def test_reading_the_version_of_an_older_database_changes_nothing(
    path: Path, url: str, stored: str
) -> None:
    set_version(path, 0)
    before = digest(path)
    assert schema_version(url) == 0
    assert digest(path) == before


def test_an_upgrade_applies_the_step_and_the_new_version_then_opens(
    monkeypatch: pytest.MonkeyPatch, path: Path, url: str, stored: str
) -> None:
    release(monkeypatch, sqlite_store, {1: (ADD_EXTRA,)})
    with pytest.raises(SchemaVersionError) as raised:
        open_sqlite_store(url)
    assert f"complaint-flow db upgrade {url}" in str(raised.value)
    assert schema_version(url) == 1

    assert upgrade(url) == (1, 2)
    assert "extra" in columns(path, "complaints")
    assert recorded(path) == ([(2,)], 2)
    assert schema_version(url) == 2
    assert upgrade(url) == (2, 2)

    store = open_sqlite_store(url)
    try:
        complaint = store.get(stored)
        assert store.commit(change(complaint)).version == complaint.version + 1
        assert store.get(stored).version == complaint.version + 1
    finally:
        store.close()


@pytest.mark.parametrize(("start", "target"), [(0, 1), (0, 3), (1, 4), (2, 3), (3, 3)])
def test_an_upgrade_runs_exactly_the_steps_from_the_stored_version_in_order(
    monkeypatch: pytest.MonkeyPatch, path: Path, url: str, stored: str, start: int, target: int
) -> None:
    # Each step adds a column to the table of the step before: out of order, it fails.
    steps = {0: ("CREATE TABLE step_log (step0 INTEGER)",)}
    for version in range(1, target):
        steps[version] = (f"ALTER TABLE step_log ADD COLUMN step{version} INTEGER",)
    if start > 0:
        connection = raw(path)
        for statement in (s for version in range(start) for s in steps[version]):
            connection.execute(statement)
        connection.close()
    set_version(path, start)
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", steps)
    monkeypatch.setattr(sqlite_store, "SCHEMA_VERSION", target)

    assert upgrade(url) == (start, target)
    assert columns(path, "step_log") == {f"step{version}" for version in range(target)}
    rows, user_version = recorded(path)
    assert rows == [(target,)]
    if start < target:
        assert user_version == target


def test_a_newer_database_is_refused_untouched(path: Path, url: str, stored: str) -> None:
    set_version(path, 2)
    before = digest(path)
    with pytest.raises(SchemaVersionError) as raised:
        upgrade(url)
    assert "schema version 2" in str(raised.value)
    assert "Upgrade complaint_flow" in str(raised.value)
    assert digest(path) == before
    assert schema_version(url) == 2


def test_a_missing_step_is_refused_and_nothing_is_applied(
    monkeypatch: pytest.MonkeyPatch, path: Path, url: str, stored: str
) -> None:
    # Steps 1 -> 2 exists, 2 -> 3 does not.
    monkeypatch.setattr(sqlite_store, "MIGRATIONS", {1: (ADD_EXTRA,)})
    monkeypatch.setattr(sqlite_store, "SCHEMA_VERSION", 3)
    before = dump(path)
    with pytest.raises(SchemaVersionError) as raised:
        upgrade(url)
    message = str(raised.value)
    assert "no migration from version 2 to 3" in message
    assert "newer complaint_flow" in message
    assert "backup" in message
    assert dump(path) == before
    assert "extra" not in columns(path, "complaints")


def test_a_failing_step_rolls_the_whole_upgrade_back(
    monkeypatch: pytest.MonkeyPatch, path: Path, url: str, stored: str
) -> None:
    release(monkeypatch, sqlite_store, {1: (ADD_EXTRA, "ALTER TABLE no_such_table ADD x TEXT")})
    before = dump(path)
    with pytest.raises(StoreError) as raised:
        upgrade(url)
    assert not isinstance(raised.value, SchemaVersionError)
    assert "step from schema version 1 to 2" in str(raised.value)
    assert "no_such_table" in str(raised.value)
    assert dump(path) == before
    assert "extra" not in columns(path, "complaints")
    assert recorded(path) == ([(1,)], 1)


def test_another_applications_database_is_left_untouched(path: Path, url: str) -> None:
    connection = raw(path)
    connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    connection.execute("INSERT INTO customers (name) VALUES ('Ada')")
    connection.close()
    before = digest(path)
    for call in (schema_version, upgrade):
        with pytest.raises(StoreError, match="not a complaint_flow one") as raised:
            call(url)
        assert not isinstance(raised.value, SchemaVersionError)
        assert digest(path) == before


def test_a_file_that_is_not_a_database_is_left_untouched(path: Path, url: str) -> None:
    path.write_text("name,email\nAda,ada@example.org\n" * 200)
    before = digest(path)
    for call in (schema_version, upgrade):
        with pytest.raises(StoreError, match="cannot be used as a complaint_flow database"):
            call(url)
        assert digest(path) == before


# -- PostgreSQL --------------------------------------------------------------


@pytest.fixture
def pg_url(postgres_schema_url: str) -> str:
    return postgres_schema_url


@pytest.fixture
def pg(pg_url: str) -> ModuleType:
    """The PostgreSQL store module (imported once a server is known to be there)."""
    from complaint_flow.storage import postgres

    return postgres


@pytest.fixture
def pg_raw(postgres_url: str, pg_url: str, pg: ModuleType) -> Iterator[Any]:
    """A plain connection to the test database, searching the test's schema."""
    import psycopg
    from psycopg import sql

    schema = pg.parse_postgres_url(pg_url).schema
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        yield connection


@pytest.fixture
def pg_stored(pg: ModuleType, pg_url: str) -> str:
    """A version-1 schema holding one complaint; its id."""
    store = pg.open_postgres_store(pg_url)
    try:
        complaint_id: str = store.commit(creation()).id
        return complaint_id
    finally:
        store.close()


def pg_dump(connection: Any) -> dict[str, Any]:
    """Every table's columns and rows in the schema, for before/after comparisons."""
    tables = [
        name
        for (name,) in connection.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY 1"
        )
    ]
    return {
        table: (
            pg_columns(connection, table),
            sorted(map(repr, connection.execute(f"SELECT * FROM {table}").fetchall())),
        )
        for table in tables
    }


def pg_columns(connection: Any, table: str) -> list[str]:
    return [
        name
        for (name,) in connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY 1",
            (table,),
        )
    ]


def pg_version(connection: Any) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = connection.execute(
        "SELECT version FROM complaint_flow_schema"
    ).fetchall()
    return rows


def test_postgres_has_four_migrations(monkeypatch: pytest.MonkeyPatch, pg: ModuleType) -> None:
    monkeypatch.undo()
    assert pg.SCHEMA_VERSION == 5
    assert list(pg.MIGRATIONS) == [1, 2, 3, 4]


def test_postgres_new_schema_has_no_version_until_upgrade_creates_it(
    pg: ModuleType, pg_url: str, pg_raw: Any
) -> None:
    assert pg.schema_version(pg_url) is None
    schema = pg.parse_postgres_url(pg_url).schema
    exists = pg_raw.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    assert exists.fetchall() == []  # reading the version created nothing
    assert pg.upgrade(pg_url) == (0, 1)
    assert pg.schema_version(pg_url) == 1
    assert pg_version(pg_raw) == [(1,)]
    before = pg_dump(pg_raw)
    assert pg.upgrade(pg_url) == (1, 1)
    assert pg_dump(pg_raw) == before
    store = pg.open_postgres_store(pg_url)
    try:
        assert store.commit(creation()).reference == "CF-2026-000001"
    finally:
        store.close()


def test_postgres_upgrade_applies_the_step_and_the_store_then_opens(
    monkeypatch: pytest.MonkeyPatch, pg: ModuleType, pg_url: str, pg_raw: Any, pg_stored: str
) -> None:
    release(monkeypatch, pg, {1: (ADD_EXTRA,)})
    with pytest.raises(SchemaVersionError) as raised:
        pg.open_postgres_store(pg_url)
    assert "complaint-flow db upgrade postgresql://" in str(raised.value)
    assert pg.schema_version(pg_url) == 1

    assert pg.upgrade(pg_url) == (1, 2)
    assert "extra" in pg_columns(pg_raw, "complaints")
    assert pg_version(pg_raw) == [(2,)]
    assert pg.upgrade(pg_url) == (2, 2)

    store = pg.open_postgres_store(pg_url)
    try:
        complaint = store.get(pg_stored)
        assert store.commit(change(complaint)).version == complaint.version + 1
    finally:
        store.close()


def test_postgres_newer_schema_is_refused_untouched(
    pg: ModuleType, pg_url: str, pg_raw: Any, pg_stored: str
) -> None:
    pg_raw.execute("UPDATE complaint_flow_schema SET version = 2")
    before = pg_dump(pg_raw)
    with pytest.raises(SchemaVersionError, match="Upgrade complaint_flow"):
        pg.upgrade(pg_url)
    assert pg_dump(pg_raw) == before
    assert pg.schema_version(pg_url) == 2


def test_postgres_missing_step_is_refused_and_nothing_is_applied(
    monkeypatch: pytest.MonkeyPatch, pg: ModuleType, pg_url: str, pg_raw: Any, pg_stored: str
) -> None:
    monkeypatch.setattr(pg, "MIGRATIONS", {1: (ADD_EXTRA,)})
    monkeypatch.setattr(pg, "SCHEMA_VERSION", 3)
    before = pg_dump(pg_raw)
    with pytest.raises(SchemaVersionError, match="no migration from version 2 to 3"):
        pg.upgrade(pg_url)
    assert pg_dump(pg_raw) == before


def test_postgres_failing_step_rolls_the_whole_upgrade_back(
    monkeypatch: pytest.MonkeyPatch, pg: ModuleType, pg_url: str, pg_raw: Any, pg_stored: str
) -> None:
    release(monkeypatch, pg, {1: (ADD_EXTRA, "ALTER TABLE no_such_table ADD x TEXT")})
    before = pg_dump(pg_raw)
    with pytest.raises(StoreError) as raised:
        pg.upgrade(pg_url)
    assert not isinstance(raised.value, SchemaVersionError)
    assert "step from schema version 1 to 2" in str(raised.value)
    assert pg_dump(pg_raw) == before
    assert "extra" not in pg_columns(pg_raw, "complaints")


def test_postgres_another_applications_tables_are_left_untouched(
    pg: ModuleType, pg_url: str, postgres_url: str
) -> None:
    import psycopg
    from psycopg import sql

    schema = pg.parse_postgres_url(pg_url).schema
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        connection.execute("CREATE TABLE complaints (id TEXT PRIMARY KEY, text TEXT)")
        connection.execute("INSERT INTO complaints VALUES ('1', 'cold soup')")
        before = pg_dump(connection)
        for call in (pg.schema_version, pg.upgrade):
            with pytest.raises(StoreError, match="belong to another application") as raised:
                call(pg_url)
            assert not isinstance(raised.value, SchemaVersionError)
            assert pg_dump(connection) == before


def test_postgres_version_3_upgrades_with_the_command_and_keeps_its_data(
    monkeypatch: pytest.MonkeyPatch, pg: ModuleType, pg_url: str, pg_raw: Any, postgres_url: str
) -> None:
    monkeypatch.undo()  # the real schema versions and steps
    store = pg.open_postgres_store(pg_url)
    try:
        complaint_id, customer_id = write_version_3_data(store)
    finally:
        store.close()
    # Version 4 only added the channel tables, version 5 the action tables: without
    # them, this is version 3.
    pg_raw.execute(f"DROP TABLE {', '.join((*CHANNEL_TABLES, *ACTION_TABLES))}")
    pg_raw.execute("UPDATE complaint_flow_schema SET version = 3")
    before = pg_dump(pg_raw)
    assert set(before) == {"complaint_flow_schema", *VERSION_3_TABLES}
    with pytest.raises(SchemaVersionError, match="db upgrade"):
        pg.open_postgres_store(pg_url)
    assert pg_dump(pg_raw) == before  # refused untouched

    result = invoke("upgrade", pg_url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "upgraded from 3 to 5"
    after = pg_dump(pg_raw)
    assert after["complaint_flow_schema"][1] == ["(5,)"]
    for table in VERSION_3_TABLES:
        assert after[table] == before[table]
    assert all(after[table][1] == [] for table in (*CHANNEL_TABLES, *ACTION_TABLES))
    # The upgraded schema is exactly the one a new store creates.
    fresh = f"{pg.parse_postgres_url(pg_url).schema}_fresh"
    try:
        pg.open_postgres_store(f"{postgres_url}?schema={fresh}").close()
        assert pg_shape(pg_raw, pg.parse_postgres_url(pg_url).schema) == pg_shape(pg_raw, fresh)
    finally:
        pg_raw.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")

    store = pg.open_postgres_store(pg_url)
    try:
        assert [event.seq for event in store.events(complaint_id)] == [1, 2]
        record = store.conduct_get(customer_id)
        assert record is not None
        assert [m.key for m in store.outbox(record.id)] == ["notice-1"]
        check_the_channel_part_works(store, complaint_id)
    finally:
        store.close()


def pg_shape(connection: Any, schema: str) -> dict[str, Any]:
    """The columns and indexes of ``schema``'s tables, its name left out."""
    columns = connection.execute(
        "SELECT table_name, column_name, data_type, is_nullable, collation_name "
        "FROM information_schema.columns WHERE table_schema = %s "
        "ORDER BY table_name, ordinal_position",
        (schema,),
    ).fetchall()
    indexes = connection.execute(
        "SELECT indexname, replace(indexdef, %s, '') FROM pg_indexes WHERE schemaname = %s "
        "ORDER BY indexname",
        (f"{schema}.", schema),
    ).fetchall()
    return {"columns": columns, "indexes": indexes}


# -- complaint-flow db -------------------------------------------------------


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["db", *args])


def test_db_version_and_upgrade_on_a_new_file(path: Path, url: str) -> None:
    none_yet = invoke("version", url)
    assert none_yet.exit_code == 0
    assert none_yet.output.strip() == "no complaint_flow schema yet"
    assert not path.exists()

    created = invoke("upgrade", url)
    assert created.exit_code == 0
    assert created.output.strip() == "upgraded from 0 to 1"

    again = invoke("upgrade", url)
    assert again.exit_code == 0
    assert again.output.strip() == "already at version 1"

    version = invoke("version", url)
    assert version.exit_code == 0
    assert version.output.strip() == "schema version 1 (current: 1)"


def test_db_upgrade_applies_a_migration(
    monkeypatch: pytest.MonkeyPatch, path: Path, url: str, stored: str
) -> None:
    release(monkeypatch, sqlite_store, {1: (ADD_EXTRA,)})
    assert invoke("version", url).output.strip() == "schema version 1 (current: 2)"
    result = invoke("upgrade", url)
    assert result.exit_code == 0
    assert result.output.strip() == "upgraded from 1 to 2"
    assert "extra" in columns(path, "complaints")
    assert invoke("version", url).output.strip() == "schema version 2 (current: 2)"


def test_db_refusals_are_clean_errors(path: Path, url: str, stored: str) -> None:
    set_version(path, 2)
    newer = invoke("upgrade", url)
    assert newer.exit_code == 1
    assert "Traceback" not in newer.output
    assert "Upgrade complaint_flow" in newer.stderr

    memory = invoke("upgrade", "memory://")
    assert memory.exit_code == 1
    assert "nothing to upgrade: memory stores keep nothing" in memory.stderr

    unknown = invoke("version", "complaints.db")
    assert unknown.exit_code == 1
    assert "sqlite:///complaints.db" in unknown.stderr

    missing = invoke("version")
    assert missing.exit_code == 2  # a usage error, not a refusal
