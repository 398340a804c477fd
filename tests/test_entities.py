"""Entities: validation at the edges, immutability, and the cattrs round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaint_flow import Actor, Complaint, Customer, Event, Intake, OutboxMessage, Severity
from complaint_flow.errors import InvalidIntakeError
from complaint_flow.model.entities import ClockState, ClockStatus
from complaint_flow.model.immutable import freeze, thaw
from complaint_flow.storage.codec import converter, from_json, to_json

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
aware_datetimes = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)
customers = st.builds(
    Customer,
    id=st.text(min_size=1, max_size=10).filter(str.strip),
    name=st.text(min_size=1, max_size=10).filter(str.strip),
    email=st.none() | st.emails(),
    contacts=st.dictionaries(st.sampled_from(["sms", "whatsapp"]), st.text(max_size=10)),
)
actors = st.builds(
    Actor,
    id=st.just("A-1"),
    name=st.just("Bo"),
    role=st.sampled_from(["agent", "manager"]),
    rank=st.integers(0, 5),
)


@settings(max_examples=100, deadline=None)
@given(
    customer=customers,
    owner=st.none() | actors,
    data=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    at=aware_datetimes,
    severity=st.sampled_from(Severity),
)
def test_complaint_round_trips_through_the_codec(
    customer: Customer,
    owner: Actor | None,
    data: dict[str, Any],
    at: datetime,
    severity: Severity,
) -> None:
    complaint = Complaint(
        id="c1",
        reference="CF-2026-000001",
        workflow="tactics",
        customer=customer,
        channel="email",
        category="general",
        severity=severity,
        summary="s",
        details="d",
        state="received",
        received_at=at,
        updated_at=at,
        version=3,
        owner=owner,
        due_at=at,
        data=data,
    )
    again = from_json(to_json(complaint), Complaint)
    assert again == complaint
    assert thaw(again.data) == thaw(freeze(data))
    assert again.received_at.utcoffset() == at.utcoffset()


@settings(max_examples=50, deadline=None)
@given(
    actor=actors,
    data=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    at=aware_datetimes,
)
def test_event_and_outbox_round_trip(actor: Actor, data: dict[str, Any], at: datetime) -> None:
    event = Event("c1", 2, "transition", at, actor, "thank", "received", "thanked", "why", data)
    assert from_json(to_json(event), Event) == event
    message = OutboxMessage(
        "c1:2:customer",
        "c1",
        2,
        "tactics.thank",
        "customer",
        "email",
        "a@example.org",
        at,
        payload=data,
    )
    assert from_json(to_json(message), OutboxMessage) == message


def test_data_is_deeply_frozen() -> None:
    event = Event(
        "c1",
        1,
        "note",
        datetime(2026, 1, 1, tzinfo=UTC),
        Actor("a", "A", "agent"),
        data={"items": [1, {"x": [2]}]},
    )
    assert isinstance(event.data, MappingProxyType)
    assert event.data["items"] == (1, MappingProxyType({"x": (2,)}))
    with pytest.raises(TypeError):
        event.data["new"] = 1  # type: ignore[index]
    with pytest.raises(TypeError, match="keys must be strings"):
        freeze({1: "x"})


def test_intake_defaults_and_normalisation() -> None:
    intake = Intake(
        channel="email",
        customer=Customer(id="C", name="Ada", email="  "),
        summary="Broken",
        severity="emergency",
        external_id="  ",
    )
    assert intake.severity is Severity.EMERGENCY
    assert intake.customer.email is None
    assert intake.external_id is None
    assert Customer(id="C", name="A", postal_address="1 High St").address_for("letter") == (
        "1 High St"
    )
    assert Customer(id="C", name="A", contacts={"sms": "+1"}).address_for("sms") == "+1"


def test_complaint_advanced_refuses_unknown_fields() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    complaint = Complaint(
        id="c1",
        reference="R",
        workflow="w",
        customer=Customer(id="C", name="A"),
        channel="email",
        category="g",
        severity=Severity.LOW,
        summary="s",
        details="",
        state="a",
        received_at=at,
        updated_at=at,
        version=1,
    )
    nxt = complaint.advanced("b", 2, at, complaint.data, owner=Actor("o", "O", "agent"))
    assert (nxt.state, nxt.version, nxt.owner.id if nxt.owner else None) == ("b", 2, "o")
    assert (complaint.state, complaint.version, complaint.owner) == ("a", 1, None)
    with pytest.raises(TypeError, match="no field"):
        complaint.advanced("b", 2, at, complaint.data, colour="red")


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_data_refuses_numbers_json_cannot_store(number: float) -> None:
    for data in ({"amount": number}, {"amounts": [1.5, number]}, {"nested": {"x": number}}):
        with pytest.raises(InvalidIntakeError, match="not a number JSON can store"):
            Intake(
                channel="email",
                customer=Customer(id="C-1", name="Ada"),
                summary="Overcharged",
                data=data,
            )


def test_an_event_time_must_be_timezone_aware() -> None:
    """A naive time would hash as the host's local time: refused when the event is built."""
    from datetime import datetime

    from complaint_flow.model.entities import SYSTEM

    with pytest.raises(InvalidIntakeError, match=r"Event\.at must be a timezone-aware"):
        Event(complaint_id="c-1", seq=1, kind="received", at=datetime(2026, 1, 5), actor=SYSTEM)


