"""Plugin manager construction, entry-point loading and the registry."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from types import ModuleType

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    Channel,
    ChannelKind,
    Complaint,
    Customer,
    Engine,
    Intake,
    PluginError,
    Registry,
    hookimpl,
    make_plugin_manager,
)
from complaint_flow.model.entities import Event
from complaint_flow.plugins import hookspecs
from complaint_flow.plugins.manager import CALLED_ONE_AT_A_TIME, DISABLE_AUTOLOAD_ENV, Callback
from complaint_flow.storage.contract import StoreFactory
from complaint_flow.storage.memory import MemoryStore

PLUGIN_SOURCE = """
from complaint_flow import hookimpl, Channel, ChannelKind

@hookimpl
def complaint_flow_register_channels(register):
    register(Channel("carrier_pigeon", ChannelKind.WRITTEN, "Loaded from an entry point"))
"""


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[str]:
    """A real distribution on sys.path declaring a ``complaint_flow`` entry point."""
    module = "cf_pigeon_plugin"
    (tmp_path / f"{module}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    dist_info = tmp_path / "cf_pigeon_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cf-pigeon-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[complaint_flow]\npigeon = {module}\n", encoding="utf-8"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield module
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(module, None)


def test_entry_point_plugins_load_unless_disabled(
    installed_plugin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    assert "carrier_pigeon" in Registry(make_plugin_manager()).channels
    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    assert "carrier_pigeon" not in Registry(make_plugin_manager()).channels
    # An explicit argument wins over the environment.
    assert "carrier_pigeon" in Registry(make_plugin_manager(load_entry_points=True)).channels


def test_each_call_builds_a_fresh_manager() -> None:
    class Extra:
        @hookimpl
        def complaint_flow_register_channels(self, register: Callable[[Channel], None]) -> None:
            register(Channel("sms", ChannelKind.ONLINE))

    with_extra = make_plugin_manager([Extra()], load_entry_points=False)
    plain = make_plugin_manager(load_entry_points=False)
    assert with_extra is not plain
    assert "sms" in Registry(with_extra).channels
    assert "sms" not in Registry(plain).channels


def test_misspelt_hook_is_a_plugin_error() -> None:
    class Typo:
        @hookimpl
        def complaint_flow_notfy(self, message: object) -> None:  # misspelt on purpose
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="complaint_flow_notfy"):
        make_plugin_manager([Typo()], load_entry_points=False)


def test_a_plugin_overrides_a_builtin_of_the_same_name() -> None:
    class SpokenEmail:
        @hookimpl
        def complaint_flow_register_channels(self, register: Callable[[Channel], None]) -> None:
            register(Channel("email", ChannelKind.ONLINE, "Overridden"))

    registry = Registry(make_plugin_manager([SpokenEmail()], load_entry_points=False))
    assert registry.channels["email"].description == "Overridden"
    assert registry.channels["letter"].kind is ChannelKind.WRITTEN


def test_a_plugin_store_is_chosen_by_url_scheme() -> None:
    opened: list[str] = []

    class TracingStores:
        @hookimpl
        def complaint_flow_register_stores(
            self, register: Callable[[str, StoreFactory], None]
        ) -> None:
            def factory(url: str) -> MemoryStore:
                opened.append(url)
                return MemoryStore(url)

            register("traced", factory)

    engine = Engine.open("traced://unit", plugins=[TracingStores()], load_entry_points=False)
    complaint = engine.receive(
        Intake(channel="email", customer=Customer(id="C", name="Cy"), summary="s")
    )
    assert opened == ["traced://unit"]
    assert engine.get(complaint.id).state == "received"


def test_a_plugin_guard_is_usable_in_a_workflow() -> None:
    from complaint_flow import GuardRefusedError, WorkflowDefinition

    class VipOnly:
        @hookimpl
        def complaint_flow_register_guards(self, register: Callable[..., None]) -> None:
            def vip(complaint: Complaint, actor: Actor, data: object) -> str | None:
                return None if complaint.customer.id.startswith("VIP") else "not a VIP"

            register("vip", vip)

    workflow = WorkflowDefinition.from_dict(
        {
            "name": "vip",
            "initial": "open",
            "states": {"open": {}, "fast_tracked": {"terminal": True}},
            "transitions": [
                {
                    "trigger": "fast_track",
                    "source": "open",
                    "dest": "fast_tracked",
                    "guards": ["vip"],
                }
            ],
        }
    )
    engine = Engine.open(
        "memory://", workflow=workflow, plugins=[VipOnly()], load_entry_points=False
    )
    actor = Actor(id="A", name="A", role="agent")
    regular = engine.receive(
        Intake(channel="email", customer=Customer(id="C", name="C"), summary="s")
    )
    vip = engine.receive(
        Intake(channel="email", customer=Customer(id="VIP-1", name="V"), summary="s")
    )
    with pytest.raises(GuardRefusedError, match="not a VIP"):
        engine.fire(regular.id, "fast_track", actor=actor)
    assert engine.fire(vip.id, "fast_track", actor=actor).state == "fast_tracked"


def test_describe_lists_plugins_and_their_hooks() -> None:
    rows = Registry(make_plugin_manager(load_entry_points=False)).describe()
    by_name = {row["name"]: row["hooks"] for row in rows}
    assert by_name["complaint_flow.plugins.stores"] == ["complaint_flow_register_stores"]
    assert "complaint_flow_notify" in by_name["complaint_flow.plugins.logging_notifier"]


def _channel_plugin(name: str) -> object:
    class Plugin:
        @hookimpl
        def complaint_flow_register_channels(self, register: Callable[[Channel], None]) -> None:
            register(Channel("sms", ChannelKind.ONLINE, name))

    return Plugin()


def test_two_plugins_claiming_one_name_is_an_error_naming_both() -> None:
    pm = make_plugin_manager(
        [_channel_plugin("first"), _channel_plugin("second")], load_entry_points=False
    )
    with pytest.raises(PluginError, match="channel 'sms' is registered by both"):
        Registry(pm)


def test_every_notifier_gets_the_message_even_when_others_fail() -> None:
    from complaint_flow.model.entities import OutboxMessage

    received: list[str] = []

    class Broken:
        @hookimpl
        def complaint_flow_notify(self, message: OutboxMessage) -> None:
            raise ConnectionError("down")

    class Working:
        @hookimpl
        def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint) -> None:
            received.append(message.key)

    for order in ([Broken(), Working()], [Working(), Broken()]):
        received.clear()
        engine = Engine.open("memory://", plugins=order, load_entry_points=False)
        complaint = engine.receive(
            Intake(
                channel="email", customer=Customer(id="C", name="Cy", email="c@x.org"), summary="s"
            )
        )
        engine.fire(complaint.id, "thank", actor=Actor(id="A", name="A", role="agent"))
        report = engine.deliver()
        assert (report.delivered, report.failed) == (0, 1)
        assert len(received) == 1  # the working notifier was not skipped
        assert "down" in (engine.outbox(complaint.id)[0].last_error or "")


def test_a_failing_observer_does_not_silence_the_others(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    class Failing:
        @hookimpl
        def complaint_flow_received(self, complaint: Complaint, event: Event) -> None:
            raise RuntimeError("dashboard offline")

    class Counting:
        @hookimpl
        def complaint_flow_received(self, event: Event) -> None:
            seen.append(event.kind)

    for order in ([Failing(), Counting()], [Counting(), Failing()]):
        seen.clear()
        engine = Engine.open("memory://", plugins=order, load_entry_points=False)
        engine.receive(Intake(channel="email", customer=Customer(id="C", name="Cy"), summary="s"))
        assert seen == ["received"]
    assert "dashboard offline" in caplog.text


# -- wrappers: refused where implementations are called one at a time -----------------


def _wrapper_plugin(hook: str, option: str) -> object:
    def wrap(self: object) -> Iterator[None]:
        yield  # never reached: the plugin is refused when it is registered

    return type("Tracing", (), {hook: hookimpl(**{option: True})(wrap)})()


def test_every_hook_is_either_called_one_at_a_time_or_through_pluggy() -> None:
    # A new hook must be classified: its wrappers either work or are refused.
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    hooks = {name for name in vars(pm.hook) if name.startswith("complaint_flow_")}
    assert hooks == {*CALLED_ONE_AT_A_TIME, "complaint_flow_escalation_target"}


@pytest.mark.parametrize("option", ["wrapper", "hookwrapper"])
@pytest.mark.parametrize("hook", sorted(CALLED_ONE_AT_A_TIME))
def test_a_wrapper_of_a_hook_called_one_at_a_time_is_refused(hook: str, option: str) -> None:
    plugin = _wrapper_plugin(hook, option)
    with pytest.raises(PluginError) as refused:
        make_plugin_manager([plugin], load_entry_points=False)
    message = str(refused.value)
    assert f"'Tracing' (registered as '{id(plugin)}') implements {hook} with {option}=True" in (
        message
    )
    assert CALLED_ONE_AT_A_TIME[hook] in message
    # A manager built by hand is checked when the registry collects from it.
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    with pytest.raises(PluginError, match=f"implements {hook} with {option}=True"):
        Registry(pm)


def test_a_refused_wrapper_from_an_entry_point_is_named_by_its_entry_point(
    tmp_path: Path,
) -> None:
    (tmp_path / "cf_timing_plugin.py").write_text(
        "from complaint_flow import hookimpl\n"
        "@hookimpl(wrapper=True)\n"
        "def complaint_flow_notify(message):\n"
        "    return (yield)\n",
        encoding="utf-8",
    )
    dist_info = tmp_path / "cf_timing_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: cf-timing-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        "[complaint_flow]\ntiming = cf_timing_plugin\n", encoding="utf-8"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(PluginError, match="plugin 'timing' implements complaint_flow_notify"):
            Engine.open("memory://", load_entry_points=True)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("cf_timing_plugin", None)


def _staffed_engine(*plugins: object) -> Engine:
    from complaint_flow import WorkflowDefinition

    workflow = WorkflowDefinition.from_dict(
        {
            "name": "staffed",
            "initial": "open",
            "roles": ["agent", "manager"],
            "states": {"open": {}, "closed": {"terminal": True}},
            "transitions": [{"trigger": "close", "source": "open", "dest": "closed"}],
            "escalation": {
                "levels": [
                    {"number": 1, "title": "Agents", "role": "agent", "rank": 1, "email": "a@x"},
                    {
                        "number": 2,
                        "title": "Managers",
                        "role": "manager",
                        "rank": 2,
                        "email": "m@x",
                    },
                ]
            },
        }
    )
    return Engine.open("memory://", workflow=workflow, plugins=plugins, load_entry_points=False)


def test_a_wrapper_of_the_escalation_target_wraps_every_answer() -> None:
    calls: list[str] = []
    deputy = Actor(id="D-1", name="Dee", role="manager", rank=2)

    class OrgChart:
        @hookimpl
        def complaint_flow_escalation_target(self, actor: Actor | None) -> Actor | None:
            calls.append("org chart")
            return None  # not known here: the static ladder answers

    class Audit:
        @hookimpl(wrapper=True)
        def complaint_flow_escalation_target(self) -> Generator[None, Actor, Actor]:
            calls.append("before")
            answer = yield
            calls.append(f"after: {answer.id}")
            return deputy if answer.id == "level-2" else answer

    engine = _staffed_engine(OrgChart(), Audit())
    complaint = engine.receive(
        Intake(channel="email", customer=Customer(id="C", name="Cy"), summary="s")
    )
    agent = Actor(id="A", name="A", role="agent")
    escalated = engine.escalate(complaint.id, actor=agent, reason="Above my authority")
    assert calls == ["before", "org chart", "after: level-2"]
    assert escalated.owner == deputy  # the wrapper may change the answer


def test_an_old_style_hookwrapper_of_the_escalation_target_sees_the_answer() -> None:
    seen: list[str] = []

    class Timing:
        @hookimpl(hookwrapper=True)
        def complaint_flow_escalation_target(self) -> Generator[None, pluggy.Result[Actor], None]:
            outcome = yield
            seen.append(outcome.get_result().id)

    engine = _staffed_engine(Timing())
    complaint = engine.receive(
        Intake(channel="email", customer=Customer(id="C", name="Cy"), summary="s")
    )
    engine.escalate(complaint.id, actor=Actor(id="A", name="A", role="agent"), reason="r")
    assert seen == ["level-2"]


# -- callbacks ---------------------------------------------------------------------------


def _thanked(engine: Engine) -> tuple[Complaint, Event]:
    """A committed transition: the complaint's new version and its event."""
    complaint = engine.receive(
        Intake(channel="email", customer=Customer(id="C", name="Cy"), summary="s")
    )
    complaint = engine.fire(complaint.id, "thank", actor=Actor(id="A", name="A", role="agent"))
    return complaint, engine.history(complaint.id)[-1]


