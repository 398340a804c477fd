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


def to_json(value: object) -> str:
    """Serialise an entity to compact JSON text."""
    return _ENCODER.encode(converter.unstructure(value))


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild an entity of type ``cls`` from :func:`to_json` output."""
    return converter.structure(json.loads(text), cls)


def to_dict(value: object) -> dict[str, Any]:
    """Unstructure an entity to a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(value)
    return result
