"""Root causes: the taxonomy as data, and classifying a complaint as an audited event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from complaint_flow import (
    Actor,
    ComplaintNotFoundError,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    ManualClock,
    WorkflowDefinition,
    WorkflowDefinitionError,
    load_pack,
)
from complaint_flow.definitions.root_causes import (
    CAUSE_NAME,
    RootCauseTaxonomy,
    RootCauseTaxonomyError,
    UnknownRootCauseError,
    default_root_causes,
)
from complaint_flow.model.actions import ActionKind
from complaint_flow.services.action_desk import ActionDesk
from complaint_flow.services.root_causes import (
    CLASSIFIED,
    ROOT_CAUSE_KEY,
    classify_root_cause,
    root_cause_history,
    root_cause_of,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BO = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MO = Actor(id="M-1", name="Mo", role="manager", email="mo@example.org")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")

COURIER_CAUSES = """
[root_causes]
title = "Parcel shop causes"

[root_causes.causes.late_courier]
title = "The courier delivered late"
group = "partners"
action = "product or service fault"

[root_causes.causes.wrong_label]
title = "The parcel was labelled wrongly"
group = "warehouse"
action = "procedure"
"""


@pytest.fixture(params=["memory", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    with Engine.open(url, clock=ManualClock(T0), load_entry_points=False) as opened:
        yield opened


def receive(engine: Engine, summary: str = "Parcel late", workflow: str | None = None) -> str:
    intake = Intake(channel="email", customer=ADA, summary=summary, category="delivery")
    return engine.receive(intake, workflow=workflow).id


# -- the taxonomy --------------------------------------------------------------------------


def test_the_default_taxonomy_is_shipped_and_every_cause_suggests_a_known_kind() -> None:
    taxonomy = default_root_causes()
    assert taxonomy is default_root_causes()  # read once
    assert len(taxonomy.causes) == 15
    assert all(CAUSE_NAME.match(name) for name in taxonomy.names)
    assert len(set(taxonomy.names)) == len(taxonomy.names)
    suggested = {cause.action for cause in taxonomy.causes if cause.action is not None}
    assert suggested == set(ActionKind)  # each of the five measures follows from some cause
    assert taxonomy.cause("no_fault_found").action is None
    assert list(taxonomy.groups()) == [
        "process",
        "product",
        "people",
        "standards",
        "customer focus",
        "none",
    ]


def test_a_taxonomy_reads_from_toml_with_kinds_in_words() -> None:
    taxonomy = RootCauseTaxonomy.from_toml(COURIER_CAUSES)
    assert taxonomy.title == "Parcel shop causes"
    assert taxonomy.names == ("late_courier", "wrong_label")
    late = taxonomy.cause("late_courier")
    assert (late.title, late.group, late.action) == (
        "The courier delivered late",
        "partners",
        ActionKind.PRODUCT_OR_SERVICE_FAULT,
    )


def test_an_unknown_cause_lists_the_known_ones() -> None:
    taxonomy = RootCauseTaxonomy.from_toml(COURIER_CAUSES)
    with pytest.raises(UnknownRootCauseError) as raised:
        taxonomy.cause("weather")
    assert isinstance(raised.value, InvalidArgumentError)
    assert isinstance(raised.value, LookupError)
    assert raised.value.known == ("late_courier", "wrong_label")
    assert str(raised.value) == (
        "unknown root cause 'weather'; the known causes of taxonomy 'Parcel shop causes' "
        "are 'late_courier', 'wrong_label'"
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"causes": {"late": {"titel": "x"}}}, "unknown key 'titel' (did you mean 'title'?)"),
        ({"causes": {"late": {}}}, "root_causes.causes.late: 'title' is missing"),
        ({"causes": {"Late Courier": {"title": "x"}}}, "'Late Courier' is not a valid cause"),
        ({"causes": {"late": {"title": "x", "action": "pray"}}}, "'action' must be one of"),
        ({"causes": {"late": {"title": "  "}}}, "'title' must not be blank"),
        ({"causes": {}}, "'causes' is empty"),
        ({}, "'causes' is missing"),
        ({"causes": {"late": {"title": 3}}}, "'title' must be text, got 3"),
    ],
)
def test_a_malformed_taxonomy_says_what_is_wrong(data: object, problem: str) -> None:
    with pytest.raises(RootCauseTaxonomyError) as raised:
        RootCauseTaxonomy.from_dict(data)  # type: ignore[arg-type]
    assert any(problem in found for found in raised.value.problems), raised.value.problems


def test_toml_without_a_root_causes_table_is_refused() -> None:
    with pytest.raises(RootCauseTaxonomyError, match=r"no \[root_causes\] table"):
        RootCauseTaxonomy.from_toml("title = 'x'")
    with pytest.raises(RootCauseTaxonomyError, match="not valid TOML"):
        RootCauseTaxonomy.from_toml("[root_causes")


def courier_workflow_source() -> str:
    """The TACTICS pack's TOML, renamed ``couriers``."""
    pack = Path(__file__).parent.parent / "src/complaint_flow/definitions/packs/tactics.toml"
    return pack.read_text(encoding="utf-8").replace('name = "tactics"', 'name = "couriers"', 1)


def courier_workflow() -> WorkflowDefinition:
    """The TACTICS pack with the parcel shop's causes."""
    return WorkflowDefinition.from_toml(courier_workflow_source() + COURIER_CAUSES)


