"""The store conformance suite: the rules every store follows, runnable by any store's author.

Every built-in store (``memory://``, ``sqlite:///…``, ``postgresql://…``) passes
this suite, and a third-party store must pass it too. Subclass
:class:`StoreConformance` in one of your test modules under a name pytest
collects, and give it a ``store`` fixture that yields a fresh, empty store (and
closes it afterwards)::

    import pytest
    from complaint_flow.testing.conformance import StoreConformance

    from my_package import open_my_store


    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            store = open_my_store(f"mystore://{tmp_path}/complaints")
            yield store
            store.close()

        # Optional: a store that keeps data checks that it survives reopening.
        @pytest.fixture
        def reopen(self, tmp_path):
            def reopen(old):
                old.close()
                return open_my_store(f"mystore://{tmp_path}/complaints")

            return reopen

``StoreConformance`` itself has no ``Test`` prefix, so pytest only runs it
through your subclass.

The rules come in one mixin per part of the store contract
(:mod:`complaint_flow.storage.contract`), each driven by the same fixtures, so a
store that implements some parts runs their rules only (subclass the mixins you
need; ``StoreConformance`` is all of them):

- :class:`ComplaintStoreConformance`: ``ComplaintStore``, rules 1-6, 8-15, 17
  and 18. A commit's outbox messages are part of it and are read back through
  the outbox, so the store needs the ``OutboxStore`` part too.
- :class:`OutboxStoreConformance`: ``OutboxStore``, rules 7 and 17. Messages enter the
  outbox with commits, so the store needs the ``ComplaintStore`` part too.
- :class:`ConductStoreConformance`: ``ConductStore``, rules 16 and 17. Notices
  are read back through the outbox, so the store needs the ``OutboxStore`` part
  too.
- :class:`ChannelStoreConformance`: ``ChannelStore``, rules 19-22. Inbound
  messages are linked by the commits that record them, so the store needs the
  ``ComplaintStore`` and ``OutboxStore`` parts too.
- :class:`StoreConformance`: the four, and the rules that span them (conduct
  notices and complaint messages share one outbox and its keys).
- :class:`ReportStoreConformance`: the optional ``ReportStore`` part, rules 23-26
  (its docstring states them). Reports are read from complaints, so the store
  needs the ``ComplaintStore`` part too.
- :class:`ActionStoreConformance`: ``ActionStore``, rules 23-27. Actions' messages are
  read back through the outbox and complaints are counted, so the store needs the
  ``ComplaintStore`` and ``OutboxStore`` parts too. (Run it beside
  ``StoreConformance``: ``class TestMyStore(StoreConformance, ActionStoreConformance)``.)

A store written before the ``ChannelStore`` part existed fails
``test_is_a_store`` and ``test_is_a_channel_store`` with a message naming the
methods it lacks.

The rules, each checked by the tests below:

1. **Round trip.** What :meth:`~complaint_flow.storage.contract.ComplaintStore.commit` stores comes
   back equal from ``get``, ``events`` and ``outbox``: every field, datetimes
   timezone-aware and equal to what was committed, ``data``/``payload``/
   ``contacts`` deep-frozen (read-only mappings, lists as tuples), any Unicode.
2. **References.** A creation (``expected_version == 0``) gets the reference
   ``format_reference(prefix, received_at.year, n)`` where ``n`` counts the
   creations of that prefix and year from 1 without gaps or repeats (the year
   of ``received_at`` as given, in its own offset). A refused creation uses up
   no number. ``get_by_reference`` finds the latest version.
3. **Idempotent creation.** Creating a complaint whose (channel, external_id)
   is taken raises ``DuplicateIntakeError`` carrying the existing id; creating
   one whose id is taken raises ``ConcurrencyError``. Neither writes anything.
4. **Optimistic concurrency.** A commit whose ``expected_version`` is not the
   stored version (or whose complaint does not exist) raises
   ``ConcurrencyError``. A commit carrying an outbox key that is already stored
   raises ``StoreError``. A refused commit changes nothing: not the complaint,
   not its events, not the outbox, not the reference counters. A writer that
   lost re-reads the latest version and may commit on it.
5. **Events** come back complete and ordered by ``seq`` (1, 2, 3, …).
6. **find** returns the latest versions matching every given filter, ordered by
   (``received_at`` as an instant, ``id``), at most ``limit`` of them;
   **count** counts complaints; **due** returns those whose ``due_at`` is at or
   before ``before`` ordered by (``due_at``, ``id``), at most ``limit``.
7. **Outbox.** ``outbox_pending`` returns pending messages in the order they
   were committed, at most ``limit``; ``outbox_update(message,
   expected_status=PENDING)`` writes a message's delivery state (``status``,
   ``attempts``, ``last_error``, ``delivered_at``, ``next_attempt_at``, matched
   by key) in place and keeps its stored content (payload, address, …), only if
   its stored status is ``expected_status``; it returns whether it wrote (False,
   nothing changed, when the status differs or the key is unknown);
   ``outbox(id)`` lists a complaint's messages in commit order;
   ``outbox_find(status=…)`` lists every complaint's messages with that status
   (any if None) in commit order, at most ``limit``.
   ``outbox_claim(now, limit, lease, owner)`` returns the pending messages that
   are due (``next_attempt_at`` None or at or before ``now``) and not claimed
   (or whose claim ended at or before ``now``), oldest first, at most
   ``limit``, and claims them until ``now + lease``: while a claim lasts no
   other claim, from any thread or owner, returns the message; once it ends,
   the message is claimable again. ``outbox_update`` ends a message's claim:
   a message updated as delivered or dead is never claimed again, one updated
   as pending is claimable again as soon as it is due.
8. **Unknown ids** raise ``ComplaintNotFoundError`` from ``get``, ``events`` and
   ``get_by_reference``; ``find_by_external_id`` returns ``None``.
9. **close()** may be called twice; afterwards writes raise ``StoreError``. A
   durable store reopened on the same data returns exactly what was stored.
10. **Threads.** Concurrent commits on the same complaints from several threads
    lose no update: every write either succeeds or raises ``ConcurrencyError``,
    and each complaint's final version equals its number of events. Concurrent
    creations from one channel message make one complaint (the others get
    ``DuplicateIntakeError``); concurrent creations get distinct, consecutive
    references.
11. **commit_many** writes several commits in one transaction, all or
    nothing: it returns the stored complaints in the order given, numbers
    creations in that order, and refuses the whole batch on the first stale
    member (``ConcurrencyError``), duplicate channel message
    (``DuplicateIntakeError``, also between two members) or reused outbox key
    (``StoreError``); two commits of one complaint raise ``StoreError``.
12. **rewrite** applies a version-checked commit and replaces exactly the given
    stored events (by ``seq``, written as given, ``hash`` and ``redacted``
    included) and outbox messages (by ``key``, in place) of that complaint; an
    event or message it does not have raises ``StoreError``; nothing is written
    when it raises. A replaced message's claim ends (it is claimable at once).
13. **purge({id: version})** deletes complaints with their events and outbox
    messages, each only if its stored version is the one given: they are
    gone from every read (``get``, ``events``, ``find``, ``due``, the outbox
    reads and claims, ``find_by_external_id``, ``get_by_reference``, ``count``);
    unknown ids, and complaints whose version moved on, are kept and skipped;
    it returns how many it deleted. The channel message
    may be received again; references are never reused.
14. **find** also filters on ``received_after`` (inclusive) and
    ``updated_before`` (exclusive).
15. **Audit chain.** Stored events carry exactly the hashes of the committed
    events, the complaint's ``audit_head`` is its last event's hash, and
    :func:`~complaint_flow.services.audit.verify_events` finds no problem in what the
    store returns.
16. **Conduct records** follow the same rules as complaints: every field comes
    back equal (enums as enums, tuples as tuples, datetimes aware);
    ``conduct_get`` returns ``None`` and ``conduct_events`` ``[]`` for a
    customer without a record; optimistic concurrency (``ConcurrencyError``,
    nothing written); their notices are ordinary outbox messages (pending,
    claims, updates, finds, in commit order with complaint messages);
    ``conduct_find`` filters on statuses, ``review_before`` (inclusive) and
    ``with_review_items``, ordered by (``review_at`` with none last, customer
    id), at most ``limit``; ``conduct_rewrite`` is ``rewrite`` for a record.
17. **Closed and reopened.** A closed store refuses every write (complaints,
    outbox, conduct records); a durable store reopened keeps conduct records,
    their events, notices and indexes.
18. **Any sequence** of commits, batches, purges and deliveries, stale or not,
    leaves the store equal to a plain model of these rules (a hypothesis
    property test).
19. **Message links.** A commit's ``links`` are written in its transaction and
    come back equal (datetimes aware and equal, ``direction`` an enum) from
    ``links_find`` (any number of ids, unknown ones left out, each link once,
    ordered by message id; a lone string is refused) and ``links_of`` (ordered
    by ``at`` as an instant, then message id). A commit (or a ``commit_many``
    batch) with a message id that is stored, or repeated in the batch, raises
    ``ConcurrencyError`` and writes nothing: not the complaint, its events, its
    outbox messages, its other links, nor a reference number. Concurrent
    creations carrying one inbound message id make one complaint.
    ``links_add`` stores links outside a commit, keeps the first link of a
    message id and returns how many were new. Erasure (``rewrite``) keeps a
    complaint's links; ``purge`` deletes them (a purge at a stale version keeps
    them), after which the message id may be linked again. Any sequence of
    linking commits, batches, additions and purges matches a plain model (a
    hypothesis property test).
20. **Quarantine.** ``quarantine_add`` keeps a message with every field and
    every byte (any bytes; a 50 MB message too) and returns it; adding an id
    again changes nothing and returns the stored message. ``quarantine_get``
    returns it (None for an unknown id); ``quarantine_find`` lists
    :class:`~complaint_flow.model.channel_records.QuarantineEntry` values (no
    bytes, their size) ordered by (``received_at`` as an instant, ``id``),
    filtered by status, at most ``limit``. ``quarantine_update`` writes status,
    reason, attempts, ``updated_at``, ``complaint_id`` and note, never the
    bytes, source, channel or ``received_at``, only if the stored status is
    ``expected_status`` (of concurrent updates from one status, one wins); it
    accepts an entry as well as a message.
21. **Cursors.** ``cursor_get`` returns None until ``cursor_set(name, value,
    expected=None)`` creates the cursor; ``cursor_set`` writes only if the
    stored value is ``expected`` (None: absent) and says whether it wrote; of
    two threads setting a cursor from the same value, exactly one succeeds.
22. **Closed and reopened.** A closed store refuses every channel write; a
    durable store reopened keeps links, the quarantine (bytes included) and
    cursors, and still refuses a commit whose message id is stored.

23. **Corrective actions** round-trip like conduct records: every field comes back
    equal (enums as enums, tuples as tuples, datetimes aware, an ``EffectCheck``
    with its figures, ``None`` where a figure is missing); ``action_get`` returns
    ``None`` and ``action_events`` ``[]`` for an unknown id; their messages are
    ordinary outbox messages, in commit order with complaint messages.
24. **Optimistic concurrency** as for complaints: a stale ``action_commit`` (or a
    creation whose id is taken) raises ``ConcurrencyError``, one with a stored
    outbox key ``StoreError``, and neither writes anything (the action, its events,
    its messages, what ``action_find`` returns); concurrent commits from several
    threads lose no update.
25. **action_find** returns the latest versions matching every filter (``statuses``,
    ``owner_id``, ``due_before`` and ``check_due_before``, both inclusive, the
    latter only for actions with a ``check_due_at``), ordered by (``due_at`` as an
    instant, id), at most ``limit``.
26. **complaint_counts(categories, bounds)** counts the complaints of those
    categories received in each period ``[b_i, b_i+1)`` (instants, whatever their
    offsets; the latest version's category counts), and refuses a lone category,
    fewer than two bounds, bounds that do not increase and naive datetimes with
    ``InvalidArgumentError``.
27. **Audit chain, closed and reopened.** Stored events carry the committed hashes
    and the action's ``audit_head`` is the last one; a closed store refuses
    ``action_commit``; a durable store reopened keeps actions, events, messages and
    what ``action_find`` returns.

The helpers :func:`make_complaint`, :func:`make_event`, :func:`make_message`,
:func:`creation`, :func:`change`, :func:`make_conduct_record`,
:func:`make_review_item`, :func:`make_notice`, :func:`conduct_creation`,
:func:`conduct_change`, :func:`make_link`, :func:`make_quarantined`,
:func:`make_action`, :func:`action_creation`, :func:`action_change` and
:func:`redact` build test data without an engine;
use them to add your own store's tests in the same style.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    DuplicateIntakeError,
    InvalidArgumentError,
    StoreError,
)
from complaint_flow.model.actions import (
    ActionKind,
    ActionStatus,
    CorrectiveAction,
    EffectCheck,
    Verdict,
    action_id,
)
from complaint_flow.model.channel_records import (
    LinkDirection,
    MessageLink,
    QuarantinedMessage,
    QuarantineEntry,
    QuarantineStatus,
)
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    ConductStatus,
    Restriction,
    RestrictionKind,
    ReviewItem,
    ReviewReason,
    conduct_record_id,
)
from complaint_flow.model.entities import (
    Actor,
    ClockState,
    ClockStatus,
    Complaint,
    Customer,
    Event,
    OutboxMessage,
    OutboxStatus,
    Severity,
)
from complaint_flow.model.satisfaction import (
    ANSWERED,
    DIMENSIONS,
    PERIODS,
    AnsweredSurvey,
    csat,
)
from complaint_flow.services.audit import verify_events
from complaint_flow.storage.contract import (
    ActionCommit,
    ActionStore,
    ChannelStore,
    Commit,
    ComplaintStore,
    ConductCommit,
    ConductStore,
    OutboxStore,
    ReportStore,
    Store,
    format_reference,
)
from complaint_flow.storage.hashing import content_digest
from complaint_flow.storage.milestones import (
    ClockRecord,
    ComplaintMilestones,
    MilestoneRules,
    RemedyRecord,
    VolumeCount,
    WorkflowRules,
    complaint_facts,
    event_facts,
    fold_history,
)
from complaint_flow.storage.satisfaction_reads import SatisfactionReads, answered_survey

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""When test complaints are received unless told otherwise."""

AGENT = Actor(id="agent-1", name="Zoë Agent", role="agent", email="zoe@example.org")
CUSTOMER = Customer(id="customer-1", name="Ada Lovelace", email="ada@example.org")

# Text that trips up naive storage: quotes, SQL, escapes, non-Latin scripts, astral planes.
AWKWARD_TEXT = "l'été \"cité\" \\ '; DROP TABLE complaints; -- \n\t Ünïcödé 中文 עברית 🙂𝄞"

_IST = timezone(timedelta(hours=5, minutes=30))
_PST = timezone(timedelta(hours=-8))


def make_complaint(
    complaint_id: str | None = None,
    *,
    version: int = 1,
    state: str = "received",
    workflow: str = "conformance",
    customer: Customer = CUSTOMER,
    channel: str = "email",
    category: str = "general",
    severity: Severity = Severity.NORMAL,
    external_id: str | None = None,
    received_at: datetime = T0,
    updated_at: datetime | None = None,
    due_at: datetime | None = None,
    data: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Complaint:
    """A complaint snapshot for store tests (a fresh random id unless given).

    Args:
        complaint_id: the id; a new random one by default.
        version: the snapshot's version (a creation's equals its number of events).
        fields: any other :class:`Complaint` field (``owner``, ``summary``…).
    """
    return Complaint(
        id=complaint_id or uuid.uuid4().hex,
        reference=fields.pop("reference", ""),
        workflow=workflow,
        customer=customer,
        channel=channel,
        category=category,
        severity=severity,
        summary=fields.pop("summary", "Parcel arrived broken"),
        details=fields.pop("details", "The box was crushed."),
        state=state,
        received_at=received_at,
        updated_at=updated_at or received_at,
        version=version,
        external_id=external_id,
        due_at=due_at,
        data=data,
        **fields,
    )


def make_event(
    complaint_id: str,
    seq: int,
    *,
    kind: str = "transition",
    at: datetime = T0,
    actor: Actor = AGENT,
    data: Mapping[str, Any] | None = None,
    **fields: Any,
) -> Event:
    """The ``seq``-th event of a complaint (``fields``: ``trigger``, ``reason``…)."""
    return Event(
        complaint_id=complaint_id, seq=seq, kind=kind, at=at, actor=actor, data=data, **fields
    )


def make_message(
    complaint_id: str,
    event_seq: int,
    *,
    key: str | None = None,
    recipient: str = "customer",
    created_at: datetime = T0,
    payload: Mapping[str, Any] | None = None,
    **fields: Any,
) -> OutboxMessage:
    """An outbox message caused by event ``event_seq`` (a fresh random key unless given)."""
    return OutboxMessage(
        key=key or f"{complaint_id}:{event_seq}:{recipient}:{uuid.uuid4().hex[:8]}",
        complaint_id=complaint_id,
        event_seq=event_seq,
        topic=fields.pop("topic", "conformance.notify"),
        recipient=recipient,
        channel=fields.pop("channel", "email"),
        address=fields.pop("address", "ada@example.org"),
        created_at=created_at,
        payload=payload,
        **fields,
    )


def creation(
    complaint: Complaint | None = None,
    *,
    prefix: str = "CF",
    events: int = 1,
    outbox: Sequence[OutboxMessage] = (),
    links: Sequence[MessageLink] = (),
    **fields: Any,
) -> Commit:
    """A commit creating ``complaint`` (or ``make_complaint(**fields)``) with ``events`` events.

    The complaint's version is set to the number of events; ``links`` are written
    with it (see :func:`make_link`).
    """
    complaint = complaint or make_complaint(**fields)
    complaint = attrs.evolve(complaint, version=events)
    recorded = [
        make_event(
            complaint.id, seq, kind="received" if seq == 1 else "note", at=complaint.updated_at
        )
        for seq in range(1, events + 1)
    ]
    return Commit(complaint, 0, recorded, outbox, reference_prefix=prefix, links=links)


def change(
    current: Complaint,
    *,
    expected_version: int | None = None,
    events: int = 1,
    at: datetime | None = None,
    outbox: Sequence[OutboxMessage] = (),
    event_data: Mapping[str, Any] | None = None,
    links: Sequence[MessageLink] = (),
    **changes: Any,
) -> Commit:
    """A commit moving ``current`` on by ``events`` events, with ``changes`` applied.

    Args:
        current: the snapshot the writer read.
        expected_version: the version the writer claims to have read
            (``current.version`` by default; pass another to write stale).
        at: when it happens (default: a minute after ``current.updated_at``).
        links: message links written with the commit (see :func:`make_link`).
        changes: new field values (``state``, ``due_at``, ``data``…).
    """
    expected = current.version if expected_version is None else expected_version
    when = at or current.updated_at + timedelta(minutes=1)
    updated = attrs.evolve(current, version=expected + events, updated_at=when, **changes)
    recorded = [
        make_event(current.id, expected + n, at=when, data=event_data, trigger=f"step{n}")
        for n in range(1, events + 1)
    ]
    return Commit(updated, expected, recorded, outbox, links=links)


def make_link(
    complaint_id: str,
    message_id: str | None = None,
    *,
    direction: LinkDirection = LinkDirection.INBOUND,
    at: datetime = T0,
) -> MessageLink:
    """A link of a message to ``complaint_id`` (a fresh random message id unless given)."""
    return MessageLink(
        message_id or f"<{uuid.uuid4().hex}@mail.example.org>", complaint_id, direction, at
    )


def make_quarantined(
    item_id: str | None = None,
    *,
    raw: bytes = b"From: ada@example.org\r\nSubject: ?\r\n\r\n\xff\xfe not UTF-8\r\n",
    received_at: datetime = T0,
    **fields: Any,
) -> QuarantinedMessage:
    """A quarantined message, held (a fresh random id unless given).

    Args:
        fields: any other :class:`~complaint_flow.model.channel_records.QuarantinedMessage`
            field (``source``, ``reason``, ``status``…).
    """
    return QuarantinedMessage(
        id=item_id or f"q-{uuid.uuid4().hex}",
        source=fields.pop("source", "imap:INBOX"),
        channel=fields.pop("channel", "email"),
        received_at=received_at,
        reason=fields.pop("reason", "no sender address"),
        raw=raw,
        **fields,
    )


def make_review_item(
    item_id: str | None = None,
    *,
    reason: ReviewReason = ReviewReason.OUTSIDE_RESTRICTION,
    filed_at: datetime = T0,
    **fields: Any,
) -> ReviewItem:
    """An item of a conduct record's review queue (a fresh random id unless given)."""
    return ReviewItem(
        id=item_id or uuid.uuid4().hex,
        reason=reason,
        filed_at=filed_at,
        summary=fields.pop("summary", "Asked again about the refund"),
        **fields,
    )


def make_conduct_record(
    customer_id: str | None = None,
    *,
    version: int = 1,
    status: ConductStatus = ConductStatus.NORMAL,
    updated_at: datetime = T0,
    **fields: Any,
) -> ConductRecord:
    """A conduct record snapshot for store tests (a fresh random customer unless given).

    Args:
        customer_id: whose record it is; a new random customer id by default.
        version: the snapshot's version (a creation's equals its number of events).
        fields: any other :class:`~complaint_flow.model.conduct.ConductRecord` field.
    """
    customer_id = customer_id or f"customer-{uuid.uuid4().hex[:10]}"
    customer = fields.pop("customer", None) or Customer(id=customer_id, name="Ada Lovelace")
    return ConductRecord(
        customer_id=customer_id,
        customer=customer,
        status=status,
        version=version,
        updated_at=updated_at,
        **fields,
    )


def make_notice(
    record: ConductRecord, event_seq: int, *, key: str | None = None, **fields: Any
) -> OutboxMessage:
    """A conduct notice: an outbox message of ``record`` (its id as ``complaint_id``)."""
    fields.setdefault("topic", "conduct.notice")
    return make_message(record.id, event_seq, key=key, **fields)


def conduct_creation(
    record: ConductRecord | None = None,
    *,
    events: int = 1,
    outbox: Sequence[OutboxMessage] = (),
    **fields: Any,
) -> ConductCommit:
    """A commit creating ``record`` (or ``make_conduct_record(**fields)``) with ``events`` events.

    The record's version is set to the number of events.
    """
    record = record or make_conduct_record(**fields)
    record = attrs.evolve(record, version=events)
    recorded = [
        make_event(record.id, seq, kind="conduct.opened" if seq == 1 else "conduct.note")
        for seq in range(1, events + 1)
    ]
    return ConductCommit(record, 0, recorded, outbox)


def conduct_change(
    current: ConductRecord,
    *,
    expected_version: int | None = None,
    events: int = 1,
    at: datetime | None = None,
    outbox: Sequence[OutboxMessage] = (),
    event_data: Mapping[str, Any] | None = None,
    **changes: Any,
) -> ConductCommit:
    """A commit moving the conduct record ``current`` on by ``events`` events.

    The arguments are those of :func:`change`; ``changes`` are new
    :class:`~complaint_flow.model.conduct.ConductRecord` field values.
    """
    expected = current.version if expected_version is None else expected_version
    when = at or current.updated_at + timedelta(minutes=1)
    updated = attrs.evolve(current, version=expected + events, updated_at=when, **changes)
    recorded = [
        make_event(current.id, expected + n, kind="conduct.changed", at=when, data=event_data)
        for n in range(1, events + 1)
    ]
    return ConductCommit(updated, expected, recorded, outbox)


def redact(event: Event) -> Event:
    """``event`` with its content erased the way erasure does it: the chain still verifies."""
    return attrs.evolve(event, reason="", data={}, redacted=content_digest(event))


def _snapshot(
    store: _ComplaintsWithOutbox, complaint_id: str
) -> tuple[Complaint, list[Event], list[OutboxMessage]]:
    return store.get(complaint_id), store.events(complaint_id), store.outbox(complaint_id)


def _assert_aware_and_equal(got: datetime | None, wanted: datetime | None) -> None:
    if wanted is None:
        assert got is None
        return
    assert got is not None
    assert got.utcoffset() is not None, f"{got!r} came back naive"
    assert got == wanted


def _assert_frozen(value: Any) -> None:
    """Deep check: no mapping can be written to and no list is left mutable."""
    if isinstance(value, Mapping):
        with pytest.raises(TypeError):
            value["conformance-probe"] = 1  # type: ignore[index]
        for item in value.values():
            _assert_frozen(item)
    else:
        assert not isinstance(value, list | dict | set), f"{value!r} is mutable"
        if isinstance(value, tuple):
            for item in value:
                _assert_frozen(item)


# Moments around new year, in several offsets, with repeats: references change
# year, and ties in received_at/due_at exercise the ordering by id.
_MOMENTS = [
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 4, 30, tzinfo=_IST),  # 2026-12-31 23:00 UTC: a tie
    datetime(2026, 12, 31, 16, 0, tzinfo=_PST),  # 2027-01-01 00:00 UTC
    datetime(2027, 1, 1, 0, 0, tzinfo=UTC),  # the same instant again
    datetime(2026, 6, 1, 12, 0, 0, 250000, tzinfo=UTC),
    datetime(2027, 3, 1, 8, 0, tzinfo=_PST),
]
_moments = st.sampled_from(_MOMENTS)
_deadlines = st.one_of(st.none(), _moments)
_slots = st.integers(min_value=0, max_value=1)


