"""What a complaint's history says for reports, read by the same rules in every store.

Reports and regulatory returns need, per complaint, a handful of instants and
facts: when it was received, first answered and resolved, whether it was
reopened, how far it climbed the escalation ladder, what remedies were granted,
how its deadline clocks ended. A store of the :class:`~complaint_flow.storage.contract.ReportStore`
part hands them out as :class:`ComplaintMilestones`, in batches; the rules that
turn a complaint's events into them are here, once, as :func:`fold_history`
(the SQL stores feed it the columns their queries extract, the memory store its
events), so every store answers the same.

What counts as an answer and as a resolution depends on the workflow and is given
by the caller as :class:`MilestoneRules` (the reporting service derives them from
the workflows' definitions):

- a **response** is a transition fired with one of the workflow's
  ``response_triggers`` (by default, the triggers whose transition tells the
  customer): the first one is the acknowledgement;
- the complaint is **resolved** while it is in one of the ``resolution_states``
  (by default the terminal states and every state whose every way out leads to a
  terminal one); ``resolved_at`` is when it entered them, the last time;
- leaving the resolution states again is a **reopening**.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.entities import Complaint, Event
from complaint_flow.model.immutable import freeze_mapping

DATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""What a data key read for reports looks like (it is written into SQL paths)."""

DEFAULT_REPEAT_WITHIN = timedelta(days=365)
"""How far back an earlier complaint of the same customer makes a complaint a repeat."""

REPORT_EVENT_KINDS = ("transition", "escalated", "remedy_granted")
"""The event kinds the milestones are folded from (with the complaint's latest version)."""


def _names(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):
        raise InvalidArgumentError(f"expected a list of names, got the single text {value!r}")
    return frozenset(value)


@attrs.frozen
class WorkflowRules:
    """What a response and a resolution are in one workflow.

    Args:
        response_triggers: the triggers whose transition answers the customer.
        resolution_states: the states in which the complaint counts as resolved.
    """

    response_triggers: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    resolution_states: frozenset[str] = attrs.field(default=frozenset(), converter=_names)


def _workflow_rules(value: Mapping[str, WorkflowRules]) -> Mapping[str, WorkflowRules]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, WorkflowRules) for k, v in value.items()
    ):
        raise InvalidArgumentError(
            f"workflows must map workflow names to WorkflowRules, got {value!r}"
        )
    return MappingProxyType(dict(value))


def _data_keys(value: Iterable[str]) -> tuple[str, ...]:
    keys = tuple(value) if not isinstance(value, str) else (value,)
    for key in keys:
        if not isinstance(key, str) or not DATA_KEY.match(key):
            raise InvalidArgumentError(
                f"data_keys must be names of letters, digits and underscores such as "
                f"'outcome', got {key!r}"
            )
    return keys


def _repeat_within(value: timedelta) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise InvalidArgumentError(
            f"repeat_within must be a timedelta longer than zero, got {value!r}; pass "
            "e.g. timedelta(days=365)"
        )
    return value


@attrs.frozen
class MilestoneRules:
    """The rules a store reads milestones with.

    Args:
        workflows: :class:`WorkflowRules` by workflow name; a complaint of a
            workflow not named here has no responses and is never resolved.
        data_keys: keys of the complaint's ``data`` to hand back with its
            milestones (``"outcome"``, ``"response_category"``).
        repeat_within: an earlier complaint of the same customer received at most
            this long before makes a complaint a repeat.
    """

    workflows: Mapping[str, WorkflowRules] = attrs.field(factory=dict, converter=_workflow_rules)
    data_keys: tuple[str, ...] = attrs.field(default=(), converter=_data_keys)
    repeat_within: timedelta = attrs.field(default=DEFAULT_REPEAT_WITHIN, converter=_repeat_within)

    def of(self, workflow: str) -> WorkflowRules:
        """The rules of ``workflow`` (none: no responses, never resolved)."""
        return self.workflows.get(workflow, _NO_RULES)


_NO_RULES = WorkflowRules()


