"""The outbox dispatcher: backoff, dead letters, time limits, claims and the fault proof."""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from complaint_flow.errors import InvalidArgumentError, SchemaVersionError
from complaint_flow.model.clock import ManualClock
from complaint_flow.model.entities import Complaint, OutboxMessage, OutboxStatus
from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.services.delivery import Backoff, DeliveryReport, OutboxDispatcher
from complaint_flow.storage import sqlite as sqlite_store
from complaint_flow.storage.contract import Store
from complaint_flow.storage.memory import MemoryStore
from complaint_flow.storage.sqlite import open_sqlite_store
from complaint_flow.testing.conformance import T0, creation, make_message


class Failing:
    """A notifier that raises for the first ``failures`` calls of each message."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: Counter[str] = Counter()

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
        self.calls[message.key] += 1
        if self.calls[message.key] <= self.failures:
            raise ConnectionError("smtp down")


class Flaky:
    """Fails 30% of calls at random (seeded); records each successful delivery by key."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.delivered: Counter[str] = Counter()

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
        with self._lock:
            if self._random.random() < 0.3:
                raise ConnectionError("flaky")
            self.delivered[message.key] += 1


def registry(*plugins: object) -> Registry:
    return Registry(make_plugin_manager(plugins, load_entry_points=False))


def seed(store: Store, complaints: int, per_complaint: int) -> list[str]:
    keys: list[str] = []
    for _ in range(complaints):
        commit = creation()
        messages = [
            make_message(commit.complaint.id, 1, recipient=f"r{i}") for i in range(per_complaint)
        ]
        store.commit(creation(commit.complaint, outbox=messages))
        keys += [m.key for m in messages]
    return keys


def test_backoff_doubles_from_base_up_to_the_cap() -> None:
    backoff = Backoff(base=timedelta(seconds=30), cap=timedelta(minutes=5))
    delays = [backoff.delay("k", attempts) for attempts in range(1, 8)]
    assert [d.total_seconds() for d in delays] == [30, 60, 120, 240, 300, 300, 300]
    assert backoff.delay("k", 10_000) == timedelta(minutes=5)


def test_jitter_shortens_delays_reproducibly_and_spreads_keys() -> None:
    backoff = Backoff(base=timedelta(seconds=100), cap=timedelta(hours=1), jitter=0.5)
    first = [backoff.delay("a", n) for n in range(1, 6)]
    assert first == [backoff.delay("a", n) for n in range(1, 6)]
    for n, delay in enumerate(first, start=1):
        assert (
            timedelta(seconds=50 * 2 ** (n - 1)) <= delay <= timedelta(seconds=100 * 2 ** (n - 1))
        )
    assert len({backoff.delay(key, 1) for key in "abcdefgh"}) > 1


def test_a_failed_message_waits_its_backoff_then_dies_after_max_attempts() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    (key,) = seed(store, 1, 1)
    dispatcher = OutboxDispatcher(
        store, registry(Failing(failures=100)), clock, max_attempts=4, backoff=Backoff()
    )
    waits = []
    for attempt in range(1, 4):
        report = dispatcher.dispatch()
        assert (report.failed, report.dead) == (1, 0)
        (message,) = store.outbox_find(status=OutboxStatus.PENDING)
        assert message.attempts == attempt
        assert message.last_error == "ConnectionError('smtp down')"
        assert message.next_attempt_at is not None
        waits.append(message.next_attempt_at - clock())
        assert dispatcher.dispatch().failed == 0  # not due yet: left alone
        clock.set(message.next_attempt_at)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert dispatcher.dispatch().dead == 1
    (dead,) = store.outbox_find(status=OutboxStatus.DEAD)
    assert (dead.key, dead.attempts) == (key, 4)
    clock.advance(timedelta(days=1))
    assert dispatcher.dispatch() == type(dispatcher.dispatch())()  # dead stays dead


def test_retrying_dead_messages_requeues_them_with_attempts_reset() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    keys = seed(store, 1, 2)
    failing = Failing(failures=1)
    dispatcher = OutboxDispatcher(store, registry(failing), clock, max_attempts=1)
    assert dispatcher.dispatch().dead == 2
    with pytest.raises(ValueError, match="no dead outbox message"):
        dispatcher.retry_dead(["nope"])
    (requeued,) = dispatcher.retry_dead([keys[0]])
    assert (requeued.status, requeued.attempts) == (OutboxStatus.PENDING, 0)
    assert dispatcher.dispatch().delivered == 1
    assert [m.key for m in dispatcher.retry_dead()] == [keys[1]]
    assert dispatcher.dispatch().delivered == 1
    assert {m.status for m in store.outbox_find()} == {OutboxStatus.DELIVERED}


