"""Data protection: erase a customer's personal data, purge closed complaints after retention.

:func:`erase_customer` redacts a customer's personal data (name, contacts, free
text) from their complaints, events, outbox messages and conduct record while
keeping what reports need (ids, counts, times, states, kinds, categories,
severities, channels, amounts, staff). Erased text becomes :data:`ERASED`.
Each redacted event keeps its chained hash and records the digest of what was
erased in ``Event.redacted``, so the audit trail still verifies
(:func:`complaint_flow.verify_store`); the erasure itself is recorded as
a ``customer_erased`` event.

:func:`purge_closed` deletes complaints that ended (a terminal state of their
workflow) and have not changed for a retention period, e.g. 3 years.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from complaint_flow.definitions.ages import retention_cutoff
from complaint_flow.errors import ComplaintNotFoundError, InvalidArgumentError
from complaint_flow.kernel.draft import Draft, changed_fields
from complaint_flow.kernel.unit_of_work import RETRIES, HasKernel, Kernel, as_kernel
from complaint_flow.model.conduct import ConductRecord
from complaint_flow.model.entities import (
    Actor,
    Complaint,
    Customer,
    Event,
    OutboxMessage,
    OutboxStatus,
)
from complaint_flow.model.immutable import FrozenData, freeze_mapping
from complaint_flow.services.audit import ERASURE_KIND
from complaint_flow.storage.contract import Store
from complaint_flow.storage.hashing import content_digest

_Item = TypeVar("_Item", Event, OutboxMessage)

ERASED = "[erased]"
"""What erased text reads as: names, free text, reasons and texts in data."""


KEPT_DATA_KEYS = frozenset(
    {
        # what the library itself records in event data: channels, times, routing,
        # escalation levels, clocks, staff; none of it is the customer's
        "channel",
        "received_at",
        "department",
        "central_office",
        "from_level",
        "to_level",
        "level",
        "level_title",
        "owner_id",
        "owner_name",
        "guidelines",
        "requested_via",
        "written_channels",
        "clock",
        "clocks",
        "deadline",
        "previous",
        "from",
        "to",
        "kind",
        "amount",
        "currency",
        "state",
        "status",
        "category",
        "severity",
        "topic",
        # satisfaction (docs/satisfaction.md): survey times, timers and the team, for CSAT
        "team",
        "due_at",
        "sent_at",
        "expires_at",
        "remind_at",
        "reminded_at",
        "answered_at",
        "checked_at",
        "recorded_at",
    }
)
"""Keys of complaint, event and message data whose text values are kept.