@attrs.frozen
class ClockRecord:
    """How one deadline clock of a complaint stands (from its latest version)."""

    name: str
    status: str
    started_at: datetime
    deadline: datetime
    stopped_at: datetime | None = None
    breached: bool = False
    extensions: int = 0


@attrs.frozen
class RemedyRecord:
    """A remedy granted on a complaint: its kind, amount (if any) and currency (if given)."""

    kind: str
    amount: Decimal | None
    currency: str | None
    at: datetime


@attrs.frozen
class ComplaintMilestones:
    """One complaint as reports see it.

    Blame-free: an informal complaint (``informal``) carries no owner, and nothing
    here says who recorded any complaint, so no figure can be attributed to the
    member of staff who wrote it down.

    Attributes:
        complaint_id, workflow, category, channel, severity, customer_id, state,
            department: as on the complaint's latest version.
        owner_id: its owner's id; None if it has none or is informal.
        informal: recorded by staff as heard informally.
        received_at: when the customer complained.
        responded_at: its first response (see :class:`WorkflowRules`).
        responses: the responses up to its first resolution (all, if never resolved).
        first_resolved_at: when it first entered a resolution state.
        resolved_at: when it entered the resolution states it is in now; None
            while it is not resolved.
        reopens: how many times it left the resolution states.
        states: every state it has been in.
        escalation_level: its rung on the escalation ladder (they only climb).
        escalations: how many times it climbed.
        remedies: the remedies granted, in order.
        clocks: its deadline clocks.
        data: the values of the rules' ``data_keys`` it holds.
        repeat_customer: the same customer complained before, within the rules'
            ``repeat_within``; ``repeat_category``: about the same category.
    """

    complaint_id: str
    workflow: str
    category: str
    channel: str
    severity: str
    customer_id: str
    state: str
    department: str | None
    owner_id: str | None
    informal: bool
    received_at: datetime
    responded_at: datetime | None
    responses: int
    first_resolved_at: datetime | None
    resolved_at: datetime | None
    reopens: int
    states: frozenset[str]
    escalation_level: int
    escalations: int
    remedies: tuple[RemedyRecord, ...]
    clocks: tuple[ClockRecord, ...]
    data: Mapping[str, Any]
    repeat_customer: bool
    repeat_category: bool

    @property
    def cursor(self) -> tuple[datetime, str]:
        """Where the next batch starts: pass it as ``after`` to ``report_milestones``."""
        return (self.received_at, self.complaint_id)


@attrs.frozen
class VolumeCount:
    """How many complaints were received in one period with one combination of values.

    Attributes:
        period: the index of the period (``boundaries[period]`` to ``boundaries[period + 1]``).
        values: the values of the columns counted by, in the order asked.
        count: how many complaints.
    """

    period: int
    values: tuple[str, ...]
    count: int


VOLUME_COLUMNS = ("category", "channel", "state", "workflow", "severity")
"""The columns complaints can be counted by in :meth:`ReportStore.report_volumes`."""


class ComplaintFacts(NamedTuple):
    """What a milestone needs from a complaint's latest version."""

    complaint_id: str
    workflow: str
    category: str
    channel: str
    severity: str
    customer_id: str
    state: str
    department: str | None
    owner_id: str | None
    informal: bool
    received_at: datetime
    escalation_level: int
    clocks: tuple[ClockRecord, ...]
    data: Mapping[str, Any]


class EventFacts(NamedTuple):
    """What a milestone needs from one event (kinds :data:`REPORT_EVENT_KINDS`)."""

    kind: str
    at: datetime
    trigger: str | None = None
    source: str | None = None
    dest: str | None = None
    to_level: int | None = None
    remedy_kind: str | None = None
    amount: str | None = None
    currency: str | None = None


