"""The two aggregates a draft can change: a complaint and a customer's conduct record.

A complaint advances through its workflow (state, data, deadline clocks and the
indexed due time) and addresses notifications by role: the customer on their reply
channel (mission M2), the owner by email else phone, the department at its routing
contact. A conduct record advances by plain field changes; its letters are built by
the stop procedure and added to the draft as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, cast

import attrs

from complaint_flow.errors import StoreError
from complaint_flow.fsm.workflow_machine import CompiledWorkflow
from complaint_flow.kernel.reply_router import ReplyRouter
from complaint_flow.model.channel_records import MessageLink
from complaint_flow.model.conduct import ConductRecord
from complaint_flow.model.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.model.reply_routing import is_anonymous
from complaint_flow.model.timers import TIMERS_KEY, earliest, timers_due
from complaint_flow.storage.contract import Commit, ConductCommit, Store
from complaint_flow.storage.hashing import Chain

URGENT_HOLD = timedelta(minutes=2)
"""How long other dispatchers leave an urgent message to the engine delivering it at once."""


def contact(
    complaint: Complaint,
    recipient: str,
    compiled: CompiledWorkflow,
    router: ReplyRouter | None = None,
    now: datetime | None = None,
) -> tuple[str, str | None, str, str | None] | None:
    """``(channel, address, name, unreachable)`` of a recipient by role.

    None when a member of staff has no contact, or the complaint is anonymous
    (nobody can be told). The customer is
    always told, on the channel the ``router`` chooses; when nothing reaches them,
    ``address`` is None and ``unreachable`` says why.
    """
    if recipient == "customer":
        if is_anonymous(complaint):
            return None
        if router is None or now is None:
            channel = complaint.reply_channel
            address = complaint.customer.address_for(channel)
            return channel, address, complaint.customer.name, None
        route = router.route(complaint, now)
        why = None if route.reachable else route.why
        return route.channel, route.address, complaint.customer.name, why
    if recipient == "owner":
        owner = complaint.owner
        if owner is None or not owner.has_contact:
            return None
        channel = "email" if owner.email else "phone"
        return channel, owner.email or owner.phone, owner.name, None
    if recipient == "department" and complaint.department:
        policy = compiled.definition.escalation
        routings = policy.routing if policy else ()
        routing = next((r for r in routings if r.department == complaint.department), None)
        if routing is None or not (routing.email or routing.phone):
            return None
        channel = "email" if routing.email else "phone"
        return channel, routing.email or routing.phone, routing.department, None
    return None


def notifications(
    complaint: Complaint,
    recipients: tuple[str, ...],
    event: Event,
    topic: str,
    compiled: CompiledWorkflow,
    *,
    urgent: bool = False,
    router: ReplyRouter | None = None,
    letter: str | None = None,
) -> tuple[OutboxMessage, ...]:
    """Outbox messages telling ``recipients`` about ``event``, each on the right channel.

    A staff recipient with no known contact is skipped: nobody can be told. A
    customer nothing can reach gets a message all the same, kept *unreachable* with
    the reason (never reported delivered), so that someone sees it and can act.
    """
    messages = []
    for recipient in recipients:
        found = contact(complaint, recipient, compiled, router, event.at)
        if found is None:
            continue
        channel, address, name, unreachable = found
        # Notifiers also receive the complaint; the payload keeps what the message
        # said when it was decided, built frozen (values are frozen already).
        payload: dict[str, Any] = {"name": name, "state": complaint.state}
        if urgent:
            payload["urgent"] = True
        if event.kind != "transition" and event.data:
            payload["details"] = event.data
        if letter is not None and recipient == "customer":
            payload["letter"] = letter
        message = OutboxMessage.pending(
            f"{complaint.id}:{event.seq}:{recipient}",
            complaint.id,
            event.seq,
            f"{complaint.workflow}.{topic}",
            recipient,
            channel,
            address,
            event.at,
            MappingProxyType(payload),
        )
        if unreachable is not None:
            message = attrs.evolve(message, status=OutboxStatus.UNREACHABLE, last_error=unreachable)
        elif urgent:
            # The engine that commits an urgent message delivers it at once; holding
            # it from other dispatchers meanwhile keeps it from being sent twice.
            # Should that engine die first, a dispatcher sends it after the hold.
            message = attrs.evolve(message, next_attempt_at=event.at + URGENT_HOLD)
        messages.append(message)
    return tuple(messages)


class ComplaintAggregate:
    """A complaint following its compiled workflow."""

    __slots__ = ("compiled", "letters", "reference_prefix", "router")

    def __init__(
        self,
        compiled: CompiledWorkflow,
        reference_prefix: str | None = None,
        router: ReplyRouter | None = None,
    ) -> None:
        self.compiled = compiled
        self.reference_prefix = reference_prefix
        self.router = router
        """Routes replies to the customer (None: the reply channel, as it stands)."""
        self.letters = {
            t.trigger: t.letter for t in compiled.definition.transitions if t.letter is not None
        }
        """The letter each step sends the customer, by trigger (the workflow's ``letter``)."""
        """For a creation: the prefix of the reference the store allocates."""

    def advance(
        self, subject: Complaint, event: Event, change: Mapping[str, Any], merge_data: bool
    ) -> Complaint:
        """The complaint after ``event``: state, data, clocks, due time and audit head.

        Clocks are a fold over the events; a change that sets ``clocks`` itself (a
        replay with a new definition, clocks already folded for a batch) is taken as
        given. The due time is the earliest of the clocks' and of the timers services
        keep in the data (:mod:`complaint_flow.model.timers`). The audit head is the
        event's hash (drafts hash events as they record them).
        """
        changes = {**change, "audit_head": event.hash}
        compiled = self.compiled
        book = compiled.clocks
        if compiled.has_clocks and "clocks" not in change:
            clocks = book.apply(subject.clocks, event)
            if clocks is not subject.clocks:
                changes["clocks"] = clocks
                changes["due_at"] = book.due_at(clocks)
        data = changes.pop("data") if "data" in change else subject.data
        if merge_data and event.data:
            # Both sides are frozen already (read-only views, as the entities' converters
            # make them), so their union needs no deep freeze: ``|`` on two views gives
            # a new dict of their own dicts, several times faster than unpacking them.
            merged = cast("MappingProxyType[str, Any]", subject.data) | event.data
            data = MappingProxyType(merged)
        if ("due_at" in changes or data is not subject.data) and (
            TIMERS_KEY in data or TIMERS_KEY in subject.data
        ):
            # A service's timers (model/timers.py) share the indexed due time with the clocks.
            clocks_due = (
                changes["due_at"]
                if "due_at" in changes
                else book.due_at(changes.get("clocks", subject.clocks))
            )
            changes["due_at"] = earliest(clocks_due, timers_due(data.get(TIMERS_KEY)))
        return subject.advanced(event.dest or subject.state, event.seq, event.at, data, **changes)

    def notifications(
        self,
        subject: Complaint,
        recipients: tuple[str, ...],
        event: Event,
        topic: str,
        urgent: bool,
    ) -> tuple[OutboxMessage, ...]:
        return notifications(
            subject,
            recipients,
            event,
            topic,
            self.compiled,
            urgent=urgent,
            router=self.router,
            letter=self.letters.get(topic),
        )

    def write(
        self,
        store: Store,
        subject: Complaint,
        expected_version: int,
        events: Chain,
        outbox: tuple[OutboxMessage, ...],
        links: tuple[MessageLink, ...] = (),
    ) -> tuple[Complaint, tuple[Event, ...]]:
        commit = self.commit(subject, expected_version, events, outbox, links)
        return store.commit(commit), commit.events

    def rewrite(
        self,
        store: Store,
        subject: Complaint,
        expected_version: int,
        events: Chain,
        replaced_events: tuple[Event, ...],
        replaced_messages: tuple[OutboxMessage, ...],
    ) -> tuple[Complaint, tuple[Event, ...]]:
        commit = self.commit(subject, expected_version, events, ())
        return store.rewrite(commit, replaced_events, replaced_messages), commit.events

    def commit(
        self,
        subject: Complaint,
        expected_version: int,
        events: tuple[Event, ...] | Chain,
        outbox: tuple[OutboxMessage, ...],
        links: tuple[MessageLink, ...] = (),
    ) -> Commit:
        """The checked, hash-chained commit of a draft (for a batch of creations too).

        ``events`` is best the draft's chain: its events already carry their hashes.
        """
        prefix = self.reference_prefix if expected_version == 0 else None
        return Commit.build(subject, expected_version, events, outbox, prefix, links)


class ConductAggregate:
    """A customer's conduct record: field changes; letters come ready-made."""

    __slots__ = ()

    def advance(
        self, subject: ConductRecord, event: Event, change: Mapping[str, Any], merge_data: bool
    ) -> ConductRecord:
        return subject.evolve(
            version=event.seq, updated_at=event.at, audit_head=event.hash, **change
        )

    def notifications(
        self,
        subject: ConductRecord,
        recipients: tuple[str, ...],
        event: Event,
        topic: str,
        urgent: bool,
    ) -> tuple[OutboxMessage, ...]:
        raise NotImplementedError(
            "a conduct record's letters are built by the stop procedure: add them with Draft.send()"
        )

    def write(
        self,
        store: Store,
        subject: ConductRecord,
        expected_version: int,
        events: Chain,
        outbox: tuple[OutboxMessage, ...],
        links: tuple[MessageLink, ...] = (),
    ) -> tuple[ConductRecord, tuple[Event, ...]]:
        if links:
            raise StoreError("message links belong to complaints, not to conduct records")
        commit = ConductCommit(subject, expected_version, events, outbox)
        return store.conduct_commit(commit), commit.events

    def rewrite(
        self,
        store: Store,
        subject: ConductRecord,
        expected_version: int,
        events: Chain,
        replaced_events: tuple[Event, ...],
        replaced_messages: tuple[OutboxMessage, ...],
    ) -> tuple[ConductRecord, tuple[Event, ...]]:
        commit = ConductCommit(subject, expected_version, events)
        return store.conduct_rewrite(commit, replaced_events, replaced_messages), commit.events


CONDUCT = ConductAggregate()
"""The conduct aggregate (it holds nothing, so one serves every draft)."""
