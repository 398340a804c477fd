"""Where the SMS gateway is and how to use it, from arguments or the environment.

Every value is checked when the settings are made, so that a mistake shows when the
engine opens, naming the argument and its environment variable, and not at the first
text message in the middle of the night.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import attrs
from complaint_flow import InvalidArgumentError

from complaint_flow_sms.errors import InvalidNumberError
from complaint_flow_sms.phone_numbers import country_code, normalise_number

LongLetters = Literal["split", "refuse"]

ENVIRONMENT = {
    "gateway_url": "COMPLAINT_FLOW_SMS_GATEWAY_URL",
    "token": "COMPLAINT_FLOW_SMS_TOKEN",
    "sender": "COMPLAINT_FLOW_SMS_SENDER",
    "webhook_secret": "COMPLAINT_FLOW_SMS_WEBHOOK_SECRET",
    "default_country": "COMPLAINT_FLOW_SMS_DEFAULT_COUNTRY",
    "max_segments": "COMPLAINT_FLOW_SMS_MAX_SEGMENTS",
    "long_letters": "COMPLAINT_FLOW_SMS_LONG_LETTERS",
    "timeout": "COMPLAINT_FLOW_SMS_TIMEOUT",
    "cafile": "COMPLAINT_FLOW_SMS_CAFILE",
    "unreachable_codes": "COMPLAINT_FLOW_SMS_UNREACHABLE_CODES",
}
"""The environment variable of each setting."""

DEFAULT_UNREACHABLE_CODES = frozenset({"invalid_number", "not_mobile", "opted_out"})
"""The gateway's error codes that mean the number will never get a message."""

MAX_TIMEOUT = 30.0
"""The longest wait for the gateway: the outbox gives one message 30 seconds in all."""

_LOOPBACK_HOSTS = frozenset({"localhost"})


def _named(argument: str) -> str:
    return f"{argument} ({ENVIRONMENT[argument]})"


