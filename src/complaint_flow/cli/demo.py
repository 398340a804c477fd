"""The demo scenario: sample complaints from five channels taken through TACTICS.

:func:`run_demo` plays a week of a shop's complaint handling on any store, with
a :class:`~complaint_flow.model.clock.ManualClock` moved between steps so that the
audit trail carries realistic times. It returns a :class:`DemoResult` (what
happened, structured) and prints nothing: ``complaint-flow demo`` renders it.

The week shows every TACTICS step (thank, apologise, collect information, take
action, a named owner with contact details puts it right, check satisfaction,
summary, close), a customer who is not happy yet (back to taking action), an
escalation to a manager who may decide on compensation, a withdrawal, a role
refusal (an agent may not reopen) and one email delivered three times. At the
end of each working day the outbox is delivered to a notifier that records who
was told what, on which channel.

The email complaint is real mail (see :mod:`complaint_flow.cli.demo_mail`): the
customer's message is RFC 5322 bytes taken by :class:`~complaint_flow.EmailIntake`,
every email the outbox sends goes through :class:`~complaint_flow.SmtpChannel` to an
SMTP server the demo runs on 127.0.0.1 for the length of the run, and the customer's
answer to the acknowledgement threads back onto the complaint by its headers.

Beside the complaints, the week plays the stop procedure: a customer whose
abusive calls bring a warning, then a written-only restriction decided by a
manager with a review date; his next phone call is filed for review and
acknowledged in writing, not dropped; his appeal is decided by a director who
took no part in the restriction. A closed complaint gets a final decision, and
the customer's next message about it becomes a linked contact instead of a new
complaint. Last, the audit trail of the whole store is verified.

Each run uses a fresh run id inside the channels' message ids, so running the
demo again on the same store adds a new set of complaints next to the old ones;
the restricted customer's id carries the run id too, so each run plays the stop
procedure from the start.

>>> result = run_demo("memory://", run_id="doc")
>>> sorted(result.counts_by_state.items())
[('action_taken', 1), ('closed', 3), ('withdrawn', 1)]
>>> result.duplicate.complaints, result.refusal.nothing_stored
(1, True)
>>> result.stop.record.status.value, result.stop.call.kind.value, result.linked.outcome.kind.value
('reviewed', 'filed', 'linked')
>>> result.email.reply_outcome.reason, result.email.replied.kind
('In-Reply-To/References', 'customer_replied')
>>> result.audit.ok
True
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

import attrs

from complaint_flow.channels.smtp import SmtpChannel
from complaint_flow.cli.demo_mail import (
    DEMO_LETTERS,
    EmailExchange,
    SmtpChannelPlugin,
    TakenEmail,
    customer_email,
    known_customers,
    require_demo_extra,
    smtp_settings,
)
from complaint_flow.cli.local_mail_server import LocalMailServer
from complaint_flow.definitions.escalation import EscalationLevel
from complaint_flow.engine import DEFAULT_STORE_URL, Engine
from complaint_flow.errors import InvalidArgumentError, PermissionDeniedError
from complaint_flow.model.clock import Clock, ManualClock
from complaint_flow.model.conduct import ConductRecord, Restriction, conduct_record_id
from complaint_flow.model.entities import Actor, Complaint, Customer, Event, Intake, OutboxMessage
from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.services.audit import AuditReport
from complaint_flow.services.conduct_notices import describe_restriction
from complaint_flow.services.delivery import DeliveryReport
from complaint_flow.services.email_intake import EmailIntake, MailOutcomeKind
from complaint_flow.services.intake import IntakeOutcome, OutcomeKind, written_channels

DEMO_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""When the demo week starts: Monday 2 March 2026, 09:00 UTC."""

DUPLICATE_DELIVERIES = 3
"""How many times the mail server delivers the first email."""

# The shop's staff. Owners need a phone or email ("I'll put it right" names
# someone the customer can reach); ranks order the escalation ladder.
PRIYA = Actor(
    id="A-101",
    name="Priya Shah",
    role="agent",
    rank=1,
    email="priya.shah@shop.example",
    phone="+44 20 7946 0101",
)
TOM = Actor(
    id="A-102",
    name="Tom Reed",
    role="agent",
    rank=1,
    email="tom.reed@shop.example",
    phone="+44 20 7946 0102",
)
GRACE = Actor(
    id="S-201",
    name="Grace Okafor",
    role="supervisor",
    rank=2,
    email="grace.okafor@shop.example",
)
DANIEL = Actor(
    id="M-301",
    name="Daniel Mensah",
    role="manager",
    rank=3,
    email="daniel.mensah@shop.example",
    phone="+44 20 7946 0301",
)
HELEN = Actor(
    id="D-401",
    name="Helen Brooks",
    role="director",
    rank=4,
    email="helen.brooks@shop.example",
)