def test_callbacks_are_collected_by_name_and_run_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[tuple[str, str]] = []

    class Crm:
        @hookimpl
        def complaint_flow_register_callbacks(
            self, register: Callable[[str, Callback], None]
        ) -> None:
            def sync(complaint: Complaint, event: Event) -> None:
                ran.append(("sync", complaint.reference))

            def broken(complaint: Complaint, event: Event) -> None:
                raise ConnectionError("CRM offline")

            def count(complaint: Complaint, event: Event) -> None:
                ran.append(("count", event.kind))

            register("sync_crm", sync)
            register("broken_crm", broken)
            register("count", count)

    engine = Engine.open("memory://", plugins=[Crm()], load_entry_points=False)
    registry = engine.registry
    assert sorted(registry.callbacks) == ["broken_crm", "count", "sync_crm"]
    complaint, event = _thanked(engine)
    with caplog.at_level(logging.ERROR, logger="complaint_flow.plugins"):
        registry.run_callbacks(["sync_crm", "broken_crm", "count"], complaint, event)
    # The failing callback is logged with its name and plugin; the next one still ran.
    assert ran == [("sync", complaint.reference), ("count", "transition")]
    [record] = caplog.records
    assert "callback 'broken_crm' of plugin 'Crm' (registered as" in record.getMessage()
    assert record.exc_info is not None
    assert "CRM offline" in str(record.exc_info[1])


