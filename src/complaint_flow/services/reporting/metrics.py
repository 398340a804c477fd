"""Timeliness and outcome figures of the complaints received in a window, from the event log.

:func:`compute_metrics` reads the milestones of every complaint received in
``[since, until)`` from the store's report part, batch after batch, and counts
them into groups: all of them, each period, each category, each channel and each
team. What is counted (``docs/reports.md`` says it in words):

- **time to acknowledge**: receipt to the first response; **time to resolve**:
  receipt to the resolution that stands (complaints resolved now). Median and 90th
  percentile in calendar hours and in working hours of the workflow's calendar
  (that of its first clock), to within 1% (:mod:`.quantiles`);
- **SLA compliance** per deadline clock: met (stopped by its deadline, never
  breached), missed (breached, stopped late, or running past it) or pending;
- **first-contact resolution**: resolved, not withdrawn, never reopened, with at
  most one response up to the first resolution;
- **reopen rate**: reopened among the complaints ever resolved;
- **repeat rates**: complaints whose customer complained before within
  ``repeat_within``, about anything and about the same category;
- **outcomes** of the resolved complaints, from ``data["outcome"]`` (``upheld``,
  ``partly_upheld``, ``not_upheld``), ``withdrawn`` for a withdrawn complaint;
- **redress**: the amounts of monetary remedies (refund, price reduction,
  goodwill payment), by currency; **escalation rate** per level reached.

Blame-free: an informal complaint is counted in its team's place under
:data:`INFORMAL_TEAM`, never under the team of anyone, least of all the member
of staff who recorded it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

import attrs

from complaint_flow.arguments import aware_datetime, instance, one_of, whole_number
from complaint_flow.definitions.calendars import BusinessCalendar
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.unit_of_work import HasKernel, Kernel, as_kernel
from complaint_flow.services.reporting.periods import PERIODS, Period, periods, time_zone
from complaint_flow.services.reporting.quantiles import DurationHistogram, bucket
from complaint_flow.services.reporting.reading import (
    BATCH,
    milestone_rules,
    report_store,
    stream_milestones,
)
from complaint_flow.services.reporting.working_time import WorkingTime
from complaint_flow.storage.milestones import DEFAULT_REPEAT_WITHIN, ComplaintMilestones

DIMENSIONS = ("all", "period", "category", "channel", "team")
"""What figures are broken down by, in the order reports show them."""

ALL = "all"
"""The group of every complaint (dimension ``all``)."""

INFORMAL_TEAM = "(informal, not attributed)"
"""The team an informal complaint counts under: nobody's."""

NO_TEAM = "(no team)"
"""The team of a complaint with no owner mapped to a team and no department."""

OUTCOMES = ("upheld", "partly_upheld", "not_upheld", "withdrawn", "not_recorded")
"""The outcomes resolved complaints are counted by."""

MONETARY_REMEDIES = frozenset({"refund", "price_reduction", "goodwill_payment"})
"""The remedies whose amount is redress paid (the others' amount is what they cost)."""

_OUTCOME_WORDS = {
    "upheld": "upheld",
    "partly_upheld": "partly_upheld",
    "partially_upheld": "partly_upheld",
    "not_upheld": "not_upheld",
    "withdrawn": "withdrawn",
}

Teams = Mapping[str, str] | Callable[[str], str | None]
"""Who is in which team: a mapping of owner ids to team names, or a function of an owner id."""


def outcome_of(milestones: ComplaintMilestones) -> str:
    """The outcome a complaint counts under (one of :data:`OUTCOMES`).

    ``data["outcome"]`` as recorded with a step (``upheld``, ``partly_upheld`` or
    ``partially_upheld``, ``not_upheld``; case, spaces and hyphens do not matter);
    otherwise ``withdrawn`` for a complaint in a state named ``withdrawn``, else
    ``not_recorded``.
    """
    recorded = milestones.data.get("outcome")
    if isinstance(recorded, str):
        word = "_".join(recorded.strip().lower().replace("-", " ").split())
        if word in _OUTCOME_WORDS:
            return _OUTCOME_WORDS[word]
    return "withdrawn" if milestones.state == "withdrawn" else "not_recorded"


