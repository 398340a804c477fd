"""Changing a complaint's deadline clocks by hand: agreed extensions, and replays after
a workflow's clocks change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from complaint_flow.definitions.calendars import Duration, DurationError
from complaint_flow.errors import ClockError, ConcurrencyError, InvalidArgumentError
from complaint_flow.kernel.draft import Draft
from complaint_flow.kernel.unit_of_work import RETRIES, Kernel
from complaint_flow.model.entities import Actor, ClockStatus, Complaint


def extend_clock(
    kernel: Kernel,
    complaint_id: str,
    clock: str,
    until: datetime | Duration | str,
    actor: Actor,
    reason: str,
    *,
    expected_version: int | None,
    retries: int,
) -> Complaint:
    """Agree a later deadline for one clock; recorded, and the customer is told.

    ``until`` is the new deadline, or how much later it is: a :class:`Duration` or
    its text (``"5 working days"``), counted from the current deadline in the
    clock's own calendar.

    Raises:
        ClockError: unknown or stopped clock, or a new deadline not later than the
            current one (an extension never shortens a deadline).
    """
    if isinstance(until, datetime):
        if until.utcoffset() is None:
            raise InvalidArgumentError(
                "until must be a timezone-aware datetime (e.g. with tzinfo=UTC) or a "
                "duration such as '5 working days'"
            )
        later: Duration | None = None
    elif isinstance(until, (Duration, str)):
        try:
            later = Duration.parse(until)
        except DurationError as exc:
            raise InvalidArgumentError(f"until: {exc}") from None
    else:
        raise InvalidArgumentError(
            f"until must be a timezone-aware datetime or a duration such as "
            f"'5 working days', got {type(until).__name__}"
        )

    seen: list[datetime] = []

    def build(draft: Draft[Complaint]) -> None:
        complaint = draft.base
        book = kernel.workflow(complaint.workflow).clocks
        if clock not in book.clocks:
            raise ClockError(
                f"workflow {complaint.workflow!r} has no clock {clock!r}; its clocks: "
                f"{', '.join(sorted(book.clocks)) or 'none'}"
            )
        state = complaint.clock(clock)
        if state is None or state.status is ClockStatus.STOPPED:
            raise ClockError(
                f"clock {clock!r} is not running on {complaint.reference}; "
                "only a running or paused clock can be extended"
            )
        if seen and state.deadline != seen[0]:
            # Extended by someone else between our read and our commit: one request
            # moves the deadline once, however often it is retried.
            raise ConcurrencyError(complaint.id, complaint.version)
        seen[:] = [state.deadline]
        deadline = (
            book.calendars[clock].deadline(state.deadline, later) if later is not None else until
        )
        assert isinstance(deadline, datetime)
        if deadline <= state.deadline:
            raise ClockError(
                f"an extension must move the deadline of {clock!r} later than "
                f"{state.deadline.isoformat()}; {deadline.isoformat()} is not later"
            )
        data = {
            "clock": clock,
            "deadline": deadline.astimezone(UTC).isoformat(),
            "previous": state.deadline.isoformat(),
        }
        if later is not None:
            data["by"] = str(later)
        draft.record("clock_extended", actor, reason=reason, data=data, notify=("customer",))

    return kernel.change(complaint_id, build, expected_version=expected_version, retries=retries)[0]


def recompute_clocks(kernel: Kernel, complaint_id: str, actor: Actor) -> Complaint:
    """Recompute the complaint's clocks from its history with the current definition.

    Records a ``clocks_recomputed`` event when anything changed; returns the
    complaint unchanged otherwise.
    """

    def build(draft: Draft[Complaint]) -> None:
        complaint = draft.base
        book = kernel.workflow(complaint.workflow).clocks
        clocks = book.replay(kernel.store.events(complaint.id))
        if clocks == complaint.clocks:
            return
        draft.record(
            "clocks_recomputed",
            actor,
            reason="clocks replayed from the history with the current workflow definition",
            data={"clocks": [state.name for state in clocks]},
            change={"clocks": clocks, "due_at": book.due_at(clocks)},
        )

    return kernel.change(complaint_id, build, retries=RETRIES)[0]
