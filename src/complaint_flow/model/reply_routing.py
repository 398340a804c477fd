"""Where a reply to the customer goes: the channel and address, or why none can reach them.

The rule (mission M2, ``docs/channels.md``), first match wins:

1. the channel the customer prefers (said on the complaint, else on their record);
2. the channel the complaint came in on;
3. the first channel the customer has an address on, in the order email, their other
   contacts as given, letter, phone.

A candidate is skipped when the channel is not registered, cannot carry a reply at
all (a web form, a desk visit: ``Channel.reaches_customer`` is false), the customer
has no address on it, the address is known to be undeliverable (a bounce said so),
or the customer is restricted to writing and the channel is not a written one. When
every candidate is skipped the reply cannot reach the customer: the route says why,
candidate by candidate, and the outbox keeps the message as *unreachable* rather than
pretending to deliver it.

Changing the preferred channel needs the customer's recorded consent
(``Engine.change_reply_channel``); the fallbacks above only use addresses the customer
gave.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import attrs

from complaint_flow.model.channels import Channel
from complaint_flow.model.entities import Complaint

ANONYMOUS_KEY = "anonymous"
"""The complaint data key (True) that marks an anonymous complaint: nobody to reply to."""

FALLBACK_ORDER = ("email", "letter", "phone")
"""The usual channels tried after the preferred one and the one used (contacts go between)."""


@attrs.frozen
class ReplyRoute:
    """The outcome of routing one reply.

    Args:
        channel: the channel chosen, or the one that would have been used (the
            preferred or used channel) when nothing can reach the customer.
        address: the address on it; None when the customer cannot be reached.
        why: how the channel was chosen ("preferred channel", "channel used",
            "fallback: …"), or, for an unreachable customer, what ruled out each
            candidate.
    """

    channel: str
    address: str | None
    why: str

    @property
    def reachable(self) -> bool:
        """Whether the reply has somewhere to go."""
        return self.address is not None


def is_anonymous(complaint: Complaint) -> bool:
    """Whether the complaint was made anonymously (no reply is ever addressed)."""
    return complaint.data.get(ANONYMOUS_KEY) is True


def candidates(complaint: Complaint) -> list[tuple[str, str]]:
    """The channels to try, in order, each with why it is a candidate (no repeats)."""
    customer = complaint.customer
    ordered: list[tuple[str, str]] = []
    preferred = complaint.preferred_channel or customer.preferred_channel
    if preferred:
        ordered.append((preferred, "preferred channel"))
    ordered.append((complaint.channel, "channel used"))
    ordered.append((FALLBACK_ORDER[0], "fallback"))
    ordered.extend((name, "fallback") for name in customer.contacts)
    ordered.extend((name, "fallback") for name in FALLBACK_ORDER[1:])
    seen: set[str] = set()
    unique = []
    for name, why in ordered:
        if name not in seen:
            seen.add(name)
            unique.append((name, why))
    return unique


def route_reply(
    complaint: Complaint,
    channels: Mapping[str, Channel],
    *,
    written_only: Collection[str] | None = None,
    undeliverable: Collection[str] = (),
) -> ReplyRoute:
    """Where a reply to ``complaint``'s customer goes (see the module's rule).

    Args:
        complaint: the complaint being answered (its customer, channels, preference).
        channels: the registered channels by name.
        written_only: the written channels when the customer is restricted to
            writing (the stop procedure); None when they are not.
        undeliverable: addresses known not to work (bounced), compared
            case-insensitively.
    """
    customer = complaint.customer
    dead = {address.casefold() for address in undeliverable}
    ruled_out: list[str] = []
    for name, why in candidates(complaint):
        channel = channels.get(name)
        if channel is None:
            if why != "fallback":
                ruled_out.append(f"{name}: not a registered channel")
            continue
        if not channel.reaches_customer:
            ruled_out.append(f"{name}: no way to reply on it")
            continue
        address = customer.address_for(name)
        if not address:
            if why != "fallback":
                ruled_out.append(f"{name}: no address for the customer")
            continue
        if address.casefold() in dead:
            ruled_out.append(f"{name}: {address} is undeliverable")
            continue
        if written_only is not None and name not in written_only:
            ruled_out.append(f"{name}: the customer is restricted to writing")
            continue
        if why == "fallback" and ruled_out:
            why = f"fallback ({'; '.join(ruled_out)})"
        return ReplyRoute(name, address, why)
    first = complaint.preferred_channel or customer.preferred_channel or complaint.channel
    reasons = "; ".join(ruled_out) or "no channel reaches the customer"
    return ReplyRoute(first, None, f"cannot reach the customer: {reasons}")


__all__ = [
    "ANONYMOUS_KEY",
    "FALLBACK_ORDER",
    "ReplyRoute",
    "candidates",
    "is_anonymous",
    "route_reply",
]