def test_a_workflow_carries_its_taxonomy_and_its_problems_are_the_workflows() -> None:
    definition = courier_workflow()
    assert definition.root_causes is not None
    assert definition.root_causes.names == ("late_courier", "wrong_label")
    assert load_pack("tactics").root_causes is None
    broken = COURIER_CAUSES.replace('action = "procedure"', 'action = "luck"')
    with pytest.raises(WorkflowDefinitionError) as raised:
        WorkflowDefinition.from_toml(courier_workflow_source() + broken)
    assert any("root_causes.causes.wrong_label: 'action'" in p for p in raised.value.problems)


# -- classifying ----------------------------------------------------------------------------


def test_classifying_records_an_event_and_keeps_the_cause_on_the_complaint(engine: Engine) -> None:
    complaint_id = receive(engine)
    before = engine.get(complaint_id)
    classified = classify_root_cause(
        engine.kernel, before.reference, "supplier_failure", BO, "Courier lost it"
    )
    assert classified.version == before.version + 1
    assert root_cause_of(classified) == {
        "cause": "supplier_failure",
        "title": "A supplier or partner failed",
        "group": "product",
        "action": "product_or_service_fault",
        "by": "A-1",
        "at": T0.isoformat(),
    }
    event = engine.history(complaint_id)[-1]
    assert (event.kind, event.actor, event.reason) == (CLASSIFIED, BO, "Courier lost it")
    assert event.data["cause"] == "supplier_failure"
    assert event.data["previous"] is None
    assert engine.get(complaint_id) == classified
    assert engine.verify_audit(complaint_id).ok


def test_the_same_cause_again_records_nothing(engine: Engine) -> None:
    complaint_id = receive(engine)
    first = classify_root_cause(engine.kernel, complaint_id, "too_slow", BO)
    again = classify_root_cause(engine.kernel, complaint_id, "too_slow", MO, "again")
    assert again == first
    assert [e.kind for e in engine.history(complaint_id)].count(CLASSIFIED) == 1


def test_reclassifying_needs_a_reason_and_keeps_the_history(engine: Engine) -> None:
    complaint_id = receive(engine)
    classify_root_cause(engine.kernel, complaint_id, "too_slow", BO)
    before = engine.get(complaint_id)
    with pytest.raises(InvalidArgumentError, match="give a reason to reclassify it"):
        classify_root_cause(engine.kernel, complaint_id, "staff_knowledge", MO)
    assert engine.get(complaint_id) == before
    after = classify_root_cause(
        engine.kernel, complaint_id, "staff_knowledge", MO, "Slow because nobody knew how"
    )
    assert root_cause_of(after) is not None
    assert after.data[ROOT_CAUSE_KEY]["cause"] == "staff_knowledge"
    history = root_cause_history(engine.kernel, complaint_id)
    assert [(e.data["cause"], e.data["previous"], e.actor.id) for e in history] == [
        ("too_slow", None, "A-1"),
        ("staff_knowledge", "too_slow", "M-1"),
    ]
    assert engine.verify_audit(complaint_id).ok


def test_an_unknown_cause_is_refused_and_nothing_is_written(engine: Engine) -> None:
    complaint_id = receive(engine)
    before = engine.history(complaint_id)
    with pytest.raises(UnknownRootCauseError) as raised:
        classify_root_cause(engine.kernel, complaint_id, "weather", BO)
    assert "'procedure_missing', 'procedure_not_followed'" in str(raised.value)
    assert engine.history(complaint_id) == before


def test_arguments_are_checked_before_anything_is_read(engine: Engine) -> None:
    complaint_id = receive(engine)
    for call in (
        lambda: classify_root_cause(engine.kernel, complaint_id, "", BO),
        lambda: classify_root_cause(engine.kernel, complaint_id, "too_slow", "bo"),  # type: ignore[arg-type]
        lambda: classify_root_cause(engine.kernel, complaint_id, "too_slow", BO, 3),  # type: ignore[arg-type]
        lambda: classify_root_cause(
            engine.kernel,
            complaint_id,
            "too_slow",
            BO,
            taxonomy={"causes": {}},  # type: ignore[arg-type]
        ),
    ):
        with pytest.raises(InvalidArgumentError):
            call()
    with pytest.raises(ComplaintNotFoundError):
        classify_root_cause(engine.kernel, "CF-2026-999999", "too_slow", BO)


def test_the_workflows_taxonomy_applies_and_the_hosts_overrides_it(engine: Engine) -> None:
    engine.registry.workflows["couriers"] = courier_workflow()
    complaint_id = receive(engine, workflow="couriers")
    with pytest.raises(UnknownRootCauseError, match="'late_courier', 'wrong_label'"):
        classify_root_cause(engine.kernel, complaint_id, "too_slow", BO)
    classified = classify_root_cause(engine.kernel, complaint_id, "late_courier", BO)
    assert classified.data[ROOT_CAUSE_KEY]["group"] == "partners"

    host = RootCauseTaxonomy.from_dict({"causes": {"weather": {"title": "Snow"}}})
    desk = ActionDesk(engine, taxonomy=host)
    assert desk.causes(complaint_id) == host
    reclassified = desk.classify(complaint_id, "weather", actor=MO, reason="It snowed")
    assert reclassified.data[ROOT_CAUSE_KEY]["cause"] == "weather"
    assert ActionDesk(engine).causes(complaint_id).names == ("late_courier", "wrong_label")
    assert ActionDesk(engine).causes(workflow="couriers").title == "Parcel shop causes"
    assert ActionDesk(engine).causes() == default_root_causes()
    # The default workflow (TACTICS) has none of its own: complaint_flow's default.
    other = receive(engine, "Rude agent")
    assert ActionDesk(engine).causes(other) == default_root_causes()
