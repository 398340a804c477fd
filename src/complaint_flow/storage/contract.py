"""The storage contract every store implements, and the unit of writing: a commit.

A store is chosen by URL (``memory://``, ``sqlite:///complaints.db``…) through
the ``complaint_flow_register_stores`` hook. Its one write operation,
:meth:`Store.commit`, stores a complaint's new version together with the events
that explain it and the outbox messages it causes, all or nothing, provided the
stored version is still the one the writer read (optimistic concurrency).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from complaint_flow.errors import StoreError
from complaint_flow.model.actions import ActionStatus, CorrectiveAction
from complaint_flow.model.channel_records import (
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
)
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.model.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.storage.hashing import Chain
from complaint_flow.storage.milestones import ComplaintMilestones, MilestoneRules, VolumeCount


def _check_numbering(
    what: str,
    subject_id: str,
    version: int,
    expected_version: int,
    events: tuple[Event, ...],
    outbox: tuple[OutboxMessage, ...],
) -> None:
    """The rules a commit of a complaint or a conduct record keeps (``what`` names it)."""
    if expected_version < 0:
        raise StoreError(f"expected_version must be >= 0, got {expected_version}")
    if not events:
        raise StoreError("a commit must record at least one event: every change is an event")
    expected_seq = expected_version
    for event in events:
        expected_seq += 1
        if event.seq != expected_seq or event.complaint_id != subject_id:
            raise StoreError(
                f"the events of a commit must belong to {what} {subject_id!r} and be "
                f"numbered {expected_version + 1}, {expected_version + 2}, …; "
                f"got event {event.seq} of {event.complaint_id!r}"
            )
    if version != expected_seq:
        raise StoreError(
            f"the {what}'s version ({version}) must equal its last event's seq ({expected_seq})"
        )
    for message in outbox:
        if message.complaint_id != subject_id:
            raise StoreError(f"every outbox message of a commit must belong to its {what}")


def _check_commit(
    complaint: Complaint,
    expected_version: int,
    events: tuple[Event, ...],
    outbox: tuple[OutboxMessage, ...],
    reference_prefix: str | None,
) -> None:
    _check_numbering("complaint", complaint.id, complaint.version, expected_version, events, outbox)
    if expected_version == 0 and not reference_prefix:
        raise StoreError("creating a complaint needs a reference_prefix to number it")


def _check_links(complaint_id: str, links: tuple[MessageLink, ...]) -> None:
    """A commit's links are :class:`MessageLink` values of its complaint, each id once."""
    seen: set[str] = set()
    for link in links:
        if not isinstance(link, MessageLink) or link.complaint_id != complaint_id:
            raise StoreError(
                f"every link of a commit must be a MessageLink of its complaint "
                f"{complaint_id!r}; got {link!r}"
            )
        if link.message_id in seen:
            raise StoreError(
                f"message id {link.message_id!r} is linked twice in one commit; link it once"
            )
        seen.add(link.message_id)


