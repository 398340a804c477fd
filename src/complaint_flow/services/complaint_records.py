"""Recording what happens on a complaint besides transitions: notes, owners, reply
channels, remedies.

Each is one event drafted on the latest version in a unit of work, so a note added
while someone else moves the complaint is retried on the new version, not lost.
"""

from __future__ import annotations

from typing import Any

from complaint_flow.definitions.remedies import Remedy, check_authority
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.entities import Actor, Complaint
from complaint_flow.model.immutable import freeze_mapping


def add_note(
    kernel: Kernel,
    complaint_id: str,
    text: str,
    actor: Actor,
    *,
    expected_version: int | None,
    retries: int,
) -> Complaint:
    """A note in the audit trail (a phone call, a finding, a promise made)."""

    def build(draft: Draft[Complaint]) -> None:
        draft.record("note", actor, reason=text)

    return kernel.change(complaint_id, build, expected_version=expected_version, retries=retries)[0]


def assign(
    kernel: Kernel,
    complaint_id: str,
    owner: Actor,
    actor: Actor,
    reason: str,
    *,
    expected_version: int | None,
    retries: int,
) -> Complaint:
    """Make ``owner`` the named person responsible; the owner is told."""

    def build(draft: Draft[Complaint]) -> None:
        draft.record(
            "assigned",
            actor,
            reason=reason,
            data={"owner_id": owner.id, "owner_name": owner.name},
            change={"owner": owner},
            notify=("owner",),
        )

    return kernel.change(complaint_id, build, expected_version=expected_version, retries=retries)[0]


def change_reply_channel(
    kernel: Kernel,
    complaint_id: str,
    channel: str,
    actor: Actor,
    consent: str,
    *,
    expected_version: int | None,
    retries: int,
) -> Complaint:
    """Reply on ``channel`` from now on, with the customer's recorded consent (mission M2)."""

    def build(draft: Draft[Complaint]) -> None:
        draft.record(
            "reply_channel_changed",
            actor,
            reason=consent,
            data={"from": draft.base.reply_channel, "to": channel},
            change={"preferred_channel": channel},
        )

    return kernel.change(complaint_id, build, expected_version=expected_version, retries=retries)[0]


def grant_remedy(
    kernel: Kernel,
    complaint_id: str,
    remedy: Remedy,
    actor: Actor,
    reason: str,
    *,
    expected_version: int | None,
    retries: int,
) -> Complaint:
    """Grant a remedy within the actor's authority (mission M12); the customer is told.

    Raises:
        AuthorityExceededError: the amount is above what the actor's rank may grant.
    """

    def build(draft: Draft[Complaint]) -> None:
        complaint = draft.base
        policy = kernel.workflow(complaint.workflow).definition.escalation
        if policy is not None:
            check_authority(
                policy.ladder_for(complaint.category, complaint.severity), actor, remedy
            )
        granted: list[Any] = [*complaint.data.get("remedies", ()), remedy.as_data()]
        draft.record(
            "remedy_granted",
            actor,
            reason=reason,
            data=remedy.as_data(),
            change={"data": freeze_mapping({**complaint.data, "remedies": granted})},
            notify=("customer",),
        )

    return kernel.change(complaint_id, build, expected_version=expected_version, retries=retries)[0]
