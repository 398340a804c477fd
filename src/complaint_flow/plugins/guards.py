"""Named guards a workflow transition can require, and the built-in ones.

A guard looks at the complaint, the actor and the data given with the trigger,
and returns ``None`` to allow the transition or a sentence saying why not.
Plugins add guards with the ``complaint_flow_register_guards`` hook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from complaint_flow.model.entities import Actor, Complaint
from complaint_flow.plugins.hookspecs import hookimpl

Guard = Callable[[Complaint, Actor, Mapping[str, Any]], str | None]


def owner_with_contact(complaint: Complaint, actor: Actor, data: Mapping[str, Any]) -> str | None:
    """ "I'll put it right": a named owner the customer can reach by phone or email."""
    if complaint.owner is None:
        return "the complaint has no owner: assign one with engine.assign() first"
    if not complaint.owner.has_contact:
        return (
            f"owner {complaint.owner.name!r} has no phone or email the customer can use; "
            "assign an owner with contact details"
        )
    return None


@hookimpl(trylast=True)
def complaint_flow_register_guards(register: Callable[[str, Guard], None]) -> None:
    register("owner_with_contact", owner_with_contact)
