"""``memory://``: a real, thread-safe store kept in this process's memory.

It follows exactly the rules of the SQLite store (the same conformance suite)
and is what host applications' test suites use. Snapshots are immutable, so
they are kept and handed out without copying.
"""

from __future__ import annotations

import bisect
import heapq
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    DuplicateIntakeError,
    InvalidArgumentError,
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
from complaint_flow.model.satisfaction import ANSWERED, CsatRow, csat
from complaint_flow.storage import action_arguments
from complaint_flow.storage import channel_arguments as check
from complaint_flow.storage.contract import (
    ActionCommit,
    Commit,
    ConductCommit,
    format_reference,
    with_delivery_state,
    with_quarantine_state,
)
from complaint_flow.storage.milestones import (
    REPORT_EVENT_KINDS,
    ComplaintMilestones,
    MilestoneRules,
    VolumeCount,
    check_boundaries,
    check_page,
    check_window,
    complaint_facts,
    event_facts,
    fold_history,
)
from complaint_flow.storage.satisfaction_reads import answered_survey, csat_arguments


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
        # Conduct records by customer id, with their events.
        self._conduct: dict[str, ConductRecord] = {}
        self._conduct_events: dict[str, list[Event]] = {}
        # The two indexes conduct_find uses instead of reading every record: the
        # records with a review date, sorted by (review_at, customer id), and the
        # customers whose review queue is not empty.
        self._conduct_by_review: list[tuple[datetime, str]] = []
        self._conduct_with_items: set[str] = set()
        self._closed = False
        # The channel part: links by message id and by complaint, the quarantine, cursors.
        self._links: dict[str, MessageLink] = {}
        self._links_by_complaint: dict[str, list[MessageLink]] = {}
        self._quarantine: dict[str, QuarantinedMessage] = {}
        self._cursors: dict[str, str] = {}
        # The action part: actions by id with their events, and the two indexes
        # action_find reads instead of every action, sorted by (time, id).
        self._actions: dict[str, CorrectiveAction] = {}
        self._action_events: dict[str, list[Event]] = {}
        self._actions_by_due: list[tuple[datetime, str]] = []
        self._actions_by_check_due: list[tuple[datetime, str]] = []

    # -- complaints: writing ------------------------------------------------------

    def commit(self, commit: Commit) -> Complaint:
        with self._lock:
            if self._closed:  # the engine's hot path: skip the call when open
                self._check_open()
            self._check_commit(commit)
            if commit.outbox:
                self._check_new_outbox(commit.outbox)
            if commit.links:
                self._check_new_links(commit)
            # Every check passed: from here on nothing can fail, so nothing is half-written.
            return self._apply_commit(commit)

    def commit_many(self, commits: Sequence[Commit]) -> list[Complaint]:
        with self._lock:
            self._check_open()
            ids: set[str] = set()
            created_external: dict[tuple[str, str], str] = {}
            keys: set[str] = set()
            batch_links: set[str] = set()
            for commit in commits:
                complaint = commit.complaint
                if complaint.id in ids:
                    raise StoreError(
                        f"complaint {complaint.id!r} appears twice in one commit_many batch; "
                        "merge its changes into one commit"
                    )
                ids.add(complaint.id)
                self._check_commit(commit)
                if commit.expected_version == 0 and complaint.external_id:
                    external = (complaint.channel, complaint.external_id)
                    if external in created_external:
                        raise DuplicateIntakeError(
                            *external, existing_id=created_external[external]
                        )
                    created_external[external] = complaint.id
                self._check_new_outbox(commit.outbox, keys)
                if commit.links:
                    self._check_new_links(commit, batch_links)
            # Every commit of the batch passed its checks: apply them all, in order.
            return [self._apply_commit(commit) for commit in commits]

    def rewrite(
        self, commit: Commit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> Complaint:
        complaint_id = commit.complaint.id
        with self._lock:
            self._check_open()
            self._check_commit(commit)
            self._check_new_outbox(commit.outbox)
            if commit.links:
                self._check_new_links(commit)
            self._check_replacements(
                complaint_id, self._events.get(complaint_id, []), events, outbox
            )
            stored = self._apply_commit(commit)
            self._replace(self._events[complaint_id], events, outbox)
            return stored

    def purge(self, complaints: Mapping[str, int]) -> int:
        with self._lock:
            self._check_open()
            purged: set[str] = set()
            for complaint_id, version in complaints.items():
                complaint = self._complaints.get(complaint_id)
                if complaint is None or complaint.version != version:
                    continue  # unknown, or changed since the caller chose it (e.g. reopened)
                del self._complaints[complaint_id]
                purged.add(complaint_id)
                del self._events[complaint_id]
                self._by_reference.pop(complaint.reference, None)
                if complaint.external_id:
                    self._by_external.pop((complaint.channel, complaint.external_id), None)
                # Its heap entries become stale and are dropped by the next sweep.
                self._due_at.pop(complaint_id, None)
            if purged:
                doomed = [m.key for m in self._outbox.values() if m.complaint_id in purged]
                for key in doomed:
                    del self._outbox[key]
                    self._claims.pop(key, None)
                self._drop_links(purged)
            return len(purged)

    def _check_commit(self, commit: Commit) -> None:
        """Raise if ``commit`` cannot be applied to what is stored now (lock held)."""
        complaint = commit.complaint
        current = self._complaints.get(complaint.id)
        if commit.expected_version == 0:
            if current is not None:
                raise ConcurrencyError(complaint.id, 0)
            if complaint.external_id:
                external = (complaint.channel, complaint.external_id)
                if external in self._by_external:
                    raise DuplicateIntakeError(*external, existing_id=self._by_external[external])
        elif current is None or current.version != commit.expected_version:
            raise ConcurrencyError(complaint.id, commit.expected_version)

    def _check_new_outbox(
        self, messages: Sequence[OutboxMessage], batch_keys: set[str] | None = None
    ) -> None:
        """Raise if a new message's key is stored, or taken earlier in the batch (lock held)."""
        outbox = self._outbox
        for message in messages:
            key = message.key
            if key in outbox or (batch_keys is not None and key in batch_keys):
                raise StoreError(
                    f"outbox key {key!r} is already stored; every message needs its own key"
                )
            if batch_keys is not None:
                batch_keys.add(key)

    def _apply_commit(self, commit: Commit) -> Complaint:
        """Write a checked commit (lock held); cannot fail."""
        complaint = commit.complaint
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
            previous = self._complaints[complaint.id]
            if previous.external_id != complaint.external_id:  # erasure clears it
                if previous.external_id:
                    self._by_external.pop((previous.channel, previous.external_id), None)
                if complaint.external_id:
                    self._by_external[(complaint.channel, complaint.external_id)] = complaint.id
        self._complaints[complaint.id] = complaint
        due_at = complaint.due_at
        if due_at != self._due_at.get(complaint.id):
            if due_at is None:
                del self._due_at[complaint.id]
            else:
                self._due_at[complaint.id] = due_at
                heapq.heappush(self._due_heap, (due_at, complaint.id))
        outbox = self._outbox
        for message in commit.outbox:
            outbox[message.key] = message
        if commit.links:
            self._keep_links(commit.links)
        return complaint

    def _check_replacements(
        self,
        subject: str,
        stored_events: Sequence[Event],
        events: Sequence[Event],
        outbox: Sequence[OutboxMessage],
    ) -> None:
        """Raise unless every replacement matches a stored event or message of ``subject``."""
        for event in events:
            if (
                event.complaint_id != subject
                or not 1 <= event.seq <= len(stored_events)
                or stored_events[event.seq - 1].seq != event.seq
            ):
                raise StoreError(
                    f"cannot replace event {event.seq} of {event.complaint_id!r}: "
                    f"{subject!r} has no such stored event; nothing was written"
                )
        for message in outbox:
            stored = self._outbox.get(message.key)
            if stored is None or stored.complaint_id != subject or message.complaint_id != subject:
                raise StoreError(
                    f"cannot replace outbox message {message.key!r}: {subject!r} has no "
                    "such stored message; nothing was written"
                )

    def _replace(
        self,
        stored_events: list[Event],
        events: Sequence[Event],
        outbox: Sequence[OutboxMessage],
    ) -> None:
        """Write checked replacements (lock held); messages keep their place in the outbox."""
        for event in events:
            stored_events[event.seq - 1] = event
        for message in outbox:
            self._outbox[message.key] = message
            # A dispatcher holding the old copy must not act on it as still claimed.
            self._claims.pop(message.key, None)

    # -- complaints: reading ------------------------------------------------------

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
        received_after: datetime | None = None,
        updated_before: datetime | None = None,
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
            and (received_after is None or c.received_at >= received_after)
            and (updated_before is None or c.updated_at < updated_before)
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

    # -- outbox (complaint messages and conduct notices alike) --------------------

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

    def outbox_update(
        self, message: OutboxMessage, *, expected_status: OutboxStatus = OutboxStatus.PENDING
    ) -> bool:
        with self._lock:
            self._check_open()
            stored = self._outbox.get(message.key)
            if stored is None or stored.status is not expected_status:
                return False
            self._outbox[message.key] = with_delivery_state(stored, message)
            self._claims.pop(message.key, None)
            return True

    def outbox_find(
        self, *, status: OutboxStatus | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        with self._lock:
            found = [m for m in self._outbox.values() if status is None or m.status is status]
        return found if limit is None else found[:limit]

    def outbox(self, complaint_id: str) -> list[OutboxMessage]:
        with self._lock:
            return [m for m in self._outbox.values() if m.complaint_id == complaint_id]

    # -- conduct records ------------------------------------------------------------

    def conduct_commit(self, commit: ConductCommit) -> ConductRecord:
        with self._lock:
            self._check_open()
            self._check_conduct_commit(commit)
            self._check_new_outbox(commit.outbox)
            return self._apply_conduct_commit(commit)

    def conduct_get(self, customer_id: str) -> ConductRecord | None:
        with self._lock:
            return self._conduct.get(customer_id)

    def conduct_events(self, customer_id: str) -> list[Event]:
        with self._lock:
            return list(self._conduct_events.get(customer_id, ()))

    def conduct_find(
        self,
        *,
        statuses: Collection[ConductStatus] | None = None,
        review_before: datetime | None = None,
        with_review_items: bool = False,
        limit: int | None = None,
    ) -> list[ConductRecord]:
        wanted = None if statuses is None else frozenset(statuses)
        with self._lock:
            records = self._conduct
            if review_before is not None:
                # The review index is already in the result's order.
                candidates = []
                for review_at, customer_id in self._conduct_by_review:
                    if review_at > review_before:
                        break
                    candidates.append(records[customer_id])
                ordered = True
            elif with_review_items:
                candidates = [records[customer_id] for customer_id in self._conduct_with_items]
                ordered = False
            else:
                candidates = list(records.values())
                ordered = False
        found = [
            r
            for r in candidates
            if (wanted is None or r.status in wanted) and (not with_review_items or r.review_queue)
        ]
        if not ordered:
            found.sort(key=_review_order)
        return found if limit is None else found[:limit]

    def conduct_rewrite(
        self, commit: ConductCommit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> ConductRecord:
        record = commit.record
        with self._lock:
            self._check_open()
            self._check_conduct_commit(commit)
            self._check_new_outbox(commit.outbox)
            self._check_replacements(
                record.id, self._conduct_events.get(record.customer_id, []), events, outbox
            )
            stored = self._apply_conduct_commit(commit)
            self._replace(self._conduct_events[record.customer_id], events, outbox)
            return stored

    def _check_conduct_commit(self, commit: ConductCommit) -> None:
        """Raise if the record's stored version is not the one the writer read (lock held)."""
        record = commit.record
        current = self._conduct.get(record.customer_id)
        stored_version = 0 if current is None else current.version
        if stored_version != commit.expected_version:
            raise ConcurrencyError(record.id, commit.expected_version)

    def _apply_conduct_commit(self, commit: ConductCommit) -> ConductRecord:
        """Write a checked conduct commit and keep the indexes right (lock held)."""
        record = commit.record
        customer_id = record.customer_id
        previous = self._conduct.get(customer_id)
        if previous is None:
            self._conduct_events[customer_id] = list(commit.events)
        else:
            self._conduct_events[customer_id].extend(commit.events)
            if previous.review_at is not None:
                index = self._conduct_by_review
                entry = (previous.review_at, customer_id)
                del index[bisect.bisect_left(index, entry)]
        if record.review_at is not None:
            bisect.insort(self._conduct_by_review, (record.review_at, customer_id))
        if record.review_queue:
            self._conduct_with_items.add(customer_id)
        else:
            self._conduct_with_items.discard(customer_id)
        self._conduct[customer_id] = record
        for message in commit.outbox:
            self._outbox[message.key] = message
        return record

    # -- lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"store {self.url!r} is closed; open a new engine")

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r}, complaints={len(self._complaints)})"

    # -- the channel part: message links, quarantine, cursors ------------------------
    # Every value kept is immutable (frozen attrs, bytes), so it is kept and handed
    # out as it is: no caller can change what is stored.

    def links_find(self, message_ids: Collection[str]) -> list[MessageLink]:
        wanted = sorted(check.message_ids(message_ids))
        with self._lock:
            links = self._links
            return [links[message_id] for message_id in wanted if message_id in links]

    def links_of(self, complaint_id: str) -> list[MessageLink]:
        complaint_id = check.complaint_id(complaint_id)
        with self._lock:
            found = list(self._links_by_complaint.get(complaint_id, ()))
        found.sort(key=lambda link: (link.at, link.message_id))
        return found

    def links_add(self, links: Sequence[MessageLink]) -> int:
        given = check.new_links(links)
        with self._lock:
            self._check_open()
            new = [link for link in given if link.message_id not in self._links]
            self._keep_links(new)
        return len(new)

    def quarantine_add(self, item: QuarantinedMessage) -> QuarantinedMessage:
        item = check.quarantined(item)
        with self._lock:
            self._check_open()
            return self._quarantine.setdefault(item.id, item)

    def quarantine_get(self, item_id: str) -> QuarantinedMessage | None:
        item_id = check.item_id(item_id)
        with self._lock:
            return self._quarantine.get(item_id)

    def quarantine_find(
        self, *, status: QuarantineStatus | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        wanted = check.optional_quarantine_status("status", status)
        most = check.limit(limit)
        with self._lock:
            found = [
                item
                for item in self._quarantine.values()
                if wanted is None or item.status is wanted
            ]
        found.sort(key=lambda item: (item.received_at, item.id))
        return [item.entry() for item in found[:most]]

    def quarantine_update(
        self, item: QuarantinedMessage | QuarantineEntry, *, expected_status: QuarantineStatus
    ) -> bool:
        item, expected = check.quarantine_update(item, expected_status)
        with self._lock:
            self._check_open()
            stored = self._quarantine.get(item.id)
            if stored is None or stored.status is not expected:
                return False
            self._quarantine[item.id] = with_quarantine_state(stored, item)
            return True

    def cursor_get(self, name: str) -> str | None:
        name = check.cursor_name(name)
        with self._lock:
            return self._cursors.get(name)

    def cursor_set(self, name: str, value: str, *, expected: str | None) -> bool:
        name = check.cursor_name(name)
        value, expected = check.cursor_values(value, expected)
        with self._lock:
            self._check_open()
            if self._cursors.get(name) != expected:
                return False
            self._cursors[name] = value
            return True

    def _check_new_links(self, commit: Commit, batch: set[str] | None = None) -> None:
        """Raise if a link's message id is stored, or taken earlier in the batch (lock held)."""
        links = self._links
        for link in commit.links:
            message_id = link.message_id
            if message_id in links or (batch is not None and message_id in batch):
                raise ConcurrencyError(commit.complaint.id, commit.expected_version)
            if batch is not None:
                batch.add(message_id)

    def _keep_links(self, links: Sequence[MessageLink]) -> None:
        """Store links whose message ids are new (lock held)."""
        by_complaint = self._links_by_complaint
        for link in links:
            self._links[link.message_id] = link
            by_complaint.setdefault(link.complaint_id, []).append(link)

    def _drop_links(self, complaint_ids: set[str]) -> None:
        """Delete the links of purged complaints (lock held)."""
        for complaint_id in complaint_ids:
            for link in self._links_by_complaint.pop(complaint_id, ()):
                del self._links[link.message_id]

    # -- the action part: corrective actions and the complaint counts that judge them --

    def action_commit(self, commit: ActionCommit) -> CorrectiveAction:
        commit = action_arguments.commit(commit)
        action = commit.action
        with self._lock:
            self._check_open()
            current = self._actions.get(action.id)
            stored_version = 0 if current is None else current.version
            if stored_version != commit.expected_version:
                raise ConcurrencyError(action.id, commit.expected_version)
            self._check_new_outbox(commit.outbox)
            # Every check passed: nothing below can fail.
            if current is None:
                self._action_events[action.id] = list(commit.events)
            else:
                self._action_events[action.id].extend(commit.events)
                _unindex(self._actions_by_due, current.due_at, action.id)
                if current.check_due_at is not None:
                    _unindex(self._actions_by_check_due, current.check_due_at, action.id)
            bisect.insort(self._actions_by_due, (action.due_at, action.id))
            if action.check_due_at is not None:
                bisect.insort(self._actions_by_check_due, (action.check_due_at, action.id))
            self._actions[action.id] = action
            for message in commit.outbox:
                self._outbox[message.key] = message
            return action

    def action_get(self, action_id: str) -> CorrectiveAction | None:
        action_id = action_arguments.action_id(action_id)
        with self._lock:
            return self._actions.get(action_id)

    def action_events(self, action_id: str) -> list[Event]:
        action_id = action_arguments.action_id(action_id)
        with self._lock:
            return list(self._action_events.get(action_id, ()))

    def action_find(
        self,
        *,
        statuses: Collection[ActionStatus] | None = None,
        owner_id: str | None = None,
        due_before: datetime | None = None,
        check_due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[CorrectiveAction]:
        wanted, owner, due, check_due, most = action_arguments.find_arguments(
            statuses, owner_id, due_before, check_due_before, limit
        )
        with self._lock:
            actions = self._actions
            if check_due is not None:
                candidates = [
                    actions[action_id]
                    for at, action_id in self._actions_by_check_due
                    if at <= check_due
                ]
            else:
                candidates = [actions[action_id] for _, action_id in self._actions_by_due]
        found = [
            a
            for a in candidates
            if (wanted is None or a.status in wanted)
            and (owner is None or a.owner.id == owner)
            and (due is None or a.due_at <= due)
            and (check_due is None or (a.check_due_at is not None and a.check_due_at <= check_due))
        ]
        found.sort(key=lambda a: (a.due_at, a.id))
        return found if most is None else found[:most]

    def complaint_counts(
        self, categories: Collection[str], bounds: Sequence[datetime]
    ) -> list[int]:
        wanted = frozenset(action_arguments.categories(categories))
        moments = action_arguments.bounds(bounds)
        with self._lock:
            received = [c.received_at for c in self._complaints.values() if c.category in wanted]
        counts = [0] * (len(moments) - 1)
        for at in received:
            index = bisect.bisect_right(moments, at) - 1
            if 0 <= index < len(counts):
                counts[index] += 1
        return counts

    # -- satisfaction: CSAT (storage/satisfaction_reads.py) -----------------------------

    def survey_csat(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        by: Sequence[str] = (),
        period: str | None = None,
    ) -> list[CsatRow]:
        """CSAT of the survey answers given from ``since`` to ``until`` (a fold of the events)."""
        start, end, dimensions, chosen = csat_arguments(since, until, by, period)
        with self._lock:
            events = [
                event
                for trail in self._events.values()
                for event in trail
                if event.kind == ANSWERED
                and (start is None or event.at >= start)
                and (end is None or event.at < end)
            ]
        answers = (answered_survey(event) for event in events)
        return csat([a for a in answers if a is not None], by=dimensions, period=chosen)

    # -- the report part: the rules of storage/milestones.py over the dicts --------------

    def report_volumes(
        self, boundaries: Sequence[datetime], *, by: Sequence[str] = ()
    ) -> list[VolumeCount]:
        """Complaints received per period and combination of ``by`` columns."""
        bounds, columns = check_boundaries(boundaries, by)
        with self._lock:
            self._check_open()
            complaints = list(self._complaints.values())
        counts: dict[tuple[int, tuple[str, ...]], int] = {}
        for complaint in complaints:
            index = bisect.bisect_right(bounds, complaint.received_at) - 1
            if 0 <= index < len(bounds) - 1:
                key = (index, tuple(str(getattr(complaint, column)) for column in columns))
                counts[key] = counts.get(key, 0) + 1
        return [
            VolumeCount(period=period, values=values, count=count)
            for (period, values), count in sorted(counts.items())
        ]

    def report_milestones(
        self,
        rules: MilestoneRules,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 1000,
    ) -> list[ComplaintMilestones]:
        """One keyset batch of milestones of the complaints received in the window."""
        if not isinstance(rules, MilestoneRules):
            raise InvalidArgumentError(f"rules must be MilestoneRules, got {type(rules).__name__}")
        check_window(received_after, received_before, "report_milestones")
        after, limit = check_page(after, limit)
        with self._lock:
            self._check_open()
            complaints = list(self._complaints.values())
            histories = {c.id: list(self._events[c.id]) for c in complaints}
        chosen = sorted(
            (
                c
                for c in complaints
                if (received_after is None or c.received_at >= received_after)
                and (received_before is None or c.received_at < received_before)
                and (after is None or (c.received_at, c.id) > after)
            ),
            key=lambda c: (c.received_at, c.id),
        )[:limit]
        earlier: dict[str, list[Complaint]] = {}
        for complaint in complaints:
            earlier.setdefault(complaint.customer.id, []).append(complaint)
        window = rules.repeat_within
        batch = []
        for complaint in chosen:
            before = [
                other
                for other in earlier[complaint.customer.id]
                if (other.received_at, other.id) < (complaint.received_at, complaint.id)
                and other.received_at >= complaint.received_at - window
            ]
            batch.append(
                fold_history(
                    complaint_facts(complaint, rules.data_keys),
                    [event_facts(e) for e in histories[complaint.id] if e.kind in _REPORTED],
                    rules,
                    bool(before),
                    any(other.category == complaint.category for other in before),
                )
            )
        return batch


_REPORTED = frozenset(REPORT_EVENT_KINDS)


def _due(message: OutboxMessage, now: datetime) -> bool:
    return message.next_attempt_at is None or message.next_attempt_at <= now


def _unindex(index: list[tuple[datetime, str]], at: datetime, key: str) -> None:
    """Remove ``(at, key)`` from a sorted index."""
    del index[bisect.bisect_left(index, (at, key))]


def _review_order(record: ConductRecord) -> tuple[bool, datetime | None, str]:
    # Records without a review date sort last; their placeholder is never compared
    # with a real date because the first element already differs.
    review_at = record.review_at
    return (review_at is None, review_at, record.customer_id)


def open_memory_store(url: str) -> MemoryStore:
    """Factory for ``memory://`` URLs (every call gives a new, empty store)."""
    return MemoryStore(url)
