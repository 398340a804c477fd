"""How times, values and people are written in every table of the command line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.text import Text

from complaint_flow.model.entities import Actor, Customer
from complaint_flow.model.immutable import thaw


def when(at: datetime, *, two_lines: bool = False) -> str:
    """``Mon 2026-03-02 09:00`` in UTC; ``two_lines`` puts the time under the date."""
    utc = at.astimezone(UTC)
    return f"{utc:%a %Y-%m-%d}{chr(10) if two_lines else ' '}{utc:%H:%M}"


def minute(at: datetime) -> str:
    """``2026-03-02 09:00`` in UTC."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M}"


def second(at: datetime) -> str:
    """``2026-03-02 09:00:00`` in UTC."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def time_of_day(at: datetime) -> str:
    """``09:00:00`` in UTC."""
    return f"{at.astimezone(UTC):%H:%M:%S}"


def day(at: datetime | None) -> str:
    """``2026-03-02`` in UTC, or nothing."""
    return "" if at is None else f"{at.astimezone(UTC):%Y-%m-%d}"


def span(length: timedelta) -> str:
    """An elapsed time in words: ``3 days 4 h``, ``5 h 30 min``, ``40 min``."""
    minutes = max(int(length.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} day" + ("" if days == 1 else "s")] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes and not days:
        parts.append(f"{minutes} min")
    return " ".join(parts) or "0 min"


def working_span(length: timedelta) -> str:
    """Working time in words, in hours (a working day's length varies): ``28 h``, ``3 h 30 min``."""
    minutes = max(int(length.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    return " ".join(parts) or "0 min"


def value_text(value: Any) -> str:
    """A recorded value: text as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(thaw(value), ensure_ascii=False)


def data_lines(data: Mapping[str, Any]) -> Text:
    """One ``key: value`` line per item, keys dimmed."""
    text = Text()
    for index, (key, value) in enumerate(data.items()):
        if index:
            text.append("\n")
        text.append(f"{key}: ", style="dim")
        text.append(value_text(value))
    return text


def actor_cell(actor: Actor) -> Text:
    """The actor's name over their role (dimmed)."""
    return Text.assemble(actor.name, (f"\n{actor.role}", "dim"))


def contact_of(actor: Actor) -> str:
    """``Name (role, rank N) · email · phone``."""
    parts = [f"{actor.name} ({actor.role}, rank {actor.rank})"]
    parts.extend(contact for contact in (actor.email, actor.phone) if contact)
    return " · ".join(parts)


def customer_of(customer: Customer) -> str:
    """``Name (id) · email · phone · address · channel: address…``."""
    parts = [f"{customer.name} ({customer.id})"]
    parts.extend(c for c in (customer.email, customer.phone, customer.postal_address) if c)
    parts.extend(f"{channel}: {address}" for channel, address in customer.contacts.items())
    return " · ".join(parts)


__all__ = [
    "actor_cell",
    "contact_of",
    "customer_of",
    "data_lines",
    "day",
    "minute",
    "second",
    "span",
    "time_of_day",
    "value_text",
    "when",
    "working_span",
]
