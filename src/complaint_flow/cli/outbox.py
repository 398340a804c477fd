"""``complaint-flow outbox``: list the notifications waiting to go out, requeue, deliver."""

from __future__ import annotations

from collections.abc import Iterable

import click

from complaint_flow.cli.render.outbox import delivery_line, outbox_table
from complaint_flow.cli.shared import CommandGroup, console, open_engine, store_option
from complaint_flow.engine import Engine
from complaint_flow.errors import ComplaintNotFoundError
from complaint_flow.model.entities import OutboxMessage, OutboxStatus
from complaint_flow.services.delivery import OutboxDispatcher

STATUSES: dict[str, OutboxStatus | None] = {
    "pending": OutboxStatus.PENDING,
    "dead": OutboxStatus.DEAD,
    "delivered": OutboxStatus.DELIVERED,
    "unreachable": OutboxStatus.UNREACHABLE,
    "all": None,
}
"""The values of ``--status`` and the messages each lists (``all``: every status)."""


def references(engine: Engine, messages: Iterable[OutboxMessage]) -> dict[str, str]:
    """The reference of each message's complaint (those no longer stored are left out)."""
    found: dict[str, str] = {}
    for complaint_id in {m.complaint_id for m in messages}:
        try:
            found[complaint_id] = engine.store.get(complaint_id).reference
        except ComplaintNotFoundError:
            continue
    return found


def dispatcher(engine: Engine) -> OutboxDispatcher:
    """The outbox dispatcher of ``engine``'s store, plugins and clock."""
    return OutboxDispatcher(engine.store, engine.registry, engine.clock)


@click.group(name="outbox", cls=CommandGroup, invoke_without_command=True)
@store_option
@click.option(
    "--status",
    type=click.Choice(list(STATUSES)),
    default="pending",
    show_default=True,
    help="Which messages to list.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many, oldest first.",
)
@click.pass_context
def outbox(ctx: click.Context, store_url: str, status: str, limit: int) -> None:
    """List outbox messages (pending by default); requeue dead ones; deliver.

    Without a subcommand, lists the messages with STATUS, oldest first.
    """
    if ctx.invoked_subcommand is not None:
        given = [
            name
            for name in ("store_url", "status", "limit")
            if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
        ]
        if given:
            # Otherwise `outbox --store X retry` would quietly act on the default store.
            raise click.UsageError(
                f"give the options after the subcommand: complaint-flow outbox "
                f"{ctx.invoked_subcommand} --store URL …"
            )
        return
    with open_engine(store_url, must_exist=True) as engine:
        messages = engine.store.outbox_find(status=STATUSES[status], limit=limit)
        named = references(engine, messages)
    out = console()
    what = "" if status == "all" else f"{status} "
    if not messages:
        out.print(f"No {what}outbox messages in {store_url}.")
        return
    out.print(
        outbox_table(messages, named, f"Outbox: {len(messages)} {what}message(s), oldest first")
    )


@outbox.command(name="retry")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option("--all-dead", is_flag=True, help="Requeue every dead message.")
@store_option
def outbox_retry(keys: tuple[str, ...], all_dead: bool, store_url: str) -> None:
    """Make the dead messages KEY… (or --all-dead) pending again, attempts reset to 0.

    An unknown key, or the key of a message that is not dead, requeues nothing.
    """
    if bool(keys) == all_dead:
        raise click.UsageError("give the keys of dead messages, or --all-dead (not both)")
    with open_engine(store_url) as engine:
        requeued = dispatcher(engine).retry_dead(None if all_dead else list(keys))
        named = references(engine, requeued)
    out = console()
    if not requeued:
        out.print(f"No dead outbox messages in {store_url}: nothing to requeue.")
        return
    out.print(outbox_table(requeued, named, f"Requeued {len(requeued)} message(s)"))
    out.print(
        "They are due now: the next `complaint-flow outbox deliver` (or worker) delivers them.",
        markup=False,
    )


@outbox.command(name="deliver")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="At most this many messages, oldest first.",
)
@store_option
def outbox_deliver(limit: int, store_url: str) -> None:
    """Run one delivery pass: hand due pending messages to the installed notifiers."""
    with open_engine(store_url) as engine:
        report = dispatcher(engine).dispatch(limit)
    console().print(delivery_line(report))


__all__ = ["STATUSES", "dispatcher", "outbox", "references"]
