"""Restrictions enforced where messages come in: open, answer a duplicate, file or link.

:meth:`Engine.accept <complaint_flow.Engine.accept>` decides what becomes of an
inbound message:

- ``duplicate``: the same ``(channel, external_id)`` was delivered before; it gets
  the same answer as the first time (the stored complaint, or the filed item).
- ``linked``: it re-raises a matter with a final decision (``Intake.data["regarding"]``
  or its summary/details quote the decided complaint's reference): a
  ``contact_linked`` event on the decided complaint, a review item on the
  customer's conduct record, an acknowledgement citing the final decision.
- ``filed``: the customer's restrictions say this contact is outside them (not
  addressed to the single point of contact, ``Intake.data["to"]``; not written;
  over the contact limit; re-raising a matter they may not reopen). Nothing is
  dropped: the whole message is kept on the record's review queue with a
  ``contact_filed`` event, and acknowledged when the restriction says so.
- ``opened``: everything else becomes a complaint, as always.

A restriction whose review date has passed, or a record that is not restricting
(normal, warned, lapsed), never blocks a message.
"""

from __future__ import annotations

import enum
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    ContactFiledError,
    DuplicateIntakeError,
)
from complaint_flow.model import channels
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    ConductStatus,
    RestrictionKind,
    ReviewItem,
    ReviewReason,
)
from complaint_flow.model.entities import (
    SYSTEM,
    Actor,
    Complaint,
    Customer,
    Event,
    Intake,
    OutboxMessage,
)
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.services import conduct_notices as notices
from complaint_flow.storage.contract import Commit, ConductCommit

if TYPE_CHECKING:
    from complaint_flow.engine import Engine
    from complaint_flow.kernel.draft import Draft

logger = logging.getLogger("complaint_flow.conduct")

RETRIES = 5
"""Attempts at a version-checked conduct commit before giving up (ConcurrencyError)."""

KEEP_CONTACT_KEYS = 500
"""How many ``channel:external_id`` keys of filed messages a record keeps (redeliveries)."""

CONTACT_HISTORY_DAYS = 366
"""Contacts older than this are dropped from ``recent_contacts`` (no limit looks further)."""

TO_KEY = "to"
"""``Intake.data["to"]``: the officer id or inbox address a message was addressed to."""

REGARDING_KEY = "regarding"
"""``Intake.data["regarding"]``: the reference of the complaint a message is about."""


class OutcomeKind(enum.StrEnum):
    """What became of an inbound message."""

    OPENED = "opened"
    DUPLICATE = "duplicate"
    FILED = "filed"
    LINKED = "linked"


@attrs.frozen
class IntakeOutcome:
    """What :meth:`Engine.accept` did with one inbound message.

    ``kind`` is ``opened`` (a new complaint), ``duplicate`` (a redelivery: the
    first answer again), ``filed`` (kept on the customer's review queue because a
    restriction applies) or ``linked`` (it re-raises a finally decided complaint).
    ``complaint`` is the complaint opened or found, or for ``linked`` the decided
    complaint; ``item`` the review item the message was filed as. ``reasons`` say
    why it was filed or linked; ``guidance`` is for the member of staff handling
    the contact (e.g. the call time limit).
    """

    kind: OutcomeKind
    complaint: Complaint | None = None
    item: ReviewItem | None = None
    acknowledged: bool = False
    reasons: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()

    @property
    def opened(self) -> bool:
        """Whether a complaint was opened (or found, for a duplicate of one)."""
        return self.kind in (OutcomeKind.OPENED, OutcomeKind.DUPLICATE) and (
            self.complaint is not None and self.item is None
        )

    def message(self) -> str:
        """One sentence for :class:`ContactFiledError` and logs."""
        if self.kind is OutcomeKind.LINKED and self.complaint is not None:
            return (
                f"the message re-raises {self.complaint.reference}, which has a final "
                f"decision: it was linked to it and filed for review as item "
                f"{self.item.id if self.item else '?'}, not opened as a new complaint"
            )
        why = "; ".join(self.reasons) or "a restriction applies"
        where = f" as item {self.item.id}" if self.item else ""
        return (
            f"the message was kept and filed for review{where} instead of opening a "
            f"complaint: {why}"
        )