def test_a_hanging_notifier_times_out_as_a_failed_attempt() -> None:
    release = threading.Event()

    class Hanging:
        @hookimpl
        def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
            release.wait(10)

    store, clock = MemoryStore(), ManualClock(T0)
    seed(store, 2, 1)
    dispatcher = OutboxDispatcher(store, registry(Hanging()), clock, timeout=0.05)
    try:
        report = dispatcher.dispatch()
    finally:
        release.set()
    assert (report.delivered, report.failed) == (0, 2)
    pending = store.outbox_find(status=OutboxStatus.PENDING)
    assert [(m.attempts, m.last_error) for m in pending] == [(1, "timed out after 0.05 s")] * 2


def test_claims_are_exclusive_until_their_lease_ends() -> None:
    store = MemoryStore()
    keys = seed(store, 2, 2)
    lease = timedelta(minutes=1)
    first = store.outbox_claim(T0, 3, lease, "a")
    assert [m.key for m in first] == keys[:3]
    assert [m.key for m in store.outbox_claim(T0, 10, lease, "b")] == keys[3:]
    assert store.outbox_claim(T0 + lease / 2, 10, lease, "c") == []
    assert [m.key for m in store.outbox_claim(T0 + lease, 10, lease, "c")] == keys


def upgradable_v1_file(path: Path) -> str:
    """A version-1 file made with the old outbox DDL, holding one pending message."""
    url = f"sqlite:///{path}"
    old_outbox = """CREATE TABLE outbox (
        position INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        complaint_id TEXT NOT NULL REFERENCES complaints (id),
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        body TEXT NOT NULL
    )"""
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in sqlite_store._SCHEMA:
        if (
            "conduct" in statement
            or statement in sqlite_store._CHANNEL_SCHEMA
            or statement in sqlite_store._ACTION_SCHEMA
        ):
            continue  # tables of schema versions 3, 4 and 5
        connection.execute(old_outbox if "CREATE TABLE outbox" in statement else statement)
    connection.execute("INSERT INTO complaint_flow_schema (version) VALUES (1)")
    connection.execute("PRAGMA user_version = 1")
    connection.close()
    return url


