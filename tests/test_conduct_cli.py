"""``complaint-flow conduct``: restricted customers, review queue, patterns, records.

The group is invoked on its own with a SQLite file prepared through the engine:
a restricted customer whose phone call was filed, a customer whose finally
decided complaint was re-raised (a linked contact), and a customer with many
complaints (a pattern).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock
from complaint_flow.cli.conduct import conduct
from complaint_flow.cli.render.conduct import restriction_words
from complaint_flow.model.conduct import Restriction
from complaint_flow.services.intake import OutcomeKind

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SUPERVISOR = Actor(id="S-1", name="Sue", role="supervisor")
MANAGER = Actor(id="M-1", name="Mo Manager", role="manager")
AGENT = Actor(id="A-1", name="Bo", role="agent")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org", phone="+44 7700 900001")
BEA = Customer(id="C-2", name="Bea", email="bea@example.org")
CY = Customer(id="C-3", name="Cy", email="cy@example.org")
WIDE = {"COLUMNS": "400"}  # no cell is wrapped, so whole values can be looked for


@dataclass(frozen=True)
class Prepared:
    """The store's URL and what was put in it."""

    url: str
    phone_item: str
    linked_item: str
    decided_reference: str
    cy_references: tuple[str, ...]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def prepared(tmp_path: Path, clock: ManualClock) -> Prepared:
    url = f"sqlite:///{tmp_path / 'conduct.db'}"
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        engine.conduct.warn(ADA, actor=SUPERVISOR, reason="abusive calls to staff")
        engine.conduct.restrict(
            ADA,
            [Restriction.written_only(), Restriction.contact_limit(3, 30)],
            actor=MANAGER,
            reasons="repeated abusive calls after a warning",
            review_at=START + timedelta(days=90),
        )
        filed = engine.accept(Intake(channel="phone", customer=ADA, summary="Boiler still broken"))
        assert filed.kind is OutcomeKind.FILED
        assert filed.item is not None

        complaint = engine.receive(Intake(channel="email", customer=BEA, summary="Lost parcel"))
        engine.fire(complaint.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "settled"})
        engine.final_decision(complaint.id, actor=MANAGER, response="Our final response")
        linked = engine.accept(
            Intake(
                channel="email",
                customer=BEA,
                summary="Parcel again",
                details=f"About {complaint.reference}: still lost",
            )
        )
        assert linked.kind is OutcomeKind.LINKED
        assert linked.item is not None

        cy = [
            engine.receive(Intake(channel="web_form", customer=CY, summary=f"Fault {n}"))
            for n in range(3)
        ]
    return Prepared(
        url,
        filed.item.id,
        linked.item.id,
        complaint.reference,
        tuple(c.reference for c in cy),
    )


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, prepared: Prepared, *args: str) -> Result:
    return runner.invoke(conduct, [*args, "--store", prepared.url], env=WIDE)


def rows_with(output: str, text: str) -> list[str]:
    return [line for line in output.splitlines() if text in line]


# -- restricted -------------------------------------------------------------------------------


def test_restricted_lists_the_customer_with_review_date_and_decision_maker(
    runner: CliRunner, prepared: Prepared
) -> None:
    result = run(runner, prepared, "restricted")
    assert result.exit_code == 0, result.output
    [row] = rows_with(result.output, "Ada")
    assert rows_with(result.output, "C-1")
    assert "restricted" in row
    assert "2026-05-31" in row
    assert "contact in writing only" in row
    assert "Mo Manager" in row
    assert "at most 3 contacts in 30 days" in result.output
    # Customers without restrictions are not listed.
    assert "C-2" not in result.output
    assert "C-3" not in result.output


