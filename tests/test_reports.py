"""Reports (sections, JSON, CSV, charts, the spike seam), periods, returns' edges, the CLI."""

from __future__ import annotations

import csv
import itertools
import json
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import click
import pytest
from click.testing import CliRunner

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock, Remedy
from complaint_flow.cli import report as report_command
from complaint_flow.cli.shared import CommandGroup
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.services.reporting import (
    DEFAULT_SECTIONS,
    ChartsUnavailableError,
    ReportContext,
    ReportUnavailableError,
    Section,
    regulatory_return,
    report,
    write_charts,
)
from complaint_flow.services.reporting.periods import periods, time_zone
from complaint_flow.services.reporting.report import Column
from complaint_flow.services.reporting.returns import RETURN_FORMATS, cfpb_response

AGENT = Actor(id="A-1", name="Bo", role="agent", email="bo@example.org")
MANAGER = Actor(id="M-1", name="Mo", role="manager", rank=3, email="mo@example.org")
INVESTIGATOR = Actor(id="I-1", name="Ivy", role="investigator", email="ivy@example.org")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SINCE = datetime(2026, 3, 2, tzinfo=UTC)
UNTIL = datetime(2026, 4, 27, tzinfo=UTC)


def customer(n: int) -> Customer:
    return Customer(id=f"C-{n}", name=f"Customer {n}", email=f"c{n}@example.org")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    engine = Engine.open("memory://", load_entry_points=False, clock=clock)
    yield engine
    engine.close()


def fill(engine: Engine, clock: ManualClock) -> None:
    """Eight weeks of TACTICS complaints, week 5 with three times as many about delivery."""
    for week in range(8):
        for n in range(2 + (4 if week == 5 else 0)):
            complaint = engine.receive(
                Intake(
                    channel="email",
                    customer=customer(n),
                    summary="Parcel late",
                    category="delivery",
                )
            )
            clock.advance(hours=1)
            engine.fire(complaint.id, "thank", actor=AGENT)
        clock.advance(days=7, hours=-(2 + (4 if week == 5 else 0)))


# -- the report ---------------------------------------------------------------------------


def test_a_report_has_every_default_section_in_order(engine: Engine, clock: ManualClock) -> None:
    fill(engine, clock)
    made = report(engine, SINCE, UNTIL, "week", spikes=None)
    assert [s.name for s in made.sections] == [
        "volume",
        "acknowledge",
        "resolve",
        "sla",
        "outcomes",
        "quality",
        "escalation",
        "redress",
        "weekly",
        "spikes",
        "satisfaction",
    ]
    volume = made.section("volume")
    assert volume.values("received") == [2, 2, 2, 2, 2, 6, 2, 2]
    assert volume.values("period") == [f"2026-W{n:02d}" for n in range(10, 18)]
    acknowledge = made.section("acknowledge").records()[0]
    assert acknowledge["group"] == "all"
    assert acknowledge["acknowledged"] == 20
    assert acknowledge["median_h"] == pytest.approx(1.0, rel=0.01)
    assert made.section("satisfaction").rows == ()
    assert "No satisfaction figures" in made.section("satisfaction").notes[0]
    assert "learning extra" in made.section("spikes").notes[0]
    with pytest.raises(InvalidArgumentError, match="no section 'csat'"):
        made.section("csat")


