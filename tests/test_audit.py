"""The tamper-evident audit trail: verify_store on every store, against direct tampering.

An engine moves complaints through several steps; the trail verifies. Then the
stored data is changed behind the store's back (SQL ``UPDATE``/``DELETE`` on
the database, the memory store's own lists) and verification must name exactly
the complaint and the events that were altered, removed or reordered.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import Actor, Complaint, Customer, Engine, Intake, Severity
from complaint_flow.cli.audit import audit
from complaint_flow.errors import ComplaintNotFoundError, InvalidArgumentError
from complaint_flow.model.clock import ManualClock
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.model.entities import Event
from complaint_flow.model.immutable import freeze, thaw
from complaint_flow.services.audit import AuditReport, verify_events, verify_store
from complaint_flow.storage.codec import from_json
from complaint_flow.storage.contract import Commit, ConductCommit
from complaint_flow.storage.hashing import (
    canonical_json,
    chain_events,
    content_digest,
    event_hash,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor(id="A-1", name="Bo Agent", role="agent", email="bo@firm.example")
STEPS = 6  # events per complaint made by `busy_engine`


class Tamperer(Protocol):
    def alter_reason(self, complaint_id: str, seq: int, reason: str) -> None: ...
    def delete(self, complaint_id: str, seq: int) -> None: ...
    def swap(self, complaint_id: str, seq: int) -> None: ...
    def alter_reason_as_erased(self, complaint_id: str, seq: int, reason: str) -> None: ...


class MemoryTamperer:
    """Changes the memory store's own event lists, as a bug or a debugger could."""

    def __init__(self, engine: Engine) -> None:
        self.events: dict[str, list[Event]] = engine.store._events  # type: ignore[attr-defined]

    def alter_reason(self, complaint_id: str, seq: int, reason: str) -> None:
        trail = self.events[complaint_id]
        trail[seq - 1] = attrs.evolve(trail[seq - 1], reason=reason)

    def delete(self, complaint_id: str, seq: int) -> None:
        del self.events[complaint_id][seq - 1]

    def swap(self, complaint_id: str, seq: int) -> None:
        trail = self.events[complaint_id]
        trail[seq - 1], trail[seq] = trail[seq], trail[seq - 1]

    def alter_reason_as_erased(self, complaint_id: str, seq: int, reason: str) -> None:
        trail = self.events[complaint_id]
        event = trail[seq - 1]
        trail[seq - 1] = attrs.evolve(event, reason=reason, redacted=content_digest(event))


class SqlTamperer:
    """Runs SQL on the database directly (``?`` placeholders become ``%s`` for psycopg)."""

    def __init__(self, execute: Any, placeholder: str) -> None:
        self._execute = execute
        self._p = placeholder

    def _sql(self, text: str) -> str:
        return text.replace("?", self._p)

    def alter_reason(self, complaint_id: str, seq: int, reason: str) -> None:
        rows = self._execute(
            self._sql("SELECT body FROM events WHERE complaint_id = ? AND seq = ?"),
            (complaint_id, seq),
        )
        body = json.loads(rows[0][0])
        body["reason"] = reason
        self._execute(
            self._sql("UPDATE events SET body = ? WHERE complaint_id = ? AND seq = ?"),
            (json.dumps(body), complaint_id, seq),
        )

    def alter_reason_as_erased(self, complaint_id: str, seq: int, reason: str) -> None:
        # Keeps the hash matching by recording the original content's digest as if
        # the event had been erased.
        rows = self._execute(
            self._sql("SELECT body FROM events WHERE complaint_id = ? AND seq = ?"),
            (complaint_id, seq),
        )
        body = json.loads(rows[0][0])
        body["redacted"] = content_digest(from_json(rows[0][0], Event))
        body["reason"] = reason
        self._execute(
            self._sql("UPDATE events SET body = ? WHERE complaint_id = ? AND seq = ?"),
            (json.dumps(body), complaint_id, seq),
        )

    def delete(self, complaint_id: str, seq: int) -> None:
        self._execute(
            self._sql("DELETE FROM events WHERE complaint_id = ? AND seq = ?"), (complaint_id, seq)
        )

    def swap(self, complaint_id: str, seq: int) -> None:
        # Through a free number: the primary key is checked row by row.
        for old, new in ((seq, -1), (seq + 1, seq), (-1, seq + 1)):
            self._execute(
                self._sql("UPDATE events SET seq = ? WHERE complaint_id = ? AND seq = ?"),
                (new, complaint_id, old),
            )


