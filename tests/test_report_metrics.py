"""The report's figures equal those worked out naively from the event log, in every store.

Random histories are driven through a real engine (TACTICS and FCA complaints,
steps, owners, escalations, remedies, extensions, sweeps, reopenings,
withdrawals, informal complaints), then every figure of ``compute_metrics`` is
compared with a plain recomputation from ``engine.history()`` and the workflows'
definitions, written here without the library's report code.
"""

from __future__ import annotations

import contextlib
import math
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    ComplaintFlowError,
    Customer,
    Engine,
    Intake,
    ManualClock,
    Remedy,
)
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.model.entities import Complaint, Event
from complaint_flow.services.reporting.metrics import (
    INFORMAL_TEAM,
    NO_TEAM,
    Metrics,
    compute_metrics,
)
from complaint_flow.services.reporting.quantiles import exact_quantile, reported_quantile
from complaint_flow.services.reporting.working_time import WorkingTime

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 4, 15, tzinfo=UTC)
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=3, email="mo@example.org")
AGENTS = [
    Actor(id=f"A-{n}", name=f"Agent {n}", role="agent", email=f"a{n}@example.org") for n in range(3)
]
TEAMS = {"A-0": "north", "A-1": "south", "M-1": "managers"}
OUTCOME_WORDS = ["upheld", "Partly upheld", "not-upheld", "partially_upheld", "maybe"]