def test_an_unknown_callback_is_refused_before_any_runs() -> None:
    ran: list[str] = []

    class One:
        @hookimpl
        def complaint_flow_register_callbacks(
            self, register: Callable[[str, Callback], None]
        ) -> None:
            register("one", lambda complaint, event: ran.append("one"))

    registry = Registry(make_plugin_manager([One()], load_entry_points=False))
    with pytest.raises(
        PluginError, match=r"no callback 'onne' is registered \(registered callbacks: one\)"
    ):
        registry.callback("onne")
    engine = Engine.open("memory://", plugins=[One()], load_entry_points=False)
    complaint, event = _thanked(engine)
    with pytest.raises(PluginError, match="no callback 'two'"):
        registry.run_callbacks(["one", "two"], complaint, event)
    assert ran == []
    assert registry.callback("one") is registry.callbacks["one"]


def test_a_callback_must_be_callable() -> None:
    class Typo:
        @hookimpl
        def complaint_flow_register_callbacks(self, register: Callable[..., None]) -> None:
            register("sync", "sync_crm")

    with pytest.raises(PluginError, match=r"callback 'sync' as 'sync_crm', which is not callable"):
        Registry(make_plugin_manager([Typo()], load_entry_points=False))


# -- the rule for one name registered several times, over many cases --------------------

