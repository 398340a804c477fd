"""The PostgreSQL store: the conformance suite, schema versions, URLs, pools, threads, processes.

Every test but the URL checks runs against a real server (the ``postgres_url``
fixture of ``tests/conftest.py``), each in a schema of its own.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
import psycopg
import pytest
from psycopg import sql

from complaint_flow import (
    Actor,
    Complaint,
    ConcurrencyError,
    Customer,
    DuplicateIntakeError,
    Engine,
    Intake,
    InvalidArgumentError,
    ManualClock,
    SchemaVersionError,
    StoreError,
    WorkflowDefinition,
)
from complaint_flow.model.channel_records import QuarantineStatus
from complaint_flow.services.audit import verify_events
from complaint_flow.storage.contract import Commit, ConductCommit, Store
from complaint_flow.storage.postgres import (
    DEFAULT_POOL_MIN_SIZE,
    DEFAULT_POOL_SIZE,
    DEFAULT_POOL_TIMEOUT,
    SCHEMA_VERSION,
    PostgresStore,
    open_postgres_store,
    parse_postgres_url,
    schema_version,
    upgrade,
)
from complaint_flow.testing.conformance import (
    T0,
    StoreConformance,
    change,
    conduct_creation,
    creation,
    make_complaint,
    make_link,
    make_message,
    make_notice,
    make_quarantined,
    redact,
)

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")


def with_options(url: str, **options: Any) -> str:
    query = "&".join(f"{name}={value}" for name, value in options.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


def schema_of_url(url: str) -> str:
    location = parse_postgres_url(url)
    assert location.schema is not None
    return location.schema


@pytest.fixture
def url(postgres_schema_url: str) -> str:
    return postgres_schema_url


@pytest.fixture
def store(url: str) -> Iterator[PostgresStore]:
    store = open_postgres_store(url)
    yield store
    store.close()


@pytest.fixture
def raw(postgres_url: str, url: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain connection to the test database, seeing the test's schema first."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(schema_of_url(url)))
        )
        yield connection


VERSION_2_TABLES = ("complaint_flow_schema", "complaints", "events", "outbox", "reference_counters")
VERSION_3_TABLES = (*VERSION_2_TABLES, "conduct_records", "conduct_events")
CHANNEL_TABLES = ("message_links", "quarantined_messages", "quarantined_bytes", "channel_cursors")
ACTION_TABLES = ("corrective_actions", "action_events")
TABLES = (*VERSION_3_TABLES, *CHANNEL_TABLES, *ACTION_TABLES)


def dump(
    connection: psycopg.Connection[Any], tables: tuple[str, ...] = TABLES
) -> dict[str, list[Any]]:
    """Every row of every complaint_flow table, for before/after comparisons."""
    return {
        table: connection.execute(
            sql.SQL("SELECT * FROM {} ORDER BY 1, 2").format(sql.Identifier(table))
            if table != "complaint_flow_schema"
            else sql.SQL("SELECT * FROM complaint_flow_schema")
        ).fetchall()
        for table in tables
    }


# -- the conformance suite -------------------------------------------------------------


class TestPostgresStore(StoreConformance):
    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        store = open_postgres_store(url)
        assert isinstance(store, PostgresStore)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[Store], Store]:
        def reopen(old: Store) -> Store:
            old.close()
            return open_postgres_store(url)

        return reopen


class TestPostgresStoreOnOneConnection(TestPostgresStore):
    """With a pool of one connection, threads take turns: the same rules hold."""

    @pytest.fixture
    def url(self, postgres_schema_url: str) -> str:
        return with_options(postgres_schema_url, pool_size=1)


# -- URLs (no server needed) ---------------------------------------------------------------


def test_url_options_and_their_defaults() -> None:
    plain = parse_postgres_url("postgresql://app@db.example.org/complaints")
    assert plain.conninfo == "postgresql://app@db.example.org/complaints"
    assert (plain.pool_size, plain.pool_min_size, plain.pool_timeout, plain.schema) == (
        DEFAULT_POOL_SIZE,
        DEFAULT_POOL_MIN_SIZE,
        DEFAULT_POOL_TIMEOUT,
        None,
    )
    assert dict(plain.connect_defaults) == {
        "connect_timeout": 10,
        "application_name": "complaint_flow",
    }
    tuned = parse_postgres_url(
        "postgres://app@db:6543/shop?pool_size=8&pool_min_size=2&pool_timeout=2.5&schema=cf"
    )
    assert (tuned.pool_size, tuned.pool_min_size, tuned.pool_timeout, tuned.schema) == (
        8,
        2,
        2.5,
        "cf",
    )
    assert tuned.conninfo == "postgres://app@db:6543/shop"
    assert parse_postgres_url("postgresql://a@h/d?pool_size=1").pool_min_size == 1
    assert parse_postgres_url("postgresql://a@h/d?pool_size=4&pool_min_size=0").pool_min_size == 0


def test_libpq_parameters_pass_through_exactly_as_written() -> None:
    url = (
        "postgresql://app@db/shop?sslmode=require&schema=cf&options=-c%20statement_timeout%3D5s"
        "&connect_timeout=3&application_name=a+b"
    )
    location = parse_postgres_url(url)
    assert location.conninfo == (
        "postgresql://app@db/shop?sslmode=require&options=-c%20statement_timeout%3D5s"
        "&connect_timeout=3&application_name=a+b"
    )
    assert location.schema == "cf"
    assert location.connect_defaults == ()  # the URL sets both itself


def test_a_password_never_shows_in_messages() -> None:
    url = "postgresql://app:s3cret%21@127.0.0.1:1/shop?pool_size=0"
    with pytest.raises(StoreError) as raised:
        parse_postgres_url(url)
    assert "s3cret" not in str(raised.value)
    assert "postgresql://app:***@127.0.0.1:1/shop" in str(raised.value)
    location = parse_postgres_url("postgresql://app:s3cret@db/shop")
    assert location.display == "postgresql://app:***@db/shop"
    assert "s3cret" in location.conninfo
    for bad in ("postgresql://app:s3cret@db:port/shop", "postgresql://app@db/s?password=s3cret"):
        with pytest.raises(StoreError) as raised:
            parse_postgres_url(f"{bad}&pool_size=x" if "?" in bad else bad)
        assert "s3cret" not in str(raised.value)
        assert "***" in str(raised.value)


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("mysql://app@db/shop", "does not start with 'postgresql://'"),
        ("postgresql:/db/shop", "does not start with 'postgresql://'"),
        ("postgresql://a@h/d?pool_size=0", "pool_size='0' is not a whole number >= 1"),
        ("postgresql://a@h/d?pool_size=many", "pool_size='many'"),
        ("postgresql://a@h/d?pool_size=%C2%B2", "pool_size='²'"),
        ("postgresql://a@h/d?pool_size=2&pool_min_size=3", "larger than pool_size=2"),
        ("postgresql://a@h/d?pool_timeout=0", "pool_timeout='0' is not a positive number"),
        ("postgresql://a@h/d?pool_timeout=nan", "pool_timeout='nan'"),
        ("postgresql://a@h/d?schema=Complaints", "schema='Complaints' is not a usable"),
        ("postgresql://a@h/d?schema=pg_temp", "not starting with a digit or 'pg_'"),
        ("postgresql://a@h/d?schema=a;drop", "schema='a;drop'"),
        ("postgresql://a@h/d?schema=a&schema=b", "option 'schema' is given twice"),
        ("postgresql://a@h:port/d", "Port could not be cast"),
    ],
)
def test_malformed_urls_are_refused_with_a_hint(bad: str, hint: str) -> None:
    with pytest.raises(StoreError) as raised:
        open_postgres_store(bad)
    assert hint in str(raised.value)
    assert "postgresql://user@localhost:5432/complaints" in str(raised.value)


def test_an_unreachable_server_is_reported_with_what_to_check() -> None:
    # Nothing listens on port 1 of this machine: the connection is refused at once.
    with pytest.raises(StoreError) as raised:
        Engine.open("postgresql://app:s3cret@127.0.0.1:1/shop", load_entry_points=False)
    message = str(raised.value)
    assert "cannot connect to PostgreSQL at 'postgresql://app:***@127.0.0.1:1/shop'" in message
    assert "check that the server runs" in message
    assert "s3cret" not in message


# -- schema versions ---------------------------------------------------------------------------


def test_a_new_schema_gets_the_current_version_with_its_tables_and_indexes(
    store: PostgresStore, raw: psycopg.Connection[Any], url: str
) -> None:
    assert SCHEMA_VERSION == 5
    assert raw.execute("SELECT version FROM complaint_flow_schema").fetchall() == [(5,)]
    assert store.schema == schema_of_url(url)
    indexes = dict(
        raw.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s", (store.schema,)
        ).fetchall()
    )
    tables = {
        name
        for (name,) in raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (store.schema,)
        )
    }
    assert tables == {
        "complaint_flow_schema",
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
        "corrective_actions",
        "action_events",
    }
    assert "WHERE (check_due_at IS NOT NULL)" in indexes["corrective_actions_check_due"]
    assert "(status, due_at, id)" in indexes["corrective_actions_by_status"]
    assert "(action_id, seq)" in indexes["action_events_pkey"]
    assert "WHERE (due_at IS NOT NULL)" in indexes["complaints_due"]
    assert "(due_at, id)" in indexes["complaints_due"]
    assert indexes["complaints_by_external_id"].startswith("CREATE UNIQUE INDEX")
    assert "WHERE (external_id IS NOT NULL)" in indexes["complaints_by_external_id"]
    assert "WHERE (status = 'pending'::text)" in indexes["outbox_pending"]
    for name in ("complaints_by_state", "complaints_by_customer", "complaints_by_category"):
        assert name in indexes
    review = indexes["conduct_records_by_review_at"]
    assert "(review_at, customer_id) WHERE (review_at IS NOT NULL)" in review
    assert "WHERE (review_items > 0)" in indexes["conduct_records_with_review_items"]
    assert "(status, customer_id)" in indexes["conduct_records_by_status"]
    assert "(customer_id, seq)" in indexes["conduct_events_pkey"]
    assert "(message_id)" in indexes["message_links_pkey"]
    assert "(complaint_id, at, message_id)" in indexes["message_links_by_complaint"]
    assert "(status, received_at, id)" in indexes["quarantined_messages_by_status"]
    assert "(received_at, id)" in indexes["quarantined_messages_by_received_at"]
    assert "(name)" in indexes["channel_cursors_pkey"]
    assert foreign_keys(raw, store.schema, "quarantined_bytes") == ["quarantined_messages"]
    # Conduct notices share the outbox: it has no foreign key to complaints.
    assert foreign_keys(raw, store.schema, "outbox") == []
    assert foreign_keys(raw, store.schema, "events") == ["complaints"]
    # Nothing leaked into the default schema.
    assert not raw.execute(
        "SELECT 1 FROM pg_tables WHERE schemaname = 'public' AND tablename = 'complaints'"
    ).fetchall()


def foreign_keys(raw: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    """The tables that ``table``'s foreign keys point to."""
    rows = raw.execute(
        "SELECT confrelid::regclass::text FROM pg_constraint "
        "WHERE conrelid = format('%%I.%%I', %s::text, %s::text)::regclass AND contype = 'f'",
        (schema, table),
    ).fetchall()
    return sorted(name.rpartition(".")[2] for (name,) in rows)


