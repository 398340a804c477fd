"""Data protection: erasing a customer's personal data and purging closed complaints.

The erasure proof: after ``erase_customer``, a raw search of the SQLite files
(database, WAL and shared memory) and of every PostgreSQL table as text finds
none of the customer's name, email or phone, while counts, times and states are
kept, other customers are untouched and the audit trail still verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from complaint_flow import Actor, Customer, Engine, Intake
from complaint_flow.cli.privacy import privacy, retention
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import ComplaintNotFoundError, InvalidArgumentError
from complaint_flow.model.clock import ManualClock
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    ConductStatus,
    ReviewItem,
    ReviewReason,
)
from complaint_flow.model.entities import Complaint, Event, OutboxMessage, OutboxStatus
from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.services.audit import verify_store
from complaint_flow.services.delivery import DeliveryReport, OutboxDispatcher
from complaint_flow.services.privacy import (
    ERASED,
    ERASURE_KIND,
    erase_customer,
    purge_closed,
    retention_cutoff,
)
from complaint_flow.storage.contract import ConductCommit
from complaint_flow.storage.hashing import content_digest

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = Actor(id="A-1", name="Bo Agent", role="agent", email="bo@firm.example")
DPO = Actor(id="A-9", name="Dee Protection", role="data_protection_officer")
ADA = Customer(
    id="C-ADA",
    name="Ada Lovelace",
    email="ada.lovelace@example.org",
    phone="+44 7700 900123",
    postal_address="12 Analytical Row, London",
    contacts={"sms": "+44 7700 900456"},
)
BOB = Customer(id="C-BOB", name="Bob Babbage", email="bob.babbage@example.org", phone="+1 555 0100")
NEEDLES = ("Ada Lovelace", "ada.lovelace@example.org", "+44 7700 900123", "Analytical Row")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_url(store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if store_kind == "memory":
        return "memory://"
    if store_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'privacy.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = Engine.open(store_url, clock=ManualClock(START))
    try:
        yield engine
    finally:
        engine.close()


def advance(engine: Engine, **delta: float) -> None:
    clock = engine.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(**delta))


def ada_and_bob(engine: Engine) -> tuple[list[Complaint], Complaint]:
    """Two complaints and a conduct record of Ada, full of her personal data; one of Bob."""
    first = engine.receive(
        Intake(
            channel="email",
            customer=ADA,
            summary="Ada Lovelace: parcel crushed",
            details="Ada Lovelace ordered a loom; ring +44 7700 900123",
            desired_outcome="refund to Ada Lovelace",
            external_id="<order-77.ada.lovelace@example.org>",
            data={"order": "77 for Ada Lovelace", "amount": 25, "gift": True},
        )
    )
    advance(engine, hours=2)
    engine.fire(first.id, "thank", actor=AGENT, reason="thanked Ada Lovelace by email")
    advance(engine, hours=2)
    engine.fire(first.id, "apologise", actor=AGENT)
    engine.add_note(first.id, "spoke to Ada Lovelace on +44 7700 900123", actor=AGENT)
    engine.fire(
        first.id,
        "collect_information",
        actor=AGENT,
        # A key can be personal data too.
        data={
            "facts": "crushed at 12 Analytical Row, London",
            "items": 2,
            "confirmed_by": {"ada.lovelace@example.org": True},
        },
    )
    advance(engine, days=1)
    second = engine.receive(
        Intake(channel="phone", customer=ADA, summary="Ada Lovelace calling again")
    )
    engine.fire(second.id, "thank", actor=AGENT)
    engine.fire(
        second.id,
        "withdraw",
        actor=AGENT,
        data={"withdrawal_reason": "Ada Lovelace sorted it herself"},
    )
    bob = engine.receive(
        Intake(channel="email", customer=BOB, summary="Bob Babbage: late", details="Bob here")
    )
    engine.fire(bob.id, "thank", actor=AGENT, reason="thanked Bob Babbage")
    record = ConductRecord(
        customer_id=ADA.id,
        customer=ADA,
        status=ConductStatus.WARNED,
        version=1,
        updated_at=engine.now(),
        reasons="Ada Lovelace shouted at staff",
        adjustments=(Adjustment(need="Ada Lovelace is hard of hearing", channels=("email",)),),
        review_queue=(
            ReviewItem(
                id="R-1",
                reason=ReviewReason.PATTERN,
                filed_at=engine.now(),
                channel="email",
                external_id="<r1.ada.lovelace@example.org>",
                summary="from Ada Lovelace",
                details="call me on +44 7700 900123",
            ),
        ),
        contact_keys=("email:<r1.ada.lovelace@example.org>",),
    )
    event = Event(
        complaint_id=record.id,
        seq=1,
        kind="warned",
        at=engine.now(),
        actor=AGENT,
        reason="Ada Lovelace warned",
        data={"channel": "email", "contacts": 3},
    )
    notice = OutboxMessage(
        key=f"{record.id}:1:customer",
        complaint_id=record.id,
        event_seq=1,
        topic="conduct.warned",
        recipient="customer",
        channel="email",
        address=ADA.email,
        created_at=engine.now(),
        payload={"name": ADA.name, "state": "warned"},
    )
    engine.store.conduct_commit(ConductCommit(record, 0, (event,), (notice,)))
    return [engine.get(first.id), engine.get(second.id)], engine.get(bob.id)


def snapshot(engine: Engine, complaint: Complaint) -> tuple[Any, ...]:
    return (
        engine.get(complaint.id),
        engine.store.events(complaint.id),
        engine.store.outbox(complaint.id),
    )


def raw_text(engine: Engine, store_url: str) -> Callable[[], bytes]:
    """Reads everything the store holds, below the store's own interface."""
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))

        def files() -> bytes:
            found = [
                candidate.read_bytes()
                for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
                if candidate.exists()
            ]
            return b"\n".join(found)

        return files
    if store_url.startswith("postgres"):
        import psycopg
        from psycopg import sql

        schema = parse_qs(urlsplit(store_url).query)["schema"][0]

        def tables() -> bytes:
            with psycopg.connect(store_url.split("?")[0], autocommit=True) as connection:
                names = [
                    name
                    for (name,) in connection.execute(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                        (schema,),
                    )
                ]
                assert {"complaints", "events", "outbox", "conduct_records"} <= set(names)
                rows: list[str] = []
                for name in names:
                    query = sql.SQL("SELECT t::text FROM {}.{} AS t").format(
                        sql.Identifier(schema), sql.Identifier(name)
                    )
                    rows.extend(row for (row,) in connection.execute(query))
                return "\n".join(rows).encode()

        return tables

    def memory() -> bytes:
        return repr(vars(engine.store)).encode()

    return memory


