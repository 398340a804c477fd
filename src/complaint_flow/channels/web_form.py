"""The web form channel: a complaint form's submission, checked against a published schema.

The form's fields are described by a JSON Schema (Draft 2020-12) shipped with the
library, :func:`web_form_schema`, with a title and a description for every field so
that a host can publish it and build its form from it. :func:`read_web_form` checks a
submission against it and turns it into an :class:`~complaint_flow.model.entities.Intake`
on the ``web_form`` channel, or refuses it with one :class:`WebFormError` listing every
problem, each naming its field as a path (``customer.email``) and saying in plain words
what is wrong, ready to be shown next to the field. ``jsonschema`` is the optional
``web`` extra.

Whatever arrives, the only error of a bad submission is that one: text that is not
UTF-8 or not JSON (with the line and column), more than :data:`MAX_SUBMISSION_BYTES`
(checked before parsing), nested more than :data:`MAX_NESTING` deep, or failing the
schema, never a ``json.JSONDecodeError``, ``UnicodeDecodeError`` or ``RecursionError``.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import datetime
from importlib import resources
from types import MappingProxyType
from typing import Any

import attrs

from complaint_flow import arguments
from complaint_flow.errors import ChannelError, InvalidArgumentError, InvalidIntakeError
from complaint_flow.model.entities import Customer, Intake

CHANNEL = "web_form"
"""The channel a web form's complaints come in on."""

ROOT = "$"
"""How a :class:`FieldError` names the submission as a whole."""

MAX_SUBMISSION_BYTES = 1_000_000
"""The largest submission read as JSON, in bytes (1 MB, checked before parsing): the
longest form the schema allows is about 30 kB."""

MAX_NESTING = 20
"""How many objects and lists inside each other a submission may hold (a form has 2)."""

_TOO_DEEP = (
    f"is nested too deep: at most {MAX_NESTING} objects and lists inside each other (a form has 2)"
)
_KEYS = {("external_id",), ("customer", "id"), ("category",)}
"""The fields stores keep as keys, where a NUL cannot be (PostgreSQL refuses it)."""
_LONGEST_NUMBER = 100
"""The most digits a number may have (no field is a number; Python refuses over 4300)."""

_REPLY_BY = {"email": "email", "phone": "phone", "postal_address": "letter"}
"""The contact each reply channel needs, and the channel's name."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_AWKWARD_NAME = re.compile(r'[.\[\]"]')
_EXAMPLE_EMAIL = "ada@example.org"
_EXAMPLE_DATE_TIME = "2026-03-02T09:30:00+00:00"
_EXAMPLE_PHONE = "+44 20 7946 0000"


@attrs.frozen
class FieldError:
    """One problem of a submission: the field (a path such as ``customer.email``) and what
    is wrong with it, in words a customer can read."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class WebFormError(InvalidIntakeError):
    """A web form submission cannot be taken as a complaint; ``errors`` lists every problem.

    Show each :class:`FieldError` next to its field and let the customer submit again.
    """

    def __init__(self, errors: Collection[FieldError]) -> None:
        self.errors = tuple(errors)
        lines = "\n".join(f"  - {error}" for error in self.errors)
        super().__init__(
            f"the web form submission has {len(self.errors)} problem(s):\n{lines}\n"
            "Show them to the customer next to their fields, and take the corrected "
            "submission."
        )


def web_form_schema() -> dict[str, Any]:
    """The web form's JSON Schema (Draft 2020-12), a copy the caller may change and publish.

    >>> schema = web_form_schema()
    >>> schema["$schema"], schema["required"]
    ('https://json-schema.org/draft/2020-12/schema', ['external_id', 'customer', 'summary'])
    """
    return copy.deepcopy(_schema())


def customer_id_from_contact(customer: Mapping[str, Any]) -> str:
    """A customer's id from the form: the id it gave, else one made from a contact.

    The same email address (or, failing one, phone number, or name and postal address)
    gives the same id, so that one customer's complaints are seen together.

    >>> customer_id_from_contact({"name": "Ada", "email": "Ada@Example.org"})
    'email:ada@example.org'
    >>> customer_id_from_contact({"name": "Ada", "phone": "+44 (20) 7946-0000"})
    'phone:+442079460000'
    >>> customer_id_from_contact({"id": "C-42", "name": "Ada", "email": "ada@example.org"})
    'C-42'
    """
    given = customer.get("id")
    if isinstance(given, str) and given.strip():
        return given.strip()
    email = customer.get("email")
    if isinstance(email, str) and email.strip():
        return f"email:{email.strip().lower()}"
    phone = customer.get("phone")
    if isinstance(phone, str) and phone.strip():
        digits = re.sub(r"[^0-9]", "", phone)
        return f"phone:{'+' if phone.strip().startswith('+') else ''}{digits}"
    where = " ".join(f"{customer.get('name', '')}\n{customer.get('postal_address', '')}".split())
    return f"post:{hashlib.sha256(where.lower().encode()).hexdigest()[:16]}"


