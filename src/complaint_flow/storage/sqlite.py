"""``sqlite:///path.db``: the embedded default store, durable and shared safely.

One database file holds complaints, their events, their outbox messages, the
counters of human references, conduct records, and the channel part's message
links, quarantined messages and cursors. Several threads and several processes may use the
same file at once: every write is one ``BEGIN IMMEDIATE`` transaction that checks
the version the writer read, so a stale write raises ``ConcurrencyError`` and
writes nothing.

Durability: the database runs in WAL mode with ``synchronous=FULL`` unless the URL
asks for ``?synchronous=NORMAL`` (faster; a power cut may then lose the last
commits, never corrupt the file). The schema is versioned; a file written by
another version of complaint_flow, or by something else entirely, is refused
without being touched. :func:`upgrade` (``complaint-flow db upgrade URL``) brings an
older file up to date with the steps of :data:`MIGRATIONS`, and :func:`schema_version`
(``complaint-flow db version URL``) tells which version a file has.

Erasure: connections run with ``secure_delete`` on, so deleted and replaced
rows are overwritten with zeros rather than left in free space, and after an
erasure (:meth:`SQLiteStore.rewrite`, :meth:`SQLiteStore.conduct_rewrite`,
:meth:`SQLiteStore.purge`) the write-ahead log is checkpointed and truncated
(:meth:`SQLiteStore.checkpoint`), so the erased data is in neither file.
Backups and copies of the file made before are another matter.
"""

from __future__ import annotations

import itertools
import logging
import operator
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote

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
from complaint_flow.storage.sql_actions import SQLActions, action_rows, event_rows
from complaint_flow.storage.sql_channel import SQLChannel
from complaint_flow.storage.sql_reads import RecentVersions, SQLDialect, SQLReads
from complaint_flow.storage.sql_reports import SQLITE_JSON, SQLReports

logger = logging.getLogger("complaint_flow.storage.sqlite")

SCHEMA_VERSION: Final = 5
"""The schema version this code reads and writes."""