def found_needles(read: Callable[[], bytes]) -> list[str]:
    data = read()
    return [needle for needle in NEEDLES if needle.encode() in data]


def test_erasure_leaves_no_personal_data_but_keeps_what_reports_need(
    engine: Engine, store_url: str
) -> None:
    adas, bob = ada_and_bob(engine)
    read = raw_text(engine, store_url)
    assert found_needles(read) == list(NEEDLES)  # the search can find them
    before = {complaint.id: snapshot(engine, complaint) for complaint in adas}
    conduct_before = engine.store.conduct_get(ADA.id)
    assert conduct_before is not None
    bob_before = snapshot(engine, bob)
    advance(engine, days=3)

    report = erase_customer(engine, ADA.id, actor=DPO, reason="erasure request ER-2026-114")

    assert report.complaints == tuple(c.id for c in adas)
    assert report.conduct_record
    assert found_needles(read) == []
    erased_at = engine.now()
    if store_url.startswith("sqlite"):
        engine.close()  # and nothing comes back when the files are closed
        assert found_needles(read) == []
        engine = Engine.open(store_url, clock=ManualClock(erased_at))
    assert verify_store(engine.store).ok
    assert snapshot(engine, bob) == bob_before

    for old in adas:
        old_complaint, old_events, old_outbox = before[old.id]
        complaint, events, outbox = snapshot(engine, old)
        # What reports need is kept...
        for field in ("id", "reference", "state", "received_at", "clocks", "due_at", "category"):
            assert getattr(complaint, field) == getattr(old_complaint, field), field
        assert (complaint.customer.id, complaint.channel, complaint.severity) == (
            ADA.id,
            old_complaint.channel,
            old_complaint.severity,
        )
        assert complaint.version == old_complaint.version + 1
        assert complaint.updated_at == erased_at
        # ...and the personal data is gone.
        assert (complaint.customer.name, complaint.summary) == (ERASED, ERASED)
        assert complaint.customer.email is complaint.customer.phone is None
        assert complaint.external_id is None
        assert (
            engine.store.find_by_external_id("email", "<order-77.ada.lovelace@example.org>") is None
        )
        assert len(events) == len(old_events) + 1
        for new, was in zip(events, old_events, strict=False):
            core = ("seq", "kind", "at", "actor", "trigger", "source", "dest", "hash")
            assert [getattr(new, f) for f in core] == [getattr(was, f) for f in core]
            changed = (new.reason, new.data) != (was.reason, was.data)
            assert new.redacted == (content_digest(was) if changed else None)
            assert new.reason in ("", ERASED)
        erasure = events[-1]
        assert (erasure.kind, erasure.actor, erasure.reason) == (
            ERASURE_KIND,
            DPO,
            "erasure request ER-2026-114",
        )
        assert [m.key for m in outbox] == [m.key for m in old_outbox]
        assert [m.created_at for m in outbox] == [m.created_at for m in old_outbox]
        assert all(m.address is None for m in outbox if m.recipient == "customer")
        assert all(
            m.status is not OutboxStatus.PENDING for m in outbox if m.recipient == "customer"
        )

    first = engine.get(adas[0].id)
    assert (first.data["amount"], first.data["gift"], first.data["items"]) == (25, True, 2)
    assert first.data["order"] == first.data["facts"] == ERASED
    received = engine.store.events(first.id)[0]
    assert received.data["channel"] == "email"
    assert received.data["received_at"] == START.isoformat()

    record = engine.store.conduct_get(ADA.id)
    assert record is not None
    assert (record.status, record.version) == (conduct_before.status, conduct_before.version + 1)
    assert record.review_queue[0].id == "R-1"
    assert record.review_queue[0].summary == ERASED
    assert record.adjustments[0].channels == ("email",)
    conduct_events = engine.store.conduct_events(ADA.id)
    assert [e.kind for e in conduct_events] == ["warned", ERASURE_KIND]
    assert conduct_events[0].data["contacts"] == 3

    # Erasing again changes nothing more, and records nothing.
    after = {complaint.id: snapshot(engine, complaint) for complaint in adas}
    again = erase_customer(engine, ADA.id, actor=DPO, reason="erasure request ER-2026-114")
    assert not again.changed
    assert again.unchanged == tuple(c.id for c in adas)
    assert {complaint.id: snapshot(engine, complaint) for complaint in adas} == after
    assert engine.store.conduct_get(ADA.id) == record
    engine.close()


