"""Escalation by rank (mission M5): one level up the ladder, to the person the org chart names.

The ladder comes from the workflow (per category and severity); the person at the
next level comes from the ``complaint_flow_escalation_target`` hook (the host's org
chart, else the static ladder). Firing the workflow's ``escalate`` trigger and
:meth:`Engine.escalate` are the same move: both climb here.
"""

from __future__ import annotations

from typing import Any

from complaint_flow.definitions.escalation import EscalationLevel
from complaint_flow.errors import EscalationError
from complaint_flow.fsm.workflow_machine import CompiledWorkflow
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.channels import written_channels
from complaint_flow.model.entities import SYSTEM, Actor, Complaint, Severity

FINAL_DECISION = "final_decision"
"""``complaint.data[FINAL_DECISION]``: the final response that ended the escalation."""


def refuse_after_final_decision(complaint: Complaint) -> None:
    """A final decision ends a complaint's escalation (mission M7).

    Raises:
        EscalationError: the complaint has a final decision.
    """
    if FINAL_DECISION in complaint.data:
        decided = complaint.data[FINAL_DECISION]
        raise EscalationError(
            f"{complaint.reference} has a final decision (on "
            f"{str(decided.get('at', ''))[:10]} by {decided.get('by_name')}), which ends "
            "its escalation; a new matter is a new complaint, and the customer may take "
            "this one to the ombudsman"
        )


def next_level(complaint: Complaint, compiled: CompiledWorkflow) -> EscalationLevel:
    """The level above the complaint's on its ladder.

    Raises:
        EscalationError: the workflow has no ladder, or the complaint is at its top.
    """
    policy = compiled.definition.escalation
    if policy is None:
        raise EscalationError(
            f"workflow {compiled.name!r} has no escalation ladder; add an [escalation] "
            "table to it (see docs/escalation.md)"
        )
    ladder = policy.ladder_for(complaint.category, complaint.severity)
    return ladder.next_after(complaint.escalation_level)


def written_channels_of(kernel: Kernel, compiled: CompiledWorkflow) -> frozenset[str]:
    """The channels on which a request beyond the escalation cap counts (writing)."""
    policy = compiled.definition.escalation
    configured = policy.written_channels if policy is not None else ()
    return written_channels(configured or None, kernel.registry.channels)


def target_at(
    kernel: Kernel, complaint: Complaint, actor: Actor | None, level: EscalationLevel
) -> Actor:
    """Who takes the complaint at ``level``: the org chart plugin's answer, else the ladder's.

    Asked before anything is drafted, so that a plugin's refusal writes nothing.
    """
    return kernel.registry.escalation_target(complaint, actor, level)


def climb(
    draft: Draft[Complaint],
    actor: Actor | None,
    reason: str,
    level: EscalationLevel,
    target: Actor,
    *,
    urgent: bool = False,
    requested_via: str | None = None,
) -> None:
    """Record an ``escalated`` event: ``target`` at ``level`` becomes the owner and is told."""
    complaint = draft.subject
    data: dict[str, Any] = {
        "from_level": complaint.escalation_level,
        "to_level": level.number,
        "level_title": level.title,
        "owner_id": target.id,
        "owner_name": target.name,
        "guidelines": level.guidelines,
    }
    if requested_via is not None:
        # The customer asked: pattern detection counts these requests.
        data["requested_via"] = requested_via
    draft.record(
        "escalated",
        actor or SYSTEM,
        reason=reason,
        data=data,
        change={"escalation_level": level.number, "owner": target},
        notify=("owner",),
        urgent=urgent or complaint.severity is Severity.EMERGENCY,
    )


def decline_spoken_request(
    draft: Draft[Complaint],
    level: EscalationLevel,
    actor: Actor,
    reason: str,
    requested_via: str,
    written: frozenset[str],
) -> None:
    """Record a request beyond the cap on a non-written channel, and answer how to ask."""
    complaint = draft.subject
    how = ", ".join(sorted(written))
    draft.record(
        "escalation_request_declined",
        actor,
        reason=(
            f"a request to go to level {level.number} ({level.title}) counts only "
            f"in writing; asked on {requested_via}: {reason}"
        ),
        data={
            "requested_via": requested_via,
            "level": level.number,
            "written_channels": sorted(written),
            "how_to_ask": f"send the request in writing ({how}), quoting {complaint.reference}",
        },
        notify=("customer",),
    )