def schema_shape(raw: psycopg.Connection[Any], schema: str) -> dict[str, Any]:
    """Tables, columns, indexes and constraints of ``schema``, its name left out."""
    columns = raw.execute(
        "SELECT table_name, column_name, data_type, is_nullable, collation_name, "
        "column_default, is_identity FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (schema,),
    ).fetchall()
    indexes = raw.execute(
        "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes "
        "WHERE schemaname = %s ORDER BY indexname",
        (f"{schema}.", schema),
    ).fetchall()
    constraints = raw.execute(
        "SELECT conrelid::regclass::text, conname, replace(pg_get_constraintdef(c.oid), %s, '') "
        "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
        "WHERE n.nspname = %s",
        (f"{schema}.", schema),
    ).fetchall()
    options = raw.execute(
        "SELECT relname, reloptions FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = %s AND relkind = 'r' ORDER BY relname",
        (schema,),
    ).fetchall()
    return {
        "columns": columns,
        "indexes": indexes,
        "constraints": sorted(
            (table.rpartition(".")[2], name, definition) for table, name, definition in constraints
        ),
        "options": options,
    }


def set_schema_version(raw: psycopg.Connection[Any], version: int) -> None:
    raw.execute("UPDATE complaint_flow_schema SET version = %s", (version,))