def test_erasure_refuses_bad_input_and_changes_nothing(engine: Engine) -> None:
    adas, _ = ada_and_bob(engine)
    before = snapshot(engine, adas[0])
    for customer_id, actor, reason in (
        (ADA.id, DPO, " "),
        ("", DPO, "request 1"),
        (ADA.id, "dpo", "request 1"),
    ):
        with pytest.raises(InvalidArgumentError):
            erase_customer(engine, customer_id, actor=actor, reason=reason)  # type: ignore[arg-type]
    assert snapshot(engine, adas[0]) == before
    nobody = erase_customer(engine, "C-NOBODY", actor=DPO, reason="request 2")
    assert not nobody.changed
    assert nobody.unchanged == ()


# -- retention ------------------------------------------------------------------------

TINY = WorkflowDefinition.from_dict(
    {
        "name": "tiny",
        "initial": "open",
        "roles": ["agent"],
        "states": {"open": {}, "closed": {"terminal": True}},
        "transitions": [{"trigger": "close", "source": "open", "dest": "closed"}],
    }
)


def closed_and_open(engine: Engine) -> dict[str, Complaint]:
    """Complaints closed long ago, closed recently and still open, in two workflows."""
    engine.registry.workflows["tiny"] = TINY
    made: dict[str, Complaint] = {}

    def intake(name: str) -> Intake:
        return Intake(
            channel="email", customer=Customer(id=name, name=f"Person {name}"), summary=name
        )

    made["old_withdrawn"] = engine.receive(intake("old_withdrawn"))
    engine.fire(
        made["old_withdrawn"].id, "withdraw", actor=AGENT, data={"withdrawal_reason": "sorted"}
    )
    made["old_tiny"] = engine.receive(intake("old_tiny"), workflow="tiny")
    engine.fire(made["old_tiny"].id, "close", actor=AGENT)
    made["old_open"] = engine.receive(intake("old_open"))
    made["old_tiny_open"] = engine.receive(intake("old_tiny_open"), workflow="tiny")
    advance(engine, days=365 * 3 - 30)
    made["recent_withdrawn"] = engine.receive(intake("recent_withdrawn"))
    engine.fire(
        made["recent_withdrawn"].id, "withdraw", actor=AGENT, data={"withdrawal_reason": "no"}
    )
    advance(engine, days=60)  # now the old ones are more than 3 years old, the recent ones not
    return {name: engine.get(complaint.id) for name, complaint in made.items()}


