"""Escalation ladders by rank: who takes a complaint next, emergencies, routing.

An :class:`EscalationLadder` lists the levels a complaint climbs (1 = frontline),
each with its role, rank, contact details, guidelines and the remedies it may
grant. An :class:`EscalationPolicy` holds a default ladder and ladders for some
categories and severities, plus :class:`Routing` rules that send complaints to a
responsible department or a central office. :func:`parse_escalation` reads the
``[escalation]`` section of a workflow file and reports every problem at once.

Who actually takes an escalated complaint is asked of the
``complaint_flow_escalation_target`` hook, so that a host can plug in its org
chart (an agent escalates to *their own* manager); :func:`static_ladder_target`
is what the built-in plugin (``complaint_flow.plugins.escalation_target``)
answers: the level's own contact.

>>> ladder = EscalationLadder("default", (
...     EscalationLevel(1, "Frontline agent", "agent", 1, email="desk@example.org",
...                     authority_limit="25"),
...     EscalationLevel(2, "Complaints manager", "manager", 2, email="cm@example.org",
...                     unlimited_authority=True),
... ))
>>> ladder.next_after(1).title
'Complaints manager'
>>> ladder.lowest_level_allowed(Decimal("100")).number
2
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypeVar

import attrs

from complaint_flow.definitions.structuring import (
    Amount,
    Path,
    Texts,
    about,
    as_tuple,
    lookup,
    read,
)
from complaint_flow.errors import EscalationError, InvalidArgumentError
from complaint_flow.model.entities import Actor, Severity

DEFAULT_LADDER = "default"
"""The name of the ladder given by ``[[escalation.levels]]`` (it applies to every complaint)."""

DEFAULT_CURRENCY = "GBP"

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNLIMITED = Decimal("Infinity")
_SEVERITY_NAMES = ", ".join(repr(severity.value) for severity in Severity)

_LIST_OF_TEXT = 'a list of text such as ["billing"]'
_LIST_OF_SEVERITIES = 'a list such as ["high"]'
_CURRENCY_CODE = "a three-letter ISO 4217 code such as 'GBP' or 'EUR'"
_WRITTEN_CAP = "a level number of 2 or more (from that level on only written requests count)"


# -- conversions shared by the classes and the TOML reader ---------------------------


def _optional_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"expected text or None, got {type(value).__name__} {value!r}")
    return value.strip() or None


def _authority(value: object) -> Decimal | None:
    """An authority limit as a Decimal; text or whole numbers, never floats."""
    if value is None:
        return None
    amount, problem = _decimal(value, allow_float=False)
    if problem:
        raise InvalidArgumentError(f"authority_limit {problem}")
    return amount


def _decimal(value: object, *, allow_float: bool) -> tuple[Decimal | None, str | None]:
    """``value`` as a finite Decimal, or the reason it is not one."""
    if isinstance(value, bool):
        return None, f'must be an amount such as "250" or 250, not {value!r}'
    if isinstance(value, float) and not allow_float:
        return None, (
            f"must not be a float ({value!r} may not be exact): pass text such as "
            f'"{value}" or a Decimal'
        )
    if isinstance(value, Decimal | int | float):
        amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            return None, f'must be an amount such as "250" or "12.50", got {value!r}'
    else:
        return None, f'must be an amount such as "250", got {type(value).__name__} {value!r}'
    if not amount.is_finite():
        return None, f"must be a finite amount, got {value!r}"
    return amount, None


def _texts(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable) or not all(isinstance(item, str) for item in value):
        raise InvalidArgumentError(f"expected a list of text, got {value!r}")
    return tuple(dict.fromkeys(item.strip() for item in value if item.strip()))


def _severity(value: object) -> Severity:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return Severity(value)
    except ValueError:
        raise InvalidArgumentError(
            f"unknown severity {value!r}; use one of {_SEVERITY_NAMES}"
        ) from None


def _severities(value: object) -> tuple[Severity, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable):
        raise InvalidArgumentError(f"expected a list of severities, got {value!r}")
    return tuple(dict.fromkeys(_severity(item) for item in value))


def _format_amount(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


def _applies(
    categories: tuple[str, ...], severities: tuple[Severity, ...], category: str, severity: Severity
) -> bool:
    return (not categories or category in categories) and (not severities or severity in severities)


def _specificity(categories: tuple[str, ...], severities: tuple[Severity, ...]) -> int:
    # A category says more about a complaint than a severity does, so
    # category+severity (3) > category (2) > severity (1) > everything (0).
    return 2 * bool(categories) + bool(severities)


# -- levels ---------------------------------------------------------------------------


def _level_problems(
    number: object,
    title: object,
    role: object,
    rank: object,
    email: object,
    phone: object,
    guidelines: object,
    authority_limit: object,
    unlimited_authority: object,
    on_call: object,
    placeholder: object,
) -> list[str]:
    """What is wrong with one level's values (already converted), each with its fix."""
    found: list[str] = []
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        found.append(f"'number' must be a whole number from 1 (frontline) up, got {number!r}")
    for key, value, example in (("title", title, "Team leader"), ("role", role, "manager")):
        if not isinstance(value, str) or not value.strip():
            found.append(f"{key!r} must be non-empty text such as {example!r}, got {value!r}")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        found.append(
            f"'rank' must be a whole number of at least 1 (the frontline rank), got {rank!r}"
        )
    for key, value in (("email", email), ("phone", phone)):
        if value is not None and not isinstance(value, str):
            found.append(f"{key!r} must be text, got {type(value).__name__} {value!r}")
    if not (isinstance(email, str) and email.strip()) and not (
        isinstance(phone, str) and phone.strip()
    ):
        found.append(
            "has no contact: give an 'email' or a 'phone' (or both) so that the people it "
            "escalates to can be reached"
        )
    if not isinstance(guidelines, str):
        found.append(f"'guidelines' must be text, got {guidelines!r}")
    for key, value in (
        ("unlimited_authority", unlimited_authority),
        ("on_call", on_call),
        ("placeholder", placeholder),
    ):
        if not isinstance(value, bool):
            found.append(f"{key!r} must be true or false, got {value!r}")
    if isinstance(authority_limit, Decimal) and authority_limit <= 0:
        found.append(
            f"'authority_limit' must be above 0, got {authority_limit}; leave it out if the "
            "level may not grant monetary remedies"
        )
    if authority_limit is not None and unlimited_authority is True:
        found.append("has both 'authority_limit' and 'unlimited_authority = true': keep only one")
    return found


