"""The web form channel: the published schema, and submissions read into intakes or refused."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from complaint_flow import Engine, InvalidArgumentError, InvalidIntakeError
from complaint_flow.channels.web_form import (
    MAX_NESTING,
    MAX_SUBMISSION_BYTES,
    FieldError,
    WebFormError,
    customer_id_from_contact,
    read_web_form,
    web_form_schema,
)

CONTACTS = ("email", "phone", "postal_address")
REPLY_CONTACT = {"email": "email", "phone": "phone", "letter": "postal_address"}


def minimal(**changes: Any) -> dict[str, Any]:
    submission: dict[str, Any] = {
        "external_id": "form-1",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.org"},
        "summary": "Parcel arrived broken",
    }
    submission.update(changes)
    return submission


def fields_of(error: WebFormError) -> list[str]:
    return [problem.field for problem in error.errors]


def refused(submission: object, **options: Any) -> WebFormError:
    with pytest.raises(WebFormError) as caught:
        read_web_form(submission, **options)  # type: ignore[arg-type]
    return caught.value


# -- the schema ---------------------------------------------------------------------------


def properties(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Any]]:
    for name, field in schema.get("properties", {}).items():
        yield f"{path}{name}", field
        yield from properties(field, f"{path}{name}.")


def test_the_schema_is_a_valid_draft_2020_12_schema_with_an_id() -> None:
    schema = web_form_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:complaint-flow:")
    assert schema["title"]
    assert schema["description"]


def test_every_field_has_a_title_and_a_description_to_publish() -> None:
    found = dict(properties(web_form_schema()))
    assert {
        "customer.email",
        "customer.postal_address",
        "external_id",
        "consent.change_channel",
    } <= set(found)
    for path, field in found.items():
        assert field.get("title"), f"{path} has no title"
        assert len(field.get("description", "")) > 10, f"{path} has no description"


def test_the_schema_is_a_copy_the_caller_may_change() -> None:
    schema = web_form_schema()
    schema["properties"].clear()
    schema["required"].append("nothing")
    assert web_form_schema()["properties"]["customer"]["required"] == ["name"]
    assert "nothing" not in web_form_schema()["required"]


def test_the_schema_is_shipped_as_package_data() -> None:
    from importlib import resources

    shipped = resources.files("complaint_flow.channels") / "schemas" / "web_form.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == web_form_schema()


# -- valid submissions -----------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
visible = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Z", "Cc")), min_size=1, max_size=20
).map(lambda word: f"{word} x")
emails = st.from_regex(r"\A[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,10}(\.[a-z]{2,6}){1,2}\Z")
phones = st.from_regex(r"\A\+?[0-9]{2,4}( [0-9]{3,4}){1,3}\Z")
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=2))]),
)


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid submission: every optional field present or not, any contact combination."""
    contacts = draw(st.sets(st.sampled_from(CONTACTS), min_size=1))
    customer: dict[str, Any] = {"name": draw(visible)}
    if "email" in contacts:
        customer["email"] = draw(emails)
    if "phone" in contacts:
        customer["phone"] = draw(phones)
    if "postal_address" in contacts:
        customer["postal_address"] = draw(visible)
    reachable = [channel for channel, field in REPLY_CONTACT.items() if field in contacts]
    if draw(st.booleans()):
        customer["preferred_channel"] = draw(st.sampled_from(reachable))
    if draw(st.booleans()):
        customer["id"] = draw(visible)
    submission: dict[str, Any] = {
        "external_id": draw(visible),
        "customer": customer,
        "summary": draw(visible),
    }
    optional = {
        "details": text,
        "category": visible,
        "severity": st.sampled_from(["low", "normal", "high", "emergency"]),
        "desired_outcome": text,
        "preferred_channel": st.sampled_from(reachable),
        "consent": st.fixed_dictionaries(
            {}, optional={"contact": st.booleans(), "change_channel": st.booleans()}
        ),
        "received_at": moments.map(datetime.isoformat),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            submission[name] = draw(values)
    return submission


def stripped(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(submissions(), st.sampled_from(["mapping", "text", "bytes"]))
def test_every_valid_submission_gives_an_intake_with_the_same_values(
    submission: dict[str, Any], form: str
) -> None:
    given_as: Any = {
        "mapping": submission,
        "text": json.dumps(submission),
        "bytes": json.dumps(submission).encode(),
    }[form]
    intake = read_web_form(given_as)
    person = submission["customer"]
    assert intake.channel == "web_form"
    assert intake.external_id == submission["external_id"].strip()
    assert intake.summary == submission["summary"]
    assert intake.details == submission.get("details", "")
    assert intake.category == submission.get("category", "general")
    assert intake.severity == submission.get("severity", "normal")
    assert intake.desired_outcome == submission.get("desired_outcome", "")
    assert intake.preferred_channel == submission.get("preferred_channel")
    assert intake.customer.id == customer_id_from_contact(person)
    assert intake.customer.name == person["name"]
    for field in (*CONTACTS, "preferred_channel"):
        assert getattr(intake.customer, field) == stripped(person.get(field))
    if "received_at" in submission:
        assert intake.received_at == datetime.fromisoformat(submission["received_at"])
        assert intake.received_at is not None
        assert intake.received_at.tzinfo is not None
    else:
        assert intake.received_at is None
    assert dict(intake.data.get("consent", {})) == submission.get("consent", {})


# -- one field broken ------------------------------------------------------------------------


def wrong_kind(value: object) -> object:
    return 5 if isinstance(value, str | dict) else "yes"


BREAKS: dict[str, Any] = {
    "external_id": ["", "   ", 7, None],
    "summary": ["", " \t ", ["a list"], "x" * 301],
    "details": [12, "x" * 20001],
    "category": ["", 3],
    "severity": ["urgent", "LOW", 2],
    "desired_outcome": [False],
    "preferred_channel": ["pigeon", 1],
    "received_at": ["2026-03-02", "2026-03-02T09:30:00", "tomorrow", "2026-13-02T09:30:00Z", 5],
    "consent": ["yes", [True], False],
    "customer": ["Ada", 5, ["Ada"]],
    "customer.name": ["", "  ", 1, "x" * 201],
    "customer.id": ["", 42],
    "customer.email": ["ada", "ada@", "ada @example.org", "@example.org", "ada@example", 1],
    "customer.phone": ["call me", "12", "+", 44],
    "customer.postal_address": ["", " ", 10],
    "customer.preferred_channel": ["fax", None],
}


def replace_at(submission: dict[str, Any], field: str, value: object) -> dict[str, Any]:
    broken = copy.deepcopy(submission)
    *parents, last = field.split(".")
    target = broken
    for parent in parents:
        target = target[parent]
    target[last] = value
    return broken


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(submissions(), st.sampled_from(sorted(BREAKS)), st.data())
def test_a_submission_with_one_field_broken_names_exactly_that_field(
    submission: dict[str, Any], field: str, data: st.DataObject
) -> None:
    value = data.draw(st.sampled_from(BREAKS[field]), label="broken value")
    broken = replace_at(submission, field, value)
    with pytest.raises(WebFormError) as caught:
        read_web_form(broken)
    assert set(fields_of(caught.value)) == {field}, caught.value


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(submissions(), st.sampled_from(["external_id", "summary", "customer", "customer.name"]))
def test_a_required_field_left_out_is_named(submission: dict[str, Any], field: str) -> None:
    broken = copy.deepcopy(submission)
    *parents, last = field.split(".")
    target = broken
    for parent in parents:
        target = target[parent]
    del target[last]
    error = refused(broken)
    assert fields_of(error) == [field]
    assert "is required" in error.errors[0].problem


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(  # names a path would misread are quoted: see the test below
    submissions(),
    st.sampled_from(["", "customer."]),
    visible.filter(lambda name: not re.search(r'[.\[\]"]', name)),
)
def test_an_unknown_field_is_named_and_the_form_s_fields_listed(
    submission: dict[str, Any], where: str, name: str
) -> None:
    field = f"{where}{name}"
    error = refused(replace_at(submission, field, "surprise"))
    assert error.errors == (FieldError(field, error.errors[0].problem),)
    assert "is not a field of this form" in error.errors[0].problem
    assert ("email" if where else "summary") in error.errors[0].problem


# -- the messages, in plain words -----------------------------------------------------------


def test_every_problem_is_reported_at_once_in_plain_words() -> None:
    error = refused(
        {
            "external_id": "",
            "customer": {"name": "Ada", "email": "not-an-email", "phone": "call me", "age": 7},
            "summary": 12,
            "severity": "urgent",
            "received_at": "2026-03-02T09:30:00",
        }
    )
    assert [str(problem) for problem in error.errors] == [
        "customer.age: is not a field of this form; remove it (the fields: id, name, email, "
        "phone, postal_address, preferred_channel)",
        "customer.email: is not an email address such as ada@example.org",
        "customer.phone: is not a phone number: use digits, spaces, brackets, dots and dashes, "
        "with an optional leading +, such as +44 20 7946 0000",
        "external_id: must not be empty or blank",
        "received_at: is not a date and time with its time zone, such as 2026-03-02T09:30:00+00:00",
        "severity: must be one of 'low', 'normal', 'high', 'emergency'; got 'urgent'",
        "summary: must be text, not a number",
    ]
    assert isinstance(error, InvalidIntakeError)
    assert "customer.email: is not an email address" in str(error)


def test_a_customer_without_any_contact_is_told_how_to_be_reached() -> None:
    error = refused(minimal(customer={"name": "Ada"}))
    assert error.errors == (
        FieldError(
            "customer",
            "must give at least one way to reach the customer: email, phone or postal_address",
        ),
    )


@pytest.mark.parametrize(("channel", "field"), sorted(REPLY_CONTACT.items()))
@pytest.mark.parametrize("where", ["preferred_channel", "customer.preferred_channel"])
def test_the_preferred_channel_needs_its_contact(channel: str, field: str, where: str) -> None:
    others = {
        name: value
        for name, value in {
            "email": "ada@example.org",
            "phone": "+44 20 7946 0000",
            "postal_address": "1 High St",
        }.items()
        if name != field
    }
    submission = minimal(customer={"name": "Ada", **others})
    error = refused(replace_at(submission, where, channel))
    assert error.errors == (
        FieldError(
            f"customer.{field}", f"is required to reply by {channel}, the preferred channel"
        ),
    )


def test_a_missing_required_field_says_what_it_is() -> None:
    error = refused({"customer": {"email": "ada@example.org"}})
    assert [str(problem) for problem in error.errors] == [
        "customer.name: is required (Your name)",
        "external_id: is required (Submission id)",
        "summary: is required (What is your complaint about?)",
    ]


@pytest.mark.parametrize(
    ("submission", "problem"),
    [
        ("[1, 2]", "must be a JSON object with the fields external_id, customer, summary"),
        ("{not json", "is not valid JSON: Expecting property name enclosed in double quotes"),
        (b"\xff\xfe{}", "is not UTF-8 text (invalid start byte at byte 0)"),
        ('{"summary": "\\ud800"}', None),
    ],
)
def test_a_submission_that_is_not_a_json_object_is_refused_as_a_whole(
    submission: str | bytes, problem: str | None
) -> None:
    error = refused(submission)
    if problem is None:  # a lone surrogate: named where it is, with the other problems
        assert "summary" in fields_of(error)
        assert any("lone surrogate" in found.problem for found in error.errors)
        return
    assert fields_of(error) == ["$"]
    assert error.errors[0].problem.startswith(problem)


# -- input that is not a form at all --------------------------------------------------------


def read_or_refused(submission: object) -> WebFormError | None:
    """A submission gives an intake or a WebFormError naming each problem: nothing else."""
    try:
        read_web_form(submission)  # type: ignore[arg-type]
    except WebFormError as error:
        found: WebFormError | None = error
    else:
        found = None
    if found is not None:
        assert found.errors
        assert all(problem.field and problem.problem.strip() for problem in found.errors)
    return found


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_any_text_or_bytes_is_read_or_refused_with_the_form_s_error(raw: str | bytes) -> None:
    read_or_refused(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
python_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.binary(max_size=8) | st.datetimes() | st.just(object()),
    lambda children: st.lists(children, max_size=4) | st.tuples(children)
    | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=4),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(json_values, st.booleans())
def test_any_json_is_read_or_refused_with_the_form_s_error(value: Any, as_bytes: bool) -> None:
    written = json.dumps(value)  # NaN and Infinity too: Python writes them
    read_or_refused(written.encode() if as_bytes else written)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from([*web_form_schema()["properties"], "x"]), python_values))
