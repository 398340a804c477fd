"""The action part both SQL stores share: its queries, told the dialect.

SQLite and PostgreSQL hold the same two tables (schema version 5), each created in
the database's own types: ``corrective_actions`` (an action's latest version: the
columns its reads filter and sort on, copied out of ``body``, the codec's JSON) and
``action_events`` (its events, by action id and ``seq``). Each store writes a commit
its own way (a version-checked transaction) with the rows :func:`action_rows` and
:func:`event_rows` give, and reads through :class:`SQLActions`.

The complaint counts that judge an action's effect are one aggregate query over the
``complaints`` table, served by its index on (category, received time): one range
scan for all the periods, whose counts are ``SUM(CASE …)`` columns.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from complaint_flow.model.actions import ActionStatus, CorrectiveAction
from complaint_flow.model.entities import Event
from complaint_flow.storage import action_arguments as check
from complaint_flow.storage.codec import from_json, to_json
from complaint_flow.storage.contract import ActionCommit
from complaint_flow.storage.sql_reads import Fetch, SQLDialect

ACTION_COLUMNS = "status, owner_id, due_at, check_due_at, version, updated_at, body, id"
"""The columns of ``corrective_actions``, in the order of :func:`action_rows`."""

INSERT_ACTION = f"INSERT INTO corrective_actions ({ACTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
UPDATE_ACTION = """UPDATE corrective_actions SET status = ?, owner_id = ?, due_at = ?,
    check_due_at = ?, version = ?, updated_at = ?, body = ? WHERE id = ? AND version = ?"""
INSERT_ACTION_EVENT = """INSERT INTO action_events (action_id, seq, kind, at, body)
    VALUES (?, ?, ?, ?, ?)"""

PERIODS_PER_QUERY = 200
"""Periods counted by one query (two parameters each): far under any parameter limit."""


def action_rows(commit: ActionCommit, moment: Callable[[datetime], Any]) -> tuple[Any, ...]:
    """The ``corrective_actions`` row of the commit's action (:data:`ACTION_COLUMNS`)."""
    action = commit.action
    return (
        action.status.value,
        action.owner.id,
        moment(action.due_at),
        None if action.check_due_at is None else moment(action.check_due_at),
        action.version,
        moment(action.updated_at),
        to_json(action),
        action.id,
    )


def event_rows(commit: ActionCommit, moment: Callable[[datetime], Any]) -> list[tuple[Any, ...]]:
    """The ``action_events`` rows of the commit's events."""
    return [
        (event.complaint_id, event.seq, event.kind, moment(event.at), to_json(event))
        for event in commit.events
    ]


class SQLActions:
    """The action part's reads, on the tables both SQL stores create.

    Args:
        dialect: the database's placeholders, "no limit" and time columns.
        fetch: runs one query and returns its rows.
    """

    def __init__(self, dialect: SQLDialect, fetch: Fetch) -> None:
        self._dialect = dialect
        self._fetch = fetch
        self.insert_action = dialect.sql(INSERT_ACTION)
        self.update_action = dialect.sql(UPDATE_ACTION)
        self.insert_event = dialect.sql(INSERT_ACTION_EVENT)

    def action_get(self, action_id: str) -> CorrectiveAction | None:
        """See :meth:`~complaint_flow.storage.contract.ActionStore.action_get`."""
        rows = self._fetch(
            self._dialect.sql("SELECT body FROM corrective_actions WHERE id = ?"),
            (check.action_id(action_id),),
        )
        return from_json(rows[0][0], CorrectiveAction) if rows else None

    def action_events(self, action_id: str) -> list[Event]:
        """See :meth:`~complaint_flow.storage.contract.ActionStore.action_events`."""
        rows = self._fetch(
            self._dialect.sql("SELECT body FROM action_events WHERE action_id = ? ORDER BY seq"),
            (check.action_id(action_id),),
        )
        return [from_json(body, Event) for (body,) in rows]

    def action_find(
        self,
        *,
        statuses: Collection[ActionStatus] | None = None,
        owner_id: str | None = None,
        due_before: datetime | None = None,
        check_due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[CorrectiveAction]:
        """See :meth:`~complaint_flow.storage.contract.ActionStore.action_find`.

        Served by the indexes on (status, due time), (check due time) and (owner,
        due time).
        """
        wanted, owner, due, check_due, most = check.find_arguments(
            statuses, owner_id, due_before, check_due_before, limit
        )
        moment = self._dialect.moment
        where: list[str] = []
        parameters: list[Any] = []
        if wanted is not None:
            if not wanted:
                return []
            ordered = sorted(status.value for status in wanted)
            where.append(f"status IN ({', '.join('?' * len(ordered))})")
            parameters += ordered
        if owner is not None:
            where.append("owner_id = ?")
            parameters.append(owner)
        if due is not None:
            where.append("due_at <= ?")
            parameters.append(moment(due))
        if check_due is not None:
            where.append("check_due_at <= ?")
            parameters.append(moment(check_due))
        clause = f"WHERE {' AND '.join(where)} " if where else ""
        rows = self._fetch(
            self._dialect.sql(
                f"SELECT body FROM corrective_actions {clause}ORDER BY due_at, id LIMIT ?"
            ),
            [*parameters, self._dialect.no_limit if most is None else most],
        )
        return [from_json(body, CorrectiveAction) for (body,) in rows]

    def complaint_counts(
        self, categories: Collection[str], bounds: Sequence[datetime]
    ) -> list[int]:
        """See :meth:`~complaint_flow.storage.contract.ActionStore.complaint_counts`."""
        wanted = check.categories(categories)
        moments = check.bounds(bounds)
        moment = self._dialect.moment
        counts: list[int] = []
        marks = ", ".join("?" * len(wanted))
        for start in range(0, len(moments) - 1, PERIODS_PER_QUERY):
            chunk = moments[start : start + PERIODS_PER_QUERY + 1]
            columns = ", ".join(
                ["SUM(CASE WHEN received_at >= ? AND received_at < ? THEN 1 ELSE 0 END)"]
                * (len(chunk) - 1)
            )
            parameters: list[Any] = []
            for index in range(len(chunk) - 1):
                parameters += [moment(chunk[index]), moment(chunk[index + 1])]
            parameters += [*wanted, moment(chunk[0]), moment(chunk[-1])]
            rows = self._fetch(
                self._dialect.sql(
                    f"SELECT {columns} FROM complaints WHERE category IN ({marks}) "
                    "AND received_at >= ? AND received_at < ?"
                ),
                parameters,
            )
            counts += [int(value or 0) for value in rows[0]]
        return counts