def read_web_form(
    submission: Mapping[str, Any] | str | bytes,
    *,
    customer_id: Callable[[Mapping[str, Any]], str | None] | None = customer_id_from_contact,
    categories: Collection[str] | None = None,
    max_bytes: int = MAX_SUBMISSION_BYTES,
) -> Intake:
    """A complaint from one web form submission, checked against :func:`web_form_schema`.

    Args:
        submission: the submission as a mapping, or as JSON text or bytes (UTF-8).
        customer_id: how to find the customer's id, given the submission's customer
            (read-only): by default the id the form gave, else one made from a contact
            (:func:`customer_id_from_contact`); ``None`` to require the form to give it.
        categories: the categories a submission may name (``category`` is then one of
            them; left out, it is ``"general"``, which must then be one of them).
        max_bytes: the largest JSON text or bytes read (in UTF-8 bytes); a larger one
            is refused before it is parsed.

    Returns:
        an :class:`Intake` on the ``web_form`` channel; its ``external_id`` is the
        submission's id, its ``data`` holds the ``consent`` the customer gave.

    Raises:
        WebFormError: listing every problem of the submission, each with its field;
            or, for a submission that cannot be read (too large, not UTF-8, not JSON,
            nested too deep), that one problem.
        InvalidArgumentError: an argument is malformed (a submission that is neither
            a mapping, nor text, nor bytes).
        ChannelError: jsonschema is not installed (the ``web`` extra).
    """
    if customer_id is not None and not callable(customer_id):
        raise InvalidArgumentError(
            f"customer_id must be a function of the form's customer, or None, got "
            f"{arguments.shown(customer_id)}; pass e.g. lambda customer: customer['email']"
        )
    allowed = None if categories is None else arguments.names("categories", categories)
    most = arguments.whole_number("max_bytes", max_bytes, minimum=1)
    document = _document(submission, most)
    deep = _too_deep(document)
    if deep is not None:
        raise WebFormError([deep])
    errors = list(_schema_errors(document))
    if isinstance(document, Mapping):  # else the schema said it must be an object
        named = {error.field for error in errors}
        more = [*_unstorable(document, ()), *_category_errors(document, allowed)]
        errors += [error for error in more if error.field not in named]
        if not any(_within("customer", error.field) for error in errors):
            found, problem = _identify(document["customer"], customer_id)
            errors += [problem] if problem is not None else []
            if not errors:
                return _intake(document, found)
    raise WebFormError(_unique(errors))


# -- reading the submission --------------------------------------------------------------


