"""The ``complaint-flow`` command: demo, complaints, deadline sweeps, the outbox, workflows.

Every command that reads complaints takes ``--store URL`` (default: the
``COMPLAINT_FLOW_STORE`` environment variable, else ``sqlite:///complaints.db``).
A refusal of the library (a :class:`~complaint_flow.errors.ComplaintFlowError`)
is printed in red on standard error and the command exits with status 1.

Each group of commands has its module here (:mod:`.complaints`, :mod:`.deadlines`,
:mod:`.outbox`, :mod:`.conduct`…); what they print is built in :mod:`.render`,
what they share (the console, ``--store`` and the other options, opening an
engine, failing) is in :mod:`.shared`, and :mod:`.refusals` puts the library's
refusals in the command line's words. The demo scenario itself is :mod:`.demo`.
"""

from __future__ import annotations

import click

from complaint_flow.cli import (
    actions,
    audit,
    channels,
    complaints,
    conduct,
    db,
    deadlines,
    demo_command,
    guide,
    intake,
    mail,
    outbox,
    plugins,
    privacy,
    report,
    satisfaction,
    workflows,
)
from complaint_flow.cli.render.complaints import (
    complaint_panel,
    complaints_table,
    timeline_table,
)
from complaint_flow.cli.render.deadlines import clocks_table, sweep_table
from complaint_flow.cli.render.demo import render_demo
from complaint_flow.cli.render.outbox import outbox_table
from complaint_flow.cli.render.workflows import transitions_table
from complaint_flow.cli.shared import STORE_ENV, CommandGroup, parse_data


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="complaint-flow")
def cli() -> None:
    """Handle customer complaints: demo, inspect and move complaints, sweep deadlines, workflows."""


cli.add_command(actions.actions)
cli.add_command(actions.root_cause)
cli.add_command(audit.audit)
cli.add_command(report.report)
cli.add_command(guide.guide)
cli.add_command(satisfaction.satisfaction)
cli.add_command(channels.channels)
channels.channels.add_command(mail.take_email)
channels.channels.add_command(mail.poll)
channels.channels.add_command(mail.quarantine)
cli.add_command(complaints.fire)
cli.add_command(complaints.history)
cli.add_command(complaints.list_complaints)
cli.add_command(complaints.show)
cli.add_command(complaints.triggers)
cli.add_command(conduct.conduct)
cli.add_command(db.db)
cli.add_command(deadlines.clocks)
cli.add_command(deadlines.sweep_command)
cli.add_command(demo_command.demo)
cli.add_command(outbox.outbox)
cli.add_command(plugins.plugins)
cli.add_command(intake.record)
cli.add_command(privacy.privacy)
cli.add_command(privacy.retention)
cli.add_command(workflows.workflow)


def main() -> None:
    """The console script ``complaint-flow``."""
    cli()


__all__ = [
    "STORE_ENV",
    "cli",
    "clocks_table",
    "complaint_panel",
    "complaints_table",
    "main",
    "outbox_table",
    "parse_data",
    "render_demo",
    "sweep_table",
    "timeline_table",
    "transitions_table",
]
