"""What a rule pack requires its letters to say: the ``[[letters]]`` tables of a workflow.

A regulator's rules are about what a letter tells the customer: an FCA final response
must give the right to refer the complaint to the Financial Ombudsman Service and the
six-month time limit for doing so. A workflow lists, per letter, the items the letter
must mention, each a regular expression looked for in the rendered letter (case
ignored, every run of whitespace read as one space), so that a letter missing one is
refused before it is sent (see :mod:`complaint_flow.channels.letters`).

.. code-block:: toml

    [[letters]]
    letter = "final_response"
    must_mention = [
      {name = "ombudsman referral right", pattern = "Financial Ombudsman Service"},
      {name = "six-month time limit", pattern = "six months|6 months",
       by_language = {fr = "six mois|6 mois"}},
    ]

``by_language`` gives the pattern for letters in that language; the others use
``pattern``.

>>> found, problems = parse_letter_requirements([
...     {"letter": "final_response",
...      "must_mention": [{"name": "time limit", "pattern": "six months",
...                        "by_language": {"fr": "six mois"}}]},
... ])
>>> problems
[]
>>> [item.name for item in found[0].missing("You have six\\nmonths to do so.", "en")]
[]
>>> [item.name for item in found[0].missing("Vous avez deux mois.", "fr")]
['time limit']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

import attrs

from complaint_flow.definitions.structuring import Path, about, lookup, read

LETTER_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""A letter's name: lower_snake_case, as its template files are named."""

LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
"""A language as letters name it: an ISO 639 code, optionally with subtags (``fr``, ``pt-br``)."""

_LETTERS = "a list of tables ([[letters]], each with letter and must_mention)"
_MENTIONS = 'a list of tables such as [{name = "...", pattern = "..."}]'
_BY_LANGUAGE = 'a table of language -> pattern such as {fr = "six mois"}'


@attrs.frozen(kw_only=True)
class MentionTable:
    """An item a letter must mention, as a workflow file writes it."""

    name: str = attrs.field(
        metadata=about(missing="'name' is missing: say what the item is, e.g. 'time limit'")
    )
    pattern: str = attrs.field(
        metadata=about(
            expects="a regular expression such as 'six months|6 months'",
            missing="'pattern' is missing: give the regular expression the letter must match",
        )
    )
    by_language: Mapping[str, str] | None = attrs.field(
        default=None, metadata=about(expects=_BY_LANGUAGE)
    )


@attrs.frozen(kw_only=True)
class LetterTable:
    """One letter's required content, as a workflow file writes it (``[[letters]]``)."""

    letter: str = attrs.field(
        metadata=about(missing="'letter' is missing: name the letter, e.g. 'final_response'")
    )
    must_mention: tuple[MentionTable, ...] = attrs.field(
        metadata=about(expects=_MENTIONS, missing=f"'must_mention' must be {_MENTIONS}")
    )


@attrs.frozen
class RequiredMention:
    """An item a letter must mention, and how to recognise it.

    Args:
        name: what the item is, in words ("six-month time limit"), as a refusal names it.
        pattern: a regular expression the letter must match (case ignored).
        by_language: ``(language, pattern)`` pairs for letters in other languages.
    """

    name: str
    pattern: str
    by_language: tuple[tuple[str, str], ...] = ()

    def pattern_for(self, language: str) -> str:
        """The pattern that a letter in ``language`` must match."""
        return dict(self.by_language).get(language, self.pattern)

    def found_in(self, text: str, language: str) -> bool:
        """Whether ``text``, a letter in ``language``, mentions the item."""
        return _compiled(self.pattern_for(language)).search(" ".join(text.split())) is not None


@attrs.frozen
class LetterRequirement:
    """What one letter must mention under a workflow's rules."""

    letter: str
    must_mention: tuple[RequiredMention, ...]

    def missing(self, text: str, language: str) -> tuple[RequiredMention, ...]:
        """The required items that ``text``, the letter in ``language``, does not mention."""
        return tuple(item for item in self.must_mention if not item.found_in(text, language))