@attrs.frozen
class EscalationLevel:
    """One rung of an escalation ladder.

    Args:
        number: its place on the ladder, 1 = frontline.
        title: what people call it ("Complaints manager").
        role: the workflow role of the people at this level.
        rank: the actor rank it takes (ranks never decrease up a ladder).
        email, phone: how to reach it (at least one).
        guidelines: what people at this level do and when they escalate further.
        authority_limit: the highest remedy amount it may grant on its own; ``None``
            means it may grant no monetary remedy at all.
        unlimited_authority: it may grant any amount (the top of the organisation).
        on_call: it is the emergency level complaints of severity ``emergency``
            jump to.
        placeholder: its contact is an example that must be replaced before real
            complaints reach it (the shipped packs' levels are); escalating to it
            through the static ladder warns with ``PlaceholderContactWarning``.

    Raises:
        InvalidArgumentError: a value is of the wrong type, out of range, or the level
            has no contact.
    """

    number: int
    title: str
    role: str
    rank: int
    email: str | None = attrs.field(default=None, converter=_optional_text)
    phone: str | None = attrs.field(default=None, converter=_optional_text)
    guidelines: str = ""
    authority_limit: Decimal | None = attrs.field(default=None, converter=_authority)
    unlimited_authority: bool = False
    on_call: bool = False
    placeholder: bool = False

    def __attrs_post_init__(self) -> None:
        problems = _level_problems(
            number=self.number,
            title=self.title,
            role=self.role,
            rank=self.rank,
            email=self.email,
            phone=self.phone,
            guidelines=self.guidelines,
            authority_limit=self.authority_limit,
            unlimited_authority=self.unlimited_authority,
            on_call=self.on_call,
            placeholder=self.placeholder,
        )
        if problems:
            raise InvalidArgumentError(
                f"escalation level {self.number!r} ({self.title!r}) is not valid: "
                + "; ".join(problems)
            )

    @property
    def contact(self) -> str:
        """The level's email and phone, as one would quote them."""
        return ", ".join(item for item in (self.email, self.phone) if item)

    @property
    def effective_limit(self) -> Decimal:
        """The most this level may grant: 0 without authority, infinite if unlimited."""
        if self.unlimited_authority:
            return _UNLIMITED
        return self.authority_limit if self.authority_limit is not None else Decimal(0)

    def may_grant(self, amount: Decimal) -> bool:
        """Whether this level may grant a remedy of ``amount`` (in the ladder's currency).

        A level without an ``authority_limit`` may only grant remedies that cost
        nothing; ``unlimited_authority`` grants any amount.

        Raises:
            InvalidArgumentError: ``amount`` is negative or not an amount.
        """
        value, problem = _decimal(amount, allow_float=False)
        if problem or value is None:
            raise InvalidArgumentError(f"the amount {problem}")
        if value < 0:
            raise InvalidArgumentError(f"the amount must not be negative, got {value}")
        return value <= self.effective_limit

    def describe_authority(self, currency: str) -> str:
        """What this level may grant, in words ("may grant up to 500 GBP")."""
        if self.unlimited_authority:
            return "may grant any amount"
        if self.authority_limit is None:
            return "may not grant monetary remedies"
        return f"may grant up to {_format_amount(self.authority_limit, currency)}"

    def __str__(self) -> str:
        return f"level {self.number} ({self.title})"