@attrs.frozen(slots=False, init=False)
class Commit:
    """A complaint's new version with its events and outbox messages, written together.

    Building one checks the rules below and hash-chains the events from the
    ``audit_head`` of the complaint given: ``complaint`` and ``events`` carry their
    hashes (``audit_head``, ``hash``), as copies where what was given did not; the
    caller's objects stay as they were.

    Args:
        complaint: the new version; its ``version`` is ``expected_version + len(events)``.
        expected_version: the version the writer read; 0 creates the complaint.
        events: the events that lead to the new version, numbered consecutively; or
            the :class:`~complaint_flow.storage.hashing.Chain` they were recorded on,
            whose events already carry their hashes and are taken as they are (the
            chain starts at the head of the version read, and ``complaint`` may carry
            the chain's head already).
        outbox: notifications caused by the change.
        reference_prefix: for a creation, the prefix of the human reference the
            store allocates (``CF`` gives ``CF-2026-000001``).
        links: message ids to link to the complaint in the same transaction (see
            :class:`ChannelStore`); if one is already stored the whole commit is
            refused with ``ConcurrencyError``.
    """

    complaint: Complaint
    expected_version: int
    events: tuple[Event, ...]
    outbox: tuple[OutboxMessage, ...] = ()
    reference_prefix: str | None = None
    links: tuple[MessageLink, ...] = ()

    def __init__(
        self,
        complaint: Complaint,
        expected_version: int,
        events: Iterable[Event] | Chain,
        outbox: Iterable[OutboxMessage] = (),
        reference_prefix: str | None = None,
        links: Iterable[MessageLink] = (),
    ) -> None:
        chain = events if isinstance(events, Chain) else None
        given = chain.events if chain is not None else tuple(events)
        outbox = tuple(outbox)
        _check_commit(complaint, expected_version, given, outbox, reference_prefix)
        links = tuple(links)
        if links:
            _check_links(complaint.id, links)
        if chain is None:
            chain = Chain.over(complaint.audit_head, given)
            given = chain.events
        head = chain.head
        self.__attrs_init__(
            complaint if complaint.audit_head == head else complaint.replace(audit_head=head),
            expected_version,
            given,
            outbox,
            reference_prefix,
            links,
        )

    @classmethod
    def build(
        cls,
        complaint: Complaint,
        expected_version: int,
        events: tuple[Event, ...] | Chain,
        outbox: tuple[OutboxMessage, ...] = (),
        reference_prefix: str | None = None,
        links: tuple[MessageLink, ...] = (),
    ) -> Commit:
        """``Commit(...)`` with every argument given positionally (the engine's form)."""
        return cls(complaint, expected_version, events, outbox, reference_prefix, links)


def _check_conduct_commit(
    record: ConductRecord,
    expected_version: int,
    events: tuple[Event, ...],
    outbox: tuple[OutboxMessage, ...],
) -> None:
    _check_numbering("conduct record", record.id, record.version, expected_version, events, outbox)


@attrs.frozen(slots=False, init=False)
class ConductCommit:
    """A conduct record's new version with its events and notices, written together.

    The same rules as :class:`Commit`: ``record.version`` is ``expected_version +
    len(events)``, events are numbered on from ``expected_version + 1`` and carry
    the record's id (``conduct:<customer id>``) as their ``complaint_id``, as do
    the outbox messages; 0 creates the record. ``record`` and ``events`` carry
    their hashes, as in a :class:`Commit` (``events`` may be the chain they were
    recorded on).
    """

    record: ConductRecord
    expected_version: int
    events: tuple[Event, ...]
    outbox: tuple[OutboxMessage, ...] = ()

    def __init__(
        self,
        record: ConductRecord,
        expected_version: int,
        events: Iterable[Event] | Chain,
        outbox: Iterable[OutboxMessage] = (),
    ) -> None:
        chain = events if isinstance(events, Chain) else None
        given = chain.events if chain is not None else tuple(events)
        outbox = tuple(outbox)
        _check_conduct_commit(record, expected_version, given, outbox)
        if chain is None:
            chain = Chain.over(record.audit_head, given)
            given = chain.events
        head = chain.head
        self.__attrs_init__(
            record if record.audit_head == head else attrs.evolve(record, audit_head=head),
            expected_version,
            given,
            outbox,
        )


def format_reference(prefix: str, year: int, number: int) -> str:
    """The human reference of the ``number``-th complaint of ``year``: ``CF-2026-000123``."""
    return f"{prefix}-{year}-{number:06d}"


class _Lifecycle(Protocol):
    """What every part of a store has: the URL it was opened with, and ``close()``."""

    url: str

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