def test_json_and_csv_hold_the_same_rows(
    engine: Engine, clock: ManualClock, tmp_path: Path
) -> None:
    fill(engine, clock)
    made = report(engine, SINCE, UNTIL, "month", spikes=None)
    written = json.loads(made.write_json(tmp_path / "report.json").read_text())
    assert written["period"] == "month"
    assert [s["name"] for s in written["sections"]] == [s.name for s in made.sections]
    volume = next(s for s in written["sections"] if s["name"] == "volume")
    assert volume["rows"] == made.section("volume").records()
    files = made.write_csv(tmp_path / "csv")
    assert {f.name for f in files} == {f"{s.name}.csv" for s in made.sections}
    with (tmp_path / "csv" / "quality.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["dimension"] == "all"
    assert int(rows[0]["received"]) == 20


def test_a_host_adds_its_own_section(engine: Engine, clock: ManualClock) -> None:
    fill(engine, clock)

    def corrective_actions(context: ReportContext) -> Section:
        return Section(
            "actions",
            "Corrective actions",
            (Column("complaints", "Complaints", "count"),),
            ((context.metrics.overall.received,),),
        )

    made = report(engine, SINCE, UNTIL, sections=(*DEFAULT_SECTIONS[:1], corrective_actions))
    assert [s.name for s in made.sections] == ["volume", "actions"]
    assert made.section("actions").rows == ((20,),)
    with pytest.raises(InvalidArgumentError, match="sections"):
        report(engine, SINCE, UNTIL, sections=("volume",))  # type: ignore[arg-type]


@attrs.frozen
class Finding:
    period_start: date
    observed: int
    expected: float
    threshold: float
    alarm: bool


def test_spikes_mark_the_weeks_a_detector_flags(engine: Engine, clock: ManualClock) -> None:
    fill(engine, clock)
    asked: list[tuple[Sequence[tuple[date, int]], int]] = []

    def detector(series: Sequence[tuple[date, int]], last: int) -> list[Finding]:
        asked.append((series, last))
        return [Finding(day, count, 2.0, 4.0, count > 4) for day, count in series[-last:]]

    made = report(engine, SINCE, UNTIL, spikes=detector)
    ((series, last),) = asked  # one category
    assert last == 8
    assert [count for _, count in series[-8:]] == [2, 2, 2, 2, 2, 6, 2, 2]
    assert all(day.weekday() == 0 for day, _ in series)  # weeks start on Mondays
    assert made.section("spikes").rows == (("delivery", "2026-W15", 6, 2.0, 4.0),)
    weekly = made.section("weekly")
    assert weekly.values("spikes") == ["", "", "", "", "", "delivery", "", ""]


def test_reports_need_the_report_part_of_the_store(engine: Engine) -> None:
    class FourParts:
        def __init__(self, whole: Any) -> None:
            self.url = whole.url
            self.close = whole.close

    engine.kernel.store = FourParts(engine.kernel.store)  # type: ignore[assignment]
    with pytest.raises(ReportUnavailableError, match="has no report part"):
        report(engine, SINCE, UNTIL)


def test_report_arguments_are_checked(engine: Engine) -> None:
    with pytest.raises(InvalidArgumentError, match="period"):
        report(engine, SINCE, UNTIL, "fortnight")
    with pytest.raises(InvalidArgumentError, match="since"):
        report(engine, datetime(2026, 3, 1), UNTIL)
    with pytest.raises(InvalidArgumentError, match="after since"):
        report(engine, UNTIL, SINCE)
    with pytest.raises(InvalidArgumentError, match="time zone"):
        report(engine, SINCE, UNTIL, time_zone_name="Mars/Olympus")
    with pytest.raises(InvalidArgumentError, match="spikes"):
        report(engine, SINCE, UNTIL, spikes="statsmodels")


def test_progress_is_reported_as_complaints_are_read(engine: Engine, clock: ManualClock) -> None:
    fill(engine, clock)
    seen: list[tuple[int, int]] = []
    report(engine, SINCE, UNTIL, batch=7, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 20), (7, 20), (14, 20), (20, 20)]


# -- periods ---------------------------------------------------------------------------------


def test_periods_start_on_the_wall_clock_of_the_zone() -> None:
    london = time_zone("Europe/London")
    since = datetime(2026, 3, 25, tzinfo=UTC)
    until = datetime(2026, 7, 2, tzinfo=UTC)
    weeks = periods(since, until, "week", london)
    assert weeks[0].label == "2026-W13"
    assert weeks[0].start == since  # cut to the window
    # 30 March 2026 is the first Monday of British Summer Time: midnight is 23:00 UTC.
    assert weeks[1].start == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert weeks[-1].end == until
    months = periods(since, until, "month", london)
    assert [m.label for m in months] == ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"]
    quarters = periods(since, until, "quarter", london)
    assert [(q.label, q.start_day) for q in quarters] == [
        ("2026-Q1", date(2026, 1, 1)),
        ("2026-Q2", date(2026, 4, 1)),
        ("2026-Q3", date(2026, 7, 1)),
    ]
    assert all(a.end == b.start for a, b in itertools.pairwise(weeks))


def test_a_complaint_counts_in_the_week_of_its_local_day(clock: ManualClock) -> None:
    clock.set(datetime(2026, 4, 5, 23, 30, tzinfo=UTC))  # Monday 00:30 in London
    engine = Engine.open("memory://", load_entry_points=False, clock=clock)
    engine.receive(Intake(channel="email", customer=customer(1), summary="Late"))
    clock.advance(days=1)
    window = (datetime(2026, 3, 30, tzinfo=UTC), datetime(2026, 4, 20, tzinfo=UTC))
    london = report(engine, *window, time_zone_name="Europe/London", spikes=None)
    utc = report(engine, *window, spikes=None)
    assert (
        dict(
            zip(
                london.section("volume").values("period"),
                london.section("volume").values("received"),
                strict=True,
            )
        )["2026-W15"]
        == 1
    )
    assert (
        dict(
            zip(
                utc.section("volume").values("period"),
                utc.section("volume").values("received"),
                strict=True,
            )
        )["2026-W14"]
        == 1
    )