# -- ladders --------------------------------------------------------------------------


class _Rung(NamedTuple):
    """What the ladder-wide checks need of a level (read before the level is built)."""

    number: int
    title: str
    rank: int
    authority: Decimal | None  # None: unreadable, already reported
    on_call: bool


def _ladder_problems(rungs: Sequence[_Rung], numbers_known: bool) -> list[str]:
    """What is wrong with a ladder as a whole (numbering, ranks, authority, on call)."""
    if not rungs and numbers_known:
        return ["has no levels: add levels numbered 1 (frontline), 2, 3…"]
    found: list[str] = []
    by_number: dict[int, list[_Rung]] = {}
    for rung in rungs:
        by_number.setdefault(rung.number, []).append(rung)
    for number, same in sorted(by_number.items()):
        if len(same) > 1:
            titles = " and ".join(repr(rung.title) for rung in same)
            found.append(
                f"level number {number} is used by {titles}: number the levels 1, 2, 3… once each"
            )
    numbers = sorted(by_number)
    if numbers_known and numbers != list(range(1, len(numbers) + 1)):
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        found.append(
            "levels must be numbered 1 to N without gaps (1 = frontline); found "
            f"{', '.join(map(str, numbers))}"
            + (f", missing {', '.join(map(str, missing))}" if missing else "")
        )
    ordered = sorted(rungs, key=lambda rung: rung.number)
    for lower, higher in itertools.pairwise(ordered):
        if higher.number == lower.number:
            continue
        if higher.rank < lower.rank:
            found.append(
                f"level {higher.number} ({higher.title}) has rank {higher.rank}, lower than "
                f"level {lower.number} ({lower.title}) with rank {lower.rank}: ranks must not "
                "decrease up the ladder; fix the ranks or swap the level numbers"
            )
        if (
            higher.authority is not None
            and lower.authority is not None
            and higher.authority < lower.authority
        ):
            found.append(
                f"level {higher.number} ({higher.title}) may grant less than level "
                f"{lower.number} ({lower.title}): authority must not shrink up the ladder, "
                "or an escalation would leave nobody able to grant what the lower level could"
            )
    on_call = [rung for rung in ordered if rung.on_call]
    if len(on_call) > 1:
        names = ", ".join(f"{rung.number} ({rung.title})" for rung in on_call)
        found.append(
            f"more than one level is marked on_call (levels {names}): mark only the one "
            "emergency level on_call = true"
        )
    return found


def _rung(level: EscalationLevel) -> _Rung:
    return _Rung(level.number, level.title, level.rank, level.effective_limit, level.on_call)


def _levels(value: object) -> tuple[EscalationLevel, ...]:
    if not isinstance(value, Iterable) or not all(
        isinstance(level, EscalationLevel) for level in value
    ):
        raise InvalidArgumentError(f"levels must be EscalationLevel objects, got {value!r}")
    return tuple(sorted(value, key=lambda level: level.number))


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.match(value.strip().upper()):
        raise InvalidArgumentError(
            f"currency must be a three-letter ISO 4217 code such as 'GBP' or 'EUR', got {value!r}"
        )
    return value.strip().upper()


