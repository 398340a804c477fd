"""Corrective actions: opened from complaints, owned, done, then checked for effect (M10).

Each step is a version-checked change of the action on the kernel (one event, the
new version, the owner's message if any, all or nothing): opening, assigning (a new
owner or due date), linking and unlinking complaints and categories, starting,
completing, and, once its effect was checked (:mod:`.action_effects`), confirming the
verdict, reopening the work or extending the check, which a person does. The steps
that move an action's status are fired on the shared machine of
:mod:`complaint_flow.fsm.action_machine`, which refuses a step that does not apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.arguments import (
    aware_datetime,
    duration,
    instance,
    items,
    names,
    optional_aware_datetime,
    optional_whole_number,
    text,
    whole_number,
)
from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    InvalidArgumentError,
)
from complaint_flow.fsm.action_machine import ActionStatusError, ActionTrigger, action_machine
from complaint_flow.kernel.actions import ACTION, change_action, load_action
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import Kernel
from complaint_flow.model.actions import (
    ActionKind,
    ActionStatus,
    CorrectiveAction,
    action_id,
)
from complaint_flow.model.entities import SYSTEM, Actor, Complaint, Event
from complaint_flow.services.audit import AuditProblem, verify_events

DEFAULT_CHECK_AFTER = timedelta(weeks=12)
"""How long after an action is done its effect is checked, unless told otherwise."""

MAX_CHECK_AFTER = timedelta(days=3 * 366)
"""The longest check period: a longer one would compare rates years apart."""

OPENED = "opened"
ASSIGNED = "assigned"
LINKED = "linked"
UNLINKED = "unlinked"
STARTED = "started"
COMPLETED = "completed"
CHECKED = "effectiveness_checked"
CHECK_EXTENDED = "check_extended"
CONFIRMED = "confirmed"
REOPENED = "reopened"
OVERDUE = "overdue_warning"

_ACTOR = "Actor(id=..., name=..., role=..., email=...)"


@attrs.frozen
class OverdueReport:
    """What one pass over overdue actions did (part of a sweep)."""

    warned: int = 0
    conflicts: int = 0


# -- reading ------------------------------------------------------------------------------


def get_action(kernel: Kernel, key: str) -> CorrectiveAction:
    """The latest version of the action (its id, with or without ``action:``).

    Raises:
        ActionNotFoundError: no such action.
    """
    return load_action(kernel, text("action_id", key, strip=False))


def action_history(kernel: Kernel, key: str) -> list[Event]:
    """The action's events in order.

    Raises:
        ActionNotFoundError: no such action.
    """
    return kernel.store.action_events(get_action(kernel, key).id)


def find_actions(
    kernel: Kernel,
    *,
    statuses: Iterable[ActionStatus | str] | None = None,
    owner_id: str | None = None,
    limit: int | None = None,
) -> list[CorrectiveAction]:
    """Actions in one of ``statuses`` (any if None), of one owner if given, by due time."""
    wanted = None if statuses is None else _statuses(statuses)
    return kernel.store.action_find(
        statuses=wanted,
        owner_id=None if owner_id is None else text("owner_id", owner_id, strip=False),
        limit=optional_whole_number("limit", limit, minimum=0),
    )


def overdue_actions(
    kernel: Kernel, now: datetime | None = None, *, limit: int | None = None
) -> list[CorrectiveAction]:
    """Unfinished actions (open or in progress) whose due time has passed, earliest first."""
    at = kernel.clock() if now is None else aware_datetime("now", now)
    return kernel.store.action_find(
        statuses=(ActionStatus.OPEN, ActionStatus.IN_PROGRESS),
        due_before=at,
        limit=optional_whole_number("limit", limit, minimum=0),
    )


def due_actions(
    kernel: Kernel, before: datetime, *, limit: int | None = None
) -> list[CorrectiveAction]:
    """Unfinished actions due at or before ``before`` (overdue ones included), earliest first."""
    return kernel.store.action_find(
        statuses=(ActionStatus.OPEN, ActionStatus.IN_PROGRESS),
        due_before=aware_datetime("before", before),
        limit=optional_whole_number("limit", limit, minimum=0),
    )


def checks_due(
    kernel: Kernel, now: datetime | None = None, *, limit: int | None = None
) -> list[CorrectiveAction]:
    """Done actions whose effectiveness check is due at ``now``, by due time."""
    at = kernel.clock() if now is None else aware_datetime("now", now)
    return kernel.store.action_find(
        statuses=(ActionStatus.DONE,),
        check_due_before=at,
        limit=optional_whole_number("limit", limit, minimum=0),
    )


def verify_action(kernel: Kernel, key: str) -> list[AuditProblem]:
    """Every break in the action's hash-chained audit trail (empty: intact)."""
    action = get_action(kernel, key)
    return verify_events(
        action.id,
        kernel.store.action_events(action.id),
        head=action.audit_head,
        version=action.version,
    )


