"""Fixtures: a real gateway on 127.0.0.1, and engines that send through it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from complaint_flow import Actor, ChannelKind, Engine, ManualClock
from hypothesis import settings

from complaint_flow_sms import ENVIRONMENT, SmsChannel, SmsPlugin
from complaint_flow_sms.testing import GatewayStub

# The properties are about numbers and texts, not speed: a slow, shared machine must not
# fail them on hypothesis's per-example deadline.
settings.register_profile("complaint-flow-sms", deadline=None)
settings.load_profile("complaint-flow-sms")

AGENT = Actor(id="A-1", name="Bo", role="agent")
SECRET = "webhook-s3cret"


@pytest.fixture(autouse=True)
def _no_sms_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests set the variables they need: none leak in from the shell."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def gateway() -> Iterator[GatewayStub]:
    with GatewayStub() as stub:
        yield stub


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class Opened:
    """An engine with the sms channel of a gateway, and that channel."""

    def __init__(self, engine: Engine, sms: SmsChannel) -> None:
        self.engine = engine
        self.sms = sms


@pytest.fixture
def opened(gateway: GatewayStub, clock: ManualClock) -> Iterator[Any]:
    def open_engine(*, kind: ChannelKind = ChannelKind.WRITTEN, **settings: Any) -> Opened:
        sms = SmsChannel(gateway.settings(webhook_secret=SECRET, **settings), kind=kind)
        engine = Engine.open(
            "memory://", clock=clock, plugins=[SmsPlugin(sms)], load_entry_points=False
        )
        engines.append(engine)
        return Opened(engine, sms)

    engines: list[Engine] = []
    yield open_engine
    for engine in engines:
        engine.close()
