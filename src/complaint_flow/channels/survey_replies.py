"""Reading a satisfaction score (1 to 5) from a customer's reply, in English and French.

A customer answers a survey the way people write: ``4``, ``4/5``, ``★★★★☆``,
``I'd give it 4 out of 5``, ``Four stars``, ``Note : 4``, ``je donne quatre sur
cinq``. :func:`read_score` finds the score in the reply itself — the quoted
message below it (lines starting with ``>``, or everything after ``On … wrote:`` /
``Le … a écrit :`` or an ``Original message`` separator) is left out — and
answers None whenever it is not sure: no score, a score out of range or on another
scale (``8/10``), a fraction (``4.5``), or two different scores in one reply. A
reply with no score is then simply a reply, for a person to read.

What counts, in this order, each match taken out of the text before the next:

1. a fraction: ``4/5``, ``4 out of 5``, ``4 of 5``, ``4 sur 5`` (numbers or words);
2. a number with a unit: ``4 stars``, ``4 étoiles``, ``4★``;
3. a number after a word that announces one: ``score``, ``rating``, ``rate``,
   ``mark``, ``grade``, ``I'd give (it)``, ``note``, ``je (vous) donne``, ``je mets``
   (not a number of days, weeks, times, items…: ``note: 3 weeks late`` gives none);
4. a run of filled stars (``★``, ``⭐``), empty ones (``☆``) allowed after them;
5. a reply whose first line is just the number (``4``, ``4.``, ``Five!``, ``3 - ok``).

>>> read_score("I'd give it 4 out of 5, thanks")
4
>>> read_score("★★★★☆")
4
>>> read_score("Je vous donne quatre sur cinq.")
4
>>> read_score("Still waiting for the 2 refunds you promised") is None
True
"""

from __future__ import annotations

import re
import unicodedata

from complaint_flow import arguments

LOWEST, HIGHEST = 1, 5

_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
}
_NUMBER = r"(?<![\w.,])(\d+|" + "|".join(_WORDS) + r")(?![.,]\d)"
# A number followed by one of these counts something else (3 weeks, 2 fois, 20 %).
_QUANTITY = (
    r"(?!\s*(?:days?|weeks?|months?|years?|hours?|minutes?|times?|items?|parcels?|orders?|"
    r"jours?|semaines?|mois|ans|années?|heures?|fois|colis|commandes?|%|€|£|\$))"
)
_FRACTION = re.compile(_NUMBER + r"\s*(?:/|out of|of|sur)\s*" + _NUMBER + r"(?!\w)")
_WITH_UNIT = re.compile(_NUMBER + r"\s*(?:stars?\b|étoiles?\b|etoiles?\b|★|⭐)")
_ANNOUNCED = re.compile(
    r"\b(?:scores?|rating|rate|rated|mark|grade|i(?:'d| would)? give|give|"
    r"ma note|note|noté|je (?:vous |leur |lui )?(?:donne|mets|attribue))\b"
    r"(?: (?:it|you|them|this|us|it a|you a|them a))?"
    r"[\s:=\-\u2013\u2014]*(?:a |an |une? |de )?" + _NUMBER + r"(?!\w)" + _QUANTITY
)
_STARS = re.compile(r"([★⭐]{1,9})(☆*)")
_BARE = re.compile(r"^\s*" + _NUMBER + r"\s*(?:$|[.,!?:;)\u2026\-\u2013\u2014]|\s+[-\u2013\u2014])")
_QUOTE_HEADER = re.compile(
    r"^\s*(?:on\b.*\bwrote\s*:?\s*$|le\b.*\ba écrit\s*:?\s*$|"
    r"-{2,}\s*(?:original message|message d'origine|message original)|"
    r"(?:from|de|sent|envoyé)\s*:\s)",
    re.IGNORECASE,
)
_SIGNATURE = "-- "


def _value(token: str) -> int | None:
    if token in _WORDS:
        return _WORDS[token]
    return int(token) if token.isdigit() and len(token) <= 3 else None


def reply_part(text: str) -> str:
    """The customer's own words: ``text`` without the quoted message and the signature."""
    kept: list[str] = []
    for line in text.splitlines():
        if line.rstrip() == _SIGNATURE.rstrip() or _QUOTE_HEADER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept)


def _normalised(text: str) -> str:
    # Full-width digits become digits; keycap emoji (4️⃣) lose their decoration.
    text = unicodedata.normalize("NFKC", text).replace("\ufe0f", "").replace("\u20e3", "")
    return text.replace("\u2019", "'").casefold()


def read_score(text: str) -> int | None:
    """The score (1 to 5) a customer's reply gives, or None if it gives none for sure.

    Args:
        text: the reply as the customer wrote it (plain text; the quoted message
            below it is ignored).

    Raises:
        InvalidArgumentError: ``text`` is not text.
    """
    text = arguments.text("text", text, blank=True)
    reply = _normalised(reply_part(text))
    found: list[int | None] = []  # None: a number that is not a score (another scale)
    for match in _FRACTION.finditer(reply):
        score, scale = _value(match[1]), _value(match[2])
        found.append(score if scale == HIGHEST else None)
    reply = _FRACTION.sub(" ", reply)
    for pattern in (_WITH_UNIT, _ANNOUNCED):
        for match in pattern.finditer(reply):
            found.append(_value(match[1]))
        reply = pattern.sub(lambda m: " " * len(m[0]), reply)
    for match in _STARS.finditer(reply):
        filled, empty = len(match[1]), len(match[2])
        found.append(filled if not empty or filled + empty == HIGHEST else None)
    reply = _STARS.sub(" ", reply)
    first = next((line for line in reply.splitlines() if line.strip()), "")
    bare = _BARE.match(first)
    if bare is not None:
        found.append(_value(bare[1]))
    scores = set(found)
    if len(scores) != 1:
        return None
    (score,) = scores
    return score if score is not None and LOWEST <= score <= HIGHEST else None


__all__ = ["HIGHEST", "LOWEST", "read_score", "reply_part"]
