"""Root causes: the taxonomy a complaint's cause is classified in, as data.

A taxonomy names the causes a complaint may be put down to, each with a title, an
optional group (where the cause lies: process, product, people…) and the kind of
corrective action that usually fixes it. :func:`default_root_causes` is shipped
(``root_causes.toml``); a workflow (or a pack) may carry its own in a
``[root_causes]`` table, and a host may pass its own to the service that classifies.

The table, as a workflow file writes it::

    [root_causes]
    title = "Why our customers complain"

    [root_causes.causes.late_courier]
    title = "The courier delivered late"
    group = "partners"
    action = "product_or_service_fault"

>>> taxonomy = RootCauseTaxonomy.from_dict({
...     "causes": {"late_courier": {"title": "The courier delivered late",
...                                  "action": "product or service fault"}},
... })
>>> taxonomy.cause("late_courier").action
<ActionKind.PRODUCT_OR_SERVICE_FAULT: 'product_or_service_fault'>
>>> taxonomy.cause("weather")  # doctest: +NORMALIZE_WHITESPACE
Traceback (most recent call last):
...
complaint_flow.definitions.root_causes.UnknownRootCauseError: unknown root cause 'weather';
the known causes are 'late_courier'
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs

from complaint_flow.definitions.structuring import Path, about, read
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.actions import ActionKind

CAUSE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""A cause's name: lower-case letters, digits and underscores, starting with a letter."""

DEFAULT_FILE = "root_causes.toml"
"""The file of the shipped taxonomy, beside this module."""

_KINDS = ", ".join(repr(kind.value) for kind in ActionKind)


class UnknownRootCauseError(InvalidArgumentError, LookupError):
    """No cause of that name in the taxonomy; the message lists the known ones."""

    def __init__(self, cause: str, known: tuple[str, ...], taxonomy: str = "") -> None:
        self.cause = cause
        self.known = known
        where = f" of taxonomy {taxonomy!r}" if taxonomy else ""
        listed = ", ".join(repr(name) for name in known) if known else "(none)"
        super().__init__(f"unknown root cause {cause!r}; the known causes{where} are {listed}")


class RootCauseTaxonomyError(InvalidArgumentError):
    """A taxonomy is malformed; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"the root cause taxonomy is not valid:\n{lines}")


@attrs.frozen(kw_only=True)
class CauseTable:
    """A cause as a file writes it (``[root_causes.causes.NAME]``)."""

    title: str = attrs.field(metadata=about(missing="'title' is missing: say what the cause is"))
    group: str = ""
    description: str = ""
    action: str | None = attrs.field(default=None, metadata=about(expects=f"one of {_KINDS}"))


@attrs.frozen(kw_only=True)
class TaxonomyTable:
    """A taxonomy as a file writes it (``[root_causes]``)."""

    title: str = ""
    causes: Mapping[str, CauseTable] = attrs.field(
        metadata=about(
            expects="a table of cause name -> title, group, description, action",
            missing="'causes' is missing: list the causes as [root_causes.causes.NAME] tables",
        )
    )


@attrs.frozen
class RootCause:
    """One cause a complaint may be put down to.

    ``action`` is the kind of corrective action that usually fixes it (None: no
    measure follows from it, e.g. no fault found).
    """

    name: str
    title: str
    group: str = ""
    description: str = ""
    action: ActionKind | None = None


@attrs.frozen
class RootCauseTaxonomy:
    """The causes complaints are classified in, in the order given."""

    causes: tuple[RootCause, ...]
    title: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The causes' names, in order."""
        return tuple(cause.name for cause in self.causes)

    def cause(self, name: str) -> RootCause:
        """The cause called ``name``.

        Raises:
            UnknownRootCauseError: no cause has that name; the message lists the known ones.
        """
        for cause in self.causes:
            if cause.name == name:
                return cause
        raise UnknownRootCauseError(name, self.names, self.title)

    def groups(self) -> dict[str, tuple[RootCause, ...]]:
        """The causes by group, groups in order of first appearance."""
        grouped: dict[str, list[RootCause]] = {}
        for cause in self.causes:
            grouped.setdefault(cause.group, []).append(cause)
        return {group: tuple(causes) for group, causes in grouped.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RootCauseTaxonomy:
        """A taxonomy from plain data (a ``[root_causes]`` table as parsed from TOML).

        Raises:
            RootCauseTaxonomyError: listing every problem found.
        """
        taxonomy, problems = parse_root_causes(data)
        if problems or taxonomy is None:
            raise RootCauseTaxonomyError(problems)
        return taxonomy

    @classmethod
    def from_toml(cls, text: str) -> RootCauseTaxonomy:
        """A taxonomy from TOML text holding a ``[root_causes]`` table.

        Raises:
            RootCauseTaxonomyError: the text is not TOML, has no ``[root_causes]``
                table, or the taxonomy is malformed.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise RootCauseTaxonomyError([f"not valid TOML: {exc}"]) from None
        table = data.get("root_causes")
        if not isinstance(table, Mapping):
            raise RootCauseTaxonomyError(
                ["no [root_causes] table; write the causes as [root_causes.causes.NAME] tables"]
            )
        return cls.from_dict(table)


def parse_root_causes(data: object) -> tuple[RootCauseTaxonomy | None, list[str]]:
    """A taxonomy from a ``[root_causes]`` table, and every problem found.

    Problems are worded for a workflow file (``root_causes.causes.late: ...``).
    """
    reading = read(data, TaxonomyTable, _where)
    problems = list(reading.problems)
    table = reading.value
    if table is None:
        return None, problems
    causes = []
    for name, cause in table.causes.items():
        if not CAUSE_NAME.match(name):
            problems.append(
                f"root_causes.causes: {name!r} is not a valid cause name; use lower-case "
                "letters, digits and underscores, starting with a letter (e.g. 'late_courier')"
            )
            continue
        action: ActionKind | None = None
        if cause.action is not None:
            try:
                action = ActionKind.parse(cause.action)
            except InvalidArgumentError:
                problems.append(
                    f"root_causes.causes.{name}: 'action' must be one of {_KINDS}, "
                    f"got {cause.action!r}"
                )
        if not cause.title.strip():
            problems.append(f"root_causes.causes.{name}: 'title' must not be blank")
        causes.append(RootCause(name, cause.title.strip(), cause.group, cause.description, action))
    if not table.causes:
        problems.append("root_causes: 'causes' is empty; list at least one cause")
    if problems:
        return None, problems
    return RootCauseTaxonomy(tuple(causes), table.title), []


def _where(path: Path) -> str:
    return ".".join(["root_causes", *(str(step) for step in path)])


def default_root_causes() -> RootCauseTaxonomy:
    """The taxonomy used when neither the host nor the complaint's workflow gives one.

    Shipped as ``root_causes.toml`` beside this module and read, once, with the same
    reader as a workflow's ``[root_causes]`` table.
    """
    return _shipped()


@functools.lru_cache(maxsize=1)
def _shipped() -> RootCauseTaxonomy:
    text = resources.files(__package__ or "complaint_flow.definitions")
    return RootCauseTaxonomy.from_toml(text.joinpath(DEFAULT_FILE).read_text(encoding="utf-8"))


__all__ = [
    "CAUSE_NAME",
    "DEFAULT_FILE",
    "CauseTable",
    "RootCause",
    "RootCauseTaxonomy",
    "RootCauseTaxonomyError",
    "TaxonomyTable",
    "UnknownRootCauseError",
    "default_root_causes",
    "parse_root_causes",
]
