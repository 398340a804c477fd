"""Remedies: validation, data round trip, and the authority to grant them."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaint_flow import SYSTEM, Actor
from complaint_flow.definitions.escalation import EscalationLadder, EscalationLevel
from complaint_flow.definitions.remedies import Remedy, RemedyKind, check_authority
from complaint_flow.errors import AuthorityExceededError, EscalationError, InvalidArgumentError

MONETARY = {RemedyKind.REFUND, RemedyKind.PRICE_REDUCTION, RemedyKind.GOODWILL_PAYMENT}


def ladder() -> EscalationLadder:
    return EscalationLadder(
        "default",
        (
            EscalationLevel(1, "Frontline agent", "agent", 1, email="desk@example.org",
                            authority_limit="25"),
            EscalationLevel(2, "Team leader", "team_lead", 2, phone="+44 20 7946 0100",
                            authority_limit="100"),
            EscalationLevel(3, "Complaints manager", "manager", 3,
                            email="manager@example.org", authority_limit="500"),
        ),
    )  # fmt: skip


AGENT = Actor(id="A-1", name="Bo", role="agent", rank=1)
MANAGER = Actor(id="M-1", name="Cy", role="manager", rank=3)


# -- kinds -------------------------------------------------------------------------------


def test_the_kinds_are_the_consumer_rights_act_remedies_and_goodwill() -> None:
    assert {kind.value for kind in RemedyKind} == {
        "repair",
        "replacement",
        "refund",
        "price_reduction",
        "repeat_performance",
        "goodwill_payment",
    }
    assert {kind for kind in RemedyKind if kind.is_monetary} == MONETARY


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("refund", RemedyKind.REFUND),
        ("Price reduction", RemedyKind.PRICE_REDUCTION),
        (" repeat-performance ", RemedyKind.REPEAT_PERFORMANCE),
        ("GOODWILL_PAYMENT", RemedyKind.GOODWILL_PAYMENT),
        (RemedyKind.REPAIR, RemedyKind.REPAIR),
    ],
)
def test_a_kind_may_be_given_as_text(text: str, kind: RemedyKind) -> None:
    assert Remedy(text, amount="1").kind is kind


@pytest.mark.parametrize("bad", ["voucher", "", 3, None])
def test_an_unknown_kind_lists_the_kinds(bad: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        Remedy(bad)
    message = str(caught.value)
    assert f"unknown remedy kind {bad!r}" in message
    assert "'repair'" in message
    assert "'goodwill_payment'" in message


# -- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_amount", "expected"),
    [
        ("12.50", Decimal("12.50")),
        (" 7 ", Decimal(7)),
        (40, Decimal(40)),
        (Decimal("0.01"), Decimal("0.01")),
    ],
)
def test_amounts_are_exact_decimals(given_amount: Any, expected: Decimal) -> None:
    remedy = Remedy(RemedyKind.REFUND, amount=given_amount)
    assert isinstance(remedy.amount, Decimal)
    assert remedy.amount == expected


def test_a_float_amount_is_refused_with_the_text_to_pass() -> None:
    with pytest.raises(InvalidArgumentError, match=r'pass text such as "12.5"'):
        Remedy("refund", amount=12.5)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("-1", "must not be negative"),
        (-3, "must not be negative"),
        ("twelve", 'a number such as "12.50"'),
        ("NaN", "must be finite"),
        ("Infinity", "must be finite"),
        (True, "got bool True"),
        ([12], "got list"),
    ],
)
def test_bad_amounts_are_refused(bad: Any, fragment: str) -> None:
    with pytest.raises(InvalidArgumentError, match=fragment):
        Remedy("goodwill_payment", amount=bad)


@pytest.mark.parametrize("kind", sorted(MONETARY))
def test_money_remedies_need_an_amount_above_zero(kind: RemedyKind) -> None:
    label = kind.value.replace("_", " ")
    with pytest.raises(InvalidArgumentError, match=f"a {label} needs an amount above 0"):
        Remedy(kind)
    with pytest.raises(InvalidArgumentError, match="needs an amount above 0"):
        Remedy(kind, amount="0")


@pytest.mark.parametrize("kind", sorted(set(RemedyKind) - MONETARY))
def test_other_remedies_may_have_a_cost_or_not(kind: RemedyKind) -> None:
    assert Remedy(kind).amount is None
    assert Remedy(kind, amount="0").amount == 0
    assert Remedy(kind, amount="80", currency="gbp").currency == "GBP"


def test_a_currency_needs_an_amount_and_a_code() -> None:
    with pytest.raises(InvalidArgumentError, match="cannot have a currency"):
        Remedy("repair", currency="GBP")
    with pytest.raises(InvalidArgumentError, match="three-letter ISO 4217"):
        Remedy("refund", amount="5", currency="pounds")


def test_the_description_is_text() -> None:
    assert Remedy("repair", description="New hinge").description == "New hinge"
    with pytest.raises(InvalidArgumentError, match=r"Remedy\.description must be text"):
        Remedy("repair", description=None)  # type: ignore[arg-type]


# -- data --------------------------------------------------------------------------------


remedies = st.builds(
    lambda kind, cents, exponent, currency, description: Remedy(
        kind,
        amount=None
        if cents is None and not kind.is_monetary
        else Decimal(max(cents or 1, 1)).scaleb(exponent),
        currency=currency if cents is not None or kind.is_monetary else None,
        description=description,
    ),
    kind=st.sampled_from(list(RemedyKind)),
    cents=st.none() | st.integers(0, 10**9),
    exponent=st.integers(-3, 0),
    currency=st.none() | st.sampled_from(["GBP", "EUR", "USD"]),
    description=st.text(max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(remedy=remedies)
def test_as_data_round_trips_exactly_through_json(remedy: Remedy) -> None:
    data = remedy.as_data()
    assert set(data) == {"kind", "amount", "currency", "description"}
    assert all(value is None or isinstance(value, str) for value in data.values())
    again = Remedy.from_data(json.loads(json.dumps(data)))
    assert again == remedy
    assert str(again.amount) == str(remedy.amount)  # "12.50" stays "12.50"


def test_as_data_shows_the_amount_as_written() -> None:
    assert Remedy("price reduction", "12.50", "GBP", "Late delivery").as_data() == {
        "kind": "price_reduction",
        "amount": "12.50",
        "currency": "GBP",
        "description": "Late delivery",
    }


def test_from_data_accepts_the_minimum_and_refuses_the_unknown() -> None:
    assert Remedy.from_data({"kind": "repair"}) == Remedy(RemedyKind.REPAIR)
    with pytest.raises(InvalidArgumentError, match=r"unknown keys \['amout'\]"):
        Remedy.from_data({"kind": "refund", "amout": "5"})
    with pytest.raises(InvalidArgumentError, match="needs a 'kind'"):
        Remedy.from_data({"amount": "5"})
    with pytest.raises(InvalidArgumentError, match="must be a mapping"):
        Remedy.from_data(["refund"])  # type: ignore[arg-type]


# -- authority ---------------------------------------------------------------------------


def test_an_actor_may_grant_up_to_their_levels_limit() -> None:
    check_authority(ladder(), AGENT, Remedy("refund", "24.99"))
    check_authority(ladder(), AGENT, Remedy("refund", "25.00", "GBP"))
    check_authority(ladder(), MANAGER, Remedy("goodwill_payment", "500"))


def test_above_the_limit_the_message_names_who_may_decide() -> None:
    with pytest.raises(AuthorityExceededError) as caught:
        check_authority(ladder(), AGENT, Remedy("refund", "120"))
    assert isinstance(caught.value, EscalationError)
    assert str(caught.value) == (
        "actor 'A-1' (Bo, agent, rank 1) is at level 1 (Frontline agent), which may grant up "
        "to 25 GBP; a refund of 120 GBP is above that: escalate to level 3 (Complaints "
        "manager, manager@example.org), which may grant up to 500 GBP"
    )


def test_a_level_reached_by_phone_is_quoted_with_its_phone() -> None:
    with pytest.raises(AuthorityExceededError, match=r"level 2 \(Team leader, \+44 20 7946 0100\)"):
        check_authority(ladder(), AGENT, Remedy("refund", "25.01"))


def test_when_no_level_may_grant_it_the_message_says_how_to_fix_the_ladder() -> None:
    with pytest.raises(AuthorityExceededError) as caught:
        check_authority(ladder(), MANAGER, Remedy("goodwill_payment", "5000"))
    message = str(caught.value)
    assert "is at level 3 (Complaints manager), which may grant up to 500 GBP" in message
    assert "above what any level of escalation ladder 'default' may grant" in message
    assert "the most is 500 GBP, at level 3 (Complaints manager)" in message
    assert "unlimited_authority = true" in message


def test_an_actor_below_every_level_may_grant_no_amount() -> None:
    with pytest.raises(
        AuthorityExceededError, match=r"'system'.*holds no level.*escalate to level 1"
    ):
        check_authority(ladder(), SYSTEM, Remedy("refund", "1"))
    check_authority(ladder(), SYSTEM, Remedy("repair"))  # no cost given: no authority needed
    check_authority(ladder(), SYSTEM, Remedy("repair", "0"))


def test_a_level_without_authority_grants_only_what_costs_nothing() -> None:
    no_money = EscalationLadder(
        "n",
        (
            EscalationLevel(1, "Agent", "agent", 1, email="a@example.org"),
            EscalationLevel(2, "Boss", "manager", 2, email="b@example.org",
                            unlimited_authority=True),
        ),
    )  # fmt: skip
    check_authority(no_money, AGENT, Remedy("replacement", "0"))
    with pytest.raises(AuthorityExceededError) as caught:
        check_authority(no_money, AGENT, Remedy("replacement", "30"))
    assert "which may not grant monetary remedies" in str(caught.value)
    assert "escalate to level 2 (Boss, b@example.org), which may grant any amount" in str(
        caught.value
    )


def test_a_remedy_in_another_currency_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match=r"in EUR but the authority limits .* in GBP"):
        check_authority(ladder(), MANAGER, Remedy("refund", "1", "EUR"))


@st.composite
def ladders_and_limits(draw: st.DrawFn) -> tuple[EscalationLadder, list[Decimal | str | None]]:
    """A ladder with non-decreasing authority, and each level's limit (None, amount, "any")."""
    size = draw(st.integers(1, 5))
    without = draw(st.integers(0, size))
    unlimited_top = draw(st.booleans())
    cents = sorted(draw(st.lists(st.integers(1, 100_000), min_size=size, max_size=size)))
    ranks = sorted(draw(st.lists(st.integers(1, 6), min_size=size, max_size=size)))
    roles = draw(st.lists(st.sampled_from(["agent", "manager"]), min_size=size, max_size=size))
    levels, limits = [], []
    for index in range(size):
        limit: Decimal | str | None
        if unlimited_top and index == size - 1:
            limit = "any"
        elif index < without:
            limit = None
        else:
            limit = Decimal(cents[index]).scaleb(-2)
        limits.append(limit)
        levels.append(
            EscalationLevel(
                index + 1,
                f"Level {index + 1}",
                roles[index],
                ranks[index],
                email=f"l{index + 1}@example.org",
                authority_limit=limit if isinstance(limit, Decimal) else None,
                unlimited_authority=limit == "any",
            )
        )
    return EscalationLadder("drawn", tuple(levels)), limits


