"""The engine: receive complaints, move them through their workflow, answer questions.

>>> from complaint_flow import Engine, Intake, Customer, Actor
>>> engine = Engine.open("memory://", workflow="tactics")
>>> c = engine.receive(Intake(channel="email", summary="Parcel arrived broken",
...                           customer=Customer(id="C-1", name="Ada", email="ada@example.org")))
>>> c.state, c.version
('received', 1)
>>> engine.fire(c.id, "thank", actor=Actor(id="A-1", name="Bo", role="agent")).state
'thanked'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Self, cast

from complaint_flow.arguments import (
    flag,
    instance,
    items,
    name,
    optional_aware_datetime,
    optional_name,
    optional_text,
    optional_whole_number,
    text,
    whole_number,
)
from complaint_flow.definitions.calendars import Duration
from complaint_flow.definitions.conduct_policy import ConductPolicy
from complaint_flow.definitions.remedies import Remedy
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import ClockError, InvalidArgumentError
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.channels import Channel
from complaint_flow.model.clock import Clock, SystemClock
from complaint_flow.model.conduct import ConductRecord, ReviewItem, is_conduct_record_id
from complaint_flow.model.entities import Actor, Complaint, Event, Intake, OutboxMessage
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.services import (
    complaint_records,
    conduct_patterns,
    deadline_clocks,
    escalation_requests,
    final_decisions,
    privacy,
    workflow_steps,
)
from complaint_flow.services.audit import AuditReport, verify_store
from complaint_flow.services.conduct_desk import ConductDesk
from complaint_flow.services.conduct_patterns import PatternFlag
from complaint_flow.services.delivery import (
    DEFAULT_TIMEOUT_SECONDS,
    Backoff,
    DeliveryReport,
    OutboxDispatcher,
)
from complaint_flow.services.delivery_records import record_sent, record_undeliverable
from complaint_flow.services.intake import IntakeOutcome, Reception
from complaint_flow.services.outgoing import Composer, LetterSettings
from complaint_flow.services.privacy import ErasureReport, PurgeReport
from complaint_flow.services.sweep import SweepReport, run_sweep
from complaint_flow.storage.contract import Store

DEFAULT_STORE_URL = "sqlite:///complaints.db"

RETRIES = 3
"""Fresh attempts a recorder (note, assignment, escalation…) makes after losing a race.

