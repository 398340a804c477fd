"""``complaint-flow clocks`` and ``sweep``: deadline clocks, and acting on those that are due."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import attrs
import click
from rich.console import Console
from rich.text import Text

from complaint_flow.cli.render.complaints import COMPACT_BELOW
from complaint_flow.cli.render.deadlines import (
    SWEEP_COUNTS,
    clocks_table,
    sweep_line,
    sweep_table,
    watch_status,
)
from complaint_flow.cli.render.formats import when
from complaint_flow.cli.shared import (
    console,
    fail,
    open_engine,
    store_option,
    workflow_file_option,
)
from complaint_flow.engine import Engine
from complaint_flow.model.entities import ClockStatus
from complaint_flow.services.sweep import SweepReport

UNKNOWN_WORKFLOW_HINT = (
    "{count} due complaint(s) follow a workflow this command does not know and were left "
    "as they are; register it with --workflow-file PATH (or install its plugin) and sweep again"
)


@click.command()
@click.argument("complaint")
@store_option
@workflow_file_option
def clocks(complaint: str, store_url: str, workflow_files: tuple[Path, ...]) -> None:
    """Show a complaint's deadline clocks: status, deadline, warning, extensions."""
    with open_engine(store_url, must_exist=True, workflow_files=workflow_files) as engine:
        current = engine.get(complaint)
        now = engine.now()
        # Titles and rules only: the clock states themselves are stored with the complaint.
        definition = engine.registry.workflows.get(current.workflow)
    out = console()
    if not current.clocks:
        out.print(
            Text(
                f"{current.reference} has no deadline clocks (workflow {current.workflow!r}"
                + (" declares none)." if definition is not None and not definition.clocks else ").")
            )
        )
        return
    title = f"{current.reference} · {current.state} · deadline clocks"
    out.print(clocks_table(current, definition, now, title, compact=out.width < COMPACT_BELOW))
    if current.due_at is None:
        out.print(Text("Nothing due: no running clock has a warning or deadline ahead."))
    elif current.due_at <= now:
        out.print(Text(f"Overdue since {when(current.due_at)} UTC: the next sweep acts on it."))
    else:
        out.print(Text(f"Next due: {when(current.due_at)} UTC (a sweep from then on acts on it)."))
    if any(state.status is ClockStatus.PAUSED for state in current.clocks):
        out.print(
            Text(
                "A paused clock does not count down: when it resumes, its deadline and "
                "warning move on by the time it was paused, keeping the time left shown.",
                style="dim",
            )
        )
    if definition is None:
        out.print(
            Text(
                f"Workflow {current.workflow!r} is not registered here, so clock titles and "
                "rules are not shown; pass --workflow-file to see them.",
                style="dim",
            )
        )


def added(total: SweepReport, report: SweepReport) -> SweepReport:
    """The counts of both reports; the time of the later."""
    counts = {field: getattr(total, field) + getattr(report, field) for field, *_ in SWEEP_COUNTS}
    return attrs.evolve(total, at=report.at, **counts)


def pause(seconds: float) -> None:
    """Wait between sweeps (a seam for tests)."""
    time.sleep(seconds)


@attrs.define
class Watched:
    """What a watch did: how many sweeps, from when, their summed counts, how it ended."""

    sweeps: int = 0
    first_at: datetime | None = None
    total: SweepReport | None = None
    interrupted: bool = False


def watch(
    engine: Engine,
    out: Console,
    *,
    interval: float,
    iterations: int | None,
    batch: int,
) -> Watched:
    """Sweep every ``interval`` seconds until Ctrl-C (or ``iterations`` sweeps)."""
    watched = Watched()
    status = out.status(watch_status(interval, 0, None))
    try:
        with status:
            while True:
                started = time.monotonic()
                report = engine.sweep(batch=batch)
                watched.sweeps += 1
                watched.first_at = watched.first_at or report.at
                watched.total = report if watched.total is None else added(watched.total, report)
                if report.examined:
                    # Printed above the status line, so that logs keep what each sweep did.
                    out.print(sweep_line(watched.sweeps, report))
                status.update(watch_status(interval, watched.sweeps, watched.total))
                if iterations is not None and watched.sweeps >= iterations:
                    break
                pause(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        watched.interrupted = True
    return watched


@click.command(name="sweep")
@click.argument("url", required=False, metavar="[URL]")
@store_option
@click.option(
    "--watch",
    "watch_every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Sweep again every SECONDS, showing running totals, until Ctrl-C.",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="With --watch: stop after N sweeps.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    metavar="N",
    help="How many due complaints to read from the store at a time.",
)
@click.option(
    "--workflow",
    default=None,
    metavar="NAME",
    help="The engine's default workflow (each complaint is swept by its own workflow).",
)
@workflow_file_option
@click.pass_context
def sweep_command(
    ctx: click.Context,
    url: str | None,
    store_url: str,
    watch_every: float | None,
    iterations: int | None,
    batch: int,
    workflow: str | None,
    workflow_files: tuple[Path, ...],
) -> None:
    """Act on due deadline warnings and breaches, once or every --watch SECONDS.

    Records a warning or a breach on each due clock exactly once (even with several
    sweepers at once), notifies owners and escalates where the clock says so, then
    prints what it did. The store is URL, else --store.
    """
    if url is not None:
        explicit = ctx.get_parameter_source("store_url") is click.core.ParameterSource.COMMANDLINE
        if explicit and url != store_url:
            raise click.UsageError(f"two stores given: {url} and --store {store_url}; give one")
        store_url = url
    if iterations is not None and watch_every is None:
        raise click.UsageError("--iterations counts --watch sweeps; add --watch SECONDS")
    out = console()
    with open_engine(store_url, workflow=workflow, workflow_files=workflow_files) as engine:
        if watch_every is None:
            report = engine.sweep(batch=batch)
            out.print(sweep_table(report, f"Sweep of {store_url} at {when(report.at)} UTC"))
            if not report.examined:
                out.print(Text("Nothing was due."))
            if report.unknown_workflow:
                fail(UNKNOWN_WORKFLOW_HINT.format(count=report.unknown_workflow))
            return
        watched = watch(engine, out, interval=watch_every, iterations=iterations, batch=batch)
    if watched.total is None or watched.first_at is None:
        out.print(Text("Stopped before the first sweep finished; nothing counted."))
        return
    span = f"{when(watched.first_at)} → {when(watched.total.at)} UTC"
    title = f"{watched.sweeps} sweep(s) of {store_url}, {span}"
    out.print(sweep_table(watched.total, title))
    if watched.total.unknown_workflow:
        fail(UNKNOWN_WORKFLOW_HINT.format(count=watched.total.unknown_workflow))
    if watched.interrupted:
        out.print(
            Text(
                "Stopped by Ctrl-C. A sweep cut short is not counted above; what it had "
                "recorded is kept in the store, and the next sweep finishes its work.",
                style="dim",
            )
        )


__all__ = ["Watched", "added", "clocks", "pause", "sweep_command", "watch"]
