"""A report: sections of rows, built from the figures, for people, files and dashboards.

:func:`report` computes the figures of a window (:func:`~.metrics.compute_metrics`)
and lays them out as a :class:`Report`: named :class:`Section` s of typed
columns and rows, which the command line prints as tables and writes as JSON,
CSV and charts, and which a host's dashboard reads as data.

Sections are built by **section builders**, functions of a :class:`ReportContext`
(the engine's kernel, the window, its periods and the figures) returning a
section, several, or None. :data:`DEFAULT_SECTIONS` are the timeliness and
outcome sections, the spikes and a satisfaction placeholder; other services add
theirs (root causes, corrective actions, satisfaction) by passing
``sections=(*DEFAULT_SECTIONS, their_builder)``.
"""

from __future__ import annotations

import csv
import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

import attrs

from complaint_flow.arguments import aware_datetime, items, one_of
from complaint_flow.definitions.calendars import BusinessCalendar
from complaint_flow.errors import ComplaintFlowError, InvalidArgumentError
from complaint_flow.kernel.unit_of_work import HasKernel, Kernel, as_kernel
from complaint_flow.services.reporting.metrics import (
    DIMENSIONS,
    OUTCOMES,
    GroupMetrics,
    Metrics,
    Teams,
    compute_metrics,
    count_received,
)
from complaint_flow.services.reporting.periods import PERIODS, periods, time_zone
from complaint_flow.services.reporting.reading import BATCH, report_store
from complaint_flow.storage.milestones import DEFAULT_REPEAT_WITHIN

UNITS = ("text", "count", "percent", "hours", "money", "number")
"""What a column holds: how it is printed and charted."""

SPIKE_HISTORY = timedelta(weeks=156)
"""How many weeks before the window the spike baseline reads (three years)."""


@attrs.frozen
class Column:
    """A column of a section: its key (in JSON and CSV), title and unit (one of :data:`UNITS`)."""

    key: str
    title: str
    unit: str = "text"


@attrs.frozen
class Section:
    """A table of a report.

    Attributes:
        name: its key (``timeliness``); also the CSV file's name.
        title: what a reader sees.
        columns: its columns; each row has one value per column.
        rows: the values: text, whole numbers, floats (hours, percentages as
            0-100) or exact amounts as text; None where there is nothing to say.
        notes: sentences printed under it (what is counted, what is missing).
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...] = ()
    notes: tuple[str, ...] = ()

    def records(self) -> list[dict[str, Any]]:
        """The rows as dictionaries keyed by column key."""
        keys = [column.key for column in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def values(self, key: str) -> list[Any]:
        """One column's values, in row order."""
        keys = [column.key for column in self.columns]
        if key not in keys:
            raise InvalidArgumentError(
                f"section {self.name!r} has no column {key!r}; its columns are {', '.join(keys)}"
            )
        index = keys.index(key)
        return [row[index] for row in self.rows]