# -- opening and changing -------------------------------------------------------------------


def open_action(
    kernel: Kernel,
    *,
    kind: ActionKind | str,
    title: str,
    owner: Actor,
    due_at: datetime,
    actor: Actor,
    description: str = "",
    complaints: Iterable[str] = (),
    categories: Iterable[str] | None = None,
    check_after: timedelta = DEFAULT_CHECK_AFTER,
) -> CorrectiveAction:
    """Open a corrective action; its owner is told.

    Args:
        kind: one of the five kinds (:class:`ActionKind` or its name).
        title: what is to be done, in a line.
        owner: who puts it in place; needs an email or a phone.
        due_at: when the work must be done (later than now).
        actor: who opens it.
        description: more detail.
        complaints: ids or references of the complaints that led to it.
        categories: the complaint categories whose rate it should lower; default:
            the linked complaints' categories.
        check_after: how long after it is done its effect is checked, in whole days
            (default 12 weeks); the rate after is compared with the rate over as long
            a period before.

    Raises:
        InvalidArgumentError: a malformed argument, an owner without contact, a due
            time not in the future, or a check period that is not whole days.
        ComplaintNotFoundError: a linked complaint does not exist.
    """
    chosen_kind = ActionKind.parse(kind)
    title = text("title", title)
    description = text("description", description, blank=True)
    owner = _owner(owner)
    actor = instance("actor", actor, Actor, _ACTOR)
    due = aware_datetime("due_at", due_at)
    days = _check_days(check_after)
    linked = _complaints(kernel, complaints)
    listed = (
        tuple(dict.fromkeys(c.category for c in linked))
        if categories is None
        else _categories(categories)
    )
    now = kernel.clock()
    if due <= now:
        raise InvalidArgumentError(
            f"due_at must be later than now ({now.isoformat()}), got {due.isoformat()}; "
            "give the time the work must be done by"
        )
    while True:
        action = CorrectiveAction(
            id=action_id(uuid.uuid4().hex[:12]),
            kind=chosen_kind,
            title=title,
            owner=owner,
            due_at=due,
            status=ActionStatus.OPEN,
            version=0,
            opened_at=now,
            updated_at=now,
            opened_by=actor.id,
            description=description,
            complaints=tuple(c.id for c in linked),
            categories=listed,
            check_days=days,
        )
        draft = Draft(action, now, ACTION)
        draft.record(
            OPENED,
            actor,
            dest=ActionStatus.OPEN.value,
            reason=title,
            data={
                "kind": chosen_kind.value,
                "title": title,
                "owner": owner.id,
                "due_at": due.isoformat(),
                "complaints": [c.id for c in linked],
                "categories": list(listed),
                "check_days": days,
            },
            notify=("owner",),
            topic="assigned",
        )
        try:
            return kernel.commit(draft)
        except ConcurrencyError:
            continue  # another action drew the same random id: draw again


def assign_action(
    kernel: Kernel,
    key: str,
    *,
    actor: Actor,
    owner: Actor | None = None,
    due_at: datetime | None = None,
    reason: str = "",
) -> CorrectiveAction:
    """Give the action a new owner and/or a new due time; a new owner is told.

    Raises:
        InvalidArgumentError: neither ``owner`` nor ``due_at`` given, an owner without
            contact, or a due time not in the future.
        ActionStatusError: the action is confirmed (closed).
        ActionNotFoundError: no such action.
    """
    actor = instance("actor", actor, Actor, _ACTOR)
    new_owner = None if owner is None else _owner(owner)
    due = optional_aware_datetime("due_at", due_at)
    reason = text("reason", reason, blank=True)
    if new_owner is None and due is None:
        raise InvalidArgumentError("give a new owner, a new due_at, or both")

    def build(draft: Draft[CorrectiveAction]) -> None:
        action = draft.base
        _not_closed(action, "assign")
        if due is not None and due <= draft.now:
            raise InvalidArgumentError(
                f"due_at must be later than now ({draft.now.isoformat()}), got {due.isoformat()}"
            )
        change: dict[str, Any] = {}
        data: dict[str, Any] = {}
        if new_owner is not None and new_owner != action.owner:
            change["owner"] = new_owner
            data.update(owner=new_owner.id, previous_owner=action.owner.id)
        if due is not None and due != action.due_at:
            change.update(due_at=due, overdue_warned=False)
            data.update(due_at=due.isoformat(), previous_due_at=action.due_at.isoformat())
        if not change:
            return
        draft.record(
            ASSIGNED,
            actor,
            reason=reason,
            data=data,
            change=change,
            notify=("owner",) if "owner" in change else (),
            topic="assigned",
        )

    stored, _ = change_action(kernel, _key(key), build)
    return stored