def _limit_value(limit: Decimal | str | None) -> Decimal:
    if limit == "any":
        return Decimal("Infinity")
    return limit if isinstance(limit, Decimal) else Decimal(0)


@settings(max_examples=300, deadline=None)
@given(
    drawn=ladders_and_limits(),
    rank=st.integers(0, 7),
    role=st.sampled_from(["agent", "manager", "auditor"]),
    cents=st.integers(0, 120_000),
    on_a_limit=st.booleans(),
    kind=st.sampled_from(list(RemedyKind)),
)
def test_allowed_iff_within_the_actors_level_and_the_lowest_able_level_is_named(
    drawn: tuple[EscalationLadder, list[Decimal | str | None]],
    rank: int,
    role: str,
    cents: int,
    on_a_limit: bool,
    kind: RemedyKind,
) -> None:
    ladder, limits = drawn
    amount = Decimal(cents).scaleb(-2)
    exact = [limit for limit in limits if isinstance(limit, Decimal)]
    if on_a_limit and exact:
        amount = exact[cents % len(exact)]  # exactly at a limit is allowed
    if kind.is_monetary and amount == 0:
        kind = RemedyKind.REPAIR
    actor = Actor(id="X", name="Someone", role=role, rank=rank)
    level = ladder.level_for(actor)
    own_limit = Decimal(0) if level is None else _limit_value(limits[level.number - 1])
    able = [n for n, limit in enumerate(limits, start=1) if amount <= _limit_value(limit)]
    try:
        check_authority(ladder, actor, Remedy(kind, amount=amount))
    except AuthorityExceededError as refused:
        assert amount > own_limit
        message = str(refused)
        if able:
            assert f"escalate to level {able[0]} (Level {able[0]}, l{able[0]}@" in message
        else:
            assert "unlimited_authority = true" in message
    else:
        assert amount <= own_limit
