"""``complaint-flow demo``: play the demo week and print it."""

from __future__ import annotations

import click

from complaint_flow.cli.demo import run_demo
from complaint_flow.cli.render.demo import render_demo
from complaint_flow.cli.shared import console
from complaint_flow.engine import DEFAULT_STORE_URL


@click.command()
@click.option(
    "--store",
    "store_url",
    default=DEFAULT_STORE_URL,
    show_default=True,
    metavar="URL",
    help="Where the demo keeps its complaints (complaints.db in the current directory).",
)
def demo(store_url: str) -> None:
    """Take sample complaints from five channels through the TACTICS workflow.

    Prints each complaint's timeline, a duplicate delivery, a role refusal, the
    stop procedure (a warning, a written-only restriction, a phone call filed and
    acknowledged in writing, an appeal; a decided complaint raised again and
    linked), the notifications delivered, a short report and a check of the
    store's audit trail. Running it again adds a new set.
    """
    render_demo(console(), run_demo(store_url))


__all__ = ["demo"]