@attrs.frozen
class ClockCompliance:
    """How the complaints of a group did against one deadline clock.

    Attributes:
        clock: ``workflow.clock``, e.g. ``fca.final_response``.
        met: stopped by the deadline and never breached.
        missed: breached, stopped after the deadline, or still running past it.
        pending: still running (or paused) before its deadline.
    """

    clock: str
    met: int
    missed: int
    pending: int

    @property
    def compliance(self) -> float | None:
        """``met / (met + missed)``, as a fraction; None when none is decided yet."""
        decided = self.met + self.missed
        return self.met / decided if decided else None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@attrs.frozen
class GroupMetrics:
    """The figures of one group of complaints (e.g. category ``billing``).

    Durations are in seconds; ``…_working_…`` ones in working seconds of the
    workflow's calendar (None where no complaint had one). Rates are fractions
    (None when their base is empty).
    """

    dimension: str
    group: str
    received: int
    acknowledged: int
    acknowledge_median: float | None
    acknowledge_p90: float | None
    acknowledge_working_median: float | None
    acknowledge_working_p90: float | None
    resolved: int
    resolve_median: float | None
    resolve_p90: float | None
    resolve_working_median: float | None
    resolve_working_p90: float | None
    first_contact_resolutions: int
    first_contact_base: int
    ever_resolved: int
    reopened: int
    repeat_customer: int
    repeat_category: int
    outcomes: Mapping[str, int]
    escalated: Mapping[int, int]
    remedies: int
    redress: Mapping[str, Decimal]
    clocks: tuple[ClockCompliance, ...]

    @property
    def first_contact_rate(self) -> float | None:
        """First-contact resolutions among resolved complaints that were not withdrawn."""
        return _rate(self.first_contact_resolutions, self.first_contact_base)

    @property
    def reopen_rate(self) -> float | None:
        """Reopened complaints among those ever resolved."""
        return _rate(self.reopened, self.ever_resolved)

    @property
    def repeat_customer_rate(self) -> float | None:
        """Complaints whose customer complained before, among those received."""
        return _rate(self.repeat_customer, self.received)

    @property
    def repeat_category_rate(self) -> float | None:
        """Complaints whose customer complained before about the same category."""
        return _rate(self.repeat_category, self.received)

    @property
    def upheld_rate(self) -> float | None:
        """Upheld (fully or partly) among resolved complaints with a recorded outcome."""
        upheld = self.outcomes["upheld"] + self.outcomes["partly_upheld"]
        return _rate(upheld, upheld + self.outcomes["not_upheld"])

    def escalation_rate(self, level: int) -> float | None:
        """Complaints that reached ``level`` (or above), among those received."""
        return _rate(self.escalated.get(level, 0), self.received)


@attrs.frozen
class Metrics:
    """Every group's figures for the complaints received in ``[since, until)``.

    Attributes:
        as_of: when they were read (the engine's clock): what was pending then.
        periods: the report's periods, in order.
        groups: every group of every dimension of :data:`DIMENSIONS`, in order.
    """

    since: datetime
    until: datetime
    as_of: datetime
    period: str
    time_zone: str
    periods: tuple[Period, ...]
    groups: tuple[GroupMetrics, ...]

    def by(self, dimension: str) -> tuple[GroupMetrics, ...]:
        """The groups of one dimension (``"category"``…), in order."""
        one_of("dimension", dimension, DIMENSIONS)
        return tuple(group for group in self.groups if group.dimension == dimension)

    def group(self, dimension: str, group: str) -> GroupMetrics:
        """One group's figures.

        Raises:
            InvalidArgumentError: no such group (its complaints would make one).
        """
        for found in self.by(dimension):
            if found.group == group:
                return found
        raise InvalidArgumentError(
            f"no {dimension} {group!r} among the complaints reported; the {dimension} "
            f"groups are {', '.join(repr(g.group) for g in self.by(dimension)) or 'none'}"
        )

    @property
    def overall(self) -> GroupMetrics:
        """The figures of every complaint of the window."""
        return self.by(ALL)[0]


class _Clock:
    __slots__ = ("met", "missed", "pending")

    def __init__(self) -> None:
        self.met = self.missed = self.pending = 0


