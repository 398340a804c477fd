"""``postgresql://user@host:port/db``: the store for many workers on many hosts.

Complaints, their events, their outbox messages, the counters of human
references, customers' conduct records (with their events) and the channel part
(message links, quarantined messages, cursors) live in one PostgreSQL schema,
reached through a pool of psycopg 3 connections. Any number of
threads, processes and hosts may share it: every write is one server-side
transaction that checks the version the writer read (``UPDATE … WHERE id = … AND
version = …``), so a stale write raises ``ConcurrencyError`` and writes nothing. A
change is a single statement (one round trip); bulk intake writes a whole batch in
one transaction. The rules are those of every store (the conformance suite in
:mod:`complaint_flow.testing.conformance`).

Erasure (:meth:`PostgresStore.rewrite`) and retention (:meth:`PostgresStore.purge`)
vacuum the tables they changed at once, so the old row versions holding the
erased data are removed from the data files (what that does and does not
guarantee: :meth:`PostgresStore._vacuum`).

The URL is libpq's, plus a few options of complaint_flow's own (see
:func:`parse_postgres_url`); any other query parameter (``sslmode=``,
``connect_timeout=``, ``options=``…) goes to libpq unchanged. The schema is
created on first open and versioned; a schema written by another version of
complaint_flow, or tables of another application, are refused without being
touched. :func:`upgrade` (``complaint-flow db upgrade URL``) brings an older schema
up to date with the steps of :data:`MIGRATIONS`, and :func:`schema_version`
(``complaint-flow db version URL``) tells which version a schema has. Needs the
``postgres`` extra: ``pip install 'complaint-flow[postgres]'``.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import weakref
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

from complaint_flow.errors import (
    ConcurrencyError,
    DuplicateIntakeError,
    SchemaVersionError,
    StoreError,
)
from complaint_flow.model.actions import ActionStatus, CorrectiveAction
from complaint_flow.model.channel_records import (
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
)
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.model.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.model.satisfaction import CsatRow
from complaint_flow.storage import action_arguments
from complaint_flow.storage.codec import from_json, to_json
from complaint_flow.storage.contract import (
    ActionCommit,
    Commit,
    ConductCommit,
    format_reference,
    with_delivery_state,
)
from complaint_flow.storage.milestones import ComplaintMilestones, MilestoneRules, VolumeCount
from complaint_flow.storage.satisfaction_reads import sql_survey_csat
from complaint_flow.storage.schema_versions import (
    migration_steps,
    newer_error,
    older_error,
    step_failed,
)
from complaint_flow.storage.sql_actions import (
    INSERT_ACTION,
    UPDATE_ACTION,
    SQLActions,
    action_rows,
    event_rows,
)
from complaint_flow.storage.sql_channel import SQLChannel
from complaint_flow.storage.sql_reads import RecentVersions, SQLDialect, SQLReads
from complaint_flow.storage.sql_reports import POSTGRES_JSON, SQLReports

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise StoreError(
        f"the PostgreSQL store needs psycopg 3 with its pool ({exc}); install it with "
        "pip install 'complaint-flow[postgres]'"
    ) from exc

SCHEMA_VERSION: Final = 5
"""The PostgreSQL schema version this code reads and writes."""

# Conduct records (the stop procedure): the record's latest version, with the
# columns its reads filter on copied out of the body, and its events.
_CONDUCT_SCHEMA: Final = (
    """CREATE TABLE conduct_records (
        customer_id TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        review_at TIMESTAMPTZ,
        review_items INTEGER NOT NULL,
        version INTEGER NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT conduct_records_pkey PRIMARY KEY (customer_id)
    )""",
    # Partial indexes: a review sweep costs O(records due for review), and finding
    # review queues to read O(records with one), not O(every record).
    """CREATE INDEX conduct_records_by_review_at ON conduct_records (review_at, customer_id)
        WHERE review_at IS NOT NULL""",
    """CREATE INDEX conduct_records_with_review_items ON conduct_records (customer_id)
        WHERE review_items > 0""",
    "CREATE INDEX conduct_records_by_status ON conduct_records (status, customer_id)",
    """CREATE TABLE conduct_events (
        customer_id TEXT COLLATE "C" NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT conduct_events_pkey PRIMARY KEY (customer_id, seq)
    )""",
)

# Schema version 4: the channel part (message links, the quarantine, cursors). The
# creation and the step 3 -> 4 share these statements as released; a later change
# is a new step, never an edit here.
_CHANNEL_SCHEMA: Final = (
    """CREATE TABLE message_links (
        message_id TEXT COLLATE "C" NOT NULL,
        complaint_id TEXT COLLATE "C" NOT NULL,
        direction TEXT COLLATE "C" NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        CONSTRAINT message_links_pkey PRIMARY KEY (message_id)
    )""",
    """CREATE INDEX message_links_by_complaint ON message_links
        (complaint_id, at, message_id)""",
    """CREATE TABLE quarantined_messages (
        id TEXT COLLATE "C" NOT NULL,
        source TEXT NOT NULL,
        channel TEXT COLLATE "C" NOT NULL,
        received_at TIMESTAMPTZ NOT NULL,
        reason TEXT NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        attempts INTEGER NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        complaint_id TEXT COLLATE "C",
        note TEXT NOT NULL,
        size BIGINT NOT NULL,
        CONSTRAINT quarantined_messages_pkey PRIMARY KEY (id)
    )""",
    """CREATE INDEX quarantined_messages_by_status ON quarantined_messages
        (status, received_at, id)""",
    """CREATE INDEX quarantined_messages_by_received_at ON quarantined_messages
        (received_at, id)""",
    # The bytes apart, as in SQLite (same tables, same queries); BYTEA keeps them
    # exactly, compressed and out of line (TOAST) when large.
    """CREATE TABLE quarantined_bytes (
        id TEXT COLLATE "C" NOT NULL REFERENCES quarantined_messages (id),
        raw BYTEA NOT NULL,
        CONSTRAINT quarantined_bytes_pkey PRIMARY KEY (id)
    )""",
    """CREATE TABLE channel_cursors (
        name TEXT COLLATE "C" NOT NULL,
        value TEXT COLLATE "C" NOT NULL,
        CONSTRAINT channel_cursors_pkey PRIMARY KEY (name)
    )""",
)

# Schema version 5: corrective actions and their events, as in SQLite (same tables,
# same queries). The creation and the step 4 -> 5 share these statements as released.
_ACTION_SCHEMA: Final = (
    """CREATE TABLE corrective_actions (
        id TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        owner_id TEXT COLLATE "C" NOT NULL,
        due_at TIMESTAMPTZ NOT NULL,
        check_due_at TIMESTAMPTZ,
        version INTEGER NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT corrective_actions_pkey PRIMARY KEY (id)
    )""",
    "CREATE INDEX corrective_actions_by_status ON corrective_actions (status, due_at, id)",
    "CREATE INDEX corrective_actions_by_owner ON corrective_actions (owner_id, due_at, id)",
    """CREATE INDEX corrective_actions_check_due ON corrective_actions (check_due_at, id)
        WHERE check_due_at IS NOT NULL""",
    """CREATE TABLE action_events (
        action_id TEXT COLLATE "C" NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT action_events_pkey PRIMARY KEY (action_id, seq)
    )""",
)

MIGRATIONS: Final[Mapping[int, tuple[str, ...]]] = MappingProxyType(
    {
        # 1 -> 2: outbox retries with backoff and claims by concurrent dispatchers.
        1: (
            "ALTER TABLE outbox ADD COLUMN next_attempt_at TIMESTAMPTZ",
            'ALTER TABLE outbox ADD COLUMN claimed_by TEXT COLLATE "C"',
            "ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMPTZ",
        ),
        # 2 -> 3: conduct records (the stop procedure), whose notices share the outbox:
        # the outbox's foreign key to complaints goes.
        2: (
            *_CONDUCT_SCHEMA,
            # The constraint was named by PostgreSQL, not by complaint_flow: drop
            # whatever foreign key the outbox has rather than rely on the name.
            """DO $$
            DECLARE
                name TEXT;
            BEGIN
                FOR name IN SELECT conname FROM pg_catalog.pg_constraint
                        WHERE conrelid = 'outbox'::regclass AND contype = 'f' LOOP
                    EXECUTE format('ALTER TABLE outbox DROP CONSTRAINT %I', name);
                END LOOP;
            END $$""",
        ),
        # 3 -> 4: the channel part: message links, the quarantine and cursors.
        3: _CHANNEL_SCHEMA,
        # 4 -> 5: corrective actions and their events.
        4: _ACTION_SCHEMA,
    }
)
"""The statements that take a schema from version N to N + 1, by N.