@attrs.frozen
class _Verdict:
    """What the customer's restrictions say about one message."""

    reasons: tuple[str, ...] = ()
    kinds: tuple[RestrictionKind, ...] = ()
    acknowledge: bool = False
    guidance: tuple[str, ...] = ()
    regarding: str | None = None


# -- reading the record ----------------------------------------------------------


def in_force(record: ConductRecord | None, now: datetime) -> bool:
    """Whether ``record`` restricts contact at ``now``.

    Only a restricting status counts, and only until the review date: a
    restriction whose review date has come no longer blocks anything, even before
    the sweep records the lapse.
    """
    if record is None or not record.restricted:
        return False
    return record.review_at is None or record.review_at > now


def written_channels(engine: Engine) -> frozenset[str]:
    """The channels that count as writing for this engine's conduct policy."""
    return channels.written_channels(
        engine.conduct.policy.written_channels, engine.registry.channels
    )


def adjusted_channels(adjustments: Iterable[Adjustment]) -> frozenset[str]:
    """The channels reasonable adjustments allow whatever a restriction says."""
    return frozenset(channel for adjustment in adjustments for channel in adjustment.channels)


def contact_key(intake: Intake) -> str | None:
    """``channel:external_id`` of a message, or None when it has no external id."""
    return f"{intake.channel}:{intake.external_id}" if intake.external_id else None


