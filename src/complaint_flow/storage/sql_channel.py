"""The channel part both SQL stores share: the queries of its three tables, told the dialect.

SQLite and PostgreSQL hold the same channel tables (schema version 4):
``message_links`` (a message id, its complaint, direction and time),
``quarantined_messages`` (a message set aside: why, its status, its size),
``quarantined_bytes`` (its bytes, by the same id) and ``channel_cursors`` (a name
and a value). The bytes have a table of their own so that changing a message's
status never rewrites them: SQLite rewrites a whole row on any update, so a
50 MB message in the same row would be written again (and, with
``secure_delete``, zeroed again) each time. Each store creates them in its own
types and hands :class:`SQLChannel` its dialect, a ``fetch`` that runs one query
and a ``write`` that runs statements in one transaction. Links written by a
commit go through the store's own commit path, with :data:`INSERT_LINK` and
:meth:`SQLChannel.link_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from complaint_flow.model.channel_records import (
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
)
from complaint_flow.storage import channel_arguments as check
from complaint_flow.storage.sql_reads import Fetch, SQLDialect

BATCH = 500
"""Message ids per ``IN (…)`` list and links per ``INSERT``: under SQLite's oldest
limit of 999 parameters, and short enough for any server's statement size."""

INSERT_LINK = """INSERT INTO message_links (message_id, complaint_id, direction, at)
    VALUES (?, ?, ?, ?)"""
"""A commit's link (no ``ON CONFLICT``: a taken message id must refuse the commit)."""

Write = Callable[[str, Sequence[tuple[str, Sequence[Any]]]], int]
"""Runs statements, given with their parameters, in one transaction and returns how
many rows they changed in all; the first argument says what is being done, for
the error message. The store's own: it takes a connection its way and turns the
driver's errors into ``StoreError``."""

_LINK_COLUMNS = "message_id, complaint_id, direction, at"
_ENTRY_COLUMNS = (
    "id, source, channel, received_at, reason, status, attempts, updated_at, complaint_id, "
    "note, size"
)