A note or an assignment means the same on the next version, and every check is made
afresh on it, so recorders retry by default; ``fire`` keeps ``retries=0`` by default
because a step chosen on a screen is better reported than taken on a version nobody saw.
"""


class Engine:
    """Handles complaints in one store, following registered workflows.

    Build it with :meth:`Engine.open`. An engine is thread-safe as far as its
    store is; several engines (threads, processes, hosts) may share one store.
    """

    def __init__(
        self,
        store: Store,
        *,
        registry: Registry,
        workflow: str | WorkflowDefinition = "tactics",
        clock: Clock | None = None,
        reference_prefix: str = "CF",
        conduct_policy: ConductPolicy | None = None,
        letters: LetterSettings | None = None,
    ) -> None:
        if clock is not None and not callable(clock):
            raise InvalidArgumentError(
                f"clock must be a Clock: something called with no arguments that returns a "
                f"timezone-aware datetime (SystemClock(), ManualClock(...)), got {clock!r}"
            )
        if conduct_policy is not None:
            instance(
                "conduct_policy", conduct_policy, ConductPolicy, "ConductPolicy(decision_roles=...)"
            )
        self.store = store
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        if (
            not isinstance(reference_prefix, str)
            or not reference_prefix
            or not reference_prefix.replace("_", "").isalnum()
        ):
            raise InvalidArgumentError(
                f"reference_prefix must be letters/digits such as 'CF', got {reference_prefix!r}"
            )
        self.reference_prefix = reference_prefix
        if isinstance(workflow, WorkflowDefinition):
            self.registry.workflows[workflow.name] = workflow
            workflow = workflow.name
        self.dispatcher = OutboxDispatcher(
            store, registry, self.clock, backoff=Backoff(), timeout=DEFAULT_TIMEOUT_SECONDS
        )
        self.kernel = Kernel(
            store,
            registry,
            self.clock,
            reference_prefix,
            deliver_now=self.dispatcher.dispatch_keys,
            written_channels=conduct_policy.written_channels if conduct_policy else None,
        )
        """The unit of work every service is built on (``docs/architecture.md``)."""
        # What delivery learns goes back through the kernel: sent ids thread answers,
        # refused addresses reroute replies.
        self.dispatcher.sent = partial(record_sent, self.kernel)
        self.dispatcher.undeliverable = partial(record_undeliverable, self.kernel)
        if letters is not None:
            instance("letters", letters, LetterSettings, "LetterSettings(organisation=...)")
        self.dispatcher.compose = Composer(self.kernel, letters)
        self.default_workflow = self.kernel.workflow(text("workflow", workflow)).name
        self.conduct = ConductDesk(self.kernel, conduct_policy)
        """The stop procedure: warnings, restrictions, appeals, reviews (``docs/conduct.md``)."""
        self.reception = Reception(self.kernel, self.conduct.policy, self.default_workflow)
        """Where messages come in: intake under the stop procedure."""

    @classmethod
    def open(
        cls,
        url: str = DEFAULT_STORE_URL,
        *,
        workflow: str | WorkflowDefinition = "tactics",
        clock: Clock | None = None,
        plugins: Iterable[object] = (),
        load_entry_points: bool | None = None,
        reference_prefix: str = "CF",
        conduct_policy: ConductPolicy | None = None,
        letters: LetterSettings | None = None,
    ) -> Engine:
        """Open an engine on the store at ``url``.

        Args:
            url: ``memory://``, ``sqlite:///path/to/file.db`` or a plugin's scheme.
            workflow: the workflow new complaints follow, by registered name or
                as a definition.
            clock: where the engine reads the time (tests pass a ``ManualClock``).
            plugins: extra plugins to register (objects or modules with hookimpls).
            load_entry_points: load installed plugins (default: yes, unless
                ``COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD=1``).
            reference_prefix: prefix of human references (``CF-2026-000001``).
            conduct_policy: who may decide what in the stop procedure, and which
                channels count as writing (default: ``ConductPolicy()``).
            letters: who signs the letters sent to customers (``LetterSettings``); with
                them, each step that names a ``letter`` sends it, checked against the
                workflow's required content; without them, messages are plain text.

        Raises:
            UnknownStoreError: no store for the URL's scheme.
            UnknownWorkflowError: no workflow of that name.
            WorkflowDefinitionError: the workflow is invalid.
        """
        extra = items("plugins", plugins)
        autoload = (
            None if load_entry_points is None else flag("load_entry_points", load_entry_points)
        )
        registry = Registry(make_plugin_manager(extra, load_entry_points=autoload))
        store = registry.open_store(url)
        try:
            return cls(
                store,
                registry=registry,
                workflow=workflow,
                clock=clock,
                reference_prefix=reference_prefix,
                conduct_policy=conduct_policy,
                letters=letters,
            )
        except BaseException:
            store.close()
            raise

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- workflows ----------------------------------------------------------

    def workflow(self, name: str | None = None) -> WorkflowDefinition:
        """The definition of workflow ``name`` (default: the engine's workflow)."""
        chosen = optional_name("name", name)
        return self.kernel.workflow(chosen or self.default_workflow).definition

    # -- intake -------------------------------------------------------------

    def receive(self, intake: Intake, *, workflow: str | None = None) -> Complaint:
        """Store a new complaint from ``intake`` and return it.

        Idempotent on ``(channel, external_id)``: delivering the same message
        again returns the complaint already stored, unchanged.

        The stop procedure applies (see :meth:`accept`): a message outside the
        customer's restrictions, or re-raising a matter with a final decision, is
        kept on the customer's review queue instead of opening a complaint, and
        ``ContactFiledError`` says so once it is safely stored.

        Raises:
            InvalidIntakeError: ``intake`` is not an :class:`Intake`, or names an
                unknown channel.
            ContactFiledError: the message was filed (or linked to a decided
                complaint), not opened; its ``outcome`` says how.
        """
        return self.reception.receive(intake, optional_name("workflow", workflow))

    def accept(self, intake: Intake, *, workflow: str | None = None) -> IntakeOutcome:
        """Take in one message under the stop procedure and say what became of it.

        The outcome's ``kind`` is ``opened`` (a new complaint), ``duplicate`` (the
        same ``(channel, external_id)`` came before: the same answer again),
        ``filed`` (a restriction of the customer's conduct record applies: single
        point of contact — ``intake.data["to"]`` names where the message was
        addressed —, written only, contact limit, no reopening) or ``linked`` (it
        re-raises a finally decided complaint: ``intake.data["regarding"]``, or its
        summary or details quote the reference). A filed or linked message is kept
        in full on the review queue (:meth:`review_queue`) and acknowledged when
        the restriction says so. Nothing is ever dropped.

        Raises:
            InvalidIntakeError: as :meth:`receive`.
        """
        return self.reception.accept(intake, optional_name("workflow", workflow))

    def receive_many(
        self, intakes: Iterable[Intake], *, workflow: str | None = None
    ) -> list[IntakeOutcome]:
        """Take in many messages at once: the rules of :meth:`accept`, one outcome each.

        New complaints are written with one ``store.commit_many`` (one transaction);
        duplicates within the batch and against the store are one complaint;
        messages of customers with a conduct record, or naming a complaint, are
        taken one by one in order. If another writer stores one of the messages
        meanwhile, the batch is taken one by one instead, with the same result.

        Raises:
            InvalidIntakeError: one of the intakes is malformed; nothing is stored.
        """
        # Each item is checked as an Intake where it is taken in.
        batch = cast("tuple[Intake, ...]", items("intakes", intakes))
        return self.reception.accept_many(batch, optional_name("workflow", workflow))

    # -- transitions --------------------------------------------------------

    def triggers(self, complaint_id: str, actor: Actor) -> list[str]:
        """The triggers ``actor`` may fire on the complaint now (role-wise)."""
        _check_actor(actor)
        return workflow_steps.triggers(self.kernel, self.get(complaint_id), actor)

    def fire(
        self,
        complaint_id: str,
        trigger: str,
        *,
        actor: Actor,
        reason: str = "",
        data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        retries: int = 0,
    ) -> Complaint:
        """Fire ``trigger`` on the complaint as ``actor`` and return the new version.

        Args:
            complaint_id: the complaint's id or reference.
            trigger: a trigger of the complaint's workflow.
            actor: who does it; their ``role`` must be allowed.
            reason: why (kept in the audit trail).
            data: information recorded with the step (merged into ``complaint.data``).
            expected_version: refuse if the complaint moved on since you read it.
            retries: when someone else changes the complaint between the read and the
                write, re-read it and try again up to this many times; every check
                (state, role, required data, guards) is made afresh on the new version,
                so a retry never does what the first attempt would have refused.

        Raises:
            UnknownTriggerError, TriggerNotAllowedError, PermissionDeniedError,
            MissingFieldError, GuardRefusedError: the step is refused; nothing is written.
            ConcurrencyError: the complaint changed concurrently (after ``retries``
                further attempts); nothing is written.
        """
        _check_actor(actor)
        trigger = name("trigger", trigger)
        reason = text("reason", reason, blank=True)
        given = workflow_steps.frozen_data(data)
        kernel = self.kernel

        def build(draft: Draft[Complaint]) -> None:
            workflow_steps.fire_on(kernel, draft, trigger, actor, reason, given)

        start = (
            kernel.cached(_id("complaint_id", complaint_id)) if expected_version is None else None
        )
        return kernel.change(
            complaint_id, build, expected_version=expected_version, retries=retries, start=start
        )[0]

    # -- other changes ------------------------------------------------------

    def assign(
        self,
        complaint_id: str,
        owner: Actor,
        *,
        actor: Actor,
        reason: str = "",
        expected_version: int | None = None,
        retries: int | None = None,
    ) -> Complaint:
        """Make ``owner`` the named person responsible; the owner is notified.

        Raises:
            ConcurrencyError: ``expected_version`` is given and the complaint moved on
                (or it kept changing through ``retries`` fresh attempts).
        """
        _check_actor(actor)
        _check_actor(owner, "owner")
        return complaint_records.assign(
            self.kernel,
            complaint_id,
            owner,
            actor,
            text("reason", reason, blank=True),
            expected_version=expected_version,
            retries=_retries(retries, expected_version),
        )

    def add_note(
        self,
        complaint_id: str,
        text: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        retries: int | None = None,
    ) -> Complaint:
        """Add a note to the audit trail (a phone call, a finding, a promise made)."""
        _check_actor(actor)
        note = _required_text("text", text, "a note needs some text")
        return complaint_records.add_note(
            self.kernel,
            complaint_id,
            note,
            actor,
            expected_version=expected_version,
            retries=_retries(retries, expected_version),
        )

    def change_reply_channel(
        self,
        complaint_id: str,
        channel: str,
        *,
        actor: Actor,
        consent: str,
        expected_version: int | None = None,
        retries: int | None = None,
    ) -> Complaint:
        """Reply on ``channel`` from now on; only with the customer's recorded consent.

        Args:
            consent: how and when the customer agreed (e.g. "asked by phone 3 May").
        """
        _check_actor(actor)
        self.registry.channel(name("channel", channel))
        agreed = _required_text(
            "consent",
            consent,
            "changing the reply channel needs the customer's consent: say how and when "
            "they agreed in consent=...",
        )
        return complaint_records.change_reply_channel(
            self.kernel,
            complaint_id,
            channel,
            actor,
            agreed,
            expected_version=expected_version,
            retries=_retries(retries, expected_version),
        )

    # -- escalation, deadlines, remedies ------------------------------------------

    def escalate(
        self,
        complaint_id: str,
        *,
        actor: Actor,
        reason: str,
        requested_via: str | None = None,
        expected_version: int | None = None,
        retries: int | None = None,
    ) -> Complaint:
        """Move the complaint one level up its escalation ladder (mission M5).

        The next level's person is found through the
        ``complaint_flow_escalation_target`` hook (the host's org chart, else the
        static ladder), becomes the owner and is notified. When the workflow's
        ``escalate`` trigger is allowed from the current state it is fired too: this
        and ``fire(id, "escalate")`` are the same move.

        Args:
            requested_via: when the customer asked for the escalation, the channel
                they asked on. Beyond the ladder's ``written_request_from`` level only
                a written request counts (mission M7): a request on another channel
                is recorded (``escalation_request_declined``) and answered with how
                to ask in writing, and the complaint does not move.

        Raises:
            EscalationError: the workflow has no ladder, the complaint is at its top,
                or it has a final decision.
        """
        _check_actor(actor)
        why = _required_text("reason", reason, "an escalation needs a reason: say why it goes up")
        if requested_via is not None:
            self.registry.channel(name("requested_via", requested_via))
        return escalation_requests.escalate(
            self.kernel,
            complaint_id,
            actor,
            why,
            requested_via=requested_via,
            expected_version=expected_version,
            retries=_retries(retries, expected_version),
        )

    def extend_clock(
        self,
        complaint_id: str,
        clock: str,
        *,
        until: datetime | Duration | str,
        actor: Actor,
        reason: str,
        expected_version: int | None = None,
        retries: int | None = None,
    ) -> Complaint:
        """Agree a later deadline for one clock; recorded, and the customer is told.

        Args:
            until: the new deadline (timezone-aware), or how much later it is, in the
                clock's own calendar: a :class:`Duration` or its text such as
                ``"5 working days"``, counted from the current deadline.

        Raises:
            ClockError: unknown or stopped clock, or ``until`` not later than the
                current deadline (an extension never shortens a deadline).
        """
        _check_actor(actor)
        why = _required_text(
            "reason", reason, "an extension needs a reason the customer can be given"
        )
        return deadline_clocks.extend_clock(
            self.kernel,
            complaint_id,
            name("clock", clock),
            until,
            actor,
            why,
            expected_version=expected_version,
            retries=_retries(retries, expected_version),
        )

    def deadline(self, complaint_id: str, clock: str) -> datetime | None:
        """The deadline of one clock as it stands now.

        A running clock's deadline; a paused clock's deadline if it resumed now (the
        ``deadline`` kept on a paused clock is the one it had when it was paused, and
        moves later by the paused time when the clock resumes); ``None`` for a clock
        that is stopped or never started.

        Raises:
            ClockError: the complaint's workflow has no such clock.
        """
        complaint = self.get(complaint_id)
        book = self.kernel.workflow(complaint.workflow).clocks
        if name("clock", clock) not in book.clocks:
            raise ClockError(
                f"workflow {complaint.workflow!r} has no clock {clock!r}; its clocks: "
                f"{', '.join(sorted(book.clocks)) or 'none'}"
            )
        state = complaint.clock(clock)
        return None if state is None else book.deadline_if_resumed(state, self.clock())

    def recompute_clocks(self, complaint_id: str, *, actor: Actor) -> Complaint:
        """Recompute the complaint's clocks from its history with the current definition.

        Clock states are a fold over the event log, so after a workflow's clocks
        change (a new pack version, a corrected calendar) every pause, extension,
        warning and breach is replayed, not lost. Records a ``clocks_recomputed``
        event when anything changed; returns the complaint unchanged otherwise.
        """
        _check_actor(actor)
        return deadline_clocks.recompute_clocks(self.kernel, complaint_id, actor)

    def grant_remedy(
        self,
        complaint_id: str,
        remedy: Remedy,
        *,
        actor: Actor,
        reason: str = "",
        expected_version: int | None = None,
        retries: int | None = None,
    ) -> Complaint:
        """Grant a remedy (repair, replacement, refund…) within the actor's authority.

        Raises:
            AuthorityExceededError: the amount is above what the actor's rank may
                grant; the message names the level that may decide.
        """
        _check_actor(actor)
        if not isinstance(remedy, Remedy):
            raise InvalidArgumentError("grant_remedy() takes a Remedy(kind=..., amount=...)")
        return complaint_records.grant_remedy(
            self.kernel,
            complaint_id,
            remedy,
            actor,
            text("reason", reason, blank=True),
            expected_version=expected_version,
            retries=_retries(retries, expected_version),
        )

    def sweep(self, now: datetime | None = None, *, batch: int = 500) -> SweepReport:
        """Act on every due deadline warning and breach, exactly once.

        Finds due complaints through the store's due-time index (cost grows with
        what is due, not with the store), records ``clock_warning`` and
        ``clock_breached`` events, notifies owners and escalates where the clock
        says so. Safe with several sweepers at once: each action is a
        version-checked commit, so only one of them records it.

        It also lapses the stop procedure's restrictions whose review date has come
        (``report.lapsed``), found through the store's review-date index.
        """
        return run_sweep(
            self.kernel, self.conduct, self.clock() if now is None else now, batch=batch
        )

    # -- the stop procedure: final decisions, review queue, patterns ----------

    def final_decision(self, complaint_id: str, *, actor: Actor, response: str) -> Complaint:
        """Record the final response on a closed complaint; it ends the complaint's escalation.

        Records a ``final_decision`` event, keeps ``complaint.data["final_decision"]``
        (``at``, ``by``, ``by_name``, ``response``) and tells the customer. Afterwards
        :meth:`escalate` is refused, and a message re-raising the matter is linked
        to it (see :meth:`accept`) instead of opening a new complaint.

        Raises:
            NotAuthorisedError: the actor's role is not one of the conduct policy's
                ``decision_roles`` (a final decision ends escalation: it is a
                decision, like a restriction).
            ConductError: the complaint is not in an end state of its workflow (close
                it first), or already has a final decision.
            InvalidArgumentError: no response text.
        """
        _check_actor(actor)
        return final_decisions.final_decision(
            self.kernel, complaint_id, actor, response, self.conduct.policy.decision_roles
        )

    def review_queue(self, limit: int | None = None) -> list[tuple[ConductRecord, ReviewItem]]:
        """The filed and linked messages waiting to be read, with each customer's record.

        Read through the store's index of records with waiting items (the cost grows
        with the queue, not with the store).
        """
        return final_decisions.review_queue(self.kernel, optional_whole_number("limit", limit))

    def resolve_review_item(
        self, customer_id: str, item_id: str, *, actor: Actor, outcome: str, note: str
    ) -> Complaint | None:
        """Resolve a review item once it has been read; recorded on the customer's record.

        Args:
            outcome: ``"no_new_information"`` (closed), ``"new_information"`` (a
                complaint is opened from the filed message, past the restriction;
                returned) or ``"safeguarding"`` (closed, and an urgent
                ``safeguarding_concern`` goes at once to the owner and department of
                the related complaint — the item's matter, else the customer's latest
                complaint —, or to the reviewer's email when there is none).
            note: what the reviewer read and decided.

        Raises:
            ConductError: no such item waiting (perhaps resolved already).
            InvalidArgumentError: unknown outcome, or no note.
        """
        _check_actor(actor)
        return final_decisions.resolve_review_item(
            self.reception,
            _id("customer_id", customer_id),
            _id("item_id", item_id),
            actor,
            outcome,
            note,
        )

    def conduct_patterns(
        self,
        *,
        now: datetime | None = None,
        window_days: int = 90,
        many_complaints: int = 5,
        repeats_after_final: int = 2,
        escalation_requests: int = 3,
    ) -> list[PatternFlag]:
        """Customers whose recent contact suggests a look at their conduct; changes nothing.

        Flags customers with at least ``many_complaints`` complaints received in the
        last ``window_days`` days, ``repeats_after_final`` messages re-raising
        finally decided matters, or ``escalation_requests`` escalations they asked
        for (granted or declined) on complaints received in the window. Each flag
        says what was seen, with references: a suggestion for a human, never a
        decision.
        """
        moment = optional_aware_datetime("now", now)
        return conduct_patterns.conduct_patterns(
            self.kernel,
            self.clock() if moment is None else moment,
            whole_number("window_days", window_days, minimum=1, maximum=36_600),
            whole_number("many_complaints", many_complaints, minimum=1),
            whole_number("repeats_after_final", repeats_after_final, minimum=1),
            whole_number("escalation_requests", escalation_requests, minimum=1),
        )

    # -- audit and data protection ------------------------------------------

    def verify_audit(self, complaint_id: str | None = None) -> AuditReport:
        """Check the audit trails' hash chains; ``report.ok`` means nothing was altered.

        Args:
            complaint_id: check one complaint (id or reference) or one conduct record
                (``conduct:<customer id>``); default: every complaint and conduct
                record in the store.

        Raises:
            ComplaintNotFoundError: no such complaint.
        """
        complaint_id = optional_text("complaint_id", complaint_id, strip=False)
        if complaint_id is None:
            return verify_store(self.store)
        if is_conduct_record_id(complaint_id):
            return verify_store(self.store, complaint_ids=[complaint_id])
        return verify_store(self.store, complaint_ids=[self.get(complaint_id).id])

    def erase_customer(self, customer_id: str, *, actor: Actor, reason: str) -> ErasureReport:
        """Erase a customer's personal data from complaints, conduct record and messages.

        The audit trails stay verifiable (erased events keep a digest of what was
        erased); the erasure itself is recorded. See ``docs/privacy.md``.
        """
        _check_actor(actor)
        return privacy.erase_customer(self.kernel, customer_id, actor=actor, reason=reason)

    def purge_closed(
        self,
        older_than: timedelta | str | None = None,
        *,
        now: datetime | None = None,
        batch: int = 500,
        dry_run: bool = False,
    ) -> PurgeReport:
        """Delete complaints that ended longer ago than their retention period.

        Complaints in an end state of their workflow, unchanged since ``now`` minus
        ``older_than`` (or, without it, their workflow's ``retention``), are deleted
        with their events and messages, ``batch`` per transaction; ``dry_run`` only
        counts them. See ``docs/privacy.md``.
        """
        return privacy.purge_closed(
            self.kernel,
            older_than,
            now=optional_aware_datetime("now", now),
            batch=whole_number("batch", batch, minimum=1),
            dry_run=flag("dry_run", dry_run),
        )

    # -- questions ----------------------------------------------------------

    def get(self, complaint_id: str) -> Complaint:
        """The latest version of a complaint, by id or by reference.

        Raises:
            ComplaintNotFoundError: no such complaint.
        """
        return self.kernel.complaint(complaint_id)

    def history(self, complaint_id: str) -> list[Event]:
        """The complaint's complete audit trail, oldest first."""
        return self.store.events(self.get(complaint_id).id)

    def find(
        self,
        *,
        state: str | None = None,
        customer_id: str | None = None,
        category: str | None = None,
        workflow: str | None = None,
        limit: int | None = None,
    ) -> list[Complaint]:
        """Complaints matching every given filter, oldest received first."""
        return self.store.find(
            state=optional_name("state", state),
            customer_id=optional_text("customer_id", customer_id),
            category=optional_text("category", category),
            workflow=optional_name("workflow", workflow),
            limit=optional_whole_number("limit", limit),
        )

    def outbox(self, complaint_id: str) -> list[OutboxMessage]:
        """The notifications a complaint caused, with their delivery status.

        ``complaint_id`` may also be a conduct record's id (``conduct:<customer
        id>``): its notices (warnings, decisions, acknowledgements of filed messages).
        """
        if isinstance(complaint_id, str) and is_conduct_record_id(complaint_id):
            return self.store.outbox(complaint_id)
        return self.store.outbox(self.get(complaint_id).id)

    def deliver(self, limit: int = 100) -> DeliveryReport:
        """Deliver pending notifications through the notify hooks (at least once)."""
        return self.dispatcher.dispatch(whole_number("limit", limit, minimum=0, maximum=100_000))

    def channels(self) -> list[Channel]:
        """The registered channels."""
        return list(self.registry.channels.values())

    def now(self) -> datetime:
        """The engine's current time."""
        return self.clock()


def _check_actor(actor: object, what: str = "actor") -> None:
    instance(what, actor, Actor, "Actor(id=..., name=..., role=...)")


def _retries(retries: int | None, expected_version: int | None) -> int:
    """A recorder's retries: as given, else RETRIES unless it must refuse a moved version."""
    if retries is not None:
        return retries
    return 0 if expected_version is not None else RETRIES


def _id(argument: str, value: object) -> str:
    """An id or a reference, as given (ids are not stripped)."""
    return text(argument, value, strip=False)


def _required_text(argument: str, value: object, refusal: str) -> str:
    """Text that must say something; ``refusal`` says what (kept from earlier versions)."""
    if isinstance(value, str) and not value.strip():
        raise InvalidArgumentError(refusal)
    return text(argument, value)


__all__ = ["DEFAULT_STORE_URL", "Engine"]
