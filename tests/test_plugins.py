"""Plugin manager construction, entry-point loading and the registry."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
from complaint_flow.plugins.manager import DISABLE_AUTOLOAD_ENV
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
    from complaint_flow.model.entities import Event

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
