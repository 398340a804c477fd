"""Building the plugin manager, and the typed view of what plugins registered.

There is no module-level plugin manager: :func:`make_plugin_manager` builds a
fresh one for each engine, so tests and applications never share state through
it. Type checkers cannot see ``pm.hook.*``; domain code goes through
:class:`Registry` instead.

Most hooks are called one implementation at a time (see
:data:`CALLED_ONE_AT_A_TIME`), through the documented attributes of
:class:`pluggy.HookImpl`: pluggy's own call stops at the first exception and
cannot say which plugin registered what. A wrapper of such a hook would never
run, so :func:`make_plugin_manager` refuses it rather than ignore it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import pluggy

from complaint_flow.definitions.escalation import EscalationLevel
from complaint_flow.definitions.workflow import WorkflowDefinition
from complaint_flow.errors import (
    PluginError,
    UnknownChannelError,
    UnknownStoreError,
    UnknownWorkflowError,
)
from complaint_flow.model.channels import Channel, ChannelAdapter
from complaint_flow.model.entities import Actor, Complaint, Event, OutboxMessage
from complaint_flow.plugins import hookspecs
from complaint_flow.plugins.guards import Guard
from complaint_flow.storage.contract import Store, StoreFactory, scheme_of

logger = logging.getLogger("complaint_flow.plugins")

DISABLE_AUTOLOAD_ENV = "COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD"
"""Set to ``1`` to skip loading plugins from the ``complaint_flow`` entry points."""

Callback = Callable[[Complaint, Event], None]
"""A named callback a workflow lists under ``before``, ``after`` or ``on_enter``."""

_SO_A_CLASH_NAMES_BOTH = "so that two plugins registering one name can both be named"
CALLED_ONE_AT_A_TIME: Mapping[str, str] = MappingProxyType(
    {
        "complaint_flow_register_stores": _SO_A_CLASH_NAMES_BOTH,
        "complaint_flow_register_channels": _SO_A_CLASH_NAMES_BOTH,
        "complaint_flow_register_workflows": _SO_A_CLASH_NAMES_BOTH,
        "complaint_flow_register_guards": _SO_A_CLASH_NAMES_BOTH,
        "complaint_flow_register_callbacks": _SO_A_CLASH_NAMES_BOTH,
        "complaint_flow_notify": "so that one failing notifier does not stop the others",
        "complaint_flow_received": "so that one failing observer does not stop the others",
        "complaint_flow_transition": "so that one failing observer does not stop the others",
    }
)
"""The hooks :class:`Registry` calls one implementation at a time, and why.

A ``wrapper=True`` or ``hookwrapper=True`` implementation of one of them is
refused. The other hook, ``complaint_flow_escalation_target``, is called
through pluggy, so wrappers of it work.
"""


def default_plugins() -> list[object]:
    """The built-in plugins: stores, channels, guards, escalation target, packs, notifier."""
    from complaint_flow.plugins import (
        channels,
        escalation_target,
        guards,
        logging_notifier,
        packs,
        stores,
    )

    return [stores, channels, guards, escalation_target, packs, logging_notifier]


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
        PluginError: a plugin implements a hook that does not exist (a misspelt name),
            or wraps (``wrapper=True``/``hookwrapper=True``) a hook that is called one
            implementation at a time (:data:`CALLED_ONE_AT_A_TIME`).
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
            "complaint_flow.plugins.hookspecs (check the spelling)"
        ) from None
    _refuse_wrappers_of_single_calls(pm)
    return pm


def _refuse_wrappers_of_single_calls(pm: pluggy.PluginManager) -> None:
    for hook, why in CALLED_ONE_AT_A_TIME.items():
        for impl in getattr(pm.hook, hook).get_hookimpls():
            if impl.wrapper or impl.hookwrapper:
                option = "wrapper=True" if impl.wrapper else "hookwrapper=True"
                raise PluginError(
                    f"plugin {_plugin_label(impl)} implements {hook} with {option}, but "
                    f"complaint_flow calls {hook} one implementation at a time, {why}, "
                    "so a wrapper would never run; implement it as a plain @hookimpl "
                    "(only complaint_flow_escalation_target may be wrapped)"
                )


def _name_of(plugin: object) -> str:
    return str(getattr(plugin, "__name__", None) or type(plugin).__name__)


def _plugin_label(impl: pluggy.HookImpl) -> str:
    """The plugin's name, or its class when pluggy named an unnamed object by its id."""
    if impl.plugin_name == str(id(impl.plugin)):
        return f"{type(impl.plugin).__name__!r} (registered as {impl.plugin_name!r})"
    return repr(impl.plugin_name)