class _Tally:
    """One group's running counts (mutable, private to one computation)."""

    __slots__ = (
        "acknowledge",
        "acknowledge_working",
        "clocks",
        "escalated",
        "ever_resolved",
        "first_contact",
        "first_contact_base",
        "outcomes",
        "received",
        "redress",
        "remedies",
        "reopened",
        "repeat_category",
        "repeat_customer",
        "resolve",
        "resolve_working",
    )

    def __init__(self) -> None:
        self.received = 0
        self.acknowledge = DurationHistogram()
        self.acknowledge_working = DurationHistogram()
        self.resolve = DurationHistogram()
        self.resolve_working = DurationHistogram()
        self.first_contact = 0
        self.first_contact_base = 0
        self.ever_resolved = 0
        self.reopened = 0
        self.repeat_customer = 0
        self.repeat_category = 0
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.escalated: dict[int, int] = {}
        self.remedies = 0
        self.redress: dict[str, Decimal] = {}
        self.clocks: dict[str, _Clock] = {}

    def figures(self, dimension: str, group: str) -> GroupMetrics:
        return GroupMetrics(
            dimension=dimension,
            group=group,
            received=self.received,
            acknowledged=self.acknowledge.count,
            acknowledge_median=self.acknowledge.quantile(0.5),
            acknowledge_p90=self.acknowledge.quantile(0.9),
            acknowledge_working_median=self.acknowledge_working.quantile(0.5),
            acknowledge_working_p90=self.acknowledge_working.quantile(0.9),
            resolved=self.resolve.count,
            resolve_median=self.resolve.quantile(0.5),
            resolve_p90=self.resolve.quantile(0.9),
            resolve_working_median=self.resolve_working.quantile(0.5),
            resolve_working_p90=self.resolve_working.quantile(0.9),
            first_contact_resolutions=self.first_contact,
            first_contact_base=self.first_contact_base,
            ever_resolved=self.ever_resolved,
            reopened=self.reopened,
            repeat_customer=self.repeat_customer,
            repeat_category=self.repeat_category,
            outcomes=MappingProxyType(dict(self.outcomes)),
            escalated=MappingProxyType(dict(sorted(self.escalated.items()))),
            remedies=self.remedies,
            redress=MappingProxyType(dict(sorted(self.redress.items()))),
            clocks=tuple(
                ClockCompliance(name, clock.met, clock.missed, clock.pending)
                for name, clock in sorted(self.clocks.items())
            ),
        )


class _Complaint(NamedTuple):
    """What one complaint adds to each of its groups, worked out once.

    Durations are (histogram bucket, seconds) (:func:`.quantiles.bucket`), the
    bucket found once for all the groups the complaint counts in.
    """

    acknowledge: tuple[int, float] | None
    acknowledge_working: tuple[int, float] | None
    resolve: tuple[int, float] | None
    resolve_working: tuple[int, float] | None
    outcome: str
    first_contact: int
    first_contact_base: int
    ever_resolved: int
    reopened: int
    repeat_customer: int
    repeat_category: int
    escalation_level: int
    remedies: int
    redress: list[tuple[str, Decimal]]
    clocks: list[tuple[str, bool | None]]

    def add_to(self, tally: _Tally) -> None:
        tally.received += 1
        if self.acknowledge is not None:
            tally.acknowledge.add_bucket(*self.acknowledge)
        if self.acknowledge_working is not None:
            tally.acknowledge_working.add_bucket(*self.acknowledge_working)
        if self.resolve is not None:
            tally.resolve.add_bucket(*self.resolve)
            tally.outcomes[self.outcome] += 1
        if self.resolve_working is not None:
            tally.resolve_working.add_bucket(*self.resolve_working)
        tally.first_contact += self.first_contact
        tally.first_contact_base += self.first_contact_base
        tally.ever_resolved += self.ever_resolved
        tally.reopened += self.reopened
        tally.repeat_customer += self.repeat_customer
        tally.repeat_category += self.repeat_category
        for level in range(2, self.escalation_level + 1):
            tally.escalated[level] = tally.escalated.get(level, 0) + 1
        tally.remedies += self.remedies
        for currency, amount in self.redress:
            tally.redress[currency] = tally.redress.get(currency, Decimal(0)) + amount
        for name, verdict in self.clocks:
            clock = tally.clocks.get(name)
            if clock is None:
                clock = tally.clocks[name] = _Clock()
            if verdict is True:
                clock.met += 1
            elif verdict is False:
                clock.missed += 1
            else:
                clock.pending += 1


def clock_verdict(
    stopped_at: datetime | None, deadline: datetime, breached: bool, as_of: datetime
) -> bool | None:
    """Whether a clock was met (True), missed (False), or is still pending (None)."""
    if breached:
        return False
    if stopped_at is not None:
        return stopped_at <= deadline
    return False if as_of > deadline else None


