"""``memory://``: a real, thread-safe store kept in this process's memory.

It follows exactly the rules of the SQLite store (the same conformance suite)
and is what host applications' test suites use. Snapshots are immutable, so
they are kept and handed out without copying.
"""

from __future__ import annotations

import heapq
import threading
from datetime import datetime, timedelta

import attrs

from complaint_flow.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    DuplicateIntakeError,
    StoreError,
)
from complaint_flow.store import Commit, format_reference


class MemoryStore:
    """A store in a dict, behind one lock. Nothing survives the process."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._complaints: dict[str, Complaint] = {}
        self._events: dict[str, list[Event]] = {}
        self._by_external: dict[tuple[str, str], str] = {}
        self._by_reference: dict[str, str] = {}
        self._outbox: dict[str, OutboxMessage] = {}
        # Claims of outbox messages by key: (owner, until). Dict order is commit order.
        self._claims: dict[str, tuple[str, datetime]] = {}
        self._counters: dict[tuple[str, int], int] = {}
        # Due times: a heap with lazy deletion, so a sweep costs O(due · log n), like an
        # index; an entry is current only while it matches ``_due_at``.
        self._due_heap: list[tuple[datetime, str]] = []
        self._due_at: dict[str, datetime] = {}
        self._closed = False

    def commit(self, commit: Commit) -> Complaint:
        complaint = commit.complaint
        with self._lock:
            if self._closed:
                self._check_open()
            current = self._complaints.get(complaint.id)
            if commit.expected_version == 0:
                if current is not None:
                    raise ConcurrencyError(complaint.id, 0)
                external = (
                    (complaint.channel, complaint.external_id) if complaint.external_id else None
                )
                if external and external in self._by_external:
                    raise DuplicateIntakeError(*external, existing_id=self._by_external[external])
            elif current is None or current.version != commit.expected_version:
                raise ConcurrencyError(complaint.id, commit.expected_version)
            outbox = self._outbox
            for message in commit.outbox:
                if message.key in outbox:
                    raise StoreError(f"outbox key {message.key!r} is already stored")
            # Every check passed: from here on nothing can fail, so nothing is half-written.
            if commit.expected_version == 0:
                assert commit.reference_prefix is not None  # checked by Commit
                year = complaint.received_at.year
                counter = (commit.reference_prefix, year)
                number = self._counters.get(counter, 0) + 1
                self._counters[counter] = number
                complaint = attrs.evolve(
                    complaint, reference=format_reference(commit.reference_prefix, year, number)
                )
                self._events[complaint.id] = list(commit.events)
                self._by_reference[complaint.reference] = complaint.id
                if complaint.external_id:
                    self._by_external[(complaint.channel, complaint.external_id)] = complaint.id
            else:
                self._events[complaint.id].extend(commit.events)
            self._complaints[complaint.id] = complaint
            due_at = complaint.due_at
            if due_at != self._due_at.get(complaint.id):
                if due_at is None:
                    del self._due_at[complaint.id]
                else:
                    self._due_at[complaint.id] = due_at
                    heapq.heappush(self._due_heap, (due_at, complaint.id))
            for message in commit.outbox:
                outbox[message.key] = message
            return complaint

    def get(self, complaint_id: str) -> Complaint:
        try:
            return self._complaints[complaint_id]
        except KeyError:
            raise ComplaintNotFoundError(complaint_id) from None

    def get_by_reference(self, reference: str) -> Complaint:
        with self._lock:
            complaint_id = self._by_reference.get(reference)
        if complaint_id is None:
            raise ComplaintNotFoundError(reference)
        return self.get(complaint_id)

    def find_by_external_id(self, channel: str, external_id: str) -> Complaint | None:
        with self._lock:
            complaint_id = self._by_external.get((channel, external_id))
            return self._complaints[complaint_id] if complaint_id else None

    def events(self, complaint_id: str) -> list[Event]:
        with self._lock:
            try:
                return list(self._events[complaint_id])
            except KeyError:
                raise ComplaintNotFoundError(complaint_id) from None

    def find(
        self,
        *,
        state: str | None = None,
        customer_id: str | None = None,
        category: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[Complaint]:
        with self._lock:
            snapshot = list(self._complaints.values())
        found = [
            c
            for c in snapshot
            if (state is None or c.state == state)
            and (customer_id is None or c.customer.id == customer_id)
            and (category is None or c.category == category)
            and (workflow is None or c.workflow == workflow)
        ]
        found.sort(key=lambda c: (c.received_at, c.id))
        return found if limit is None else found[:limit]

    def count(self) -> int:
        return len(self._complaints)

    def due(self, before: datetime, limit: int) -> list[Complaint]:
        with self._lock:
            heap, current = self._due_heap, self._due_at
            taken: list[tuple[datetime, str]] = []
            found: list[Complaint] = []
            while heap and len(found) < limit and heap[0][0] <= before:
                due_at, complaint_id = heapq.heappop(heap)
                if current.get(complaint_id) != due_at:
                    continue  # superseded by a later commit: drop the stale entry
                if found and found[-1].id == complaint_id:
                    continue  # the same entry pushed twice (its due time went and came back)
                taken.append((due_at, complaint_id))
                found.append(self._complaints[complaint_id])
            for entry in taken:  # still due: they stay in the index
                heapq.heappush(heap, entry)
            return found

    def outbox_pending(self, limit: int, now: datetime | None = None) -> list[OutboxMessage]:
        with self._lock:
            pending = [
                m
                for m in self._outbox.values()
                if m.status is OutboxStatus.PENDING and (now is None or _due(m, now))
            ]
        return pending[:limit]

    def outbox_claim(
        self, now: datetime, limit: int, lease: timedelta, owner: str
    ) -> list[OutboxMessage]:
        claimed: list[OutboxMessage] = []
        with self._lock:
            self._check_open()
            claims = self._claims
            for message in self._outbox.values():
                if len(claimed) >= limit:
                    break
                if message.status is not OutboxStatus.PENDING or not _due(message, now):
                    continue
                claim = claims.get(message.key)
                if claim is not None and claim[1] > now:
                    continue
                claims[message.key] = (owner, now + lease)
                claimed.append(message)
        return claimed

    def outbox_update(self, message: OutboxMessage) -> None:
        with self._lock:
            self._check_open()
            if message.key not in self._outbox:
                raise StoreError(f"no outbox message with key {message.key!r}")
            self._outbox[message.key] = message
            self._claims.pop(message.key, None)

    def outbox_find(
        self, *, status: OutboxStatus | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        with self._lock:
            found = [m for m in self._outbox.values() if status is None or m.status is status]
        return found if limit is None else found[:limit]

    def outbox(self, complaint_id: str) -> list[OutboxMessage]:
        with self._lock:
            return [m for m in self._outbox.values() if m.complaint_id == complaint_id]

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"store {self.url!r} is closed; open a new engine")

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r}, complaints={len(self._complaints)})"


def _due(message: OutboxMessage, now: datetime) -> bool:
    return message.next_attempt_at is None or message.next_attempt_at <= now


def open_memory_store(url: str) -> MemoryStore:
    """Factory for ``memory://`` URLs (every call gives a new, empty store)."""
    return MemoryStore(url)
