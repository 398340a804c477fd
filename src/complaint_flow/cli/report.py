"""``complaint-flow report``: the complaints report and regulatory returns of a store.

Register it in ``complaint_flow/cli/__init__.py`` with ``cli.add_command(report.report)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from complaint_flow.cli.render.report import report_tables, return_table
from complaint_flow.cli.shared import (
    console,
    error_console,
    moment_callback,
    open_engine,
    store_option,
    workflow_file_option,
)
from complaint_flow.services.reporting.charts import CHART_FORMATS, write_charts
from complaint_flow.services.reporting.periods import PERIODS
from complaint_flow.services.reporting.report import report as build_report
from complaint_flow.services.reporting.returns import RETURN_FORMATS, regulatory_return

DEFAULT_WEEKS = 13
"""How far back a report goes when ``--since`` is not given."""


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on standard error in a terminal; nothing elsewhere."""
    errors = error_console()
    if not errors.is_terminal:
        yield None
        return
    with Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@click.command()
@click.argument("url", required=False, metavar="[URL]")
@store_option
@workflow_file_option
@click.option(
    "--since",
    callback=moment_callback,
    metavar="WHEN",
    help=f"First instant of the window of receipt (ISO date or time; UTC unless it says "
    f"otherwise). Default: {DEFAULT_WEEKS} weeks before --until.",
)
@click.option(
    "--until",
    callback=moment_callback,
    metavar="WHEN",
    help="End of the window, excluded (default: now).",
)
@click.option(
    "--period",
    type=click.Choice(PERIODS),
    default="week",
    show_default=True,
    help="Break the figures down by this period.",
)
@click.option(
    "--time-zone",
    "zone",
    default="UTC",
    show_default=True,
    metavar="ZONE",
    help="The zone periods start in (an IANA name such as Europe/London).",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Also write the report as JSON to FILE.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path),
    metavar="DIR|FILE",
    help="Also write one CSV file per section into DIR; with --return, the return to FILE.",
)
@click.option(
    "--charts",
    "charts_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also draw the charts into DIR (needs the learning extra: matplotlib).",
)
@click.option(
    "--format",
    "chart_format",
    type=click.Choice(CHART_FORMATS),
    default="png",
    show_default=True,
    help="The charts' file format.",
)
@click.option(
    "--return",
    "return_name",
    type=click.Choice(sorted(RETURN_FORMATS)),
    metavar="FORMAT",
    help=f"Make a regulatory return instead ({', '.join(sorted(RETURN_FORMATS))}).",
)
@click.option(
    "--section",
    "sections",
    multiple=True,
    metavar="NAME",
    help="Print only this section (repeatable); the files get every section.",
)
def report(
    url: str | None,
    store_url: str,
    workflow_files: tuple[Path, ...],
    since: datetime | None,
    until: datetime | None,
    period: str,
    zone: str,
    json_file: Path | None,
    csv_path: Path | None,
    charts_dir: Path | None,
    chart_format: str,
    return_name: str | None,
    sections: tuple[str, ...],
) -> None:
    """Report on the complaints received in a window: timeliness, SLA compliance,
    outcomes, first-contact resolution, reopenings, repeats, escalations, redress
    and spikes, by period, category, channel and team.

    URL, when given, is the store to read (instead of --store). With --return,
    make that regulatory return for the window instead (complaints closed in it
    count whenever they were received).
    """
    with open_engine(url or store_url, must_exist=True, workflow_files=workflow_files) as engine:
        end = until or engine.now()
        start = since or end - timedelta(weeks=DEFAULT_WEEKS)
        if start >= end:
            raise click.BadParameter(
                f"--since ({start:%Y-%m-%d %H:%M}) must be before --until ({end:%Y-%m-%d %H:%M})"
            )
        out = console()
        if return_name is not None:
            with _progress("reading complaints") as bar:
                found = regulatory_return(
                    engine,
                    return_name,
                    start,
                    end,
                    progress=None if bar is None else (lambda done: bar(done, done)),
                )
            out.print(return_table(found))
            if csv_path is not None:
                written = found.write_csv(csv_path)
                out.print(f"return written to {written}")
            return
        with _progress("reading complaints") as bar:
            made = build_report(engine, start, end, period, time_zone_name=zone, progress=bar)
        for table in report_tables(made, sections):
            out.print(table)
        if json_file is not None:
            out.print(f"JSON written to {made.write_json(json_file)}")
        if csv_path is not None:
            files = made.write_csv(csv_path)
            out.print(f"{len(files)} CSV files written to {csv_path}")
        if charts_dir is not None:
            charts = write_charts(made, charts_dir, chart_format)
            out.print(f"{len(charts)} charts written to {charts_dir}")


__all__ = ["DEFAULT_WEEKS", "report"]
