"""The one converter for definitions: plain data (TOML, dicts) into spec tables, checked.

Each definition module describes the tables of its file format as attrs classes
("specs": a workflow, a state, a clock, a calendar, an escalation level…),
declaring which keys exist, which are required, and what kind of value each
takes. :func:`read` structures plain data into a spec with :data:`converter`
(cattrs, ``forbid_extra_keys`` and detailed validation) and turns every cattrs
error into a sentence saying where it is and how to fix it; the module then
checks what a shape cannot say (a reference between states, a weekday name, a
ladder's numbering) on the spec it got.

Kinds of value are strict: text is ``str``, a whole number is an ``int`` that is
not a ``bool``, true/false is a ``bool``; nothing is coerced with ``str()`` or
``int()``.

>>> @attrs.frozen(kw_only=True)
... class Shelf:
...     label: str = attrs.field(metadata=about(expects="text such as 'A1'"))
...     slots: int = attrs.field(default=1, metadata=about(expects="a whole number"))
>>> read({"label": "A1", "slots": 3}, Shelf, lambda path: "shelf").value
Shelf(label='A1', slots=3)
>>> read({"slots": "three", "colour": "red"}, Shelf, lambda path: "shelf").problems
("shelf: unknown key 'colour'; allowed keys: label, slots", \
"shelf: 'label' must be text such as 'A1'; it is missing", \
"shelf: 'slots' must be a whole number, got 'three'")
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Generic, NamedTuple, TypeVar

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, mapping_structure_factory
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.gen import make_dict_structure_fn

T = TypeVar("T")

Path = tuple[str | int, ...]
"""Where a value is, from the root of what is read: keys of tables, indexes of lists."""

Texts = str | tuple[str, ...]
"""One text or a list of texts (``roles = "agent"`` or ``roles = ["agent", "manager"]``).

