"""Stateful property test: the engine against a plain model of the TACTICS rules.

Whatever sequence of intakes, triggers, actors and data hypothesis tries, the
engine accepts exactly what the model accepts, refuses the rest with the right
error, and a refused call leaves the stored complaint, its events and its
outbox exactly as they were.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from complaint_flow import (
    Actor,
    ComplaintFlowError,
    Customer,
    Engine,
    EscalationError,
    GuardRefusedError,
    Intake,
    ManualClock,
    MissingFieldError,
    PermissionDeniedError,
    TriggerNotAllowedError,
    UnknownTriggerError,
)
from complaint_flow.definitions.packs import load_pack
from complaint_flow.definitions.workflow import ESCALATE_TRIGGER

# The core rules, without the satisfaction section's own events (the check step's
# answer, the survey): tests/test_satisfaction_properties.py checks those.
TACTICS = attrs.evolve(load_pack("tactics"), satisfaction=None)
TRIGGERS = [*TACTICS.triggers, "thnak"]
assert TACTICS.escalation is not None
LADDER_TOP = len(TACTICS.escalation.default_ladder.levels)
ROLES = ["agent", "supervisor", "manager", "auditor"]
FIELDS = sorted({key for t in TACTICS.transitions for key in t.requires})
OWNERS = [
    Actor(id="O-1", name="Reachable", role="agent", email="o1@example.org"),
    Actor(id="O-2", name="Unreachable", role="agent"),
]


def store_urls() -> list[str]:
    urls = ["memory://"]
    try:
        import complaint_flow.storage.sqlite  # noqa: F401
    except ImportError:
        pass
    else:
        urls.append("sqlite")
    return urls


class EngineAgainstModel(RuleBasedStateMachine):
    url = "memory://"
    complaints = Bundle("complaints")

    @initialize()
    def open_engine(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        url = self.url
        if url == "sqlite":
            url = f"sqlite:///{Path(self.tmp.name) / 'p.db'}?synchronous=OFF"
        self.clock = ManualClock()
        self.engine = Engine.open(url, workflow=TACTICS, clock=self.clock, load_entry_points=False)
        # model: id -> (state, version, data keys, owner)
        self.model: dict[str, dict[str, Any]] = {}
        self.by_message: dict[str, str] = {}

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.close()
            self.tmp.cleanup()

    @rule(
        target=complaints,
        message=st.sampled_from([None, "m1", "m2", "m3"]),
        channel=st.sampled_from(["email", "letter", "phone"]),
    )
    def receive(self, message: str | None, channel: str) -> str:
        self.clock.advance(minutes=1)
        complaint = self.engine.receive(
            Intake(
                channel=channel,
                customer=Customer(id="C", name="Cy", email="c@example.org"),
                summary="s",
                external_id=message,
            )
        )
        key = f"{channel}:{message}"
        if message is not None and key in self.by_message:
            assert complaint.id == self.by_message[key]
        else:
            assert complaint.id not in self.model
            self.model[complaint.id] = {
                "state": "received",
                "version": 1,
                "data": set(),
                "owner": None,
                "level": 1,
            }
            if message is not None:
                self.by_message[key] = complaint.id
        return complaint.id

    @rule(complaint_id=complaints, owner=st.sampled_from(OWNERS))
    def assign(self, complaint_id: str, owner: Actor) -> None:
        self.engine.assign(complaint_id, owner, actor=OWNERS[0])
        self.model[complaint_id]["owner"] = owner
        self.model[complaint_id]["version"] += 1

    @rule(
        complaint_id=complaints,
        trigger=st.sampled_from(TRIGGERS),
        role=st.sampled_from(ROLES),
        given=st.sets(st.sampled_from(FIELDS), max_size=3),
    )
    def fire(self, complaint_id: str, trigger: str, role: str, given: set[str]) -> None:
        entry = self.model[complaint_id]
        expected = self.expected_outcome(entry, trigger, role, given)
        before = (
            self.engine.get(complaint_id),
            self.engine.history(complaint_id),
            self.engine.outbox(complaint_id),
        )
        actor = Actor(id="X", name="X", role=role)
        try:
            after = self.engine.fire(
                complaint_id, trigger, actor=actor, data=dict.fromkeys(given, "v")
            )
        except ComplaintFlowError as exc:
            assert isinstance(exc, expected), (exc, expected)  # noqa: PT017  # type: ignore[arg-type]
            assert before == (
                self.engine.get(complaint_id),
                self.engine.history(complaint_id),
                self.engine.outbox(complaint_id),
            )
            return
        assert isinstance(expected, str), f"expected {expected}, the engine accepted"
        assert after.state == expected
        entry["state"] = expected
        entry["version"] += 1
        entry["data"] |= given
        if trigger == ESCALATE_TRIGGER:
            # Escalating also climbs the ladder: an event of its own.
            entry["version"] += 1
            entry["level"] += 1
            assert after.escalation_level == entry["level"]

    @staticmethod
    def expected_outcome(
        entry: dict[str, Any], trigger: str, role: str, given: set[str]
    ) -> str | type[ComplaintFlowError]:
        if trigger not in TACTICS.triggers:
            return UnknownTriggerError
        matches = [
            t for t in TACTICS.transitions if t.trigger == trigger and entry["state"] in t.sources
        ]
        if not matches:
            return TriggerNotAllowedError
        [transition] = matches
        if transition.roles and role not in transition.roles:
            return PermissionDeniedError
        if set(transition.requires) - given - entry["data"]:
            return MissingFieldError
        owner = entry["owner"]
        if "owner_with_contact" in transition.guards and (owner is None or not owner.has_contact):
            return GuardRefusedError
        if trigger == ESCALATE_TRIGGER and entry["level"] == LADDER_TOP:
            return EscalationError
        return transition.dest

    @invariant()
    def stored_matches_model(self) -> None:
        if not hasattr(self, "engine"):
            return
        for complaint_id, entry in self.model.items():
            complaint = self.engine.get(complaint_id)
            history = self.engine.history(complaint_id)
            assert complaint.state == entry["state"]
            assert complaint.version == entry["version"] == len(history)
            assert [e.seq for e in history] == list(range(1, len(history) + 1))
            assert set(complaint.data) == entry["data"]


@pytest.mark.parametrize("url", store_urls())
def test_engine_matches_model(url: str) -> None:
    machine = type(f"EngineAgainstModel_{url.strip(':/')}", (EngineAgainstModel,), {"url": url})
    settings_ = settings(
        max_examples=60 if url == "memory://" else 25, deadline=None, stateful_step_count=30
    )
    machine.TestCase.settings = settings_
    machine.TestCase().runTest()