Every other text value in data is erased, at any depth: the text recorded
under a workflow's own keys (``facts``, ``resolution``…) is free text that may
describe the customer. Numbers, booleans and ``None`` are always kept. A kept
text that mentions the customer's name or contacts is erased all the same.
"""

_UNREACHABLE = "personal data erased: the customer can no longer be contacted"
_MIN_MENTION = 3  # shorter names would match inside unrelated words


def _read_only(counts: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(counts))


@attrs.frozen
class ErasureReport:
    """What :func:`erase_customer` did.

    Args:
        customer_id: the customer erased.
        complaints: ids of the complaints erased now (a ``customer_erased`` event
            was recorded on each).
        unchanged: ids of the customer's complaints that had nothing left to erase
            (erased before); nothing was recorded on them.
        conduct_record: whether the customer's conduct record was erased now.
        events_redacted: how many stored events were redacted.
        messages_redacted: how many outbox messages were redacted.
    """

    customer_id: str
    complaints: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    conduct_record: bool = False
    events_redacted: int = 0
    messages_redacted: int = 0

    @property
    def changed(self) -> bool:
        """Whether anything was erased (False when everything was erased before)."""
        return bool(self.complaints) or self.conduct_record


@attrs.frozen
class PurgeReport:
    """What :func:`purge_closed` deleted (or, in a dry run, would delete).

    Args:
        cutoff: with one retention period for all workflows, complaints last
            changed before this instant were old enough; None when each workflow's
            own ``retention`` was used.
        cutoffs: the cutoff used for each workflow looked at.
        by_workflow: how many complaints were purged per workflow name.
        references: the human references of the purged complaints.
        dry_run: True when nothing was deleted.
    """

    cutoff: datetime | None
    cutoffs: Mapping[str, datetime] = attrs.field(factory=dict, converter=_read_only)
    by_workflow: Mapping[str, int] = attrs.field(factory=dict, converter=_read_only)
    references: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def total(self) -> int:
        """How many complaints were purged in all."""
        return sum(self.by_workflow.values())


# -- erasure ------------------------------------------------------------------


def erase_customer(
    engine: HasKernel | Kernel, customer_id: str, *, actor: Actor, reason: str
) -> ErasureReport:
    """Erase a customer's personal data from every complaint and their conduct record.

    Redacts the customer's name and contacts, the free text of their complaints
    (summary, details, desired outcome, text in data), event reasons and text
    in event data, the channel message ids, their outbox messages' addresses
    and texts, and the texts of their conduct record. Kept: ids (including the
    customer id, the host's pseudonymous key), counts, times, states, kinds,
    categories, severities, channels, numbers, booleans and staff. Each
    complaint is rewritten in one transaction that also records a
    ``customer_erased`` event (``actor``, ``reason``). Pending messages to the
    customer become dead: they can no longer be delivered.

    Idempotent: erasing a customer again erases nothing more and records
    nothing on complaints that have nothing left to erase.

    Args:
        engine: the engine whose store holds the customer's complaints.
        customer_id: the host's id of the customer.
        actor: who erases (recorded on the erasure event).
        reason: why, e.g. "GDPR art. 17 request 2026-114"; it is kept in the
            audit trail, so it must not contain personal data.

    Raises:
        InvalidArgumentError: no customer id, no actor, or an empty reason.
        ConcurrencyError: a complaint kept changing while it was being erased.
    """
    kernel = as_kernel(engine)
    if not isinstance(customer_id, str) or not customer_id.strip():
        raise InvalidArgumentError(f"give the customer id to erase, got {customer_id!r}")
    if not isinstance(actor, Actor):
        raise InvalidArgumentError(
            f"actor must be an Actor(id=..., name=..., role=...), got {type(actor).__name__}"
        )
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidArgumentError(
            "an erasure needs a reason (e.g. the request's reference); it is kept in the "
            "audit trail, so leave personal data out of it"
        )
    store = kernel.store
    erased: list[str] = []
    unchanged: list[str] = []
    events_redacted = 0
    messages_redacted = 0
    complaints = store.find(customer_id=customer_id)
    record = store.conduct_get(customer_id)
    # Every version of their details seen (an email changed between complaints):
    # a kept text mentioning any of them is erased.
    known = [complaint.customer for complaint in complaints]
    if record is not None:
        known.append(record.customer)
    for complaint in complaints:
        done = _erase_complaint(kernel, complaint.id, actor, reason.strip(), known)
        if done is None:
            unchanged.append(complaint.id)
        else:
            erased.append(complaint.id)
            events_redacted += done[0]
            messages_redacted += done[1]
    conduct = _erase_conduct(kernel, customer_id, actor, reason.strip(), known)
    if conduct is not None:
        events_redacted += conduct[0]
        messages_redacted += conduct[1]
    return ErasureReport(
        customer_id=customer_id,
        complaints=tuple(erased),
        unchanged=tuple(unchanged),
        conduct_record=conduct is not None,
        events_redacted=events_redacted,
        messages_redacted=messages_redacted,
    )


def _changed(items: Iterable[_Item], redact: Callable[[_Item], _Item]) -> list[_Item]:
    """The redacted copies of the items that held something to erase."""
    return [redacted for item in items if (redacted := redact(item)) is not item]


def _erase_complaint(
    kernel: Kernel, complaint_id: str, actor: Actor, reason: str, known: Sequence[Customer]
) -> tuple[int, int] | None:
    """Erase one complaint in a unit of work; None if nothing is left to erase."""
    store = kernel.store

    def build(draft: Draft[Complaint]) -> tuple[int, int] | None:
        complaint = draft.base
        redactor = _Redactor([*known, complaint.customer])
        kept = redactor.complaint(complaint)
        events = _changed(store.events(complaint.id), redactor.event)
        messages = _changed(store.outbox(complaint.id), redactor.message)
        if kept == complaint and not events and not messages:
            return None
        erasure = _erasure_event(
            complaint.id, complaint.version + 1, draft.now, actor, reason, events, messages
        )
        draft.apply(erasure, change=changed_fields(complaint, kept))
        draft.replace(events, messages)
        return len(events), len(messages)

    return kernel.change(complaint_id, build, retries=RETRIES)[1]


def _erase_conduct(
    kernel: Kernel, customer_id: str, actor: Actor, reason: str, known: Sequence[Customer]
) -> tuple[int, int] | None:
    """Erase the customer's conduct record; None if they have none or nothing is left."""
    store = kernel.store
    record = store.conduct_get(customer_id)
    if record is None:
        return None

    def build(draft: Draft[ConductRecord]) -> tuple[int, int] | None:
        current = draft.base
        if not current.version:
            return None  # erased and purged meanwhile: nothing is stored
        redactor = _Redactor([*known, current.customer])
        kept = redactor.conduct(current)
        events = _changed(store.conduct_events(customer_id), redactor.event)
        messages = _changed(store.outbox(current.id), redactor.message)
        if kept == current and not events and not messages:
            return None
        erasure = _erasure_event(
            current.id, current.version + 1, draft.now, actor, reason, events, messages
        )
        draft.apply(erasure, change=changed_fields(current, kept))
        draft.replace(events, messages)
        return len(events), len(messages)

    return kernel.change_conduct(record.customer, build, retries=RETRIES)[1]


def _erasure_event(
    subject: str,
    seq: int,
    now: datetime,
    actor: Actor,
    reason: str,
    events: Sequence[Event],
    messages: Sequence[OutboxMessage],
) -> Event:
    return Event(
        complaint_id=subject,
        seq=seq,
        kind=ERASURE_KIND,
        at=now,
        actor=actor,
        reason=reason,
        data={
            "events_redacted": len(events),
            "messages_redacted": len(messages),
            "redacted_seqs": [event.seq for event in events],
        },
    )


class _Redactor:
    """Builds the erased copies of one customer's complaint, events, messages and record."""

    def __init__(self, customers: Iterable[Customer]) -> None:
        mentions: set[str] = set()
        for customer in customers:
            texts = [customer.name, customer.email, customer.phone, customer.postal_address]
            texts.extend(customer.contacts.values())
            mentions.update(
                text.casefold()
                for text in texts
                if text and text != ERASED and len(text.strip()) >= _MIN_MENTION
            )
        self._mentions = tuple(sorted(mentions))

    def mentions(self, text: str) -> bool:
        """Whether ``text`` contains the customer's name or one of their contacts."""
        folded = text.casefold()
        return any(mention in folded for mention in self._mentions)

    def customer(self, customer: Customer) -> Customer:
        if customer.name == ERASED and not (
            customer.email or customer.phone or customer.postal_address or customer.contacts
        ):
            return customer
        return Customer(id=customer.id, name=ERASED, preferred_channel=customer.preferred_channel)

    def data(self, data: FrozenData) -> FrozenData:
        if not data:
            return data
        redacted = freeze_mapping(self._mapping(data))
        return data if redacted == data else redacted

    def _mapping(self, data: Mapping[str, Any]) -> dict[str, Any]:
        redacted: dict[str, Any] = {}
        for key, value in data.items():
            # A key can be personal data too (answers keyed by an email address).
            kept = key
            if self.mentions(key):
                kept = ERASED
                while kept in redacted or kept in data:
                    kept += "'"
            redacted[kept] = self._value(key, value)
        return redacted

    def _value(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            if not value or value == ERASED:
                return value
            return value if key in KEPT_DATA_KEYS and not self.mentions(value) else ERASED
        if isinstance(value, Mapping):
            return self._mapping(value)
        if isinstance(value, list | tuple):
            return [self._value(key, item) for item in value]
        return value  # numbers, booleans, None: counts and amounts stay

    def complaint(self, complaint: Complaint) -> Complaint:
        customer = self.customer(complaint.customer)
        changes: dict[str, Any] = {
            "customer": customer,
            "summary": _erased(complaint.summary),
            "details": _erased(complaint.details),
            "desired_outcome": _erased(complaint.desired_outcome),
            # A channel's message id may be an address (a phone number, a mail id).
            "external_id": None,
            "data": self.data(complaint.data),
        }
        if all(getattr(complaint, name) == value for name, value in changes.items()):
            return complaint
        return attrs.evolve(complaint, **changes)

    def event(self, event: Event) -> Event:
        """The erased event (``redacted`` set, hash kept), or ``event`` itself if unchanged."""
        if event.kind == ERASURE_KIND:
            return event  # its reason was given free of personal data
        reason = _erased(event.reason)
        data = self.data(event.data)
        if reason == event.reason and data is event.data:
            return event
        return attrs.evolve(event, reason=reason, data=data, redacted=content_digest(event))

    def message(self, message: OutboxMessage) -> OutboxMessage:
        """The erased outbox message, or ``message`` itself if unchanged."""
        to_customer = message.recipient == "customer"
        payload = {
            key: (
                value
                if key == "urgent"
                or (
                    key == "name"
                    and not to_customer
                    and isinstance(value, str)
                    and not self.mentions(value)
                )
                else self._value(key, value)
            )
            for key, value in message.payload.items()
        }
        changes: dict[str, Any] = {"payload": freeze_mapping(payload)}
        if to_customer:
            changes["address"] = None
            if message.status is OutboxStatus.PENDING:
                changes["status"] = OutboxStatus.DEAD
                changes["last_error"] = _UNREACHABLE
        error = message.last_error
        if error and error != _UNREACHABLE and (to_customer or self.mentions(error)):
            changes["last_error"] = ERASED
        if all(getattr(message, name) == value for name, value in changes.items()):
            return message
        return attrs.evolve(message, **changes)

    def conduct(self, record: ConductRecord) -> ConductRecord:
        changes: dict[str, Any] = {
            "customer": self.customer(record.customer),
            "reasons": _erased(record.reasons),
            "appeal_grounds": _erased(record.appeal_grounds),
            "adjustment_note": _erased(record.adjustment_note),
            "adjustments": tuple(
                attrs.evolve(adjustment, need=_erased(adjustment.need))
                for adjustment in record.adjustments
            ),
            "review_queue": tuple(
                attrs.evolve(
                    item,
                    summary=_erased(item.summary),
                    details=_erased(item.details),
                    why=_erased(item.why),
                    external_id=None,
                )
                for item in record.review_queue
            ),
            "contact_keys": tuple(_erased_key(key) for key in record.contact_keys),
        }
        if all(getattr(record, name) == value for name, value in changes.items()):
            return record
        return record.evolve(**changes)


def _erased(text: str) -> str:
    return ERASED if text else text


def _erased_key(key: str) -> str:
    """A ``channel:external_id`` key without the message id, still distinct from the others."""
    channel, _, external = key.partition(":")
    if external.startswith(ERASED):
        return key
    # A digest of the whole key keeps the keys distinct (and countable) without the id.
    return f"{channel}:{ERASED}{hashlib.sha256(key.encode()).hexdigest()[:16]}"


# -- retention ----------------------------------------------------------------


def purge_closed(
    engine: HasKernel | Kernel,
    older_than: timedelta | str | None = None,
    *,
    now: datetime | None = None,
    batch: int = 500,
    dry_run: bool = False,
) -> PurgeReport:
    """Delete complaints that ended and have not changed for their retention period.

    A complaint is purged when it is in a terminal state of its workflow and its
    latest version was written before ``now`` minus the retention period. It is
    deleted with its events and outbox messages, ``batch`` complaints per
    transaction. Complaints of workflows this engine does not know are never purged.

    Args:
        engine: the engine whose store is purged; its registered workflows say
            which states are terminal and, without ``older_than``, how long each
            keeps its complaints (their ``retention``).
        older_than: one retention period for every workflow: a timedelta or text
            such as ``"3 years"`` (see :func:`retention_cutoff`). None: each
            workflow's own ``retention``; workflows without one are left alone.
        now: the current time (default: the engine's clock).
        batch: complaints deleted per transaction.
        dry_run: only report what would be purged.

    Raises:
        InvalidArgumentError: ``older_than`` or ``batch`` is not valid, or no
            ``older_than`` is given and no workflow has a retention period.
    """
    kernel = as_kernel(engine)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise InvalidArgumentError(f"batch must be a whole number >= 1, got {batch!r}")
    if now is not None and (not isinstance(now, datetime) or now.utcoffset() is None):
        raise InvalidArgumentError(f"now must be a timezone-aware datetime, got {now!r}")
    moment = now or kernel.clock()
    cutoff = retention_cutoff(moment, older_than) if older_than is not None else None
    cutoffs: dict[str, datetime] = {}
    for name in sorted(kernel.registry.workflows):
        age = kernel.workflow(name).definition.retention
        if cutoff is not None:
            cutoffs[name] = cutoff
        elif age is not None:
            cutoffs[name] = retention_cutoff(moment, age)
    if not cutoffs:
        raise InvalidArgumentError(
            "no retention period: give one (older_than='3 years', or --older-than) or set "
            "`retention` in the workflows (the fca packs keep complaints 3 years)"
        )
    store = kernel.store
    by_workflow: dict[str, int] = {}
    references: list[str] = []
    for name, workflow_cutoff in cutoffs.items():
        terminal = [
            state.name for state in kernel.workflow(name).definition.states if state.terminal
        ]
        for state in terminal:
            while True:
                found = store.find(
                    workflow=name,
                    state=state,
                    updated_before=workflow_cutoff,
                    limit=None if dry_run else batch,
                )
                if not found:
                    break
                # Each complaint is deleted only at the version found: one changed since
                # (e.g. reopened) is kept by the store.
                purged = len(found) if dry_run else store.purge({c.id: c.version for c in found})
                if purged:
                    by_workflow[name] = by_workflow.get(name, 0) + purged
                    if purged < len(found):
                        found = [c for c in found if not _still_stored(store, c.id)]
                    references.extend(c.reference for c in found)
                if dry_run or not purged:
                    break
    return PurgeReport(
        cutoff=cutoff,
        cutoffs=cutoffs,
        by_workflow=by_workflow,
        references=tuple(references),
        dry_run=dry_run,
    )


def _still_stored(store: Store, complaint_id: str) -> bool:
    try:
        store.get(complaint_id)
    except ComplaintNotFoundError:
        return False
    return True


__all__ = [
    "ERASED",
    "ERASURE_KIND",
    "KEPT_DATA_KEYS",
    "ErasureReport",
    "PurgeReport",
    "erase_customer",
    "purge_closed",
    "retention_cutoff",
]
