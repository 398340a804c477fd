"""The things complaint_flow talks about: customers, actors, intakes, complaints, events.

A :class:`Complaint` returned by the engine is an immutable snapshot of one
version: the engine is the only way to change a complaint, and every change
produces a new version together with the :class:`Event` that explains it. Being
immutable, a snapshot can be shared by the in-memory store without copies and
cannot be altered behind the store's back.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from complaint_flow.errors import InvalidIntakeError
from complaint_flow.model.immutable import EMPTY, FrozenData, freeze_mapping


class Severity(enum.StrEnum):
    """How serious a complaint is; ``EMERGENCY`` takes the emergency path."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    EMERGENCY = "emergency"


class ChannelKind(enum.StrEnum):
    """What sort of contact a channel is: it matters for stop procedures (written requests)."""

    WRITTEN = "written"
    SPOKEN = "spoken"
    ONLINE = "online"


def _storable(text: str, where: str) -> None:
    """Refuse text that cannot be stored as UTF-8 (a lone surrogate, e.g. a bad decode)."""
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise InvalidIntakeError(
            f"{where} holds {text[exc.start : exc.end]!r} at position {exc.start}, a lone "
            "surrogate that cannot be stored as UTF-8; decode the message with the right "
            "encoding (or errors='replace') before building it"
        ) from None


def _optional_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidIntakeError(f"expected text, got {type(value).__name__} {value!r}")
    _storable(value, "the text")
    stripped = value.strip()
    return stripped or None


