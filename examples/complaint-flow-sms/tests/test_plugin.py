"""The package as installed: its entry point, loaded by complaint_flow's plugin manager."""

from __future__ import annotations

import logging
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from complaint_flow import Customer, Engine, Intake, InvalidArgumentError

from complaint_flow_sms import SmsChannel, SmsPlugin
from complaint_flow_sms.testing import GatewayStub
from conftest import AGENT

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def entry_points() -> dict[str, str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    return dict(project["entry-points"]["complaint_flow"])


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The distribution's metadata as pip writes it, from the pyproject's entry points."""
    monkeypatch.delenv("COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    dist_info = tmp_path / "complaint_flow_sms-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: complaint-flow-sms\nVersion: 0.1.0\n", encoding="utf-8"
    )
    lines = [f"{name} = {target}" for name, target in entry_points().items()]
    (dist_info / "entry_points.txt").write_text(
        "[complaint_flow]\n" + "\n".join(lines) + "\n", encoding="utf-8"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))


def _configure(monkeypatch: pytest.MonkeyPatch, gateway: GatewayStub) -> None:
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_GATEWAY_URL", gateway.url)
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_TOKEN", gateway.token)


def test_the_entry_point_names_the_module_that_registers_the_channel() -> None:
    assert entry_points() == {"sms": "complaint_flow_sms.installed"}


def test_installed_and_configured_every_engine_answers_by_sms(
    installed: None, gateway: GatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, gateway)
    with Engine.open("memory://") as engine:
        assert isinstance(engine.registry.adapters["sms"], SmsChannel)
        gil = Customer(id="C-2", name="Gil", contacts={"sms": "+44 7700 900456"})
        complaint = engine.receive(Intake(channel="sms", customer=gil, summary="No signal"))
        engine.fire(complaint.id, "thank", actor=AGENT)
        assert engine.deliver().delivered == 1
    assert [(m.to, complaint.reference in m.text) for m in gateway.messages] == [
        ("+447700900456", True)
    ]


def test_installed_but_not_configured_an_engine_opens_without_sms(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="complaint_flow_sms"):
        engine = Engine.open("memory://")
    assert "sms" not in engine.registry.channels
    assert "COMPLAINT_FLOW_SMS_GATEWAY_URL is not set" in caplog.text


def test_installed_and_half_configured_opening_says_what_is_missing(
    installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_GATEWAY_URL", "https://sms.example.net/v1")
    with pytest.raises(InvalidArgumentError, match="COMPLAINT_FLOW_SMS_TOKEN is not set"):
        Engine.open("memory://")


def test_a_plugin_given_to_the_engine_takes_the_installed_ones_place(
    installed: None, gateway: GatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, gateway)
    mine = SmsPlugin(gateway.settings(sender="Northwind"))
    engine = Engine.open("memory://", plugins=[mine])
    assert engine.registry.adapters["sms"] is mine.channel


def test_autoload_can_be_turned_off(
    installed: None, gateway: GatewayStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    _configure(monkeypatch, gateway)
    monkeypatch.setenv("COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "sms" not in Engine.open("memory://").registry.channels
    assert "sms" in Engine.open("memory://", load_entry_points=True).registry.channels


def test_the_plugin_takes_settings_or_a_channel_only() -> None:
    with pytest.raises(InvalidArgumentError, match="SmsChannel or SmsSettings"):
        SmsPlugin("https://sms.example.net")  # type: ignore[arg-type]