class SQLChannel:
    """The channel part's methods, on the tables both SQL stores create.

    Args:
        dialect: the database's placeholders, "no limit" and time columns.
        instant: a time column's value as an aware datetime (the reverse of
            ``dialect.moment``).
        fetch: runs one query and returns its rows.
        write: runs statements in one transaction (see :data:`Write`).
        fetch_bytes: ``fetch`` for the query that reads a message's bytes, if the
            driver has a faster way for them (psycopg's binary results: four times
            faster than the hexadecimal text of ``bytea`` for a 50 MB message).
    """

    def __init__(
        self,
        dialect: SQLDialect,
        instant: Callable[[Any], datetime],
        fetch: Fetch,
        write: Write,
        fetch_bytes: Fetch | None = None,
    ) -> None:
        self._dialect = dialect
        self._instant = instant
        self._fetch = fetch
        self._write = write
        self._fetch_bytes = fetch_bytes or fetch
        self.insert_link = dialect.sql(INSERT_LINK)

    def link_rows(self, links: Sequence[MessageLink]) -> list[tuple[str, str, str, Any]]:
        """The rows of :data:`INSERT_LINK` for ``links``, ordered by message id.

        Concurrent writers then take the ids' locks in one order (PostgreSQL), so two
        commits sharing ids wait for each other instead of deadlocking.
        """
        moment = self._dialect.moment
        rows = [
            (link.message_id, link.complaint_id, link.direction.value, moment(link.at))
            for link in links
        ]
        rows.sort()
        return rows

    # -- message links ----------------------------------------------------------------

    def links_find(self, message_ids: Collection[str]) -> list[MessageLink]:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.links_find`."""
        wanted = check.message_ids(message_ids)
        found: list[MessageLink] = []
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            marks = ", ".join("?" * len(chunk))
            rows = self._fetch(
                self._dialect.sql(
                    f"SELECT {_LINK_COLUMNS} FROM message_links WHERE message_id IN ({marks})"
                ),
                chunk,
            )
            found += map(self._link, rows)
        found.sort(key=lambda link: link.message_id)
        return found

    def links_of(self, complaint_id: str) -> list[MessageLink]:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.links_of`."""
        subject = check.complaint_id(complaint_id)
        rows = self._fetch(
            self._dialect.sql(
                f"SELECT {_LINK_COLUMNS} FROM message_links WHERE complaint_id = ? "
                "ORDER BY at, message_id"
            ),
            (subject,),
        )
        return [self._link(row) for row in rows]

    def links_add(self, links: Sequence[MessageLink]) -> int:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.links_add`."""
        rows = self.link_rows(check.new_links(links))
        statements = []
        for start in range(0, len(rows), BATCH):
            chunk = rows[start : start + BATCH]
            values = ", ".join(["(?, ?, ?, ?)"] * len(chunk))
            statements.append(
                (
                    self._dialect.sql(
                        f"INSERT INTO message_links ({_LINK_COLUMNS}) VALUES {values} "
                        "ON CONFLICT (message_id) DO NOTHING"
                    ),
                    [value for row in chunk for value in row],
                )
            )
        return self._write(f"adding {len(rows)} message links", statements) if statements else 0

    def _link(self, row: tuple[Any, ...]) -> MessageLink:
        message_id, complaint_id, direction, at = row
        return MessageLink(message_id, complaint_id, direction, self._instant(at))

    # -- the quarantine ---------------------------------------------------------------

    def quarantine_add(self, item: QuarantinedMessage) -> QuarantinedMessage:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.quarantine_add`."""
        item = check.quarantined(item)
        moment = self._dialect.moment
        sql = self._dialect.sql
        # Both or neither: a message's bytes are only ever written with its row.
        added = self._write(
            f"adding quarantined message {item.id!r}",
            [
                (
                    sql(
                        f"INSERT INTO quarantined_messages ({_ENTRY_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
                    ),
                    (
                        item.id,
                        item.source,
                        item.channel,
                        moment(item.received_at),
                        item.reason,
                        item.status.value,
                        item.attempts,
                        moment(item.updated_at),
                        item.complaint_id,
                        item.note,
                        len(item.raw),
                    ),
                ),
                (
                    sql(
                        "INSERT INTO quarantined_bytes (id, raw) VALUES (?, ?) "
                        "ON CONFLICT (id) DO NOTHING"
                    ),
                    (item.id, item.raw),
                ),
            ],
        )
        if added:
            return item
        stored = self.quarantine_get(item.id)
        assert stored is not None  # quarantined messages are never deleted
        return stored

    def quarantine_get(self, item_id: str) -> QuarantinedMessage | None:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.quarantine_get`."""
        wanted = check.item_id(item_id)
        rows = self._fetch_bytes(
            self._dialect.sql(
                f"SELECT {_ENTRY_COLUMNS}, (SELECT raw FROM quarantined_bytes AS b "
                "WHERE b.id = m.id) FROM quarantined_messages AS m WHERE id = ?"
            ),
            (wanted,),
        )
        if not rows:
            return None
        (
            stored_id,
            source,
            channel,
            received_at,
            reason,
            status,
            attempts,
            updated_at,
            complaint_id,
            note,
            _,
            raw,
        ) = rows[0]
        return QuarantinedMessage(
            stored_id,
            source,
            channel,
            self._instant(received_at),
            reason,
            bytes(raw),
            status,
            attempts,
            self._instant(updated_at),
            complaint_id,
            note,
        )

    def quarantine_find(
        self, *, status: QuarantineStatus | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.quarantine_find`."""
        wanted = check.optional_quarantine_status("status", status)
        most = check.limit(limit)
        where, parameters = ("", []) if wanted is None else ("WHERE status = ? ", [wanted.value])
        rows = self._fetch(
            self._dialect.sql(
                f"SELECT {_ENTRY_COLUMNS} FROM quarantined_messages {where}"
                "ORDER BY received_at, id LIMIT ?"
            ),
            [*parameters, self._dialect.no_limit if most is None else most],
        )
        return [self._entry(row) for row in rows]

    def quarantine_update(
        self, item: QuarantinedMessage | QuarantineEntry, *, expected_status: QuarantineStatus
    ) -> bool:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.quarantine_update`."""
        item, expected = check.quarantine_update(item, expected_status)
        changed = self._write(
            f"updating quarantined message {item.id!r}",
            [
                (
                    self._dialect.sql(
                        "UPDATE quarantined_messages SET status = ?, reason = ?, attempts = ?, "
                        "updated_at = ?, complaint_id = ?, note = ? WHERE id = ? AND status = ?"
                    ),
                    (
                        item.status.value,
                        item.reason,
                        item.attempts,
                        self._dialect.moment(item.updated_at),
                        item.complaint_id,
                        item.note,
                        item.id,
                        expected.value,
                    ),
                )
            ],
        )
        return changed == 1

    def _entry(self, row: Sequence[Any]) -> QuarantineEntry:
        (
            item_id,
            source,
            channel,
            received_at,
            reason,
            status,
            attempts,
            updated_at,
            complaint_id,
            note,
            size,
        ) = row
        return QuarantineEntry(
            item_id,
            source,
            channel,
            self._instant(received_at),
            reason,
            size,
            status,
            attempts,
            self._instant(updated_at),
            complaint_id,
            note,
        )

    # -- cursors ----------------------------------------------------------------------

    def cursor_get(self, name: str) -> str | None:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.cursor_get`."""
        rows = self._fetch(
            self._dialect.sql("SELECT value FROM channel_cursors WHERE name = ?"),
            (check.cursor_name(name),),
        )
        return rows[0][0] if rows else None

    def cursor_set(self, name: str, value: str, *, expected: str | None) -> bool:
        """See :meth:`~complaint_flow.storage.contract.ChannelStore.cursor_set`."""
        name = check.cursor_name(name)
        value, expected = check.cursor_values(value, expected)
        if expected is None:
            statement = (
                "INSERT INTO channel_cursors (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO NOTHING"
            )
            parameters: tuple[str, ...] = (name, value)
        else:
            statement = "UPDATE channel_cursors SET value = ? WHERE name = ? AND value = ?"
            parameters = (value, name, expected)
        written = self._write(
            f"setting cursor {name!r}", [(self._dialect.sql(statement), parameters)]
        )
        return written == 1