def link_action(
    kernel: Kernel,
    key: str,
    *,
    actor: Actor,
    complaints: Iterable[str] = (),
    categories: Iterable[str] = (),
    reason: str = "",
) -> CorrectiveAction:
    """Link more complaints (ids or references) and categories to the action.

    Already linked ones are left as they are; nothing new, nothing recorded.

    Raises:
        ActionStatusError: the action is confirmed (closed).
        ComplaintNotFoundError: a complaint does not exist.
    """
    actor = instance("actor", actor, Actor, _ACTOR)
    linked = [c.id for c in _complaints(kernel, complaints)]
    listed = _categories(categories)
    reason = text("reason", reason, blank=True)

    def build(draft: Draft[CorrectiveAction]) -> None:
        action = draft.base
        _not_closed(action, "link")
        new_complaints = [c for c in dict.fromkeys(linked) if c not in action.complaints]
        new_categories = [c for c in listed if c not in action.categories]
        if not new_complaints and not new_categories:
            return
        draft.record(
            LINKED,
            actor,
            reason=reason,
            data={"complaints": new_complaints, "categories": new_categories},
            change={
                "complaints": action.complaints + tuple(new_complaints),
                "categories": action.categories + tuple(new_categories),
            },
        )

    stored, _ = change_action(kernel, _key(key), build)
    return stored


def unlink_action(
    kernel: Kernel,
    key: str,
    *,
    actor: Actor,
    complaints: Iterable[str] = (),
    categories: Iterable[str] = (),
    reason: str,
) -> CorrectiveAction:
    """Unlink complaints (ids or references, as linked) and categories, with a reason.

    Ones not linked are ignored; nothing to unlink, nothing recorded.

    Raises:
        InvalidArgumentError: no reason.
        ActionStatusError: the action is confirmed (closed).
    """
    actor = instance("actor", actor, Actor, _ACTOR)
    given = [
        text(f"complaints[{i}]", c, strip=False)
        for i, c in enumerate(items("complaints", complaints))
    ]
    listed = _categories(categories)
    reason = text("reason", reason)
    # A reference stands for its complaint's id; a purged complaint is unlinked by id.
    ids = set()
    for value in given:
        try:
            ids.add(kernel.complaint(value).id)
        except ComplaintNotFoundError:
            ids.add(value)

    def build(draft: Draft[CorrectiveAction]) -> None:
        action = draft.base
        _not_closed(action, "unlink")
        gone_complaints = [c for c in action.complaints if c in ids]
        gone_categories = [c for c in action.categories if c in listed]
        if not gone_complaints and not gone_categories:
            return
        draft.record(
            UNLINKED,
            actor,
            reason=reason,
            data={"complaints": gone_complaints, "categories": gone_categories},
            change={
                "complaints": tuple(c for c in action.complaints if c not in ids),
                "categories": tuple(c for c in action.categories if c not in listed),
            },
        )

    stored, _ = change_action(kernel, _key(key), build)
    return stored


# -- steps of the status machine ---------------------------------------------------------------


def start_action(kernel: Kernel, key: str, *, actor: Actor, note: str = "") -> CorrectiveAction:
    """Record that the work started (``open`` → ``in_progress``).

    Raises:
        ActionStatusError: the action is not ``open``.
    """
    actor = instance("actor", actor, Actor, _ACTOR)
    note = text("note", note, blank=True)

    def build(draft: Draft[CorrectiveAction]) -> None:
        _step(draft, ActionTrigger.START, STARTED, actor, note, {}, {"started_at": draft.now})

    stored, _ = change_action(kernel, _key(key), build)
    return stored


def complete_action(kernel: Kernel, key: str, *, actor: Actor, note: str = "") -> CorrectiveAction:
    """Record that the work is done (→ ``done``); its effect is checked ``check_days`` later.

    Raises:
        ActionStatusError: the action is not ``open`` or ``in_progress``.
    """
    actor = instance("actor", actor, Actor, _ACTOR)
    note = text("note", note, blank=True)

    def build(draft: Draft[CorrectiveAction]) -> None:
        check_due = draft.now + timedelta(days=draft.base.check_days)
        _step(
            draft,
            ActionTrigger.COMPLETE,
            COMPLETED,
            actor,
            note,
            {"check_due_at": check_due.isoformat()},
            {"done_at": draft.now, "check_due_at": check_due},
        )

    stored, _ = change_action(kernel, _key(key), build)
    return stored


