"""Delivering outbox messages to the notify hooks, at least once, never losing one.

Complaint messages are delivered with their complaint's latest version; conduct
notices (whose ``complaint_id`` is a conduct record id, ``conduct:<customer
id>``) with ``complaint=None``.

Each dispatch pass claims due messages in the store (so several dispatchers, in
threads, processes or on other hosts, take different messages), gives each to
the notifiers with a time limit, and records the outcome: delivered, pending
again after an exponential backoff, or dead after ``max_attempts``.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from datetime import timedelta

import attrs

from complaint_flow.errors import (
    ComplaintNotFoundError,
    InvalidArgumentError,
    UnreachableAddressError,
)
from complaint_flow.model.actions import is_action_id
from complaint_flow.model.channels import Outgoing, Receipt
from complaint_flow.model.clock import Clock
from complaint_flow.model.conduct import is_conduct_record_id
from complaint_flow.model.entities import Complaint, OutboxMessage, OutboxStatus
from complaint_flow.plugins.manager import Registry
from complaint_flow.services.outgoing import plain_outgoing
from complaint_flow.storage.contract import Store

logger = logging.getLogger("complaint_flow.outbox")


@attrs.frozen
class DeliveryReport:
    """What one dispatch pass did.

    ``delivered``: sent (by a channel adapter) and handed to every notifier;
    ``failed``: attempts that failed (retried later, unless they made the message
    dead); ``dead``: messages that used up their attempts; ``unreachable``: messages
    that have nowhere to go (no address, or a permanent refusal of the address),
    kept for a person to act on and never reported delivered.
    """

    delivered: int = 0
    failed: int = 0
    dead: int = 0
    unreachable: int = 0

    @property
    def retried(self) -> int:
        """Failed attempts that will be tried again."""
        return self.failed - self.dead


@attrs.frozen
class Backoff:
    """How long a message waits before its next attempt: ``base · 2^(attempts-1)``, capped.

    ``jitter`` (0 to 1) shortens each delay by up to that fraction, so that messages
    that failed together are not retried together. The fraction is drawn from the
    message key and the attempt number: the same message gets the same schedule
    every time (reproducible), while different messages spread out.
    """

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    jitter: float = 0.0

    def __attrs_post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise InvalidArgumentError(
                f"a backoff needs 0 < base <= cap; got base={self.base}, cap={self.cap}"
            )
        if not 0.0 <= self.jitter <= 1.0:
            raise InvalidArgumentError(f"jitter must be between 0 and 1, got {self.jitter}")

    def delay(self, key: str, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1 for the first) of ``key``."""
        # Compare exponents, not products: 2**attempts overflows timedelta quickly.
        exponent = max(attempts - 1, 0)
        ratio = self.cap / self.base
        delay = self.cap if exponent >= 63 or 2**exponent >= ratio else self.base * 2**exponent
        if self.jitter:
            fraction = random.Random(f"{key}:{attempts}").random()
            delay -= delay * (self.jitter * fraction)
        return delay


DEFAULT_TIMEOUT_SECONDS = 30.0
"""How long one message's notifiers may take before the attempt counts as failed."""


