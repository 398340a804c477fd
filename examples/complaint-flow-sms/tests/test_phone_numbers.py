"""E.164 normalisation: every way of writing a number, one form; the rest refused."""

from __future__ import annotations

import re

import pytest
from complaint_flow import InvalidArgumentError
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow_sms import InvalidNumberError, country_code, normalise_number

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@pytest.mark.parametrize(
    ("written", "default_country", "expected"),
    [
        ("+44 20 7946 0000", None, "+442079460000"),
        ("+44 (0)20 7946-0000", None, "+442079460000"),
        ("0044 7700 900123", None, "+447700900123"),
        ("07700 900123", "44", "+447700900123"),
        ("07700 900123", "+44", "+447700900123"),
        ("(030) 123 4567", "49", "+49301234567"),
        ("+1 (202) 555-0143", None, "+12025550143"),
        ("+33 6 12 34 56 78", None, "+33612345678"),
        ("+971\u00a050\u00a0123\u00a04567", None, "+971501234567"),
        ("+\u0664\u0664 7700 900123", None, "+447700900123"),  # Arabic-Indic digits
    ],
)
def test_numbers_as_people_write_them(
    written: str, default_country: str | None, expected: str
) -> None:
    assert normalise_number(written, default_country) == expected


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("", "it is empty"),
        ("+44 7700 900123 ext 12", "it has letters"),
        ("1-800-FLOWERS", "it has letters"),
        ("+44 7700 + 900123", "may only come first"),
        ("+44#7700900123", "the character '#'"),
        ("07700 900123", "national number"),
        ("7700 900123", "no country code"),
        ("+0 7700 900123", "never starts with 0"),
        ("+44 12", "it has 4 digits"),
        ("+44 7700 900123 456 789", "18 digits"),
        ("( )", "no digits"),
    ],
)
def test_what_no_gateway_could_deliver_to_is_refused(written: str, problem: str) -> None:
    with pytest.raises(InvalidNumberError, match=re.escape(problem)):
        normalise_number(written)


def test_a_country_code_is_one_to_three_digits() -> None:
    assert country_code(" +358 ") == "358"
    for wrong in ["", "0", "4444", "44a", "+"]:
        with pytest.raises(InvalidArgumentError, match="not a country calling code"):
            country_code(wrong)


international = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=6, max_size=14),
)
separators = st.sampled_from([" ", "-", ".", "/", "\u00a0", "\u2013", ""])


@st.composite
def written_forms(draw: st.DrawFn, digits: str) -> str:
    """``digits`` as someone might write them: grouped, separated, bracketed."""
    out = []
    for digit in digits:
        out.append(digit)
        if draw(st.booleans()):
            out.append(draw(separators))
    grouped = "".join(out)
    if draw(st.booleans()) and len(grouped) > 4:
        grouped = f"({grouped[:3]}){grouped[3:]}"
    return grouped


@given(digits=international, data=st.data(), prefix=st.sampled_from(["+", "+ ", "00", " 00"]))
def test_every_written_form_of_an_international_number_is_read_alike(
    digits: str, data: st.DataObject, prefix: str
) -> None:
    written = prefix + data.draw(written_forms(digits))
    assert normalise_number(written) == f"+{digits}"


@given(
    country=st.from_regex(r"[1-9][0-9]{0,2}", fullmatch=True),
    subscriber=st.from_regex(r"[1-9][0-9]{5,10}", fullmatch=True),
    data=st.data(),
)
def test_a_national_number_takes_the_default_country(
    country: str, subscriber: str, data: st.DataObject
) -> None:
    written = "0" + data.draw(written_forms(subscriber))
    assert normalise_number(written, default_country=country) == f"+{country}{subscriber}"


@given(st.text(max_size=25))
def test_anything_is_either_refused_or_read_as_e164_and_read_again_the_same(text: str) -> None:
    try:
        number = normalise_number(text, default_country="44")
    except InvalidNumberError:
        return
    assert E164.match(number), number
    assert normalise_number(number) == number
