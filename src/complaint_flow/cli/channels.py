"""``complaint-flow channels``: the web form's schema, and sample letters from the templates."""

from __future__ import annotations

import json
from pathlib import Path

import click

from complaint_flow.channels.letters import LetterContext, Letters
from complaint_flow.channels.web_form import web_form_schema
from complaint_flow.cli.shared import CommandGroup, fail, load_registry
from complaint_flow.definitions.workflow import WorkflowDefinition


@click.group(cls=CommandGroup)
def channels() -> None:
    """Channels: email in (take, poll, quarantine), the web form's schema, letters."""


@channels.command(name="web-form-schema")
def web_form_schema_command() -> None:
    """Print the web form's JSON Schema (Draft 2020-12), to publish or to build a form from."""
    click.echo(json.dumps(web_form_schema(), indent=2, ensure_ascii=False))


@channels.command(name="letter")
@click.argument("letter")
@click.option(
    "--pack",
    metavar="NAME",
    help="The workflow whose rules and templates apply (e.g. fca); none by default.",
)
@click.option("--language", default="en", show_default=True, help="The language of the letter.")
@click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    metavar="DIR",
    help="A directory of your own templates, searched first (repeat for several).",
)
@click.option("--html", is_flag=True, help="Print the HTML version instead of the text.")
def letter_command(
    letter: str, pack: str | None, language: str, template_dirs: tuple[Path, ...], html: bool
) -> None:
    """Write the letter LETTER for a sample complaint, checked against the pack's rules.

    LETTER is e.g. acknowledgement, holding_reply, final_response, summary_resolution,
    escalation_notice or satisfaction_check.
    """
    letters = Letters(_rules(pack), override_dirs=template_dirs)
    written = letters.render(letter, LetterContext.sample(language), language)
    if html:
        if written.html is None:
            fail(
                f"the {letter} letter has no HTML template beside {written.template}; add "
                f"{Path(written.template).with_suffix('.html').name} there, or leave out --html"
            )
        click.echo(written.html)
        return
    click.echo(f"Subject: {written.subject}\n")
    click.echo(written.text, nl=False)


def _rules(pack: str | None) -> WorkflowDefinition | None:
    if pack is None:
        return None
    registry = load_registry()
    if pack not in registry.workflows:
        known = ", ".join(repr(name) for name in sorted(registry.workflows))
        fail(f"no workflow named {pack!r} is registered here; known workflows: {known}")
    return registry.workflow(pack)


__all__ = ["channels"]
