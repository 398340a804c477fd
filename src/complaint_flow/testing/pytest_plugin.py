"""pytest fixtures for host applications (registered through the ``pytest11`` entry point).

``complaint_engine`` is an in-memory engine whose time is ``complaint_clock``
and whose notifications land in ``complaint_notifications``. Override the
``complaint_workflow`` fixture to run your own workflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.engine import Engine
from complaint_flow.model.clock import ManualClock
from complaint_flow.testing.capture import CapturedNotifications

CLOCK_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Where ``complaint_clock`` starts: a Monday, 09:00 UTC."""


@pytest.fixture
def complaint_clock() -> ManualClock:
    """A clock that moves only when the test says so (``advance(days=3)``)."""
    return ManualClock(CLOCK_START)


@pytest.fixture
def complaint_notifications() -> CapturedNotifications:
    """Every notification the engine delivers, kept for assertions."""
    return CapturedNotifications()


@pytest.fixture
def complaint_workflow() -> str | WorkflowDefinition:
    """The workflow ``complaint_engine`` uses; override to test your own."""
    return "tactics"


@pytest.fixture
def complaint_engine(
    complaint_clock: ManualClock,
    complaint_notifications: CapturedNotifications,
    complaint_workflow: str | WorkflowDefinition,
) -> Iterator[Engine]:
    """An engine on a fresh ``memory://`` store, without installed plugins."""
    engine = Engine.open(
        "memory://",
        workflow=complaint_workflow,
        clock=complaint_clock,
        plugins=[complaint_notifications],
        load_entry_points=False,
    )
    try:
        yield engine
    finally:
        engine.close()
