"""One draft for every change: an aggregate's next version, its events, its messages.

Every change a service makes (a transition, a note, an escalation, a deadline
warning, a stop-procedure decision) is built in a :class:`Draft`: each recorded
event advances the subject (a complaint or a conduct record) the way its
:class:`Aggregate` says, notifications are addressed the same way whatever the
change, and effects that must wait for the commit (observers, plugin callbacks,
urgent delivery) are collected to run once after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs

from complaint_flow.errors import StoreError
from complaint_flow.model.actions import CorrectiveAction
from complaint_flow.model.channel_records import MessageLink
from complaint_flow.model.conduct import ConductRecord
from complaint_flow.model.entities import Actor, Complaint, Event, OutboxMessage
from complaint_flow.model.immutable import EMPTY
from complaint_flow.storage.contract import Store
from complaint_flow.storage.hashing import Chain

Subject = TypeVar("Subject", Complaint, ConductRecord, CorrectiveAction)


class Aggregate(Protocol[Subject]):
    """How one kind of subject advances, is addressed and is written."""

    def advance(
        self, subject: Subject, event: Event, change: Mapping[str, Any], merge_data: bool
    ) -> Subject:
        """The subject's version after ``event`` (and the fields it ``change``-s)."""
        ...

    def notifications(
        self,
        subject: Subject,
        recipients: tuple[str, ...],
        event: Event,
        topic: str,
        urgent: bool,
    ) -> tuple[OutboxMessage, ...]:
        """Messages telling ``recipients`` about ``event``, each on the right channel."""
        ...

    def write(
        self,
        store: Store,
        subject: Subject,
        expected_version: int,
        events: Chain,
        outbox: tuple[OutboxMessage, ...],
        links: tuple[MessageLink, ...] = (),
    ) -> tuple[Subject, tuple[Event, ...]]:
        """Write the new version, its events and messages in one version-checked commit.

        ``events`` is the chain they were recorded on (each already carries its hash).
        Returns the stored subject and the events as committed.
        """
        ...

    def rewrite(
        self,
        store: Store,
        subject: Subject,
        expected_version: int,
        events: Chain,
        replaced_events: tuple[Event, ...],
        replaced_messages: tuple[OutboxMessage, ...],
    ) -> tuple[Subject, tuple[Event, ...]]:
        """Write the new version and its events, and replace stored events and messages
        in the same transaction (erasure of personal data); as :meth:`write` returns."""
        ...


def changed_fields(before: Subject, after: Subject) -> dict[str, Any]:
    """The fields of ``after`` that differ from ``before`` (a change to draft as such)."""
    return {
        name: value
        for name, value in attrs.asdict(after, recurse=False).items()
        if value != getattr(before, name)
    }