# -- regulatory returns: the edges of the buckets ---------------------------------------------


def fca_closed_at(offsets: list[str | timedelta]) -> dict[str, Any]:
    """The FCA return's total row for complaints closed at those offsets after receipt."""
    clock = ManualClock(datetime(2026, 3, 4, 10, 0, tzinfo=UTC))  # a Wednesday
    engine = Engine.open("memory://", load_entry_points=False, clock=clock, workflow="fca")
    calendar = engine.workflow("fca").calendar("england")
    closings = []
    for n, offset in enumerate(offsets):
        complaint = engine.receive(Intake(channel="email", customer=customer(n), summary="Fees"))
        if isinstance(offset, str):
            # "3 working days" or "8 weeks", then a microsecond after.
            text, late, _ = offset.partition("+")
            at = calendar.deadline(complaint.received_at, text) + (
                timedelta(microseconds=1) if late else timedelta(0)
            )
        else:
            at = complaint.received_at + offset
        closings.append((at, complaint.id))
    for at, complaint_id in sorted(closings):
        clock.set(at)
        engine.fire(
            complaint_id,
            "send_final_response",
            actor=AGENT,
            data={"final_response": "Refunded", "outcome": "upheld"},
        )
    found = regulatory_return(
        engine, "fca-disp1-2024", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    )
    return found.records()[-1]


def test_fca_closed_exactly_at_the_third_business_day_is_within_it() -> None:
    total = fca_closed_at(["3 working days", "3 working days+", "8 weeks", "8 weeks+"])
    assert total["product_or_service"] == "Total"
    assert total["opened"] == total["closed"] == 4
    assert total["closed_within_3_business_days"] == 1
    assert total["closed_after_3_business_days_within_8_weeks"] == 2
    assert total["closed_after_8_weeks"] == 1
    assert (total["upheld"], total["upheld_pct"]) == (4, 100.0)


def test_fca_business_days_skip_weekends_and_bank_holidays() -> None:
    clock = ManualClock(datetime(2026, 4, 1, 10, 0, tzinfo=UTC))  # Wednesday before Easter
    engine = Engine.open("memory://", load_entry_points=False, clock=clock, workflow="fca")
    complaint = engine.receive(Intake(channel="email", customer=customer(1), summary="Fees"))
    # Good Friday (3 April) and Easter Monday (6 April) are bank holidays in England:
    # the third business day after Wednesday 1 April is Wednesday 8 April.
    clock.set(datetime(2026, 4, 8, 15, 0, tzinfo=UTC))
    engine.fire(
        complaint.id,
        "send_summary_resolution",
        actor=AGENT,
        data={"resolution": "Explained", "outcome": "not_upheld"},
    )
    engine.grant_remedy(complaint.id, Remedy("goodwill_payment", "25.00"), actor=MANAGER)
    found = regulatory_return(
        engine, "fca-disp1-2024", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)
    )
    (row, _) = found.records()
    assert row["closed_within_3_business_days"] == 1
    assert (row["upheld"], row["redress_paid"]) == (0, "25.00")


def test_fca_counts_complaints_closed_in_the_period_whenever_received() -> None:
    clock = ManualClock(datetime(2026, 1, 12, 10, 0, tzinfo=UTC))
    engine = Engine.open("memory://", load_entry_points=False, clock=clock, workflow="fca")
    old = engine.receive(Intake(channel="email", customer=customer(1), summary="Fees"))
    clock.set(datetime(2026, 4, 2, 10, 0, tzinfo=UTC))
    engine.fire(old.id, "send_final_response", actor=AGENT, data={"final_response": "No"})
    found = regulatory_return(
        engine, "fca-disp1-2024", datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    )
    total = found.records()[-1]
    assert (total["opened"], total["closed"], total["closed_after_8_weeks"]) == (0, 1, 1)


