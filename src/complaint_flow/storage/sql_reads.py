"""The read side both SQL stores share: one set of queries, told the database's dialect.

SQLite and PostgreSQL hold the same tables (schema version 4) and are read with
the same queries (the channel part's in :mod:`complaint_flow.storage.sql_channel`).
What differs between them is stated once, in a
:class:`SQLDialect` each store builds and hands to :class:`SQLReads`, with a
function that runs one query on a connection of that store. Both stores also
keep the versions of complaints they recently wrote or read
(:class:`RecentVersions`), which the reads decode through.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

import attrs

from complaint_flow.errors import ComplaintNotFoundError, InvalidArgumentError
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.model.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.storage.codec import from_json

RECENT_LIMIT = 1024
"""How many recently written or read versions a SQL store keeps decoded."""

_SELECT_COMPLAINT = "SELECT id, version, body FROM complaints"
_SELECT_CONDUCT = "SELECT customer_id, version, body FROM conduct_records"
_FILTERS = ("state", "customer_id", "category", "workflow")

Fetch = Callable[[str, Sequence[Any]], list[Any]]
"""Runs one query with its parameters and returns all its rows, as tuples.

The store's own: it takes a connection the store's way (SQLite: the calling
thread's; PostgreSQL: one from the pool, given back at once) and turns the
driver's errors into ``StoreError``.
"""


@attrs.frozen
class SQLDialect:
    """What the shared queries need to know about the database they run on.

    Everything else is the same in both SQL stores: table and column names, the
    queries, rows (tuples) and bodies (the codec's JSON, kept as text: PostgreSQL's
    ``TEXT``, not ``JSONB``, so both hand back exactly what was written and decode it
    the same way).

    Attributes:
        placeholder: how a query marks a parameter: ``?`` (SQLite) or ``%s``
            (psycopg). The shared queries are written with ``?``; :meth:`sql`
            rewrites them.
        no_limit: what ``LIMIT`` takes to mean "no limit": ``-1`` in SQLite,
            ``NULL`` (None) in PostgreSQL.
        moment: a datetime as the time columns hold it, to compare with them:
            SQLite stores integer microseconds since the Unix epoch, PostgreSQL
            ``TIMESTAMPTZ`` (the aware datetime itself).
    """

    placeholder: str
    no_limit: int | None
    moment: Callable[[datetime], Any]

    def sql(self, text: str) -> str:
        """``text``, written with ``?`` placeholders, in this dialect's parameter style."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


class RecentVersions:
    """The latest version of each complaint a SQL store recently wrote or read, by id.

    A (complaint id, version) pair is only ever written once (the version check
    guarantees it), so a remembered snapshot of the stored version is exactly what
    is stored: reads skip decoding it again, and a writer may build on it (the
    version check refuses the commit if another process moved the complaint on).
    Each entry may carry the indexed columns its writer wrote (SQLite compares them
    to update only the indexes that change). Holds at most :data:`RECENT_LIMIT`
    entries, dropping the oldest. Thread-safe.
    """

    __slots__ = ("_entries", "_trimming")

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Complaint, tuple[Any, ...] | None]] = {}
        self._trimming = threading.Lock()

    def latest(self, complaint_id: str) -> Complaint | None:
        """The remembered version of the complaint, if any."""
        entry = self._entries.get(complaint_id)
        return entry[0] if entry is not None else None

    def entry(self, complaint_id: str) -> tuple[Complaint, tuple[Any, ...] | None] | None:
        """The remembered version with the indexed columns written with it (None: not known)."""
        return self._entries.get(complaint_id)

    def remember(self, complaint: Complaint, columns: tuple[Any, ...] | None = None) -> None:
        """Remember ``complaint`` as its latest stored version (with its indexed columns)."""
        entries = self._entries
        entries[complaint.id] = (complaint, columns)
        if len(entries) > RECENT_LIMIT:
            with self._trimming:
                while len(entries) > RECENT_LIMIT:
                    try:
                        del entries[next(iter(entries))]
                    except (KeyError, RuntimeError, StopIteration):
                        break  # another thread is trimming too

    def decode(self, row: tuple[str, int, str]) -> Complaint:
        """A complaint from ``(id, version, body)``, decoded only if not remembered already."""
        complaint_id, version, body = row
        entry = self._entries.get(complaint_id)
        if entry is not None and entry[0].version == version:
            return entry[0]
        complaint = from_json(body, Complaint)
        self.remember(complaint)
        return complaint

    def forget(self, complaint_id: str) -> None:
        """Forget the complaint (it was deleted)."""
        self._entries.pop(complaint_id, None)

    def clear(self) -> None:
        """Forget everything (the store is closed)."""
        self._entries.clear()

    def after_fork(self) -> None:
        """In a child process after ``fork()``: a lock another thread held stays held; renew it."""
        self._trimming = threading.Lock()


