"""The hashes of the tamper-evident audit trail: each event chained to the one before it.

An event's hash covers its *core* (complaint, sequence number, kind, time, actor,
trigger, states) and the digest of its *content* (reason and data), chained to
the hash of the previous event of the same complaint (or conduct record)::

    content_digest = sha256(canonical([reason, data]))
    hash           = sha256(previous_hash "\\n" canonical(core) "\\n" content_digest)

Altering, removing or reordering an event breaks the chain from that event on,
which :func:`complaint_flow.services.audit.verify_events` reports. Hashing the
content through its own digest is what lets personal data be erased without
breaking the chain: an erased event keeps the digest of what was erased in
``Event.redacted``, so its hash still verifies, while the content itself is gone
(see :meth:`complaint_flow.Engine.erase_customer`).

The canonical form is JSON with sorted keys, no spaces, UTF-8 and times in UTC
(:func:`canonical_json`), so the same event has the same hash in every store.
:class:`~complaint_flow.storage.contract.Commit` computes the hashes, or takes them
from the :class:`Chain` a draft recorded its events on (each event built once, with
its hash); a store only keeps them.

>>> from datetime import datetime, timezone
>>> from complaint_flow.model.entities import Event, SYSTEM
>>> e = Event(complaint_id="c1", seq=1, kind="received",
...           at=datetime(2026, 1, 5, tzinfo=timezone.utc),
...           actor=SYSTEM, reason="", data={"channel": "email"})
>>> chained = chain_events(None, (e,))
>>> chained[0].hash == event_hash(None, e) and e.hash is None
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.entities import Actor, Event
from complaint_flow.model.immutable import freeze_mapping
from complaint_flow.storage.codec import json_name

GENESIS = ""
"""The "previous hash" of a complaint's first event."""


def _plain(value: object) -> Any:
    # Frozen data holds read-only mappings; JSON wants dicts (tuples are lists already).
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON-like: {type(value).__name__}")


# The canonical form: its bytes are what every stored hash was computed from, so
# these settings never change (``check_circular`` does not change the output: event
# data is frozen, a deep copy, so it holds no cycle).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False, default=_plain
)
# Given a text, ``encode`` returns it quoted and escaped exactly as inside any value.
_text = _CANONICAL.encode


def canonical_json(value: object) -> str:
    """``value`` (JSON-like, frozen or not) in the canonical form the hashes cover.

    The same text as ``json.dumps(value, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` once read-only mappings are made dicts.
    """
    return _CANONICAL.encode(value)


_NO_CONTENT_DIGEST = hashlib.sha256(canonical_json(["", {}]).encode()).hexdigest()


def content_digest(event: Event) -> str:
    """The digest of an event's content (reason and data), or the one kept after erasure."""
    if event.redacted is not None:
        return event.redacted
    return _content_digest(event.reason, event.data)


def _content_digest(reason: str, data: Mapping[str, Any]) -> str:
    if not data:
        if not reason:
            return _NO_CONTENT_DIGEST  # most transitions: skip the encoding
        text = f"[{_text(reason)},{{}}]"
    else:
        # Most data is a few text fields: written directly, sorted as the canonical
        # encoder sorts (by key); anything else goes through that encoder.
        items = sorted(data.items())
        if all(type(value) is str for _key, value in items):
            fields = ",".join([f"{_text(key)}:{_text(value)}" for key, value in items])
            text = f"[{_text(reason)},{{{fields}}}]"
        else:
            text = canonical_json([reason, data])
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


def _chained(
    previous: str | None,
    complaint_id: str,
    seq: int,
    kind: str,
    at: datetime,
    actor: Actor,
    trigger: str | None,
    source: str | None,
    dest: str | None,
    content: str,
) -> str:
    """The chained hash of an event's parts; ``content`` is its content digest."""
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    # The canonical encoding of the core list, written directly (it holds no mapping
    # to sort; text is escaped by the canonical encoder).
    core = (
        f"[{json_name(complaint_id)},{seq!r},{json_name(kind)},"
        f'"{at.isoformat()}",{_actor_core(actor)},'
        f"{'null' if trigger is None else json_name(trigger)},"
        f"{'null' if source is None else json_name(source)},"
        f"{'null' if dest is None else json_name(dest)}]"
    )
    text = f"{previous or GENESIS}\n{core}\n{content}"
    return hashlib.sha256(text.encode()).hexdigest()


