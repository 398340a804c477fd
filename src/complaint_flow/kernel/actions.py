"""The corrective action aggregate, and its unit of work on the kernel.

An action advances by plain field changes, like a conduct record; its messages go to
its owner (by email, else phone) through the same outbox as complaint messages. Every
change is a draft committed with the version that was read, retried from a fresh
read when another writer got there first, its after-commit effects run once: the
kernel's one loop (see :mod:`complaint_flow.kernel.unit_of_work`), for actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from complaint_flow.errors import ComplaintFlowError, ConcurrencyError, StoreError
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.actions import CorrectiveAction, action_id
from complaint_flow.model.channel_records import MessageLink
from complaint_flow.model.entities import Event, OutboxMessage
from complaint_flow.storage.contract import ActionCommit, Store
from complaint_flow.storage.hashing import Chain

Result = TypeVar("Result")

TOPIC_PREFIX = "actions"
"""Messages about corrective actions have topics ``actions.<what>`` (``actions.overdue``)."""


class ActionNotFoundError(ComplaintFlowError, LookupError):
    """No corrective action with that id is stored."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(
            f"no corrective action {key!r} in this store; check the id "
            "(`complaint-flow actions list` lists them)"
        )


class ActionAggregate:
    """A corrective action: field changes; messages to its owner."""

    __slots__ = ()

    def advance(
        self,
        subject: CorrectiveAction,
        event: Event,
        change: Mapping[str, Any],
        merge_data: bool,
    ) -> CorrectiveAction:
        return subject.evolve(
            version=event.seq, updated_at=event.at, audit_head=event.hash, **change
        )

    def notifications(
        self,
        subject: CorrectiveAction,
        recipients: tuple[str, ...],
        event: Event,
        topic: str,
        urgent: bool,
    ) -> tuple[OutboxMessage, ...]:
        """A message to the owner (the only recipient an action has) on their contact.

        An owner with neither email nor phone cannot be told: nothing is sent.
        """
        messages = []
        for recipient in recipients:
            if recipient != "owner":
                raise StoreError(
                    f"a corrective action can only notify its 'owner', not {recipient!r}"
                )
            owner = subject.owner
            if not owner.has_contact:
                continue
            channel = "email" if owner.email else "phone"
            payload: dict[str, Any] = {
                "name": owner.name,
                "title": subject.title,
                "status": subject.status.value,
                "due_at": subject.due_at.isoformat(),
            }
            if event.data:
                payload["details"] = event.data
            if urgent:
                payload["urgent"] = True
            messages.append(
                OutboxMessage.pending(
                    f"{subject.id}:{event.seq}:{recipient}",
                    subject.id,
                    event.seq,
                    f"{TOPIC_PREFIX}.{topic}",
                    recipient,
                    channel,
                    owner.email or owner.phone,
                    event.at,
                    MappingProxyType(payload),
                )
            )
        return tuple(messages)

    def write(
        self,
        store: Store,
        subject: CorrectiveAction,
        expected_version: int,
        events: Chain,
        outbox: tuple[OutboxMessage, ...],
        links: tuple[MessageLink, ...] = (),
    ) -> tuple[CorrectiveAction, tuple[Event, ...]]:
        if links:
            raise StoreError("message links belong to complaints, not to corrective actions")
        commit = ActionCommit(subject, expected_version, events, outbox)
        return store.action_commit(commit), commit.events

    def rewrite(
        self,
        store: Store,
        subject: CorrectiveAction,
        expected_version: int,
        events: Chain,
        replaced_events: tuple[Event, ...],
        replaced_messages: tuple[OutboxMessage, ...],
    ) -> tuple[CorrectiveAction, tuple[Event, ...]]:
        raise StoreError(
            "corrective actions hold no customer's personal data: nothing of them is erased"
        )


ACTION = ActionAggregate()
"""The action aggregate (it holds nothing, so one serves every draft)."""


def load_action(kernel: Kernel, key: str) -> CorrectiveAction:
    """The latest version of the action ``key`` (its id, with or without ``action:``).

    Raises:
        ActionNotFoundError: no such action.
    """
    found = kernel.store.action_get(action_id(key))
    if found is None:
        raise ActionNotFoundError(key)
    return found


def change_action(
    kernel: Kernel,
    key: str,
    build: Callable[[Draft[CorrectiveAction]], Result],
    *,
    expected_version: int | None = None,
    retries: int = RETRIES,
) -> tuple[CorrectiveAction, Result]:
    """Change one action in a unit of work; return the stored version and ``build``'s result.

    As :meth:`Kernel.change <complaint_flow.kernel.unit_of_work.Kernel.change>`:
    ``build`` checks and drafts on the latest version (it raises to refuse, and may
    record nothing); a lost race is built again from a fresh read, up to ``retries``
    times, unless ``expected_version`` is given (then it is refused with
    ``ConcurrencyError``).

    Raises:
        ActionNotFoundError: no such action.
        ConcurrencyError: the action moved on (past ``expected_version``, or on every
            attempt).
    """
    attempts = 1 if expected_version is not None else retries + 1
    for attempt in range(attempts):
        action = load_action(kernel, key)
        if expected_version is not None and action.version != expected_version:
            raise ConcurrencyError(action.id, expected_version)
        draft = Draft(action, kernel.clock(), ACTION)
        result = build(draft)
        if not draft.events:
            return action, result
        try:
            stored = draft.commit(kernel.store)
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
            continue
        kernel.finish(draft, stored)
        return stored, result
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "ACTION",
    "TOPIC_PREFIX",
    "ActionAggregate",
    "ActionNotFoundError",
    "change_action",
    "load_action",
]
