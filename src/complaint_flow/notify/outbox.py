"""Delivering outbox messages to the notify hooks, at least once, never losing one."""

from __future__ import annotations

import logging

import attrs

from complaint_flow.clock import Clock
from complaint_flow.entities import OutboxMessage, OutboxStatus
from complaint_flow.errors import ComplaintNotFoundError
from complaint_flow.plugins import Registry
from complaint_flow.store import Store

logger = logging.getLogger("complaint_flow.outbox")


@attrs.frozen
class DeliveryReport:
    """What one dispatch pass did."""

    delivered: int = 0
    failed: int = 0
    dead: int = 0


class OutboxDispatcher:
    """Hands pending outbox messages to every ``complaint_flow_notify`` implementation.

    A message is marked delivered only after every notifier returned; a raising
    notifier leaves it pending (``attempts`` counted, error kept) until
    ``max_attempts``, after which it is marked dead for a human to look at.
    """

    def __init__(
        self, store: Store, registry: Registry, clock: Clock, *, max_attempts: int = 5
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.store = store
        self.registry = registry
        self.clock = clock
        self.max_attempts = max_attempts

    def dispatch(self, limit: int = 100) -> DeliveryReport:
        """Deliver up to ``limit`` pending messages, oldest first."""
        return self._deliver(self.store.outbox_pending(limit))

    def dispatch_keys(self, complaint_id: str, keys: list[str]) -> DeliveryReport:
        """Deliver these pending messages of one complaint now (e.g. an emergency's)."""
        wanted = set(keys)
        pending = [
            m
            for m in self.store.outbox(complaint_id)
            if m.key in wanted and m.status is OutboxStatus.PENDING
        ]
        return self._deliver(pending)

    def _deliver(self, messages: list[OutboxMessage]) -> DeliveryReport:
        delivered = failed = dead = 0
        for message in messages:
            try:
                complaint = self.store.get(message.complaint_id)
            except ComplaintNotFoundError:
                # Only a purge or erasure removes complaints; nothing can be said now.
                self.store.outbox_update(
                    attrs.evolve(
                        message,
                        status=OutboxStatus.DEAD,
                        last_error="its complaint is no longer stored",
                    )
                )
                dead += 1
                continue
            try:
                self.registry.notify(message, complaint)
            except Exception as exc:
                attempts = message.attempts + 1
                status = (
                    OutboxStatus.DEAD if attempts >= self.max_attempts else OutboxStatus.PENDING
                )
                logger.warning("delivery of %s failed (attempt %d): %r", message.key, attempts, exc)
                self.store.outbox_update(
                    attrs.evolve(message, attempts=attempts, status=status, last_error=repr(exc))
                )
                failed += 1
                dead += status is OutboxStatus.DEAD
                continue
            self.store.outbox_update(_delivered(message, self.clock))
            delivered += 1
        return DeliveryReport(delivered=delivered, failed=failed, dead=dead)


def _delivered(message: OutboxMessage, clock: Clock) -> OutboxMessage:
    return attrs.evolve(
        message,
        status=OutboxStatus.DELIVERED,
        attempts=message.attempts + 1,
        delivered_at=clock(),
        last_error=None,
    )
