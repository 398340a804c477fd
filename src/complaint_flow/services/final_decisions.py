"""Final decisions, and the review queue where filed and linked messages are read.

A final decision ends a complaint's escalation: it is recorded on a closed
complaint (``final_decision`` event, ``complaint.data["final_decision"]``) and
sent to the customer. Re-raising the decided matter later makes a linked contact
(see :mod:`complaint_flow.services.intake`), which a reviewer reads in the review
queue and resolves: no new information, new information (a complaint is opened
from the message after all), or a safeguarding concern (raised at once).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    ConductError,
    InvalidArgumentError,
)
from complaint_flow.kernel.draft import Draft
from complaint_flow.model.conduct import ConductRecord, ReviewItem
from complaint_flow.model.entities import Actor, Complaint, Intake
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.services.intake import RETRIES, RecordDraft, commit_with_retry

if TYPE_CHECKING:
    from complaint_flow.engine import Engine

FINAL_DECISION = "final_decision"
"""The event kind, and the key of ``complaint.data`` holding the decision."""


class ReviewOutcome(enum.StrEnum):
    """How a reviewer resolves an item of the review queue."""

    NO_NEW_INFORMATION = "no_new_information"
    NEW_INFORMATION = "new_information"
    SAFEGUARDING = "safeguarding"


def final_decision(engine: Engine, complaint_id: str, actor: Actor, response: str) -> Complaint:
    """Record a final response on a closed complaint; see :meth:`Engine.final_decision`."""
    if not isinstance(response, str) or not response.strip():
        raise InvalidArgumentError(
            "a final decision needs the response sent to the customer: pass response=..."
        )
    complaint = engine.get(complaint_id)
    for attempt in range(RETRIES):
        compiled = engine._workflow(complaint.workflow)
        state = next(s for s in compiled.definition.states if s.name == complaint.state)
        if not state.terminal:
            ends = sorted(s.name for s in compiled.definition.states if s.terminal)
            raise ConductError(
                f"{complaint.reference} is in state {complaint.state!r}, which is not an end "
                f"of its workflow: close it first ({', '.join(ends)}), then record the final "
                "decision"
            )
        if FINAL_DECISION in complaint.data:
            decided = complaint.data[FINAL_DECISION]
            raise ConductError(
                f"{complaint.reference} already has a final decision (on "
                f"{str(decided.get('at', ''))[:10]} by {decided.get('by_name')}); a final "
                "decision is given once"
            )
        now = engine.clock()
        decision = {
            "at": now.isoformat(),
            "by": actor.id,
            "by_name": actor.name,
            "response": response.strip(),
        }
        draft = Draft(complaint, compiled, now)
        draft.record(
            FINAL_DECISION,
            actor,
            reason=response.strip(),
            data=decision,
            change={"data": freeze_mapping({**complaint.data, FINAL_DECISION: decision})},
            notify=("customer",),
        )
        try:
            return draft.commit(engine.store)
        except ConcurrencyError:
            if attempt == RETRIES - 1:
                raise
            complaint = engine.store.get(complaint.id)
    raise AssertionError("unreachable")  # pragma: no cover


def review_queue(engine: Engine, limit: int | None) -> list[tuple[ConductRecord, ReviewItem]]:
    """Every waiting item with its record; see :meth:`Engine.review_queue`."""
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InvalidArgumentError(f"limit must be a whole number >= 0, got {limit!r}")
    found: list[tuple[ConductRecord, ReviewItem]] = []
    for record in engine.store.conduct_find(with_review_items=True):
        for item in record.review_queue:
            if limit is not None and len(found) >= limit:
                return found
            found.append((record, item))
    return found


def resolve_review_item(
    engine: Engine,
    customer_id: str,
    item_id: str,
    actor: Actor,
    outcome: str,
    note: str,
) -> Complaint | None:
    """Resolve one review item; see :meth:`Engine.resolve_review_item`."""
    try:
        how = ReviewOutcome(outcome)
    except ValueError:
        choices = ", ".join(repr(o.value) for o in ReviewOutcome)
        raise InvalidArgumentError(
            f"unknown review outcome {outcome!r}; use one of {choices}"
        ) from None
    if not isinstance(note, str) or not note.strip():
        raise InvalidArgumentError("resolving a review item needs a note: say what was read")
    record = engine.store.conduct_get(customer_id)
    if record is None:
        raise ConductError(
            f"customer {customer_id!r} has no conduct record, so no review items; "
            "engine.review_queue() lists the waiting items"
        )
    item = _find_item(record, item_id)
    opened: Complaint | None = None
    if how is ReviewOutcome.NEW_INFORMATION:
        opened = _open_from_item(engine, record, item, actor, note.strip())
    related = (
        _related_complaint(engine, record, item) if how is ReviewOutcome.SAFEGUARDING else None
    )

    def build(draft: RecordDraft) -> None:
        current = next((i for i in draft.base.review_queue if i.id == item_id), None)
        if current is None:
            return  # resolved meanwhile by someone else
        data = {
            "item_id": item_id,
            "outcome": how.value,
            "regarding": current.regarding,
            "opened": opened.reference if opened is not None else None,
            "related": related.reference if related is not None else None,
        }
        event = draft.record_event(
            "review_item_resolved",
            actor,
            reason=note.strip(),
            data=data,
            change={"review_queue": tuple(i for i in draft.base.review_queue if i.id != item_id)},
        )
        if how is ReviewOutcome.SAFEGUARDING and related is None and actor.email:
            # Nobody owns a complaint of this customer: the reviewer is told to act.
            draft.notify(
                event,
                "safeguarding",
                "reviewer",
                "email",
                actor.email,
                {"urgent": True, "customer": customer_id, "note": note.strip(), "item": item_id},
            )

    commit_with_retry(engine, record.customer, build)
    if how is ReviewOutcome.SAFEGUARDING and related is not None:
        _raise_safeguarding(engine, related, item, actor, note.strip())
    return opened


def _find_item(record: ConductRecord, item_id: str) -> ReviewItem:
    for item in record.review_queue:
        if item.id == item_id:
            return item
    waiting = ", ".join(i.id for i in record.review_queue) or "none"
    raise ConductError(
        f"no item {item_id!r} waits in the review queue of customer {record.customer_id!r} "
        f"(waiting: {waiting}); it may have been resolved already"
    )


def _open_from_item(
    engine: Engine, record: ConductRecord, item: ReviewItem, actor: Actor, note: str
) -> Complaint:
    """Open a complaint from a filed message, past the restriction: a reviewer decided so."""
    opened_by = {
        "review_item": item.id,
        "regarding": item.regarding,
        "opened_by_review": {"by": actor.id, "by_name": actor.name, "note": note},
        "restrictions_bypassed": [kind.value for kind in item.restrictions],
    }
    intake = Intake(
        channel=item.channel or "letter",
        customer=record.customer,
        summary=item.summary or "Filed message",
        details=item.details,
        # One complaint per item, however often or concurrently it is resolved: a
        # message without an id of its own is keyed by the item it was filed as.
        external_id=item.external_id or f"review-item:{item.id}",
        received_at=item.received_at,
        data=opened_by,
    )
    compiled = engine._workflow(engine.default_workflow)
    complaint, _created = engine._open(intake, compiled, engine.clock(), data=opened_by)
    return complaint


def _related_complaint(engine: Engine, record: ConductRecord, item: ReviewItem) -> Complaint | None:
    """The complaint a safeguarding alert goes to: the item's matter, else the latest one."""
    if item.regarding:
        try:
            return engine.get(item.regarding)
        except ComplaintNotFoundError:
            pass
    complaints = engine.store.find(customer_id=record.customer_id)
    return complaints[-1] if complaints else None


def _raise_safeguarding(
    engine: Engine, complaint: Complaint, item: ReviewItem, actor: Actor, note: str
) -> None:
    """An urgent event on the related complaint, to its owner and department, sent at once."""
    for attempt in range(RETRIES):
        draft = Draft(complaint, engine._workflow(complaint.workflow), engine.clock())
        draft.record(
            "safeguarding_concern",
            actor,
            reason=note,
            data={"item_id": item.id, "summary": item.summary, "channel": item.channel},
            notify=("owner", "department"),
            urgent=True,
        )
        try:
            draft.commit(engine.store)
        except ConcurrencyError:
            if attempt == RETRIES - 1:
                raise
            complaint = engine.store.get(complaint.id)
            continue
        engine._deliver_urgent(draft)
        return


__all__ = ["FINAL_DECISION", "ReviewOutcome"]