def _creations(slots: st.SearchStrategy[int]) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.tuples(
        st.just("create"),
        slots,
        st.sampled_from(["email", "web"]),
        st.one_of(st.none(), st.sampled_from(["m1", "m2"])),  # external ids may clash
        _moments,
        _deadlines,
        st.integers(min_value=1, max_value=2),  # events
        st.integers(min_value=0, max_value=2),  # outbox messages
    )


_CHANGE = st.tuples(
    st.just("change"),
    _slots,
    st.sampled_from([0, 0, 0, 0, -1, 1, 2]),  # how stale the writer is; 0 is fresh
    st.integers(min_value=1, max_value=3),  # events
    st.sampled_from(["received", "thanked", "closed"]),
    _deadlines,
    st.integers(min_value=0, max_value=2),  # outbox messages
    st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=3)),
)
_DELIVER = st.tuples(
    st.just("deliver"),
    st.integers(min_value=0, max_value=20),
    st.sampled_from(list(OutboxStatus)),
)


# Several creations and changes written by one commit_many (one per complaint).
_BATCH = st.tuples(
    st.just("batch"),
    st.lists(st.one_of(_CHANGE, _creations(_slots)), min_size=1, max_size=3),
)
# Retention: delete some of the complaints (and an id that was never stored).
# The flag: purge at a stale version (one before the stored one), which must keep them all.
_PURGE = st.tuples(st.just("purge"), st.lists(_slots, max_size=2, unique=True), st.booleans())

# Both complaints are created first (the second may clash), so that most later
# steps have something to work on; then mostly changes, fresh or stale, with
# further creations (refused unless the slot was purged), batches, purges and
# deliveries.
_STEPS = st.builds(
    lambda first, second, then: [first, second, *then],
    _creations(st.just(0)),
    _creations(st.just(1)),
    st.lists(
        st.sampled_from(
            [_CHANGE] * 6 + [_creations(_slots)] * 2 + [_DELIVER] * 2 + [_BATCH] * 2 + [_PURGE]
        ).flatmap(lambda step: step),
        min_size=2,
        max_size=15,
    ),
)


class _ComplaintsWithOutbox(ComplaintStore, OutboxStore, Protocol):
    """What the complaint and the outbox rules use.

    A commit writes its outbox messages, read back through the outbox part, and
    messages enter the outbox only with commits.
    """


class _ConductWithOutbox(ConductStore, OutboxStore, Protocol):
    """What the conduct rules use: a record's notices are read through the outbox part."""


def _claimable(store: _ComplaintsWithOutbox, count: int) -> list[OutboxMessage]:
    """``count`` pending messages on two complaints, committed one a minute apart."""
    first = store.commit(creation())
    second = store.commit(creation())
    current = {first.id: first, second.id: second}
    messages = []
    for n in range(count):
        target = current[first.id if n % 2 == 0 else second.id]
        message = make_message(target.id, target.version + 1, created_at=T0 + timedelta(minutes=n))
        current[target.id] = store.commit(change(target, outbox=[message]))
        messages.append(message)
    return messages


def _erasable(store: _ComplaintsWithOutbox) -> tuple[Complaint, list[Event], list[OutboxMessage]]:
    """A complaint with three events carrying personal data and two messages."""
    complaint = make_complaint()
    recorded = [
        make_event(complaint.id, seq, reason=f"Ada said {seq}", data={"phone": "+44 7700"})
        for seq in (1, 2, 3)
    ]
    messages = [
        make_message(complaint.id, 3, payload={"name": "Ada Lovelace"}),
        make_message(complaint.id, 3, recipient="owner", payload={"name": "Ada"}),
    ]
    commit = Commit(
        attrs.evolve(complaint, version=3), 0, recorded, messages, reference_prefix="CF"
    )
    return store.commit(commit), list(commit.events), messages


def _conduct_snapshot(
    store: _ConductWithOutbox, record: ConductRecord
) -> tuple[ConductRecord | None, list[Event], list[OutboxMessage]]:
    return (
        store.conduct_get(record.customer_id),
        store.conduct_events(record.customer_id),
        store.outbox(record.id),
    )


class _StoreFixtures:
    """The fixtures every mixin runs on; a subclass overrides ``store`` (and ``reopen``)."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        """Override: yield a fresh, empty store and close it afterwards."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a `store` fixture that yields a fresh, "
            "empty store (see complaint_flow.testing.conformance)"
        )

    @pytest.fixture
    def reopen(self) -> Callable[[Any], Any] | None:
        """Override for durable stores: ``reopen(old)`` closes ``old``, returns it reopened."""
        return None


