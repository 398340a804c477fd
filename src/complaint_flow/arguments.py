"""Checks of the arguments given to public calls, with one kind of message.

Each checker returns the value when it is valid (for text, stripped unless told
otherwise) and raises :class:`~complaint_flow.errors.InvalidArgumentError`
otherwise, whose message names the argument, shows the value given (shortened),
says what was expected and what to do. Given a value of the wrong type or out of
range, a checker raises nothing else, so a call that checks its arguments before
it reads or writes anything never lets a wrong type surface as a ``TypeError``
(or an ``OverflowError``) from deep inside a store.

>>> from complaint_flow.arguments import whole_number
>>> whole_number("limit", 5)
5
>>> whole_number("limit", "5")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
complaint_flow.errors.InvalidArgumentError: limit must be a whole number of at least 0, got '5'
(str); pass the number itself: 5

The same kind of argument gets the same checker everywhere: ``limit`` is
``optional_whole_number(minimum=0)`` (0 gives nothing), ``batch`` is
``whole_number(minimum=1)``, ``expected_version`` is
``optional_whole_number(minimum=1)``, ``now`` is ``optional_aware_datetime``,
an actor is ``instance(..., Actor, ...)``, reasons and notes are ``text``, ids are
``text(strip=False)``, channel, trigger, state, clock and workflow names are
``name``, lists are ``items`` (``names`` for a list of names), durations are
``duration`` (a ``timedelta``), seconds and fractions ``number``, and decisions
``flag`` (``True`` or ``False``, never ``"no"``).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from complaint_flow.errors import InvalidArgumentError

T = TypeVar("T")

MAX_INT64 = 2**63 - 1
"""The largest whole number the stores can hold (SQLite and PostgreSQL integers are 64-bit)."""

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 60
_SHOWN.maxother = 80
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxset = _SHOWN.maxdict = 4
_SHOWN.maxlevel = 2

_HUGE_BITS = 256
"""Integers longer than this are described by their size, not printed (a printed
integer of more than 4300 digits is itself an error in Python)."""


def shown(value: object) -> str:
    """The value as an error message shows it: its repr, shortened, and its type.

    >>> shown("5")
    "'5' (str)"
    >>> shown(2**1000)
    'an integer of 302 digits (int)'
    """
    return f"{_brief(value)} ({type(value).__name__})"


def _brief(value: object) -> str:
    """The value's repr, at most 80 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _HUGE_BITS:
        digits = math.floor(value.bit_length() * math.log10(2)) + 1
        return f"an integer of {digits} digits"
    try:
        text = _SHOWN.repr(value)
    except Exception:  # a broken __repr__ must not hide the argument's name
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= 80 else text[:77] + "..."


