"""The built-in answer to who takes an escalated complaint: the ladder level itself.

A ``trylast`` default plugin: a host's org chart (any plugin implementing
``complaint_flow_escalation_target``) answers first, and this one only when
nobody else does.
"""

from __future__ import annotations

from complaint_flow.definitions.escalation import EscalationLevel, static_ladder_target
from complaint_flow.model.entities import Actor, Complaint
from complaint_flow.plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def complaint_flow_escalation_target(
    complaint: Complaint, actor: Actor | None, level: EscalationLevel
) -> Actor:
    """The static ladder: the level's own contact takes the complaint."""
    return static_ladder_target(level)
