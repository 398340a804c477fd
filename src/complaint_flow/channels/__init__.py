"""Channels: where complaints come in and where replies go out."""

from __future__ import annotations

import attrs

from complaint_flow.entities import ChannelKind


@attrs.frozen
class Channel:
    """A named contact channel and its kind (written, spoken or online).

    >>> Channel("email", ChannelKind.WRITTEN).kind
    <ChannelKind.WRITTEN: 'written'>
    """

    name: str
    kind: ChannelKind = attrs.field(converter=ChannelKind)
    description: str = ""


__all__ = ["Channel"]
