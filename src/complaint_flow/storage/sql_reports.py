"""The report part both SQL stores share: counts and milestones, in one set of queries.

The store does the work it is good at: counting by period and column
(:meth:`SQLReports.volumes`, one ``GROUP BY``), picking a batch of complaints by
its index on ``received_at`` (keyset pagination), answering "did this customer
complain before?" from its index on ``customer_id``, and reading the few fields a
report needs out of the JSON bodies of the complaints and of their relevant events,
so that no complaint or event is decoded whole. What the fields mean is decided
once, in :func:`complaint_flow.storage.milestones.fold_history`, which the memory
store uses too.

Besides :class:`~complaint_flow.storage.sql_reads.SQLDialect`, the queries need to
know how the database reads JSON kept as text; that is :class:`JSONReading`, one
for each store (:data:`SQLITE_JSON`, :data:`POSTGRES_JSON`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.storage.milestones import (
    REPORT_EVENT_KINDS,
    ComplaintFacts,
    ComplaintMilestones,
    EventFacts,
    MilestoneRules,
    VolumeCount,
    check_boundaries,
    check_page,
    check_window,
    clock_records,
    fold_history,
)
from complaint_flow.storage.sql_reads import Fetch, SQLDialect

_BATCH_COLUMNS = "id, workflow, category, channel, severity, customer_id, state, received_at"


@attrs.frozen
class JSONReading:
    """How one database reads a JSON document kept in a ``TEXT`` column.

    Attributes:
        document: the expression that makes a column a document the paths read
            (PostgreSQL parses it once into ``jsonb``; SQLite reads the text).
        scalar: the expression for the scalar at a path of a document, as the
            database gives it (text, or a number in SQLite), NULL when absent.
        value: the expression for the JSON text of the value at a path, NULL when absent.
        span: a duration as the time columns subtract it (SQLite: microseconds).
    """

    document: Callable[[str], str]
    scalar: Callable[[str, tuple[str, ...]], str]
    value: Callable[[str, tuple[str, ...]], str]
    span: Callable[[timedelta], Any]


def _sqlite_path(path: tuple[str, ...]) -> str:
    return "'$." + ".".join(path) + "'"


def _postgres_path(path: tuple[str, ...]) -> str:
    return "'{" + ",".join(path) + "}'"


SQLITE_JSON = JSONReading(
    document=lambda column: column,
    scalar=lambda document, path: f"json_extract({document}, {_sqlite_path(path)})",
    value=lambda document, path: f"({document} -> {_sqlite_path(path)})",
    span=lambda duration: duration // timedelta(microseconds=1),
)
"""SQLite's JSON functions (``json_extract`` and ``->``, SQLite 3.38 or later)."""

POSTGRES_JSON = JSONReading(
    document=lambda column: f"{column}::jsonb",
    scalar=lambda document, path: f"({document} #>> {_postgres_path(path)})",
    value=lambda document, path: f"(({document} #> {_postgres_path(path)})::text)",
    span=lambda duration: duration,
)
"""PostgreSQL's ``jsonb`` operators (``#>>``, ``#>``)."""


def _flag(value: Any) -> bool:
    """A JSON boolean as either database hands it back (1/0, or 'true'/'false')."""
    return value in (1, True, "true")