@attrs.frozen
class EscalationLadder:
    """The levels a complaint climbs, for the complaints in its scope.

    ``categories`` and ``severities`` say which complaints it applies to (empty:
    every category / every severity). Levels may be given in any order; they are
    kept sorted by number.

    Args:
        name: how problems and messages refer to it (the default ladder: ``"default"``).
        levels: numbered 1..N without gaps, ranks and authority never decreasing.
        categories: complaint categories it applies to; empty for all.
        severities: severities it applies to; empty for all.
        currency: the ISO 4217 currency of the authority limits.

    Raises:
        InvalidArgumentError: the levels are misnumbered, ranks or authority decrease,
            more than one level is on call, or a value is malformed.
    """

    name: str
    levels: tuple[EscalationLevel, ...] = attrs.field(converter=_levels)
    categories: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    severities: tuple[Severity, ...] = attrs.field(default=(), converter=_severities)
    currency: str = attrs.field(default=DEFAULT_CURRENCY, converter=_currency)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidArgumentError(f"an escalation ladder needs a name, got {self.name!r}")
        problems = _ladder_problems([_rung(level) for level in self.levels], numbers_known=True)
        if problems:
            raise InvalidArgumentError(
                f"escalation ladder {self.name!r} is not valid: " + "; ".join(problems)
            )

    @property
    def specificity(self) -> int:
        """3 for category+severity, 2 for category only, 1 for severity only, 0 for all."""
        return _specificity(self.categories, self.severities)

    def applies_to(self, category: str, severity: Severity | str) -> bool:
        """Whether complaints of ``category`` and ``severity`` are in this ladder's scope."""
        return _applies(self.categories, self.severities, category, _severity(severity))

    @property
    def top_level(self) -> EscalationLevel:
        """The last level: nobody inside the organisation is above it."""
        return self.levels[-1]

    def level(self, number: int) -> EscalationLevel:
        """The level numbered ``number``.

        Raises:
            EscalationError: the ladder has no such level.
        """
        if isinstance(number, int) and not isinstance(number, bool):
            for level in self.levels:
                if level.number == number:
                    return level
        raise EscalationError(
            f"escalation ladder {self.name!r} has no level {number!r}; its levels are "
            + ", ".join(f"{level.number} ({level.title})" for level in self.levels)
        )

    def next_after(self, number: int) -> EscalationLevel:
        """The level a complaint at level ``number`` escalates to.

        Raises:
            EscalationError: ``number`` is the top level (nobody inside the organisation
                is above it) or not a level of this ladder.
        """
        current = self.level(number)
        if current.number == len(self.levels):
            raise EscalationError(
                f"the complaint is already at the top level {current.number} "
                f"({current.title}) of escalation ladder {self.name!r}: it cannot be "
                "escalated further inside the organisation. Send the final response and "
                "tell the customer how to refer the complaint to the ombudsman or the "
                "alternative dispute resolution scheme."
            )
        return self.levels[current.number]

    @property
    def emergency_level(self) -> EscalationLevel:
        """The level emergencies jump straight to: the ``on_call`` one, else the top."""
        for level in self.levels:
            if level.on_call:
                return level
        return self.top_level

    def level_for(self, actor: Actor) -> EscalationLevel | None:
        """The level ``actor`` works at, or ``None`` if their rank is below every level.

        Rule: among the levels whose rank is at most the actor's rank, the highest
        one with the actor's role; if none has their role, the highest of them
        regardless of role. So a manager of rank 3 is at the highest "manager"
        level of rank <= 3, and a rank-0 actor (the system) holds no level.
        """
        reachable = [level for level in self.levels if level.rank <= actor.rank]
        same_role = [level for level in reachable if level.role == actor.role]
        candidates = same_role or reachable
        return candidates[-1] if candidates else None

    def lowest_level_allowed(self, amount: Decimal) -> EscalationLevel | None:
        """The lowest level that may grant ``amount``, or ``None`` if none may.

        Raises:
            InvalidArgumentError: ``amount`` is negative or not an amount.
        """
        for level in self.levels:
            if level.may_grant(amount):
                return level
        return None


# -- routing --------------------------------------------------------------------------


@attrs.frozen
class Routing:
    """A rule sending complaints of some categories and severities to a department.

    Empty ``categories`` / ``severities`` match every category / severity; the most
    specific matching rule wins, as for ladders.

    Args:
        department: who is responsible ("Finance", "Central complaints office").
        email, phone: how to forward complaints to it (at least one).
        categories: complaint categories it takes; empty for all.
        severities: severities it takes; empty for all.
        central_office: the department is the organisation's central office.

    Raises:
        InvalidArgumentError: no department, no contact, or a malformed value.
    """

    department: str
    email: str | None = attrs.field(default=None, converter=_optional_text)
    phone: str | None = attrs.field(default=None, converter=_optional_text)
    categories: tuple[str, ...] = attrs.field(default=(), converter=_texts)
    severities: tuple[Severity, ...] = attrs.field(default=(), converter=_severities)
    central_office: bool = False

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.department, str) or not self.department.strip():
            raise InvalidArgumentError(
                f"a routing rule needs a department such as 'Finance', got {self.department!r}"
            )
        if not (self.email or self.phone):
            raise InvalidArgumentError(
                f"routing to {self.department!r} has no contact: give an email or a phone "
                "so that complaints can be forwarded there"
            )
        if not isinstance(self.central_office, bool):
            raise InvalidArgumentError(
                f"central_office must be True or False, got {self.central_office!r}"
            )

    @property
    def specificity(self) -> int:
        """3 for category+severity, 2 for category only, 1 for severity only, 0 for all."""
        return _specificity(self.categories, self.severities)

    def applies_to(self, category: str, severity: Severity | str) -> bool:
        """Whether complaints of ``category`` and ``severity`` are routed by this rule."""
        return _applies(self.categories, self.severities, category, _severity(severity))


