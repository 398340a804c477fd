"""A request to escalate a complaint: the written-request cap, the workflow's ``escalate``
trigger where it applies, else a climb of the ladder alone.

``engine.escalate()`` and ``fire(id, "escalate")`` are the same move: where the workflow
has an ``escalate`` transition from the complaint's state, the request fires it (the
machine checks it and the climb is recorded with it); elsewhere only the ladder moves.
"""

from __future__ import annotations

from complaint_flow.definitions.workflow import ESCALATE_TRIGGER
from complaint_flow.errors import ConcurrencyError
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.entities import Actor, Complaint
from complaint_flow.model.immutable import EMPTY
from complaint_flow.services import escalation, workflow_steps


def escalate(
    kernel: Kernel,
    complaint_id: str,
    actor: Actor,
    reason: str,
    *,
    requested_via: str | None,
    expected_version: int | None,
    retries: int,
) -> Complaint:
    """Move the complaint one level up its ladder; see :meth:`Engine.escalate`.

    A retry after a lost race escalates only if nobody escalated the complaint
    meanwhile: one request climbs one level, however often it is retried.

    Raises:
        EscalationError: no ladder, the top of it, or a final decision.
        ConcurrencyError: the complaint moved on (``expected_version``), or someone
            else escalated it meanwhile.
    """
    seen: list[int] = []

    def build(draft: Draft[Complaint]) -> None:
        complaint = draft.base
        if seen and complaint.escalation_level != seen[0]:
            # Escalated by someone else between our read and our commit.
            raise ConcurrencyError(complaint.id, draft.base.version)
        seen[:] = [complaint.escalation_level]
        escalation.refuse_after_final_decision(complaint)
        compiled = kernel.workflow(complaint.workflow)
        level = escalation.next_level(complaint, compiled)
        policy = compiled.definition.escalation
        cap = policy.written_request_from if policy is not None else None
        if requested_via is not None and cap is not None and level.number >= cap:
            written = escalation.written_channels_of(kernel, compiled)
            if requested_via not in written:
                escalation.decline_spoken_request(
                    draft, level, actor, reason, requested_via, written
                )
                return
        if any(t.trigger == ESCALATE_TRIGGER for t in compiled.available(complaint.state)):
            workflow_steps.fire_on(
                kernel, draft, ESCALATE_TRIGGER, actor, reason, EMPTY, requested_via=requested_via
            )
            return
        target = escalation.target_at(kernel, complaint, actor, level)
        escalation.climb(draft, actor, reason, level, target, requested_via=requested_via)

    return kernel.change(complaint_id, build, expected_version=expected_version, retries=retries)[0]
