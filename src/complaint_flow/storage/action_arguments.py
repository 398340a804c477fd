"""The checks of the action part's arguments, the same in every store.

Each returns the value as the store uses it or raises
:class:`~complaint_flow.errors.InvalidArgumentError` before anything is read or
written. A third-party store may call them too.
"""

from __future__ import annotations

from datetime import datetime

from complaint_flow import arguments
from complaint_flow.errors import InvalidArgumentError
from complaint_flow.model.actions import ActionStatus
from complaint_flow.storage.contract import ActionCommit

MAX_PERIODS = 10_000
"""The most periods one ``complaint_counts`` call counts."""


def commit(value: object) -> ActionCommit:
    """The commit ``action_commit`` writes."""
    return arguments.instance(
        "commit", value, ActionCommit, "ActionCommit(action, expected_version, events, outbox)"
    )


def action_id(value: object) -> str:
    """An action id (text, kept as given)."""
    return arguments.text("action_id", value, strip=False)


def statuses(value: object) -> frozenset[ActionStatus] | None:
    """None, or the statuses of a list of them (or their values as text)."""
    if value is None:
        return None
    listed = arguments.items("statuses", value)
    choices = [status.value for status in ActionStatus]
    return frozenset(
        ActionStatus(arguments.one_of(f"statuses[{index}]", item, choices))
        for index, item in enumerate(listed)
    )


def owner_id(value: object) -> str | None:
    """None, or an owner's actor id."""
    return arguments.optional_text("owner_id", value, strip=False)


def moment(argument: str, value: object) -> datetime | None:
    """None, or an aware datetime."""
    return arguments.optional_aware_datetime(argument, value)


def limit(value: object) -> int | None:
    """How many at most (None: no limit)."""
    return arguments.optional_whole_number("limit", value, minimum=0)


def categories(value: object) -> tuple[str, ...]:
    """The distinct categories of a non-empty list (not a lone category), in order."""
    listed = arguments.names("categories", value, empty=False)
    return tuple(dict.fromkeys(listed))


def bounds(value: object) -> tuple[datetime, ...]:
    """At least two aware datetimes, each later than the one before."""
    listed = arguments.items("bounds", value)
    if len(listed) < 2:
        raise InvalidArgumentError(
            f"bounds must hold at least two instants (the start and the end of a period), "
            f"got {arguments.shown(value)}; pass e.g. [start, end]"
        )
    if len(listed) > MAX_PERIODS + 1:
        raise InvalidArgumentError(
            f"bounds hold {len(listed) - 1} periods; count at most {MAX_PERIODS} at once"
        )
    moments = tuple(
        arguments.aware_datetime(f"bounds[{index}]", item) for index, item in enumerate(listed)
    )
    for index in range(1, len(moments)):
        if moments[index] <= moments[index - 1]:
            raise InvalidArgumentError(
                f"bounds must increase: bounds[{index}] ({moments[index].isoformat()}) is not "
                f"after bounds[{index - 1}] ({moments[index - 1].isoformat()})"
            )
    return moments


def find_arguments(
    statuses_value: object,
    owner_value: object,
    due_value: object,
    check_due_value: object,
    limit_value: object,
) -> tuple[
    frozenset[ActionStatus] | None, str | None, datetime | None, datetime | None, int | None
]:
    """The checked arguments of ``action_find``."""
    return (
        statuses(statuses_value),
        owner_id(owner_value),
        moment("due_before", due_value),
        moment("check_due_before", check_due_value),
        limit(limit_value),
    )