def requirement_for(
    requirements: Iterable[LetterRequirement], letter: str
) -> LetterRequirement | None:
    """The requirement for ``letter`` among ``requirements``, if there is one."""
    for requirement in requirements:
        if requirement.letter == letter:
            return requirement
    return None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def parse_letter_requirements(
    data: object,
) -> tuple[tuple[LetterRequirement, ...], list[str]]:
    """Read a workflow's ``[[letters]]`` tables; return the requirements and every problem.

    Args:
        data: the list of tables (``workflow_data.get("letters")``), or ``None``.

    Returns:
        ``(requirements, [])`` when they are valid, ``((), problems)`` otherwise, each
        problem saying where it is and how to fix it.
    """
    if data is None:
        return (), []
    if not isinstance(data, list | tuple):
        return (), [f"'letters' must be {_LETTERS}, got {data!r}"]
    reading = read(data, tuple[LetterTable, ...], functools.partial(_where, data))
    problems = list(reading.problems)
    if reading.value is None:
        return (), problems
    requirements: list[LetterRequirement] = []
    seen: set[str] = set()
    for index, table in enumerate(reading.value):
        where = _where(data, (index,))
        if not LETTER_NAME.match(table.letter):
            problems.append(
                f"{where}: {table.letter!r} is not a letter's name: use lower_snake_case, "
                "as its template file is named (e.g. 'final_response')"
            )
        if table.letter in seen:
            problems.append(f"{where}: letter {table.letter!r} is listed twice; merge them")
        seen.add(table.letter)
        if not table.must_mention:
            problems.append(f"{where}: 'must_mention' is empty; list what the letter must say")
        names: set[str] = set()
        for mention in table.must_mention:
            problems.extend(_mention_problems(mention, where, names))
        requirements.append(
            LetterRequirement(
                letter=table.letter,
                must_mention=tuple(
                    RequiredMention(
                        name=mention.name,
                        pattern=mention.pattern,
                        by_language=tuple(sorted((mention.by_language or {}).items())),
                    )
                    for mention in table.must_mention
                ),
            )
        )
    if problems:
        return (), problems
    return tuple(requirements), []


def _mention_problems(mention: MentionTable, where: str, names: set[str]) -> list[str]:
    problems: list[str] = []
    item = f"{where}: item {mention.name!r}"
    if not mention.name.strip():
        problems.append(f"{where}: an item has an empty 'name'; say what it is")
    elif mention.name in names:
        problems.append(f"{item} is listed twice; keep one")
    names.add(mention.name)
    patterns = {"pattern": mention.pattern}
    for language, pattern in (mention.by_language or {}).items():
        if not LANGUAGE_TAG.match(language):
            problems.append(
                f"{item}: {language!r} is not a language such as 'fr' or 'pt-br' "
                "(lower case, as the letters' template directories are named)"
            )
        patterns[f"by_language.{language}"] = pattern
    for key, pattern in patterns.items():
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            problems.append(f"{item}: {key} {pattern!r} is not a regular expression ({exc})")
            continue
        if compiled.search("") is not None:
            problems.append(
                f"{item}: {key} {pattern!r} matches an empty text, so every letter would "
                "pass; give the words the letter must contain"
            )
    return problems


def _where(data: object, path: Path) -> str:
    """How problems name the letter table at ``path`` of the ``letters`` list."""
    if not path or not isinstance(path[0], int):
        return "letters"
    letter = lookup(data, (path[0], "letter"))
    named = f" ({letter!r})" if isinstance(letter, str) and letter else ""
    where = f"letters #{path[0] + 1}{named}"
    if len(path) >= 3 and path[1] == "must_mention" and isinstance(path[2], int):
        where += f", must_mention #{path[2] + 1}"
    return where


__all__ = [
    "LANGUAGE_TAG",
    "LETTER_NAME",
    "LetterRequirement",
    "LetterTable",
    "MentionTable",
    "RequiredMention",
    "parse_letter_requirements",
    "requirement_for",
]