def sqlite_execute(path: Path) -> Any:
    def execute(sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            return connection.execute(sql, parameters).fetchall()
        finally:
            connection.close()

    return execute


def postgres_execute(url: str) -> Any:
    import psycopg
    from psycopg import sql as pgsql

    schema = parse_qs(urlsplit(url).query)["schema"][0]
    server = url.split("?")[0]

    def execute(statement: str, parameters: tuple[Any, ...]) -> list[Any]:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
            cursor = connection.execute(statement.encode(), parameters)
            return cursor.fetchall() if cursor.description else []

    return execute


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine_and_tamperer(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Engine, Tamperer]]:
    clock = ManualClock(START)
    tamperer: Tamperer
    if store_kind == "memory":
        engine = Engine.open("memory://", clock=clock)
        tamperer = MemoryTamperer(engine)
    elif store_kind == "sqlite":
        path = tmp_path / "audit.db"
        engine = Engine.open(f"sqlite:///{path}", clock=clock)
        tamperer = SqlTamperer(sqlite_execute(path), "?")
    else:
        url = request.getfixturevalue("postgres_schema_url")
        engine = Engine.open(url, clock=clock)
        tamperer = SqlTamperer(postgres_execute(url), "%s")
    try:
        yield engine, tamperer
    finally:
        engine.close()


def busy_engine(engine: Engine, customers: int = 3) -> list[str]:
    """Complaints of several customers, each moved through ``STEPS`` events."""
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    ids = []
    for number in range(1, customers + 1):
        customer = Customer(id=f"C-{number}", name=f"Customer {number}", email=f"c{number}@x.org")
        complaint = engine.receive(
            Intake(channel="email", customer=customer, summary=f"Problem {number}")
        )
        clock.advance(hours=1)
        engine.fire(complaint.id, "thank", actor=AGENT, reason="acknowledged")
        clock.advance(hours=1)
        engine.fire(complaint.id, "apologise", actor=AGENT, reason="sorry for the delay")
        clock.advance(hours=1)
        engine.add_note(complaint.id, f"called customer {number}", actor=AGENT)
        engine.assign(complaint.id, AGENT, actor=AGENT, reason="taking it")
        engine.add_note(complaint.id, "letter sent", actor=AGENT)
        assert engine.get(complaint.id).version == STEPS
        ids.append(complaint.id)
    return ids


def where(report: AuditReport) -> set[tuple[str, int | None]]:
    return {(problem.subject, problem.seq) for problem in report.problems}


def test_an_untouched_store_verifies(engine_and_tamperer: tuple[Engine, Tamperer]) -> None:
    engine, _ = engine_and_tamperer
    ids = busy_engine(engine)
    report = verify_store(engine.store)
    assert report.ok, report.problems
    assert (report.complaints, report.events) == (len(ids), len(ids) * STEPS)
    only = verify_store(engine.store, complaint_ids=ids[:1])
    assert (only.ok, only.complaints, only.events) == (True, 1, STEPS)


def test_an_altered_reason_is_reported_at_that_event(
    engine_and_tamperer: tuple[Engine, Tamperer],
) -> None:
    engine, tamperer = engine_and_tamperer
    ids = busy_engine(engine)
    tamperer.alter_reason(ids[1], 3, "no apology was needed")
    report = verify_store(engine.store)
    assert where(report) == {(ids[1], 3)}
    assert not report.ok


def test_an_alteration_disguised_as_an_erasure_is_reported(
    engine_and_tamperer: tuple[Engine, Tamperer],
) -> None:
    """``redacted`` takes the content out of the hash only for events an erasure lists."""
    engine, tamperer = engine_and_tamperer
    ids = busy_engine(engine)
    erased = engine.erase_customer("C-1", actor=AGENT, reason="erasure request ER-1").complaints
    assert erased == (ids[0],)
    assert verify_store(engine.store).ok
    tamperer.alter_reason_as_erased(ids[1], 3, "no apology was needed")
    # An erased complaint's event that its erasure did not redact (no reason, no data).
    tamperer.alter_reason_as_erased(ids[0], 1, "received by hand")
    report = verify_store(engine.store)
    assert where(report) == {(ids[1], 3), (ids[0], 1)}
    assert all("no later customer_erased event" in p.problem for p in report.problems)


def test_a_removed_event_is_reported_where_the_gap_is(
    engine_and_tamperer: tuple[Engine, Tamperer],
) -> None:
    engine, tamperer = engine_and_tamperer
    ids = busy_engine(engine)
    tamperer.delete(ids[0], 4)
    report = verify_store(engine.store)
    assert where(report) == {(ids[0], 5)}
    assert any("expected event 4" in problem.problem for problem in report.problems)


