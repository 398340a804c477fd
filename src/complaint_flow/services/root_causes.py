"""Classifying a complaint's root cause, as an audited event on the complaint.

The cause is one of a taxonomy's (:mod:`complaint_flow.definitions.root_causes`): the
one the host passes, else the one the complaint's workflow carries (``[root_causes]``),
else the default shipped with complaint_flow. Each classification is a
``root_cause_classified`` event (who, when, the cause, the one it replaces, why) and
the current cause is kept on the complaint as ``data["root_cause"]``, so reports read
it with the complaint. Reclassifying needs a reason; the history keeps every cause.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from complaint_flow.arguments import instance, name, text
from complaint_flow.definitions.root_causes import (
    RootCause,
    RootCauseTaxonomy,
    default_root_causes,
)
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.entities import Actor, Complaint, Event
from complaint_flow.model.immutable import freeze_mapping

CLASSIFIED = "root_cause_classified"
"""The kind of the event that records a complaint's root cause."""

ROOT_CAUSE_KEY = "root_cause"
"""Where a complaint's ``data`` keeps its current root cause."""

_ACTOR = "Actor(id=..., name=..., role=...)"
_TAXONOMY = "RootCauseTaxonomy.from_dict({'causes': {...}})"


def taxonomy_for(
    kernel: Kernel, complaint: Complaint, taxonomy: RootCauseTaxonomy | None = None
) -> RootCauseTaxonomy:
    """The taxonomy ``complaint`` is classified in: ``taxonomy`` if given (the host's),
    else its workflow's ``[root_causes]``, else the default one."""
    return workflow_taxonomy(kernel, complaint.workflow, taxonomy)


def workflow_taxonomy(
    kernel: Kernel, workflow: str | None, taxonomy: RootCauseTaxonomy | None = None
) -> RootCauseTaxonomy:
    """The taxonomy of ``workflow``'s complaints: ``taxonomy`` if given (the host's), else
    the workflow's ``[root_causes]`` (if a workflow is named), else the default one.

    Raises:
        UnknownWorkflowError: no workflow of that name is registered.
    """
    if taxonomy is not None:
        return taxonomy
    own = None if workflow is None else kernel.workflow(name("workflow", workflow)).definition
    if own is not None and own.root_causes is not None:
        return own.root_causes
    return default_root_causes()


def root_cause_of(complaint: Complaint) -> Mapping[str, Any] | None:
    """The complaint's current root cause (``cause``, ``title``, ``group``, ``action``,
    ``by``, ``at``), or None if it was never classified."""
    found = complaint.data.get(ROOT_CAUSE_KEY)
    return found if isinstance(found, Mapping) else None


def classify_root_cause(
    kernel: Kernel,
    complaint_id: str,
    cause: str,
    actor: Actor,
    reason: str = "",
    *,
    taxonomy: RootCauseTaxonomy | None = None,
    retries: int = RETRIES,
) -> Complaint:
    """Record ``cause`` as the complaint's root cause; return the complaint.

    Giving the cause it already has changes nothing (no event). Giving another one
    reclassifies it: that needs a ``reason``, and the event names the cause replaced.

    Args:
        kernel: the engine's kernel.
        complaint_id: the complaint's id or reference.
        cause: the name of a cause of the taxonomy.
        actor: who classifies.
        reason: why (required to reclassify).
        taxonomy: the host's taxonomy, instead of the workflow's or the default one.
        retries: fresh attempts after a lost race (the cause means the same on the
            next version).

    Raises:
        UnknownRootCauseError: the taxonomy has no such cause; the message lists them.
        InvalidArgumentError: a malformed argument, or a reclassification without a reason.
        ComplaintNotFoundError: no such complaint.
    """
    actor = instance("actor", actor, Actor, _ACTOR)
    cause = name("cause", cause)
    reason = text("reason", reason, blank=True)
    if taxonomy is not None:
        taxonomy = instance("taxonomy", taxonomy, RootCauseTaxonomy, _TAXONOMY)

    def build(draft: Draft[Complaint]) -> None:
        chosen = taxonomy_for(kernel, draft.base, taxonomy).cause(cause)
        current = root_cause_of(draft.base)
        previous = current.get("cause") if current is not None else None
        if previous == chosen.name:
            return
        if previous is not None and not reason:
            raise InvalidArgumentError(
                f"complaint {draft.base.reference} already has the root cause {previous!r}; "
                f"give a reason to reclassify it as {chosen.name!r}"
            )
        record = _recorded(chosen, actor, draft.now.isoformat())
        draft.record(
            CLASSIFIED,
            actor,
            reason=reason,
            data={**record, "previous": previous},
            change={"data": freeze_mapping({**draft.base.data, ROOT_CAUSE_KEY: record})},
        )

    stored, _ = kernel.change(complaint_id, build, retries=retries)
    return stored


def root_cause_history(kernel: Kernel, complaint_id: str) -> list[Event]:
    """The complaint's root cause classifications, oldest first.

    Raises:
        ComplaintNotFoundError: no such complaint.
    """
    complaint = kernel.complaint(complaint_id)
    return [event for event in kernel.store.events(complaint.id) if event.kind == CLASSIFIED]


def _recorded(cause: RootCause, actor: Actor, at: str) -> dict[str, Any]:
    return {
        "cause": cause.name,
        "title": cause.title,
        "group": cause.group,
        "action": cause.action.value if cause.action is not None else None,
        "by": actor.id,
        "at": at,
    }


__all__ = [
    "CLASSIFIED",
    "ROOT_CAUSE_KEY",
    "classify_root_cause",
    "root_cause_history",
    "root_cause_of",
    "taxonomy_for",
    "workflow_taxonomy",
]