def _secret(argument: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        state = "empty" if isinstance(value, str) else "not text"
        raise InvalidArgumentError(
            f"{_named(argument)} must be the text the gateway gave you; it is {state}"
        )
    if value != value.strip() or any(not 32 < ord(c) < 127 for c in value):
        # A secret with spaces or control characters is a copy-and-paste accident, and
        # a newline would end the HTTP header it travels in.
        raise InvalidArgumentError(
            f"{_named(argument)} has spaces or characters other than printable ASCII; "
            "copy it again from the gateway's console"
        )
    return value


def _gateway_url(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(
            f"{_named('gateway_url')} must be the gateway's https:// URL to send messages "
            f"to, got {value!r}"
        )
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidArgumentError(
            f"{_named('gateway_url')} must be an https:// URL with a host, got {url!r}"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidArgumentError(
            f"{_named('gateway_url')} has a user name or password in it; give the "
            "gateway's API token as token and the URL without them"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidArgumentError(
            f"{_named('gateway_url')} is plain http:// to {parts.hostname}: the token "
            "and customers' numbers would cross the network unencrypted; use https:// "
            "(plain http is for a gateway on this machine only)"
        )
    return url


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _sender(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{_named('sender')} must be text, got {value!r}")
    sender = value.strip()
    if sender.startswith("+") or sender.isdigit():
        try:
            return normalise_number(sender)
        except InvalidNumberError as error:
            raise InvalidArgumentError(f"{_named('sender')}: {error}") from None
    if not (1 <= len(sender) <= 11 and sender.isascii()) or not all(
        c.isalnum() or c == " " for c in sender
    ):
        raise InvalidArgumentError(
            f"{_named('sender')} must be a phone number (+44…) or a name of 1 to 11 "
            f"letters, digits and spaces (what operators accept), got {value!r}"
        )
    return sender


def _whole(argument: str, value: object, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgumentError(
            f"{_named(argument)} must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def _seconds(value: object) -> float:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_TIMEOUT
    ):
        raise InvalidArgumentError(
            f"{_named('timeout')} must be seconds, more than 0 and at most {MAX_TIMEOUT:g} "
            f"(the outbox gives one message {MAX_TIMEOUT:g} s in all), got {value!r}"
        )
    return float(value)


def _long_letters(value: object) -> LongLetters:
    if value not in ("split", "refuse"):
        raise InvalidArgumentError(
            f"{_named('long_letters')} must be 'split' (send a long letter as several "
            f"messages) or 'refuse' (raise LetterTooLongError), got {value!r}"
        )
    return value


def _codes(value: object) -> frozenset[str]:
    if isinstance(value, str):
        value = [code for code in value.split(",") if code.strip()]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"{_named('unreachable_codes')} must be the gateway's error codes, as a list "
            f"or comma-separated text, got {value!r}"
        )
    codes = list(value)
    if not codes or not all(isinstance(code, str) and code.strip() for code in codes):
        raise InvalidArgumentError(
            f"{_named('unreachable_codes')} must name at least one error code, each as "
            f"text, got {codes!r}"
        )
    return frozenset(code.strip() for code in codes)


def _cafile(value: object) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        raise InvalidArgumentError(f"{_named('cafile')} must be a path, got {value!r}")
    path = Path(value)
    if not path.is_file():
        raise InvalidArgumentError(
            f"{_named('cafile')} {str(path)!r} is not a file; give the PEM file of the "
            "certificates that signed the gateway's"
        )
    return path


def _default_country(value: object) -> str | None:
    if value is None:
        return None
    try:
        return country_code(value)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(f"{_named('default_country')}: {error}") from None


@attrs.frozen(init=False)
class SmsSettings:
    """How to reach the SMS gateway; every value is checked here.

    Args:
        gateway_url: where messages are POSTed (``https://``; ``http://`` only to this
            machine).
        token: the gateway's API token, sent as ``Authorization: Bearer …`` (never shown
            by ``repr`` or in error messages).
        sender: who the messages come from: a number (``+44…``) or a name of up to 11
            letters and digits; ``None`` leaves it to the gateway's account.
        webhook_secret: the secret the gateway signs inbound webhooks with
            (:func:`~complaint_flow_sms.verify_signature`); ``None`` if you check
            inbound messages otherwise.
        default_country: the calling code of national numbers (``"44"``); ``None``
            accepts international numbers only.
        max_segments: the most segments (1 to 10) one text message may take.
        long_letters: ``"split"`` sends a longer letter as several messages, labelled
            ``(1/3)``…; ``"refuse"`` raises :class:`LetterTooLongError`.
        timeout: seconds to wait for the gateway (at most 30).
        cafile: a PEM file of the certificates to trust for the gateway instead of the
            system's (a private CA).
        unreachable_codes: the gateway's error codes that mean the number will never
            get a message (the message becomes unreachable instead of retried).

    Raises:
        InvalidArgumentError: a value is malformed; the message names it and its
            environment variable.

    >>> settings = SmsSettings("https://sms.example.net/v1/messages", "t0ken")
    >>> settings.max_segments, settings.long_letters, settings.timeout
    (3, 'split', 10.0)
    >>> "t0ken" in repr(settings)
    False
    """

    gateway_url: str
    token: str = attrs.field(repr=False)
    sender: str | None
    webhook_secret: str | None = attrs.field(repr=False)
    default_country: str | None
    max_segments: int
    long_letters: LongLetters
    timeout: float
    cafile: Path | None
    unreachable_codes: frozenset[str]

    def __init__(
        self,
        gateway_url: str,
        token: str,
        *,
        sender: str | None = None,
        webhook_secret: str | None = None,
        default_country: str | None = None,
        max_segments: int = 3,
        long_letters: LongLetters = "split",
        timeout: float = 10.0,
        cafile: str | os.PathLike[str] | None = None,
        unreachable_codes: Iterable[str] = DEFAULT_UNREACHABLE_CODES,
    ) -> None:
        self.__attrs_init__(
            gateway_url=_gateway_url(gateway_url),
            token=_secret("token", token),
            sender=_sender(sender),
            webhook_secret=None
            if webhook_secret is None
            else _secret("webhook_secret", webhook_secret),
            default_country=_default_country(default_country),
            max_segments=_whole("max_segments", max_segments, 1, 10),
            long_letters=_long_letters(long_letters),
            timeout=_seconds(timeout),
            cafile=_cafile(cafile),
            unreachable_codes=_codes(unreachable_codes),
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SmsSettings:
        """The settings given by the ``COMPLAINT_FLOW_SMS_*`` variables (:data:`ENVIRONMENT`).

        ``COMPLAINT_FLOW_SMS_GATEWAY_URL`` and ``COMPLAINT_FLOW_SMS_TOKEN`` are required;
        the others take their defaults when unset or empty.

        Args:
            environ: where to read them (default: ``os.environ``).

        Raises:
            InvalidArgumentError: a variable is missing or malformed (named in the message).
        """
        source = os.environ if environ is None else environ
        given = {
            argument: source[variable].strip()
            for argument, variable in ENVIRONMENT.items()
            if source.get(variable, "").strip()
        }
        for required in ("gateway_url", "token"):
            if required not in given:
                raise InvalidArgumentError(
                    f"{ENVIRONMENT[required]} is not set: the SMS channel needs "
                    f"{ENVIRONMENT['gateway_url']} and {ENVIRONMENT['token']} (see the "
                    "complaint-flow-sms README), or settings passed to SmsPlugin"
                )
        # Each value is text here; __init__ reads numbers, lists and paths from text.
        return cls(**given)  # type: ignore[arg-type]

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context for the gateway: the system's trust, or ``cafile``'s."""
        return ssl.create_default_context(cafile=None if self.cafile is None else str(self.cafile))


def configured_in(environ: Mapping[str, str] | None = None) -> bool:
    """Whether any ``COMPLAINT_FLOW_SMS_*`` setting is given in the environment."""
    source = os.environ if environ is None else environ
    return any(source.get(variable, "").strip() for variable in ENVIRONMENT.values())


__all__ = [
    "DEFAULT_UNREACHABLE_CODES",
    "ENVIRONMENT",
    "MAX_TIMEOUT",
    "LongLetters",
    "SmsSettings",
    "configured_in",
]