def test_removing_the_last_event_is_caught_by_the_head_and_version(
    engine_and_tamperer: tuple[Engine, Tamperer],
) -> None:
    engine, tamperer = engine_and_tamperer
    ids = busy_engine(engine)
    tamperer.delete(ids[2], STEPS)
    report = verify_store(engine.store)
    assert where(report) == {(ids[2], None)}
    assert len(report.problems) == 2  # the version and the audit head both disagree


def test_reordered_events_are_reported(engine_and_tamperer: tuple[Engine, Tamperer]) -> None:
    engine, tamperer = engine_and_tamperer
    ids = busy_engine(engine)
    tamperer.swap(ids[1], 2)
    report = verify_store(engine.store)
    assert {subject for subject, _ in where(report)} == {ids[1]}
    seqs = {seq for _, seq in where(report)}
    assert {2, 3} <= seqs <= {2, 3, 4}


def test_verify_checks_only_the_complaints_asked_for(
    engine_and_tamperer: tuple[Engine, Tamperer],
) -> None:
    engine, tamperer = engine_and_tamperer
    ids = busy_engine(engine)
    tamperer.alter_reason(ids[0], 2, "altered")
    assert verify_store(engine.store, complaint_ids=ids[1:]).ok
    assert where(verify_store(engine.store, complaint_ids=ids[:1])) == {(ids[0], 2)}
    with pytest.raises(ComplaintNotFoundError):
        verify_store(engine.store, complaint_ids=["no-such-complaint"])
    with pytest.raises(InvalidArgumentError, match="list of ids"):
        verify_store(engine.store, complaint_ids=ids[0])


def test_conduct_records_are_verified_too() -> None:
    engine = Engine.open("memory://", clock=ManualClock(START))
    customer = Customer(id="C-9", name="Dee", phone="+44 20 7946 0000")
    record = ConductRecord(
        customer_id="C-9",
        customer=customer,
        status=ConductStatus.WARNED,
        version=1,
        updated_at=START,
    )
    event = Event(
        complaint_id=record.id, seq=1, kind="warned", at=START, actor=AGENT, reason="shouting"
    )
    engine.store.conduct_commit(ConductCommit(record, 0, (event,)))
    assert verify_store(engine.store) == AuditReport(complaints=0, conduct_records=1, events=1)
    trail = engine.store._conduct_events["C-9"]  # type: ignore[attr-defined]
    trail[0] = attrs.evolve(trail[0], reason="polite")
    report = verify_store(engine.store)
    assert where(report) == {("conduct:C-9", 1)}
    assert where(verify_store(engine.store, complaint_ids=["conduct:C-9"])) == {("conduct:C-9", 1)}
    with pytest.raises(InvalidArgumentError, match="no conduct record"):
        verify_store(engine.store, complaint_ids=["conduct:C-404"])


# -- every single alteration of a trail is caught --------------------------------------


def _trail(reasons: list[str]) -> tuple[Event, ...]:
    events = [
        Event(complaint_id="c", seq=seq, kind="note", at=START, actor=AGENT, reason=reason)
        for seq, reason in enumerate(reasons, start=1)
    ]
    return chain_events(None, events)


@given(
    reasons=st.lists(st.text(max_size=5), min_size=2, max_size=8),
    data=st.data(),
)
def test_any_single_alteration_removal_or_swap_is_detected(
    reasons: list[str], data: st.DataObject
) -> None:
    trail = _trail(reasons)
    head, version = trail[-1].hash, len(trail)
    assert verify_events("c", trail, head=head, version=version) == []
    index = data.draw(st.integers(0, len(trail) - 1))
    action = data.draw(st.sampled_from(["alter", "remove", "swap", "retime"]))
    tampered = list(trail)
    if action == "alter":
        new = data.draw(st.text(max_size=5).filter(lambda text: text != reasons[index]))
        tampered[index] = attrs.evolve(trail[index], reason=new)
    elif action == "remove":
        del tampered[index]
    elif action == "swap":
        other = (index + 1) % len(trail)
        tampered[index], tampered[other] = tampered[other], tampered[index]
    else:
        tampered[index] = attrs.evolve(trail[index], at=START.replace(year=2025))
    assert verify_events("c", tampered, head=head, version=version) != []


# -- the command line --------------------------------------------------------------------