_FIRE = st.tuples(st.just("fire"), st.integers(min_value=0, max_value=9))
_ACTION = st.one_of(
    _FIRE,
    _FIRE,
    _FIRE,
    st.tuples(st.just("assign"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("remedy"), st.sampled_from(["refund", "repair", "goodwill_payment"])),
    st.tuples(st.just("extend"), st.integers(min_value=0, max_value=2)),
    st.tuples(st.just("sweep")),
)
_COMPLAINT = st.fixed_dictionaries(
    {
        "workflow": st.sampled_from(["tactics", "tactics", "fca"]),
        "after": st.integers(min_value=0, max_value=300),  # hours after the previous one
        "category": st.sampled_from(["billing", "delivery", "app"]),
        "channel": st.sampled_from(["email", "phone", "letter"]),
        "customer": st.integers(min_value=0, max_value=3),
        "informal": st.booleans(),
        "steps": st.lists(st.tuples(st.integers(min_value=0, max_value=60), _ACTION), max_size=12),
    }
)


def drive(engine: Engine, clock: ManualClock, plan: list[dict[str, Any]], seed: int) -> list[str]:
    """Take the planned complaints through the engine; their ids."""
    chooser = random.Random(seed)
    ids = []
    for spec in plan:
        clock.advance(hours=spec["after"])
        recorder = AGENTS[spec["customer"] % len(AGENTS)]
        complaint = engine.receive(
            Intake(
                channel=spec["channel"],
                customer=Customer(id=f"C-{spec['customer']}", name="Ada", email="ada@example.org"),
                summary="Late parcel",
                category=spec["category"],
                informal=spec["informal"],
                recorded_by=recorder if spec["informal"] else None,
            ),
            workflow=spec["workflow"],
        )
        ids.append(complaint.id)
        if spec["informal"]:
            # The recorder also owns it: still nobody's in the figures.
            engine.assign(complaint.id, recorder, actor=MANAGER)
        for hours, action in spec["steps"]:
            clock.advance(hours=hours)
            # A refusal (a guard, the top of the ladder…) writes nothing: go on.
            with contextlib.suppress(ComplaintFlowError):
                act(engine, complaint.id, action, chooser)
    clock.advance(days=3)
    return ids


def act(engine: Engine, complaint_id: str, action: tuple[Any, ...], chooser: random.Random) -> None:
    complaint = engine.get(complaint_id)
    definition = engine.workflow(complaint.workflow)
    if action[0] == "fire":
        available = [t for t in definition.transitions if complaint.state in t.sources]
        if not available:
            return
        transition = available[action[1] % len(available)]
        data = dict.fromkeys(transition.requires, "noted")
        if chooser.random() < 0.6:
            data["outcome"] = chooser.choice(OUTCOME_WORDS)
        engine.fire(complaint_id, transition.trigger, actor=MANAGER, data=data)
    elif action[0] == "assign":
        engine.assign(complaint_id, [*AGENTS, MANAGER][action[1]], actor=MANAGER)
    elif action[0] == "remedy":
        amount = None if action[1] == "repair" else f"{chooser.randrange(1, 90)}.50"
        engine.grant_remedy(complaint_id, Remedy(action[1], amount), actor=MANAGER)
    elif action[0] == "extend":
        clocks = [c.name for c in definition.clocks]
        engine.extend_clock(
            complaint_id,
            clocks[action[1] % len(clocks)],
            until="1 working day",
            actor=MANAGER,
            reason="agreed with the customer",
        )
    else:
        engine.sweep()


# -- the naive model ------------------------------------------------------------------


def settled_states(definition: WorkflowDefinition) -> set[str]:
    terminal = set(definition.terminal_states)
    settled = set(terminal)
    for state in definition.state_names:
        leaving = [t.dest for t in definition.transitions if state in t.sources]
        if leaving and all(dest in terminal for dest in leaving):
            settled.add(state)
    return settled


def outcome(complaint: Complaint) -> str:
    word = str(complaint.data.get("outcome", "")).lower().replace("-", " ").replace("_", " ")
    word = " ".join(word.split())
    if word in ("upheld", "not upheld"):
        return word.replace(" ", "_")
    if word in ("partly upheld", "partially upheld"):
        return "partly_upheld"
    return "withdrawn" if complaint.state == "withdrawn" else "not_recorded"


def naive(engine: Engine, ids: list[str], now: datetime) -> dict[tuple[str, str], dict[str, Any]]:
    """Every group's figures, from the event log, the obvious way."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    complaints = [engine.get(i) for i in ids]
    everyone = {c.id: c for c in complaints}
    for complaint in complaints:
        if not SINCE <= complaint.received_at < UNTIL:
            continue
        definition = engine.workflow(complaint.workflow)
        history: list[Event] = engine.history(complaint.id)
        answers = {t.trigger for t in definition.transitions if "customer" in t.notify}
        settled = settled_states(definition)
        clock_calendar = definition.calendar(definition.clocks[0].calendar)
        responded = None
        responses = 0
        first_resolved = None
        since_resolved = None
        reopens = 0
        remedies = []
        level = complaint.escalation_level
        for event in history:
            if event.kind == "transition":
                if event.trigger in answers:
                    responded = responded or event.at
                    if first_resolved is None:
                        responses += 1
                if event.dest in settled:
                    since_resolved = since_resolved or event.at
                    first_resolved = first_resolved or event.at
                else:
                    reopens += event.source in settled
                    since_resolved = None
            elif event.kind == "remedy_granted":
                remedies.append(event.data)
        resolved = since_resolved if complaint.state in settled else None
        earlier = [
            other
            for other in everyone.values()
            if other.customer.id == complaint.customer.id
            and (other.received_at, other.id) < (complaint.received_at, complaint.id)
            and other.received_at >= complaint.received_at - timedelta(days=365)
        ]
        result = outcome(complaint)
        if complaint.informal:
            team = INFORMAL_TEAM
        elif complaint.owner is not None and complaint.owner.id in TEAMS:
            team = TEAMS[complaint.owner.id]
        else:
            team = complaint.department or NO_TEAM
        week = (complaint.received_at - datetime(2026, 2, 23, tzinfo=UTC)).days // 7
        label = f"2026-W{9 + week:02d}"
        for key in (
            ("all", "all"),
            ("period", label),
            ("category", complaint.category),
            ("channel", complaint.channel),
            ("team", team),
        ):
            g = groups.setdefault(
                key,
                {
                    "received": 0,
                    "ack": [],
                    "ack_w": [],
                    "res": [],
                    "res_w": [],
                    "fcr": 0,
                    "fcr_base": 0,
                    "ever": 0,
                    "reopened": 0,
                    "repeat_customer": 0,
                    "repeat_category": 0,
                    "outcomes": {},
                    "escalated": {},
                    "remedies": 0,
                    "redress": {},
                    "clocks": {},
                },
            )
            g["received"] += 1
            if responded is not None:
                g["ack"].append((responded - complaint.received_at).total_seconds())
                g["ack_w"].append(
                    clock_calendar.working_time_between(
                        complaint.received_at, responded
                    ).total_seconds()
                )
            if resolved is not None:
                g["res"].append((resolved - complaint.received_at).total_seconds())
                g["res_w"].append(
                    clock_calendar.working_time_between(
                        complaint.received_at, resolved
                    ).total_seconds()
                )
                g["outcomes"][result] = g["outcomes"].get(result, 0) + 1
                if result != "withdrawn":
                    g["fcr_base"] += 1
                    g["fcr"] += reopens == 0 and responses <= 1
            g["ever"] += first_resolved is not None
            g["reopened"] += reopens > 0
            g["repeat_customer"] += bool(earlier)
            g["repeat_category"] += any(o.category == complaint.category for o in earlier)
            for reached in range(2, level + 1):
                g["escalated"][reached] = g["escalated"].get(reached, 0) + 1
            g["remedies"] += len(remedies)
            for remedy in remedies:
                if remedy["kind"] in ("refund", "price_reduction", "goodwill_payment"):
                    g["redress"]["GBP"] = g["redress"].get("GBP", Decimal(0)) + Decimal(
                        remedy["amount"]
                    )
            for clock in complaint.clocks:
                name = f"{complaint.workflow}.{clock.name}"
                if clock.breached:
                    verdict = "missed"
                elif clock.stopped_at is not None:
                    verdict = "met" if clock.stopped_at <= clock.deadline else "missed"
                else:
                    verdict = "missed" if now > clock.deadline else "pending"
                counts = g["clocks"].setdefault(name, {"met": 0, "missed": 0, "pending": 0})
                counts[verdict] += 1
    return groups


def quantiles(values: list[float]) -> tuple[float | None, float | None]:
    return reported_quantile(values, 0.5), reported_quantile(values, 0.9)


def assert_metrics_match(metrics: Metrics, expected: dict[tuple[str, str], dict[str, Any]]) -> None:
    found = {(g.dimension, g.group): g for g in metrics.groups if g.received}
    assert set(found) == set(expected)
    for key, wanted in expected.items():
        g = found[key]
        assert g.received == wanted["received"], key
        assert g.acknowledged == len(wanted["ack"])
        assert (g.acknowledge_median, g.acknowledge_p90) == quantiles(wanted["ack"])
        assert (g.acknowledge_working_median, g.acknowledge_working_p90) == quantiles(
            wanted["ack_w"]
        )
        assert g.resolved == len(wanted["res"])
        assert (g.resolve_median, g.resolve_p90) == quantiles(wanted["res"])
        assert (g.resolve_working_median, g.resolve_working_p90) == quantiles(wanted["res_w"])
        assert (g.first_contact_resolutions, g.first_contact_base) == (
            wanted["fcr"],
            wanted["fcr_base"],
        )
        assert (g.ever_resolved, g.reopened) == (wanted["ever"], wanted["reopened"])
        assert (g.repeat_customer, g.repeat_category) == (
            wanted["repeat_customer"],
            wanted["repeat_category"],
        )
        assert {k: v for k, v in g.outcomes.items() if v} == wanted["outcomes"]
        assert dict(g.escalated) == wanted["escalated"]
        assert g.remedies == wanted["remedies"]
        assert dict(g.redress) == wanted["redress"]
        clocks = {
            c.clock: {"met": c.met, "missed": c.missed, "pending": c.pending} for c in g.clocks
        }
        assert clocks == wanted["clocks"], key


# -- the stores ---------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """A function giving a fresh store URL of the parameter's kind for each example."""
    if request.param == "memory":
        yield lambda: "memory://"
    elif request.param == "sqlite":
        yield lambda: f"sqlite:///{tmp_path / uuid.uuid4().hex}.db?synchronous=OFF"
    else:
        base = request.getfixturevalue("postgres_url")
        schemas: list[str] = []

        def fresh() -> str:
            schemas.append(f"cf_test_reports_{uuid.uuid4().hex[:10]}")
            return f"{base}{'&' if '?' in base else '?'}schema={schemas[-1]}"

        yield fresh
        import psycopg

        with psycopg.connect(base, autocommit=True) as connection:
            for schema in schemas:
                connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=st.lists(_COMPLAINT, min_size=1, max_size=7), seed=st.integers(0, 1000))