ADA = Customer(id="C-1001", name="Ada Lovelace", email="ada@example.org")
"""The customer who complains by email."""

PHOTO = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
"""The photo of the broken vase attached to her email (a JPEG's first and last markers)."""

RESTRICTION_DAYS = 91
"""How long the demo's restriction runs before its review (about three months)."""


def frank(run_id: str) -> Customer:
    """The customer whose conduct is restricted; his id carries the run id (a fresh record)."""
    return Customer(
        id=f"C-1006-{run_id}",
        name="Frank Moss",
        email="frank@example.com",
        phone="+44 7700 900456",
    )


@attrs.frozen
class Notification:
    """One notification the demo's notifier delivered: who was told what, and where."""

    key: str
    reference: str
    recipient: str
    name: str
    channel: str
    address: str | None
    topic: str
    text: str
    created_at: datetime
    delivered_at: datetime


class DemoNotifier:
    """A notifier plugin that records each notification with a human-readable text.

    Delivery is at least once, so a redelivered ``message.key`` is ignored. A
    conduct notice has no complaint: its ``reference`` is the conduct record's
    id (``conduct:<customer id>``).
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.delivered: list[Notification] = []
        self._keys: set[str] = set()

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint | None) -> None:
        """Record ``message`` unless it was delivered before."""
        if message.key in self._keys:
            return
        self._keys.add(message.key)
        self.delivered.append(
            Notification(
                key=message.key,
                reference=complaint.reference if complaint is not None else message.complaint_id,
                recipient=message.recipient,
                name=str(message.payload.get("name", "")),
                channel=message.channel,
                address=message.address,
                topic=message.topic,
                text=message_text(message),
                created_at=message.created_at,
                delivered_at=self.clock(),
            )
        )


def message_text(message: OutboxMessage) -> str:
    """What a notification says, from its topic and the payload decided at commit time.

    A letter of the stop procedure (``conduct.warning``…) carries its whole text
    in the payload: it is shown by its subject. A notification of another topic
    says the complaint's new state.
    """
    payload = message.payload
    letter = payload.get("text")
    if isinstance(letter, str) and letter.strip():
        subject = payload.get("subject")
        if isinstance(subject, str) and subject.strip():
            return f"Letter: {subject.strip()}."
        lines = [line.strip() for line in letter.splitlines() if line.strip()]
        # The first line greets the customer; the next says what the letter is about.
        return lines[1] if len(lines) > 1 and lines[0].startswith("Dear ") else lines[0]
    action = message.topic.rpartition(".")[2]
    texts = {
        "thank": "Thank you for telling us; here is your reference.",
        "put_it_right": "A named owner is putting it right and will keep you informed.",
        "summarise": "Summary: what we did, the remedy and the timeline.",
        "reopen": "We have reopened your complaint.",
        "escalate": "Escalated to you for a decision.",
        "assigned": "You now own this complaint.",
        "final_decision": "Our final response: what we decided, and that the matter ends here.",
        "contact_filed": "Your message was kept and will be read; please contact us in writing.",
        "contact_linked": "Your message was linked to our final decision and will be read.",
    }
    if action in texts:
        return texts[action]
    state = payload.get("state")
    return f"Now {state} ({message.topic})." if state else f"About {message.topic}."


@attrs.frozen
class DemoComplaint:
    """One sample complaint: what it illustrates, its final version and its audit trail."""

    label: str
    complaint: Complaint
    history: tuple[Event, ...]


@attrs.frozen
class DuplicateDelivery:
    """The same channel message delivered several times, and what ``receive`` returned."""

    channel: str
    external_id: str
    complaint_ids: tuple[str, ...]
    reference: str

    @property
    def deliveries(self) -> int:
        """How many times the message was delivered."""
        return len(self.complaint_ids)

    @property
    def complaints(self) -> int:
        """How many distinct complaints the deliveries made (one, when intake is idempotent)."""
        return len(set(self.complaint_ids))


@attrs.frozen
class Refusal:
    """A step the engine refused, with proof that nothing was stored."""

    reference: str
    actor: Actor
    trigger: str
    error: str
    message: str
    version_before: int
    version_after: int
    events_before: int
    events_after: int

    @property
    def nothing_stored(self) -> bool:
        """Whether the complaint's version and audit trail are unchanged."""
        return (self.version_before, self.events_before) == (
            self.version_after,
            self.events_after,
        )


