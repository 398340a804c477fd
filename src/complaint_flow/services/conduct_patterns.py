"""Patterns that suggest a customer's conduct be looked at: suggestions, never decisions.

:meth:`Engine.conduct_patterns <complaint_flow.Engine.conduct_patterns>` reads
complaints and conduct records and returns :class:`PatternFlag` s for a human to
review. It changes nothing: no warning, no restriction, no event.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.conduct import ReviewReason
from complaint_flow.model.entities import Complaint

MANY_COMPLAINTS = "many_complaints"
REPEATS_AFTER_FINAL = "repeats_after_final"
ESCALATION_REQUESTS = "escalation_requests"


@attrs.frozen
class PatternFlag:
    """One pattern seen for one customer, for a human to review.

    ``pattern`` is ``many_complaints``, ``repeats_after_final`` or
    ``escalation_requests``; ``count`` how many were seen since ``since``;
    ``references`` the complaints involved; ``seen`` says it in words.
    """

    customer_id: str
    customer_name: str
    pattern: str
    count: int
    since: datetime
    references: tuple[str, ...]
    seen: str


def _positive(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidArgumentError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def conduct_patterns(
    kernel: Kernel,
    now: datetime,
    window_days: int,
    many_complaints: int,
    repeats_after_final: int,
    escalation_requests: int,
) -> list[PatternFlag]:
    """Customers whose recent contact shows a pattern; see :meth:`Engine.conduct_patterns`."""
    _positive("window_days", window_days)
    _positive("many_complaints", many_complaints)
    _positive("repeats_after_final", repeats_after_final)
    _positive("escalation_requests", escalation_requests)
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidArgumentError("now must be a timezone-aware datetime")
    since = now - timedelta(days=window_days)
    recent = kernel.store.find(received_after=since)
    by_customer: dict[str, list[Complaint]] = defaultdict(list)
    for complaint in recent:
        by_customer[complaint.customer.id].append(complaint)
    flags: list[PatternFlag] = []
    for customer_id, complaints in by_customer.items():
        if len(complaints) >= many_complaints:
            flags.append(
                PatternFlag(
                    customer_id,
                    complaints[0].customer.name,
                    MANY_COMPLAINTS,
                    len(complaints),
                    since,
                    tuple(c.reference for c in complaints),
                    f"{len(complaints)} complaints received in the last {window_days} days "
                    f"(flagged from {many_complaints})",
                )
            )
    flags.extend(_repeats_after_final(kernel, since, window_days, repeats_after_final))
    flags.extend(_escalation_requests(kernel, by_customer, since, window_days, escalation_requests))
    return sorted(flags, key=lambda flag: (flag.customer_id, flag.pattern))


def _repeats_after_final(
    kernel: Kernel, since: datetime, window_days: int, threshold: int
) -> list[PatternFlag]:
    """Messages re-raising decided matters (linked contacts), from the records' events."""
    flags = []
    for record in kernel.store.conduct_find():
        linked = [
            event
            for event in kernel.store.conduct_events(record.customer_id)
            if event.kind == "contact_filed"
            and event.at >= since
            and event.data.get("reason") == ReviewReason.DECIDED_MATTER.value
        ]
        if len(linked) >= threshold:
            matters = tuple(dict.fromkeys(str(e.data.get("regarding")) for e in linked))
            flags.append(
                PatternFlag(
                    record.customer_id,
                    record.customer.name,
                    REPEATS_AFTER_FINAL,
                    len(linked),
                    since,
                    matters,
                    f"{len(linked)} messages in the last {window_days} days re-raised "
                    f"matters with a final decision ({', '.join(matters)})",
                )
            )
    return flags


def _escalation_requests(
    kernel: Kernel,
    by_customer: dict[str, list[Complaint]],
    since: datetime,
    window_days: int,
    threshold: int,
) -> list[PatternFlag]:
    """Escalations the customer asked for (granted or declined) on their recent complaints."""
    flags = []
    for customer_id, complaints in by_customer.items():
        references: list[str] = []
        for complaint in complaints:
            for event in kernel.store.events(complaint.id):
                asked = event.kind == "escalation_request_declined" or (
                    event.kind == "escalated" and event.data.get("requested_via")
                )
                if asked and event.at >= since:
                    references.append(complaint.reference)
        if len(references) >= threshold:
            flags.append(
                PatternFlag(
                    customer_id,
                    complaints[0].customer.name,
                    ESCALATION_REQUESTS,
                    len(references),
                    since,
                    tuple(dict.fromkeys(references)),
                    f"{len(references)} escalation requests in the last {window_days} days "
                    f"on complaints received in that window",
                )
            )
    return flags


__all__ = [
    "ESCALATION_REQUESTS",
    "MANY_COMPLAINTS",
    "REPEATS_AFTER_FINAL",
    "PatternFlag",
    "conduct_patterns",
]