@pytest.mark.filterwarnings("ignore::complaint_flow.PlaceholderContactWarning")
def test_figures_equal_the_event_log_worked_out_by_hand(
    store_url: Callable[[], str], plan: list[dict[str, Any]], seed: int
) -> None:
    clock = ManualClock(START)
    engine = Engine.open(store_url(), load_entry_points=False, clock=clock)
    try:
        ids = drive(engine, clock, plan, seed)
        metrics = compute_metrics(engine, SINCE, UNTIL, teams=TEAMS, batch=3)
        assert_metrics_match(metrics, naive(engine, ids, clock()))
        assert metrics.overall.received == sum(
            1 for i in ids if SINCE <= engine.get(i).received_at < UNTIL
        )
    finally:
        engine.close()


# -- blame-free -----------------------------------------------------------------------------


def test_an_informal_complaint_never_counts_for_the_staff_who_recorded_it() -> None:
    clock = ManualClock(START)
    engine = Engine.open("memory://", load_entry_points=False, clock=clock)
    ann = Actor(id="A-0", name="Ann", role="agent", email="ann@example.org")
    heard = engine.receive(
        Intake(
            channel="in_person",
            customer=Customer(id="C-1", name="Ada"),
            summary="Rude at the counter",
            informal=True,
            recorded_by=ann,
        )
    )
    engine.assign(heard.id, ann, actor=MANAGER)
    owned = engine.receive(
        Intake(channel="email", customer=Customer(id="C-2", name="Bo"), summary="Late")
    )
    engine.assign(owned.id, ann, actor=MANAGER)
    clock.advance(days=1)
    metrics = compute_metrics(engine, SINCE, UNTIL, teams={"A-0": "counter staff"})
    teams = {g.group: g.received for g in metrics.by("team")}
    assert teams == {INFORMAL_TEAM: 1, "counter staff": 1}
    assert metrics.group("channel", "in_person").received == 1
    assert metrics.group("category", "general").received == 2


