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
from collections.abc import Sequence

from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConductError,
    InvalidArgumentError,
    NotAuthorisedError,
)
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.conduct import ConductRecord, ReviewItem
from complaint_flow.model.entities import Actor, Complaint, Intake
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.services.escalation import FINAL_DECISION
from complaint_flow.services.intake import Reception, conduct_message


class ReviewOutcome(enum.StrEnum):
    """How a reviewer resolves an item of the review queue."""

    NO_NEW_INFORMATION = "no_new_information"
    NEW_INFORMATION = "new_information"
    SAFEGUARDING = "safeguarding"


def final_decision(
    kernel: Kernel,
    complaint_id: str,
    actor: Actor,
    response: str,
    decision_roles: Sequence[str],
) -> Complaint:
    """Record a final response on a closed complaint; see :meth:`Engine.final_decision`.

    Raises:
        NotAuthorisedError: the actor's role is not one of ``decision_roles``.
    """
    if actor.role not in decision_roles:
        raise NotAuthorisedError(actor.id, actor.role, "record a final decision", decision_roles)
    if not isinstance(response, str) or not response.strip():
        raise InvalidArgumentError(
            "a final decision needs the response sent to the customer: pass response=..."
        )

    def build(draft: Draft[Complaint]) -> None:
        complaint = draft.base
        definition = kernel.workflow(complaint.workflow).definition
        if not definition.state(complaint.state).terminal:
            ends = sorted(s.name for s in definition.states if s.terminal)
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
        decision = {
            "at": draft.now.isoformat(),
            "by": actor.id,
            "by_name": actor.name,
            "response": response.strip(),
        }
        draft.record(
            FINAL_DECISION,
            actor,
            reason=response.strip(),
            data=decision,
            change={"data": freeze_mapping({**complaint.data, FINAL_DECISION: decision})},
            notify=("customer",),
        )

    return kernel.change(complaint_id, build, retries=RETRIES)[0]


def review_queue(kernel: Kernel, limit: int | None) -> list[tuple[ConductRecord, ReviewItem]]:
    """Every waiting item with its record; see :meth:`Engine.review_queue`."""
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise InvalidArgumentError(f"limit must be a whole number >= 0, got {limit!r}")
    found: list[tuple[ConductRecord, ReviewItem]] = []
    for record in kernel.store.conduct_find(with_review_items=True):
        for item in record.review_queue:
            if limit is not None and len(found) >= limit:
                return found
            found.append((record, item))
    return found


def resolve_review_item(
    reception: Reception,
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
    record = reception.kernel.store.conduct_get(customer_id)
    if record is None:
        raise ConductError(
            f"customer {customer_id!r} has no conduct record, so no review items; "
            "engine.review_queue() lists the waiting items"
        )
    item = _find_item(record, item_id)
    opened: Complaint | None = None
    if how is ReviewOutcome.NEW_INFORMATION:
        opened = _open_from_item(reception, record, item, actor, note.strip())
    related = (
        _related_complaint(reception.kernel, record, item)
        if how is ReviewOutcome.SAFEGUARDING
        else None
    )

    def build(draft: Draft[ConductRecord]) -> None:
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
        event = draft.record(
            "review_item_resolved",
            actor,
            reason=note.strip(),
            data=data,
            change={"review_queue": tuple(i for i in draft.base.review_queue if i.id != item_id)},
        )
        if how is ReviewOutcome.SAFEGUARDING and related is None and actor.email:
            # Nobody owns a complaint of this customer: the reviewer is told to act.
            conduct_message(
                draft,
                event,
                "safeguarding",
                "reviewer",
                "email",
                actor.email,
                {"urgent": True, "customer": customer_id, "note": note.strip(), "item": item_id},
            )

    reception.kernel.change_conduct(record.customer, build)
    if how is ReviewOutcome.SAFEGUARDING and related is not None:
        _raise_safeguarding(reception.kernel, related, item, actor, note.strip())
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
    reception: Reception, record: ConductRecord, item: ReviewItem, actor: Actor, note: str
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
    compiled = reception.kernel.workflow(reception.default_workflow)
    complaint, _created = reception.open(intake, compiled, reception.kernel.clock(), data=opened_by)
    return complaint


def _related_complaint(kernel: Kernel, record: ConductRecord, item: ReviewItem) -> Complaint | None:
    """The complaint a safeguarding alert goes to: the item's matter, else the latest one."""
    if item.regarding:
        try:
            return kernel.complaint(item.regarding)
        except ComplaintNotFoundError:
            pass
    complaints = kernel.store.find(customer_id=record.customer_id)
    return complaints[-1] if complaints else None


def _raise_safeguarding(
    kernel: Kernel, complaint: Complaint, item: ReviewItem, actor: Actor, note: str
) -> None:
    """An urgent event on the related complaint, to its owner and department, sent at once."""

    def build(draft: Draft[Complaint]) -> None:
        draft.record(
            "safeguarding_concern",
            actor,
            reason=note,
            data={"item_id": item.id, "summary": item.summary, "channel": item.channel},
            notify=("owner", "department"),
            urgent=True,
        )

    kernel.change(complaint.id, build, retries=RETRIES, start=complaint)


__all__ = ["FINAL_DECISION", "ReviewOutcome"]
