"""The unit of work every service is built on.

One loop, written once: **load** the subject's latest version, **check** and
**draft** the change (the service's ``build`` function, which raises the precise
error when a check refuses), **commit** it with the version that was read
(optimistic concurrency), **retry** from a fresh read when another writer got
there first, then run the draft's **after-commit effects** exactly once —
observers, plugin callbacks, urgent delivery. A refusal writes nothing, and an
effect never runs for a change that was not stored.

A service needs nothing else from the engine: the :class:`Kernel` carries the
store, the plugins' registry, the clock, the compiled workflows and the reference
prefix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Protocol, TypeVar

from complaint_flow.arguments import optional_whole_number, whole_number
from complaint_flow.errors import (
    ComplaintFlowError,
    ComplaintNotFoundError,
    ConcurrencyError,
    InvalidArgumentError,
    WorkflowDefinitionError,
)
from complaint_flow.fsm.workflow_machine import CompiledWorkflow, compile_workflow
from complaint_flow.kernel.aggregates import CONDUCT, ComplaintAggregate
from complaint_flow.kernel.draft import Draft, Subject
from complaint_flow.kernel.reply_router import ReplyRouter
from complaint_flow.model import channels
from complaint_flow.model.clock import Clock
from complaint_flow.model.conduct import ConductRecord, ConductStatus
from complaint_flow.model.entities import Complaint, Customer
from complaint_flow.plugins.manager import Registry
from complaint_flow.storage.contract import Store

logger = logging.getLogger("complaint_flow.kernel")

Result = TypeVar("Result")

RETRIES = 3
"""Fresh attempts after a lost race, for changes whose meaning does not depend on the
version the caller saw (a note, an assignment, a sweep's warning, a filed message).

Every check is made afresh on each attempt. ``fire`` and decisions taken on a version a
person read default to no retry: a lost race is reported rather than decided again.
"""

DeliverNow = Callable[[str, list[str]], object]
"""Delivers the named outbox messages of one subject at once (urgent messages)."""


class HasKernel(Protocol):
    """Anything that carries a kernel (the engine does)."""

    @property
    def kernel(self) -> Kernel: ...


def as_kernel(owner: HasKernel | Kernel) -> Kernel:
    """The kernel itself, or the one an engine carries.

    Raises:
        InvalidArgumentError: ``owner`` is neither.
    """
    if isinstance(owner, Kernel):
        return owner
    kernel = getattr(owner, "kernel", None)
    if not isinstance(kernel, Kernel):
        raise InvalidArgumentError(
            f"expected an Engine (or its kernel), got {type(owner).__name__}"
        )
    return kernel


class Kernel:
    """What every service works with: store, plugins, clock, workflows, one unit of work.

    Args:
        store: where complaints, conduct records and messages are kept.
        registry: what the plugins provide (channels, guards, callbacks, observers…).
        clock: where the time is read.
        reference_prefix: the prefix of new complaints' references (``CF``).
        deliver_now: delivers urgent messages right after their commit (the outbox
            delivery service); without it they wait for the next dispatch run.
        written_channels: the channels that count as writing, for replies to a
            customer restricted to writing (default: the registered written channels).
    """

    def __init__(
        self,
        store: Store,
        registry: Registry,
        clock: Clock,
        reference_prefix: str,
        deliver_now: DeliverNow | None = None,
        written_channels: Collection[str] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.reference_prefix = reference_prefix
        self.deliver_now = deliver_now
        self.reply_router = ReplyRouter(
            registry.channels,
            channels.written_channels(written_channels, registry.channels),
            store.conduct_get,
        )
        """Where replies to customers go (``docs/channels.md``, reply routing)."""
        self._compiled: dict[str, CompiledWorkflow] = {}
        self._aggregates: dict[str, ComplaintAggregate] = {}
        self._get_cached: Callable[[str], Complaint | None] | None = getattr(
            store, "get_cached", None
        )

    # -- what services read ---------------------------------------------------------

    def workflow(self, name: str) -> CompiledWorkflow:
        """The compiled, validated workflow ``name`` (compiled once per kernel).

        Raises:
            UnknownWorkflowError: no workflow of that name is registered.
            WorkflowDefinitionError: it names guards or callbacks no plugin registered,
                or is otherwise invalid.
        """
        compiled = self._compiled.get(name)
        if compiled is None:
            definition = self.registry.workflow(name)
            problems = definition.problems(self.registry.guards, self.registry.callbacks)
            if problems:
                raise WorkflowDefinitionError(definition.name, problems)
            compiled = compile_workflow(definition)
            self._compiled[name] = compiled
        return compiled

    def complaint(self, complaint_id: str) -> Complaint:
        """The latest version of a complaint, by id or by reference.

        Raises:
            InvalidArgumentError: the id is not text.
            ComplaintNotFoundError: no such complaint.
        """
        if not isinstance(complaint_id, str) or not complaint_id:
            raise InvalidArgumentError(
                f"a complaint id must be text (an id or a reference such as "
                f"{self.reference_prefix}-2026-000001), got {complaint_id!r}"
            )
        try:
            return self.store.get(complaint_id)
        except ComplaintNotFoundError:
            if complaint_id.startswith(f"{self.reference_prefix}-"):
                return self.store.get_by_reference(complaint_id)
            raise

    def complaint_aggregate(self, complaint: Complaint) -> ComplaintAggregate:
        """How ``complaint`` advances: through its own workflow (one per workflow)."""
        aggregate = self._aggregates.get(complaint.workflow)
        if aggregate is None:
            aggregate = ComplaintAggregate(
                self.workflow(complaint.workflow), self.reference_prefix, self.reply_router
            )
            self._aggregates[complaint.workflow] = aggregate
        return aggregate

    # -- the unit of work -----------------------------------------------------------------

    def change(
        self,
        complaint_id: str,
        build: Callable[[Draft[Complaint]], Result],
        *,
        expected_version: int | None = None,
        retries: int = 0,
        start: Complaint | None = None,
        lost_race: Callable[[], object] | None = None,
    ) -> tuple[Complaint, Result]:
        """Change one complaint in a unit of work; return the stored version and ``build``'s result.

        Args:
            complaint_id: the complaint's id or reference.
            build: checks and drafts the change on a draft of the latest version;
                it raises to refuse (nothing is written) and may record nothing (the
                complaint is returned unchanged).
            expected_version: refuse with ``ConcurrencyError`` unless the complaint
                is still at this version (no retry then).
            retries: on a lost race, read the latest version and build again, up to
                this many more times; every check is made afresh.
            start: a version already read (a sweep's due list, the store's cache of
                what it wrote), tried first to save a read; a refusal or a lost race
                on it is decided again on a fresh read, not counted as a retry.
            lost_race: called each time a commit loses a race (for reports).
        """
        expected = optional_whole_number("expected_version", expected_version, minimum=0)
        extra = whole_number("retries", retries, minimum=0, maximum=100)
        if expected is not None and extra:
            raise InvalidArgumentError(
                "give expected_version (refuse if it moved on) or retries (re-read and "
                "try again), not both"
            )
        if start is not None and expected is None:
            try:
                draft, stored, result = self._commit_draft(start, build, None)
            except ConcurrencyError:
                if lost_race is not None:
                    lost_race()
            except ComplaintFlowError:
                pass  # decided again on a fresh read below
            else:
                # Effects run outside the attempt: an effect's failure never makes a
                # stored change be decided (and written) a second time.
                self.finish(draft, stored)
                return stored, result
        for attempt in range(extra + 1):
            complaint = self.complaint(complaint_id)
            try:
                draft, stored, result = self._commit_draft(complaint, build, expected)
            except ConcurrencyError:
                if lost_race is not None:
                    lost_race()
                if expected is not None or attempt == extra:
                    raise
                continue
            self.finish(draft, stored)
            return stored, result
        raise AssertionError("unreachable")  # pragma: no cover

    def cached(self, complaint_id: str) -> Complaint | None:
        """The store's cached copy of a version it wrote, if it keeps one (may be stale)."""
        return self._get_cached(complaint_id) if self._get_cached is not None else None

    def _commit_draft(
        self,
        complaint: Complaint,
        build: Callable[[Draft[Complaint]], Result],
        expected_version: int | None,
    ) -> tuple[Draft[Complaint], Complaint, Result]:
        """Check, draft and commit one attempt; effects are left to the caller."""
        if expected_version is not None and complaint.version != expected_version:
            raise ConcurrencyError(complaint.id, expected_version)
        draft = Draft(complaint, self.clock(), self.complaint_aggregate(complaint))
        result = build(draft)
        stored = draft.commit(self.store) if draft.events else complaint
        return draft, stored, result

    def change_conduct(
        self,
        customer: Customer,
        build: Callable[[Draft[ConductRecord]], Result],
        *,
        retries: int = RETRIES,
    ) -> tuple[ConductRecord, Result]:
        """Change a customer's conduct record in a unit of work (created when missing).

        ``build`` works as for :meth:`change`; it sees ``draft.base.version == 0``
        when the customer has no record yet.
        """
        for attempt in range(retries + 1):
            now = self.clock()
            record = self.store.conduct_get(customer.id) or new_record(customer, now)
            draft = Draft(record, now, CONDUCT)
            result = build(draft)
            if not draft.events:
                return record, result
            try:
                stored = draft.commit(self.store)
            except ConcurrencyError:
                if attempt == retries:
                    raise
                continue
            self.finish(draft, stored)
            return stored, result
        raise AssertionError("unreachable")  # pragma: no cover

    def commit(self, draft: Draft[Subject]) -> Subject:
        """Commit a draft and run its after-commit effects once (see :meth:`finish`)."""
        stored = draft.commit(self.store)
        self.finish(draft, stored)
        return stored

    def finish(self, draft: Draft[Subject], stored: Subject) -> None:
        """Run a committed draft's effects once: each on its own, then urgent delivery.

        An effect that fails is logged: the change is stored and stays stored.
        """
        for effect in draft.effects:
            try:
                effect(stored)
            except Exception:
                logger.exception("an after-commit effect on %s failed", stored.id)
        if self.deliver_now is not None and draft.outbox:
            urgent = draft.urgent_keys
            if urgent:
                try:
                    self.deliver_now(stored.id, urgent)
                except Exception:
                    # The messages wait in the outbox; a dispatcher sends them after
                    # their hold.
                    logger.exception("urgent delivery of %s failed", stored.id)


def new_record(customer: Customer, now: datetime) -> ConductRecord:
    """A record for a customer who has none yet (version 0: not stored)."""
    return ConductRecord(
        customer_id=customer.id,
        customer=customer,
        status=ConductStatus.NORMAL,
        version=0,
        updated_at=now,
    )