def test_any_mapping_is_read_or_refused_with_the_form_s_error(mapping: dict[str, Any]) -> None:
    read_or_refused(mapping)


@st.composite
def damaged(draw: st.DrawFn) -> str:
    """A valid submission's JSON with characters inserted, cut or replaced."""
    written = list(json.dumps(draw(submissions()), indent=draw(st.sampled_from([None, 2]))))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(written)))
        piece = draw(st.sampled_from([*'{}[]",:\\ \n0-eE.', "NaN", "\\u", "\\ud800"]) | text)
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        if kind == "insert":
            written[where:where] = [piece]
        elif kind == "delete":
            del written[where : where + draw(st.integers(1, 10))]
        elif written:
            written[min(where, len(written) - 1)] = piece
    return "".join(written)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged(), st.booleans())
def test_damaged_json_is_read_or_refused_with_the_form_s_error(
    written: str, as_bytes: bool
) -> None:
    error = read_or_refused(written.encode("utf-8", "surrogatepass") if as_bytes else written)
    if error is not None and error.errors[0].problem.startswith("is not valid JSON:"):
        assert re.search(r"\(line \d+, column \d+\)$", error.errors[0].problem)


def test_json_that_does_not_parse_is_located_by_line_and_column() -> None:
    error = refused('{\n  "summary": "Broken",\n  oops\n}')
    assert error.errors == (
        FieldError(
            "$",
            "is not valid JSON: Expecting property name enclosed in double quotes "
            "(line 3, column 3)",
        ),
    )


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 500, 100_000])
def test_json_nested_too_deep_is_refused(depth: int) -> None:
    error = refused("[" * depth + "]" * depth)
    assert len(error.errors) == 1
    assert error.errors[0].problem.startswith(f"is nested too deep: at most {MAX_NESTING}")