def fold_history(
    facts: ComplaintFacts,
    events: Iterable[EventFacts],
    rules: MilestoneRules,
    repeat_customer: bool,
    repeat_category: bool,
) -> ComplaintMilestones:
    """A complaint's milestones from its latest version and its events in order.

    Args:
        facts: the complaint's latest version, as far as reports read it.
        events: its events of the kinds :data:`REPORT_EVENT_KINDS`, in order (others
            are skipped).
        rules: what a response and a resolution are.
        repeat_customer, repeat_category: whether it repeats an earlier complaint.
    """
    workflow = rules.of(facts.workflow)
    answers = workflow.response_triggers
    resolving = workflow.resolution_states
    responded_at = first_resolved_at = resolved_since = None
    responses = reopens = escalations = 0
    level = facts.escalation_level
    states = {facts.state}
    remedies: list[RemedyRecord] = []
    for event in events:
        kind = event.kind
        if kind == "transition":
            if event.trigger in answers:
                if responded_at is None:
                    responded_at = event.at
                if first_resolved_at is None:
                    responses += 1
            if event.source is not None:
                states.add(event.source)
            if event.dest is not None:
                states.add(event.dest)
            if event.dest in resolving:
                if resolved_since is None:
                    resolved_since = event.at
                if first_resolved_at is None:
                    first_resolved_at = event.at
            else:
                if event.source in resolving:
                    reopens += 1
                resolved_since = None
        elif kind == "escalated":
            escalations += 1
            if event.to_level is not None and event.to_level > level:
                level = event.to_level
        elif kind == "remedy_granted" and event.remedy_kind is not None:
            remedies.append(
                RemedyRecord(event.remedy_kind, _amount(event.amount), event.currency, event.at)
            )
    return ComplaintMilestones(
        complaint_id=facts.complaint_id,
        workflow=facts.workflow,
        category=facts.category,
        channel=facts.channel,
        severity=facts.severity,
        customer_id=facts.customer_id,
        state=facts.state,
        department=facts.department,
        owner_id=None if facts.informal else facts.owner_id,
        informal=facts.informal,
        received_at=facts.received_at,
        responded_at=responded_at,
        responses=responses,
        first_resolved_at=first_resolved_at,
        resolved_at=resolved_since if facts.state in resolving else None,
        reopens=reopens,
        states=frozenset(states),
        escalation_level=level,
        escalations=escalations,
        remedies=tuple(remedies),
        clocks=facts.clocks,
        data=freeze_mapping(facts.data),
        repeat_customer=repeat_customer,
        repeat_category=repeat_category,
    )


def complaint_facts(complaint: Complaint, data_keys: Iterable[str]) -> ComplaintFacts:
    """What :func:`fold_history` reads from a complaint's latest version (a Python store's way)."""
    data = complaint.data
    return ComplaintFacts(
        complaint.id,
        complaint.workflow,
        complaint.category,
        complaint.channel,
        str(complaint.severity),
        complaint.customer.id,
        complaint.state,
        complaint.department,
        None if complaint.owner is None else complaint.owner.id,
        complaint.informal,
        complaint.received_at,
        complaint.escalation_level,
        tuple(
            ClockRecord(
                name=clock.name,
                status=str(clock.status),
                started_at=clock.started_at,
                deadline=clock.deadline,
                stopped_at=clock.stopped_at,
                breached=clock.breached,
                extensions=clock.extensions,
            )
            for clock in complaint.clocks
        ),
        {key: data[key] for key in data_keys if key in data},
    )


def event_facts(event: Event) -> EventFacts:
    """What :func:`fold_history` reads from an event (a Python store's way)."""
    data = event.data
    level = data.get("to_level")
    amount = data.get("amount")
    remedy = data.get("kind")
    currency = data.get("currency")
    return EventFacts(
        event.kind,
        event.at,
        event.trigger,
        event.source,
        event.dest,
        level if isinstance(level, int) and not isinstance(level, bool) else None,
        remedy if isinstance(remedy, str) else None,
        None if amount is None else str(amount),
        currency if isinstance(currency, str) else None,
    )


def _amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        amount = Decimal(str(text))
    except InvalidOperation:
        return None  # erased or malformed: the remedy counts, its amount does not
    return amount if amount.is_finite() else None


