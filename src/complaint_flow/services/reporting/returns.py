"""Regulatory returns: the figures a regulator asks for, as CSV, in versioned formats.

A :class:`ReturnFormat` names one version of one regulator's return
(``fca-disp1-2024``): which workflow's complaints it counts, and how it lays
them out. The formats shipped are in :data:`RETURN_FORMATS`; a host passes its
own :class:`ReturnFormat` for another (the FCA is replacing its return: the next
version is a new format beside this one, and a return says which it follows).

Every format reads the same milestones as the reports
(:func:`~complaint_flow.services.reporting.reading.stream_milestones`), of the
complaints received before the period ends, so that complaints closed in the
period count whenever they were received; the deadlines are worked out on the
workflow's own calendar, as its clocks do. What each column means is in the
format's description and in ``docs/reports.md``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from complaint_flow.arguments import aware_datetime, instance
from complaint_flow.definitions.calendars import BusinessCalendar
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.kernel.unit_of_work import HasKernel, Kernel, as_kernel
from complaint_flow.services.reporting.metrics import MONETARY_REMEDIES, outcome_of
from complaint_flow.services.reporting.reading import (
    milestone_rules,
    report_store,
    stream_milestones,
)
from complaint_flow.services.reporting.working_time import WorkingTime
from complaint_flow.storage.milestones import ComplaintMilestones


@attrs.frozen
class ReturnContext:
    """What a format's builder is given: the window, the complaints, the calendar."""

    since: datetime
    until: datetime
    calendar: BusinessCalendar
    complaints: Iterable[ComplaintMilestones]
    """The complaints of the format's workflows received before ``until``, oldest first."""


Builder = Callable[[ReturnContext], tuple[tuple[str, ...], list[tuple[Any, ...]]]]
"""Lays a return out: its header and its rows."""


@attrs.frozen
class ReturnFormat:
    """One version of one regulator's return.

    Attributes:
        name: the versioned name (``fca-disp1-2024``): the regulator, the return, the
            year of the version.
        title: what it is, for people.
        workflows: the workflows whose complaints it counts.
        description: what each column counts.
        build: lays the rows out from a :class:`ReturnContext`.
    """

    name: str
    title: str
    workflows: tuple[str, ...]
    description: str
    build: Builder


@attrs.frozen
class RegulatoryReturn:
    """A return, ready to file: its format, period, header and rows."""

    format: str
    title: str
    since: datetime
    until: datetime
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        """The rows as dictionaries keyed by the header."""
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]

    def write_csv(self, path: str | Path) -> Path:
        """Write the return as CSV: a header row, then the rows."""
        target = Path(path)
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.header)
            writer.writerows(["" if value is None else value for value in row] for row in self.rows)
        return target


def _in(moment: datetime | None, since: datetime, until: datetime) -> bool:
    return moment is not None and since <= moment < until


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _upheld(milestones: ComplaintMilestones) -> bool:
    return outcome_of(milestones) in ("upheld", "partly_upheld")


def _redress(milestones: ComplaintMilestones) -> Decimal:
    return sum(
        (
            remedy.amount
            for remedy in milestones.remedies
            if remedy.kind in MONETARY_REMEDIES and remedy.amount is not None
        ),
        Decimal(0),
    )


# -- FCA DISP 1 Annex 1R ---------------------------------------------------------------

FCA_HEADER = (
    "product_or_service",
    "opened",
    "closed",
    "closed_within_3_business_days",
    "closed_after_3_business_days_within_8_weeks",
    "closed_after_8_weeks",
    "upheld",
    "upheld_pct",
    "redress_paid",
)


