"""Email in: every inbound message becomes a complaint, a reply to one, a bounce, or is quarantined.

:meth:`EmailIntake.take` reads one raw message (from a mailbox poller, a host's
mail webhook, the command line) and decides, in this order:

1. **Unreadable** (not an email, or serious defects): kept whole in the quarantine with
   the reason. Nothing is ever dropped.
2. **Already taken** (its ``Message-ID`` is linked, or it opened a complaint): the same
   answer again, nothing written. Taking a message twice is harmless, which is what
   makes a poller crash-safe.
3. **A bounce** (an RFC 3464 delivery status report): the addresses it reports as
   failed for good are marked undeliverable on the complaint of the message that
   bounced (found by its ``Message-ID``), so replies are routed elsewhere.
4. **Threading**, as the best helpdesks do: the complaint reference in the subject
   (whatever ``Re:``/``AW:``/``SV:`` prefixes), then ``In-Reply-To``/``References``
   against the ids of messages we received *and sent*, then the reference in the body.
   A match joins the complaint: a ``customer_replied`` event (and, if the workflow's
   state has one of the configured ``reply_triggers``, that step: reopen, or leave a
   waiting state so its paused clock runs again).
5. **Automatic** mail (auto-replies, lists, bulk, mailer daemons) is recorded but
   never answered: on a complaint it matches as an ``automatic_reply_received`` event
   that fires nothing; otherwise it is quarantined (with why) rather than opening a
   complaint that would be acknowledged to a machine.
6. Otherwise **a new complaint** from the sender, through the reception (the stop
   procedure applies), idempotent on the ``Message-ID``.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.arguments import items, mapping, name, text, whole_number
from complaint_flow.channels.email_parsing import (
    ParsedEmail,
    find_reference,
    parse_email,
    strip_subject_prefixes,
)
from complaint_flow.errors import (
    ComplaintNotFoundError,
    InvalidArgumentError,
    QuarantinedMessageError,
    TransitionError,
)
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.reply_router import UNDELIVERABLE_KEY
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.channel_records import (
    LinkDirection,
    MessageLink,
    QuarantinedMessage,
    QuarantineStatus,
)
from complaint_flow.model.entities import SYSTEM, Actor, Complaint, Customer, Intake
from complaint_flow.services.intake import OutcomeKind, Reception
from complaint_flow.services.workflow_steps import fire_on, frozen_data

SUMMARY_LENGTH = 200
"""The longest summary taken from a subject or a first line."""

TAKEN = "(taken by another reader)"
"""What a build returns when a rival recorded the same message meanwhile."""

AUTO_REPLY_WINDOW = timedelta(days=1)
"""The window of the per-complaint limit on steps fired by replies."""


class MailOutcomeKind(enum.StrEnum):
    """What became of one inbound email."""

    OPENED = "opened"
    """A new complaint."""
    FILED = "filed"
    """Kept on the customer's review queue under the stop procedure (a restriction
    applies, or it re-raises a decided matter): see ``Engine.accept``."""
    REPLY = "reply"
    """Joined an existing complaint."""
    AUTOMATIC = "automatic"
    """An automatic message about a complaint: recorded on it, never answered."""
    BOUNCE = "bounce"
    """A delivery status report: the failed addresses marked on the complaint."""
    DUPLICATE = "duplicate"
    """Taken before: nothing written."""
    QUARANTINED = "quarantined"
    """Set aside whole, with the reason."""


@attrs.frozen
class MailOutcome:
    """What :meth:`EmailIntake.take` did with one message.

    Args:
        kind: what became of it.
        complaint: the complaint it opened or joined (None when quarantined).
        message_id: its ``Message-ID`` (or the one given to a message without).
        reason: for a quarantined message, why; for a bounce, what failed; for a
            reply, how it was threaded ("reference in the subject"…).
        quarantine_id: the quarantine item, when quarantined.
        fired: the workflow step a reply fired, if any.
    """

    kind: MailOutcomeKind
    complaint: Complaint | None = None
    message_id: str | None = None
    reason: str = ""
    quarantine_id: str | None = None
    fired: str | None = None


MAIL_KINDS = {
    OutcomeKind.OPENED: MailOutcomeKind.OPENED,
    OutcomeKind.DUPLICATE: MailOutcomeKind.DUPLICATE,
    OutcomeKind.FILED: MailOutcomeKind.FILED,
    OutcomeKind.LINKED: MailOutcomeKind.FILED,
}
"""What the reception's outcome of a new message is, as an email outcome."""