def _aware(moment: datetime, name: str, method: str) -> datetime:
    """``moment`` if it is a timezone-aware datetime.

    Raises:
        InvalidArgumentError: it is not (a naive time has no place on the timeline).
    """
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidArgumentError(
            f"{method}({name}=) needs a timezone-aware datetime, got {moment!r}; pass "
            "the engine's time (engine.now()) or a datetime with a tzinfo"
        )
    return moment


class SQLReads:
    """The store's read methods over SQL, for one store: its dialect, connections and cache.

    Args:
        dialect: what differs in the database's SQL.
        fetch: runs one query on one of the store's connections (see :data:`Fetch`).
        recent: the store's recently written or read versions; reads decode
            through it and remember what they decoded.
    """

    __slots__ = ("dialect", "fetch", "recent")

    def __init__(self, dialect: SQLDialect, fetch: Fetch, recent: RecentVersions) -> None:
        self.dialect = dialect
        self.fetch = fetch
        self.recent = recent

    # -- complaints ----------------------------------------------------------

    def _one_complaint(self, where: str, parameters: tuple[Any, ...]) -> Complaint | None:
        rows = self.fetch(self.dialect.sql(f"{_SELECT_COMPLAINT} WHERE {where}"), parameters)
        return self.recent.decode(rows[0]) if rows else None

    def get(self, complaint_id: str) -> Complaint:
        """The latest version of a complaint.

        Raises:
            ComplaintNotFoundError: no complaint has that id.
        """
        complaint = self._one_complaint("id = ?", (complaint_id,))
        if complaint is None:
            raise ComplaintNotFoundError(complaint_id)
        return complaint

    def get_by_reference(self, reference: str) -> Complaint:
        """The latest version of the complaint with that human reference.

        Raises:
            ComplaintNotFoundError: no complaint has that reference.
        """
        complaint = self._one_complaint("reference = ?", (reference,))
        if complaint is None:
            raise ComplaintNotFoundError(reference)
        return complaint

    def find_by_external_id(self, channel: str, external_id: str) -> Complaint | None:
        """The complaint created from that channel message, if any."""
        return self._one_complaint("channel = ? AND external_id = ?", (channel, external_id))

    def events(self, complaint_id: str) -> list[Event]:
        """The complaint's audit trail in order.

        Raises:
            ComplaintNotFoundError: no complaint has that id.
        """
        rows = self.fetch(
            self.dialect.sql("SELECT body FROM events WHERE complaint_id = ? ORDER BY seq"),
            (complaint_id,),
        )
        if not rows:
            # Every stored complaint has at least its creation event.
            raise ComplaintNotFoundError(complaint_id)
        return [from_json(body, Event) for (body,) in rows]

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
        """Complaints matching every given filter, oldest received first (then by id).

        ``received_after`` keeps complaints received at or after that instant,
        ``updated_before`` those whose latest version was written before it.

        Raises:
            InvalidArgumentError: a time filter is not timezone-aware.
        """
        dialect = self.dialect
        values = (state, customer_id, category, workflow)
        given = [
            (column, value)
            for column, value in zip(_FILTERS, values, strict=True)
            if value is not None
        ]
        conditions = [f"{column} = ?" for column, _ in given]
        parameters: list[Any] = [value for _, value in given]
        if received_after is not None:
            conditions.append("received_at >= ?")
            parameters.append(dialect.moment(_aware(received_after, "received_after", "find")))
        if updated_before is not None:
            conditions.append("updated_at < ?")
            parameters.append(dialect.moment(_aware(updated_before, "updated_before", "find")))
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        parameters.append(dialect.no_limit if limit is None else limit)
        rows = self.fetch(
            dialect.sql(f"{_SELECT_COMPLAINT} {where}ORDER BY received_at, id LIMIT ?"),
            parameters,
        )
        decode = self.recent.decode
        return [decode(row) for row in rows]

    def count(self) -> int:
        """How many complaints are stored."""
        ((count,),) = self.fetch("SELECT count(*) FROM complaints", ())
        return int(count)

    def due(self, before: datetime, limit: int) -> list[Complaint]:
        """Complaints whose ``due_at`` is at or before ``before``, earliest first (then by id).

        Served by the partial index ``complaints_due``: the cost grows with what is
        due, not with the store.

        Raises:
            InvalidArgumentError: ``before`` is not timezone-aware.
        """
        if not isinstance(before, datetime) or before.utcoffset() is None:
            raise InvalidArgumentError(
                f"due() needs a timezone-aware datetime, got {before!r}; pass the "
                "engine's time (engine.now())"
            )
        rows = self.fetch(
            self.dialect.sql(
                f"{_SELECT_COMPLAINT} WHERE due_at IS NOT NULL AND due_at <= ? "
                "ORDER BY due_at, id LIMIT ?"
            ),
            (self.dialect.moment(before), limit),
        )
        decode = self.recent.decode
        return [decode(row) for row in rows]

    # -- the outbox ------------------------------------------------------------

    def outbox_pending(self, limit: int, now: datetime | None = None) -> list[OutboxMessage]:
        """Pending outbox messages in the order they were committed (due by ``now``, if given).

        A plain read: concurrent dispatchers use ``outbox_claim``.
        """
        if now is None:
            sql = "SELECT body FROM outbox WHERE status = 'pending' ORDER BY position LIMIT ?"
            parameters: tuple[Any, ...] = (limit,)
        else:
            sql = (
                "SELECT body FROM outbox WHERE status = 'pending' AND "
                "(next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY position LIMIT ?"
            )
            parameters = (self.dialect.moment(now), limit)
        return self._messages(sql, parameters)

    def outbox_find(
        self, *, status: OutboxStatus | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages of every complaint with that status (any if None), oldest first."""
        bound = self.dialect.no_limit if limit is None else limit
        if status is None:
            return self._messages("SELECT body FROM outbox ORDER BY position LIMIT ?", (bound,))
        return self._messages(
            "SELECT body FROM outbox WHERE status = ? ORDER BY position LIMIT ?",
            (status.value, bound),
        )

    def outbox(self, complaint_id: str) -> list[OutboxMessage]:
        """Every outbox message of a complaint, in the order they were committed."""
        return self._messages(
            "SELECT body FROM outbox WHERE complaint_id = ? ORDER BY position", (complaint_id,)
        )

    def _messages(self, sql: str, parameters: tuple[Any, ...]) -> list[OutboxMessage]:
        rows = self.fetch(self.dialect.sql(sql), parameters)
        return [from_json(body, OutboxMessage) for (body,) in rows]

    # -- conduct records -------------------------------------------------------

    def conduct_get(self, customer_id: str) -> ConductRecord | None:
        """The latest version of the customer's conduct record, or None if they have none."""
        rows = self.fetch(
            self.dialect.sql(f"{_SELECT_CONDUCT} WHERE customer_id = ?"), (customer_id,)
        )
        return _conduct_record(rows[0]) if rows else None

    def conduct_events(self, customer_id: str) -> list[Event]:
        """The conduct record's events in order (empty if there is no record)."""
        rows = self.fetch(
            self.dialect.sql("SELECT body FROM conduct_events WHERE customer_id = ? ORDER BY seq"),
            (customer_id,),
        )
        return [from_json(body, Event) for (body,) in rows]

    def conduct_find(
        self,
        *,
        statuses: Collection[ConductStatus] | None = None,
        review_before: datetime | None = None,
        with_review_items: bool = False,
        limit: int | None = None,
    ) -> list[ConductRecord]:
        """Conduct records matching every given filter.

        Ordered by ``review_at`` (records without one last), then customer id.
        ``review_before`` is served by the partial index on ``review_at`` and
        ``with_review_items`` by the one on records with a review queue, so
        neither reads every record.

        Raises:
            InvalidArgumentError: ``review_before`` is not timezone-aware.
        """
        dialect = self.dialect
        conditions: list[str] = []
        parameters: list[Any] = []
        if statuses is not None:
            wanted = sorted({ConductStatus(status).value for status in statuses})
            if not wanted:
                return []  # in none of no statuses
            conditions.append(f"status IN ({', '.join('?' for _ in wanted)})")
            parameters += wanted
        if review_before is not None:
            moment = _aware(review_before, "review_before", "conduct_find")
            # IS NOT NULL states the partial index's condition, so it can serve the query.
            conditions.append("review_at IS NOT NULL AND review_at <= ?")
            parameters.append(dialect.moment(moment))
        if with_review_items:
            conditions.append("review_items > 0")
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        parameters.append(dialect.no_limit if limit is None else limit)
        rows = self.fetch(
            dialect.sql(
                f"{_SELECT_CONDUCT} {where}"
                "ORDER BY review_at IS NULL, review_at, customer_id LIMIT ?"
            ),
            parameters,
        )
        return [_conduct_record(row) for row in rows]


def _conduct_record(row: tuple[str, int, str]) -> ConductRecord:
    """A conduct record from ``(customer_id, version, body)``."""
    return from_json(row[2], ConductRecord)
