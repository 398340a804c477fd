"""Remedies a complaint can end with, and who may grant them.

The kinds follow the UK Consumer Rights Act 2015 plus a goodwill payment. A
remedy that costs money may only be granted by someone whose escalation level
has the authority for its amount (:func:`check_authority`); above it, the
complaint is escalated to a level that may decide.

>>> Remedy("refund", "12.50", "GBP").as_data()
{'kind': 'refund', 'amount': '12.50', 'currency': 'GBP', 'description': ''}
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from complaint_flow.definitions.escalation import EscalationLadder, EscalationLevel
from complaint_flow.errors import AuthorityExceededError, InvalidArgumentError
from complaint_flow.model.entities import Actor


class RemedyKind(enum.StrEnum):
    """What is done to put a complaint right.

    The Consumer Rights Act 2015 gives consumers these remedies:

    - **goods** (sections 19-24): repair or replacement first; then a price
      reduction or the final right to reject (a **refund**) when repair or
      replacement is impossible, fails or takes too long; a refund within the
      short-term right to reject (30 days).
    - **services** (sections 54-56): repeat performance of the service, or a price
      reduction (up to a full refund) when repeat performance is impossible or not
      done within a reasonable time.
    - **digital content** (sections 42-45): repair or replacement, price reduction.

    ``GOODWILL_PAYMENT`` is what an organisation grants beyond what the law requires
    (compensation for distress or inconvenience, a gesture).
    """

    REPAIR = "repair"
    REPLACEMENT = "replacement"
    REFUND = "refund"
    PRICE_REDUCTION = "price_reduction"
    REPEAT_PERFORMANCE = "repeat_performance"
    GOODWILL_PAYMENT = "goodwill_payment"

    @property
    def is_monetary(self) -> bool:
        """Whether the remedy is money paid or not charged (it needs an amount)."""
        return self in _MONETARY


_MONETARY = frozenset({RemedyKind.REFUND, RemedyKind.PRICE_REDUCTION, RemedyKind.GOODWILL_PAYMENT})
_KINDS = ", ".join(repr(kind.value) for kind in RemedyKind)
_DATA_KEYS = ("kind", "amount", "currency", "description")


def _kind(value: object) -> RemedyKind:
    if isinstance(value, RemedyKind):
        return value
    if isinstance(value, str):
        # "Price reduction" and "price-reduction" are what people write.
        normalised = "_".join(value.strip().lower().replace("-", " ").split())
        try:
            return RemedyKind(normalised)
        except ValueError:
            pass
    raise InvalidArgumentError(f"unknown remedy kind {value!r}; use one of {_KINDS}")


def _amount(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise InvalidArgumentError(
            f"a remedy amount must not be a float ({value!r} may not be exact): pass text "
            f'such as "{value}" or a Decimal'
        )
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidArgumentError(
            f'a remedy amount must be text such as "12.50", an int or a Decimal; got '
            f"{type(value).__name__} {value!r}"
        )
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise InvalidArgumentError(
            f'a remedy amount must be a number such as "12.50", got {value!r}'
        ) from None
    if not amount.is_finite():
        raise InvalidArgumentError(f"a remedy amount must be finite, got {value!r}")
    if amount < 0:
        raise InvalidArgumentError(
            f"a remedy amount must not be negative, got {value!r}; give what the customer "
            "receives (or what the remedy costs) as a positive amount"
        )
    return amount


def _currency(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value.strip()) == 3 and value.strip().isalpha():
        return value.strip().upper()
    raise InvalidArgumentError(
        f"a currency must be a three-letter ISO 4217 code such as 'GBP', got {value!r}"
    )


def _text(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Remedy.{attribute.name} must be text, got {value!r}")


@attrs.frozen
class Remedy:
    """A remedy granted (or proposed) to put a complaint right.

    Args:
        kind: a :class:`RemedyKind` or its name (``"refund"``, ``"price reduction"``).
        amount: money paid or not charged — required above 0 for refund, price
            reduction and goodwill payment; for repair, replacement and repeat
            performance optional (what it costs). Text, int or Decimal; never a float.
        currency: ISO 4217 code; ``None`` means the escalation ladder's currency.
        description: what exactly is done ("replace the kettle", "refund delivery").

    Raises:
        InvalidArgumentError: an unknown kind, a float, negative or non-numeric
            amount, a monetary remedy without an amount, or a currency without one.
    """

    kind: RemedyKind = attrs.field(converter=_kind)
    amount: Decimal | None = attrs.field(default=None, converter=_amount)
    currency: str | None = attrs.field(default=None, converter=_currency)
    description: str = attrs.field(default="", validator=_text)

    def __attrs_post_init__(self) -> None:
        if self.kind.is_monetary and (self.amount is None or self.amount == 0):
            raise InvalidArgumentError(
                f"a {_label(self.kind)} needs an amount above 0, got {self.amount!r}; pass "
                'e.g. amount="25.00"'
            )
        if self.currency is not None and self.amount is None:
            raise InvalidArgumentError(
                f"a {_label(self.kind)} without an amount cannot have a currency "
                f"({self.currency}); give the amount too, or leave the currency out"
            )

    def as_data(self) -> dict[str, str | None]:
        """The remedy as JSON-like data (the amount as exact text)."""
        return {
            "kind": self.kind.value,
            "amount": None if self.amount is None else str(self.amount),
            "currency": self.currency,
            "description": self.description,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Remedy:
        """The remedy :meth:`as_data` described.

        Raises:
            InvalidArgumentError: ``data`` is not a mapping, lacks ``kind``, has
                unknown keys, or holds an invalid remedy.
        """
        if not isinstance(data, Mapping):
            raise InvalidArgumentError(
                f"remedy data must be a mapping with {', '.join(_DATA_KEYS)}; got {data!r}"
            )
        unknown = sorted(str(key) for key in data if key not in _DATA_KEYS)
        if unknown:
            raise InvalidArgumentError(
                f"remedy data has unknown keys {unknown}; allowed keys: {', '.join(_DATA_KEYS)}"
            )
        if "kind" not in data:
            raise InvalidArgumentError(f"remedy data needs a 'kind' ({_KINDS}); got {data!r}")
        description = data.get("description")
        return cls(
            kind=data["kind"],
            amount=data.get("amount"),
            currency=data.get("currency"),
            description="" if description is None else description,
        )

    def describe(self, currency: str | None = None) -> str:
        """The remedy in words ("a refund of 120 GBP"), in ``currency`` if it has none."""
        if self.amount is None:
            return f"a {_label(self.kind)}"
        unit = self.currency or currency
        return f"a {_label(self.kind)} of {self.amount}" + (f" {unit}" if unit else "")


def _label(kind: RemedyKind) -> str:
    return kind.value.replace("_", " ")


def _level_words(level: EscalationLevel, currency: str) -> str:
    contact = f", {level.contact}" if level.contact else ""
    return (
        f"level {level.number} ({level.title}{contact}), which {level.describe_authority(currency)}"
    )


def check_authority(ladder: EscalationLadder, actor: Actor, remedy: Remedy) -> None:
    """Allow ``actor`` to grant ``remedy``, or say who may.

    A remedy without an amount, or costing nothing, needs no authority.
    Otherwise the actor's level on ``ladder`` (:meth:`EscalationLadder.level_for`)
    must be allowed to grant the amount (:meth:`EscalationLevel.may_grant`); an
    actor below every level may grant no amount.

    Raises:
        InvalidArgumentError: the remedy's currency is not the ladder's.
        AuthorityExceededError: the amount is above what the actor's level may
            grant; the message names the lowest level that may decide, with its
            contact, or says that no level may.
    """
    if remedy.currency is not None and remedy.currency != ladder.currency:
        raise InvalidArgumentError(
            f"the remedy is in {remedy.currency} but the authority limits of escalation "
            f"ladder {ladder.name!r} are in {ladder.currency}: give the amount in "
            f"{ladder.currency}"
        )
    if remedy.amount is None:
        return
    level = ladder.level_for(actor)
    # Someone below every level may still grant what costs nothing.
    if remedy.amount <= (level.effective_limit if level is not None else 0):
        return
    currency = ladder.currency
    who = f"actor {actor.id!r} ({actor.name}, {actor.role}, rank {actor.rank})"
    if level is None:
        where = f"{who} holds no level of escalation ladder {ladder.name!r}, so may grant no amount"
    else:
        authority = level.describe_authority(currency)
        where = f"{who} is at level {level.number} ({level.title}), which {authority}"
    wanted = remedy.describe(currency)
    deciding = ladder.lowest_level_allowed(remedy.amount)
    if deciding is not None:
        raise AuthorityExceededError(
            f"{where}; {wanted} is above that: escalate to {_level_words(deciding, currency)}"
        )
    best = max(ladder.levels, key=lambda candidate: candidate.effective_limit)
    most = (
        "no level may grant monetary remedies"
        if best.authority_limit is None
        else f"the most is {best.authority_limit} {currency}, at level {best.number} ({best.title})"
    )
    raise AuthorityExceededError(
        f"{where}; {wanted} is above what any level of escalation ladder {ladder.name!r} may "
        f"grant ({most}): refer it to someone with unlimited authority, or mark the top level "
        "unlimited_authority = true"
    )