def _refuse(argument: str, expected: str, value: object, advice: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{argument} must be {expected}, got {shown(value)}; {advice}")


# -- numbers ---------------------------------------------------------------------


def whole_number(
    argument: str, value: object, *, minimum: int = 0, maximum: int = MAX_INT64
) -> int:
    """An ``int`` from ``minimum`` to ``maximum``; never a bool, a float or text.

    The default maximum is what a store can hold, so a huge number is refused
    here rather than overflowing in the database driver.

    Args:
        argument: the argument's name, as the caller wrote it.
        value: what was given.
        minimum: the smallest allowed value.
        maximum: the largest allowed value.

    Raises:
        InvalidArgumentError: ``value`` is not an ``int`` in range.

    >>> whole_number("batch", 500, minimum=1)
    500
    >>> whole_number("batch", 0, minimum=1)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: batch must be a whole number of at least 1, got
    0 (int); pass 1 or more
    """
    if type(value) is int and minimum <= value <= maximum:
        return value  # the common case, decided before any message is composed
    expected = (
        f"a whole number of at least {minimum}"
        if maximum == MAX_INT64
        else f"a whole number from {minimum} to {maximum}"
    )
    if isinstance(value, bool):
        raise _refuse(argument, expected, value, "pass a number, not True or False")
    if not isinstance(value, int):
        raise _refuse(argument, expected, value, _number_advice(value))
    if value < minimum:
        raise _refuse(argument, expected, value, f"pass {minimum} or more")
    if value > maximum:
        largest = " (the largest a store can hold)" if maximum == MAX_INT64 else ""
        raise _refuse(argument, expected, value, f"pass {maximum}{largest} or less")
    return int(value)


def optional_whole_number(
    argument: str, value: object, *, minimum: int = 0, maximum: int = MAX_INT64
) -> int | None:
    """None, or a whole number as :func:`whole_number` checks it.

    >>> optional_whole_number("expected_version", None, minimum=1) is None
    True
    >>> optional_whole_number("expected_version", "1", minimum=1)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: expected_version must be a whole number of at
    least 1, got '1' (str); pass the number itself: 1
    """
    if value is None:
        return None
    return whole_number(argument, value, minimum=minimum, maximum=maximum)


def number(
    argument: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """A finite real number (an ``int`` or a ``float``, not a bool), within the bounds given.

    >>> number("jitter", 0.25, minimum=0, maximum=1)
    0.25
    >>> number("timeout", float("nan"), minimum=0)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: timeout must be a number of at least 0, got nan
    (float); pass a finite number
    """
    if minimum is not None and maximum is not None:
        expected = f"a number from {minimum} to {maximum}"
    elif minimum is not None:
        expected = f"a number of at least {minimum}"
    elif maximum is not None:
        expected = f"a number of at most {maximum}"
    else:
        expected = "a number"
    if isinstance(value, bool):
        raise _refuse(argument, expected, value, "pass a number, not True or False")
    if not isinstance(value, int | float):
        raise _refuse(argument, expected, value, _number_advice(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise _refuse(argument, expected, value, "pass a finite number")
    if minimum is not None and value < minimum:
        raise _refuse(argument, expected, value, f"pass {minimum} or more")
    if maximum is not None and value > maximum:
        raise _refuse(argument, expected, value, f"pass {maximum} or less")
    return value


def _number_advice(value: object) -> str:
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        try:
            return f"pass the number itself: {int(value)}"
        except ValueError:  # digits beyond Python's limit for converting text
            return "pass the number itself, not text"
    if isinstance(value, float) and value.is_integer():
        return f"pass the whole number {int(value)}, not a float"
    if isinstance(value, float):
        return "pass a whole number (round it first)"
    if value is None:
        return "pass a whole number"
    return "pass an int"


# -- text and names ----------------------------------------------------------------


def text(argument: str, value: object, *, blank: bool = False, strip: bool = True) -> str:
    """A ``str`` that can be stored; not blank unless ``blank=True``.

    Args:
        argument: the argument's name.
        value: what was given.
        blank: allow empty or whitespace-only text.
        strip: return the text without surrounding whitespace (ids keep theirs:
            pass ``strip=False``).

    Raises:
        InvalidArgumentError: ``value`` is not text, is blank (unless allowed), or
            holds a lone surrogate (a bad decode) that cannot be stored as UTF-8.

    >>> text("reason", "  Customer called back  ")
    'Customer called back'
    >>> text("reason", "   ")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: reason must be non-empty text, got '   ' (str);
    say it in words
    """
    expected = "text" if blank else "non-empty text"
    if not isinstance(value, str):
        advice = (
            f"decode it first: {argument}=value.decode()"
            if isinstance(value, bytes | bytearray)
            else "pass a str"
        )
        raise _refuse(argument, expected, value, advice)
    _storable(argument, expected, value)
    if not blank and not value.strip():
        raise _refuse(argument, expected, value, "say it in words")
    return value.strip() if strip else value


def optional_text(
    argument: str, value: object, *, blank: bool = False, strip: bool = True
) -> str | None:
    """None, or text as :func:`text` checks it.

    >>> optional_text("skip_warning_reason", None) is None
    True
    >>> optional_text("skip_warning_reason", " staff safety ")
    'staff safety'
    """
    if value is None:
        return None
    return text(argument, value, blank=blank, strip=strip)


def name(argument: str, value: object) -> str:
    """The name of something registered or defined: a channel, trigger, state, clock, workflow.

    Any text a plugin or a workflow could register is accepted as given (an unknown
    name is for the lookup to refuse, with the list of known ones); what is refused
    is what cannot be a name at all: not text, blank, spaces around it, control
    characters.

    Raises:
        InvalidArgumentError: ``value`` is not a usable name.

    >>> name("channel", "email")
    'email'
    >>> name("channel", ["sms"])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: channel must be a name such as 'email', got
    ['sms'] (list); pass one name: 'sms'
    """
    expected = "a name such as 'email'"
    if not isinstance(value, str):
        raise _refuse(argument, expected, value, _name_advice(value))
    _storable(argument, expected, value)
    if not value.strip():
        raise _refuse(argument, expected, value, "pass a name")
    if value != value.strip():
        raise _refuse(
            argument, expected, value, f"remove the spaces around it: {_brief(value.strip())}"
        )
    if not value.isprintable():
        raise _refuse(
            argument, expected, value, "remove the line breaks, tabs and other invisible characters"
        )
    return value


def optional_name(argument: str, value: object) -> str | None:
    """None, or a name as :func:`name` checks it.

    >>> optional_name("requested_via", None) is None
    True
    >>> optional_name("requested_via", "letter")
    'letter'
    """
    if value is None:
        return None
    return name(argument, value)


def items(argument: str, value: object, *, empty: bool = True) -> tuple[object, ...]:
    """The items of a list, tuple, set or other iterable, as a tuple; text is refused.

    Text, bytes and mappings are iterable too, but passing one where a list is
    expected is a mistake (``"phone"`` for ``["phone"]``), so they are refused.

    Args:
        argument: the argument's name.
        value: what was given.
        empty: allow no items.

    Raises:
        InvalidArgumentError: ``value`` is text, bytes, a mapping or not iterable,
            or it is empty and ``empty`` is False.

    >>> items("intakes", (n for n in range(3)))
    (0, 1, 2)
    >>> items("intakes", None)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: intakes must be a list, got None (NoneType); pass
    a list or a tuple
    """
    expected = "a list" if empty else "a non-empty list"
    if isinstance(value, str):
        raise _refuse(argument, expected, value, f"pass a list: [{_brief(value)}]")
    if not isinstance(value, Iterable) or isinstance(value, bytes | bytearray | Mapping):
        raise _refuse(argument, expected, value, "pass a list or a tuple")
    listed = tuple(value)
    if not empty and not listed:
        raise _refuse(argument, expected, value, "give at least one")
    return listed


def names(argument: str, value: object, *, empty: bool = True) -> tuple[str, ...]:
    """A list (tuple, set…) of names, each as :func:`name` checks it; a lone name is refused.

    Args:
        argument: the argument's name.
        value: what was given.
        empty: allow an empty list.

    Raises:
        InvalidArgumentError: ``value`` is not a list as :func:`items` checks it, or
            holds something that is not a name (the message names its index).

    >>> names("channels", ["phone", "letter"])
    ('phone', 'letter')
    >>> names("channels", "phone")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: channels must be a list, got 'phone' (str); pass a
    list: ['phone']
    """
    listed = items(argument, value, empty=empty)
    return tuple(name(f"{argument}[{index}]", item) for index, item in enumerate(listed))


def one_of(argument: str, value: object, choices: Collection[str]) -> str:
    """One of ``choices`` (text; a ``StrEnum`` member counts as its value).

    >>> outcomes = ("no_new_information", "safeguarding")
    >>> one_of("outcome", "safeguarding", outcomes)
    'safeguarding'
    >>> one_of("outcome", "lost", outcomes)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: outcome must be one of 'no_new_information',
    'safeguarding', got 'lost' (str); pass one of those
    """
    listed = ", ".join(repr(str(choice)) for choice in sorted(choices))
    expected = f"one of {listed}"
    if not isinstance(value, str) or value not in {str(choice) for choice in choices}:
        raise _refuse(argument, expected, value, "pass one of those")
    return value


def _name_advice(value: object) -> str:
    if isinstance(value, list | tuple) and len(value) == 1 and isinstance(value[0], str):
        return f"pass one name: {_brief(value[0])}"
    if isinstance(value, bytes | bytearray):
        return "decode it first: value.decode()"
    return "pass a str"


def _storable(argument: str, expected: str, value: str) -> None:
    try:
        value.encode()
    except UnicodeEncodeError as exc:
        raise _refuse(
            argument,
            expected,
            value,
            f"it holds {_brief(value[exc.start : exc.end])}, a lone surrogate that cannot be "
            "stored as UTF-8: decode the text with the right encoding (or errors='replace')",
        ) from None


# -- flags, times, objects, mappings --------------------------------------------------


def flag(argument: str, value: object) -> bool:
    """``True`` or ``False`` exactly: ``"no"`` or ``0`` must not pass for a decision.

    >>> flag("dry_run", True)
    True
    >>> flag("dry_run", "false")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: dry_run must be True or False, got 'false'
    (str); pass False, not text
    """
    if isinstance(value, bool):
        return value
    advice = "pass True or False"
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        advice = f"pass {value.strip().capitalize()}, not text"
    raise _refuse(argument, "True or False", value, advice)


def aware_datetime(argument: str, value: object) -> datetime:
    """A timezone-aware ``datetime``.

    Raises:
        InvalidArgumentError: ``value`` is naive, a ``date``, text or anything else;
            the message says how to build the right value from it.

    >>> from datetime import datetime, timezone
    >>> aware_datetime("now", datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)).hour
    9
    >>> aware_datetime("now", "2026-03-02T09:00Z")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: now must be a timezone-aware datetime, got
    '2026-03-02T09:00Z' (str); pass datetime.fromisoformat('2026-03-02T09:00Z')
    """
    expected = "a timezone-aware datetime"
    if isinstance(value, datetime):
        try:
            aware = value.utcoffset() is not None
        except Exception:  # a tzinfo that cannot answer is no time zone
            aware = False
        if aware:
            return value
        raise _refuse(
            argument,
            expected,
            value,
            "give it a time zone, e.g. value.replace(tzinfo=timezone.utc) if it is UTC",
        )
    raise _refuse(argument, expected, value, _datetime_advice(value))


def optional_aware_datetime(argument: str, value: object) -> datetime | None:
    """None, or a timezone-aware ``datetime`` as :func:`aware_datetime` checks it.

    >>> optional_aware_datetime("now", None) is None
    True
    """
    if value is None:
        return None
    return aware_datetime(argument, value)


def _datetime_advice(value: object) -> str:
    example = "datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)"
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return f"pass a datetime such as {example}"
        if parsed.utcoffset() is None:
            iso = _brief(value.strip())
            return f"pass datetime.fromisoformat({iso}).replace(tzinfo=timezone.utc) if it is UTC"
        return f"pass datetime.fromisoformat({_brief(value.strip())})"
    if isinstance(value, date):
        return f"pass a datetime with a time and a time zone, such as {example}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "for a Unix timestamp pass datetime.fromtimestamp(value, timezone.utc)"
    return f"pass a datetime such as {example}"


def duration(argument: str, value: object) -> timedelta:
    """A ``timedelta`` longer than zero.

    >>> from datetime import timedelta
    >>> duration("base", timedelta(seconds=30))
    datetime.timedelta(seconds=30)
    >>> duration("base", 30)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: base must be a timedelta longer than zero, got 30
    (int); pass timedelta(seconds=30) if it is seconds
    """
    expected = "a timedelta longer than zero"
    if isinstance(value, timedelta):
        if value > timedelta(0):
            return value
        raise _refuse(argument, expected, value, "pass a positive timedelta")
    seconds = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if seconds and not isinstance(value, bool):
        advice = f"pass timedelta(seconds={_brief(value)}) if it is seconds"
    else:
        advice = "pass a timedelta such as timedelta(minutes=5)"
    raise _refuse(argument, expected, value, advice)


def instance(argument: str, value: object, cls: type[T], how_to_build: str) -> T:
    """An instance of ``cls`` (an ``Actor``, an ``Intake``, a ``Remedy``…).

    Args:
        argument: the argument's name.
        value: what was given.
        cls: the class expected.
        how_to_build: how to build one, e.g. ``"Actor(id=..., name=..., role=...)"``.

    >>> from fractions import Fraction
    >>> instance("share", Fraction(1, 2), Fraction, "Fraction(1, 2)")
    Fraction(1, 2)
    >>> instance("share", 0.5, Fraction, "Fraction(1, 2)")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: share must be a Fraction, got 0.5 (float);
    build one with Fraction(1, 2)
    """
    if isinstance(value, cls):
        return value
    article = "an" if cls.__name__[:1].lower() in "aeiou" else "a"
    expected = f"{article} {cls.__name__}"
    raise _refuse(argument, expected, value, f"build one with {how_to_build}")


def mapping(argument: str, value: object) -> Mapping[str, Any]:
    """A mapping (a ``dict``…) whose keys are all text.

    >>> mapping("data", {"facts": "Box crushed"})
    {'facts': 'Box crushed'}
    >>> mapping("data", [("facts", "Box crushed")])  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    complaint_flow.errors.InvalidArgumentError: data must be a mapping with text keys, got
    [('facts', 'Box crushed')] (list); a list of pairs is not a mapping: pass dict(pairs)
    """
    expected = "a mapping with text keys"
    if not isinstance(value, Mapping):
        pairs = isinstance(value, list | tuple) and all(
            isinstance(pair, tuple) and len(pair) == 2 for pair in value
        )
        advice = (
            "a list of pairs is not a mapping: pass dict(pairs)"
            if pairs and value
            else "pass a dict"
        )
        raise _refuse(argument, expected, value, advice)
    for key in value:
        if not isinstance(key, str):
            raise _refuse(
                argument, expected, value, f"the key {shown(key)} is not text: use str keys"
            )
    return value


def optional_mapping(argument: str, value: object) -> Mapping[str, Any] | None:
    """None, or a mapping as :func:`mapping` checks it.

    >>> optional_mapping("data", None) is None
    True
    """
    if value is None:
        return None
    return mapping(argument, value)


__all__ = [
    "MAX_INT64",
    "aware_datetime",
    "duration",
    "flag",
    "instance",
    "items",
    "mapping",
    "name",
    "names",
    "number",
    "one_of",
    "optional_aware_datetime",
    "optional_mapping",
    "optional_name",
    "optional_text",
    "optional_whole_number",
    "shown",
    "text",
    "whole_number",
]