class OutboxDispatcher:
    """Hands due outbox messages to every ``complaint_flow_notify`` implementation.

    A message is marked delivered only after every notifier returned. A notifier
    that raises, or takes longer than ``timeout`` seconds, makes the attempt fail:
    the message stays pending (``attempts`` counted, error kept) and is tried
    again after ``backoff``, until ``max_attempts``, after which it is marked dead
    for a human to look at (``complaint-flow outbox retry``).

    Delivery is at least once: a notifier that timed out may still finish later,
    and a dispatcher that stalls past its claim's ``lease`` may deliver a message
    another dispatcher delivers too. Notifiers drop repeats by ``message.key``.

    Args:
        store: where the messages are.
        registry: the notifiers.
        clock: the time backoffs and claims are computed from.
        max_attempts: failed attempts after which a message is dead.
        backoff: the wait between attempts (None: the next pass retries at once;
            :class:`Backoff` ``()`` is 30 s doubling up to 1 h).
        timeout: seconds one message's notifiers may take (None: no limit; the
            notifiers then run in the dispatching thread; 30 s is a good start).
        lease: how long a claim keeps other dispatchers away; by default long
            enough for a whole batch of timed-out attempts.
        compose: builds what a channel adapter sends from a message and its
            complaint (default: :func:`plain_outgoing`).
        sent: told of each message a channel adapter sent, with its receipt (to
            keep the channel's message id for threading answers).
        undeliverable: told of each message whose address a channel refused for
            good, with the reason (to mark the address undeliverable).
    """

    def __init__(
        self,
        store: Store,
        registry: Registry,
        clock: Clock,
        *,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        timeout: float | None = None,
        lease: timedelta | None = None,
        compose: Callable[[OutboxMessage, Complaint | None], Outgoing] = plain_outgoing,
        sent: Callable[[OutboxMessage, Receipt], None] | None = None,
        undeliverable: Callable[[OutboxMessage, str], None] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise InvalidArgumentError(f"max_attempts must be at least 1, got {max_attempts}")
        if timeout is not None and timeout <= 0:
            raise InvalidArgumentError(f"timeout must be positive seconds or None, got {timeout}")
        self.store = store
        self.registry = registry
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.lease = lease
        self.compose = compose
        self.sent = sent
        self.undeliverable = undeliverable
        self.owner = f"dispatcher-{uuid.uuid4().hex[:12]}"

    def dispatch(self, limit: int = 100) -> DeliveryReport:
        """Claim up to ``limit`` due pending messages, oldest first, and deliver them."""
        lease = self.lease
        if lease is None:
            lease = timedelta(seconds=(self.timeout or DEFAULT_TIMEOUT_SECONDS) * limit + 60)
        claimed = self.store.outbox_claim(self.clock(), limit, lease, self.owner)
        return self._deliver(claimed)

    def dispatch_keys(self, complaint_id: str, keys: list[str]) -> DeliveryReport:
        """Deliver these pending messages of one complaint now (e.g. an emergency's)."""
        wanted = set(keys)
        pending = [
            m
            for m in self.store.outbox(complaint_id)
            if m.key in wanted and m.status is OutboxStatus.PENDING
        ]
        return self._deliver(pending)

    def retry_dead(self, keys: list[str] | None = None) -> list[OutboxMessage]:
        """Make dead messages pending again, due at once, with their attempts reset to 0.

        ``last_error`` is kept until the next attempt, to show why they died.
        Returns the messages requeued: one that stopped being dead meanwhile (or
        was purged) is left out.

        Args:
            keys: the messages to requeue; None requeues every dead message.

        Raises:
            InvalidArgumentError: a key is not the key of a dead message.
        """
        dead = {m.key: m for m in self.store.outbox_find(status=OutboxStatus.DEAD)}
        if keys is None:
            chosen = list(dead.values())
        else:
            missing = [key for key in keys if key not in dead]
            if missing:
                raise InvalidArgumentError(
                    f"no dead outbox message with key {', '.join(map(repr, missing))}; "
                    "list them with `complaint-flow outbox --status dead`"
                )
            chosen = [dead[key] for key in keys]
        requeued = [
            attrs.evolve(m, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None)
            for m in chosen
        ]
        # A message that changed meanwhile (requeued elsewhere, erased, purged) is left as is.
        return [
            message
            for message in requeued
            if self.store.outbox_update(message, expected_status=OutboxStatus.DEAD)
        ]

    def _deliver(self, messages: list[OutboxMessage]) -> DeliveryReport:
        delivered = failed = dead = unreachable = 0
        executor: ThreadPoolExecutor | None = None
        try:
            for message in messages:
                complaint: Complaint | None = None
                try:
                    # A conduct notice is about a customer's conduct record, an action's
                    # message about a corrective action: neither is about a complaint.
                    if not is_conduct_record_id(message.complaint_id) and not is_action_id(
                        message.complaint_id
                    ):
                        complaint = self.store.get(message.complaint_id)
                except ComplaintNotFoundError:
                    # Only a purge or erasure removes complaints; nothing can be said now.
                    if self._record(
                        attrs.evolve(
                            message,
                            status=OutboxStatus.DEAD,
                            last_error="its complaint is no longer stored",
                        )
                    ):
                        dead += 1
                    continue
                if not message.address:
                    # Never "delivered" to nobody: kept visible for a person to act on.
                    if self._record(_unreachable(message, no_address(message))):
                        unreachable += 1
                    continue
                if executor is None and self.timeout is not None:
                    executor = _worker()
                try:
                    self._notify(executor, message, complaint)
                except UnreachableAddressError as exc:
                    if self._record(_unreachable(message, str(exc))):
                        unreachable += 1
                        if self.undeliverable is not None and complaint is not None:
                            self.undeliverable(message, str(exc))
                    continue
                except _TimedOutError as exc:
                    assert executor is not None
                    # The hung call keeps its thread; later messages get a fresh one.
                    executor.shutdown(wait=False)
                    executor = None
                    outcome = self._failed(message, str(exc))
                except Exception as exc:
                    outcome = self._failed(message, repr(exc))
                else:
                    if self._record(_delivered(message, self.clock)):
                        delivered += 1
                    continue
                if outcome is not None:
                    failed += 1
                    dead += outcome
        finally:
            if executor is not None:
                executor.shutdown(wait=False)
        return DeliveryReport(
            delivered=delivered, failed=failed, dead=dead, unreachable=unreachable
        )

    def _notify(
        self,
        executor: ThreadPoolExecutor | None,
        message: OutboxMessage,
        complaint: Complaint | None,
    ) -> None:
        if executor is None:
            self._send_and_notify(message, complaint)
            return
        future = executor.submit(self._send_and_notify, message, complaint)
        try:
            future.result(timeout=self.timeout)
        except FutureTimeoutError:
            raise _TimedOutError(f"timed out after {self.timeout:g} s") from None

    def _send_and_notify(self, message: OutboxMessage, complaint: Complaint | None) -> None:
        """Send on the channel's adapter, if it has one, then tell every notifier."""
        adapter = self.registry.adapters.get(message.channel)
        if adapter is not None:
            receipt = adapter.send(self.compose(message, complaint))
            if self.sent is not None:
                self.sent(message, receipt)
        self.registry.notify(message, complaint)

    def _failed(self, message: OutboxMessage, error: str) -> bool | None:
        """Record a failed attempt; whether the message is now dead (None: not recorded)."""
        attempts = message.attempts + 1
        is_dead = attempts >= self.max_attempts
        logger.warning("delivery of %s failed (attempt %d): %s", message.key, attempts, error)
        recorded = self._record(
            attrs.evolve(
                message,
                attempts=attempts,
                status=OutboxStatus.DEAD if is_dead else OutboxStatus.PENDING,
                last_error=error,
                next_attempt_at=None
                if is_dead or self.backoff is None
                else self.clock() + self.backoff.delay(message.key, attempts),
            )
        )
        return is_dead if recorded else None

    def _record(self, outcome: OutboxMessage) -> bool:
        """Write a claimed message's outcome; False if it changed meanwhile (then skipped).

        The store keeps the stored content and writes only if the message is still
        pending: one erased, purged or handled elsewhere while it was being
        delivered is not brought back.
        """
        if self.store.outbox_update(outcome, expected_status=OutboxStatus.PENDING):
            return True
        logger.info(
            "outbox message %s changed while being delivered (erased, purged or handled "
            "elsewhere); its outcome is not recorded",
            outcome.key,
        )
        return False


class _TimedOutError(Exception):
    pass


def _worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="complaint-flow-notify")


def no_address(message: OutboxMessage) -> str:
    """Why a message with no address cannot go out."""
    return (
        f"no address for the {message.recipient} on {message.channel}: record one "
        "(or the customer's consent to another channel), then re-route the message"
    )


def _unreachable(message: OutboxMessage, why: str) -> OutboxMessage:
    return attrs.evolve(
        message,
        status=OutboxStatus.UNREACHABLE,
        attempts=message.attempts,
        last_error=why,
        next_attempt_at=None,
    )


def _delivered(message: OutboxMessage, clock: Clock) -> OutboxMessage:
    return attrs.evolve(
        message,
        status=OutboxStatus.DELIVERED,
        attempts=message.attempts + 1,
        delivered_at=clock(),
        last_error=None,
        next_attempt_at=None,
    )