def fca_disp1(context: ReturnContext) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The FCA's DISP 1 Annex 1R figures by product or service (the complaint's category)."""
    calendar = context.calendar
    since, until = context.since, context.until
    figures: dict[str, list[Any]] = {}
    for milestones in context.complaints:
        row = figures.setdefault(milestones.category, [0, 0, 0, 0, 0, 0, Decimal(0)])
        if _in(milestones.received_at, since, until):
            row[0] += 1
        closed = milestones.resolved_at
        if closed is None or not _in(closed, since, until):
            continue
        row[1] += 1
        received = milestones.received_at
        if closed <= calendar.deadline(received, "3 working days"):
            row[2] += 1
        elif closed <= calendar.deadline(received, "8 weeks"):
            row[3] += 1
        else:
            row[4] += 1
        if _upheld(milestones):
            row[5] += 1
        row[6] += _redress(milestones)
    rows: list[tuple[Any, ...]] = []
    total = [0, 0, 0, 0, 0, 0, Decimal(0)]
    for category in sorted(figures):
        row = figures[category]
        total = [a + b for a, b in zip(total, row, strict=True)]
        rows.append(_fca_row(category, row))
    rows.append(_fca_row("Total", total))
    return FCA_HEADER, rows


def _fca_row(name: str, row: Sequence[Any]) -> tuple[Any, ...]:
    opened, closed, within_3, within_8_weeks, later, upheld, redress = row
    return (
        name,
        opened,
        closed,
        within_3,
        within_8_weeks,
        later,
        upheld,
        _percent(upheld, closed),
        str(redress),
    )


FCA_DISP1_2024 = ReturnFormat(
    name="fca-disp1-2024",
    title="FCA complaints return (DISP 1 Annex 1R), by product or service",
    workflows=("fca", "fca_payments"),
    description=(
        "opened: received in the period. closed: closed in the period (a summary "
        "resolution communication or final response sent, or handling ended), whenever "
        "received; split into closed by close of business on the third business day "
        "after receipt, after that but within eight weeks, and after eight weeks, on the "
        "workflow's calendar. upheld: closed complaints upheld or partly upheld "
        '(data["outcome"]); upheld_pct of closed. redress_paid: refunds, price '
        "reductions and goodwill payments granted on the complaints closed, in the "
        "ladder's currency."
    ),
    build=fca_disp1,
)

# -- SPSO model complaints handling procedure ---------------------------------------------

SPSO_HEADER = ("indicator", "stage", "value")
_STAGES = ("stage 1", "stage 2", "after escalation")


def _spso_stage(milestones: ComplaintMilestones) -> str | None:
    """The stage a complaint was decided at: ``stage 1``, ``stage 2``, ``after escalation``."""
    states = milestones.states
    if "stage_2_decided" in states:
        return "after escalation" if "stage_1_decided" in states else "stage 2"
    if "stage_1_decided" in states and "stage_2" not in states:
        return "stage 1"
    return None


def spso_mchp(context: ReturnContext) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """The SPSO's performance indicators of the model complaints handling procedure."""
    calendar = context.calendar
    working = WorkingTime(calendar)
    since, until = context.since, context.until
    received = 0
    closed = dict.fromkeys(_STAGES, 0)
    days = dict.fromkeys(_STAGES, 0)
    in_time = dict.fromkeys(_STAGES, 0)
    extended = dict.fromkeys(_STAGES, 0)
    outcomes: dict[str, dict[str, int]] = {stage: {} for stage in _STAGES}
    for milestones in context.complaints:
        if _in(milestones.received_at, since, until):
            received += 1
        stage = _spso_stage(milestones)
        clock_name = "stage_1" if stage == "stage 1" else "stage_2_response"
        clock = next((c for c in milestones.clocks if c.name == clock_name), None)
        if stage is None or clock is None or not _in(clock.stopped_at, since, until):
            continue
        assert clock.stopped_at is not None
        closed[stage] += 1
        days[stage] += working.working_days(clock.started_at, clock.stopped_at)
        limit = "5 working days" if stage == "stage 1" else "20 working days"
        if clock.stopped_at <= calendar.deadline(clock.started_at, limit):
            in_time[stage] += 1
        if clock.extensions:
            extended[stage] += 1
        outcome = outcome_of(milestones)
        outcomes[stage][outcome] = outcomes[stage].get(outcome, 0) + 1
    all_closed = sum(closed.values())
    rows: list[tuple[Any, ...]] = [("received", "all", received), ("closed", "all", all_closed)]
    for stage in _STAGES:
        timescale = 5 if stage == "stage 1" else 20
        rows += [
            ("closed", stage, closed[stage]),
            ("closed_pct_of_all_closed", stage, _percent(closed[stage], all_closed)),
            (
                "average_working_days",
                stage,
                round(days[stage] / closed[stage], 1) if closed[stage] else None,
            ),
            (f"closed_within_{timescale}_working_days", stage, in_time[stage]),
            (
                f"closed_within_{timescale}_working_days_pct",
                stage,
                _percent(in_time[stage], closed[stage]),
            ),
            ("extensions", stage, extended[stage]),
        ]
        rows += [
            (f"outcome_{outcome}", stage, count)
            for outcome, count in sorted(outcomes[stage].items())
        ]
    return SPSO_HEADER, rows


