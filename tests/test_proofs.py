"""Proofs of the store guarantees under stress: concurrent writers and crashed writers.

Concurrency: threads (and, for the shared stores, processes) fire on the same
complaints with the version they just read; no update is lost and every refused
write is a ``ConcurrencyError``. Crash: a writer killed with SIGKILL at random
points leaves a store that opens, whose complaints agree with their events, and
which still holds every commit the writer saw succeed.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from complaint_flow import Actor, Customer, Engine, Intake, WorkflowDefinition
from complaint_flow.errors import ConcurrencyError
from complaint_flow.fsm.workflow_machine import compile_workflow

# ``bump`` loops on ``open``, so any number of fires is valid from any version:
# the only reason for a refusal is a concurrent write. The other triggers go round
# a cycle (with a paused clock on the way) and end in a terminal state.
WORKFLOW = """
name = "proof"
initial = "open"
roles = ["agent"]

[states.open]
[states.working]
[states.waiting]
[states.closed]
terminal = true

[[transitions]]
trigger = "bump"
source = "open"
dest = "open"
[[transitions]]
trigger = "start"
source = "open"
dest = "working"
[[transitions]]
trigger = "wait"
source = "working"
dest = "waiting"
[[transitions]]
trigger = "resume"
source = "waiting"
dest = "working"
[[transitions]]
trigger = "finish"
source = "working"
dest = "open"
[[transitions]]
trigger = "close"
source = "open"
dest = "closed"

[calendars.office]
time_zone = "UTC"

