"""The tamper-evident audit trail: every event is hash-chained to the one before it.

An event's hash covers its *core* (complaint, sequence number, kind, time, actor,
trigger, states) and the digest of its *content* (reason and data), chained to
the hash of the previous event of the same complaint (or conduct record)::

    content_digest = sha256(canonical([reason, data]))
    hash           = sha256(previous_hash "\\n" canonical(core) "\\n" content_digest)

Altering, removing or reordering an event breaks the chain from that event on,
which :func:`verify_events` reports. Hashing the content through its own digest
is what lets personal data be erased without breaking the chain: an erased
event keeps the digest of what was erased in ``Event.redacted``, so its hash
still verifies, while the content itself is gone (see
:meth:`complaint_flow.Engine.erase_customer`).

The canonical form is JSON with sorted keys, no spaces, UTF-8 and times in UTC,
so the same event has the same hash in every store.

>>> from datetime import datetime, timezone
>>> from complaint_flow.model.entities import Event, SYSTEM
>>> e = Event(complaint_id="c1", seq=1, kind="received",
...           at=datetime(2026, 1, 5, tzinfo=timezone.utc),
...           actor=SYSTEM, reason="", data={"channel": "email"})
>>> chained = chain_events(None, (e,))
>>> verify_events("c1", chained, head=chained[-1].hash) == []
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

import attrs

from complaint_flow.model.conduct import CONDUCT_PREFIX, conduct_record_id
from complaint_flow.model.entities import Actor, Complaint, Event
from complaint_flow.storage.codec import cached_isoformat

if TYPE_CHECKING:
    from complaint_flow.storage.contract import Store

GENESIS = ""
"""The "previous hash" of a complaint's first event."""

ERASURE_KIND = "customer_erased"
"""The kind of the event that records an erasure (see :mod:`complaint_flow.services.privacy`).

Its data lists the erased events (``redacted_seqs``); it is hash-chained like any
event, so that list is what vouches for every ``redacted`` digest before it.
"""


def _plain(value: object) -> Any:
    # Frozen data holds read-only mappings; JSON wants dicts.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON-like: {type(value).__name__}")


def _make_canonical() -> Callable[[object], str]:
    encoder = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )
    if c_make_encoder is None:  # no C accelerator (e.g. PyPy): the same output, slower
        return encoder.encode
    # JSONEncoder.encode builds its C encoder again on every call; hashing runs on
    # every commit, so it is built once here, with exactly encoder's settings.
    make = c_make_encoder(None, _plain, encode_basestring, None, ":", ",", True, False, True)
    return lambda value: "".join(make(value, 0))


_encode = _make_canonical()
_text = encode_basestring  # how the canonical encoder writes text


def _canonical(value: object) -> bytes:
    return _encode(value).encode()


_NO_CONTENT_DIGEST = hashlib.sha256(_canonical(["", {}])).hexdigest()


def content_digest(event: Event) -> str:
    """The digest of an event's content (reason and data), or the one kept after erasure."""
    if event.redacted is not None:
        return event.redacted
    data = event.data
    if not data:
        if not event.reason:
            return _NO_CONTENT_DIGEST  # most transitions: skip the encoding
        text = f"[{_text(event.reason)},{{}}]"
    else:
        # Most data is a few text fields: written directly, sorted as the canonical
        # encoder sorts (by key); anything else goes through that encoder.
        items = sorted(data.items())
        if all(type(value) is str for _key, value in items):
            fields = ",".join([f"{_text(key)}:{_text(value)}" for key, value in items])
            text = f"[{_text(event.reason)},{{{fields}}}]"
        else:
            text = _encode([event.reason, data])
    return hashlib.sha256(text.encode()).hexdigest()


def _encode_actor(actor: Actor) -> str:
    # As the canonical encoder writes the list of the actor's fields.
    return (
        f"[{_text(actor.id)},{_text(actor.name)},{_text(actor.role)},{actor.rank!r},"
        f"{_optional_text(actor.email)},{_optional_text(actor.phone)}]"
    )


def _optional_text(value: str | None) -> str:
    return "null" if value is None else _text(value)


_actors: dict[int, tuple[Actor, str]] = {}


def _actor_core(actor: Actor) -> str:
    # The same few actors act again and again: their text is kept by identity (each
    # entry holds its actor, so that actor's id cannot be reused meanwhile).
    entry = _actors.get(id(actor))
    if entry is not None and entry[0] is actor:
        return entry[1]
    text = _encode_actor(actor)
    if len(_actors) >= 1024:
        _actors.clear()
    _actors[id(actor)] = (actor, text)
    return text


def event_hash(previous: str | None, event: Event) -> str:
    """The chained hash of ``event`` following an event whose hash is ``previous``."""
    at = event.at
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    # The canonical encoding of the core list, written directly (it holds no mapping
    # to sort; text is escaped by the encoder's own function).
    trigger, source, dest = event.trigger, event.source, event.dest
    core = (
        f"[{_text(event.complaint_id)},{event.seq!r},{_text(event.kind)},"
        f'"{cached_isoformat(at)}",{_actor_core(event.actor)},'
        f"{'null' if trigger is None else _text(trigger)},"
        f"{'null' if source is None else _text(source)},"
        f"{'null' if dest is None else _text(dest)}]"
    )
    text = f"{previous or GENESIS}\n{core}\n{content_digest(event)}"
    return hashlib.sha256(text.encode()).hexdigest()


def chain_events(previous: str | None, events: Iterable[Event]) -> tuple[Event, ...]:
    """Copies of ``events`` carrying their chained hashes, the first following ``previous``."""
    chained = []
    for event in events:
        previous = event_hash(previous, event)
        copy = object.__new__(Event)
        copy.__dict__.update(event.__dict__, hash=previous)
        chained.append(copy)
    return tuple(chained)


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
    from complaint_flow.errors import InvalidArgumentError

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
    "GENESIS",
    "AuditProblem",
    "AuditReport",
    "chain_events",
    "content_digest",
    "event_hash",
    "verify_erasures",
    "verify_events",
    "verify_store",
]