def _document(submission: object, most: int) -> object:
    if isinstance(submission, Mapping):
        return submission
    if isinstance(submission, bytes | bytearray):
        _refuse_above(len(submission), most)
        try:
            submission = bytes(submission).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise WebFormError(
                [FieldError(ROOT, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")]
            ) from None
    elif isinstance(submission, str):
        # Each character is one to four bytes: only a long text needs encoding to measure.
        if len(submission) > most // 4:
            _refuse_above(len(submission.encode("utf-8", "surrogatepass")), most)
    else:
        raise InvalidArgumentError(
            f"submission must be a mapping, JSON text or JSON bytes, got "
            f"{arguments.shown(submission)}; pass the form's fields as a dict"
        )
    return _parsed(submission)


def _refuse_above(size: int, most: int) -> None:
    if size > most:
        raise WebFormError(
            [
                FieldError(
                    ROOT,
                    f"is too large: {size:,} bytes, more than the {most:,} a submission may "
                    "have; a complaint form is far smaller (send files another way)",
                )
            ]
        )


class _UnreadableError(Exception):
    """Raised by the JSON reader's hooks: the text is JSON Python reads, but not a form's."""


def _parsed(text: str) -> object:
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_constant=_constant,
            parse_int=_integer,
        )
    except json.JSONDecodeError as exc:
        problem = f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except _UnreadableError as exc:
        problem = f"is not valid JSON for a form: {exc}"
    except RecursionError:
        problem = _TOO_DEEP
    raise WebFormError([FieldError(ROOT, problem)])


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            # JSON readers disagree on which of two values wins: refuse rather than guess.
            raise _UnreadableError(f"the field {key!r} is given twice in one object")
        found[key] = value
    return found


def _constant(name: str) -> object:
    raise _UnreadableError(f"{name} is not a JSON number")


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > _LONGEST_NUMBER:
        raise _UnreadableError(f"a number of {len(digits.lstrip('-')):,} digits is too long")
    return int(digits)


def _too_deep(document: object) -> FieldError | None:
    """The first value nested more than :data:`MAX_NESTING` deep, if any.

    Walked with a list, not recursion: a mapping given directly may be as deep as
    Python allows, or hold itself.
    """
    waiting: list[tuple[object, tuple[str | int, ...]]] = [(document, ())]
    while waiting:
        value, path = waiting.pop()
        if isinstance(value, Mapping):
            children: Iterable[tuple[Any, object]] = value.items()
        elif isinstance(value, list | tuple):
            children = enumerate(value)
        else:
            continue
        if len(path) >= MAX_NESTING:
            return FieldError(
                _field(path[:MAX_NESTING]),
                _TOO_DEEP,
            )
        waiting.extend((child, (*path, _step(key))) for key, child in children)
    return None


def _step(key: object) -> str | int:
    return key if isinstance(key, str | int) and not isinstance(key, bool) else repr(key)


def _schema_errors(document: object) -> Iterator[FieldError]:
    for error in _validator().iter_errors(document):
        yield from _in_words(error)


def _intake(document: Mapping[str, Any], customer_id: str) -> Intake:
    person = document["customer"]
    received = document.get("received_at")
    consent = document.get("consent")
    return Intake(
        channel=CHANNEL,
        customer=Customer(
            id=customer_id,
            name=person["name"],
            email=person.get("email"),
            phone=person.get("phone"),
            postal_address=person.get("postal_address"),
            preferred_channel=person.get("preferred_channel"),
        ),
        summary=document["summary"],
        details=document.get("details", ""),
        external_id=document["external_id"],
        category=document.get("category", "general"),
        severity=document.get("severity", "normal"),
        desired_outcome=document.get("desired_outcome", ""),
        preferred_channel=document.get("preferred_channel"),
        received_at=None if received is None else _parse_date_time(received),
        data={"consent": dict(consent)} if consent else None,
    )


def _identify(
    person: Mapping[str, Any], customer_id: Callable[[Mapping[str, Any]], str | None] | None
) -> tuple[str, FieldError | None]:
    given = person.get("id")
    if customer_id is None:
        if given is None:
            return "", FieldError(
                "customer.id", "is required: this form must say who the customer is"
            )
        return given, None
    found = customer_id(MappingProxyType(dict(person)))
    if found is not None and not isinstance(found, str):
        raise InvalidArgumentError(
            f"customer_id returned {arguments.shown(found)}; it must return the customer's "
            "id as text, or None when the form does not say who the customer is"
        )
    if found is None or not found.strip():
        return "", FieldError(
            "customer.id", "is required: the customer could not be identified from the form"
        )
    return found, None


def _category_errors(
    document: Mapping[str, Any], allowed: tuple[str, ...] | None
) -> list[FieldError]:
    if allowed is None:
        return []
    category = document.get("category", "general")
    if category in allowed:
        return []
    choices = ", ".join(repr(name) for name in allowed)
    if "category" not in document:
        return [FieldError("category", f"is required: choose one of {choices}")]
    return [FieldError("category", f"must be one of {choices}; got {category!r}")]


def _unstorable(value: object, path: tuple[str | int, ...]) -> list[FieldError]:
    """Text that cannot be stored: a lone surrogate (from a bad decode), a NUL in a key."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            problem = "holds a character that is not text (a lone surrogate)"
            return [FieldError(_field(path), problem)]
        if "\x00" in value and path in _KEYS:
            return [FieldError(_field(path), "holds a NUL character, which a key cannot hold")]
        return []
    if isinstance(value, Mapping):
        return [found for key, item in value.items() for found in _unstorable(item, (*path, key))]
    return []


def _within(field: str, path: str) -> bool:
    """Whether ``path`` is ``field`` or one of its parts."""
    return path == field or path.startswith((f"{field}.", f"{field}["))


def _unique(errors: list[FieldError]) -> list[FieldError]:
    return sorted(dict.fromkeys(errors), key=lambda error: (error.field, error.problem))


# -- the schema and its messages --------------------------------------------------------


@functools.cache
def _schema() -> dict[str, Any]:
    text = (
        resources.files("complaint_flow.channels")
        .joinpath("schemas/web_form.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Any:
    """The schema's validator (a ``jsonschema.Draft202012Validator``, which has no types)."""
    try:
        jsonschema = importlib.import_module("jsonschema")
    except ImportError as exc:
        raise ChannelError(
            f"reading a web form needs jsonschema ({exc}); install it with "
            "pip install 'complaint-flow[web]'"
        ) from exc
    # Our own checks for the two formats: jsonschema checks "date-time" only when an
    # optional package is installed, and takes any text with an "@" as an email.
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("email")(_is_email)
    formats.checks("date-time")(_is_date_time)
    return jsonschema.Draft202012Validator(_schema(), format_checker=formats)


def _is_email(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type is another keyword's business
    return bool(_EMAIL.match(value)) and value.isprintable()


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        _parse_date_time(value)
    except ValueError:
        return False
    return True


def _parse_date_time(value: str) -> datetime:
    return datetime.fromisoformat(value.upper().replace(" ", "T"))


def _field(path: Collection[str | int]) -> str:
    if not path:
        return ROOT
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step.strip() and not _AWKWARD_NAME.search(step):
            text += f".{step}"
        else:  # a name that would be lost or misread in a path: quoted
            text += f"[{json.dumps(step, ensure_ascii=False)}]"
    return text.removeprefix(".")


def _property(path: Collection[str | int]) -> Mapping[str, Any]:
    """The schema of the field at ``path`` (empty if the schema has no such field)."""
    schema: Mapping[str, Any] = _schema()
    for step in path:
        schema = schema.get("properties", {}).get(step, {})
    return schema


def _in_words(error: Any) -> Iterator[FieldError]:
    """The problems one jsonschema error stands for, in plain words."""
    path = tuple(error.absolute_path)
    instance = error.instance
    keyword = error.validator
    expected = error.validator_value
    if keyword == "required" and isinstance(instance, Mapping):
        replies = "then" in error.schema_path
        for name in expected:
            if name in instance:
                continue
            if replies:
                problem = f"is required to reply by {_REPLY_BY[name]}, the preferred channel"
            else:
                title = _property((*path, name)).get("title")
                problem = f"is required ({title})" if title else "is required"
            yield FieldError(_field((*path, name)), problem)
    elif keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = list(error.schema.get("properties", {}))
        for name in instance:
            if name not in known:
                yield FieldError(
                    _field((*path, name)),
                    f"is not a field of this form; remove it (the fields: {', '.join(known)})",
                )
    elif keyword == "anyOf" and set(_REPLY_BY) == {
        name for option in expected for name in option.get("required", ())
    }:
        yield FieldError(
            _field(path),
            "must give at least one way to reach the customer: email, phone or postal_address",
        )
    else:
        yield FieldError(_field(path), _problem(keyword, expected, instance, path))


def _problem(keyword: str, expected: Any, instance: Any, path: tuple[str | int, ...]) -> str:
    if keyword == "type":
        if expected == "object":
            fields = ", ".join(_property(path).get("properties", {}))
            return f"must be a JSON object with the fields {fields}"
        kinds = {"string": "text", "boolean": "true or false"}
        return f"must be {kinds.get(expected, expected)}, not {_kind(instance)}"
    if keyword == "maxLength":
        return f"is too long: at most {expected} characters, it has {len(instance)}"
    if keyword == "pattern":
        if expected == r"\S":
            return "must not be empty or blank"
        if path[-1:] == ("phone",):
            return (
                "is not a phone number: use digits, spaces, brackets, dots and dashes, with an "
                f"optional leading +, such as {_EXAMPLE_PHONE}"
            )
        return f"does not have the expected form ({_property(path).get('description', '')})"
    if keyword == "enum":
        choices = ", ".join(repr(choice) for choice in expected)
        return f"must be one of {choices}; got {instance!r}"
    if keyword == "format" and expected == "email":
        return f"is not an email address such as {_EXAMPLE_EMAIL}"
    if keyword == "format" and expected == "date-time":
        return f"is not a date and time with its time zone, such as {_EXAMPLE_DATE_TIME}"
    return f"is not valid ({keyword} {expected!r})"  # pragma: no cover - every keyword is above


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


__all__ = [
    "CHANNEL",
    "MAX_NESTING",
    "MAX_SUBMISSION_BYTES",
    "ROOT",
    "FieldError",
    "WebFormError",
    "customer_id_from_contact",
    "read_web_form",
    "web_form_schema",
]