def _call(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    """Call one hook implementation as pluggy does: with the arguments it names.

    ``function`` and ``argnames`` are documented attributes of :class:`pluggy.HookImpl`;
    pluggy has no public way to call a single implementation.
    """
    return impl.function(*(kwargs[name] for name in impl.argnames))


class Registry:
    """What the plugins of one plugin manager provide, collected once, typed.

    Raises:
        PluginError: two plugins register one name, or a wrapper of a hook that is
            called one implementation at a time (see :func:`make_plugin_manager`).
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        # Again here: a manager built by hand must not have its wrappers ignored either.
        _refuse_wrappers_of_single_calls(pm)
        self.pm = pm
        self.stores: dict[str, StoreFactory] = {}
        self.channels: dict[str, Channel] = {}
        self.adapters: dict[str, ChannelAdapter] = {}
        """The channels that move messages themselves (email, an SMS gateway), by name."""
        self.workflows: dict[str, WorkflowDefinition] = {}
        self.guards: dict[str, Guard] = {}
        self.callbacks: dict[str, Callback] = {}
        self._owners: dict[tuple[str, str], tuple[str, bool]] = {}
        self._register_each(
            pm.hook.complaint_flow_register_stores,
            "store",
            self.stores,
            lambda name, factory: (name, factory),
        )
        self._register_each(
            pm.hook.complaint_flow_register_channels,
            "channel",
            self.channels,
            self._channel_entry,
        )
        self._register_each(
            pm.hook.complaint_flow_register_workflows,
            "workflow",
            self.workflows,
            lambda workflow: (workflow.name, workflow),
        )
        self._register_each(
            pm.hook.complaint_flow_register_guards,
            "guard",
            self.guards,
            lambda name, guard: (name, guard),
        )
        self._register_each(
            pm.hook.complaint_flow_register_callbacks,
            "callback",
            self.callbacks,
            lambda name, callback: (name, callback),
        )
        # Observers are looked up once: calling an unimplemented hook on every
        # transition would cost as much as a fifth of an in-memory fire.
        self.observes_received = bool(pm.hook.complaint_flow_received.get_hookimpls())
        """Whether any plugin observes new complaints (looked up once)."""
        self.observes_transitions = bool(pm.hook.complaint_flow_transition.get_hookimpls())
        """Whether any plugin observes transitions (looked up once)."""

    def _channel_entry(self, registered: Channel | ChannelAdapter) -> tuple[str, Channel]:
        """A registered channel, or an adapter's channel (the adapter kept for sending)."""
        if isinstance(registered, Channel):
            self.adapters.pop(registered.name, None)
            return registered.name, registered
        if isinstance(registered, ChannelAdapter) and isinstance(registered.channel, Channel):
            self.adapters[registered.channel.name] = registered
            return registered.channel.name, registered.channel
        raise PluginError(
            f"a channel registration must be a Channel or a ChannelAdapter (an object with "
            f"a `channel`, `parse` and `send`), got {registered!r}"
        )

    def _register_each(
        self,
        hook: Any,
        kind: str,
        table: dict[str, Any],
        entry: Callable[..., tuple[str, Any]],
    ) -> None:
        """Call each implementation on its own, so a name clash can name both plugins.

        A plugin may override a built-in (``trylast``) registration of the same
        name; two ordinary plugins claiming one name is an error.
        """
        for impl in hook.get_hookimpls():  # built-ins (trylast) come first
            is_default = impl.trylast

            def register(
                *args: Any, _impl: pluggy.HookImpl = impl, _default: bool = is_default
            ) -> None:
                name, value = entry(*args)
                plugin = _plugin_label(_impl)
                if not isinstance(name, str) or not name:
                    raise PluginError(f"plugin {plugin} registered a {kind} without a name")
                if kind in ("guard", "callback") and not callable(value):
                    raise PluginError(
                        f"plugin {plugin} registered {kind} {name!r} as {value!r}, which is "
                        f"not callable; register the function itself"
                    )
                previous = self._owners.get((kind, name))
                if previous is not None:
                    owner, owner_is_default = previous
                    if not (owner_is_default and not _default):
                        raise PluginError(
                            f"{kind} {name!r} is registered by both {owner} and {plugin}; "
                            f"uninstall one of them or rename the {kind}"
                        )
                self._owners[(kind, name)] = (plugin, _default)
                table[name] = value

            _call(impl, register=register)

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

    def callback(self, name: str) -> Callback:
        """The callback registered as ``name``.

        Raises:
            PluginError: no plugin registered a callback of that name.
        """
        try:
            return self.callbacks[name]
        except KeyError:
            known = ", ".join(sorted(self.callbacks)) or "none"
            raise PluginError(
                f"no callback {name!r} is registered (registered callbacks: {known}); "
                "check the spelling, or install the plugin that registers it with "
                "complaint_flow_register_callbacks"
            ) from None

    # -- calls --------------------------------------------------------------

    def notify(self, message: OutboxMessage, complaint: Complaint | None) -> None:
        """Give the message to every notifier, even when an earlier one fails.

        Raises:
            Exception: the one failure, or an ``ExceptionGroup`` of several, after
                every notifier had its turn.
        """
        failures: list[Exception] = []
        for impl in reversed(self.pm.hook.complaint_flow_notify.get_hookimpls()):
            try:
                _call(impl, message=message, complaint=complaint)
            except Exception as exc:
                exc.add_note(f"raised by notifier plugin {_plugin_label(impl)}")
                failures.append(exc)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ExceptionGroup(f"{len(failures)} notifiers failed", failures)

    def escalation_target(
        self, complaint: Complaint, actor: Actor | None, level: EscalationLevel
    ) -> Actor:
        """Who takes the complaint at ``level`` (the org chart plugin, else the ladder)."""
        target = self.pm.hook.complaint_flow_escalation_target(
            complaint=complaint, actor=actor, level=level
        )
        if not isinstance(target, Actor):
            raise PluginError(
                f"complaint_flow_escalation_target returned {target!r} for level "
                f"{level.number}; an implementation must return an Actor or None"
            )
        return target

    def received(self, complaint: Complaint, event: Event) -> None:
        if self.observes_received:
            self._observe(self.pm.hook.complaint_flow_received, complaint, event)

    def transition(self, complaint: Complaint, event: Event) -> None:
        if self.observes_transitions:
            self._observe(self.pm.hook.complaint_flow_transition, complaint, event)

    def run_callbacks(self, names: Iterable[str], complaint: Complaint, event: Event) -> None:
        """Run after-commit callbacks (``after``, ``on_enter``) in order, each on its own.

        A callback that raises is logged, with its name and plugin, on the
        ``complaint_flow.plugins`` logger; the others still run and nothing is raised,
        since the change they follow is already committed.

        Raises:
            PluginError: a name no plugin registered, before any callback runs.
        """
        named = [(name, self.callback(name)) for name in names]
        for name, callback in named:
            try:
                callback(complaint, event)
            except Exception:
                logger.exception(
                    "callback %r of plugin %s after %s on %s failed",
                    name,
                    self._owners[("callback", name)][0],
                    event.kind,
                    complaint.reference,
                )

    def _observe(self, hook: Any, complaint: Complaint, event: Event) -> None:
        # Each observer on its own: one that fails must neither silence the
        # others nor make the committed change look failed.
        for impl in reversed(hook.get_hookimpls()):
            try:
                _call(impl, complaint=complaint, event=event)
            except Exception:
                logger.exception(
                    "observer %s of %s on %s failed",
                    _plugin_label(impl),
                    event.kind,
                    complaint.reference,
                )

    def describe(self) -> list[Mapping[str, Any]]:
        """One row per loaded plugin: its name and the hooks it implements."""
        rows: list[Mapping[str, Any]] = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ())
            rows.append({"name": name, "hooks": hooks, "plugin": plugin})
        return rows
