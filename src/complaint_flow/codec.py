"""The one (de)serialisation converter: entities to JSON-ready dicts and back.

Stores persist complaints, events and outbox messages through :data:`converter`
so that no entity needs a hand-written ``to_dict``/``from_dict`` pair.
"""

from __future__ import annotations

import json
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

import cattrs
from cattrs.fns import identity
from cattrs.gen import make_dict_unstructure_fn, override

from complaint_flow.entities import ClockState, Complaint
from complaint_flow.immutable import FrozenData, freeze_mapping, thaw

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


# One encoder for every call: ``json.dumps`` with options builds a new one each time.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

# A complaint's clocks are most of its encoding, and the complaints of a batch share
# one tuple of them (most changes keep it too): their JSON text is kept for the tuple
# last seen and spliced in, after the other fields.
_complaint_fields = make_dict_unstructure_fn(Complaint, converter, clocks=override(omit=True))
_last_clocks: tuple[tuple[ClockState, ...], str] = ((), "[]")


def _clocks_json(clocks: tuple[ClockState, ...]) -> str:
    global _last_clocks
    last = _last_clocks  # one read: another thread may replace it meanwhile
    if last[0] is clocks:
        return last[1]
    text = _ENCODER.encode(converter.unstructure(clocks, tuple[ClockState, ...]))
    # Holding the tuple keeps its id from being reused by another object.
    _last_clocks = (clocks, text)
    return text


def to_json(value: object) -> str:
    """Serialise an entity to compact JSON text."""
    if type(value) is Complaint:
        fields = _ENCODER.encode(_complaint_fields(value))
        return f'{fields[:-1]},"clocks":{_clocks_json(value.clocks)}}}'
    return _ENCODER.encode(converter.unstructure(value))


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild an entity of type ``cls`` from :func:`to_json` output."""
    return converter.structure(json.loads(text), cls)


def to_dict(value: object) -> dict[str, Any]:
    """Unstructure an entity to a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(value)
    return result