def confirm_action(kernel: Kernel, key: str, *, actor: Actor, note: str = "") -> CorrectiveAction:
    """A person confirms the check's verdict (``checked`` → ``confirmed``); the action closes.

    Raises:
        ActionStatusError: the action was not checked.
        InvalidArgumentError: the actor is the system (a verdict is confirmed by a person).
    """
    actor = _person(actor, "confirm")
    note = text("note", note, blank=True)

    def build(draft: Draft[CorrectiveAction]) -> None:
        verdict = draft.base.verdict
        data = {"verdict": None if verdict is None else verdict.value}
        _step(
            draft, ActionTrigger.CONFIRM, CONFIRMED, actor, note, data, {"confirmed_by": actor.id}
        )

    stored, _ = change_action(kernel, _key(key), build, retries=0)
    return stored


def reopen_action(
    kernel: Kernel,
    key: str,
    *,
    actor: Actor,
    reason: str,
    due_at: datetime | None = None,
) -> CorrectiveAction:
    """A person rejects the verdict or the measure: work resumes (``checked`` → ``in_progress``).

    The check's figures stay in the history; the action is done, and checked, again
    later. ``due_at`` sets a new due time (the old one has usually passed).

    Raises:
        InvalidArgumentError: no reason, a due time not in the future, or the actor is
            the system.
        ActionStatusError: the action was not checked.
    """
    actor = _person(actor, "reopen")
    reason = text("reason", reason)
    due = optional_aware_datetime("due_at", due_at)

    def build(draft: Draft[CorrectiveAction]) -> None:
        change: dict[str, Any] = {
            "done_at": None,
            "check_due_at": None,
            "check": None,
            "overdue_warned": False,
        }
        data: dict[str, Any] = {}
        if due is not None:
            if due <= draft.now:
                raise InvalidArgumentError(
                    f"due_at must be later than now ({draft.now.isoformat()}), "
                    f"got {due.isoformat()}"
                )
            change["due_at"] = due
            data["due_at"] = due.isoformat()
        verdict = draft.base.verdict
        data["verdict"] = None if verdict is None else verdict.value
        _step(draft, ActionTrigger.REOPEN, REOPENED, actor, reason, data, change)

    stored, _ = change_action(kernel, _key(key), build, retries=0)
    return stored


def extend_check(
    kernel: Kernel, key: str, *, actor: Actor, extra: timedelta, reason: str
) -> CorrectiveAction:
    """A person asks for a longer check (``checked`` → ``done``): the periods compared
    grow by ``extra`` (whole days) and the check is due again at the new end. The
    figures of the check are kept in the history, not on the action.

    Raises:
        InvalidArgumentError: no reason, ``extra`` is not whole days, or the actor is
            the system.
        ActionStatusError: the action was not checked.
    """
    actor = _person(actor, "extend the check of")
    reason = text("reason", reason)
    more = _check_days(extra, argument="extra")

    def build(draft: Draft[CorrectiveAction]) -> None:
        action = draft.base
        days = action.check_days + more
        if timedelta(days=days) > MAX_CHECK_AFTER:
            raise InvalidArgumentError(
                f"the check period would be {days} days, longer than the most "
                f"({MAX_CHECK_AFTER.days} days); extend it by less"
            )
        done_at = action.done_at or draft.now
        check_due = done_at + timedelta(days=days)
        _step(
            draft,
            ActionTrigger.EXTEND_CHECK,
            CHECK_EXTENDED,
            actor,
            reason,
            {"check_days": days, "check_due_at": check_due.isoformat()},
            {"check_days": days, "check_due_at": check_due, "check": None},
        )

    stored, _ = change_action(kernel, _key(key), build, retries=0)
    return stored


# -- the sweep's part ---------------------------------------------------------------------