SPSO_MCHP_2020 = ReturnFormat(
    name="spso-mchp-2020",
    title="SPSO model complaints handling procedure: performance indicators",
    workflows=("spso",),
    description=(
        "received: complaints received in the period. closed: decided in the period, "
        "by stage: stage 1 (frontline decision, never escalated), stage 2 (taken "
        "straight to investigation) and after escalation (decided at stage 1, then at "
        "stage 2). Times run from the start of the stage to its decision (the stage_1 "
        "and stage_2_response clocks), in working days after the day the stage "
        "started; within 5 (stage 1) or 20 (stage 2) working days, whatever the "
        "extensions; extensions: decided complaints whose stage clock was extended; "
        'outcomes from data["outcome"].'
    ),
    build=spso_mchp,
)

# -- CFPB company responses -----------------------------------------------------------------

CFPB_HEADER = ("company_response", "complaints", "timely", "not_timely", "timely_pct")
CFPB_RESPONSES = (
    "Closed with explanation",
    "Closed with monetary relief",
    "Closed with non-monetary relief",
    "Closed",
    "In progress",
    "Untimely response",
)
"""The CFPB's company response categories, in its order."""


def cfpb_response(milestones: ComplaintMilestones, timely_by: datetime, now: datetime) -> str:
    """The company response category of a complaint (one of :data:`CFPB_RESPONSES`)."""
    recorded = milestones.data.get("response_category")
    if isinstance(recorded, str):
        wanted = " ".join(recorded.replace("_", " ").replace("-", " ").split()).lower()
        for category in CFPB_RESPONSES:
            if category.lower() == wanted:
                return category
    if milestones.responded_at is not None:
        return "In progress" if milestones.resolved_at is None else "Closed"
    return "Untimely response" if now > timely_by else "In progress"