def test_nesting_up_to_the_limit_is_read_and_its_problems_named() -> None:
    # The limit counts the submission itself: it and 19 objects inside it are read.
    deep: Any = "leaf"
    for _ in range(MAX_NESTING - 1):
        deep = {"a": deep}
    error = refused(json.dumps(minimal(extra=deep)))
    assert fields_of(error) == ["extra"]  # read whole: only the unknown field is wrong
    error = refused(json.dumps(minimal(extra={"a": deep})))
    assert fields_of(error) == ["extra" + ".a" * (MAX_NESTING - 1)]
    assert "nested too deep" in error.errors[0].problem


def test_a_mapping_nested_too_deep_or_holding_itself_is_refused() -> None:
    deep: dict[str, Any] = {"name": "Ada", "email": "ada@example.org"}
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = {"customer": deep}
    looped = minimal()
    looped["customer"]["self"] = looped["customer"]
    for submission in (minimal(customer=deep), looped):
        error = refused(submission)
        (problem,) = error.errors
        assert problem.field.startswith("customer.")
        assert "nested too deep" in problem.problem


def test_a_submission_above_the_size_limit_is_refused_before_it_is_parsed() -> None:
    garbage = b"x" * (MAX_SUBMISSION_BYTES + 1)  # not JSON: only the size is said
    error = refused(garbage)
    assert error.errors == (
        FieldError(
            "$",
            f"is too large: {MAX_SUBMISSION_BYTES + 1:,} bytes, more than the "
            f"{MAX_SUBMISSION_BYTES:,} a submission may have; a complaint form is far "
            "smaller (send files another way)",
        ),
    )
    assert "too large" in refused(garbage.decode()).errors[0].problem
    # Text is measured in UTF-8: 600,000 characters of two bytes each are too many.
    assert "1,200,002 bytes" in refused('"' + "é" * 600_000 + '"').errors[0].problem
    # At the limit, the text is read: here, found not to be JSON.
    at_limit = refused(b"x" * MAX_SUBMISSION_BYTES).errors[0].problem
    assert at_limit.startswith("is not valid JSON")