def test_a_newer_schema_is_refused_untouched(
    store: PostgresStore, raw: psycopg.Connection[Any], url: str
) -> None:
    store.commit(creation())
    store.close()
    set_schema_version(raw, SCHEMA_VERSION + 1)
    before = dump(raw)
    with pytest.raises(SchemaVersionError) as raised:
        open_postgres_store(url)
    message = str(raised.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "Upgrade complaint_flow (pip install --upgrade complaint-flow)" in message
    assert dump(raw) == before


def test_an_older_schema_is_refused_with_the_upgrade_command(
    store: PostgresStore, raw: psycopg.Connection[Any], url: str
) -> None:
    store.close()
    set_schema_version(raw, 0)
    before = dump(raw)
    with pytest.raises(SchemaVersionError) as raised:
        Engine.open(url, load_entry_points=False)
    assert f"complaint-flow db upgrade {url}" in str(raised.value)
    assert "schema version 0" in str(raised.value)
    assert dump(raw) == before


def test_a_damaged_schema_table_is_refused(
    store: PostgresStore, raw: psycopg.Connection[Any], url: str
) -> None:
    store.close()
    raw.execute("INSERT INTO complaint_flow_schema VALUES (1)")
    with pytest.raises(StoreError, match="damaged"):
        open_postgres_store(url)


def test_another_applications_tables_are_refused_untouched(
    postgres_schema_url: str, raw: psycopg.Connection[Any]
) -> None:
    schema = schema_of_url(postgres_schema_url)
    raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    raw.execute("CREATE TABLE complaints (id SERIAL PRIMARY KEY, text TEXT)")
    raw.execute("INSERT INTO complaints (text) VALUES ('the shop''s own complaints')")
    with pytest.raises(StoreError, match="another application") as raised:
        open_postgres_store(postgres_schema_url)
    assert not isinstance(raised.value, SchemaVersionError)
    assert "?schema=complaint_flow" in str(raised.value)
    tables = raw.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    assert tables.fetchall() == [("complaints",)]
    assert raw.execute("SELECT text FROM complaints").fetchall() == [("the shop's own complaints",)]


def test_without_a_schema_option_the_connections_current_schema_is_used(
    postgres_url: str, postgres_schema_url: str, raw: psycopg.Connection[Any]
) -> None:
    schema = schema_of_url(postgres_schema_url)
    # The URL sets the search_path the libpq way, as a role's or server's default would.
    options = f"options=-csearch_path%3D{schema}"
    missing = with_options(postgres_url, options=f"-csearch_path%3D{schema}_missing")
    with pytest.raises(StoreError, match="names no existing schema"):
        open_postgres_store(missing)
    raw.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    store = open_postgres_store(f"{postgres_url}?{options}")
    try:
        assert store.schema == schema
        created = store.commit(creation())
    finally:
        store.close()
    assert raw.execute("SELECT id FROM complaints").fetchall() == [(created.id,)]


def test_stores_opening_a_new_schema_at_once_share_one_schema(url: str) -> None:
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        try:
            stores.append(open_postgres_store(url))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=open_it) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    try:
        assert errors == []
        references = sorted(s.commit(creation()).reference for s in stores)
        assert references == [f"CF-2026-00000{n}" for n in range(1, 5)]
    finally:
        for opened in stores:
            opened.close()


# -- indexes ---------------------------------------------------------------------------------


def add_filler(raw: psycopg.Connection[Any], count: int, *, due_every: int) -> None:
    """``count`` closed complaints, one in ``due_every`` with a deadline, each with one
    delivered outbox message, straight in SQL (their bodies are not read back)."""
    raw.execute(
        """INSERT INTO complaints (id, reference, workflow, state, customer_id, category,
               severity, channel, external_id, received_at, updated_at, due_at, version, body)
           SELECT 'filler-' || n, 'F-' || n, 'wf', 'closed', 'customer-' || (n %% 500), 'general',
               'normal', 'email', 'x-' || n, %(t0)s + n * interval '1 minute',
               %(t0)s + n * interval '1 minute',
               CASE WHEN n %% %(every)s = 0 THEN %(t0)s + n * interval '1 minute' END, 1, '{}'
           FROM generate_series(1, %(count)s) AS n""",
        {"t0": T0, "count": count, "every": due_every},
    )
    raw.execute(
        """INSERT INTO outbox (key, complaint_id, status, created_at, body)
           SELECT 'filler-' || n, 'filler-' || n, 'delivered', %(t0)s, '{}'
           FROM generate_series(1, %(count)s) AS n""",
        {"t0": T0, "count": count},
    )
    raw.execute("ANALYZE")


