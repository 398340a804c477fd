"""The library's refusals in the words of the command line.

The library's messages speak to Python callers (``data={...}``,
``engine.find()``, "register it with the hook"); at the command line the way out
is an option or another command. Refusals whose message already suits both are
passed on as they are.
"""

from __future__ import annotations

from collections.abc import Collection

from complaint_flow.errors import (
    ComplaintFlowError,
    ComplaintNotFoundError,
    ConcurrencyError,
    MissingFieldError,
    UnknownWorkflowError,
)


def _names(names: Collection[str]) -> str:
    return ", ".join(repr(name) for name in sorted(names)) or "(none)"


def in_cli_words(
    exc: ComplaintFlowError,
    *,
    store_url: str | None = None,
    workflows: Collection[str] | None = None,
    options: Collection[str] = (),
) -> str:
    """What to print for ``exc``, raised while a command ran.

    Args:
        exc: the library's refusal.
        store_url: the store the command opened, if it got that far.
        workflows: the names of the workflows registered for the command, if known.
        options: the options the command takes (``--data``, ``--workflow-file``…):
            a message points only to options the command has.
    """
    if isinstance(exc, ComplaintNotFoundError):
        where = f"the store {store_url}" if store_url else "this store"
        listing = f"complaint-flow list --store {store_url}" if store_url else "complaint-flow list"
        return (
            f"no complaint {exc.key!r} in {where}; check the reference or id "
            f"(`{listing}` shows the stored complaints)"
        )
    if isinstance(exc, MissingFieldError) and "--data" in options:
        them = "it" if len(exc.missing) == 1 else "them"
        return (
            f"trigger {exc.trigger!r} requires {_names(exc.missing)}; give {them} with "
            f"--data KEY=VALUE (e.g. --data {exc.missing[0]}='…'), or record {them} on the "
            "complaint in an earlier step, and fire again"
        )
    if isinstance(exc, UnknownWorkflowError):
        known = f"; known workflows: {_names(workflows)}" if workflows is not None else ""
        if "--workflow-file" in options:
            way = "pass its TOML file with --workflow-file PATH, or install the plugin that "
            way += "registers it"
        else:
            way = "install the plugin that registers it"
        return f"no workflow named {exc.name!r} is registered here{known}. To use it, {way}."
    if isinstance(exc, ConcurrencyError):
        return (
            f"complaint {exc.complaint_id!r} is no longer at version {exc.expected_version}: "
            "it changed while this command ran, and nothing was written. Run the command "
            "again."
        )
    return str(exc)


__all__ = ["in_cli_words"]
