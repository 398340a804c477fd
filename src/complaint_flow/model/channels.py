"""Channels: where complaints come in and where replies go out."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import attrs

from complaint_flow.model.entities import ChannelKind


@attrs.frozen
class Channel:
    """A named contact channel and its kind (written, spoken or online).

    >>> Channel("email", ChannelKind.WRITTEN).kind
    <ChannelKind.WRITTEN: 'written'>
    """

    name: str
    kind: ChannelKind = attrs.field(converter=ChannelKind)
    description: str = ""


def written_channels(
    configured: Collection[str] | None, registered: Mapping[str, Channel]
) -> frozenset[str]:
    """The channels that count as writing: those configured, else the written kinds.

    Used wherever only a written contact counts (escalation beyond the cap, the stop
    procedure's letters and restrictions).

    Args:
        configured: the channels a policy names (None: not configured).
        registered: the engine's channels by name.
    """
    if configured is not None:
        return frozenset(configured)
    return frozenset(
        name for name, channel in registered.items() if channel.kind is ChannelKind.WRITTEN
    )


__all__ = ["Channel", "written_channels"]
