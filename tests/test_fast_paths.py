"""The fire path's fast paths keep every guarantee of the slow ones they replace.

Each test compares a fast path with the plain construction it stands for, on
generated values valid or not: the same result, or the same refusal.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaint_flow import Actor, Complaint, Customer, Event, OutboxMessage, Severity
from complaint_flow.model.entities import OutboxStatus
from complaint_flow.storage.codec import converter, from_json, to_json
from complaint_flow.storage.contract import Commit
from complaint_flow.storage.hashing import Chain, chain_events, event_hash

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
ACTORS = (
    Actor(id="A-1", name="Bo", role="agent", email="bo@example.org"),
    Actor(id="M-1", name="Mo \u00e9", role="manager", rank=2),
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
# Valid or not: a chain must refuse exactly what ``Event(...)`` refuses.
moments: st.SearchStrategy[Any] = (
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3))]),
    )
    | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
    | st.just("2026-03-02T09:00Z")
)
datas: st.SearchStrategy[Any] = (
    st.none()
    | st.dictionaries(st.text(max_size=5), st.text(max_size=6), max_size=3)
    | st.dictionaries(st.text(max_size=5), json_values, max_size=3)
    | st.dictionaries(st.integers(), st.text(), min_size=1, max_size=2)
    | st.dictionaries(st.text(max_size=3), st.sets(st.integers()), min_size=1, max_size=1)
    | st.lists(st.text(), max_size=2)
)
texts = st.text(max_size=6) | st.just("bad \udc80 text")
parts = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["transition", "note", "assigned"]),
        "at": moments,
        "actor": st.sampled_from(ACTORS),
        "trigger": st.none() | texts,
        "source": st.none() | st.text(max_size=6),
        "dest": st.none() | st.text(max_size=6),
        "reason": texts,
        "data": datas,
    }
)
heads = st.none() | st.text("0123456789abcdef", min_size=64, max_size=64)


def _outcome(build: Any) -> Any:
    try:
        return build()
    except Exception as exc:  # the refusal itself is what is compared
        return type(exc), str(exc)


def _complaint(version: int, audit_head: str | None) -> Complaint:
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
        audit_head=audit_head,
    )


def _event(seq: int, part: dict[str, Any]) -> Event:
    return Event(
        "c-1",
        seq,
        part["kind"],
        part["at"],
        part["actor"],
        part["trigger"],
        part["source"],
        part["dest"],
        part["reason"],
        part["data"],
    )


def _recorded(chain: Chain, seq: int, part: dict[str, Any]) -> Event:
    return chain.record(
        "c-1",
        seq,
        part["kind"],
        part["at"],
        part["actor"],
        part["trigger"],
        part["source"],
        part["dest"],
        part["reason"],
        part["data"],
    )


@settings(max_examples=300, deadline=None)
@given(part=parts, head=heads)
def test_a_chain_builds_an_event_once_as_event_and_hashing_would(
    part: dict[str, Any], head: str | None
) -> None:
    """``Chain.record`` gives ``Event(...)`` hashed after ``head``, or refuses the same way."""

    def slow() -> Event:
        event = _event(5, part)
        return Commit(_complaint(5, head), 4, [event]).events[0]

    chain = Chain(head)
    got = _outcome(lambda: _recorded(chain, 5, part))
    assert got == _outcome(slow)
    if isinstance(got, Event):
        assert got.hash == event_hash(head, got) == chain.head
        assert chain.events == (got,)
        assert all(
            type(getattr(got, f.name)) is type(getattr(slow(), f.name)) for f in attrs.fields(Event)
        )
    else:
        # A refusal records nothing.
        assert chain.events == ()
        assert chain.head == head


@settings(max_examples=200, deadline=None)
@given(
    part_list=st.lists(parts, min_size=1, max_size=4),
    head=heads,
    expected=st.integers(0, 3),
    stale_hash=st.booleans(),
)
def test_a_commit_of_a_chain_equals_the_commit_of_its_events_hashed_afresh(
    part_list: list[dict[str, Any]], head: str | None, expected: int, stale_hash: bool
) -> None:
    """A commit takes a chain's events as they are: the same commit as hashing them again.

    Events built elsewhere and appended (with no hash or a stale one) are hashed as a
    commit would hash them.
    """
    try:
        events = [_event(seq, p) for seq, p in enumerate(part_list, start=expected + 1)]
        chain_events(head, events)
    except Exception:
        return  # refused parts: the test above compares refusals
    if stale_hash:
        events = [attrs.evolve(event, hash="0" * 64) for event in events]
    version = expected + len(events)
    slow = Commit(_complaint(version, head), expected, events, reference_prefix="CF")

    recorded = Chain(head)
    for seq, p in enumerate(part_list, start=expected + 1):
        _recorded(recorded, seq, p)
    appended = Chain.over(head, events)
    for chain in (recorded, appended):
        assert chain.head == slow.complaint.audit_head
        for complaint in (_complaint(version, head), _complaint(version, chain.head)):
            fast = Commit(complaint, expected, chain, reference_prefix="CF")
            assert fast == slow
            assert all(a is b for a, b in zip(fast.events, chain.events, strict=True))
        kept = _complaint(version, chain.head)
        assert Commit(kept, expected, chain, reference_prefix="CF").complaint is kept
    assert [attrs.evolve(e, hash=None) for e in slow.events] == [
        attrs.evolve(e, hash=None) for e in events
    ]


_any_value = (
    json_values
    | st.dictionaries(st.text(max_size=5), json_values, max_size=3)
    | moments
    | st.sets(st.integers(), max_size=2)
    | st.sampled_from(ACTORS)
)


@settings(max_examples=300, deadline=None)
@given(
    state=_any_value,
    version=_any_value,
    at=_any_value,
    data=_any_value,
    data_strategy=st.data(),
)
def test_advanced_is_attrs_evolve(
    state: Any, version: Any, at: Any, data: Any, data_strategy: st.DataObject
) -> None:
    """``Complaint.advanced`` builds what ``attrs.evolve`` builds, or refuses the same way."""
    complaint = _complaint(3, "f" * 64)
    names = [f.name for f in attrs.fields(Complaint)]
    others = [n for n in names if n not in ("state", "version", "updated_at", "data")]
    chosen = data_strategy.draw(st.lists(st.sampled_from(others), unique=True, max_size=3))
    changes = {name: data_strategy.draw(_any_value) for name in chosen}
    got = _outcome(lambda: complaint.advanced(state, version, at, data, **changes))
    wanted = _outcome(
        lambda: attrs.evolve(
            complaint, state=state, version=version, updated_at=at, data=data, **changes
        )
    )
    assert got == wanted
    if isinstance(got, Complaint):
        assert [type(getattr(got, n)) for n in names] == [type(getattr(wanted, n)) for n in names]


@settings(max_examples=300, deadline=None)
@given(
    key=st.text(max_size=12),
    topic=st.text(max_size=12),
    address=st.none() | st.text(max_size=12),
    payload=st.dictionaries(st.text(max_size=5), json_values, max_size=3)
    | st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=3),
    status=st.sampled_from(list(OutboxStatus)),
    attempts=st.integers(0, 9),
    last_error=st.none() | texts.filter(lambda t: "\udc80" not in t),
    delivered_at=st.none() | st.datetimes(timezones=st.just(UTC)),
)
def test_a_message_is_written_as_the_generic_encoding_writes_it(
    key: str,
    topic: str,
    address: str | None,
    payload: dict[str, Any],
    status: OutboxStatus,
    attempts: int,
    last_error: str | None,
    delivered_at: datetime | None,
) -> None:
    """The hand-written JSON of an outbox message is ``json.dumps`` of its unstructured form."""
    message = OutboxMessage(
        key,
        "c-1",
        3,
        topic,
        "customer",
        "email",
        address,
        START,
        payload,
        status,
        attempts,
        last_error,
        delivered_at,
        START + timedelta(minutes=2),
    )
    wanted = json.dumps(converter.unstructure(message), separators=(",", ":"), ensure_ascii=False)
    assert to_json(message) == wanted
    assert from_json(to_json(message), OutboxMessage) == message


@settings(max_examples=200, deadline=None)
@given(
    data=st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=4)
    | st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    state=st.text(min_size=1, max_size=8),
)
def test_text_data_is_written_as_the_generic_encoding_writes_it(
    data: dict[str, Any], state: str
) -> None:
    """Data of text fields, written directly, is byte for byte what ``json.dumps`` writes."""
    complaint = attrs.evolve(_complaint(2, None), state=state, data=data)
    event = Event("c-1", 2, "note", START, ACTORS[1], None, None, state, "why", data)
    for entity in (complaint, event):
        got = json.loads(to_json(entity))
        assert got == converter.unstructure(entity)
        assert to_json(entity) == json.dumps(got, separators=(",", ":"), ensure_ascii=False)


def test_a_chain_cannot_be_altered_from_outside() -> None:
    """A commit trusts a chain's events and head: nothing but hashing may set them."""
    chain = Chain(None)
    event = chain.record("c-1", 1, "note", START, ACTORS[0], None, None, None, "why", None)
    for name, value in (("head", "0" * 64), ("start", "0" * 64), ("events", ())):
        with pytest.raises(AttributeError):
            setattr(chain, name, value)
    assert chain.events == (event,)
    assert chain.head == event.hash == event_hash(None, event)