def test_the_size_limit_can_be_set() -> None:
    written = json.dumps(minimal())
    assert read_web_form(written, max_bytes=len(written)).summary == "Parcel arrived broken"
    assert "is too large" in refused(written, max_bytes=len(written) - 1).errors[0].problem
    assert read_web_form(minimal(), max_bytes=1).summary == "Parcel arrived broken"  # a mapping
    with pytest.raises(InvalidArgumentError, match="max_bytes must be a whole number"):
        read_web_form(written, max_bytes=0)


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ('{"summary": NaN}', "is not valid JSON for a form: NaN is not a JSON number"),
        ('{"summary": -Infinity}', "is not valid JSON for a form: -Infinity is not a JSON number"),
        ('{"summary": ' + "9" * 5000 + "}", "a number of 5,000 digits is too long"),
        (
            '{"customer": {"email": "a@b.org", "email": "c@d.org"}}',
            "is not valid JSON for a form: the field 'email' is given twice in one object",
        ),
    ],
)
def test_json_python_would_read_but_a_form_must_not_hold_is_refused(
    written: str, problem: str
) -> None:
    error = refused(written)
    assert fields_of(error) == ["$"]
    assert problem in error.errors[0].problem


def test_a_field_name_that_a_path_would_lose_is_quoted() -> None:
    submission = minimal(**{"": 1, "a.b": 2})
    submission["customer"].update({" ": 3, 'x["y"]': 4})
    assert fields_of(refused(submission)) == [
        '[""]',
        '["a.b"]',
        'customer[" "]',
        'customer["x[\\"y\\"]"]',
    ]