# -- every copy is built by ``__init__`` -----------------------------------------------

_AT = datetime(2026, 1, 1, tzinfo=UTC)
_COMPLAINT = Complaint(
    id="c1",
    reference="R",
    workflow="w",
    customer=Customer(id="C", name="A"),
    channel="email",
    category="g",
    severity=Severity.LOW,
    summary="s",
    details="",
    state="a",
    received_at=_AT,
    updated_at=_AT,
    version=1,
    data={"facts": "x"},
)
_EVENT = Event("c1", 2, "transition", _AT, Actor("a", "A", "agent"), "t", "a", "b", "", {"k": 1})
_CLOCK = ClockState("acknowledge", ClockStatus.RUNNING, _AT, _AT + timedelta(days=1))

# Field values, valid or not: a copy must give what ``attrs.evolve`` gives, or refuse
# what it refuses with the same error.
_values = (
    json_values
    | st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    | aware_datetimes
    | st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
    | st.sets(st.integers(), max_size=2)
)


def _outcome(build: Any) -> Any:
    try:
        return build()
    except Exception as exc:  # the refusal itself is what is compared
        return type(exc), str(exc)


@settings(max_examples=300, deadline=None)
@given(
    entity=st.sampled_from([_COMPLAINT, _EVENT, _CLOCK]),
    data=st.data(),
)
def test_replace_is_attrs_evolve(entity: Any, data: st.DataObject) -> None:
    """``replace`` builds the same copy as ``attrs.evolve`` and refuses exactly what it refuses."""
    names = [field.name for field in attrs.fields(type(entity))]
    chosen = data.draw(st.lists(st.sampled_from(names), unique=True, max_size=4))
    changes = {name: data.draw(_values) for name in chosen}
    got = _outcome(lambda: entity.replace(**changes))
    wanted = _outcome(lambda: attrs.evolve(entity, **changes))
    assert got == wanted
    if isinstance(got, type(entity)):
        assert [getattr(got, name) for name in names] == [getattr(wanted, name) for name in names]
        assert all(type(getattr(got, n)) is type(getattr(wanted, n)) for n in names)


def test_replace_refuses_unknown_fields() -> None:
    for entity in (_COMPLAINT, _EVENT, _CLOCK):
        with pytest.raises(TypeError, match="has no field 'colour'"):
            entity.replace(colour="red")


def test_the_engines_positional_forms_are_the_constructors() -> None:
    """``Event.build`` and ``OutboxMessage.pending`` run the validators and converters too."""
    actor = Actor("a", "A", "agent")
    built = Event.build("c1", 2, "transition", _AT, actor, "t", "a", "b", "why", {"k": [1]})
    assert built == Event("c1", 2, "transition", _AT, actor, "t", "a", "b", "why", {"k": [1]})
    assert built.data == MappingProxyType({"k": (1,)})
    with pytest.raises(InvalidIntakeError, match=r"Event\.at must be a timezone-aware"):
        Event.build("c1", 2, "transition", datetime(2026, 1, 1), actor, None, None, None, "", {})
    message = OutboxMessage.pending("k", "c1", 2, "w.t", "customer", "email", None, _AT, {"a": [1]})
    assert message == OutboxMessage("k", "c1", 2, "w.t", "customer", "email", None, _AT, {"a": [1]})
    assert message.payload == MappingProxyType({"a": (1,)})
    advanced = _COMPLAINT.advanced("b", 2, _AT, {"facts": ["y"]})
    assert advanced == attrs.evolve(_COMPLAINT, state="b", version=2, data={"facts": ["y"]})
    assert advanced.data == MappingProxyType({"facts": ("y",)})
    with pytest.raises(TypeError, match="not JSON-like"):
        _COMPLAINT.advanced("b", 2, _AT, {"facts": object()})


@settings(max_examples=100, deadline=None)
@given(
    customer=customers,
    owner=st.none() | actors,
    data=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    text=st.text(max_size=12),
    at=aware_datetimes,
)
def test_the_hand_written_json_is_the_generic_encoding(
    customer: Customer, owner: Actor | None, data: dict[str, Any], text: str, at: datetime
) -> None:
    """Complaints and events are written by hand, byte for byte as ``json.dumps`` writes."""
    complaint = Complaint(
        id="c1",
        reference="CF-2026-000001",
        workflow="tactics",
        customer=customer,
        channel="email",
        category="general",
        severity=Severity.HIGH,
        summary=text or "s",
        details=text,
        state="received",
        received_at=at,
        updated_at=at,
        version=3,
        owner=owner,
        due_at=at,
        data=data,
        clocks=(ClockState("acknowledge", ClockStatus.RUNNING, at, at, warning_at=at),),
        audit_head="ab" * 32,
    )
    event = Event("c1", 2, "transition", at, owner or _EVENT.actor, None, "a", text, text, data)
    for entity in (complaint, event, attrs.evolve(event, hash="cd" * 32, redacted="ef" * 32)):
        text = to_json(entity)
        # The same values as the generic encoding, written exactly as ``json.dumps``
        # writes them (a complaint's clocks come last, as stored since they exist).
        assert json.loads(text) == converter.unstructure(entity)
        assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