def test_restricted_on_an_empty_store_says_so(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    Engine.open(url, load_entry_points=False).close()
    result = runner.invoke(conduct, ["restricted", "--store", url])
    assert result.exit_code == 0, result.output
    assert "No customer is under restriction" in result.output


@pytest.mark.parametrize(
    ("restriction", "words"),
    [
        (Restriction.single_point_of_contact("o@x.org", "Olu"), "contact only through Olu"),
        (Restriction.written_only(acknowledge=False), "(filed messages not acknowledged)"),
        (Restriction.no_reopening("CF-2026-000001"), "no new complaints about CF-2026-000001"),
        (Restriction.call_time_limit(10), "calls kept to 10 minutes"),
    ],
)
def test_restrictions_are_put_in_plain_words(restriction: Restriction, words: str) -> None:
    assert words in restriction_words(restriction)


# -- queue ------------------------------------------------------------------------------------


def test_queue_shows_filed_and_linked_messages(runner: CliRunner, prepared: Prepared) -> None:
    result = run(runner, prepared, "queue")
    assert result.exit_code == 0, result.output
    [phone] = rows_with(result.output, prepared.phone_item)
    assert "Ada" in phone
    assert "phone" in phone
    assert "Boiler still broken" in phone
    assert "Mon 2026-03-02" in phone
    [linked] = rows_with(result.output, prepared.linked_item)
    assert "Bea" in linked
    assert "Parcel again" in linked
    assert prepared.decided_reference in linked
    assert "re-raises a decided matter" in linked


def test_queue_limit(runner: CliRunner, prepared: Prepared) -> None:
    result = run(runner, prepared, "queue", "--limit", "1")
    assert result.exit_code == 0, result.output
    shown = [i for i in (prepared.phone_item, prepared.linked_item) if i in result.output]
    assert len(shown) == 1


# -- patterns ---------------------------------------------------------------------------------


def test_patterns_flags_many_complaints(runner: CliRunner, prepared: Prepared) -> None:
    result = run(runner, prepared, "patterns", "--as-of", "2026-03-05", "--many-complaints", "3")
    assert result.exit_code == 0, result.output
    [row] = rows_with(result.output, "Cy ")
    assert rows_with(result.output, "C-3")
    assert "many complaints" in row
    assert " 3 " in row
    for reference in prepared.cy_references:
        assert reference in result.output
    assert "suggestions" in result.output


def test_patterns_outside_the_window_finds_nothing(runner: CliRunner, prepared: Prepared) -> None:
    result = run(runner, prepared, "patterns", "--as-of", "2026-09-01", "--many-complaints", "3")
    assert result.exit_code == 0, result.output
    assert "No pattern seen in the last 90 days" in result.output


def test_patterns_refuses_bad_thresholds(runner: CliRunner, prepared: Prepared) -> None:
    for option in ("--window-days", "--many-complaints", "--repeats-after-final"):
        result = run(runner, prepared, "patterns", option, "0")
        assert result.exit_code == 2
        assert f"Invalid value for '{option}': 0 is not in the range x>=1" in result.output
    bad_date = run(runner, prepared, "patterns", "--as-of", "someday")
    assert bad_date.exit_code == 2
    assert "is not a date or time" in bad_date.output


# -- show -------------------------------------------------------------------------------------


def test_show_prints_record_queue_and_history(
    runner: CliRunner, prepared: Prepared, clock: ManualClock
) -> None:
    with Engine.open(prepared.url, clock=clock, load_entry_points=False) as engine:
        engine.conduct.record_adjustment(
            ADA, "cannot write after an injury", channels=("phone",), actor=MANAGER
        )
    result = run(runner, prepared, "show", "C-1")
    assert result.exit_code == 0, result.output
    out = result.output
    assert rows_with(out, "Status")[0].split()[-2] == "restricted"
    assert "2026-05-31" in rows_with(out, "Review date")[0]
    assert "repeated abusive calls after a warning" in out
    assert "cannot write after an injury — may use phone" in out
    assert prepared.phone_item in out
    assert "Boiler still broken" in out
    history = out[out.index("History") :]
    for kind in ("warn", "restrict", "contact_filed", "adjustment_recorded"):
        assert kind in history


def test_show_a_customer_known_only_by_complaints(runner: CliRunner, prepared: Prepared) -> None:
    result = run(runner, prepared, "show", "C-3")
    assert result.exit_code == 0, result.output
    assert "normal" in rows_with(result.output, "Status")[0]
    assert "No conduct event recorded yet" in result.output


def test_show_an_unknown_customer_fails_clearly(runner: CliRunner, prepared: Prepared) -> None:
    result = run(runner, prepared, "show", "C-404")
    assert result.exit_code == 1
    assert "no customer 'C-404' in this store" in result.stderr


# -- resolve ----------------------------------------------------------------------------------


def resolve(
    runner: CliRunner, prepared: Prepared, customer: str, item: str, outcome: str
) -> Result:
    return run(
        runner,
        prepared,
        "resolve",
        customer,
        item,
        "--outcome",
        outcome,
        "--note",
        "read it",
        "--actor-id",
        "A-1",
        "--actor-name",
        "Bo",
        "--role",
        "agent",
    )


def test_resolve_closes_the_item(runner: CliRunner, prepared: Prepared, clock: ManualClock) -> None:
    result = resolve(runner, prepared, "C-1", prepared.phone_item, "no_new_information")
    assert result.exit_code == 0, result.output
    assert f"Resolved item {prepared.phone_item}" in result.output
    queue = run(runner, prepared, "queue")
    assert prepared.phone_item not in queue.output
    assert prepared.linked_item in queue.output
    with Engine.open(prepared.url, clock=clock, load_entry_points=False) as engine:
        last = engine.conduct.history("C-1")[-1]
    assert last.kind == "review_item_resolved"
    assert last.actor.id == "A-1"
    assert last.reason == "read it"


def test_resolve_with_new_information_opens_a_complaint(
    runner: CliRunner, prepared: Prepared, clock: ManualClock
) -> None:
    result = resolve(runner, prepared, "C-2", prepared.linked_item, "new_information")
    assert result.exit_code == 0, result.output
    with Engine.open(prepared.url, clock=clock, load_entry_points=False) as engine:
        complaints = engine.find(customer_id="C-2")
    assert len(complaints) == 2
    [opened] = [c for c in complaints if c.summary == "Parcel again"]
    assert f"Opened complaint {opened.reference}" in result.output


def test_resolve_refuses_unknown_items_and_outcomes(runner: CliRunner, prepared: Prepared) -> None:
    unknown = resolve(runner, prepared, "C-1", "nope", "no_new_information")
    assert unknown.exit_code == 1
    assert "no item 'nope' waits in the review queue" in unknown.stderr
    bad_outcome = resolve(runner, prepared, "C-1", prepared.phone_item, "ignore")
    assert bad_outcome.exit_code == 2
    assert prepared.phone_item in run(runner, prepared, "queue").output
