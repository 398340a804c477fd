"""Command groups of the ``complaint-flow`` command line kept outside ``cli.py``.

``audit`` (:mod:`.audit`), ``privacy`` and ``retention`` (:mod:`.privacy`) are
registered on the main command by :mod:`complaint_flow.cli`. These modules
import the command line's helpers only when a command runs, so that either
side may be imported first without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from complaint_flow.engine import DEFAULT_STORE_URL
from complaint_flow.errors import ComplaintFlowError

F = TypeVar("F", bound=Callable[..., Any])

STORE_ENV = "COMPLAINT_FLOW_STORE"
"""The environment variable naming the store URL of every command except ``demo``."""


class CommandGroup(click.Group):
    """A command group that turns the library's refusals into a red message and status 1.

    The main command does the same for its own commands; this keeps it when a
    group is invoked on its own (as the tests do).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ComplaintFlowError as exc:
            from complaint_flow.cli import _fail

            _fail(str(exc))


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


__all__ = ["STORE_ENV", "CommandGroup", "store_option"]