A release that changes the schema raises :data:`SCHEMA_VERSION` and adds the step
from the version before (a new schema is created current); a released step
is never edited, since databases out there were upgraded by it. :func:`upgrade`
runs the steps in one transaction (PostgreSQL's DDL is transactional), with
``search_path`` set to the store's schema.
"""

SCHEMES: Final = ("postgresql", "postgres")
"""The URL schemes of this store (libpq accepts both)."""

DEFAULT_POOL_SIZE: Final = 10
"""Connections a store opens at most, unless the URL says ``?pool_size=``."""

DEFAULT_POOL_MIN_SIZE: Final = 1
"""Connections a store keeps open when idle, unless the URL says ``?pool_min_size=``."""

DEFAULT_POOL_TIMEOUT: Final = 30.0
"""Seconds a call waits for a free connection, unless the URL says ``?pool_timeout=``."""

DEFAULT_CONNECT_TIMEOUT: Final = 10
"""Seconds to wait for the server when connecting, unless the URL says ``?connect_timeout=``."""

_OPTIONS: Final = ("pool_size", "pool_min_size", "pool_timeout", "schema")
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PASSWORD_IN_USERINFO = re.compile(r"^([^:/?#]+://[^:@/?#]*:)[^@/?#]*@")
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)[^&#]*")
_SCHEMA_TABLE: Final = "complaint_flow_schema"
_TABLES: Final = (
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
)
# One advisory lock per schema name serialises concurrent first opens (several
# workers starting at once): the first creates the tables, the others then see them.
_SCHEMA_LOCK: Final = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"

# Key columns are compared byte-wise (COLLATE "C"): ordering ties by id then agrees
# with Python's ordering of the same strings, whatever locale the database has, and
# comparisons skip the locale's rules. Datetimes are TIMESTAMPTZ: ordering by them is
# chronological whatever offset they were given in; the JSON ``body`` (TEXT, exactly
# as the codec wrote it) keeps each datetime's own offset and is what is read back.
_SCHEMA: Final = (
    f"CREATE TABLE {_SCHEMA_TABLE} (version INTEGER NOT NULL)",
    # Room on each page lets an update that changes no indexed column stay on the
    # same page (a HOT update), which writes no index entry.
    """CREATE TABLE complaints (
        id TEXT COLLATE "C" NOT NULL,
        reference TEXT COLLATE "C" NOT NULL,
        workflow TEXT COLLATE "C" NOT NULL,
        state TEXT COLLATE "C" NOT NULL,
        customer_id TEXT COLLATE "C" NOT NULL,
        category TEXT COLLATE "C" NOT NULL,
        severity TEXT COLLATE "C" NOT NULL,
        channel TEXT COLLATE "C" NOT NULL,
        external_id TEXT COLLATE "C",
        received_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        due_at TIMESTAMPTZ,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT complaints_pkey PRIMARY KEY (id),
        CONSTRAINT complaints_reference_key UNIQUE (reference)
    ) WITH (fillfactor = 80)""",
    """CREATE UNIQUE INDEX complaints_by_external_id ON complaints (channel, external_id)
        WHERE external_id IS NOT NULL""",
    "CREATE INDEX complaints_by_received_at ON complaints (received_at, id)",
    "CREATE INDEX complaints_by_state ON complaints (state, received_at, id)",
    "CREATE INDEX complaints_by_customer ON complaints (customer_id, received_at, id)",
    "CREATE INDEX complaints_by_category ON complaints (category, received_at, id)",
    # Only complaints with a deadline are in it, so a sweep costs O(due), not O(all).
    "CREATE INDEX complaints_due ON complaints (due_at, id) WHERE due_at IS NOT NULL",
    """CREATE TABLE events (
        complaint_id TEXT COLLATE "C" NOT NULL REFERENCES complaints (id),
        seq INTEGER NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        at TIMESTAMPTZ NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT events_pkey PRIMARY KEY (complaint_id, seq)
    )""",
    # ``position`` records the order messages were written in: pending messages are
    # delivered oldest first. ``complaint_id`` is a complaint's id or a conduct
    # record's (``conduct:<customer id>``), hence no foreign key.
    """CREATE TABLE outbox (
        position BIGINT GENERATED ALWAYS AS IDENTITY,
        key TEXT COLLATE "C" NOT NULL,
        complaint_id TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        body TEXT NOT NULL,
        -- copied from the body to filter on; a claim keeps other dispatchers away
        next_attempt_at TIMESTAMPTZ,
        claimed_by TEXT COLLATE "C",
        claimed_until TIMESTAMPTZ,
        CONSTRAINT outbox_pkey PRIMARY KEY (position),
        CONSTRAINT outbox_key_key UNIQUE (key)
    )""",
    "CREATE INDEX outbox_by_complaint ON outbox (complaint_id, position)",
    "CREATE INDEX outbox_pending ON outbox (position) WHERE status = 'pending'",
    """CREATE TABLE reference_counters (
        prefix TEXT COLLATE "C" NOT NULL,
        year INTEGER NOT NULL,
        last_number INTEGER NOT NULL,
        CONSTRAINT reference_counters_pkey PRIMARY KEY (prefix, year)
    )""",
    *_CONDUCT_SCHEMA,
    *_CHANNEL_SCHEMA,
    *_ACTION_SCHEMA,
)

_INSERT_COMPLAINT: Final = """INSERT INTO complaints (reference, state, customer_id, category,
    channel, external_id, received_at, due_at, workflow, severity, updated_at, version, body, id)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""
# Every column is set: PostgreSQL compares old and new values itself, so an update
# that leaves the indexed columns equal still writes no index entry.
_UPDATE_COMPLAINT: Final = """UPDATE complaints SET reference = %s, state = %s,
    customer_id = %s, category = %s, channel = %s, external_id = %s, received_at = %s,
    due_at = %s, workflow = %s, severity = %s, updated_at = %s, version = %s, body = %s
    WHERE id = %s AND version = %s"""
_NEXT_REFERENCE: Final = """INSERT INTO reference_counters AS counter (prefix, year, last_number)
    VALUES (%s, %s, 1)
    ON CONFLICT (prefix, year) DO UPDATE SET last_number = counter.last_number + 1
    RETURNING last_number"""
# Reserves ``count`` consecutive numbers at once (bulk intake); returns the last.
_RESERVE_REFERENCES: Final = """INSERT INTO reference_counters AS counter
    (prefix, year, last_number) VALUES (%s, %s, %s)
    ON CONFLICT (prefix, year)
        DO UPDATE SET last_number = counter.last_number + EXCLUDED.last_number
    RETURNING last_number"""
_INSERT_EVENT: Final = """INSERT INTO events (complaint_id, seq, kind, at, body)
    VALUES (%s, %s, %s, %s, %s)"""
_INSERT_MESSAGE: Final = """INSERT INTO outbox (key, complaint_id, status, created_at, body,
    next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s)"""
_REPLACE_EVENT: Final = """UPDATE events SET kind = %s, at = %s, body = %s
    WHERE complaint_id = %s AND seq = %s"""
_REPLACE_CONDUCT_EVENT: Final = """UPDATE conduct_events SET kind = %s, at = %s, body = %s
    WHERE customer_id = %s AND seq = %s"""
_REPLACE_MESSAGE: Final = """UPDATE outbox SET status = %s, created_at = %s, body = %s,
    next_attempt_at = %s, claimed_by = NULL, claimed_until = NULL
    WHERE complaint_id = %s AND key = %s"""
_INSERT_CONDUCT: Final = """INSERT INTO conduct_records (status, review_at, review_items,
    version, updated_at, body, customer_id) VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (customer_id) DO NOTHING RETURNING customer_id"""
_UPDATE_CONDUCT: Final = """UPDATE conduct_records SET status = %s, review_at = %s,
    review_items = %s, version = %s, updated_at = %s, body = %s
    WHERE customer_id = %s AND version = %s RETURNING customer_id"""


def _one_statement_write(
    head: str, events_table: str, subject_column: str, events: int, messages: int
) -> str:
    """One statement writing a version (``head``) with its events and outbox messages.

    ``head`` writes the new version and returns the subject's key column only when
    it wrote it (the version check passed); the ``events`` events and ``messages``
    messages are inserted for each row it returned, so a refused version check
    writes nothing at all. The statement's one row counts what ``head`` wrote: 1,
    or 0 when refused.

    Run outside a transaction block it is its own transaction, so a write takes one
    round trip to the server instead of four (BEGIN, UPDATE, INSERT, COMMIT); its
    data-modifying parts run exactly once each, all or nothing. The rows come as
    ``VALUES`` (cheaper to send than arrays); one statement text per shape
    (number of events and messages), each prepared once per connection.
    """
    event_rows = ", ".join(
        ["(%s::integer, %s::text, %s::timestamptz, %s::text)"] + ["(%s, %s, %s, %s)"] * (events - 1)
    )
    parts = [
        f"WITH written AS ({head})",
        f"""appended AS (INSERT INTO {events_table} ({subject_column}, seq, kind, at, body)
        SELECT written.{subject_column}, e.seq, e.kind, e.at, e.body
        FROM written, (VALUES {event_rows}) AS e (seq, kind, at, body))""",
    ]
    if messages:
        message_rows = ", ".join(
            ["(1, %s::text, %s::text, %s::text, %s::timestamptz, %s::text, %s::timestamptz)"]
            + [f"({n}, %s, %s, %s, %s, %s, %s)" for n in range(2, messages + 1)]
        )
        # Inserted in the order given, so ``position`` keeps the commit's order.
        parts.append(
            f"""queued AS (INSERT INTO outbox (key, complaint_id, status, created_at, body,
            next_attempt_at)
        SELECT m.key, m.complaint_id, m.status, m.created_at, m.body, m.next_attempt_at
        FROM written, (VALUES {message_rows})
            AS m (n, key, complaint_id, status, created_at, body, next_attempt_at)
        ORDER BY m.n)"""
        )
    return ",\n".join(parts) + "\nSELECT count(*) FROM written"


@functools.lru_cache(maxsize=64)
def _update_write(events: int, messages: int) -> str:
    """The one statement of a complaint's change with that many events and messages."""
    head = f"{_UPDATE_COMPLAINT} RETURNING id AS complaint_id"
    return _one_statement_write(head, "events", "complaint_id", events, messages)


@functools.lru_cache(maxsize=64)
def _conduct_write(creation: bool, events: int, messages: int) -> str:
    """The one statement of a conduct record's creation or change."""
    head = _INSERT_CONDUCT if creation else _UPDATE_CONDUCT
    return _one_statement_write(head, "conduct_events", "customer_id", events, messages)


@functools.lru_cache(maxsize=64)
def _action_write(creation: bool, events: int, messages: int) -> str:
    """The one statement of a corrective action's creation or change."""
    if creation:
        head = (
            f"{_DIALECT.sql(INSERT_ACTION)} ON CONFLICT (id) DO NOTHING RETURNING id AS action_id"
        )
    else:
        head = f"{_DIALECT.sql(UPDATE_ACTION)} RETURNING id AS action_id"
    return _one_statement_write(head, "action_events", "action_id", events, messages)


_DUE: Final = "(next_attempt_at IS NULL OR next_attempt_at <= %s)"
# SKIP LOCKED: a claimer passes over rows another claimer's transaction holds, instead
# of waiting for it and then finding them claimed.
_CLAIM: Final = f"""WITH due AS (
        SELECT position FROM outbox WHERE status = 'pending' AND {_DUE}
            AND (claimed_until IS NULL OR claimed_until <= %s)
        ORDER BY position LIMIT %s FOR UPDATE SKIP LOCKED)
    UPDATE outbox SET claimed_by = %s, claimed_until = %s FROM due
    WHERE outbox.position = due.position
    RETURNING outbox.position, outbox.body"""


logger = logging.getLogger("complaint_flow.storage.postgres")

_open_stores: weakref.WeakSet[PostgresStore] = weakref.WeakSet()
# Pools inherited through fork() belong to the parent: their connections share the
# parent's sockets, so the child never uses or closes them (and keeps them referenced).
_inherited_pools: list[ConnectionPool[Any]] = []


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._forget_inherited_pool()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _timestamptz(moment: datetime) -> datetime:
    """A time as ``TIMESTAMPTZ`` columns take it: the aware datetime itself."""
    return moment


# The shared reads' queries, in PostgreSQL's words: psycopg's ``%s`` parameters,
# ``LIMIT NULL`` for no limit, times as they are.
_DIALECT: Final = SQLDialect(placeholder="%s", no_limit=None, moment=_timestamptz)


def _complaint_row(complaint: Complaint) -> tuple[Any, ...]:
    """The columns of ``_INSERT_COMPLAINT``/``_UPDATE_COMPLAINT`` from ``state`` to ``version``."""
    return (
        complaint.state,
        complaint.customer.id,
        complaint.category,
        complaint.channel,
        complaint.external_id,
        complaint.received_at,
        complaint.due_at,
        complaint.workflow,
        complaint.severity.value,
        complaint.updated_at,
        complaint.version,
    )


def _event_row(event: Event) -> tuple[Any, ...]:
    return (event.complaint_id, event.seq, event.kind, event.at, to_json(event))


def _message_row(message: OutboxMessage) -> tuple[Any, ...]:
    return (
        message.key,
        message.complaint_id,
        message.status.value,
        message.created_at,
        to_json(message),
        message.next_attempt_at,
    )


def _event_values(rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Event rows (``_event_row``) as ``_one_statement_write``'s values: seq, kind, at, body."""
    return [value for row in rows for value in row[1:]]


def _message_values(rows: Sequence[tuple[Any, ...]]) -> list[Any]:
    """Message rows (``_message_row``) as ``_one_statement_write``'s values."""
    return [value for row in rows for value in row]


class _Encoded:
    """A commit's rows, encoded before a connection is taken."""

    __slots__ = ("commit", "events", "messages", "row")

    def __init__(self, commit: Commit) -> None:
        self.commit = commit
        self.row = _complaint_row(commit.complaint)
        self.events = [_event_row(event) for event in commit.events]
        self.messages = [_message_row(message) for message in commit.outbox]

    def update_row(self) -> tuple[Any, ...]:
        """The parameters of ``_UPDATE_COMPLAINT``."""
        complaint = self.commit.complaint
        return (
            complaint.reference,
            *self.row,
            to_json(complaint),
            complaint.id,
            self.commit.expected_version,
        )

    def update_parameters(self) -> list[Any]:
        """The parameters of ``_UPDATE_WRITE``: the update, the events, the messages."""
        parameters = [*self.update_row(), *_event_values(self.events)]
        if self.messages:
            parameters += _message_values(self.messages)
        return parameters


class _BatchRefusedError(Exception):
    """A version check of a batch failed: roll back and find the first offender."""


def _replaced_events(
    subject: str, key: str, stored_version: int, events: Sequence[Event]
) -> list[tuple[Any, ...]]:
    """The ``_REPLACE_EVENT`` rows of replacement events, checked.

    Raises:
        StoreError: an event is another subject's, not stored yet, or given twice.
    """
    seen: set[int] = set()
    rows = []
    for event in events:
        if event.complaint_id != subject or not 1 <= event.seq <= stored_version:
            raise StoreError(
                f"event {event.seq} of {event.complaint_id!r} is not a stored event of "
                f"{subject!r} (events 1 to {stored_version}); only stored events can be "
                "replaced. Nothing was written."
            )
        if event.seq in seen:
            raise StoreError(
                f"event {event.seq} of {subject!r} is given twice to replace; give each "
                "once. Nothing was written."
            )
        seen.add(event.seq)
        rows.append((event.kind, event.at, to_json(event), key, event.seq))
    return rows


def _replaced_messages(
    subject: str, new: Sequence[OutboxMessage], messages: Sequence[OutboxMessage]
) -> list[tuple[Any, ...]]:
    """The ``_REPLACE_MESSAGE`` rows of replacement messages, checked.

    Raises:
        StoreError: a message is another subject's, one the commit adds, or given twice.
    """
    added = {message.key for message in new}
    seen: set[str] = set()
    rows = []
    for message in messages:
        if message.complaint_id != subject or message.key in added:
            raise StoreError(
                f"outbox message {message.key!r} of {message.complaint_id!r} is not a stored "
                f"message of {subject!r}; only stored messages can be replaced. Nothing "
                "was written."
            )
        if message.key in seen:
            raise StoreError(
                f"outbox message {message.key!r} is given twice to replace; give each once. "
                "Nothing was written."
            )
        seen.add(message.key)
        rows.append(
            (
                message.status.value,
                message.created_at,
                to_json(message),
                message.next_attempt_at,
                subject,
                message.key,
            )
        )
    return rows


def _replace(
    connection: psycopg.Connection[Any],
    statement: str,
    rows: list[tuple[Any, ...]],
    subject: str,
    what: str,
) -> None:
    """Run a replacement ``statement`` for every row; each must replace one stored row.

    Raises:
        StoreError: some row was not stored (the caller's transaction rolls back).
    """
    if not rows:
        return
    cursor = connection.cursor()
    cursor.executemany(statement, rows)
    if cursor.rowcount != len(rows):
        raise StoreError(
            f"{len(rows) - max(cursor.rowcount, 0)} of the {len(rows)} {what}s to replace "
            f"are not stored for {subject!r}; only stored ones can be replaced. Nothing "
            "was written."
        )


@attrs.frozen
class PostgresLocation:
    """Where a ``postgresql://`` URL points and how to connect there.

    ``conninfo`` is the URL for libpq, without complaint_flow's own options;
    ``display`` is the URL with any password hidden, for messages.
    """

    conninfo: str
    display: str
    schema: str | None = None
    pool_size: int = DEFAULT_POOL_SIZE
    pool_min_size: int = DEFAULT_POOL_MIN_SIZE
    pool_timeout: float = DEFAULT_POOL_TIMEOUT
    connect_defaults: tuple[tuple[str, Any], ...] = ()
    """Connection parameters complaint_flow sets because the URL does not."""


def parse_postgres_url(url: str) -> PostgresLocation:
    """Read a store URL of the form ``postgresql://user[:password]@host[:port]/database``.

    ``postgres://`` works too. Query options of complaint_flow's own:

    - ``pool_size=N``: connections opened at most (default 10);
    - ``pool_min_size=N``: connections kept open when idle (default 1);
    - ``pool_timeout=S``: seconds a call waits for a free connection (default 30);
    - ``schema=NAME``: the schema holding the tables (created if missing; default:
      the connection's current schema, normally ``public``).

    Any other query parameter is libpq's (``sslmode=require``,
    ``connect_timeout=5``…) and is passed on unchanged.

    >>> location = parse_postgres_url("postgresql://app:secret@db:5432/shop?pool_size=8&schema=cf")
    >>> location.pool_size, location.schema, location.display
    (8, 'cf', 'postgresql://app:***@db:5432/shop?pool_size=8&schema=cf')

    Args:
        url: the store URL.

    Raises:
        StoreError: the URL is not a usable PostgreSQL store URL; the message says why.
    """
    display = hide_password(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise _bad_url(display, str(exc)) from None
    if parts.scheme.lower() not in SCHEMES or not url.partition(":")[2].startswith("//"):
        raise _bad_url(display, "it does not start with 'postgresql://'")
    options: dict[str, str] = {}
    passed_on: list[str] = []  # libpq's, left encoded exactly as written
    given: set[str] = set()
    for item in parts.query.split("&") if parts.query else ():
        raw_name, _, raw_value = item.partition("=")
        name = unquote(raw_name)
        if name in _OPTIONS:
            if name in options:
                raise _bad_url(display, f"option {name!r} is given twice")
            options[name] = unquote(raw_value)
        else:
            passed_on.append(item)
            given.add(name)
    pool_size = _whole_number(display, options, "pool_size", DEFAULT_POOL_SIZE, minimum=1)
    pool_min_size = _whole_number(
        display, options, "pool_min_size", min(DEFAULT_POOL_MIN_SIZE, pool_size), minimum=0
    )
    if pool_min_size > pool_size:
        raise _bad_url(
            display, f"pool_min_size={pool_min_size} is larger than pool_size={pool_size}"
        )
    pool_timeout = DEFAULT_POOL_TIMEOUT
    if "pool_timeout" in options:
        try:
            pool_timeout = float(options["pool_timeout"])
        except ValueError:
            pool_timeout = -1.0
        if not 0 < pool_timeout < float("inf"):
            raise _bad_url(
                display,
                f"pool_timeout={options['pool_timeout']!r} is not a positive number of seconds",
            )
    schema = options.get("schema")
    if schema is not None and (not _SCHEMA_NAME.fullmatch(schema) or schema.startswith("pg_")):
        raise _bad_url(
            display,
            f"schema={schema!r} is not a usable schema name: use lowercase letters, digits "
            "and underscores, not starting with a digit or 'pg_', at most 63 characters",
        )
    conninfo = urlunsplit(parts._replace(query="&".join(passed_on)))
    defaults = {"connect_timeout": DEFAULT_CONNECT_TIMEOUT, "application_name": "complaint_flow"}
    return PostgresLocation(
        conninfo=conninfo,
        display=display,
        schema=schema,
        pool_size=pool_size,
        pool_min_size=pool_min_size,
        pool_timeout=pool_timeout,
        connect_defaults=tuple(
            (name, value) for name, value in defaults.items() if name not in given
        ),
    )


def hide_password(url: str) -> str:
    """``url`` with any password (``user:password@`` or ``?password=``) shown as ``***``.

    >>> hide_password("postgresql://app:s3cret@db/shop?sslmode=require&password=x")
    'postgresql://app:***@db/shop?sslmode=require&password=***'
    """
    url = _PASSWORD_IN_USERINFO.sub(r"\1***@", url)
    return _PASSWORD_IN_QUERY.sub(r"\1***", url)


def _whole_number(
    display: str, options: dict[str, str], name: str, default: int, *, minimum: int
) -> int:
    if name not in options:
        return default
    text = options[name]
    if not (text.isascii() and text.isdigit()) or int(text) < minimum:
        raise _bad_url(display, f"{name}={text!r} is not a whole number >= {minimum}")
    return int(text)


def _bad_url(url: str, why: str) -> StoreError:
    return StoreError(
        f"cannot open store {url!r}: {why}. Write e.g. "
        "'postgresql://user@localhost:5432/complaints', optionally with '?pool_size=8' "
        "or '?schema=complaint_flow'."
    )


class PostgresStore:
    """A store in one PostgreSQL schema, shared by threads (through a pool), processes and hosts.

    Build it with :func:`open_postgres_store`. Connections come from a
    ``psycopg_pool.ConnectionPool``; :meth:`close` closes them all.
    """

    def __init__(self, url: str, location: PostgresLocation) -> None:
        self.url = url
        self.location = location
        self._lock = threading.Lock()
        self._recent = RecentVersions()
        self._reads = SQLReads(_DIALECT, self._fetch, self._recent)
        self._channel = SQLChannel(
            _DIALECT, _timestamptz, self._fetch, self._write_all, self._fetch_binary
        )
        self._actions = SQLActions(_DIALECT, self._fetch)
        self._closed = False
        self.schema = self._prepare_schema()
        self._pool: ConnectionPool[Any] | None = self._open_pool()
        _open_stores.add(self)

    # -- connections --------------------------------------------------------

    def _connect_arguments(self) -> dict[str, Any]:
        return {"autocommit": True, **dict(self.location.connect_defaults)}

    def _configure(self, connection: psycopg.Connection[Any]) -> None:
        # Every connection sees exactly this store's schema, whatever the server's
        # default search_path is.
        connection.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    def _open_pool(self) -> ConnectionPool[Any]:
        location = self.location
        pool: ConnectionPool[Any] = ConnectionPool(
            location.conninfo,
            kwargs=self._connect_arguments(),
            min_size=location.pool_min_size,
            max_size=location.pool_size,
            timeout=location.pool_timeout,
            configure=self._configure,
            name=f"complaint_flow {location.display}",
            open=False,
        )
        try:
            pool.open(wait=True, timeout=location.pool_timeout)
        except PoolTimeout as exc:
            pool.close()
            raise StoreError(
                f"the connection pool of {location.display!r} could not connect within "
                f"{location.pool_timeout:g} s ({exc}); check that the server accepts "
                "connections"
            ) from exc
        return pool

    def _forget_inherited_pool(self) -> None:
        """After fork(), in the child: leave the parent's pool alone, open a new one on use."""
        if self._pool is not None:
            _inherited_pools.append(self._pool)
        self._pool = None
        self._lock = threading.Lock()
        self._recent.after_fork()

    @contextmanager
    def _connection(self, doing: str) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection; database failures come out as ``StoreError``."""
        if self._closed:
            raise self._closed_error()
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._closed:
                    raise self._closed_error()
                if self._pool is None:
                    self._pool = self._open_pool()
                pool = self._pool
        try:
            with pool.connection() as connection:
                yield connection
        except PoolClosed:
            raise self._closed_error() from None
        except PoolTimeout as exc:
            raise StoreError(
                f"{doing} failed: no connection of {self.location.display!r} became free "
                f"within {self.location.pool_timeout:g} s; nothing was written. Raise "
                "?pool_size= or look for calls holding connections too long."
            ) from exc
        except psycopg.Error as exc:
            raise self._failed(exc, doing) from exc

    def _closed_error(self) -> StoreError:
        return StoreError(f"store {self.location.display!r} is closed; open a new engine")

    def _failed(self, exc: psycopg.Error, doing: str) -> StoreError:
        if self._closed:
            return self._closed_error()
        return StoreError(
            f"{doing} failed on PostgreSQL {self.location.display!r}: {exc}; nothing was written"
        )

    def _where(self) -> str:
        return f"PostgreSQL schema {self.schema!r} at {self.location.display}"

    # -- schema -------------------------------------------------------------

    def _prepare_schema(self) -> str:
        """Create the tables on first open, check their version on every open."""
        location = self.location
        connection = _connect(location)
        try:
            with connection.transaction():
                schema = _locked_schema(connection, location)
                self.schema = schema
                tables = _tables_in(connection, schema)
                if not tables:
                    _create_tables(connection)
                else:
                    self._check_schema(connection, tables)
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot prepare the complaint_flow tables at {location.display!r} ({exc}); "
                "check that the user may create tables in that schema, or name a schema "
                "it may create with ?schema=NAME"
            ) from exc
        finally:
            connection.close()
        return schema

    def _check_schema(self, connection: psycopg.Connection[Any], tables: set[str]) -> None:
        found = _stored_version(connection, tables, self._where())
        if found > SCHEMA_VERSION:
            raise _newer_error(self._where(), found)
        if found < SCHEMA_VERSION:
            raise older_error(
                self._where(), found, SCHEMA_VERSION, "database", self.location.display
            )

    # -- writing ------------------------------------------------------------

    def commit(self, commit: Commit) -> Complaint:
        """Write the commit in one transaction and return the stored complaint.

        A change (``expected_version`` > 0) is one statement, its own transaction:
        the version-checked update with the events and messages it brings, in one
        round trip. A creation allocates its reference first, in a transaction; a
        commit with links inserts them after the rest, in a transaction too.

        Raises:
            ConcurrencyError: the stored version is not ``commit.expected_version``
                (or, for a creation, the complaint id is taken).
            DuplicateIntakeError: a creation whose (channel, external_id) is taken.
            StoreError: the database refused the write (e.g. an outbox key is taken).
        """
        # Encoded before taking a connection, so that connections are held for less
        # time (a creation's body waits for its reference, allocated in the transaction).
        encoded = _Encoded(commit)
        with self._connection(f"committing complaint {commit.complaint.id!r}") as connection:
            try:
                if commit.expected_version and not commit.links:
                    stored = self._write(connection, encoded)
                else:
                    with connection.transaction():
                        stored = self._write(connection, encoded)
            except psycopg.Error as exc:
                raise self._refusal(connection, commit, exc) from exc
        self._recent.remember(stored)
        return stored

    def _write(self, connection: psycopg.Connection[Any], encoded: _Encoded) -> Complaint:
        """Write one encoded commit on ``connection`` (in the caller's transaction, if any).

        Raises:
            ConcurrencyError: the version check failed; nothing of it was written.
        """
        commit = encoded.commit
        if commit.expected_version == 0:
            complaint = self._insert(connection, commit, encoded.row)
            _insert_rows(connection, _INSERT_EVENT, encoded.events)
            if encoded.messages:
                _insert_rows(connection, _INSERT_MESSAGE, encoded.messages)
            if commit.links:
                self._insert_links(connection, commit)
            return complaint
        written = connection.execute(
            _update_write(len(encoded.events), len(encoded.messages)),
            encoded.update_parameters(),
        ).fetchone()
        if written is None or written[0] != 1:
            raise ConcurrencyError(commit.complaint.id, commit.expected_version)
        if commit.links:
            self._insert_links(connection, commit)
        return commit.complaint

    def _refusal(
        self, connection: psycopg.Connection[Any], commit: Commit, exc: psycopg.Error
    ) -> Exception:
        """What a database error while writing ``commit`` means for its writer.

        Called once the write's transaction is over (rolled back, or broken).
        """
        if isinstance(exc, pg_errors.UniqueViolation):
            return self._conflict(connection, commit, exc)
        if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
            # The server chose this writer to lose a race; it wrote nothing.
            return ConcurrencyError(commit.complaint.id, commit.expected_version)
        return self._unknown_or_failed(connection, commit.complaint.id, exc)

    def _unknown_or_failed(
        self, connection: psycopg.Connection[Any], subject: str, exc: psycopg.Error
    ) -> Exception:
        if isinstance(exc, psycopg.OperationalError) and connection.broken:
            # The write (or its COMMIT) was sent and the connection broke: the server
            # may have committed it.
            return self._lost_while_committing(subject, exc)
        # The server answered with an error: the write's transaction was rolled back.
        return self._failed(exc, f"writing {subject!r}")

    def commit_many(self, commits: Sequence[Commit]) -> list[Complaint]:
        """Write several commits (of different complaints) in one transaction, all or nothing.

        The batch goes in a few round trips whatever its size: the references of its
        creations are reserved together (numbered in the order given), then the
        complaints, events and messages are written with ``executemany`` (pipelined).
        If the database refuses any of it, the batch is rolled back and written again
        commit by commit, in one transaction, to name the first offending commit
        (which then rolls everything back).

        Raises:
            StoreError: two commits are for the same complaint; nothing is written.
            ConcurrencyError, DuplicateIntakeError: as :meth:`commit`, for the first
                offending commit; nothing of the batch is written.
        """
        batch = list(commits)
        ids = [commit.complaint.id for commit in batch]
        if len(set(ids)) != len(ids):
            twice = sorted({complaint_id for complaint_id in ids if ids.count(complaint_id) > 1})
            raise StoreError(
                f"complaints {twice!r} have more than one commit in the batch; put each "
                "complaint's changes in one commit (its events in order). Nothing was written."
            )
        if not batch:
            return []
        encoded = [_Encoded(commit) for commit in batch]
        with self._connection(f"committing {len(batch)} complaints") as connection:
            try:
                with connection.transaction():
                    stored = self._write_batch(connection, encoded)
            except (
                _BatchRefusedError,
                pg_errors.IntegrityError,
                pg_errors.SerializationFailure,
                pg_errors.DeadlockDetected,
            ):
                stored = self._write_one_by_one(connection, encoded)
            except psycopg.Error as exc:
                raise self._unknown_or_failed(connection, f"batch of {ids[0]!r}…", exc) from exc
        for complaint in stored:
            self._recent.remember(complaint)
        return stored

    def _write_batch(
        self, connection: psycopg.Connection[Any], batch: list[_Encoded]
    ) -> list[Complaint]:
        """The fast path of :meth:`commit_many`, in the caller's transaction.

        Raises:
            _BatchRefusedError: a version check failed (the caller rolls back).
        """
        counts: dict[tuple[str, int], int] = {}
        for item in batch:
            commit = item.commit
            if commit.expected_version == 0:
                assert commit.reference_prefix is not None  # checked by Commit
                key = (commit.reference_prefix, commit.complaint.received_at.year)
                counts[key] = counts.get(key, 0) + 1
        next_number: dict[tuple[str, int], int] = {}
        for (prefix, year), count in counts.items():
            (last,) = connection.execute(_RESERVE_REFERENCES, (prefix, year, count)).fetchall()[0]
            next_number[prefix, year] = last - count + 1
        stored: list[Complaint] = []
        created: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        for item in batch:
            commit = item.commit
            complaint = commit.complaint
            if commit.expected_version == 0:
                assert commit.reference_prefix is not None
                key = (commit.reference_prefix, complaint.received_at.year)
                number = next_number[key]
                next_number[key] = number + 1
                complaint = attrs.evolve(
                    complaint, reference=format_reference(key[0], key[1], number)
                )
                created.append((complaint.reference, *item.row, to_json(complaint), complaint.id))
            else:
                updated.append(item.update_row())
            stored.append(complaint)
        cursor = connection.cursor()
        if created:
            cursor.executemany(_INSERT_COMPLAINT, created)
        if updated:
            cursor.executemany(f"{_UPDATE_COMPLAINT} RETURNING 1", updated, returning=True)
            while True:
                if cursor.fetchone() is None:
                    raise _BatchRefusedError
                if not cursor.nextset():
                    break
        cursor.executemany(_INSERT_EVENT, [row for item in batch for row in item.events])
        messages = [row for item in batch for row in item.messages]
        if messages:
            cursor.executemany(_INSERT_MESSAGE, messages)
        links = self._channel.link_rows([link for item in batch for link in item.commit.links])
        if links:  # a taken message id: written one by one, it names its commit
            cursor.executemany(self._channel.insert_link, links)
        return stored

    def _write_one_by_one(
        self, connection: psycopg.Connection[Any], batch: list[_Encoded]
    ) -> list[Complaint]:
        """The batch again, commit by commit in one transaction: the first refusal is raised."""
        stored: list[Complaint] = []
        failed: tuple[Commit, psycopg.Error] | None = None
        try:
            with connection.transaction():
                for item in batch:
                    try:
                        stored.append(self._write(connection, item))
                    except psycopg.Error as exc:
                        failed = (item.commit, exc)
                        raise
        except psycopg.Error as exc:
            commit, error = failed if failed is not None else (batch[0].commit, exc)
            raise self._refusal(connection, commit, error) from exc
        return stored

    def rewrite(
        self, commit: Commit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> Complaint:
        """Apply ``commit`` and replace stored events and outbox messages, atomically.

        ``events`` replace the stored events with the same ``seq`` (as given,
        ``hash`` and ``redacted`` included) and ``outbox`` the stored messages with
        the same ``key``, in the transaction of the version-checked ``commit``.
        Afterwards the replaced versions are vacuumed away (see :meth:`_vacuum`).

        Raises:
            ConcurrencyError: as :meth:`commit`; nothing is written.
            StoreError: an event or message to replace is not stored for that
                complaint (or is given twice); nothing is written.
        """
        complaint_id = commit.complaint.id
        message_rows = _replaced_messages(complaint_id, commit.outbox, outbox)
        encoded = _Encoded(commit)
        with self._connection(f"rewriting complaint {complaint_id!r}") as connection:
            try:
                with connection.transaction():
                    stored = self._write(connection, encoded)
                    # Checked once the version check passed: a stale writer hears
                    # ConcurrencyError first.
                    event_rows = _replaced_events(
                        complaint_id, complaint_id, commit.expected_version, events
                    )
                    _replace(connection, _REPLACE_EVENT, event_rows, complaint_id, "event")
                    _replace(connection, _REPLACE_MESSAGE, message_rows, complaint_id, "message")
            except psycopg.Error as exc:
                raise self._refusal(connection, commit, exc) from exc
        self._recent.remember(stored)
        self._vacuum(("complaints", "events", "outbox"))
        return stored

    def purge(self, complaints: Mapping[str, int]) -> int:
        """Delete these complaints with their events, outbox messages and links (retention).

        ``complaints`` maps ids to the version the caller saw. The complaints'
        rows are locked first and their versions checked under the lock: a
        complaint whose version moved on (e.g. reopened), or that is unknown, is
        kept; a concurrent commit to one that is deleted finds it gone
        (``ConcurrencyError``). Afterwards the deleted rows are vacuumed away (see
        :meth:`_vacuum`).

        Returns:
            How many complaints were deleted.
        """
        wanted = sorted(complaints)
        if not wanted:
            return 0
        with (
            self._connection(f"purging {len(wanted)} complaints") as connection,
            connection.transaction(),
        ):
            # FOR UPDATE returns the latest committed version of each locked row.
            rows = connection.execute(
                "SELECT id, version FROM complaints WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                (wanted,),
            ).fetchall()
            found = [
                complaint_id
                for complaint_id, version in rows
                if version == complaints[complaint_id]
            ]
            if found:
                connection.execute("DELETE FROM outbox WHERE complaint_id = ANY(%s)", (found,))
                connection.execute(
                    "DELETE FROM message_links WHERE complaint_id = ANY(%s)", (found,)
                )
                connection.execute("DELETE FROM events WHERE complaint_id = ANY(%s)", (found,))
                connection.execute("DELETE FROM complaints WHERE id = ANY(%s)", (found,))
        for complaint_id in found:
            self._recent.forget(complaint_id)
        if found:
            self._vacuum(("complaints", "events", "outbox", "message_links"))
        return len(found)

    def conduct_commit(self, commit: ConductCommit) -> ConductRecord:
        """Write a conduct record's new version with its events and notices, in one statement.

        Raises:
            ConcurrencyError: the stored version is not ``commit.expected_version``
                (for a creation: the customer already has a record); nothing is written.
            StoreError: the database refused the write (e.g. an outbox key is taken).
        """
        record = commit.record
        with self._connection(f"committing conduct record {record.id!r}") as connection:
            try:
                self._write_conduct(connection, commit)
            except psycopg.Error as exc:
                raise self._conduct_refusal(connection, commit, exc) from exc
        return record

    def _write_conduct(self, connection: psycopg.Connection[Any], commit: ConductCommit) -> None:
        record = commit.record
        expected = commit.expected_version
        parameters: list[Any] = [
            record.status.value,
            record.review_at,
            len(record.review_queue),
            record.version,
            record.updated_at,
            to_json(record),
            record.customer_id,
        ]
        if expected:
            parameters.append(expected)
        parameters += _event_values([_event_row(event) for event in commit.events])
        messages = [_message_row(message) for message in commit.outbox]
        parameters += _message_values(messages)
        written = connection.execute(
            _conduct_write(expected == 0, len(commit.events), len(messages)), parameters
        ).fetchone()
        if written is None or written[0] != 1:
            raise ConcurrencyError(record.id, expected)

    def _conduct_refusal(
        self, connection: psycopg.Connection[Any], commit: ConductCommit, exc: psycopg.Error
    ) -> Exception:
        record = commit.record
        if isinstance(exc, pg_errors.UniqueViolation):
            constraint = exc.diag.constraint_name
            if constraint in ("conduct_records_pkey", "conduct_events_pkey"):
                return ConcurrencyError(record.id, commit.expected_version)
            if constraint == "outbox_key_key":
                keys = [message.key for message in commit.outbox]
                return StoreError(
                    f"an outbox message key of {keys!r} is already stored (or repeated); "
                    "outbox keys must be unique. Nothing was written."
                )
        if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
            return ConcurrencyError(record.id, commit.expected_version)
        return self._unknown_or_failed(connection, record.id, exc)

    def conduct_rewrite(
        self, commit: ConductCommit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> ConductRecord:
        """:meth:`rewrite` for a conduct record (erasure of personal data).

        Raises:
            ConcurrencyError: as :meth:`conduct_commit`; nothing is written.
            StoreError: an event or message to replace is not stored for that
                record (or is given twice); nothing is written.
        """
        record = commit.record
        message_rows = _replaced_messages(record.id, commit.outbox, outbox)
        with self._connection(f"rewriting conduct record {record.id!r}") as connection:
            try:
                with connection.transaction():
                    self._write_conduct(connection, commit)
                    event_rows = _replaced_events(
                        record.id, record.customer_id, commit.expected_version, events
                    )
                    _replace(connection, _REPLACE_CONDUCT_EVENT, event_rows, record.id, "event")
                    _replace(connection, _REPLACE_MESSAGE, message_rows, record.id, "message")
            except psycopg.Error as exc:
                raise self._conduct_refusal(connection, commit, exc) from exc
        self._vacuum(("conduct_records", "conduct_events", "outbox"))
        return record

    def _vacuum(self, tables: tuple[str, ...]) -> None:
        """VACUUM ``tables`` after a rewrite or purge, so replaced rows stop being readable.

        PostgreSQL never overwrites a row in place: an update or delete leaves the
        old row version in the table (and its TOAST table and index entries) until
        a vacuum removes it, and until then it can be read from the data files
        (e.g. with ``pageinspect``). ``VACUUM (INDEX_CLEANUP ON)``, run here at once
        and outside any transaction block, removes those old versions and their index
        entries, so erased data is gone from every table and index page.

        What it does not guarantee: a row version that some open transaction of the
        database may still see (a long-running query, an idle-in-transaction
        session, a replication slot or ``hot_standby_feedback``) is kept until that
        transaction ends, and then removed by the next (auto)vacuum; the bytes of a
        removed row version stay in the page's free space until it is reused;
        the write-ahead log, its archives, replicas and backups keep old data until
        they are recycled or expire. Only the tables' owner may vacuum them: for
        another user PostgreSQL skips them with a warning, left to autovacuum.
        A failure to vacuum is logged, not raised: the rewrite itself is committed.
        """
        try:
            with self._connection("vacuuming erased rows") as connection:
                connection.execute(f"VACUUM (INDEX_CLEANUP ON) {', '.join(tables)}")
        except StoreError as exc:
            logger.warning(
                "%s; the replaced row versions stay in the data files until the next "
                "vacuum: run VACUUM (INDEX_CLEANUP ON) %s as the tables' owner",
                exc,
                ", ".join(tables),
            )

    def _lost_while_committing(self, complaint_id: str, exc: psycopg.Error) -> StoreError:
        # The server may have committed before the connection broke: saying "nothing
        # was written" here could be false, and a blind retry could apply a change twice
        # (the version check would refuse it, but the writer should know why).
        return StoreError(
            f"the connection to {self.location.display!r} broke while committing complaint "
            f"{complaint_id!r} ({exc}): the commit may or may not have been written. "
            "Re-read the complaint (its version tells) before trying again."
        )

    def _insert(
        self, connection: psycopg.Connection[Any], commit: Commit, row: tuple[Any, ...]
    ) -> Complaint:
        complaint = commit.complaint
        prefix = commit.reference_prefix
        assert prefix is not None  # checked by Commit
        year = complaint.received_at.year
        # Allocated inside the creating transaction: the counter's row stays locked
        # until it ends, and a refused creation rolls the number back.
        (number,) = connection.execute(_NEXT_REFERENCE, (prefix, year)).fetchall()[0]
        complaint = attrs.evolve(complaint, reference=format_reference(prefix, year, number))
        connection.execute(
            _INSERT_COMPLAINT, (complaint.reference, *row, to_json(complaint), complaint.id)
        )
        return complaint

    def _conflict(
        self, connection: psycopg.Connection[Any], commit: Commit, exc: pg_errors.UniqueViolation
    ) -> ConcurrencyError | DuplicateIntakeError | StoreError:
        """The error for a unique violation; the transaction is already rolled back."""
        complaint = commit.complaint
        constraint = exc.diag.constraint_name
        if constraint == "complaints_pkey":
            return ConcurrencyError(complaint.id, 0)
        if constraint in ("events_pkey", "message_links_pkey"):
            return ConcurrencyError(complaint.id, commit.expected_version)
        if constraint == "complaints_by_external_id" and complaint.external_id is not None:
            # A unique violation is only raised once the other writer committed, so
            # the complaint that holds the message is there to be read.
            found = connection.execute(
                "SELECT id FROM complaints WHERE channel = %s AND external_id = %s",
                (complaint.channel, complaint.external_id),
            ).fetchall()
            return DuplicateIntakeError(
                complaint.channel, complaint.external_id, existing_id=found[0][0] if found else None
            )
        if constraint == "outbox_key_key":
            keys = [message.key for message in commit.outbox]
            return StoreError(
                f"an outbox message key of {keys!r} is already stored (or repeated); "
                "outbox keys must be unique. Nothing was written."
            )
        if constraint == "complaints_reference_key":
            return StoreError(
                f"a reference allocated for complaint {complaint.id!r} is already taken "
                f"although its counter was just advanced: the reference_counters table of "
                f"{self._where()} was altered; restore the database from a backup"
            )
        return StoreError(
            f"committing complaint {complaint.id!r} failed on {self._where()}: {exc}; "
            "nothing was written"
        )

    def outbox_update(
        self, message: OutboxMessage, *, expected_status: OutboxStatus = OutboxStatus.PENDING
    ) -> bool:
        """Record a delivery outcome on the stored message, if its status is still expected.

        Only the delivery state is taken from ``message``; the content stays as
        stored (an erasure meanwhile is kept). One transaction locks the row
        (``FOR UPDATE``, which re-checks the status against the latest committed
        version), builds the new body from the stored one and writes it.

        Returns:
            Whether the message was updated (False: no message with that key, or
            its stored status is not ``expected_status``; nothing changed).
        """
        with (
            self._connection(f"updating outbox message {message.key!r}") as connection,
            connection.transaction(),
        ):
            rows = connection.execute(
                "SELECT body FROM outbox WHERE key = %s AND status = %s FOR UPDATE",
                (message.key, expected_status.value),
            ).fetchall()
            if not rows:
                return False
            updated = with_delivery_state(from_json(rows[0][0], OutboxMessage), message)
            connection.execute(
                "UPDATE outbox SET status = %s, body = %s, next_attempt_at = %s, "
                "claimed_by = NULL, claimed_until = NULL WHERE key = %s",
                (updated.status.value, to_json(updated), updated.next_attempt_at, message.key),
            )
        return True

    def outbox_claim(
        self, now: datetime, limit: int, lease: timedelta, owner: str
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` due, unclaimed pending messages for ``owner``, oldest first.

        One transaction locks the rows it claims with ``FOR UPDATE SKIP LOCKED``, so
        concurrent claimers on any host take different rows without waiting.
        """
        with (
            self._connection("claiming outbox messages") as connection,
            connection.transaction(),
        ):
            rows = connection.execute(_CLAIM, (now, now, limit, owner, now + lease)).fetchall()
        rows.sort()
        return [from_json(body, OutboxMessage) for _, body in rows]

    # -- reading: the shared SQL queries (sql_reads.py) in PostgreSQL's dialect ----

    def get_cached(self, complaint_id: str) -> Complaint | None:
        """The latest version this store wrote or read, without asking the database.

        Another process may have written a later one: a commit built on it is then
        refused by the version check. The engine uses it to save a read per fire.
        """
        return self._recent.latest(complaint_id)

    def get(self, complaint_id: str) -> Complaint:
        """The latest version of a complaint (``ComplaintNotFoundError`` if none)."""
        return self._reads.get(complaint_id)

    def get_by_reference(self, reference: str) -> Complaint:
        """The latest version of the complaint with that human reference.

        Raises:
            ComplaintNotFoundError: no complaint has that reference.
        """
        return self._reads.get_by_reference(reference)

    def find_by_external_id(self, channel: str, external_id: str) -> Complaint | None:
        """The complaint created from that channel message, if any."""
        return self._reads.find_by_external_id(channel, external_id)

    def events(self, complaint_id: str) -> list[Event]:
        """The complaint's audit trail in order (``ComplaintNotFoundError`` if none)."""
        return self._reads.events(complaint_id)

    def find(
        self,
        *,
        state: str | None = None,
        customer_id: str | None = None,
        category: str | None = None,
        workflow: str | None = None,
        received_after: datetime | None = None,
        updated_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[Complaint]:
        """Complaints matching every given filter, oldest received first (then by id)."""
        return self._reads.find(
            state=state,
            customer_id=customer_id,
            category=category,
            workflow=workflow,
            received_after=received_after,
            updated_before=updated_before,
            limit=limit,
        )

    def count(self) -> int:
        """How many complaints are stored."""
        return self._reads.count()

    def due(self, before: datetime, limit: int) -> list[Complaint]:
        """Complaints due at or before ``before``, earliest first, from the deadline index."""
        return self._reads.due(before, limit)

    def outbox_pending(self, limit: int, now: datetime | None = None) -> list[OutboxMessage]:
        """Pending outbox messages in commit order (due by ``now``, if given)."""
        return self._reads.outbox_pending(limit, now)

    def outbox_find(
        self, *, status: OutboxStatus | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages with that status (any if None), in commit order."""
        return self._reads.outbox_find(status=status, limit=limit)

    def outbox(self, complaint_id: str) -> list[OutboxMessage]:
        """Every outbox message of a complaint (or conduct record), in commit order."""
        return self._reads.outbox(complaint_id)

    def conduct_get(self, customer_id: str) -> ConductRecord | None:
        """The latest version of the customer's conduct record, or None."""
        return self._reads.conduct_get(customer_id)

    def conduct_events(self, customer_id: str) -> list[Event]:
        """The conduct record's events in order (empty if there is no record)."""
        return self._reads.conduct_events(customer_id)

    def conduct_find(
        self,
        *,
        statuses: Collection[ConductStatus] | None = None,
        review_before: datetime | None = None,
        with_review_items: bool = False,
        limit: int | None = None,
    ) -> list[ConductRecord]:
        """Conduct records matching every given filter, from the review indexes."""
        return self._reads.conduct_find(
            statuses=statuses,
            review_before=review_before,
            with_review_items=with_review_items,
            limit=limit,
        )

    def _fetch(self, query: str, parameters: Sequence[Any]) -> list[Any]:
        """All rows of one query on a pooled connection (the shared reads' ``fetch``)."""
        with self._connection("reading") as connection:
            return connection.execute(query, tuple(parameters)).fetchall()

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Close the pool and its connections; the store is not used afterwards.

        Closing twice is harmless. Later calls raise ``StoreError``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pool, self._pool = self._pool, None
        self._recent.clear()
        _open_stores.discard(self)
        if pool is not None:
            pool.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"schema={self.schema!r}"
        return f"PostgresStore({self.location.display!r}, {state})"

    # -- the channel part: the shared SQL (sql_channel.py) in PostgreSQL's dialect ---

    def links_find(self, message_ids: Collection[str]) -> list[MessageLink]:
        """The stored links of these message ids, by message id (batched ``IN`` lists)."""
        return self._channel.links_find(message_ids)

    def links_of(self, complaint_id: str) -> list[MessageLink]:
        """Every link of a complaint, oldest first, from the index on its complaint id."""
        return self._channel.links_of(complaint_id)

    def links_add(self, links: Sequence[MessageLink]) -> int:
        """Store links outside a commit, in one transaction; a stored id keeps its link."""
        return self._channel.links_add(links)

    def quarantine_add(self, item: QuarantinedMessage) -> QuarantinedMessage:
        """Keep ``item`` (its row and its bytes, together); an id kept already is left as is."""
        return self._channel.quarantine_add(item)

    def quarantine_get(self, item_id: str) -> QuarantinedMessage | None:
        """The quarantined message with its bytes, or None."""
        return self._channel.quarantine_get(item_id)

    def quarantine_find(
        self, *, status: QuarantineStatus | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        """Quarantined messages without their bytes, oldest first, from the status index."""
        return self._channel.quarantine_find(status=status, limit=limit)

    def quarantine_update(
        self, item: QuarantinedMessage | QuarantineEntry, *, expected_status: QuarantineStatus
    ) -> bool:
        """Write a quarantined message's state if its status is still ``expected_status``.

        One ``UPDATE … WHERE id = %s AND status = %s``: a writer waiting on the row's
        lock re-checks the status against the version that was committed.
        """
        return self._channel.quarantine_update(item, expected_status=expected_status)

    def cursor_get(self, name: str) -> str | None:
        """The cursor's value, or None."""
        return self._channel.cursor_get(name)

    def cursor_set(self, name: str, value: str, *, expected: str | None) -> bool:
        """Set the cursor if its value is still ``expected`` (None: not set yet).

        One statement: ``INSERT … ON CONFLICT DO NOTHING`` or ``UPDATE … WHERE value
        = %s``, which a concurrent writer's committed change makes match no row.
        """
        return self._channel.cursor_set(name, value, expected=expected)

    def _insert_links(self, connection: psycopg.Connection[Any], commit: Commit) -> None:
        """Write a commit's links in its transaction (a taken id: ``message_links_pkey``)."""
        _insert_rows(connection, self._channel.insert_link, self._channel.link_rows(commit.links))

    def _fetch_binary(self, query: str, parameters: Sequence[Any]) -> list[Any]:
        """``_fetch`` with results in binary form: a ``bytea`` comes as its bytes, not as hex."""
        with self._connection("reading") as connection:
            return connection.cursor(binary=True).execute(query, tuple(parameters)).fetchall()

    def _write_all(self, doing: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Run ``statements`` in one transaction; how many rows they changed."""
        with self._connection(doing) as connection:
            if len(statements) == 1:  # a lone statement is its own transaction
                statement, parameters = statements[0]
                return connection.execute(statement, parameters).rowcount
            with connection.transaction():
                return sum(
                    connection.execute(statement, parameters).rowcount
                    for statement, parameters in statements
                )

    # -- the action part: the shared SQL (sql_actions.py) in PostgreSQL's dialect -------

    def action_commit(self, commit: ActionCommit) -> CorrectiveAction:
        """Write an action's new version with its events and messages, in one statement.

        Raises:
            ConcurrencyError: the stored version is not ``commit.expected_version``
                (for a creation: the id is taken); nothing is written.
            StoreError: the database refused the write (e.g. an outbox key is taken).
        """
        commit = action_arguments.commit(commit)
        action = commit.action
        expected = commit.expected_version
        parameters: list[Any] = list(action_rows(commit, _timestamptz))
        if expected:
            parameters.append(expected)
        parameters += [value for row in event_rows(commit, _timestamptz) for value in row[1:]]
        messages = [_message_row(message) for message in commit.outbox]
        parameters += _message_values(messages)
        statement = _action_write(expected == 0, len(commit.events), len(messages))
        with self._connection(f"committing corrective action {action.id!r}") as connection:
            try:
                written = connection.execute(statement, parameters).fetchone()
            except psycopg.Error as exc:
                raise self._action_refusal(connection, commit, exc) from exc
        if written is None or written[0] != 1:
            raise ConcurrencyError(action.id, expected)
        return action

    def _action_refusal(
        self, connection: psycopg.Connection[Any], commit: ActionCommit, exc: psycopg.Error
    ) -> Exception:
        action = commit.action
        if isinstance(exc, pg_errors.UniqueViolation):
            constraint = exc.diag.constraint_name
            if constraint in ("corrective_actions_pkey", "action_events_pkey"):
                return ConcurrencyError(action.id, commit.expected_version)
            if constraint == "outbox_key_key":
                keys = [message.key for message in commit.outbox]
                return StoreError(
                    f"an outbox message key of {keys!r} is already stored (or repeated); "
                    "outbox keys must be unique. Nothing was written."
                )
        if isinstance(exc, pg_errors.SerializationFailure | pg_errors.DeadlockDetected):
            return ConcurrencyError(action.id, commit.expected_version)
        return self._unknown_or_failed(connection, action.id, exc)

    def action_get(self, action_id: str) -> CorrectiveAction | None:
        """The latest version of the action, or None."""
        return self._actions.action_get(action_id)

    def action_events(self, action_id: str) -> list[Event]:
        """The action's events in order (empty if there is no such action)."""
        return self._actions.action_events(action_id)

    def action_find(
        self,
        *,
        statuses: Collection[ActionStatus] | None = None,
        owner_id: str | None = None,
        due_before: datetime | None = None,
        check_due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[CorrectiveAction]:
        """Actions matching every given filter, by due time, from the actions' indexes."""
        return self._actions.action_find(
            statuses=statuses,
            owner_id=owner_id,
            due_before=due_before,
            check_due_before=check_due_before,
            limit=limit,
        )

    def complaint_counts(
        self, categories: Collection[str], bounds: Sequence[datetime]
    ) -> list[int]:
        """Complaints of ``categories`` received in each period, counted in one query."""
        return self._actions.complaint_counts(categories, bounds)

    # -- satisfaction: CSAT by SQL aggregates (storage/satisfaction_reads.py) -------------

    def survey_csat(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        by: Sequence[str] = (),
        period: str | None = None,
    ) -> list[CsatRow]:
        """CSAT of the survey answers given from ``since`` to ``until``, grouped in SQL."""
        return sql_survey_csat(
            "postgresql",
            self._fetch,
            _timestamptz,
            since=since,
            until=until,
            by=by,
            period=period,
        )

    # -- the report part: the shared SQL (sql_reports.py) in PostgreSQL's dialect ------------

    def report_volumes(
        self, boundaries: Sequence[datetime], *, by: Sequence[str] = ()
    ) -> list[VolumeCount]:
        """Complaints received per period and combination of ``by`` columns (one GROUP BY)."""
        return self._report_reads().volumes(boundaries, by)

    def report_milestones(
        self,
        rules: MilestoneRules,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 1000,
    ) -> list[ComplaintMilestones]:
        """One keyset batch of milestones, from the index on ``received_at``."""
        return self._report_reads().milestones(rules, received_after, received_before, after, limit)

    def _report_reads(self) -> SQLReports:
        return SQLReports(_DIALECT, POSTGRES_JSON, self._fetch, _timestamptz)


def _insert_rows(
    connection: psycopg.Connection[Any], statement: str, rows: Sequence[tuple[Any, ...]]
) -> None:
    if len(rows) == 1:
        connection.execute(statement, rows[0])
    else:
        # executemany sends the rows in one pipeline: one round trip, not one per row.
        connection.cursor().executemany(statement, rows)


def _tables_in(connection: psycopg.Connection[Any], schema: str) -> set[str]:
    """Which of complaint_flow's table names exist in ``schema``."""
    rows = connection.execute(
        "SELECT c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY(%s)",
        (schema, [_SCHEMA_TABLE, *_TABLES]),
    ).fetchall()
    return {name for (name,) in rows}


def _where(schema: str, location: PostgresLocation) -> str:
    return f"PostgreSQL schema {schema!r} at {location.display}"


def _connect(location: PostgresLocation) -> psycopg.Connection[Any]:
    """A connection outside any pool, for preparing or upgrading the schema."""
    try:
        return psycopg.connect(
            location.conninfo, autocommit=True, **dict(location.connect_defaults)
        )
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot connect to PostgreSQL at {location.display!r} ({exc}); check that "
            "the server runs and that the URL's host, port, user, password and "
            "database are right"
        ) from exc


def _schema_name(connection: psycopg.Connection[Any], location: PostgresLocation) -> str:
    """The schema the URL names, else the connection's current one.

    Raises:
        StoreError: the URL names none and the search_path names no existing schema.
    """
    schema = location.schema
    if schema is None:
        (schema,) = connection.execute("SELECT current_schema()").fetchall()[0]
        if schema is None:
            raise StoreError(
                f"the search_path of {location.display!r} names no existing "
                "schema; add ?schema=complaint_flow to the URL (it is created "
                "if missing)"
            )
    return schema


def _locked_schema(connection: psycopg.Connection[Any], location: PostgresLocation) -> str:
    """Take the schema's advisory lock, create the schema if missing, and search it.

    Runs inside the caller's transaction; the lock is held until it ends, so that
    creations and upgrades of one schema happen one at a time.
    """
    schema = _schema_name(connection, location)
    connection.execute(_SCHEMA_LOCK, (f"complaint_flow schema {schema}",))
    if not _schema_exists(connection, schema):
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    connection.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    return schema


def _schema_exists(connection: psycopg.Connection[Any], schema: str) -> bool:
    return bool(
        connection.execute(
            "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s", (schema,)
        ).fetchall()
    )


def _create_tables(connection: psycopg.Connection[Any]) -> None:
    """Create the current schema's tables, inside the caller's transaction."""
    for statement in _SCHEMA:
        connection.execute(statement)
    connection.execute(f"INSERT INTO {_SCHEMA_TABLE} (version) VALUES (%s)", (SCHEMA_VERSION,))


def _stored_version(connection: psycopg.Connection[Any], tables: set[str], where: str) -> int:
    """The schema version complaint_flow's tables record (``search_path`` is their schema).

    Raises:
        StoreError: the tables are another application's, or the version table is
            damaged.
    """
    if _SCHEMA_TABLE not in tables:
        shown = ", ".join(sorted(tables))
        raise StoreError(
            f"{where} holds tables named like complaint_flow's ({shown}) but no "
            f"{_SCHEMA_TABLE} table: they belong to another application, and "
            "complaint_flow leaves them untouched. Add ?schema=complaint_flow to the "
            "URL to keep complaint_flow's tables in a schema of their own."
        )
    rows = connection.execute(f"SELECT version FROM {_SCHEMA_TABLE}").fetchall()
    versions = [row[0] for row in rows]
    if len(versions) != 1 or not isinstance(versions[0], int):
        raise StoreError(
            f"{where} has a damaged {_SCHEMA_TABLE} table ({versions!r} instead "
            "of one version number); restore the database from a backup"
        )
    found: int = versions[0]
    return found


def _newer_error(where: str, found: int) -> SchemaVersionError:
    return newer_error(where, found, SCHEMA_VERSION)


def _migration_steps(where: str, found: int) -> list[tuple[int, tuple[str, ...]]]:
    # The module's own SCHEMA_VERSION and MIGRATIONS, read at call time.
    return migration_steps(where, found, SCHEMA_VERSION, MIGRATIONS)


def _run_step(
    connection: psycopg.Connection[Any], where: str, version: int, statements: tuple[str, ...]
) -> None:
    for statement in statements:
        try:
            connection.execute(statement)
        except psycopg.Error as exc:
            raise step_failed(where, version, statement, exc) from exc


def schema_version(url: str) -> int | None:
    """The complaint_flow schema version of the PostgreSQL schema at ``url``, reading only.

    Nothing is created or written: the reads run in a read-only transaction.

    Args:
        url: a ``postgresql://`` store URL (see :func:`parse_postgres_url`).

    Returns:
        The version recorded in the schema, or None when there is no complaint_flow
        schema yet (the schema does not exist or holds none of its tables).

    Raises:
        StoreError: the URL is malformed, the server cannot be reached, or the
            schema holds tables of another application (they are left untouched).
    """
    location = parse_postgres_url(url)
    connection = _connect(location)
    try:
        with connection.transaction():
            connection.execute("SET TRANSACTION READ ONLY")
            schema = _schema_name(connection, location)
            if not _schema_exists(connection, schema):
                return None
            tables = _tables_in(connection, schema)
            if not tables:
                return None
            connection.execute(
                sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema))
            )
            return _stored_version(connection, tables, _where(schema, location))
    except psycopg.Error as exc:
        raise StoreError(
            f"cannot read the complaint_flow schema version at {location.display!r}: {exc}"
        ) from exc
    finally:
        connection.close()


def upgrade(url: str) -> tuple[int, int]:
    """Bring the PostgreSQL schema at ``url`` to :data:`SCHEMA_VERSION`, all or nothing.

    In one transaction, under the advisory lock that also serialises first opens,
    it reads the version, runs the steps of :data:`MIGRATIONS` from it up to
    :data:`SCHEMA_VERSION` and records the new version. A failure rolls everything
    back. A schema with no complaint_flow tables yet gets them, as opening it would.
    Stop the workers using the database first: they run the code of the old version.

    Args:
        url: a ``postgresql://`` store URL (see :func:`parse_postgres_url`).

    Returns:
        The versions ``(before, after)``: ``(0, SCHEMA_VERSION)`` when the tables
        were created, ``(v, v)`` when they were already current.

    Raises:
        SchemaVersionError: the schema is newer than this complaint_flow, or no
            migration step leads from its version; nothing was changed.
        StoreError: the URL is malformed, the server cannot be reached, the schema
            holds tables of another application (left untouched), or a migration
            step failed (rolled back).
    """
    location = parse_postgres_url(url)
    connection = _connect(location)
    try:
        with connection.transaction():
            schema = _locked_schema(connection, location)
            where = _where(schema, location)
            tables = _tables_in(connection, schema)
            if not tables:
                _create_tables(connection)
                before = 0
            else:
                before = _stored_version(connection, tables, where)
                for version, statements in _migration_steps(where, before):
                    _run_step(connection, where, version, statements)
                if before != SCHEMA_VERSION:
                    connection.execute(
                        f"UPDATE {_SCHEMA_TABLE} SET version = %s", (SCHEMA_VERSION,)
                    )
    except psycopg.Error as exc:
        raise StoreError(
            f"upgrading the complaint_flow tables at {location.display!r} failed ({exc}); "
            "nothing was changed. Check that the user may alter tables in that schema."
        ) from exc
    finally:
        connection.close()
    return before, SCHEMA_VERSION


def open_postgres_store(url: str) -> PostgresStore:
    """Open (creating its tables if needed) the PostgreSQL store at ``url``.

    Args:
        url: ``postgresql://user[:password]@host[:port]/database`` (or
            ``postgres://…``), optionally with ``?pool_size=``, ``?pool_min_size=``,
            ``?pool_timeout=`` and ``?schema=`` (see :func:`parse_postgres_url`) and
            any libpq parameter.

    Raises:
        StoreError: the URL is malformed, the server cannot be reached, or the schema
            holds tables of another application (they are left untouched).
        SchemaVersionError: the tables were written by another version of
            complaint_flow; the message says what to do.
    """
    return PostgresStore(url, parse_postgres_url(url))


__all__ = [
    "DEFAULT_POOL_MIN_SIZE",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_POOL_TIMEOUT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SCHEMES",
    "PostgresLocation",
    "PostgresStore",
    "hide_password",
    "open_postgres_store",
    "parse_postgres_url",
    "schema_version",
    "upgrade",
]