def test_a_nul_character_is_refused_in_the_fields_stores_keep_as_keys() -> None:
    submission = minimal(external_id="f\u00001", category="a\u0000b", details="be\u0000fore")
    submission["customer"]["id"] = "C\u00001"
    error = refused(json.dumps(submission))
    problem = "holds a NUL character, which a key cannot hold"
    assert error.errors == tuple(
        FieldError(field, problem) for field in ("category", "customer.id", "external_id")
    )
    assert read_web_form(minimal(details="be\u0000fore")).details == "be\x00fore"  # any text


def test_a_lone_surrogate_is_named_where_it_is() -> None:
    raw = json.dumps(minimal()).replace("Parcel", "\\udc80Parcel")
    error = refused(raw)
    assert error.errors == (
        FieldError("summary", "holds a character that is not text (a lone surrogate)"),
    )


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert read_web_form(b"\xef\xbb\xbf" + json.dumps(minimal()).encode()).summary == (
        "Parcel arrived broken"
    )


def test_time_zones_are_kept_and_z_means_utc() -> None:
    intake = read_web_form(minimal(received_at="2026-03-02T09:30:00Z"))
    assert intake.received_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    intake = read_web_form(minimal(received_at="2026-03-02T09:30:00.25-05:00"))
    assert intake.received_at is not None
    assert intake.received_at.utcoffset() == timedelta(hours=-5)


# -- categories and customer ids ---------------------------------------------------------------


