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
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.definitions.conduct_policy import ConductPolicy
from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    ContactFiledError,
    DuplicateIntakeError,
    InvalidIntakeError,
)
from complaint_flow.fsm.workflow_machine import CompiledWorkflow
from complaint_flow.kernel.aggregates import URGENT_HOLD, ComplaintAggregate
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model import channels
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    RestrictionKind,
    ReviewItem,
    ReviewReason,
)
from complaint_flow.model.entities import (
    SYSTEM,
    Complaint,
    Customer,
    Event,
    Intake,
    OutboxMessage,
    Severity,
)
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.services import conduct_notices as notices
from complaint_flow.services import escalation
from complaint_flow.storage.contract import Commit

logger = logging.getLogger("complaint_flow.conduct")


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
    """Whether ``record`` restricts contact at ``now`` (see ``ConductRecord.in_force_at``)."""
    return record is not None and record.in_force_at(now)


def written_channels(reception: Reception) -> frozenset[str]:
    """The channels that count as writing for this engine's conduct policy."""
    return channels.written_channels(
        reception.policy.written_channels, reception.kernel.registry.channels
    )


def adjusted_channels(adjustments: Iterable[Adjustment]) -> frozenset[str]:
    """The channels reasonable adjustments allow whatever a restriction says."""
    return frozenset(channel for adjustment in adjustments for channel in adjustment.channels)


def contact_key(intake: Intake) -> str | None:
    """``channel:external_id`` of a message, or None when it has no external id."""
    return f"{intake.channel}:{intake.external_id}" if intake.external_id else None


def quoted_references(reception: Reception, intake: Intake) -> list[str]:
    """The complaint references a message names: ``data["regarding"]``, then those quoted."""
    found: list[str] = []
    regarding = intake.data.get(REGARDING_KEY)
    if isinstance(regarding, str) and regarding.strip():
        found.append(regarding.strip())
    marker = reception.kernel.reference_prefix + "-"
    text = f"{intake.summary}\n{intake.details}"
    if marker in text:
        pattern = _reference_pattern(reception.kernel.reference_prefix)
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


def might_regard_a_matter(reception: Reception, intake: Intake) -> bool:
    """Cheap test: could this message name a complaint (so it needs the slow checks)?"""
    if REGARDING_KEY in intake.data:
        return True
    marker = reception.kernel.reference_prefix + "-"
    return marker in intake.summary or marker in intake.details


def decided_matter(reception: Reception, intake: Intake) -> Complaint | None:
    """The finally decided complaint of the same customer this message re-raises, if any."""
    for reference in quoted_references(reception, intake):
        try:
            complaint = reception.kernel.complaint(reference)
        except ComplaintNotFoundError:
            continue
        if complaint.customer.id == intake.customer.id and "final_decision" in complaint.data:
            return complaint
    return None


def judge(
    reception: Reception, intake: Intake, record: ConductRecord | None, now: datetime
) -> _Verdict:
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
            written = written_channels(reception)
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
            named = quoted_references(reception, intake) if restriction.matters else []
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


def notify_customer(
    draft: Draft[ConductRecord],
    event: Event,
    topic: str,
    channel: str,
    address: str | None,
    payload: dict[str, Any],
) -> OutboxMessage:
    """Add a message to the customer about ``event`` (a conduct notice)."""
    return conduct_message(
        draft,
        event,
        topic,
        "customer",
        channel,
        address,
        {"name": draft.subject.customer.name, **payload},
    )


def conduct_message(
    draft: Draft[ConductRecord],
    event: Event,
    topic: str,
    recipient: str,
    channel: str,
    address: str | None,
    payload: dict[str, Any],
) -> OutboxMessage:
    """Add a message to ``recipient`` about ``event`` on a conduct record's draft.

    An urgent message (``payload["urgent"]``) is delivered as soon as the draft is
    committed; other dispatchers leave it alone meanwhile (``URGENT_HOLD``).
    """
    record = draft.subject
    message = OutboxMessage.pending(
        f"{record.id}:{event.seq}:{recipient}",
        record.id,
        event.seq,
        f"conduct.{topic}",
        recipient,
        channel,
        address,
        draft.now,
        freeze_mapping(payload),
    )
    if payload.get("urgent"):
        message = attrs.evolve(message, next_attempt_at=draft.now + URGENT_HOLD)
    draft.send(message)
    return message


