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

import difflib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypeVar

import attrs

from complaint_flow.errors import EscalationError, InvalidArgumentError
from complaint_flow.model.entities import Actor, Severity

DEFAULT_LADDER = "default"
"""The name of the ladder given by ``[[escalation.levels]]`` (it applies to every complaint)."""

DEFAULT_CURRENCY = "GBP"

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNLIMITED = Decimal("Infinity")
_SEVERITY_NAMES = ", ".join(repr(severity.value) for severity in Severity)

_SECTION_KEYS = frozenset(
    {"currency", "levels", "ladders", "routing", "written_request_from", "written_channels"}
)
_LADDER_KEYS = frozenset({"name", "categories", "severities", "levels", "currency"})
_LEVEL_KEYS = frozenset(
    {
        "number",
        "title",
        "role",
        "rank",
        "email",
        "phone",
        "guidelines",
        "authority_limit",
        "unlimited_authority",
        "on_call",
    }
)
_ROUTING_KEYS = frozenset(
    {"department", "email", "phone", "categories", "severities", "central_office"}
)


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
    for key, value in (("unlimited_authority", unlimited_authority), ("on_call", on_call)):
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


def _unknown_keys(
    found: list[str], where: str, table: Mapping[str, Any], allowed: frozenset[str]
) -> None:
    for key in table:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        found.append(
            f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(sorted(allowed))}"
        )


def _read_texts(found: list[str], where: str, key: str, value: object) -> tuple[str, ...]:
    try:
        if not isinstance(value, str | list | tuple):
            raise InvalidArgumentError(value)
        return _texts(value)
    except InvalidArgumentError:
        found.append(f'{where}: {key!r} must be a list of text such as ["billing"], got {value!r}')
        return ()


