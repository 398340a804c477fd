"""``complaint-flow actions`` and ``complaint-flow root-cause`` on a SQLite file.

The commands are registered in a command group of their own, as ``cli/__init__.py``
registers them; the store is prepared through the library, months before now, so that
the command line (on the real clock) finds check periods that have ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock
from complaint_flow.cli.actions import actions, root_cause
from complaint_flow.cli.shared import CommandGroup
from complaint_flow.model.actions import ActionStatus, Verdict
from complaint_flow.services.action_desk import ActionDesk
from test_cli import flat, tables

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WEEK = timedelta(weeks=1)
MO = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")
WIDE = {"COLUMNS": "400"}
AS_MO = ["--actor-id", "M-1", "--actor-name", "Mo", "--role", "manager"]


@click.group(cls=CommandGroup)
def cli() -> None:
    """The two registrations of ``cli/__init__.py``."""


cli.add_command(actions)
cli.add_command(root_cause)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=WIDE)


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A store with complaints about deliveries: 5 a week before START, 1 a week after."""
    url = f"sqlite:///{tmp_path / 'actions.db'}"
    clock = ManualClock(START + 8 * WEEK)
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        for week in range(-4, 4):
            for n in range(5 if week < 0 else 1):
                at = START + week * WEEK + timedelta(hours=20 * n)
                customer = Customer(id=f"C-{week}-{n}", name="Ada")
                engine.receive(
                    Intake(
                        channel="email",
                        customer=customer,
                        summary="Parcel late",
                        category="delivery",
                        received_at=at,
                    )
                )
    return url


def reference(url: str) -> str:
    with Engine.open(url, load_entry_points=False) as engine:
        return engine.find(category="delivery")[0].reference


def test_root_cause_records_the_cause_and_refuses_an_unknown_one(url: str) -> None:
    ref = reference(url)
    done = invoke("root-cause", ref, "supplier_failure", *AS_MO, "--store", url)
    assert done.exit_code == 0, done.output
    assert flat(done.output).startswith(
        f"{ref}: root cause supplier_failure (A supplier or partner failed), recorded by Mo."
    )
    assert "usually fixed by a product or service fault action" in flat(done.output)
    again = invoke("root-cause", ref, "supplier_failure", *AS_MO, "--store", url)
    assert "already has the root cause supplier_failure; nothing recorded" in again.output
    unknown = invoke("root-cause", ref, "weather", *AS_MO, "--store", url)
    assert unknown.exit_code == 1
    assert "unknown root cause 'weather'" in flat(unknown.output)
    assert "'too_slow'" in flat(unknown.output)
    no_reason = invoke("root-cause", ref, "too_slow", *AS_MO, "--store", url)
    assert no_reason.exit_code == 1
    assert "give a reason to reclassify" in flat(no_reason.output)
    with Engine.open(url, load_entry_points=False) as engine:
        assert engine.get(ref).data["root_cause"]["cause"] == "supplier_failure"


def test_causes_lists_the_taxonomy(url: str) -> None:
    listed = invoke("actions", "causes", "--store", url)
    assert listed.exit_code == 0, listed.output
    (rows,) = tables(listed.output)
    assert len(rows) == 15
    assert rows[0] == {
        "Cause": "procedure_missing",
        "Title": "No procedure for the case, or a gap in it",
        "Group": "process",
        "Usual action": "procedure",
    }


