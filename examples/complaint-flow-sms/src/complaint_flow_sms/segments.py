"""How many SMS segments a text takes, and splitting a long letter into messages.

A text message travels in segments of 140 bytes. Text written only with the GSM 03.38
alphabet is sent in GSM-7, 7 bits a character: 160 characters in a single segment, 153
in each segment of a longer (concatenated) message, whose header takes the rest; the
characters of the alphabet's extension table (``€``, ``[``, ``{``, ``|``…) take two.
Any other character (``ł``, ``ç``, an emoji) makes the whole text UCS-2, 16 bits a
code unit: 70 units in a single segment, 67 in each segment of a longer one, and a
character outside the Basic Multilingual Plane (most emoji) takes two units. A two-unit
character is never cut between segments. Operators charge per segment, and phones
join at most a handful reliably: hence a maximum.
"""

from __future__ import annotations

from typing import Literal

import attrs

from complaint_flow_sms.errors import LetterTooLongError

Encoding = Literal["GSM-7", "UCS-2"]

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"  # ΔΦΓΛΩΠΨΣΘΞ
    "ÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The GSM 03.38 basic alphabet, one septet each (its escape code, 0x1B, left out)."""

GSM_EXTENSION = "\f^{}\\[~]|€"
"""The GSM 03.38 extension table: each character takes two septets (escape and code)."""

_GSM_COST = {**dict.fromkeys(GSM_BASIC, 1), **dict.fromkeys(GSM_EXTENSION, 2)}

SINGLE = {"GSM-7": 160, "UCS-2": 70}
"""Units (septets or UTF-16 code units) that fit in a message of one segment."""

PER_SEGMENT = {"GSM-7": 153, "UCS-2": 67}
"""Units that fit in each segment of a message of several segments."""

MAX_MESSAGES = 9
"""The most messages one letter is split into (each labelled ``(k/n)``)."""


@attrs.frozen
class Segments:
    """What a text costs as one SMS.

    Args:
        encoding: ``"GSM-7"`` or ``"UCS-2"``.
        units: its length in septets (GSM-7) or UTF-16 code units (UCS-2).
        count: the segments it is sent in.
    """

    encoding: Encoding
    units: int
    count: int


def encoding_of(text: str) -> Encoding:
    """``"GSM-7"`` if every character is in the GSM alphabet, else ``"UCS-2"``.

    >>> encoding_of("Refund of €20"), encoding_of("Refund of zł20")
    ('GSM-7', 'UCS-2')
    """
    return "GSM-7" if all(character in _GSM_COST for character in text) else "UCS-2"


def _cost(character: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        return _GSM_COST[character]
    return 2 if ord(character) > 0xFFFF else 1


def count_segments(text: str) -> Segments:
    """The encoding, length and number of segments of ``text`` sent as one SMS.

    >>> count_segments("a" * 160)
    Segments(encoding='GSM-7', units=160, count=1)
    >>> count_segments("a" * 161).count, count_segments("€" * 80).count
    (2, 1)
    >>> count_segments("Dziękuję")
    Segments(encoding='UCS-2', units=8, count=1)
    """
    encoding = encoding_of(text)
    costs = [_cost(character, encoding) for character in text]
    units = sum(costs)
    if units <= SINGLE[encoding]:
        return Segments(encoding, units, 1)
    count, used = 1, 0
    for cost in costs:
        if used + cost > PER_SEGMENT[encoding]:
            count, used = count + 1, 0
        used += cost
    return Segments(encoding, units, count)


def _fitting(text: str, start: int, encoding: Encoding, max_segments: int, reserve: int) -> int:
    """The end of the longest part of ``text`` from ``start`` that fits with ``reserve``."""
    if max_segments == 1:
        used, end = reserve, start
        while end < len(text) and used + _cost(text[end], encoding) <= SINGLE[encoding]:
            used += _cost(text[end], encoding)
            end += 1
        return end
    count, used, end = 1, reserve, start
    while end < len(text):
        cost = _cost(text[end], encoding)
        if used + cost > PER_SEGMENT[encoding]:
            if count == max_segments:
                break
            count, used = count + 1, 0
        used += cost
        end += 1
    return end


def _parts(text: str, encoding: Encoding, max_segments: int, reserve: int) -> list[str]:
    """``text`` cut into parts that fit with ``reserve`` units to spare, between words."""
    parts: list[str] = []
    start = 0
    while start < len(text):
        end = _fitting(text, start, encoding, max_segments, reserve)
        if end < len(text):
            # Cut after the last space, unless that wastes more than half the part.
            space = max(text.rfind(" ", start, end + 1), text.rfind("\n", start, end + 1))
            if space > start + (end - start) // 2:
                end = space
        part = text[start:end].rstrip()
        if part:
            parts.append(part)
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return parts


def split_letter(text: str, max_segments: int) -> list[str]:
    """``text`` as the fewest messages of at most ``max_segments`` segments each.

    A text that fits is returned whole. A longer one is cut between words where it
    can be, and each message starts with its place, ``(1/3)``, so that the customer
    reads them in order whatever order they arrive in.

    Raises:
        LetterTooLongError: it would take more than :data:`MAX_MESSAGES` messages.

    >>> parts = split_letter("word " * 70, max_segments=1)
    >>> [len(part) for part in parts], parts[1][:12]
    ([160, 160, 45], '(2/3) word w')
    """
    if count_segments(text).count <= max_segments:
        return [text]
    encoding = encoding_of(text)
    # The label "(k/n) " costs one unit a character in either encoding.
    parts = _parts(text, encoding, max_segments, reserve=len(f"({MAX_MESSAGES}/{MAX_MESSAGES}) "))
    if len(parts) > MAX_MESSAGES:
        raise LetterTooLongError(
            f"the letter needs more than {MAX_MESSAGES} text messages of {max_segments} "
            f"segment(s) ({count_segments(text).count} segments, {encoding}); raise "
            "max_segments or answer this customer by letter or email"
        )
    return [f"({number}/{len(parts)}) {part}" for number, part in enumerate(parts, start=1)]


__all__ = [
    "GSM_BASIC",
    "GSM_EXTENSION",
    "MAX_MESSAGES",
    "PER_SEGMENT",
    "SINGLE",
    "Encoding",
    "Segments",
    "count_segments",
    "encoding_of",
    "split_letter",
]
