"""Ready workflows shipped with complaint_flow (``tactics``)."""

from __future__ import annotations

from importlib import resources

from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import UnknownWorkflowError


def pack_names() -> list[str]:
    """The names of the shipped workflow packs."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(".toml")
    )


def load_pack(name: str) -> WorkflowDefinition:
    """Load a shipped workflow by name.

    Raises:
        UnknownWorkflowError: no pack has that name.
    """
    if name not in pack_names():
        raise UnknownWorkflowError(name, pack_names())
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return WorkflowDefinition.from_toml(text)
