"""``complaint-flow satisfaction``: survey answers, opt-outs, a complaint's satisfaction, CSAT.

Staff cannot answer a survey on a customer's behalf, so ``answer`` is for an
answer the customer gave through a path the host authenticated (a signed survey
link, a logged-in account): it names the customer and how they were recognised.
Answers by email arrive through the email intake.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.text import Text

from complaint_flow.cli.render.satisfaction import csat_table, satisfaction_panel
from complaint_flow.cli.shared import (
    CommandGroup,
    console,
    moment_callback,
    non_blank,
    open_engine,
    store_option,
)
from complaint_flow.model.entities import Actor
from complaint_flow.model.satisfaction import DIMENSIONS, PERIODS, SurveyRespondent
from complaint_flow.services import satisfaction as service


@click.group(cls=CommandGroup)
def satisfaction() -> None:
    """Customer satisfaction: survey answers, opt-outs, CSAT."""


@satisfaction.command()
@click.argument("complaint")
@click.option("--score", type=click.IntRange(1, 5), required=True, help="1 (very unhappy) to 5.")
@click.option("--comment", default="", help="What the customer said besides the score.")
@click.option(
    "--customer",
    "customer_id",
    required=True,
    callback=non_blank,
    help="The customer who answered (their id): it must be the complaint's customer.",
)
@click.option(
    "--verified-by",
    required=True,
    callback=non_blank,
    help="How your system authenticated the customer (e.g. 'signed survey link').",
)
@store_option
def answer(
    complaint: str,
    score: int,
    comment: str,
    customer_id: str,
    verified_by: str,
    store_url: str,
) -> None:
    """Record a customer's survey answer to COMPLAINT (one answer per complaint)."""
    respondent = SurveyRespondent.authenticated(customer_id, verified_by)
    with open_engine(store_url, must_exist=True) as engine:
        stored = service.record_survey_answer(engine, complaint, score, comment, via=respondent)
    out = console()
    out.print(Text(f"Recorded {score}/5 for {stored.reference} (version {stored.version})."))
    out.print(satisfaction_panel(stored))


@satisfaction.command()
@click.argument("complaint")
@store_option
def show(complaint: str, store_url: str) -> None:
    """Show what COMPLAINT's customer said: the check step's answer and the survey."""
    with open_engine(store_url, must_exist=True) as engine:
        current = engine.get(complaint)
    console().print(satisfaction_panel(current))


def _preference(opted_out: bool) -> click.Command:
    word = "opt-out" if opted_out else "opt-in"

    @click.command(name=word)
    @click.argument("customer_id", callback=non_blank)
    @click.option("--actor-id", required=True, callback=non_blank, help="Who records it.")
    @click.option("--actor-name", default=None, callback=non_blank, help="Their name.")
    @click.option("--role", default="agent", show_default=True, help="Their role.")
    @click.option(
        "--reason",
        required=True,
        callback=non_blank,
        help="How the customer asked (e.g. 'asked by phone on 3 March').",
    )
    @store_option
    def record(
        customer_id: str,
        actor_id: str,
        actor_name: str | None,
        role: str,
        reason: str,
        store_url: str,
    ) -> None:
        actor = Actor(id=actor_id, name=actor_name or actor_id, role=role)
        with open_engine(store_url, must_exist=True) as engine:
            stored = service.record_survey_preference(
                engine, customer_id, opted_out=opted_out, actor=actor, reason=reason
            )
        wish = "no more surveys" if opted_out else "surveys again"
        console().print(
            Text(f"Recorded on {stored.reference}: customer {customer_id!r} wants {wish}.")
        )

    record.help = (
        "Record that CUSTOMER_ID wants no more surveys."
        if opted_out
        else "Record that CUSTOMER_ID wants surveys again."
    )
    return record


satisfaction.add_command(_preference(True))
satisfaction.add_command(_preference(False))


@satisfaction.command()
@click.option(
    "--by",
    "by",
    multiple=True,
    type=click.Choice(DIMENSIONS),
    help="Group by this (repeatable): category, channel, team.",
)
@click.option("--period", type=click.Choice(PERIODS), default=None, help="Group by period (UTC).")
@click.option("--since", callback=moment_callback, default=None, help="Answers from (ISO date).")
@click.option("--until", callback=moment_callback, default=None, help="Answers before (ISO).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@store_option
def csat(
    by: tuple[str, ...],
    period: str | None,
    since: datetime | None,
    until: datetime | None,
    as_json: bool,
    store_url: str,
) -> None:
    """CSAT: the share of survey answers scoring 4 or 5, the mean score, the counts."""
    with open_engine(store_url, must_exist=True) as engine:
        rows = service.csat_report(engine, since=since, until=until, by=by, period=period)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows], indent=2))
        return
    out = console()
    if not rows:
        out.print(Text("No survey answers in that time."))
        return
    dimensions = [d for d in DIMENSIONS if d in by]
    out.print(csat_table(rows, dimensions, period))


__all__ = ["satisfaction"]