def sender_as_customer(parsed: ParsedEmail) -> Customer:
    """The default customer of a new complaint by email: keyed by the address."""
    return Customer(
        id=f"email:{parsed.sender}",
        name=parsed.sender_name or parsed.sender,
        email=parsed.sender,
    )


def synthetic_message_id(raw: bytes) -> str:
    """A stable id for a message that has none: the same bytes give the same id."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.complaint-flow.invalid>"


def quarantine_id(raw: bytes) -> str:
    """The quarantine item id of these bytes (the same message is kept once)."""
    return hashlib.sha256(raw).hexdigest()


class EmailIntake:
    """Takes inbound email into complaints on the kernel.

    Args:
        kernel: the unit of work (``engine.kernel``).
        reception: where new complaints come in (``engine.reception``), so the stop
            procedure applies to email like any channel.
        customer_of: who a new complaint's customer is (default: keyed by the sender's
            address; give your own to match your customer records).
        category: the category of new complaints.
        workflow: the workflow of new complaints (default: the engine's).
        reply_triggers: state → the workflow step to fire when the customer writes
            on a complaint in that state (e.g. ``{"closed": "reopen"}``, or a waiting
            state's way out), fired as ``reply_actor`` if the workflow allows it.
        reply_actor: who fires ``reply_triggers`` (a role the workflow grants them to).
            The step's required data it lacks is filled with "the customer replied by
            email: <subject>".
        auto_reply_limit: at most this many steps fired by replies per complaint per
            day; later replies are recorded only (a mail loop cannot run away).
        channel: the channel name of email (``email``).
    """

    def __init__(
        self,
        kernel: Kernel,
        reception: Reception,
        *,
        customer_of: Callable[[ParsedEmail], Customer] = sender_as_customer,
        category: str = "general",
        workflow: str | None = None,
        reply_triggers: Mapping[str, str] | None = None,
        reply_actor: Actor = SYSTEM,
        auto_reply_limit: int = 3,
        channel: str = "email",
    ) -> None:
        if not callable(customer_of):
            raise InvalidArgumentError(
                f"customer_of must be a function of a ParsedEmail, got {customer_of!r}"
            )
        if not isinstance(reply_actor, Actor):
            raise InvalidArgumentError(
                f"reply_actor must be an Actor, got {reply_actor!r}; e.g. "
                "Actor(id='mailbox', name='Mailbox', role='supervisor')"
            )
        self.kernel = kernel
        self.reception = reception
        self.customer_of = customer_of
        self.category = name("category", category)
        self.workflow = None if workflow is None else name("workflow", workflow)
        triggers = mapping("reply_triggers", reply_triggers or {})
        self.reply_triggers = {
            name("reply_triggers state", state): name("reply_triggers trigger", trigger)
            for state, trigger in triggers.items()
        }
        self.reply_actor = reply_actor
        self.auto_reply_limit = whole_number("auto_reply_limit", auto_reply_limit, minimum=0)
        self.channel = kernel.registry.channel(name("channel", channel)).name

    # -- taking one message -----------------------------------------------------------------

    def take(self, raw: bytes, *, source: str = "api") -> MailOutcome:
        """Take one raw message (its bytes as received); see the module for the rules.

        This is also the function for hosts that receive mail by webhook (a provider
        posting each inbound message): give it the raw MIME bytes.

        Args:
            raw: the whole message, headers and body, as bytes.
            source: where it came from, kept with a quarantined message
                (``imap:INBOX``, ``webhook``…).

        Raises:
            InvalidArgumentError: ``raw`` is not bytes, or ``source`` is blank.
        """
        return self.take_many([raw], source=source)[0]

    def take_many(self, raws: Iterable[bytes], *, source: str = "api") -> list[MailOutcome]:
        """Take many raw messages, in order; one :class:`MailOutcome` each.

        Replies, bounces and automatic mail are taken one by one; the new complaints
        among the messages are opened together, in one store transaction
        (``Engine.receive_many``): the way to load a mailbox's backlog quickly.

        Raises:
            InvalidArgumentError: a message is not bytes, or ``source`` is blank
                (nothing is taken).
        """
        batch = [self.checked_raw(raw) for raw in items("raws", raws)]
        source = text("source", source)
        outcomes: list[MailOutcome | None] = [None] * len(batch)
        fresh: list[tuple[int, ParsedEmail, str]] = []
        for index, raw in enumerate(batch):
            try:
                parsed = parse_email(raw)
            except QuarantinedMessageError as exc:
                outcomes[index] = self.quarantine(raw, source, exc.reason)
                continue
            message_id = parsed.message_id or synthetic_message_id(raw)
            outcome = self.decide(raw, source, parsed, message_id)
            if outcome is None:
                fresh.append((index, parsed, message_id))
            else:
                outcomes[index] = outcome
        for (index, _, _), outcome in zip(fresh, self.open_many(fresh), strict=True):
            outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    @staticmethod
    def checked_raw(raw: object) -> bytes:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise InvalidArgumentError(
                f"raw must be the message's bytes as received, got {type(raw).__name__}; "
                "read the file in binary mode (or encode what the webhook gave you)"
            )
        return bytes(raw)

    def decide(
        self, raw: bytes, source: str, parsed: ParsedEmail, message_id: str
    ) -> MailOutcome | None:
        """What becomes of a readable message, or None when it opens a new complaint."""
        earlier = self.earlier(message_id)
        if earlier is not None:
            return MailOutcome(MailOutcomeKind.DUPLICATE, earlier, message_id)
        if parsed.delivery_report is not None:
            return self.bounce(raw, source, parsed, message_id)
        complaint, how = self.thread(parsed)
        if complaint is not None:
            return self.join(complaint, parsed, message_id, how)
        if parsed.automatic:
            return self.quarantine(
                raw,
                source,
                f"an automatic message ({parsed.automatic}) about no known complaint",
            )
        return None

    def earlier(self, message_id: str) -> Complaint | None:
        """The complaint a message with this id already went to, if it was taken."""
        store = self.kernel.store
        for link in store.links_find([message_id]):
            if link.direction is LinkDirection.INBOUND:
                return store.get(link.complaint_id)
        return store.find_by_external_id(self.channel, message_id)

    def thread(self, parsed: ParsedEmail) -> tuple[Complaint | None, str]:
        """The complaint a message answers, and how it was found (subject, headers, body)."""
        prefix = self.kernel.reference_prefix
        reference = find_reference(strip_subject_prefixes(parsed.subject), prefix)
        found = self.by_reference(reference)
        if found is not None:
            return found, "reference in the subject"
        ids = [*parsed.in_reply_to, *reversed(parsed.references)]
        if ids:
            links = {link.message_id: link for link in self.kernel.store.links_find(ids)}
            for message_id in ids:
                link = links.get(message_id)
                if link is not None:
                    return self.kernel.store.get(link.complaint_id), "In-Reply-To/References"
        found = self.by_reference(find_reference(parsed.text, prefix))
        if found is not None:
            return found, "reference in the body"
        return None, ""

    def by_reference(self, reference: str | None) -> Complaint | None:
        if reference is None:
            return None
        try:
            return self.kernel.store.get_by_reference(reference)
        except ComplaintNotFoundError:
            return None

    # -- the outcomes -----------------------------------------------------------------------

    def join(
        self, complaint: Complaint, parsed: ParsedEmail, message_id: str, how: str
    ) -> MailOutcome:
        """Record the message on ``complaint`` (and fire a configured step)."""
        automatic = parsed.automatic is not None
        kind = "automatic_reply_received" if automatic else "customer_replied"
        data = message_data(parsed, message_id)
        data["threaded_by"] = how

        def build(draft: Draft[Complaint]) -> str | None:
            if self.linked(message_id):
                return TAKEN
            draft.link(MessageLink(message_id, draft.base.id, LinkDirection.INBOUND, draft.now))
            draft.record(kind, SYSTEM, reason=parsed.subject or "(no subject)", data=data)
            trigger = None if automatic else self.reply_triggers.get(draft.subject.state)
            if trigger is None or self.answered_too_often(draft.base):
                return None
            compiled = self.kernel.workflow(draft.subject.workflow)
            why = (
                f"the customer replied by email: {parsed.subject or first_line(parsed.reply_text)}"
            )
            try:
                transition = compiled.transition(draft.subject.state, trigger)
                given = {key: why for key in transition.requires if key not in draft.subject.data}
                fire_on(
                    self.kernel,
                    draft,
                    trigger,
                    self.reply_actor,
                    why,
                    frozen_data({**given, "message_id": message_id}),
                )
            except TransitionError:
                return None  # the reply is recorded; the step is for a person to take
            return trigger

        stored, fired = self.kernel.change(complaint.id, build, retries=RETRIES)
        if fired is TAKEN:
            return MailOutcome(MailOutcomeKind.DUPLICATE, stored, message_id)
        return MailOutcome(
            MailOutcomeKind.AUTOMATIC if automatic else MailOutcomeKind.REPLY,
            stored,
            message_id,
            how,
            fired=fired,
        )

    def answered_too_often(self, complaint: Complaint) -> bool:
        """Whether replies fired ``auto_reply_limit`` steps on the complaint in the last day.

        A step fired by a reply usually tells the customer; a customer's mail program
        that answers every message would otherwise loop with it.
        """
        since = self.kernel.clock() - AUTO_REPLY_WINDOW
        fired = [
            event
            for event in self.kernel.store.events(complaint.id)
            if event.at >= since and event.data.get("message_id") and event.kind == "transition"
        ]
        return len(fired) >= self.auto_reply_limit

    def linked(self, message_id: str) -> bool:
        """Whether the message is linked already (a rival took it meanwhile)."""
        return bool(self.kernel.store.links_find([message_id]))

    def bounce(self, raw: bytes, source: str, parsed: ParsedEmail, message_id: str) -> MailOutcome:
        """Mark the addresses a delivery report says failed for good on their complaint."""
        report = parsed.delivery_report
        assert report is not None
        original = report.original_message_id
        links = self.kernel.store.links_find([original]) if original else []
        if not links:
            complaint, _ = self.thread(parsed)
            if complaint is None:
                return self.quarantine(
                    raw,
                    source,
                    "a delivery status report about a message we cannot find "
                    f"({original or 'no original Message-ID'})",
                )
        else:
            complaint = self.kernel.store.get(links[0].complaint_id)
        failed = {
            r.recipient.casefold(): f"{r.status} {r.diagnostic}".strip()
            for r in report.failed
            if r.permanent
        }
        data = message_data(parsed, message_id)
        data["failed"] = failed

        def build(draft: Draft[Complaint]) -> bool:
            if self.linked(message_id):
                return False
            draft.link(MessageLink(message_id, draft.base.id, LinkDirection.INBOUND, draft.now))
            marked = dict(draft.base.data.get(UNDELIVERABLE_KEY) or {})
            marked.update(failed)
            draft.record(
                "delivery_failed" if failed else "delivery_report_received",
                SYSTEM,
                reason=", ".join(sorted(failed)) or "a delivery delay or success report",
                data=data,
                change={"data": frozen_data({**draft.base.data, UNDELIVERABLE_KEY: marked})}
                if failed
                else None,
            )
            return True

        stored, recorded = self.kernel.change(complaint.id, build, retries=RETRIES)
        if not recorded:
            return MailOutcome(MailOutcomeKind.DUPLICATE, stored, message_id)
        what = ", ".join(f"{a}: {why}" for a, why in sorted(failed.items()))
        return MailOutcome(MailOutcomeKind.BOUNCE, stored, message_id, what)

    def open(self, parsed: ParsedEmail, message_id: str) -> MailOutcome:
        """A new complaint from the message, through the reception."""
        return self.open_many([(0, parsed, message_id)])[0]

    def open_many(self, fresh: Sequence[tuple[int, ParsedEmail, str]]) -> list[MailOutcome]:
        """New complaints from messages, opened in one batch through the reception."""
        if not fresh:
            return []
        intakes = [self.intake_of(parsed, message_id) for _, parsed, message_id in fresh]
        results = self.reception.accept_many(intakes, self.workflow)
        now = self.kernel.clock()
        # For threading answers by In-Reply-To; the external id already makes the
        # intake idempotent, so a crash before this write loses nothing.
        self.kernel.store.links_add(
            [
                MessageLink(message_id, result.complaint.id, LinkDirection.INBOUND, now)
                for (_, _, message_id), result in zip(fresh, results, strict=True)
                if result.complaint is not None and result.opened
            ]
        )
        return [
            MailOutcome(
                MAIL_KINDS[result.kind],
                result.complaint,
                message_id,
                "" if result.opened else result.message(),
            )
            for (_, _, message_id), result in zip(fresh, results, strict=True)
        ]

    def intake_of(self, parsed: ParsedEmail, message_id: str) -> Intake:
        """The intake of a new complaint from a message."""
        summary = parsed.subject or first_line(parsed.reply_text) or "(no subject)"
        return Intake(
            channel=self.channel,
            customer=self.customer_of(parsed),
            summary=summary[:SUMMARY_LENGTH],
            details=parsed.reply_text,
            external_id=message_id,
            category=self.category,
            data={"email": message_data(parsed, message_id)},
        )

    def quarantine(self, raw: bytes, source: str, reason: str) -> MailOutcome:
        """Keep the message whole with the reason (once per distinct message)."""
        item = self.kernel.store.quarantine_add(
            QuarantinedMessage(
                id=quarantine_id(raw),
                source=source,
                channel=self.channel,
                received_at=self.kernel.clock(),
                reason=reason,
                raw=raw,
            )
        )
        return MailOutcome(
            MailOutcomeKind.QUARANTINED, None, None, item.reason, quarantine_id=item.id
        )

    # -- the quarantine ---------------------------------------------------------------------

    def reprocess(self, item_id: str) -> MailOutcome:
        """Take a quarantined message again (after fixing what its reason named).

        A message that is still unreadable stays held, its attempts counted; one taken
        is released with the complaint it went to. An automatic message about no
        known complaint opens a complaint when re-processed: a person decided it is one.

        Raises:
            InvalidArgumentError: no held message has that id.
        """
        store = self.kernel.store
        item = store.quarantine_get(text("item_id", item_id))
        if item is None or item.status is not QuarantineStatus.HELD:
            raise InvalidArgumentError(
                f"no held quarantined message {item_id!r}; list them with "
                "`complaint-flow channels quarantine`"
            )
        now = self.kernel.clock()
        try:
            parsed = parse_email(item.raw)
        except QuarantinedMessageError as exc:
            store.quarantine_update(
                attrs.evolve(item, attempts=item.attempts + 1, reason=exc.reason, updated_at=now),
                expected_status=QuarantineStatus.HELD,
            )
            return MailOutcome(
                MailOutcomeKind.QUARANTINED, None, None, exc.reason, quarantine_id=item.id
            )
        message_id = parsed.message_id or synthetic_message_id(item.raw)
        outcome = self.earlier_outcome(message_id)
        if outcome is None:
            complaint, how = self.thread(parsed)
            if parsed.delivery_report is not None:
                outcome = self.bounce(item.raw, item.source, parsed, message_id)
            elif complaint is not None:
                outcome = self.join(complaint, parsed, message_id, how)
            else:
                outcome = self.open(parsed, message_id)
        if outcome.complaint is None:
            store.quarantine_update(
                attrs.evolve(item, attempts=item.attempts + 1, updated_at=now),
                expected_status=QuarantineStatus.HELD,
            )
            return outcome
        store.quarantine_update(
            attrs.evolve(
                item,
                status=QuarantineStatus.RELEASED,
                attempts=item.attempts + 1,
                updated_at=now,
                complaint_id=outcome.complaint.id,
            ),
            expected_status=QuarantineStatus.HELD,
        )
        return outcome

    def earlier_outcome(self, message_id: str) -> MailOutcome | None:
        earlier = self.earlier(message_id)
        if earlier is None:
            return None
        return MailOutcome(MailOutcomeKind.DUPLICATE, earlier, message_id)

    def discard(self, item_id: str, *, actor: Actor, note: str) -> None:
        """Decide a quarantined message is not a complaint; it stays kept for the record.

        Raises:
            InvalidArgumentError: no held message has that id, or the note is blank.
        """
        if not isinstance(actor, Actor):
            raise InvalidArgumentError(f"actor must be an Actor, got {actor!r}")
        note = text("note", note)
        store = self.kernel.store
        item = store.quarantine_get(text("item_id", item_id))
        if item is None or item.status is not QuarantineStatus.HELD:
            raise InvalidArgumentError(
                f"no held quarantined message {item_id!r}; list them with "
                "`complaint-flow channels quarantine`"
            )
        store.quarantine_update(
            attrs.evolve(
                item,
                status=QuarantineStatus.DISCARDED,
                updated_at=self.kernel.clock(),
                note=f"{note} ({actor.name}, {actor.id})",
            ),
            expected_status=QuarantineStatus.HELD,
        )


def first_line(body: str) -> str:
    """The first non-blank line of a text."""
    return next((line.strip() for line in body.splitlines() if line.strip()), "")


def message_data(parsed: ParsedEmail, message_id: str) -> dict[str, Any]:
    """What an event keeps of an email: ids, subject, sender, attachments, the reply."""
    return {
        "message_id": message_id,
        "subject": parsed.subject,
        "from": parsed.sender,
        "date": parsed.date.isoformat() if isinstance(parsed.date, datetime) else None,
        "text": parsed.reply_text,
        "full_text": parsed.text,
        "automatic": parsed.automatic,
        "attachments": [
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in parsed.attachments
        ],
    }


__all__ = [
    "AUTO_REPLY_WINDOW",
    "SUMMARY_LENGTH",
    "EmailIntake",
    "MailOutcome",
    "MailOutcomeKind",
    "first_line",
    "message_data",
    "quarantine_id",
    "sender_as_customer",
    "synthetic_message_id",
]
