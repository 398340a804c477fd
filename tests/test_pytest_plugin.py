"""The pytest plugin, used the way a host application's test suite uses it.

Each test writes a small test suite with ``pytester`` and runs it in a fresh pytest
session: the fixtures must come from the installed ``pytest11`` entry point, with
no ``conftest.py`` or import naming the plugin.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from complaint_flow.testing.conformance import StoreConformance

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Plugins unrelated to complaint_flow are left out of the inner sessions to keep them fast.
QUIET = ("-p", "no:randomly", "-p", "no:hypothesispytest", "-p", "no:benchmark", "-p", "no:cov")

HOST_TESTS = """
from datetime import UTC, datetime, timedelta

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock
from complaint_flow.testing import CapturedNotifications

ADA = Customer(id="C-1", name="Ada", email="ada@example.org")
BO = Actor(id="A-1", name="Bo", role="agent")


def test_the_fixtures_are_what_the_docs_say(
    complaint_engine, complaint_clock, complaint_notifications, complaint_workflow
):
    assert isinstance(complaint_engine, Engine)
    assert complaint_engine.store.url == "memory://"
    assert complaint_workflow == "tactics"
    assert complaint_engine.default_workflow == "tactics"
    assert isinstance(complaint_clock, ManualClock)
    assert complaint_clock() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert complaint_engine.clock is complaint_clock
    assert isinstance(complaint_notifications, CapturedNotifications)


def test_notifications_are_captured_when_delivered(
    complaint_engine, complaint_clock, complaint_notifications
):
    complaint = complaint_engine.receive(Intake(channel="email", customer=ADA, summary="Late"))
    complaint_clock.advance(hours=3)
    complaint_engine.fire(complaint.id, "thank", actor=BO)
    assert len(complaint_notifications) == 0
    complaint_engine.deliver()
    [message] = complaint_notifications.to("customer")
    assert message.topic == "tactics.thank"
    assert message.created_at == datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_every_test_gets_a_fresh_engine(complaint_engine, complaint_notifications):
    assert complaint_engine.find() == []
    assert complaint_notifications.messages == []
    complaint_engine.receive(Intake(channel="email", customer=ADA, summary="Late"))
    assert len(complaint_engine.find()) == 1
"""


def test_the_fixtures_come_from_the_installed_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=HOST_TESTS)
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=3)


def test_the_engine_is_closed_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_host="""
        import pytest

        from complaint_flow import Customer, Intake, StoreError

        ENGINES = []


        def test_use(complaint_engine):
            ENGINES.append(complaint_engine)


        def test_closed_afterwards():
            intake = Intake(channel="email", customer=Customer(id="C", name="Ada"), summary="x")
            with pytest.raises(StoreError, match="closed"):
                ENGINES[0].receive(intake)
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=2)


def test_overriding_complaint_workflow_runs_the_engine_on_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        from complaint_flow import WorkflowDefinition


        @pytest.fixture
        def complaint_workflow():
            return WorkflowDefinition.from_dict(
                {
                    "name": "callback",
                    "initial": "requested",
                    "states": {"requested": {}, "called": {"terminal": True}},
                    "transitions": [
                        {"trigger": "call", "source": "requested", "dest": "called"}
                    ],
                }
            )
        """
    )
    pytester.makepyfile(
        test_host="""
        from complaint_flow import Actor, Customer, Intake


        def test_a_callback_is_made(complaint_engine):
            customer = Customer(id="C-3", name="Gil", phone="+44 7700 900456")
            complaint = complaint_engine.receive(
                Intake(channel="phone", customer=customer, summary="Call me back")
            )
            agent = Actor(id="A-1", name="Bo", role="agent")
            called = complaint_engine.fire(complaint.id, "call", actor=agent)
            assert (called.workflow, called.state) == ("callback", "called")
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1)


def test_a_registered_workflow_name_can_be_chosen(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_host="""
        import pytest


        @pytest.fixture
        def complaint_workflow():
            return "no_such_workflow"


        def test_unknown(complaint_engine):
            pass
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*UnknownWorkflowError*no_such_workflow*"])


def test_the_plugin_can_be_disabled(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_host="""
        def test_needs_the_engine(complaint_engine):
            pass
        """
    )
    result = pytester.runpytest(*QUIET, "-p", "no:complaint_flow")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'complaint_engine' not found*"])


def conformance_examples() -> list[str]:
    """The ```python blocks of the conformance section of docs/testing.md, as written."""
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    section = text[text.index("## The store conformance suite") :]
    return re.findall(r"^```python\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)


def test_the_documented_conformance_subclasses_pass(pytester: pytest.Pytester) -> None:
    examples = conformance_examples()
    assert len(examples) == 2
    pytester.makepyfile(test_my_store="\n".join(examples))
    result = pytester.runpytest(*QUIET)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == outcomes.get("errors", 0) == 0
    # Both classes ran the whole suite; only the memory store skips the reopening tests.
    reopening = [name for name in dir(StoreConformance) if name.startswith("test_reopen")]
    assert reopening
    assert outcomes["skipped"] == len(reopening)
    assert outcomes["passed"] >= 2 * 30
    result.stdout.no_fnmatch_line("*no tests ran*")