def _number(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class SQLReports:
    """The store's report methods over SQL, for one store.

    Args:
        dialect: what differs in the database's SQL.
        json: how it reads JSON kept as text.
        fetch: runs one query on one of the store's connections.
        instant: a time column's value as an aware datetime.
    """

    __slots__ = ("dialect", "fetch", "instant", "json")

    def __init__(
        self,
        dialect: SQLDialect,
        json: JSONReading,
        fetch: Fetch,
        instant: Callable[[Any], datetime],
    ) -> None:
        self.dialect = dialect
        self.json = json
        self.fetch = fetch
        self.instant = instant

    def volumes(self, boundaries: Sequence[datetime], by: Sequence[str]) -> list[VolumeCount]:
        """Complaints received per period and combination of ``by`` columns (one GROUP BY).

        The periods are a small table of bounds the query joins to, driving range
        scans of the index on ``received_at``.
        """
        bounds, columns = check_boundaries(boundaries, by)
        moment = self.dialect.moment
        periods = ", ".join("(?, ?, ?)" for _ in bounds[1:])
        parameters: list[Any] = []
        for index, (low, high) in enumerate(itertools.pairwise(bounds)):
            parameters += [index, moment(low), moment(high)]
        grouped = "".join(f", c.{column}" for column in columns)
        rows = self.fetch(
            self.dialect.sql(
                f"WITH p (i, lo, hi) AS (VALUES {periods}) "
                f"SELECT p.i{grouped}, count(*) FROM p JOIN complaints c "
                "ON c.received_at >= p.lo AND c.received_at < p.hi "
                f"GROUP BY p.i{grouped} ORDER BY p.i{grouped}"
            ),
            parameters,
        )
        return [
            VolumeCount(period=int(row[0]), values=tuple(row[1:-1]), count=int(row[-1]))
            for row in rows
        ]

    def milestones(
        self,
        rules: MilestoneRules,
        received_after: datetime | None,
        received_before: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[ComplaintMilestones]:
        """One keyset batch of milestones: two queries, the complaints then their events."""
        if not isinstance(rules, MilestoneRules):
            raise InvalidArgumentError(f"rules must be MilestoneRules, got {type(rules).__name__}")
        check_window(received_after, received_before, "report_milestones")
        after, limit = check_page(after, limit)
        rows = self._complaints(rules, received_after, received_before, after, limit)
        if not rows:
            return []
        events = self._events([row[0] for row in rows])
        return [self._milestones(row, events.get(row[0], ()), rules) for row in rows]

    def _complaints(
        self,
        rules: MilestoneRules,
        received_after: datetime | None,
        received_before: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Any]:
        moment = self.dialect.moment
        reading = self.json
        conditions: list[str] = []
        parameters: list[Any] = []
        if received_after is not None:
            conditions.append("received_at >= ?")
            parameters.append(moment(received_after))
        if received_before is not None:
            conditions.append("received_at < ?")
            parameters.append(moment(received_before))
        if after is not None:
            # The first condition is the index's range; the second breaks ties by id.
            conditions.append("received_at >= ? AND (received_at > ? OR id > ?)")
            parameters += [moment(after[0]), moment(after[0]), after[1]]
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        parameters.append(limit)
        document = "b.doc"
        fields = [
            reading.scalar(document, ("department",)),
            reading.scalar(document, ("owner", "id")),
            reading.scalar(document, ("informal",)),
            reading.scalar(document, ("escalation_level",)),
            reading.value(document, ("clocks",)),
            *(reading.value(document, ("data", key)) for key in rules.data_keys),
        ]
        window = reading.span(rules.repeat_within)
        # One probe of the index on (customer_id, received_at) answers both questions:
        # NULL (no earlier complaint), 1 (only about other categories), 2 (this one too).
        earlier = (
            "SELECT max(CASE WHEN p.category = b.category THEN 2 ELSE 1 END) "
            "FROM complaints p WHERE p.customer_id = b.customer_id "
            "AND p.received_at >= b.received_at - ? AND (p.received_at < b.received_at "
            "OR (p.received_at = b.received_at AND p.id < b.id))"
        )
        query = (
            f"SELECT b.{', b.'.join(_BATCH_COLUMNS.split(', '))}, {', '.join(fields)}, "
            f"({earlier}) "
            f"FROM (SELECT {_BATCH_COLUMNS}, {reading.document('body')} AS doc "
            f"FROM complaints {where}ORDER BY received_at, id LIMIT ?) b "
            "ORDER BY b.received_at, b.id"
        )
        # The window comes first: it is earlier in the statement's text.
        return self.fetch(self.dialect.sql(query), [window, *parameters])

    def _events(self, complaint_ids: list[str]) -> dict[str, list[EventFacts]]:
        reading = self.json
        document = "e.doc"

        def field(kind: str, *path: str) -> str:
            # Only the events of that kind hold it: the others' bodies are not read.
            return f"CASE WHEN e.kind = '{kind}' THEN {reading.scalar(document, path)} END"

        kinds = ", ".join(f"'{kind}'" for kind in REPORT_EVENT_KINDS)
        marks = ", ".join("?" for _ in complaint_ids)
        query = (
            f"SELECT e.complaint_id, e.kind, e.at, {field('transition', 'trigger')}, "
            f"{field('transition', 'source')}, {field('transition', 'dest')}, "
            f"{field('escalated', 'data', 'to_level')}, "
            f"{field('remedy_granted', 'data', 'kind')}, "
            f"{field('remedy_granted', 'data', 'amount')}, "
            f"{field('remedy_granted', 'data', 'currency')} "
            f"FROM (SELECT complaint_id, seq, kind, at, {reading.document('body')} AS doc "
            f"FROM events WHERE complaint_id IN ({marks}) AND kind IN ({kinds}) "
            "LIMIT ? OFFSET 0) e ORDER BY e.complaint_id, e.seq"
        )
        rows = self.fetch(self.dialect.sql(query), [*complaint_ids, self.dialect.no_limit])
        instant = self.instant
        events: dict[str, list[EventFacts]] = {}
        for complaint_id, kind, at, trigger, source, dest, level, remedy, amount, currency in rows:
            events.setdefault(complaint_id, []).append(
                EventFacts(
                    kind,
                    instant(at),
                    trigger,
                    source,
                    dest,
                    _number(level),
                    remedy,
                    None if amount is None else str(amount),
                    currency,
                )
            )
        return events

    def _milestones(
        self, row: Sequence[Any], events: Sequence[EventFacts], rules: MilestoneRules
    ) -> ComplaintMilestones:
        (
            complaint_id,
            workflow,
            category,
            channel,
            severity,
            customer_id,
            state,
            received_at,
            department,
            owner_id,
            informal,
            level,
            clocks,
        ) = row[:13]
        values = row[13 : 13 + len(rules.data_keys)]
        earlier = _number(row[-1])
        data = {
            key: json.loads(value)
            for key, value in zip(rules.data_keys, values, strict=True)
            if value is not None
        }
        facts = ComplaintFacts(
            complaint_id,
            workflow,
            category,
            channel,
            severity,
            customer_id,
            state,
            department,
            owner_id,
            _flag(informal),
            self.instant(received_at),
            _number(level) or 1,
            clock_records(json.loads(clocks)) if clocks else (),
            data,
        )
        return fold_history(facts, events, rules, earlier is not None, earlier == 2)


__all__ = ["POSTGRES_JSON", "SQLITE_JSON", "JSONReading", "SQLReports"]
