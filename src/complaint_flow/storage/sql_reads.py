"""The read side both SQL stores share: the same queries, one parameter style apart.

SQLite writes ``?`` placeholders and stores times as integer microseconds;
PostgreSQL writes ``%s`` and stores ``TIMESTAMPTZ``. Everything else about
reading complaints, events, outbox messages and conduct records is the same, so
it lives here once and each store supplies those differences and its own row
access.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from complaint_flow.errors import ComplaintNotFoundError, InvalidArgumentError
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.model.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.storage.codec import from_json

_RECENT_LIMIT = 1024
"""How many recently written or read versions a SQL store keeps decoded."""

_SELECT_COMPLAINT = "SELECT id, version, body FROM complaints"
_SELECT_CONDUCT = "SELECT customer_id, version, body FROM conduct_records"
_FILTERS = ("state", "customer_id", "category", "workflow")


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
    """Store Protocol read methods over SQL, for a store that provides the hooks below.

    Hooks a store provides:

    - ``_placeholder``: ``?`` or ``%s``; queries here are written with ``?`` and
      rewritten by :meth:`_sql`.
    - ``_no_limit``: what ``LIMIT`` takes for "no limit" (``-1`` or ``None``).
    - ``_moment(datetime)``: a time as the time columns hold it (SQLite: integer
      microseconds; PostgreSQL: the aware datetime itself).
    - ``_all(sql, parameters)``: all rows of a query, errors translated.
    - ``_recent`` (an empty dict) and ``_lock`` (a ``threading.Lock``), set in
      ``__init__``: the versions this store recently wrote or read, by id, with the
      indexed columns it wrote (SQLite compares them to update only what changed).

    Tables and columns are those of schema version 3, the same in both stores.
    """

    _placeholder: str
    _no_limit: int | None
    _recent: dict[str, tuple[Complaint, tuple[Any, ...] | None]]
    _lock: threading.Lock

    def _moment(self, moment: datetime) -> Any:
        raise NotImplementedError

    def _all(self, sql: str, parameters: Iterable[Any]) -> list[Any]:
        raise NotImplementedError

    # -- the versions recently written or read -----------------------------

    def get_cached(self, complaint_id: str) -> Complaint | None:
        """The latest version this store wrote or read, without asking the database.

        Another process may have written a later one: a commit built on it is then
        refused by the version check. The engine uses it to save a read per fire.
        """
        recent = self._recent.get(complaint_id)
        return recent[0] if recent is not None else None

    def _complaint(self, row: tuple[str, int, str]) -> Complaint:
        """A complaint from ``(id, version, body)``, decoded only if not known already."""
        complaint_id, version, body = row
        recent = self._recent.get(complaint_id)
        if recent is not None and recent[0].version == version:
            return recent[0]
        complaint = from_json(body, Complaint)
        self._remember(complaint)
        return complaint

    def _remember(self, complaint: Complaint, columns: tuple[Any, ...] | None = None) -> None:
        recent = self._recent
        recent[complaint.id] = (complaint, columns)
        if len(recent) > _RECENT_LIMIT:
            with self._lock:
                while len(recent) > _RECENT_LIMIT:
                    try:
                        del recent[next(iter(recent))]
                    except (KeyError, RuntimeError, StopIteration):
                        break  # another thread is trimming too

    def _conduct_record(self, row: tuple[str, int, str]) -> ConductRecord:
        """A conduct record from ``(customer_id, version, body)``."""
        return from_json(row[2], ConductRecord)

    def _sql(self, text: str) -> str:
        """``text`` written with ``?`` placeholders, in this store's parameter style."""
        return text if self._placeholder == "?" else text.replace("?", self._placeholder)

    def _one_complaint(self, where: str, parameters: tuple[Any, ...]) -> Complaint | None:
        rows = self._all(self._sql(f"{_SELECT_COMPLAINT} WHERE {where}"), parameters)
        return self._complaint(rows[0]) if rows else None

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
        rows = self._all(
            self._sql("SELECT body FROM events WHERE complaint_id = ? ORDER BY seq"),
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
            parameters.append(self._moment(_aware(received_after, "received_after", "find")))
        if updated_before is not None:
            conditions.append("updated_at < ?")
            parameters.append(self._moment(_aware(updated_before, "updated_before", "find")))
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        parameters.append(self._no_limit if limit is None else limit)
        rows = self._all(
            self._sql(f"{_SELECT_COMPLAINT} {where}ORDER BY received_at, id LIMIT ?"),
            parameters,
        )
        return [self._complaint(row) for row in rows]

    def count(self) -> int:
        """How many complaints are stored."""
        ((count,),) = self._all("SELECT count(*) FROM complaints", ())
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
        rows = self._all(
            self._sql(
                f"{_SELECT_COMPLAINT} WHERE due_at IS NOT NULL AND due_at <= ? "
                "ORDER BY due_at, id LIMIT ?"
            ),
            (self._moment(before), limit),
        )
        return [self._complaint(row) for row in rows]

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
            parameters = (self._moment(now), limit)
        return self._messages(sql, parameters)

    def outbox_find(
        self, *, status: OutboxStatus | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages of every complaint with that status (any if None), oldest first."""
        bound = self._no_limit if limit is None else limit
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
        rows = self._all(self._sql(sql), parameters)
        return [from_json(body, OutboxMessage) for (body,) in rows]

    # -- conduct records -----------------------------------------------------

    def conduct_get(self, customer_id: str) -> ConductRecord | None:
        """The latest version of the customer's conduct record, or None if they have none."""
        rows = self._all(self._sql(f"{_SELECT_CONDUCT} WHERE customer_id = ?"), (customer_id,))
        return self._conduct_record(rows[0]) if rows else None

    def conduct_events(self, customer_id: str) -> list[Event]:
        """The conduct record's events in order (empty if there is no record)."""
        rows = self._all(
            self._sql("SELECT body FROM conduct_events WHERE customer_id = ? ORDER BY seq"),
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
            parameters.append(self._moment(moment))
        if with_review_items:
            conditions.append("review_items > 0")
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        parameters.append(self._no_limit if limit is None else limit)
        rows = self._all(
            self._sql(
                f"{_SELECT_CONDUCT} {where}"
                "ORDER BY review_at IS NULL, review_at, customer_id LIMIT ?"
            ),
            parameters,
        )
        return [self._conduct_record(row) for row in rows]
