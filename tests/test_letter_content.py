"""What a workflow requires its letters to say: the ``[[letters]]`` tables, read and checked."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import WorkflowDefinition, WorkflowDefinitionError, load_pack, pack_names
from complaint_flow.definitions.letter_content import (
    LetterRequirement,
    RequiredMention,
    parse_letter_requirements,
    requirement_for,
)


def pack_data(name: str) -> dict[str, Any]:
    text = resources.files("complaint_flow.definitions.packs").joinpath(f"{name}.toml")
    return tomllib.loads(text.read_text(encoding="utf-8"))


def mention(letter: str, **item: Any) -> list[dict[str, Any]]:
    return [{"letter": letter, "must_mention": [{"name": "time limit", "pattern": "x", **item}]}]


def problems_of(letters: object) -> list[str]:
    data = {**pack_data("tactics"), "letters": letters}
    with pytest.raises(WorkflowDefinitionError) as caught:
        WorkflowDefinition.from_dict(data)
    return caught.value.problems


# -- the shipped packs -----------------------------------------------------------------------


def test_every_pack_declares_what_its_letters_must_say() -> None:
    for name in pack_names():
        assert load_pack(name).letters, f"{name} declares no required content"


@pytest.mark.parametrize(
    ("pack", "letter", "items"),
    [
        (
            "fca",
            "final_response",
            {"ombudsman referral right", "six-month time limit", "ombudsman leaflet"},
        ),
        ("fca_payments", "final_response", {"ombudsman referral right", "six-month time limit"}),
        ("spso", "final_response", {"SPSO referral right", "12-month time limit"}),
        ("cfpb", "holding_reply", {"final response within 60 days"}),
        ("tactics", "acknowledgement", {"thanks", "apology"}),
    ],
)
def test_the_regulators_rules_are_declared(pack: str, letter: str, items: set[str]) -> None:
    requirement = requirement_for(load_pack(pack).letters, letter)
    assert requirement is not None
    assert items <= {item.name for item in requirement.must_mention}


def test_the_fca_final_response_rules_recognise_the_ombudsman_and_the_time_limit() -> None:
    requirement = requirement_for(load_pack("fca").letters, "final_response")
    assert requirement is not None
    good = (
        "You may refer your complaint to the Financial Ombudsman\nService within six "
        "months; we enclose its leaflet; see www.financial-ombudsman.org.uk."
    )
    assert requirement.missing(good, "en") == ()
    missing = requirement.missing(good.replace("six months", "two years"), "en")
    assert [item.name for item in missing] == ["six-month time limit"]
    french = (
        "Vous pouvez saisir le Financial Ombudsman Service dans un délai de six mois ; "
        "dépliant ci-joint ; www.financial-ombudsman.org.uk."
    )
    assert requirement.missing(french, "fr") == ()
    assert "six-month time limit" in {item.name for item in requirement.missing(french, "en")}


def test_a_copy_of_a_pack_with_its_letters_table_still_loads_as_a_workflow() -> None:
    fca = load_pack("fca")
    assert WorkflowDefinition.from_dict(pack_data("fca")) == fca
    assert hash(fca) == hash(WorkflowDefinition.from_dict(pack_data("fca")))


# -- recognising content -------------------------------------------------------------------


words = st.lists(st.text(st.characters(categories=("L",)), min_size=1, max_size=8), max_size=6)
gaps = st.lists(st.sampled_from([" ", "\n", "\t", "  \n "]), min_size=5, max_size=5)


@given(words, words, gaps, st.booleans())
def test_an_item_is_found_whatever_the_line_breaks_and_the_case(
    before: list[str], after: list[str], spaces: list[str], upper: bool
) -> None:
    item = RequiredMention(name="time limit", pattern="within six months")
    phrase = f"within{spaces[0]}six{spaces[1]}months"
    text = " ".join([*before, phrase.upper() if upper else phrase, *after])
    assert item.found_in(text, "en")
    without = " ".join([*before, *after])
    assert item.found_in(without, "en") == ("within six months" in without.lower())


def test_a_language_of_its_own_has_its_own_pattern() -> None:
    item = RequiredMention(
        name="time limit", pattern="six months", by_language=(("fr", "six mois"),)
    )
    assert item.pattern_for("fr") == "six mois"
    assert item.pattern_for("de") == "six months"
    assert item.found_in("dans les six mois", "fr")
    assert not item.found_in("within six months", "fr")
    requirement = LetterRequirement("final_response", (item,))
    assert requirement.missing("nothing", "de") == (item,)


# -- refusing what cannot be right -------------------------------------------------------------


@pytest.mark.parametrize(
    ("letters", "problem"),
    [
        (
            mention("final_response", pattern="six (months"),
            "letters #1 ('final_response'): item 'time limit': pattern 'six (months' is not "
            "a regular expression",
        ),
        (
            mention("final_response", pattern="months|"),
            "letters #1 ('final_response'): item 'time limit': pattern 'months|' matches an "
            "empty text, so every letter would pass",
        ),
        (
            mention("final_response", by_language={"fr": "x*"}),
            "item 'time limit': by_language.fr 'x*' matches an empty text",
        ),
        (
            mention("final_response", by_language={"French": "mois"}),
            "item 'time limit': 'French' is not a language such as 'fr'",
        ),
        (
            mention("Final Response"),
            "letters #1 ('Final Response'): 'Final Response' is not a letter's name: use "
            "lower_snake_case",
        ),
        (
            [*mention("final_response"), *mention("final_response")],
            "letters #2 ('final_response'): letter 'final_response' is listed twice",
        ),
        (
            [{"letter": "final_response", "must_mention": []}],
            "'must_mention' is empty",
        ),
        (
            [{"letter": "final_response", "must_mention": [{"name": "a", "pattern": "x"}] * 2}],
            "item 'a' is listed twice",
        ),
        (
            [{"letter": "final_response"}],
            "letters #1 ('final_response'): 'must_mention' must be a list of tables",
        ),
        (
            [{"letter": "final_response", "must_mention": [{"name": "a"}]}],
            "letters #1 ('final_response'), must_mention #1: 'pattern' is missing",
        ),
        (
            [{"letter": "final_response", "must_mention": [{"name": "a", "patern": "x"}]}],
            "unknown key 'patern' (did you mean 'pattern'?)",
        ),
        (
            [{"letter": "final_response", "must_mention": ["six months"]}],
            "letters #1 ('final_response'), must_mention #1: must be a table, got 'six months'",
        ),
        ({"letter": "final_response"}, "'letters' must be a list of tables ([[letters]])"),
    ],
)
def test_every_problem_says_where_it_is_and_what_to_do(letters: object, problem: str) -> None:
    found = problems_of(letters)
    assert any(problem in line for line in found), found


def test_every_problem_is_reported_at_once() -> None:
    found, problems = parse_letter_requirements(
        [
            *mention("final_response", pattern="("),
            *mention("BAD"),
            {"letter": "holding_reply", "must_mention": []},
        ]
    )
    assert found == ()
    assert len(problems) == 3
    assert all(re.match(r"letters #\d", problem) for problem in problems)


def test_no_letters_table_means_no_requirements() -> None:
    assert parse_letter_requirements(None) == ((), [])
    assert (
        WorkflowDefinition.from_dict(
            {k: v for k, v in pack_data("tactics").items() if k != "letters"}
        ).letters
        == ()
    )