def test_purge_deletes_only_closed_complaints_older_than_the_cutoff(
    engine: Engine, store_url: str
) -> None:
    made = closed_and_open(engine)
    read = raw_text(engine, store_url)
    assert b"Person old_withdrawn" in read()
    dry = purge_closed(engine, "3 years", dry_run=True)
    assert dict(dry.by_workflow) == {"tactics": 1, "tiny": 1}
    assert dry.dry_run
    assert engine.store.count() == len(made)

    report = purge_closed(engine, "3 years", batch=1)

    assert report.cutoff == retention_cutoff(engine.now(), "3 years")
    assert dict(report.by_workflow) == {"tactics": 1, "tiny": 1}
    assert report.total == 2
    purged = {"old_withdrawn", "old_tiny"}
    assert set(report.references) == {made[name].reference for name in purged}
    for name, complaint in made.items():
        if name in purged:
            with pytest.raises(ComplaintNotFoundError):
                engine.store.get(complaint.id)
            assert engine.store.outbox(complaint.id) == []
        else:
            assert engine.store.get(complaint.id) == complaint
    assert engine.store.count() == len(made) - 2
    assert b"Person old_withdrawn" not in read()
    assert verify_store(engine.store).ok
    assert purge_closed(engine, timedelta(days=365 * 3)).total == 0


@pytest.mark.parametrize(
    ("now", "age", "cutoff"),
    [
        (datetime(2029, 3, 5, 8, tzinfo=UTC), "3 years", datetime(2026, 3, 5, 8, tzinfo=UTC)),
        (datetime(2029, 3, 5, 8, tzinfo=UTC), "36 months", datetime(2026, 3, 5, 8, tzinfo=UTC)),
        (datetime(2028, 2, 29, tzinfo=UTC), "1 year", datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), "1 month", datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), "2 Months", datetime(2025, 11, 15, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), "90 days", datetime(2025, 12, 31, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), "2 weeks", datetime(2026, 3, 17, tzinfo=UTC)),
        (
            datetime(2026, 3, 31, tzinfo=UTC),
            timedelta(hours=5),
            datetime(2026, 3, 30, 19, tzinfo=UTC),
        ),
    ],
)
def test_retention_ages(now: datetime, age: str | timedelta, cutoff: datetime) -> None:
    assert retention_cutoff(now, age) == cutoff


@pytest.mark.parametrize("age", ["3 fortnights", "0 days", "-1 years", "", timedelta(0), 5])
def test_bad_retention_ages_are_refused(engine: Engine, age: Any) -> None:
    closed_and_open(engine)
    count = engine.store.count()
    with pytest.raises(InvalidArgumentError):
        purge_closed(engine, age)
    assert engine.store.count() == count


# -- the command line --------------------------------------------------------------


def test_privacy_and_retention_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    path = tmp_path / "cli.db"
    url = f"sqlite:///{path}"
    # The commands run on the system clock: make the complaints old enough by it.
    with Engine.open(url, clock=ManualClock(datetime.now(UTC) - timedelta(days=400))) as setup:
        adas, bob = ada_and_bob(setup)
        references = [complaint.reference for complaint in adas]
    runner = CliRunner()
    # Retention first: an erasure is a change, which starts the retention period again.
    dry = runner.invoke(
        retention, ["purge", "--older-than", "90 days", "--dry-run", "--store", url]
    )
    assert dry.exit_code == 0, dry.output
    assert "would purge 1 closed complaint(s)" in dry.output
    assert references[1] in dry.output
    done = runner.invoke(retention, ["purge", "--older-than", "90 days", "--store", url])
    assert done.exit_code == 0
    assert "purged 1 closed complaint(s)" in done.output
    with Engine.open(url) as check:
        assert {c.reference for c in check.find()} == {references[0], bob.reference}
    nothing = runner.invoke(retention, ["purge", "--older-than", "90 days", "--store", url])
    assert "nothing to purge" in nothing.output
    erase = [
        "erase",
        ADA.id,
        "--actor-id",
        DPO.id,
        "--actor-name",
        DPO.name,
        "--role",
        DPO.role,
        "--reason",
        "request ER-1",
        "--store",
        url,
    ]
    result = runner.invoke(privacy, erase)
    assert result.exit_code == 0, result.output
    assert references[0] in result.output
    assert references[1] not in result.output
    assert "conduct record: erased" in result.output
    assert not [needle for needle in NEEDLES if needle.encode() in path.read_bytes()]
    again = runner.invoke(privacy, erase)
    assert again.exit_code == 0
    assert "nothing to erase" in again.output
    refused = runner.invoke(privacy, [*erase[:-4], "--reason", " ", "--store", url])
    assert refused.exit_code == 2
    assert "Invalid value for '--reason': must not be blank" in refused.output

    bad = runner.invoke(retention, ["purge", "--older-than", "soon", "--store", url])
    assert bad.exit_code == 2
    assert "Invalid value for '--older-than': cannot read the retention age" in bad.output


