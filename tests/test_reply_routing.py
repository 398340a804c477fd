"""Replies go on the right channel, or are kept unreachable; never "delivered" to nobody."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    Channel,
    ChannelKind,
    Complaint,
    Customer,
    Engine,
    Intake,
    ManualClock,
    OutboxStatus,
    Receipt,
    Restriction,
    Severity,
    UnreachableAddressError,
    hookimpl,
)
from complaint_flow.kernel.reply_router import UNDELIVERABLE_KEY
from complaint_flow.model.reply_routing import candidates, route_reply
from complaint_flow.plugins.channels import BUILTIN_CHANNELS

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
AGENT = Actor(id="A-1", name="Al", role="agent")
MANAGER = Actor(id="M-1", name="Mo", role="manager")
SUPERVISOR = Actor(id="S-1", name="Sam", role="supervisor")
CHANNELS = {channel.name: channel for channel in BUILTIN_CHANNELS}
WRITTEN = frozenset(n for n, c in CHANNELS.items() if c.kind is ChannelKind.WRITTEN)


class Notifier:
    def __init__(self) -> None:
        self.told: list[str] = []

    @hookimpl
    def complaint_flow_notify(self, message, complaint):  # type: ignore[no-untyped-def]
        self.told.append(message.key)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def notifier() -> Notifier:
    return Notifier()


@pytest.fixture
def engine(clock: ManualClock, notifier: Notifier) -> Iterator[Engine]:
    with Engine.open("memory://", clock=clock, plugins=[notifier]) as opened:
        yield opened


def customer_messages(engine: Engine, complaint_id: str) -> list:  # type: ignore[type-arg]
    return [m for m in engine.outbox(complaint_id) if m.recipient == "customer"]


# -- the rule ------------------------------------------------------------------------------

channel_names = st.sampled_from([*CHANNELS, "sms", "pigeon"])
addresses = st.one_of(st.none(), st.sampled_from(["a@x.org", "B@X.org", "+44 1", "1 Lane"]))


@st.composite
def complaints(draw: st.DrawFn) -> Complaint:
    contacts = draw(
        st.dictionaries(channel_names, st.sampled_from(["c@x.org", "+1 2"]), max_size=3)
    )
    customer = Customer(
        id="C-1",
        name="Ada",
        email=draw(addresses),
        phone=draw(addresses),
        postal_address=draw(addresses),
        contacts=contacts,
        preferred_channel=draw(st.one_of(st.none(), channel_names)),
    )
    return Complaint(
        id="c1",
        reference="CF-2026-000001",
        workflow="tactics",
        customer=customer,
        channel=draw(st.sampled_from(list(CHANNELS))),
        category="general",
        severity=Severity.NORMAL,
        summary="x",
        details="",
        state="received",
        received_at=START,
        updated_at=START,
        version=1,
        preferred_channel=draw(st.one_of(st.none(), channel_names)),
    )


@given(
    complaints(),
    st.booleans(),
    st.lists(st.sampled_from(["a@x.org", "c@x.org", "+1 2", "1 Lane"]), max_size=2),
)
def test_the_route_is_the_first_candidate_that_can_reach_the_customer(
    complaint: Complaint, restricted: bool, bounced: list[str]
) -> None:
    written = WRITTEN if restricted else None
    route = route_reply(complaint, CHANNELS, written_only=written, undeliverable=bounced)
    dead = {b.casefold() for b in bounced}

    def usable(name: str) -> bool:
        channel = CHANNELS.get(name)
        address = complaint.customer.address_for(name)
        return (
            channel is not None
            and channel.reaches_customer
            and bool(address)
            and address.casefold() not in dead
            and (written is None or name in written)
        )

    expected = next((name for name, _ in candidates(complaint) if usable(name)), None)
    if expected is None:
        assert not route.reachable
        assert route.address is None
        assert route.why.startswith("cannot reach the customer")
    else:
        assert route.channel == expected
        assert route.address == complaint.customer.address_for(expected)


def test_candidates_put_the_preference_first_then_the_channel_used() -> None:
    with Engine.open("memory://", clock=ManualClock(START)) as engine:
        customer = Customer(
            id="C-1",
            name="Ada",
            email="a@x.org",
            contacts={"chat": "ada#7", "fax": "+1"},
            preferred_channel="fax",
        )
        complaint = engine.receive(Intake(channel="phone", customer=customer, summary="x"))
    assert [name for name, _ in candidates(complaint)] == [
        "fax",
        "phone",
        "email",
        "chat",
        "letter",
    ]


# -- through the engine --------------------------------------------------------------------


def test_a_web_form_complaint_is_answered_by_email(engine: Engine) -> None:
    ada = Customer(id="C-1", name="Ada", email="ada@example.org", phone="+44 1")
    complaint = engine.receive(Intake(channel="web_form", customer=ada, summary="Late"))
    engine.fire(complaint.id, "thank", actor=AGENT)
    messages = customer_messages(engine, complaint.id)
    assert messages
    assert {(m.channel, m.address, m.status) for m in messages} == {
        ("email", "ada@example.org", OutboxStatus.PENDING)
    }


def test_a_customer_nothing_can_reach_is_never_reported_delivered(
    engine: Engine, notifier: Notifier
) -> None:
    walk_in = Customer(id="C-2", name="Bo")
    complaint = engine.receive(Intake(channel="in_person", customer=walk_in, summary="Rude"))
    engine.fire(complaint.id, "thank", actor=AGENT)
    messages = customer_messages(engine, complaint.id)
    assert messages
    assert {m.status for m in messages} == {OutboxStatus.UNREACHABLE}
    assert all("in_person: no way to reply on it" in (m.last_error or "") for m in messages)
    report = engine.deliver()
    assert report.delivered == 0
    assert not any(key in notifier.told for key in (m.key for m in messages))
    listed = engine.store.outbox_find(status=OutboxStatus.UNREACHABLE)
    assert {m.key for m in messages} <= {m.key for m in listed}


def test_a_notice_to_a_customer_with_no_address_is_kept_unreachable(
    engine: Engine, notifier: Notifier
) -> None:
    """A stop-procedure notice built with no address is not delivered to nobody."""
    walk_in = Customer(id="C-2", name="Bo")
    engine.conduct.warn(walk_in, actor=SUPERVISOR, reason="Shouting at the desk.")
    [notice] = [m for m in engine.outbox("conduct:C-2") if m.recipient == "customer"]
    assert notice.address is None
    report = engine.deliver()
    assert report.unreachable == 1
    assert notice.key not in notifier.told
    [stored] = [m for m in engine.outbox("conduct:C-2") if m.key == notice.key]
    assert stored.status is OutboxStatus.UNREACHABLE
    assert "no address for the customer" in (stored.last_error or "")
    assert engine.deliver().unreachable == 0  # kept aside, not tried again


def test_a_customer_restricted_to_writing_is_answered_in_writing(
    engine: Engine, clock: ManualClock
) -> None:
    ada = Customer(
        id="C-1", name="Ada", phone="+44 1", postal_address="1 Lane", preferred_channel="phone"
    )
    engine.conduct.warn(ada, actor=SUPERVISOR, reason="Abusive calls.")
    engine.conduct.restrict(
        ada,
        [Restriction.written_only()],
        actor=MANAGER,
        reasons="Calls continued after the warning.",
        review_at=clock() + timedelta(days=90),
    )
    complaint = engine.receive(Intake(channel="letter", customer=ada, summary="Bill"))
    engine.fire(complaint.id, "thank", actor=AGENT)
    routes = {(m.channel, m.address) for m in customer_messages(engine, complaint.id)}
    assert routes == {("letter", "1 Lane")}
    # Once the review date passes, the preference counts again.
    clock.advance(timedelta(days=91))
    later = engine.receive(Intake(channel="letter", customer=ada, summary="Bill again"))
    engine.fire(later.id, "thank", actor=AGENT)
    latest = customer_messages(engine, later.id)[-1]
    assert (latest.channel, latest.address) == ("phone", "+44 1")


def test_a_bounced_address_is_skipped(engine: Engine) -> None:
    ada = Customer(id="C-1", name="Ada", email="ada@example.org", postal_address="1 Lane")
    complaint = engine.receive(
        Intake(
            channel="email",
            customer=ada,
            summary="Late",
            data={UNDELIVERABLE_KEY: {"ada@example.org": "550 no such user"}},
        )
    )
    engine.fire(complaint.id, "thank", actor=AGENT)
    latest = customer_messages(engine, complaint.id)[-1]
    assert (latest.channel, latest.address) == ("letter", "1 Lane")


# -- adapters ------------------------------------------------------------------------------


class Sms:
    channel = Channel("sms", ChannelKind.WRITTEN, "Text message")

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.sent: list = []  # type: ignore[type-arg]
        self.refuse = refuse or set()

    def parse(self, raw: bytes) -> Intake:
        raise NotImplementedError

    def send(self, message):  # type: ignore[no-untyped-def]
        if message.address in self.refuse:
            raise UnreachableAddressError(message.address, "not a mobile number")
        self.sent.append(message)
        return Receipt(channel="sms", address=message.address, message_id=f"sms-{message.key}")


class SmsPlugin:
    def __init__(self, adapter: Sms) -> None:
        self.adapter = adapter

    @hookimpl
    def complaint_flow_register_channels(self, register):  # type: ignore[no-untyped-def]
        register(self.adapter)


def test_an_adapter_sends_the_replies_on_its_channel(clock: ManualClock) -> None:
    sms = Sms()
    with Engine.open("memory://", clock=clock, plugins=[SmsPlugin(sms)]) as engine:
        ada = Customer(id="C-1", name="Ada", contacts={"sms": "+447700900001"})
        complaint = engine.receive(Intake(channel="sms", customer=ada, summary="Late"))
        engine.fire(complaint.id, "thank", actor=AGENT)
        report = engine.deliver()
        assert report.delivered >= 1
        assert sms.sent
        sent = sms.sent[-1]
        assert sent.address == "+447700900001"
        assert complaint.reference in sent.subject
        assert sent.automatic


def test_a_permanent_refusal_makes_the_message_unreachable(clock: ManualClock) -> None:
    sms = Sms(refuse={"+447700900001"})
    with Engine.open("memory://", clock=clock, plugins=[SmsPlugin(sms)]) as engine:
        ada = Customer(id="C-1", name="Ada", contacts={"sms": "+447700900001"})
        complaint = engine.receive(Intake(channel="sms", customer=ada, summary="Late"))
        engine.fire(complaint.id, "thank", actor=AGENT)
        report = engine.deliver()
        assert report.unreachable >= 1
        assert report.delivered == 0
        assert not sms.sent
        statuses = {m.status for m in customer_messages(engine, complaint.id)}
        assert statuses == {OutboxStatus.UNREACHABLE}
