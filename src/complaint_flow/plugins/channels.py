"""The channels every installation knows (mission M1): a default plugin."""

from __future__ import annotations

from collections.abc import Callable

from complaint_flow.model.channels import Channel
from complaint_flow.model.entities import ChannelKind
from complaint_flow.plugins.hookspecs import hookimpl

BUILTIN_CHANNELS = (
    Channel("letter", ChannelKind.WRITTEN, "Letter or other mail"),
    Channel("email", ChannelKind.WRITTEN, "Email"),
    Channel("fax", ChannelKind.WRITTEN, "Fax"),
    Channel(
        "web_form",
        ChannelKind.WRITTEN,
        "A form on the organisation's website",
        reaches_customer=False,
    ),
    Channel("phone", ChannelKind.SPOKEN, "A telephone call"),
    Channel(
        "in_person",
        ChannelKind.SPOKEN,
        "Face to face, at a desk or a visit",
        reaches_customer=False,
    ),
    Channel("social_media", ChannelKind.ONLINE, "A post or message on social media"),
    Channel("chat", ChannelKind.ONLINE, "Live chat"),
)


@hookimpl(trylast=True)
def complaint_flow_register_channels(register: Callable[[Channel], None]) -> None:
    for channel in BUILTIN_CHANNELS:
        register(channel)
