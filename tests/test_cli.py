"""The ``complaint-flow`` command and the demo scenario behind ``complaint-flow demo``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

import complaint_flow
from complaint_flow import (
    Actor,
    ComplaintFlowError,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    ManualClock,
    OutboxStatus,
    PermissionDeniedError,
)
from complaint_flow import cli as cli_module
from complaint_flow.channels.builtin import BUILTIN_CHANNELS
from complaint_flow.cli import cli, parse_data
from complaint_flow.demo import DEMO_START, DemoResult, run_demo
from complaint_flow.diagram import to_mermaid
from complaint_flow.packs import load_pack
from complaint_flow.plugins import Registry, make_plugin_manager
from complaint_flow.workflow import WorkflowDefinition

AGENT = Actor(id="A-1", name="Bo Agent", role="agent", email="bo@example.org")
WIDE = {"COLUMNS": "400"}  # wide enough that no cell or message is wrapped


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={**WIDE, **(env or {})})


def flat(text: str) -> str:
    """Output with table borders and line breaks reduced to single spaces."""
    return re.sub(r"[\s│┃║|]+", " ", text)


def tables(output: str) -> list[list[dict[str, str]]]:
    """The rich tables in ``output``: rows as {header: cell}, multi-line cells joined.

    A body line whose first cell is blank continues the row above (tests run wide,
    so only explicit line breaks in a cell make such lines).
    """
    found: list[list[dict[str, str]]] = []
    headers: list[list[str]] = []
    rows: list[list[list[str]]] = []

    def cells(line: str, bar: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip(bar).split(bar)]

    for line in output.splitlines():
        stripped = line.strip()
        if stripped.startswith("┃"):
            parts = cells(stripped, "┃")
            headers = headers or [[] for _ in parts]
            for column, part in zip(headers, parts, strict=True):
                column.append(part)
        elif stripped.startswith("│") and headers:
            parts = cells(stripped, "│")
            if parts[0] or not rows:
                rows.append([[] for _ in parts])
            for column, part in zip(rows[-1], parts, strict=True):
                column.append(part)
        elif stripped.startswith("└") and headers:
            names = [" ".join(filter(None, h)) for h in headers]
            found.append(
                [
                    {
                        name: " ".join(filter(None, cell))
                        for name, cell in zip(names, row, strict=True)
                    }
                    for row in rows
                ]
            )
            headers, rows = [], []
    return found


# -- the demo scenario (structured result) ------------------------------------


@pytest.fixture(scope="module")
def demo_result() -> DemoResult:
    return run_demo("memory://", run_id="t1", load_entry_points=False)


def story(result: DemoResult, channel: str) -> Any:
    (found,) = [s for s in result.complaints if s.complaint.channel == channel]
    return found


def test_demo_takes_one_complaint_per_channel_through_tactics(demo_result: DemoResult) -> None:
    assert demo_result.counts_by_channel == {
        "email": 1,
        "letter": 1,
        "phone": 1,
        "social_media": 1,
        "web_form": 1,
    }
    assert demo_result.counts_by_state == {"action_taken": 1, "closed": 3, "withdrawn": 1}
    happy = [e.trigger for e in story(demo_result, "email").history if e.trigger]
    assert happy == [
        "thank",
        "apologise",
        "collect_information",
        "take_action",
        "put_it_right",
        "confirm_satisfied",
        "summarise",
        "close",
    ]
    assert story(demo_result, "email").complaint.owner is not None
    assert story(demo_result, "email").complaint.owner.has_contact
    summary = story(demo_result, "email").complaint.data
    assert summary["resolution"]
    assert summary["timeline"]


def test_demo_unhappy_customer_goes_back_to_take_action(demo_result: DemoResult) -> None:
    events = story(demo_result, "web_form").history
    triggers = [e.trigger for e in events if e.trigger]
    unhappy = triggers.index("report_unsatisfied")
    assert triggers[unhappy + 1] == "take_action"
    assert triggers[-1] == "close"
    assert story(demo_result, "web_form").complaint.reply_channel == "email"


def test_demo_escalates_to_a_manager_who_decides(demo_result: DemoResult) -> None:
    chloe = story(demo_result, "phone")
    escalation = next(e for e in chloe.history if e.trigger == "escalate")
    assert escalation.dest == "escalated"
    after = [e for e in chloe.history if e.seq > escalation.seq and e.trigger]
    assert after
    assert all(e.actor.role == "manager" for e in after)
    assert chloe.complaint.owner is not None
    assert chloe.complaint.owner.rank > escalation.actor.rank
    assert chloe.complaint.state == "closed"
    assert story(demo_result, "letter").complaint.state == "withdrawn"


def test_demo_triple_delivery_makes_one_complaint(demo_result: DemoResult) -> None:
    duplicate = demo_result.duplicate
    assert duplicate.deliveries == 3
    assert duplicate.complaints == 1
    email = story(demo_result, "email")
    assert email.complaint.id == duplicate.complaint_ids[0]
    assert email.complaint.external_id == duplicate.external_id
    assert "t1" in duplicate.external_id
    assert [e.kind for e in email.history].count("received") == 1


def test_demo_role_refusal_stores_nothing(demo_result: DemoResult) -> None:
    refusal = demo_result.refusal
    assert refusal.actor.role == "agent"
    assert refusal.trigger == "reopen"
    assert refusal.error == PermissionDeniedError.__name__
    assert "may not fire 'reopen'" in refusal.message
    assert refusal.nothing_stored
    email = story(demo_result, "email")
    assert refusal.reference == email.complaint.reference
    assert email.complaint.version == refusal.version_after == len(email.history)
    assert all(e.trigger != "reopen" for e in email.history)


def test_demo_timeline_moves_forward_over_days(demo_result: DemoResult) -> None:
    for s in demo_result.complaints:
        times = [e.at for e in s.history]
        assert times == sorted(times)
        assert times[0] >= DEMO_START
    everything = [e.at for s in demo_result.complaints for e in s.history]
    assert (max(everything) - min(everything)).days >= 5
    assert demo_result.finished_at >= max(everything)


def test_demo_notifications_reach_the_right_person_on_the_right_channel(
    demo_result: DemoResult,
) -> None:
    by_reference = {s.complaint.reference: s.complaint for s in demo_result.complaints}
    assert demo_result.notifications
    assert demo_result.delivery.delivered == len(demo_result.notifications)
    assert demo_result.delivery.failed == 0
    for n in demo_result.notifications:
        complaint = by_reference[n.reference]
        if n.recipient == "customer":
            assert n.channel == complaint.reply_channel
            assert n.address == complaint.customer.address_for(complaint.reply_channel)
            assert n.name == complaint.customer.name
        else:
            assert n.recipient == "owner"
            assert n.address
            assert n.channel in ("email", "phone")
        assert n.delivered_at >= n.created_at
        assert n.text
    customers_thanked = {
        n.reference for n in demo_result.notifications if n.topic.endswith("thank")
    }
    assert customers_thanked == set(by_reference)


@pytest.mark.parametrize(
    "start",
    [datetime(2026, 3, 2, 9, 30, tzinfo=UTC), datetime(2026, 3, 2, 8, 0)],
    ids=["after-nine", "naive"],
)
def test_demo_refuses_a_start_it_cannot_keep_to(start: datetime) -> None:
    with pytest.raises(InvalidArgumentError, match="must start at 09:00 or earlier"):
        run_demo("memory://", start=start, load_entry_points=False)


def test_demo_starts_when_told(demo_result: DemoResult) -> None:
    start = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    later = run_demo("memory://", start=start, load_entry_points=False)
    first = later.complaints[0].history[0].at
    assert first == start.replace(hour=9)
    assert first - demo_result.complaints[0].history[0].at == start.replace(hour=9) - DEMO_START


# -- complaint-flow demo (rendered, on the SQLite default) ---------------------


@pytest.fixture
def captured_demo(monkeypatch: pytest.MonkeyPatch) -> list[DemoResult]:
    """Keeps the structured result of each ``demo`` the CLI runs."""
    results: list[DemoResult] = []

    def keep(*args: Any, **kwargs: Any) -> DemoResult:
        result = run_demo(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(cli_module, "run_demo", keep)
    return results


def test_demo_command_on_the_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_demo: list[DemoResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("demo")
    assert result.exit_code == 0, result.output
    (demo,) = captured_demo
    assert demo.store_url == "sqlite:///complaints.db"
    assert (tmp_path / "complaints.db").exists()
    out = flat(result.output)
    assert demo.refusal.message in out
    duplicate = demo.duplicate
    assert (
        f"{duplicate.external_id} was delivered 3 times → 1 complaint: {duplicate.reference}" in out
    )
    for s in demo.complaints:
        assert s.complaint.reference in out
        for event in s.history:
            if event.reason:
                assert event.reason in out
    for n in demo.notifications:
        assert n.address is None or n.address in out
    assert f"Notifications delivered: {demo.delivery.delivered}" in out

    with Engine.open("sqlite:///complaints.db", load_entry_points=False) as engine:
        stored = engine.find()
        assert {c.id for c in stored} == {s.complaint.id for s in demo.complaints}
        found = engine.store.find_by_external_id("email", duplicate.external_id)
        assert found is not None
        assert found.id == duplicate.complaint_ids[0]
        for s in demo.complaints:
            assert engine.history(s.complaint.id) == list(s.history)
            statuses = {m.status for m in engine.outbox(s.complaint.id)}
            assert statuses <= {OutboxStatus.DELIVERED}


def test_demo_runs_twice_on_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, captured_demo: list[DemoResult]
) -> None:
    monkeypatch.chdir(tmp_path)
    first = invoke("demo")
    second = invoke("demo")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    one, two = captured_demo
    assert one.run_id != two.run_id
    assert (one.stored_before, one.stored_after) == (0, 5)
    assert (two.stored_before, two.stored_after) == (5, 10)
    assert "5 complaints were there before this run" in flat(second.output)
    assert two.duplicate.complaints == 1
    references = {s.complaint.reference for s in (*one.complaints, *two.complaints)}
    assert len(references) == 10


def test_demo_command_with_a_store_option(captured_demo: list[DemoResult]) -> None:
    result = invoke("demo", "--store", "memory://")
    assert result.exit_code == 0, result.output
    assert captured_demo[0].store_url == "memory://"
    assert "memory:// keeps nothing" in flat(result.output)


# -- show, history, triggers, fire, list on a store made by the test ------------


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store with two complaints: one received, one withdrawn."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = ManualClock(DEMO_START)
    with Engine.open(url, clock=clock, load_entry_points=False) as engine:
        engine.receive(
            Intake(
                channel="email",
                customer=Customer(id="C-1", name="Ada Lovelace", email="ada@example.org"),
                summary="Parcel arrived broken",
                category="delivery",
                external_id="<m-1@example.org>",
            )
        )
        clock.advance(hours=1)
        other = engine.receive(
            Intake(
                channel="letter",
                customer=Customer(id="C-2", name="Ben Carter", postal_address="1 High St"),
                summary="Rude staff",
                category="staff",
            )
        )
        clock.advance(minutes=5)
        engine.assign(other.id, AGENT, actor=AGENT)
        engine.fire(other.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "sorted"})
    return url


def open_engine(url: str) -> Engine:
    return Engine.open(url, load_entry_points=False)


def complaint_ref(url: str, customer: str) -> str:
    with open_engine(url) as engine:
        (found,) = engine.find(customer_id=customer)
        return found.reference


def test_show_prints_the_complaint(store: str) -> None:
    with open_engine(store) as engine:
        (withdrawn,) = engine.find(customer_id="C-2")
    for key in (withdrawn.reference, withdrawn.id):
        result = invoke("show", key, "--store", store)
        assert result.exit_code == 0, result.output
        out = flat(result.output)
        assert withdrawn.reference in out
        assert withdrawn.id in out
        assert f"State {withdrawn.state}" in out
        assert f"Version {withdrawn.version}" in out
        assert "Ben Carter (C-2)" in out
        assert "Reply channel letter" in out
        assert "Bo Agent (agent, rank 1) · bo@example.org" in out
        assert "withdrawal_reason: sorted" in out


def test_history_prints_the_audit_trail(store: str) -> None:
    ref = complaint_ref(store, "C-2")
    result = invoke("history", ref, "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    with open_engine(store) as engine:
        trail = engine.history(ref)
    assert [row["#"] for row in rows] == [str(e.seq) for e in trail]
    assert rows[0]["What"] == "received on letter"
    assert rows[0]["State"] == "→ received"
    assert rows[1]["What"] == "assigned to Bo Agent"
    assert rows[2]["What"] == "withdraw withdrawal_reason: sorted"
    assert rows[2]["State"] == "received → withdrawn"
    assert rows[2]["Actor"] == "Bo Agent agent"
    assert rows[2]["When (UTC)"] == f"{trail[2].at:%a %Y-%m-%d %H:%M}"


def test_narrow_consoles_get_compact_tables(store: str) -> None:
    ref = complaint_ref(store, "C-2")
    narrow = {"COLUMNS": "80"}
    (rows,) = tables(invoke("history", ref, "--store", store, env=narrow).output)
    assert list(rows[0]) == ["#", "When (UTC)", "What"]
    assert rows[2]["What"] == "withdraw received → withdrawn withdrawal_reason: sorted"
    assert rows[2]["When (UTC)"].endswith("Bo Agent agent")
    (listed,) = tables(invoke("list", "--store", store, env=narrow).output)
    assert list(listed[0]) == ["Reference", "State", "Channel", "Customer", "Summary"]
    assert [row["Reference"] for row in listed] == [
        complaint_ref(store, "C-1"),
        complaint_ref(store, "C-2"),
    ]


def test_store_comes_from_the_environment(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke("show", ref, env={cli_module.STORE_ENV: store})
    assert result.exit_code == 0, result.output
    assert ref in result.output


def test_triggers_lists_what_a_role_may_do(store: str) -> None:
    received = complaint_ref(store, "C-1")
    result = invoke("triggers", received, "--role", "agent", "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    tactics = load_pack("tactics")
    with open_engine(store) as engine:
        allowed = engine.triggers(received, Actor(id="x", name="x", role="agent"))
    assert allowed
    assert [row["Trigger"] for row in rows] == allowed
    for row in rows:
        (t,) = [t for t in tactics.transitions if t.trigger == row["Trigger"]]
        assert row["Move"] == f"→ {t.dest}"
        assert row["Needs"] == " ".join([*t.requires, *(f"{g} (guard)" for g in t.guards)])

    withdrawn = complaint_ref(store, "C-2")
    as_agent = invoke("triggers", withdrawn, "--role", "agent", "--store", store)
    assert as_agent.exit_code == 0, as_agent.output
    assert tables(as_agent.output) == []
    assert f"{withdrawn} is withdrawn: nothing role 'agent' may do." in as_agent.output
    assert "reopen: only supervisor, manager" in as_agent.output
    as_manager = invoke("triggers", withdrawn, "--role", "manager", "--store", store)
    assert as_manager.exit_code == 0, as_manager.output
    assert [row["Trigger"] for row in tables(as_manager.output)[0]] == ["reopen"]


def test_fire_moves_the_complaint_and_records_who_and_why(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke(
        "fire",
        ref,
        "thank",
        "--actor-id",
        "A-9",
        "--actor-name",
        "Cy Clerk",
        "--role",
        "agent",
        "--reason",
        "called back",
        "--data",
        "note=a=b",
        "--store",
        store,
    )
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert f"{ref}: thank by Cy Clerk (agent): received → thanked (version 2)" in out
    assert "queued: tell the customer on email (ada@example.org)" in out
    with open_engine(store) as engine:
        complaint = engine.get(ref)
        last = engine.history(ref)[-1]
    assert (complaint.state, complaint.version) == ("thanked", 2)
    assert (last.actor.id, last.actor.name, last.reason) == ("A-9", "Cy Clerk", "called back")
    assert dict(last.data) == {"note": "a=b"}


def actor_args(role: str) -> list[str]:
    return ["--actor-id", "X-1", "--actor-name", "Xi", "--role", role]


@pytest.mark.parametrize(
    ("customer", "trigger", "role", "data"),
    [
        pytest.param("C-2", "reopen", "agent", {"reopen_reason": "back"}, id="role"),
        pytest.param("C-1", "close", "agent", {}, id="not-from-this-state"),
        pytest.param("C-1", "fly_away", "agent", {}, id="unknown-trigger"),
        pytest.param("C-1", "withdraw", "agent", {}, id="missing-field"),
        pytest.param("C-1", "thank", "intern", {}, id="unknown-role"),
    ],
)
def test_fire_refused_prints_the_message_exits_1_and_stores_nothing(
    store: str, customer: str, trigger: str, role: str, data: dict[str, str]
) -> None:
    ref = complaint_ref(store, customer)
    with open_engine(store) as engine:
        before, trail = engine.get(ref), engine.history(ref)
    items = [arg for key, value in data.items() for arg in ("--data", f"{key}={value}")]
    result = invoke("fire", ref, trigger, *actor_args(role), *items, "--store", store)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    with open_engine(store) as engine:
        with pytest.raises(ComplaintFlowError) as refused:
            engine.fire(ref, trigger, actor=Actor(id="X-1", name="Xi", role=role), data=data)
        assert engine.get(ref).version == before.version
        assert engine.history(ref) == trail
    assert f"Error: {refused.value}" in result.output


def test_fire_with_a_stale_expected_version_is_refused(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke(
        "fire", ref, "thank", *actor_args("agent"), "--expected-version", "7", "--store", store
    )
    assert result.exit_code == 1
    assert "no longer at version 7" in result.output
    with open_engine(store) as engine:
        assert engine.get(ref).version == 1


def test_fire_rejects_data_that_is_not_key_value(store: str) -> None:
    ref = complaint_ref(store, "C-1")
    result = invoke("fire", ref, "thank", *actor_args("agent"), "--data", "oops", "--store", store)
    assert result.exit_code == 2
    assert "'oops' is not key=value" in result.output


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1).filter(lambda k: "=" not in k and k.strip()),
            st.text(),
        ),
        max_size=5,
    )
)
def test_parse_data_splits_at_the_first_equals_sign(pairs: list[tuple[str, str]]) -> None:
    expected: dict[str, str] = {}
    for key, value in pairs:
        expected[key.strip()] = value
    assert parse_data([f"{key}={value}" for key, value in pairs]) == expected


@pytest.mark.parametrize("item", ["no-equals", "=value", "  =value"])
def test_parse_data_refuses_items_without_a_key(item: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_data([item])


def test_unknown_complaint_and_unknown_store_are_clean_errors(store: str) -> None:
    missing = invoke("show", "CF-2026-999999", "--store", store)
    assert missing.exit_code == 1
    assert "no complaint 'CF-2026-999999'" in missing.output
    bad_store = invoke("history", "CF-2026-000001", "--store", "nosuch://here")
    assert bad_store.exit_code == 1
    assert "cannot open store 'nosuch://here'" in bad_store.output
    assert "Traceback" not in missing.output + bad_store.output


def test_list_filters_by_state_customer_and_category(store: str) -> None:
    with open_engine(store) as engine:
        everything = engine.find()
    result = invoke("list", "--store", store)
    assert result.exit_code == 0, result.output
    (rows,) = tables(result.output)
    assert [row["Reference"] for row in rows] == [c.reference for c in everything]
    assert [row["State"] for row in rows] == [c.state for c in everything]
    assert [row["Customer"] for row in rows] == [c.customer.name for c in everything]
    for option, value in (("--state", "withdrawn"), ("--customer", "C-2"), ("--category", "staff")):
        filtered = invoke("list", option, value, "--store", store)
        assert filtered.exit_code == 0, filtered.output
        (rows,) = tables(filtered.output)
        assert [row["Reference"] for row in rows] == [complaint_ref(store, "C-2")]
    none = invoke("list", "--state", "closed", "--store", store)
    assert none.exit_code == 0
    assert "No complaints match." in none.output


# -- workflow check / show -----------------------------------------------------

VALID = """
name = "mini"
initial = "open"
roles = ["agent"]
[states.open]
[states.working]
[states.closed]
terminal = true
[[transitions]]
trigger = "start"
source = "open"
dest = "working"
roles = ["agent"]
[[transitions]]
trigger = "close"
source = ["open", "working"]
dest = "closed"
"""

BROKEN = """
name = "broken"
initial = "open"
roles = ["agent"]
[states.open]
[states.stuck]
[states.closed]
terminal = true
[[transitions]]
trigger = "start"
source = "open"
dest = "stuck"
[[transitions]]
trigger = "close"
source = "open"
dest = "nowhere"
roles = ["clerk"]
guards = ["moon_is_full"]
"""


def test_workflow_check_accepts_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(VALID, encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "workflow 'mini' — 3 states (1 terminal), 2 transitions" in flat(result.output)


def test_workflow_check_accepts_the_shipped_tactics_file() -> None:
    tactics = load_pack("tactics")
    with resources.as_file(resources.files("complaint_flow.packs") / "tactics.toml") as path:
        result = invoke("workflow", "check", str(path))
    assert result.exit_code == 0, result.output
    expected = f"{len(tactics.states)} states ({len(tactics.terminal_states)} terminal), "
    assert expected + f"{len(tactics.transitions)} transitions" in flat(result.output)


def test_workflow_check_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    guards = Registry(make_plugin_manager(load_entry_points=False)).guards
    problems = WorkflowDefinition.load(path).problems(guards)
    assert any("unknown destination state 'nowhere'" in p for p in problems)
    assert any("unknown guard 'moon_is_full'" in p for p in problems)
    assert any("unknown role 'clerk'" in p for p in problems)
    assert f"has {len(problems)} problem(s)" in result.output
    for problem in problems:
        assert problem in result.output


def test_workflow_check_reports_a_dead_end(tmp_path: Path) -> None:
    path = tmp_path / "dead.toml"
    path.write_text(VALID.replace('source = ["open", "working"]', 'source = "open"'), "utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    assert "state 'working' is a dead end" in result.output


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        pytest.param(
            'dest = "working"',
            'dest = "closed"',
            "state 'working' is unreachable",
            id="unreachable",
        ),
        pytest.param(
            'source = ["open", "working"]\ndest = "closed"',
            'source = ["open", "working"]\ndest = "closed"\n'
            '[[transitions]]\ntrigger = "close"\nsource = "open"\ndest = "working"',
            "trigger 'close' is defined twice from state 'open'",
            id="duplicate-trigger",
        ),
        pytest.param(
            'source = ["open", "working"]',
            'source = ["open", "limbo"]',
            "unknown source state 'limbo'",
            id="unknown-state",
        ),
        pytest.param(
            "[states.closed]\nterminal = true",
            "[states.closed]",
            "no state is terminal",
            id="no-terminal",
        ),
    ],
)
def test_workflow_check_reports_graph_problems(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in VALID
    path = tmp_path / "wf.toml"
    path.write_text(VALID.replace(old, new), encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "OK" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("name = ", "not valid TOML", id="bad-toml"),
        pytest.param(None, "cannot read the file", id="missing-file"),
        pytest.param('name = "x"\ninitial = "a"\n', "'states' must be", id="shape"),
    ],
)
def test_workflow_check_rejects_unreadable_files(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "wf.toml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = invoke("workflow", "check", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_version_and_help() -> None:
    version = invoke("--version")
    assert version.exit_code == 0
    assert version.output.split()[-1] == complaint_flow.__version__
    help_text = invoke("--help").output
    for command in ("demo", "show", "history", "triggers", "fire", "list", "workflow", "plugins"):
        assert f"  {command} " in help_text


def test_workflow_show_lists_states_and_transitions() -> None:
    result = invoke("workflow", "show", "tactics")
    assert result.exit_code == 0, result.output
    states, transitions = tables(result.output)
    tactics = load_pack("tactics")
    assert [row["State"] for row in states] == list(tactics.state_names)
    terminal = [row["State"] for row in states if row["Kind"] == "terminal"]
    assert terminal == list(tactics.terminal_states)
    assert [row["Trigger"] for row in transitions] == [t.trigger for t in tactics.transitions]
    for row, t in zip(transitions, tactics.transitions, strict=True):
        assert row["Move"].endswith(f"→ {t.dest}")
        assert row["Roles"] == " ".join(t.roles)
        assert row["Description"] == t.description


def test_workflow_show_mermaid_is_the_diagram() -> None:
    result = invoke("workflow", "show", "tactics", "--mermaid")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("stateDiagram-v2")
    assert result.output == to_mermaid(load_pack("tactics"))


def test_workflow_show_reads_a_file_and_refuses_unknown_names(tmp_path: Path) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(VALID, encoding="utf-8")
    from_file = invoke("workflow", "show", str(path), "--mermaid")
    assert from_file.output == to_mermaid(WorkflowDefinition.from_toml(VALID))
    unknown = invoke("workflow", "show", "nope")
    assert unknown.exit_code == 1
    assert "no workflow named 'nope'" in unknown.output


# -- plugins --------------------------------------------------------------------


def test_plugins_lists_hook_implementers_stores_and_channels() -> None:
    result = invoke("plugins")
    assert result.exit_code == 0, result.output
    plugins, stores, channels, workflows, guards = tables(result.output)
    registry = Registry(make_plugin_manager())
    hooks = {row["Plugin"]: row["Hooks"].split(", ") for row in plugins}
    store_plugins = [
        row["name"]
        for row in registry.describe()
        if "complaint_flow_register_stores" in row["hooks"]
    ]
    assert "complaint_flow.stores.plugin" in store_plugins
    for name in store_plugins:
        assert "complaint_flow_register_stores" in hooks[name]
    assert {row["Scheme"] for row in stores} == {f"{scheme}://" for scheme in registry.stores}
    shown = {row["Channel"]: row["Kind"] for row in channels}
    for channel in BUILTIN_CHANNELS:
        assert shown[channel.name] == str(channel.kind)
    assert "tactics" in {row["Workflow"] for row in workflows}
    assert "owner_with_contact" in {row["Guard"] for row in guards}
