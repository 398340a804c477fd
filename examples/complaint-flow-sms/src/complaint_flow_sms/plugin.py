"""The plugin to pass to ``Engine.open(plugins=[...])``: the sms channel with your settings."""

from __future__ import annotations

from collections.abc import Callable

from complaint_flow import Channel, ChannelAdapter, InvalidArgumentError, hookimpl

from complaint_flow_sms.channel import SmsChannel
from complaint_flow_sms.settings import SmsSettings


class SmsPlugin:
    """Registers an :class:`SmsChannel` on the engines it is given to.

    It takes precedence over the channel the installed package registers from the
    environment (:mod:`complaint_flow_sms.installed`), so explicit settings win.

    Args:
        channel: the channel, or the settings to build one with.

    >>> settings = SmsSettings("https://sms.example.net/v1/messages", "t0ken")
    >>> SmsPlugin(settings).channel.channel.name
    'sms'
    """

    def __init__(self, channel: SmsChannel | SmsSettings) -> None:
        if isinstance(channel, SmsSettings):
            channel = SmsChannel(channel)
        if not isinstance(channel, SmsChannel):
            raise InvalidArgumentError(
                f"SmsPlugin takes an SmsChannel or SmsSettings, got {channel!r}"
            )
        self.channel = channel

    @classmethod
    def from_environment(cls) -> SmsPlugin:
        """The plugin for the ``COMPLAINT_FLOW_SMS_*`` settings of the environment.

        Raises:
            InvalidArgumentError: a variable is missing or malformed.
        """
        return cls(SmsSettings.from_environment())

    @hookimpl
    def complaint_flow_register_channels(
        self, register: Callable[[Channel | ChannelAdapter], None]
    ) -> None:
        register(self.channel)


__all__ = ["SmsPlugin"]