@pytest.mark.filterwarnings("ignore::complaint_flow.PlaceholderContactWarning")
def test_spso_stages_and_timescales() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # Monday
    engine = Engine.open("memory://", load_entry_points=False, clock=clock, workflow="spso")
    quick = engine.receive(Intake(channel="email", customer=customer(1), summary="Bins"))
    slow = engine.receive(Intake(channel="email", customer=customer(2), summary="Bins"))
    escalated = engine.receive(Intake(channel="email", customer=customer(3), summary="Bins"))
    # Monday + 5 working days = Monday 9 March, 17:00.
    clock.set(datetime(2026, 3, 9, 16, 59, tzinfo=UTC))
    engine.fire(
        quick.id,
        "decide_stage_1",
        actor=AGENT,
        data={"stage_1_decision": "Done", "outcome": "upheld"},
    )
    engine.fire(escalated.id, "decide_stage_1", actor=AGENT, data={"stage_1_decision": "No"})
    engine.fire(escalated.id, "escalate", actor=AGENT)
    clock.set(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    engine.fire(slow.id, "decide_stage_1", actor=AGENT, data={"stage_1_decision": "Done"})
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    engine.fire(
        escalated.id,
        "decide_stage_2",
        actor=INVESTIGATOR,
        data={"stage_2_decision": "Upheld", "outcome": "partly upheld"},
    )
    found = regulatory_return(
        engine, "spso-mchp-2020", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    )
    values = {(row["indicator"], row["stage"]): row["value"] for row in found.records()}
    assert values[("received", "all")] == 3
    assert values[("closed", "stage 1")] == 2
    assert values[("closed_within_5_working_days", "stage 1")] == 1
    assert values[("average_working_days", "stage 1")] == 5.5  # 5 and 6 working days
    assert values[("closed", "after escalation")] == 1
    assert values[("closed_within_20_working_days", "after escalation")] == 1
    assert values[("average_working_days", "after escalation")] == 9.0
    assert values[("outcome_partly_upheld", "after escalation")] == 1
    assert values[("closed_pct_of_all_closed", "stage 1")] == pytest.approx(66.7)


def test_cfpb_timeliness_edge_and_categories() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    engine = Engine.open("memory://", load_entry_points=False, clock=clock, workflow="cfpb")
    calendar = engine.workflow("cfpb").calendar("new_york")
    on_time = engine.receive(Intake(channel="web_form", customer=customer(1), summary="Fee"))
    late = engine.receive(Intake(channel="web_form", customer=customer(2), summary="Fee"))
    engine.receive(Intake(channel="web_form", customer=customer(3), summary="Fee"))
    deadline = calendar.deadline(on_time.received_at, "15 calendar days")
    clock.set(deadline)
    engine.fire(
        on_time.id,
        "respond",
        actor=AGENT,
        data={"response": "Refunded", "response_category": "closed with monetary relief"},
    )
    clock.advance(seconds=1)
    engine.fire(late.id, "respond_in_progress", actor=AGENT, data={"progress_explanation": "Busy"})
    found = regulatory_return(
        engine,
        "cfpb-response-2024",
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    rows = {row["company_response"]: row for row in found.records()}
    assert (
        rows["Closed with monetary relief"]["timely"],
        rows["Closed with monetary relief"]["not_timely"],
    ) == (1, 0)
    assert (rows["In progress"]["timely"], rows["In progress"]["not_timely"]) == (0, 1)
    assert rows["Untimely response"]["complaints"] == 1
    assert rows["Total"]["complaints"] == 3


def test_returns_have_versioned_names_and_refuse_unknown_ones(engine: Engine) -> None:
    assert set(RETURN_FORMATS) == {"fca-disp1-2024", "spso-mchp-2020", "cfpb-response-2024"}
    with pytest.raises(InvalidArgumentError, match="fca-disp1-2024"):
        regulatory_return(engine, "fca-2016", SINCE, UNTIL)
    assert cfpb_response.__name__ == "cfpb_response"


def test_a_return_is_written_as_csv(tmp_path: Path) -> None:
    total = fca_closed_at([timedelta(hours=2)])
    assert total["closed_within_3_business_days"] == 1
    clock = ManualClock(START)
    engine = Engine.open("memory://", load_entry_points=False, clock=clock, workflow="fca")
    engine.receive(Intake(channel="email", customer=customer(1), summary="Fees"))
    found = regulatory_return(engine, "fca-disp1-2024", SINCE, UNTIL)
    path = found.write_csv(tmp_path / "fca.csv")
    with path.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(found.header)
    assert rows[-1][:3] == ["Total", "1", "0"]


# -- charts -----------------------------------------------------------------------------------


def test_charts_are_written_as_png_and_svg(
    engine: Engine, clock: ManualClock, tmp_path: Path
) -> None:
    fill(engine, clock)
    made = report(engine, SINCE, UNTIL, spikes=None)
    png = write_charts(made, tmp_path / "png")
    assert [p.name for p in png] == ["weekly.png", "sla.png", "csat.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in png)
    svg = write_charts(made, tmp_path / "svg", "svg")
    assert all("<svg" in p.read_text() for p in svg)
    with pytest.raises(InvalidArgumentError):
        write_charts(made, tmp_path, "gif")


def test_charts_without_matplotlib_say_how_to_get_it(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = report(engine, SINCE, UNTIL, spikes=None)
    import importlib

    real = importlib.import_module

    def missing(name: str, *args: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ChartsUnavailableError, match=r"complaint-flow\[learning\]"):
        write_charts(made, tmp_path)


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli() -> click.Group:
    @click.group(cls=CommandGroup)
    def group() -> None:
        """The report command alone (its registration is the lead's)."""

    group.add_command(report_command.report)
    return group


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    clock = ManualClock(START)
    engine = Engine.open(url, load_entry_points=False, clock=clock)
    fill(engine, clock)
    engine.close()
    return url


def test_the_command_prints_tables_and_writes_files(
    cli: click.Group, store: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "report",
            store,
            "--since",
            "2026-03-02",
            "--until",
            "2026-04-27",
            "--json",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "csv"),
            "--charts",
            str(tmp_path / "charts"),
            "--format",
            "svg",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Time to acknowledge" in result.output
    assert "2026-W15" in result.output
    assert json.loads((tmp_path / "r.json").read_text())["since"].startswith("2026-03-02")
    assert (tmp_path / "csv" / "sla.csv").exists()
    assert (tmp_path / "charts" / "weekly.svg").exists()


def test_the_command_prints_chosen_sections(cli: click.Group, store: str) -> None:
    result = CliRunner().invoke(
        cli, ["report", store, "--since", "2026-03-02", "--until", "2026-04-27", "--section", "sla"]
    )
    assert result.exit_code == 0, result.output
    assert "SLA compliance" in result.output
    assert "Time to acknowledge" not in result.output


def test_the_command_makes_a_return(cli: click.Group, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fca.db'}"
    clock = ManualClock(START)
    engine = Engine.open(url, load_entry_points=False, clock=clock, workflow="fca")
    complaint = engine.receive(Intake(channel="email", customer=customer(1), summary="Fees"))
    clock.advance(hours=3)
    engine.fire(complaint.id, "send_summary_resolution", actor=AGENT, data={"resolution": "Done"})
    engine.close()
    out = tmp_path / "fca.csv"
    result = CliRunner().invoke(
        cli,
        [
            "report",
            url,
            "--since",
            "2026-03-01",
            "--until",
            "2026-04-01",
            "--return",
            "fca-disp1-2024",
            "--csv",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fca-disp1-2024" in result.output
    assert out.read_text().splitlines()[-1].startswith("Total,1,1,1,0,0")


def test_the_command_refuses_a_missing_store_and_a_bad_window(
    cli: click.Group, store: str, tmp_path: Path
) -> None:
    missing = CliRunner().invoke(cli, ["report", f"sqlite:///{tmp_path / 'none.db'}"])
    assert missing.exit_code == 1
    assert "does not exist" in missing.output
    inverted = CliRunner().invoke(
        cli, ["report", store, "--since", "2026-05-01", "--until", "2026-04-01"]
    )
    assert inverted.exit_code != 0
    assert "must be before" in inverted.output


def test_the_statisticians_detector_finds_a_planted_spike() -> None:
    """By default the report judges each category's weeks with analysis.spikes (Farrington)."""
    pytest.importorskip("scipy")
    clock = ManualClock(datetime(2024, 1, 1, 9, tzinfo=UTC))
    engine = Engine.open("memory://", load_entry_points=False, clock=clock)
    counts = random.Random(3)
    for week in range(120):
        for category in ("billing", "delivery"):
            planted = 3 if (category == "delivery" and week == 115) else 1
            for n in range(counts.randrange(3, 8) * planted):
                engine.receive(
                    Intake(
                        channel="email",
                        customer=customer(week * 100 + n),
                        summary="Parcel late",
                        category=category,
                    )
                )
        clock.advance(days=7)
    since = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(weeks=108)
    made = report(engine, since, since + timedelta(weeks=12))
    ((category, week, observed, expected, threshold),) = made.section("spikes").rows
    assert (category, week) == ("delivery", "2026-W12")
    assert observed > threshold > expected
    assert made.section("weekly").records()[7]["spikes"] == "delivery"