def test_an_action_from_open_to_confirmed_on_the_command_line(url: str) -> None:
    ref = reference(url)
    empty = invoke("actions", "list", "--store", url)
    assert "No corrective action yet" in empty.output
    opened = invoke(
        "actions",
        "open",
        "--kind",
        "product_or_service_fault",
        "--title",
        "Change courier",
        "--owner-id",
        "B-1",
        "--owner-name",
        "Bo",
        "--owner-email",
        "bo@example.org",
        "--due",
        "2099-01-01",
        "--complaint",
        ref,
        *AS_MO,
        "--store",
        url,
    )
    assert opened.exit_code == 0, opened.output
    action_id = flat(opened.output).split()[1]
    assert action_id.startswith("action:")
    assert "owner Bo, due 2099-01-01" in flat(opened.output)
    (rows,) = tables(invoke("actions", "list", "--store", url).output)
    assert [(r["Action"], r["Status"], r["Due"]) for r in rows] == [
        (action_id, "open", "2099-01-01")
    ]
    done = invoke("actions", "complete", action_id, *AS_MO, "--store", url)
    assert done.exit_code == 0, done.output
    early = invoke("actions", "check", action_id, "--store", url)
    assert early.exit_code == 1
    assert "can be checked from" in flat(early.output)

    # Pretend the action was done on START: its twelve-week check is long due.
    with Engine.open(url, clock=ManualClock(START), load_entry_points=False) as engine:
        desk = ActionDesk(engine)
        backdated = desk.open(
            kind="procedure",
            title="Label twice",
            owner=MO,
            due_at=START + WEEK,
            actor=MO,
            categories=["delivery"],
            check_after=4 * WEEK,
        )
        desk.complete(backdated.id, actor=MO)
    due = invoke("actions", "check-due", "--store", url)
    assert due.exit_code == 0, due.output
    (rows,) = tables(due.output)
    assert rows == [
        {
            "Action": backdated.id,
            "Title": "Label twice",
            "Before → after": "20 → 4",
            "Rate ratio": "0.20",
            "Verdict": "effective",
        }
    ]
    assert invoke("actions", "check-due", "--store", url).output.startswith(
        "No effectiveness check is due"
    )
    shown = invoke("actions", "show", backdated.id, "--store", url)
    assert shown.exit_code == 0, shown.output
    text = flat(shown.output)
    assert "Corrective action · " + backdated.id in text
    assert "Complaints 20 4" in text
    assert "Each period 5 5 5 5 1 1 1 1" in text
    assert "Verdict: effective · rate ratio 0.20" in text
    history = tables(shown.output)[-1]
    assert [row["State"] for row in history] == ["→ open", "open → done", "done → checked"]
    refused = invoke("actions", "confirm", action_id, *AS_MO, "--store", url)
    assert refused.exit_code == 1
    assert "cannot confirm a corrective action that is 'done'" in flat(refused.output)
    confirmed = invoke("actions", "confirm", backdated.id, *AS_MO, "--store", url)
    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.output.strip() == f"Confirmed {backdated.id}: effective. The action is closed."
    with Engine.open(url, load_entry_points=False) as engine:
        stored = ActionDesk(engine).get(backdated.id)
        assert (stored.status, stored.verdict, stored.confirmed_by) == (
            ActionStatus.CONFIRMED,
            Verdict.EFFECTIVE,
            "M-1",
        )
    listed = invoke("actions", "list", "--status", "confirmed", "--store", url)
    (rows,) = tables(listed.output)
    assert [r["Action"] for r in rows] == [backdated.id]


def test_overdue_and_reopened_actions(url: str) -> None:
    with Engine.open(url, clock=ManualClock(START), load_entry_points=False) as engine:
        desk = ActionDesk(engine, effect_test=lambda b, a, **_: _Verdict("not_effective"))
        late = desk.open(
            kind="procedure",
            title="Train the warehouse",
            owner=MO,
            due_at=START + WEEK,
            actor=MO,
            categories=["delivery"],
            check_after=WEEK,
        )
        checked = desk.open(
            kind="procedure",
            title="Scan at the door",
            owner=MO,
            due_at=START + WEEK,
            actor=MO,
            categories=["delivery"],
            check_after=WEEK,
        )
        desk.complete(checked.id, actor=MO)
    with Engine.open(url, clock=ManualClock(START + 2 * WEEK), load_entry_points=False) as engine:
        desk = ActionDesk(engine, effect_test=lambda b, a, **_: _Verdict("not_effective"))
        desk.check(checked.id)
    overdue = invoke("actions", "list", "--overdue", "--store", url)
    (rows,) = tables(overdue.output)
    assert [(r["Action"], r["Due"]) for r in rows] == [(late.id, "2026-01-12 overdue")]
    reopened = invoke(
        "actions",
        "reopen",
        checked.id,
        "--reason",
        "Late parcels went on",
        "--due",
        "2099-02-01",
        *AS_MO,
        "--store",
        url,
    )
    assert reopened.exit_code == 0, reopened.output
    assert reopened.output.strip() == f"Reopened {checked.id}: in progress again, due 2099-02-01."
    started = invoke("actions", "start", late.id, *AS_MO, "--store", url)
    assert started.output.strip() == f"{late.id} is in progress (version 2)."
    missing = invoke("actions", "show", "action:nope", "--store", url)
    assert missing.exit_code == 1
    assert "no corrective action 'action:nope'" in flat(missing.output)


class _Verdict:
    def __init__(self, verdict: str) -> None:
        self.verdict = verdict
        self.rate_ratio = self.low = self.high = 1.0
        self.p_value = 0.5
        self.method = "exact"
        self.summary = f"{verdict}: no fall"
