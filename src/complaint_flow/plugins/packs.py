"""Registers the shipped workflow packs as a default plugin."""

from __future__ import annotations

from collections.abc import Callable

from complaint_flow.definitions.packs import load_pack, pack_names
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def complaint_flow_register_workflows(register: Callable[[WorkflowDefinition], None]) -> None:
    for name in pack_names():
        register(load_pack(name))
