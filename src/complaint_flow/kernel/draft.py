"""Preparing one commit: a complaint's next version, the events that explain it and the
notifications it causes.

Every change the engine makes (a transition, an escalation, a deadline warning)
goes through a :class:`Draft`, so that deadline clocks are folded and the due
time recomputed for each event, and every notification is addressed the same
way, whatever the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import attrs

from complaint_flow.fsm.workflow_machine import CompiledWorkflow
from complaint_flow.model.entities import Actor, Complaint, Event, OutboxMessage
from complaint_flow.model.immutable import EMPTY, freeze_mapping
from complaint_flow.storage.contract import Commit, Store


class Draft:
    """The next version of one complaint, built event by event, then committed at once."""

    def __init__(
        self,
        complaint: Complaint,
        compiled: CompiledWorkflow,
        now: datetime,
        *,
        events: tuple[Event, ...] = (),
        expected_version: int | None = None,
    ) -> None:
        self.compiled = compiled
        self.complaint = complaint
        self.now = now
        self.events: list[Event] = list(events)
        self.outbox: list[OutboxMessage] = []
        self.expected_version = complaint.version if expected_version is None else expected_version

    def record(
        self,
        kind: str,
        actor: Actor,
        *,
        trigger: str | None = None,
        source: str | None = None,
        dest: str | None = None,
        reason: str = "",
        data: Mapping[str, Any] | None = None,
        merge_data: bool = False,
        change: Mapping[str, Any] | None = None,
        notify: tuple[str, ...] = (),
        topic: str | None = None,
        urgent: bool = False,
    ) -> Event:
        """Add one event and apply what it changes; return the event."""
        current = self.complaint
        seq = current.version + 1
        frozen = freeze_mapping(data) if data else EMPTY
        event = Event.build(
            current.id, seq, kind, self.now, actor, trigger, source, dest, reason, frozen
        )
        self.events.append(event)
        self.complaint = advance(
            current, self.compiled, event, merge_data=merge_data, change=change
        )
        self.outbox.extend(
            notifications(
                self.complaint, notify, event, topic or kind, self.compiled, urgent=urgent
            )
        )
        return event

    def commit(self, store: Store, *, reference_prefix: str | None = None) -> Complaint:
        """Write everything recorded, atomically, if the complaint has not moved on."""
        return store.commit(
            Commit.build(
                self.complaint,
                self.expected_version,
                tuple(self.events),
                tuple(self.outbox),
                reference_prefix,
            )
        )


def advance(
    complaint: Complaint,
    compiled: CompiledWorkflow,
    event: Event,
    *,
    merge_data: bool = False,
    change: Mapping[str, Any] | None = None,
) -> Complaint:
    """The complaint's version after ``event``: state, data, clocks and due time."""
    changes = dict(change) if change else {}
    book = compiled.clocks
    if book:
        clocks = book.apply(complaint.clocks, event)
        if clocks is not complaint.clocks:
            changes["clocks"] = clocks
            changes["due_at"] = book.due_at(clocks)
    data = changes.pop("data", complaint.data)
    if merge_data and event.data:
        # Both sides are frozen already, so their union needs no deep freeze.
        data = MappingProxyType({**complaint.data, **event.data})
    return complaint.advanced(event.dest or complaint.state, event.seq, event.at, data, **changes)


URGENT_HOLD = timedelta(minutes=2)
"""How long other dispatchers leave an urgent message to the engine delivering it at once."""


def notifications(
    complaint: Complaint,
    recipients: tuple[str, ...],
    event: Event,
    topic: str,
    compiled: CompiledWorkflow,
    *,
    urgent: bool = False,
) -> tuple[OutboxMessage, ...]:
    """Outbox messages telling ``recipients`` about ``event``, each on the right channel.

    The customer is told on their reply channel (mission M2); the owner by email,
    else phone; the department at its routing contact. A recipient with no known
    address is skipped: nobody can be told.
    """
    if not recipients:
        return ()
    messages = []
    for recipient in recipients:
        contact = _contact(complaint, recipient, compiled)
        if contact is None:
            continue
        channel, address, name = contact
        # Notifiers also receive the complaint; the payload keeps what the message
        # said when it was decided, built frozen (values are frozen already).
        payload: dict[str, Any] = {"name": name, "state": complaint.state}
        if urgent:
            payload["urgent"] = True
        if event.kind != "transition" and event.data:
            payload["details"] = event.data
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
        if urgent:
            # The engine that commits an urgent message delivers it at once; holding
            # it from other dispatchers meanwhile keeps it from being sent twice.
            # Should that engine die first, a dispatcher sends it after the hold.
            message = attrs.evolve(message, next_attempt_at=event.at + URGENT_HOLD)
        messages.append(message)
    return tuple(messages)


def _contact(
    complaint: Complaint, recipient: str, compiled: CompiledWorkflow
) -> tuple[str, str | None, str] | None:
    if recipient == "customer":
        channel = complaint.reply_channel
        return channel, complaint.customer.address_for(channel), complaint.customer.name
    if recipient == "owner":
        owner = complaint.owner
        if owner is None or not owner.has_contact:
            return None
        return ("email" if owner.email else "phone"), owner.email or owner.phone, owner.name
    if recipient == "department" and complaint.department:
        policy = compiled.definition.escalation
        routings = policy.routing if policy else ()
        routing = next((r for r in routings if r.department == complaint.department), None)
        if routing is None or not (routing.email or routing.phone):
            return None
        channel = "email" if routing.email else "phone"
        return channel, routing.email or routing.phone, routing.department
    return None