def _counted(seconds: float) -> tuple[int, float]:
    seconds = max(seconds, 0.0)
    return bucket(seconds), seconds


def _elapsed(start: datetime, end: datetime | None) -> tuple[int, float] | None:
    """The calendar time from ``start`` to ``end`` and its bucket (None: no end)."""
    return None if end is None else _counted((end - start).total_seconds())


def _working(
    working: WorkingTime | None, start: datetime, end: datetime | None
) -> tuple[int, float] | None:
    """The working time from ``start`` to ``end`` and its bucket."""
    if end is None or working is None:
        return None
    return _counted(working.between(start, end).total_seconds())


class _Workflows:
    """What the figures need from each workflow, looked up once per name."""

    def __init__(self, kernel: Kernel, calendar: BusinessCalendar | None) -> None:
        self._definitions = kernel.registry.workflows
        self._override = None if calendar is None else WorkingTime(calendar)
        self._working: dict[str, WorkingTime | None] = {}
        self._currencies: dict[tuple[str, str, str], str] = {}

    def working_time(self, workflow: str) -> WorkingTime | None:
        if self._override is not None:
            return self._override
        if workflow not in self._working:
            definition = self._definitions.get(workflow)
            calendar = None if definition is None else _calendar_of(definition)
            self._working[workflow] = None if calendar is None else WorkingTime(calendar)
        return self._working[workflow]

    def currency(self, milestones: ComplaintMilestones) -> str:
        key = (milestones.workflow, milestones.category, milestones.severity)
        found = self._currencies.get(key)
        if found is None:
            definition = self._definitions.get(milestones.workflow)
            policy = None if definition is None else definition.escalation
            found = ""
            if policy is not None:
                found = policy.ladder_for(milestones.category, milestones.severity).currency
            self._currencies[key] = found
        return found


def _calendar_of(definition: WorkflowDefinition) -> BusinessCalendar | None:
    """The calendar a workflow's working time is measured on: its first clock's, else its first."""
    if definition.clocks:
        return definition.calendar(definition.clocks[0].calendar)
    return definition.calendars[0] if definition.calendars else None


def _team_of(teams: Teams | None) -> Callable[[ComplaintMilestones], str]:
    if teams is None:
        lookup: Callable[[str], str | None] = lambda owner: None  # noqa: E731
    elif isinstance(teams, Mapping):
        lookup = teams.get
    elif callable(teams):
        lookup = teams
    else:
        raise InvalidArgumentError(
            f"teams must map owner ids to team names, or be a function of an owner id; "
            f"got {type(teams).__name__}"
        )

    def team(milestones: ComplaintMilestones) -> str:
        if milestones.informal:
            return INFORMAL_TEAM
        if milestones.owner_id is not None:
            mapped = lookup(milestones.owner_id)
            if mapped:
                return str(mapped)
        return milestones.department or NO_TEAM

    return team


def _complaint(
    milestones: ComplaintMilestones, workflows: _Workflows, as_of: datetime
) -> _Complaint:
    received = milestones.received_at
    working = workflows.working_time(milestones.workflow)
    responded = milestones.responded_at
    resolved = milestones.resolved_at
    outcome = outcome_of(milestones)
    settled = resolved is not None and outcome != "withdrawn"
    return _Complaint(
        acknowledge=_elapsed(received, responded),
        acknowledge_working=_working(working, received, responded),
        resolve=_elapsed(received, resolved),
        resolve_working=_working(working, received, resolved),
        outcome=outcome,
        first_contact=1 if settled and milestones.reopens == 0 and milestones.responses <= 1 else 0,
        first_contact_base=1 if settled else 0,
        ever_resolved=1 if milestones.first_resolved_at is not None else 0,
        reopened=1 if milestones.reopens else 0,
        repeat_customer=1 if milestones.repeat_customer else 0,
        repeat_category=1 if milestones.repeat_category else 0,
        escalation_level=milestones.escalation_level,
        remedies=len(milestones.remedies),
        redress=[
            (remedy.currency or workflows.currency(milestones), remedy.amount)
            for remedy in milestones.remedies
            if remedy.kind in MONETARY_REMEDIES and remedy.amount is not None
        ],
        clocks=[
            (
                f"{milestones.workflow}.{clock.name}",
                clock_verdict(clock.stopped_at, clock.deadline, clock.breached, as_of),
            )
            for clock in milestones.clocks
        ],
    )