# Schema version 4: the channel part (message links, the quarantine, cursors). The
# creation and the step 3 -> 4 share these statements as released; a later change
# is a new step, never an edit here.
_CHANNEL_SCHEMA: Final = (
    # Looked up by message id: WITHOUT ROWID keeps the rows in that one b-tree.
    """CREATE TABLE message_links (
        message_id TEXT PRIMARY KEY,
        complaint_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    # Its entries carry the primary key: (complaint_id, at, message_id), the order
    # links_of reads; purge deletes through it too.
    "CREATE INDEX message_links_by_complaint ON message_links (complaint_id, at)",
    """CREATE TABLE quarantined_messages (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        channel TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        complaint_id TEXT,
        note TEXT NOT NULL,
        size INTEGER NOT NULL
    )""",
    """CREATE INDEX quarantined_messages_by_status ON quarantined_messages
        (status, received_at, id)""",
    """CREATE INDEX quarantined_messages_by_received_at ON quarantined_messages
        (received_at, id)""",
    # The bytes apart: SQLite rewrites a whole row on every update, and a status
    # change must not rewrite megabytes.
    """CREATE TABLE quarantined_bytes (
        id TEXT PRIMARY KEY REFERENCES quarantined_messages (id),
        raw BLOB NOT NULL
    )""",
    """CREATE TABLE channel_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID""",
)

# Schema version 5: corrective actions (latest version, with the columns their reads
# filter and sort on) and their events. The creation and the step 4 -> 5 share these
# statements as released.
_ACTION_SCHEMA: Final = (
    """CREATE TABLE corrective_actions (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        check_due_at INTEGER,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL
    )""",
    # Overdue actions: a range of due times within the unfinished statuses.
    "CREATE INDEX corrective_actions_by_status ON corrective_actions (status, due_at, id)",
    "CREATE INDEX corrective_actions_by_owner ON corrective_actions (owner_id, due_at, id)",
    # Only done actions wait for a check: the index holds those alone.
    """CREATE INDEX corrective_actions_check_due ON corrective_actions (check_due_at, id)
        WHERE check_due_at IS NOT NULL""",
    """CREATE TABLE action_events (
        action_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (action_id, seq)
    )""",
)

MIGRATIONS: Final[Mapping[int, tuple[str, ...]]] = MappingProxyType(
    {
        # 1 -> 2: outbox retries with backoff and claims by concurrent dispatchers.
        1: (
            "ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER",
            "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
            "ALTER TABLE outbox ADD COLUMN claimed_until INTEGER",
        ),
        # 2 -> 3: conduct records (the stop procedure) and their events; the outbox
        # loses its foreign key to complaints, since conduct notices share it.
        # SQLite cannot drop a constraint: the outbox is rebuilt the documented
        # 12-step way (https://www.sqlite.org/lang_altertable.html#otheralter),
        # keeping every row with its position and recreating the indexes.
        2: (
            """CREATE TABLE outbox_v3 (
                position INTEGER PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                complaint_id TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                body TEXT NOT NULL,
                next_attempt_at INTEGER,
                claimed_by TEXT,
                claimed_until INTEGER
            )""",
            """INSERT INTO outbox_v3 (position, key, complaint_id, status, created_at, body,
                next_attempt_at, claimed_by, claimed_until)
            SELECT position, key, complaint_id, status, created_at, body, next_attempt_at,
                claimed_by, claimed_until FROM outbox""",
            "DROP TABLE outbox",
            "ALTER TABLE outbox_v3 RENAME TO outbox",
            "CREATE INDEX outbox_by_complaint ON outbox (complaint_id)",
            "CREATE INDEX outbox_pending ON outbox (position) WHERE status = 'pending'",
            """CREATE TABLE conduct_records (
                customer_id TEXT PRIMARY KEY,
                status TEXT NOT NULL,
                review_at INTEGER,
                review_items INTEGER NOT NULL,
                version INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                body TEXT NOT NULL
            )""",
            """CREATE INDEX conduct_records_by_review_at ON conduct_records
                (review_at, customer_id) WHERE review_at IS NOT NULL""",
            """CREATE INDEX conduct_records_with_review_items ON conduct_records
                (customer_id) WHERE review_items > 0""",
            "CREATE INDEX conduct_records_by_status ON conduct_records (status, customer_id)",
            """CREATE TABLE conduct_events (
                customer_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                kind TEXT NOT NULL,
                at INTEGER NOT NULL,
                body TEXT NOT NULL,
                PRIMARY KEY (customer_id, seq)
            )""",
        ),
        # 3 -> 4: the channel part: message links, the quarantine and cursors.
        3: _CHANNEL_SCHEMA,
        # 4 -> 5: corrective actions and their events.
        4: _ACTION_SCHEMA,
    }
)
"""The statements that take a database from schema version N to N + 1, by N.

A release that changes the schema raises :data:`SCHEMA_VERSION` and adds the step
from the version before (a new file gets the current schema directly); a released
step is never edited, since files out there were upgraded by it. :func:`upgrade` runs
the steps in one transaction with foreign keys off (SQLite's way of rebuilding a
table) and checks them before committing.
"""

BUSY_TIMEOUT_SECONDS: Final = 30.0
"""How long a writer waits for another connection's write transaction to finish."""

SYNCHRONOUS_MODES: Final = ("FULL", "EXTRA", "NORMAL", "OFF")
"""The ``?synchronous=`` values a URL may ask for (the first is the default).

``NORMAL`` may lose the last commits on a power cut; ``OFF`` may corrupt the file
on one and is only for data that can be rebuilt (bulk loads, benchmarks).
"""

_SCHEMA_TABLE = "complaint_flow_schema"

_SCHEMA: Final = (
    f"CREATE TABLE {_SCHEMA_TABLE} (version INTEGER NOT NULL)",
    # Columns are what queries filter and sort on; ``body`` (the codec's JSON) is
    # the complaint itself. Datetime columns hold microseconds since 1970-01-01 UTC:
    # sorting by them is chronological whatever offset a datetime was given in, and
    # small integers keep the indexes compact (sqlite: datetime(x / 1e6, 'unixepoch')).
    """CREATE TABLE complaints (
        id TEXT PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        state TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        category TEXT NOT NULL,
        severity TEXT NOT NULL,
        channel TEXT NOT NULL,
        external_id TEXT,
        received_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        due_at INTEGER,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE UNIQUE INDEX complaints_by_external_id ON complaints (channel, external_id)
        WHERE external_id IS NOT NULL""",
    # Narrow entries (no id: ties on received_at are rare and sorted afterwards)
    # keep these indexes small, so a commit rewrites fewer of their pages.
    "CREATE INDEX complaints_by_received_at ON complaints (received_at)",
    "CREATE INDEX complaints_by_state ON complaints (state, received_at)",
    "CREATE INDEX complaints_by_customer ON complaints (customer_id, received_at)",
    "CREATE INDEX complaints_by_category ON complaints (category, received_at)",
    # Only complaints with a deadline are in it, so a sweep costs O(due), not O(all).
    "CREATE INDEX complaints_due ON complaints (due_at, id) WHERE due_at IS NOT NULL",
    # A rowid table: new events append to its last page, and only the small
    # primary-key index is written at a random place (a WITHOUT ROWID table would
    # split its wide leaves at random places, writing more pages per commit).
    """CREATE TABLE events (
        complaint_id TEXT NOT NULL REFERENCES complaints (id),
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (complaint_id, seq)
    )""",
    # ``position`` records commit order: pending messages are delivered oldest first.
    # ``next_attempt_at`` (None: at once) is copied from the body to filter on; a
    # claim (``claimed_by`` until ``claimed_until``) keeps other dispatchers away.
    # ``complaint_id`` is a complaint's id or a conduct record's (``conduct:…``),
    # hence no foreign key.
    """CREATE TABLE outbox (
        position INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        complaint_id TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL,
        next_attempt_at INTEGER,
        claimed_by TEXT,
        claimed_until INTEGER
    )""",
    "CREATE INDEX outbox_by_complaint ON outbox (complaint_id)",  # rowid = position
    "CREATE INDEX outbox_pending ON outbox (position) WHERE status = 'pending'",
    """CREATE TABLE reference_counters (
        prefix TEXT NOT NULL,
        year INTEGER NOT NULL,
        last_number INTEGER NOT NULL,
        PRIMARY KEY (prefix, year)
    ) WITHOUT ROWID""",
    # A customer's conduct record (stop procedure), latest version only, as for
    # complaints. ``review_items`` is the length of its review queue; the partial
    # indexes hold only records with a review date or a non-empty queue, so the
    # sweeps that look for them cost O(found), not O(all).
    """CREATE TABLE conduct_records (
        customer_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        review_at INTEGER,
        review_items INTEGER NOT NULL,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        body TEXT NOT NULL
    )""",
    """CREATE INDEX conduct_records_by_review_at ON conduct_records
        (review_at, customer_id) WHERE review_at IS NOT NULL""",
    """CREATE INDEX conduct_records_with_review_items ON conduct_records
        (customer_id) WHERE review_items > 0""",
    "CREATE INDEX conduct_records_by_status ON conduct_records (status, customer_id)",
    """CREATE TABLE conduct_events (
        customer_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (customer_id, seq)
    )""",
    *_CHANNEL_SCHEMA,
    *_ACTION_SCHEMA,
)

_INSERT_COMPLAINT: Final = """INSERT INTO complaints (reference, state, customer_id, category,
    channel, external_id, received_at, due_at, workflow, severity, updated_at, version, body, id)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""
_NEXT_REFERENCE: Final = """INSERT INTO reference_counters (prefix, year, last_number)
    VALUES (?, ?, 1)
    ON CONFLICT (prefix, year) DO UPDATE SET last_number = last_number + 1
    RETURNING last_number"""
_INSERT_EVENT: Final = """INSERT INTO events (complaint_id, seq, kind, at, body)
    VALUES (?, ?, ?, ?, ?)"""
_INSERT_MESSAGE: Final = """INSERT INTO outbox (key, complaint_id, status, created_at, body,
    next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)"""
_ADVANCE_REFERENCE: Final = """INSERT INTO reference_counters (prefix, year, last_number)
    VALUES (?, ?, ?)
    ON CONFLICT (prefix, year) DO UPDATE SET last_number = last_number + excluded.last_number
    RETURNING last_number"""
_REPLACE_MESSAGE: Final = """UPDATE outbox SET body = ?, status = ?, next_attempt_at = ?,
    claimed_by = NULL, claimed_until = NULL WHERE key = ? AND complaint_id = ?"""
_INSERT_CONDUCT: Final = """INSERT INTO conduct_records (status, review_at, review_items,
    version, updated_at, body, customer_id) VALUES (?, ?, ?, ?, ?, ?, ?)"""
_UPDATE_CONDUCT: Final = """UPDATE conduct_records SET status = ?, review_at = ?,
    review_items = ?, version = ?, updated_at = ?, body = ? WHERE customer_id = ? AND version = ?"""
_INSERT_CONDUCT_EVENT: Final = """INSERT INTO conduct_events (customer_id, seq, kind, at, body)
    VALUES (?, ?, ?, ?, ?)"""
_DUE: Final = "(next_attempt_at IS NULL OR next_attempt_at <= ?)"
_CLAIM: Final = f"""UPDATE outbox SET claimed_by = ?, claimed_until = ?
    WHERE position IN (SELECT position FROM outbox WHERE status = 'pending' AND {_DUE}
        AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY position LIMIT ?)
    RETURNING position, body"""

# The indexed columns of ``complaints`` in the order of _indexed_columns(). An
# update sets only those that changed: SQLite then leaves the other indexes alone.
_INDEXED: Final = (
    "reference",
    "state",
    "customer_id",
    "category",
    "channel",
    "external_id",
    "received_at",
    "due_at",
)
_ALL_CHANGED: Final = (True,) * len(_INDEXED)
_UPDATE_STATEMENTS: dict[tuple[bool, ...], str] = {}


# A checkpoint after an erasure waits this long for readers, this many times.
_CHECKPOINT_WAIT_MS: Final = 200
_CHECKPOINT_ATTEMPTS: Final = 5
_CHECKPOINT_PAUSE_SECONDS: Final = 0.02

_Prepared = tuple[
    list[tuple[str, int, str, int, str]],
    list[tuple[str, str, str, int, str, int | None]],
    tuple[Any, ...],
    tuple[str, list[Any]] | None,
]
_PreparedConduct = tuple[
    tuple[Any, ...],
    list[tuple[str, int, str, int, str]],
    list[tuple[str, str, str, int, str, int | None]],
]

_open_stores: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()
# Connections inherited through fork() belong to the parent; the child never
# closes them (that could release the parent's locks) and keeps them referenced.
_inherited_connections: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._forget_inherited_connections()


os.register_at_fork(after_in_child=_after_fork_in_child)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch: how datetime columns are stored."""
    return (moment - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> datetime:
    """A datetime column's value as an aware datetime, in UTC."""
    return _EPOCH + micros * _MICROSECOND


# The shared reads' queries, in SQLite's words: ``?`` parameters, ``LIMIT -1`` for
# no limit, times as integer microseconds.
_DIALECT: Final = SQLDialect(placeholder="?", no_limit=-1, moment=_micros)


def _indexed_columns(complaint: Complaint) -> tuple[Any, ...]:
    return (
        complaint.reference,
        complaint.state,
        complaint.customer.id,
        complaint.category,
        complaint.channel,
        complaint.external_id,
        _micros(complaint.received_at),
        None if complaint.due_at is None else _micros(complaint.due_at),
    )


def _update_statement(changed: tuple[bool, ...]) -> str:
    statement = _UPDATE_STATEMENTS.get(changed)
    if statement is None:
        columns = [name for name, is_changed in zip(_INDEXED, changed, strict=True) if is_changed]
        columns += ["workflow", "severity", "updated_at", "version", "body"]
        assignments = ", ".join(f"{name} = ?" for name in columns)
        statement = f"UPDATE complaints SET {assignments} WHERE id = ? AND version = ?"
        _UPDATE_STATEMENTS[changed] = statement
    return statement


def _message_row(message: OutboxMessage) -> tuple[str, str, str, int, str, int | None]:
    return (
        message.key,
        message.complaint_id,
        message.status.value,
        _micros(message.created_at),
        to_json(message),
        _optional_micros(message.next_attempt_at),
    )


def _optional_micros(moment: datetime | None) -> int | None:
    return None if moment is None else _micros(moment)


def _event_row(event: Event) -> tuple[str, int, str, int, str]:
    return (event.complaint_id, event.seq, event.kind, _micros(event.at), to_json(event))


def _with_reference(complaint: Complaint, reference: str) -> Complaint:
    """A copy of a just-built complaint carrying its allocated reference."""
    return attrs.evolve(complaint, reference=reference)


def _prepare_conduct(commit: ConductCommit) -> _PreparedConduct:
    record = commit.record
    customer_id = record.customer_id
    row = (
        record.status.value,
        _optional_micros(record.review_at),
        len(record.review_queue),
        record.version,
        _micros(record.updated_at),
        to_json(record),
        customer_id,
    )
    events = [
        (customer_id, event.seq, event.kind, _micros(event.at), to_json(event))
        for event in commit.events
    ]
    return row, events, [_message_row(message) for message in commit.outbox]


def _replacement_messages(
    subject: str, messages: Sequence[OutboxMessage]
) -> list[tuple[str, str, int | None, str, str]]:
    rows = []
    for message in messages:
        if message.complaint_id != subject:
            raise StoreError(
                f"cannot rewrite outbox message {message.key!r} of {message.complaint_id!r} "
                f"as part of {subject!r}: only the subject's own messages can be replaced. "
                "Nothing was written."
            )
        rows.append(
            (
                to_json(message),
                message.status.value,
                _optional_micros(message.next_attempt_at),
                message.key,
                subject,
            )
        )
    return rows


@attrs.frozen
class SQLiteLocation:
    """Where an ``sqlite:///`` URL points and how durably to write there."""

    path: str
    synchronous: str = SYNCHRONOUS_MODES[0]


def parse_sqlite_url(url: str) -> SQLiteLocation:
    """Read a store URL of the form ``sqlite:///relative.db`` or ``sqlite:////abs/path.db``.

    An optional query ``?synchronous=`` sets the durability: ``FULL`` (the
    default), ``EXTRA``, ``NORMAL`` or ``OFF`` (see :data:`SYNCHRONOUS_MODES`). A
    relative path is resolved against the current directory now, once.

    Args:
        url: the store URL.

    Raises:
        StoreError: the URL is not a usable SQLite store URL; the message says why.
    """
    scheme, separator, rest = url.partition("://")
    if scheme.lower() != "sqlite" or not separator:
        raise _bad_url(url, "it does not start with 'sqlite://'")
    location, _, query = rest.partition("?")
    if not location.startswith("/"):
        raise _bad_url(
            url,
            "a SQLite URL has no host, so it needs three slashes before a relative path "
            "and four before an absolute one",
        )
    path = unquote(location[1:])
    if not path:
        raise _bad_url(url, "it names no database file")
    if path == ":memory:" or path.startswith("file::memory:"):
        raise _bad_url(
            url,
            "an in-memory SQLite database would be private to one connection; use "
            "'memory://' for a store kept in memory",
        )
    synchronous = SYNCHRONOUS_MODES[0]
    for name, value in parse_qsl(query, keep_blank_values=True, strict_parsing=False):
        if name != "synchronous":
            raise _bad_url(url, f"unknown option {name!r}; the only option is synchronous=")
        if value.upper() not in SYNCHRONOUS_MODES:
            raise _bad_url(
                url,
                f"synchronous={value!r} is not supported; use one of "
                f"{', '.join(SYNCHRONOUS_MODES)}",
            )
        synchronous = value.upper()
    return SQLiteLocation(path=os.path.abspath(path), synchronous=synchronous)


def _bad_url(url: str, why: str) -> StoreError:
    return StoreError(
        f"cannot open store {url!r}: {why}. Write e.g. 'sqlite:///complaints.db' (relative "
        "to the current directory) or 'sqlite:////var/lib/app/complaints.db' (absolute), "
        "optionally with '?synchronous=NORMAL'."
    )


class SQLiteStore:
    """A store in one SQLite file, shared by threads (one connection each) and processes.

    Build it with :func:`open_sqlite_store`. Connections are opened per thread on
    first use and all closed by :meth:`close`.
    """

    def __init__(self, url: str, location: SQLiteLocation) -> None:
        self.url = url
        self.path = location.path
        self.synchronous = location.synchronous
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        # Besides saving reads, a remembered version's indexed columns tell an
        # update which indexes change (see _update).
        self._recent = RecentVersions()
        self._reads = SQLReads(_DIALECT, self._fetch, self._recent)
        self._channel = SQLChannel(_DIALECT, _instant, self._fetch, self._write_all)
        self._actions = SQLActions(_DIALECT, self._fetch)
        self._closed = False
        connection = self._connect()
        try:
            self._prepare_database(connection)
        except BaseException:
            connection.close()
            raise
        self._local.connection = connection
        self._connections.append((threading.current_thread(), connection))
        _open_stores.add(self)

    # -- connections --------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit; writes say BEGIN IMMEDIATE themselves
                check_same_thread=False,  # close() closes every thread's connection
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the SQLite database {self.path!r} ({exc}); check that its "
                "directory exists and that this process may write there"
            ) from exc
        try:
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
            connection.execute("PRAGMA foreign_keys = ON")
            # Deleted and overwritten content is zeroed on its page, not just
            # unlinked: erased personal data must not stay readable in the file.
            connection.execute("PRAGMA secure_delete = ON")
        except sqlite3.Error as exc:
            connection.close()
            raise self._unusable(exc) from exc
        return connection

    def _connection(self) -> sqlite3.Connection:
        try:
            connection: sqlite3.Connection = self._local.connection
        except AttributeError:
            connection = self._connect_this_thread()
        if self._closed:
            raise self._closed_error()
        return connection

    def _connect_this_thread(self) -> sqlite3.Connection:
        if self._closed:
            raise self._closed_error()
        connection = self._connect()
        with self._lock:
            if self._closed:  # closed while this thread was connecting
                connection.close()
                raise self._closed_error()
            # Threads that ended left their connection behind: close those now.
            alive = []
            for thread, other in self._connections:
                if thread.is_alive():
                    alive.append((thread, other))
                else:
                    other.close()
            alive.append((threading.current_thread(), connection))
            self._connections = alive
        self._local.connection = connection
        return connection

    def _forget_inherited_connections(self) -> None:
        """After fork(), in the child: leave the parent's connections alone, open new ones."""
        _inherited_connections.extend(connection for _, connection in self._connections)
        self._connections = []
        self._local = threading.local()
        self._lock = threading.Lock()
        self._recent.after_fork()

    def _closed_error(self) -> StoreError:
        return StoreError(f"store {self.url!r} is closed; open a new engine")

    def _unusable(self, exc: sqlite3.Error) -> StoreError:
        return _not_a_database(self.path, exc)

    # -- schema -------------------------------------------------------------

    def _prepare_database(self, connection: sqlite3.Connection) -> None:
        try:
            tables = _schema_objects(connection)
        except sqlite3.Error as exc:
            raise self._unusable(exc) from exc
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                if not tables:
                    tables = self._create_schema(connection)
                self._check_schema(connection, tables)
                # Only now, once the file is known to be ours: switching to WAL writes to it.
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                # Several processes opening a new file at once: SQLite answers "locked"
                # at once, without its busy wait, when the switch to WAL would deadlock.
                # Every step above is safe to repeat.
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                raise StoreError(
                    f"cannot prepare the SQLite database {self.path!r}: {exc}"
                ) from exc
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot prepare the SQLite database {self.path!r}: {exc}"
                ) from exc
        if str(mode).lower() != "wal":
            raise StoreError(
                f"SQLite could not switch {self.path!r} to WAL mode (it stays in {mode!r} "
                "mode); keep the database on a local file system"
            )

    def _create_schema(self, connection: sqlite3.Connection) -> set[str]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have created the schema while we waited for the lock.
            tables = _schema_objects(connection)
            if not tables:
                _create_tables(connection)
                tables = _schema_objects(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return tables

    def _check_schema(self, connection: sqlite3.Connection, tables: set[str]) -> None:
        found = _stored_version(connection, tables, self.path)
        if found > SCHEMA_VERSION:
            raise _newer_error(self.path, found)
        if found < SCHEMA_VERSION:
            raise older_error(repr(self.path), found, SCHEMA_VERSION, "file", self.url)

    # -- writing ------------------------------------------------------------

    def commit(self, commit: Commit) -> Complaint:
        """Write the commit in one transaction and return the stored complaint.

        Raises:
            ConcurrencyError: the stored version is not ``commit.expected_version``
                (or, for a creation, the complaint id is taken).
            DuplicateIntakeError: a creation whose (channel, external_id) is taken.
            StoreError: the database refused the write (e.g. an outbox key is taken).
        """
        connection = self._connection()
        # Encode before taking the write lock, so that other writers wait less.
        prepared = self._prepare(commit)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                stored, columns = self._apply(connection, commit, prepared)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"committing complaint {commit.complaint.id!r}") from exc
        self._recent.remember(stored, columns)
        return stored

    def _prepare(self, commit: Commit) -> _Prepared:
        """The rows of a commit, encoded outside the write transaction."""
        complaint = commit.complaint
        columns = _indexed_columns(complaint)
        expected = commit.expected_version
        return (
            [_event_row(event) for event in commit.events],
            [_message_row(message) for message in commit.outbox],
            columns,
            self._update(complaint, expected, columns) if expected else None,
        )

    def _apply(
        self, connection: sqlite3.Connection, commit: Commit, prepared: _Prepared
    ) -> tuple[Complaint, tuple[Any, ...]]:
        """Write one prepared commit inside the caller's write transaction."""
        complaint = commit.complaint
        expected = commit.expected_version
        events, messages, columns, update = prepared
        if update is None:
            complaint, columns = self._insert(connection, commit, columns)
        elif connection.execute(*update).rowcount != 1:
            raise ConcurrencyError(complaint.id, expected)
        try:
            if len(events) == 1:
                connection.execute(_INSERT_EVENT, events[0])
            else:
                connection.executemany(_INSERT_EVENT, events)
        except sqlite3.IntegrityError:
            raise ConcurrencyError(complaint.id, expected) from None
        if messages:
            self._insert_messages(connection, messages)
        if commit.links:
            self._insert_links(connection, commit)
        return complaint, columns

    def commit_many(self, commits: Sequence[Commit]) -> list[Complaint]:
        """Write several commits (of different complaints) in one transaction.

        The fast path writes each table with one ``executemany`` and advances each
        reference counter once per (prefix, year). If the database refuses any of
        it, the transaction is rolled back and the commits are replayed one by one
        in a new transaction, which raises the error of the first offending commit
        (and writes nothing).

        Raises:
            StoreError: two commits are for the same complaint, or the database
                refused the write.
            ConcurrencyError, DuplicateIntakeError: as :meth:`commit`, for the first
                offending commit; nothing of the batch is written.
        """
        if not commits:
            return []
        ids = [commit.complaint.id for commit in commits]
        if len(set(ids)) != len(ids):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            raise StoreError(
                f"commit_many got several commits for complaint(s) {repeated!r}; a batch "
                "holds at most one commit per complaint. Nothing was written."
            )
        connection = self._connection()
        creations = [commit for commit in commits if commit.expected_version == 0]
        updates = [commit for commit in commits if commit.expected_version != 0]
        # Everything but the new complaints' bodies (which carry the references
        # allocated in the transaction) is encoded before taking the write lock.
        events = [_event_row(event) for commit in commits for event in commit.events]
        messages = [_message_row(message) for commit in commits for message in commit.outbox]
        links = self._channel.link_rows([link for commit in commits for link in commit.links])
        update_rows: dict[str, list[list[Any]]] = {}
        update_columns: dict[str, tuple[Any, ...]] = {}
        for commit in updates:
            columns = _indexed_columns(commit.complaint)
            statement, parameters = self._update(commit.complaint, commit.expected_version, columns)
            update_rows.setdefault(statement, []).append(parameters)
            update_columns[commit.complaint.id] = columns
        counters: dict[tuple[str, int], int] = {}
        for commit in creations:
            assert commit.reference_prefix is not None  # checked by Commit
            group = (commit.reference_prefix, commit.complaint.received_at.year)
            counters[group] = counters.get(group, 0) + 1
        stored: dict[str, tuple[Complaint, tuple[Any, ...]]] = {}
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                try:
                    self._apply_many(
                        connection, creations, counters, update_rows, events, messages, stored
                    )
                    if links:  # a taken message id: replayed, it names its commit
                        connection.executemany(self._channel.insert_link, links)
                except sqlite3.IntegrityError:
                    connection.execute("ROLLBACK")
                    stored = self._replay(connection, commits)
                for commit in updates:
                    complaint = commit.complaint
                    stored.setdefault(complaint.id, (complaint, update_columns[complaint.id]))
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"committing a batch of {len(commits)} commits") from exc
        results = []
        for complaint_id in ids:
            complaint, columns = stored[complaint_id]
            self._recent.remember(complaint, columns)
            results.append(complaint)
        return results

    def _apply_many(
        self,
        connection: sqlite3.Connection,
        creations: list[Commit],
        counters: dict[tuple[str, int], int],
        update_rows: dict[str, list[list[Any]]],
        events: list[tuple[str, int, str, int, str]],
        messages: list[tuple[str, str, str, int, str, int | None]],
        stored: dict[str, tuple[Complaint, tuple[Any, ...]]],
    ) -> None:
        """The batch's fast path, inside the write transaction.

        Raises:
            sqlite3.IntegrityError: something of the batch is refused (a taken id,
                key or external id, a stale version): the caller replays the batch.
        """
        next_number: dict[tuple[str, int], int] = {}
        for (counter_prefix, counter_year), count in counters.items():
            (last,) = connection.execute(
                _ADVANCE_REFERENCE, (counter_prefix, counter_year, count)
            ).fetchone()
            next_number[counter_prefix, counter_year] = last - count + 1
        rows = []
        for commit in creations:
            complaint = commit.complaint
            prefix = commit.reference_prefix
            assert prefix is not None  # checked by Commit
            year = complaint.received_at.year
            number = next_number[prefix, year]
            next_number[prefix, year] = number + 1
            complaint = _with_reference(complaint, format_reference(prefix, year, number))
            columns = _indexed_columns(complaint)
            rows.append(
                (
                    *columns,
                    complaint.workflow,
                    complaint.severity.value,
                    _micros(complaint.updated_at),
                    complaint.version,
                    to_json(complaint),
                    complaint.id,
                )
            )
            stored[complaint.id] = (complaint, columns)
        if rows:
            connection.executemany(_INSERT_COMPLAINT, rows)
        for statement, parameters in update_rows.items():
            changed = connection.executemany(statement, parameters).rowcount
            if changed != len(parameters):
                raise sqlite3.IntegrityError("a stale version in the batch")
        connection.executemany(_INSERT_EVENT, events)
        if messages:
            connection.executemany(_INSERT_MESSAGE, messages)

    def _replay(
        self, connection: sqlite3.Connection, commits: Sequence[Commit]
    ) -> dict[str, tuple[Complaint, tuple[Any, ...]]]:
        """Apply the commits one by one in a new write transaction (left open).

        Raises the error of the first commit the database refuses; the caller
        then rolls back.
        """
        connection.execute("BEGIN IMMEDIATE")
        stored = {}
        for commit in commits:
            complaint, columns = self._apply(connection, commit, self._prepare(commit))
            stored[complaint.id] = (complaint, columns)
        return stored

    # -- erasure and retention ----------------------------------------------

    def rewrite(
        self, commit: Commit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> Complaint:
        """Apply ``commit`` and replace stored events and outbox messages, atomically.

        For erasing personal data. With ``secure_delete`` on, the replaced content
        is overwritten in the database file; the write-ahead log is then
        checkpointed so that no earlier page image keeps it (see
        :meth:`checkpoint`).

        Raises:
            ConcurrencyError: as :meth:`commit`; nothing is written.
            StoreError: an event or message to replace is not stored for that
                complaint; nothing is written.
        """
        complaint_id = commit.complaint.id
        event_rows = self._replacement_events(complaint_id, complaint_id, events)
        message_rows = _replacement_messages(complaint_id, outbox)
        connection = self._connection()
        prepared = self._prepare(commit)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                stored, columns = self._apply(connection, commit, prepared)
                self._replace(connection, complaint_id, "events", "complaint_id", event_rows)
                self._replace_messages(connection, complaint_id, message_rows)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"rewriting complaint {complaint_id!r}") from exc
        self._recent.remember(stored, columns)
        self._checkpoint_after_erasure()
        return stored

    def _replacement_events(
        self, subject: str, key: str, events: Sequence[Event]
    ) -> list[tuple[str, str, int, str, int]]:
        rows = []
        for event in events:
            if event.complaint_id != subject:
                raise StoreError(
                    f"cannot rewrite event {event.seq} of {event.complaint_id!r} as part of "
                    f"{subject!r}: only the subject's own events can be replaced. Nothing "
                    "was written."
                )
            rows.append((to_json(event), event.kind, _micros(event.at), key, event.seq))
        return rows

    def _replace(
        self,
        connection: sqlite3.Connection,
        subject: str,
        table: str,
        key_column: str,
        rows: list[tuple[str, str, int, str, int]],
    ) -> None:
        statement = (
            f"UPDATE {table} SET body = ?, kind = ?, at = ? WHERE {key_column} = ? AND seq = ?"
        )
        for row in rows:
            if connection.execute(statement, row).rowcount != 1:
                raise StoreError(
                    f"cannot rewrite event {row[-1]} of {subject!r}: it is not stored. "
                    "Only stored events can be replaced; nothing was written."
                )

    def _replace_messages(
        self,
        connection: sqlite3.Connection,
        subject: str,
        rows: list[tuple[str, str, int | None, str, str]],
    ) -> None:
        for row in rows:
            if connection.execute(_REPLACE_MESSAGE, row).rowcount != 1:
                raise StoreError(
                    f"cannot rewrite outbox message {row[3]!r} of {subject!r}: no such "
                    "message is stored for it. Nothing was written."
                )

    def purge(self, complaints: Mapping[str, int]) -> int:
        """Delete these complaints with their events, outbox messages and links (retention).

        ``complaints`` maps ids to the version the caller saw: a complaint whose
        stored version moved on (e.g. it was reopened), or that is unknown, is
        kept. The versions are checked in the deleting ``BEGIN IMMEDIATE``
        transaction, so no commit can come in between. With ``secure_delete`` on,
        the deleted rows are overwritten in the file; the write-ahead log is then
        checkpointed (see :meth:`checkpoint`).

        Returns:
            How many complaints were deleted.
        """
        wanted = list(complaints.items())
        if not wanted:
            return 0
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                keys = [
                    (complaint_id,)
                    for complaint_id, version in wanted
                    if connection.execute(
                        "SELECT 1 FROM complaints WHERE id = ? AND version = ?",
                        (complaint_id, version),
                    ).fetchone()
                ]
                connection.executemany("DELETE FROM outbox WHERE complaint_id = ?", keys)
                connection.executemany("DELETE FROM message_links WHERE complaint_id = ?", keys)
                connection.executemany("DELETE FROM events WHERE complaint_id = ?", keys)
                connection.executemany("DELETE FROM complaints WHERE id = ?", keys)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"purging {len(wanted)} complaints") from exc
        for (complaint_id,) in keys:
            self._recent.forget(complaint_id)
        if keys:
            self._checkpoint_after_erasure()
        return len(keys)

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database file and truncate it to nothing.

        Called after every erasure (:meth:`rewrite`, :meth:`conduct_rewrite`,
        :meth:`purge`): until then the ``-wal`` file may still hold earlier images
        of the changed pages, with the erased data in them. A connection in the
        middle of a read (another thread or process) keeps the log in use; the
        checkpoint is retried for about a second. If readers still hold it, the
        erasure is committed all the same but the old images stay in the ``-wal``
        file until a later checkpoint: the next erasure, a call to this method, or
        the last connection to the file closing.

        Returns:
            True when the log was emptied, False when readers kept it in use.
        """
        connection = self._connection()
        try:
            connection.execute(f"PRAGMA busy_timeout = {_CHECKPOINT_WAIT_MS}")
            try:
                for attempt in range(_CHECKPOINT_ATTEMPTS):
                    (busy, _, _) = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if not busy:
                        return True
                    time.sleep(_CHECKPOINT_PAUSE_SECONDS * (attempt + 1))
                return False
            finally:
                connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        except sqlite3.Error as exc:
            raise self._failed(exc, "checkpointing the write-ahead log") from exc

    def _checkpoint_after_erasure(self) -> None:
        # The erasure is committed: a failing checkpoint must not look like a failed
        # erasure (the caller would stop half-way); the next checkpoint catches up.
        try:
            if not self.checkpoint():
                logger.info("the -wal file of %r stays in use; checkpointed later", self.path)
        except StoreError as exc:
            logger.warning("could not checkpoint %r after an erasure: %s", self.path, exc)

    # -- conduct records ----------------------------------------------------

    def conduct_commit(self, commit: ConductCommit) -> ConductRecord:
        """Write a conduct record's new version with its events and notices atomically.

        Raises:
            ConcurrencyError: the stored version is not ``commit.expected_version``
                (for a creation: the customer already has a record).
            StoreError: the database refused the write (e.g. an outbox key is taken).
        """
        connection = self._connection()
        prepared = _prepare_conduct(commit)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                self._apply_conduct(connection, commit, prepared)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"committing conduct record {commit.record.id!r}") from exc
        return commit.record

    def _apply_conduct(
        self, connection: sqlite3.Connection, commit: ConductCommit, prepared: _PreparedConduct
    ) -> None:
        record = commit.record
        expected = commit.expected_version
        row, events, messages = prepared
        if expected == 0:
            try:
                connection.execute(_INSERT_CONDUCT, row)
            except sqlite3.IntegrityError:
                raise ConcurrencyError(record.id, 0) from None
        elif connection.execute(_UPDATE_CONDUCT, (*row, expected)).rowcount != 1:
            raise ConcurrencyError(record.id, expected)
        try:
            connection.executemany(_INSERT_CONDUCT_EVENT, events)
        except sqlite3.IntegrityError:
            raise ConcurrencyError(record.id, expected) from None
        if messages:
            self._insert_messages(connection, messages)

    def conduct_rewrite(
        self, commit: ConductCommit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> ConductRecord:
        """:meth:`rewrite` for a conduct record (erasure of personal data).

        Raises:
            ConcurrencyError: as :meth:`conduct_commit`; nothing is written.
            StoreError: an event or message to replace is not stored for that
                record; nothing is written.
        """
        record = commit.record
        event_rows = self._replacement_events(record.id, record.customer_id, events)
        message_rows = _replacement_messages(record.id, outbox)
        connection = self._connection()
        prepared = _prepare_conduct(commit)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                self._apply_conduct(connection, commit, prepared)
                self._replace(connection, record.id, "conduct_events", "customer_id", event_rows)
                self._replace_messages(connection, record.id, message_rows)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"rewriting conduct record {record.id!r}") from exc
        self._checkpoint_after_erasure()
        return record

    def _update(
        self, complaint: Complaint, expected: int, columns: tuple[Any, ...]
    ) -> tuple[str, list[Any]]:
        recent = self._recent.entry(complaint.id)
        if recent is not None and recent[0].version == expected:
            before = recent[1] if recent[1] is not None else _indexed_columns(recent[0])
            changed = tuple(map(operator.ne, before, columns))  # both have _INDEXED's length
        else:
            changed = _ALL_CHANGED
        parameters = list(itertools.compress(columns, changed))
        parameters += [
            complaint.workflow,
            complaint.severity.value,
            _micros(complaint.updated_at),
            complaint.version,
            to_json(complaint),
            complaint.id,
            expected,
        ]
        return _update_statement(changed), parameters

    def _insert(
        self, connection: sqlite3.Connection, commit: Commit, columns: tuple[Any, ...]
    ) -> tuple[Complaint, tuple[Any, ...]]:
        complaint = commit.complaint
        prefix = commit.reference_prefix
        assert prefix is not None  # checked by Commit
        year = complaint.received_at.year
        # Allocated inside the creating transaction: a refused creation uses up no number.
        (number,) = connection.execute(_NEXT_REFERENCE, (prefix, year)).fetchall()[0]
        complaint = attrs.evolve(complaint, reference=format_reference(prefix, year, number))
        columns = (complaint.reference, *columns[1:])
        try:
            connection.execute(
                _INSERT_COMPLAINT,
                (
                    *columns,
                    complaint.workflow,
                    complaint.severity.value,
                    _micros(complaint.updated_at),
                    complaint.version,
                    to_json(complaint),
                    complaint.id,
                ),
            )
        except sqlite3.IntegrityError:
            raise self._creation_conflict(connection, complaint) from None
        return complaint, columns

    def _creation_conflict(
        self, connection: sqlite3.Connection, complaint: Complaint
    ) -> ConcurrencyError | DuplicateIntakeError | StoreError:
        # Still inside the write transaction: what we read here is what the insert met.
        taken = connection.execute("SELECT 1 FROM complaints WHERE id = ?", (complaint.id,))
        if taken.fetchone() is not None:
            return ConcurrencyError(complaint.id, 0)
        if complaint.external_id is not None:
            row = connection.execute(
                "SELECT id FROM complaints WHERE channel = ? AND external_id = ?",
                (complaint.channel, complaint.external_id),
            ).fetchone()
            if row is not None:
                return DuplicateIntakeError(
                    complaint.channel, complaint.external_id, existing_id=row[0]
                )
        return StoreError(
            f"the reference {complaint.reference!r} is already taken although its counter "
            f"was just advanced: the reference_counters table of {self.path!r} was altered; "
            "restore the database from a backup"
        )

    def _insert_messages(
        self, connection: sqlite3.Connection, messages: Sequence[tuple[Any, ...]]
    ) -> None:
        try:
            connection.executemany(_INSERT_MESSAGE, messages)
        except sqlite3.IntegrityError:
            keys = [row[0] for row in messages]
            raise StoreError(
                f"an outbox message key of {keys!r} is already stored (or repeated); "
                "outbox keys must be unique. Nothing was written."
            ) from None

    def outbox_claim(
        self, now: datetime, limit: int, lease: timedelta, owner: str
    ) -> list[OutboxMessage]:
        """Claim up to ``limit`` due, unclaimed pending messages for ``owner``, oldest first.

        One ``BEGIN IMMEDIATE`` transaction: concurrent claimers (threads or
        processes) wait for each other, so no message is claimed twice at once.
        """
        connection = self._connection()
        at = _micros(now)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                rows = connection.execute(
                    _CLAIM, (owner, _micros(now + lease), at, at, limit)
                ).fetchall()
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, "claiming outbox messages") from exc
        rows.sort()
        return [from_json(body, OutboxMessage) for _, body in rows]

    def outbox_update(
        self, message: OutboxMessage, *, expected_status: OutboxStatus = OutboxStatus.PENDING
    ) -> bool:
        """Record a delivery outcome on the stored message, if its status is still expected.

        Only the delivery state is taken from ``message``; the content stays as
        stored (an erasure meanwhile is kept). The stored body is read and written
        in one ``BEGIN IMMEDIATE`` transaction, so no other writer comes in between.

        Returns:
            Whether the message was updated (False: no message with that key, or
            its stored status is not ``expected_status``; nothing changed).
        """
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                row = connection.execute(
                    "SELECT body FROM outbox WHERE key = ? AND status = ?",
                    (message.key, expected_status.value),
                ).fetchone()
                if row is not None:
                    updated = with_delivery_state(from_json(row[0], OutboxMessage), message)
                    connection.execute(
                        "UPDATE outbox SET status = ?, body = ?, next_attempt_at = ?, "
                        "claimed_by = NULL, claimed_until = NULL WHERE key = ?",
                        (
                            updated.status.value,
                            to_json(updated),
                            _optional_micros(updated.next_attempt_at),
                            message.key,
                        ),
                    )
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"updating outbox message {message.key!r}") from exc
        return row is not None

    # -- reading: the shared SQL queries (sql_reads.py) in SQLite's dialect --------

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

    def _fetch(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        """All rows of one query on this thread's connection (the shared reads' ``fetch``)."""
        connection = self._connection()
        try:
            return connection.execute(sql, tuple(parameters)).fetchall()
        except sqlite3.Error as exc:
            raise self._failed(exc, "reading") from exc

    def _failed(self, exc: sqlite3.Error, doing: str) -> StoreError:
        if self._closed:
            return self._closed_error()
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StoreError(
                f"{doing} failed: {self.path!r} stayed locked by another connection for "
                f"more than {BUSY_TIMEOUT_SECONDS:g} s ({exc}); nothing was written. Look for "
                "a process holding a long transaction and try again."
            )
        return StoreError(
            f"{doing} failed on SQLite database {self.path!r}: {exc}; nothing was written"
        )

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Close every thread's connection; the store is not used afterwards.

        Closing twice is harmless. Later calls raise ``StoreError``.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            connections, self._connections = self._connections, []
        self._recent.clear()
        _open_stores.discard(self)
        for _, connection in connections:
            connection.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"synchronous={self.synchronous}"
        return f"SQLiteStore({self.url!r}, {state})"

    # -- the channel part: the shared SQL (sql_channel.py) in SQLite's dialect -------

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
        """Write a quarantined message's state if its status is still ``expected_status``."""
        return self._channel.quarantine_update(item, expected_status=expected_status)

    def cursor_get(self, name: str) -> str | None:
        """The cursor's value, or None."""
        return self._channel.cursor_get(name)

    def cursor_set(self, name: str, value: str, *, expected: str | None) -> bool:
        """Set the cursor if its value is still ``expected`` (None: not set yet)."""
        return self._channel.cursor_set(name, value, expected=expected)

    def _insert_links(self, connection: sqlite3.Connection, commit: Commit) -> None:
        """Write a commit's links in its transaction; a taken message id refuses the commit."""
        try:
            connection.executemany(self._channel.insert_link, self._channel.link_rows(commit.links))
        except sqlite3.IntegrityError:
            raise ConcurrencyError(commit.complaint.id, commit.expected_version) from None

    def _write_all(self, doing: str, statements: Sequence[tuple[str, Sequence[Any]]]) -> int:
        """Run ``statements`` in one write transaction; how many rows they changed."""
        connection = self._connection()
        try:
            if len(statements) == 1:  # a lone statement is its own transaction
                statement, parameters = statements[0]
                return connection.execute(statement, tuple(parameters)).rowcount
            connection.execute("BEGIN IMMEDIATE")
            try:
                changed = sum(
                    connection.execute(statement, tuple(parameters)).rowcount
                    for statement, parameters in statements
                )
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, doing) from exc
        return changed

    # -- the action part: the shared SQL (sql_actions.py) in SQLite's dialect ----------

    def action_commit(self, commit: ActionCommit) -> CorrectiveAction:
        """Write an action's new version with its events and messages in one transaction.

        Raises:
            ConcurrencyError: the stored version is not ``commit.expected_version``
                (for a creation: the id is taken); nothing is written.
            StoreError: the database refused the write (e.g. an outbox key is taken).
        """
        commit = action_arguments.commit(commit)
        action = commit.action
        expected = commit.expected_version
        row = action_rows(commit, _micros)
        events = event_rows(commit, _micros)
        messages = [_message_row(message) for message in commit.outbox]
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                if expected == 0:
                    try:
                        connection.execute(self._actions.insert_action, row)
                    except sqlite3.IntegrityError:
                        raise ConcurrencyError(action.id, 0) from None
                elif (
                    connection.execute(self._actions.update_action, (*row, expected)).rowcount != 1
                ):
                    raise ConcurrencyError(action.id, expected)
                try:
                    connection.executemany(self._actions.insert_event, events)
                except sqlite3.IntegrityError:
                    raise ConcurrencyError(action.id, expected) from None
                if messages:
                    self._insert_messages(connection, messages)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._failed(exc, f"committing corrective action {action.id!r}") from exc
        return action

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
            "sqlite", self._fetch, _micros, since=since, until=until, by=by, period=period
        )

    # -- the report part: the shared SQL (sql_reports.py) in SQLite's dialect ------------

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
        return SQLReports(_DIALECT, SQLITE_JSON, self._fetch, _instant)