# -- the policy -----------------------------------------------------------------------


class _Scope(NamedTuple):
    label: str
    categories: tuple[str, ...]
    severities: tuple[Severity, ...]


def _overlap(first: _Scope, second: _Scope) -> str | None:
    """An example complaint both scopes take at the same specificity, or ``None``."""
    if _specificity(first.categories, first.severities) != _specificity(
        second.categories, second.severities
    ):
        return None
    categories = [c for c in first.categories if c in second.categories]
    severities = [s for s in first.severities if s in second.severities]
    if (first.categories and not categories) or (first.severities and not severities):
        return None
    category = f"category {categories[0]!r}" if categories else "every category"
    severity = f"severity {severities[0].value!r}" if severities else "every severity"
    return f"{category} with {severity}"


def _scope_problems(kind: str, scopes: Sequence[_Scope]) -> list[str]:
    found: list[str] = []
    for index, first in enumerate(scopes):
        for second in scopes[index + 1 :]:
            example = _overlap(first, second)
            if example and not (first.categories or first.severities):
                found.append(
                    f"{kind} {first.label} and {second.label} are both catch-alls (no "
                    f"categories, no severities): give {second.label} categories or "
                    "severities, or merge them"
                )
            elif example:
                found.append(
                    f"{kind} {first.label} and {second.label} both apply to {example}, and "
                    "neither is more specific: give them disjoint categories/severities or "
                    "merge them"
                )
    return found


def _policy_problems(ladders: Sequence[_Scope], routing: Sequence[_Scope]) -> list[str]:
    found: list[str] = []
    names = [scope.label for scope in ladders]
    for name in dict.fromkeys(name for name in names if names.count(name) > 1):
        found.append(f"escalation ladder {name} is defined twice: give each ladder its own name")
    if not any(not scope.categories and not scope.severities for scope in ladders):
        found.append(
            "there is no default escalation ladder: add [[escalation.levels]] (or a ladder "
            "without categories and severities) so that every complaint has a ladder"
        )
    found += _scope_problems("escalation ladders", ladders)
    found += _scope_problems("routing rules", routing)
    return found


def _ladder_scope(ladder: EscalationLadder) -> _Scope:
    return _Scope(repr(ladder.name), ladder.categories, ladder.severities)


def _routing_scope(rule: Routing) -> _Scope:
    return _Scope(f"to {rule.department!r}", rule.categories, rule.severities)


_Scoped = TypeVar("_Scoped", EscalationLadder, Routing)


def _most_specific(
    candidates: Iterable[_Scoped], category: str, severity: Severity
) -> _Scoped | None:
    # Ties cannot happen in a valid policy (same-specificity scopes are disjoint).
    best: _Scoped | None = None
    for candidate in candidates:
        if candidate.applies_to(category, severity) and (
            best is None or candidate.specificity > best.specificity
        ):
            best = candidate
    return best


def _ladders(value: Iterable[EscalationLadder]) -> tuple[EscalationLadder, ...]:
    ladders = tuple(value)
    if not ladders or not all(isinstance(ladder, EscalationLadder) for ladder in ladders):
        raise InvalidArgumentError(
            f"ladders must be one or more EscalationLadder objects, got {value!r}"
        )
    return ladders


def _routing(value: Iterable[Routing]) -> tuple[Routing, ...]:
    rules = tuple(value)
    if not all(isinstance(rule, Routing) for rule in rules):
        raise InvalidArgumentError(f"routing must be Routing objects, got {value!r}")
    return rules