class _Groups:
    """The tallies of every group, created as complaints reach them."""

    def __init__(
        self, report_periods: tuple[Period, ...], team: Callable[[ComplaintMilestones], str]
    ) -> None:
        self.periods = report_periods
        self._starts = [period.start for period in report_periods]
        self.team = team
        self.tallies: dict[tuple[str, str], _Tally] = {(ALL, ALL): _Tally()}
        for period in report_periods:
            self.tallies[("period", period.label)] = _Tally()

    def add(self, milestones: ComplaintMilestones, figures: _Complaint) -> None:
        index = bisect.bisect_right(self._starts, milestones.received_at) - 1
        keys = (
            (ALL, ALL),
            ("period", self.periods[max(index, 0)].label),
            ("category", milestones.category),
            ("channel", milestones.channel),
            ("team", self.team(milestones)),
        )
        tallies = self.tallies
        for key in keys:
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = _Tally()
            figures.add_to(tally)

    def figures(self) -> tuple[GroupMetrics, ...]:
        order = {dimension: n for n, dimension in enumerate(DIMENSIONS)}
        periods_order = {period.label: n for n, period in enumerate(self.periods)}

        def place(key: tuple[str, str]) -> tuple[int, int, str]:
            dimension, group = key
            return (order[dimension], periods_order.get(group, 0), group)

        return tuple(self.tallies[key].figures(*key) for key in sorted(self.tallies, key=place))


def compute_metrics(
    engine: HasKernel | Kernel,
    since: datetime,
    until: datetime,
    *,
    period: str = "week",
    time_zone_name: str | tzinfo | None = None,
    teams: Teams | None = None,
    calendar: BusinessCalendar | None = None,
    repeat_within: timedelta = DEFAULT_REPEAT_WITHIN,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> Metrics:
    """The figures of the complaints received in ``[since, until)``, read from the store.

    Args:
        engine: the engine (or its kernel) whose store to read.
        since, until: the window of receipt (aware instants; ``until`` excluded).
        period: ``"day"``, ``"week"``, ``"month"`` or ``"quarter"``.
        time_zone_name: the zone periods start in (a name or a tzinfo; default UTC).
        teams: owner id → team (a mapping or a function); default the department
            the complaint was routed to. Informal complaints are nobody's.
        calendar: measure working time on this calendar for every workflow
            (default: each workflow's own, that of its first clock).
        repeat_within: how far back an earlier complaint makes one a repeat.
        batch: how many complaints to read at once.
        progress: called with the number of complaints read so far.

    Raises:
        InvalidArgumentError: a malformed argument.
        ReportUnavailableError: the store has no report part.
    """
    kernel = as_kernel(engine)
    since = aware_datetime("since", since)
    until = aware_datetime("until", until)
    one_of("period", period, PERIODS)
    zone = time_zone(time_zone_name)
    if calendar is not None:
        instance("calendar", calendar, BusinessCalendar, "BusinessCalendar(name, time_zone=...)")
    whole_number("batch", batch, minimum=1)
    report_periods = periods(since, until, period, zone)
    store = report_store(kernel)
    rules = milestone_rules(kernel, repeat_within)
    as_of = kernel.clock()
    workflows = _Workflows(kernel, calendar)
    groups = _Groups(report_periods, _team_of(teams))
    for milestones in stream_milestones(
        store,
        rules,
        received_after=since,
        received_before=until,
        batch=batch,
        progress=progress,
    ):
        groups.add(milestones, _complaint(milestones, workflows, as_of))
    return Metrics(
        since=since,
        until=until,
        as_of=as_of,
        period=period,
        time_zone=str(zone),
        periods=report_periods,
        groups=groups.figures(),
    )


def count_received(engine: HasKernel | Kernel, since: datetime, until: datetime) -> int:
    """How many complaints were received in ``[since, until)`` (one count in the store)."""
    store = report_store(as_kernel(engine))
    return sum(found.count for found in store.report_volumes([since, until]))


__all__ = [
    "ALL",
    "DIMENSIONS",
    "INFORMAL_TEAM",
    "MONETARY_REMEDIES",
    "NO_TEAM",
    "OUTCOMES",
    "ClockCompliance",
    "GroupMetrics",
    "Metrics",
    "Teams",
    "clock_verdict",
    "compute_metrics",
    "count_received",
    "outcome_of",
]
