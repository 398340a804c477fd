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

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType, TracebackType
from typing import Any, Self

from complaint_flow.definitions.escalation import EscalationLevel
from complaint_flow.definitions.remedies import Remedy, check_authority
from complaint_flow.definitions.workflow import (
    ESCALATE_TRIGGER,
    TransitionDefinition,
    WorkflowDefinition,
)
from complaint_flow.errors import (
    ClockError,
    ComplaintFlowError,
    ComplaintNotFoundError,
    ConcurrencyError,
    DuplicateIntakeError,
    EscalationError,
    GuardRefusedError,
    InvalidArgumentError,
    InvalidIntakeError,
    MissingFieldError,
    NotAuthorisedError,
    PermissionDeniedError,
    WorkflowDefinitionError,
)
from complaint_flow.fsm.workflow_machine import CompiledWorkflow, compile_workflow
from complaint_flow.kernel.draft import Draft, advance, notifications
from complaint_flow.model.channels import Channel, written_channels
from complaint_flow.model.clock import Clock, SystemClock
from complaint_flow.model.conduct import ConductRecord, ReviewItem, is_conduct_record_id
from complaint_flow.model.entities import (
    SYSTEM,
    Actor,
    ClockStatus,
    Complaint,
    Event,
    Intake,
    OutboxMessage,
    Severity,
)
from complaint_flow.model.immutable import EMPTY, FrozenData, freeze_mapping
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.services import conduct_patterns as pattern_rules
from complaint_flow.services import final_decisions as final_rules
from complaint_flow.services import intake as intake_rules
from complaint_flow.services import privacy
from complaint_flow.services.audit import AuditReport, verify_store
from complaint_flow.services.conduct_desk import ConductDesk, ConductPolicy
from complaint_flow.services.conduct_patterns import PatternFlag
from complaint_flow.services.delivery import (
    DEFAULT_TIMEOUT_SECONDS,
    Backoff,
    DeliveryReport,
    OutboxDispatcher,
)
from complaint_flow.services.final_decisions import FINAL_DECISION
from complaint_flow.services.intake import IntakeOutcome
from complaint_flow.services.privacy import ErasureReport, PurgeReport
from complaint_flow.services.sweep import SweepReport, run_sweep
from complaint_flow.storage.contract import Commit, Store