@attrs.frozen
class EscalationPolicy:
    """Every ladder and routing rule of a workflow.

    Selection: of the ladders (or routing rules) whose scope includes a complaint,
    the most specific wins — category and severity > category only > severity
    only > the default (no categories, no severities). Scopes of the same
    specificity may not overlap, so the choice is never ambiguous.

    Args:
        ladders: one default ladder (no categories, no severities) and any overrides.
        routing: rules sending complaints to a responsible department or central office.
        written_request_from: the escalation cap (mission M7): a customer may ask on any
            channel to go up to the level below this one; from this level on only a
            request made in writing counts.
        written_channels: the channels that count as writing (default: every registered
            channel of kind ``written``: letter, email, web form, fax).

    Raises:
        InvalidArgumentError: no default ladder, two ladders with one name, or two
            ladders (or routing rules) that both apply to some complaint at the same
            specificity.
    """

    ladders: tuple[EscalationLadder, ...] = attrs.field(converter=_ladders)
    routing: tuple[Routing, ...] = attrs.field(default=(), converter=_routing)
    written_request_from: int | None = None
    """From this level on, a customer's request to escalate counts only in writing."""
    written_channels: tuple[str, ...] = ()
    """The channels that count as writing; empty means every channel of kind written."""

    def __attrs_post_init__(self) -> None:
        problems = _policy_problems(
            [_ladder_scope(ladder) for ladder in self.ladders],
            [_routing_scope(rule) for rule in self.routing],
        )
        if problems:
            raise InvalidArgumentError("escalation policy is not valid: " + "; ".join(problems))

    @property
    def default_ladder(self) -> EscalationLadder:
        """The ladder for complaints no other ladder takes."""
        return next(ladder for ladder in self.ladders if ladder.specificity == 0)

    def ladder_for(self, category: str, severity: Severity | str) -> EscalationLadder:
        """The ladder for a complaint of ``category`` and ``severity`` (most specific wins).

        Raises:
            InvalidArgumentError: ``severity`` is not a severity name.
        """
        found = _most_specific(self.ladders, category, _severity(severity))
        return found if found is not None else self.default_ladder

    def route(self, category: str, severity: Severity | str) -> Routing | None:
        """The department complaints of ``category`` and ``severity`` go to, if a rule says.

        Raises:
            InvalidArgumentError: ``severity`` is not a severity name.
        """
        return _most_specific(self.routing, category, _severity(severity))


# -- reading the [escalation] section -------------------------------------------------

_LEVELS = "a non-empty list of levels numbered 1 (frontline), 2, 3…"


@attrs.frozen(kw_only=True)
class LevelTable:
    """A level as a workflow file writes it (``[[escalation.levels]]``)."""

    number: int = attrs.field(metadata=about(expects="a whole number from 1 (frontline) up"))
    title: str = attrs.field(metadata=about(expects="non-empty text such as 'Team leader'"))
    role: str = attrs.field(metadata=about(expects="non-empty text such as 'manager'"))
    rank: int = attrs.field(
        metadata=about(expects="a whole number of at least 1 (the frontline rank)")
    )
    email: str | None = None
    phone: str | None = None
    guidelines: str = ""
    authority_limit: Amount = None
    unlimited_authority: bool = False
    on_call: bool = False
    placeholder: bool = False


@attrs.frozen(kw_only=True)
class LadderTable:
    """A ladder for some categories and severities (``[[escalation.ladders]]``)."""

    name: str = attrs.field(
        metadata=about(missing="'name' is missing: give the ladder a name such as 'billing'")
    )
    categories: Texts = attrs.field(default=(), metadata=about(expects=_LIST_OF_TEXT))
    severities: Texts = attrs.field(default=(), metadata=about(expects=_LIST_OF_SEVERITIES))
    currency: str | None = attrs.field(default=None, metadata=about(expects=_CURRENCY_CODE))
    levels: tuple[LevelTable, ...] = attrs.field(
        metadata=about(expects=_LEVELS, missing=f"'levels' is missing: give {_LEVELS}")
    )


@attrs.frozen(kw_only=True)
class RoutingTable:
    """A routing rule (``[[escalation.routing]]``)."""

    department: str = attrs.field(
        metadata=about(
            missing="'department' is missing: name who is responsible, "
            'e.g. department = "Finance"'
        )
    )
    email: str | None = None
    phone: str | None = None
    categories: Texts = attrs.field(default=(), metadata=about(expects=_LIST_OF_TEXT))
    severities: Texts = attrs.field(default=(), metadata=about(expects=_LIST_OF_SEVERITIES))
    central_office: bool = False


