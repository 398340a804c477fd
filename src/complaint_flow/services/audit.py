"""Checking the tamper-evident audit trails: a store's, or one trail's, event by event.

Each event of a trail carries a hash chained to the one before it (see
:mod:`complaint_flow.storage.hashing`), and a complaint's (or conduct record's)
latest version keeps the hash of its last event as ``audit_head``. An event
altered, removed or reordered behind the library's back breaks that chain, which
:func:`verify_events` reports; :func:`verify_store` walks every trail of a store.

>>> from datetime import datetime, timezone
>>> from complaint_flow.model.entities import Event, SYSTEM
>>> from complaint_flow.storage.hashing import chain_events
>>> e = Event(complaint_id="c1", seq=1, kind="received",
...           at=datetime(2026, 1, 5, tzinfo=timezone.utc),
...           actor=SYSTEM, reason="", data={"channel": "email"})
>>> chained = chain_events(None, (e,))
>>> verify_events("c1", chained, head=chained[-1].hash) == []
True
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.conduct import CONDUCT_PREFIX, conduct_record_id
from complaint_flow.model.entities import Complaint, Event
from complaint_flow.storage.contract import Store
from complaint_flow.storage.hashing import event_hash

ERASURE_KIND = "customer_erased"
"""The kind of the event that records an erasure (see :mod:`complaint_flow.services.privacy`).

Its data lists the erased events (``redacted_seqs``); it is hash-chained like any
event, so that list is what vouches for every ``redacted`` digest before it.
"""


@attrs.frozen
class AuditProblem:
    """One break in an audit trail: where it is and what is wrong."""

    subject: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.subject} event {self.seq}" if self.seq is not None else self.subject
        return f"{where}: {self.problem}"


def verify_events(
    subject: str, events: Sequence[Event], *, head: str | None = None, version: int | None = None
) -> list[AuditProblem]:
    """Every break in one complaint's (or conduct record's) stored audit trail.

    Args:
        subject: the complaint id (or ``conduct:<customer id>``) the events belong to.
        events: its events as stored, in stored order.
        head: the ``audit_head`` of its latest version, if known: catches the
            removal of its last events.
        version: its latest version, if known: catches missing events at the end.

    Returns:
        An empty list when the trail is intact; otherwise one problem per break
        (an altered event, a gap, an event out of order, a foreign event).
    """
    problems: list[AuditProblem] = []
    previous: str | None = None
    expected_seq = 1
    for event in events:
        if event.complaint_id != subject:
            problems.append(AuditProblem(subject, event.seq, f"belongs to {event.complaint_id!r}"))
        if event.seq != expected_seq:
            what = "missing or reordered" if event.seq > expected_seq else "out of order"
            problems.append(
                AuditProblem(
                    subject, event.seq, f"expected event {expected_seq} here ({what} events)"
                )
            )
        if event.hash is None:
            problems.append(AuditProblem(subject, event.seq, "carries no hash"))
        elif event.hash != event_hash(previous, event):
            problems.append(
                AuditProblem(
                    subject,
                    event.seq,
                    "hash does not match its content and the event before it "
                    "(altered, or an earlier event was altered, removed or reordered)",
                )
            )
        previous = event.hash
        expected_seq = event.seq + 1
    if version is not None and expected_seq - 1 != version:
        problems.append(
            AuditProblem(
                subject,
                None,
                f"the latest version is {version} but the trail ends at event {expected_seq - 1}",
            )
        )
    if head is not None and previous != head:
        problems.append(
            AuditProblem(subject, None, "the last event's hash is not the recorded audit head")
        )
    return problems


def verify_erasures(subject: str, events: Sequence[Event]) -> list[AuditProblem]:
    """Every event of a trail marked as erased that no erasure event of the trail vouches for.

    An erased event's hash covers the digest kept in ``Event.redacted`` instead of
    its content, so on its own it cannot show that the content was not rewritten
    afterwards. What vouches for it is the later ``customer_erased`` event that
    lists it (``redacted_seqs``), whose own hash covers that list. Run it with
    :func:`verify_events` (as :func:`verify_store` does).

    Args:
        subject: the complaint id (or ``conduct:<customer id>``) the events belong to.
        events: its events as stored, in stored order.

    Returns:
        One problem per event that carries ``redacted`` without a later erasure
        event of ``subject`` listing it; empty when there is none.
    """
    erased: set[int] = set()
    for event in events:
        if event.kind != ERASURE_KIND or event.complaint_id != subject:
            continue
        seqs = event.data.get("redacted_seqs", ())
        if isinstance(seqs, list | tuple):
            erased.update(seq for seq in seqs if type(seq) is int and seq < event.seq)
    return [
        AuditProblem(
            subject,
            event.seq,
            f"marked as erased but no later {ERASURE_KIND} event lists it: its content "
            "may have been altered",
        )
        for event in events
        if event.redacted is not None and event.seq not in erased
    ]


@attrs.frozen
class AuditReport:
    """What :func:`verify_store` checked and every break it found.

    ``complaints``, ``conduct_records`` and ``events`` count what was checked;
    ``problems`` lists every break, complaint by complaint (empty when every
    trail is intact).
    """

    complaints: int
    conduct_records: int
    events: int
    problems: tuple[AuditProblem, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every checked trail is intact."""
        return not self.problems

    @property
    def subjects(self) -> tuple[str, ...]:
        """The complaints (and conduct records) with at least one problem, in report order."""
        return tuple(dict.fromkeys(problem.subject for problem in self.problems))