def _event_of(history: Iterable[Event], kind: str, **data: object) -> Event:
    """The first event of ``kind`` whose data has every ``data`` item."""
    for event in history:
        if event.kind == kind and all(event.data.get(k) == v for k, v in data.items()):
            return event
    raise LookupError(f"no {kind!r} event with {data!r} in the audit trail")


def _acknowledgement(engine: Engine, record_id: str, filed: Event) -> OutboxMessage | None:
    """The written acknowledgement of a filed message (its notice about ``filed``), if any."""
    key = f"{record_id}:{filed.seq}:customer"
    return next((m for m in engine.outbox(record_id) if m.key == key), None)


@attrs.frozen
class StopProcedure:
    """The stop procedure played for one customer, from warning to appeal.

    ``record`` is the conduct record's final version and ``history`` its audit
    trail; ``call`` what became of the phone call made under a written-only
    restriction, and ``acknowledgement`` the written notice that answered it.
    """

    customer: Customer
    record: ConductRecord
    history: tuple[Event, ...]
    restrictions: tuple[str, ...]
    call: IntakeOutcome
    acknowledgement: OutboxMessage | None

    def event(self, kind: str) -> Event:
        """The first event of ``kind`` (``warned``, ``restricted``, ``contact_filed``…)."""
        return _event_of(self.history, kind)

    @property
    def restriction_stands(self) -> bool:
        """Whether the appeal was dismissed: the restriction stands."""
        return bool(self.event("appeal_decided").data["restriction_stands"])


@attrs.frozen
class LinkedContact:
    """A message re-raising a complaint with a final decision, linked to it instead of opened.

    ``decided`` is the complaint's final version, ``decision`` its
    ``final_decision`` event, ``outcome`` what :meth:`Engine.accept` returned,
    ``acknowledgement`` the written notice that answered the message and
    ``reading`` the event of the review item being read.
    """

    decided: Complaint
    decision: Event
    intake: Intake
    outcome: IntakeOutcome
    acknowledgement: OutboxMessage | None
    reading: Event


@attrs.frozen
class DemoResult:
    """Everything one demo run did, for rendering and for tests."""

    run_id: str
    store_url: str
    started_at: datetime
    finished_at: datetime
    stored_before: int
    stored_after: int
    complaints: tuple[DemoComplaint, ...]
    duplicate: DuplicateDelivery
    refusal: Refusal
    notifications: tuple[Notification, ...]
    delivery: DeliveryReport
    deadlines: DeadlineReport
    stop: StopProcedure
    linked: LinkedContact
    email: EmailExchange
    audit: AuditReport

    @property
    def counts_by_state(self) -> dict[str, int]:
        """How many of this run's complaints are in each state."""
        return dict(sorted(Counter(c.complaint.state for c in self.complaints).items()))

    @property
    def counts_by_channel(self) -> dict[str, int]:
        """How many of this run's complaints arrived on each channel."""
        return dict(sorted(Counter(c.complaint.channel for c in self.complaints).items()))


@attrs.frozen
class DeadlineReport:
    """What the evening sweeps of the week found: deadlines near and missed."""

    warnings: int = 0
    breaches: int = 0
    escalations: int = 0


class OrgChart:
    """The demo company's org chart: an agent escalates to their own line manager."""

    line_manager = {TOM.id: DANIEL}

    @hookimpl
    def complaint_flow_escalation_target(
        self, complaint: Complaint, actor: Actor | None, level: EscalationLevel
    ) -> Actor | None:
        # Nobody mapped (or a missed deadline, with no actor): the workflow's ladder answers.
        return self.line_manager.get(actor.id) if actor is not None else None


def new_run_id() -> str:
    """A short random id that keeps one run's channel message ids apart from another's."""
    return uuid.uuid4().hex[:8]