@attrs.frozen(kw_only=True)
class EscalationTable:
    """The ``[escalation]`` section of a workflow file."""

    currency: str | None = attrs.field(default=None, metadata=about(expects=_CURRENCY_CODE))
    levels: tuple[LevelTable, ...] | None = attrs.field(
        default=None, metadata=about(expects=f"{_LEVELS} ([[escalation.levels]])")
    )
    ladders: tuple[LadderTable, ...] = attrs.field(
        default=(), metadata=about(expects="a list of tables ([[escalation.ladders]])")
    )
    routing: tuple[RoutingTable, ...] = attrs.field(
        default=(), metadata=about(expects="a list of tables ([[escalation.routing]])")
    )
    written_request_from: int | None = attrs.field(
        default=None, metadata=about(label="written_request_from", expects=_WRITTEN_CAP)
    )
    written_channels: Texts = attrs.field(default=(), metadata=about(expects=_LIST_OF_TEXT))


def _where(section: Mapping[str, Any], path: Path) -> str:
    """How problems name the table at ``path`` of the section."""
    match path:
        case ("levels", int(number)):
            return _level_where(repr(DEFAULT_LADDER), number, lookup(section, path))
        case ("ladders", int(number)):
            return f"escalation ladder {_ladder_name(number, lookup(section, path))}"
        case ("ladders", int(number), "levels", int(level)):
            ladder = _ladder_name(number, lookup(section, path[:2]))
            return _level_where(ladder, level, lookup(section, path))
        case ("routing", int(number)):
            department = lookup(section, (*path, "department"))
            where = f"escalation routing #{number + 1}"
            if isinstance(department, str) and department.strip():
                where += f" (to {department.strip()!r})"
            return where
    return "[escalation]"


def _ladder_name(index: int, raw: object) -> str:
    name = lookup(raw, ("name",))
    return repr(name.strip()) if isinstance(name, str) and name.strip() else f"#{index + 1}"


def _level_where(ladder: str, index: int, raw: object) -> str:
    where = f"escalation ladder {ladder}, level #{index + 1}"
    title = lookup(raw, ("title",))
    if isinstance(title, str) and title.strip():
        where += f" ({title.strip()!r})"
    return where


def _read_severities(found: list[str], where: str, value: Texts) -> tuple[Severity, ...]:
    severities: list[Severity] = []
    for item in as_tuple(value):
        try:
            severities.append(_severity(item))
        except InvalidArgumentError:
            found.append(f"{where}: unknown severity {item!r}; use one of {_SEVERITY_NAMES}")
    return tuple(dict.fromkeys(severities))


def _read_currency(found: list[str], where: str, value: str | None, default: str) -> str:
    if value is None:
        return default
    try:
        return _currency(value)
    except InvalidArgumentError as exc:
        found.append(f"{where}: {exc}")
        return default


def _read_level(
    found: list[str], where: str, raw: LevelTable, trusted: bool
) -> tuple[_Rung | None, EscalationLevel | None]:
    """One level: its rung for the ladder checks (if numbered), and the level if valid.

    A level that had an unknown key is not ``trusted``: the misspelt key may well
    be its authority limit, so the ladder checks do not compare what is unknown.
    """
    problems: list[str] = []
    limit: Decimal | None = None
    if raw.authority_limit is not None:
        limit, problem = _decimal(raw.authority_limit, allow_float=True)
        if problem:
            problems.append(f"{where}: 'authority_limit' {problem}")
    values = attrs.asdict(raw, recurse=False) | {"authority_limit": limit}
    problems += [f"{where}: {problem}" for problem in _level_problems(**values)]
    found += problems
    authority: Decimal | None
    if not trusted:
        authority = None
    elif raw.unlimited_authority:
        authority = _UNLIMITED
    elif limit is None:
        authority = None if raw.authority_limit is not None else Decimal(0)
    else:
        authority = limit if limit > 0 else None
    rung = None
    if raw.number >= 1:
        title = raw.title.strip() or f"level {raw.number}"
        rung = _Rung(raw.number, title, raw.rank, authority, raw.on_call)
    return rung, (None if problems or not trusted else EscalationLevel(**values))


def _read_ladder(
    found: list[str],
    section: Mapping[str, Any],
    path: Path,
    raw: tuple[LevelTable, ...],
    untrusted: frozenset[Path],
    name: str,
    scope: tuple[tuple[str, ...], tuple[Severity, ...]],
    currency: str,
) -> EscalationLadder | None:
    """The ladder whose levels are at ``path``, or ``None`` after reporting why not."""
    default = path == ("levels",)
    where = f"escalation ladder {DEFAULT_LADDER!r}" if default else _where(section, path[:-1])
    if not raw:
        key = "[[escalation.levels]]" if default else "'levels'"
        found.append(f"{where}: {key} must be {_LEVELS}")
        return None
    before = len(found)
    rungs: list[_Rung] = []
    levels: list[EscalationLevel] = []
    for index, level_table in enumerate(raw):
        level_path = (*path, index)
        trusted = level_path not in untrusted
        rung, level = _read_level(found, _where(section, level_path), level_table, trusted)
        if rung is not None:
            rungs.append(rung)
        if level is not None:
            levels.append(level)
    numbers_known = len(rungs) == len(raw)
    found += [f"{where}: {problem}" for problem in _ladder_problems(rungs, numbers_known)]
    if len(found) > before or len(levels) < len(raw):
        return None
    categories, severities = scope
    return EscalationLadder(name, tuple(levels), categories, severities, currency)


