"""The stop procedure's policy: who may decide what, which channels count as writing."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from complaint_flow.errors import InvalidArgumentError


def _roles(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _optional_names(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen
class ConductPolicy:
    """Who may take which stop-procedure decision, and the procedure's limits.

    Args:
        warning_roles: roles that may warn a customer.
        decision_roles: roles that may restrict, extend at review, lift or let a
            restriction go.
        appeal_roles: roles that may decide an appeal (the actor must also not
            have warned, restricted or extended in the decision appealed).
        written_channels: the channels that count as written, for notices and
            for the reasonable-adjustment check of written-only restrictions
            (None: every registered channel of kind ``written``).
        appeal_days: how long the customer has to appeal (said in the notice).
        max_review_days: a review date further ahead than this is refused.

    Raises:
        InvalidArgumentError: a role list is empty or has blank names, or a
            number is not a positive whole number.
    """

    warning_roles: tuple[str, ...] = attrs.field(
        default=("supervisor", "manager", "director"), converter=_roles
    )
    decision_roles: tuple[str, ...] = attrs.field(default=("manager", "director"), converter=_roles)
    appeal_roles: tuple[str, ...] = attrs.field(default=("manager", "director"), converter=_roles)
    written_channels: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_names)
    appeal_days: int = 28
    max_review_days: int = 366

    def __attrs_post_init__(self) -> None:
        for name in ("warning_roles", "decision_roles", "appeal_roles"):
            roles = getattr(self, name)
            if not roles or not all(isinstance(r, str) and r.strip() for r in roles):
                raise InvalidArgumentError(
                    f"ConductPolicy.{name} must list at least one role name, got {roles!r}"
                )
        written = self.written_channels
        if written is not None and (
            not written or not all(isinstance(c, str) and c.strip() for c in written)
        ):
            raise InvalidArgumentError(
                "ConductPolicy.written_channels must name at least one channel, or be None "
                f"for every channel of kind 'written'; got {written!r}"
            )
        for name in ("appeal_days", "max_review_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(
                    f"ConductPolicy.{name} must be a positive whole number of days, got {value!r}"
                )


__all__ = ["ConductPolicy"]
