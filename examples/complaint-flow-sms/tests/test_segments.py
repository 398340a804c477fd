"""GSM-7 and UCS-2 segment counting, and splitting long letters into messages."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow_sms import LetterTooLongError, count_segments, encoding_of, split_letter
from complaint_flow_sms.segments import GSM_BASIC, GSM_EXTENSION, MAX_MESSAGES


def test_the_gsm_alphabet_is_complete() -> None:
    # 128 codes, less the escape code; every character once.
    assert len(GSM_BASIC) == len(set(GSM_BASIC)) == 127
    assert not set(GSM_BASIC) & set(GSM_EXTENSION)
    assert len(GSM_EXTENSION) == 10


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),
        # 76 two-septet characters fill a 153-septet segment: one is never cut in two.
        ("€" * 81, "GSM-7", 162, 2),
        ("€" * 153, "GSM-7", 306, 3),
        ("ж" * 70, "UCS-2", 70, 1),
        ("ж" * 71, "UCS-2", 71, 2),
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
        ("😀" * 67, "UCS-2", 134, 3),  # 33 per 67-unit segment
        ("a" * 159 + "ł", "UCS-2", 160, 3),  # one character outside GSM-7 costs two segments
    ],
)
def test_known_counts(text: str, encoding: str, units: int, count: int) -> None:
    segments = count_segments(text)
    assert (segments.encoding, segments.units, segments.count) == (encoding, units, count)


gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=1200)
basic_text = st.text(alphabet=GSM_BASIC, max_size=1200)
any_text = st.text(max_size=600)


@given(basic_text)
def test_plain_gsm_text_takes_153_septets_a_segment(text: str) -> None:
    segments = count_segments(text)
    assert segments.encoding == "GSM-7"
    assert segments.units == len(text)
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert segments.count == expected


@given(st.text(alphabet=st.characters(min_codepoint=0x400, max_codepoint=0x4FF), max_size=600))
def test_cyrillic_takes_67_units_a_segment(text: str) -> None:
    segments = count_segments(text)
    assert segments.encoding == ("UCS-2" if text else "GSM-7")
    expected = 1 if len(text) <= 70 else math.ceil(len(text) / 67)
    assert segments.count == expected


@given(any_text)
def test_a_segment_loses_at_most_one_unit_to_a_character_not_cut(text: str) -> None:
    segments = count_segments(text)
    assert segments.encoding == encoding_of(text)
    assert (segments.encoding == "GSM-7") == all(c in GSM_BASIC + GSM_EXTENSION for c in text)
    single, per = (160, 153) if segments.encoding == "GSM-7" else (70, 67)
    if segments.units <= single:
        assert segments.count == 1
    else:
        assert math.ceil(segments.units / per) <= segments.count
        assert segments.count <= math.ceil(segments.units / (per - 1))


@given(gsm_text)
def test_extension_characters_take_two_septets(text: str) -> None:
    assert count_segments(text).units == len(text) + sum(c in GSM_EXTENSION for c in text)


words = st.lists(
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Z", "C"]),
        min_size=1,
        max_size=30,
    ),
    min_size=1,
    max_size=120,
)


@given(words=words, max_segments=st.integers(min_value=1, max_value=4))
def test_a_split_letter_keeps_every_word_in_order_within_the_limit(
    words: list[str], max_segments: int
) -> None:
    text = " ".join(words)
    try:
        parts = split_letter(text, max_segments)
    except LetterTooLongError:
        assert count_segments(text).count > max_segments
        return
    assert all(count_segments(part).count <= max_segments for part in parts)
    if len(parts) == 1:
        assert parts == [text]
        return
    assert [part.split(" ", 1)[0] for part in parts] == [
        f"({n}/{len(parts)})" for n in range(1, len(parts) + 1)
    ]
    rest = "".join(part.split(" ", 1)[1] for part in parts)
    # Cut between words where possible, inside a word only when a word fills a part.
    assert rest.replace(" ", "") == text.replace(" ", "")
    assert len(parts) <= MAX_MESSAGES


def test_a_letter_beyond_the_most_messages_is_refused() -> None:
    with pytest.raises(LetterTooLongError, match="more than 9 text messages of 1 segment"):
        split_letter("word " * 400, max_segments=1)
