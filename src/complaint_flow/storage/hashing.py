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
:class:`~complaint_flow.storage.contract.Commit` computes the hashes; a store only
keeps them.

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
from collections.abc import Iterable, Mapping
from datetime import UTC
from typing import Any

import attrs

from complaint_flow.model.entities import Actor, Event
from complaint_flow.storage.codec import cached_isoformat

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
            text = canonical_json([event.reason, data])
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
    """The chained hash of ``event`` following an event whose hash is ``previous``.

    Raises:
        UnicodeEncodeError: the event's text holds a lone surrogate (no UTF-8 form).
    """
    at = event.at
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    # The canonical encoding of the core list, written directly (it holds no mapping
    # to sort; text is escaped by the canonical encoder).
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
        chained.append(attrs.evolve(event, hash=previous))
    return tuple(chained)


__all__ = ["GENESIS", "canonical_json", "chain_events", "content_digest", "event_hash"]
