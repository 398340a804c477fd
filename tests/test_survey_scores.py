"""Reading a satisfaction score from a customer's reply, in English and French."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow.channels.survey_replies import read_score, reply_part
from complaint_flow.errors import InvalidArgumentError

WORDS = {
    "en": {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"},
    "fr": {1: "un", 2: "deux", 3: "trois", 4: "quatre", 5: "cinq"},
}

# Ways of giving a score, each a function of the score written as digits or as a word.
PHRASINGS = [
    "{n}",
    "{n}.",
    "{n}!",
    "{n} - thanks",
    "{n}/5",
    "{n} / 5",
    "{n} out of 5",
    "{n} out of five",
    "I'd give it {n} out of 5",
    "I would rate it {n}",
    "Rating: {n}",
    "My score: {n}/5",
    "{n} stars",
    "{n} étoiles",
    "Je vous donne {n} sur 5",
    "je donne {n} sur cinq",
    "Note : {n}",
    "ma note : {n}",
    "{n}★",
]

BARE = {"{n}", "{n}.", "{n}!", "{n} - thanks"}

# Text around a score that holds no number, star or score word of its own.
NOISE = [
    "",
    "Thanks for sorting it out.",
    "Merci pour votre aide.",
    "The courier was late but the refund came quickly.",
    "Le colis est arrivé, merci.",
    "Bo was very kind on the phone!",
]

QUOTED_SURVEY = (
    "\n\nOn Mon, 2 Mar 2026 at 09:00, Northwind <complaints@northwind.example> wrote:\n"
    "> We have closed your complaint CF-2026-000123. How happy are you with how we\n"
    "> handled it? Please reply with a number from 1 to 5 (where five means very\n"
    "> happy and one very unhappy).\n"
)

UNQUOTED_SURVEY = (
    "\n\nWe have closed your complaint CF-2026-000123. How happy are you with how we "
    "handled it?\n\nPlease reply to this message with a number from 1 to 5 (where five "
    "means very happy and one very unhappy) and, if you like, a few words about why. You "
    "can answer until 2026-03-30.\n"
)


def number(score: int, language: str, as_word: bool) -> str:
    return WORDS[language][score] if as_word else str(score)


@given(
    score=st.integers(1, 5),
    phrasing=st.sampled_from(PHRASINGS),
    as_word=st.booleans(),
    before=st.sampled_from(NOISE),
    after=st.sampled_from(NOISE),
    quoted=st.sampled_from(["", QUOTED_SURVEY]),
    upper=st.booleans(),
)
def test_a_score_given_any_usual_way_is_read(
    score: int,
    phrasing: str,
    as_word: bool,
    before: str,
    after: str,
    quoted: str,
    upper: bool,
) -> None:
    french = any(word in phrasing.lower() for word in ("sur", "étoiles", "note"))
    said = phrasing.format(n=number(score, "fr" if french else "en", as_word))
    if upper:
        said = said.upper()
    # A bare score ("4", "4.") is read only at the start of the reply: noise goes after it.
    lines = [said, after] if phrasing in BARE else [before, said, after]
    reply = "\n".join(line for line in lines if line) + quoted
    assert read_score(reply) == score


@given(filled=st.integers(1, 5), empty_stars=st.booleans(), emoji=st.booleans())
def test_stars_are_counted(filled: int, empty_stars: bool, emoji: bool) -> None:
    star = "⭐" if emoji else "★"
    reply = star * filled + ("☆" * (5 - filled) if empty_stars and not emoji else "")
    assert read_score(f"Service: {reply}\nThank you") == filled


@given(text=st.text(alphabet=st.characters(exclude_categories=["Nd", "No", "Cs"])))
def test_text_without_digits_stars_or_number_words_gives_no_score(text: str) -> None:
    lowered = text.casefold()
    if any(word in lowered for words in WORDS.values() for word in words.values()):
        return  # "one" may be part of a score written in words
    if any(star in text for star in "★⭐"):
        return
    assert read_score(text) is None


@given(
    first=st.integers(1, 5),
    second=st.integers(1, 5),
    phrasing=st.sampled_from(["{a}/5, last time {b}/5", "{a} stars, not {b} stars"]),
)
def test_two_different_scores_give_none(first: int, second: int, phrasing: str) -> None:
    reply = phrasing.format(a=first, b=second)
    assert read_score(reply) == (first if first == second else None)


@pytest.mark.parametrize(
    "reply",
    [
        "8/10",
        "10/10 would recommend",
        "0/5",
        "6 out of 5!!",
        "4.5/5",
        "4,5 sur 5",
        "Note: I waited 3 weeks for a reply",
        "Still waiting for the 2 refunds you promised",
        "Un problème persiste",
        "★★★★★★",
        "★★★☆",
        "",
        "Please call me on 0800 000 0000",
        "Order 12345 arrived in 5 days",
    ],
)
def test_no_score_when_it_is_not_sure(reply: str) -> None:
    assert read_score(reply) is None


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("4️⃣", 4),  # a keycap emoji
        ("\uff15", 5),  # a full-width digit
        ("Quatre !", 4),
        ("I\u2019d give it 4 out of 5", 4),
        ("Rating: 3/5. It took 4 weeks.", 3),
        ("5 ⭐", 5),
        ("une étoile", 1),
        ("give it a 2", 2),
    ],
)
def test_less_usual_ways(reply: str, score: int) -> None:
    assert read_score(reply) == score


@given(score=st.integers(1, 5))
def test_the_survey_quoted_below_a_reply_changes_nothing(score: int) -> None:
    assert read_score(UNQUOTED_SURVEY) is None
    assert read_score(QUOTED_SURVEY) is None
    assert read_score(f"{score}{QUOTED_SURVEY}") == score
    assert read_score(f"{score}{UNQUOTED_SURVEY}") == score


def test_reply_part_stops_at_the_quoted_message() -> None:
    text = "Great, 5\n-- \nAda\n> old"
    assert reply_part(text) == "Great, 5"
    assert reply_part("4\nLe lun. 2 mars 2026, Northwind a écrit :\n> 1 à 5") == "4"
    assert reply_part("3\n-----Original Message-----\nFrom: x") == "3"


def test_the_text_must_be_text() -> None:
    with pytest.raises(InvalidArgumentError, match="text must be text"):
        read_score(b"4")  # type: ignore[arg-type]
