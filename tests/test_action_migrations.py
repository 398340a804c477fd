"""Schema version 5 (corrective actions): a version-4 database upgrades and keeps its data.

Version 5 only added the ``corrective_actions`` and ``action_events`` tables (and their
indexes), so the current schema without them, recorded as version 4, is exactly what
version 4 created. Each test makes such a database with data in every older table,
checks that it is refused until upgraded, upgrades it with ``complaint-flow db
upgrade`` and then checks that every row is kept, that the schema is exactly a new
one's, and that actions work on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from complaint_flow import ConcurrencyError, SchemaVersionError
from complaint_flow.model.actions import ActionStatus
from complaint_flow.storage import sqlite as sqlite_store
from complaint_flow.storage.sqlite import open_sqlite_store, schema_version
from complaint_flow.testing.conformance import (
    T0,
    action_change,
    action_creation,
    change,
    creation,
    make_action,
    make_action_message,
    make_link,
    make_quarantined,
)
from sqlite_files import raw
from test_migrations import (
    invoke,
    pg_dump,
    pg_shape,
    recorded,
    rows,
    shape,
    write_version_3_data,
)

ACTION_TABLES = ("corrective_actions", "action_events")
VERSION_4_TABLES = (
    "complaints",
    "events",
    "outbox",
    "reference_counters",
    "conduct_records",
    "conduct_events",
    "message_links",
    "quarantined_messages",
    "quarantined_bytes",
    "channel_cursors",
)


def write_version_4_data(store: Any) -> str:
    """A complaint with a link and a message, a conduct record, a quarantined message,
    a cursor; returns the complaint's id."""
    complaint_id, _ = write_version_3_data(store)
    current = store.get(complaint_id)
    store.commit(change(current, links=[make_link(current.id, "<v4@mail.example.org>")]))
    store.quarantine_add(make_quarantined(raw=b"\xff\x00 kept"))
    assert store.cursor_set("imap:INBOX", "9:12", expected=None)
    return complaint_id


def check_actions_work(store: Any, complaint_id: str) -> None:
    """What version 5 added, used on an upgraded database."""
    store.commit(creation(category="delivery", received_at=T0 + timedelta(hours=1)))
    action = make_action(categories=("delivery",), complaints=(complaint_id,))
    created = store.action_commit(
        action_creation(action, outbox=[make_action_message(action, 1, key="action-msg")])
    )
    moved = store.action_commit(
        action_change(created, status=ActionStatus.DONE, check_due_at=T0 + timedelta(days=84))
    )
    assert store.action_get(created.id) == moved
    with pytest.raises(ConcurrencyError):
        store.action_commit(action_change(created))
    assert store.action_find(check_due_before=T0 + timedelta(days=84)) == [moved]
    assert [m.key for m in store.outbox(created.id)] == ["action-msg"]
    assert store.complaint_counts(["delivery"], [T0, T0 + timedelta(days=1)]) == [1]


# -- SQLite ------------------------------------------------------------------------------


@pytest.fixture
def version_4_file(tmp_path: Path) -> tuple[Path, str, str]:
    """A version-4 database with data: its path, URL and a complaint's id."""
    path = tmp_path / "complaints.db"
    url = f"sqlite:///{path}"
    store = open_sqlite_store(url)
    try:
        complaint_id = write_version_4_data(store)
    finally:
        store.close()
    connection = raw(path)
    for table in ACTION_TABLES:
        connection.execute(f"DROP TABLE {table}")
    connection.execute("UPDATE complaint_flow_schema SET version = 4")
    connection.execute("PRAGMA user_version = 4")
    connection.close()
    return path, url, complaint_id


def test_the_step_from_4_to_5_adds_the_action_tables() -> None:
    assert sqlite_store.SCHEMA_VERSION == 5
    step = " ".join(sqlite_store.MIGRATIONS[4])
    for table in ACTION_TABLES:
        assert f"CREATE TABLE {table}" in step


def test_a_version_4_file_upgrades_with_the_command_and_keeps_its_data(
    tmp_path: Path, version_4_file: tuple[Path, str, str]
) -> None:
    path, url, complaint_id = version_4_file
    kept = {table: rows(path, table) for table in VERSION_4_TABLES}
    assert all(kept[table] for table in VERSION_4_TABLES)
    with pytest.raises(SchemaVersionError, match="db upgrade"):
        open_sqlite_store(url)
    assert schema_version(url) == 4

    result = invoke("upgrade", url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "upgraded from 4 to 5"
    assert recorded(path) == ([(5,)], 5)
    assert {table: rows(path, table) for table in VERSION_4_TABLES} == kept
    assert all(rows(path, table) == [] for table in ACTION_TABLES)
    fresh = tmp_path / "fresh.db"
    open_sqlite_store(f"sqlite:///{fresh}").close()
    assert shape(path) == shape(fresh)
    assert invoke("upgrade", url).output.strip() == "already at version 5"

    store = open_sqlite_store(url)
    try:
        assert [event.seq for event in store.events(complaint_id)] == [1, 2, 3]
        assert store.links_find(["<v4@mail.example.org>"])[0].complaint_id == complaint_id
        assert store.cursor_get("imap:INBOX") == "9:12"
        check_actions_work(store, complaint_id)
    finally:
        store.close()


# -- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture
def pg_raw(postgres_url: str, postgres_schema_url: str) -> Iterator[Any]:
    """A plain connection to the test database, searching the test's schema."""
    import psycopg
    from psycopg import sql

    from complaint_flow.storage.postgres import parse_postgres_url

    schema = parse_postgres_url(postgres_schema_url).schema
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        yield connection


def test_postgres_version_4_upgrades_with_the_command_and_keeps_its_data(
    postgres_url: str, postgres_schema_url: str, pg_raw: Any
) -> None:
    from complaint_flow.storage import postgres

    url = postgres_schema_url
    assert postgres.SCHEMA_VERSION == 5
    assert list(postgres.MIGRATIONS) == [1, 2, 3, 4]
    store = postgres.open_postgres_store(url)
    try:
        complaint_id = write_version_4_data(store)
    finally:
        store.close()
    pg_raw.execute(f"DROP TABLE {', '.join(ACTION_TABLES)}")
    pg_raw.execute("UPDATE complaint_flow_schema SET version = 4")
    before = pg_dump(pg_raw)
    assert set(before) == {"complaint_flow_schema", *VERSION_4_TABLES}
    with pytest.raises(SchemaVersionError, match="db upgrade"):
        postgres.open_postgres_store(url)
    assert pg_dump(pg_raw) == before  # refused untouched

    result = invoke("upgrade", url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "upgraded from 4 to 5"
    after = pg_dump(pg_raw)
    assert after["complaint_flow_schema"][1] == ["(5,)"]
    for table in VERSION_4_TABLES:
        assert after[table] == before[table]
    assert all(after[table][1] == [] for table in ACTION_TABLES)
    schema = postgres.parse_postgres_url(url).schema
    assert schema is not None
    fresh = f"{schema}_fresh"
    try:
        postgres.open_postgres_store(f"{postgres_url}?schema={fresh}").close()
        assert pg_shape(pg_raw, schema) == pg_shape(pg_raw, fresh)
    finally:
        pg_raw.execute(f"DROP SCHEMA IF EXISTS {fresh} CASCADE")

    store = postgres.open_postgres_store(url)
    try:
        assert [event.seq for event in store.events(complaint_id)] == [1, 2, 3]
        assert store.cursor_get("imap:INBOX") == "9:12"
        check_actions_work(store, complaint_id)
    finally:
        store.close()