def with_contact(record: ConductRecord, now: datetime, key: str | None) -> dict[str, Any]:
    """The changes that count one more contact (and remember its key) on ``record``."""
    since = now - timedelta(days=CONTACT_HISTORY_DAYS)
    changes: dict[str, Any] = {
        "recent_contacts": (*(at for at in record.recent_contacts if at > since), now)
    }
    if key is not None and key not in record.contact_keys:
        changes["contact_keys"] = (*record.contact_keys, key)[-KEEP_CONTACT_KEYS:]
    return changes


def written_reply(reception: Reception, customer: Customer) -> tuple[str, str] | None:
    """A written channel and the customer's address on it (as for notices), or None."""
    route = notices.notice_route(customer, written_channels(reception))
    return (route.channel, route.address) if route.address else None


# -- accepting one message -----------------------------------------------------------


def redelivered(
    reception: Reception, record: ConductRecord, key: str | None
) -> IntakeOutcome | None:
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
            decided = reception.kernel.complaint(item.regarding)
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


def accept(reception: Reception, intake: Intake, workflow: str | None) -> IntakeOutcome:
    """Open, answer, file or link one message; see :meth:`Engine.accept`."""
    reception.check(intake)
    if intake.external_id:
        existing = reception.kernel.store.find_by_external_id(intake.channel, intake.external_id)
        if existing is not None:
            return IntakeOutcome(OutcomeKind.DUPLICATE, complaint=existing)
    compiled = reception.kernel.workflow(workflow or reception.default_workflow)
    key = contact_key(intake)
    decided: list[Complaint] = []
    verdicts: list[_Verdict] = []

    def file_if_restricted(draft: Draft[ConductRecord]) -> IntakeOutcome | None:
        """On the customer's record: a redelivery's answer, or the message filed, or None."""
        # Each attempt decides afresh: what an attempt that lost its race saw is gone.
        decided.clear()
        verdicts.clear()
        record = draft.base if draft.base.version else None
        if record is not None:
            again = redelivered(reception, record, key)
            if again is not None:
                return again
        matter = (
            decided_matter(reception, intake) if might_regard_a_matter(reception, intake) else None
        )
        verdict = judge(reception, intake, record, draft.now)
        decided[:] = [matter] if matter is not None else []
        verdicts[:] = [verdict]
        if matter is not None:
            return _link(reception, draft, intake, record, matter, verdict)
        if verdict.reasons:
            return _file(reception, draft, intake, verdict)
        return None

    record, filed = reception.kernel.change_conduct(intake.customer, file_if_restricted)
    if filed is not None:
        if filed.kind is OutcomeKind.LINKED and decided and filed.item is not None:
            return attrs.evolve(filed, complaint=_linked(reception, decided[0], intake, filed.item))
        return filed
    complaint, created = reception.open(intake, compiled, reception.kernel.clock())
    if not created:
        # Another delivery of the same message won the race: same answer as a redelivery.
        return IntakeOutcome(OutcomeKind.DUPLICATE, complaint=complaint)
    now = reception.kernel.clock()
    if counts_contacts(record if record.version else None, now):
        try:
            count_contact(reception, intake.customer, complaint)
        except ConcurrencyError:
            # The complaint is opened: a ConcurrencyError ("nothing was written")
            # would have the caller deliver it again. One uncounted contact only
            # makes the limit more lenient.
            logger.warning(
                "complaint %s opened but not counted for the contact limit of %s",
                complaint.reference,
                intake.customer.id,
            )
    guidance = verdicts[0].guidance if verdicts else ()
    return IntakeOutcome(OutcomeKind.OPENED, complaint=complaint, guidance=guidance)


