"""``complaint-flow plugins``: what the installed plugins provide."""

from __future__ import annotations

import click

from complaint_flow.cli.render.workflows import registry_tables
from complaint_flow.cli.shared import console, load_registry


@click.command()
def plugins() -> None:
    """List loaded plugins and their hooks, and the stores, channels, workflows, guards."""
    out = console()
    for table in registry_tables(load_registry()):
        out.print(table)


__all__ = ["plugins"]