def event_hash(previous: str | None, event: Event) -> str:
    """The chained hash of ``event`` following an event whose hash is ``previous``.

    Raises:
        UnicodeEncodeError: the event's text holds a lone surrogate (no UTF-8 form).
    """
    return _chained(
        previous,
        event.complaint_id,
        event.seq,
        event.kind,
        event.at,
        event.actor,
        event.trigger,
        event.source,
        event.dest,
        content_digest(event),
    )


def chain_events(previous: str | None, events: Iterable[Event]) -> tuple[Event, ...]:
    """Copies of ``events`` carrying their chained hashes, the first following ``previous``."""
    chained = []
    for event in events:
        previous = event_hash(previous, event)
        chained.append(attrs.evolve(event, hash=previous))
    return tuple(chained)


def _unstorable(kind: str, exc: UnicodeEncodeError) -> InvalidArgumentError:
    # Nothing is written: the text would not survive storage either.
    return InvalidArgumentError(
        f"the {kind} event's text holds {exc.object[exc.start : exc.end]!r}, "
        "a lone surrogate that cannot be stored as UTF-8; decode the text with "
        "the right encoding (or errors='replace') and try again"
    )


class Chain:
    """An audit chain continued one event at a time, from the head ``start``.

    Every event it holds carries its chained hash: :meth:`record` builds a new event
    once, with its hash; :meth:`append` hashes one built elsewhere (a copy, unless it
    already carries that hash). A :class:`~complaint_flow.storage.contract.Commit`
    given a chain takes its events as they are instead of hashing them again: the
    chain only ever holds events it hashed itself, events are immutable, and what it
    holds is read-only from outside.
    """

    __slots__ = ("_events", "_head", "_start")

    def __init__(self, start: str | None) -> None:
        self._start = start
        self._head = start
        self._events: tuple[Event, ...] = ()  # a tuple: a draft records one or two

    @property
    def start(self) -> str | None:
        """The hash the chain continues from (the audit head of the version read)."""
        return self._start

    @property
    def head(self) -> str | None:
        """The hash of the last event (``start`` while there is none)."""
        return self._head

    @classmethod
    def over(cls, start: str | None, events: Iterable[Event]) -> Chain:
        """The chain of ``events`` from ``start`` (each appended)."""
        chain = cls(start)
        for event in events:
            chain.append(event)
        return chain

    @property
    def events(self) -> tuple[Event, ...]:
        """The events so far, in order, each carrying its hash."""
        return self._events

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def record(
        self,
        complaint_id: str,
        seq: int,
        kind: str,
        at: datetime,
        actor: Actor,
        trigger: str | None,
        source: str | None,
        dest: str | None,
        reason: str,
        data: Mapping[str, Any] | None,
    ) -> Event:
        """A new event, built once through ``Event`` with its hash, added to the chain.

        Raises:
            InvalidArgumentError: the text holds a lone surrogate (no UTF-8 form).
            InvalidIntakeError, TypeError: as ``Event(...)`` refuses the parts.
        """
        # Frozen first, by the converter ``Event`` applies (which then keeps it as it
        # is): the hash covers exactly the data the event holds.
        data = freeze_mapping(data)
        try:
            digest = _chained(
                self._head,
                complaint_id,
                seq,
                kind,
                at,
                actor,
                trigger,
                source,
                dest,
                _content_digest(reason, data),
            )
        except (UnicodeEncodeError, AttributeError, TypeError) as exc:
            # The event's own validators speak first, as when an event is built before
            # it is hashed; then what the hash could not read.
            Event(complaint_id, seq, kind, at, actor, trigger, source, dest, reason, data)
            if isinstance(exc, UnicodeEncodeError):
                raise _unstorable(kind, exc) from None
            raise
        event = Event(
            complaint_id, seq, kind, at, actor, trigger, source, dest, reason, data, digest
        )
        self._events += (event,)
        self._head = digest
        return event

    def append(self, event: Event) -> Event:
        """``event`` (built elsewhere) carrying its chained hash, added to the chain.

        Raises:
            InvalidArgumentError: the text holds a lone surrogate (no UTF-8 form).
        """
        try:
            digest = event_hash(self._head, event)
        except UnicodeEncodeError as exc:
            raise _unstorable(event.kind, exc) from None
        if event.hash != digest:
            event = event.replace(hash=digest)
        self._events += (event,)
        self._head = digest
        return event


__all__ = ["GENESIS", "Chain", "canonical_json", "chain_events", "content_digest", "event_hash"]