def _read_severities(found: list[str], where: str, value: object) -> tuple[Severity, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        found.append(f"{where}: 'severities' must be a list such as [\"high\"], got {value!r}")
        return ()
    severities: list[Severity] = []
    for item in value:
        try:
            severities.append(_severity(item))
        except InvalidArgumentError:
            found.append(f"{where}: unknown severity {item!r}; use one of {_SEVERITY_NAMES}")
    return tuple(dict.fromkeys(severities))


def _read_currency(found: list[str], where: str, value: object, default: str) -> str:
    if value is None:
        return default
    try:
        return _currency(value)
    except InvalidArgumentError as exc:
        found.append(f"{where}: {exc}")
        return default


def _read_level(
    found: list[str], ladder: str, index: int, raw: object
) -> tuple[_Rung | None, EscalationLevel | None, bool]:
    """One level: its rung for the ladder checks, the level if valid, whether its number is."""
    where = f"escalation ladder {ladder!r}, level #{index}"
    if not isinstance(raw, Mapping):
        found.append(f"{where}: must be a table with number, title, role, rank and a contact")
        return None, None, False
    if isinstance(raw.get("title"), str) and raw["title"].strip():
        where += f" ({raw['title'].strip()!r})"
    problems: list[str] = []
    _unknown_keys(problems, where, raw, _LEVEL_KEYS)
    # A misspelt key may well be the authority limit: do not compare what is unknown.
    authority_known = not problems
    limit: Decimal | None = None
    if raw.get("authority_limit") is not None:
        limit, problem = _decimal(raw["authority_limit"], allow_float=True)
        if problem:
            problems.append(f"{where}: 'authority_limit' {problem}")
    values = {
        "number": raw.get("number"),
        "title": raw.get("title"),
        "role": raw.get("role"),
        "rank": raw.get("rank"),
        "email": raw.get("email"),
        "phone": raw.get("phone"),
        "guidelines": raw.get("guidelines", ""),
        "authority_limit": limit,
        "unlimited_authority": raw.get("unlimited_authority", False),
        "on_call": raw.get("on_call", False),
    }
    problems += [f"{where}: {problem}" for problem in _level_problems(**values)]
    found += problems
    number, rank = values["number"], values["rank"]
    number_ok = isinstance(number, int) and not isinstance(number, bool) and number >= 1
    rung = None
    if (
        number_ok
        and isinstance(number, int)
        and isinstance(rank, int)
        and not isinstance(rank, bool)
    ):
        title = str(values["title"] or f"level {number}")
        authority: Decimal | None
        if not authority_known:
            authority = None
        elif values["unlimited_authority"] is True:
            authority = _UNLIMITED
        elif limit is None:
            authority = None if raw.get("authority_limit") is not None else Decimal(0)
        else:
            authority = limit if limit > 0 else None
        rung = _Rung(number, title.strip(), rank, authority, values["on_call"] is True)
    if problems:
        return rung, None, number_ok
    return rung, EscalationLevel(**values), number_ok


def _read_ladder(
    found: list[str],
    name: str,
    raw_levels: object,
    categories: tuple[str, ...],
    severities: tuple[Severity, ...],
    currency: str,
    where_levels: str,
) -> EscalationLadder | None:
    before = len(found)
    if not isinstance(raw_levels, list) or not raw_levels:
        found.append(
            f"escalation ladder {name!r}: {where_levels} must be a non-empty list of levels "
            "numbered 1 (frontline), 2, 3…"
        )
        return None
    rungs: list[_Rung] = []
    levels: list[EscalationLevel] = []
    numbers_known = True
    for index, raw in enumerate(raw_levels, start=1):
        rung, level, number_ok = _read_level(found, name, index, raw)
        numbers_known = numbers_known and number_ok
        if rung is not None:
            rungs.append(rung)
        if level is not None:
            levels.append(level)
    found += [
        f"escalation ladder {name!r}: {problem}"
        for problem in _ladder_problems(rungs, numbers_known)
    ]
    if len(found) > before:
        return None
    return EscalationLadder(name, tuple(levels), categories, severities, currency)


def _read_routing(found: list[str], index: int, raw: object) -> Routing | None:
    where = f"escalation routing #{index}"
    if not isinstance(raw, Mapping):
        found.append(f"{where}: must be a table with a department, a contact and its scope")
        return None
    department = raw.get("department")
    if isinstance(department, str) and department.strip():
        where += f" (to {department.strip()!r})"
    before = len(found)
    _unknown_keys(found, where, raw, _ROUTING_KEYS)
    if not isinstance(department, str) or not department.strip():
        found.append(
            f"{where}: 'department' is missing: name who is responsible, "
            'e.g. department = "Finance"'
        )
    contacts = {key: raw.get(key) for key in ("email", "phone")}
    for key, value in contacts.items():
        if value is not None and not isinstance(value, str):
            found.append(f"{where}: {key!r} must be text, got {value!r}")
    if not any(isinstance(value, str) and value.strip() for value in contacts.values()):
        found.append(
            f"{where}: has no contact: give an 'email' or a 'phone' so that complaints can be "
            "forwarded there"
        )
    central_office = raw.get("central_office", False)
    if not isinstance(central_office, bool):
        found.append(f"{where}: 'central_office' must be true or false, got {central_office!r}")
    categories = _read_texts(found, where, "categories", raw.get("categories", ()))
    severities = _read_severities(found, where, raw.get("severities", ()))
    if len(found) > before:
        return None
    return Routing(
        department=str(department),
        email=contacts["email"],
        phone=contacts["phone"],
        categories=categories,
        severities=severities,
        central_office=central_office,
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
    found: list[str] = []
    _unknown_keys(found, "[escalation]", data, _SECTION_KEYS)
    currency = _read_currency(found, "[escalation]", data.get("currency"), DEFAULT_CURRENCY)

    ladders: list[EscalationLadder] = []
    scopes: list[_Scope] = []
    if "levels" in data:
        ladder = _read_ladder(
            found, DEFAULT_LADDER, data["levels"], (), (), currency, "[[escalation.levels]]"
        )
        scopes.append(_Scope(repr(DEFAULT_LADDER), (), ()))
        if ladder is not None:
            ladders.append(ladder)

    raw_ladders = data.get("ladders", [])
    if not isinstance(raw_ladders, list):
        found.append("[escalation]: 'ladders' must be a list of tables ([[escalation.ladders]])")
        raw_ladders = []
    for index, raw in enumerate(raw_ladders, start=1):
        where = f"escalation ladder #{index}"
        if not isinstance(raw, Mapping):
            found.append(f"{where}: must be a table with a name, its scope and its levels")
            continue
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            found.append(f"{where}: 'name' is missing: give the ladder a name such as 'billing'")
            name = f"#{index}"
        else:
            name = name.strip()
            where = f"escalation ladder {name!r}"
        _unknown_keys(found, where, raw, _LADDER_KEYS)
        before = len(found)
        categories = _read_texts(found, where, "categories", raw.get("categories", ()))
        severities = _read_severities(found, where, raw.get("severities", ()))
        if len(found) == before:
            # A scope that could not be read would pass for a default ladder and
            # report overlaps that are not there.
            scopes.append(_Scope(repr(name), categories, severities))
        ladder_currency = _read_currency(found, where, raw.get("currency"), currency)
        ladder = _read_ladder(
            found, name, raw.get("levels"), categories, severities, ladder_currency, "'levels'"
        )
        if ladder is not None:
            ladders.append(ladder)

    raw_routing = data.get("routing", [])
    if not isinstance(raw_routing, list):
        found.append("[escalation]: 'routing' must be a list of tables ([[escalation.routing]])")
        raw_routing = []
    routing = [_read_routing(found, index, raw) for index, raw in enumerate(raw_routing, 1)]
    found += _policy_problems(
        scopes, [_routing_scope(rule) for rule in routing if rule is not None]
    )
    cap = data.get("written_request_from")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 2):
        found.append(
            f"[escalation]: written_request_from must be a level number of 2 or more (from "
            f"that level on only written requests count), got {cap!r}"
        )
        cap = None
    written = _read_texts(
        found, "[escalation]", "written_channels", data.get("written_channels", ())
    )
    if found:
        return None, found
    policy = EscalationPolicy(
        tuple(ladders),
        tuple(r for r in routing if r is not None),
        written_request_from=cap,
        written_channels=written,
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
