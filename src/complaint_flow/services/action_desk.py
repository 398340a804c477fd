"""The quality desk: root causes and corrective actions for one engine, with its settings.

:class:`ActionDesk` binds the services of :mod:`.root_causes`,
:mod:`.corrective_actions` and :mod:`.action_effects` to one kernel and to the host's
choices made once: its root cause taxonomy, its measure of exposure, the test that
compares rates and its thresholds, the default check period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from complaint_flow.arguments import instance, number, optional_text, text
from complaint_flow.definitions.root_causes import RootCauseTaxonomy
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.unit_of_work import HasKernel, Kernel, as_kernel
from complaint_flow.model.actions import ActionKind, ActionStatus, CorrectiveAction
from complaint_flow.model.entities import SYSTEM, Actor, Complaint, Event, OutboxMessage
from complaint_flow.services import action_effects, corrective_actions, root_causes
from complaint_flow.services.action_effects import DueChecksReport, EffectTest, Exposure
from complaint_flow.services.audit import AuditProblem
from complaint_flow.services.corrective_actions import DEFAULT_CHECK_AFTER, OverdueReport


class ActionDesk:
    """Root causes and corrective actions for the complaints of one engine.

    Args:
        engine: the engine (or its kernel).
        taxonomy: the host's root cause taxonomy, for every complaint (default: each
            complaint's workflow's ``[root_causes]``, else complaint_flow's default).
        exposure: the host's measure of exposure for effectiveness checks (e.g.
            orders per week), see :data:`~.action_effects.Exposure`; default: weeks.
        exposure_unit: what ``exposure`` counts, in words.
        effect_test: the test comparing the rates before and after (default: the
            analysis module's ``assess_effect``).
        confidence: the level of the rate ratio's interval.
        min_reduction: the smallest fall of the rate that matters.
        check_after: the check period of actions opened without one.
    """

    def __init__(
        self,
        engine: HasKernel | Kernel,
        *,
        taxonomy: RootCauseTaxonomy | None = None,
        exposure: Exposure | None = None,
        exposure_unit: str = "weeks",
        effect_test: EffectTest | None = None,
        confidence: float = 0.95,
        min_reduction: float = 0.25,
        check_after: timedelta = DEFAULT_CHECK_AFTER,
    ) -> None:
        self.kernel = as_kernel(engine)
        self.taxonomy = (
            None
            if taxonomy is None
            else instance("taxonomy", taxonomy, RootCauseTaxonomy, "RootCauseTaxonomy(...)")
        )
        if exposure is not None and not callable(exposure):
            raise InvalidArgumentError(
                f"exposure must be a function (categories, start, end) -> number, got {exposure!r}"
            )
        if effect_test is not None and not callable(effect_test):
            raise InvalidArgumentError(f"effect_test must be a function, got {effect_test!r}")
        self.exposure = exposure
        self.exposure_unit = text("exposure_unit", exposure_unit)
        self.effect_test = effect_test
        self.confidence = number("confidence", confidence, minimum=0.5, maximum=0.999)
        self.min_reduction = number("min_reduction", min_reduction, minimum=0.0, maximum=0.99)
        self.check_after = check_after

    # -- root causes ----------------------------------------------------------------

    def causes(
        self, complaint_id: str | None = None, *, workflow: str | None = None
    ) -> RootCauseTaxonomy:
        """The taxonomy a complaint (or the complaints of ``workflow``) is classified in.

        The desk's ``taxonomy`` if it has one, else the workflow's ``[root_causes]``,
        else complaint_flow's default.
        """
        chosen = optional_text("complaint_id", complaint_id, strip=False)
        if chosen is not None:
            complaint = self.kernel.complaint(chosen)
            return root_causes.taxonomy_for(self.kernel, complaint, self.taxonomy)
        return root_causes.workflow_taxonomy(self.kernel, workflow, self.taxonomy)

    def classify(
        self, complaint_id: str, cause: str, *, actor: Actor, reason: str = ""
    ) -> Complaint:
        """Record the complaint's root cause (see :func:`~.root_causes.classify_root_cause`)."""
        return root_causes.classify_root_cause(
            self.kernel, complaint_id, cause, actor, reason, taxonomy=self.taxonomy
        )

    def root_cause_history(self, complaint_id: str) -> list[Event]:
        """The complaint's root cause classifications, oldest first."""
        return root_causes.root_cause_history(self.kernel, complaint_id)

    # -- corrective actions: reading --------------------------------------------------

    def get(self, action_id: str) -> CorrectiveAction:
        """The latest version of the action (its id, with or without ``action:``)."""
        return corrective_actions.get_action(self.kernel, action_id)

    def history(self, action_id: str) -> list[Event]:
        """The action's events in order."""
        return corrective_actions.action_history(self.kernel, action_id)

    def find(
        self,
        *,
        statuses: Iterable[ActionStatus | str] | None = None,
        owner_id: str | None = None,
        limit: int | None = None,
    ) -> list[CorrectiveAction]:
        """Actions in one of ``statuses`` (any if None), of one owner if given, by due time."""
        return corrective_actions.find_actions(
            self.kernel, statuses=statuses, owner_id=owner_id, limit=limit
        )

    def overdue(
        self, now: datetime | None = None, *, limit: int | None = None
    ) -> list[CorrectiveAction]:
        """Unfinished actions whose due time has passed, earliest first."""
        return corrective_actions.overdue_actions(self.kernel, now, limit=limit)

    def due(self, before: datetime, *, limit: int | None = None) -> list[CorrectiveAction]:
        """Unfinished actions due at or before ``before``, earliest first."""
        return corrective_actions.due_actions(self.kernel, before, limit=limit)

    def checks_due(
        self, now: datetime | None = None, *, limit: int | None = None
    ) -> list[CorrectiveAction]:
        """Done actions whose effectiveness check is due."""
        return corrective_actions.checks_due(self.kernel, now, limit=limit)

    def messages(self, action_id: str) -> list[OutboxMessage]:
        """The action's messages (to its owner), oldest first, with their delivery status."""
        return self.kernel.store.outbox(self.get(action_id).id)

    def verify(self, action_id: str) -> list[AuditProblem]:
        """Every break in the action's audit trail (empty: intact)."""
        return corrective_actions.verify_action(self.kernel, action_id)

    # -- corrective actions: steps ------------------------------------------------------

    def open(
        self,
        *,
        kind: ActionKind | str,
        title: str,
        owner: Actor,
        due_at: datetime,
        actor: Actor,
        description: str = "",
        complaints: Iterable[str] = (),
        categories: Iterable[str] | None = None,
        check_after: timedelta | None = None,
    ) -> CorrectiveAction:
        """Open a corrective action (see :func:`~.corrective_actions.open_action`)."""
        return corrective_actions.open_action(
            self.kernel,
            kind=kind,
            title=title,
            owner=owner,
            due_at=due_at,
            actor=actor,
            description=description,
            complaints=complaints,
            categories=categories,
            check_after=self.check_after if check_after is None else check_after,
        )

    def assign(
        self,
        action_id: str,
        *,
        actor: Actor,
        owner: Actor | None = None,
        due_at: datetime | None = None,
        reason: str = "",
    ) -> CorrectiveAction:
        """A new owner and/or due time (see :func:`~.corrective_actions.assign_action`)."""
        return corrective_actions.assign_action(
            self.kernel, action_id, actor=actor, owner=owner, due_at=due_at, reason=reason
        )

    def link(
        self,
        action_id: str,
        *,
        actor: Actor,
        complaints: Iterable[str] = (),
        categories: Iterable[str] = (),
        reason: str = "",
    ) -> CorrectiveAction:
        """Link complaints and categories to the action."""
        return corrective_actions.link_action(
            self.kernel,
            action_id,
            actor=actor,
            complaints=complaints,
            categories=categories,
            reason=reason,
        )

    def unlink(
        self,
        action_id: str,
        *,
        actor: Actor,
        complaints: Iterable[str] = (),
        categories: Iterable[str] = (),
        reason: str,
    ) -> CorrectiveAction:
        """Unlink complaints and categories from the action, with a reason."""
        return corrective_actions.unlink_action(
            self.kernel,
            action_id,
            actor=actor,
            complaints=complaints,
            categories=categories,
            reason=reason,
        )

    def start(self, action_id: str, *, actor: Actor, note: str = "") -> CorrectiveAction:
        """The work started (``open`` → ``in_progress``)."""
        return corrective_actions.start_action(self.kernel, action_id, actor=actor, note=note)

    def complete(self, action_id: str, *, actor: Actor, note: str = "") -> CorrectiveAction:
        """The work is done (→ ``done``); its check is due ``check_days`` later."""
        return corrective_actions.complete_action(self.kernel, action_id, actor=actor, note=note)

    def check(
        self, action_id: str, *, actor: Actor = SYSTEM, now: datetime | None = None
    ) -> CorrectiveAction:
        """Measure a done action's effect now (see :func:`~.action_effects.check_effectiveness`)."""
        return action_effects.check_effectiveness(
            self.kernel,
            action_id,
            actor=actor,
            now=now,
            exposure=self.exposure,
            exposure_unit=self.exposure_unit,
            effect_test=self.effect_test,
            confidence=self.confidence,
            min_reduction=self.min_reduction,
        )

    def check_due(self, now: datetime | None = None, *, batch: int = 100) -> DueChecksReport:
        """Check every action whose check period has ended (see
        :func:`~.action_effects.run_due_checks`)."""
        return action_effects.run_due_checks(
            self.kernel,
            now,
            exposure=self.exposure,
            exposure_unit=self.exposure_unit,
            effect_test=self.effect_test,
            confidence=self.confidence,
            min_reduction=self.min_reduction,
            batch=batch,
        )

    def confirm(self, action_id: str, *, actor: Actor, note: str = "") -> CorrectiveAction:
        """A person confirms the verdict (``checked`` → ``confirmed``)."""
        return corrective_actions.confirm_action(self.kernel, action_id, actor=actor, note=note)

    def reopen(
        self, action_id: str, *, actor: Actor, reason: str, due_at: datetime | None = None
    ) -> CorrectiveAction:
        """A person rejects the verdict; work resumes (``checked`` → ``in_progress``)."""
        return corrective_actions.reopen_action(
            self.kernel, action_id, actor=actor, reason=reason, due_at=due_at
        )

    def extend_check(
        self, action_id: str, *, actor: Actor, extra: timedelta, reason: str
    ) -> CorrectiveAction:
        """A person asks for a longer check (``checked`` → ``done``)."""
        return corrective_actions.extend_check(
            self.kernel, action_id, actor=actor, extra=extra, reason=reason
        )

    def warn_overdue(self, now: datetime | None = None, *, batch: int = 500) -> OverdueReport:
        """Tell each overdue action's owner, once per due time (what a sweep does)."""
        return corrective_actions.warn_overdue(
            self.kernel, self.kernel.clock() if now is None else now, batch=batch
        )