# -- retention periods set in the workflows --------------------------------------------------


def _kept_for(name: str, retention: str | None) -> WorkflowDefinition:
    data: dict[str, Any] = {
        "name": name,
        "initial": "open",
        "states": {"open": {}, "done": {"terminal": True}},
        "transitions": [{"trigger": "finish", "source": "open", "dest": "done"}],
    }
    if retention is not None:
        data["retention"] = retention
    return WorkflowDefinition.from_dict(data)


def test_each_workflow_keeps_its_complaints_for_its_own_retention(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    brief, long, forever = (
        _kept_for("brief", "30 days"),
        _kept_for("long", "2 years"),
        _kept_for("forever", None),
    )
    staff = Actor(id="A-1", name="Bo", role="agent")
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    with Engine.open(url, workflow=brief, clock=clock, load_entry_points=False) as engine:
        for definition in (long, forever):
            engine.registry.workflows[definition.name] = definition
        ids = {}
        for name in ("brief", "long", "forever"):
            complaint = engine.receive(
                Intake(channel="email", summary=name, customer=Customer(id=name, name="N")),
                workflow=name,
            )
            engine.fire(complaint.id, "finish", actor=staff)
            ids[name] = complaint.id
        clock.advance(days=31)
        first = engine.purge_closed()
        assert first.cutoff is None
        assert dict(first.by_workflow) == {"brief": 1}
        # A workflow without a retention period is never looked at; the fca packs
        # (registered by default) keep theirs three years.
        assert set(first.cutoffs) == {"brief", "long", "fca", "fca_payments"}
        assert first.cutoffs["fca"] == clock() - timedelta(days=3 * 365 + 1)
        clock.advance(days=2 * 366)
        assert dict(engine.purge_closed().by_workflow) == {"long": 1}
        assert [c.id for c in engine.find()] == [ids["forever"]]
        # One age for all overrides the workflows' own.
        assert dict(engine.purge_closed("1 day").by_workflow) == {"forever": 1}


def test_purging_without_any_retention_period_is_refused() -> None:
    with Engine.open(
        "memory://", workflow=_kept_for("plain", None), load_entry_points=False
    ) as engine:
        engine.registry.workflows.clear()
        engine.registry.workflows["plain"] = _kept_for("plain", None)
        with pytest.raises(InvalidArgumentError, match="no retention period"):
            engine.purge_closed()


@pytest.mark.parametrize("age", ["3 eons", "0 days", 3])
def test_a_workflow_with_an_unreadable_retention_is_refused(age: Any) -> None:
    from complaint_flow.errors import WorkflowDefinitionError

    with pytest.raises(WorkflowDefinitionError, match="retention must be an age"):
        _kept_for("bad", age)


def test_the_purge_command_applies_the_workflows_retention_without_an_age(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = ManualClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    with Engine.open(url, workflow="fca", clock=clock, load_entry_points=False) as engine:
        complaint = engine.receive(
            Intake(channel="email", summary="Fee", customer=Customer(id="C-1", name="Ada"))
        )
        engine.fire(
            complaint.id,
            "withdraw",
            actor=Actor(id="A-1", name="Bo", role="agent"),
            data={"withdrawal_reason": "sorted"},
        )
    result = CliRunner().invoke(retention, ["purge", "--store", url, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "nothing to purge" in result.output
    # The command runs on the real clock: three years before today, the fca pack's period.
    assert f"fca: {datetime.now(UTC).year - 3}-" in result.output


# -- races with the outbox dispatcher and the purge ----------------------------------


class ErasingNotifier:
    """A notifier during whose delivery the customer's erasure is committed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.seen: list[OutboxMessage] = []

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint | None) -> None:
        self.seen.append(message)
        if len(self.seen) == 1:
            erase_customer(self.engine, ADA.id, actor=DPO, reason="erasure request ER-2026-200")


def test_a_message_erased_while_being_delivered_stays_erased_and_is_not_sent_again(
    engine: Engine,
) -> None:
    complaint = engine.receive(
        Intake(channel="email", customer=ADA, summary="Ada Lovelace: parcel crushed")
    )
    engine.fire(complaint.id, "thank", actor=AGENT)
    to_customer = [
        m
        for m in engine.store.outbox(complaint.id)
        if m.recipient == "customer" and m.status is OutboxStatus.PENDING
    ]
    assert to_customer  # the engine addressed the customer: there is something to erase
    assert all(m.address == ADA.email for m in to_customer)
    claimable = engine.store.outbox_find(status=OutboxStatus.PENDING)
    notifier = ErasingNotifier(engine)
    dispatcher = OutboxDispatcher(
        engine.store,
        Registry(make_plugin_manager([notifier], load_entry_points=False)),
        engine.clock,
        max_attempts=1,
    )

    report = dispatcher.dispatch()

    # The messages were claimed before the erasure, Ada's address in them.
    assert [m.key for m in notifier.seen] == [m.key for m in claimable]
    outbox = {m.key: m for m in engine.store.outbox(complaint.id)}
    for message in to_customer:
        stored = outbox[message.key]
        assert stored.address is None
        assert stored.status is not OutboxStatus.PENDING
    for stored in outbox.values():
        for needle in (ADA.name, ADA.email):
            assert needle not in repr(stored), stored.key
    # The outcomes of the customer's messages (dead since the erasure) were not recorded.
    others = [m for m in claimable if m.key not in {c.key for c in to_customer}]
    assert report == DeliveryReport(delivered=len(others))
    assert all(outbox[m.key].status is OutboxStatus.DELIVERED for m in others)
    again = dispatcher.dispatch()
    assert again.delivered == again.failed == again.dead == 0
    assert engine.store.outbox_find(status=OutboxStatus.PENDING) == []


def test_a_complaint_reopened_between_the_purge_search_and_delete_survives(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = closed_and_open(engine)
    old = made["old_withdrawn"]
    manager = Actor(id="M-1", name="Mo Manager", role="manager")
    find = engine.store.find
    reopened: list[Complaint] = []

    def find_then_reopen(**filters: Any) -> list[Complaint]:
        found = find(**filters)
        if not reopened and any(c.id == old.id for c in found):
            # Another writer reopens it after the purge chose it, before the delete.
            reopened.append(
                engine.fire(old.id, "reopen", actor=manager, data={"reopen_reason": "came back"})
            )
        return found

    monkeypatch.setattr(engine.store, "find", find_then_reopen)

    report = purge_closed(engine, "3 years")

    assert reopened  # the race happened
    assert engine.store.get(old.id) == reopened[0]
    assert engine.store.get(old.id).state == "information_collected"
    assert old.reference not in report.references
    assert dict(report.by_workflow) == {"tiny": 1}
    assert report.references == (made["old_tiny"].reference,)
    with pytest.raises(ComplaintNotFoundError):
        engine.store.get(made["old_tiny"].id)
    assert verify_store(engine.store).ok


def test_a_failing_checkpoint_does_not_stop_an_erasure_half_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from complaint_flow.errors import StoreError

    url = f"sqlite:///{tmp_path / 'erase.db'}"
    with Engine.open(url, clock=ManualClock(START), load_entry_points=False) as engine:
        adas, _bob = ada_and_bob(engine)

        def broken_checkpoint() -> bool:
            raise StoreError("disk I/O error")

        monkeypatch.setattr(engine.store, "checkpoint", broken_checkpoint)
        report = erase_customer(engine, ADA.id, actor=DPO, reason="erasure request ER-7")
        assert report.complaints == tuple(c.id for c in adas)  # every one, not only the first
        assert report.conduct_record
        assert all(engine.get(c.id).customer.name == ERASED for c in adas)
    assert "could not checkpoint" in caplog.text
