"""What an installed complaint-flow-sms registers: the sms channel set by the environment.

``pyproject.toml`` names this module under the ``complaint_flow`` entry-point group, so
every engine opened where the package is installed loads it (unless
``COMPLAINT_FLOW_DISABLE_PLUGIN_AUTOLOAD=1`` or ``Engine.open(load_entry_points=False)``).

- No ``COMPLAINT_FLOW_SMS_*`` variable set: nothing is registered (an INFO line on the
  ``complaint_flow_sms`` logger says so), so that installing the package never stops an
  engine from opening, and settings can be passed with :class:`SmsPlugin` instead.
- Some set: they must be complete and valid, else opening the engine raises an
  ``InvalidArgumentError`` naming the variable: a half-configured channel is a mistake
  to see at once, not at the first message.

The registration is ``trylast``, like complaint_flow's built-in channels: a plugin
passed to ``Engine.open(plugins=[SmsPlugin(...)])`` registers ``sms`` in its place
instead of clashing with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from complaint_flow import Channel, ChannelAdapter, hookimpl

from complaint_flow_sms.channel import SmsChannel
from complaint_flow_sms.settings import ENVIRONMENT, SmsSettings, configured_in

logger = logging.getLogger("complaint_flow_sms")


@hookimpl(trylast=True)
def complaint_flow_register_channels(register: Callable[[Channel | ChannelAdapter], None]) -> None:
    if not configured_in():
        logger.info(
            "complaint-flow-sms is installed but %s is not set: no sms channel from the "
            "environment (pass SmsPlugin(settings) to Engine.open, or set the variables)",
            ENVIRONMENT["gateway_url"],
        )
        return
    register(SmsChannel(SmsSettings.from_environment()))
