"""Bulk intake: receive_many applies the intake rules to every message, in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from complaint_flow import Actor, Customer, Engine, Intake, InvalidIntakeError, ManualClock
from complaint_flow.errors import DuplicateIntakeError
from complaint_flow.model.conduct import Restriction
from complaint_flow.services.intake import OutcomeKind
from complaint_flow.storage.contract import Commit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MANAGER = Actor(id="M-1", name="Mo", role="manager")
AGENT = Actor(id="A-1", name="Bo", role="agent")


def customer(n: int) -> Customer:
    return Customer(id=f"C-{n}", name=f"Customer {n}", email=f"c{n}@example.org")


def intake(n: int, channel: str = "email", **changes: Any) -> Intake:
    fields: dict[str, Any] = {"summary": f"Complaint {n}", "external_id": f"m-{n}"}
    fields.update(changes)
    return Intake(channel=channel, customer=customer(n), **fields)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_schema_url")
    else:
        url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    with Engine.open(url, clock=ManualClock(START), load_entry_points=False) as opened:
        yield opened


def test_every_intake_is_opened_in_order_with_one_store_write(engine: Engine) -> None:
    calls = {"commit_many": 0, "commit": 0}
    store = engine.store
    real_many, real_one = store.commit_many, store.commit

    def many(commits: Any) -> Any:
        calls["commit_many"] += 1
        return real_many(commits)

    def one(commit: Commit) -> Any:
        calls["commit"] += 1
        return real_one(commit)

    store.commit_many = many  # type: ignore[method-assign]
    store.commit = one  # type: ignore[method-assign]
    outcomes = engine.receive_many([intake(n) for n in range(20)])
    assert calls == {"commit_many": 1, "commit": 0}
    assert [o.kind for o in outcomes] == [OutcomeKind.OPENED] * 20
    assert [o.complaint.summary for o in outcomes if o.complaint] == [
        f"Complaint {n}" for n in range(20)
    ]
    references = [o.complaint.reference for o in outcomes if o.complaint]
    assert references == sorted(references)
    assert len(set(references)) == 20
    assert engine.store.count() == 20
    for outcome in outcomes:
        assert outcome.complaint is not None
        assert [e.kind for e in engine.history(outcome.complaint.id)] == ["received"]


def test_duplicates_within_the_batch_and_against_the_store_are_one_complaint(
    engine: Engine,
) -> None:
    stored = engine.receive(intake(1))
    outcomes = engine.receive_many([intake(1), intake(2), intake(2), intake(3), intake(1)])
    kinds = [o.kind for o in outcomes]
    assert kinds == [
        OutcomeKind.DUPLICATE,
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
    ]
    assert outcomes[0].complaint == stored
    assert outcomes[4].complaint == stored
    assert outcomes[1].complaint is not None
    assert outcomes[2].complaint is not None
    assert outcomes[1].complaint.id == outcomes[2].complaint.id
    assert engine.store.count() == 3


def count_calls(engine: Engine, *names: str) -> dict[str, int]:
    """Count calls of the engine's store methods ``names`` (the counts fill in as they come)."""
    calls = dict.fromkeys(names, 0)
    store = engine.store
    for name in names:
        real = getattr(store, name)

        def counted(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        setattr(store, name, counted)
    return calls


def test_a_batch_of_new_messages_looks_nothing_up(engine: Engine) -> None:
    calls = count_calls(engine, "find_by_external_id", "commit_many", "commit")
    outcomes = engine.receive_many([intake(n) for n in range(5)] + [intake(2)])
    assert [o.kind for o in outcomes] == [OutcomeKind.OPENED] * 5 + [OutcomeKind.DUPLICATE]
    # The unique (channel, external_id) of the store is the check: no look-up per message.
    assert calls == {"find_by_external_id": 0, "commit_many": 1, "commit": 0}


def test_a_redelivered_batch_is_looked_up_once_refused(engine: Engine) -> None:
    first = engine.receive_many([intake(1), intake(2)])
    calls = count_calls(engine, "find_by_external_id", "commit_many", "commit")
    again = engine.receive_many([intake(0), intake(1), intake(2), intake(3), intake(1)])
    assert [o.kind for o in again] == [
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
        OutcomeKind.DUPLICATE,
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
    ]
    assert again[1].complaint == first[0].complaint
    assert again[2].complaint == first[1].complaint
    assert again[4].complaint == first[0].complaint
    # Refused whole, then each message looked up and the new ones written together.
    assert calls == {"find_by_external_id": 4, "commit_many": 2, "commit": 0}
    assert engine.store.count() == 4
    for outcome in again:
        assert outcome.complaint is not None
        assert [e.kind for e in engine.history(outcome.complaint.id)] == ["received"]
    assert engine.verify_audit().ok


def test_restrictions_apply_in_a_batch(engine: Engine) -> None:
    ada = customer(1)
    engine.conduct.restrict(
        ada,
        [Restriction.written_only(), Restriction.contact_limit(2, 30)],
        actor=MANAGER,
        reasons="repeated abusive calls",
        review_at=START + timedelta(days=90),
        skip_warning_reason="staff safety",
    )
    batch = [
        intake(1, "phone", external_id="p1"),
        intake(2),
        intake(1, external_id="e1"),
        intake(1, external_id="e2"),
        intake(1, external_id="e3"),
        intake(1, "phone", external_id="p1"),
    ]
    kinds = [o.kind for o in engine.receive_many(batch)]
    assert kinds == [
        OutcomeKind.FILED,  # spoken; still counted as a contact
        OutcomeKind.OPENED,  # another customer
        OutcomeKind.OPENED,  # the second contact in the period
        OutcomeKind.FILED,  # over the limit
        OutcomeKind.FILED,
        OutcomeKind.FILED,  # the redelivered call: the same item, not filed twice
    ]
    record = engine.store.conduct_get(ada.id)
    assert record is not None
    filed = [i.external_id for i in record.review_queue]
    assert sorted(filed) == sorted(set(filed)), "nothing filed twice"
    opened = {c.external_id for c in engine.find(customer_id=ada.id)}
    assert opened.isdisjoint(filed)
    assert opened | set(filed) == {"p1", "e1", "e2", "e3"}
    assert len(opened) == 1, "a limit of 2 contacts: the filed call and one complaint"


def test_a_decided_matter_in_a_batch_is_linked(engine: Engine) -> None:
    first = engine.receive(intake(1))
    engine.fire(first.id, "withdraw", actor=AGENT, data={"withdrawal_reason": "settled"})
    engine.final_decision(first.id, actor=MANAGER, response="Final")
    outcomes = engine.receive_many(
        [intake(2), intake(1, external_id="again", details=f"re {first.reference}")]
    )
    assert [o.kind for o in outcomes] == [OutcomeKind.OPENED, OutcomeKind.LINKED]
    assert engine.history(first.id)[-1].kind == "contact_linked"


def test_a_race_on_a_duplicate_falls_back_one_by_one(engine: Engine) -> None:
    store = engine.store
    real_many = store.commit_many
    raced = {"done": False}

    def racing(commits: Any) -> Any:
        if not raced["done"]:
            raced["done"] = True
            # Another writer stores message 2 between the checks and the batch write.
            engine.receive(intake(2))
            raise DuplicateIntakeError("email", "m-2")
        return real_many(commits)

    store.commit_many = racing  # type: ignore[method-assign]
    outcomes = engine.receive_many([intake(1), intake(2), intake(3), intake(3)])
    assert [o.kind for o in outcomes] == [
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
    ]
    assert engine.store.count() == 3


def test_a_race_on_the_second_write_too_falls_back_one_by_one(engine: Engine) -> None:
    store = engine.store
    real_many = store.commit_many
    races = iter([intake(2), intake(3)])

    def racing(commits: Any) -> Any:
        racer = next(races, None)
        if racer is not None:
            # Another writer stores a message of the batch before each batch write.
            engine.receive(racer)
            raise DuplicateIntakeError("email", racer.external_id or "")
        return real_many(commits)

    store.commit_many = racing  # type: ignore[method-assign]
    outcomes = engine.receive_many([intake(1), intake(2), intake(3), intake(3)])
    assert [o.kind for o in outcomes] == [
        OutcomeKind.OPENED,
        OutcomeKind.DUPLICATE,
        OutcomeKind.DUPLICATE,
        OutcomeKind.DUPLICATE,
    ]
    assert engine.store.count() == 3
    assert engine.verify_audit().ok


def test_a_bad_intake_refuses_the_whole_batch(engine: Engine) -> None:
    with pytest.raises(InvalidIntakeError):
        engine.receive_many([intake(1), intake(2, channel="pigeon")])
    with pytest.raises(InvalidIntakeError):
        engine.receive_many([intake(1), "not an intake"])  # type: ignore[list-item]
    assert engine.store.count() == 0


def test_an_empty_batch_writes_nothing(engine: Engine) -> None:
    assert engine.receive_many([]) == []
    assert engine.store.count() == 0