def test_db_upgrade_takes_a_version_1_file_to_claimable_outbox_rows(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    url = upgradable_v1_file(path)
    with pytest.raises(SchemaVersionError, match="db upgrade"):
        open_sqlite_store(url)
    assert sqlite_store.upgrade(url) == (1, sqlite_store.SCHEMA_VERSION)
    store = open_sqlite_store(url)
    try:
        commit = creation()
        commit = creation(commit.complaint, outbox=[make_message(commit.complaint.id, 1)])
        store.commit(commit)
        (claimed,) = store.outbox_claim(T0, 10, timedelta(minutes=1), "a")
        assert claimed == commit.outbox[0]
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        yield request.getfixturevalue("postgres_schema_url")


def test_four_dispatchers_under_faults_deliver_each_row_once_or_dead_letter_it(
    shared_url: str,
) -> None:
    from complaint_flow.plugins.manager import Registry as _Registry

    pm = make_plugin_manager([], load_entry_points=False)
    opener = _Registry(pm).stores
    scheme = shared_url.partition(":")[0]
    store = opener[scheme](shared_url)
    try:
        keys = seed(store, 30, 4)
        flaky = Flaky(seed=1234)
        notify = registry(flaky)
        clock = ManualClock(T0)
        dispatchers = [
            OutboxDispatcher(store, notify, clock, max_attempts=3, backoff=Backoff())
            for _ in range(4)
        ]
        errors: list[BaseException] = []

        def run(dispatcher: OutboxDispatcher) -> None:
            try:
                while dispatcher.dispatch(limit=7) != type(dispatcher.dispatch(limit=0))():
                    pass
            except BaseException as exc:
                errors.append(exc)

        for _ in range(6):  # passes, with the clock moved past every backoff between them
            threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            clock.advance(timedelta(hours=2))
        assert not errors
        rows = {m.key: m for m in store.outbox_find()}
        assert set(rows) == set(keys)  # none lost
        delivered = {k for k, m in rows.items() if m.status is OutboxStatus.DELIVERED}
        dead = {k for k, m in rows.items() if m.status is OutboxStatus.DEAD}
        assert delivered | dead == set(keys)  # none left pending
        assert delivered  # the 30% failures really exercised both outcomes
        assert dead
        assert set(flaky.delivered) == delivered
        assert all(flaky.delivered[k] == 1 for k in delivered)  # exactly once each
        assert all(rows[k].attempts == 3 for k in dead)
    finally:
        store.close()


def test_retrying_an_unknown_key_among_dead_ones_requeues_nothing() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    keys = seed(store, 1, 3)
    dispatcher = OutboxDispatcher(store, registry(Failing(failures=1)), clock, max_attempts=1)
    assert dispatcher.dispatch(limit=2).dead == 2
    before = store.outbox_find()
    for wanted in ([keys[0], "nope"], [keys[0], keys[2]]):  # keys[2] is pending, not dead
        with pytest.raises(InvalidArgumentError, match="no dead outbox message"):
            dispatcher.retry_dead(wanted)
        assert store.outbox_find() == before


@pytest.mark.parametrize(
    "settings",
    [{"max_attempts": 0}, {"timeout": 0}, {"timeout": -1.0}],
)
def test_a_dispatcher_refuses_settings_that_cannot_work(settings: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        OutboxDispatcher(MemoryStore(), registry(), ManualClock(T0), **settings)


@pytest.mark.parametrize(
    ("base", "cap", "jitter"),
    [(0, 60, 0.0), (120, 60, 0.0), (30, 60, -0.1), (30, 60, 1.5)],
)
def test_a_backoff_refuses_settings_that_cannot_work(base: int, cap: int, jitter: float) -> None:
    with pytest.raises(InvalidArgumentError):
        Backoff(base=timedelta(seconds=base), cap=timedelta(seconds=cap), jitter=jitter)


def test_a_dispatcher_stalled_past_its_lease_delivers_a_message_another_delivers_too() -> None:
    """The documented limit of at least once: notifiers must drop repeats by key."""
    store, clock = MemoryStore(), ManualClock(T0)
    (key,) = seed(store, 1, 1)
    calls: Counter[str] = Counter()
    lease = timedelta(minutes=1)
    other: list[OutboxDispatcher] = []

    class Stalling:
        @hookimpl
        def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
            calls[message.key] += 1
            if calls[message.key] == 1:
                clock.advance(lease * 2)  # the first dispatcher stalls past its lease...
                assert other[0].dispatch().delivered == 1  # ...and another takes the message

    notify = registry(Stalling())
    stalled = OutboxDispatcher(store, notify, clock, lease=lease)
    other.append(OutboxDispatcher(store, notify, clock, lease=lease))
    # The stalled dispatcher finds the message delivered meanwhile: its outcome is skipped.
    assert stalled.dispatch() == DeliveryReport()
    assert calls == {key: 2}
    (message,) = store.outbox_find()
    assert message.status is OutboxStatus.DELIVERED
    assert message.attempts == 1  # counted once, by the dispatcher that recorded it
    assert stalled.dispatch() == type(stalled.dispatch())()  # and never a third time


@pytest.mark.parametrize("outcome", ["delivered", "failed"])
def test_a_claimed_message_purged_while_being_delivered_is_skipped_and_the_run_goes_on(
    outcome: str, caplog: pytest.LogCaptureFixture
) -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    doomed_key, kept_key = seed(store, 2, 1)
    (doomed,) = [m for m in store.outbox_find() if m.key == doomed_key]
    calls: list[str] = []

    class Purging:
        @hookimpl
        def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
            calls.append(message.key)
            if message.key == doomed_key:
                assert store.purge({complaint.id: complaint.version}) == 1
                if outcome == "failed":
                    raise ConnectionError("smtp down")

    dispatcher = OutboxDispatcher(store, registry(Purging()), clock, max_attempts=1)
    with caplog.at_level(logging.INFO, logger="complaint_flow.outbox"):
        report = dispatcher.dispatch()
    assert calls == [doomed_key, kept_key]
    # The purged message counts nothing; the next one is delivered as usual.
    assert report == DeliveryReport(delivered=1)
    assert store.outbox(doomed.complaint_id) == []
    assert [(m.key, m.status) for m in store.outbox_find()] == [(kept_key, OutboxStatus.DELIVERED)]
    assert f"outbox message {doomed_key} changed while being delivered" in caplog.text


def test_retrying_a_message_no_longer_dead_leaves_it_alone() -> None:
    store, clock = MemoryStore(), ManualClock(T0)
    (key,) = seed(store, 1, 1)
    dispatcher = OutboxDispatcher(store, registry(Failing(failures=1)), clock, max_attempts=1)
    assert dispatcher.dispatch().dead == 1

    # Another operator handles it between retry_dead's find and its update.
    (dead,) = store.outbox_find(status=OutboxStatus.DEAD)
    find = store.outbox_find

    def find_then_deliver(**filters: Any) -> list[OutboxMessage]:
        found = find(**filters)
        delivered = attrs.evolve(dead, status=OutboxStatus.DELIVERED, attempts=1, delivered_at=T0)
        assert store.outbox_update(delivered, expected_status=OutboxStatus.DEAD)
        return found

    store.outbox_find = find_then_deliver  # type: ignore[method-assign]
    assert dispatcher.retry_dead([key]) == []
    (message,) = find(status=OutboxStatus.DELIVERED)
    assert message.key == key
