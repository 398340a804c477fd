"""What the stop procedure records: a customer's conduct record and its parts.

A :class:`ConductRecord` is, like a complaint, an immutable snapshot of one
version; every change to it is an :class:`~complaint_flow.model.entities.Event` whose
``complaint_id`` is the record's id (``conduct:<customer id>``), committed with
its notices through a :class:`ConductCommit`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from complaint_flow.model.entities import Customer

CONDUCT_PREFIX = "conduct:"
"""Ids of conduct records (in events and outbox messages) start with this."""


def conduct_record_id(customer_id: str) -> str:
    """The id of a customer's conduct record: ``conduct:<customer id>``."""
    return CONDUCT_PREFIX + customer_id


def is_conduct_record_id(subject: str) -> bool:
    """Whether an event's or message's ``complaint_id`` names a conduct record."""
    return subject.startswith(CONDUCT_PREFIX)


class ConductStatus(enum.StrEnum):
    """Where a customer stands in the stop procedure.

    Restrictions are in force in ``restricted``, ``under_appeal``, ``reviewed``
    and ``extended``; never in ``normal``, ``warned`` or ``lapsed``.
    """

    NORMAL = "normal"
    WARNED = "warned"
    RESTRICTED = "restricted"
    UNDER_APPEAL = "under_appeal"
    REVIEWED = "reviewed"
    EXTENDED = "extended"
    LAPSED = "lapsed"

    @property
    def restricts(self) -> bool:
        """Whether restrictions are in force in this status."""
        return self in _RESTRICTING


_RESTRICTING = frozenset(
    {
        ConductStatus.RESTRICTED,
        ConductStatus.UNDER_APPEAL,
        ConductStatus.REVIEWED,
        ConductStatus.EXTENDED,
    }
)


class RestrictionKind(enum.StrEnum):
    """The restrictions a decision may combine."""

    SINGLE_POINT_OF_CONTACT = "single_point_of_contact"
    WRITTEN_ONLY = "written_only"
    CONTACT_LIMIT = "contact_limit"
    NO_REOPENING = "no_reopening"
    CALL_TIME_LIMIT = "call_time_limit"


@attrs.frozen
class Restriction:
    """One restriction of a decision, with the settings its kind uses.

    Build them with the class methods (:meth:`single_point_of_contact`,
    :meth:`written_only`, :meth:`contact_limit`, :meth:`no_reopening`,
    :meth:`call_time_limit`). ``acknowledge`` says whether a message filed
    because of this restriction is acknowledged to the customer.
    """

    kind: RestrictionKind
    contact: str | None = None
    contact_name: str | None = None
    max_contacts: int | None = None
    period_days: int | None = None
    matters: tuple[str, ...] = ()
    call_minutes: int | None = None
    acknowledge: bool = True

    @classmethod
    def single_point_of_contact(
        cls, contact: str, name: str, *, acknowledge: bool = True
    ) -> Restriction:
        """All contact goes through one named officer or inbox (``contact``: an id or address)."""
        return cls(
            RestrictionKind.SINGLE_POINT_OF_CONTACT,
            contact=contact,
            contact_name=name,
            acknowledge=acknowledge,
        )

    @classmethod
    def written_only(cls, *, acknowledge: bool = True) -> Restriction:
        """Contact only in writing (letter, email, web form…)."""
        return cls(RestrictionKind.WRITTEN_ONLY, acknowledge=acknowledge)

    @classmethod
    def contact_limit(
        cls, max_contacts: int, period_days: int, *, acknowledge: bool = False
    ) -> Restriction:
        """At most ``max_contacts`` contacts in any ``period_days`` days."""
        return cls(
            RestrictionKind.CONTACT_LIMIT,
            max_contacts=max_contacts,
            period_days=period_days,
            acknowledge=acknowledge,
        )

    @classmethod
    def no_reopening(cls, *matters: str, acknowledge: bool = True) -> Restriction:
        """No new complaints about these finally decided complaints (their references)."""
        return cls(RestrictionKind.NO_REOPENING, matters=tuple(matters), acknowledge=acknowledge)

    @classmethod
    def call_time_limit(cls, minutes: int) -> Restriction:
        """Calls are kept to ``minutes`` minutes (guidance given to staff at intake)."""
        return cls(RestrictionKind.CALL_TIME_LIMIT, call_minutes=minutes)


