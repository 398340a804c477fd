"""The hooks through which plugins extend complaint_flow.

Project name and entry-point group: ``complaint_flow``. A plugin is a module or
object with functions decorated ``@complaint_flow.hookimpl``; an installable
plugin adds one line to its ``pyproject.toml``::

    [project.entry-points.complaint_flow]
    my_plugin = "my_package.my_module"

Registration hooks receive a ``register`` callback (call it once per thing you
provide). Built-in stores, channels, guards, workflows and notifiers are
ordinary default plugins registered the same way. Only
``complaint_flow_escalation_target`` may be implemented as a wrapper
(``wrapper=True``): the others are called one implementation at a time (see
``complaint_flow.plugins.manager.CALLED_ONE_AT_A_TIME``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from complaint_flow.definitions.escalation import EscalationLevel
    from complaint_flow.definitions.workflow import WorkflowDefinition
    from complaint_flow.model.channels import Channel, ChannelAdapter
    from complaint_flow.model.entities import Actor, Complaint, Event, OutboxMessage
    from complaint_flow.storage.contract import StoreFactory

PROJECT = "complaint_flow"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def complaint_flow_register_stores(register: Callable[[str, StoreFactory], None]) -> None:
    """Register store factories by URL scheme: ``register("redis", open_redis_store)``.

    The factory receives the whole URL and returns an object implementing
    :class:`complaint_flow.storage.contract.Store`.

    :param register: call with ``(scheme, factory)``.

    .. versionadded:: 0.1
    """


@hookspec
def complaint_flow_register_channels(
    register: Callable[[Channel | ChannelAdapter], None],
) -> None:
    """Register channels complaints arrive on and replies go out on.

    :param register: call with a :class:`complaint_flow.model.channels.Channel`, or
        with a :class:`complaint_flow.model.channels.ChannelAdapter` for a channel
        that sends its own messages (the outbox delivery then hands each message on
        that channel to the adapter's ``send``). A plugin's registration replaces a
        built-in channel of the same name.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2 adapters.
    """


@hookspec
def complaint_flow_register_workflows(register: Callable[[WorkflowDefinition], None]) -> None:
    """Register workflow definitions, selectable by name in ``Engine.open(workflow=...)``.

    :param register: call with a :class:`complaint_flow.definitions.workflow.WorkflowDefinition`.

    .. versionadded:: 0.1
    """


@hookspec
def complaint_flow_register_guards(
    register: Callable[[str, Callable[[Complaint, Actor, Mapping[str, Any]], str | None]], None],
) -> None:
    """Register named guards that workflow transitions can list under ``guards``.

    A guard returns ``None`` to allow a transition, or the reason it refuses.

    :param register: call with ``(name, guard)``.

    .. versionadded:: 0.1
    """


@hookspec
def complaint_flow_register_callbacks(
    register: Callable[[str, Callable[[Complaint, Event], None]], None],
) -> None:
    """Register named callbacks that workflows list under ``before``, ``after`` and ``on_enter``.

    A callback is called as ``callback(complaint, event)``. ``before`` callbacks
    (of a transition) run inside the transition, before anything is written, with
    the complaint before the step and the event about to be written; raising
    refuses the transition. ``after`` (of a transition) and ``on_enter`` (of a
    state) callbacks run once, after the change is committed, with the new
    version; an exception there is logged and does not undo the change.

    :param register: call with ``(name, callback)``.

    .. versionadded:: 0.2
    """


@hookspec
def complaint_flow_notify(message: OutboxMessage, complaint: Complaint | None) -> None:
    """Deliver a notification (broadcast: every implementation is called).

    Called by the outbox dispatcher, at least once per message: use
    ``message.key`` to drop duplicates. Raising marks the delivery as failed;
    it is retried and never lost.

    :param message: what to tell whom, on which channel and address.
    :param complaint: the complaint's latest version; ``None`` for a stop-procedure
        notice (``message.complaint_id`` is then the conduct record's id,
        ``conduct:<customer id>``, and ``message.payload["text"]`` the letter).

    .. versionadded:: 0.1
    """


@hookspec
def complaint_flow_received(complaint: Complaint, event: Event) -> None:
    """Observe a new complaint, after it is committed.

    :param complaint: the stored complaint (with its reference).
    :param event: its ``received`` event.

    .. versionadded:: 0.1
    """


@hookspec
def complaint_flow_transition(complaint: Complaint, event: Event) -> None:
    """Observe a transition, after it is committed (e.g. to update a dashboard).

    An exception raised here is logged and does not undo the committed transition.

    :param complaint: the complaint's new version.
    :param event: the ``transition`` event (``trigger``, ``source``, ``dest``, ``actor``).

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def complaint_flow_escalation_target(
    complaint: Complaint, actor: Actor | None, level: EscalationLevel
) -> Actor | None:
    """Who takes a complaint escalated to ``level`` (first non-``None`` answer wins).

    Plug in the host's org chart here: an agent escalates to *their own* manager,
    not to an unrelated department. The built-in static ladder (``trylast``)
    answers with the level's own contact.

    :param complaint: the complaint being escalated (before the escalation).
    :param actor: who escalates, or ``None`` when a missed deadline escalates it.
    :param level: the ladder level it goes to (``level.number``, ``role``, ``rank``,
        contact details, guidelines, authority limit).

    .. versionadded:: 0.1
    """