def test_audit_verify_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "cli.db"
    url = f"sqlite:///{path}"
    with Engine.open(url, clock=ManualClock(START)) as engine:
        ids = busy_engine(engine, customers=2)
        reference = engine.get(ids[1]).reference
    runner = CliRunner()
    clean = runner.invoke(audit, ["verify", "--store", url])
    assert clean.exit_code == 0, clean.output
    assert f"checked 2 complaint(s), 0 conduct record(s), {2 * STEPS} event(s)" in clean.output
    assert "intact" in clean.output
    SqlTamperer(sqlite_execute(path), "?").alter_reason(ids[1], 2, "altered")
    broken = runner.invoke(audit, ["verify", url])
    assert broken.exit_code == 1, broken.output
    assert reference in broken.output
    assert ids[1] in broken.output
    assert ids[0] not in broken.output
    assert "1 problem(s) in 1 trail(s)" in broken.output
    # Asking for the untouched complaint only, by reference: clean.
    first = runner.invoke(audit, ["verify", url, "--complaint", ids[0]])
    assert first.exit_code == 0, first.output
    missing = runner.invoke(audit, ["verify", url, "--complaint", "CF-2026-999999"])
    assert missing.exit_code == 1
    assert "CF-2026-999999" in missing.output


# -- the canonical form ----------------------------------------------------------------------

_text = st.text(max_size=12)
_json_like: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


def _reference_hash(previous: str | None, event: Event) -> str:
    """The hash as the module documents it, written the slow, obvious way."""
    import hashlib

    def canonical(value: object) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    actor = event.actor
    core = canonical(
        [
            event.complaint_id,
            event.seq,
            event.kind,
            event.at.astimezone(UTC).isoformat(),
            [actor.id, actor.name, actor.role, actor.rank, actor.email, actor.phone],
            event.trigger,
            event.source,
            event.dest,
        ]
    )
    content = hashlib.sha256(canonical([event.reason, thaw(event.data)]).encode()).hexdigest()
    return hashlib.sha256(f"{previous or ''}\n{core}\n{content}".encode()).hexdigest()


@given(
    reason=_text,
    data=st.dictionaries(_text, _json_like, max_size=4),
    name=_text.filter(str.strip),
    email=st.none() | _text,
    trigger=st.none() | _text,
    offset_hours=st.integers(-12, 12),
    previous=st.none() | st.text("0123456789abcdef", min_size=64, max_size=64),
)
def test_event_hashes_follow_the_documented_canonical_form(
    reason: str,
    data: dict[str, Any],
    name: str,
    email: str | None,
    trigger: str | None,
    offset_hours: int,
    previous: str | None,
) -> None:
    """A verifier in another language can recompute every hash from the docstring."""
    from datetime import timedelta, timezone

    at = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=offset_hours)))
    actor = Actor(id="A-1", name=name, role="agent", email=email)
    event = Event(
        complaint_id="c-1",
        seq=3,
        kind="transition",
        at=at,
        actor=actor,
        trigger=trigger,
        source="thanked",
        dest="apologised",
        reason=reason,
        data=data,
    )
    assert event_hash(previous, event) == _reference_hash(previous, event)


_frozen_or_not: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3).map(MappingProxyType)
    ),
    max_leaves=12,
)


@given(value=_frozen_or_not)
def test_canonical_json_is_json_dumps_with_the_canonical_settings(value: Any) -> None:
    """The bytes every stored hash covers: ``json.dumps`` sorted, compact, UTF-8."""
    wanted = json.dumps(thaw(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == wanted
    assert canonical_json(freeze(value)) == wanted


@given(reasons=st.lists(st.text(max_size=5), min_size=1, max_size=4), head=st.none() | _text)
def test_a_commit_hashes_copies_and_leaves_the_callers_objects_alone(
    reasons: list[str], head: str | None
) -> None:
    complaint = attrs.evolve(_complaint(version=len(reasons) + 1), audit_head=head)
    events = [
        Event(complaint_id=complaint.id, seq=seq, kind="note", at=START, actor=AGENT, reason=r)
        for seq, r in enumerate(reasons, start=2)
    ]
    commit = Commit.build(complaint, 1, tuple(events))
    assert commit == Commit(complaint, 1, events)
    assert commit.events == chain_events(head, events)
    assert [attrs.evolve(event, hash=None) for event in commit.events] == events
    assert commit.complaint == attrs.evolve(complaint, audit_head=commit.events[-1].hash)
    assert all(event.hash is None for event in events)
    assert complaint.audit_head == head


def _complaint(version: int) -> Complaint:
    return Complaint(
        id="c-1",
        reference="CF-2026-000001",
        workflow="tactics",
        customer=Customer(id="C-1", name="Ada"),
        channel="email",
        category="general",
        severity=Severity.NORMAL,
        summary="Parcel broken",
        details="",
        state="received",
        received_at=START,
        updated_at=START,
        version=version,
    )
