"""``complaint-flow guide --rank agent``: the escalation routine customised for one rank."""

from __future__ import annotations

from pathlib import Path

import click

from complaint_flow.cli.refusals import in_cli_words
from complaint_flow.cli.render.satisfaction import guide_view
from complaint_flow.cli.shared import console, fail, load_registry
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.engine import Engine
from complaint_flow.errors import ComplaintFlowError
from complaint_flow.services.staff_guides import staff_guide


def _definition(name: str | None) -> WorkflowDefinition | str:
    if name is None:
        return "tactics"
    if name.endswith(".toml") or Path(name).is_file():
        return WorkflowDefinition.load(name)
    return name


@click.command()
@click.option(
    "--rank",
    required=True,
    metavar="ROLE|NUMBER",
    help="The rank: a role of the workflow (agent, supervisor…) or a rank number (1 = frontline).",
)
@click.option(
    "--workflow",
    default=None,
    metavar="NAME|FILE",
    help="A registered workflow or a workflow's .toml file (default: tactics).",
)
@click.option("--markdown", is_flag=True, help="Print plain Markdown, to hand out or print.")
def guide(rank: str, workflow: str | None, markdown: bool) -> None:
    """Print the staff guide for a rank: whom to escalate to, when, contacts, what to grant."""
    try:
        chosen = _definition(workflow)
        with Engine.open("memory://", workflow=chosen) as engine:
            found = staff_guide(engine, rank)
    except ComplaintFlowError as exc:
        fail(in_cli_words(exc, workflows=load_registry().workflows, options={"--workflow"}))
    if markdown:
        click.echo(found.to_markdown(), nl=False)
        return
    console().print(guide_view(found))


__all__ = ["guide"]
