"""Registers the shipped workflow packs as a default plugin."""

from __future__ import annotations

from collections.abc import Callable

from complaint_flow.hookspecs import hookimpl
from complaint_flow.packs import load_pack, pack_names
from complaint_flow.workflow import WorkflowDefinition


@hookimpl(trylast=True)
def complaint_flow_register_workflows(register: Callable[[WorkflowDefinition], None]) -> None:
    for name in pack_names():
        register(load_pack(name))
