"""The argument checkers: a valid value comes back, anything else is an InvalidArgumentError.

Every checker is given arbitrary values of many types (numbers of every size,
floats with nan and infinities, booleans, text with spaces, control characters
and lone surrogates, bytes, None, lists, dicts, sets, dates, naive and aware
datetimes, objects with a broken ``repr``). It must return the value exactly
when an independent statement of the rule says it is valid, and otherwise raise
``InvalidArgumentError`` naming the argument — never another exception.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import Actor, InvalidArgumentError
from complaint_flow.arguments import (
    MAX_INT64,
    aware_datetime,
    duration,
    flag,
    instance,
    items,
    mapping,
    name,
    names,
    number,
    one_of,
    optional_aware_datetime,
    optional_mapping,
    optional_name,
    optional_text,
    optional_whole_number,
    shown,
    text,
    whole_number,
)


class BrokenRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


SPECIAL_TEXT = st.sampled_from(
    [
        "9" * 5000,
        "x" * 10_000,
        "",
        " ",
        "5",
        "-1",
        "2.5",
        " email",
        "email ",
        "social media",
        "line\nbreak",
        "tab\there",
        "a\ud800b",
        "\x00",
        "2026-03-02T09:00Z",
        "2026-03-02T09:00",
        "true",
        "False",
    ]
)
SPECIAL_NUMBERS = st.sampled_from([0, 1, -1, MAX_INT64, MAX_INT64 + 1, -(2**63), 2**100]) | (
    # built, not listed: Hypothesis prints its strategies, and Python refuses to print
    # an integer of more than 4300 digits
    st.sampled_from([1, -1]).map(lambda sign: sign * 2**20_000)
)
SCALARS = [
    st.integers(),
    SPECIAL_NUMBERS,
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    SPECIAL_TEXT,
    st.binary(max_size=8),
    st.none(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC) | st.timezones()),
    st.timedeltas(),
    st.sampled_from([Colour.RED, bytearray(b"x"), 1 + 2j]),
    st.builds(BrokenRepr),
    st.builds(object),
]
SCALAR = st.one_of(*SCALARS)
CONTAINERS = st.one_of(
    st.lists(SCALAR, max_size=3),
    st.lists(st.lists(SCALAR, max_size=2), max_size=2),
    st.tuples(SCALAR, SCALAR),
    st.frozensets(st.text(max_size=5) | st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5) | st.integers() | st.none(), SCALAR, max_size=3),
)
# Each kind of scalar is drawn as often as all the containers together.
VALUES = st.one_of(*SCALARS, CONTAINERS)
ARGUMENTS = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def outcome(check: Callable[[], Any], argument: str) -> tuple[bool, Any]:
    """(True, result) or (False, error); an error must be an InvalidArgumentError naming it."""
    try:
        return True, check()
    except InvalidArgumentError as error:
        message = str(error)
        assert argument in message, message
        assert len(message) < 600, f"a message should stay readable: {len(message)} characters"
        return False, error


def storable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_name(value: object) -> bool:
    return (
        isinstance(value, str)
        and value != ""
        and storable(value)
        and value.strip() == value
        and value.isprintable()
    )


# -- numbers ---------------------------------------------------------------------------


@given(
    ARGUMENTS,
    VALUES | st.integers(min_value=-5, max_value=5),
    st.integers(-3, 3),
    st.sampled_from([MAX_INT64, 3, 10]),
)
def test_whole_number(argument: str, value: object, minimum: int, maximum: int) -> None:
    ok, result = outcome(
        lambda: whole_number(argument, value, minimum=minimum, maximum=maximum), argument
    )
    valid = is_int(value) and minimum <= value <= maximum  # type: ignore[operator]
    assert ok is valid
    if ok:
        assert result == value
        assert type(result) is int
    else:
        assert shown(value) in str(result)


@given(ARGUMENTS, VALUES)
def test_optional_whole_number(argument: str, value: object) -> None:
    ok, result = outcome(lambda: optional_whole_number(argument, value, minimum=1), argument)
    assert ok is (value is None or (is_int(value) and 1 <= value <= MAX_INT64))  # type: ignore[operator]
    if ok:
        assert result == value


@given(
    ARGUMENTS,
    VALUES | st.floats(-2, 2),
    st.none() | st.integers(-1, 1),
    st.none() | st.floats(0, 1.5),
)
def test_number(argument: str, value: object, minimum: int | None, maximum: float | None) -> None:
    ok, result = outcome(
        lambda: number(argument, value, minimum=minimum, maximum=maximum), argument
    )
    valid = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
        and (minimum is None or value >= minimum)
        and (maximum is None or value <= maximum)
    )
    assert ok is valid
    if ok:
        assert result is value


# -- text and names -------------------------------------------------------------------


@given(ARGUMENTS, VALUES, st.booleans(), st.booleans())
def test_text(argument: str, value: object, blank: bool, strip: bool) -> None:
    ok, result = outcome(lambda: text(argument, value, blank=blank, strip=strip), argument)
    valid = isinstance(value, str) and storable(value) and (blank or bool(value.strip()))
    assert ok is valid
    if ok:
        assert isinstance(value, str)
        assert result == (value.strip() if strip else value)


@given(ARGUMENTS, VALUES)
def test_optional_text(argument: str, value: object) -> None:
    ok, result = outcome(lambda: optional_text(argument, value), argument)
    assert ok is (
        value is None or (isinstance(value, str) and storable(value) and bool(value.strip()))
    )
    if ok and value is not None:
        assert isinstance(value, str)
        assert result == value.strip()


@given(ARGUMENTS, VALUES)
def test_name(argument: str, value: object) -> None:
    ok, result = outcome(lambda: name(argument, value), argument)
    assert ok is is_name(value)
    if ok:
        assert result is value


@given(ARGUMENTS, VALUES)
def test_optional_name(argument: str, value: object) -> None:
    ok, result = outcome(lambda: optional_name(argument, value), argument)
    assert ok is (value is None or is_name(value))
    if ok:
        assert result is value


def is_list(value: object) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray | Mapping)


@given(ARGUMENTS, VALUES | st.iterables(SCALAR, max_size=3), st.booleans())
def test_items(argument: str, value: object, empty: bool) -> None:
    if isinstance(value, Iterator):
        # An iterator is read once: keep what it gives to compare with the result.
        value = iter(given := list(value))
    else:
        given = list(value) if is_list(value) else []  # type: ignore[call-overload]
    ok, result = outcome(lambda: items(argument, value, empty=empty), argument)
    assert ok is (is_list(value) and (empty or len(given) > 0))
    if ok:
        assert result == tuple(given)


@given(ARGUMENTS, VALUES | st.lists(st.text(max_size=6), max_size=3), st.booleans())
def test_names(argument: str, value: object, empty: bool) -> None:
    ok, result = outcome(lambda: names(argument, value, empty=empty), argument)
    listed = list(value) if is_list(value) else None  # type: ignore[call-overload]
    valid = listed is not None and (empty or bool(listed)) and all(map(is_name, listed))
    assert ok is valid
    if ok:
        assert isinstance(value, Collection)
        assert result == tuple(value)


@given(ARGUMENTS, VALUES | st.sampled_from(["red", "green", "blue"]))
def test_one_of(argument: str, value: object) -> None:
    ok, result = outcome(lambda: one_of(argument, value, list(Colour)), argument)
    assert ok is (isinstance(value, str) and value in {"red", "green"})
    if ok:
        assert result == value


# -- flags, times, objects, mappings ---------------------------------------------------


@given(ARGUMENTS, VALUES)
def test_flag(argument: str, value: object) -> None:
    ok, result = outcome(lambda: flag(argument, value), argument)
    assert ok is isinstance(value, bool)
    if ok:
        assert result is value


def is_aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


@given(ARGUMENTS, VALUES)
def test_aware_datetime(argument: str, value: object) -> None:
    ok, result = outcome(lambda: aware_datetime(argument, value), argument)
    assert ok is is_aware(value)
    if ok:
        assert result is value


@given(ARGUMENTS, VALUES)
def test_optional_aware_datetime(argument: str, value: object) -> None:
    ok, result = outcome(lambda: optional_aware_datetime(argument, value), argument)
    assert ok is (value is None or is_aware(value))
    if ok:
        assert result is value


@given(ARGUMENTS, VALUES, st.sampled_from([int, str, dict, datetime, date, Actor]))
def test_instance(argument: str, value: object, cls: type) -> None:
    ok, result = outcome(lambda: instance(argument, value, cls, f"{cls.__name__}(...)"), argument)
    assert ok is isinstance(value, cls)
    if ok:
        assert result is value
    else:
        assert f"build one with {cls.__name__}(...)" in str(result)


@given(ARGUMENTS, VALUES)
def test_duration(argument: str, value: object) -> None:
    ok, result = outcome(lambda: duration(argument, value), argument)
    assert ok is (isinstance(value, timedelta) and value > timedelta(0))
    if ok:
        assert result is value


def is_mapping(value: object) -> bool:
    return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)


@given(ARGUMENTS, VALUES)
def test_mapping(argument: str, value: object) -> None:
    ok, result = outcome(lambda: mapping(argument, value), argument)
    assert ok is is_mapping(value)
    if ok:
        assert result is value


@given(ARGUMENTS, VALUES)
def test_optional_mapping(argument: str, value: object) -> None:
    ok, result = outcome(lambda: optional_mapping(argument, value), argument)
    assert ok is (value is None or is_mapping(value))
    if ok:
        assert result is value


@given(VALUES)
def test_shown_is_short_and_never_raises(value: object) -> None:
    assert len(shown(value)) <= 80 + len(f" ({type(value).__name__})")


# -- the problems a new user met ----------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        # fire(..., expected_version="1") was a false ConcurrencyError
        (
            lambda: optional_whole_number("expected_version", "1", minimum=1),
            "expected_version must be a whole number of at least 1, got '1' (str); "
            "pass the number itself: 1",
        ),
        # sweep("2026-03-02T09:00Z") was an AttributeError
        (
            lambda: optional_aware_datetime("now", "2026-03-02T09:00Z"),
            "now must be a timezone-aware datetime, got '2026-03-02T09:00Z' (str); "
            "pass datetime.fromisoformat('2026-03-02T09:00Z')",
        ),
        (
            lambda: aware_datetime("now", datetime(2026, 3, 2, 9)),
            "now must be a timezone-aware datetime, got datetime.datetime(2026, 3, 2, 9, 0) "
            "(datetime); give it a time zone, e.g. value.replace(tzinfo=timezone.utc) if it is UTC",
        ),
        # find(limit="5") and find(limit=2.5) were TypeErrors
        (
            lambda: optional_whole_number("limit", "5"),
            "limit must be a whole number of at least 0, got '5' (str); pass the number itself: 5",
        ),
        (
            lambda: optional_whole_number("limit", 2.5),
            "limit must be a whole number of at least 0, got 2.5 (float); "
            "pass a whole number (round it first)",
        ),
        # deliver(None) was a TypeError, a huge limit an OverflowError in SQLite
        (
            lambda: whole_number("limit", None),
            "limit must be a whole number of at least 0, got None (NoneType); pass a whole number",
        ),
        (
            lambda: whole_number("limit", 2**64),
            "limit must be a whole number of at least 0, got 18446744073709551616 (int); "
            "pass 9223372036854775807 (the largest a store can hold) or less",
        ),
        # deliver(-1) was accepted while find(limit=-1) was refused: one rule for both
        (
            lambda: whole_number("limit", -1),
            "limit must be a whole number of at least 0, got -1 (int); pass 0 or more",
        ),
        # change_reply_channel(id, ["sms"], ...) was an unhashable-list TypeError
        (
            lambda: name("channel", ["sms"]),
            "channel must be a name such as 'email', got ['sms'] (list); pass one name: 'sms'",
        ),
        (
            lambda: flag("dry_run", "no"),
            "dry_run must be True or False, got 'no' (str); pass True or False",
        ),
        (
            lambda: instance("actor", "Bo", Actor, "Actor(id=..., name=..., role=...)"),
            "actor must be an Actor, got 'Bo' (str); build one with Actor(id=..., name=..., "
            "role=...)",
        ),
    ],
)
def test_messages_say_what_was_wrong_and_what_to_do(
    check: Callable[[], object], expected: str
) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        check()
    assert str(raised.value) == expected


def test_a_value_too_long_to_print_is_described() -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        whole_number("limit", 10**5000)
    assert "got an integer of 5001 digits (int)" in str(raised.value)
    with pytest.raises(InvalidArgumentError) as raised:
        text("reason", BrokenRepr())
    assert "got <BrokenRepr instance at 0x" in str(raised.value)


def test_the_advice_fits_the_value() -> None:
    def message(check: Callable[[], object]) -> str:
        with pytest.raises(InvalidArgumentError) as raised:
            check()
        return str(raised.value)

    assert message(lambda: whole_number("batch", 3.0, minimum=1)).endswith(
        "pass the whole number 3, not a float"
    )
    assert message(lambda: whole_number("batch", True)).endswith("not True or False")
    assert message(lambda: whole_number("limit", 20, maximum=10)).startswith(
        "limit must be a whole number from 0 to 10, got 20 (int)"
    )
    assert message(lambda: aware_datetime("until", "2026-03-02T09:00")).endswith(
        "pass datetime.fromisoformat('2026-03-02T09:00').replace(tzinfo=timezone.utc) if it is UTC"
    )
    assert message(lambda: aware_datetime("until", date(2026, 3, 2))).endswith(
        "pass a datetime with a time and a time zone, such as "
        "datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)"
    )
    assert message(lambda: aware_datetime("now", 1_772_442_000)).endswith(
        "for a Unix timestamp pass datetime.fromtimestamp(value, timezone.utc)"
    )
    assert message(lambda: name("channel", " email")).endswith(
        "remove the spaces around it: 'email'"
    )
    assert message(lambda: text("reason", b"sorry")).endswith(
        "decode it first: reason=value.decode()"
    )
    assert "a lone surrogate" in message(lambda: text("reason", "caf\udce9"))
    assert message(lambda: items("intakes", {"channel": "email"})).endswith(
        "pass a list or a tuple"
    )
    assert message(lambda: items("restrictions", [], empty=False)).endswith("give at least one")
    assert message(lambda: names("channels", ["phone", 3])).startswith(
        "channels[1] must be a name such as 'email', got 3 (int)"
    )
    assert message(lambda: mapping("data", {1: "x"})).endswith(
        "the key 1 (int) is not text: use str keys"
    )
    assert message(lambda: flag("dry_run", "false")).endswith("pass False, not text")


def test_valid_values_come_back_unchanged() -> None:
    when = datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=1)))
    assert aware_datetime("now", when) is when
    assert whole_number("limit", MAX_INT64) == MAX_INT64
    assert text("customer_id", " C-1 ", strip=False) == " C-1 "
    assert text("note", "", blank=True) == ""
    assert name("channel", "social media") == "social media"  # a plugin may register it
    assert names("channels", ()) == ()
    assert one_of("colour", Colour.GREEN, list(Colour)) is Colour.GREEN
