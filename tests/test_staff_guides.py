"""Staff guides by rank: built from the workflow, in agreement with what the engine enforces."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import Actor, AuthorityExceededError, Engine, InvalidArgumentError
from complaint_flow.definitions.packs import load_pack, pack_names
from complaint_flow.definitions.remedies import Remedy, check_authority
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.services.staff_guides import guide_for, staff_guide


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.open("memory://", workflow="tactics", load_entry_points=False)


def ranks_of(definition: WorkflowDefinition) -> list[int]:
    assert definition.escalation is not None
    return sorted(
        {level.rank for ladder in definition.escalation.ladders for level in ladder.levels}
    )


@pytest.mark.parametrize("pack", pack_names())
def test_every_rank_of_every_pack_gets_a_guide_that_follows_the_ladders(pack: str) -> None:
    definition = load_pack(pack)
    assert definition.escalation is not None
    for rank in ranks_of(definition):
        guide = guide_for(definition, rank)
        actor = Actor(id="x", name="x", role=guide.role, rank=rank)
        assert [g.ladder for g in guide.ladders] == list(definition.escalation.ladders)
        for ladder_guide in guide.ladders:
            ladder = ladder_guide.ladder
            assert ladder_guide.level == ladder.level_for(actor)
            assert ladder_guide.emergency == ladder.emergency_level
            if ladder_guide.level is None:
                assert ladder_guide.escalate_to == ladder.levels[0]
            elif ladder_guide.level.number == len(ladder.levels):
                assert ladder_guide.escalate_to is None
                assert ladder_guide.above == ()
            else:
                assert ladder_guide.escalate_to == ladder.next_after(ladder_guide.level.number)
        allowed = {
            t.trigger for t in definition.transitions if not t.roles or guide.role in t.roles
        }
        assert {step.trigger for step in guide.steps} == allowed
        assert [d.name for d in guide.deadlines] == [c.name for c in definition.clocks]
        text = guide.to_markdown()
        assert text.startswith(f"# Staff guide: {guide.role}, rank {rank}\n")
        for step in guide.steps:
            assert f"| `{step.trigger}` |" in text


def test_a_role_name_gives_its_lowest_rank(engine: Engine) -> None:
    assert (staff_guide(engine, "supervisor").rank, staff_guide(engine, "supervisor").role) == (
        2,
        "supervisor",
    )
    assert staff_guide(engine, "2").role == "supervisor"
    assert staff_guide(engine, 7).role == "manager"  # above every level: the top one


def test_the_agent_guide_of_tactics(engine: Engine) -> None:
    guide = staff_guide(engine, "agent")
    [ladder] = guide.ladders
    assert ladder.level is not None
    assert ladder.level.title == "Agent"
    assert ladder.escalate_to is not None
    assert ladder.escalate_to.title == "Supervisor (on call)"
    assert ladder.emergency.title == "Supervisor (on call)"
    assert ladder.authority == "may grant up to 25 GBP"
    assert {level.title for level in guide.placeholders} == {
        "Agent",
        "Supervisor (on call)",
        "Complaints manager",
    }
    text = guide.to_markdown()
    assert "Escalate to level 2, Supervisor (on call) (supervisor, rank 2): " in text
    assert "complaints.supervisor@example.org, +44 20 7946 0100 (placeholder contact" in text
    assert "Emergencies (severity emergency) go straight to level 2" in text
    assert "| Resolve and close | 8 weeks (office calendar) |" in text
    assert "escalates one level by itself" in text
    assert "`reopen`" not in text  # supervisors and managers only
    assert "3 contact(s) above are placeholders" in text


def test_the_top_and_the_on_call_levels_are_told_so(engine: Engine) -> None:
    supervisor = staff_guide(engine, "supervisor").to_markdown()
    assert "Emergencies (severity emergency) come to you, at once." in supervisor
    manager = staff_guide(engine, "manager").to_markdown()
    assert "You are at the top of this ladder" in manager
    assert "they reach you when escalated further" in manager
    assert "| `reopen` |" in manager


def test_another_workflow_by_name_or_definition(engine: Engine) -> None:
    by_name = staff_guide(engine.kernel, "agent", "spso")
    assert by_name.workflow == "spso"
    assert staff_guide(engine, "agent", load_pack("spso")) == by_name


@given(amount=st.decimals(min_value=0, max_value=1000, places=2), rank=st.integers(1, 3))
def test_what_the_guide_says_a_rank_may_grant_is_what_the_engine_allows(
    amount: Decimal, rank: int
) -> None:
    definition = load_pack("tactics")
    guide = guide_for(definition, rank)
    [ladder] = guide.ladders
    actor = Actor(id="x", name="x", role=guide.role, rank=rank)
    assert ladder.level is not None
    try:
        check_authority(ladder.ladder, actor, Remedy("refund", amount or Decimal("0.01")))
    except AuthorityExceededError:
        allowed = False
    else:
        allowed = True
    assert allowed == ladder.level.may_grant(amount or Decimal("0.01"))
    deciding = [level for level in ladder.above if level.may_grant(amount or Decimal("0.01"))]
    assert allowed or deciding  # above what it may grant, the guide names who decides


@pytest.mark.parametrize(
    ("rank", "workflow", "message"),
    [
        ("ceo", "tactics", "has no role 'ceo' on its escalation ladders; give one of agent"),
        (0, "tactics", "rank must be a whole number of at least 1"),
        (True, "tactics", "not True or False"),
        (" agent", "tactics", "remove the spaces around it"),
        (2, "tiny", "has no escalation ladder to say what rank 2 is; give a role instead: clerk"),
        ("boss", "tiny", "has no role 'boss'"),
    ],
)
def test_a_rank_that_is_not_one_is_refused(rank: object, workflow: str, message: str) -> None:
    tiny = WorkflowDefinition.from_dict(
        {
            "name": "tiny",
            "initial": "open",
            "roles": ["clerk"],
            "states": {"open": {}, "done": {"terminal": True}},
            "transitions": [{"trigger": "finish", "source": "open", "dest": "done"}],
        }
    )
    definition = tiny if workflow == "tiny" else load_pack(workflow)
    with pytest.raises(InvalidArgumentError, match=message):
        guide_for(definition, rank)  # type: ignore[arg-type]


def test_a_workflow_without_a_ladder_takes_a_role() -> None:
    tiny = WorkflowDefinition.from_dict(
        {
            "name": "tiny",
            "initial": "open",
            "roles": ["clerk"],
            "states": {"open": {}, "done": {"terminal": True}},
            "transitions": [{"trigger": "finish", "source": "open", "dest": "done"}],
        }
    )
    guide = guide_for(tiny, "clerk")
    assert (guide.rank, guide.ladders, [s.trigger for s in guide.steps]) == (1, (), ["finish"])
    assert "This workflow has no escalation ladder." in guide.to_markdown()


def test_a_bare_kernel_needs_the_workflow_named(engine: Engine) -> None:
    with pytest.raises(InvalidArgumentError, match="name the workflow"):
        staff_guide(engine.kernel, "agent")
    with pytest.raises(InvalidArgumentError, match="expected an Engine"):
        staff_guide("engine", "agent")  # type: ignore[arg-type]
