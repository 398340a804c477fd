"""Staff record the complaints they hear: named, blame-free when informal, or anonymous."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from complaint_flow import (
    Actor,
    Customer,
    Engine,
    InvalidArgumentError,
    ManualClock,
    OutboxStatus,
    staff_intake,
)
from complaint_flow.cli import cli

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
SAM = Actor(id="S-1", name="Sam", role="agent")
ADA = Customer(id="C-1", name="Ada", phone="+44 1")


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.open("memory://", clock=ManualClock(START)) as opened:
        yield opened


def test_the_member_of_staff_is_named_and_the_clock_starts_when_the_customer_spoke(
    engine: Engine,
) -> None:
    heard = START - timedelta(hours=3)
    complaint = engine.receive(
        staff_intake(staff=SAM, channel="phone", customer=ADA, summary="Bill", received_at=heard)
    )
    assert complaint.recorded_by == SAM
    assert complaint.received_at == heard
    [received] = engine.history(complaint.id)[:1]
    assert received.actor == SAM
    assert not complaint.informal


def test_an_informal_complaint_is_marked_so(engine: Engine) -> None:
    complaint = engine.receive(
        staff_intake(staff=SAM, channel="in_person", customer=ADA, summary="Queue", informal=True)
    )
    assert complaint.informal
    assert complaint.recorded_by == SAM


def test_an_anonymous_complaint_sends_nothing_and_leaves_nothing_unreachable(
    engine: Engine,
) -> None:
    first = engine.receive(staff_intake(staff=SAM, channel="phone", summary="Rude driver"))
    second = engine.receive(staff_intake(staff=SAM, channel="phone", summary="Rude driver"))
    assert first.customer.id != second.customer.id  # two anonymous people, not one
    assert first.customer.address_for("email") is None
    assert first.data["anonymous"] is True
    engine.fire(first.id, "thank", actor=SAM)
    assert not [m for m in engine.outbox(first.id) if m.recipient == "customer"]
    assert engine.store.outbox_find(status=OutboxStatus.UNREACHABLE) == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"staff": None}, "staff"),
        ({"staff": "Sam"}, "staff"),
        ({"channel": ""}, "channel"),
        ({"summary": " "}, "summary"),
        ({"customer": "Ada"}, "customer"),
        ({"informal": "yes"}, "informal"),
        ({"received_at": datetime(2026, 3, 2, 9)}, "received_at"),  # naive
        ({"data": ["x"]}, "data"),
        ({"external_id": 5}, "external_id"),
    ],
)
def test_each_bad_argument_is_named(engine: Engine, changes: dict, named: str) -> None:  # type: ignore[type-arg]
    arguments = {"staff": SAM, "channel": "phone", "summary": "Bill", "customer": ADA}
    arguments.update(changes)
    with pytest.raises(InvalidArgumentError, match=named):
        staff_intake(**arguments)
    assert engine.store.count() == 0


def test_an_anonymous_complaint_cannot_name_a_reply_channel() -> None:
    with pytest.raises(InvalidArgumentError, match="anonymous"):
        staff_intake(staff=SAM, channel="phone", summary="x", preferred_channel="email")


def test_the_cli_records_named_informal_and_anonymous_complaints(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    runner = CliRunner()
    base = ["record", "--store", url, "--channel", "phone", "--staff-id", "S-1"]
    base += ["--staff-name", "Sam", "--summary", "Bill wrong"]
    named = runner.invoke(
        cli, [*base, "--customer-id", "C-1", "--customer-name", "Ada", "--phone", "+44 1"]
    )
    assert named.exit_code == 0, named.output
    assert "recorded from phone by Sam" in named.output
    informal = runner.invoke(cli, [*base, "--anonymous", "--informal"])
    assert informal.exit_code == 0, informal.output
    assert "(informal, blame-free) (anonymous)" in informal.output
    refused = runner.invoke(cli, [*base, "--anonymous", "--email", "a@x.org"])
    assert refused.exit_code == 1
    assert "--anonymous records a complaint with no customer details" in refused.output
    with Engine.open(url) as engine:
        stored = engine.find()
    assert sorted((c.informal, c.data.get("anonymous", False)) for c in stored) == [
        (False, False),
        (True, True),
    ]