@attrs.frozen
class Report:
    """A whole report: the window it covers and its sections, in order."""

    title: str
    since: datetime
    until: datetime
    as_of: datetime
    period: str
    time_zone: str
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section:
        """The section called ``name``.

        Raises:
            InvalidArgumentError: the report has none.
        """
        for section in self.sections:
            if section.name == name:
                return section
        names = ", ".join(section.name for section in self.sections)
        raise InvalidArgumentError(f"the report has no section {name!r}; it has {names}")

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (times in ISO 8601)."""
        return {
            "title": self.title,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "as_of": self.as_of.isoformat(),
            "period": self.period,
            "time_zone": self.time_zone,
            "sections": [
                {
                    "name": section.name,
                    "title": section.title,
                    "columns": [attrs.asdict(column) for column in section.columns],
                    "rows": section.records(),
                    "notes": list(section.notes),
                }
                for section in self.sections
            ],
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as UTF-8 JSON to ``path``; returns the path."""
        target = Path(path)
        target.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return target

    def write_csv(self, directory: str | Path) -> list[Path]:
        """Write each section as ``<name>.csv`` (a header row of keys) into ``directory``."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for section in self.sections:
            target = folder / f"{section.name}.csv"
            with target.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow([column.key for column in section.columns])
                writer.writerows(
                    ["" if value is None else value for value in row] for row in section.rows
                )
            written.append(target)
        return written


@attrs.frozen
class ReportContext:
    """What a section builder is given.

    Attributes:
        kernel: the engine's kernel (its store, clock and workflows).
        metrics: the figures of the window (its ``since``, ``until``, ``periods``,
            ``as_of`` and ``time_zone`` are the report's).
        zone: the report's time zone.
        spikes: the spike detector, or None when none is available.
    """

    kernel: Kernel
    metrics: Metrics
    zone: tzinfo
    spikes: SpikeDetector | None


class SpikeFinding(Protocol):
    """What a spike detector says of one week (``complaint_flow.analysis.spikes``)."""

    @property
    def period_start(self) -> date: ...

    @property
    def observed(self) -> int: ...

    @property
    def expected(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def alarm(self) -> bool: ...


SpikeDetector = Callable[[Sequence[tuple[date, int]], int], Sequence[SpikeFinding]]
"""Judges a weekly series ``(week start, count)``, oldest first; the int is how many of
the last weeks to judge. :func:`analysis_spikes` gives the statistician's one."""

SectionBuilder = Callable[[ReportContext], "Section | Iterable[Section] | None"]
"""Builds a report's section(s) from the context; None leaves it out."""


def analysis_spikes() -> SpikeDetector | None:
    """The spike detector of :mod:`complaint_flow.analysis.spikes`, or None without it.

    Uses its Farrington method (quasi-Poisson baseline, overdispersion handled);
    None when that module or the ``learning`` extra (numpy, scipy) is missing.
    """
    try:
        module = importlib.import_module("complaint_flow.analysis.spikes")
    except ImportError:
        return None
    detect = getattr(module, "detect_spikes", None)
    if detect is None:
        return None

    def detector(series: Sequence[tuple[date, int]], last: int) -> Sequence[SpikeFinding]:
        found: Sequence[SpikeFinding] = detect(series, "farrington", period="week", last=last)
        return found

    return detector


# -- formatting ------------------------------------------------------------------------


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else round(100 * fraction, 1)


_BY = (Column("dimension", "By"), Column("group", "Group"))


def _groups(metrics: Metrics) -> Iterable[GroupMetrics]:
    for dimension in DIMENSIONS:
        yield from metrics.by(dimension)


# -- the default sections --------------------------------------------------------------


def volume_section(context: ReportContext) -> Section:
    """Complaints received, acknowledged and resolved per period (from the figures)."""
    rows = []
    for period, group in zip(context.metrics.periods, context.metrics.by("period"), strict=True):
        rows.append(
            (
                period.label,
                period.start.astimezone(context.zone).date().isoformat(),
                group.received,
                group.acknowledged,
                group.resolved,
                group.received - group.resolved,
            )
        )
    return Section(
        "volume",
        "Complaints per period",
        (
            Column("period", "Period"),
            Column("start", "From"),
            Column("received", "Received", "count"),
            Column("acknowledged", "Acknowledged", "count"),
            Column("resolved", "Resolved", "count"),
            Column("open", "Open", "count"),
        ),
        tuple(rows),
        ("By date of receipt; acknowledged and resolved as of the report's time.",),
    )


def _timing(
    name: str, title: str, counted: str, groups: Iterable[tuple[GroupMetrics, tuple[Any, ...]]]
) -> Section:
    rows = [
        (g.dimension, g.group, g.received, count, *(_hours(value) for value in values))
        for g, (count, *values) in groups
    ]
    return Section(
        name,
        title,
        (
            *_BY,
            Column("received", "Received", "count"),
            Column(counted, counted.capitalize(), "count"),
            Column("median_h", "Median h", "hours"),
            Column("p90_h", "p90 h", "hours"),
            Column("median_wh", "Median wh", "hours"),
            Column("p90_wh", "p90 wh", "hours"),
        ),
        tuple(rows),
    )


def timeliness_sections(context: ReportContext) -> list[Section]:
    """Time to acknowledge and to resolve: median and 90th percentile, calendar and working."""
    groups = list(_groups(context.metrics))
    acknowledge = _timing(
        "acknowledge",
        "Time to acknowledge (hours)",
        "acknowledged",
        (
            (
                g,
                (
                    g.acknowledged,
                    g.acknowledge_median,
                    g.acknowledge_p90,
                    g.acknowledge_working_median,
                    g.acknowledge_working_p90,
                ),
            )
            for g in groups
        ),
    )
    resolve = _timing(
        "resolve",
        "Time to resolve (hours)",
        "resolved",
        (
            (
                g,
                (
                    g.resolved,
                    g.resolve_median,
                    g.resolve_p90,
                    g.resolve_working_median,
                    g.resolve_working_p90,
                ),
            )
            for g in groups
        ),
    )
    return [
        attrs.evolve(
            acknowledge,
            notes=(
                "From receipt to the first response to the customer. h: calendar hours; "
                "wh: working hours on the workflow's calendar; quantiles within 1%.",
            ),
        ),
        attrs.evolve(
            resolve,
            notes=(
                "From receipt to the resolution that stands (a state where handling has "
                "ended), for the complaints resolved now.",
            ),
        ),
    ]


def sla_section(context: ReportContext) -> Section:
    """SLA compliance per deadline clock."""
    rows = [
        (
            g.dimension,
            g.group,
            clock.clock,
            clock.met,
            clock.missed,
            clock.pending,
            _percent(clock.compliance),
        )
        for g in _groups(context.metrics)
        for clock in g.clocks
    ]
    return Section(
        "sla",
        "SLA compliance per deadline clock",
        (
            *_BY,
            Column("clock", "Clock"),
            Column("met", "Met", "count"),
            Column("missed", "Missed", "count"),
            Column("pending", "Pending", "count"),
            Column("compliance_pct", "Compliance %", "percent"),
        ),
        tuple(rows),
        (
            "Compliance: met / (met + missed); a clock still running before its deadline "
            "is pending.",
        ),
    )


def outcomes_section(context: ReportContext) -> Section:
    """Outcomes of the resolved complaints."""
    rows = [
        (
            g.dimension,
            g.group,
            g.resolved,
            *(g.outcomes[outcome] for outcome in OUTCOMES),
            _percent(g.upheld_rate),
        )
        for g in _groups(context.metrics)
    ]
    return Section(
        "outcomes",
        "Outcomes of resolved complaints",
        (
            *_BY,
            Column("resolved", "Resolved", "count"),
            *(
                Column(outcome, outcome.replace("_", " ").capitalize(), "count")
                for outcome in OUTCOMES
            ),
            Column("upheld_pct", "Upheld %", "percent"),
        ),
        tuple(rows),
        (
            'The outcome is data["outcome"] recorded with a step (upheld, partly_upheld, '
            "not_upheld). Upheld %: upheld or partly upheld among those with one.",
        ),
    )


def quality_section(context: ReportContext) -> Section:
    """First-contact resolution, reopenings and repeat complaints."""
    rows = [
        (
            g.dimension,
            g.group,
            g.received,
            g.first_contact_resolutions,
            _percent(g.first_contact_rate),
            g.reopened,
            _percent(g.reopen_rate),
            g.repeat_customer,
            _percent(g.repeat_customer_rate),
            g.repeat_category,
            _percent(g.repeat_category_rate),
        )
        for g in _groups(context.metrics)
    ]
    return Section(
        "quality",
        "First-contact resolution, reopenings and repeats",
        (
            *_BY,
            Column("received", "Received", "count"),
            Column("first_contact", "First contact", "count"),
            Column("first_contact_pct", "First contact %", "percent"),
            Column("reopened", "Reopened", "count"),
            Column("reopen_pct", "Reopen %", "percent"),
            Column("repeat_customer", "Repeat (customer)", "count"),
            Column("repeat_customer_pct", "Repeat (customer) %", "percent"),
            Column("repeat_category", "Repeat (category)", "count"),
            Column("repeat_category_pct", "Repeat (category) %", "percent"),
        ),
        tuple(rows),
        (
            "First contact: resolved with at most one response, never reopened, not "
            "withdrawn. Reopen %: among complaints ever resolved. Repeat: the customer "
            "complained before within the repeat window (about the same category).",
        ),
    )


def escalation_section(context: ReportContext) -> Section:
    """Escalation rate per level reached."""
    rows = [
        (g.dimension, g.group, level, reached, _percent(g.escalation_rate(level)))
        for g in _groups(context.metrics)
        for level, reached in g.escalated.items()
    ]
    return Section(
        "escalation",
        "Escalation per level",
        (
            *_BY,
            Column("level", "Level", "number"),
            Column("complaints", "Complaints", "count"),
            Column("rate_pct", "Rate %", "percent"),
        ),
        tuple(rows),
        ("Complaints that reached the level (or a higher one), among those received.",),
    )


def redress_section(context: ReportContext) -> Section:
    """Remedies granted and redress paid."""
    rows: list[tuple[Any, ...]] = []
    for g in _groups(context.metrics):
        if not g.redress:
            if g.remedies:
                rows.append((g.dimension, g.group, g.remedies, None, None))
            continue
        for currency, amount in g.redress.items():
            rows.append((g.dimension, g.group, g.remedies, currency, str(amount)))
    return Section(
        "redress",
        "Remedies and redress paid",
        (
            *_BY,
            Column("remedies", "Remedies", "count"),
            Column("currency", "Currency"),
            Column("paid", "Paid", "money"),
        ),
        tuple(rows),
        ("Paid: refunds, price reductions and goodwill payments granted.",),
    )


def spikes_section(context: ReportContext) -> list[Section]:
    """Weekly complaints with the weeks a spike detector flags, per category."""
    metrics = context.metrics
    weeks = periods(metrics.since - SPIKE_HISTORY, metrics.until, "week", context.zone)
    bounds = [week.start for week in weeks] + [weeks[-1].end]
    counts = report_store(context.kernel).report_volumes(bounds, by=("category",))
    judged = sum(1 for week in weeks if week.start >= metrics.since or week.end > metrics.since)
    totals = [0] * len(weeks)
    series: dict[str, list[int]] = {}
    for found in counts:
        totals[found.period] += found.count
        series.setdefault(found.values[0], [0] * len(weeks))[found.period] += found.count
    flagged: dict[int, list[str]] = {}
    rows = []
    notes: list[str] = []
    if context.spikes is None:
        notes.append(
            "Spike detection needs complaint_flow.analysis.spikes and the learning extra "
            '(pip install "complaint-flow[learning]"); none was run.'
        )
    else:
        for category in sorted(series):
            points = [
                (week.start_day, count) for week, count in zip(weeks, series[category], strict=True)
            ]
            try:
                findings = context.spikes(points, judged)
            except ComplaintFlowError as error:
                notes.append(f"{category}: not judged ({error})")
                continue
            for finding in findings:
                if not finding.alarm:
                    continue
                index = next(
                    i for i, week in enumerate(weeks) if week.start_day == finding.period_start
                )
                flagged.setdefault(index, []).append(category)
                rows.append(
                    (
                        category,
                        weeks[index].label,
                        finding.observed,
                        round(finding.expected, 2),
                        round(finding.threshold, 2),
                    )
                )
        notes.append(
            "Farrington-style quasi-Poisson baseline over up to three years of weeks; a "
            "week alarms when its count is above the threshold."
        )
    weekly = tuple(
        (week.label, week.start_day.isoformat(), totals[i], ", ".join(flagged.get(i, ())))
        for i, week in enumerate(weeks)
        if week.end > metrics.since
    )
    return [
        Section(
            "weekly",
            "Complaints per week",
            (
                Column("week", "Week"),
                Column("start", "From"),
                Column("received", "Received", "count"),
                Column("spikes", "Spikes in"),
            ),
            weekly,
            ("Every category; spikes name the categories flagged that week.",),
        ),
        Section(
            "spikes",
            "Spikes: weeks with more complaints than the baseline allows",
            (
                Column("category", "Category"),
                Column("week", "Week"),
                Column("observed", "Observed", "count"),
                Column("expected", "Expected", "number"),
                Column("threshold", "Threshold", "number"),
            ),
            tuple(rows),
            tuple(notes),
        ),
    ]


def satisfaction_placeholder(context: ReportContext) -> Section:
    """The place of the CSAT trend: columns ``period``, ``responses``, ``csat_pct``.

    The satisfaction survey's builder replaces it with the same name and columns
    (the chart of the CSAT trend reads them).
    """
    return Section(
        "satisfaction",
        "Customer satisfaction (CSAT) per period",
        (
            Column("period", "Period"),
            Column("responses", "Responses", "count"),
            Column("csat_pct", "CSAT %", "percent"),
        ),
        (),
        ("No satisfaction figures yet: surveys are not recorded by this version.",),
    )


DEFAULT_SECTIONS: tuple[SectionBuilder, ...] = (
    volume_section,
    timeliness_sections,
    sla_section,
    outcomes_section,
    quality_section,
    escalation_section,
    redress_section,
    spikes_section,
    satisfaction_placeholder,
)
"""The sections :func:`report` builds unless told otherwise, in order."""


def report(
    engine: HasKernel | Kernel,
    since: datetime,
    until: datetime,
    period: str = "week",
    *,
    time_zone_name: str | tzinfo | None = None,
    teams: Teams | None = None,
    calendar: BusinessCalendar | None = None,
    repeat_within: timedelta = DEFAULT_REPEAT_WITHIN,
    sections: Sequence[SectionBuilder] = DEFAULT_SECTIONS,
    spikes: SpikeDetector | str | None = "analysis",
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
    title: str = "Complaints report",
) -> Report:
    """The report of the complaints received in ``[since, until)``.

    Args:
        engine: the engine (or its kernel).
        since, until: the window of receipt (aware; ``until`` excluded).
        period: ``"day"``, ``"week"``, ``"month"`` or ``"quarter"``.
        time_zone_name: the zone periods start in (default UTC).
        teams: owner id → team, a mapping or a function (default: the department).
        calendar: measure working time on this calendar (default: each workflow's).
        repeat_within: how far back an earlier complaint makes one a repeat.
        sections: the section builders, in order (:data:`DEFAULT_SECTIONS`).
        spikes: a spike detector, None for none, or ``"analysis"`` for
            :func:`analysis_spikes` when it is available.
        batch: complaints read at once.
        progress: called as ``progress(done, total)`` while complaints are read.
        title: the report's title.

    Raises:
        InvalidArgumentError: a malformed argument.
        ReportUnavailableError: the store has no report part.
    """
    kernel = as_kernel(engine)
    since = aware_datetime("since", since)
    until = aware_datetime("until", until)
    one_of("period", period, PERIODS)
    builders: list[SectionBuilder] = []
    for index, builder in enumerate(items("sections", sections)):
        if not callable(builder):
            raise InvalidArgumentError(
                f"sections[{index}] must be a section builder (a function of a "
                f"ReportContext), got {builder!r}"
            )
        builders.append(builder)
    detector: SpikeDetector | None
    if isinstance(spikes, str) and spikes == "analysis":
        detector = analysis_spikes()
    elif spikes is None or callable(spikes):
        detector = spikes
    else:
        raise InvalidArgumentError(
            f"spikes must be a spike detector, None or 'analysis', got {spikes!r}"
        )
    zone = time_zone(time_zone_name)
    on_batch = None
    if progress is not None:
        total = count_received(kernel, since, until)
        progress(0, total)

        def on_batch(done: int) -> None:
            progress(done, total)

    metrics = compute_metrics(
        kernel,
        since,
        until,
        period=period,
        time_zone_name=zone,
        teams=teams,
        calendar=calendar,
        repeat_within=repeat_within,
        batch=batch,
        progress=on_batch,
    )
    context = ReportContext(kernel=kernel, metrics=metrics, zone=zone, spikes=detector)
    built: list[Section] = []
    for builder in builders:
        made = builder(context)
        if made is None:
            continue
        if isinstance(made, Section):
            built.append(made)
        else:
            built.extend(made)
    return Report(
        title=title,
        since=since,
        until=until,
        as_of=metrics.as_of,
        period=period,
        time_zone=metrics.time_zone,
        sections=tuple(built),
    )


__all__ = [
    "DEFAULT_SECTIONS",
    "SPIKE_HISTORY",
    "UNITS",
    "Column",
    "Report",
    "ReportContext",
    "Section",
    "SectionBuilder",
    "SpikeDetector",
    "SpikeFinding",
    "analysis_spikes",
    "escalation_section",
    "outcomes_section",
    "quality_section",
    "redress_section",
    "report",
    "satisfaction_placeholder",
    "sla_section",
    "spikes_section",
    "timeliness_sections",
    "volume_section",
]
