"""Routing replies to customers with what the kernel knows: channels, bounces, restrictions.

The rule itself is :func:`complaint_flow.model.reply_routing.route_reply`; this module
feeds it the engine's registered channels, the addresses a bounce marked
undeliverable on the complaint, and, only when the chosen channel is not a written
one, the customer's conduct record (a customer restricted to writing is answered in
writing, mission M9). Reading the record only then keeps the common case, a reply by
email or letter, free of a store read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from complaint_flow.model.channels import Channel
from complaint_flow.model.conduct import ConductRecord, RestrictionKind
from complaint_flow.model.entities import Complaint
from complaint_flow.model.reply_routing import ReplyRoute, route_reply

UNDELIVERABLE_KEY = "undeliverable_addresses"
"""Where a complaint's data lists addresses a bounce marked undeliverable (address → why)."""


class ReplyRouter:
    """Chooses each customer reply's channel and address.

    Args:
        channels: the registered channels by name.
        written: the channels that count as writing (the conduct policy's).
        conduct_record: reads a customer's conduct record by customer id.
    """

    __slots__ = ("channels", "conduct_record", "written")

    def __init__(
        self,
        channels: Mapping[str, Channel],
        written: frozenset[str],
        conduct_record: Callable[[str], ConductRecord | None],
    ) -> None:
        self.channels = channels
        self.written = written
        self.conduct_record = conduct_record

    def route(self, complaint: Complaint, now: datetime) -> ReplyRoute:
        """Where a reply to ``complaint``'s customer goes at ``now``."""
        undeliverable = undeliverable_addresses(complaint)
        route = route_reply(complaint, self.channels, undeliverable=undeliverable)
        if route.reachable and route.channel in self.written:
            return route
        record = self.conduct_record(complaint.customer.id)
        if record is None or not record.in_force_at(now):
            return route
        if record.restriction(RestrictionKind.WRITTEN_ONLY) is None:
            return route
        allowed = self.written | {c for a in record.adjustments for c in a.channels}
        return route_reply(
            complaint, self.channels, written_only=allowed, undeliverable=undeliverable
        )


def undeliverable_addresses(complaint: Complaint) -> tuple[str, ...]:
    """The addresses a bounce marked undeliverable on this complaint."""
    marked = complaint.data.get(UNDELIVERABLE_KEY)
    if not isinstance(marked, Mapping):
        return ()
    return tuple(str(address) for address in marked)


__all__ = ["UNDELIVERABLE_KEY", "ReplyRouter", "undeliverable_addresses"]