def _required_text(what: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            raise InvalidIntakeError(
                f"{type(instance).__name__}.{attribute.name} must be non-empty text "
                f"({what}); got {value!r}"
            )
        _storable(value, f"{type(instance).__name__}.{attribute.name}")

    return check


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidIntakeError(
            f"{type(instance).__name__}.{attribute.name} must be a timezone-aware datetime "
            f"(give it a tzinfo, e.g. tzinfo=timezone.utc); got {value!r}"
        )


def _instance_of(kind: type, what: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidIntakeError(
                f"{type(instance).__name__}.{attribute.name} must be {what}; "
                f"got {type(value).__name__} {value!r}"
            )
        if isinstance(value, str):
            _storable(value, f"{type(instance).__name__}.{attribute.name}")

    return check


def _data(value: Mapping[str, Any] | None) -> FrozenData:
    try:
        return freeze_mapping(value)
    except TypeError as exc:
        raise InvalidIntakeError(
            f"data must be JSON-like (text, numbers, booleans, None, lists and mappings "
            f"with text keys): {exc}"
        ) from None


def _severity(value: object) -> Severity:
    try:
        return Severity(str(value))
    except ValueError:
        choices = ", ".join(repr(s.value) for s in Severity)
        raise InvalidIntakeError(f"unknown severity {value!r}; use one of {choices}") from None


_Entity = TypeVar("_Entity", bound=attrs.AttrsInstance)


def _copier(cls: type[_Entity]) -> tuple[Mapping[str, int], Callable[..., _Entity]]:
    """``attrs.evolve`` for ``cls``, about three times faster: the engine copies on every step.

    Returns each field's position in ``cls(...)`` and ``build(arguments, changes)``,
    which puts ``changes`` in place by name in ``arguments`` (an instance's values in
    field order) and returns ``cls(*arguments)``: every converter and validator runs.
    An instance's values in field order are the values of its dictionary, in order:
    ``__init__`` fills it field by field, and every instance is built by ``__init__``.
    That needs ``cls`` to be dict-backed with every field a positional ``__init__``
    parameter under its own name: checked here, once.
    """
    fields = attrs.fields(cls)
    if "__slots__" in vars(cls) or any(
        not field.init or field.kw_only or field.alias != field.name for field in fields
    ):
        raise TypeError(f"{cls.__name__}: copies need a dict class of positional fields")
    position = {field.name: index for index, field in enumerate(fields)}

    def build(arguments: list[Any], changes: Mapping[str, Any]) -> _Entity:
        try:
            for name, value in changes.items():
                arguments[position[name]] = value
        except KeyError:
            raise TypeError(f"{cls.__name__} has no field {name!r}") from None
        return cls(*arguments)

    return position, build


def _contacts(value: Mapping[str, str] | None) -> FrozenData:
    if value is None:
        return EMPTY
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidIntakeError(
            f"contacts must map channel names to addresses (str -> str); got {value!r}"
        )
    return freeze_mapping(value)


@attrs.frozen
class Customer:
    """The person or organisation complaining, with a way to reach them per channel.

    Args:
        id: the host application's customer id.
        name: how to address them.
        email, phone, postal_address: the usual contacts.
        contacts: further addresses by channel name (e.g. ``{"sms": "+44…"}``).
        preferred_channel: the channel they want replies on, if they said so.
    """

    id: str = attrs.field(validator=_required_text("the host's customer id"))
    name: str = attrs.field(validator=_required_text("how to address the customer"))
    email: str | None = attrs.field(default=None, converter=_optional_text)
    phone: str | None = attrs.field(default=None, converter=_optional_text)
    postal_address: str | None = attrs.field(default=None, converter=_optional_text)
    contacts: FrozenData = attrs.field(default=EMPTY, converter=_contacts)
    preferred_channel: str | None = attrs.field(default=None, converter=_optional_text)

    def address_for(self, channel: str) -> str | None:
        """The customer's address on ``channel``, or ``None`` if they have none there."""
        if channel in self.contacts:
            address: str = self.contacts[channel]
            return address
        if channel == "email":
            return self.email
        if channel in ("phone", "sms"):
            return self.phone
        if channel == "letter":
            return self.postal_address
        return None


@attrs.frozen
class Actor:
    """Someone who acts on complaints: an agent, a manager, the system itself.

    ``rank`` orders the escalation ladder (1 = frontline); ``role`` is what
    workflows grant triggers to.
    """

    id: str = attrs.field(validator=_required_text("who is acting"))
    name: str = attrs.field(validator=_required_text("the actor's name"))
    role: str = attrs.field(validator=_required_text("e.g. 'agent' or 'manager'"))
    rank: int = attrs.field(
        default=1, validator=_instance_of(int, "a whole number (1 = frontline)")
    )
    email: str | None = attrs.field(default=None, converter=_optional_text)
    phone: str | None = attrs.field(default=None, converter=_optional_text)

    @property
    def has_contact(self) -> bool:
        """Whether a customer could reach this actor directly (phone or email)."""
        return bool(self.email or self.phone)


SYSTEM = Actor(id="system", name="complaint_flow", role="system", rank=0)
"""The actor recorded for what the library does by itself (intake, sweeps)."""


@attrs.frozen
class Intake:
    """A complaint as it arrives on a channel, before it is stored.

    ``external_id`` identifies the message on its channel (an email's Message-ID,
    a web form's submission id): the same message delivered twice is one complaint.
    ``informal`` with ``recorded_by`` marks a complaint a member of staff received
    informally and records without blame.
    """

    channel: str = attrs.field(validator=_required_text("the channel it came in on"))
    customer: Customer = attrs.field(
        validator=_instance_of(Customer, "a Customer(id=..., name=...)")
    )
    summary: str = attrs.field(validator=_required_text("a one-line summary"))
    details: str = attrs.field(default="", validator=_instance_of(str, "text"))
    external_id: str | None = attrs.field(default=None, converter=_optional_text)
    category: str = attrs.field(default="general", validator=_required_text("a category"))
    severity: Severity = attrs.field(default=Severity.NORMAL, converter=_severity)
    desired_outcome: str = attrs.field(default="", validator=_instance_of(str, "text"))
    preferred_channel: str | None = attrs.field(default=None, converter=_optional_text)
    received_at: datetime | None = attrs.field(default=None, validator=_aware)
    informal: bool = attrs.field(default=False, validator=_instance_of(bool, "True or False"))
    recorded_by: Actor | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(_instance_of(Actor, "the Actor who recorded it")),
    )
    data: FrozenData = attrs.field(default=EMPTY, converter=_data)


class ClockStatus(enum.StrEnum):
    """Whether a deadline clock is counting."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@attrs.frozen(slots=False)  # dict-backed: ``replace`` copies it cheaply
class ClockState:
    """Where one deadline clock of a complaint stands (derived from its events).

    ``deadline`` already includes the time spent paused and any extension;
    ``warning_at`` is when the owner is warned before the deadline.
    """

    name: str
    status: ClockStatus
    started_at: datetime
    deadline: datetime
    warning_at: datetime | None = None
    warned: bool = False
    breached: bool = False
    paused_at: datetime | None = None
    stopped_at: datetime | None = None
    extensions: int = 0

    @property
    def running(self) -> bool:
        return self.status is ClockStatus.RUNNING

    def replace(self, **changes: Any) -> ClockState:
        """A copy with ``changes``: ``attrs.evolve(self, **changes)``, faster."""
        return _build_clock(list(vars(self).values()), changes)


_build_clock = _copier(ClockState)[1]


@attrs.frozen(slots=False)  # dict classes construct about twice as fast
class Complaint:
    """One version of a stored complaint (an immutable snapshot).

    ``version`` counts the events recorded for the complaint; ``reference`` is the
    human reference quoted to the customer (``CF-2026-000123``). ``data`` holds what
    the process collected (facts, actions, resolution…). ``clocks`` are its
    deadline clocks; ``due_at`` is the next warning or deadline among them, which
    the store indexes for sweeps. ``escalation_level`` is its rung on the
    escalation ladder (1 = frontline); ``department`` where routing sent it.
    ``audit_head`` is the hash of its last event (see :mod:`complaint_flow.storage.hashing`):
    keeping a copy elsewhere anchors the audit trail.
    """

    id: str
    reference: str
    workflow: str
    customer: Customer
    channel: str
    category: str
    severity: Severity
    summary: str
    details: str
    state: str
    received_at: datetime
    updated_at: datetime
    version: int
    desired_outcome: str = ""
    preferred_channel: str | None = None
    external_id: str | None = None
    owner: Actor | None = None
    informal: bool = False
    recorded_by: Actor | None = None
    due_at: datetime | None = None
    data: FrozenData = attrs.field(default=EMPTY, converter=freeze_mapping)
    clocks: tuple[ClockState, ...] = ()
    escalation_level: int = 1
    department: str | None = None
    audit_head: str | None = None

    def clock(self, name: str) -> ClockState | None:
        """The state of deadline clock ``name``, or ``None`` if it never started."""
        for state in self.clocks:
            if state.name == name:
                return state
        return None

    def advanced(
        self, state: str, version: int, updated_at: datetime, data: FrozenData, **changes: Any
    ) -> Complaint:
        """The next version of this snapshot: in ``state``, at ``version``, with ``data``.

        ``changes`` names further fields that change (``owner``, ``clocks``…).
        """
        # The four that change on every step are put in place by position.
        arguments = list(vars(self).values())
        arguments[_STATE] = state
        arguments[_VERSION] = version
        arguments[_UPDATED_AT] = updated_at
        arguments[_DATA] = data
        return _build_complaint(arguments, changes)

    def replace(self, **changes: Any) -> Complaint:
        """A copy with ``changes``: ``attrs.evolve(self, **changes)``, faster."""
        return _build_complaint(list(vars(self).values()), changes)

    @property
    def reply_channel(self) -> str:
        """Where replies go: the preferred channel, else the channel the complaint came on."""
        return self.preferred_channel or self.customer.preferred_channel or self.channel


_complaint_fields, _build_complaint = _copier(Complaint)
_STATE = _complaint_fields["state"]
_VERSION = _complaint_fields["version"]
_UPDATED_AT = _complaint_fields["updated_at"]
_DATA = _complaint_fields["data"]


@attrs.frozen(slots=False)  # dict classes construct about twice as fast
class Event:
    """One entry of a complaint's audit trail: who did what, when and why.

    ``seq`` is the complaint's version after the event (the first event is 1).
    ``complaint_id`` is the complaint's id, or ``conduct:<customer id>`` for an
    event of a customer's conduct record. ``hash`` chains the event to the one
    before it (set when the event is committed; see :mod:`complaint_flow.storage.hashing`);
    ``redacted`` is set only on an event whose personal content was erased: the
    digest of what was erased, which keeps the chain verifiable.
    """

    complaint_id: str
    seq: int
    kind: str
    at: datetime = attrs.field(validator=_aware)
    actor: Actor
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    reason: str = ""
    data: FrozenData = attrs.field(default=EMPTY, converter=freeze_mapping)
    hash: str | None = None
    redacted: str | None = None

    @classmethod
    def build(
        cls,
        complaint_id: str,
        seq: int,
        kind: str,
        at: datetime,
        actor: Actor,
        trigger: str | None,
        source: str | None,
        dest: str | None,
        reason: str,
        data: FrozenData,
    ) -> Event:
        """A new event, not yet hashed, every part given (the engine's positional form)."""
        return cls(complaint_id, seq, kind, at, actor, trigger, source, dest, reason, data)

    def replace(self, **changes: Any) -> Event:
        """A copy with ``changes``: ``attrs.evolve(self, **changes)``, faster."""
        return _build_event(list(vars(self).values()), changes)


_build_event = _copier(Event)[1]


class OutboxStatus(enum.StrEnum):
    """Where an outbox message is in its delivery."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    UNREACHABLE = "unreachable"
    """Nothing can reach the recipient (no address on any channel that can reply, or the
    address bounced): kept, with the reason in ``last_error``, for a person to act on;
    never sent and never reported delivered. Re-routed once an address is known."""


@attrs.frozen(slots=False)  # dict classes construct about twice as fast
class OutboxMessage:
    """An intent to notify someone, committed with the change that caused it.

    ``key`` is the idempotency key a notifier can use to drop a redelivery.
    ``next_attempt_at`` is when a dispatcher may try it again after a failure
    (None: at once).
    """

    key: str
    complaint_id: str
    event_seq: int
    topic: str
    recipient: str
    channel: str
    address: str | None
    created_at: datetime
    payload: FrozenData = attrs.field(default=EMPTY, converter=freeze_mapping)
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None

    @classmethod
    def pending(
        cls,
        key: str,
        complaint_id: str,
        event_seq: int,
        topic: str,
        recipient: str,
        channel: str,
        address: str | None,
        created_at: datetime,
        payload: FrozenData,
    ) -> OutboxMessage:
        """A new message, not yet tried, every part given (the engine's positional form)."""
        return cls(
            key, complaint_id, event_seq, topic, recipient, channel, address, created_at, payload
        )