def count_contact(reception: Reception, customer: Customer, complaint: Complaint) -> None:
    """Count an opened complaint as a contact on a record with a contact limit."""

    def build(draft: Draft[ConductRecord]) -> None:
        if not counts_contacts(draft.base, draft.now):
            return
        draft.record(
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

    reception.kernel.change_conduct(customer, build)


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
    reception: Reception, draft: Draft[ConductRecord], intake: Intake, verdict: _Verdict
) -> IntakeOutcome:
    """Keep a message outside the restrictions on the record's review queue."""
    record = draft.base
    now = draft.now
    reply = written_reply(reception, record.customer) if verdict.acknowledge else None
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
    changes = with_contact(record, now, contact_key(intake))
    changes["review_queue"] = (*record.review_queue, item)
    event = draft.record(
        "contact_filed",
        intake.recorded_by or SYSTEM,
        reason=why,
        data=_message_data(intake, item),
        change=changes,
    )
    if reply is not None:
        notify_customer(
            draft,
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
    return IntakeOutcome(
        OutcomeKind.FILED,
        item=item,
        acknowledged=reply is not None,
        reasons=verdict.reasons,
        guidance=verdict.guidance,
    )


def _link(
    reception: Reception,
    draft: Draft[ConductRecord],
    intake: Intake,
    record: ConductRecord | None,
    decided: Complaint,
    verdict: _Verdict,
) -> IntakeOutcome:
    """File a message re-raising a decided matter (linked to it once the filing is stored)."""
    base = draft.base
    now = draft.now
    final = decided.data["final_decision"]
    decided_on = str(final.get("at", ""))[:10]
    reasons = (
        f"{decided.reference} has a final decision ({decided_on}); a message about it "
        "is linked to it, not opened as a new complaint",
        *verdict.reasons,
    )
    reply = written_reply(reception, base.customer)
    item = _item(
        intake,
        verdict,
        ReviewReason.DECIDED_MATTER,
        now,
        decided.reference,
        reply is not None,
        reasons[0],
    )
    changes = with_contact(base, now, contact_key(intake)) if counts_contacts(record, now) else {}
    if "contact_keys" not in changes and contact_key(intake) is not None:
        changes["contact_keys"] = (*base.contact_keys, contact_key(intake))[-KEEP_CONTACT_KEYS:]
    changes["review_queue"] = (*base.review_queue, item)
    event = draft.record(
        "contact_filed",
        intake.recorded_by or SYSTEM,
        reason=reasons[0],
        data=_message_data(intake, item),
        change=changes,
    )
    if reply is not None:
        notify_customer(
            draft,
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
    return IntakeOutcome(
        OutcomeKind.LINKED,
        complaint=decided,
        item=item,
        acknowledged=reply is not None,
        reasons=reasons,
        guidance=verdict.guidance,
    )


def _linked(
    reception: Reception, decided: Complaint, intake: Intake, item: ReviewItem
) -> Complaint:
    """Link a filed message to the decided complaint; the decided one if it keeps changing."""
    try:
        return link_to_decided(reception.kernel, decided, intake, item)
    except ConcurrencyError:
        # The message is filed, with the matter it regards: raising would have the
        # caller file it a second time.
        logger.warning(
            "message filed as item %s but not linked to %s: it kept changing",
            item.id,
            decided.reference,
        )
        return decided


def link_to_decided(
    kernel: Kernel, decided: Complaint, intake: Intake, item: ReviewItem
) -> Complaint:
    """Record a ``contact_linked`` event on the decided complaint (retried on conflicts)."""

    def build(draft: Draft[Complaint]) -> None:
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

    return kernel.change(decided.id, build, retries=RETRIES, start=decided)[0]


def receive(reception: Reception, intake: Intake, workflow: str | None) -> Complaint:
    """:meth:`Engine.receive`: the complaint, or ContactFiledError once the message is filed."""
    outcome = accept(reception, intake, workflow)
    if outcome.complaint is not None and outcome.kind in (
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
    ):
        return outcome.complaint
    raise ContactFiledError(outcome, outcome.message())


# -- accepting many ----------------------------------------------------------------------


def accept_many(
    reception: Reception, intakes: Iterable[Intake], workflow: str | None
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
        reception.check(intake)
    compiled = reception.kernel.workflow(workflow or reception.default_workflow)
    store = reception.kernel.store
    now = reception.kernel.clock()
    outcomes: list[IntakeOutcome | None] = [None] * len(batch)
    # One read for the batch: conduct records are few (customers in the stop
    # procedure or with filed contacts), complaints many.
    records = {record.customer_id for record in store.conduct_find()}
    # Where each message key went: the index of its batched draft, or -1 (handled alone).
    first_of: dict[tuple[str, str], int] = {}
    drafts: list[Draft[Complaint]] = []
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
                    outcomes[index] = accept(reception, intake, workflow)
                continue
        if intake.customer.id in records or might_regard_a_matter(reception, intake):
            # Restrictions, decided matters, filed keys: the careful path, in order.
            if external_id:
                first_of[(intake.channel, external_id)] = -1
            outcomes[index] = accept(reception, intake, workflow)
            continue
        if external_id:
            first_of[(intake.channel, external_id)] = len(drafts)
        drafts.append(reception.draft_new(intake, compiled, now, starts=starts))
        owners.append(index)
    if not drafts:
        return [o for o in outcomes if o is not None]
    commits = [creation_commit(draft) for draft in drafts]
    # Whether each draft was opened now (False: its message was stored before).
    fresh: list[bool] = [True] * len(drafts)
    stored = _commit_all(reception, commits)
    if stored is None:
        # Some were stored before: those get the stored answer, the rest are written.
        found = [_stored_copy(reception, batch[index]) for index in owners]
        written = _commit_all(
            reception, [c for c, f in zip(commits, found, strict=True) if f is None]
        )
        if written is None:
            # Another writer stored one of these messages meanwhile: one by one, each
            # duplicate gets the stored answer and the rest are opened.
            for index in owners:
                outcomes[index] = accept(reception, batch[index], workflow)
            for index, _draft_index in later:
                outcomes[index] = accept(reception, batch[index], workflow)
            return [o for o in outcomes if o is not None]
        new = iter(written)
        stored = [f if f is not None else next(new) for f in found]
        fresh = [f is None for f in found]
    for index, draft, commit, complaint, opened in zip(
        owners, drafts, commits, stored, fresh, strict=True
    ):
        if not opened:
            outcomes[index] = IntakeOutcome(OutcomeKind.DUPLICATE, complaint=complaint)
            continue
        outcomes[index] = IntakeOutcome(OutcomeKind.OPENED, complaint=complaint)
        draft.committed = commit.events
        reception.kernel.finish(draft, complaint)
    for index, draft_index in later:
        outcomes[index] = IntakeOutcome(OutcomeKind.DUPLICATE, complaint=stored[draft_index])
    return [o for o in outcomes if o is not None]


def _commit_all(reception: Reception, commits: list[Commit]) -> list[Complaint] | None:
    """Write new complaints in one transaction; None if one of their messages is stored.

    The commits are not changed by a refused write, so they can be written again.
    """
    if not commits:
        return []
    try:
        return reception.kernel.store.commit_many(commits)
    except (DuplicateIntakeError, ConcurrencyError):
        return None


def _stored_copy(reception: Reception, intake: Intake) -> Complaint | None:
    """The complaint already stored for the same message, if any."""
    if not intake.external_id:
        return None
    return reception.kernel.store.find_by_external_id(intake.channel, intake.external_id)


# -- the reception: checking, drafting and opening new complaints ----------------------


def creation_commit(draft: Draft[Complaint]) -> Commit:
    """The commit that creates a drafted complaint (for one write of many)."""
    aggregate = draft.aggregate
    assert isinstance(aggregate, ComplaintAggregate)
    return aggregate.commit(draft.subject, 0, draft.chain, draft.outbox)


RECEIPT_SKEW = timedelta(minutes=5)
"""How far in the future a ``received_at`` may be (clocks of other machines drift)."""


class Reception:
    """Where messages come in: checks, drafts and opens complaints, under the stop procedure.

    Args:
        kernel: the unit of work and what it carries.
        policy: the stop procedure's policy (which channels count as writing).
        default_workflow: the workflow new complaints follow unless told otherwise.
    """

    def __init__(self, kernel: Kernel, policy: ConductPolicy, default_workflow: str) -> None:
        self.kernel = kernel
        self.policy = policy
        self.default_workflow = default_workflow

    def check(self, intake: Intake) -> None:
        """Refuse an intake that cannot be taken in, saying what to change.

        Raises:
            InvalidIntakeError: not an :class:`Intake`, an unknown channel, an informal
                complaint without the member of staff who heard it, or a receipt time
                in the future.
        """
        if not isinstance(intake, Intake):
            raise InvalidIntakeError(
                f"receive() takes an Intake, got {type(intake).__name__}; build one with "
                "Intake(channel=..., customer=Customer(...), summary=...)"
            )
        registry = self.kernel.registry
        registry.channel(intake.channel)
        for preferred in (intake.preferred_channel, intake.customer.preferred_channel):
            if preferred is not None:
                registry.channel(preferred)
        if intake.informal and intake.recorded_by is None:
            raise InvalidIntakeError(
                "an informal complaint needs recorded_by: the member of staff who heard it"
            )
        received = intake.received_at
        if received is not None:
            now = self.kernel.clock()
            if received > now + RECEIPT_SKEW:
                raise InvalidIntakeError(
                    f"received_at {received.isoformat()} is in the future (now is "
                    f"{now.isoformat()}); give the time the message arrived, or leave it out "
                    "to use the time it is taken in"
                )

    def draft_new(
        self,
        intake: Intake,
        compiled: CompiledWorkflow,
        now: datetime,
        *,
        data: Mapping[str, Any] | None = None,
        starts: dict[datetime, tuple[Any, Any]] | None = None,
    ) -> Draft[Complaint]:
        """The creation of a complaint from ``intake``, routed and triaged, not written.

        ``starts`` caches the deadline clocks started on receipt by receipt time:
        in a batch they are the same for every complaint received at once, and
        computing them (business calendars) is most of an intake's cost.
        """
        received_at = intake.received_at or now
        unborn = Complaint(
            id=uuid.uuid4().hex,
            reference="",
            workflow=compiled.name,
            customer=intake.customer,
            channel=intake.channel,
            category=intake.category,
            severity=intake.severity,
            summary=intake.summary.strip(),
            details=intake.details,
            state=compiled.definition.initial,
            received_at=received_at,
            updated_at=now,
            version=0,
            desired_outcome=intake.desired_outcome,
            preferred_channel=intake.preferred_channel,
            external_id=intake.external_id,
            informal=intake.informal,
            recorded_by=intake.recorded_by,
            data=intake.data,
        )
        draft = Draft(
            unborn,
            now,
            ComplaintAggregate(compiled, self.kernel.reference_prefix),
            expected_version=0,
        )
        event_data: dict[str, Any] = {
            "channel": intake.channel,
            "external_id": intake.external_id,
            "received_at": received_at.isoformat(),
        }
        if data:
            event_data.update(data)
        # Deadlines count from receipt, which may be before the complaint was logged
        # (a letter opened days later): the clocks read it from the event's data.
        started = starts.get(received_at) if starts is not None else None
        change = {"clocks": started[0], "due_at": started[1]} if started is not None else None
        received = draft.record(
            "received",
            intake.recorded_by or SYSTEM,
            dest=unborn.state,
            data=event_data,
            change=change,
        )
        if starts is not None and started is None:
            starts[received_at] = (draft.subject.clocks, draft.subject.due_at)
        registry = self.kernel.registry
        draft.after_commit(lambda stored: registry.received(stored, draft.stored(received)))
        self.route_and_triage(draft)
        return draft

    def route_and_triage(self, draft: Draft[Complaint]) -> None:
        """Send a new complaint to its department; take an emergency straight to on-call."""
        aggregate = draft.aggregate
        assert isinstance(aggregate, ComplaintAggregate)
        policy = aggregate.compiled.definition.escalation
        if policy is None:
            return
        complaint = draft.subject
        routing = policy.route(complaint.category, complaint.severity)
        if routing is not None:
            draft.record(
                "routed",
                SYSTEM,
                reason=f"{complaint.category} complaints go to {routing.department}",
                data={"department": routing.department, "central_office": routing.central_office},
                change={"department": routing.department},
                notify=("department",),
            )
        if complaint.severity is Severity.EMERGENCY:
            ladder = policy.ladder_for(complaint.category, complaint.severity)
            level = ladder.emergency_level
            escalation.climb(
                draft,
                None,
                "emergency: straight to the on-call level",
                level,
                escalation.target_at(self.kernel, draft.subject, None, level),
                urgent=True,
            )

    def open(
        self,
        intake: Intake,
        compiled: CompiledWorkflow,
        now: datetime,
        *,
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Complaint, bool]:
        """Store a complaint from a checked intake; ``(complaint, False)`` for a duplicate."""
        draft = self.draft_new(intake, compiled, now, data=data)
        try:
            return self.kernel.commit(draft), True
        except DuplicateIntakeError as exc:
            # Another delivery of the same message won the race: same answer.
            existing = self.kernel.store.find_by_external_id(exc.channel, exc.external_id)
            if existing is None:
                raise
            return existing, False

    def accept(self, intake: Intake, workflow: str | None = None) -> IntakeOutcome:
        """See :meth:`Engine.accept`."""
        return accept(self, intake, workflow)

    def receive(self, intake: Intake, workflow: str | None = None) -> Complaint:
        """See :meth:`Engine.receive`."""
        return receive(self, intake, workflow)

    def accept_many(
        self, intakes: Iterable[Intake], workflow: str | None = None
    ) -> list[IntakeOutcome]:
        """See :meth:`Engine.receive_many`."""
        return accept_many(self, intakes, workflow)


__all__ = [
    "REGARDING_KEY",
    "TO_KEY",
    "IntakeOutcome",
    "OutcomeKind",
    "Reception",
    "accept",
    "accept_many",
    "in_force",
    "receive",
]
