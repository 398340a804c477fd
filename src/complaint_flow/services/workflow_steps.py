"""Transitions: fire a workflow trigger, checked and performed by the shared machine.

The service hands the machine a :class:`~complaint_flow.fsm.workflow_machine.Step`
and answers its requests (:class:`Firing`): the registered guard of a name, the
next escalation level, plugin ``before`` callbacks, and — once the machine has
moved the step to its new state — the ``transition`` event recorded on the draft
with its notifications, the climb of an escalation, and the after-commit effects
(observers, plugin ``after`` and ``on_enter`` callbacks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from complaint_flow.definitions.escalation import EscalationLevel
from complaint_flow.definitions.workflow import TransitionDefinition
from complaint_flow.errors import ComplaintFlowError, InvalidArgumentError, PluginError
from complaint_flow.fsm.workflow_machine import CompiledWorkflow, Guard, Step
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.entities import Actor, Complaint, Event
from complaint_flow.model.immutable import EMPTY, FrozenData, freeze_mapping
from complaint_flow.services import escalation, satisfaction


def frozen_data(data: Mapping[str, Any] | None) -> FrozenData:
    """``data`` given with a step, frozen; a clear error for what JSON cannot hold."""
    if not data:
        return EMPTY
    if type(data) is not dict and not isinstance(data, Mapping):  # the ABC check costs more
        raise InvalidArgumentError(
            "data must be a mapping of JSON-like values such as {'facts': '...'}, got "
            f"{type(data).__name__}"
        )
    try:
        return freeze_mapping(data)
    except TypeError as exc:
        raise InvalidArgumentError(
            f"data must be a mapping of JSON-like values (text, numbers, booleans, None, "
            f"lists, mappings with text keys): {exc}"
        ) from None


class Firing(Step):
    """One trigger being fired on a draft: the machine's model, answering what it asks."""

    __slots__ = ("compiled", "draft", "kernel", "level", "reason", "requested_via", "target")

    def __init__(
        self,
        kernel: Kernel,
        draft: Draft[Complaint],
        compiled: CompiledWorkflow,
        actor: Actor,
        data: FrozenData,
        reason: str,
        requested_via: str | None,
    ) -> None:
        super().__init__(draft.subject, actor, data)
        self.kernel = kernel
        self.draft = draft
        self.compiled = compiled
        self.reason = reason
        self.requested_via = requested_via
        self.level: EscalationLevel | None = None
        self.target: Actor | None = None

    def guard(self, name: str) -> Guard:
        return self.kernel.registry.guards[name]

    def prepare_escalation(self) -> None:
        # Every refusal of an escalation comes before the move: a final decision, the
        # top of the ladder, the org chart plugin's answer.
        escalation.refuse_after_final_decision(self.complaint)
        self.level = escalation.next_level(self.complaint, self.compiled)
        self.target = escalation.target_at(self.kernel, self.complaint, self.actor, self.level)

    def before(self, transition: TransitionDefinition, dest: str) -> None:
        complaint = self.complaint
        proposed = Event.build(
            complaint.id,
            complaint.version + 1,
            "transition",
            self.draft.now,
            self.actor,
            transition.trigger,
            self.state,
            dest,
            self.reason,
            self.data,
        )
        for name in transition.before:
            callback = self.kernel.registry.callback(name)
            try:
                callback(complaint, proposed)
            except ComplaintFlowError:
                raise
            except Exception as exc:
                raise PluginError(
                    f"the {name!r} callback refused {transition.trigger!r} on "
                    f"{complaint.reference} with {type(exc).__name__}: {exc}"
                ) from exc

    def performed(self, transition: TransitionDefinition, source: str) -> None:
        draft = self.draft
        event = draft.record(
            "transition",
            self.actor,
            trigger=transition.trigger,
            source=source,
            dest=self.state,
            reason=self.reason,
            data=self.data,
            merge_data=True,
            notify=transition.notify,
            topic=transition.trigger,
        )
        if self.level is not None and self.target is not None:
            escalation.climb(
                draft,
                self.actor,
                self.reason or "escalated by " + self.actor.name,
                self.level,
                self.target,
                requested_via=self.requested_via,
            )
        settings = self.compiled.definition.satisfaction
        if settings is not None:
            satisfaction.after_step(self.kernel, draft, settings, event)
        registry = self.kernel.registry
        if registry.observes_transitions:
            draft.after_commit(lambda stored: registry.transition(stored, draft.stored(event)))
        later = (*transition.after, *self.compiled.on_enter[self.state])
        if later:
            draft.after_commit(
                lambda stored: registry.run_callbacks(later, stored, draft.stored(event))
            )


def fire_on(
    kernel: Kernel,
    draft: Draft[Complaint],
    trigger: str,
    actor: Actor,
    reason: str,
    data: FrozenData,
    *,
    requested_via: str | None = None,
) -> None:
    """Fire ``trigger`` on the draft's complaint as ``actor``; the machine checks and moves.

    Raises:
        UnknownTriggerError, TriggerNotAllowedError, PermissionDeniedError,
        MissingFieldError, GuardRefusedError, EscalationError: refused; the draft
            records nothing.
    """
    compiled = kernel.workflow(draft.subject.workflow)
    compiled.fire(trigger, Firing(kernel, draft, compiled, actor, data, reason, requested_via))


def triggers(kernel: Kernel, complaint: Complaint, actor: Actor) -> list[str]:
    """The triggers ``actor`` may fire on the complaint now (role-wise), for menus."""
    compiled = kernel.workflow(complaint.workflow)
    return [
        t.trigger
        for t in compiled.available(complaint.state)
        if not t.roles or actor.role in t.roles
    ]