def _read_routing(found: list[str], where: str, raw: RoutingTable) -> Routing | None:
    before = len(found)
    if not raw.department.strip():
        found.append(
            f"{where}: 'department' is missing: name who is responsible, "
            'e.g. department = "Finance"'
        )
    if not any(contact and contact.strip() for contact in (raw.email, raw.phone)):
        found.append(
            f"{where}: has no contact: give an 'email' or a 'phone' so that complaints can be "
            "forwarded there"
        )
    severities = _read_severities(found, where, raw.severities)
    if len(found) > before:
        return None
    return Routing(
        department=raw.department,
        email=raw.email,
        phone=raw.phone,
        categories=_texts(raw.categories),
        severities=severities,
        central_office=raw.central_office,
    )


def parse_escalation(
    data: Mapping[str, Any] | None,
) -> tuple[EscalationPolicy | None, list[str]]:
    """Read the ``[escalation]`` section of a workflow file.

    Args:
        data: the section's table (``workflow_data.get("escalation")``), or ``None``
            when the workflow has no section.

    Returns:
        ``(policy, [])`` when the section is valid, ``(None, problems)`` otherwise —
        every problem found, each saying where it is and how to fix it — and
        ``(None, [])`` when there is no section.
    """
    if data is None:
        return None, []
    if not isinstance(data, Mapping):
        return None, [
            f"[escalation] must be a table (with levels, ladders, routing), got "
            f"{type(data).__name__}"
        ]
    reading = read(data, EscalationTable, functools.partial(_where, data))
    section = reading.value
    if section is None:
        return None, list(reading.problems)
    found = list(reading.problems)
    currency = _read_currency(found, "[escalation]", section.currency, DEFAULT_CURRENCY)

    ladders: list[EscalationLadder | None] = []
    scopes: list[_Scope] = []
    if section.levels is not None:
        scopes.append(_Scope(repr(DEFAULT_LADDER), (), ()))
        ladders.append(
            _read_ladder(
                found,
                data,
                ("levels",),
                section.levels,
                reading.unknown,
                DEFAULT_LADDER,
                ((), ()),
                currency,
            )
        )
    for index, raw in enumerate(section.ladders):
        path = ("ladders", index)
        where = _where(data, path)
        name = raw.name.strip()
        if not name:
            found.append(f"{where}: 'name' is missing: give the ladder a name such as 'billing'")
        before = len(found)
        categories = _texts(raw.categories)
        severities = _read_severities(found, where, raw.severities)
        if len(found) == before:
            # A scope that could not be read would pass for a default ladder and
            # report overlaps that are not there.
            scopes.append(_Scope(_ladder_name(index, lookup(data, path)), categories, severities))
        ladders.append(
            _read_ladder(
                found,
                data,
                (*path, "levels"),
                raw.levels,
                reading.unknown,
                name,
                (categories, severities),
                _read_currency(found, where, raw.currency, currency),
            )
        )

    routing = [
        _read_routing(found, _where(data, ("routing", index)), raw)
        for index, raw in enumerate(section.routing)
    ]
    found += _policy_problems(
        scopes, [_routing_scope(rule) for rule in routing if rule is not None]
    )
    cap = section.written_request_from
    if cap is not None and cap < 2:
        found.append(f"[escalation]: written_request_from must be {_WRITTEN_CAP}, got {cap!r}")
    if found:
        return None, found
    policy = EscalationPolicy(
        tuple(ladder for ladder in ladders if ladder is not None),
        tuple(rule for rule in routing if rule is not None),
        written_request_from=cap,
        written_channels=_texts(section.written_channels),
    )
    return policy, []


# -- who takes an escalated complaint ---------------------------------------------------


def static_ladder_target(level: EscalationLevel) -> Actor:
    """The actor standing for ``level`` when no org chart is plugged in.

    Its id is ``"level-N"``; name, role, rank and contact are the level's.
    """
    return Actor(
        id=f"level-{level.number}",
        name=level.title,
        role=level.role,
        rank=level.rank,
        email=level.email,
        phone=level.phone,
    )
