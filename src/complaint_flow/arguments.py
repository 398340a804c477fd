"""Checking the arguments of public calls (placeholder; replaced by the full module)."""

from __future__ import annotations

from datetime import datetime

from complaint_flow.errors import InvalidArgumentError

MAX_INT64 = 2**63 - 1


def whole_number(name: str, value: object, *, minimum: int = 0, maximum: int = MAX_INT64) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be a whole number, got {value!r}")
    if value < minimum or value > maximum:
        raise InvalidArgumentError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def optional_whole_number(
    name: str, value: object, *, minimum: int = 0, maximum: int = MAX_INT64
) -> int | None:
    if value is None:
        return None
    return whole_number(name, value, minimum=minimum, maximum=maximum)


def aware_datetime(name: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidArgumentError(f"{name} must be a timezone-aware datetime, got {value!r}")
    return value


def text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be non-empty text, got {value!r}")
    return value


def name(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{name} must be a name (text), got {value!r}")
    return value