def run_demo(
    store_url: str = DEFAULT_STORE_URL,
    *,
    run_id: str | None = None,
    start: datetime = DEMO_START,
    plugins: Iterable[object] = (),
    load_entry_points: bool | None = None,
) -> DemoResult:
    """Play the demo week on the store at ``store_url`` and return what happened.

    For the length of the run an SMTP server listens on 127.0.0.1 on a free port:
    every email the outbox sends goes there, and ``DemoResult.email`` says what
    arrived. Nothing leaves the machine.

    Args:
        store_url: where complaints are kept (the SQLite default, ``memory://``…).
            Complaints already there are left alone.
        run_id: put into every channel message id (default: a fresh random one).
            Reusing a run id on the same store makes intake return the complaints
            of that earlier run, which have moved on; the steps then fail.
        start: when the week starts: timezone-aware, at 09:00 or earlier on its
            day (the first email arrives at 09:00).
        plugins: extra plugins for the engine (e.g. another notifier).
        load_entry_points: load installed plugins (default as in :meth:`Engine.open`).

    Raises:
        InvalidArgumentError: ``start`` is naive or later than 09:00.
        ChannelError: the ``demo`` extra is not installed (nothing is written), or the
            local SMTP server cannot start.
        ComplaintFlowError: the store cannot be opened, or a step was refused.
    """
    if start.utcoffset() is None or start.time() > time(9, 0):
        raise InvalidArgumentError(
            f"the demo week must start at 09:00 or earlier, timezone-aware; got {start!r}"
        )
    require_demo_extra()
    run_id = run_id or new_run_id()
    clock = ManualClock(start)
    notifier = DemoNotifier(clock)
    # The server stops last: the channel says goodbye to it when it closes.
    with (
        LocalMailServer(clock) as server,
        SmtpChannel(smtp_settings(server)) as channel,
        Engine.open(
            store_url,
            workflow="tactics",
            clock=clock,
            plugins=[notifier, OrgChart(), SmtpChannelPlugin(channel), *plugins],
            letters=DEMO_LETTERS,
            load_entry_points=load_entry_points,
        ) as engine,
    ):
        stored_before = engine.store.count()
        week = _Week(engine, clock, start, run_id, server)
        week.play()
        return DemoResult(
            run_id=run_id,
            store_url=store_url,
            started_at=start,
            finished_at=clock(),
            stored_before=stored_before,
            stored_after=engine.store.count(),
            complaints=tuple(
                DemoComplaint(label, engine.get(cid), tuple(engine.history(cid)))
                for label, cid in week.stories
            ),
            duplicate=week.duplicate,
            refusal=week.refusal,
            notifications=tuple(notifier.delivered),
            delivery=week.delivery,
            deadlines=week.deadlines,
            stop=week.stop_procedure(),
            linked=week.linked_contact(),
            email=week.email_exchange(),
            # Last, over the whole store: earlier runs' trails too.
            audit=engine.verify_audit(),
        )