def warn_overdue(kernel: Kernel, now: datetime, *, batch: int = 500) -> OverdueReport:
    """Tell the owner of each overdue action, once per due time (an ``overdue_warning`` event).

    Found through the store's index of due times; safe with several sweepers at once
    (each warning is a version-checked commit, and a warned action is not warned again
    until its due time changes).
    """
    now = aware_datetime("now", now)
    batch = whole_number("batch", batch, minimum=1, maximum=100_000)
    warned = conflicts = 0
    seen: set[str] = set()
    while True:
        due = [a for a in overdue_actions(kernel, now, limit=batch + len(seen)) if a.id not in seen]
        if not due:
            break
        for action in due[:batch]:
            seen.add(action.id)
            if action.overdue_warned:
                continue

            def build(draft: Draft[CorrectiveAction]) -> bool:
                current = draft.base
                if current.overdue_warned or not current.overdue_at(now):
                    return False
                draft.record(
                    OVERDUE,
                    SYSTEM,
                    reason=f"due {current.due_at.isoformat()}, not done",
                    data={"due_at": current.due_at.isoformat()},
                    change={"overdue_warned": True},
                    notify=("owner",),
                    topic="overdue",
                )
                return True

            try:
                _, recorded = change_action(kernel, action.id, build)
            except ConcurrencyError:
                conflicts += 1
                continue
            warned += recorded
    return OverdueReport(warned=warned, conflicts=conflicts)


# -- helpers ----------------------------------------------------------------------------


def _step(
    draft: Draft[CorrectiveAction],
    trigger: ActionTrigger,
    kind: str,
    actor: Actor,
    reason: str,
    data: dict[str, Any],
    change: dict[str, Any],
) -> None:
    """Fire ``trigger`` on the shared machine; record the move it made as ``kind``."""

    def performed(source: ActionStatus, dest: ActionStatus) -> None:
        draft.record(
            kind,
            actor,
            trigger=trigger.value,
            source=source.value,
            dest=dest.value,
            reason=reason,
            data=data,
            change={**change, "status": dest},
        )

    action_machine().fire(draft.base.status, trigger, performed)


def _not_closed(action: CorrectiveAction, what: str) -> None:
    if action.status.closed:
        raise ActionStatusError(
            f"cannot {what} corrective action {action.id!r}: it is confirmed (closed); "
            "open a new action for further work"
        )


def _person(actor: object, what: str) -> Actor:
    checked = instance("actor", actor, Actor, _ACTOR)
    if checked.role == SYSTEM.role:
        raise InvalidArgumentError(
            f"only a person may {what} a corrective action, not {checked.id!r} (the system): "
            "the check suggests a verdict, a person decides"
        )
    return checked


def _owner(owner: object) -> Actor:
    checked = instance("owner", owner, Actor, _ACTOR)
    if not checked.has_contact:
        raise InvalidArgumentError(
            f"the owner {checked.id!r} ({checked.name}) has no email or phone; a corrective "
            "action needs a named owner who can be reached: give Actor(..., email=...)"
        )
    return checked


def _check_days(value: object, *, argument: str = "check_after") -> int:
    period = duration(argument, value)
    if period % timedelta(days=1) or period > MAX_CHECK_AFTER:
        raise InvalidArgumentError(
            f"{argument} must be whole days, at most {MAX_CHECK_AFTER.days}, got {period}; "
            "pass e.g. timedelta(weeks=12)"
        )
    return period.days


def _complaints(kernel: Kernel, values: Iterable[str]) -> list[Complaint]:
    listed = items("complaints", values)
    found = []
    for index, value in enumerate(listed):
        reference = text(f"complaints[{index}]", value, strip=False)
        found.append(kernel.complaint(reference))
    return found


def _categories(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names("categories", values)))


def _statuses(values: Iterable[ActionStatus | str]) -> tuple[ActionStatus, ...]:
    listed = items("statuses", values)
    choices = ", ".join(repr(status.value) for status in ActionStatus)
    found = []
    for index, value in enumerate(listed):
        try:
            found.append(ActionStatus(str(value)))
        except ValueError:
            raise InvalidArgumentError(
                f"statuses[{index}] must be one of {choices}, got {value!r}"
            ) from None
    return tuple(found)


def _key(key: object) -> str:
    return text("action_id", key, strip=False)


__all__ = [
    "ASSIGNED",
    "CHECKED",
    "CHECK_EXTENDED",
    "COMPLETED",
    "CONFIRMED",
    "DEFAULT_CHECK_AFTER",
    "LINKED",
    "MAX_CHECK_AFTER",
    "OPENED",
    "OVERDUE",
    "REOPENED",
    "STARTED",
    "UNLINKED",
    "OverdueReport",
    "action_history",
    "assign_action",
    "checks_due",
    "complete_action",
    "confirm_action",
    "due_actions",
    "extend_check",
    "find_actions",
    "get_action",
    "link_action",
    "open_action",
    "overdue_actions",
    "reopen_action",
    "start_action",
    "unlink_action",
    "verify_action",
    "warn_overdue",
]
