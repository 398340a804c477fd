"""The built-in answer to who takes an escalated complaint: the ladder level itself.

A ``trylast`` default plugin: a host's org chart (any plugin implementing
``complaint_flow_escalation_target``) answers first, and this one only when
nobody else does. A level marked ``placeholder = true`` (the shipped packs'
example contacts) is still answered, with a :class:`PlaceholderContactWarning`,
so that examples and tests run while nobody mistakes them for a real set-up.
"""

from __future__ import annotations

import warnings

from complaint_flow.definitions.escalation import EscalationLevel, static_ladder_target
from complaint_flow.errors import PlaceholderContactWarning
from complaint_flow.model.entities import Actor, Complaint
from complaint_flow.plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def complaint_flow_escalation_target(
    complaint: Complaint, actor: Actor | None, level: EscalationLevel
) -> Actor:
    """The static ladder: the level's own contact takes the complaint."""
    if level.placeholder:
        # An emergency is escalated as it is received, before it has a reference.
        which = complaint.reference or "a complaint being received"
        warnings.warn(
            f"{which} was escalated to level {level.number} ({level.title}), "
            f"whose contact ({level.contact}) is a placeholder: its messages reach nobody. "
            "Copy the workflow pack, give the level a real email or phone and remove "
            "'placeholder = true', or answer the complaint_flow_escalation_target hook "
            "with the people of your org chart",
            PlaceholderContactWarning,
            stacklevel=1,
        )
    return static_ladder_target(level)
