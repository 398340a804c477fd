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


def to_json(value: object) -> str:
    """Serialise an entity to compact JSON text."""
    return json.dumps(converter.unstructure(value), separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | bytes, cls: type[T]) -> T:
    """Rebuild an entity of type ``cls`` from :func:`to_json` output."""
    return converter.structure(json.loads(text), cls)


def to_dict(value: object) -> dict[str, Any]:
    """Unstructure an entity to a JSON-ready dict."""
    result: dict[str, Any] = converter.unstructure(value)
    return result
