"""Building the plugin manager, and the typed view of what plugins registered.

There is no module-level plugin manager: :func:`make_plugin_manager` builds a
fresh one for each engine, so tests and applications never share state through
it. Type checkers cannot see ``pm.hook.*``; domain code goes through
:class:`Registry` instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pluggy

from complaint_flow import hookspecs
from complaint_flow.channels import Channel
from complaint_flow.entities import Complaint, Event, OutboxMessage
from complaint_flow.errors import (
    PluginError,
    UnknownChannelError,
    UnknownStoreError,
    UnknownWorkflowError,
)
from complaint_flow.guards import Guard
from complaint_flow.store import Store, StoreFactory, scheme_of
from complaint_flow.workflow import WorkflowDefinition

logger = logging.getLogger("complaint_flow.plugins")

DISABLE_AUTOLOAD_ENV = "COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD"
"""Set to ``1`` to skip loading plugins from the ``complaint_flow`` entry points."""


def default_plugins() -> list[object]:
    """The built-in plugins: stores, channels, guards, workflow packs, logging notifier."""
    from complaint_flow import guards
    from complaint_flow.channels import builtin as channels
    from complaint_flow.notify import logging_notifier
    from complaint_flow.packs import plugin as packs
    from complaint_flow.stores import plugin as stores

    return [stores, channels, guards, packs, logging_notifier]


def make_plugin_manager(
    plugins: Iterable[object] = (), *, load_entry_points: bool | None = None
) -> pluggy.PluginManager:
    """A fresh plugin manager with the default plugins, entry points and ``plugins``.

    Args:
        plugins: extra plugin objects or modules to register (after the defaults).
        load_entry_points: load installed plugins from the ``complaint_flow``
            entry-point group; by default yes, unless the environment variable
            ``COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD=1`` is set.

    Raises:
        PluginError: a plugin implements a hook that does not exist (a misspelt name).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in default_plugins():
        pm.register(plugin, name=_name_of(plugin))
    if load_entry_points is None:
        load_entry_points = os.environ.get(DISABLE_AUTOLOAD_ENV, "") not in ("1", "true", "yes")
    if load_entry_points:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    for plugin in plugins:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(
            f"{exc}; hook names must be one of the complaint_flow_* hooks in "
            "complaint_flow.hookspecs (check the spelling)"
        ) from None
    return pm


def _name_of(plugin: object) -> str:
    return str(getattr(plugin, "__name__", None) or type(plugin).__name__)


class Registry:
    """What the plugins of one plugin manager provide, collected once, typed."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.stores: dict[str, StoreFactory] = {}
        self.channels: dict[str, Channel] = {}
        self.workflows: dict[str, WorkflowDefinition] = {}
        self.guards: dict[str, Guard] = {}
        # Hooks run first-registered-last, so built-ins (trylast) come after plugins;
        # a plugin may override a built-in, but two plugins may not claim one name.
        pm.hook.complaint_flow_register_stores(register=self._collect(self.stores, "store"))
        pm.hook.complaint_flow_register_channels(
            register=lambda channel: self._add(self.channels, "channel", channel.name, channel)
        )
        pm.hook.complaint_flow_register_workflows(
            register=lambda wf: self._add(self.workflows, "workflow", wf.name, wf)
        )
        pm.hook.complaint_flow_register_guards(register=self._collect(self.guards, "guard"))
        # Observers are looked up once: calling an unimplemented hook on every
        # transition would cost as much as a fifth of an in-memory fire.
        self._observes_received = bool(pm.hook.complaint_flow_received.get_hookimpls())
        self._observes_transition = bool(pm.hook.complaint_flow_transition.get_hookimpls())

    def _collect(self, table: dict[str, Any], kind: str) -> Callable[[str, Any], None]:
        def register(name: str, value: Any) -> None:
            self._add(table, kind, name, value)

        return register

    def _add(self, table: dict[str, Any], kind: str, name: str, value: Any) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"a {kind} must be registered under a non-empty name, got {name!r}")
        if name in table:
            # Registration hooks run non-default plugins first; a later (default)
            # registration of the same name is the built-in being overridden.
            logger.debug("%s %r already registered by a plugin; keeping it", kind, name)
            return
        table[name] = value

    # -- lookups with helpful errors -----------------------------------------

    def open_store(self, url: str) -> Store:
        """Open the store for ``url`` with the factory registered for its scheme."""
        if not isinstance(url, str):
            raise UnknownStoreError(repr(url), self.stores, "a store URL must be a string")
        scheme = scheme_of(url)
        factory = self.stores.get(scheme)
        if factory is None:
            detail = "no scheme" if not scheme else f"no store for scheme {scheme!r}"
            raise UnknownStoreError(url, self.stores, detail)
        return factory(url)

    def channel(self, name: str) -> Channel:
        try:
            return self.channels[name]
        except KeyError:
            raise UnknownChannelError(name, self.channels) from None

    def workflow(self, name: str) -> WorkflowDefinition:
        try:
            return self.workflows[name]
        except KeyError:
            raise UnknownWorkflowError(name, self.workflows) from None

    # -- calls --------------------------------------------------------------

    def notify(self, message: OutboxMessage, complaint: Complaint) -> None:
        self.pm.hook.complaint_flow_notify(message=message, complaint=complaint)

    def received(self, complaint: Complaint, event: Event) -> None:
        if self._observes_received:
            self._observe(self.pm.hook.complaint_flow_received, complaint, event)

    def transition(self, complaint: Complaint, event: Event) -> None:
        if self._observes_transition:
            self._observe(self.pm.hook.complaint_flow_transition, complaint, event)

    def _observe(self, hook: Any, complaint: Complaint, event: Event) -> None:
        try:
            hook(complaint=complaint, event=event)
        except Exception:
            # The change is committed; an observer's failure must not look like
            # the transition failed.
            logger.exception("observer of %s on %s failed", event.kind, complaint.reference)

    def describe(self) -> list[Mapping[str, Any]]:
        """One row per loaded plugin: its name and the hooks it implements."""
        rows: list[Mapping[str, Any]] = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ())
            rows.append({"name": name, "hooks": hooks, "plugin": plugin})
        return rows