def cfpb_responses(context: ReturnContext) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Company responses and their timeliness, for the complaints sent in the period."""
    calendar = context.calendar
    counts = {category: [0, 0] for category in CFPB_RESPONSES}
    for milestones in context.complaints:
        if not _in(milestones.received_at, context.since, context.until):
            continue
        timely_by = calendar.deadline(milestones.received_at, "15 calendar days")
        category = cfpb_response(milestones, timely_by, context.until)
        responded = milestones.responded_at
        counts[category][0 if responded is not None and responded <= timely_by else 1] += 1
    rows = [
        (category, timely + late, timely, late, _percent(timely, timely + late))
        for category, (timely, late) in counts.items()
    ]
    timely = sum(row[2] for row in rows)
    late = sum(row[3] for row in rows)
    rows.append(("Total", timely + late, timely, late, _percent(timely, timely + late)))
    return CFPB_HEADER, rows


CFPB_RESPONSE_2024 = ReturnFormat(
    name="cfpb-response-2024",
    title="CFPB company responses and timeliness",
    workflows=("cfpb",),
    description=(
        "Complaints received (sent to the company) in the period, by company response "
        'category: data["response_category"] recorded with the response; otherwise '
        "Closed (responded and closed), In progress (a response in progress, or none yet "
        "within 15 days) or Untimely response (none by 15 calendar days at the end of "
        "the period). timely: a first response within 15 calendar days of receipt."
    ),
    build=cfpb_responses,
)

RETURN_FORMATS: Mapping[str, ReturnFormat] = MappingProxyType(
    {f.name: f for f in (FCA_DISP1_2024, SPSO_MCHP_2020, CFPB_RESPONSE_2024)}
)
"""The returns shipped, by versioned name."""


def _format(value: str | ReturnFormat) -> ReturnFormat:
    if isinstance(value, ReturnFormat):
        return value
    if isinstance(value, str) and value in RETURN_FORMATS:
        return RETURN_FORMATS[value]
    raise InvalidArgumentError(
        f"unknown return format {value!r}; the formats are {', '.join(sorted(RETURN_FORMATS))} "
        "(or pass a ReturnFormat)"
    )


def regulatory_return(
    engine: HasKernel | Kernel,
    return_format: str | ReturnFormat,
    since: datetime,
    until: datetime,
    *,
    calendar: BusinessCalendar | None = None,
    progress: Callable[[int], None] | None = None,
) -> RegulatoryReturn:
    """A regulatory return for the period ``[since, until)``.

    Args:
        engine: the engine (or its kernel).
        return_format: a name of :data:`RETURN_FORMATS` (``"fca-disp1-2024"``) or a
            :class:`ReturnFormat`.
        since, until: the period (aware; ``until`` excluded).
        calendar: the business calendar deadlines count on (default: the calendar
            of the first clock of the format's first registered workflow).
        progress: called with the number of complaints read so far.

    Raises:
        InvalidArgumentError: an unknown format, a malformed period, or no calendar
            (none given, and none of the format's workflows is registered with one).
        ReportUnavailableError: the store has no report part.
    """
    kernel = as_kernel(engine)
    chosen = _format(return_format)
    since = aware_datetime("since", since)
    until = aware_datetime("until", until)
    if until <= since:
        raise InvalidArgumentError(
            f"until ({until.isoformat()}) must be after since ({since.isoformat()})"
        )
    if calendar is None:
        calendar = _calendar(kernel, chosen)
    else:
        instance("calendar", calendar, BusinessCalendar, "BusinessCalendar(name, time_zone=...)")
    store = report_store(kernel)
    rules = milestone_rules(kernel)
    workflows = set(chosen.workflows)
    complaints = (
        milestones
        for milestones in stream_milestones(store, rules, received_before=until, progress=progress)
        if milestones.workflow in workflows
    )
    header, rows = chosen.build(ReturnContext(since, until, calendar, complaints))
    return RegulatoryReturn(chosen.name, chosen.title, since, until, header, tuple(rows))


def _calendar(kernel: Kernel, chosen: ReturnFormat) -> BusinessCalendar:
    for name in chosen.workflows:
        definition = kernel.registry.workflows.get(name)
        if definition is None:
            continue
        if definition.clocks:
            return definition.calendar(definition.clocks[0].calendar)
        if definition.calendars:
            return definition.calendars[0]
    raise InvalidArgumentError(
        f"the {chosen.name} return counts deadlines on the calendar of the "
        f"{' or '.join(chosen.workflows)} workflow, and none is registered with one: "
        "pass calendar=BusinessCalendar(...)"
    )


__all__ = [
    "CFPB_RESPONSES",
    "CFPB_RESPONSE_2024",
    "FCA_DISP1_2024",
    "RETURN_FORMATS",
    "SPSO_MCHP_2020",
    "RegulatoryReturn",
    "ReturnContext",
    "ReturnFormat",
    "cfpb_response",
    "cfpb_responses",
    "fca_disp1",
    "regulatory_return",
    "spso_mchp",
]