@attrs.frozen
class Adjustment:
    """A recorded vulnerability or accessibility need (a reasonable adjustment).

    ``channels`` are the channels the person can use whatever a restriction says
    (e.g. ``("phone",)`` for someone who cannot write).
    """

    need: str
    channels: tuple[str, ...] = ()
    recorded_by: str = ""
    recorded_at: datetime | None = None


class ReviewReason(enum.StrEnum):
    """Why an item is in the review queue."""

    OUTSIDE_RESTRICTION = "outside_restriction"
    DECIDED_MATTER = "decided_matter"
    PATTERN = "pattern"


@attrs.frozen
class ReviewItem:
    """An inbound message (or a suggestion) waiting for a human to read it.

    A message that a restriction kept from opening a complaint, or that re-raised
    a finally decided matter, is filed here in full, so new information and
    safeguarding concerns are still read.
    """

    id: str
    reason: ReviewReason
    filed_at: datetime
    channel: str | None = None
    external_id: str | None = None
    summary: str = ""
    details: str = ""
    received_at: datetime | None = None
    restrictions: tuple[RestrictionKind, ...] = ()
    regarding: str | None = None
    acknowledged: bool = False
    why: str = ""


@attrs.frozen(slots=False)
class ConductRecord:
    """One version of a customer's conduct record (an immutable snapshot).

    ``involved`` lists the actors who took part in the decisions under appeal
    (warning, restriction, extension): none of them may decide the appeal.
    ``recent_contacts`` are the times of the customer's recent contacts, kept
    for contact limits; ``contact_keys`` the ``channel:external_id`` of recent
    filed messages, so a redelivery is not filed twice.
    """

    customer_id: str
    customer: Customer
    status: ConductStatus
    version: int
    updated_at: datetime
    restrictions: tuple[Restriction, ...] = ()
    reasons: str = ""
    decided_by: str | None = None
    involved: tuple[str, ...] = ()
    review_at: datetime | None = None
    appeal_grounds: str = ""
    adjustments: tuple[Adjustment, ...] = ()
    adjustment_note: str = ""
    review_queue: tuple[ReviewItem, ...] = ()
    recent_contacts: tuple[datetime, ...] = ()
    contact_keys: tuple[str, ...] = ()
    audit_head: str | None = None

    @property
    def id(self) -> str:
        """The record's id in events and outbox messages: ``conduct:<customer id>``."""
        return conduct_record_id(self.customer_id)

    @property
    def restricted(self) -> bool:
        """Whether restrictions are in force."""
        return self.status.restricts

    def in_force_at(self, now: datetime) -> bool:
        """Whether the restrictions restrict contact at ``now``.

        Only a restricting status counts, and only until the review date: a
        restriction whose review date has come no longer blocks anything, even before
        the sweep records the lapse.
        """
        return self.restricted and (self.review_at is None or self.review_at > now)

    def restriction(self, kind: RestrictionKind) -> Restriction | None:
        """The restriction of that kind in force, if any."""
        if not self.restricted:
            return None
        for restriction in self.restrictions:
            if restriction.kind is kind:
                return restriction
        return None

    def evolve(self, **changes: Any) -> ConductRecord:
        """This record with ``changes`` (a new snapshot; this one is unchanged)."""
        return attrs.evolve(self, **changes)


__all__ = [
    "CONDUCT_PREFIX",
    "Adjustment",
    "ConductRecord",
    "ConductStatus",
    "Restriction",
    "RestrictionKind",
    "ReviewItem",
    "ReviewReason",
    "conduct_record_id",
    "is_conduct_record_id",
]