def verify_store(store: Store, *, complaint_ids: Sequence[str] | None = None) -> AuditReport:
    """Verify the audit trail of every complaint and conduct record in ``store``.

    Each trail is checked with :func:`verify_events` against the ``audit_head``
    and ``version`` of its latest stored version, so an event altered, removed
    (even the last one) or reordered is reported, and with
    :func:`verify_erasures`, so an alteration disguised as an erasure is too.

    Args:
        store: the store to check.
        complaint_ids: check only these complaints (ids, not references); a
            ``conduct:<customer id>`` entry checks that customer's conduct
            record. By default every complaint and every conduct record.

    Raises:
        ComplaintNotFoundError: one of ``complaint_ids`` is not a stored complaint.
        InvalidArgumentError: ``complaint_ids`` is a single text instead of a list,
            or names a conduct record that does not exist.
    """
    complaints: list[Complaint]
    customers: list[str]
    if complaint_ids is None:
        complaints = store.find()
        customers = [record.customer_id for record in store.conduct_find()]
    else:
        if isinstance(complaint_ids, str):
            raise InvalidArgumentError(
                f"complaint_ids must be a list of ids, not the text {complaint_ids!r}; "
                f"write complaint_ids=[{complaint_ids!r}]"
            )
        complaints = [
            store.get(complaint_id)
            for complaint_id in complaint_ids
            if not complaint_id.startswith(CONDUCT_PREFIX)
        ]
        customers = [
            complaint_id.removeprefix(CONDUCT_PREFIX)
            for complaint_id in complaint_ids
            if complaint_id.startswith(CONDUCT_PREFIX)
        ]
    problems: list[AuditProblem] = []
    events_checked = 0
    for complaint in complaints:
        events = store.events(complaint.id)
        events_checked += len(events)
        problems.extend(
            verify_events(
                complaint.id, events, head=complaint.audit_head, version=complaint.version
            )
        )
        problems.extend(verify_erasures(complaint.id, events))
    records_checked = 0
    for customer_id in customers:
        record = store.conduct_get(customer_id)
        if record is None:
            raise InvalidArgumentError(
                f"customer {customer_id!r} has no conduct record to verify; check the id "
                f"({conduct_record_id(customer_id)!r})"
            )
        records_checked += 1
        events = store.conduct_events(customer_id)
        events_checked += len(events)
        problems.extend(
            verify_events(record.id, events, head=record.audit_head, version=record.version)
        )
        problems.extend(verify_erasures(record.id, events))
    return AuditReport(
        complaints=len(complaints),
        conduct_records=records_checked,
        events=events_checked,
        problems=tuple(problems),
    )


__all__ = [
    "ERASURE_KIND",
    "AuditProblem",
    "AuditReport",
    "verify_erasures",
    "verify_events",
    "verify_store",
]