class _Week:
    """The scripted week, step by step, in the order things happen."""

    def __init__(
        self,
        engine: Engine,
        clock: ManualClock,
        start: datetime,
        run_id: str,
        server: LocalMailServer,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.start = start
        self.run_id = run_id
        self.server = server
        self.mail = EmailIntake(
            engine.kernel, engine.reception, customer_of=known_customers([ADA]), category="delivery"
        )
        self._parcel_mail: TakenEmail | None = None
        self._answer: TakenEmail | None = None
        self.stories: list[tuple[str, str]] = []
        self._duplicate: DuplicateDelivery | None = None
        self._refusal: Refusal | None = None
        self.delivery = DeliveryReport()
        self.deadlines = DeadlineReport()
        self.frank = frank(run_id)
        self._restrictions: tuple[Restriction, ...] = ()
        self._call: IntakeOutcome | None = None
        self._reraised: tuple[str, Intake, IntakeOutcome] | None = None

    @property
    def duplicate(self) -> DuplicateDelivery:
        assert self._duplicate is not None, "play() records the duplicate delivery"
        return self._duplicate

    @property
    def refusal(self) -> Refusal:
        assert self._refusal is not None, "play() records the refusal"
        return self._refusal

    def stop_procedure(self) -> StopProcedure:
        """The restricted customer's story, read back from the store at the end."""
        assert self._call is not None, "play() records the filed call"
        conduct = self.engine.conduct
        record = conduct.record(self.frank)
        history = tuple(conduct.history(self.frank))
        filed = _event_of(history, "contact_filed")
        written = sorted(written_channels(self.engine.reception))
        return StopProcedure(
            customer=self.frank,
            record=record,
            history=history,
            restrictions=tuple(describe_restriction(r, written) for r in self._restrictions),
            call=self._call,
            acknowledgement=_acknowledgement(self.engine, record.id, filed),
        )

    def linked_contact(self) -> LinkedContact:
        """The re-raised decided complaint, read back from the store at the end."""
        assert self._reraised is not None, "play() records the linked contact"
        complaint_id, intake, outcome = self._reraised
        assert outcome.item is not None, "a linked contact is filed as a review item"
        decided = self.engine.get(complaint_id)
        record_id = conduct_record_id(decided.customer.id)
        history = self.engine.conduct.history(decided.customer.id)
        return LinkedContact(
            decided=decided,
            decision=_event_of(self.engine.history(complaint_id), "final_decision"),
            intake=intake,
            outcome=outcome,
            acknowledgement=_acknowledgement(
                self.engine,
                record_id,
                _event_of(history, "contact_filed", item_id=outcome.item.id),
            ),
            reading=_event_of(history, "review_item_resolved", item_id=outcome.item.id),
        )

    def email_exchange(self) -> EmailExchange:
        """The email complaint, what the SMTP server received, the answer threaded."""
        assert self._parcel_mail is not None, "play() takes the email complaint"
        assert self._answer is not None, "play() takes the customer's answer"
        complaint_id = self._parcel_mail.complaint_ids[0]
        return EmailExchange(
            server=self.server.address,
            customer=ADA,
            reference=self.engine.get(complaint_id).reference,
            complaint_mail=self._parcel_mail,
            deliveries=self.server.deliveries,
            sent=self.server.to(str(ADA.email)),
            answer=self._answer,
            replied=_event_of(
                self.engine.history(complaint_id),
                "customer_replied",
                message_id=self._answer.message_id,
            ),
        )

    def take_email(self, raw: bytes, deliveries: int = 1) -> TakenEmail:
        """Take ``raw`` as the mail server delivers it, ``deliveries`` times minutes apart."""
        outcomes = [self.mail.take(raw, source="demo mail server")]
        for minutes in (2, 5, 10)[: deliveries - 1]:
            self.clock.advance(minutes=minutes)
            outcomes.append(self.mail.take(raw, source="demo mail server"))
        return TakenEmail.of(raw, outcomes)

    def at(self, day: int, hhmm: str) -> None:
        """Move the clock to ``hhmm`` on day ``day`` of the week (day 1 is the start)."""
        hours, minutes = (int(part) for part in hhmm.split(":"))
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        self.clock.set(midnight + timedelta(days=day - 1, hours=hours, minutes=minutes))

    def deliver(self, day: int) -> None:
        """At the end of ``day`` a sweep catches deadlines, then the outbox is delivered."""
        self.at(day, "17:30")
        swept = self.engine.sweep()
        self.deadlines = DeadlineReport(
            warnings=self.deadlines.warnings + swept.warnings,
            breaches=self.deadlines.breaches + swept.breaches,
            escalations=self.deadlines.escalations + swept.escalations,
        )
        report = self.engine.deliver(limit=500)
        self.delivery = DeliveryReport(
            delivered=self.delivery.delivered + report.delivered,
            failed=self.delivery.failed + report.failed,
            dead=self.delivery.dead + report.dead,
        )

    def fire(
        self, complaint: str, trigger: str, actor: Actor, reason: str = "", **data: str
    ) -> None:
        self.engine.fire(complaint, trigger, actor=actor, reason=reason, data=data)

    def play(self) -> None:
        engine, at, fire = self.engine, self.at, self.fire
        run = self.run_id

        # -- Monday: five complaints arrive on five channels ------------------
        at(1, "09:00")
        parcel = customer_email(
            sender=(ADA.name, str(ADA.email)),
            subject="Parcel arrived broken",
            body=(
                "Hello,\n\nThe vase in order 48213 was in pieces when the box was opened. "
                "A photo is attached.\n\nI would like a replacement vase.\n\nAda Lovelace\n"
            ),
            message_id=f"<order-48213.{run}@mail.example.org>",
            date=self.clock(),
            attachments=[("broken-vase.jpg", "image/jpeg", PHOTO)],
        )
        # The mail server retries: the same message arrives three times.
        self._parcel_mail = self.take_email(parcel, DUPLICATE_DELIVERIES)
        ada = self._parcel_mail.complaint_ids[0]
        self._duplicate = DuplicateDelivery(
            channel="email",
            external_id=self._parcel_mail.message_id,
            complaint_ids=self._parcel_mail.complaint_ids,
            reference=engine.get(ada).reference,
        )
        self.stories.append(("Broken parcel: email delivered three times, resolved", ada))

        at(1, "09:20")
        fire(ada, "thank", PRIYA, "Acknowledged by email the same morning")
        at(1, "09:25")
        fire(ada, "apologise", PRIYA)

        at(1, "09:40")
        ben = engine.receive(
            Intake(
                channel="web_form",
                customer=Customer(id="C-1002", name="Ben Carter", email="ben.carter@example.net"),
                summary="Charged twice for one order",
                details="My card was charged twice (2 x 49.99 GBP) for order 77120.",
                desired_outcome="Refund of the second charge",
                category="billing",
                preferred_channel="email",
                external_id=f"WF-{run}-0457",
            )
        ).id
        self.stories.append(("Double charge: web form, not happy at first", ben))

        at(1, "10:15")
        chloe = engine.receive(
            Intake(
                channel="phone",
                customer=Customer(id="C-1003", name="Chloé Martin", phone="+44 7700 900123"),
                summary="Engineer missed two appointments",
                details="Nobody came on 24 or 27 February; I took two days off work.",
                desired_outcome="A visit that happens, and compensation for the lost days",
                category="service",
                severity="high",
            )
        ).id
        self.stories.append(("Missed appointments: phone call, escalated to a manager", chloe))
        at(1, "10:20")
        fire(chloe, "thank", TOM, "Thanked her during the call")
        at(1, "10:22")
        fire(chloe, "apologise", TOM, "Apologised for both missed visits")
        at(1, "10:30")
        fire(
            chloe,
            "collect_information",
            TOM,
            facts="Visits booked 24 and 27 Feb; the engineer's log shows neither took place",
        )

        at(1, "10:45")
        fire(
            ada,
            "collect_information",
            PRIYA,
            facts="Box crushed in transit; photos attached to the email",
        )
        at(1, "11:00")
        fire(ada, "take_action", PRIYA, action="Replacement vase sent by next-day courier")
        at(1, "11:05")
        engine.assign(ada, PRIYA, actor=PRIYA, reason="I'll see it through myself")
        at(1, "11:10")
        fire(ada, "put_it_right", PRIYA, "Told Ada the replacement is on its way")

        at(1, "11:30")
        dmitri = engine.receive(
            Intake(
                channel="letter",
                customer=Customer(
                    id="C-1004",
                    name="Dmitri Ivanov",
                    postal_address="12 Park Row, Leeds LS1 5HD",
                ),
                summary="Rude staff at the Leeds branch",
                details="A member of staff laughed at my question about a warranty.",
                category="staff",
            )
        ).id
        self.stories.append(("Rude staff: letter, withdrawn by the customer", dmitri))

        at(1, "13:10")
        erin = engine.receive(
            Intake(
                channel="social_media",
                customer=Customer(
                    id="C-1005", name="Erin Walsh", contacts={"social_media": "@erin_walsh"}
                ),
                summary="App crashes at checkout",
                details="Every time I pay with my saved card the app closes.",
                category="app",
                external_id=f"post-{run}-99812",
            )
        ).id
        self.stories.append(("App crash: social media post, still being worked on", erin))
        at(1, "13:30")
        fire(erin, "thank", TOM, "Replied to the post publicly")
        at(1, "13:32")
        fire(erin, "apologise", TOM)

        at(1, "14:00")
        fire(ben, "thank", PRIYA, "Acknowledged by email, as he asked on the form")
        at(1, "14:02")
        fire(ben, "apologise", PRIYA)
        at(1, "14:20")
        fire(
            ben,
            "collect_information",
            PRIYA,
            facts="Payment provider shows two captures for order 77120",
        )
        at(1, "14:30")
        fire(ben, "take_action", PRIYA, action="Refund of the duplicate charge requested")
        at(1, "14:31")
        engine.assign(ben, PRIYA, actor=PRIYA)
        at(1, "14:35")
        fire(ben, "put_it_right", PRIYA)

        at(1, "15:00")
        fire(chloe, "take_action", TOM, action="Visit rebooked for Thursday, first slot")
        at(1, "15:02")
        engine.assign(chloe, TOM, actor=TOM)
        at(1, "15:05")
        fire(chloe, "put_it_right", TOM, "Confirmed Thursday's visit by phone")

        self.deliver(1)

        # -- Tuesday: Ada answers the acknowledgement ---------------------------
        # Her mail program names our acknowledgement, as the SMTP server received
        # it, in In-Reply-To; she wrote her own subject, without the reference.
        at(2, "08:40")
        arrived = self.server.to(str(ADA.email))
        if not arrived:
            raise AssertionError(
                f"no email to {ADA.email} arrived at the SMTP server {self.server.address}: "
                f"{self.delivery!r}"
            )
        acknowledgement = arrived[0]
        answer = customer_email(
            sender=(ADA.name, str(ADA.email)),
            subject="The new vase came this morning",
            body="Hello Priya,\n\nThe replacement arrived intact, thank you.\n\nAda\n",
            message_id=f"<vase-arrived.{run}@mail.example.org>",
            date=self.clock(),
            in_reply_to=acknowledgement.message_id,
        )
        self._answer = self.take_email(answer)
        if self._answer.kinds != (MailOutcomeKind.REPLY,):
            raise AssertionError(f"Ada's answer was not threaded: {self._answer.outcomes!r}")

        at(2, "09:30")
        fire(dmitri, "thank", GRACE, "Answered by post")
        at(2, "09:31")
        fire(dmitri, "apologise", GRACE, "Apologised for the way he was spoken to")
        at(2, "10:00")
        fire(
            erin,
            "collect_information",
            TOM,
            facts="Crash on iOS when paying with a saved card; reproduced by the team",
        )
        at(2, "10:40")
        fire(
            erin,
            "take_action",
            TOM,
            action="Bug fix scheduled; meanwhile pay without saving the card",
        )
        at(2, "10:45")
        engine.assign(erin, TOM, actor=TOM, reason="Follows the fix until release")

        # The stop procedure starts with a warning, from a supervisor.
        at(2, "11:00")
        engine.conduct.warn(
            self.frank,
            actor=GRACE,
            reason="Shouted at and insulted Tom Reed in two calls on Monday",
        )

        self.deliver(2)

        # -- Wednesday: Ada is happy; an agent may not reopen -----------------
        at(3, "10:00")
        fire(
            ada,
            "confirm_satisfied",
            PRIYA,
            "Her email of Tuesday says so",
            customer_feedback="The replacement arrived intact, thank you",
        )
        at(3, "10:10")
        fire(
            ada,
            "summarise",
            PRIYA,
            resolution="Replacement sent free of charge; claim filed with the courier",
            timeline="Received Mon 09:00, replacement sent Mon 11:00, delivered Tue",
            # TACTICS sends its final_response letter here, and the letter reads this.
            final_response=(
                "We sent you a replacement vase free of charge by next-day courier, and we "
                "have filed a claim with the courier about the broken one."
            ),
        )
        at(3, "10:15")
        fire(ada, "close", PRIYA)
        at(3, "10:30")
        self._refusal = self._try(
            ada,
            "reopen",
            PRIYA,
            reason="Ada wrote again: the lid of the new vase is chipped",
            reopen_reason="lid chipped",
        )

        at(3, "11:00")
        fire(
            ben,
            "report_unsatisfied",
            PRIYA,
            "Not happy yet: back to taking action",
            customer_feedback="The refund is not on my statement and nobody said when it would be",
        )
        at(3, "11:30")
        fire(
            ben,
            "take_action",
            PRIYA,
            action="Refund pushed through by hand; bank reference sent to the customer",
        )
        at(3, "11:35")
        fire(ben, "put_it_right", PRIYA, "Called him with the bank reference")

        # The abuse goes on: a manager restricts Frank to written contact.
        at(3, "14:00")
        restricted = engine.conduct.restrict(
            self.frank,
            [Restriction.written_only()],
            actor=DANIEL,
            reasons="The abuse went on in a third call on Wednesday, after Tuesday's warning",
            review_at=self.clock() + timedelta(days=RESTRICTION_DAYS),
        )
        self._restrictions = restricted.restrictions

        self.deliver(3)

        # -- Thursday: Chloé wants more than an agent may grant ----------------
        at(4, "12:00")
        fire(
            chloe,
            "escalate",
            TOM,
            "She asks 100 GBP for two lost days; only a manager may decide",
            requested_compensation="100 GBP",
        )
        at(4, "12:30")
        fire(
            dmitri,
            "withdraw",
            GRACE,
            "Customer phoned to withdraw",
            withdrawal_reason="The branch manager apologised in person",
        )

        # Frank phones anyway: the call is kept, filed for review and acknowledged
        # in writing; someone reads it for new information.
        at(4, "14:00")
        self._call = engine.accept(
            Intake(
                channel="phone",
                customer=self.frank,
                summary="Where is my parcel?",
                details="Says the parcel is still not there and demands a call back today.",
            )
        )
        if self._call.kind is not OutcomeKind.FILED or self._call.item is None:
            raise AssertionError(f"a restricted customer's call was not filed: {self._call!r}")
        at(4, "14:30")
        engine.resolve_review_item(
            self.frank.id,
            self._call.item.id,
            actor=GRACE,
            outcome="no_new_information",
            note="The courier delivered the parcel on Tuesday; nothing new",
        )
        at(4, "15:00")
        engine.conduct.appeal(
            self.frank,
            grounds="I was upset about the delivery, not abusive",
            actor=PRIYA,
            received_via="email",
        )

        self.deliver(4)

        # -- Friday: the manager decides ----------------------------------------
        at(5, "09:00")
        fire(
            chloe,
            "collect_information",
            DANIEL,
            facts="Two missed visits confirmed; the repair was done on Thursday",
        )
        at(5, "09:20")
        fire(chloe, "take_action", DANIEL, action="100 GBP compensation approved and paid")
        at(5, "09:25")
        fire(chloe, "put_it_right", DANIEL, "Phoned Chloé with the decision")

        # A director who took no part in the restriction decides the appeal.
        at(5, "11:00")
        engine.conduct.decide_appeal(
            self.frank,
            restriction_stands=True,
            actor=HELEN,
            reasons="The call recordings confirm the abuse",
        )

        at(5, "16:00")
        fire(
            chloe,
            "confirm_satisfied",
            DANIEL,
            customer_feedback="Happy with the repair and the compensation",
        )

        self.deliver(5)

        # -- Next Monday: follow-ups a few days later ---------------------------
        at(8, "10:00")
        fire(
            ben,
            "confirm_satisfied",
            PRIYA,
            "Follow-up call a few days later",
            customer_feedback="The refund arrived; thanks for the call",
        )
        at(8, "10:10")
        fire(
            ben,
            "summarise",
            PRIYA,
            resolution="Duplicate charge refunded in full",
            timeline="Received Mon, first refund attempt Mon, manual refund Wed, confirmed Mon",
            final_response="We refunded the second charge of 49.99 GBP in full.",
        )
        at(8, "10:12")
        fire(ben, "close", PRIYA)
        at(8, "10:20")
        decided = engine.final_decision(
            ben,
            actor=DANIEL,
            response="The duplicate charge was refunded in full; this is our final response.",
        )
        at(8, "11:00")
        fire(
            chloe,
            "summarise",
            DANIEL,
            resolution="Repair done; 100 GBP compensation for two missed visits",
            timeline="Received Mon, escalated Thu, compensation paid Fri",
            compensation="100 GBP",
        )
        at(8, "11:05")
        fire(chloe, "close", DANIEL)

        # Ben writes about the decided complaint: linked to it, not a new complaint.
        at(8, "14:00")
        again = Intake(
            channel="email",
            customer=decided.customer,
            summary="Still unhappy about the double charge",
            details=f"About {decided.reference}: the refund took far too long.",
            external_id=f"<refund-77120.{run}@mail.example.net>",
        )
        linked = engine.accept(again)
        if linked.kind is not OutcomeKind.LINKED or linked.item is None:
            raise AssertionError(f"a re-raised decided complaint was not linked: {linked!r}")
        self._reraised = (ben, again, linked)
        at(8, "15:00")
        engine.resolve_review_item(
            decided.customer.id,
            linked.item.id,
            actor=PRIYA,
            outcome="no_new_information",
            note="Nothing new: the time the refund took is covered by the final response",
        )
        self.deliver(8)

    def _try(
        self, complaint_id: str, trigger: str, actor: Actor, reason: str, **data: str
    ) -> Refusal:
        before = self.engine.get(complaint_id)
        events_before = len(self.engine.history(complaint_id))
        try:
            self.engine.fire(complaint_id, trigger, actor=actor, reason=reason, data=data)
        except PermissionDeniedError as exc:
            error, message = type(exc).__name__, str(exc)
        else:
            raise AssertionError(f"the engine let {actor.role!r} fire {trigger!r}")
        return Refusal(
            reference=before.reference,
            actor=actor,
            trigger=trigger,
            error=error,
            message=message,
            version_before=before.version,
            version_after=self.engine.get(complaint_id).version,
            events_before=events_before,
            events_after=len(self.engine.history(complaint_id)),
        )


__all__ = [
    "DEMO_START",
    "DemoComplaint",
    "DemoNotifier",
    "DemoResult",
    "DuplicateDelivery",
    "LinkedContact",
    "Notification",
    "Refusal",
    "StopProcedure",
    "message_text",
    "new_run_id",
    "run_demo",
]