DEFAULT_STORE_URL = "sqlite:///complaints.db"


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
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        if not reference_prefix or not reference_prefix.replace("_", "").isalnum():
            raise InvalidArgumentError(
                f"reference_prefix must be letters/digits such as 'CF', got {reference_prefix!r}"
            )
        self.reference_prefix = reference_prefix
        self._compiled: dict[str, CompiledWorkflow] = {}
        if isinstance(workflow, WorkflowDefinition):
            self.registry.workflows[workflow.name] = workflow
            workflow = workflow.name
        self.default_workflow = self._workflow(workflow).name
        self.dispatcher = OutboxDispatcher(
            store, registry, self.clock, backoff=Backoff(), timeout=DEFAULT_TIMEOUT_SECONDS
        )
        self._get_cached: Callable[[str], Complaint | None] | None = getattr(
            store, "get_cached", None
        )
        self.conduct = ConductDesk(self, conduct_policy)
        """The stop procedure: warnings, restrictions, appeals, reviews (``docs/conduct.md``)."""

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

        Raises:
            UnknownStoreError: no store for the URL's scheme.
            UnknownWorkflowError: no workflow of that name.
            WorkflowDefinitionError: the workflow is invalid.
        """
        registry = Registry(make_plugin_manager(plugins, load_entry_points=load_entry_points))
        store = registry.open_store(url)
        try:
            return cls(
                store,
                registry=registry,
                workflow=workflow,
                clock=clock,
                reference_prefix=reference_prefix,
                conduct_policy=conduct_policy,
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

    def _workflow(self, name: str) -> CompiledWorkflow:
        compiled = self._compiled.get(name)
        if compiled is None:
            definition = self.registry.workflow(name)
            problems = definition.problems(self.registry.guards)
            if problems:
                raise WorkflowDefinitionError(definition.name, problems)
            compiled = compile_workflow(definition)
            self._compiled[name] = compiled
        return compiled

    def workflow(self, name: str | None = None) -> WorkflowDefinition:
        """The definition of workflow ``name`` (default: the engine's workflow)."""
        return self._workflow(name or self.default_workflow).definition

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
        return intake_rules.receive(self, intake, workflow)

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
        return intake_rules.accept(self, intake, workflow)

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
        return intake_rules.accept_many(self, intakes, workflow)

    def _check_intake(self, intake: Intake) -> None:
        if not isinstance(intake, Intake):
            raise InvalidIntakeError(
                f"receive() takes an Intake, got {type(intake).__name__}; build one with "
                "Intake(channel=..., customer=Customer(...), summary=...)"
            )
        self.registry.channel(intake.channel)
        for preferred in (intake.preferred_channel, intake.customer.preferred_channel):
            if preferred is not None:
                self.registry.channel(preferred)
        if intake.informal and intake.recorded_by is None:
            raise InvalidIntakeError(
                "an informal complaint needs recorded_by: the member of staff who heard it"
            )

    def _draft_new(
        self,
        intake: Intake,
        compiled: CompiledWorkflow,
        now: datetime,
        *,
        data: Mapping[str, Any] | None = None,
        starts: dict[datetime, tuple[Any, Any]] | None = None,
    ) -> Draft:
        """The creation of a complaint from ``intake``, routed and triaged, not written.

        ``starts`` caches the deadline clocks started on receipt by receipt time:
        in a batch they are the same for every complaint received at once, and
        computing them (business calendars) is most of an intake's cost.
        """
        complaint_id = uuid.uuid4().hex
        complaint = Complaint(
            id=complaint_id,
            reference="",
            workflow=compiled.name,
            customer=intake.customer,
            channel=intake.channel,
            category=intake.category,
            severity=intake.severity,
            summary=intake.summary.strip(),
            details=intake.details,
            state=compiled.definition.initial,
            received_at=intake.received_at or now,
            updated_at=now,
            version=1,
            desired_outcome=intake.desired_outcome,
            preferred_channel=intake.preferred_channel,
            external_id=intake.external_id,
            informal=intake.informal,
            recorded_by=intake.recorded_by,
            data=intake.data,
        )
        event_data: dict[str, Any] = {
            "channel": intake.channel,
            "external_id": intake.external_id,
            "received_at": complaint.received_at.isoformat(),
        }
        if data:
            event_data.update(data)
        # Deadlines count from receipt, which may be before the complaint was logged
        # (a letter opened days later): the clocks read it from the event's data.
        event = Event.build(
            complaint_id,
            1,
            "received",
            now,
            intake.recorded_by or SYSTEM,
            None,
            None,
            complaint.state,
            "",
            freeze_mapping(event_data),
        )
        started = starts.get(complaint.received_at) if starts is not None else None
        if started is None:
            created = advance(complaint, compiled, event)
            if starts is not None:
                starts[complaint.received_at] = (created.clocks, created.due_at)
        else:
            # What ``advance`` gives for a "received" event: only the clocks depend on it.
            created = complaint.advanced(
                event.dest or complaint.state,
                1,
                now,
                complaint.data,
                clocks=started[0],
                due_at=started[1],
            )
        draft = Draft(created, compiled, now, events=(event,), expected_version=0)
        self._route_and_triage(draft)
        return draft

    def _open(
        self,
        intake: Intake,
        compiled: CompiledWorkflow,
        now: datetime,
        *,
        data: Mapping[str, Any] | None = None,
    ) -> tuple[Complaint, bool]:
        """Store a complaint from a checked intake; (complaint, False) for a duplicate."""
        draft = self._draft_new(intake, compiled, now, data=data)
        try:
            stored = draft.commit(self.store, reference_prefix=self.reference_prefix)
        except DuplicateIntakeError as exc:
            # Another delivery of the same message won the race: same answer.
            existing = self.store.find_by_external_id(exc.channel, exc.external_id)
            if existing is None:
                raise
            return existing, False
        self.registry.received(stored, draft.events[0])
        self._deliver_urgent(draft)
        return stored, True

    def _route_and_triage(self, draft: Draft) -> None:
        """Send a new complaint to its department; take an emergency straight to on-call."""
        policy = draft.compiled.definition.escalation
        if policy is None:
            return
        complaint = draft.complaint
        routing = policy.route(complaint.category, complaint.severity)
        if routing is not None:
            draft.record(
                "routed",
                SYSTEM,
                reason=f"{complaint.category} complaints go to {routing.department}",
                data={"department": routing.department, "central_office": routing.central_office},
                change={"department": routing.department},
                notify=("department",),
            )
        if complaint.severity is Severity.EMERGENCY:
            ladder = policy.ladder_for(complaint.category, complaint.severity)
            self._climb(
                draft,
                None,
                "emergency: straight to the on-call level",
                level=ladder.emergency_level,
                urgent=True,
            )

    # -- transitions --------------------------------------------------------

    def triggers(self, complaint_id: str, actor: Actor) -> list[str]:
        """The triggers ``actor`` may fire on the complaint now (role-wise)."""
        _check_actor(actor)
        complaint = self.get(complaint_id)
        compiled = self._workflow(complaint.workflow)
        return [
            t.trigger
            for t in compiled.available(complaint.state)
            if not t.roles or actor.role in t.roles
        ]

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
        if retries:
            if expected_version is not None:
                raise InvalidArgumentError(
                    "give expected_version (refuse if it moved on) or retries (re-read and "
                    "try again), not both"
                )
            if not isinstance(retries, int) or retries < 0:
                raise InvalidArgumentError(f"retries must be a whole number >= 0, got {retries!r}")
            for _attempt in range(retries):
                try:
                    return self._fire(complaint_id, trigger, actor, reason, data, None)
                except ConcurrencyError:
                    continue
        return self._fire(complaint_id, trigger, actor, reason, data, expected_version)

    def _fire(
        self,
        complaint_id: str,
        trigger: str,
        actor: Actor,
        reason: str,
        data: Mapping[str, Any] | None,
        expected_version: int | None,
        *,
        requested_via: str | None = None,
    ) -> Complaint:
        if type(actor) is not Actor:
            _check_actor(actor)
        if expected_version is None and self._get_cached is not None:
            # A store that keeps the versions it wrote saves the read (a round trip on
            # PostgreSQL). If another writer moved the complaint on, the commit's version
            # check refuses it; any refusal is then decided again on the latest version.
            cached = self._get_cached(complaint_id)
            if cached is not None:
                try:
                    return self._fire_on(cached, trigger, actor, reason, data, None, requested_via)
                except ComplaintFlowError:
                    pass
        try:
            complaint = self.store.get(complaint_id)
        except ComplaintNotFoundError:
            complaint = self.get(complaint_id)  # perhaps a reference
        return self._fire_on(
            complaint, trigger, actor, reason, data, expected_version, requested_via
        )

    def _fire_on(
        self,
        complaint: Complaint,
        trigger: str,
        actor: Actor,
        reason: str,
        data: Mapping[str, Any] | None,
        expected_version: int | None,
        requested_via: str | None,
    ) -> Complaint:
        if expected_version is not None and complaint.version != expected_version:
            raise ConcurrencyError(complaint.id, expected_version)
        compiled = self._compiled.get(complaint.workflow) or self._workflow(complaint.workflow)
        source = complaint.state
        transition = compiled.transition(source, trigger)
        given = _frozen_data(data) if data else EMPTY
        self._check_allowed(complaint, transition, actor, given)
        climbs = trigger == ESCALATE_TRIGGER and compiled.definition.escalation is not None
        # Refuse at the top of the ladder before anything moves.
        level = self._next_level(complaint, compiled) if climbs else None
        dest = compiled.run(source, trigger)
        now = self.clock()
        seq = complaint.version + 1
        event = Event.build(
            complaint.id, seq, "transition", now, actor, trigger, source, dest, reason, given
        )
        if level is not None:
            draft = Draft(
                advance(complaint, compiled, event, merge_data=True),
                compiled,
                now,
                events=(event,),
                expected_version=complaint.version,
            )
            draft.outbox.extend(
                notifications(draft.complaint, transition.notify, event, trigger, compiled)
            )
            self._climb(
                draft,
                actor,
                reason or "escalated by " + actor.name,
                level=level,
                requested_via=requested_via,
            )
            stored = draft.commit(self.store)
            self.registry.transition(stored, event)
            self._deliver_urgent(draft)
            return stored
        # The hot path: no draft object; clocks are folded only when the step moves one.
        merged = MappingProxyType({**complaint.data, **given}) if given else complaint.data
        book = compiled.clocks
        clocks = book.apply(complaint.clocks, event) if compiled.has_clocks else complaint.clocks
        if clocks is complaint.clocks:
            updated = complaint.advanced(dest, seq, now, merged)
        else:
            updated = complaint.advanced(
                dest, seq, now, merged, clocks=clocks, due_at=book.due_at(clocks)
            )
        outbox = (
            notifications(updated, transition.notify, event, trigger, compiled)
            if transition.notify
            else ()
        )
        stored = self.store.commit(Commit.build(updated, seq - 1, (event,), outbox))
        self.registry.transition(stored, event)
        return stored

    def _check_allowed(
        self,
        complaint: Complaint,
        transition: TransitionDefinition,
        actor: Actor,
        given: FrozenData,
    ) -> None:
        if transition.roles and actor.role not in transition.roles:
            raise PermissionDeniedError(actor.id, actor.role, transition.trigger, transition.roles)
        if transition.requires:
            missing = [
                key
                for key in transition.requires
                if _blank(given.get(key)) and _blank(complaint.data.get(key))
            ]
            if missing:
                raise MissingFieldError(transition.trigger, missing)
        for name in transition.guards:
            refusal = self.registry.guards[name](complaint, actor, given)
            if refusal is not None:
                raise GuardRefusedError(transition.trigger, name, refusal)

    # -- other changes ------------------------------------------------------

    def assign(
        self,
        complaint_id: str,
        owner: Actor,
        *,
        actor: Actor,
        reason: str = "",
        expected_version: int | None = None,
    ) -> Complaint:
        """Make ``owner`` the named person responsible; the owner is notified.

        Raises:
            ConcurrencyError: ``expected_version`` is given and the complaint moved on.
        """
        _check_actor(actor)
        _check_actor(owner, "owner")
        return self._record(
            complaint_id,
            "assigned",
            actor,
            reason,
            {"owner_id": owner.id, "owner_name": owner.name},
            change={"owner": owner},
            notify=("owner",),
            expected_version=expected_version,
        )

    def add_note(
        self, complaint_id: str, text: str, *, actor: Actor, expected_version: int | None = None
    ) -> Complaint:
        """Add a note to the audit trail (a phone call, a finding, a promise made)."""
        _check_actor(actor)
        if not isinstance(text, str) or not text.strip():
            raise InvalidArgumentError("a note needs some text")
        return self._record(
            complaint_id, "note", actor, text.strip(), {}, expected_version=expected_version
        )

    def change_reply_channel(
        self,
        complaint_id: str,
        channel: str,
        *,
        actor: Actor,
        consent: str,
        expected_version: int | None = None,
    ) -> Complaint:
        """Reply on ``channel`` from now on; only with the customer's recorded consent.

        Args:
            consent: how and when the customer agreed (e.g. "asked by phone 3 May").
        """
        _check_actor(actor)
        self.registry.channel(channel)
        if not isinstance(consent, str) or not consent.strip():
            raise InvalidArgumentError(
                "changing the reply channel needs the customer's consent: say how and when "
                "they agreed in consent=..."
            )
        current = self.get(complaint_id)
        return self._record(
            complaint_id,
            "reply_channel_changed",
            actor,
            consent.strip(),
            {"from": current.reply_channel, "to": channel},
            change={"preferred_channel": channel},
            expected_version=expected_version,
        )

    def _record(
        self,
        complaint_id: str,
        kind: str,
        actor: Actor,
        reason: str,
        data: Mapping[str, Any],
        *,
        change: Mapping[str, Any] | None = None,
        notify: tuple[str, ...] = (),
        expected_version: int | None = None,
    ) -> Complaint:
        complaint = self.get(complaint_id)
        if expected_version is not None and complaint.version != expected_version:
            raise ConcurrencyError(complaint.id, expected_version)
        draft = Draft(complaint, self._workflow(complaint.workflow), self.clock())
        draft.record(kind, actor, reason=reason, data=data, change=change, notify=notify)
        return draft.commit(self.store)

    # -- escalation, deadlines, remedies ------------------------------------------

    def escalate(
        self,
        complaint_id: str,
        *,
        actor: Actor,
        reason: str,
        requested_via: str | None = None,
        expected_version: int | None = None,
    ) -> Complaint:
        """Move the complaint one level up its escalation ladder (mission M5).

        The next level's person is found through the
        ``complaint_flow_escalation_target`` hook (the host's org chart, else the
        static ladder), becomes the owner and is notified. When the workflow's
        ``escalate`` trigger is allowed from the current state it is fired too.

        Args:
            requested_via: when the customer asked for the escalation, the channel
                they asked on. Beyond the ladder's ``written_request_from`` level only
                a written request counts (mission M7): a request on another channel
                is recorded (``escalation_request_declined``) and answered with how
                to ask in writing, and the complaint does not move.

        Raises:
            EscalationError: the workflow has no ladder, or the complaint is at its top.
        """
        _check_actor(actor)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidArgumentError("an escalation needs a reason: say why it goes up")
        if requested_via is not None:
            self.registry.channel(requested_via)
        complaint = self.get(complaint_id)
        if FINAL_DECISION in complaint.data:
            decided = complaint.data[FINAL_DECISION]
            raise EscalationError(
                f"{complaint.reference} has a final decision (on "
                f"{str(decided.get('at', ''))[:10]} by {decided.get('by_name')}), which ends "
                "its escalation; a new matter is a new complaint, and the customer may take "
                "this one to the ombudsman"
            )
        compiled = self._workflow(complaint.workflow)
        level = self._next_level(complaint, compiled)  # no ladder, or its top: refused
        if expected_version is not None and complaint.version != expected_version:
            raise ConcurrencyError(complaint.id, expected_version)
        policy = compiled.definition.escalation
        cap = policy.written_request_from if policy is not None else None
        if requested_via is not None and cap is not None and level.number >= cap:
            written = self._written_channels(compiled)
            if requested_via not in written:
                return self._decline_spoken_request(
                    complaint, compiled, level, actor, reason.strip(), requested_via, written
                )
        if any(t.trigger == ESCALATE_TRIGGER for t in compiled.available(complaint.state)):
            _check_actor(actor)
            return self._fire(
                complaint.id,
                ESCALATE_TRIGGER,
                actor,
                reason,
                None,
                expected_version,
                requested_via=requested_via,
            )
        draft = Draft(complaint, compiled, self.clock())
        self._climb(draft, actor, reason.strip(), level=level, requested_via=requested_via)
        stored = draft.commit(self.store)
        self._deliver_urgent(draft)
        return stored

    def _decline_spoken_request(
        self,
        complaint: Complaint,
        compiled: CompiledWorkflow,
        level: EscalationLevel,
        actor: Actor,
        reason: str,
        requested_via: str,
        written: frozenset[str],
    ) -> Complaint:
        """Record a request beyond the cap on a non-written channel and answer it."""
        how = ", ".join(sorted(written))
        draft = Draft(complaint, compiled, self.clock())
        draft.record(
            "escalation_request_declined",
            actor,
            reason=(
                f"a request to go to level {level.number} ({level.title}) counts only "
                f"in writing; asked on {requested_via}: {reason}"
            ),
            data={
                "requested_via": requested_via,
                "level": level.number,
                "written_channels": sorted(written),
                "how_to_ask": f"send the request in writing ({how}), quoting {complaint.reference}",
            },
            notify=("customer",),
        )
        return draft.commit(self.store)

    def _written_channels(self, compiled: CompiledWorkflow) -> frozenset[str]:
        policy = compiled.definition.escalation
        configured = policy.written_channels if policy is not None else ()
        return written_channels(configured or None, self.registry.channels)

    def _next_level(self, complaint: Complaint, compiled: CompiledWorkflow) -> EscalationLevel:
        policy = compiled.definition.escalation
        if policy is None:
            raise EscalationError(
                f"workflow {compiled.name!r} has no escalation ladder; add an [escalation] "
                "table to it (see docs/escalation.md)"
            )
        ladder = policy.ladder_for(complaint.category, complaint.severity)
        return ladder.next_after(complaint.escalation_level)

    def _climb(
        self,
        draft: Draft,
        actor: Actor | None,
        reason: str,
        *,
        level: EscalationLevel | None = None,
        urgent: bool = False,
        requested_via: str | None = None,
    ) -> None:
        complaint = draft.complaint
        target_level = level or self._next_level(complaint, draft.compiled)
        target = self.registry.escalation_target(complaint, actor, target_level)
        data: dict[str, Any] = {
            "from_level": complaint.escalation_level,
            "to_level": target_level.number,
            "level_title": target_level.title,
            "owner_id": target.id,
            "owner_name": target.name,
            "guidelines": target_level.guidelines,
        }
        if requested_via is not None:
            # The customer asked: pattern detection counts these requests.
            data["requested_via"] = requested_via
        draft.record(
            "escalated",
            actor or SYSTEM,
            reason=reason,
            data=data,
            change={"escalation_level": target_level.number, "owner": target},
            notify=("owner",),
            urgent=urgent or complaint.severity is Severity.EMERGENCY,
        )

    def _deliver_urgent(self, draft: Draft) -> None:
        """Emergencies are not left waiting for the next dispatch run."""
        urgent = [message.key for message in draft.outbox if message.payload.get("urgent")]
        if urgent:
            self.dispatcher.dispatch_keys(draft.complaint.id, urgent)

    def extend_clock(
        self,
        complaint_id: str,
        clock: str,
        *,
        until: datetime,
        actor: Actor,
        reason: str,
        expected_version: int | None = None,
    ) -> Complaint:
        """Agree a later deadline for one clock; recorded, and the customer is told.

        Raises:
            ClockError: unknown or stopped clock, or ``until`` not later than the
                current deadline (an extension never shortens a deadline).
        """
        _check_actor(actor)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidArgumentError("an extension needs a reason the customer can be given")
        if not isinstance(until, datetime) or until.utcoffset() is None:
            raise InvalidArgumentError("until must be a timezone-aware datetime")
        complaint = self.get(complaint_id)
        if expected_version is not None and complaint.version != expected_version:
            raise ConcurrencyError(complaint.id, expected_version)
        state = complaint.clock(clock)
        compiled = self._workflow(complaint.workflow)
        if clock not in compiled.clocks.clocks:
            raise ClockError(
                f"workflow {compiled.name!r} has no clock {clock!r}; its clocks: "
                f"{', '.join(sorted(compiled.clocks.clocks)) or 'none'}"
            )
        if state is None or state.status is ClockStatus.STOPPED:
            raise ClockError(
                f"clock {clock!r} is not running on {complaint.reference}; "
                "only a running or paused clock can be extended"
            )
        if until <= state.deadline:
            raise ClockError(
                f"an extension must move the deadline of {clock!r} later than "
                f"{state.deadline.isoformat()}; {until.isoformat()} is not later"
            )
        draft = Draft(complaint, compiled, self.clock())
        draft.record(
            "clock_extended",
            actor,
            reason=reason.strip(),
            data={
                "clock": clock,
                "deadline": until.astimezone(UTC).isoformat(),
                "previous": state.deadline.isoformat(),
            },
            notify=("customer",),
        )
        return draft.commit(self.store)

    def recompute_clocks(self, complaint_id: str, *, actor: Actor) -> Complaint:
        """Recompute the complaint's clocks from its history with the current definition.

        Clock states are a fold over the event log, so after a workflow's clocks
        change (a new pack version, a corrected calendar) every pause, extension,
        warning and breach is replayed, not lost. Records a ``clocks_recomputed``
        event when anything changed; returns the complaint unchanged otherwise.
        """
        _check_actor(actor)
        complaint = self.get(complaint_id)
        compiled = self._workflow(complaint.workflow)
        clocks = compiled.clocks.replay(self.store.events(complaint.id))
        if clocks == complaint.clocks:
            return complaint
        draft = Draft(complaint, compiled, self.clock())
        draft.record(
            "clocks_recomputed",
            actor,
            reason="clocks replayed from the history with the current workflow definition",
            data={"clocks": [state.name for state in clocks]},
            change={"clocks": clocks, "due_at": compiled.clocks.due_at(clocks)},
        )
        return draft.commit(self.store)

    def grant_remedy(
        self,
        complaint_id: str,
        remedy: Remedy,
        *,
        actor: Actor,
        reason: str = "",
        expected_version: int | None = None,
    ) -> Complaint:
        """Grant a remedy (repair, replacement, refund…) within the actor's authority.

        Raises:
            AuthorityExceededError: the amount is above what the actor's rank may
                grant; the message names the level that may decide.
        """
        _check_actor(actor)
        if not isinstance(remedy, Remedy):
            raise InvalidArgumentError("grant_remedy() takes a Remedy(kind=..., amount=...)")
        complaint = self.get(complaint_id)
        if expected_version is not None and complaint.version != expected_version:
            raise ConcurrencyError(complaint.id, expected_version)
        compiled = self._workflow(complaint.workflow)
        policy = compiled.definition.escalation
        if policy is not None:
            check_authority(
                policy.ladder_for(complaint.category, complaint.severity), actor, remedy
            )
        granted = [*complaint.data.get("remedies", ()), remedy.as_data()]
        draft = Draft(complaint, compiled, self.clock())
        draft.record(
            "remedy_granted",
            actor,
            reason=reason,
            data=remedy.as_data(),
            change={"data": freeze_mapping({**complaint.data, "remedies": granted})},
            notify=("customer",),
        )
        return draft.commit(self.store)

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
        return run_sweep(self, now or self.clock(), batch=batch)

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
        roles = self.conduct.policy.decision_roles
        if actor.role not in roles:
            raise NotAuthorisedError(actor.id, actor.role, "record a final decision", roles)
        return final_rules.final_decision(self, complaint_id, actor, response)

    def review_queue(self, limit: int | None = None) -> list[tuple[ConductRecord, ReviewItem]]:
        """The filed and linked messages waiting to be read, with each customer's record.

        Read through the store's index of records with waiting items (the cost grows
        with the queue, not with the store).
        """
        return final_rules.review_queue(self, limit)

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
        return final_rules.resolve_review_item(self, customer_id, item_id, actor, outcome, note)

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
        return pattern_rules.conduct_patterns(
            self,
            now or self.clock(),
            window_days,
            many_complaints,
            repeats_after_final,
            escalation_requests,
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
        return privacy.erase_customer(self, customer_id, actor=actor, reason=reason)

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
        return privacy.purge_closed(self, older_than, now=now, batch=batch, dry_run=dry_run)

    # -- questions ----------------------------------------------------------

    def get(self, complaint_id: str) -> Complaint:
        """The latest version of a complaint, by id or by reference.

        Raises:
            ComplaintNotFoundError: no such complaint.
        """
        if not isinstance(complaint_id, str) or not complaint_id:
            raise InvalidArgumentError(f"a complaint id must be text, got {complaint_id!r}")
        try:
            return self.store.get(complaint_id)
        except ComplaintNotFoundError:
            if complaint_id.startswith(f"{self.reference_prefix}-"):
                return self.store.get_by_reference(complaint_id)
            raise

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
        if limit is not None and limit < 0:
            raise InvalidArgumentError("limit must be zero or more")
        return self.store.find(
            state=state,
            customer_id=customer_id,
            category=category,
            workflow=workflow,
            limit=limit,
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
        return self.dispatcher.dispatch(limit)

    def channels(self) -> list[Channel]:
        """The registered channels."""
        return list(self.registry.channels.values())

    def now(self) -> datetime:
        """The engine's current time."""
        return self.clock()


def _check_actor(actor: object, what: str = "actor") -> None:
    if not isinstance(actor, Actor):
        raise InvalidArgumentError(
            f"{what} must be an Actor(id=..., name=..., role=...), got {type(actor).__name__}"
        )


def _frozen_data(data: Mapping[str, Any]) -> FrozenData:
    try:
        return freeze_mapping(data)
    except TypeError as exc:
        raise InvalidArgumentError(
            f"data must be a mapping of JSON-like values (text, numbers, booleans, None, "
            f"lists, mappings with text keys): {exc}"
        ) from None


def _blank(value: object) -> bool:
    return value is None or value == "" or value == () or value == {}


__all__ = ["DEFAULT_STORE_URL", "Engine"]
