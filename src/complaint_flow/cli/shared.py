"""What every ``complaint-flow`` command shares: the console, failing, options, opening a store.

A refusal of the library (a :class:`~complaint_flow.errors.ComplaintFlowError`)
is printed in red on standard error and the command exits with status 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.text import Text

from complaint_flow.cli.refusals import in_cli_words
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.engine import DEFAULT_STORE_URL, Engine
from complaint_flow.errors import (
    ComplaintFlowError,
    StoreError,
    UnknownStoreError,
    UnknownWorkflowError,
)
from complaint_flow.plugins.manager import Registry, make_plugin_manager
from complaint_flow.storage.contract import scheme_of
from complaint_flow.storage.sqlite import parse_sqlite_url

F = TypeVar("F", bound=Callable[..., Any])

STORE_ENV = "COMPLAINT_FLOW_STORE"
"""The environment variable naming the store URL of every command except ``demo``."""

PLAIN_WIDTH = 120
"""Output width when writing to a file or pipe and ``COLUMNS`` is not set."""


# -- the console and failing ----------------------------------------------------------


def console() -> Console:
    """The console commands print to: the terminal's width, else ``PLAIN_WIDTH`` columns."""
    found = Console(highlight=False)
    if not found.is_terminal and "COLUMNS" not in os.environ:
        # Piped output is read in files and logs: 80 columns would squash the tables.
        found = Console(highlight=False, width=PLAIN_WIDTH)
    return found


def error_console() -> Console:
    """The console for messages on standard error."""
    return Console(stderr=True, highlight=False)


def fail(message: str) -> NoReturn:
    """Print ``message`` in red on standard error and end the command with status 1."""
    error_console().print(Text(f"Error: {message}", style="bold red"), soft_wrap=True)
    raise click.exceptions.Exit(1)


class CommandGroup(click.Group):
    """A command group that turns the library's refusals into a red message and status 1.

    The message is put in the command line's words (see
    :func:`~complaint_flow.cli.refusals.in_cli_words`). Every group of the command
    line is one, so a group invoked on its own (as the tests do) behaves as under
    ``complaint-flow``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ComplaintFlowError as exc:
            known = load_registry().workflows if isinstance(exc, UnknownWorkflowError) else None
            fail(in_cli_words(exc, workflows=known, options=options_of(ctx)))


def options_of(ctx: click.Context) -> set[str]:
    """The options of the subcommand ``ctx`` is running (empty if none could be found)."""
    name = ctx.invoked_subcommand
    group = ctx.command
    command = group.get_command(ctx, name) if name and isinstance(group, click.Group) else None
    return _options(command)


def _options(command: click.Command | None) -> set[str]:
    if command is None:
        return set()
    return {option for param in command.params for option in param.opts}


# -- options ----------------------------------------------------------------------------


def non_blank(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The callback of an option or argument that must not be blank (names, ids, reasons).

    The library refuses blank ones too, but in terms of its own arguments.
    """
    if value is not None and not value.strip():
        raise click.BadParameter("must not be blank")
    return value


def store_option(func: F) -> F:
    """``--store URL`` (also ``$COMPLAINT_FLOW_STORE``), as every command but ``demo`` takes it."""
    option = click.option(
        "--store",
        "store_url",
        envvar=STORE_ENV,
        default=DEFAULT_STORE_URL,
        show_default=True,
        metavar="URL",
        help=f"Store URL (memory://, sqlite:///path.db…); also read from ${STORE_ENV}.",
    )
    return option(func)


def workflow_file_option(func: F) -> F:
    """``--workflow-file PATH`` (repeatable): workflows from TOML files, for this command."""
    option = click.option(
        "--workflow-file",
        "workflow_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="PATH",
        help="Register the TOML workflow in PATH for this command (repeatable): for "
        "complaints following a workflow that no installed plugin registers.",
    )
    return option(func)