# -- working time and quantiles against the plain functions ------------------------------


CALENDARS = {
    "england": ("fca", "england"),
    "scotland": ("spso", "scotland"),
    "new_york": ("cfpb", "new_york"),
}


@pytest.fixture(scope="module")
def calendars() -> dict[str, Any]:
    engine = Engine.open("memory://", load_entry_points=False)
    found = {
        name: engine.workflow(workflow).calendar(calendar)
        for name, (workflow, calendar) in CALENDARS.items()
    }
    from complaint_flow.definitions.calendars import BusinessCalendar

    found["split"] = BusinessCalendar(
        "split",
        time_zone="America/Santiago",
        working_hours=["08:30-12:00", "13:00-18:15"],
        working_days="sun-thu",
        closures=["2026-09-18"],
    )
    # Santiago's clocks go forward at midnight: some days start at 01:00.
    found["around_the_clock"] = BusinessCalendar(
        "around_the_clock", time_zone="America/Santiago", calendar_days=True
    )
    # London's go forward at 01:00: a period starting then does not exist that day.
    found["night_shift"] = BusinessCalendar(
        "night_shift", time_zone="Europe/London", working_hours=["01:00-05:00", "22:00-24:00"]
    )
    return found


_MOMENT = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(
        ["england", "scotland", "new_york", "split", "around_the_clock", "night_shift"]
    ),
    a=_MOMENT,
    b=_MOMENT,
)
def test_working_time_equals_the_calendars(
    calendars: dict[str, Any], name: str, a: datetime, b: datetime
) -> None:
    calendar = calendars[name]
    working = WorkingTime(calendar)
    assert working.between(a, b) == calendar.working_time_between(a, b)
    first, last = sorted((a, b))
    day = first.astimezone(calendar.zone).date()
    end = last.astimezone(calendar.zone).date()
    count = 0
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    assert working.working_days(first, last) == count


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.floats(min_value=0, max_value=1e8, allow_nan=False), min_size=1),
    q=st.sampled_from([0.5, 0.9, 0.25, 1.0]),
)
def test_quantiles_are_the_exact_ones_to_within_one_percent(values: list[float], q: float) -> None:
    from complaint_flow.services.reporting.quantiles import DurationHistogram

    histogram = DurationHistogram()
    for value in values:
        histogram.add(value)
    exact = exact_quantile(values, q)
    assert exact is not None
    found = histogram.quantile(q)
    assert found == reported_quantile(values, q)
    assert found is not None
    assert math.isclose(found, exact, rel_tol=0.0101, abs_tol=1e-9)


def test_the_working_time_median_is_the_calendars() -> None:
    """A working-hours median and p90 read back against the calendar's own function."""
    clock = ManualClock(datetime(2026, 3, 6, 16, 0, tzinfo=UTC))  # a Friday, 16:00 in London
    engine = Engine.open("memory://", load_entry_points=False, clock=clock)
    calendar = engine.workflow("tactics").calendar("office")
    received = []
    for _ in range(3):
        received.append(
            engine.receive(
                Intake(channel="email", customer=Customer(id="C-1", name="Ada"), summary="Late")
            )
        )
        clock.advance(minutes=20)
    answered = [
        received[0].received_at + timedelta(hours=2),  # Friday 18:00: after hours
        received[1].received_at + timedelta(days=3, hours=1),  # Monday evening
        received[2].received_at + timedelta(days=5),  # Wednesday
    ]
    for complaint, at in zip(received, answered, strict=True):
        clock.set(at)
        engine.fire(complaint.id, "thank", actor=AGENTS[0])
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    metrics = compute_metrics(engine, SINCE, UNTIL)
    working = sorted(
        calendar.working_time_between(c.received_at, at).total_seconds()
        for c, at in zip(received, answered, strict=True)
    )
    assert working[0] > 0  # the Friday evening answer took the last hour of Friday
    # Three durations in three buckets: each is reported exactly.
    assert metrics.overall.acknowledge_working_median == working[1]
    assert metrics.overall.acknowledge_working_p90 == working[2]
    calendar_hours = sorted(
        (at - c.received_at).total_seconds() for c, at in zip(received, answered, strict=True)
    )
    assert metrics.overall.acknowledge_median == calendar_hours[1]
