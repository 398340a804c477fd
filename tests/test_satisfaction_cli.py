"""``complaint-flow satisfaction`` and ``complaint-flow guide`` on a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from complaint_flow import Actor, Customer, Engine, Intake
from complaint_flow.cli.guide import guide
from complaint_flow.cli.satisfaction import satisfaction
from complaint_flow.model.satisfaction import SurveyStatus, survey_of
from complaint_flow.services.satisfaction import survey_opted_out

BO = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")
STEPS = [
    ("thank", {}),
    ("apologise", {}),
    ("collect_information", {"facts": "box crushed"}),
    ("take_action", {"action": "send a new one"}),
    ("put_it_right", {}),
    ("confirm_satisfied", {"customer_feedback": "Happy now"}),
    ("summarise", {"resolution": "replaced", "timeline": "2 days"}),
    ("close", {}),
]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'complaints.db'}"


@pytest.fixture
def closed(store_url: str) -> str:
    """The reference of a closed complaint whose survey is open (sent just now)."""
    with Engine.open(store_url, load_entry_points=False) as engine:
        complaint = engine.receive(
            Intake(channel="email", customer=ADA, summary="Broken", category="delivery")
        )
        engine.assign(complaint.id, BO, actor=BO, reason="mine")
        for trigger, data in STEPS:
            engine.fire(complaint.id, trigger, actor=BO, data=data)
        return complaint.reference


def run(command: object, *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(command, list(arguments), env={"COLUMNS": "120"})  # type: ignore[arg-type]
    return result.exit_code, result.output


def test_answer_needs_the_customer_and_how_they_were_authenticated(
    store_url: str, closed: str
) -> None:
    code, output = run(satisfaction, "answer", closed, "--score", "4", "--store", store_url)
    assert code == 2
    assert "--customer" in output
    code, output = run(
        satisfaction,
        "answer",
        closed,
        "--score",
        "4",
        "--comment",
        "Quick",
        "--customer",
        "C-9",
        "--verified-by",
        "signed survey link",
        "--store",
        store_url,
    )
    assert code == 1
    assert "only the complaint's own customer may answer" in output
    code, output = run(
        satisfaction,
        "answer",
        closed,
        "--score",
        "4",
        "--comment",
        "Quick",
        "--customer",
        "C-1",
        "--verified-by",
        "signed survey link",
        "--store",
        store_url,
    )
    assert code == 0, output
    assert f"Recorded 4/5 for {closed}" in output
    assert "answered" in output
    assert "Quick" in output
    with Engine.open(store_url, load_entry_points=False) as engine:
        survey = survey_of(engine.get(closed))
    assert survey is not None
    assert (survey.status, survey.score) == (SurveyStatus.ANSWERED, 4)
    code, output = run(
        satisfaction,
        "answer",
        closed,
        "--score",
        "5",
        "--customer",
        "C-1",
        "--verified-by",
        "portal",
        "--store",
        store_url,
    )
    assert code == 1
    assert "one answer per complaint" in output


def test_a_score_out_of_range_is_refused_by_the_command_line(store_url: str, closed: str) -> None:
    code, output = run(
        satisfaction,
        "answer",
        closed,
        "--score",
        "6",
        "--customer",
        "C-1",
        "--verified-by",
        "portal",
        "--store",
        store_url,
    )
    assert code == 2
    assert "6 is not in the range 1<=x<=5" in output


def test_show_prints_the_check_answer_and_the_survey(store_url: str, closed: str) -> None:
    code, output = run(satisfaction, "show", closed, "--store", store_url)
    assert code == 0, output
    assert "satisfied" in output
    assert "Happy now" in output
    assert "open" in output
    assert "Expires" in output
    assert "Reminder due" in output


def test_opt_out_and_opt_in(store_url: str, closed: str) -> None:
    code, output = run(
        satisfaction,
        "opt-out",
        "C-1",
        "--actor-id",
        "A-1",
        "--reason",
        "asked by phone",
        "--store",
        store_url,
    )
    assert code == 0, output
    assert "wants no more surveys" in output
    with Engine.open(store_url, load_entry_points=False) as engine:
        assert survey_opted_out(engine, "C-1")
    code, output = run(
        satisfaction,
        "opt-in",
        "C-1",
        "--actor-id",
        "A-1",
        "--reason",
        "asked by email",
        "--store",
        store_url,
    )
    assert code == 0
    assert "wants surveys again" in output
    with Engine.open(store_url, load_entry_points=False) as engine:
        assert not survey_opted_out(engine, "C-1")
    code, output = run(
        satisfaction,
        "opt-out",
        "C-404",
        "--actor-id",
        "A-1",
        "--reason",
        "x",
        "--store",
        store_url,
    )
    assert code == 1
    assert "has no complaint in this store" in output


def test_csat_as_a_table_and_as_json(store_url: str, closed: str) -> None:
    code, output = run(satisfaction, "csat", "--store", store_url)
    assert code == 0
    assert "No survey answers" in output
    run(
        satisfaction,
        "answer",
        closed,
        "--score",
        "5",
        "--customer",
        "C-1",
        "--verified-by",
        "portal",
        "--store",
        store_url,
    )
    code, output = run(
        satisfaction, "csat", "--by", "category", "--period", "year", "--store", store_url
    )
    assert code == 0, output
    assert "delivery" in output
    assert "100.0" in output
    assert "5.00" in output
    code, output = run(satisfaction, "csat", "--by", "channel", "--json", "--store", store_url)
    [row] = json.loads(output)
    assert row["channel"] == "email"
    assert (row["answers"], row["csat"], row["by_score"]) == (1, 100.0, [0, 0, 0, 0, 1])
    code, output = run(satisfaction, "csat", "--by", "severity", "--store", store_url)
    assert code == 2


def test_guide_by_role_and_by_rank() -> None:
    code, output = run(guide, "--rank", "agent")
    assert code == 0, output
    assert "Staff guide: agent, rank 1" in output
    assert "Supervisor (on call)" in output
    assert "placeholder" in output
    assert "may grant up to 25 GBP" in output
    code, output = run(guide, "--rank", "3", "--markdown")
    assert code == 0, output
    assert output.startswith("# Staff guide: manager, rank 3\n")
    assert "You are at the top of this ladder" in output
    assert "| `reopen` |" in output


def test_guide_of_another_workflow_and_from_a_file(tmp_path: Path) -> None:
    code, output = run(guide, "--rank", "1", "--workflow", "spso", "--markdown")
    assert code == 0, output
    assert "spso" in output
    path = tmp_path / "tiny.toml"
    path.write_text(
        'name = "tiny"\ninitial = "open"\nroles = ["clerk"]\n[states.open]\n'
        "[states.done]\nterminal = true\n"
        '[[transitions]]\ntrigger = "finish"\nsource = "open"\ndest = "done"\n'
        'roles = ["clerk"]\n',
        encoding="utf-8",
    )
    code, output = run(guide, "--rank", "clerk", "--workflow", str(path), "--markdown")
    assert code == 0, output
    assert "This workflow has no escalation ladder." in output
    assert "`finish`" in output


def test_guide_refuses_an_unknown_rank_or_workflow() -> None:
    code, output = run(guide, "--rank", "ceo")
    assert code == 1
    assert "no role 'ceo'" in output
    assert "agent (rank 1)" in output
    code, output = run(guide, "--rank", "agent", "--workflow", "nope")
    assert code == 1
    assert "no workflow named 'nope'" in output
