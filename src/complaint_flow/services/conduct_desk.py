"""The stop procedure's desk: warnings, restrictions, appeals, reviews, adjustments.

Each step checks everything first (who acts, reasons, dates, restrictions,
reasonable adjustments, the procedure's state machine), then writes one
version-checked :class:`~complaint_flow.storage.contract.ConductCommit` with the step's
event and the letter to the customer. A refused step raises a
:class:`~complaint_flow.errors.ConductError` (or a subclass) and leaves the
record as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from complaint_flow.arguments import name, whole_number
from complaint_flow.definitions.conduct_policy import ConductPolicy
from complaint_flow.errors import (
    ComplaintNotFoundError,
    ConcurrencyError,
    ConductError,
    ConflictOfInterestError,
    InvalidArgumentError,
    NotAuthorisedError,
)
from complaint_flow.fsm.conduct_machine import (
    SKIP_WARNING_SOURCES,
    ConductTrigger,
    conduct_machine,
)
from complaint_flow.kernel.aggregates import CONDUCT
from complaint_flow.kernel.draft import Draft, changed_fields
from complaint_flow.kernel.unit_of_work import HasKernel, Kernel, as_kernel, new_record
from complaint_flow.model.channels import written_channels
from complaint_flow.model.conduct import (
    Adjustment,
    ConductRecord,
    ConductStatus,
    Restriction,
    RestrictionKind,
)
from complaint_flow.model.entities import SYSTEM, Actor, Customer, Event
from complaint_flow.services.conduct_notices import (
    Letter,
    NoticeKind,
    appeal_outcome_letter,
    appeal_received_letter,
    end_letter,
    notice_message,
    notice_route,
    restriction_data,
    restriction_letter,
    warning_letter,
)

logger = logging.getLogger("complaint_flow.conduct")

RESTRICTING_STATUSES = tuple(status for status in ConductStatus if status.restricts)
"""The statuses in which restrictions are in force."""


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConductError(f"{what} must be given as non-empty text; got {value!r}")
    return value.strip()


_SETTINGS = frozenset(field.name for field in attrs.fields(Restriction)) - {"kind"}


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class ConductDesk:
    """The stop procedure for the customers of one engine (``engine.conduct``).

    Args:
        engine: the engine (or its kernel) whose store, clock and channels the desk uses.
        policy: who may decide what (default :class:`ConductPolicy` ``()``).

    Raises:
        UnknownChannelError: the policy names a channel that is not registered.
    """

    def __init__(self, engine: HasKernel | Kernel, policy: ConductPolicy | None = None) -> None:
        self.kernel = as_kernel(engine)
        self.policy = policy if policy is not None else ConductPolicy()
        if self.policy.written_channels is not None:
            for name in self.policy.written_channels:
                self.kernel.registry.channel(name)

    # -- reading ------------------------------------------------------------

    def record(self, customer: Customer | str) -> ConductRecord:
        """The customer's conduct record (an unsaved ``normal`` version 0 if none is stored).

        Raises:
            ConductError: no record is stored and no complaint of the customer
                says who they are; pass a :class:`Customer` to the first step.
        """
        if isinstance(customer, Customer):
            return self._load(customer)
        customer_id = _text(customer, "the customer id")
        stored = self.kernel.store.conduct_get(customer_id)
        if stored is not None:
            return stored
        complaints = self.kernel.store.find(customer_id=customer_id)
        if not complaints:
            raise ConductError(
                f"customer {customer_id!r} has no conduct record and no complaint to take "
                "their details from; pass the Customer(...) instead of its id"
            )
        # The store lists the oldest received first: the last is the latest.
        return self._fresh(complaints[-1].customer)

    def history(self, customer: Customer | str) -> list[Event]:
        """The events of the customer's conduct record, in order (empty if none)."""
        customer_id = customer.id if isinstance(customer, Customer) else customer
        return self.kernel.store.conduct_events(_text(customer_id, "the customer id"))

    def restricted(self, limit: int | None = None) -> list[ConductRecord]:
        """Records with restrictions in force, earliest review date first."""
        if limit is not None and not _positive(limit):
            raise InvalidArgumentError(f"limit must be a positive whole number, got {limit!r}")
        return self.kernel.store.conduct_find(statuses=RESTRICTING_STATUSES, limit=limit)

    # -- steps --------------------------------------------------------------

    def warn(self, customer: Customer | str, *, actor: Actor, reason: str) -> ConductRecord:
        """Warn the customer that restrictions may follow (the procedure's usual first step).

        Raises:
            NotAuthorisedError: the actor's role is not in ``warning_roles``.
            ConductError: no reason, or the record is not ``normal`` or ``lapsed``.
        """
        self._authorise(actor, self.policy.warning_roles, "warn a customer")
        reason = _text(reason, "the reason for the warning")
        record = self.record(customer)
        now = self.kernel.clock()
        conduct_machine().check(record.status, ConductTrigger.WARN)
        new = record.evolve(
            reasons=reason,
            decided_by=actor.id,
            involved=(actor.id,),
            restrictions=(),
            review_at=None,
            appeal_grounds="",
        )
        return self._commit(
            record, new, ConductTrigger.WARN, "warned", actor, reason, now, {}, warning_letter
        )

    def restrict(
        self,
        customer: Customer | str,
        restrictions: Sequence[Restriction | Mapping[str, Any]],
        *,
        actor: Actor,
        reasons: str,
        review_at: datetime,
        skip_warning_reason: str | None = None,
        adjustment_note: str = "",
    ) -> ConductRecord:
        """Decide restrictions on how the customer may contact the organisation.

        Args:
            customer: the customer (or their id, if a complaint of theirs is stored).
            restrictions: one or more restrictions (:class:`Restriction` or a
                mapping ``{"kind": ..., settings...}``); one of each kind at most.
            actor: who decides; their role must be in ``decision_roles``.
            reasons: why, as told to the customer.
            review_at: when the restriction is reviewed (and lapses unless
                extended): timezone-aware, in the future, within ``max_review_days``.
            skip_warning_reason: required when the customer was not warned first
                (record ``normal`` or ``lapsed``), e.g. staff safety.
            adjustment_note: how a recorded reasonable adjustment is honoured;
                required when a restriction would exclude a recorded need.

        Raises:
            NotAuthorisedError: the actor may not decide restrictions.
            ConductError: anything else refused (the message says what); the
                record is unchanged.
        """
        self._authorise(actor, self.policy.decision_roles, "restrict a customer")
        reasons = _text(reasons, "the reasons for the restriction")
        record = self.record(customer)
        now = self.kernel.clock()
        checked = self._restrictions(record, restrictions)
        review = self._review_at(review_at, now)
        conduct_machine().check(record.status, ConductTrigger.RESTRICT)
        data: dict[str, Any] = {}
        if record.status in SKIP_WARNING_SOURCES:
            if skip_warning_reason is None or not str(skip_warning_reason).strip():
                raise ConductError(
                    f"customer {record.customer_id!r} was not warned first (record is "
                    f"{record.status.value!r}): warn them, or give skip_warning_reason= "
                    "saying why a warning is not appropriate (e.g. staff safety)"
                )
            data["skip_warning_reason"] = _text(skip_warning_reason, "skip_warning_reason")
            involved: tuple[str, ...] = (actor.id,)
        else:
            involved = _with(record.involved, actor.id)
        note = self._adjustment_note(record.adjustments, checked, adjustment_note)
        return self._impose(
            record, checked, review, note, involved, actor, reasons, now, data, extension=False
        )

    def appeal(
        self,
        customer: Customer | str,
        *,
        grounds: str,
        actor: Actor,
        received_via: str | None = None,
    ) -> ConductRecord:
        """Record the customer's appeal against a restriction or its extension.

        Args:
            grounds: why the customer disagrees.
            actor: the member of staff recording the appeal.
            received_via: the channel the appeal came on, if known.

        Raises:
            ConductError: no grounds, or no restriction or extension to appeal.
            UnknownChannelError: ``received_via`` is not a registered channel.
        """
        _check_actor(actor)
        grounds = _text(grounds, "the grounds of the appeal")
        if received_via is not None:
            self.kernel.registry.channel(name("received_via", received_via))
        record = self.record(customer)
        now = self.kernel.clock()
        conduct_machine().check(record.status, ConductTrigger.APPEAL)
        data: dict[str, Any] = {"grounds": grounds}
        if received_via is not None:
            data["received_via"] = received_via
        decided_at = self._last_decision_at(record)
        if decided_at is not None and now > decided_at + timedelta(days=self.policy.appeal_days):
            # Still recorded: whether a late appeal is heard is for the decider.
            data["late"] = True
        new = record.evolve(appeal_grounds=grounds)
        return self._commit(
            record,
            new,
            ConductTrigger.APPEAL,
            "appealed",
            actor,
            grounds,
            now,
            data,
            appeal_received_letter,
        )

    def decide_appeal(
        self, customer: Customer | str, *, restriction_stands: bool, actor: Actor, reasons: str
    ) -> ConductRecord:
        """Decide the appeal: dismissed (the restriction stands) or allowed (it ends).

        Args:
            restriction_stands: True dismisses the appeal and keeps the restriction
                (status ``reviewed``); False allows it and ends the restriction
                (``lapsed``). Named for its effect, because "upheld" means opposite
                things to different readers.

        Raises:
            NotAuthorisedError: the actor's role is not in ``appeal_roles``.
            ConflictOfInterestError: the actor warned, restricted or extended in
                the decision appealed; someone else must decide.
            ConductError: no reasons, or no appeal is waiting.
        """
        self._authorise(actor, self.policy.appeal_roles, "decide an appeal")
        if not isinstance(restriction_stands, bool):
            raise ConductError(
                "restriction_stands must be True (the appeal is dismissed) or False (it is "
                f"allowed and the restriction ends); got {restriction_stands!r}"
            )
        reasons = _text(reasons, "the reasons for the appeal decision")
        record = self.record(customer)
        now = self.kernel.clock()
        trigger = ConductTrigger.UPHOLD if restriction_stands else ConductTrigger.OVERTURN
        conduct_machine().check(record.status, trigger)
        if actor.id in record.involved:
            raise ConflictOfInterestError(
                f"actor {actor.id!r} took part in the decision under appeal (involved: "
                f"{', '.join(record.involved)}); the appeal must be decided by someone else "
                f"with one of the roles {', '.join(self.policy.appeal_roles)}"
            )
        changes: dict[str, Any] = {"reasons": reasons, "decided_by": actor.id}
        if not restriction_stands:
            changes.update(_ended())
        new = record.evolve(**changes)
        return self._commit(
            record,
            new,
            trigger,
            "appeal_decided",
            actor,
            reasons,
            now,
            {"restriction_stands": restriction_stands},
            lambda r: appeal_outcome_letter(r, restriction_stands, reasons),
        )

    def review(
        self,
        customer: Customer | str,
        *,
        actor: Actor,
        reasons: str,
        extend_until: datetime | None = None,
        restrictions: Sequence[Restriction | Mapping[str, Any]] | None = None,
        adjustment_note: str = "",
    ) -> ConductRecord:
        """Review a restriction: extend it to a new review date, or let it go (``lapsed``).

        Args:
            actor: who reviews; their role must be in ``decision_roles``.
            reasons: why, as told to the customer.
            extend_until: the new review date (as for :meth:`restrict`); None
                lets the restriction lapse now.
            restrictions: for an extension, the restrictions from now on (None:
                the same ones).
            adjustment_note: for an extension, how recorded needs are honoured
                (left empty: the record's current note is kept).

        Raises:
            NotAuthorisedError, ConductError: as :meth:`restrict`.
        """
        self._authorise(actor, self.policy.decision_roles, "review a restriction")
        reasons = _text(reasons, "the reasons for the review decision")
        record = self.record(customer)
        now = self.kernel.clock()
        if extend_until is None:
            if restrictions is not None:
                raise ConductError(
                    "restrictions= only applies to an extension: give extend_until= too"
                )
            conduct_machine().check(record.status, ConductTrigger.LAPSE)
            new = record.evolve(reasons=reasons, decided_by=actor.id, **_ended())
            return self._commit(
                record,
                new,
                ConductTrigger.LAPSE,
                "lapsed",
                actor,
                reasons,
                now,
                {"reviewed": True},
                lambda r: end_letter(NoticeKind.LAPSE, reasons),
            )
        review = self._review_at(extend_until, now)
        checked = (
            record.restrictions
            if restrictions is None
            else self._restrictions(record, restrictions)
        )
        conduct_machine().check(record.status, ConductTrigger.EXTEND)
        note = self._adjustment_note(
            record.adjustments, checked, adjustment_note or record.adjustment_note
        )
        involved = _with(record.involved, actor.id)
        return self._impose(
            record, checked, review, note, involved, actor, reasons, now, {}, extension=True
        )

    def _impose(
        self,
        record: ConductRecord,
        restrictions: tuple[Restriction, ...],
        review: datetime,
        note: str,
        involved: tuple[str, ...],
        actor: Actor,
        reasons: str,
        now: datetime,
        data: dict[str, Any],
        *,
        extension: bool,
    ) -> ConductRecord:
        """Put checked restrictions in force until ``review`` (a restriction or an extension)."""
        data["restrictions"] = [restriction_data(r) for r in restrictions]
        data["review_at"] = review.isoformat()
        if note:
            data["adjustment_note"] = note
        new = record.evolve(
            restrictions=restrictions,
            reasons=reasons,
            decided_by=actor.id,
            involved=involved,
            review_at=review,
            adjustment_note=note,
            appeal_grounds="",
        )
        trigger = ConductTrigger.EXTEND if extension else ConductTrigger.RESTRICT
        return self._commit(
            record,
            new,
            trigger,
            "extended" if extension else "restricted",
            actor,
            reasons,
            now,
            data,
            lambda r: restriction_letter(
                r, now, self.policy.appeal_days, self._written_list(), extension=extension
            ),
        )

    def lift(self, customer: Customer | str, *, actor: Actor, reasons: str) -> ConductRecord:
        """Lift the restrictions now, before their review date.

        Raises:
            NotAuthorisedError: the actor's role is not in ``decision_roles``.
            ConductError: no reasons, or no restriction is in force.
        """
        self._authorise(actor, self.policy.decision_roles, "lift a restriction")
        reasons = _text(reasons, "the reasons for lifting the restriction")
        record = self.record(customer)
        now = self.kernel.clock()
        conduct_machine().check(record.status, ConductTrigger.LIFT)
        new = record.evolve(reasons=reasons, decided_by=actor.id, **_ended())
        return self._commit(
            record,
            new,
            ConductTrigger.LIFT,
            "lifted",
            actor,
            reasons,
            now,
            {},
            lambda r: end_letter(NoticeKind.LIFT, reasons),
        )

    def record_adjustment(
        self,
        customer: Customer | str,
        need: str,
        *,
        channels: Sequence[str] = (),
        actor: Actor,
    ) -> ConductRecord:
        """Record a vulnerability or accessibility need (a reasonable adjustment).

        ``channels`` are the channels the person can use whatever a restriction
        says (e.g. ``("phone",)`` for someone who cannot write). If a restriction
        in force would exclude them, the event says which: the need overrides it.

        Raises:
            ConductError: no need described, or channels not a list of names.
            UnknownChannelError: a channel is not registered.
        """
        _check_actor(actor)
        need = _text(need, "the need to accommodate")
        if (
            isinstance(channels, str)
            or not isinstance(channels, Iterable)
            or not all(isinstance(c, str) for c in channels)
        ):
            raise ConductError(
                f"channels must be a list of channel names, e.g. ('phone',); got {channels!r}"
            )
        for channel in channels:
            self.kernel.registry.channel(channel)
        record = self.record(customer)
        now = self.kernel.clock()
        adjustment = Adjustment(need, tuple(channels), actor.id, now)
        data: dict[str, Any] = {"need": need, "channels": list(channels)}
        if record.restricted:
            overrides = self._excluded((adjustment,), record.restrictions)
            if overrides:
                data["overrides"] = [RestrictionKind.WRITTEN_ONLY.value]
                data["excluded_channels"] = overrides
        draft = Draft(record, now, CONDUCT)
        draft.record(
            "adjustment_recorded",
            actor,
            reason=need,
            data=data,
            change={"adjustments": (*record.adjustments, adjustment)},
        )
        return self.kernel.commit(draft)

    # -- the sweep ------------------------------------------------------------

    def lapse(self, record: ConductRecord, now: datetime) -> ConductRecord:
        """Let a restriction lapse because its review date came (by the SYSTEM actor).

        Raises:
            ConductError: the record is not restricting or its review date is
                still ahead.
            ConcurrencyError: the record changed since it was read.
        """
        if record.review_at is None or record.review_at > now:
            raise ConductError(
                f"the restriction of {record.customer_id!r} is not due for review "
                f"(review date {record.review_at})"
            )
        conduct_machine().check(record.status, ConductTrigger.LAPSE)
        reasons = "The review date of the restrictions was reached and they were not extended."
        new = record.evolve(reasons=reasons, decided_by=SYSTEM.id, **_ended())
        return self._commit(
            record,
            new,
            ConductTrigger.LAPSE,
            "lapsed",
            SYSTEM,
            reasons,
            now,
            {"review_at": record.review_at.isoformat()},
            lambda r: end_letter(NoticeKind.LAPSE, reasons),
        )

    def lapse_due(self, now: datetime, *, batch: int = 500) -> list[ConductRecord]:
        """Let every restriction whose review date has come lapse (the sweep calls this).

        Up to ``batch`` records whose ``review_at`` is at or before ``now`` and that
        still restrict get a ``lapsed`` event by the SYSTEM actor and a lapse notice.
        Safe with concurrent sweepers: each commit is version-checked, and a
        ``ConcurrencyError`` means someone else (another sweeper, a review) changed
        the record first, so it is skipped.

        Returns:
            The lapsed records, as stored.
        """
        batch = whole_number("batch", batch, minimum=1, maximum=100_000)
        due = self.kernel.store.conduct_find(
            statuses=RESTRICTING_STATUSES, review_before=now, limit=batch
        )
        lapsed = []
        for record in due:
            try:
                lapsed.append(self.lapse(record, now))
            except ConcurrencyError:
                logger.debug("conduct record %s changed meanwhile; skipped", record.id)
        return lapsed

    # -- helpers --------------------------------------------------------------

    def _fresh(self, customer: Customer) -> ConductRecord:
        return new_record(customer, self.kernel.clock())

    def _load(self, customer: Customer) -> ConductRecord:
        stored = self.kernel.store.conduct_get(customer.id)
        if stored is None:
            return self._fresh(customer)
        if stored.customer != customer:
            # The caller's details are the newer ones (e.g. a new address for notices).
            return stored.evolve(customer=customer)
        return stored

    def _authorise(self, actor: Actor, roles: Sequence[str], decision: str) -> None:
        _check_actor(actor)
        if actor.role not in roles:
            raise NotAuthorisedError(actor.id, actor.role, decision, roles)

    def _written(self) -> frozenset[str]:
        return written_channels(self.policy.written_channels, self.kernel.registry.channels)

    def _written_list(self) -> list[str]:
        return sorted(self._written())

    def _review_at(self, review_at: object, now: datetime) -> datetime:
        if not isinstance(review_at, datetime) or review_at.utcoffset() is None:
            raise ConductError(
                "the review date must be a timezone-aware datetime (e.g. "
                f"datetime(2026, 9, 1, tzinfo=timezone.utc)); got {review_at!r}"
            )
        if review_at <= now:
            raise ConductError(
                f"the review date {review_at.isoformat()} is not in the future (now is "
                f"{now.isoformat()}); choose a later date"
            )
        latest = now + timedelta(days=self.policy.max_review_days)
        if review_at > latest:
            raise ConductError(
                f"the review date {review_at.isoformat()} is more than "
                f"{self.policy.max_review_days} days ahead; review by {latest.isoformat()} "
                "at the latest (extend at review if still needed)"
            )
        return review_at

    def _restrictions(self, record: ConductRecord, given: object) -> tuple[Restriction, ...]:
        if isinstance(given, (Restriction, Mapping, str)) or not isinstance(given, Sequence):
            raise ConductError(
                "restrictions must be a list of Restriction (e.g. "
                f"[Restriction.written_only()]); got {given!r}"
            )
        if not given:
            raise ConductError(
                "a restriction decision needs at least one restriction; to warn without "
                "restricting use warn()"
            )
        checked = tuple(self._restriction(record, item) for item in given)
        kinds = [r.kind for r in checked]
        duplicates = sorted({k.value for k in kinds if kinds.count(k) > 1})
        if duplicates:
            raise ConductError(
                f"each kind of restriction may be given once; {', '.join(duplicates)} "
                "is given more than once"
            )
        return checked

    def _restriction(self, record: ConductRecord, item: object) -> Restriction:
        if isinstance(item, Mapping):
            fields = dict(item)
            unknown = sorted(set(fields) - _SETTINGS - {"kind"})
            if unknown:
                raise ConductError(
                    f"unknown restriction setting(s) {', '.join(unknown)}; a restriction "
                    f"takes kind and {', '.join(sorted(_SETTINGS))}"
                )
            kind = _kind(fields.pop("kind", None))
            if "matters" in fields and isinstance(fields["matters"], list):
                fields["matters"] = tuple(fields["matters"])
            # The same defaults as the class methods (a contact limit is not acknowledged).
            fields.setdefault("acknowledge", kind is not RestrictionKind.CONTACT_LIMIT)
            item = Restriction(kind, **fields)
        if not isinstance(item, Restriction):
            raise ConductError(
                f"a restriction must be a Restriction or a mapping with a 'kind'; got {item!r}"
            )
        restriction = attrs.evolve(item, kind=_kind(item.kind))
        kind = restriction.kind
        if not isinstance(restriction.acknowledge, bool):
            raise ConductError(
                f"acknowledge must be True or False; got {restriction.acknowledge!r}"
            )
        if kind is RestrictionKind.SINGLE_POINT_OF_CONTACT:
            for name in ("contact", "contact_name"):
                value = getattr(restriction, name)
                if not isinstance(value, str) or not value.strip():
                    raise ConductError(
                        f"a single point of contact needs its {name.replace('_', ' ')} "
                        "(the officer's or inbox's id or address, and name): "
                        "Restriction.single_point_of_contact(contact, name)"
                    )
        elif kind is RestrictionKind.CONTACT_LIMIT:
            if not _positive(restriction.max_contacts) or not _positive(restriction.period_days):
                raise ConductError(
                    "a contact limit needs a positive max_contacts and period_days (e.g. "
                    "Restriction.contact_limit(2, 7)); got "
                    f"{restriction.max_contacts!r} contacts per {restriction.period_days!r} days"
                )
        elif kind is RestrictionKind.CALL_TIME_LIMIT:
            if not _positive(restriction.call_minutes):
                raise ConductError(
                    "a call time limit needs a positive number of minutes "
                    f"(Restriction.call_time_limit(20)); got {restriction.call_minutes!r}"
                )
        elif kind is RestrictionKind.NO_REOPENING:
            self._check_matters(record, restriction.matters)
        return restriction

    def _check_matters(self, record: ConductRecord, matters: object) -> None:
        if (
            not isinstance(matters, tuple)
            or not matters
            or not all(isinstance(m, str) and m.strip() for m in matters)
        ):
            raise ConductError(
                "no_reopening needs the references of the decided complaints it covers "
                f"(Restriction.no_reopening('CF-2026-000001')); got {matters!r}"
            )
        for reference in matters:
            try:
                complaint = self.kernel.store.get_by_reference(reference)
            except ComplaintNotFoundError:
                raise ConductError(
                    f"no complaint with reference {reference!r}: no_reopening cites the "
                    "customer's decided complaints by their reference"
                ) from None
            if complaint.customer.id != record.customer_id:
                raise ConductError(
                    f"complaint {reference} is not a complaint of customer "
                    f"{record.customer_id!r}; no_reopening only covers their own complaints"
                )

    def _excluded(
        self, adjustments: Sequence[Adjustment], restrictions: Sequence[Restriction]
    ) -> list[str]:
        """The channels of recorded needs that the restrictions would exclude."""
        if not any(r.kind is RestrictionKind.WRITTEN_ONLY for r in restrictions):
            return []
        written = self._written()
        return sorted({c for a in adjustments for c in a.channels if c not in written})

    def _adjustment_note(
        self,
        adjustments: Sequence[Adjustment],
        restrictions: Sequence[Restriction],
        note: object,
    ) -> str:
        if not isinstance(note, str):
            raise ConductError(f"adjustment_note must be text; got {note!r}")
        excluded = self._excluded(adjustments, restrictions)
        if excluded and not note.strip():
            needs = "; ".join(a.need for a in adjustments if set(a.channels) & set(excluded))
            raise ConductError(
                f"a written-only restriction would exclude the customer's recorded need "
                f"({needs}; they can use {', '.join(excluded)}): give adjustment_note= "
                "saying how they are accommodated"
            )
        return note.strip()

    def _last_decision_at(self, record: ConductRecord) -> datetime | None:
        for event in reversed(self.kernel.store.conduct_events(record.customer_id)):
            if event.kind in ("restricted", "extended"):
                return event.at
        return None

    def _commit(
        self,
        record: ConductRecord,
        new: ConductRecord,
        trigger: ConductTrigger,
        kind: str,
        actor: Actor,
        reason: str,
        now: datetime,
        data: dict[str, Any],
        letter: Any,
    ) -> ConductRecord:
        """Fire the step on the conduct machine and commit what it performed, with its letter."""
        route = notice_route(new.customer, self._written())
        # What the decision changes, as fields: the draft applies them with the status
        # the machine produces.
        changes = changed_fields(record, new)
        draft = Draft(record, now, CONDUCT)

        def performed(source: ConductStatus, dest: ConductStatus) -> None:
            event = draft.record(
                kind,
                actor,
                trigger=trigger.value,
                source=source.value,
                dest=dest.value,
                reason=reason,
                data={**data, **route.event_data()},
                change={**changes, "status": dest},
            )
            built: Letter = letter(draft.subject)
            draft.send(notice_message(draft.subject, event, built, route))

        conduct_machine().fire(record.status, trigger, performed)
        return self.kernel.commit(draft)


def _kind(value: object) -> RestrictionKind:
    if isinstance(value, str):
        try:
            return RestrictionKind(value)
        except ValueError:
            pass
    raise ConductError(
        f"unknown restriction kind {value!r}; the kinds are "
        f"{', '.join(k.value for k in RestrictionKind)}"
    )


def _check_actor(actor: object) -> None:
    if not isinstance(actor, Actor):
        raise ConductError(f"actor must be an Actor(id=..., name=..., role=...); got {actor!r}")


def _with(names: tuple[str, ...], name: str) -> tuple[str, ...]:
    return names if name in names else (*names, name)


def _ended() -> dict[str, Any]:
    """The fields of a record whose restrictions ended."""
    return {"restrictions": (), "review_at": None, "adjustment_note": ""}


__all__ = ["RESTRICTING_STATUSES", "ConductDesk", "ConductPolicy"]
