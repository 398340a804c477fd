"""Deep-frozen JSON-like data, so that stored snapshots can be shared safely.

Complaints, events and outbox messages carry free-form ``data`` (what was
collected, what was decided). Freezing it (mappings become read-only views,
lists become tuples) lets every store hand out the same snapshot object many
times without a caller being able to alter stored state by mutating it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

FrozenData = Mapping[str, Any]
EMPTY: FrozenData = MappingProxyType({})

_SCALARS = (str, int, float, bool, type(None))
_FLAT = frozenset(_SCALARS)


def freeze(value: Any) -> Any:
    """Return a read-only deep copy of JSON-like ``value``.

    Raises:
        TypeError: ``value`` holds something that is not JSON-like.
    """
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError(
                f"{value!r} is not a number JSON can store; "
                "use a finite number, or None for 'unknown'"
            )
        return value
    if isinstance(value, MappingProxyType):
        # Only ``freeze`` builds proxies in this library, so their contents are frozen.
        return value
    if isinstance(value, Mapping):
        return MappingProxyType({_key(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    raise TypeError(
        f"{type(value).__name__} is not JSON-like data; use str, int, float, bool, None, "
        "lists and mappings with string keys"
    )


def freeze_mapping(value: Mapping[str, Any] | None) -> FrozenData:
    """Freeze a mapping (``None`` gives an empty one); the converter of ``data`` fields."""
    if type(value) is MappingProxyType:
        return value  # already frozen: the common case, kept cheap
    if value is None:
        return EMPTY
    # A dict is a Mapping: said first, since the ABC check costs several times more.
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"expected a mapping of data, got {type(value).__name__}")
    copied = dict(value)
    # Most data is a few text fields: one flat pass avoids a recursive call per value.
    for key, item in copied.items():
        if (
            type(key) is not str
            or type(item) not in _FLAT
            or (type(item) is float and not math.isfinite(item))
        ):
            frozen: FrozenData = freeze(copied)
            return frozen
    return MappingProxyType(copied)


def thaw(value: Any) -> Any:
    """Return a plain mutable (JSON-serialisable) copy of frozen ``value``."""
    kind = type(value)
    if kind in _FLAT:
        return value
    if kind is MappingProxyType or kind is dict:
        # Exact type checks first: the ABC checks below cost several times more.
        return {k: v if type(v) in _FLAT else thaw(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    return value


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"data keys must be strings, got {key!r}")
    return key