def plan_of(store: PostgresStore, raw: psycopg.Connection[Any], call: Callable[[], Any]) -> str:
    """The plan PostgreSQL chooses for the one statement ``call`` makes through the store."""
    statements: list[tuple[str, tuple[Any, ...]]] = []

    class CapturedError(Exception):
        pass

    def capture(query: str, parameters: Any) -> list[Any]:
        statements.append((query, tuple(parameters)))
        raise CapturedError  # explained, not run: the filler rows' bodies are not complaints

    reads = store._reads  # the shared SQL reads, which run every query through ``fetch``
    fetch = reads.fetch
    reads.fetch = capture
    try:
        with pytest.raises(CapturedError):
            call()
    finally:
        reads.fetch = fetch
    ((query, parameters),) = statements
    rows = raw.execute(f"EXPLAIN {query}", parameters).fetchall()
    return "\n".join(row[0] for row in rows)


def test_due_reads_only_the_deadline_index(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    add_filler(raw, 20_000, due_every=100)
    due = [store.commit(creation(due_at=T0 + timedelta(minutes=n))) for n in (5, 1, 3)]
    before = T0 + timedelta(hours=10)  # 6 filler deadlines and our 3
    plan = plan_of(store, raw, lambda: store.due(before, 500))
    assert "complaints_due" in plan
    assert "Seq Scan" not in plan
    assert "Sort" not in plan  # the index already gives (due_at, id) order
    # Ours are the earliest; the filler's bodies are not complaints, so stop before them.
    assert store.due(T0 + timedelta(minutes=30), 3) == [due[1], due[2], due[0]]


def test_lookups_use_their_indexes(store: PostgresStore, raw: psycopg.Connection[Any]) -> None:
    add_filler(raw, 20_000, due_every=100)
    created = store.commit(creation(external_id="m-1", customer=ADA))
    store.commit(change(created, outbox=[make_message(created.id, 2)]))
    raw.execute("ANALYZE")  # the planner knows that few complaints are received, few pending
    plans = {
        "complaints_by_state": lambda: store.find(state="received", limit=5),
        "complaints_by_customer": lambda: store.find(customer_id=ADA.id),
        "complaints_by_external_id": lambda: store.find_by_external_id("email", "m-1"),
        "complaints_reference_key": lambda: store.get_by_reference(created.reference),
        "outbox_pending": lambda: store.outbox_pending(10),
    }
    for index, call in plans.items():
        assert index in plan_of(store, raw, call)


def test_channel_reads_use_their_indexes(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    # Many links and quarantined messages, few of them ours or held: no read may scan.
    raw.execute(
        """INSERT INTO message_links (message_id, complaint_id, direction, at)
           SELECT '<filler-' || n || '@x>', 'filler-' || (n / 10), 'inbound', %(t0)s
           FROM generate_series(1, 20000) AS n""",
        {"t0": T0},
    )
    raw.execute(
        """INSERT INTO quarantined_messages (id, source, channel, received_at, reason, status,
               attempts, updated_at, complaint_id, note, size)
           SELECT 'filler-' || n, 'imap:INBOX', 'email', %(t0)s, 'filler', 'released', 1,
               %(t0)s, 'c-1', '', 0
           FROM generate_series(1, 20000) AS n""",
        {"t0": T0 - timedelta(days=1)},
    )
    complaint = store.commit(creation())
    store.links_add([make_link(complaint.id, f"<{n}@x>") for n in range(5)])
    store.quarantine_add(make_quarantined())
    raw.execute("ANALYZE")
    channel = store._channel  # the shared channel SQL, which reads through ``_fetch``
    plans = {
        "message_links_pkey": lambda: store.links_find(["<3@x>", "<filler-7@x>"]),
        "message_links_by_complaint": lambda: store.links_of(complaint.id),
        "quarantined_messages_by_status": lambda: store.quarantine_find(
            status=QuarantineStatus.HELD, limit=5
        ),
        "quarantined_messages_pkey": lambda: store.quarantine_get("q-1"),
    }
    for index, call in plans.items():
        plan = channel_plan(channel, raw, call)
        assert index in plan, plan
        assert "Seq Scan on message_links" not in plan
        assert "Seq Scan on quarantined_messages" not in plan


def channel_plan(channel: Any, raw: psycopg.Connection[Any], call: Callable[[], Any]) -> str:
    """The plan PostgreSQL chooses for the one read ``call`` makes through the channel SQL."""
    statements: list[tuple[str, tuple[Any, ...]]] = []

    def capture(query: str, parameters: Any) -> list[Any]:
        statements.append((query, tuple(parameters)))
        return []

    fetch, fetch_bytes = channel._fetch, channel._fetch_bytes
    channel._fetch = channel._fetch_bytes = capture
    try:
        call()
    finally:
        channel._fetch, channel._fetch_bytes = fetch, fetch_bytes
    ((query, parameters),) = statements
    return "\n".join(row[0] for row in raw.execute(f"EXPLAIN {query}", parameters).fetchall())


def test_conduct_reviews_read_only_their_partial_indexes(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    # Many records, few with a review date or a review queue: the sweeps must not scan.
    raw.execute(
        """INSERT INTO conduct_records (customer_id, status, review_at, review_items, version,
               updated_at, body)
           SELECT 'filler-' || n, 'normal',
               CASE WHEN n %% 200 = 0 THEN %(t0)s + n * interval '1 minute' END,
               CASE WHEN n %% 300 = 0 THEN 1 ELSE 0 END, 1, %(t0)s, '{}'
           FROM generate_series(1, 20000) AS n""",
        {"t0": T0 + timedelta(days=400)},
    )
    raw.execute("ANALYZE")
    plans = {
        "conduct_records_by_review_at": lambda: store.conduct_find(review_before=T0, limit=5),
        "conduct_records_with_review_items": lambda: store.conduct_find(
            with_review_items=True, limit=5
        ),
    }
    for index, call in plans.items():
        plan = plan_of(store, raw, call)
        assert index in plan
        assert "Seq Scan" not in plan


def test_due_needs_an_aware_datetime(store: PostgresStore) -> None:
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        store.due(datetime(2026, 1, 1), 10)  # naive: the mistake under test


# -- refusals and failures --------------------------------------------------------------------


def test_refused_commits_leave_every_table_unchanged(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    first = store.commit(creation(external_id="m-1"))
    first = store.commit(change(first, outbox=[make_message(first.id, 2, key="k-1")]))
    again = make_complaint(external_id="m-1")
    refused = [
        (DuplicateIntakeError, creation(again, outbox=[make_message(again.id, 1)])),
        (ConcurrencyError, creation(make_complaint(first.id))),
        (ConcurrencyError, change(first, expected_version=1, state="closed")),
        (StoreError, change(first, outbox=[make_message(first.id, 3, key="k-1")])),
        (StoreError, creation(outbox=[make_message("x", 1, key="k-1")], complaint_id="x")),
        (ConcurrencyError, change(make_complaint(version=4), state="ghost")),
    ]
    before = dump(raw)
    for error, commit in refused:
        with pytest.raises(error):
            store.commit(commit)
    assert dump(raw) == before
    assert store.commit(creation()).reference == "CF-2026-000002"


def test_a_refused_batch_leaves_every_table_unchanged_and_names_the_first_offender(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    first = store.commit(creation(external_id="m-1"))
    second = store.commit(creation())
    before = dump(raw)
    newcomers = [make_complaint(external_id=f"n-{n}") for n in range(3)]
    fresh = [creation(c, outbox=[make_message(c.id, 1)]) for c in newcomers]
    refused: list[tuple[type[Exception], list[Commit], str | None]] = [
        # Two stale members: the first one given is named.
        (
            ConcurrencyError,
            [fresh[0], change(second, expected_version=3), change(first, expected_version=2)],
            second.id,
        ),
        (DuplicateIntakeError, [fresh[0], creation(external_id="m-1"), fresh[1]], None),
        # The same message twice within the batch.
        (DuplicateIntakeError, [fresh[2], creation(external_id="n-2")], None),
        (
            StoreError,
            [
                fresh[0],
                change(first, outbox=[make_message(first.id, 2, key="k")]),
                change(second, outbox=[make_message(second.id, 2, key="k")]),
            ],
            None,
        ),
    ]
    for error, batch, offender in refused:
        with pytest.raises(error) as raised:
            store.commit_many(batch)
        if offender is not None:
            assert getattr(raised.value, "complaint_id", None) == offender
        assert dump(raw) == before
    stored = store.commit_many([*fresh, change(first), change(second)])
    assert [c.reference for c in stored[:3]] == [f"CF-2026-00000{n}" for n in (3, 4, 5)]
    assert [store.get(c.id) for c in stored] == stored


def test_a_database_failure_becomes_a_store_error(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    created = store.commit(creation())
    raw.execute("DROP TABLE outbox")
    with pytest.raises(StoreError, match="failed on PostgreSQL") as raised:
        store.outbox(created.id)
    assert 'relation "outbox" does not exist' in str(raised.value)
    with pytest.raises(StoreError, match="nothing was written"):
        store.commit(change(created, outbox=[make_message(created.id, 2)]))
    assert store.get(created.id) == created  # the pool is still usable


def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    created = store.commit(creation())
    # A trigger that runs at COMMIT and ends its own session: the connection breaks
    # exactly while committing, the one moment the writer cannot know the outcome.
    raw.execute(
        """CREATE FUNCTION end_session() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"""
    )
    raw.execute(
        """CREATE CONSTRAINT TRIGGER end_session_at_commit AFTER INSERT ON events
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION end_session()"""
    )
    with pytest.raises(StoreError) as raised:
        store.commit(change(created, state="thanked"))
    message = str(raised.value)
    assert "broke while committing" in message
    assert "may or may not have been written" in message
    assert "nothing was written" not in message
    raw.execute("DROP TRIGGER end_session_at_commit ON events")
    latest = store.get(created.id)  # the broken connection was replaced
    assert latest.version == len(store.events(created.id))
    assert store.commit(change(latest)).version == latest.version + 1


def test_a_call_that_waits_too_long_for_a_connection_gets_a_store_error(url: str) -> None:
    store = open_postgres_store(with_options(url, pool_size=1, pool_timeout=0.2))
    try:
        created = store.commit(creation())
        with store._connection("holding the only connection"):
            outcome: list[BaseException] = []

            def read() -> None:
                try:
                    store.get(created.id)
                except BaseException as exc:
                    outcome.append(exc)

            worker = threading.Thread(target=read)
            worker.start()
            worker.join(timeout=30)
        (raised,) = outcome
        assert isinstance(raised, StoreError)
        assert "no connection" in str(raised)
        assert "?pool_size=" in str(raised)
        assert store.get(created.id) == created
    finally:
        store.close()


# -- pool and lifecycle ------------------------------------------------------------------------


def sessions(raw: psycopg.Connection[Any], application: str) -> int:
    rows = raw.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
    ).fetchall()
    return int(rows[0][0])


def test_the_pool_follows_the_url_and_close_ends_every_session(
    url: str, raw: psycopg.Connection[Any]
) -> None:
    application = f"cf-test-{uuid.uuid4().hex[:8]}"
    store = open_postgres_store(
        with_options(url, pool_size=3, pool_min_size=2, application_name=application)
    )
    assert store._pool is not None
    assert (store._pool.min_size, store._pool.max_size) == (2, 3)
    created = store.commit(creation())
    start = threading.Barrier(3)

    def read() -> None:
        with store._connection("reading"):
            start.wait(timeout=30)  # three connections in use at once

    workers = [threading.Thread(target=read) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sessions(raw, application) == 3
    store.close()
    store.close()
    # A closed connection's server process exits asynchronously: give pg_stat_activity
    # a moment to catch up instead of racing it.
    deadline = time.monotonic() + 10
    while sessions(raw, application) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sessions(raw, application) == 0
    with pytest.raises(StoreError, match="closed"):
        store.get(created.id)
    with pytest.raises(StoreError, match="closed"):
        store.commit(change(created))


def commit_in_child(store: PostgresStore, complaint_id: str) -> None:
    store.commit(change(store.get(complaint_id), state="from-child"))
    store.close()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork()")
def test_a_store_inherited_through_fork_opens_its_own_pool(store: PostgresStore) -> None:
    created = store.commit(creation())
    inherited = store._pool
    child = multiprocessing.get_context("fork").Process(
        target=commit_in_child, args=(store, created.id)
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    # The parent's connections were neither used nor closed by the child.
    assert store._pool is inherited
    assert store.get(created.id).state == "from-child"
    assert store.commit(change(store.get(created.id))).version == 3


# -- threads and processes ------------------------------------------------------------------------


def test_eight_threads_on_the_same_complaints_lose_no_update(url: str) -> None:
    # Fewer connections than threads: threads also wait for one another's connections.
    store = open_postgres_store(with_options(url, pool_size=4))
    threads, attempts = 8, 25
    try:
        ids = [store.commit(creation()).id for _ in range(4)]
        won: list[tuple[str, int, int]] = []
        refused: list[ConcurrencyError] = []
        unexpected: list[BaseException] = []
        start = threading.Barrier(threads)

        def work(worker: int) -> None:
            start.wait()
            for attempt in range(attempts):
                complaint_id = ids[(worker + attempt) % len(ids)]
                try:
                    current = store.get(complaint_id)
                    mark = {"worker": worker, "attempt": attempt}
                    store.commit(change(current, data=mark, event_data=mark))
                except ConcurrencyError as exc:
                    refused.append(exc)
                except BaseException as exc:
                    unexpected.append(exc)
                else:
                    won.append((complaint_id, worker, attempt))

        workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert unexpected == []
        assert len(won) + len(refused) == threads * attempts
        assert_no_lost_update(store, ids, won)
    finally:
        store.close()


def assert_no_lost_update(
    store: PostgresStore, ids: list[str], won: list[tuple[str, int, int]]
) -> None:
    """Every successful write is in its complaint's history, once, and versions add up."""
    for complaint_id in ids:
        complaint = store.get(complaint_id)
        events = store.events(complaint_id)
        mine = sorted((w, a) for c, w, a in won if c == complaint_id)
        assert complaint.version == len(events) == 1 + len(mine)
        assert [event.seq for event in events] == list(range(1, complaint.version + 1))
        recorded = sorted((e.data["worker"], e.data["attempt"]) for e in events[1:])
        assert recorded == mine
        if mine:
            last = events[-1].data
            assert complaint.data == {"worker": last["worker"], "attempt": last["attempt"]}


def hammer(url: str, ids: list[str], process: int, attempts: int, results: Any) -> None:
    """Run in another process: 4 threads writing to the shared complaints."""
    store = open_postgres_store(url)
    won: list[tuple[str, int, int]] = []
    refused = 0
    unexpected: list[str] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        nonlocal refused
        worker = process * 10 + thread
        for attempt in range(attempts):
            complaint_id = ids[(worker + attempt) % len(ids)]
            try:
                current = store.get(complaint_id)
                mark = {"worker": worker, "attempt": attempt}
                store.commit(change(current, data=mark, event_data=mark))
            except ConcurrencyError:
                with lock:
                    refused += 1
            except BaseException as exc:
                unexpected.append(repr(exc))
            else:
                won.append((complaint_id, worker, attempt))

    workers = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        store.close()
        results.put((won, refused, unexpected))


def test_two_processes_of_four_threads_lose_no_update(store: PostgresStore, url: str) -> None:
    ids = [store.commit(creation()).id for _ in range(3)]
    attempts = 15
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=hammer, args=(url, ids, process, attempts, results))
        for process in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert [unexpected for _, _, unexpected in outcomes] == [[], []]
    won = [write for writes, _, _ in outcomes for write in writes]
    refused = sum(count for _, count, _ in outcomes)
    assert len(won) + refused == 2 * 4 * attempts
    assert_no_lost_update(store, ids, won)


def race(url: str, complaint_id: str, rounds: int, read: Any, results: Any) -> None:
    """Run in another process: each round, read, wait until the rival has read too, write."""
    store = open_postgres_store(url)
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


def test_two_processes_racing_on_one_complaint_one_wins_each_round(
    store: PostgresStore, url: str
) -> None:
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
    assert sum(won for won, _ in outcomes) == rounds
    assert sum(refused for _, refused in outcomes) == rounds
    final = store.get(created.id)
    assert final.version == 1 + rounds
    assert [e.seq for e in store.events(created.id)] == list(range(1, rounds + 2))
    assert final.data == {"attempt": rounds - 1}


# -- through the engine ------------------------------------------------------------------------

TIMED = """
name = "timed"
initial = "received"
roles = ["agent"]

[states.received]
[states.thanked]
[states.closed]
terminal = true

[[transitions]]
trigger = "thank"
source = "received"
dest = "thanked"
[[transitions]]
trigger = "close"
source = "thanked"
dest = "closed"

[calendars.office]
time_zone = "UTC"

[clocks.resolve]
title = "Final response"
calendar = "office"
duration = "2 calendar days"
stops_on = ["close"]
warn_before = "1 calendar day"
on_breach = ["notify"]
"""


def test_an_engine_on_a_postgresql_url_works_end_to_end(url: str) -> None:
    workflow = WorkflowDefinition.from_toml(TIMED)
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    intake = Intake(channel="email", customer=ADA, summary="Broken", external_id="<m1>")
    with Engine.open(url, workflow=workflow, clock=clock, load_entry_points=False) as engine:
        assert isinstance(engine.store, PostgresStore)
        received = engine.receive(intake)
        assert received.reference == "CF-2026-000001"
        # Due at the warning: a day before the deadline, the end of Wednesday.
        assert received.due_at == datetime(2026, 1, 7, 0, 0, tzinfo=UTC)
        fired = engine.fire(received.id, "thank", actor=AGENT, reason="first contact")
        assert engine.receive(intake) == fired  # the same message again: the same complaint
        assert engine.sweep().warnings == 0
        clock.advance(days=2)
        assert engine.sweep().warnings == 1
        clock.advance(days=1)
        assert engine.sweep().breaches == 1
        assert engine.sweep().breaches == 0  # each deadline is acted on once
        latest = engine.get(received.id)
        history = engine.history(received.id)
        assert [e.trigger or e.kind for e in history] == [
            "received",
            "thank",
            "clock_warning",
            "clock_breached",
        ]
        assert engine.find(state="thanked") == [latest]
    # The other spelling of the scheme reaches the same data.
    again = url.replace("postgresql://", "postgres://", 1)
    with Engine.open(again, workflow=workflow, clock=clock, load_entry_points=False) as engine:
        assert engine.get(latest.reference) == latest
        assert engine.history(received.id) == history
        closed = engine.fire(received.id, "close", actor=AGENT)
        assert closed.state == "closed"
        assert closed.due_at is None


# -- schema version 3: the upgrade from version 2 ----------------------------------------------


def make_version_2(raw: psycopg.Connection[Any]) -> None:
    """Turn the current schema (in ``raw``'s search_path) into what version 2 created.

    Version 3 added the two conduct tables and removed the outbox's foreign key to
    complaints (version 2 declared it inline, so PostgreSQL named it
    ``outbox_complaint_id_fkey``); version 4 added the channel tables, version 5 the
    action tables; nothing else changed.
    """
    raw.execute(f"DROP TABLE {', '.join((*CHANNEL_TABLES, *ACTION_TABLES))}")
    raw.execute("DROP TABLE conduct_events, conduct_records")
    raw.execute(
        "ALTER TABLE outbox ADD CONSTRAINT outbox_complaint_id_fkey "
        "FOREIGN KEY (complaint_id) REFERENCES complaints (id)"
    )
    set_schema_version(raw, 2)


def test_a_version_2_schema_is_refused_until_upgraded_then_keeps_its_data(
    postgres_url: str, store: PostgresStore, raw: psycopg.Connection[Any], url: str
) -> None:
    first = store.commit(creation(external_id="m-1", customer=ADA))
    first = store.commit(change(first, outbox=[make_message(first.id, 2, key="k-1")]))
    second = store.commit(creation(due_at=T0 + timedelta(days=2)))
    store.close()
    make_version_2(raw)
    assert foreign_keys(raw, schema_of_url(url), "outbox") == ["complaints"]
    before = dump(raw, VERSION_2_TABLES)

    with pytest.raises(SchemaVersionError) as raised:
        open_postgres_store(url)
    message = str(raised.value)
    assert "schema version 2, older than the version 5" in message
    assert f"complaint-flow db upgrade {url}" in message
    assert dump(raw, VERSION_2_TABLES) == before  # refused untouched
    assert schema_version(url) == 2

    assert upgrade(url) == (2, 5)
    assert schema_version(url) == 5
    after = dump(raw)
    assert after["complaint_flow_schema"] == [(5,)]
    for table in VERSION_2_TABLES[1:]:
        assert after[table] == before[table]  # every row, outbox positions included
    assert after["conduct_records"] == after["conduct_events"] == []
    assert all(after[table] == [] for table in (*CHANNEL_TABLES, *ACTION_TABLES))
    # The upgraded schema is exactly the one a new store creates.
    fresh = f"cf_test_{uuid.uuid4().hex[:16]}"
    try:
        open_postgres_store(with_options(postgres_url, schema=fresh)).close()
        assert schema_shape(raw, schema_of_url(url)) == schema_shape(raw, fresh)
    finally:
        raw.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(fresh)))
    assert upgrade(url) == (5, 5)  # a second upgrade changes nothing

    reopened = open_postgres_store(url)
    try:
        assert reopened.get(first.id) == first
        assert reopened.due(T0 + timedelta(days=3), 10) == [second]
        assert [m.key for m in reopened.outbox(first.id)] == ["k-1"]
        # A conduct notice goes to the outbox now that no foreign key holds it back.
        record = conduct_creation(outbox=[])
        notice = make_notice(record.record, 1, key="notice-1")
        stored = reopened.conduct_commit(ConductCommit(record.record, 0, record.events, [notice]))
        assert reopened.conduct_get(stored.customer_id) == stored
        assert reopened.outbox(stored.id) == [notice]
        assert reopened.commit(creation()).reference == "CF-2026-000003"
    finally:
        reopened.close()


# -- erasure and retention: replaced rows stop being readable ----------------------------------

ERASED_NAME = "Philomena Quarrington-Vex"
ERASED_EMAIL = "p.quarrington.vex@example.net"
ERASED_PHONE = "+44 7700 900417"
PERSONAL = (ERASED_NAME, ERASED_EMAIL, ERASED_PHONE)


def personal_complaint(store: PostgresStore, customer_id: str = "C-erase") -> Complaint:
    """A complaint whose snapshot, events and message carry the distinctive personal data,
    changed a few times (each change leaves an old row version behind)."""
    person = Customer(id=customer_id, name=ERASED_NAME, email=ERASED_EMAIL, phone=ERASED_PHONE)
    current = store.commit(
        creation(customer=person, details=f"Call me on {ERASED_PHONE}", external_id=customer_id)
    )
    for n in range(3):
        current = store.commit(
            change(
                current,
                event_data={"contact": ERASED_EMAIL, "n": n},
                outbox=[
                    make_message(
                        current.id,
                        current.version + 1,
                        address=ERASED_EMAIL,
                        payload={"name": ERASED_NAME},
                    )
                ],
                data={"phone": ERASED_PHONE, "n": n},
            )
        )
    return current


def erase(store: PostgresStore, current: Complaint) -> Complaint:
    """Rewrite the complaint with every trace of the personal data redacted."""
    anonymous = Customer(id=current.customer.id, name="[erased]")
    commit = change(
        current, customer=anonymous, details="[erased]", data={}, event_data={"erased": True}
    )
    events = [redact(event) for event in store.events(current.id)]
    messages = [
        attrs.evolve(message, address="[erased]", payload={})
        for message in store.outbox(current.id)
    ]
    return store.rewrite(commit, events, messages)


def rows_as_text(raw: psycopg.Connection[Any], schema: str) -> str:
    """Every row of every table of ``schema``, cast to text."""
    tables = [
        name
        for (name,) in raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
        )
    ]
    assert set(TABLES) <= set(tables)
    return "\n".join(
        row[0]
        for table in tables
        for row in raw.execute(
            sql.SQL("SELECT t::text FROM {}.{} t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
    )


def test_after_a_rewrite_no_table_holds_the_erased_data(
    store: PostgresStore, raw: psycopg.Connection[Any]
) -> None:
    kept = store.commit(creation(details="Nothing personal"))
    current = personal_complaint(store)
    text = rows_as_text(raw, store.schema)
    assert all(value in text for value in PERSONAL)  # the search does see them
    erased = erase(store, current)
    text = rows_as_text(raw, store.schema)
    for value in PERSONAL:
        assert value.lower() not in text.lower()
    assert store.get(current.id) == erased
    trail = store.events(current.id)
    assert verify_events(current.id, trail, head=erased.audit_head, version=erased.version) == []
    assert store.get(kept.id) == kept


def heap_tuples(raw: psycopg.Connection[Any], table: str) -> bytes:
    """The data of every tuple on ``table``'s pages, live or dead (needs pageinspect)."""
    (pages,) = raw.execute(
        "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int", (table,)
    ).fetchall()[0]
    chunks: list[bytes] = []
    for page in range(pages):
        rows = raw.execute(
            "SELECT t_data FROM heap_page_items(get_raw_page(%s::text, %s::int)) "
            "WHERE t_data IS NOT NULL",
            (table, page),
        ).fetchall()
        chunks += [bytes(data) for (data,) in rows]
    return b"\n".join(chunks)


@pytest.fixture
def private_database(postgres_url: str) -> Iterator[str]:
    """A database of this test's own, with pageinspect, dropped afterwards.

    Its own database, because VACUUM keeps any row version that an open transaction
    of the same database may still see: other test runs sharing the server's
    database must not decide what this test finds.
    """
    name = f"cf_vacuum_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        try:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            pytest.skip(f"cannot create a database to inspect pages in: {exc}")
    parts = urlsplit(postgres_url)
    database_url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        with psycopg.connect(database_url, autocommit=True) as connection:
            try:
                connection.execute("CREATE EXTENSION pageinspect")
            except psycopg.Error as exc:
                pytest.skip(f"the pageinspect extension is not available: {exc}")
        yield database_url
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_rewrite_and_purge_leave_no_old_row_version_in_the_data_files(
    private_database: str,
) -> None:
    url = with_options(private_database, schema="cf")
    store = open_postgres_store(url)
    try:
        with psycopg.connect(private_database, autocommit=True) as raw:
            raw.execute("SET search_path TO cf, public")  # pageinspect is in public
            tables = ("complaints", "events", "outbox")
            erased_one = personal_complaint(store, "C-erase")
            purged_one = personal_complaint(store, "C-purge")
            pages = b"".join(heap_tuples(raw, table) for table in tables)
            # The probe works: live and dead tuples (old versions) carry the data.
            assert all(value.encode() in pages for value in PERSONAL)

            erase(store, erased_one)
            assert store.purge({purged_one.id: purged_one.version, "never-stored": 1}) == 1
            pages = b"".join(heap_tuples(raw, table) for table in tables)
            for value in PERSONAL:
                assert value.encode() not in pages
            assert store.count() == 1
    finally:
        store.close()