Kept as given: a single text stays a ``str``, so that readers which split or
expand one text (working hours, ``source = "*"``) see what was written.
"""


def as_tuple(texts: Texts) -> tuple[str, ...]:
    """The texts of a :data:`Texts` value as a tuple (one text is a tuple of one)."""
    return (texts,) if isinstance(texts, str) else texts


Amount = str | int | float | Decimal | None
"""An amount of money as a file may write it: text (``"12.50"``), a number, or left out."""

Weekdays = str | int | tuple[str | int, ...]
"""Weekday names, ranges or ISO numbers, one or a list (``["mon-fri"]``, ``[1, 2, 3]``)."""

Dates = str | date | tuple[str | date, ...]
"""Dates as TOML dates or ``"YYYY-MM-DD"`` text, one or a list."""

_EXPECTS = "expects"
_MISSING = "missing"
_LABEL = "label"


def about(
    *, expects: str | None = None, missing: str | None = None, label: str | None = None
) -> dict[str, str]:
    """Metadata for a spec field: what its value must be, and what to say when it is absent.

    Args:
        expects: completes "'key' must be …" when the value is of the wrong kind
            (default: from the field's type, e.g. "text").
        missing: the whole sentence for a required key that is absent (default:
            "'key' must be <expects>; it is missing").
        label: how sentences name the key (default: quoted, ``'key'``), so that a
            wrong kind reads like the module's other problems with that key.
    """
    given = {_EXPECTS: expects, _MISSING: missing, _LABEL: label}
    return {name: text for name, text in given.items() if text is not None}


def keys(spec: type[Any]) -> frozenset[str]:
    """The keys a spec table may have."""
    return frozenset(field.name for field in attrs.fields(spec))


# -- the converter ------------------------------------------------------------------------


class _WrongKindError(TypeError):
    """A value is not of the kind its key takes (the field's ``expects`` says which)."""


def _text(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise _WrongKindError(value)
    return value


def _whole_number(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _WrongKindError(value)
    return value


def _flag(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise _WrongKindError(value)
    return value


def _one_or_list(*kinds: type) -> Callable[[object, object], Any]:
    """A hook taking one value of ``kinds`` (not a ``bool``), or a list of them, as given."""

    def fits(value: object) -> bool:
        return isinstance(value, kinds) and not isinstance(value, bool)

    def structure(value: object, _: object) -> Any:
        if fits(value):
            return value
        if isinstance(value, list | tuple) and all(fits(item) for item in value):
            return tuple(value)
        raise _WrongKindError(value)

    return structure


def _amount(value: object, _: object) -> Amount:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal | None):
        raise _WrongKindError(value)
    return value


def _is_list(cls: Any) -> bool:
    return typing.get_origin(cls) is tuple and typing.get_args(cls)[-1:] == (Ellipsis,)


def _is_table(cls: Any) -> bool:
    return typing.get_origin(cls) in (dict, Mapping)


def _list_hook(cls: Any, converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    items = homogenous_tuple_structure_factory(cls, converter)

    def structure(value: object, cls: Any) -> Any:
        # A text is iterable, but never a list of tables.
        if not isinstance(value, list | tuple):
            raise _WrongKindError(value)
        return items(value, cls)

    return structure


def _table_hook(cls: Any, converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    entries = mapping_structure_factory(cls, converter)

    def structure(value: object, cls: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _WrongKindError(value)
        return entries(value, cls)

    return structure


def _spec_hook(cls: Any, converter: cattrs.Converter) -> Callable[[object, Any], Any]:
    fields = make_dict_structure_fn(cls, converter)

    def structure(value: object, cls: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _WrongKindError(value)
        return fields(value, cls)

    return structure


def _make_converter() -> cattrs.Converter:
    made = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    made.register_structure_hook(str, _text)
    made.register_structure_hook(int, _whole_number)
    made.register_structure_hook(bool, _flag)
    made.register_structure_hook_func(lambda cls: cls == Texts, _one_or_list(str))
    made.register_structure_hook_func(lambda cls: cls == Weekdays, _one_or_list(str, int))
    made.register_structure_hook_func(lambda cls: cls == Dates, _one_or_list(str, date))
    made.register_structure_hook_func(lambda cls: cls == Amount, _amount)
    made.register_structure_hook_factory(_is_list, _list_hook)
    made.register_structure_hook_factory(_is_table, _table_hook)
    made.register_structure_hook_factory(attrs.has, _spec_hook)
    return made


converter = _make_converter()
"""Structures plain data into definition specs; extra keys and wrong kinds are errors."""


def lookup(data: object, path: Path) -> object:
    """The value at ``path`` in plain data, or ``None`` when there is none."""
    for step in path:
        if isinstance(data, Mapping):
            data = data.get(step)
        elif isinstance(data, list | tuple) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data


# -- reading, and saying what is wrong ------------------------------------------------------


@attrs.frozen
class Reading(Generic[T]):
    """What :func:`read` found: the spec if its shape is right, and every problem.

    Unknown keys are reported and then ignored, so that the rest of their table is
    still read and checked; ``unknown`` lists the tables that had some (a reader
    should not trust what such a table leaves out: the misspelt key may be the
    one left out).
    """

    value: T | None
    problems: tuple[str, ...]
    unknown: frozenset[Path] = frozenset()


def read(data: object, spec: type[T], where: Callable[[Path], str]) -> Reading[T]:
    """Structure ``data`` into ``spec`` and report every problem of shape at once.

    Args:
        data: plain data, as parsed from TOML.
        spec: the attrs class (or ``dict[str, Spec]``) describing its tables.
        where: how problems name the table at a path (``"state 'open'"``);
            ``""`` for no prefix.

    Returns:
        the spec and no problems; or the unknown keys as problems and the spec
        read without them; or every problem and no spec.
    """
    try:
        return Reading(converter.structure(data, spec), ())
    except (ClassValidationError, IterableValidationError) as error:
        failures = list(_failures(error, ()))
    except _WrongKindError as error:
        failures = [_Failure(error, (), None)]
    unknown = [
        (failure.path, failure.error)
        for failure in failures
        if isinstance(failure.error, ForbiddenExtraKeysError)
    ]
    if not unknown:
        return Reading(None, tuple(_sentence(failure, data, where) for failure in failures))
    extra = [
        _placed(where(path), detail) for path, error in unknown for detail in _unknown_keys(error)
    ]
    again = read(_without(data, unknown), spec, where)
    return Reading(again.value, (*extra, *again.problems), frozenset(p for p, _ in unknown))


class _Failure(NamedTuple):
    """One thing cattrs found wrong, and where.

    ``spec`` is set when the failure is about one key of a spec table (``path``
    ends with the key); otherwise it is about the table at ``path`` as a whole.
    """

    error: BaseException
    path: Path
    spec: type[Any] | None


def _failures(error: BaseException, path: Path) -> Iterator[_Failure]:
    """Every leaf failure in cattrs' tree of errors, with its path."""
    if isinstance(error, ClassValidationError):
        in_fields, in_table = error.group_exceptions()
        for failure, field in in_fields:
            if isinstance(failure, ClassValidationError | IterableValidationError):
                yield from _failures(failure, (*path, field.name))
            else:
                yield _Failure(failure, (*path, field.name), error.cl)
        for failure in in_table:
            yield _Failure(failure, path, None)
    elif isinstance(error, IterableValidationError):
        in_items, in_whole = error.group_exceptions()
        for failure, item in in_items:
            if isinstance(failure, ClassValidationError | IterableValidationError):
                yield from _failures(failure, (*path, item.index))
            else:
                yield _Failure(failure, (*path, item.index), None)
        for failure in in_whole:
            yield _Failure(failure, path, None)
    else:
        yield _Failure(error, path, None)


def _sentence(failure: _Failure, data: object, where: Callable[[Path], str]) -> str:
    if failure.spec is None:
        return _placed(where(failure.path), f"must be a table, got {lookup(data, failure.path)!r}")
    field = attrs.fields_dict(failure.spec)[str(failure.path[-1])]
    label = field.metadata.get(_LABEL) or repr(field.name)
    expects = field.metadata.get(_EXPECTS) or _kind_of(field.type)
    if isinstance(failure.error, KeyError):
        detail = field.metadata.get(_MISSING) or f"{label} must be {expects}; it is missing"
    else:
        detail = f"{label} must be {expects}, got {lookup(data, failure.path)!r}"
    return _placed(where(failure.path[:-1]), detail)


def _unknown_keys(error: ForbiddenExtraKeysError) -> list[str]:
    allowed = sorted(keys(error.cl))
    details = []
    for key in sorted(error.extra_fields):
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        details.append(f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}")
    return details


def _placed(where: str, detail: str) -> str:
    return f"{where}: {detail}" if where else detail


def _kind_of(cls: object) -> str:
    """What a value of spec type ``cls`` is, in words, for fields that do not say."""
    if cls in (str, str | None):
        return "text"
    if cls in (int, int | None):
        return "a whole number"
    if cls is bool:
        return "true or false"
    if cls == Texts:
        return "text or a list of text"
    if cls == Amount:
        return 'an amount such as "250" or 250'
    if _is_list(cls):
        return "a list of tables"
    return "a table"


def _without(data: object, unknown: list[tuple[Path, ForbiddenExtraKeysError]]) -> object:
    """A copy of ``data`` without the unknown keys (the containers on their paths copied)."""
    for path, error in unknown:
        data = _drop(data, path, error.extra_fields)
    return data


def _drop(data: object, path: Path, extra: set[str]) -> object:
    if isinstance(data, Mapping):
        if not path:
            return {key: value for key, value in data.items() if key not in extra}
        return {**data, path[0]: _drop(data[path[0]], path[1:], extra)}
    if isinstance(data, list | tuple) and path and isinstance(path[0], int):
        copied = list(data)
        copied[path[0]] = _drop(copied[path[0]], path[1:], extra)
        return copied
    raise AssertionError(f"no table with unknown keys at {path}")  # pragma: no cover
