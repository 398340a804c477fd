"""The one (de)serialisation converter: entities to JSON-ready dicts and back.

Stores persist complaints, events and outbox messages through :data:`converter`
so that no entity needs a hand-written ``to_dict``/``from_dict`` pair.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

import cattrs
from cattrs.fns import identity

from complaint_flow.model.entities import (
    Actor,
    ClockState,
    Complaint,
    Customer,
    Event,
    OutboxMessage,
)
from complaint_flow.model.immutable import FrozenData, freeze_mapping, thaw

T = TypeVar("T")

converter = cattrs.Converter()
converter.register_unstructure_hook(datetime, datetime.isoformat)
converter.register_structure_hook(datetime, lambda value, _: datetime.fromisoformat(value))


def _is_frozen_data(cls: Any) -> bool:
    # ``FrozenData`` is ``Mapping[str, Any]``: a generic alias, so it is matched by
    # a predicate rather than registered as a class.
    return bool(cls == FrozenData)


converter.register_unstructure_hook_func(_is_frozen_data, thaw)
converter.register_structure_hook_func(_is_frozen_data, lambda value, _: freeze_mapping(value))
converter.register_unstructure_hook(MappingProxyType, thaw)
# Optional text and numbers are already JSON: cattrs inlines ``identity`` handlers into
# its generated code, where a generic Optional handler would cost a call per field.
_PLAIN_OPTIONALS = (str | None, int | None, bool | None)
converter.register_unstructure_hook_func(lambda cls: cls in _PLAIN_OPTIONALS, identity)


def _plain(value: object) -> Any:
    # Frozen data holds read-only mappings; JSON wants dicts (tuples are lists already).
    if type(value) is MappingProxyType:
        return value.copy()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# One encoder for every call: ``json.dumps`` with options builds a new one each time.
# What it encodes is a tree (frozen data is a deep copy; cattrs output is built
# fresh), so the check for cycles is left out.
_ENCODER = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, check_circular=False, default=_plain
)
_data = _ENCODER.encode
"""Frozen data (read-only mappings, tuples) as JSON: what ``thaw`` + ``json.dumps`` give."""

# The engine writes a complaint and an event on every step, so these two (and the
# parts they contain) are encoded by hand rather than through cattrs and a
# generic encoder: the same text (``from_json`` reads it back identically; the
# store conformance suite round-trips every kind of entity), in a fraction of the
# time. Field order is the attrs field order, as cattrs gives it.
_text = _ENCODER.encode  # given a text: '"..."', escaped as inside any value (non-ASCII kept)

json_name = functools.lru_cache(maxsize=4096)(_text)
"""A name as JSON text (quoted, escaped, non-ASCII kept), as any encoder writes it.