class Draft(Generic[Subject]):
    """The next version of one subject, built event by event, then committed at once."""

    __slots__ = (
        "aggregate",
        "base",
        "chain",
        "committed",
        "effects",
        "expected_version",
        "links",
        "now",
        "outbox",
        "replaced_events",
        "replaced_messages",
        "subject",
    )

    def __init__(
        self,
        subject: Subject,
        now: datetime,
        aggregate: Aggregate[Subject],
        *,
        expected_version: int | None = None,
    ) -> None:
        self.aggregate: Aggregate[Subject] = aggregate
        self.base: Subject = subject  # the version read: what the checks saw
        self.subject: Subject = subject  # the version so far, every event recorded applied
        self.now = now
        # Each event is hashed as it is recorded, so that it and the subject's next
        # version are built once, with their hashes; the commit checks the chain
        # rather than hashing and copying them again.
        self.chain = Chain(subject.audit_head)
        # Tuples, extended by concatenation: most drafts add one message or none.
        self.outbox: tuple[OutboxMessage, ...] = ()
        self.effects: tuple[Callable[[Subject], None], ...] = ()
        self.committed: tuple[Event, ...] = ()  # the events as stored, once committed
        # Only an erasure replaces anything: tuples until then, no list per draft.
        self.replaced_events: tuple[Event, ...] = ()
        self.replaced_messages: tuple[OutboxMessage, ...] = ()
        self.links: tuple[MessageLink, ...] = ()  # rare too: only a channel's messages
        self.expected_version = subject.version if expected_version is None else expected_version

    @property
    def events(self) -> tuple[Event, ...]:
        """The events recorded so far, in order, each carrying its hash."""
        return self.chain.events

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
        """Add one event, apply what it changes and address who is told; return the event.

        The event is returned as it will be stored, carrying its hash.
        """
        subject = self.subject
        event = self.chain.record(
            subject.id,
            subject.version + 1,
            kind,
            self.now,
            actor,
            trigger,
            source,
            dest,
            reason,
            data if data else EMPTY,
        )
        self.subject = self.aggregate.advance(subject, event, change or {}, merge_data)
        if notify:
            self.outbox += self.aggregate.notifications(
                self.subject, notify, event, topic or kind, urgent
            )
        return event

    def apply(
        self, event: Event, *, merge_data: bool = False, change: Mapping[str, Any] | None = None
    ) -> Event:
        """Add an event built elsewhere (numbered next) and apply what it changes.

        Returns the event as it will be stored, carrying its hash.
        """
        event = self.chain.append(event)
        self.subject = self.aggregate.advance(self.subject, event, change or {}, merge_data)
        return event

    def tell(
        self, recipients: tuple[str, ...], event: Event, topic: str, *, urgent: bool = False
    ) -> None:
        """Address a notification about an event already recorded."""
        self.outbox += self.aggregate.notifications(self.subject, recipients, event, topic, urgent)

    def send(self, message: OutboxMessage) -> None:
        """Add a message built elsewhere (a stop-procedure letter)."""
        self.outbox += (message,)

    def replace(self, events: Sequence[Event], messages: Sequence[OutboxMessage]) -> None:
        """Replace these stored events and messages (same ``seq`` / ``key``) with the commit.

        Only for erasing personal data: the store checks that each one exists.
        """
        self.replaced_events += tuple(events)
        self.replaced_messages += tuple(messages)

    def link(self, link: MessageLink) -> None:
        """Link a message id (an email's) to the subject in the same commit.

        If the id is already linked, the commit is refused with ``ConcurrencyError`` and
        the unit of work builds again from a fresh read, where the caller's check sees
        the message was taken: how an inbound message is recorded exactly once.
        """
        self.links += (link,)

    def after_commit(self, effect: Callable[[Subject], None]) -> None:
        """Run ``effect(stored)`` once the draft is committed; never if it is not."""
        self.effects += (effect,)

    @property
    def urgent_keys(self) -> list[str]:
        """The keys of messages to deliver as soon as the draft is committed."""
        return [message.key for message in self.outbox if message.payload.get("urgent")]

    def commit(self, store: Store) -> Subject:
        """Write everything recorded, atomically, if the subject has not moved on.

        The effects are not run here: the kernel runs them once, after the commit.
        """
        if self.replaced_events or self.replaced_messages:
            if self.outbox:
                raise StoreError(
                    "a draft that replaces stored events or messages (an erasure) cannot "
                    "also send messages: commit them in a change of their own"
                )
            stored, self.committed = self.aggregate.rewrite(
                store,
                self.subject,
                self.expected_version,
                self.chain,
                self.replaced_events,
                self.replaced_messages,
            )
            return stored
        stored, self.committed = self.aggregate.write(
            store,
            self.subject,
            self.expected_version,
            self.chain,
            self.outbox,
            self.links,
        )
        return stored

    def stored(self, event: Event) -> Event:
        """``event`` as committed, carrying its hash (for effects, which run after the commit)."""
        for committed in self.committed:
            if committed.seq == event.seq:
                return committed
        return event
