"""Capturing notifications in tests instead of sending them."""

from __future__ import annotations

import threading

from complaint_flow.model.entities import Complaint, OutboxMessage
from complaint_flow.plugins.hookspecs import hookimpl


class CapturedNotifications:
    """A notifier plugin that keeps every message it is given, in order.

    Register it with ``Engine.open(..., plugins=[captured])``; messages arrive
    when the engine delivers its outbox (``engine.deliver()``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[OutboxMessage] = []

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint | None) -> None:
        with self._lock:
            self.messages.append(message)

    @property
    def topics(self) -> list[str]:
        """The topic of each captured message, in order (e.g. ``tactics.thank``)."""
        return [message.topic for message in self.messages]

    def to(self, recipient: str) -> list[OutboxMessage]:
        """The messages for one kind of recipient (``customer``, ``owner``)."""
        return [message for message in self.messages if message.recipient == recipient]

    def for_complaint(self, complaint_id: str) -> list[OutboxMessage]:
        """The messages about one complaint (or conduct record: ``conduct:<customer id>``)."""
        return [message for message in self.messages if message.complaint_id == complaint_id]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def __len__(self) -> int:
        return len(self.messages)