registrations = st.lists(
    st.tuples(st.booleans(), st.lists(st.sampled_from(["a", "b", "c"]), max_size=3)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(registrations)
def test_an_ordinary_plugin_overrides_a_builtin_and_any_other_repeat_is_a_clash(
    plugins: list[tuple[bool, list[str]]],
) -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for number, (builtin, names) in enumerate(plugins):

        def register_callbacks(
            register: Callable[[str, Callback], None],
            _names: list[str] = names,
            _number: int = number,
        ) -> None:
            for name in _names:
                register(name, lambda complaint, event, _by=_number: None)

        register_callbacks.__name__ = "complaint_flow_register_callbacks"
        module = ModuleType(f"plugin_{number}")
        setattr(module, register_callbacks.__name__, hookimpl(trylast=builtin)(register_callbacks))
        pm.register(module)

    counts: dict[str, list[tuple[bool, int]]] = {}
    for number, (builtin, names) in enumerate(plugins):
        for name in names:
            counts.setdefault(name, []).append((builtin, number))
    clash = any(
        sum(builtin for builtin, _ in owners) > 1 or sum(not b for b, _ in owners) > 1
        for owners in counts.values()
    )
    if clash:
        with pytest.raises(PluginError, match="is registered by both 'plugin_"):
            Registry(pm)
        return
    registry = Registry(pm)
    assert set(registry.callbacks) == set(counts)
    for name, owners in counts.items():
        [(_, winner)] = [owner for owner in owners if not owner[0]] or owners
        callback = registry.callbacks[name]
        assert callback.__defaults__ == (winner,)