For names only (ids, references, workflow, channel, state, event kind, trigger):
they recur on every version and event of a complaint, so their text is kept, a few
thousand at most. Free text (summaries, reasons, data, a customer's details) is
not: after an erasure no copy of it may stay behind in a cache.
"""


# Snapshots share most of their parts with the version before (the owner, the
# actor of each step, the clocks and times that did not move), so the text of
# these immutable parts is kept by identity and reused. Each entry holds its
# object, so that object's id cannot be reused by another while the entry exists.
# The customer's parts (contacts, data) are not kept: after an erasure no copy of
# the erased text may stay behind in a cache.
_CACHE_LIMIT = 4096
_times: dict[int, tuple[datetime, str]] = {}
_parts: dict[int, tuple[object, str]] = {}


def cached_isoformat(moment: datetime) -> str:
    """``moment.isoformat()``, kept for the moments seen recently (they repeat)."""
    entry = _times.get(id(moment))
    if entry is not None and entry[0] is moment:
        return entry[1]
    text = moment.isoformat()
    if len(_times) >= _CACHE_LIMIT:
        _times.clear()
    _times[id(moment)] = (moment, text)
    return text


def _cached(value: T, encode: Callable[[T], str]) -> str:
    entry = _parts.get(id(value))
    if entry is not None and entry[0] is value:
        return entry[1]
    text = encode(value)
    if len(_parts) >= _CACHE_LIMIT:
        _parts.clear()
    _parts[id(value)] = (value, text)
    return text


def _optional_text(value: str | None) -> str:
    return "null" if value is None else _text(value)


def _optional_time(moment: datetime | None) -> str:
    # ISO 8601 text never needs escaping.
    return "null" if moment is None else f'"{cached_isoformat(moment)}"'


def _mapping(data: FrozenData) -> str:
    if not data:
        return "{}"
    # Most data is a few text fields: written directly, as the encoder writes them (in
    # order); anything else is encoded from a dict copy (no call back to ``_plain``
    # for the outer mapping).
    fields = []
    for key, value in data.items():
        if type(value) is not str:
            return _data(dict(data))
        fields.append(f"{_text(key)}:{_text(value)}")
    return f"{{{','.join(fields)}}}"


def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _encode_actor(actor: Actor) -> str:
    return (
        f'{{"id":{_text(actor.id)},"name":{_text(actor.name)},"role":{_text(actor.role)},'
        f'"rank":{actor.rank!r},"email":{_optional_text(actor.email)},'
        f'"phone":{_optional_text(actor.phone)}}}'
    )


def _optional_actor(actor: Actor | None) -> str:
    return "null" if actor is None else _cached(actor, _encode_actor)


def _encode_customer(customer: Customer) -> str:
    return (
        f'{{"id":{_text(customer.id)},"name":{_text(customer.name)},'
        f'"email":{_optional_text(customer.email)},"phone":{_optional_text(customer.phone)},'
        f'"postal_address":{_optional_text(customer.postal_address)},'
        f'"contacts":{_mapping(customer.contacts)},'
        f'"preferred_channel":{_optional_text(customer.preferred_channel)}}}'
    )


def _clock_json(clock: ClockState) -> str:
    return (
        f'{{"name":{_text(clock.name)},"status":{_text(clock.status.value)},'
        f'"started_at":"{cached_isoformat(clock.started_at)}",'
        f'"deadline":"{cached_isoformat(clock.deadline)}",'
        f'"warning_at":{_optional_time(clock.warning_at)},"warned":{_boolean(clock.warned)},'
        f'"breached":{_boolean(clock.breached)},"paused_at":{_optional_time(clock.paused_at)},'
        f'"stopped_at":{_optional_time(clock.stopped_at)},"extensions":{clock.extensions!r}}}'
    )


# A complaint's clocks are most of its encoding, and the complaints of a batch share
# one tuple of them (most changes keep it too): their JSON text is kept for the tuple
# last seen. Holding the tuple keeps its id from being reused by another object.
_last_clocks: tuple[tuple[ClockState, ...], str] = ((), "[]")


def _clocks_json(clocks: tuple[ClockState, ...]) -> str:
    global _last_clocks
    last = _last_clocks  # one read: another thread may replace it meanwhile
    if last[0] is clocks:
        return last[1]
    # A step that moves one clock keeps the others' states: their text is reused.
    text = f"[{','.join([_cached(clock, _clock_json) for clock in clocks])}]"
    _last_clocks = (clocks, text)
    return text


def _complaint_json(c: Complaint) -> str:
    # Optional fields are tested inline: a helper call per field costs more than the test.
    text, name = _text, json_name
    preferred, external, owner, recorded_by = (
        c.preferred_channel,
        c.external_id,
        c.owner,
        c.recorded_by,
    )
    department, audit_head = c.department, c.audit_head
    due_at = "null" if c.due_at is None else f'"{cached_isoformat(c.due_at)}"'
    return (
        f'{{"id":{name(c.id)},"reference":{name(c.reference)},'
        f'"workflow":{name(c.workflow)},"customer":{_encode_customer(c.customer)},'
        f'"channel":{name(c.channel)},"category":{name(c.category)},'
        f'"severity":{name(c.severity.value)},"summary":{text(c.summary)},'
        f'"details":{text(c.details)},"state":{name(c.state)},'
        f'"received_at":"{cached_isoformat(c.received_at)}",'
        f'"updated_at":"{cached_isoformat(c.updated_at)}","version":{c.version!r},'
        f'"desired_outcome":{text(c.desired_outcome)},'
        f'"preferred_channel":{"null" if preferred is None else text(preferred)},'
        f'"external_id":{"null" if external is None else text(external)},'
        f'"owner":{"null" if owner is None else _cached(owner, _encode_actor)},'
        f'"informal":{"true" if c.informal else "false"},'
        f'"recorded_by":{"null" if recorded_by is None else _cached(recorded_by, _encode_actor)},'
        f'"due_at":{due_at},'
        f'"data":{_mapping(c.data)},'
        f'"escalation_level":{c.escalation_level!r},'
        f'"department":{"null" if department is None else name(department)},'
        f'"audit_head":{"null" if audit_head is None else text(audit_head)},'
        f'"clocks":{_clocks_json(c.clocks)}}}'
    )


def _event_json(e: Event) -> str:
    text, name = _text, json_name
    trigger, source, dest, hash_, redacted = e.trigger, e.source, e.dest, e.hash, e.redacted
    return (
        f'{{"complaint_id":{name(e.complaint_id)},"seq":{e.seq!r},"kind":{name(e.kind)},'
        f'"at":"{cached_isoformat(e.at)}","actor":{_cached(e.actor, _encode_actor)},'
        f'"trigger":{"null" if trigger is None else name(trigger)},'
        f'"source":{"null" if source is None else name(source)},'
        f'"dest":{"null" if dest is None else name(dest)},"reason":{text(e.reason)},'
        f'"data":{_mapping(e.data)},'
        f'"hash":{"null" if hash_ is None else text(hash_)},'
        f'"redacted":{"null" if redacted is None else text(redacted)}}}'
    )


def _message_json(m: OutboxMessage) -> str:
    # Written on every step that notifies, and again at each delivery attempt.
    text, name = _text, json_name
    address, last_error = m.address, m.last_error
    return (
        f'{{"key":{text(m.key)},"complaint_id":{name(m.complaint_id)},'
        f'"event_seq":{m.event_seq!r},"topic":{name(m.topic)},"recipient":{name(m.recipient)},'
        f'"channel":{name(m.channel)},"address":{"null" if address is None else text(address)},'
        f'"created_at":"{cached_isoformat(m.created_at)}","payload":{_mapping(m.payload)},'
        f'"status":{name(m.status.value)},"attempts":{m.attempts!r},'
        f'"last_error":{"null" if last_error is None else text(last_error)},'
        f'"delivered_at":{_optional_time(m.delivered_at)},'
        f'"next_attempt_at":{_optional_time(m.next_attempt_at)}}}'
    )


_HAND_WRITTEN: dict[type, Callable[[Any], str]] = {
    Complaint: _complaint_json,
    Event: _event_json,
    OutboxMessage: _message_json,
}


def to_json(value: object) -> str:
    """Serialise an entity to compact JSON text."""
    encode = _HAND_WRITTEN.get(type(value))
    if encode is not None:
        return encode(value)
    return _ENCODER.encode(converter.unstructure(value))


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild an entity of type ``cls`` from :func:`to_json` output."""
    return converter.structure(json.loads(text), cls)


def to_dict(value: object) -> dict[str, Any]:
    """Unstructure an entity to a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(value)
    return result