def parse_data(items: Iterable[str]) -> dict[str, str]:
    """Turn ``key=value`` texts (from ``--data``) into a mapping; values stay text.

    Each item is split at its first ``=``; a later item overrides an earlier key.

    Raises:
        click.BadParameter: an item has no ``=`` or an empty key.
    """
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"{item!r} is not key=value (e.g. --data facts='Box crushed in transit')"
            )
        data[key.strip()] = value
    return data


def data_callback(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    """The callback of a ``--data KEY=VALUE`` option: its items as a mapping."""
    return parse_data(value)


def moment_callback(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime | None:
    """The callback of an option taking an ISO date or time (UTC unless it says otherwise)."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or time; use e.g. 2026-03-31 or 2026-03-31T17:00+00:00"
        ) from None
    return at if at.utcoffset() is not None else at.replace(tzinfo=UTC)


# -- workflows and stores ---------------------------------------------------------------


def load_registry() -> Registry:
    """What the installed plugins register: stores, channels, workflows, guards."""
    return Registry(make_plugin_manager())


def require_store(store_url: str) -> None:
    """Fail unless the SQLite file of ``store_url`` exists (other stores are not checked).

    Opening a SQLite store creates its file: a command that only reads would
    otherwise turn a mistyped path into an empty store and report that nothing
    matches.
    """
    if scheme_of(store_url) != "sqlite":
        return
    try:
        path = parse_sqlite_url(store_url).path
    except StoreError:
        return  # opening the store explains what is wrong with the URL
    if not os.path.exists(path):
        fail(
            f"no store at {store_url}: {path} does not exist (a command that only reads "
            f"does not create one). Check the store URL (--store or ${STORE_ENV}); to create "
            f"a store there, run `complaint-flow demo --store {store_url}` (sample "
            "complaints) or let your application store its first complaint in it."
        )


@contextmanager
def open_engine(
    store_url: str,
    *,
    must_exist: bool = False,
    workflow: str | None = None,
    workflow_files: Sequence[Path] = (),
) -> Iterator[Engine]:
    """An engine on ``store_url``, with the workflows of ``workflow_files`` registered and checked.

    ``must_exist`` is for commands that only read: they fail on a SQLite file that
    does not exist instead of creating it (see :func:`require_store`). The default
    workflow is ``workflow`` (a registered name or the name of one of the files),
    else the first file's, else the engine's own default. The engine is closed on
    leaving the ``with`` block.
    """
    if must_exist:
        require_store(store_url)
    running = click.get_current_context(silent=True)
    options = _options(running.command if running is not None else None)
    definitions = [WorkflowDefinition.load(path) for path in workflow_files]
    by_name: dict[str, WorkflowDefinition] = {}
    for path, definition in zip(workflow_files, definitions, strict=True):
        if definition.name in by_name:
            raise click.UsageError(
                f"two --workflow-file files define the workflow {definition.name!r} "
                f"(the second is {path}); give each workflow once"
            )
        by_name[definition.name] = definition
    try:
        if workflow is not None:
            engine = Engine.open(store_url, workflow=by_name.get(workflow, workflow))
        elif definitions:
            engine = Engine.open(store_url, workflow=definitions[0])
        else:
            engine = Engine.open(store_url)
    except UnknownStoreError as exc:
        fail(f"{exc} Check the store URL (--store or ${STORE_ENV}).")
    except ComplaintFlowError as exc:
        known = [*load_registry().workflows, *by_name]
        fail(in_cli_words(exc, store_url=store_url, workflows=known, options=options))
    with engine:
        try:
            for definition in definitions:
                engine.registry.workflows[definition.name] = definition
                # Refuse a broken file now, not half-way through a sweep.
                engine.workflow(definition.name)
            yield engine
        except ComplaintFlowError as exc:
            fail(
                in_cli_words(
                    exc, store_url=store_url, workflows=engine.registry.workflows, options=options
                )
            )


__all__ = [
    "PLAIN_WIDTH",
    "STORE_ENV",
    "CommandGroup",
    "console",
    "data_callback",
    "error_console",
    "fail",
    "load_registry",
    "moment_callback",
    "non_blank",
    "open_engine",
    "options_of",
    "parse_data",
    "require_store",
    "store_option",
    "workflow_file_option",
]