def test_categories_restrict_the_category() -> None:
    allowed = ["billing", "delivery"]
    assert read_web_form(minimal(category="billing"), categories=allowed).category == "billing"
    error = refused(minimal(category="refunds"), categories=allowed)
    assert error.errors == (
        FieldError("category", "must be one of 'billing', 'delivery'; got 'refunds'"),
    )
    error = refused(minimal(), categories=allowed)
    assert error.errors == (
        FieldError("category", "is required: choose one of 'billing', 'delivery'"),
    )
    assert read_web_form(minimal(), categories=["general"]).category == "general"


def test_an_unknown_category_is_reported_with_the_other_problems() -> None:
    error = refused(minimal(category="refunds", summary=""), categories=["billing"])
    assert fields_of(error) == ["category", "summary"]


def test_categories_are_checked_as_an_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="categories"):
        read_web_form(minimal(), categories="billing")


def test_the_customer_id_is_the_given_one_or_made_from_a_contact() -> None:
    assert read_web_form(minimal()).customer.id == "email:ada@example.org"
    given = minimal(customer={"id": "C-9", "name": "Ada", "email": "ada@example.org"})
    assert read_web_form(given).customer.id == "C-9"
    by_post = minimal(customer={"name": "Ada  Lovelace", "postal_address": "1 High St"})
    same = minimal(customer={"name": "ada lovelace", "postal_address": " 1 High  St "})
    assert read_web_form(by_post).customer.id == read_web_form(same).customer.id
    assert read_web_form(by_post).customer.id.startswith("post:")


def test_a_host_finds_the_customer_id_its_own_way() -> None:
    seen: list[Mapping[str, Any]] = []

    def crm(customer: Mapping[str, Any]) -> str | None:
        seen.append(customer)
        return {"ada@example.org": "CRM-1"}.get(customer.get("email", ""))

    assert read_web_form(minimal(), customer_id=crm).customer.id == "CRM-1"
    assert seen[0]["name"] == "Ada Lovelace"
    with pytest.raises(TypeError):
        seen[0]["name"] = "changed"  # type: ignore[index]
    stranger = minimal(customer={"name": "Bo", "email": "bo@example.org"})
    error = refused(stranger, customer_id=crm)
    assert error.errors == (
        FieldError(
            "customer.id", "is required: the customer could not be identified from the form"
        ),
    )


def test_a_form_may_be_required_to_carry_the_customer_id() -> None:
    error = refused(minimal(), customer_id=None)
    assert fields_of(error) == ["customer.id"]
    given = minimal(customer={"id": "C-9", "name": "Ada", "email": "ada@example.org"})
    assert read_web_form(given, customer_id=None).customer.id == "C-9"


def test_a_customer_id_function_that_returns_no_text_is_a_programming_error() -> None:
    with pytest.raises(InvalidArgumentError, match="customer_id returned 42"):
        read_web_form(minimal(), customer_id=lambda customer: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidArgumentError, match="customer_id must be a function"):
        read_web_form(minimal(), customer_id="email")  # type: ignore[arg-type]


def test_a_submission_of_the_wrong_type_is_an_argument_error() -> None:
    with pytest.raises(InvalidArgumentError, match="submission must be a mapping"):
        read_web_form(42)  # type: ignore[arg-type]


# -- into the engine ---------------------------------------------------------------------------


def test_a_resubmitted_form_is_one_complaint() -> None:
    with Engine.open("memory://", load_entry_points=False) as engine:
        first = engine.receive(read_web_form(json.dumps(minimal())))
        again = engine.receive(read_web_form(json.dumps(minimal())))
        other = engine.receive(read_web_form(minimal(external_id="form-2")))
    assert again.id == first.id
    assert other.id != first.id
    assert first.channel == "web_form"
    assert first.customer.email == "ada@example.org"


def test_without_jsonschema_the_error_names_the_extra_to_install() -> None:
    script = (
        "import sys; sys.modules['jsonschema'] = None\n"
        "from complaint_flow import ChannelError\n"
        "from complaint_flow.channels.web_form import read_web_form, web_form_schema\n"
        "assert web_form_schema()['title']\n"
        "try:\n"
        "    read_web_form({})\n"
        "except ChannelError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "pip install 'complaint-flow[web]'" in result.stdout