class ComplaintStoreConformance(_StoreFixtures):
    """The rules of :class:`~complaint_flow.storage.contract.ComplaintStore` (1-6, 8-15, 17, 18).

    A commit's outbox messages are part of it, so these tests read them back
    through the store's :class:`~complaint_flow.storage.contract.OutboxStore`
    methods: the store must have both parts.
    """

    def test_is_a_complaint_store(self, store: _ComplaintsWithOutbox) -> None:
        assert isinstance(store, ComplaintStore)
        assert isinstance(store, OutboxStore), "a commit's messages are read through the outbox"
        assert isinstance(store.url, str)
        assert store.url
        assert store.count() == 0

    # -- 1. round trip ------------------------------------------------------

    def test_creation_round_trip_keeps_every_field(self, store: _ComplaintsWithOutbox) -> None:
        owner = Actor(id="m-1", name="Mo", role="manager", rank=3, phone="+44 20 7946 0000")
        customer = Customer(
            id="customer-9",
            name="Zoë O'Brien",
            email="zoe@example.org",
            phone="+44 7700 900001",
            postal_address="1 High St\nLeeds",
            contacts={"sms": "+44 7700 900001", "whatsapp": "+44 7700 900002"},
            preferred_channel="sms",
        )
        complaint = make_complaint(
            customer=customer,
            channel="letter",
            category="billing",
            severity=Severity.EMERGENCY,
            external_id="<msg-1@example.org>",
            received_at=datetime(2026, 5, 4, 23, 59, 59, 999999, tzinfo=_IST),
            updated_at=datetime(2026, 5, 5, 1, 2, 3, 4, tzinfo=_PST),
            due_at=datetime(2026, 5, 12, 17, 0, tzinfo=UTC),
            summary="Bill doubled",
            details=AWKWARD_TEXT,
            desired_outcome="Refund the difference",
            preferred_channel="email",
            owner=owner,
            informal=True,
            recorded_by=AGENT,
            data={"facts": ["a", {"b": [1, 2.5, None, True]}], "note": AWKWARD_TEXT},
        )
        messages = [
            make_message(complaint.id, 2, payload={"reference": "?", "lines": ["x", "y"]}),
            make_message(complaint.id, 2, recipient="owner", address=None, channel="phone"),
        ]
        commit = creation(complaint, events=2, outbox=messages)
        stored = store.commit(commit)
        assert stored == attrs.evolve(
            complaint,
            version=2,
            reference="CF-2026-000001",
            audit_head=commit.events[-1].hash,
        )
        assert store.get(complaint.id) == stored
        assert store.events(complaint.id) == list(commit.events)
        assert store.outbox(complaint.id) == messages

    def test_update_round_trip(self, store: _ComplaintsWithOutbox) -> None:
        created = store.commit(creation())
        commit = change(
            created,
            events=3,
            state="thanked",
            owner=AGENT,
            due_at=T0 + timedelta(days=5),
            data={"facts": "box crushed", "nested": {"list": [1, "two"]}},
            event_data={"given": ["x"]},
            outbox=[make_message(created.id, 4)],
        )
        stored = store.commit(commit)
        assert stored == commit.complaint
        assert store.get(created.id) == commit.complaint
        assert store.events(created.id)[1:] == list(commit.events)
        assert store.outbox(created.id) == list(commit.outbox)

    def test_datetimes_come_back_aware_and_equal(self, store: _ComplaintsWithOutbox) -> None:
        received = datetime(2026, 7, 1, 8, 30, 15, 123456, tzinfo=_PST)
        complaint = make_complaint(
            received_at=received,
            updated_at=datetime(2026, 7, 1, 22, 0, 0, 1, tzinfo=_IST),
            due_at=datetime(2026, 7, 8, 8, 30, tzinfo=_PST),
        )
        message = make_message(
            complaint.id,
            1,
            created_at=received,
            delivered_at=datetime(2026, 7, 2, tzinfo=_IST),
            status=OutboxStatus.DELIVERED,
        )
        store.commit(creation(complaint, outbox=[message]))
        got = store.get(complaint.id)
        for name in ("received_at", "updated_at", "due_at"):
            _assert_aware_and_equal(getattr(got, name), getattr(complaint, name))
        _assert_aware_and_equal(store.events(complaint.id)[0].at, complaint.updated_at)
        (got_message,) = store.outbox(complaint.id)
        _assert_aware_and_equal(got_message.created_at, message.created_at)
        _assert_aware_and_equal(got_message.delivered_at, message.delivered_at)

    def test_data_comes_back_deep_frozen(self, store: _ComplaintsWithOutbox) -> None:
        data = {"list": [1, [2, {"deep": ["x"]}]], "map": {"k": {"v": None}}, "text": "é"}
        complaint = make_complaint(
            data=data, customer=attrs.evolve(CUSTOMER, contacts={"sms": "+1"})
        )
        message = make_message(complaint.id, 1, payload=data)
        commit = Commit(complaint, 0, [make_event(complaint.id, 1, data=data)], [message], "CF")
        store.commit(commit)
        got, events, outbox = _snapshot(store, complaint.id)
        for frozen in (got.data, got.customer.contacts, events[0].data, outbox[0].payload):
            _assert_frozen(frozen)
        assert got.data == complaint.data
        assert got.data["list"] == (1, (2, {"deep": ("x",)}))
        assert events[0].data == complaint.data
        assert outbox[0].payload == complaint.data

    def test_awkward_text_round_trips(self, store: _ComplaintsWithOutbox) -> None:
        complaint = make_complaint(
            complaint_id=f"id {AWKWARD_TEXT}",
            state=f"state {AWKWARD_TEXT}",
            category=AWKWARD_TEXT,
            external_id=AWKWARD_TEXT,
            summary=AWKWARD_TEXT,
            customer=Customer(id=AWKWARD_TEXT, name=AWKWARD_TEXT),
            data={AWKWARD_TEXT: AWKWARD_TEXT},
        )
        stored = store.commit(creation(complaint))
        assert store.get(complaint.id) == stored
        assert store.find(state=complaint.state, category=AWKWARD_TEXT) == [stored]
        assert store.find(customer_id=AWKWARD_TEXT) == [stored]
        assert store.find_by_external_id("email", AWKWARD_TEXT) == stored

    def test_stored_snapshots_do_not_change_when_the_complaint_moves_on(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        first = store.commit(creation())
        kept = store.get(first.id)
        second = store.commit(change(first, state="thanked"))
        assert kept == first
        assert kept.state == "received"
        assert store.get(first.id) == second

    # -- 2. references ------------------------------------------------------

    def test_references_count_per_prefix_and_year(self, store: _ComplaintsWithOutbox) -> None:
        y2026, y2027 = T0, T0.replace(year=2027)
        plan = [("CF", y2026), ("CF", y2026), ("XY", y2026), ("CF", y2027), ("CF", y2026)]
        references = [
            store.commit(creation(prefix=prefix, received_at=when)).reference
            for prefix, when in plan
        ]
        assert references == [
            "CF-2026-000001",
            "CF-2026-000002",
            "XY-2026-000001",
            "CF-2027-000001",
            "CF-2026-000003",
        ]

    def test_reference_year_is_that_of_received_at_in_its_own_offset(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        # 2027-01-01 04:30 in UTC, but still 2026 where it was received.
        new_years_eve = datetime(2026, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
        stored = store.commit(creation(received_at=new_years_eve))
        assert stored.reference == format_reference("CF", 2026, 1)

    def test_creation_ignores_a_reference_given_by_the_writer(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        stored = store.commit(creation(reference="MINE-1"))
        assert stored.reference == "CF-2026-000001"
        assert store.get(stored.id).reference == "CF-2026-000001"

    def test_refused_creation_uses_no_number(self, store: _ComplaintsWithOutbox) -> None:
        first = store.commit(creation(external_id="m-1"))
        with pytest.raises(DuplicateIntakeError):
            store.commit(creation(external_id="m-1"))
        with pytest.raises(ConcurrencyError):
            store.commit(creation(make_complaint(first.id)))
        assert store.commit(creation()).reference == "CF-2026-000002"

    def test_get_by_reference_finds_the_latest_version(self, store: _ComplaintsWithOutbox) -> None:
        created = store.commit(creation())
        store.commit(creation())
        moved = store.commit(change(created, state="thanked"))
        assert store.get_by_reference(created.reference) == moved
        with pytest.raises(ComplaintNotFoundError):
            store.get_by_reference("CF-2026-999999")

    # -- 3. idempotent creation ---------------------------------------------

    def test_duplicate_external_id_raises_and_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        first = store.commit(creation(channel="email", external_id="<m-1@x>"))
        second = make_complaint(channel="email", external_id="<m-1@x>")
        message = make_message(second.id, 1)
        with pytest.raises(DuplicateIntakeError) as raised:
            store.commit(creation(second, outbox=[message]))
        assert raised.value.channel == "email"
        assert raised.value.external_id == "<m-1@x>"
        assert raised.value.existing_id == first.id
        assert store.count() == 1
        assert store.find_by_external_id("email", "<m-1@x>") == first
        with pytest.raises(ComplaintNotFoundError):
            store.get(second.id)
        with pytest.raises(ComplaintNotFoundError):
            store.events(second.id)
        assert store.outbox(second.id) == []
        assert store.outbox_pending(10) == []

    def test_same_external_id_on_another_channel_is_another_complaint(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        by_email = store.commit(creation(channel="email", external_id="42"))
        by_web = store.commit(creation(channel="web", external_id="42"))
        assert store.count() == 2
        assert store.find_by_external_id("email", "42") == by_email
        assert store.find_by_external_id("web", "42") == by_web
        assert store.find_by_external_id("phone", "42") is None
        assert store.find_by_external_id("email", "43") is None

    def test_complaints_without_external_id_never_conflict(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        for _ in range(3):
            store.commit(creation(channel="phone", external_id=None))
        assert store.count() == 3

    def test_find_by_external_id_returns_the_latest_version(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation(external_id="m-7"))
        moved = store.commit(change(created, state="thanked"))
        assert store.find_by_external_id("email", "m-7") == moved

    def test_duplicate_id_raises_concurrency_error_and_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        first = store.commit(creation())
        before = _snapshot(store, first.id)
        again = make_complaint(first.id, state="other", external_id="fresh")
        with pytest.raises(ConcurrencyError) as raised:
            store.commit(creation(again, outbox=[make_message(first.id, 1)]))
        assert raised.value.complaint_id == first.id
        assert raised.value.expected_version == 0
        assert _snapshot(store, first.id) == before
        assert store.find_by_external_id("email", "fresh") is None
        assert store.count() == 1

    # -- 4. optimistic concurrency -------------------------------------------

    @pytest.mark.parametrize("offset", [-1, 1, 5])
    def test_stale_commit_raises_and_writes_nothing(
        self, store: _ComplaintsWithOutbox, offset: int
    ) -> None:
        created = store.commit(creation())
        current = store.commit(change(created, events=2, outbox=[make_message(created.id, 3)]))
        before = _snapshot(store, current.id)
        pending_before = store.outbox_pending(100)
        stale = change(
            current,
            expected_version=current.version + offset,
            state="closed",
            due_at=T0,
            outbox=[make_message(current.id, current.version + offset + 1)],
        )
        with pytest.raises(ConcurrencyError) as raised:
            store.commit(stale)
        assert raised.value.complaint_id == current.id
        assert raised.value.expected_version == current.version + offset
        assert _snapshot(store, current.id) == before
        assert store.outbox_pending(100) == pending_before
        assert store.find(state="closed") == []
        assert store.due(T0 + timedelta(days=365), 10) == []

    def test_commit_to_an_unknown_complaint_raises_concurrency_error(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        ghost = make_complaint(version=3)
        with pytest.raises(ConcurrencyError):
            store.commit(change(ghost))
        with pytest.raises(ComplaintNotFoundError):
            store.get(ghost.id)
        assert store.count() == 0

    def test_reused_outbox_key_raises_and_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        first = store.commit(change(created, outbox=[make_message(created.id, 2, key="key-1")]))
        before = _snapshot(store, first.id)
        other = store.commit(creation())
        other_before = _snapshot(store, other.id)
        for target, seq in ((first, 3), (other, 2)):
            with pytest.raises(StoreError):
                store.commit(change(target, outbox=[make_message(target.id, seq, key="key-1")]))
        assert _snapshot(store, first.id) == before
        assert _snapshot(store, other.id) == other_before

    def test_a_writer_that_lost_can_retry_on_the_latest_version(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        winner = store.commit(change(created, state="thanked"))
        with pytest.raises(ConcurrencyError):
            store.commit(change(created, state="withdrawn"))
        latest = store.get(created.id)
        assert latest == winner
        retried = store.commit(change(latest, state="withdrawn"))
        assert retried.version == 3
        assert [e.seq for e in store.events(created.id)] == [1, 2, 3]

    # -- 5. events ----------------------------------------------------------

    def test_events_are_complete_and_ordered(self, store: _ComplaintsWithOutbox) -> None:
        first = creation(events=2)
        current = store.commit(first)
        expected = list(first.events)
        for count in (3, 1, 2):
            commit = change(current, events=count)
            current = store.commit(commit)
            expected += commit.events
            assert store.events(current.id) == expected
        assert [event.seq for event in store.events(current.id)] == list(range(1, 9))

    # -- 6. find, count, due --------------------------------------------------

    def test_find_orders_by_received_instant_then_id(self, store: _ComplaintsWithOutbox) -> None:
        # The same instant in several offsets, and a tie that only the ids break.
        instants = [
            datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
            datetime(2026, 3, 2, 9, 0, tzinfo=_PST),  # 17:00 UTC: the latest
            datetime(2026, 3, 2, 15, 30, tzinfo=_IST),  # 10:00 UTC
            datetime(2026, 3, 2, 10, 0, tzinfo=UTC),  # 10:00 UTC: tie with the one above
            datetime(2026, 3, 1, 23, 0, tzinfo=_PST),  # 07:00 UTC on the 2nd: the earliest
        ]
        stored = [
            store.commit(creation(make_complaint(_id_sorting_before(n, 5), received_at=at)))
            for n, at in enumerate(instants)
        ]
        wanted = sorted(stored, key=lambda c: (c.received_at, c.id))
        assert store.find() == wanted
        assert [c.received_at for c in store.find()] == sorted(instants)

    def test_find_filters_on_every_given_field(self, store: _ComplaintsWithOutbox) -> None:
        other = Customer(id="customer-2", name="Bo")
        plan: list[dict[str, Any]] = [
            {"state": "received", "category": "billing"},
            {"state": "received", "category": "delivery", "customer": other},
            {"state": "thanked", "category": "billing", "workflow": "spso"},
            {"state": "thanked", "category": "delivery", "customer": other, "workflow": "spso"},
        ]
        stored = []
        for n, fields in enumerate(plan):
            complaint = make_complaint(received_at=T0 + timedelta(hours=n), **fields)
            stored.append(store.commit(creation(complaint)))
        a, b, c, d = stored
        assert store.find(state="received") == [a, b]
        assert store.find(state="thanked") == [c, d]
        assert store.find(category="billing") == [a, c]
        assert store.find(customer_id="customer-2") == [b, d]
        assert store.find(workflow="spso") == [c, d]
        assert store.find(workflow="conformance", category="delivery") == [b]
        assert store.find(state="thanked", category="billing", customer_id="customer-1") == [c]
        assert store.find(state="closed") == []
        assert store.find(customer_id="nobody") == []

    def test_find_sees_the_latest_version(self, store: _ComplaintsWithOutbox) -> None:
        created = store.commit(creation())
        moved = store.commit(change(created, state="thanked", category="billing"))
        assert store.find(state="received") == []
        assert store.find(category="general") == []
        assert store.find(state="thanked", category="billing") == [moved]

    def test_find_limit(self, store: _ComplaintsWithOutbox) -> None:
        stored = [store.commit(creation(received_at=T0 + timedelta(minutes=n))) for n in range(4)]
        assert store.find(limit=0) == []
        assert store.find(limit=2) == stored[:2]
        assert store.find(limit=10) == stored
        assert store.find(limit=None) == stored
        assert store.find(state="received", limit=3) == stored[:3]

    def test_count(self, store: _ComplaintsWithOutbox) -> None:
        assert store.count() == 0
        created = store.commit(creation(external_id="m"))
        store.commit(creation())
        assert store.count() == 2
        store.commit(change(created, events=2))
        with pytest.raises(DuplicateIntakeError):
            store.commit(creation(external_id="m"))
        assert store.count() == 2

    def test_due_is_inclusive_ordered_and_limited(self, store: _ComplaintsWithOutbox) -> None:
        deadline = datetime(2026, 3, 9, 17, 0, tzinfo=UTC)
        plan = [
            deadline,  # exactly at `before`: due
            deadline - timedelta(days=2),
            deadline + timedelta(microseconds=1),  # just after: not due
            None,  # no deadline: never due
            (deadline - timedelta(days=2)).astimezone(_IST),  # tie, in another offset
            (deadline - timedelta(hours=3)).astimezone(_PST),
        ]
        stored = [
            store.commit(creation(make_complaint(_id_sorting_before(n, 6), due_at=due)))
            for n, due in enumerate(plan)
        ]
        due = [c for c in stored if c.due_at is not None and c.due_at <= deadline]
        wanted = sorted(due, key=lambda c: (c.due_at, c.id))
        assert len(wanted) == 4
        assert store.due(deadline, 10) == wanted
        assert store.due(deadline, 2) == wanted[:2]
        assert store.due(deadline, 0) == []
        assert store.due(deadline - timedelta(days=3), 10) == []
        assert store.due(deadline.astimezone(_PST), 10) == wanted

    def test_due_follows_the_latest_version(self, store: _ComplaintsWithOutbox) -> None:
        now = T0 + timedelta(days=1)
        a = store.commit(creation(due_at=T0))
        b = store.commit(creation(due_at=T0 + timedelta(hours=1)))
        c = store.commit(creation())
        store.commit(change(a, due_at=None))
        b2 = store.commit(change(b, due_at=now + timedelta(days=1)))
        c2 = store.commit(change(c, due_at=now - timedelta(hours=1)))
        assert store.due(now, 10) == [c2]
        assert store.due(now + timedelta(days=1), 10) == [c2, b2]

    # -- 8. unknown ids -------------------------------------------------------

    def test_unknown_ids_raise_complaint_not_found(self, store: _ComplaintsWithOutbox) -> None:
        store.commit(creation())
        with pytest.raises(ComplaintNotFoundError, match="no-such-id"):
            store.get("no-such-id")
        with pytest.raises(ComplaintNotFoundError, match="no-such-id"):
            store.events("no-such-id")
        with pytest.raises(ComplaintNotFoundError, match="CF-1999-000001"):
            store.get_by_reference("CF-1999-000001")
        assert store.find_by_external_id("email", "no-such-message") is None

    # -- 9. close and reopen ----------------------------------------------------

    def test_close_twice_is_harmless_and_refuses_writes(self, store: _ComplaintsWithOutbox) -> None:
        created = store.commit(creation())
        store.close()
        store.close()
        with pytest.raises(StoreError):
            store.commit(creation())
        with pytest.raises(StoreError):
            store.commit(change(created))
        with pytest.raises(StoreError):
            store.outbox_update(make_message(created.id, 1))

    def test_reopened_store_returns_exactly_what_was_stored(
        self,
        store: _ComplaintsWithOutbox,
        reopen: Callable[[_ComplaintsWithOutbox], _ComplaintsWithOutbox] | None,
    ) -> None:
        if reopen is None:
            pytest.skip("this store keeps nothing across reopening (no `reopen` fixture)")
        first = store.commit(creation(external_id="m-1", due_at=T0 + timedelta(days=2)))
        first = store.commit(
            change(first, state="thanked", outbox=[make_message(first.id, 2)], data={"x": [1]})
        )
        second = store.commit(creation(received_at=T0 + timedelta(hours=1)))
        (message,) = store.outbox(first.id)
        store.outbox_update(attrs.evolve(message, status=OutboxStatus.DELIVERED, attempts=1))
        before = {
            "first": _snapshot(store, first.id),
            "second": _snapshot(store, second.id),
            "find": store.find(),
            "due": store.due(T0 + timedelta(days=3), 10),
            "pending": store.outbox_pending(10),
            "count": store.count(),
            "by_reference": store.get_by_reference(first.reference),
            "by_external_id": store.find_by_external_id("email", "m-1"),
        }
        reopened = reopen(store)
        try:
            after = {
                "first": _snapshot(reopened, first.id),
                "second": _snapshot(reopened, second.id),
                "find": reopened.find(),
                "due": reopened.due(T0 + timedelta(days=3), 10),
                "pending": reopened.outbox_pending(10),
                "count": reopened.count(),
                "by_reference": reopened.get_by_reference(first.reference),
                "by_external_id": reopened.find_by_external_id("email", "m-1"),
            }
            assert after == before
            # The rules carry on where they stopped: versions, keys, numbering.
            with pytest.raises(ConcurrencyError):
                reopened.commit(change(first, expected_version=1))
            with pytest.raises(DuplicateIntakeError):
                reopened.commit(creation(external_id="m-1"))
            assert reopened.commit(creation()).reference == "CF-2026-000003"
            assert reopened.commit(change(first)).version == 3
        finally:
            reopened.close()

    # -- 10. threads -----------------------------------------------------------

    def test_concurrent_commits_lose_no_update(self, store: _ComplaintsWithOutbox) -> None:
        threads, attempts = 4, 15
        ids = [store.commit(creation()).id for _ in range(2)]
        successes = dict.fromkeys(ids, 0)
        refused = [0]
        unexpected: list[BaseException] = []
        tally = threading.Lock()
        start = threading.Barrier(threads)

        def work(worker: int) -> None:
            start.wait()
            for attempt in range(attempts):
                complaint_id = ids[(worker + attempt) % len(ids)]
                try:
                    current = store.get(complaint_id)
                    store.commit(change(current, event_data={"worker": worker}))
                except ConcurrencyError:
                    with tally:
                        refused[0] += 1
                except BaseException as exc:  # reported below, with the test's failure
                    unexpected.append(exc)
                else:
                    with tally:
                        successes[complaint_id] += 1

        _run_threads(work, threads)
        assert unexpected == []
        assert sum(successes.values()) + refused[0] == threads * attempts
        for complaint_id in ids:
            complaint = store.get(complaint_id)
            events = store.events(complaint_id)
            assert complaint.version == 1 + successes[complaint_id]
            assert complaint.version == len(events)
            assert [event.seq for event in events] == list(range(1, complaint.version + 1))

    def test_concurrent_deliveries_of_one_message_make_one_complaint(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        threads = 4
        start = threading.Barrier(threads)
        winners: list[Complaint] = []
        duplicates: list[DuplicateIntakeError] = []
        unexpected: list[BaseException] = []

        def work(worker: int) -> None:
            commit = creation(channel="web", external_id="form-77")
            start.wait()
            try:
                winners.append(store.commit(commit))
            except DuplicateIntakeError as exc:
                duplicates.append(exc)
            except BaseException as exc:
                unexpected.append(exc)

        _run_threads(work, threads)
        assert unexpected == []
        assert len(winners) == 1
        assert len(duplicates) == threads - 1
        assert {exc.existing_id for exc in duplicates} == {winners[0].id}
        assert store.count() == 1
        assert store.find_by_external_id("web", "form-77") == winners[0]

    def test_concurrent_creations_get_distinct_consecutive_references(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        threads, each = 4, 5
        references: list[str] = []
        unexpected: list[BaseException] = []
        start = threading.Barrier(threads)

        def work(worker: int) -> None:
            start.wait()
            for _ in range(each):
                try:
                    references.append(store.commit(creation()).reference)
                except BaseException as exc:
                    unexpected.append(exc)

        _run_threads(work, threads)
        assert unexpected == []
        assert sorted(references) == [
            format_reference("CF", 2026, n) for n in range(1, threads * each + 1)
        ]

    # -- 11. several commits in one transaction ------------------------------------

    def test_commit_many_writes_every_commit_and_numbers_creations_in_order(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        earlier = store.commit(creation())
        first, second, third = (creation(received_at=T0 + timedelta(hours=n)) for n in range(3))
        moved = change(earlier, state="thanked", outbox=[make_message(earlier.id, 2)])
        batch = [first, moved, second, third]
        stored = store.commit_many(batch)
        assert [c.id for c in stored] == [commit.complaint.id for commit in batch]
        assert [c.reference for c in stored] == [
            "CF-2026-000002",
            earlier.reference,
            "CF-2026-000003",
            "CF-2026-000004",
        ]
        assert stored[1] == moved.complaint
        for commit, complaint in zip(batch, stored, strict=True):
            assert complaint == attrs.evolve(commit.complaint, reference=complaint.reference)
            assert store.get(complaint.id) == complaint
            assert store.events(complaint.id)[-len(commit.events) :] == list(commit.events)
        assert store.outbox(earlier.id) == list(moved.outbox)
        assert store.count() == 4
        assert store.commit_many([]) == []

    def test_commit_many_with_a_stale_member_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        before = _snapshot(store, created.id)
        newcomer = make_complaint(external_id="m-1")
        fresh = creation(newcomer, outbox=[make_message(newcomer.id, 1)])
        stale = change(created, expected_version=2, state="closed")
        with pytest.raises(ConcurrencyError) as raised:
            store.commit_many([fresh, stale])
        assert raised.value.complaint_id == created.id
        self._assert_batch_left_nothing(store, fresh.complaint.id, before)
        assert store.find_by_external_id("email", "m-1") is None
        # The refused creation used up no number.
        assert store.commit(creation()).reference == "CF-2026-000002"

    def test_commit_many_with_a_duplicate_member_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        taken = store.commit(creation(channel="web", external_id="form-1"))
        before = _snapshot(store, taken.id)
        fresh = creation()
        moved = change(taken, state="thanked")
        duplicate = creation(channel="web", external_id="form-1")
        with pytest.raises(DuplicateIntakeError) as raised:
            store.commit_many([fresh, moved, duplicate])
        assert raised.value.existing_id == taken.id
        self._assert_batch_left_nothing(store, fresh.complaint.id, before)
        # Two creations of one channel message in the same batch clash with each other.
        twins = [creation(channel="web", external_id="form-2") for _ in range(2)]
        with pytest.raises(DuplicateIntakeError):
            store.commit_many(twins)
        assert store.find_by_external_id("web", "form-2") is None
        assert store.count() == 1

    def test_commit_many_refuses_the_same_complaint_twice(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        before = _snapshot(store, created.id)
        first = change(created, state="thanked")
        second = change(first.complaint, state="closed")
        with pytest.raises(StoreError):
            store.commit_many([first, second])
        assert _snapshot(store, created.id) == before
        twin = creation()
        with pytest.raises(StoreError):
            store.commit_many([twin, creation(twin.complaint)])
        with pytest.raises(ComplaintNotFoundError):
            store.get(twin.complaint.id)
        assert store.count() == 1

    def test_commit_many_with_a_reused_outbox_key_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        created = store.commit(change(created, outbox=[make_message(created.id, 2, key="key-1")]))
        before = _snapshot(store, created.id)
        fresh = creation()
        reused = change(created, outbox=[make_message(created.id, 3, key="key-1")])
        with pytest.raises(StoreError):
            store.commit_many([fresh, reused])
        self._assert_batch_left_nothing(store, fresh.complaint.id, before)
        # The same new key twice in one batch is refused too.
        a, b = make_complaint(), make_complaint()
        a_commit = creation(a, outbox=[make_message(a.id, 1, key="key-2")])
        b_commit = creation(b, outbox=[make_message(b.id, 1, key="key-2")])
        with pytest.raises(StoreError):
            store.commit_many([a_commit, b_commit])
        assert store.count() == 1
        assert store.outbox_find() == before[2]

    def _assert_batch_left_nothing(
        self,
        store: _ComplaintsWithOutbox,
        refused_id: str,
        before: tuple[Complaint, list[Event], list[OutboxMessage]],
    ) -> None:
        with pytest.raises(ComplaintNotFoundError):
            store.get(refused_id)
        assert store.outbox(refused_id) == []
        assert _snapshot(store, before[0].id) == before
        assert store.count() == 1

    # -- 12. rewriting the trail (erasure) ------------------------------------------

    def test_rewrite_replaces_only_the_given_events_and_messages(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        current, events, messages = _erasable(store)
        erased_event = redact(events[1])
        erased_message = attrs.evolve(messages[0], payload={"name": "[erased]"})
        record = change(current, state="erased", event_data={"erased": [2]})
        stored = store.rewrite(record, [erased_event], [erased_message])
        assert stored == record.complaint
        assert store.get(current.id) == record.complaint
        assert store.events(current.id) == [events[0], erased_event, events[2], *record.events]
        assert store.outbox(current.id) == [erased_message, messages[1]]
        assert store.outbox_pending(10) == [erased_message, messages[1]]
        # The erased event keeps its hash and the digest of what was erased: the
        # chain still verifies from what the store returns.
        (got,) = [e for e in store.events(current.id) if e.seq == 2]
        assert got.hash == events[1].hash
        assert got.redacted == content_digest(events[1])
        assert (got.reason, dict(got.data)) == ("", {})
        assert verify_events(current.id, store.events(current.id), head=stored.audit_head) == []

    def test_rewrite_writes_events_as_given(self, store: _ComplaintsWithOutbox) -> None:
        current, events, _ = _erasable(store)
        forged = attrs.evolve(events[0], hash="f" * 64, redacted="e" * 64, reason="")
        store.rewrite(change(current), [forged], [])
        assert store.events(current.id)[0] == forged

    def test_rewrite_ends_the_claims_of_the_messages_it_replaces(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        current, _, messages = _erasable(store)
        lease = timedelta(minutes=10)
        assert store.outbox_claim(T0, 10, lease, "a") == messages
        erased = attrs.evolve(messages[0], address=None, payload={"name": "[erased]"})
        store.rewrite(change(current, state="erased"), [], [erased])
        # The replaced message is claimable again at once; the other keeps its claim.
        assert store.outbox_claim(T0, 10, lease, "b") == [erased]
        # The first dispatcher's stale outcome keeps the erased content.
        delivered = attrs.evolve(messages[0], status=OutboxStatus.DELIVERED, attempts=1)
        assert store.outbox_update(delivered) is True
        assert store.outbox(current.id) == [
            attrs.evolve(erased, status=OutboxStatus.DELIVERED, attempts=1),
            messages[1],
        ]
        # Marked dead by the erasure: an outcome recorded afterwards is refused.
        dead = attrs.evolve(messages[1], payload={}, status=OutboxStatus.DEAD)
        store.rewrite(change(store.get(current.id)), [], [dead])
        assert store.outbox_update(attrs.evolve(messages[1], attempts=1)) is False
        assert store.outbox(current.id)[1] == dead

    def test_rewrite_is_version_checked_and_writes_nothing_when_stale(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        current, events, messages = _erasable(store)
        before = _snapshot(store, current.id)
        stale = change(current, expected_version=current.version - 1, state="erased")
        with pytest.raises(ConcurrencyError):
            store.rewrite(stale, [redact(events[0])], [attrs.evolve(messages[0], payload={})])
        assert _snapshot(store, current.id) == before

    def test_rewrite_of_an_unknown_event_or_message_writes_nothing(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        current, events, _ = _erasable(store)
        other = store.commit(creation(outbox=[]))
        other = store.commit(change(other, outbox=[make_message(other.id, 2)]))
        (other_message,) = store.outbox(other.id)
        before = _snapshot(store, current.id)
        other_before = _snapshot(store, other.id)
        future = make_event(current.id, current.version + 5)
        foreign = store.events(other.id)[0]
        attempts: list[tuple[list[Event], list[OutboxMessage]]] = [
            ([redact(events[0]), future], []),  # a seq the complaint does not have
            ([foreign], []),  # an event of another complaint
            ([redact(events[0])], [make_message(current.id, 1, key="never-stored")]),
            ([], [attrs.evolve(other_message, payload={})]),  # another complaint's message
        ]
        for replaced_events, replaced_messages in attempts:
            with pytest.raises(StoreError):
                store.rewrite(change(current), replaced_events, replaced_messages)
            assert _snapshot(store, current.id) == before
            assert _snapshot(store, other.id) == other_before

    # -- 13. purge (retention) ---------------------------------------------------

    def test_purge_deletes_complaints_with_their_trail(self, store: _ComplaintsWithOutbox) -> None:
        doomed = store.commit(
            creation(external_id="m-1", due_at=T0 + timedelta(days=1), received_at=T0)
        )
        doomed = store.commit(change(doomed, outbox=[make_message(doomed.id, 2)]))
        also = store.commit(creation(outbox=[], received_at=T0 + timedelta(minutes=1)))
        also = store.commit(change(also, due_at=T0, outbox=[make_message(also.id, 2)]))
        kept = store.commit(creation(due_at=T0, received_at=T0 + timedelta(minutes=2)))
        kept = store.commit(change(kept, outbox=[make_message(kept.id, 2)]))
        kept_before = _snapshot(store, kept.id)
        assert store.purge({doomed.id: doomed.version, "no-such-id": 1, also.id: also.version}) == 2
        for gone in (doomed, also):
            with pytest.raises(ComplaintNotFoundError):
                store.get(gone.id)
            with pytest.raises(ComplaintNotFoundError):
                store.events(gone.id)
            with pytest.raises(ComplaintNotFoundError):
                store.get_by_reference(gone.reference)
            assert store.outbox(gone.id) == []
        assert store.find_by_external_id("email", "m-1") is None
        assert store.count() == 1
        assert store.find() == [kept]
        assert store.due(T0 + timedelta(days=7), 10) == [kept]
        assert store.outbox_pending(10) == kept_before[2]
        assert store.outbox_find() == kept_before[2]
        claimed = store.outbox_claim(T0, 10, timedelta(minutes=1), "dispatcher")
        assert claimed == kept_before[2]
        assert _snapshot(store, kept.id) == kept_before
        assert store.purge({doomed.id: doomed.version, "no-such-id": 1}) == 0
        assert store.purge({}) == 0

    def test_purge_keeps_a_complaint_whose_version_moved_on(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        seen = store.commit(creation(outbox=[], received_at=T0))
        reopened = store.commit(change(seen, state="reopened", outbox=[make_message(seen.id, 2)]))
        doomed = store.commit(creation(received_at=T0 + timedelta(minutes=1)))
        kept_before = _snapshot(store, seen.id)
        # The caller saw version 1; the complaint is at 2 now (e.g. reopened meanwhile).
        assert store.purge({seen.id: seen.version, doomed.id: doomed.version}) == 1
        assert _snapshot(store, seen.id) == kept_before
        assert store.get(seen.id) == reopened
        with pytest.raises(ComplaintNotFoundError):
            store.get(doomed.id)
        # A newer version than stored is not "still that version" either.
        assert store.purge({seen.id: reopened.version + 1}) == 0
        assert store.purge({seen.id: reopened.version}) == 1
        assert store.outbox(seen.id) == []

    def test_after_purge_the_channel_message_is_free_and_references_are_not_reused(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        doomed = store.commit(creation(external_id="m-1"))
        assert store.purge({doomed.id: doomed.version}) == 1
        again = store.commit(creation(external_id="m-1"))
        assert again.reference == "CF-2026-000002"
        assert store.find_by_external_id("email", "m-1") == again
        # The id itself may be used again, starting afresh.
        reborn = store.commit(creation(make_complaint(doomed.id)))
        assert reborn.reference == "CF-2026-000003"
        assert store.get(doomed.id) == reborn
        assert [e.seq for e in store.events(doomed.id)] == [1]

    # -- 14. find's time filters ----------------------------------------------------

    def test_find_filters_on_received_and_updated_instants(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        cut = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
        received = [
            cut - timedelta(microseconds=1),
            cut.astimezone(_IST),  # exactly at the cut, in another offset: kept
            cut + timedelta(days=1),
        ]
        stored = [store.commit(creation(received_at=at)) for at in received]
        before_cut, at_cut, after_cut = stored
        assert store.find(received_after=cut) == [at_cut, after_cut]
        assert store.find(received_after=cut.astimezone(_PST)) == [at_cut, after_cut]
        # ``updated_before`` is exclusive and follows the latest version.
        later = store.commit(change(before_cut, at=cut + timedelta(days=2)))
        assert store.find(updated_before=cut) == []
        assert store.find(updated_before=cut + timedelta(microseconds=1)) == [at_cut]
        assert store.find(updated_before=cut + timedelta(days=3)) == [later, at_cut, after_cut]
        assert store.find(received_after=cut, updated_before=cut + timedelta(days=1)) == [at_cut]
        assert store.find(received_after=cut, state="closed") == []
        assert store.find(received_after=cut - timedelta(days=1), limit=2) == [later, at_cut]

    # -- 15. the audit chain --------------------------------------------------------

    def test_stored_events_carry_the_chain_and_the_head(self, store: _ComplaintsWithOutbox) -> None:
        first = creation(events=2)
        current = store.commit(first)
        written = list(first.events)
        for commit_events in (3, 1):
            commit = change(current, events=commit_events, event_data={"n": commit_events})
            current = store.commit(commit)
            written += commit.events
        batch = change(current, events=2)
        (current,) = store.commit_many([batch])
        written += batch.events
        events = store.events(current.id)
        assert all(e.hash for e in written)
        assert [e.hash for e in events] == [e.hash for e in written]
        assert [e.redacted for e in events] == [None] * len(written)
        assert store.get(current.id).audit_head == events[-1].hash == current.audit_head
        assert (
            verify_events(current.id, events, head=current.audit_head, version=current.version)
            == []
        )

    # -- 17. a closed store -----------------------------------------------------------

    def test_a_closed_store_refuses_every_write(self, store: _ComplaintsWithOutbox) -> None:
        created = store.commit(creation())
        store.close()
        writes: list[Callable[[], object]] = [
            lambda: store.commit_many([creation()]),
            lambda: store.rewrite(change(created), [], []),
            lambda: store.purge({created.id: created.version}),
        ]
        for write in writes:
            with pytest.raises(StoreError):
                write()

    # -- 18. any sequence of writes matches a model -----------------------------

    @settings(
        max_examples=50,
        deadline=None,
        # The store is shared by the examples: each example works on its own ids,
        # prefix, workflow and keys, so earlier examples cannot affect it. Each
        # subclass runs the same method on its own store, which is the point.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(steps=_STEPS)
    def test_any_sequence_of_commits_matches_a_model(
        self, store: _ComplaintsWithOutbox, steps: list[tuple[Any, ...]]
    ) -> None:
        _Model(store).run(steps)


class OutboxStoreConformance(_StoreFixtures):
    """The rules of :class:`~complaint_flow.storage.contract.OutboxStore` (7, 17).

    Messages enter the outbox only with commits, so these tests write them with
    the store's :class:`~complaint_flow.storage.contract.ComplaintStore` methods:
    the store must have both parts.
    """

    def test_is_an_outbox_store(self, store: _ComplaintsWithOutbox) -> None:
        assert isinstance(store, OutboxStore)
        assert isinstance(store, ComplaintStore), "messages enter the outbox with commits"
        assert store.outbox_pending(10) == []
        assert store.outbox_find() == []

    # -- 7. outbox -----------------------------------------------------------

    def test_outbox_pending_in_commit_order_with_limit(self, store: _ComplaintsWithOutbox) -> None:
        first = store.commit(creation())
        second = store.commit(creation())
        m1 = make_message(second.id, 2, created_at=T0)
        m2 = make_message(first.id, 2, created_at=T0 + timedelta(minutes=1))
        m3 = make_message(first.id, 2, recipient="owner", created_at=T0 + timedelta(minutes=1))
        m4 = make_message(second.id, 3, created_at=T0 + timedelta(minutes=2))
        second = store.commit(change(second, outbox=[m1]))
        first = store.commit(change(first, outbox=[m2, m3]))
        store.commit(change(second, outbox=[m4]))
        assert store.outbox_pending(10) == [m1, m2, m3, m4]
        assert store.outbox_pending(3) == [m1, m2, m3]
        assert store.outbox_pending(0) == []
        assert store.outbox(first.id) == [m2, m3]
        assert store.outbox(second.id) == [m1, m4]

    def test_outbox_update_replaces_the_message_in_place(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        messages = [make_message(created.id, 2, recipient=f"r{n}") for n in range(4)]
        store.commit(change(created, outbox=messages))
        delivered = attrs.evolve(
            messages[0],
            status=OutboxStatus.DELIVERED,
            attempts=1,
            delivered_at=T0 + timedelta(minutes=5),
        )
        retrying = attrs.evolve(messages[1], attempts=1, last_error="SMTP 451 " + AWKWARD_TEXT)
        dead = attrs.evolve(messages[2], status=OutboxStatus.DEAD, attempts=5, last_error="no")
        for message in (delivered, retrying, dead):
            store.outbox_update(message)
        assert store.outbox_pending(10) == [retrying, messages[3]]
        assert store.outbox(created.id) == [delivered, retrying, dead, messages[3]]
        assert store.get(created.id).version == 2

    def test_outbox_update_of_an_unknown_key_returns_false(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        assert store.outbox_update(make_message(created.id, 1, key="never-stored")) is False
        for status in OutboxStatus:
            unknown = make_message(created.id, 1, key="never-stored")
            assert store.outbox_update(unknown, expected_status=status) is False
        assert store.outbox(created.id) == []
        assert store.outbox_find() == []

    def test_outbox_update_writes_the_delivery_state_and_keeps_the_stored_content(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        stored = make_message(created.id, 2, recipient="customer")
        store.commit(change(created, outbox=[stored]))
        # A copy whose content differs (as one read before an erasure would).
        outcome = attrs.evolve(
            stored,
            complaint_id="someone-else",
            event_seq=9,
            topic="other.topic",
            recipient="staff",
            channel="letter",
            address="elsewhere@example.com",
            created_at=T0 + timedelta(days=3),
            payload={"name": "Jane " + AWKWARD_TEXT},
            status=OutboxStatus.DELIVERED,
            attempts=3,
            last_error="was slow",
            delivered_at=T0 + timedelta(minutes=5),
            next_attempt_at=T0 + timedelta(hours=2),
        )
        assert store.outbox_update(outcome) is True
        expected = attrs.evolve(
            stored,
            status=OutboxStatus.DELIVERED,
            attempts=3,
            last_error="was slow",
            delivered_at=T0 + timedelta(minutes=5),
            next_attempt_at=T0 + timedelta(hours=2),
        )
        assert store.outbox(created.id) == [expected]
        assert store.outbox_find(status=OutboxStatus.DELIVERED) == [expected]
        assert store.outbox("someone-else") == []

    def test_outbox_update_is_refused_when_the_stored_status_differs(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        messages = _claimable(store, 3)
        dead = attrs.evolve(messages[0], status=OutboxStatus.DEAD, attempts=5, last_error="x")
        delivered = attrs.evolve(
            messages[1], status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0
        )
        assert store.outbox_update(dead) is True
        assert store.outbox_update(delivered) is True
        before = store.outbox_find()
        # A stale dispatcher's outcomes for messages no longer pending: nothing changes.
        for message in (messages[0], messages[1]):
            for outcome in (
                attrs.evolve(message, attempts=1, last_error="late"),
                attrs.evolve(message, status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0),
            ):
                assert store.outbox_update(outcome) is False
        # The expected status is compared with the stored one, not with the message's.
        assert store.outbox_update(messages[2], expected_status=OutboxStatus.DEAD) is False
        assert store.outbox_update(delivered, expected_status=OutboxStatus.DEAD) is False
        assert store.outbox_find() == before
        requeued = attrs.evolve(dead, status=OutboxStatus.PENDING, attempts=0)
        assert store.outbox_update(requeued, expected_status=OutboxStatus.DEAD) is True
        assert store.outbox_update(requeued, expected_status=OutboxStatus.DEAD) is False
        assert store.outbox_find(status=OutboxStatus.PENDING) == [requeued, messages[2]]

    def test_outbox_of_a_complaint_without_messages_is_empty(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        created = store.commit(creation())
        assert store.outbox(created.id) == []
        assert store.outbox("unknown-id") == []
        assert store.outbox_pending(10) == []

    def test_outbox_claim_takes_due_pending_messages_oldest_first_up_to_limit(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        first, later, dead, delivered, due_now, last = _claimable(store, 6)
        later = attrs.evolve(later, attempts=1, next_attempt_at=T0 + timedelta(hours=1))
        due_now = attrs.evolve(due_now, attempts=2, next_attempt_at=T0, last_error="451")
        updates = [
            later,
            attrs.evolve(dead, status=OutboxStatus.DEAD, attempts=5),
            attrs.evolve(delivered, status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0),
            due_now,
        ]
        for message in updates:
            store.outbox_update(message)
        lease = timedelta(minutes=1)
        assert store.outbox_claim(T0, 0, lease, "a") == []
        assert store.outbox_claim(T0, 2, lease, "a") == [first, due_now]
        assert store.outbox_claim(T0, 10, lease, "b") == [last]
        assert store.outbox_claim(T0, 10, lease, "c") == []
        assert store.outbox_pending(10, now=T0) == [first, due_now, last]
        assert store.outbox_pending(10) == [first, later, due_now, last]
        # An hour on, every claim has ended and the postponed message is due too.
        an_hour_on = store.outbox_claim(T0 + timedelta(hours=1), 10, lease, "d")
        assert an_hour_on == [first, later, due_now, last]

    def test_outbox_claims_are_exclusive_until_their_lease_ends(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        messages = _claimable(store, 5)
        lease = timedelta(minutes=10)
        assert store.outbox_claim(T0, 3, lease, "a") == messages[:3]
        # The same owner, too, waits for its own claim to end.
        assert store.outbox_claim(T0 + timedelta(minutes=1), 10, lease, "a") == messages[3:]
        for owner in ("a", "b"):
            assert store.outbox_claim(T0 + timedelta(minutes=9), 10, lease, owner) == []
        # Claims end at T0 + lease and T0 + 1 min + lease; "at or before now" is inclusive.
        assert store.outbox_claim(T0 + lease, 10, lease, "b") == messages[:3]
        assert store.outbox_claim(T0 + lease, 10, lease, "c") == []
        later = T0 + timedelta(minutes=11)
        assert store.outbox_claim(later, 10, lease, "c") == messages[3:]

    def test_outbox_update_ends_the_claim(self, store: _ComplaintsWithOutbox) -> None:
        failing, delivered, dead = _claimable(store, 3)
        lease = timedelta(minutes=10)
        assert store.outbox_claim(T0, 10, lease, "a") == [failing, delivered, dead]
        failing = attrs.evolve(failing, attempts=1, last_error="timed out")
        store.outbox_update(failing)
        store.outbox_update(
            attrs.evolve(delivered, status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0)
        )
        store.outbox_update(attrs.evolve(dead, status=OutboxStatus.DEAD, attempts=1))
        # The failed attempt is due again at once: another dispatcher may take it.
        assert store.outbox_claim(T0 + timedelta(seconds=1), 10, lease, "b") == [failing]
        # Its new claim lasts; the delivered and the dead are never claimed again.
        assert store.outbox_claim(T0 + lease, 10, lease, "c") == []
        for later in (T0 + timedelta(seconds=1) + lease, T0 + timedelta(days=365)):
            assert [m.key for m in store.outbox_claim(later, 10, lease, "c")] == [failing.key]

    def test_concurrent_claims_never_return_a_message_twice(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        messages = _claimable(store, 40)
        order = {m.key: n for n, m in enumerate(messages)}
        batches: list[list[str]] = []
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                # Bounded: a store that hands out claimed messages again must not loop forever.
                for _ in range(len(messages)):
                    batch = store.outbox_claim(T0, 3, timedelta(hours=1), f"owner-{worker}")
                    if not batch:
                        break
                    batches.append([m.key for m in batch])
            except BaseException as exc:
                errors.append(exc)

        _run_threads(work, 4)
        assert not errors
        every = [key for batch in batches for key in batch]
        assert sorted(every) == sorted(order)  # each message claimed exactly once
        assert all(batch == sorted(batch, key=order.__getitem__) for batch in batches)

    def test_outbox_find_filters_by_status_in_commit_order(
        self, store: _ComplaintsWithOutbox
    ) -> None:
        messages = _claimable(store, 6)
        statuses = [OutboxStatus.DELIVERED, OutboxStatus.DEAD, OutboxStatus.PENDING] * 2
        stored = [
            attrs.evolve(m, status=status, attempts=1)
            for m, status in zip(messages, statuses, strict=True)
        ]
        for message in stored:
            store.outbox_update(message)
        assert store.outbox_find() == stored
        assert store.outbox_find(limit=4) == stored[:4]
        for status in OutboxStatus:
            wanted = [m for m in stored if m.status is status]
            assert store.outbox_find(status=status) == wanted
            assert store.outbox_find(status=status, limit=1) == wanted[:1]
        assert store.outbox_find(status=OutboxStatus.PENDING, limit=0) == []

    # -- 17. a closed store -----------------------------------------------------------

    def test_a_closed_store_refuses_every_outbox_write(self, store: _ComplaintsWithOutbox) -> None:
        (message,) = _claimable(store, 1)
        store.close()
        with pytest.raises(StoreError):
            store.outbox_claim(T0, 10, timedelta(minutes=1), "a")
        with pytest.raises(StoreError):
            store.outbox_update(attrs.evolve(message, status=OutboxStatus.DELIVERED))


class ConductStoreConformance(_StoreFixtures):
    """The rules of :class:`~complaint_flow.storage.contract.ConductStore` (16, 17).

    A conduct record's notices are read back through the store's
    :class:`~complaint_flow.storage.contract.OutboxStore` methods: the store must
    have both parts.
    """

    def test_is_a_conduct_store(self, store: _ConductWithOutbox) -> None:
        assert isinstance(store, ConductStore)
        assert isinstance(store, OutboxStore), "notices are read through the outbox"
        assert store.conduct_find() == []

    # -- 16. conduct records ----------------------------------------------------------

    def test_conduct_record_round_trip_keeps_every_field(self, store: _ConductWithOutbox) -> None:
        customer = Customer(
            id="customer-7",
            name="Zoë O'Brien",
            email="zoe@example.org",
            phone="+44 7700 900001",
            postal_address="1 High St\nLeeds",
            contacts={"sms": "+44 7700 900001"},
            preferred_channel="sms",
        )
        restrictions = (
            Restriction.single_point_of_contact("officer-1", "Sam Officer", acknowledge=False),
            Restriction.written_only(),
            Restriction.contact_limit(2, 7),
            Restriction.no_reopening("CF-2026-000001", "CF-2026-000002"),
            Restriction.call_time_limit(15),
        )
        adjustments = (
            Adjustment(
                need="Cannot write: " + AWKWARD_TEXT,
                channels=("phone", "visit"),
                recorded_by="agent-1",
                recorded_at=datetime(2026, 4, 1, 10, 0, 0, 123456, tzinfo=_IST),
            ),
            Adjustment(need="Large print"),
        )
        items = (
            make_review_item(
                "item-1",
                reason=ReviewReason.DECIDED_MATTER,
                filed_at=datetime(2026, 4, 2, 8, 0, tzinfo=_PST),
                channel="email",
                external_id="<m-9@example.org>",
                summary="Again about the bill",
                details=AWKWARD_TEXT,
                received_at=datetime(2026, 4, 2, 7, 59, 59, 1, tzinfo=_PST),
                restrictions=(RestrictionKind.WRITTEN_ONLY, RestrictionKind.NO_REOPENING),
                regarding="CF-2026-000001",
                acknowledged=True,
                why="re-raises a decided complaint",
            ),
            make_review_item("item-2", reason=ReviewReason.PATTERN),
        )
        record = make_conduct_record(
            customer.id,
            customer=customer,
            status=ConductStatus.RESTRICTED,
            updated_at=datetime(2026, 4, 3, 9, 0, tzinfo=_IST),
            restrictions=restrictions,
            reasons="Forty calls a day. " + AWKWARD_TEXT,
            decided_by="manager-1",
            involved=("agent-1", "manager-1"),
            review_at=datetime(2026, 7, 3, 9, 0, tzinfo=_PST),
            appeal_grounds="I was ill",
            adjustments=adjustments,
            adjustment_note="Phone allowed",
            review_queue=items,
            recent_contacts=(
                datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
                datetime(2026, 4, 1, 15, 0, tzinfo=_IST),
            ),
            contact_keys=("email:<m-8@example.org>", "web:form-3"),
        )
        notices = [make_notice(record, 2, payload={"restrictions": ["written_only"]})]
        commit = conduct_creation(record, events=2, outbox=notices)
        stored = store.conduct_commit(commit)
        wanted = attrs.evolve(record, version=2, audit_head=commit.events[-1].hash)
        assert stored == wanted
        got = store.conduct_get(customer.id)
        assert got == wanted
        assert got is not None
        assert type(got.status) is ConductStatus
        assert all(type(r.kind) is RestrictionKind for r in got.restrictions)
        assert type(got.review_queue[0].reason) is ReviewReason
        assert all(type(k) is RestrictionKind for k in got.review_queue[0].restrictions)
        for value in (
            got.restrictions,
            got.restrictions[3].matters,
            got.involved,
            got.adjustments,
            got.adjustments[0].channels,
            got.review_queue,
            got.review_queue[0].restrictions,
            got.recent_contacts,
            got.contact_keys,
        ):
            assert type(value) is tuple, f"{value!r} came back as {type(value).__name__}"
        _assert_frozen(got.customer.contacts)
        for moment, wanted_moment in [
            (got.updated_at, record.updated_at),
            (got.review_at, record.review_at),
            (got.adjustments[0].recorded_at, adjustments[0].recorded_at),
            (got.adjustments[1].recorded_at, None),
            (got.review_queue[0].filed_at, items[0].filed_at),
            (got.review_queue[0].received_at, items[0].received_at),
            *zip(got.recent_contacts, record.recent_contacts, strict=True),
        ]:
            _assert_aware_and_equal(moment, wanted_moment)
        assert store.conduct_events(customer.id) == list(commit.events)
        assert store.outbox(record.id) == notices

    def test_conduct_record_update_round_trip(self, store: _ConductWithOutbox) -> None:
        created = store.conduct_commit(conduct_creation())
        commit = conduct_change(
            created,
            events=2,
            status=ConductStatus.WARNED,
            reasons="Abusive emails",
            review_queue=(make_review_item(),),
            event_data={"warned": ["x"]},
            outbox=[make_notice(created, 3)],
        )
        stored = store.conduct_commit(commit)
        assert stored == commit.record
        assert store.conduct_get(created.customer_id) == commit.record
        assert store.conduct_events(created.customer_id)[1:] == list(commit.events)
        assert store.outbox(created.id) == list(commit.outbox)
        # The snapshot returned earlier is unchanged.
        assert created.version == 1
        assert created.status is ConductStatus.NORMAL

    def test_unknown_conduct_record_is_none_and_has_no_events(
        self, store: _ConductWithOutbox
    ) -> None:
        store.conduct_commit(conduct_creation())
        assert store.conduct_get("nobody") is None
        assert store.conduct_events("nobody") == []
        assert store.outbox(conduct_record_id("nobody")) == []

    @pytest.mark.parametrize("offset", [-1, 1])
    def test_stale_conduct_commit_raises_and_writes_nothing(
        self, store: _ConductWithOutbox, offset: int
    ) -> None:
        created = store.conduct_commit(conduct_creation())
        current = store.conduct_commit(conduct_change(created, outbox=[make_notice(created, 2)]))
        before = _conduct_snapshot(store, current)
        stale = conduct_change(
            current,
            expected_version=current.version + offset,
            status=ConductStatus.RESTRICTED,
            review_at=T0,
            review_queue=(make_review_item(),),
            outbox=[make_notice(current, current.version + offset + 1)],
        )
        with pytest.raises(ConcurrencyError) as raised:
            store.conduct_commit(stale)
        assert raised.value.expected_version == current.version + offset
        assert _conduct_snapshot(store, current) == before
        assert store.outbox_pending(10) == before[2]
        assert store.conduct_find(statuses=[ConductStatus.RESTRICTED]) == []
        assert store.conduct_find(review_before=T0 + timedelta(days=365)) == []
        assert store.conduct_find(with_review_items=True) == []

    def test_conduct_creation_twice_or_change_of_nothing_raises(
        self, store: _ConductWithOutbox
    ) -> None:
        created = store.conduct_commit(conduct_creation())
        before = _conduct_snapshot(store, created)
        again = make_conduct_record(created.customer_id, status=ConductStatus.WARNED)
        with pytest.raises(ConcurrencyError):
            store.conduct_commit(conduct_creation(again, outbox=[make_notice(again, 1)]))
        assert _conduct_snapshot(store, created) == before
        ghost = make_conduct_record(version=2)
        with pytest.raises(ConcurrencyError):
            store.conduct_commit(conduct_change(ghost))
        assert store.conduct_get(ghost.customer_id) is None
        assert store.conduct_events(ghost.customer_id) == []

    def test_conduct_find_filters_and_orders_by_review_date_then_customer(
        self, store: _ConductWithOutbox
    ) -> None:
        soon = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
        plan: list[tuple[str, ConductStatus, datetime | None, int]] = [
            ("c-e", ConductStatus.RESTRICTED, soon + timedelta(days=30), 0),
            ("c-d", ConductStatus.RESTRICTED, soon.astimezone(_PST), 1),  # a tie with c-b
            ("c-c", ConductStatus.NORMAL, None, 2),
            ("c-b", ConductStatus.EXTENDED, soon.astimezone(_IST), 0),
            ("c-a", ConductStatus.WARNED, None, 0),
            ("c-f", ConductStatus.UNDER_APPEAL, soon - timedelta(days=1), 1),
        ]
        stored = {}
        for customer_id, status, review_at, item_count in plan:
            record = make_conduct_record(
                customer_id,
                status=status,
                review_at=review_at,
                review_queue=tuple(make_review_item() for _ in range(item_count)),
            )
            stored[customer_id] = store.conduct_commit(conduct_creation(record))
        e, d, c, b, a, f = (stored[n] for n in ("c-e", "c-d", "c-c", "c-b", "c-a", "c-f"))
        assert store.conduct_find() == [f, b, d, e, a, c]
        assert store.conduct_find(limit=3) == [f, b, d]
        assert store.conduct_find(limit=0) == []
        assert store.conduct_find(statuses=[ConductStatus.RESTRICTED]) == [d, e]
        assert store.conduct_find(statuses={ConductStatus.WARNED, ConductStatus.NORMAL}) == [a, c]
        assert store.conduct_find(statuses=[]) == []
        assert store.conduct_find(review_before=soon) == [f, b, d]
        assert store.conduct_find(review_before=soon - timedelta(microseconds=1)) == [f]
        assert store.conduct_find(review_before=soon.astimezone(_PST), limit=2) == [f, b]
        assert store.conduct_find(with_review_items=True) == [f, d, c]
        assert store.conduct_find(with_review_items=True, review_before=soon) == [f, d]
        assert store.conduct_find(
            statuses=[ConductStatus.RESTRICTED], review_before=soon, with_review_items=True
        ) == [d]
        assert store.conduct_find(with_review_items=True, limit=1) == [f]

    def test_conduct_find_follows_the_latest_version(self, store: _ConductWithOutbox) -> None:
        soon = T0 + timedelta(days=1)
        first = store.conduct_commit(
            conduct_creation(
                review_at=soon,
                status=ConductStatus.RESTRICTED,
                review_queue=(make_review_item(),),
            )
        )
        second = store.conduct_commit(conduct_creation(status=ConductStatus.WARNED))
        first = store.conduct_commit(
            conduct_change(first, review_at=None, review_queue=(), status=ConductStatus.LAPSED)
        )
        second = store.conduct_commit(
            conduct_change(second, review_at=soon, review_queue=(make_review_item(),))
        )
        assert store.conduct_find(review_before=soon) == [second]
        assert store.conduct_find(with_review_items=True) == [second]
        assert store.conduct_find(statuses=[ConductStatus.RESTRICTED]) == []
        assert store.conduct_find(statuses=[ConductStatus.LAPSED]) == [first]
        moved = store.conduct_commit(conduct_change(second, review_at=soon + timedelta(days=9)))
        assert store.conduct_find(review_before=soon) == []
        assert store.conduct_find(review_before=soon + timedelta(days=9)) == [moved]

    def test_conduct_rewrite_replaces_only_the_given_events_and_notices(
        self, store: _ConductWithOutbox
    ) -> None:
        record = make_conduct_record(version=3, reasons="Shouted at staff")
        recorded = [
            make_event(record.id, seq, reason="Ada shouted", data={"words": "…"})
            for seq in (1, 2, 3)
        ]
        notices = [make_notice(record, 3, payload={"name": "Ada"}), make_notice(record, 3)]
        created = store.conduct_commit(ConductCommit(record, 0, recorded, notices))
        events = store.conduct_events(record.customer_id)
        before = _conduct_snapshot(store, created)
        erased_event = redact(events[2])
        erased_notice = attrs.evolve(notices[0], payload={})
        # Stale, or naming an event or notice it does not have: nothing is written.
        with pytest.raises(ConcurrencyError):
            store.conduct_rewrite(
                conduct_change(created, expected_version=2), [erased_event], [erased_notice]
            )
        unknown_notice = make_notice(created, 1, key="never-stored")
        for bad_events, bad_notices in [
            ([erased_event, make_event(record.id, 9)], []),
            ([erased_event], [unknown_notice]),
        ]:
            with pytest.raises(StoreError):
                store.conduct_rewrite(conduct_change(created), bad_events, bad_notices)
        assert _conduct_snapshot(store, created) == before
        commit = conduct_change(created, reasons="", event_data={"erased": True})
        stored = store.conduct_rewrite(commit, [erased_event], [erased_notice])
        assert stored == commit.record
        assert store.conduct_get(record.customer_id) == commit.record
        trail = store.conduct_events(record.customer_id)
        assert trail == [events[0], events[1], erased_event, *commit.events]
        assert store.outbox(record.id) == [erased_notice, notices[1]]
        assert verify_events(record.id, trail, head=stored.audit_head, version=4) == []

    def test_conduct_rewrite_ends_the_claims_of_the_notices_it_replaces(
        self, store: _ConductWithOutbox
    ) -> None:
        record = store.conduct_commit(conduct_creation())
        notices = [make_notice(record, 2, payload={"name": "Ada"}), make_notice(record, 2)]
        record = store.conduct_commit(conduct_change(record, outbox=notices))
        lease = timedelta(minutes=10)
        assert store.outbox_claim(T0, 10, lease, "a") == notices
        erased = attrs.evolve(notices[0], address=None, payload={})
        store.conduct_rewrite(conduct_change(record), [], [erased])
        assert store.outbox_claim(T0, 10, lease, "b") == [erased]
        assert store.outbox_update(attrs.evolve(notices[0], attempts=1, last_error="x")) is True
        assert store.outbox(record.id) == [
            attrs.evolve(erased, attempts=1, last_error="x"),
            notices[1],
        ]

    def test_conduct_events_carry_the_chain_and_the_head(self, store: _ConductWithOutbox) -> None:
        first = conduct_creation(events=2)
        current = store.conduct_commit(first)
        then = conduct_change(current, events=3, event_data={"x": 1})
        current = store.conduct_commit(then)
        events = store.conduct_events(current.customer_id)
        assert [e.hash for e in events] == [e.hash for e in (*first.events, *then.events)]
        assert all(e.hash for e in events)
        got = store.conduct_get(current.customer_id)
        assert got is not None
        assert got.audit_head == events[-1].hash == current.audit_head
        assert verify_events(current.id, events, head=got.audit_head, version=got.version) == []

    def test_concurrent_conduct_commits_lose_no_update(self, store: _ConductWithOutbox) -> None:
        threads, attempts = 4, 10
        customer_id = store.conduct_commit(conduct_creation()).customer_id
        successes = [0]
        unexpected: list[BaseException] = []
        tally = threading.Lock()
        start = threading.Barrier(threads)

        def work(worker: int) -> None:
            start.wait()
            for _ in range(attempts):
                try:
                    current = store.conduct_get(customer_id)
                    assert current is not None
                    store.conduct_commit(conduct_change(current, event_data={"w": worker}))
                except ConcurrencyError:
                    pass
                except BaseException as exc:
                    unexpected.append(exc)
                else:
                    with tally:
                        successes[0] += 1

        _run_threads(work, threads)
        assert unexpected == []
        record = store.conduct_get(customer_id)
        assert record is not None
        events = store.conduct_events(customer_id)
        assert record.version == 1 + successes[0] == len(events)
        assert verify_events(record.id, events, head=record.audit_head) == []

    # -- 17. closed and reopened stores ------------------------------------------------

    def test_a_closed_store_refuses_every_conduct_write(self, store: _ConductWithOutbox) -> None:
        record = store.conduct_commit(conduct_creation())
        store.close()
        writes: list[Callable[[], object]] = [
            lambda: store.conduct_commit(conduct_change(record)),
            lambda: store.conduct_rewrite(conduct_change(record), [], []),
        ]
        for write in writes:
            with pytest.raises(StoreError):
                write()

    def test_reopened_store_keeps_conduct_records(
        self,
        store: _ConductWithOutbox,
        reopen: Callable[[_ConductWithOutbox], _ConductWithOutbox] | None,
    ) -> None:
        if reopen is None:
            pytest.skip("this store keeps nothing across reopening (no `reopen` fixture)")
        record = make_conduct_record(
            status=ConductStatus.RESTRICTED,
            restrictions=(Restriction.written_only(), Restriction.no_reopening("CF-1")),
            review_at=datetime(2026, 9, 1, 9, 0, tzinfo=_IST),
            adjustments=(Adjustment("Large print", recorded_at=T0),),
            review_queue=(make_review_item(received_at=T0),),
            recent_contacts=(T0,),
        )
        current = store.conduct_commit(conduct_creation(record, outbox=[make_notice(record, 1)]))
        current = store.conduct_commit(conduct_change(current, appeal_grounds="unfair"))
        other = store.conduct_commit(conduct_creation())
        customer_ids = (current.customer_id, other.customer_id)

        def snapshot(target: _ConductWithOutbox) -> dict[str, Any]:
            return {
                "records": [target.conduct_get(c) for c in customer_ids],
                "events": [target.conduct_events(c) for c in customer_ids],
                "notices": target.outbox(current.id),
                "pending": target.outbox_pending(10),
                "review": target.conduct_find(review_before=T0 + timedelta(days=365)),
                "items": target.conduct_find(with_review_items=True),
                "all": target.conduct_find(),
            }

        before = snapshot(store)
        reopened = reopen(store)
        try:
            assert snapshot(reopened) == before
            with pytest.raises(ConcurrencyError):
                reopened.conduct_commit(conduct_change(current, expected_version=1))
            with pytest.raises(ConcurrencyError):
                reopened.conduct_commit(conduct_creation(make_conduct_record(other.customer_id)))
            moved = reopened.conduct_commit(conduct_change(current))
            assert moved.version == 3
            events = reopened.conduct_events(current.customer_id)
            assert verify_events(current.id, events, head=moved.audit_head, version=3) == []
        finally:
            reopened.close()


class _ComplaintsWithChannels(ComplaintStore, OutboxStore, ChannelStore, Protocol):
    """What the channel rules use: links are written by commits, with outbox messages."""


def _channel_snapshot(store: _ComplaintsWithChannels, complaint_id: str) -> tuple[Any, ...]:
    """Everything a refused commit must leave as it was, for one complaint."""
    try:
        complaint: Complaint | None = store.get(complaint_id)
        events = store.events(complaint_id)
    except ComplaintNotFoundError:
        complaint, events = None, []
    return (
        complaint,
        events,
        store.outbox(complaint_id),
        store.links_of(complaint_id),
        store.count(),
        store.outbox_pending(10**6),
    )


# Steps of the links' property test: (kind, slot, message id numbers…). Four message
# ids shared by two complaints, so that links often collide.
_MESSAGE_NUMBERS = st.lists(st.integers(min_value=0, max_value=3), max_size=3, unique=True)
_LINK_STEP = st.one_of(
    st.tuples(st.just("create"), _slots, _MESSAGE_NUMBERS),
    st.tuples(st.just("change"), _slots, _MESSAGE_NUMBERS, st.sampled_from([0, 0, 0, -1])),
    st.tuples(st.just("add"), st.lists(st.tuples(_slots, st.integers(min_value=0, max_value=3)))),
    st.tuples(st.just("purge"), _slots),
    st.tuples(
        st.just("batch"),
        st.lists(
            st.tuples(_slots, _MESSAGE_NUMBERS), min_size=1, max_size=2, unique_by=lambda x: x[0]
        ),
    ),
)
_QUARANTINE_UPDATE = st.tuples(
    st.sampled_from(list(QuarantineStatus)),
    # Any text a note can hold, NUL included (it comes back as U+FFFD).
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20).filter(
        lambda text: bool(text.strip())
    ),
    st.binary(max_size=64),
)


class ChannelStoreConformance(_StoreFixtures):
    """The rules of :class:`~complaint_flow.storage.contract.ChannelStore` (19-22).

    An inbound message's link is written by the commit that records it, so these
    tests commit complaints (and check, through the outbox, that a refused commit
    wrote nothing): the store must have the ``ComplaintStore`` and ``OutboxStore``
    parts too.
    """

    def test_is_a_channel_store(self, store: _ComplaintsWithChannels) -> None:
        assert isinstance(store, ChannelStore), _lacking(store, ChannelStore)
        assert isinstance(store, ComplaintStore), "links are written by commits"
        assert isinstance(store, OutboxStore), "refused commits are checked through the outbox"
        assert store.links_find([]) == []
        assert store.quarantine_find() == []
        assert store.cursor_get("imap:INBOX") is None

    # -- 19. message links --------------------------------------------------------------

    def test_a_commit_writes_its_links_and_they_come_back_equal(
        self, store: _ComplaintsWithChannels
    ) -> None:
        complaint = make_complaint()
        # 09:00:00.123456 UTC, given in another offset.
        inbound = make_link(
            complaint.id,
            "<first@mail.example.org>",
            at=datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=_IST),
        )
        created = store.commit(creation(complaint, links=[inbound]))
        reply = make_link(created.id, direction=LinkDirection.OUTBOUND, at=T0 + timedelta(hours=1))
        answer = make_link(
            created.id, f"<{AWKWARD_TEXT.splitlines()[0]}>", at=T0 + timedelta(hours=2)
        )
        store.commit(change(created, links=[answer, reply]))
        assert store.links_find([inbound.message_id]) == [inbound]
        unknown = "<never-stored@mail.example.org>"
        found = store.links_find([answer.message_id, unknown, inbound.message_id, reply.message_id])
        assert found == sorted([inbound, reply, answer], key=lambda link: link.message_id)
        assert store.links_of(created.id) == [inbound, reply, answer]
        for got, wanted in zip(store.links_of(created.id), [inbound, reply, answer], strict=True):
            _assert_aware_and_equal(got.at, wanted.at)
            assert isinstance(got.direction, LinkDirection)
        assert store.links_of("no-such-complaint") == []

    def test_links_of_orders_by_time_then_message_id(self, store: _ComplaintsWithChannels) -> None:
        complaint = store.commit(creation())
        later = [
            make_link(complaint.id, f"<{name}@x>", at=T0 + timedelta(minutes=5)) for name in "cab"
        ]
        earliest = make_link(complaint.id, "<z@x>", at=datetime(2026, 3, 2, 1, 0, tzinfo=_PST))
        assert store.links_add([*later, earliest]) == 4
        # 01:00 PST is 09:00 UTC: earlier than the others, whatever its offset.
        assert store.links_of(complaint.id) == [
            earliest,
            *sorted(later, key=lambda link: link.message_id),
        ]

    def test_links_find_takes_any_number_of_ids(self, store: _ComplaintsWithChannels) -> None:
        complaint = store.commit(creation())
        links = [make_link(complaint.id, f"<{n:05d}@bulk.example.org>") for n in range(1200)]
        assert store.links_add(links) == len(links)
        wanted = [link.message_id for link in links[::2]]
        missing = [f"<missing-{n}@bulk.example.org>" for n in range(700)]
        assert store.links_find(set(wanted + missing)) == links[::2]
        assert store.links_find(wanted + wanted) == links[::2]  # each once
        assert len(store.links_of(complaint.id)) == len(links)

    def test_link_arguments_are_checked(self, store: _ComplaintsWithChannels) -> None:
        complaint = store.commit(creation())
        with pytest.raises(InvalidArgumentError, match="must be a list"):
            store.links_find("<lone@x>")  # a string is a collection of characters
        with pytest.raises(InvalidArgumentError, match="surrounding whitespace"):
            store.links_find([" <padded@x>"])
        with pytest.raises(InvalidArgumentError, match="MessageLink"):
            store.links_add([("<a@x>", complaint.id)])  # type: ignore[list-item]
        with pytest.raises(InvalidArgumentError):
            make_link(complaint.id, "x" * 999)
        assert store.links_of(complaint.id) == []

    def test_links_add_keeps_the_first_link_of_each_message_id(
        self, store: _ComplaintsWithChannels
    ) -> None:
        first = store.commit(creation())
        second = store.commit(creation())
        sent = make_link(first.id, "<a@x>", direction=LinkDirection.OUTBOUND)
        assert store.links_add([sent]) == 1
        b = make_link(second.id, "<b@x>")
        assert (
            store.links_add([make_link(second.id, "<a@x>"), b, make_link(first.id, "<b@x>")]) == 1
        )
        assert store.links_find(["<a@x>", "<b@x>"]) == [sent, b]
        assert store.links_add([sent, b]) == 0
        assert store.links_add([]) == 0
        assert store.links_of(first.id) == [sent]
        assert store.links_of(second.id) == [b]

    def test_a_commit_whose_link_is_taken_raises_and_writes_nothing(
        self, store: _ComplaintsWithChannels
    ) -> None:
        holder = store.commit(creation())
        taken = make_link(holder.id, "<taken@mail.example.org>")
        store.links_add([taken])
        current = store.commit(creation())
        fresh = make_link(current.id)
        commit = change(
            current,
            outbox=[make_message(current.id, 2)],
            links=[fresh, make_link(current.id, taken.message_id)],
        )
        before = _channel_snapshot(store, current.id)
        with pytest.raises(ConcurrencyError) as raised:
            store.commit(commit)
        assert (raised.value.complaint_id, raised.value.expected_version) == (current.id, 1)
        assert _channel_snapshot(store, current.id) == before
        assert store.links_find([fresh.message_id, taken.message_id]) == [taken]
        # The retry sees the message recorded; the rest of the change still commits.
        assert store.commit(change(current, links=[fresh])).version == 2
        assert store.links_of(current.id) == [fresh]

    def test_a_second_delivery_of_an_inbound_message_creates_nothing(
        self, store: _ComplaintsWithChannels
    ) -> None:
        complaint = make_complaint()
        link = make_link(complaint.id, "<m-1@mail.example.org>")
        assert store.commit(creation(complaint, links=[link])).reference == "CF-2026-000001"
        again = make_complaint()
        before = _channel_snapshot(store, again.id)
        with pytest.raises(ConcurrencyError):
            store.commit(
                creation(
                    again,
                    outbox=[make_message(again.id, 1)],
                    links=[make_link(again.id, link.message_id)],
                )
            )
        assert _channel_snapshot(store, again.id) == before
        assert store.links_find([link.message_id]) == [link]
        assert store.commit(creation()).reference == "CF-2026-000002"  # no number used up

    def test_commit_many_with_a_taken_link_writes_nothing(
        self, store: _ComplaintsWithChannels
    ) -> None:
        holder = store.commit(creation())
        taken = make_link(holder.id, "<taken@x>")
        store.links_add([taken])
        current = store.commit(creation())
        new = make_complaint()
        fresh = make_link(new.id)
        refused_batches = [
            # a message id already stored
            [
                creation(new, links=[fresh]),
                change(current, links=[make_link(current.id, "<taken@x>")]),
            ],
            # the same new message id in two commits of the batch
            [
                creation(new, links=[fresh]),
                change(current, links=[make_link(current.id, fresh.message_id)]),
            ],
        ]
        for batch in refused_batches:
            before = (_channel_snapshot(store, current.id), _channel_snapshot(store, new.id))
            with pytest.raises(ConcurrencyError):
                store.commit_many(batch)
            assert (
                _channel_snapshot(store, current.id),
                _channel_snapshot(store, new.id),
            ) == before
            assert store.links_find([fresh.message_id]) == []
        other = make_link(current.id)
        stored = store.commit_many([creation(new, links=[fresh]), change(current, links=[other])])
        assert [c.id for c in stored] == [new.id, current.id]
        assert store.links_find([fresh.message_id, other.message_id, taken.message_id]) == sorted(
            [fresh, other, taken], key=lambda link: link.message_id
        )

    def test_a_commit_links_only_its_complaint_and_each_id_once(self) -> None:
        complaint = make_complaint()
        with pytest.raises(StoreError, match="must be a MessageLink of its complaint"):
            creation(complaint, links=[make_link("another-complaint")])
        twice = make_link(complaint.id)
        with pytest.raises(StoreError, match="linked twice"):
            creation(complaint, links=[twice, attrs.evolve(twice, direction="outbound")])
        with pytest.raises(StoreError, match="MessageLink"):
            creation(complaint, links=["<a@x>"])  # type: ignore[list-item]

    def test_erasure_keeps_links_and_purge_deletes_them(
        self, store: _ComplaintsWithChannels
    ) -> None:
        complaint = make_complaint()
        inbound = make_link(complaint.id, at=T0)
        stored = store.commit(creation(complaint, links=[inbound]))
        reply = make_link(stored.id, direction=LinkDirection.OUTBOUND, at=T0 + timedelta(hours=1))
        store.links_add([reply])
        erased = store.rewrite(
            change(stored, data={}), [redact(event) for event in store.events(stored.id)], []
        )
        assert store.links_of(stored.id) == [inbound, reply]
        other = make_complaint()
        kept = make_link(other.id)
        store.commit(creation(other, links=[kept]))
        assert store.purge({stored.id: erased.version - 1}) == 0  # stale: kept, links too
        assert store.links_of(stored.id) == [inbound, reply]
        assert store.purge({stored.id: erased.version}) == 1
        assert store.links_find([inbound.message_id, reply.message_id]) == []
        assert store.links_of(stored.id) == []
        assert store.links_of(other.id) == [kept]
        # The message may be received again, as a new complaint.
        again = make_complaint()
        relinked = make_link(again.id, inbound.message_id)
        store.commit(creation(again, links=[relinked]))
        assert store.links_find([inbound.message_id]) == [relinked]

    def test_concurrent_deliveries_of_one_inbound_message_make_one_complaint(
        self, store: _ComplaintsWithChannels
    ) -> None:
        threads = 4
        start = threading.Barrier(threads)
        winners: list[Complaint] = []
        refused: list[ConcurrencyError] = []
        unexpected: list[BaseException] = []

        def work(worker: int) -> None:
            complaint = make_complaint()
            commit = creation(complaint, links=[make_link(complaint.id, "<same@x>")])
            start.wait()
            try:
                winners.append(store.commit(commit))
            except ConcurrencyError as exc:
                refused.append(exc)
            except BaseException as exc:
                unexpected.append(exc)

        _run_threads(work, threads)
        assert unexpected == []
        assert (len(winners), len(refused)) == (1, threads - 1)
        assert store.count() == 1
        (link,) = store.links_find(["<same@x>"])
        assert link.complaint_id == winners[0].id

    @settings(
        max_examples=30,
        deadline=None,
        # Each example works on its own complaints and message ids (see rule 18).
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(steps=st.lists(_LINK_STEP, min_size=1, max_size=10))
    def test_any_sequence_of_linking_writes_matches_a_model(
        self, store: _ComplaintsWithChannels, steps: list[tuple[Any, ...]]
    ) -> None:
        _LinkModel(store).run(steps)

    # -- 20. the quarantine -------------------------------------------------------------

    def test_quarantine_round_trip_keeps_every_field_and_byte(
        self, store: _ComplaintsWithChannels
    ) -> None:
        item = make_quarantined(
            source=f"webhook {AWKWARD_TEXT}",
            reason=AWKWARD_TEXT,
            raw=bytes(range(256)) * 4 + b"\r\n.\r\n\x00",
            received_at=datetime(2026, 3, 2, 14, 30, 0, 123456, tzinfo=_IST),
            attempts=2,
            updated_at=datetime(2026, 3, 2, 1, 0, 0, 1, tzinfo=_PST),
            note=AWKWARD_TEXT,
        )
        assert store.quarantine_add(item) == item
        got = store.quarantine_get(item.id)
        assert got == item
        assert got is not None
        assert type(got.raw) is bytes
        _assert_aware_and_equal(got.received_at, item.received_at)
        _assert_aware_and_equal(got.updated_at, item.updated_at)
        assert isinstance(got.status, QuarantineStatus)
        released = make_quarantined(status=QuarantineStatus.RELEASED, complaint_id="c-1", raw=b"")
        assert store.quarantine_add(released) == released
        assert store.quarantine_get(released.id) == released
        assert store.quarantine_get("q-never-stored") is None

    def test_a_50_mb_message_is_kept_whole(self, store: _ComplaintsWithChannels) -> None:
        raw = random.Random(50).randbytes(50 * 1024 * 1024)
        item = make_quarantined(raw=raw)
        store.quarantine_add(item)
        assert store.quarantine_find() == [item.entry()]  # its size, not its bytes
        got = store.quarantine_get(item.id)
        assert got is not None
        assert got.raw == raw

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(raw=st.binary(max_size=4096), update=_QUARANTINE_UPDATE)
    def test_any_bytes_come_back_exactly_and_updates_never_change_them(
        self, store: _ComplaintsWithChannels, raw: bytes, update: tuple[Any, ...]
    ) -> None:
        status, note, other_raw = update
        item = make_quarantined(raw=raw)
        assert store.quarantine_add(item) == item
        got = store.quarantine_get(item.id)
        assert got is not None
        assert got.raw == raw
        outcome = attrs.evolve(
            item,
            raw=other_raw,
            source="api",
            status=status,
            complaint_id="c-1" if status is QuarantineStatus.RELEASED else None,
            note=note,
            attempts=1,
        )
        assert store.quarantine_update(outcome, expected_status=QuarantineStatus.HELD)
        got = store.quarantine_get(item.id)
        assert got == attrs.evolve(outcome, raw=raw, source=item.source)

    def test_adding_an_id_again_changes_nothing(self, store: _ComplaintsWithChannels) -> None:
        first = make_quarantined(raw=b"first")
        assert store.quarantine_add(first) == first
        second = make_quarantined(
            first.id, raw=b"second", reason="other", received_at=T0 + timedelta(hours=1)
        )
        assert store.quarantine_add(second) == first
        discarded = attrs.evolve(first, status=QuarantineStatus.DISCARDED, note="spam")
        assert store.quarantine_update(discarded, expected_status=QuarantineStatus.HELD)
        assert store.quarantine_add(first) == discarded
        assert store.quarantine_find() == [discarded.entry()]

    def test_quarantine_find_lists_entries_oldest_first(
        self, store: _ComplaintsWithChannels
    ) -> None:
        def item(
            name: str, at: datetime, status: QuarantineStatus = QuarantineStatus.HELD
        ) -> QuarantinedMessage:
            complaint_id = "c-1" if status is QuarantineStatus.RELEASED else None
            return make_quarantined(
                name,
                raw=name.encode() * 3,
                received_at=at,
                status=status,
                complaint_id=complaint_id,
            )

        items = [
            item("q-d", datetime(2026, 3, 2, 1, 0, tzinfo=_PST)),  # 09:00 UTC
            item("q-b", T0 + timedelta(hours=1), QuarantineStatus.RELEASED),
            item("q-a", T0 + timedelta(hours=1)),  # a tie: by id
            item(
                "q-c", datetime(2026, 3, 2, 14, 0, tzinfo=_IST), QuarantineStatus.DISCARDED
            ),  # 08:30 UTC
            item("q-e", T0 + timedelta(days=1)),
        ]
        for added in items:
            store.quarantine_add(added)
        by_age = [items[3], items[0], items[2], items[1], items[4]]
        entries = store.quarantine_find()
        assert entries == [added.entry() for added in by_age]
        assert all(isinstance(entry, QuarantineEntry) for entry in entries)
        assert [entry.size for entry in entries] == [len(added.raw) for added in by_age]
        held = [added.entry() for added in by_age if added.status is QuarantineStatus.HELD]
        assert store.quarantine_find(status=QuarantineStatus.HELD) == held
        assert store.quarantine_find(status=QuarantineStatus.HELD, limit=2) == held[:2]
        assert store.quarantine_find(status=QuarantineStatus.RELEASED) == [items[1].entry()]
        assert store.quarantine_find(limit=0) == []
        with pytest.raises(InvalidArgumentError):
            store.quarantine_find(limit=-1)
        with pytest.raises(InvalidArgumentError):
            store.quarantine_find(status="lost")  # type: ignore[arg-type]

    def test_quarantine_update_writes_the_state_and_keeps_the_message(
        self, store: _ComplaintsWithChannels
    ) -> None:
        item = make_quarantined(raw=b"the message as received")
        store.quarantine_add(item)
        outcome = attrs.evolve(
            item,
            status=QuarantineStatus.RELEASED,
            complaint_id="c-9",
            attempts=1,
            updated_at=T0 + timedelta(hours=1),
            reason="re-processed after the sender was fixed",
            note="fixed by Bo",
            # What an update never writes:
            source="api",
            channel="web",
            received_at=T0 + timedelta(days=1),
            raw=b"something else",
        )
        assert store.quarantine_update(outcome, expected_status=QuarantineStatus.HELD)
        released = attrs.evolve(
            item,
            status=QuarantineStatus.RELEASED,
            complaint_id="c-9",
            attempts=1,
            updated_at=T0 + timedelta(hours=1),
            reason="re-processed after the sender was fixed",
            note="fixed by Bo",
        )
        assert store.quarantine_get(item.id) == released
        # Compare-and-set: the stored status is no longer held.
        late = attrs.evolve(item, status=QuarantineStatus.DISCARDED, note="late")
        assert not store.quarantine_update(late, expected_status=QuarantineStatus.HELD)
        assert store.quarantine_get(item.id) == released
        assert not store.quarantine_update(
            make_quarantined(), expected_status=QuarantineStatus.HELD
        )
        # An entry from a listing will do: no bytes need reading to change a status.
        (entry,) = store.quarantine_find(status=QuarantineStatus.RELEASED)
        discarded = attrs.evolve(entry, status=QuarantineStatus.DISCARDED, note="a duplicate")
        assert store.quarantine_update(discarded, expected_status=QuarantineStatus.RELEASED)
        got = store.quarantine_get(item.id)
        assert got == attrs.evolve(released, status=QuarantineStatus.DISCARDED, note="a duplicate")
        with pytest.raises(InvalidArgumentError):
            store.quarantine_update("q-1", expected_status=QuarantineStatus.HELD)  # type: ignore[arg-type]

    def test_concurrent_quarantine_updates_one_wins(self, store: _ComplaintsWithChannels) -> None:
        threads = 4
        item = make_quarantined()
        store.quarantine_add(item)
        start = threading.Barrier(threads)
        results: dict[int, bool] = {}
        unexpected: list[BaseException] = []

        def work(worker: int) -> None:
            mine = attrs.evolve(item, status=QuarantineStatus.DISCARDED, note=f"worker {worker}")
            start.wait()
            try:
                results[worker] = store.quarantine_update(
                    mine, expected_status=QuarantineStatus.HELD
                )
            except BaseException as exc:
                unexpected.append(exc)

        _run_threads(work, threads)
        assert unexpected == []
        (winner,) = [worker for worker, won in results.items() if won]
        got = store.quarantine_get(item.id)
        assert got is not None
        assert got.note == f"worker {winner}"

    # -- 21. cursors --------------------------------------------------------------------

    def test_cursors_are_set_by_compare_and_set(self, store: _ComplaintsWithChannels) -> None:
        name = "imap:ada@example.org/INBOX"
        assert store.cursor_get(name) is None
        assert not store.cursor_set(name, "7:10", expected="7:9")  # nothing to compare with
        assert store.cursor_get(name) is None
        assert store.cursor_set(name, "7:10", expected=None)
        assert not store.cursor_set(name, "7:11", expected=None)  # exists already
        assert not store.cursor_set(name, "7:12", expected="7:9")
        assert store.cursor_get(name) == "7:10"
        assert store.cursor_set(name, "7:12", expected="7:10")
        assert store.cursor_get(name) == "7:12"
        assert store.cursor_set(AWKWARD_TEXT, AWKWARD_TEXT, expected=None)
        assert store.cursor_get(AWKWARD_TEXT) == AWKWARD_TEXT
        assert store.cursor_get(name) == "7:12"
        with pytest.raises(InvalidArgumentError):
            store.cursor_set(name, "", expected="7:12")
        with pytest.raises(InvalidArgumentError):
            store.cursor_set(name, 13, expected="7:12")  # type: ignore[arg-type]

    def test_concurrent_cursor_sets_from_the_same_value_one_wins(
        self, store: _ComplaintsWithChannels
    ) -> None:
        threads, rounds = 2, 15
        name = "imap:INBOX"
        start = threading.Barrier(threads)
        won: list[list[int]] = [[] for _ in range(rounds)]
        unexpected: list[BaseException] = []
        tally = threading.Lock()

        def work(worker: int) -> None:
            for step in range(rounds):
                expected = None if step == 0 else store.cursor_get(name)
                start.wait()  # both have read the same value before either writes
                try:
                    if store.cursor_set(name, f"1:{step}:{worker}", expected=expected):
                        with tally:
                            won[step].append(worker)
                except BaseException as exc:
                    unexpected.append(exc)
                start.wait()  # the round is over for both before the next read

        _run_threads(work, threads)
        assert unexpected == []
        assert all(len(winners) == 1 for winners in won), won
        assert store.cursor_get(name) == f"1:{rounds - 1}:{won[-1][0]}"

    # -- 22. closed and reopened ---------------------------------------------------------

    def test_a_closed_store_refuses_every_channel_write(
        self, store: _ComplaintsWithChannels
    ) -> None:
        complaint = store.commit(creation())
        item = make_quarantined()
        store.quarantine_add(item)
        store.close()
        writes: list[Callable[[], object]] = [
            lambda: store.links_add([make_link(complaint.id)]),
            lambda: store.quarantine_add(make_quarantined()),
            lambda: store.quarantine_update(item, expected_status=QuarantineStatus.HELD),
            lambda: store.cursor_set("imap:INBOX", "1:1", expected=None),
        ]
        for write in writes:
            with pytest.raises(StoreError):
                write()

    def test_reopened_store_keeps_links_quarantine_and_cursors(
        self,
        store: _ComplaintsWithChannels,
        reopen: Callable[[_ComplaintsWithChannels], _ComplaintsWithChannels] | None,
    ) -> None:
        if reopen is None:
            pytest.skip("this store keeps nothing across reopening (no `reopen` fixture)")
        complaint = make_complaint()
        link = make_link(complaint.id, at=datetime(2026, 3, 2, 14, 30, tzinfo=_IST))
        current = store.commit(creation(complaint, links=[link]))
        store.links_add([make_link(current.id, direction=LinkDirection.OUTBOUND)])
        store.quarantine_add(make_quarantined(raw=bytes(range(256))))
        released = make_quarantined(status=QuarantineStatus.RELEASED, complaint_id=current.id)
        store.quarantine_add(released)
        store.cursor_set("imap:INBOX", "7:10", expected=None)

        def snapshot(target: _ComplaintsWithChannels) -> dict[str, Any]:
            entries = target.quarantine_find()
            return {
                "links": target.links_of(current.id),
                "found": target.links_find([link.message_id]),
                "entries": entries,
                "items": [target.quarantine_get(entry.id) for entry in entries],
                "cursor": target.cursor_get("imap:INBOX"),
            }

        before = snapshot(store)
        reopened = reopen(store)
        try:
            assert snapshot(reopened) == before
            again = make_complaint()
            with pytest.raises(ConcurrencyError):
                reopened.commit(creation(again, links=[make_link(again.id, link.message_id)]))
            assert not reopened.cursor_set("imap:INBOX", "7:11", expected="7:9")
            assert reopened.cursor_set("imap:INBOX", "7:11", expected="7:10")
        finally:
            reopened.close()


class _LinkModel:
    """The link rules, written plainly, run side by side with a store."""

    def __init__(self, store: _ComplaintsWithChannels) -> None:
        self.store = store
        run = uuid.uuid4().hex[:10]
        self.ids = [f"{run}-{slot}" for slot in range(2)]
        self.message_ids = [f"<{run}.{n}@mail.example.org>" for n in range(4)]
        self.complaints: dict[int, Complaint] = {}
        self.links: dict[str, MessageLink] = {}
        self.clock = itertools.count(1)

    def run(self, steps: list[tuple[Any, ...]]) -> None:
        for step in steps:
            getattr(self, step[0])(*step[1:])
            self.check()

    def link(self, slot: int, number: int) -> MessageLink:
        # Distinct times: ``links_of`` orders by time first.
        return make_link(
            self.ids[slot], self.message_ids[number], at=T0 + timedelta(seconds=next(self.clock))
        )

    def taken(self, links: Sequence[MessageLink], batch: set[str] | None = None) -> bool:
        return any(
            link.message_id in self.links or (batch is not None and link.message_id in batch)
            for link in links
        )

    def planned(self, slot: int, numbers: list[int], staleness: int = 0) -> tuple[Commit, bool]:
        """A commit of the slot's complaint with links, and whether the store must take it."""
        links = [self.link(slot, number) for number in numbers]
        current = self.complaints.get(slot)
        if current is None:
            return creation(make_complaint(self.ids[slot]), links=links), True
        expected = max(1, current.version + staleness)
        commit = change(attrs.evolve(current, version=expected), links=links)
        return commit, expected == current.version

    def create(self, slot: int, numbers: list[int]) -> None:
        links = [self.link(slot, number) for number in numbers]
        commit = creation(make_complaint(self.ids[slot]), links=links)
        if slot in self.complaints or self.taken(links):
            with pytest.raises(ConcurrencyError):
                self.store.commit(commit)
        else:
            self.accept(slot, self.store.commit(commit), links)

    def change(self, slot: int, numbers: list[int], staleness: int) -> None:
        if slot not in self.complaints:
            return
        commit, fresh = self.planned(slot, numbers, staleness)
        if not fresh or self.taken(commit.links):
            with pytest.raises(ConcurrencyError):
                self.store.commit(commit)
        else:
            self.accept(slot, self.store.commit(commit), list(commit.links))

    def batch(self, members: list[tuple[int, list[int]]]) -> None:
        planned = [self.planned(slot, numbers) for slot, numbers in members]
        commits = [commit for commit, _ in planned]
        seen: set[str] = set()
        refused = False
        for commit, fresh in planned:
            refused = refused or not fresh or self.taken(commit.links, seen)
            seen.update(link.message_id for link in commit.links)
        if refused:
            with pytest.raises(ConcurrencyError):
                self.store.commit_many(commits)
            return
        for (slot, _), stored, commit in zip(
            members, self.store.commit_many(commits), commits, strict=True
        ):
            self.accept(slot, stored, list(commit.links))

    def add(self, pairs: list[tuple[int, int]]) -> None:
        links = [self.link(slot, number) for slot, number in pairs]
        new = {}
        for link in links:
            if link.message_id not in self.links and link.message_id not in new:
                new[link.message_id] = link
        assert self.store.links_add(links) == len(new)
        self.links.update(new)

    def purge(self, slot: int) -> None:
        current = self.complaints.pop(slot, None)
        versions = {self.ids[slot]: current.version if current else 1}
        assert self.store.purge(versions) == (current is not None)
        if current is not None:
            self.links = {k: v for k, v in self.links.items() if v.complaint_id != current.id}

    def accept(self, slot: int, stored: Complaint, links: list[MessageLink]) -> None:
        self.complaints[slot] = stored
        self.links.update((link.message_id, link) for link in links)

    def check(self) -> None:
        wanted = sorted(self.links.values(), key=lambda link: link.message_id)
        assert self.store.links_find(self.message_ids) == wanted
        for complaint_id in self.ids:
            mine = [link for link in self.links.values() if link.complaint_id == complaint_id]
            mine.sort(key=lambda link: (link.at, link.message_id))
            assert self.store.links_of(complaint_id) == mine


class StoreConformance(
    ComplaintStoreConformance,
    OutboxStoreConformance,
    ConductStoreConformance,
    ChannelStoreConformance,
):
    """Every rule, for a whole :class:`~complaint_flow.storage.contract.Store`.

    Subclass as ``class TestMyStore(StoreConformance)``. Provide a ``store`` fixture
    yielding a fresh, empty store; optionally a ``reopen`` fixture returning a
    function that closes a store and opens it again on the same data (durable
    stores). Besides the four parts' rules, it checks those that span them:
    complaint messages and conduct notices share one outbox.
    """

    def test_is_a_store(self, store: Store) -> None:
        assert isinstance(store, Store), _lacking(store, Store)
        assert isinstance(store.url, str)
        assert store.url
        assert store.count() == 0

    # -- the parts together -------------------------------------------------------------

    def test_conduct_notice_with_a_stored_key_raises_and_writes_nothing(self, store: Store) -> None:
        complaint = store.commit(creation(outbox=[]))
        store.commit(change(complaint, outbox=[make_message(complaint.id, 2, key="key-1")]))
        created = store.conduct_commit(conduct_creation())
        before = _conduct_snapshot(store, created)
        with pytest.raises(StoreError):
            store.conduct_commit(
                conduct_change(created, outbox=[make_notice(created, 2, key="key-1")])
            )
        assert _conduct_snapshot(store, created) == before

    def test_conduct_notices_share_the_outbox_with_complaint_messages(self, store: Store) -> None:
        complaint = store.commit(creation())
        record = store.conduct_commit(conduct_creation())
        m1 = make_message(complaint.id, 2)
        n1 = make_notice(record, 2)
        m2 = make_message(complaint.id, 3)
        n2 = make_notice(record, 3, next_attempt_at=T0 + timedelta(hours=1))
        complaint = store.commit(change(complaint, outbox=[m1]))
        record = store.conduct_commit(conduct_change(record, outbox=[n1]))
        store.commit(change(complaint, outbox=[m2]))
        store.conduct_commit(conduct_change(record, outbox=[n2]))
        assert store.outbox_pending(10) == [m1, n1, m2, n2]
        assert store.outbox_pending(10, now=T0) == [m1, n1, m2]
        assert store.outbox(record.id) == [n1, n2]
        assert store.outbox(complaint.id) == [m1, m2]
        lease = timedelta(minutes=5)
        assert store.outbox_claim(T0, 2, lease, "a") == [m1, n1]
        assert store.outbox_claim(T0, 10, lease, "b") == [m2]
        delivered = attrs.evolve(n1, status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0)
        store.outbox_update(delivered)
        retry = attrs.evolve(m1, attempts=1, last_error="busy")
        store.outbox_update(retry)
        assert store.outbox_claim(T0, 10, lease, "c") == [retry]
        # Every earlier claim has ended an hour later; ``n2`` has become due.
        assert store.outbox_claim(T0 + timedelta(hours=1), 10, lease, "d") == [retry, m2, n2]
        assert store.outbox(record.id) == [delivered, n2]
        assert store.outbox_find(status=OutboxStatus.DELIVERED) == [delivered]
        assert store.outbox_find() == [retry, delivered, m2, n2]


def _lacking(store: object, part: type) -> str:
    """Which methods of ``part`` ``store`` lacks, and what to do about it."""
    wanted = sorted(
        name
        for cls in part.__mro__
        if cls.__module__ == ChannelStore.__module__
        for name, value in vars(cls).items()
        if callable(value) and not name.startswith("_")
    )
    missing = [name for name in wanted if not callable(getattr(store, name, None))]
    return (
        f"{type(store).__name__} lacks {', '.join(missing)} of {part.__name__}: implement "
        "them (docs/stores.md, 'The channel part', says what each must do), or subclass "
        "only the conformance mixins of the parts the store has"
    )


def _id_sorting_before(n: int, count: int) -> str:
    """Ids that sort in reverse order of creation: ties must be broken by id, not by age."""
    return f"c{count - n}-{uuid.uuid4().hex[:6]}"


def _run_threads(work: Callable[[int], None], count: int) -> None:
    workers = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert not worker.is_alive(), "a store call hung for two minutes"


class _Planned:
    """A commit the model built, and what the store must do with it."""

    def __init__(
        self,
        commit: Commit,
        error: type[Exception] | None,
        apply: Callable[[], Complaint] | None = None,
        existing_id: str | None = None,
    ) -> None:
        self.commit = commit
        self.error = error
        self.apply = apply  # records the accepted commit in the model, returns the stored complaint
        self.existing_id = existing_id


class _Model:
    """The rules, written as plainly as possible, run side by side with a store."""

    def __init__(self, store: _ComplaintsWithOutbox) -> None:
        self.store = store
        run = uuid.uuid4().hex[:10]
        self.tag = run
        self.prefix = f"P{run}"
        self.workflow = f"wf-{run}"
        self.ids = [f"{run}-{slot}" for slot in range(2)]
        self.complaints: dict[int, Complaint] = {}
        self.events: dict[int, list[Event]] = {}
        self.outbox: dict[str, OutboxMessage] = {}  # in commit order
        self.externals: dict[tuple[str, str], int] = {}
        self.numbers: dict[int, int] = {}
        self.keys = itertools.count()
        self.count_before = store.count()

    def run_step(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind in ("create", "change"):
            self.commit_one(self.plan(step))
        elif kind == "batch":
            self.commit_batch(step[1])
        elif kind == "purge":
            self.purge(*step[1:])
        else:
            self.deliver(*step[1:])

    def run(self, steps: list[tuple[Any, ...]]) -> None:
        for step in steps:
            self.run_step(step)
            self.check_complaints()
        self.check_queries()

    def plan(self, step: tuple[Any, ...]) -> _Planned:
        if step[0] == "create":
            return self.plan_create(*step[1:])
        return self.plan_change(*step[1:])

    def commit_one(self, planned: _Planned) -> None:
        if planned.error is not None:
            with pytest.raises(planned.error) as raised:
                self.store.commit(planned.commit)
            if planned.existing_id is not None:
                assert isinstance(raised.value, DuplicateIntakeError)
                assert raised.value.existing_id == planned.existing_id
        else:
            assert planned.apply is not None
            assert self.store.commit(planned.commit) == planned.apply()

    def commit_batch(self, steps: list[tuple[Any, ...]]) -> None:
        # One commit per complaint (two for one complaint is refused; a test covers that).
        steps = list({step[1]: step for step in steps}.values())
        saved = self.save()
        batch: list[_Planned] = []
        wanted: list[Complaint] = []
        error: type[Exception] | None = None
        for step in steps:
            planned = self.plan(step)  # against the batch's earlier, accepted commits
            batch.append(planned)
            if error is None:
                if planned.error is None:
                    assert planned.apply is not None
                    wanted.append(planned.apply())
                else:
                    error = planned.error
        commits = [planned.commit for planned in batch]
        if error is not None:
            self.restore(saved)
            with pytest.raises(error):
                self.store.commit_many(commits)
        else:
            assert self.store.commit_many(commits) == wanted

    def save(self) -> tuple[Any, ...]:
        return (
            dict(self.complaints),
            {slot: list(events) for slot, events in self.events.items()},
            dict(self.outbox),
            dict(self.externals),
            dict(self.numbers),
        )

    def restore(self, saved: tuple[Any, ...]) -> None:
        self.complaints, self.events, self.outbox, self.externals, self.numbers = saved

    def purge(self, slots: list[int], stale: bool) -> None:
        present = {slot for slot in slots if slot in self.complaints}
        versions = {
            self.ids[slot]: self.complaints[slot].version - stale if slot in present else 1
            for slot in slots
        }
        versions[f"{self.tag}-never-stored"] = 1
        if stale:
            present = set()
        assert self.store.purge(versions) == len(present)
        for slot in present:
            del self.complaints[slot], self.events[slot]
            self.externals = {k: v for k, v in self.externals.items() if v != slot}
            gone = self.ids[slot]
            self.outbox = {k: m for k, m in self.outbox.items() if m.complaint_id != gone}
        # Reference numbers are never reused: ``numbers`` keeps counting.

    def messages(self, slot: int, seq: int, count: int, at: datetime) -> list[OutboxMessage]:
        return [
            make_message(self.ids[slot], seq, key=f"{self.tag}-k{next(self.keys)}", created_at=at)
            for _ in range(count)
        ]

    def plan_create(
        self,
        slot: int,
        channel: str,
        external: str | None,
        received_at: datetime,
        due_at: datetime | None,
        events: int,
        messages: int,
    ) -> _Planned:
        external_id = f"{self.tag}-{external}" if external else None
        complaint = make_complaint(
            self.ids[slot],
            workflow=self.workflow,
            channel=channel,
            external_id=external_id,
            received_at=received_at,
            due_at=due_at,
            customer=Customer(id=f"{self.tag}-customer", name="Ada"),
        )
        outbox = self.messages(slot, events, messages, received_at)
        commit = creation(complaint, prefix=self.prefix, events=events, outbox=outbox)
        taken = self.externals.get((channel, external_id)) if external_id else None
        if slot in self.complaints:
            return _Planned(commit, ConcurrencyError)
        if taken is not None:
            return _Planned(commit, DuplicateIntakeError, existing_id=self.ids[taken])

        def apply() -> Complaint:
            year = received_at.year
            self.numbers[year] = self.numbers.get(year, 0) + 1
            reference = format_reference(self.prefix, year, self.numbers[year])
            wanted = attrs.evolve(commit.complaint, reference=reference)
            self.complaints[slot] = wanted
            self.events[slot] = list(commit.events)
            self.outbox.update((m.key, m) for m in outbox)
            if external_id:
                self.externals[(channel, external_id)] = slot
            return wanted

        return _Planned(commit, None, apply)

    def plan_change(
        self,
        slot: int,
        staleness: int,
        events: int,
        state: str,
        due_at: datetime | None,
        messages: int,
        value: Any,
    ) -> _Planned:
        current = self.complaints.get(slot)
        stored_version = current.version if current else 0
        expected = max(1, stored_version + staleness)
        base = current or make_complaint(self.ids[slot], workflow=self.workflow)
        at = _MOMENTS[expected % len(_MOMENTS)]
        outbox = self.messages(slot, expected + events, messages, at)
        commit = change(
            attrs.evolve(base, version=expected),
            events=events,
            at=at,
            outbox=outbox,
            state=state,
            due_at=due_at,
            data={**base.data, f"v{expected}": value},
            event_data={"value": value},
        )
        if current is None or expected != stored_version:
            return _Planned(commit, ConcurrencyError)

        def apply() -> Complaint:
            self.complaints[slot] = commit.complaint
            self.events[slot].extend(commit.events)
            self.outbox.update((m.key, m) for m in outbox)
            return commit.complaint

        return _Planned(commit, None, apply)

    def deliver(self, index: int, status: OutboxStatus) -> None:
        if not self.outbox:
            return
        key = list(self.outbox)[index % len(self.outbox)]
        message = self.outbox[key]
        updated = attrs.evolve(
            message,
            status=status,
            attempts=message.attempts + 1,
            last_error=None if status is OutboxStatus.DELIVERED else f"attempt {index}",
            delivered_at=T0 if status is OutboxStatus.DELIVERED else None,
        )
        assert self.store.outbox_update(updated, expected_status=message.status)
        self.outbox[key] = updated

    def check_complaints(self) -> None:
        for slot, complaint_id in enumerate(self.ids):
            mine = [m for m in self.outbox.values() if m.complaint_id == complaint_id]
            assert self.store.outbox(complaint_id) == mine
            if slot in self.complaints:
                assert self.store.get(complaint_id) == self.complaints[slot]
                assert self.store.events(complaint_id) == self.events[slot]
            else:
                with pytest.raises(ComplaintNotFoundError):
                    self.store.get(complaint_id)
                with pytest.raises(ComplaintNotFoundError):
                    self.store.events(complaint_id)

    def check_queries(self) -> None:
        store = self.store
        complaints = list(self.complaints.values())
        assert store.count() == self.count_before + len(complaints)
        by_received = sorted(complaints, key=lambda c: (c.received_at, c.id))
        assert store.find(workflow=self.workflow) == by_received
        for state in ("received", "thanked", "closed"):
            wanted = [c for c in by_received if c.state == state]
            assert store.find(workflow=self.workflow, state=state) == wanted
        mine = set(self.ids)
        latest = max(_MOMENTS)
        due = [c for c in store.due(latest, 10**6) if c.id in mine]
        with_deadline = [c for c in complaints if c.due_at is not None]
        assert due == sorted(with_deadline, key=lambda c: (c.due_at, c.id))
        for complaint in complaints:
            assert store.get_by_reference(complaint.reference) == complaint
        for (channel, external_id), slot in self.externals.items():
            assert store.find_by_external_id(channel, external_id) == self.complaints[slot]
        pending = [m for m in store.outbox_pending(10**6) if m.key.startswith(f"{self.tag}-")]
        assert pending == [m for m in self.outbox.values() if m.status is OutboxStatus.PENDING]


# -- the optional satisfaction part (storage/satisfaction_reads.py) ----------------------------

_CATEGORIES = ("billing", "delivery", AWKWARD_TEXT)
_CHANNELS = ("email", "letter")
_TEAMS = (None, "Finance", "Team Ü")
# Scores as they may be found in event data: the valid ones, and what is not a score.
_SCORES = st.one_of(
    st.integers(1, 5),
    st.sampled_from([0, 6, -1, 4.5, 4.0, "4", True, None]),
)


def _answer_event(
    complaint_id: str,
    seq: int,
    at: datetime,
    score: object,
    category: str,
    channel: str,
    team: str | None,
) -> Event:
    data: dict[str, Any] = {"category": category, "channel": channel, "team": team}
    if score is not None:
        data["score"] = score
    return make_event(complaint_id, seq, kind=ANSWERED, at=at, actor=AGENT, data=data)


def commit_answer(
    store: ComplaintStore,
    at: datetime,
    score: object,
    *,
    category: str = "billing",
    channel: str = "email",
    team: str | None = None,
) -> Complaint:
    """A complaint received at ``at`` whose second event is a survey answer given then."""
    complaint = make_complaint(category=category, channel=channel, received_at=at, version=2)
    events = [
        make_event(complaint.id, 1, kind="received", at=at),
        _answer_event(complaint.id, 2, at, score, category, channel, team),
    ]
    return store.commit(Commit(complaint, 0, events, reference_prefix="CF"))


def _answers_in(
    store: ComplaintStore, since: datetime | None, until: datetime | None
) -> list[AnsweredSurvey]:
    """Every answer the store holds in the window, read through the ordinary contract."""
    found = []
    for complaint in store.find():
        for event in store.events(complaint.id):
            answer = answered_survey(event)
            if answer is None:
                continue
            if (since is None or answer.answered_at >= since) and (
                until is None or answer.answered_at < until
            ):
                found.append(answer)
    return found


class _ComplaintsWithCsat(ComplaintStore, SatisfactionReads, Protocol):
    """What the satisfaction rules use."""


class SatisfactionReadsConformance(_StoreFixtures):
    """The rules of the optional ``SatisfactionReads`` part (CSAT computed by the store).

    ``survey_csat(since=, until=, by=, period=)`` returns exactly what
    :func:`complaint_flow.model.satisfaction.csat` returns over the store's answered
    surveys (:func:`~complaint_flow.storage.satisfaction_reads.answered_survey` of
    each ``survey_answered`` event) given in ``[since, until)``: one row per group,
    sorted, the counts of each score; periods in UTC whatever offset the answer
    time was given in, weeks from Monday; an event whose score is not a whole
    number from 1 to 5 is not counted. Unknown dimensions or periods and naive
    times raise ``InvalidArgumentError``. Subclass it beside ``StoreConformance``
    when your store has the part.
    """

    def test_is_a_satisfaction_store(self, store: _ComplaintsWithCsat) -> None:
        assert isinstance(store, SatisfactionReads)
        assert store.survey_csat() == []

    def test_counts_per_group_and_period(self, store: _ComplaintsWithCsat) -> None:
        monday = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
        # Sunday 23:30 in UTC, given in +05:30 (Monday 05:00 there): still last week.
        sunday = datetime(2026, 3, 2, 5, 0, tzinfo=_IST) - timedelta(hours=1)
        commit_answer(store, monday, 5, category="billing")
        commit_answer(store, monday + timedelta(days=6), 2, category="billing")
        commit_answer(store, monday + timedelta(days=7), 4, category="delivery", team="Finance")
        commit_answer(store, sunday, 3, category="delivery", channel="letter")
        commit_answer(store, monday, 4.5, category="billing")  # not a score: not counted
        week = datetime(2026, 3, 2).date()
        rows = store.survey_csat(by=["category"], period="week")
        assert [(r.period, r.category, r.by_score) for r in rows] == [
            (week - timedelta(days=7), "delivery", (0, 0, 1, 0, 0)),
            (week, "billing", (0, 1, 0, 0, 1)),
            (week + timedelta(days=7), "delivery", (0, 0, 0, 1, 0)),
        ]
        [everything] = store.survey_csat()
        assert (everything.answers, everything.satisfied, everything.csat) == (4, 2, 50.0)
        assert everything.mean == 3.5
        teams = store.survey_csat(by="team", since=monday, until=monday + timedelta(days=8))
        assert [(r.team, r.answers) for r in teams] == [(None, 2), ("Finance", 1)]

    @settings(
        max_examples=25,
        deadline=None,
        # The store keeps what earlier examples committed: the expected rows are
        # computed over everything it holds, through the ordinary reads.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(
        answers=st.lists(
            st.tuples(
                st.integers(0, 800 * 24 * 60),
                _SCORES,
                st.sampled_from(_CATEGORIES),
                st.sampled_from(_CHANNELS),
                st.sampled_from(_TEAMS),
                st.sampled_from([UTC, _IST, _PST]),
            ),
            max_size=12,
        ),
        by=st.lists(st.sampled_from(DIMENSIONS), unique=True),
        period=st.sampled_from([None, *PERIODS]),
        window=st.tuples(
            st.one_of(st.none(), st.integers(0, 800 * 24 * 60)),
            st.one_of(st.none(), st.integers(0, 800 * 24 * 60)),
        ),
    )
    def test_any_answers_give_what_the_pure_function_gives(
        self,
        store: _ComplaintsWithCsat,
        answers: list[tuple[int, object, str, str, str | None, timezone]],
        by: list[str],
        period: str | None,
        window: tuple[int | None, int | None],
    ) -> None:
        for minutes, score, category, channel, team, zone in answers:
            at = (T0 + timedelta(minutes=minutes)).astimezone(zone)
            commit_answer(store, at, score, category=category, channel=channel, team=team)
        since, until = (
            None if bound is None else T0 + timedelta(minutes=bound) for bound in window
        )
        wanted = csat(_answers_in(store, since, until), by=by, period=period)
        assert store.survey_csat(since=since, until=until, by=by, period=period) == wanted

    def test_arguments_are_checked(self, store: _ComplaintsWithCsat) -> None:
        with pytest.raises(InvalidArgumentError, match="by must be one of"):
            store.survey_csat(by=["severity"])
        with pytest.raises(InvalidArgumentError, match="period must be one of"):
            store.survey_csat(period="fortnight")
        with pytest.raises(InvalidArgumentError, match="timezone-aware"):
            store.survey_csat(since=datetime(2026, 3, 2))


# -- the report part ------------------------------------------------------------------

REPORT_RULES = MilestoneRules(
    {
        "conformance": WorkflowRules(
            response_triggers={"answer", "decide"}, resolution_states={"decided", "closed"}
        )
    },
    data_keys=("outcome", "missing"),
    repeat_within=timedelta(days=30),
)
"""The rules the report part's tests read milestones with."""

_CLOCK = ClockState(
    name="answer",
    status=ClockStatus.STOPPED,
    started_at=T0,
    deadline=T0 + timedelta(days=5),
    stopped_at=T0 + timedelta(days=1),
    breached=True,
    extensions=2,
)


def history_creation(
    complaint: Complaint, steps: Sequence[tuple[str, timedelta, Mapping[str, Any]]]
) -> Commit:
    """A commit creating ``complaint`` with its whole history: ``received``, then ``steps``.

    Each step is ``(kind, delay after receipt, fields)``; ``fields`` holds the
    event's ``trigger``, ``source``, ``dest`` and ``data``.
    """
    events = [
        make_event(complaint.id, 1, kind="received", at=complaint.received_at, dest="received")
    ]
    for seq, (kind, delay, fields) in enumerate(steps, start=2):
        events.append(
            make_event(complaint.id, seq, kind=kind, at=complaint.received_at + delay, **fields)
        )
    complaint = attrs.evolve(complaint, version=len(events), updated_at=events[-1].at)
    return Commit(complaint, 0, events, reference_prefix="CF")


def _step(trigger: str, source: str, dest: str, hours: float) -> tuple[str, timedelta, Any]:
    return (
        "transition",
        timedelta(hours=hours),
        {"trigger": trigger, "source": source, "dest": dest},
    )


def _all_milestones(
    store: ReportStore, rules: MilestoneRules = REPORT_RULES, limit: int = 1000, **window: Any
) -> list[ComplaintMilestones]:
    found: list[ComplaintMilestones] = []
    after = None
    while True:
        batch = store.report_milestones(rules, after=after, limit=limit, **window)
        if not batch:
            return found
        assert len(batch) <= limit
        found += batch
        after = batch[-1].cursor


def expected_milestones(
    store: ComplaintStore, complaint_id: str, rules: MilestoneRules = REPORT_RULES
) -> ComplaintMilestones:
    """What ``report_milestones`` must say of a complaint: the rules applied to its trail.

    The plain model of the report part: :func:`fold_history` over the complaint's
    latest version and its events as ``get`` and ``events`` return them, the
    repeats worked out from every stored complaint of its customer.
    """
    complaint = store.get(complaint_id)
    others = [
        other
        for other in store.find(customer_id=complaint.customer.id)
        if (other.received_at, other.id) < (complaint.received_at, complaint.id)
        and other.received_at >= complaint.received_at - rules.repeat_within
    ]
    return fold_history(
        complaint_facts(complaint, rules.data_keys),
        [event_facts(event) for event in store.events(complaint_id)],
        rules,
        bool(others),
        any(other.category == complaint.category for other in others),
    )


class _ComplaintsWithReports(ComplaintStore, ReportStore, Protocol):
    """What the report part's tests use: complaints to write, reports to read."""


_HISTORY_STEP = st.one_of(
    st.tuples(
        st.just("transition"),
        st.sampled_from(["answer", "decide", "close", "reopen", "note_down"]),
        st.sampled_from(["received", "working", "decided", "closed"]),
        st.sampled_from(["working", "decided", "closed", "received"]),
    ),
    st.tuples(st.just("escalated"), st.integers(min_value=1, max_value=4)),
    st.tuples(
        st.just("remedy_granted"),
        st.sampled_from(["refund", "repair", "goodwill_payment"]),
        st.sampled_from([None, "12.50", "0.01", "100"]),
    ),
    st.tuples(st.just("note")),
)
_REPORT_COMPLAINT = st.tuples(
    st.integers(min_value=0, max_value=40),  # received, hours after T0
    st.sampled_from(["customer-a", "customer-b", "customer-c"]),
    st.sampled_from(["billing", "delivery"]),
    st.sampled_from(["received", "working", "decided", "closed"]),
    st.booleans(),  # informal
    st.sampled_from([None, "upheld", "not_upheld"]),
    st.lists(_HISTORY_STEP, max_size=6),
)


class ReportStoreConformance(_StoreFixtures):
    """The rules of :class:`~complaint_flow.storage.contract.ReportStore` (rules 23-26).

    23. **Volumes.** ``report_volumes(boundaries, by=...)`` counts the complaints
        received in each period ``[boundaries[i], boundaries[i + 1])`` (as
        instants), by the values of the ``by`` columns; only combinations with
        complaints, ordered by period then values; naive, unordered or too few
        boundaries and unknown columns are refused.
    24. **Pages.** ``report_milestones`` returns the complaints received in the
        window (``received_after`` inclusive, ``received_before`` exclusive) in
        the order (``received_at`` as an instant, ``id``), at most ``limit`` a
        batch; passing the last one's ``cursor`` as ``after`` gives the next
        batch, so that paging visits each complaint exactly once.
    25. **Milestones** are what :func:`~complaint_flow.storage.milestones.fold_history`
        makes of the complaint's latest version and events (responses, resolution,
        reopenings, escalations, remedies, clocks, the asked data keys), and an
        informal complaint has no owner (blame-free).
    26. **Repeats.** A complaint repeats when its customer had another complaint
        received before it (ties broken by id) within ``repeat_within``; about the
        same category for ``repeat_category``. Any set of histories gives what the
        plain model :func:`expected_milestones` says (a hypothesis property test).
    """

    def test_is_a_report_store(self, store: _ComplaintsWithReports) -> None:
        assert isinstance(store, ReportStore), _lacking(store, ReportStore)

    def test_volumes_count_each_period_and_column(self, store: _ComplaintsWithReports) -> None:
        day = timedelta(days=1)
        bounds = [T0, T0 + day, T0 + 2 * day]
        cases = [
            (T0 - timedelta(microseconds=1), "billing", "email"),  # before the first period
            (T0, "billing", "email"),
            (T0.astimezone(_IST) + timedelta(hours=5), "billing", "phone"),
            (T0 + day - timedelta(microseconds=1), "delivery", "email"),
            (T0 + day, "billing", "email"),
            (T0 + 2 * day, "billing", "email"),  # the last boundary is excluded
        ]
        for received_at, category, channel in cases:
            store.commit(creation(received_at=received_at, category=category, channel=channel))
        assert store.report_volumes(bounds) == [VolumeCount(0, (), 3), VolumeCount(1, (), 1)]
        assert store.report_volumes(bounds, by=("category", "channel")) == [
            VolumeCount(0, ("billing", "email"), 1),
            VolumeCount(0, ("billing", "phone"), 1),
            VolumeCount(0, ("delivery", "email"), 1),
            VolumeCount(1, ("billing", "email"), 1),
        ]
        assert store.report_volumes(bounds, by=["channel"]) == [
            VolumeCount(0, ("email",), 2),
            VolumeCount(0, ("phone",), 1),
            VolumeCount(1, ("email",), 1),
        ]

    def test_volumes_refuse_what_cannot_be_counted(self, store: _ComplaintsWithReports) -> None:
        day = timedelta(days=1)
        for bounds, by in [
            ([T0], ()),
            ([T0, T0], ()),
            ([T0 + day, T0], ()),
            ([T0.replace(tzinfo=None), T0 + day], ()),
            ([T0, T0 + day], ("summary",)),
            ([T0, T0 + day], ("category", "category")),
        ]:
            with pytest.raises(InvalidArgumentError):
                store.report_volumes(bounds, by=by)

    def test_pages_visit_each_complaint_once_in_order(self, store: _ComplaintsWithReports) -> None:
        received = [T0, T0, T0.astimezone(_PST), T0 + timedelta(hours=1), T0 - timedelta(hours=1)]
        stored = [
            store.commit(creation(make_complaint(_id_sorting_before(n, 5), received_at=at)))
            for n, at in enumerate(received)
        ]
        wanted = [c.id for c in sorted(stored, key=lambda c: (c.received_at, c.id))]
        for limit in (1, 2, 3, 10):
            assert [m.complaint_id for m in _all_milestones(store, limit=limit)] == wanted
        window = _all_milestones(store, received_after=T0, received_before=T0 + timedelta(hours=1))
        assert [m.complaint_id for m in window] == wanted[1:4]
        assert store.report_milestones(REPORT_RULES, received_after=T0 + timedelta(days=1)) == []

    def test_pages_refuse_malformed_arguments(self, store: _ComplaintsWithReports) -> None:
        refused: list[dict[str, Any]] = [
            {"received_after": T0.replace(tzinfo=None)},
            {"received_after": T0, "received_before": T0 - timedelta(seconds=1)},
            {"after": ("x", "y")},
            {"limit": 0},
        ]
        for arguments in refused:
            with pytest.raises(InvalidArgumentError):
                store.report_milestones(REPORT_RULES, **arguments)
        with pytest.raises(InvalidArgumentError):
            store.report_milestones("rules")  # type: ignore[arg-type]

    def test_milestones_read_responses_resolutions_and_reopenings(
        self, store: _ComplaintsWithReports
    ) -> None:
        complaint = make_complaint(state="closed", data={"outcome": "upheld", "facts": "…"})
        steps = [
            _step("answer", "received", "working", 2),
            _step("answer", "working", "working", 3),
            _step("decide", "working", "decided", 30),
            _step("close", "decided", "closed", 31),
            _step("reopen", "closed", "working", 40),
            _step("decide", "working", "decided", 50),
            _step("close", "decided", "closed", 52),
        ]
        store.commit(history_creation(complaint, steps))
        (milestones,) = _all_milestones(store)
        hours = timedelta(hours=1)
        assert milestones.responded_at == T0 + 2 * hours
        assert (
            milestones.responses == 3
        )  # both answers and the decision, up to the first resolution
        assert milestones.first_resolved_at == T0 + 30 * hours
        assert milestones.resolved_at == T0 + 50 * hours  # the resolution that stands
        assert milestones.reopens == 1
        assert milestones.states == {"received", "working", "decided", "closed"}
        assert dict(milestones.data) == {"outcome": "upheld"}
        assert milestones == expected_milestones(store, complaint.id)

    def test_an_open_complaint_has_no_resolution(self, store: _ComplaintsWithReports) -> None:
        complaint = make_complaint(state="working")
        steps = [
            _step("decide", "received", "decided", 1),
            _step("reopen", "decided", "working", 2),
        ]
        store.commit(history_creation(complaint, steps))
        (milestones,) = _all_milestones(store)
        assert milestones.first_resolved_at == T0 + timedelta(hours=1)
        assert milestones.resolved_at is None
        assert milestones.reopens == 1
        assert milestones.responded_at == T0 + timedelta(hours=1)

    def test_milestones_read_escalations_remedies_clocks_and_owner(
        self, store: _ComplaintsWithReports
    ) -> None:
        manager = Actor(id="manager-1", name="Max", role="manager")
        complaint = make_complaint(
            state="working",
            owner=manager,
            department="billing",
            escalation_level=3,
            clocks=(_CLOCK,),
        )
        steps: list[tuple[str, timedelta, Any]] = [
            ("escalated", timedelta(hours=1), {"data": {"from_level": 1, "to_level": 2}}),
            ("escalated", timedelta(hours=2), {"data": {"from_level": 2, "to_level": 3}}),
            (
                "remedy_granted",
                timedelta(hours=3),
                {"data": {"kind": "refund", "amount": "12.50", "currency": "GBP"}},
            ),
            ("remedy_granted", timedelta(hours=4), {"data": {"kind": "repair", "amount": None}}),
            ("note", timedelta(hours=5), {"reason": "called back"}),
        ]
        store.commit(history_creation(complaint, steps))
        (milestones,) = _all_milestones(store)
        assert (milestones.escalation_level, milestones.escalations) == (3, 2)
        assert milestones.remedies == (
            RemedyRecord("refund", Decimal("12.50"), "GBP", T0 + timedelta(hours=3)),
            RemedyRecord("repair", None, None, T0 + timedelta(hours=4)),
        )
        assert milestones.clocks == (
            ClockRecord(
                "answer", "stopped", T0, T0 + timedelta(days=5), T0 + timedelta(days=1), True, 2
            ),
        )
        assert (milestones.owner_id, milestones.department) == ("manager-1", "billing")
        assert milestones == expected_milestones(store, complaint.id)

    def test_an_informal_complaint_is_attributed_to_nobody(
        self, store: _ComplaintsWithReports
    ) -> None:
        recorder = Actor(id="agent-7", name="Ann", role="agent")
        complaint = make_complaint(informal=True, recorded_by=recorder, owner=recorder)
        store.commit(history_creation(complaint, []))
        (milestones,) = _all_milestones(store)
        assert milestones.informal
        assert milestones.owner_id is None
        assert "agent-7" not in repr(milestones)

    def test_repeats_are_earlier_complaints_of_the_customer_within_the_window(
        self, store: _ComplaintsWithReports
    ) -> None:
        ada = Customer(id="ada", name="Ada")
        bob = Customer(id="bob", name="Bob")
        cases = [
            ("a1", ada, "billing", T0),
            ("a0", ada, "delivery", T0),  # the same instant: a0 comes first, by id
            ("b1", bob, "billing", T0 + timedelta(days=1)),
            ("a2", ada, "billing", T0 + timedelta(days=30)),  # a1 exactly 30 days before
            ("a3", ada, "billing", T0 + timedelta(days=61)),  # nothing within 30 days
        ]
        for complaint_id, customer, category, at in cases:
            store.commit(
                creation(
                    make_complaint(
                        complaint_id, customer=customer, category=category, received_at=at
                    )
                )
            )
        found = {
            m.complaint_id: (m.repeat_customer, m.repeat_category) for m in _all_milestones(store)
        }
        assert found == {
            "a0": (False, False),
            "a1": (True, False),
            "b1": (False, False),
            "a2": (True, True),
            "a3": (False, False),
        }

    @settings(
        max_examples=25,
        deadline=None,
        # The store is shared by the examples: each starts by purging what an earlier
        # one left. Each subclass runs the same method on its own store.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
            HealthCheck.too_slow,
        ],
    )
    @given(complaints=st.lists(_REPORT_COMPLAINT, max_size=8))
    def test_any_histories_give_what_the_model_says(
        self, store: _ComplaintsWithReports, complaints: list[tuple[Any, ...]]
    ) -> None:
        store.purge({left.id: left.version for left in store.find()})
        ids = []
        for hours, customer, category, state, informal, outcome, history in complaints:
            steps: list[tuple[str, timedelta, Any]] = []
            for n, step in enumerate(history, start=1):
                delay = timedelta(hours=n)
                if step[0] == "transition":
                    steps.append(_step(step[1], step[2], step[3], n))
                elif step[0] == "escalated":
                    steps.append(("escalated", delay, {"data": {"to_level": step[1]}}))
                elif step[0] == "remedy_granted":
                    steps.append(
                        ("remedy_granted", delay, {"data": {"kind": step[1], "amount": step[2]}})
                    )
                else:
                    steps.append(("note", delay, {}))
            complaint = make_complaint(
                customer=Customer(id=customer, name=customer),
                category=category,
                state=state,
                informal=informal,
                recorded_by=AGENT if informal else None,
                owner=AGENT,
                received_at=T0 + timedelta(hours=hours),
                data={"outcome": outcome} if outcome else None,
            )
            ids.append(store.commit(history_creation(complaint, steps)).id)
        found = _all_milestones(store, limit=3)
        wanted = sorted(
            (expected_milestones(store, complaint_id) for complaint_id in ids),
            key=lambda m: (m.received_at, m.complaint_id),
        )
        assert found == wanted


__all__ = [
    "AGENT",
    "AWKWARD_TEXT",
    "CUSTOMER",
    "REPORT_RULES",
    "T0",
    "ChannelStoreConformance",
    "ComplaintStoreConformance",
    "ConductStoreConformance",
    "OutboxStoreConformance",
    "ReportStoreConformance",
    "SatisfactionReadsConformance",
    "StoreConformance",
    "change",
    "commit_answer",
    "conduct_change",
    "conduct_creation",
    "creation",
    "expected_milestones",
    "history_creation",
    "make_complaint",
    "make_conduct_record",
    "make_event",
    "make_link",
    "make_message",
    "make_notice",
    "make_quarantined",
    "make_review_item",
    "redact",
]


# -- corrective actions (rules 23-27) ---------------------------------------------------


def make_action(
    key: str | None = None,
    *,
    version: int = 1,
    status: ActionStatus = ActionStatus.OPEN,
    due_at: datetime = T0 + timedelta(days=14),
    opened_at: datetime = T0,
    owner: Actor = AGENT,
    **fields: Any,
) -> CorrectiveAction:
    """A corrective action snapshot for store tests (a fresh random id unless given).

    Args:
        key: the action's key (its id is ``action:<key>``); a random one by default.
        version: the snapshot's version (a creation's equals its number of events).
        fields: any other :class:`~complaint_flow.model.actions.CorrectiveAction`
            field (``categories``, ``check_due_at``…).
    """
    return CorrectiveAction(
        id=action_id(key or uuid.uuid4().hex[:12]),
        kind=fields.pop("kind", ActionKind.PROCEDURE),
        title=fields.pop("title", "Rewrite the refund procedure"),
        owner=owner,
        due_at=due_at,
        status=status,
        version=version,
        opened_at=opened_at,
        updated_at=fields.pop("updated_at", opened_at),
        opened_by=fields.pop("opened_by", AGENT.id),
        **fields,
    )


def make_action_message(
    action: CorrectiveAction, event_seq: int, *, key: str | None = None, **fields: Any
) -> OutboxMessage:
    """A message about ``action`` to its owner (its id as ``complaint_id``)."""
    fields.setdefault("topic", "actions.overdue")
    fields.setdefault("recipient", "owner")
    fields.setdefault("address", action.owner.email)
    return make_message(action.id, event_seq, key=key, **fields)


def action_creation(
    action: CorrectiveAction | None = None,
    *,
    events: int = 1,
    outbox: Sequence[OutboxMessage] = (),
    **fields: Any,
) -> ActionCommit:
    """A commit creating ``action`` (or ``make_action(**fields)``) with ``events`` events."""
    action = action or make_action(**fields)
    action = attrs.evolve(action, version=events)
    recorded = [
        make_event(action.id, seq, kind="opened" if seq == 1 else "linked", at=action.updated_at)
        for seq in range(1, events + 1)
    ]
    return ActionCommit(action, 0, recorded, outbox)


def action_change(
    current: CorrectiveAction,
    *,
    expected_version: int | None = None,
    events: int = 1,
    at: datetime | None = None,
    outbox: Sequence[OutboxMessage] = (),
    event_data: Mapping[str, Any] | None = None,
    **changes: Any,
) -> ActionCommit:
    """A commit moving the action ``current`` on by ``events`` events (as :func:`change`)."""
    expected = current.version if expected_version is None else expected_version
    when = at or current.updated_at + timedelta(minutes=1)
    updated = attrs.evolve(current, version=expected + events, updated_at=when, **changes)
    recorded = [
        make_event(current.id, expected + n, kind="assigned", at=when, data=event_data)
        for n in range(1, events + 1)
    ]
    return ActionCommit(updated, expected, recorded, outbox)


class _ActionsWithComplaints(ActionStore, ComplaintStore, OutboxStore, Protocol):
    """What the action rules use: messages through the outbox, complaints to count."""


def _action_snapshot(store: _ActionsWithComplaints, action: CorrectiveAction) -> tuple[Any, ...]:
    return (
        store.action_get(action.id),
        store.action_events(action.id),
        store.outbox(action.id),
        store.action_find(),
    )


_A_CHECK = EffectCheck(
    verdict=Verdict.INCONCLUSIVE,
    categories=("delivery", AWKWARD_TEXT),
    before_start=datetime(2025, 12, 8, 9, 0, tzinfo=_IST),
    done_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    after_end=datetime(2026, 5, 25, 1, 0, tzinfo=_PST),
    before_counts=(4, 0, 7),
    after_counts=(2, 3, 1),
    before_exposure=12.0,
    after_exposure=11.5,
    exposure_unit="orders",
    rate_ratio=0.5217391304347826,
    low=0.1,
    high=None,
    p_value=0.0712,
    method="exact",
    summary="inconclusive: " + AWKWARD_TEXT,
    checked_at=datetime(2026, 5, 25, 9, 0, 0, 123456, tzinfo=UTC),
)


class ActionStoreConformance(_StoreFixtures):
    """The rules of :class:`~complaint_flow.storage.contract.ActionStore` (23-27).

    An action's messages are read back through the store's outbox part, and its
    effect is judged on complaints the complaint part stores: the store must have
    the three parts.
    """

    def test_is_an_action_store(self, store: _ActionsWithComplaints) -> None:
        assert isinstance(store, ActionStore), _lacking(store, ActionStore)
        assert isinstance(store, OutboxStore), "messages are read through the outbox"
        assert store.action_find() == []

    # -- 23. round trips ----------------------------------------------------------------

    def test_action_round_trip_keeps_every_field(self, store: _ActionsWithComplaints) -> None:
        owner = Actor(
            id="owner-7", name="Zoë O'Brien", role="manager", rank=3, phone="+44 7700 900001"
        )
        action = make_action(
            "round-trip",
            status=ActionStatus.CHECKED,
            kind=ActionKind.CUSTOMER_FOCUS,
            title="Say what the refund covers " + AWKWARD_TEXT,
            owner=owner,
            due_at=datetime(2026, 3, 20, 17, 0, tzinfo=_IST),
            opened_at=datetime(2026, 3, 1, 8, 0, 0, 1, tzinfo=_PST),
            updated_at=datetime(2026, 5, 25, 9, 0, tzinfo=UTC),
            opened_by="agent-9",
            description=AWKWARD_TEXT,
            complaints=("c-1", "c-2"),
            categories=("delivery", AWKWARD_TEXT),
            check_days=84,
            started_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            done_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            check_due_at=None,
            check=_A_CHECK,
            confirmed_by=None,
            overdue_warned=True,
        )
        messages = [make_action_message(action, 2, payload={"title": AWKWARD_TEXT})]
        commit = action_creation(action, events=2, outbox=messages)
        stored = store.action_commit(commit)
        wanted = attrs.evolve(action, version=2, audit_head=commit.events[-1].hash)
        assert stored == wanted
        got = store.action_get(action.id)
        assert got == wanted
        assert got is not None
        assert type(got.kind) is ActionKind
        assert type(got.status) is ActionStatus
        assert got.check is not None
        assert type(got.check.verdict) is Verdict
        for value in (
            got.complaints,
            got.categories,
            got.check.categories,
            got.check.before_counts,
            got.check.after_counts,
        ):
            assert type(value) is tuple, f"{value!r} came back as {type(value).__name__}"
        assert got.check.high is None
        for moment, wanted_moment in [
            (got.due_at, action.due_at),
            (got.opened_at, action.opened_at),
            (got.updated_at, action.updated_at),
            (got.started_at, action.started_at),
            (got.done_at, action.done_at),
            (got.check_due_at, None),
            (got.check.before_start, _A_CHECK.before_start),
            (got.check.after_end, _A_CHECK.after_end),
            (got.check.checked_at, _A_CHECK.checked_at),
        ]:
            _assert_aware_and_equal(moment, wanted_moment)
        assert store.action_events(action.id) == list(commit.events)
        assert store.outbox(action.id) == messages

    def test_action_update_round_trip(self, store: _ActionsWithComplaints) -> None:
        created = store.action_commit(action_creation())
        commit = action_change(
            created,
            events=2,
            status=ActionStatus.DONE,
            done_at=T0,
            check_due_at=T0 + timedelta(days=84),
            categories=("delivery",),
            event_data={"check_due_at": "x"},
            outbox=[make_action_message(created, 3)],
        )
        stored = store.action_commit(commit)
        assert stored == commit.action
        assert store.action_get(created.id) == commit.action
        assert store.action_events(created.id)[1:] == list(commit.events)
        assert store.outbox(created.id) == list(commit.outbox)
        # The snapshot returned earlier is unchanged.
        assert created.version == 1
        assert created.status is ActionStatus.OPEN

    def test_unknown_action_is_none_and_has_no_events(self, store: _ActionsWithComplaints) -> None:
        store.action_commit(action_creation())
        assert store.action_get(action_id("nobody")) is None
        assert store.action_events(action_id("nobody")) == []
        assert store.outbox(action_id("nobody")) == []

    def test_action_messages_share_the_outbox_with_complaint_messages(
        self, store: _ActionsWithComplaints
    ) -> None:
        complaint = store.commit(creation())
        action = store.action_commit(action_creation())
        m1 = make_message(complaint.id, 2)
        a1 = make_action_message(action, 2)
        complaint = store.commit(change(complaint, outbox=[m1]))
        action = store.action_commit(action_change(action, outbox=[a1]))
        assert store.outbox_pending(10) == [m1, a1]
        assert store.outbox_claim(T0, 10, timedelta(minutes=5), "a") == [m1, a1]
        delivered = attrs.evolve(a1, status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0)
        assert store.outbox_update(delivered)
        assert store.outbox(action.id) == [delivered]
        assert store.outbox_find(status=OutboxStatus.DELIVERED) == [delivered]

    # -- 24. optimistic concurrency ---------------------------------------------------------

    @pytest.mark.parametrize("offset", [-1, 1])
    def test_stale_action_commit_raises_and_writes_nothing(
        self, store: _ActionsWithComplaints, offset: int
    ) -> None:
        created = store.action_commit(action_creation())
        current = store.action_commit(
            action_change(created, outbox=[make_action_message(created, 2)])
        )
        before = _action_snapshot(store, current)
        stale = action_change(
            current,
            expected_version=current.version + offset,
            status=ActionStatus.DONE,
            due_at=T0 - timedelta(days=30),
            check_due_at=T0,
            outbox=[make_action_message(current, current.version + offset + 1)],
        )
        with pytest.raises(ConcurrencyError) as raised:
            store.action_commit(stale)
        assert raised.value.expected_version == current.version + offset
        assert _action_snapshot(store, current) == before
        assert store.outbox_pending(10) == before[2]
        assert store.action_find(statuses=[ActionStatus.DONE]) == []
        assert store.action_find(check_due_before=T0 + timedelta(days=365)) == []
        assert store.action_find(due_before=T0) == []

    def test_action_creation_twice_or_change_of_nothing_raises(
        self, store: _ActionsWithComplaints
    ) -> None:
        created = store.action_commit(action_creation())
        before = _action_snapshot(store, created)
        with pytest.raises(ConcurrencyError):
            store.action_commit(action_creation(make_action(created.id, title="Another")))
        assert _action_snapshot(store, created) == before
        ghost = make_action("ghost", version=3)
        with pytest.raises(ConcurrencyError):
            store.action_commit(action_change(ghost))
        assert store.action_get(ghost.id) is None
        assert store.action_events(ghost.id) == []

    def test_action_message_with_a_stored_key_raises_and_writes_nothing(
        self, store: _ActionsWithComplaints
    ) -> None:
        complaint = store.commit(creation(outbox=[]))
        store.commit(change(complaint, outbox=[make_message(complaint.id, 2, key="key-1")]))
        created = store.action_commit(action_creation())
        before = _action_snapshot(store, created)
        with pytest.raises(StoreError):
            store.action_commit(
                action_change(
                    created,
                    status=ActionStatus.IN_PROGRESS,
                    outbox=[make_action_message(created, 2, key="key-1")],
                )
            )
        assert _action_snapshot(store, created) == before

    def test_concurrent_action_commits_lose_no_update(self, store: _ActionsWithComplaints) -> None:
        threads, attempts = 4, 10
        created = store.action_commit(action_creation())
        successes = [0]
        unexpected: list[BaseException] = []
        tally = threading.Lock()
        start = threading.Barrier(threads)

        def work(worker: int) -> None:
            start.wait()
            for _ in range(attempts):
                try:
                    current = store.action_get(created.id)
                    assert current is not None
                    store.action_commit(action_change(current, event_data={"w": worker}))
                except ConcurrencyError:
                    pass
                except BaseException as exc:
                    unexpected.append(exc)
                else:
                    with tally:
                        successes[0] += 1

        _run_threads(work, threads)
        assert unexpected == []
        action = store.action_get(created.id)
        assert action is not None
        events = store.action_events(created.id)
        assert action.version == 1 + successes[0] == len(events)
        assert verify_events(action.id, events, head=action.audit_head) == []

    # -- 25. finding -----------------------------------------------------------------------

    def test_action_find_filters_and_orders_by_due_time_then_id(
        self, store: _ActionsWithComplaints
    ) -> None:
        other = Actor(id="owner-2", name="Bo", role="manager", email="bo@example.org")
        first_due = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
        same_instant = datetime(2026, 3, 10, 14, 30, tzinfo=_IST)  # 09:00 UTC: a tie
        later = datetime(2026, 3, 10, 2, 0, tzinfo=_PST)  # 10:00 UTC
        specs = [
            ("b", first_due, ActionStatus.OPEN, AGENT, None),
            ("a", same_instant, ActionStatus.IN_PROGRESS, other, None),
            ("c", later, ActionStatus.DONE, AGENT, datetime(2026, 6, 1, tzinfo=UTC)),
            ("d", T0, ActionStatus.DONE, other, datetime(2026, 5, 1, 12, 0, tzinfo=_IST)),
            ("e", T0 + timedelta(days=1), ActionStatus.CONFIRMED, AGENT, None),
        ]
        tag = uuid.uuid4().hex[:6]
        stored = {
            name: store.action_commit(
                action_creation(
                    make_action(
                        f"{name}-{tag}",
                        due_at=due,
                        status=status,
                        owner=owner,
                        check_due_at=check_due,
                    )
                )
            )
            for name, due, status, owner, check_due in specs
        }

        def named(*names: str) -> list[CorrectiveAction]:
            return [stored[name] for name in names]

        assert store.action_find() == named("d", "e", "a", "b", "c")
        assert store.action_find(limit=2) == named("d", "e")
        assert store.action_find(limit=0) == []
        unfinished = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
        assert store.action_find(statuses=unfinished) == named("a", "b")
        assert store.action_find(statuses=[]) == []
        assert store.action_find(statuses=unfinished, due_before=first_due) == named("a", "b")
        assert store.action_find(statuses=unfinished, due_before=first_due - _MICRO) == []
        assert store.action_find(due_before=T0) == named("d")
        assert store.action_find(owner_id="owner-2") == named("d", "a")
        assert store.action_find(owner_id="owner-2", statuses=unfinished) == named("a")
        assert store.action_find(check_due_before=datetime(2026, 5, 1, 6, 30, tzinfo=UTC)) == (
            named("d")
        )
        assert store.action_find(check_due_before=datetime(2027, 1, 1, tzinfo=UTC)) == named(
            "d", "c"
        )
        assert (
            store.action_find(
                check_due_before=datetime(2027, 1, 1, tzinfo=UTC), statuses=[ActionStatus.OPEN]
            )
            == []
        )

    def test_action_find_follows_the_latest_version(self, store: _ActionsWithComplaints) -> None:
        created = store.action_commit(action_creation(due_at=T0 + timedelta(days=1)))
        moved = store.action_commit(
            action_change(
                created,
                status=ActionStatus.DONE,
                due_at=T0 + timedelta(days=30),
                check_due_at=T0 + timedelta(days=90),
            )
        )
        assert store.action_find(statuses=[ActionStatus.OPEN]) == []
        assert store.action_find(due_before=T0 + timedelta(days=2)) == []
        assert store.action_find(check_due_before=T0 + timedelta(days=90)) == [moved]
        checked = store.action_commit(
            action_change(moved, status=ActionStatus.CHECKED, check_due_at=None)
        )
        assert store.action_find(check_due_before=T0 + timedelta(days=365)) == []
        assert store.action_find(statuses=[ActionStatus.CHECKED]) == [checked]

    def test_action_arguments_are_checked(self, store: _ActionsWithComplaints) -> None:
        with pytest.raises(InvalidArgumentError):
            store.action_find(statuses="open")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            store.action_find(due_before=datetime(2026, 3, 2, 9, 0))  # naive
        with pytest.raises(InvalidArgumentError):
            store.action_find(limit=-1)
        with pytest.raises(InvalidArgumentError):
            store.action_commit("not a commit")  # type: ignore[arg-type]

    # -- 26. complaint counts ------------------------------------------------------------

    def test_complaint_counts_count_each_period_by_instant(
        self, store: _ActionsWithComplaints
    ) -> None:
        category = f"cat-{uuid.uuid4().hex[:6]}"
        other = f"other-{uuid.uuid4().hex[:6]}"
        week = timedelta(weeks=1)
        moments = [
            (category, T0 - week),  # the first bound itself: counted in the first period
            (category, T0 - week + timedelta(days=3, hours=5)),
            (category, datetime(2026, 3, 2, 14, 29, 59, 999999, tzinfo=_IST)),  # 08:59:59.999999
            (category, datetime(2026, 3, 2, 14, 30, tzinfo=_IST)),  # T0: the second period
            (other, T0 + timedelta(days=2)),
            (category, T0 + timedelta(days=6)),
            (category, T0 + week),  # the last bound: outside
            (category, T0 - week - _MICRO),  # before the first bound: outside
        ]
        for name, at in moments:
            store.commit(creation(category=name, received_at=at))
        bounds = [T0 - week, T0, T0 + week]
        assert store.complaint_counts([category], bounds) == [3, 2]
        assert store.complaint_counts([category, other], bounds) == [3, 3]
        assert store.complaint_counts([other], bounds) == [0, 1]
        assert store.complaint_counts(["nothing-here"], bounds) == [0, 0]
        daily = [T0 + timedelta(days=n) for n in range(8)]
        assert store.complaint_counts([category, other], daily) == [1, 0, 1, 0, 0, 0, 1]
        # The latest version's category counts.
        moved = store.commit(creation(category=other, received_at=T0))
        store.commit(change(moved, category=category))
        assert store.complaint_counts([category], bounds) == [3, 3]
        assert store.complaint_counts([other], bounds) == [0, 1]

    def test_complaint_counts_take_many_periods(self, store: _ActionsWithComplaints) -> None:
        category = f"cat-{uuid.uuid4().hex[:6]}"
        hours = [T0 + timedelta(hours=n) for n in range(0, 700, 7)]
        for at in hours:
            store.commit(creation(category=category, received_at=at))
        bounds = [T0 + timedelta(hours=n) for n in range(701)]
        counts = store.complaint_counts([category], bounds)
        assert len(counts) == 700
        assert counts == [1 if n % 7 == 0 else 0 for n in range(700)]

    def test_complaint_count_arguments_are_checked(self, store: _ActionsWithComplaints) -> None:
        bounds = [T0, T0 + timedelta(days=7)]
        for categories, wrong in [
            ("delivery", bounds),
            ([], bounds),
            (["delivery"], [T0]),
            (["delivery"], [T0, T0]),
            (["delivery"], [T0 + timedelta(days=1), T0]),
            (["delivery"], [datetime(2026, 3, 2, 9, 0), T0 + timedelta(days=1)]),
            (["delivery"], "2026-03-02"),
        ]:
            with pytest.raises(InvalidArgumentError):
                store.complaint_counts(categories, wrong)  # type: ignore[arg-type]

    # -- 27. audit chain, closed and reopened ------------------------------------------------

    def test_action_events_carry_the_chain_and_the_head(
        self, store: _ActionsWithComplaints
    ) -> None:
        first = action_creation(events=2)
        current = store.action_commit(first)
        then = action_change(current, events=3, event_data={"x": 1})
        current = store.action_commit(then)
        events = store.action_events(current.id)
        assert [e.hash for e in events] == [e.hash for e in (*first.events, *then.events)]
        assert all(e.hash for e in events)
        got = store.action_get(current.id)
        assert got is not None
        assert got.audit_head == events[-1].hash == current.audit_head
        assert verify_events(current.id, events, head=got.audit_head, version=got.version) == []

    def test_a_closed_store_refuses_action_commits(self, store: _ActionsWithComplaints) -> None:
        action = store.action_commit(action_creation())
        store.close()
        with pytest.raises(StoreError):
            store.action_commit(action_change(action))

    def test_reopened_store_keeps_actions(
        self,
        store: _ActionsWithComplaints,
        reopen: Callable[[_ActionsWithComplaints], _ActionsWithComplaints] | None,
    ) -> None:
        if reopen is None:
            pytest.skip("this store keeps nothing across reopening (no `reopen` fixture)")
        action = make_action(check=_A_CHECK, categories=("delivery",), complaints=("c-1",))
        current = store.action_commit(
            action_creation(action, outbox=[make_action_message(action, 1)])
        )
        current = store.action_commit(
            action_change(current, status=ActionStatus.DONE, check_due_at=T0 + timedelta(days=84))
        )
        other = store.action_commit(action_creation(due_at=T0 + timedelta(days=3)))
        store.commit(creation(category="delivery", received_at=T0))

        def snapshot(target: _ActionsWithComplaints) -> dict[str, Any]:
            return {
                "actions": [target.action_get(a.id) for a in (current, other)],
                "events": [target.action_events(a.id) for a in (current, other)],
                "messages": target.outbox(current.id),
                "all": target.action_find(),
                "checks": target.action_find(check_due_before=T0 + timedelta(days=365)),
                "due": target.action_find(due_before=T0 + timedelta(days=3)),
                "counts": target.complaint_counts(["delivery"], [T0, T0 + timedelta(days=1)]),
            }

        before = snapshot(store)
        reopened = reopen(store)
        try:
            assert snapshot(reopened) == before
            with pytest.raises(ConcurrencyError):
                reopened.action_commit(action_change(current, expected_version=1))
            with pytest.raises(ConcurrencyError):
                reopened.action_commit(action_creation(make_action(other.id)))
            moved = reopened.action_commit(action_change(current))
            assert moved.version == 3
            events = reopened.action_events(current.id)
            assert verify_events(current.id, events, head=moved.audit_head, version=3) == []
        finally:
            reopened.close()


_MICRO = timedelta(microseconds=1)


__all__ += [
    "ActionStoreConformance",
    "action_change",
    "action_creation",
    "make_action",
    "make_action_message",
]
