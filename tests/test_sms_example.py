"""The example channel package, examples/complaint-flow-sms, keeps working with this code.

Imported from its source tree (no install): a complaint received by text message is
answered by text message through a real HTTP gateway on 127.0.0.1, the gateway's
refusals reach the outbox as they should, a redelivered webhook is one complaint, and
the entry point its ``pyproject.toml`` declares is the one the plugin manager loads.
The package's own tests (``examples/complaint-flow-sms/tests``) go further.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from complaint_flow import (
    Actor,
    Customer,
    Engine,
    Intake,
    ManualClock,
    OutboxStatus,
    make_plugin_manager,
)
from complaint_flow.plugins import hookspecs
from complaint_flow.plugins.manager import DISABLE_AUTOLOAD_ENV, Registry

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "complaint-flow-sms"
AGENT = Actor(id="A-1", name="Bo", role="agent")
SECRET = "webhook-s3cret"
NUMBER = "+447700900123"


@pytest.fixture(scope="module")
def sms() -> Iterator[SimpleNamespace]:
    """The example package and its test gateway, imported from its ``src/``."""
    source = str(EXAMPLE / "src")
    sys.path.insert(0, source)
    try:
        yield SimpleNamespace(
            package=importlib.import_module("complaint_flow_sms"),
            testing=importlib.import_module("complaint_flow_sms.testing"),
        )
    finally:
        sys.path.remove(source)
        for name in [name for name in sys.modules if name.startswith("complaint_flow_sms")]:
            del sys.modules[name]


@pytest.fixture
def gateway(sms: SimpleNamespace) -> Iterator[Any]:
    with sms.testing.GatewayStub() as stub:
        yield stub


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine_and_channel(
    sms: SimpleNamespace, gateway: Any, clock: ManualClock
) -> Iterator[tuple[Engine, Any]]:
    channel = sms.package.SmsChannel(gateway.settings(webhook_secret=SECRET))
    engine = Engine.open(
        "memory://",
        clock=clock,
        plugins=[sms.package.SmsPlugin(channel)],
        load_entry_points=False,
    )
    yield engine, channel
    engine.close()


def _thanked_by_sms(sms: SimpleNamespace, engine: Engine, channel: Any) -> Any:
    body, headers = sms.testing.webhook(
        "+44 7700 900123", "My bill doubled", message_id="in-1", secret=SECRET
    )
    answer = sms.package.take_webhook(engine, channel, body, headers["X-SMS-Signature"])
    assert answer.status == 200
    complaint = answer.outcome.complaint
    engine.fire(complaint.id, "thank", actor=AGENT)
    return complaint


def _reply(engine: Engine, complaint: Any) -> Any:
    [message] = [m for m in engine.outbox(complaint.id) if m.recipient == "customer"]
    return message


def test_a_complaint_by_text_message_is_answered_by_text_message(
    sms: SimpleNamespace, engine_and_channel: tuple[Engine, Any], gateway: Any
) -> None:
    engine, channel = engine_and_channel
    complaint = _thanked_by_sms(sms, engine, channel)

    assert engine.deliver().delivered == 1

    [sent] = gateway.messages
    assert sent.to == NUMBER
    assert sent.text.startswith(f"[{complaint.reference}] ")
    assert sent.headers["authorization"] == f"Bearer {gateway.token}"
    assert _reply(engine, complaint).status is OutboxStatus.DELIVERED


def test_a_number_the_gateway_refuses_makes_the_reply_unreachable(
    sms: SimpleNamespace, engine_and_channel: tuple[Engine, Any], gateway: Any
) -> None:
    engine, channel = engine_and_channel
    gateway.invalid_numbers.add(NUMBER)
    complaint = _thanked_by_sms(sms, engine, channel)

    assert engine.deliver().unreachable == 1

    reply = _reply(engine, complaint)
    assert reply.status is OutboxStatus.UNREACHABLE
    assert "invalid_number" in reply.last_error


def test_an_outage_leaves_the_reply_pending_until_a_later_delivery(
    sms: SimpleNamespace,
    engine_and_channel: tuple[Engine, Any],
    gateway: Any,
    clock: ManualClock,
) -> None:
    engine, channel = engine_and_channel
    complaint = _thanked_by_sms(sms, engine, channel)
    gateway.fail(503)

    assert engine.deliver().failed == 1
    assert _reply(engine, complaint).status is OutboxStatus.PENDING
    assert gateway.messages == []

    clock.advance(minutes=5)
    assert engine.deliver().delivered == 1
    assert [m.to for m in gateway.messages] == [NUMBER]


def test_a_redelivered_webhook_is_the_same_complaint(
    sms: SimpleNamespace, engine_and_channel: tuple[Engine, Any]
) -> None:
    engine, channel = engine_and_channel
    body, headers = sms.testing.webhook(NUMBER, "No signal", message_id="in-2", secret=SECRET)
    signature = headers["X-SMS-Signature"]

    first = sms.package.take_webhook(engine, channel, body, signature)
    again = sms.package.take_webhook(engine, channel, body, signature)
    forged = sms.package.take_webhook(engine, channel, body, "sha256=00")

    assert first.outcome.complaint.id == again.outcome.complaint.id
    assert [c.channel for c in engine.find()] == ["sms"]
    assert forged.status == 401


def test_segments_and_numbers(sms: SimpleNamespace) -> None:
    package = sms.package
    assert package.normalise_number("0044 (0)20 7946-0000") == "+442079460000"
    assert package.count_segments("a" * 161).count == 2
    assert package.count_segments("€" * 81).count == 2  # an escape pair is never cut
    assert package.count_segments("ж" * 71).encoding == "UCS-2"


def _declared_entry_points() -> dict[str, dict[str, str]]:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(project["project"]["entry-points"])


def test_the_example_declares_its_plugin_in_the_group_the_plugin_manager_loads() -> None:
    groups = _declared_entry_points()
    assert hookspecs.PROJECT in groups
    assert groups[hookspecs.PROJECT] == {"sms": "complaint_flow_sms.installed"}


def test_the_declared_entry_point_is_loaded_by_the_plugin_manager(
    sms: SimpleNamespace,
    gateway: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The metadata pip writes on install, from the pyproject's own entry points.
    dist_info = tmp_path / "complaint_flow_sms-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: complaint-flow-sms\nVersion: 0.1.0\n", encoding="utf-8"
    )
    sections = [
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items())
        for group, entries in _declared_entry_points().items()
    ]
    (dist_info / "entry_points.txt").write_text("\n".join(sections), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_GATEWAY_URL", gateway.url)
    monkeypatch.setenv("COMPLAINT_FLOW_SMS_TOKEN", gateway.token)

    registry = Registry(make_plugin_manager())
    assert isinstance(registry.adapters["sms"], sms.package.SmsChannel)
    assert "sms" in [row["name"] for row in registry.describe()]

    with Engine.open("memory://") as engine:
        gil = Customer(id="C-2", name="Gil", contacts={"sms": "+44 7700 900456"})
        complaint = engine.receive(Intake(channel="sms", customer=gil, summary="No signal"))
        engine.fire(complaint.id, "thank", actor=AGENT)
        assert engine.deliver().delivered == 1
    assert [m.to for m in gateway.messages] == ["+447700900456"]

    monkeypatch.setenv(DISABLE_AUTOLOAD_ENV, "1")
    assert "sms" not in Registry(make_plugin_manager()).channels
