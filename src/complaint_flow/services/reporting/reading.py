"""Reading a store for reports: the rules from the workflows, the milestones in batches.

The report part of a store (:class:`~complaint_flow.storage.contract.ReportStore`)
reads milestones by rules it is given; this module derives them from the
registered workflows' definitions and streams the milestones batch after batch,
so that nothing is held but the batch being read. Other learning services (the
satisfaction survey, corrective actions) read complaints the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import StoreError
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.storage.contract import ReportStore
from complaint_flow.storage.milestones import (
    DEFAULT_REPEAT_WITHIN,
    ComplaintMilestones,
    MilestoneRules,
    WorkflowRules,
)

BATCH = 2000
"""How many complaints' milestones are read at once."""

DATA_KEYS = ("outcome", "response_category")
"""The keys of a complaint's data that reports read (``docs/reports.md``)."""


class ReportUnavailableError(StoreError):
    """The store has no report part (:class:`~complaint_flow.storage.contract.ReportStore`)."""


def report_store(kernel: Kernel) -> ReportStore:
    """The kernel's store, as the report part.

    Raises:
        ReportUnavailableError: the store does not implement ``ReportStore``.
    """
    store = kernel.store
    if not isinstance(store, ReportStore):
        raise ReportUnavailableError(
            f"the store {store.url!r} ({type(store).__name__}) has no report part: it lacks "
            "report_volumes and report_milestones of ReportStore. Implement them (the rules "
            "are in complaint_flow.storage.milestones.fold_history, the tests in "
            "ReportStoreConformance), or report from a built-in store"
        )
    return store


def workflow_rules(definition: WorkflowDefinition) -> WorkflowRules:
    """What a response and a resolution are in a workflow, read from its definition.

    A response is a transition that tells the customer (``notify`` names
    ``customer``). A complaint is resolved in a terminal state, and in any state
    whose every way out leads to a terminal state: nothing but closing (or a
    withdrawal, or a referral) is left, e.g. ``final_response_sent`` of the FCA
    pack or ``summarised`` of TACTICS.
    """
    terminal = set(definition.terminal_states)
    leaving: dict[str, set[str]] = {}
    for transition in definition.transitions:
        for source in transition.sources:
            leaving.setdefault(source, set()).add(transition.dest)
    settled = {
        state
        for state in definition.state_names
        if state in terminal or (state in leaving and leaving[state] <= terminal)
    }
    answers = {t.trigger for t in definition.transitions if "customer" in t.notify}
    return WorkflowRules(response_triggers=answers, resolution_states=settled)


def milestone_rules(
    kernel: Kernel, repeat_within: timedelta = DEFAULT_REPEAT_WITHIN
) -> MilestoneRules:
    """The rules of every workflow registered with the kernel."""
    workflows = kernel.registry.workflows
    return MilestoneRules(
        {name: workflow_rules(definition) for name, definition in workflows.items()},
        data_keys=DATA_KEYS,
        repeat_within=repeat_within,
    )


def stream_milestones(
    store: ReportStore,
    rules: MilestoneRules,
    *,
    received_after: datetime | None = None,
    received_before: datetime | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> Iterator[ComplaintMilestones]:
    """Every complaint's milestones in the window, read batch after batch.

    Args:
        progress: called with the number of complaints read so far, after each batch.
    """
    after = None
    done = 0
    while True:
        found = store.report_milestones(
            rules,
            received_after=received_after,
            received_before=received_before,
            after=after,
            limit=batch,
        )
        if not found:
            return
        yield from found
        done += len(found)
        if progress is not None:
            progress(done)
        if len(found) < batch:
            return
        after = found[-1].cursor


__all__ = [
    "BATCH",
    "DATA_KEYS",
    "ReportUnavailableError",
    "milestone_rules",
    "report_store",
    "stream_milestones",
    "workflow_rules",
]
