"""``complaint-flow conduct``: the stop procedure from the command line.

Lists the customers under restriction with their review dates, the review queue
of filed and linked messages, the patterns that suggest a look at a customer's
conduct, and one customer's conduct record with its history; resolves a review
item once it has been read. Decisions (warn, restrict, appeal…) stay in the
library (``engine.conduct``): they need reasons and authorised actors.
"""

from __future__ import annotations

from datetime import datetime

import click
from rich.console import Group, RenderableType
from rich.text import Text

from complaint_flow.cli.render.complaints import COMPACT_BELOW, timeline_table
from complaint_flow.cli.render.conduct import (
    decided_by,
    patterns_table,
    queue_table,
    record_panel,
    restricted_table,
)
from complaint_flow.cli.shared import (
    CommandGroup,
    console,
    moment_callback,
    non_blank,
    open_engine,
    store_option,
)
from complaint_flow.errors import ConductError
from complaint_flow.model.entities import Actor
from complaint_flow.services.final_decisions import ReviewOutcome


@click.group(cls=CommandGroup)
def conduct() -> None:
    """The stop procedure: restricted customers, the review queue, patterns, records."""


@conduct.command()
@store_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N.")
def restricted(store_url: str, limit: int | None) -> None:
    """List customers under restriction, earliest review date first."""
    with open_engine(store_url, must_exist=True) as engine:
        records = engine.conduct.restricted(limit)
        deciders = [decided_by(r, engine.conduct.history(r.customer_id)) for r in records]
    out = console()
    if not records:
        out.print("No customer is under restriction.")
        return
    out.print(restricted_table(records, deciders))


@conduct.command()
@store_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most N items.")
def queue(store_url: str, limit: int | None) -> None:
    """Show the review queue: filed and linked messages waiting to be read."""
    with open_engine(store_url, must_exist=True) as engine:
        rows = engine.review_queue(limit)
    out = console()
    if not rows:
        out.print("The review queue is empty.")
        return
    out.print(queue_table(rows, "Review queue"))
    out.print(
        "Resolve an item once read: complaint-flow conduct resolve CUSTOMER ITEM "
        "--outcome no_new_information|new_information|safeguarding --note TEXT ..."
    )


@conduct.command()
@store_option
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Look back this many days.",
)
@click.option(
    "--many-complaints",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Flag customers with at least this many complaints in the window.",
)
@click.option(
    "--repeats-after-final",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Flag at least this many messages re-raising finally decided matters.",
)
@click.option(
    "--escalation-requests",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Flag at least this many escalations the customer asked for.",
)
@click.option(
    "--as-of",
    callback=moment_callback,
    default=None,
    metavar="WHEN",
    help="The end of the window (ISO date or time, UTC unless given); default: now.",
)
def patterns(
    store_url: str,
    window_days: int,
    many_complaints: int,
    repeats_after_final: int,
    escalation_requests: int,
    as_of: datetime | None,
) -> None:
    """Suggest customers whose recent contact may need a look; changes nothing."""
    with open_engine(store_url, must_exist=True) as engine:
        flags = engine.conduct_patterns(
            now=as_of,
            window_days=window_days,
            many_complaints=many_complaints,
            repeats_after_final=repeats_after_final,
            escalation_requests=escalation_requests,
        )
    out = console()
    if not flags:
        out.print(f"No pattern seen in the last {window_days} days.")
        return
    out.print(patterns_table(flags))
    out.print("These are suggestions for a person to review; no warning or restriction was made.")


@conduct.command()
@click.argument("customer_id")
@store_option
def show(customer_id: str, store_url: str) -> None:
    """Show CUSTOMER_ID's conduct record, review queue and history."""
    with open_engine(store_url, must_exist=True) as engine:
        if engine.store.conduct_get(customer_id) is None and not engine.store.find(
            customer_id=customer_id, limit=1
        ):
            raise ConductError(
                f"no customer {customer_id!r} in this store: no conduct record and no "
                "complaint; check the id (complaint-flow conduct restricted and "
                "complaint-flow list show customers)"
            )
        record = engine.conduct.record(customer_id)
        events = engine.conduct.history(customer_id)
    out = console()
    parts: list[RenderableType] = [record_panel(record, events)]
    if record.review_queue:
        rows = [(record, item) for item in record.review_queue]
        parts.append(queue_table(rows, "Review queue", with_customer=False))
    if events:
        parts.append(timeline_table(events, "History", compact=out.width < COMPACT_BELOW))
    else:
        parts.append(Text("No conduct event recorded yet.", style="dim"))
    out.print(Group(*parts))


@conduct.command()
@click.argument("customer_id")
@click.argument("item_id")
@click.option(
    "--outcome",
    required=True,
    type=click.Choice([o.value for o in ReviewOutcome]),
    help="no_new_information (close), new_information (open a complaint from the "
    "message) or safeguarding (close and raise an urgent concern).",
)
@click.option("--note", required=True, callback=non_blank, help="What was read and decided.")
@click.option("--actor-id", required=True, callback=non_blank, help="The reviewer's id.")
@click.option(
    "--actor-name", callback=non_blank, default=None, help="The reviewer's name (default: the id)."
)
@click.option(
    "--role", required=True, callback=non_blank, help="The reviewer's role (e.g. agent, manager)."
)
@click.option("--actor-email", default=None, help="The reviewer's email (safeguarding alerts).")
@store_option
def resolve(
    customer_id: str,
    item_id: str,
    outcome: str,
    note: str,
    actor_id: str,
    actor_name: str | None,
    role: str,
    actor_email: str | None,
    store_url: str,
) -> None:
    """Resolve review item ITEM_ID of CUSTOMER_ID once it has been read."""
    actor = Actor(id=actor_id, name=actor_name or actor_id, role=role, email=actor_email)
    with open_engine(store_url) as engine:
        if engine.store.conduct_get(customer_id) is None:
            raise ConductError(
                f"customer {customer_id!r} has no conduct record, so no review items; "
                "`complaint-flow conduct queue` lists the items waiting, with their customers"
            )
        opened = engine.resolve_review_item(
            customer_id, item_id, actor=actor, outcome=outcome, note=note
        )
    out = console()
    out.print(f"Resolved item {item_id} of customer {customer_id}: {outcome}.")
    if opened is not None:
        out.print(f"Opened complaint {opened.reference} from the message.")


__all__ = ["conduct"]