@runtime_checkable
class ComplaintStore(_Lifecycle, Protocol):
    """Complaints and their audit trail: the versioned, optimistic writes and their reads.

    A commit also writes the outbox messages it causes, in the same transaction;
    they are read and delivered through :class:`OutboxStore`.
    """

    def commit(self, commit: Commit) -> Complaint:
        """Write the commit atomically and return the stored complaint.

        For a creation the store allocates the reference and returns the
        complaint carrying it.

        Raises:
            ConcurrencyError: the stored version is not ``expected_version``
                (or the complaint already exists, for a creation), or one of the
                commit's ``links`` has a message id that is already stored.
            DuplicateIntakeError: a creation whose (channel, external_id) is taken.
        """
        ...

    def get(self, complaint_id: str) -> Complaint:
        """The latest version. Raises ``ComplaintNotFoundError``."""
        ...

    def get_by_reference(self, reference: str) -> Complaint:
        """The latest version of the complaint with that human reference."""
        ...

    def find_by_external_id(self, channel: str, external_id: str) -> Complaint | None:
        """The complaint created from that channel message, if any."""
        ...

    def events(self, complaint_id: str) -> list[Event]:
        """The complaint's audit trail in order. Raises ``ComplaintNotFoundError``."""
        ...

    def commit_many(self, commits: Sequence[Commit]) -> list[Complaint]:
        """Write several commits (of different complaints) in one transaction, all or nothing.

        Each commit follows the rules of :meth:`commit`; creations are numbered in
        the order given. Returns the stored complaints in the same order. Used for
        bulk intake, where one transaction (one disk flush) for many complaints is
        what makes it fast.

        Raises:
            StoreError: two commits of the batch are for the same complaint.
            ConcurrencyError, DuplicateIntakeError: as :meth:`commit`, for the first
                offending commit; nothing of the batch is written.
        """
        ...

    def rewrite(
        self, commit: Commit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> Complaint:
        """Apply ``commit`` and replace stored events and outbox messages, atomically.

        For erasing personal data: ``events`` replace the complaint's stored events
        with the same ``seq`` (written as given, ``hash`` and ``redacted``
        included) and ``outbox`` the stored messages with the same ``key``, in
        the same transaction as the version-checked ``commit`` (which records the
        erasure). Nothing else of the trail can be changed. A replaced message's
        claim ends (see :meth:`outbox_claim`): a dispatcher still holding its old
        copy finds it changed when it records the outcome (:meth:`outbox_update`).

        Raises:
            ConcurrencyError: as :meth:`commit`; nothing is written.
            StoreError: an event or message to replace is not stored for that
                complaint; nothing is written.
        """
        ...

    def purge(self, complaints: Mapping[str, int]) -> int:
        """Delete these complaints with their events, outbox messages and message links.

        ``complaints`` maps each id to the version the caller saw (when it decided
        the complaint may go). A complaint is deleted only if its stored version is
        still that one, checked atomically with the delete: one changed meanwhile
        (e.g. reopened) is kept, as are unknown ids; neither is an error. Returns
        how many complaints were deleted. The deleted data must not remain readable
        in the store (SQLite: its free pages are overwritten).
        """
        ...

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
        """Complaints matching every given filter, oldest received first.

        ``received_after`` keeps complaints received at or after that instant;
        ``updated_before`` those whose latest version was written before it.
        """
        ...

    def count(self) -> int:
        """How many complaints are stored."""
        ...

    def due(self, before: datetime, limit: int) -> list[Complaint]:
        """Complaints whose ``due_at`` is at or before ``before``, earliest first."""
        ...


@runtime_checkable
class OutboxStore(_Lifecycle, Protocol):
    """The outbox: the notifications commits wrote, read, claimed and delivered.

    Messages enter the outbox only with a commit (:meth:`ComplaintStore.commit`,
    :meth:`ConductStore.conduct_commit` and their batch and rewrite forms); this
    part reads them and records their delivery. Complaint messages and conduct
    notices share it, in one commit order.
    """

    def outbox_pending(self, limit: int, now: datetime | None = None) -> list[OutboxMessage]:
        """Pending outbox messages, oldest first; with ``now``, only those due by then.

        A message is due when its ``next_attempt_at`` is None or at or before ``now``.
        Claims are ignored: this is a read, not a way to deliver concurrently.
        """
        ...

    def outbox_claim(
        self, now: datetime, limit: int, lease: timedelta, owner: str
    ) -> list[OutboxMessage]:
        """Atomically claim up to ``limit`` due, unclaimed pending messages for ``owner``.

        A message is claimable when it is pending, due (``next_attempt_at`` None or
        at or before ``now``) and not claimed, or its claim ended at or before
        ``now``. The claim lasts until ``now + lease``: a dispatcher that crashed
        leaves its messages claimable again after that. Two concurrent calls never
        return the same message while its claim lasts. Oldest first.
        """
        ...

    def outbox_update(
        self, message: OutboxMessage, *, expected_status: OutboxStatus = OutboxStatus.PENDING
    ) -> bool:
        """Record a delivery outcome: the stored message's delivery state becomes ``message``'s.

        Matched by ``key``. Only the delivery state is written (``status``,
        ``attempts``, ``last_error``, ``delivered_at``, ``next_attempt_at``) and the
        message's claim ends; its content (``payload``, ``address``, ``channel``,
        ``recipient``, ``topic``, ...) stays as stored, so an erasure
        (:meth:`ComplaintStore.rewrite`) that happened while a dispatcher held an
        old copy is not undone. The update happens only if the stored status is still
        ``expected_status``, checked atomically with the write.

        Returns:
            True if the message was updated; False (nothing changed) if no message
            with that key is stored (e.g. purged) or its stored status is not
            ``expected_status`` (changed meanwhile: erased, or handled elsewhere).
        """
        ...

    def outbox_find(
        self, *, status: OutboxStatus | None = None, limit: int | None = None
    ) -> list[OutboxMessage]:
        """Outbox messages of every complaint with that status (any if None), oldest first."""
        ...

    def outbox(self, complaint_id: str) -> list[OutboxMessage]:
        """Every outbox message of a complaint, oldest first."""
        ...


@runtime_checkable
class ConductStore(_Lifecycle, Protocol):
    """Customers' conduct records (the stop procedure), versioned like complaints.

    A record's notices go to the same outbox as complaint messages (see
    :class:`OutboxStore`).
    """

    def conduct_commit(self, commit: ConductCommit) -> ConductRecord:
        """Write a conduct record's new version with its events and notices atomically.

        Optimistic concurrency as :meth:`ComplaintStore.commit`: ``expected_version``
        0 creates the record (``ConcurrencyError`` if the customer has one),
        otherwise the stored version must equal it. Notices go to the same outbox as complaint
        messages (their ``complaint_id`` is the record's id). Returns the stored
        record.
        """
        ...

    def conduct_get(self, customer_id: str) -> ConductRecord | None:
        """The latest version of the customer's conduct record, or None if they have none."""
        ...

    def conduct_events(self, customer_id: str) -> list[Event]:
        """The conduct record's events in order (empty if there is no record)."""
        ...

    def conduct_find(
        self,
        *,
        statuses: Collection[ConductStatus] | None = None,
        review_before: datetime | None = None,
        with_review_items: bool = False,
        limit: int | None = None,
    ) -> list[ConductRecord]:
        """Conduct records matching every given filter.

        ``statuses`` keeps records in one of those statuses; ``review_before``
        those whose ``review_at`` is at or before that instant;
        ``with_review_items`` those with a non-empty review queue. Ordered by
        ``review_at`` (records without one last), then customer id. Must not
        read every record when ``review_before`` or ``with_review_items`` is given
        (index them).
        """
        ...

    def conduct_rewrite(
        self, commit: ConductCommit, events: Sequence[Event], outbox: Sequence[OutboxMessage]
    ) -> ConductRecord:
        """:meth:`ComplaintStore.rewrite` for a conduct record (erasure of personal data)."""
        ...


@runtime_checkable
class ChannelStore(_Lifecycle, Protocol):
    """What the channel services keep: message links, the quarantine, mailbox cursors.

    **Message links** tie a message id (an email's ``Message-ID``) to its complaint,
    so that a reply or a second delivery of the same message finds it. An inbound
    message's link is written by the commit that records it (``Commit.links``): a
    commit whose message id is already stored is refused with ``ConcurrencyError``,
    so of two workers receiving the same message one commits and the other, retrying,
    finds the link and does nothing. A link stays with its complaint until the
    complaint is purged; erasure keeps it (an id names a message, not a person, and
    later replies must still find the complaint).

    **The quarantine** keeps inbound messages that could not be read, byte for
    byte, until they are re-processed or discarded. Listings leave the bytes out
    (:class:`~complaint_flow.model.channel_records.QuarantineEntry`); only
    :meth:`quarantine_get` reads them.

    **Cursors** are small named values a poller advances (a mailbox's
    ``uidvalidity:uid``), by compare-and-set, so two pollers never both advance one.
    """

    def links_find(self, message_ids: Collection[str]) -> list[MessageLink]:
        """The stored links of these message ids, ordered by message id.

        Unknown ids are left out; any number of ids may be given (SQL stores send
        large lists in batches). Served by the message id's index.

        Raises:
            InvalidArgumentError: ``message_ids`` is a single string, or holds
                something that is not a message id.
        """
        ...

    def links_of(self, complaint_id: str) -> list[MessageLink]:
        """Every link of a complaint, oldest (``at``) first, then by message id.

        What an outgoing email's ``References`` header is built from. Served by an
        index on the complaint id.
        """
        ...

    def links_add(self, links: Sequence[MessageLink]) -> int:
        """Store links outside a commit (e.g. the Message-ID of a reply we sent).

        A message id already stored keeps its first link (so does the first of two
        given with the same id); the store does not check that the complaint exists.
        All are written in one transaction.

        Returns:
            How many links were new.
        """
        ...

    def quarantine_add(self, item: QuarantinedMessage) -> QuarantinedMessage:
        """Keep ``item``; if its id is already kept, change nothing.

        Returns:
            The stored message: ``item``, or the one stored earlier with that id,
            unchanged.
        """
        ...

    def quarantine_get(self, item_id: str) -> QuarantinedMessage | None:
        """The quarantined message with that id, its bytes exactly as added, or None."""
        ...

    def quarantine_find(
        self, *, status: QuarantineStatus | None = None, limit: int | None = None
    ) -> list[QuarantineEntry]:
        """Quarantined messages with that status (any if None), without their bytes.

        Oldest ``received_at`` first, then by id; at most ``limit``. Served by an
        index on (status, received_at, id).
        """
        ...

    def quarantine_update(
        self, item: QuarantinedMessage | QuarantineEntry, *, expected_status: QuarantineStatus
    ) -> bool:
        """Write ``item``'s status, reason, attempts, updated_at, complaint_id and note.

        Matched by id, only if the stored status is still ``expected_status``,
        checked atomically with the write (compare-and-set). The bytes, source,
        channel and ``received_at`` stay as stored, whatever ``item`` holds.

        Returns:
            True if it wrote; False (nothing changed) if no message has that id or
            its stored status is not ``expected_status``.
        """
        ...

    def cursor_get(self, name: str) -> str | None:
        """The value of the cursor ``name``, or None if it was never set."""
        ...

    def cursor_set(self, name: str, value: str, *, expected: str | None) -> bool:
        """Set the cursor ``name`` to ``value`` if its stored value is ``expected``.

        ``expected=None`` means the cursor must not exist yet. Checked atomically
        with the write: of several callers expecting the same value, exactly one
        succeeds.

        Returns:
            Whether it wrote.
        """
        ...


def with_delivery_state(stored: OutboxMessage, outcome: OutboxMessage) -> OutboxMessage:
    """``stored`` with the delivery state of ``outcome``: what ``outbox_update`` writes.

    See :meth:`OutboxStore.outbox_update`.

    Args:
        stored: the message as stored; its content is kept.
        outcome: a copy carrying the new ``status``, ``attempts``, ``last_error``,
            ``delivered_at`` and ``next_attempt_at``.
    """
    return attrs.evolve(
        stored,
        status=outcome.status,
        attempts=outcome.attempts,
        last_error=outcome.last_error,
        delivered_at=outcome.delivered_at,
        next_attempt_at=outcome.next_attempt_at,
    )


def with_quarantine_state(
    stored: QuarantinedMessage, update: QuarantinedMessage | QuarantineEntry
) -> QuarantinedMessage:
    """``stored`` with the state of ``update``: what ``quarantine_update`` writes.

    See :meth:`ChannelStore.quarantine_update`: the status, reason, attempts,
    ``updated_at``, ``complaint_id`` and note are ``update``'s; the bytes, source,
    channel and ``received_at`` stay ``stored``'s.
    """
    return attrs.evolve(
        stored,
        status=update.status,
        reason=update.reason,
        attempts=update.attempts,
        updated_at=update.updated_at,
        complaint_id=update.complaint_id,
        note=update.note,
    )


def scheme_of(url: str) -> str:
    """The scheme of a store URL (``sqlite`` of ``sqlite:///x.db``), or ``""``."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep else ""


# -- corrective actions ---------------------------------------------------------------


@attrs.frozen(slots=False, init=False)
class ActionCommit:
    """A corrective action's new version with its events and messages, written together.

    The same rules as :class:`Commit`: ``action.version`` is ``expected_version +
    len(events)``, events are numbered on from ``expected_version + 1`` and carry the
    action's id (``action:<key>``) as their ``complaint_id``, as do the outbox
    messages; 0 creates the action. ``action`` and ``events`` carry their hashes, as
    in a :class:`Commit` (``events`` may be the chain they were recorded on).
    """

    action: CorrectiveAction
    expected_version: int
    events: tuple[Event, ...]
    outbox: tuple[OutboxMessage, ...] = ()

    def __init__(
        self,
        action: CorrectiveAction,
        expected_version: int,
        events: Iterable[Event] | Chain,
        outbox: Iterable[OutboxMessage] = (),
    ) -> None:
        chain = events if isinstance(events, Chain) else None
        given = chain.events if chain is not None else tuple(events)
        outbox = tuple(outbox)
        _check_numbering(
            "corrective action", action.id, action.version, expected_version, given, outbox
        )
        if chain is None:
            chain = Chain.over(action.audit_head, given)
            given = chain.events
        head = chain.head
        self.__attrs_init__(
            action if action.audit_head == head else attrs.evolve(action, audit_head=head),
            expected_version,
            given,
            outbox,
        )


@runtime_checkable
class ActionStore(_Lifecycle, Protocol):
    """Corrective actions, versioned like complaints, and the complaint counts that judge them.

    An action's messages (a warning that it is overdue, a check to confirm) go to the
    same outbox as complaint messages (see :class:`OutboxStore`).
    """

    def action_commit(self, commit: ActionCommit) -> CorrectiveAction:
        """Write an action's new version with its events and messages atomically.

        Optimistic concurrency as :meth:`ComplaintStore.commit`: ``expected_version``
        0 creates the action (``ConcurrencyError`` if its id is taken), otherwise the
        stored version must equal it; nothing is written when it is refused. Returns
        the stored action.

        Raises:
            ConcurrencyError: the stored version is not ``expected_version``.
            StoreError: an outbox key is already stored; nothing is written.
        """
        ...

    def action_get(self, action_id: str) -> CorrectiveAction | None:
        """The latest version of the action, or None if there is none with that id."""
        ...

    def action_events(self, action_id: str) -> list[Event]:
        """The action's events in order (empty if there is no such action)."""
        ...

    def action_find(
        self,
        *,
        statuses: Collection[ActionStatus] | None = None,
        owner_id: str | None = None,
        due_before: datetime | None = None,
        check_due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[CorrectiveAction]:
        """Actions matching every given filter, ordered by (``due_at`` as an instant, id).

        ``statuses`` keeps actions in one of those statuses; ``owner_id`` those whose
        owner has that id; ``due_before`` those whose ``due_at`` is at or before that
        instant; ``check_due_before`` those whose ``check_due_at`` is set and at or
        before it. At most ``limit``. Must not read every action when ``due_before``
        (with ``statuses``) or ``check_due_before`` is given (index them).
        """
        ...

    def complaint_counts(
        self, categories: Collection[str], bounds: Sequence[datetime]
    ) -> list[int]:
        """How many complaints in ``categories`` were received in each period of ``bounds``.

        ``bounds`` are consecutive instants ``b0 < b1 < … < bn``: the result has ``n``
        counts, the i-th counting complaints received at or after ``bi`` and before
        ``bi+1`` (as instants, whatever their offsets). Counted in the store, through
        its index on (category, received time), without reading the complaints.

        Raises:
            InvalidArgumentError: ``categories`` is a single string or empty, or
                ``bounds`` are fewer than two, not aware datetimes, or not increasing.
        """
        ...


@runtime_checkable
class Store(ComplaintStore, OutboxStore, ConductStore, ChannelStore, ActionStore, Protocol):
    """What the engine needs from a store: all five parts. Implementations must be thread-safe.

    The conformance suite in :mod:`complaint_flow.testing.conformance` states
    the rules precisely, with one mixin per part; every built-in store passes it.
    """


StoreFactory = Callable[[str], Store]
"""Builds a store from its URL; registered per URL scheme."""


@runtime_checkable
class ReportStore(_Lifecycle, Protocol):
    """Reading for reports: counts and per-complaint milestones, computed by the store.

    A fifth, optional part: the engine runs without it, and reports
    (:mod:`complaint_flow.services.reporting`) need it. Every built-in store has it;
    :func:`complaint_flow.storage.milestones.fold_history` holds the rules that
    turn a complaint's events into milestones, for a store to reuse.
    """

    def report_volumes(
        self, boundaries: Sequence[datetime], *, by: Sequence[str] = ()
    ) -> list[VolumeCount]:
        """How many complaints were received in each period, by the given columns.

        Period ``i`` runs from ``boundaries[i]`` (included) to ``boundaries[i + 1]``
        (excluded). Only combinations with complaints are returned, ordered by
        period then values.

        Args:
            boundaries: at least two increasing, timezone-aware instants.
            by: columns of :data:`~complaint_flow.storage.milestones.VOLUME_COLUMNS`.

        Raises:
            InvalidArgumentError: naive, unordered or too few boundaries; an
                unknown column.
        """
        ...

    def report_milestones(
        self,
        rules: MilestoneRules,
        *,
        received_after: datetime | None = None,
        received_before: datetime | None = None,
        after: tuple[datetime, str] | None = None,
        limit: int = 1000,
    ) -> list[ComplaintMilestones]:
        """One batch of the milestones of the complaints received in a window.

        Ordered by (``received_at`` as an instant, ``id``): pass the last one's
        :attr:`~complaint_flow.storage.milestones.ComplaintMilestones.cursor` as
        ``after`` for the next batch (keyset pagination: each batch costs the
        same, however far in, and nothing is held between batches). An empty
        list means the window is exhausted.

        Args:
            rules: what a response and a resolution are, per workflow.
            received_after: keep complaints received at or after it (None: from the first).
            received_before: keep those received before it (None: to the last).
            after: the cursor of the last milestones of the previous batch.
            limit: at most this many.

        Raises:
            InvalidArgumentError: a naive or inverted window, a malformed cursor,
                a limit below 1.
        """
        ...