def _schema_objects(connection: sqlite3.Connection) -> set[str]:
    """The names of the tables, indexes, views and triggers in the database."""
    rows = connection.execute("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
    return {name for (name,) in rows}


def _create_tables(connection: sqlite3.Connection) -> None:
    """Create the current schema in an empty database, inside the caller's transaction."""
    for statement in _SCHEMA:
        connection.execute(statement)
    connection.execute(f"INSERT INTO {_SCHEMA_TABLE} (version) VALUES (?)", (SCHEMA_VERSION,))
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _stored_version(connection: sqlite3.Connection, objects: set[str], path: str) -> int:
    """The schema version a complaint_flow database records.

    Raises:
        StoreError: the database is another application's, or its version table is
            damaged.
    """
    if _SCHEMA_TABLE not in objects:
        shown = ", ".join(sorted(objects)[:5])
        raise StoreError(
            f"{path!r} is a SQLite database but not a complaint_flow one (it holds "
            f"{shown}); complaint_flow leaves it untouched. Point the store URL "
            "at a new file or at a complaint_flow database."
        )
    versions = [row[0] for row in connection.execute(f"SELECT version FROM {_SCHEMA_TABLE}")]
    if len(versions) != 1 or not isinstance(versions[0], int):
        raise StoreError(
            f"{path!r} has a damaged {_SCHEMA_TABLE} table ({versions!r} instead "
            "of one version number); restore the database from a backup"
        )
    found: int = versions[0]
    return found


def _newer_error(path: str, found: int) -> SchemaVersionError:
    return newer_error(repr(path), found, SCHEMA_VERSION)


def _migration_steps(path: str, found: int) -> list[tuple[int, tuple[str, ...]]]:
    # The module's own SCHEMA_VERSION and MIGRATIONS, read at call time.
    return migration_steps(repr(path), found, SCHEMA_VERSION, MIGRATIONS)


def _not_a_database(path: str, exc: sqlite3.Error) -> StoreError:
    return StoreError(
        f"{path!r} cannot be used as a complaint_flow database ({exc}); point the "
        "store URL at a complaint_flow database or at a new file"
    )


def _run_step(
    connection: sqlite3.Connection, path: str, version: int, statements: tuple[str, ...]
) -> None:
    for statement in statements:
        try:
            connection.execute(statement)
        except sqlite3.Error as exc:
            raise step_failed(repr(path), version, statement, exc) from exc


def schema_version(url: str) -> int | None:
    """The complaint_flow schema version of the database at ``url``, reading only.

    Nothing is created or written: a missing file stays missing, and the
    connection is ``query_only``.

    Args:
        url: an ``sqlite:///`` store URL.

    Returns:
        The version recorded in the database, or None when there is no
        complaint_flow schema yet (no file, or an empty one).

    Raises:
        StoreError: the URL is malformed, the file cannot be read, or it is not a
            complaint_flow database (it is left untouched).
    """
    path = parse_sqlite_url(url).path
    if not os.path.exists(path):
        return None
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise _not_a_database(path, exc) from exc
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")  # one snapshot for both reads
        try:
            objects = _schema_objects(connection)
            return _stored_version(connection, objects, path) if objects else None
        finally:
            connection.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise _not_a_database(path, exc) from exc
    finally:
        connection.close()


def upgrade(url: str) -> tuple[int, int]:
    """Bring the database at ``url`` to :data:`SCHEMA_VERSION`, all or nothing.

    In one ``BEGIN IMMEDIATE`` transaction (other writers wait), it reads the
    version, runs the steps of :data:`MIGRATIONS` from it up to
    :data:`SCHEMA_VERSION`, records the new version and checks foreign keys. A
    failure rolls everything back. A database with no complaint_flow schema yet
    (no file, or an empty one) gets the current schema, as opening it would (the
    first open then switches the file to WAL mode). Stop the processes using the
    file first: they run the code of the old version.

    Args:
        url: an ``sqlite:///`` store URL.

    Returns:
        The versions ``(before, after)``: ``(0, SCHEMA_VERSION)`` when the schema
        was created, ``(v, v)`` when it was already current.

    Raises:
        SchemaVersionError: the database is newer than this complaint_flow, or no
            migration step leads from its version; nothing was changed.
        StoreError: the URL is malformed, the file is not a complaint_flow database
            (it is left untouched), or a migration step failed (rolled back).
    """
    location = parse_sqlite_url(url)
    path = location.path
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(
            f"cannot open the SQLite database {path!r} ({exc}); check that its "
            "directory exists and that this process may write there"
        ) from exc
    try:
        try:
            connection.execute(f"PRAGMA synchronous = {location.synchronous}")
            # A step that rebuilds a table frees the old one's pages: zero them.
            connection.execute("PRAGMA secure_delete = ON")
            connection.execute("BEGIN IMMEDIATE")
            objects = _schema_objects(connection)
        except sqlite3.Error as exc:
            raise _not_a_database(path, exc) from exc
        try:
            if not objects:
                _create_tables(connection)
                before = 0
            else:
                before = _stored_version(connection, objects, path)
                for version, statements in _migration_steps(path, before):
                    _run_step(connection, path, version, statements)
                if before != SCHEMA_VERSION:
                    if connection.execute("PRAGMA foreign_key_check").fetchone() is not None:
                        raise StoreError(
                            f"upgrading {path!r} from schema version {before} left rows "
                            "whose foreign keys point nowhere; nothing was changed. "
                            "Restore the database from a backup."
                        )
                    connection.execute(f"UPDATE {_SCHEMA_TABLE} SET version = ?", (SCHEMA_VERSION,))
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(
            f"upgrading the SQLite database {path!r} failed: {exc}; nothing was changed"
        ) from exc
    finally:
        connection.close()
    return before, SCHEMA_VERSION


def open_sqlite_store(url: str) -> SQLiteStore:
    """Open (creating it if needed) the SQLite store at ``url``.

    Args:
        url: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``,
            optionally with ``?synchronous=NORMAL`` (default ``FULL``).

    Raises:
        StoreError: the URL is malformed, the file cannot be opened, or it is not
            a complaint_flow database (it is then left untouched).
        SchemaVersionError: the database was written by another version of
            complaint_flow; the message says what to do.
    """
    return SQLiteStore(url, parse_sqlite_url(url))


__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SYNCHRONOUS_MODES",
    "SQLiteLocation",
    "SQLiteStore",
    "open_sqlite_store",
    "parse_sqlite_url",
    "schema_version",
    "upgrade",
]