[clocks.resolve]
title = "Final response"
calendar = "office"
duration = "15 calendar days"
stops_on = ["close"]
pause_states = ["waiting"]
"""

# What the crashing writer does to each complaint after receiving it.
CRASH_PATH = ("bump", "start", "wait", "resume", "finish", "bump", "close")

AGENT = Actor(id="A-1", name="Bo", role="agent")
ADA = Customer(id="C-1", name="Ada", email="ada@example.org")

COMPLAINTS = 100
THREADS, THREAD_FIRES = 8, 100
PROCESSES, PROCESS_FIRES = 4, 50
HOT = 4  # half of all fires go to these complaints, so writers collide often


def open_engine(url: str) -> Engine:
    """An engine on ``url`` following the proof workflow, without installed plugins."""
    return Engine.open(
        url, workflow=WorkflowDefinition.from_toml(WORKFLOW), load_entry_points=False
    )


def receive_complaints(engine: Engine, count: int) -> list[str]:
    return [
        engine.receive(Intake(channel="email", summary=f"Complaint {n}", customer=ADA)).id
        for n in range(count)
    ]


Outcome = tuple[dict[str, int], dict[str, int], list[str]]


def fire_randomly(engine: Engine, ids: list[str], seed: int, fires: int) -> Outcome:
    """Fire ``bump`` on random complaints with the version read just before.

    Returns the successes and the ``ConcurrencyError`` refusals per complaint, and
    a description of every other exception (there must be none).
    """
    rng = random.Random(seed)
    won: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    unexpected: list[str] = []
    for _ in range(fires):
        complaint_id = rng.choice(ids[:HOT]) if rng.random() < 0.5 else rng.choice(ids)
        try:
            version = engine.get(complaint_id).version
            # Let another writer run between the read and the write, as a slow
            # caller would: the version check is what has to catch it.
            os.sched_yield()
            engine.fire(complaint_id, "bump", actor=AGENT, expected_version=version)
        except ConcurrencyError:
            refused[complaint_id] += 1
        except Exception as exc:  # every failure must be a ConcurrencyError
            unexpected.append(f"{type(exc).__name__}: {exc}")
        else:
            won[complaint_id] += 1
    return dict(won), dict(refused), unexpected


def fire_in_process(url: str, ids: list[str], seed: int, fires: int) -> Outcome:
    """Run in another process: open an engine of its own and fire at random."""
    with open_engine(url) as engine:
        return fire_randomly(engine, ids, seed, fires)


def check_no_lost_update(
    engine: Engine, ids: list[str], outcomes: list[Outcome], attempts: int
) -> None:
    won: Counter[str] = Counter()
    refused = 0
    for successes, refusals, unexpected in outcomes:
        assert unexpected == [], "every refused write must raise ConcurrencyError"
        won.update(successes)
        refused += sum(refusals.values())
    assert sum(won.values()) + refused == attempts
    beyond_first = 0
    for complaint_id in ids:
        complaint = engine.get(complaint_id)
        events = engine.history(complaint_id)
        assert complaint.version == len(events) == 1 + won[complaint_id]
        assert [event.seq for event in events] == list(range(1, len(events) + 1))
        assert complaint.state == "open"
        beyond_first += len(events) - 1
    assert beyond_first == sum(won.values())


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'complaints.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'complaints.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with open_engine(store_url) as engine:
        yield engine


def test_threads_firing_on_the_same_complaints_lose_no_update(engine: Engine) -> None:
    ids = receive_complaints(engine, COMPLAINTS)
    outcomes: list[Outcome] = []
    start = threading.Barrier(THREADS)
    lock = threading.Lock()

    def worker(seed: int) -> None:
        start.wait(timeout=60)
        outcome = fire_randomly(engine, ids, seed, THREAD_FIRES)
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert len(outcomes) == THREADS
    check_no_lost_update(engine, ids, outcomes, THREADS * THREAD_FIRES)


def test_processes_firing_on_the_same_complaints_lose_no_update(shared_store_url: str) -> None:
    with open_engine(shared_store_url) as engine:
        ids = receive_complaints(engine, COMPLAINTS)
        context = multiprocessing.get_context("spawn")
        with context.Pool(PROCESSES) as pool:
            outcomes = pool.starmap(
                fire_in_process,
                [(shared_store_url, ids, seed, PROCESS_FIRES) for seed in range(PROCESSES)],
            )
        check_no_lost_update(engine, ids, outcomes, PROCESSES * PROCESS_FIRES)


def record(log: Any, complaint_id: str, version: int) -> None:
    """Log a commit only once it returned, and make the line durable at once."""
    log.write(f"{complaint_id} {version}\n")
    log.flush()
    os.fsync(log.fileno())


def write_forever(url: str, log_path: str, ready: Any) -> None:
    """Run in another process until killed: receive complaints and walk them to the end."""
    engine = open_engine(url)
    with open(log_path, "a", buffering=1, encoding="utf-8") as log:
        ready.set()
        while True:
            complaint = engine.receive(Intake(channel="email", summary="Broken", customer=ADA))
            record(log, complaint.id, complaint.version)
            for trigger in CRASH_PATH:
                complaint = engine.fire(complaint.id, trigger, actor=AGENT)
                record(log, complaint.id, complaint.version)


def logged_commits(log_path: Path) -> dict[str, int]:
    """The highest version the writer logged per complaint (a torn last line is ignored)."""
    latest: dict[str, int] = {}
    if not log_path.exists():
        return latest
    for line in log_path.read_text(encoding="utf-8").splitlines(keepends=True):
        if not line.endswith("\n"):
            continue
        complaint_id, version = line.split()
        latest[complaint_id] = max(latest.get(complaint_id, 0), int(version))
    return latest


def check_consistent_after_crash(url: str, log_path: Path, rounds: int) -> int:
    """Open the store afresh and check every complaint; returns the commits found."""
    logged = logged_commits(log_path)
    with open_engine(url) as engine:
        clocks = compile_workflow(engine.workflow()).clocks
        complaints = {complaint.id: complaint for complaint in engine.find()}
        unlogged = 0
        for complaint in complaints.values():
            events = engine.history(complaint.id)
            assert complaint.version == len(events)
            assert [event.seq for event in events] == list(range(1, len(events) + 1))
            moves = [event for event in events if event.dest is not None]
            assert moves, "a complaint's first event names its initial state"
            assert complaint.state == moves[-1].dest
            assert clocks.replay(events) == complaint.clocks
            unlogged += complaint.version - logged.get(complaint.id, 0)
        # No committed event is missing: everything logged is stored.
        for complaint_id, version in logged.items():
            assert complaint_id in complaints, f"logged complaint {complaint_id} is lost"
            assert complaints[complaint_id].version >= version
        # At most one commit per kill was in flight (stored but not yet logged).
        assert 0 <= unlogged <= rounds
        return sum(complaint.version for complaint in complaints.values())


@pytest.mark.skipif(not hasattr(os, "fsync"), reason="needs os.fsync")
def test_a_writer_killed_at_random_points_loses_no_committed_event(
    shared_store_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20260101)
    log_path = tmp_path / "committed.log"
    context = multiprocessing.get_context("spawn")
    rounds = 8
    stored = 0
    for round_number in range(1, rounds + 1):
        ready = context.Event()
        writer = context.Process(
            target=write_forever, args=(shared_store_url, str(log_path), ready)
        )
        writer.start()
        try:
            assert ready.wait(timeout=60), "the writer did not start"
            threading.Event().wait(rng.uniform(0.05, 0.4))
            assert writer.is_alive(), f"the writer stopped by itself (exit {writer.exitcode})"
        finally:
            writer.kill()  # SIGKILL: no cleanup, no rollback by the writer
            writer.join(timeout=60)
        assert writer.exitcode == -9
        found = check_consistent_after_crash(shared_store_url, log_path, round_number)
        assert found >= stored, "commits found after an earlier kill are gone"
        stored = found
    assert stored > 0, "the writer never committed anything"
    assert logged_commits(log_path), "the writer never logged a commit"