def clock_records(clocks: Iterable[Mapping[str, Any]]) -> tuple[ClockRecord, ...]:
    """Clock records from the clocks of a complaint as its stored JSON holds them."""
    return tuple(
        ClockRecord(
            name=str(clock["name"]),
            status=str(clock["status"]),
            started_at=_instant(clock["started_at"]),
            deadline=_instant(clock["deadline"]),
            stopped_at=None if clock.get("stopped_at") is None else _instant(clock["stopped_at"]),
            breached=bool(clock.get("breached", False)),
            extensions=int(clock.get("extensions", 0)),
        )
        for clock in clocks
    )


def _instant(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def check_window(
    received_after: datetime | None, received_before: datetime | None, method: str
) -> None:
    """Refuse a naive bound or an empty window."""
    for name, value in (("received_after", received_after), ("received_before", received_before)):
        if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
            raise InvalidArgumentError(
                f"{method}({name}=) needs a timezone-aware datetime or None, got {value!r}"
            )
    if (
        received_after is not None
        and received_before is not None
        and (received_before < received_after)
    ):
        raise InvalidArgumentError(
            f"{method}(): received_before ({received_before.isoformat()}) is earlier than "
            f"received_after ({received_after.isoformat()}); swap them"
        )


def check_boundaries(
    boundaries: Iterable[datetime], by: Iterable[str]
) -> tuple[tuple[datetime, ...], tuple[str, ...]]:
    """The periods' boundaries (at least two, aware, increasing) and the columns to count by."""
    if isinstance(boundaries, str | bytes) or not isinstance(boundaries, Iterable):
        raise InvalidArgumentError(f"boundaries must be a list of datetimes, got {boundaries!r}")
    bounds = tuple(boundaries)
    if len(bounds) < 2:
        raise InvalidArgumentError(
            f"report_volumes needs at least two boundaries (one period), got {len(bounds)}"
        )
    for index, bound in enumerate(bounds):
        if not isinstance(bound, datetime) or bound.utcoffset() is None:
            raise InvalidArgumentError(
                f"boundaries[{index}] must be a timezone-aware datetime, got {bound!r}"
            )
        if index and bound <= bounds[index - 1]:
            raise InvalidArgumentError(
                f"boundaries must increase; boundaries[{index}] ({bound.isoformat()}) is not "
                f"after boundaries[{index - 1}]"
            )
    columns = (by,) if isinstance(by, str) else tuple(by)
    for column in columns:
        if column not in VOLUME_COLUMNS:
            raise InvalidArgumentError(
                f"report_volumes can count by {', '.join(VOLUME_COLUMNS)}; got {column!r}"
            )
    if len(set(columns)) != len(columns):
        raise InvalidArgumentError(f"report_volumes(by=) names a column twice: {columns!r}")
    return bounds, columns


def check_page(after: object, limit: object) -> tuple[tuple[datetime, str] | None, int]:
    """The keyset cursor (None: from the start) and the batch size."""
    if after is not None and not (
        isinstance(after, tuple)
        and len(after) == 2
        and isinstance(after[0], datetime)
        and after[0].utcoffset() is not None
        and isinstance(after[1], str)
    ):
        raise InvalidArgumentError(
            f"after must be None or the cursor of the last milestones read "
            f"((received_at, complaint_id)), got {after!r}"
        )
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgumentError(f"limit must be a whole number of at least 1, got {limit!r}")
    return after, limit


__all__ = [
    "DATA_KEY",
    "DEFAULT_REPEAT_WITHIN",
    "REPORT_EVENT_KINDS",
    "VOLUME_COLUMNS",
    "ClockRecord",
    "ComplaintFacts",
    "ComplaintMilestones",
    "EventFacts",
    "MilestoneRules",
    "RemedyRecord",
    "VolumeCount",
    "WorkflowRules",
    "check_boundaries",
    "check_page",
    "check_window",
    "clock_records",
    "complaint_facts",
    "event_facts",
    "fold_history",
]
