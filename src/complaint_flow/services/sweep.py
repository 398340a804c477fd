"""The sweep: act on due deadline warnings and breaches, exactly once.

A sweep asks the store for complaints whose next due time has passed (an index
lookup: its cost grows with what is due, not with the store), and for each one
records what is due in one version-checked commit: a ``clock_warning`` (the
owner is told the deadline is near), or a ``clock_breached`` (the owner is told,
and the complaint escalates one level if the clock says so). When several
sweepers (threads, processes, hosts) find the same complaint, the version check
lets exactly one of them record each action; the others re-read and find
nothing left to do.

It also sends satisfaction survey reminders and expires surveys whose timer is
due (:func:`complaint_flow.services.satisfaction.act_on_due`; the timer is part
of the same ``due_at``).

The sweep also lapses the stop procedure's restrictions whose review date has
come (``ConductDesk.lapse_due``), through the store's index of review dates;
``SweepReport.lapsed`` counts them. And it tells the owners of corrective actions
whose due time has passed, once per due time (``warn_overdue``);
``SweepReport.overdue_actions`` counts them.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from complaint_flow.arguments import aware_datetime, whole_number
from complaint_flow.definitions.deadlines import BREACHED, WARNED
from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    EscalationError,
    UnknownWorkflowError,
)
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.entities import SYSTEM, Complaint
from complaint_flow.services import escalation, satisfaction
from complaint_flow.services.conduct_desk import ConductDesk
from complaint_flow.services.corrective_actions import warn_overdue


@attrs.frozen
class SweepReport:
    """What one sweep did."""

    at: datetime
    examined: int = 0
    warnings: int = 0
    breaches: int = 0
    escalations: int = 0
    conflicts: int = 0
    """Complaints another writer changed first: re-read and re-checked, not lost."""
    top_of_ladder: int = 0
    """Breaches that could not escalate further: the top level already has them."""
    unknown_workflow: int = 0
    """Due complaints of a workflow this engine does not know: left for an engine that does."""
    lapsed: int = 0
    """Conduct records whose restrictions lapsed at their review date."""
    overdue_actions: int = 0
    """Corrective actions whose owner was told they are overdue."""
    survey_reminders: int = 0
    """Satisfaction survey reminders sent (``docs/satisfaction.md``)."""
    surveys_expired: int = 0
    """Satisfaction surveys that expired unanswered."""

    @property
    def actions(self) -> int:
        """Deadline warnings and breaches recorded (lapses and overdue actions apart)."""
        return self.warnings + self.breaches


def run_sweep(kernel: Kernel, desk: ConductDesk, now: datetime, *, batch: int = 500) -> SweepReport:
    """Process every complaint due at ``now``; see :meth:`Engine.sweep`."""
    now = aware_datetime("now", now)
    batch = whole_number("batch", batch, minimum=1, maximum=100_000)
    counts = {field.name: 0 for field in attrs.fields(SweepReport) if field.name != "at"}
    seen: set[str] = set()
    while True:
        due = [c for c in kernel.store.due(now, batch + len(seen)) if c.id not in seen]
        if not due:
            break
        for complaint in due[:batch]:
            seen.add(complaint.id)
            counts["examined"] += 1
            _act_on(kernel, complaint, now, counts)
    counts["lapsed"] = len(desk.lapse_due(now, batch=batch))
    counts["overdue_actions"] = warn_overdue(kernel, now, batch=batch).warned
    return SweepReport(at=now, **counts)


def _act_on(kernel: Kernel, complaint: Complaint, now: datetime, counts: dict[str, int]) -> None:
    try:
        kernel.workflow(complaint.workflow)
    except UnknownWorkflowError:
        # One unknown workflow must not hold up every complaint due after it.
        counts["unknown_workflow"] += 1
        return
    tally: dict[str, int] = {}
    lost: list[int] = []

    def build(draft: Draft[Complaint]) -> None:
        tally.clear()
        tally.update(
            warnings=0,
            breaches=0,
            escalations=0,
            top_of_ladder=0,
            survey_reminders=0,
            surveys_expired=0,
        )
        compiled = kernel.workflow(draft.base.workflow)
        for clock, state, action in compiled.clocks.due_actions(draft.base.clocks, now):
            title = clock.title or clock.name
            if action == "warning":
                draft.record(
                    WARNED,
                    SYSTEM,
                    reason=f"{title}: deadline {state.deadline.isoformat()} is near",
                    data={"clock": clock.name, "deadline": state.deadline.isoformat()},
                    notify=("owner",),
                    topic="deadline_warning",
                )
                tally["warnings"] += 1
                continue
            draft.record(
                BREACHED,
                SYSTEM,
                reason=f"{title}: deadline {state.deadline.isoformat()} missed",
                data={"clock": clock.name, "deadline": state.deadline.isoformat()},
                notify=("owner",) if "notify" in clock.on_breach else (),
                topic="deadline_missed",
            )
            tally["breaches"] += 1
            if "escalate" in clock.on_breach and compiled.definition.escalation is not None:
                try:
                    level = escalation.next_level(draft.subject, compiled)
                    target = escalation.target_at(kernel, draft.subject, None, level)
                    escalation.climb(draft, None, f"{title}: deadline missed", level, target)
                except EscalationError:
                    tally["top_of_ladder"] += 1
                else:
                    tally["escalations"] += 1
        surveyed = satisfaction.act_on_due(kernel, draft, now)
        tally["survey_reminders"] += surveyed.reminders
        tally["surveys_expired"] += surveyed.expired

    try:
        kernel.change(
            complaint.id,
            build,
            retries=RETRIES,
            start=complaint,
            lost_race=lambda: lost.append(1),
        )
    except ComplaintNotFoundError:
        return  # purged meanwhile: nothing left to act on
    except ConcurrencyError:
        return  # it kept changing: the next sweep finds what is still due
    finally:
        if lost:
            counts["conflicts"] += 1
    for key, value in tally.items():
        counts[key] += value