def quoted_references(engine: Engine, intake: Intake) -> list[str]:
    """The complaint references a message names: ``data["regarding"]``, then those quoted."""
    found: list[str] = []
    regarding = intake.data.get(REGARDING_KEY)
    if isinstance(regarding, str) and regarding.strip():
        found.append(regarding.strip())
    marker = engine.reference_prefix + "-"
    text = f"{intake.summary}\n{intake.details}"
    if marker in text:
        pattern = _reference_pattern(engine.reference_prefix)
        for reference in pattern.findall(text):
            if reference not in found:
                found.append(reference)
    return found


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _reference_pattern(prefix: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(prefix)
    if pattern is None:
        pattern = re.compile(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{6}}\b")
        _PATTERNS[prefix] = pattern
    return pattern


def might_regard_a_matter(engine: Engine, intake: Intake) -> bool:
    """Cheap test: could this message name a complaint (so it needs the slow checks)?"""
    if REGARDING_KEY in intake.data:
        return True
    marker = engine.reference_prefix + "-"
    return marker in intake.summary or marker in intake.details


def decided_matter(engine: Engine, intake: Intake) -> Complaint | None:
    """The finally decided complaint of the same customer this message re-raises, if any."""
    for reference in quoted_references(engine, intake):
        try:
            complaint = engine.get(reference)
        except ComplaintNotFoundError:
            continue
        if complaint.customer.id == intake.customer.id and "final_decision" in complaint.data:
            return complaint
    return None


def judge(engine: Engine, intake: Intake, record: ConductRecord | None, now: datetime) -> _Verdict:
    """What the record's restrictions in force say about ``intake`` (no I/O but reads)."""
    if record is None or not in_force(record, now):
        return _Verdict()
    reasons: list[str] = []
    kinds: list[RestrictionKind] = []
    acknowledge = False
    guidance: list[str] = []
    regarding: str | None = None
    for restriction in record.restrictions:
        kind = restriction.kind
        why: str | None = None
        if kind is RestrictionKind.SINGLE_POINT_OF_CONTACT:
            to = intake.data.get(TO_KEY)
            contact = (restriction.contact or "").strip().lower()
            if not isinstance(to, str) or to.strip().lower() != contact:
                why = (
                    f"contact goes through {restriction.contact_name or restriction.contact} "
                    f"({restriction.contact}) only; this message was addressed to "
                    f"{to if isinstance(to, str) and to else 'nobody in particular'}"
                )
            guidance.append(
                f"pass this customer's contact to {restriction.contact_name or restriction.contact}"
            )
        elif kind is RestrictionKind.WRITTEN_ONLY:
            written = written_channels(engine)
            allowed = adjusted_channels(record.adjustments)
            if intake.channel not in written and intake.channel not in allowed:
                why = (
                    f"contact is in writing only ({', '.join(sorted(written))}); this came "
                    f"by {intake.channel}"
                )
        elif kind is RestrictionKind.CONTACT_LIMIT:
            limit = restriction.max_contacts or 0
            days = restriction.period_days or 0
            since = now - timedelta(days=days)
            count = sum(1 for at in record.recent_contacts if at > since)
            if count >= limit:
                why = f"at most {limit} contact(s) in {days} days; {count} already in the period"
        elif kind is RestrictionKind.NO_REOPENING:
            named = quoted_references(engine, intake) if restriction.matters else []
            matter = next((ref for ref in named if ref in restriction.matters), None)
            if matter is not None:
                regarding = matter
                why = f"no new complaints about {matter}, which is decided"
        elif kind is RestrictionKind.CALL_TIME_LIMIT:
            guidance.append(f"keep calls to {restriction.call_minutes} minutes")
        if why is not None:
            reasons.append(why)
            kinds.append(kind)
            acknowledge = acknowledge or restriction.acknowledge
    return _Verdict(tuple(reasons), tuple(kinds), acknowledge, tuple(guidance), regarding)


def counts_contacts(record: ConductRecord | None, now: datetime) -> bool:
    """Whether contacts must be counted on the record (a contact limit in force)."""
    return (
        in_force(record, now)
        and record is not None
        and any(r.kind is RestrictionKind.CONTACT_LIMIT for r in record.restrictions)
    )


# -- writing the record ------------------------------------------------------------


def new_record(customer: Customer, now: datetime) -> ConductRecord:
    """A record for a customer who has none yet (version 0: not stored)."""
    return ConductRecord(
        customer_id=customer.id,
        customer=customer,
        status=ConductStatus.NORMAL,
        version=0,
        updated_at=now,
    )


class RecordDraft:
    """The next version of a conduct record, built event by event, then committed."""

    def __init__(self, record: ConductRecord, now: datetime) -> None:
        self.base = record
        self.record = record
        self.now = now
        self.events: list[Event] = []
        self.outbox: list[OutboxMessage] = []

    def record_event(
        self,
        kind: str,
        actor: Actor,
        *,
        reason: str = "",
        data: dict[str, Any] | None = None,
        change: dict[str, Any] | None = None,
    ) -> Event:
        """Add an event (and what it changes) to the draft."""
        seq = self.base.version + len(self.events) + 1
        event = Event.build(
            self.record.id,
            seq,
            kind,
            self.now,
            actor,
            None,
            None,
            None,
            reason,
            freeze_mapping(data or {}),
        )
        self.events.append(event)
        self.record = self.record.evolve(version=seq, updated_at=self.now, **(change or {}))
        return event

    def notify_customer(
        self, event: Event, topic: str, channel: str, address: str | None, payload: dict[str, Any]
    ) -> OutboxMessage:
        """Add a message to the customer about ``event`` (a conduct notice)."""
        message = OutboxMessage.pending(
            f"{self.record.id}:{event.seq}:customer",
            self.record.id,
            event.seq,
            f"conduct.{topic}",
            "customer",
            channel,
            address,
            self.now,
            freeze_mapping({"name": self.record.customer.name, **payload}),
        )
        self.outbox.append(message)
        return message

    def notify(
        self,
        event: Event,
        topic: str,
        recipient: str,
        channel: str,
        address: str | None,
        payload: dict[str, Any],
    ) -> OutboxMessage:
        """Add a message to someone other than the customer about ``event``."""
        message = OutboxMessage.pending(
            f"{self.record.id}:{event.seq}:{recipient}",
            self.record.id,
            event.seq,
            f"conduct.{topic}",
            recipient,
            channel,
            address,
            self.now,
            freeze_mapping(payload),
        )
        self.outbox.append(message)
        return message

    def commit(self, engine: Engine) -> ConductRecord:
        """Write the draft if the record has not moved on (else ConcurrencyError)."""
        return engine.store.conduct_commit(
            ConductCommit(self.record, self.base.version, tuple(self.events), tuple(self.outbox))
        )


def with_contact(record: ConductRecord, now: datetime, key: str | None) -> dict[str, Any]:
    """The changes that count one more contact (and remember its key) on ``record``."""
    since = now - timedelta(days=CONTACT_HISTORY_DAYS)
    changes: dict[str, Any] = {
        "recent_contacts": (*(at for at in record.recent_contacts if at > since), now)
    }
    if key is not None and key not in record.contact_keys:
        changes["contact_keys"] = (*record.contact_keys, key)[-KEEP_CONTACT_KEYS:]
    return changes


def written_reply(engine: Engine, customer: Customer) -> tuple[str, str] | None:
    """A written channel and the customer's address on it (as for notices), or None."""
    route = notices.notice_route(customer, written_channels(engine))
    return (route.channel, route.address) if route.address else None


def commit_with_retry(
    engine: Engine, customer: Customer, build: Callable[[RecordDraft], object]
) -> tuple[ConductRecord, object]:
    """Read the record, let ``build`` fill a draft, commit; re-read and redo on a conflict.

    ``build`` returns what the caller wants back, or the draft's events stay empty
    (nothing to write: the stored record is returned).
    """
    for attempt in range(RETRIES):
        now = engine.clock()
        record = engine.store.conduct_get(customer.id) or new_record(customer, now)
        draft = RecordDraft(record, now)
        result = build(draft)
        if not draft.events:
            return record, result
        try:
            return draft.commit(engine), result
        except ConcurrencyError:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# -- accepting one message -----------------------------------------------------------


def redelivered(engine: Engine, record: ConductRecord, key: str | None) -> IntakeOutcome | None:
    """The answer to a filed message delivered again (its key is on the record)."""
    if key is None or key not in record.contact_keys:
        return None
    channel, _, external_id = key.partition(":")
    item = next(
        (i for i in record.review_queue if i.channel == channel and i.external_id == external_id),
        None,
    )
    kind = (
        OutcomeKind.LINKED
        if item is not None and item.reason is ReviewReason.DECIDED_MATTER
        else OutcomeKind.FILED
    )
    decided: Complaint | None = None
    if kind is OutcomeKind.LINKED and item is not None and item.regarding:
        try:
            decided = engine.get(item.regarding)
        except ComplaintNotFoundError:
            decided = None
    why = (item.why,) if item is not None and item.why else ()
    return IntakeOutcome(
        kind,
        complaint=decided,
        item=item,
        acknowledged=item.acknowledged if item is not None else False,
        reasons=(*why, "this message was delivered before and is already filed"),
    )


def accept(engine: Engine, intake: Intake, workflow: str | None) -> IntakeOutcome:
    """Open, answer, file or link one message; see :meth:`Engine.accept`."""
    engine._check_intake(intake)
    if intake.external_id:
        existing = engine.store.find_by_external_id(intake.channel, intake.external_id)
        if existing is not None:
            return IntakeOutcome(OutcomeKind.DUPLICATE, complaint=existing)
    compiled = engine._workflow(workflow or engine.default_workflow)
    key = contact_key(intake)
    for attempt in range(RETRIES):
        now = engine.clock()
        record = engine.store.conduct_get(intake.customer.id)
        if record is not None:
            again = redelivered(engine, record, key)
            if again is not None:
                return again
        decided = decided_matter(engine, intake) if might_regard_a_matter(engine, intake) else None
        verdict = judge(engine, intake, record, now)
        try:
            if decided is not None:
                return _link(engine, intake, record, decided, verdict, now)
            if verdict.reasons:
                return _file(engine, intake, record, verdict, now)
        except ConcurrencyError:
            if attempt == RETRIES - 1:
                raise
            continue
        complaint, created = engine._open(intake, compiled, now)
        if not created:
            # Another delivery of the same message won the race: same answer as a redelivery.
            return IntakeOutcome(OutcomeKind.DUPLICATE, complaint=complaint)
        if counts_contacts(record, now):
            try:
                count_contact(engine, intake.customer, complaint)
            except ConcurrencyError:
                # The complaint is opened: a ConcurrencyError ("nothing was written")
                # would have the caller deliver it again. One uncounted contact only
                # makes the limit more lenient.
                logger.warning(
                    "complaint %s opened but not counted for the contact limit of %s",
                    complaint.reference,
                    intake.customer.id,
                )
        return IntakeOutcome(OutcomeKind.OPENED, complaint=complaint, guidance=verdict.guidance)
    raise AssertionError("unreachable")  # pragma: no cover


def count_contact(engine: Engine, customer: Customer, complaint: Complaint) -> None:
    """Count an opened complaint as a contact on a record with a contact limit."""

    def build(draft: RecordDraft) -> None:
        if not counts_contacts(draft.base, draft.now):
            return
        draft.record_event(
            "contact_counted",
            SYSTEM,
            reason=f"complaint {complaint.reference} opened: counted for the contact limit",
            data={"reference": complaint.reference, "channel": complaint.channel},
            change=with_contact(
                draft.base,
                draft.now,
                f"{complaint.channel}:{complaint.external_id}" if complaint.external_id else None,
            ),
        )

    commit_with_retry(engine, customer, build)


def _item(
    intake: Intake,
    verdict: _Verdict,
    reason: ReviewReason,
    now: datetime,
    regarding: str | None,
    acknowledged: bool,
    why: str,
) -> ReviewItem:
    return ReviewItem(
        id=uuid.uuid4().hex[:12],
        reason=reason,
        filed_at=now,
        channel=intake.channel,
        external_id=intake.external_id,
        summary=intake.summary,
        details=intake.details,
        received_at=intake.received_at or now,
        restrictions=verdict.kinds,
        regarding=regarding,
        acknowledged=acknowledged,
        why=why,
    )


def _message_data(intake: Intake, item: ReviewItem) -> dict[str, Any]:
    """The whole message, kept in the event too: the item leaves the queue when resolved."""
    return {
        "item_id": item.id,
        "reason": item.reason.value,
        "channel": intake.channel,
        "external_id": intake.external_id,
        "summary": intake.summary,
        "details": intake.details,
        "received_at": item.received_at.isoformat() if item.received_at else None,
        "restrictions": [kind.value for kind in item.restrictions],
        "regarding": item.regarding,
        "acknowledged": item.acknowledged,
        "intake_data": dict(intake.data),
        "why": item.why,
    }


def _file(
    engine: Engine,
    intake: Intake,
    record: ConductRecord | None,
    verdict: _Verdict,
    now: datetime,
) -> IntakeOutcome:
    """Keep a message outside the restrictions on the review queue (one checked commit)."""
    assert record is not None  # only a restricting record files
    reply = written_reply(engine, record.customer) if verdict.acknowledge else None
    why = "; ".join(verdict.reasons)
    item = _item(
        intake,
        verdict,
        ReviewReason.OUTSIDE_RESTRICTION,
        now,
        verdict.regarding,
        reply is not None,
        why,
    )
    draft = RecordDraft(record, now)
    changes = with_contact(record, now, contact_key(intake))
    changes["review_queue"] = (*record.review_queue, item)
    event = draft.record_event(
        "contact_filed",
        intake.recorded_by or SYSTEM,
        reason=why,
        data=_message_data(intake, item),
        change=changes,
    )
    if reply is not None:
        draft.notify_customer(
            event,
            "contact_filed",
            reply[0],
            reply[1],
            {
                "received": intake.summary,
                "received_on": intake.channel,
                "filed": True,
                "how_restrictions_apply": list(verdict.reasons),
                "review": "a member of staff reads every filed message",
                "review_at": record.review_at.isoformat() if record.review_at else None,
            },
        )
    draft.commit(engine)
    return IntakeOutcome(
        OutcomeKind.FILED,
        item=item,
        acknowledged=reply is not None,
        reasons=verdict.reasons,
        guidance=verdict.guidance,
    )


def _link(
    engine: Engine,
    intake: Intake,
    record: ConductRecord | None,
    decided: Complaint,
    verdict: _Verdict,
    now: datetime,
) -> IntakeOutcome:
    """File a message re-raising a decided matter and link it to the decided complaint."""
    base = record or new_record(intake.customer, now)
    final = decided.data["final_decision"]
    decided_on = str(final.get("at", ""))[:10]
    reasons = (
        f"{decided.reference} has a final decision ({decided_on}); a message about it "
        "is linked to it, not opened as a new complaint",
        *verdict.reasons,
    )
    reply = written_reply(engine, base.customer)
    item = _item(
        intake,
        verdict,
        ReviewReason.DECIDED_MATTER,
        now,
        decided.reference,
        reply is not None,
        reasons[0],
    )
    draft = RecordDraft(base, now)
    changes = with_contact(base, now, contact_key(intake)) if counts_contacts(record, now) else {}
    if "contact_keys" not in changes and contact_key(intake) is not None:
        changes["contact_keys"] = (*base.contact_keys, contact_key(intake))[-KEEP_CONTACT_KEYS:]
    changes["review_queue"] = (*base.review_queue, item)
    event = draft.record_event(
        "contact_filed",
        intake.recorded_by or SYSTEM,
        reason=reasons[0],
        data=_message_data(intake, item),
        change=changes,
    )
    if reply is not None:
        draft.notify_customer(
            event,
            "contact_linked",
            reply[0],
            reply[1],
            {
                "received": intake.summary,
                "received_on": intake.channel,
                "regarding": decided.reference,
                "final_decision": {
                    "at": final.get("at"),
                    "by": final.get("by_name"),
                    "reference": decided.reference,
                },
                "explanation": (
                    f"{decided.reference} received a final decision on {decided_on}; your "
                    "message has been linked to it and will be read. It does not open a new "
                    "investigation."
                ),
            },
        )
    draft.commit(engine)
    try:
        linked = link_to_decided(engine, decided, intake, item)
    except ConcurrencyError:
        # The message is filed, with the matter it regards: raising would have the
        # caller (or accept's own retry) file it a second time.
        logger.warning(
            "message filed as item %s but not linked to %s: it kept changing",
            item.id,
            decided.reference,
        )
        linked = decided
    return IntakeOutcome(
        OutcomeKind.LINKED,
        complaint=linked,
        item=item,
        acknowledged=reply is not None,
        reasons=reasons,
        guidance=verdict.guidance,
    )


def link_to_decided(
    engine: Engine, decided: Complaint, intake: Intake, item: ReviewItem
) -> Complaint:
    """Record a ``contact_linked`` event on the decided complaint (retried on conflicts)."""
    from complaint_flow.kernel.draft import Draft

    complaint = decided
    for attempt in range(RETRIES):
        draft = Draft(complaint, engine._workflow(complaint.workflow), engine.clock())
        draft.record(
            "contact_linked",
            intake.recorded_by or SYSTEM,
            reason="the customer raised this decided matter again; filed for review",
            data={
                "item_id": item.id,
                "channel": intake.channel,
                "external_id": intake.external_id,
                "summary": intake.summary,
                "customer_record": f"conduct:{intake.customer.id}",
            },
        )
        try:
            return draft.commit(engine.store)
        except ConcurrencyError:
            if attempt == RETRIES - 1:
                raise
            complaint = engine.store.get(decided.id)
    raise AssertionError("unreachable")  # pragma: no cover


def receive(engine: Engine, intake: Intake, workflow: str | None) -> Complaint:
    """:meth:`Engine.receive`: the complaint, or ContactFiledError once the message is filed."""
    outcome = accept(engine, intake, workflow)
    if outcome.complaint is not None and outcome.kind in (
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
    ):
        return outcome.complaint
    raise ContactFiledError(outcome, outcome.message())


# -- accepting many ----------------------------------------------------------------------


def accept_many(
    engine: Engine, intakes: Iterable[Intake], workflow: str | None
) -> list[IntakeOutcome]:
    """:meth:`Engine.receive_many`: the rules of :func:`accept`, new complaints in one commit.

    Redeliveries are rare, so the batch is first written without looking each
    message up: the store's unique ``(channel, external_id)`` refuses the whole
    batch if one was stored before. Only then is each message looked up and the
    rest written again; should that fail too (another writer meanwhile), they are
    taken one by one.
    """
    batch = list(intakes)
    for intake in batch:
        engine._check_intake(intake)
    compiled = engine._workflow(workflow or engine.default_workflow)
    store = engine.store
    now = engine.clock()
    outcomes: list[IntakeOutcome | None] = [None] * len(batch)
    # One read for the batch: conduct records are few (customers in the stop
    # procedure or with filed contacts), complaints many.
    records = {record.customer_id for record in store.conduct_find()}
    # Where each message key went: the index of its batched draft, or -1 (handled alone).
    first_of: dict[tuple[str, str], int] = {}
    drafts: list[Draft] = []
    starts: dict[datetime, tuple[Any, Any]] = {}
    owners: list[int] = []
    later: list[tuple[int, int]] = []  # (outcome index, draft index) of in-batch duplicates
    for index, intake in enumerate(batch):
        external_id = intake.external_id
        if external_id:
            message = (intake.channel, external_id)
            seen = first_of.get(message)
            if seen is not None:
                if seen >= 0:
                    later.append((index, seen))
                else:
                    outcomes[index] = accept(engine, intake, workflow)
                continue
        if intake.customer.id in records or might_regard_a_matter(engine, intake):
            # Restrictions, decided matters, filed keys: the careful path, in order.
            if external_id:
                first_of[(intake.channel, external_id)] = -1
            outcomes[index] = accept(engine, intake, workflow)
            continue
        if external_id:
            first_of[(intake.channel, external_id)] = len(drafts)
        drafts.append(engine._draft_new(intake, compiled, now, starts=starts))
        owners.append(index)
    if not drafts:
        return [o for o in outcomes if o is not None]
    prefix = engine.reference_prefix
    commits = [
        Commit.build(draft.complaint, 0, tuple(draft.events), tuple(draft.outbox), prefix)
        for draft in drafts
    ]
    # Whether each draft was opened now (False: its message was stored before).
    fresh: list[bool] = [True] * len(drafts)
    stored = _commit_all(engine, commits)
    if stored is None:
        # Some were stored before: those get the stored answer, the rest are written.
        found = [_stored_copy(engine, batch[index]) for index in owners]
        written = _commit_all(engine, [c for c, f in zip(commits, found, strict=True) if f is None])
        if written is None:
            # Another writer stored one of these messages meanwhile: one by one, each
            # duplicate gets the stored answer and the rest are opened.
            for index in owners:
                outcomes[index] = accept(engine, batch[index], workflow)
            for index, _draft_index in later:
                outcomes[index] = accept(engine, batch[index], workflow)
            return [o for o in outcomes if o is not None]
        new = iter(written)
        stored = [f if f is not None else next(new) for f in found]
        fresh = [f is None for f in found]
    registry = engine.registry
    for index, draft, complaint, opened in zip(owners, drafts, stored, fresh, strict=True):
        if not opened:
            outcomes[index] = IntakeOutcome(OutcomeKind.DUPLICATE, complaint=complaint)
            continue
        outcomes[index] = IntakeOutcome(OutcomeKind.OPENED, complaint=complaint)
        registry.received(complaint, draft.events[0])
        engine._deliver_urgent(draft)
    for index, draft_index in later:
        outcomes[index] = IntakeOutcome(OutcomeKind.DUPLICATE, complaint=stored[draft_index])
    return [o for o in outcomes if o is not None]


def _commit_all(engine: Engine, commits: list[Commit]) -> list[Complaint] | None:
    """Write new complaints in one transaction; None if one of their messages is stored.

    The commits are not changed by a refused write, so they can be written again.
    """
    if not commits:
        return []
    try:
        return engine.store.commit_many(commits)
    except (DuplicateIntakeError, ConcurrencyError):
        return None


def _stored_copy(engine: Engine, intake: Intake) -> Complaint | None:
    """The complaint already stored for the same message, if any."""
    if not intake.external_id:
        return None
    return engine.store.find_by_external_id(intake.channel, intake.external_id)


__all__ = [
    "REGARDING_KEY",
    "TO_KEY",
    "IntakeOutcome",
    "OutcomeKind",
    "accept",
    "accept_many",
    "in_force",
    "receive",
]
