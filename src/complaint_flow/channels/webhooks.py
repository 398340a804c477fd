"""Webhooks: each outbox message POSTed as signed JSON to a URL of the host's choosing.

:class:`WebhookNotifier` is a plugin: it implements ``complaint_flow_notify``, so the
outbox delivers to it at least once and retries it until the receiver answers 2xx.
The body is JSON of schema ``complaint_flow.webhook/1`` (``docs/webhooks.md``), signed
the `Standard Webhooks <https://www.standardwebhooks.com/>`_ way: ``webhook-id`` is the
message's key (the same on every attempt, for the receiver to drop repeats),
``webhook-timestamp`` the attempt's time in Unix seconds, and ``webhook-signature``
``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the shared
secret (``whsec_`` and its base64, or raw bytes). A receiver checks all three with
:func:`verify_signature`, or with any Standard Webhooks library.

The specification's own example (its reference libraries' test):

>>> secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
>>> webhook_signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}', secret)
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
import http.client
import json
import re
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import pluggy

from complaint_flow.arguments import (
    instance,
    names,
    number,
    optional_aware_datetime,
    shown,
    text,
    whole_number,
)
from complaint_flow.errors import ChannelError, InvalidArgumentError
from complaint_flow.model.entities import Complaint, OutboxMessage
from complaint_flow.model.immutable import thaw

WEBHOOK_SCHEMA = "complaint_flow.webhook/1"
"""The ``schema`` of the JSON body; a change a receiver could trip on gets a new number."""
ID_HEADER = "webhook-id"
"""The header holding the delivery's id: the message key, the same on every attempt."""
TIMESTAMP_HEADER = "webhook-timestamp"
"""The header holding the attempt's time, in whole seconds since the Unix epoch."""
SIGNATURE_HEADER = "webhook-signature"
"""The header holding the signatures: ``v1,<base64>``, several separated by spaces."""
SECRET_PREFIX = "whsec_"
"""How a secret written as text starts: ``whsec_`` and the base64 of its bytes."""
MINIMUM_SECRET_BYTES = 24
"""The Standard Webhooks minimum for an HMAC secret (192 bits)."""
DEFAULT_TOLERANCE = 300.0
"""How far, in seconds, a receiver lets ``webhook-timestamp`` be from its own clock."""

Secret = str | bytes
"""A shared secret: ``whsec_`` and the base64 of its bytes, or the bytes themselves."""

# The marker is matched by the project's name only; the plugins package, which holds
# the shared one, is above the channels in the layers and cannot be imported here.
hookimpl = pluggy.HookimplMarker("complaint_flow")

_USER_AGENT = "complaint-flow-webhook/1"
_SECRET_BYTES = 32
"""How many random bytes :func:`new_webhook_secret` makes."""
_NOT_IN_ID = re.compile(r"[^A-Za-z0-9_:\-]")
"""What a message key's ``webhook-id`` percent-encodes: a ``.`` would make the signed
``{id}.{timestamp}.{body}`` ambiguous, and a header holds ASCII only."""
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_HEADERS = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)
_SHOWN_REPLY = 200
"""How much of a refusing receiver's answer is kept in the error."""


class WebhookError(ChannelError):
    """A webhook could not be delivered: the receiver answered other than 2xx, or
    could not be reached. The outbox retries the message.

    Attributes:
        origin: the receiver's scheme, host and port (its path may hold a secret).
        status: the HTTP status it answered, or ``None`` if it did not answer.
    """

    def __init__(self, message: str, *, origin: str, status: int | None = None) -> None:
        super().__init__(message)
        self.origin = origin
        self.status = status


class WebhookVerificationError(ChannelError):
    """A received webhook is not proven to come from its sender: a header is missing or
    malformed, its timestamp is outside the tolerance, or no signature matches. A
    receiver answers 401 and does not act on the body.

    Attributes:
        problem: what failed: ``"missing header"``, ``"malformed header"``,
            ``"stale timestamp"`` or ``"bad signature"``.
    """

    def __init__(self, message: str, *, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


def webhook_body_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the body, schema ``complaint_flow.webhook/1``.

    Fields may be added within version 1 (receivers ignore those they do not know);
    a field removed, renamed or changing meaning makes version 2.
    """
    text_field = {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "complaint_flow webhook delivery, version 1",
        "type": "object",
        "required": [
            "schema",
            "key",
            "topic",
            "created_at",
            "complaint_id",
            "complaint",
            "recipient",
            "channel",
            "address",
            "payload",
        ],
        "properties": {
            "schema": {"const": WEBHOOK_SCHEMA},
            "key": {**text_field, "description": "the message key, also the delivery id"},
            "topic": {**text_field, "description": "'<workflow>.<topic>' or 'conduct.<topic>'"},
            "created_at": {**text_field, "format": "date-time"},
            "complaint_id": {
                **text_field,
                "description": "the complaint's id, or 'conduct:<customer id>' for a "
                "stop-procedure notice",
            },
            "complaint": {
                "description": "the complaint's latest version; null for a conduct notice",
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["id", "reference", "state", "workflow", "version"],
                        "properties": {
                            "id": text_field,
                            "reference": text_field,
                            "state": text_field,
                            "workflow": text_field,
                            "version": {"type": "integer", "minimum": 1},
                        },
                    },
                ],
            },
            "recipient": {**text_field, "description": "who is told: 'customer', 'owner'…"},
            "channel": {**text_field, "description": "the channel to tell them on"},
            "address": {"type": ["string", "null"], "description": "their address on it"},
            "payload": {"type": "object", "description": "what the message says"},
        },
    }


def new_webhook_secret() -> str:
    """A new random secret to share with a receiver: ``whsec_`` and 32 random bytes in base64.

    >>> secret = new_webhook_secret()
    >>> secret.startswith("whsec_"), len(secret)
    (True, 50)
    """
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def webhook_id(key: str) -> str:
    """The ``webhook-id`` of the outbox message with this key: the key, with any character
    but letters, digits, ``-``, ``_`` and ``:`` percent-encoded (its UTF-8 bytes).

    >>> webhook_id("c-1:2:customer"), webhook_id("conduct:C.42:3:customer")
    ('c-1:2:customer', 'conduct:C%2E42:3:customer')
    """
    key = text("key", key, strip=False)
    return _NOT_IN_ID.sub(
        lambda found: "".join(f"%{byte:02X}" for byte in found.group().encode("utf-8")), key
    )


def webhook_signature(
    message_id: str, timestamp: int, body: bytes, secret: Secret | Iterable[Secret]
) -> str:
    """The ``webhook-signature`` of ``body`` sent as ``message_id`` at ``timestamp``:
    ``v1,`` and the base64 HMAC-SHA256 of ``{message_id}.{timestamp}.{body}``.

    Given several secrets (while a secret is being replaced), one signature per secret,
    separated by spaces, in the order given.

    Args:
        message_id: the ``webhook-id`` (no ``.`` and no whitespace).
        timestamp: the ``webhook-timestamp``, whole seconds since the Unix epoch.
        body: the body exactly as sent.
        secret: the shared secret: ``whsec_`` and base64 (how Standard Webhooks
            writes it), or the raw bytes; or a list of them.

    Raises:
        InvalidArgumentError: an argument is malformed (the message says which).
    """
    message_id = text("message_id", message_id, strip=False)
    if "." in message_id or any(char.isspace() or not char.isascii() for char in message_id):
        raise InvalidArgumentError(
            f"message_id must be ASCII without '.' or whitespace, got {shown(message_id)}; "
            "make it from the key with webhook_id(key)"
        )
    seconds = _timestamp_argument(timestamp)
    content = _signed_content(message_id, str(seconds), _body("body", body))
    return " ".join(_signature(key, content) for key in _secret_keys(secret))


def webhook_headers(
    message_id: str,
    body: bytes,
    secret: Secret | Iterable[Secret],
    *,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The three Standard Webhooks headers for sending ``body`` as ``message_id``.

    What :class:`WebhookNotifier` sends; handy to test a receiver with.

    Args:
        message_id: the ``webhook-id`` (no ``.`` and no whitespace).
        body: the body exactly as sent.
        secret: the shared secret, or a list of them (see :func:`webhook_signature`).
        timestamp: the ``webhook-timestamp``; now when left out.

    Raises:
        InvalidArgumentError: an argument is malformed.
    """
    seconds = int(time.time()) if timestamp is None else _timestamp_argument(timestamp)
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(seconds),
        SIGNATURE_HEADER: webhook_signature(message_id, seconds, body, secret),
    }


class Headers(Protocol):
    """What :func:`verify_signature` reads headers from: anything with ``items()`` of
    name and value pairs (a ``dict``, ``http.server``'s ``self.headers``, a framework's
    request headers)."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


def verify_signature(
    body: bytes,
    headers: Headers,
    secret: Secret | Iterable[Secret],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: datetime | None = None,
) -> bool:
    """Check a webhook as a receiver: its three headers, its body, the shared secret.

    Call it on the raw body, before parsing the JSON. It passes when
    ``webhook-timestamp`` is within ``tolerance`` seconds of ``now`` and one of the
    ``v1`` signatures in ``webhook-signature`` (several, separated by spaces, while
    the sender replaces its secret) is that of ``{webhook-id}.{webhook-timestamp}.{body}``
    under the secret, compared in constant time. Then drop a ``webhook-id`` you have
    handled already: delivery is at least once.

    Args:
        body: the request body exactly as received.
        headers: the request's headers (names in any case).
        secret: the shared secret (``whsec_`` and base64, or raw bytes), or a list of
            them while you replace yours: any of them may have signed.
        tolerance: how many seconds the timestamp may be from ``now``, either way.
        now: the time to check against (default: the system clock).

    Returns:
        ``True``: every failure raises, saying what failed.

    Raises:
        WebhookVerificationError: a header is missing or malformed, the timestamp is
            outside the tolerance, or no signature matches. Answer 401 (or 400).
        InvalidArgumentError: ``body`` is not bytes, ``headers`` has no ``items()``,
            or ``secret`` is malformed: a mistake in the receiver, not the request.
    """
    content = _body("body", body)
    keys = _secret_keys(secret)
    allowed = number("tolerance", tolerance, minimum=0)
    checked_at = optional_aware_datetime("now", now) or datetime.now(UTC)
    found = _read_headers(headers)
    message_id, stamp, signatures = (found[name] for name in _HEADERS)
    if not _TIMESTAMP.fullmatch(stamp):
        raise WebhookVerificationError(
            f"malformed header: {TIMESTAMP_HEADER} must be whole seconds since the Unix "
            f"epoch, got {shown(stamp)}",
            problem="malformed header",
        )
    drift = int(stamp) - checked_at.timestamp()
    if abs(drift) > allowed:
        when = "old" if drift < 0 else "in the future"
        raise WebhookVerificationError(
            f"stale timestamp: {TIMESTAMP_HEADER} {stamp} is {abs(drift):.0f} s {when}, "
            f"beyond the tolerance of {allowed:g} s; a replayed or long-delayed request "
            "(if every request fails so, set the two clocks right)",
            problem="stale timestamp",
        )
    given = [
        _decoded_signature(entry.partition(",")[2])
        for entry in signatures.split()
        if entry.partition(",")[0] == "v1"
    ]
    if not given:
        raise WebhookVerificationError(
            f"malformed header: {SIGNATURE_HEADER} holds no v1 signature (got "
            f"{shown(signatures)}); expected 'v1,' and a base64 HMAC-SHA256",
            problem="malformed header",
        )
    signed = _signed_content(message_id, stamp, content)
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
    # Every pair is compared, so the time taken says nothing about which one was close.
    matched = [hmac.compare_digest(mine, theirs) for mine in expected for theirs in given]
    if not any(matched):
        raise WebhookVerificationError(
            f"bad signature: none of the {len(given)} v1 signature(s) in {SIGNATURE_HEADER} "
            "is that of this id, timestamp and body under the secret given; the request "
            "was changed on the way, or the two sides hold different secrets",
            problem="bad signature",
        )
    return True


class WebhookNotifier:
    """A notifier plugin that POSTs each outbox message to ``url`` as signed JSON.

    Args:
        url: where to POST (``https://…``; plain ``http://`` only for a receiver
            you trust the network to).
        secret: the shared secret the requests are signed with: ``whsec_`` and the
            base64 of at least 24 bytes (:func:`new_webhook_secret` makes one), or
            the raw bytes. While replacing it, a list of the new and the old one:
            each request then carries both signatures, and a receiver holding
            either accepts it.
        topics: the topics to send, as names or shell patterns (``"tactics.*"``);
            ``None`` sends every message.
        timeout: seconds to wait for the receiver's answer.
        ssl_context: the TLS settings for ``https`` (e.g. to trust a private CA).

    Raises:
        InvalidArgumentError: an argument is malformed.
    """

    def __init__(
        self,
        url: str,
        secret: Secret | Iterable[Secret],
        *,
        topics: Iterable[str] | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = _url(url)
        self.origin = _origin(self.url)
        self._secrets = _secret_keys(secret)
        self.topics = None if topics is None else names("topics", topics)
        self.timeout = float(number("timeout", timeout, minimum=0.001, maximum=600))
        if ssl_context is not None:
            instance("ssl_context", ssl_context, ssl.SSLContext, "ssl.create_default_context()")
        self._opener = urllib.request.build_opener(
            _NoRedirects(), urllib.request.HTTPSHandler(context=ssl_context)
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.origin!r}, topics={self.topics!r})"

    @hookimpl
    def complaint_flow_notify(self, message: OutboxMessage, complaint: Complaint | None) -> None:
        """POST the message if its topic is wanted; raising makes the outbox retry it."""
        if self.wants(message.topic):
            self.post(message, complaint)

    def wants(self, topic: str) -> bool:
        """Whether messages of ``topic`` are sent."""
        return self.topics is None or any(
            fnmatch.fnmatchcase(topic, pattern) for pattern in self.topics
        )

    def body(self, message: OutboxMessage, complaint: Complaint | None) -> bytes:
        """The JSON body for ``message``: the same bytes every time for the same message."""
        instance("message", message, OutboxMessage, "an OutboxMessage from the outbox")
        document: dict[str, Any] = {
            "schema": WEBHOOK_SCHEMA,
            "key": message.key,
            "topic": message.topic,
            "created_at": message.created_at.isoformat(),
            "complaint_id": message.complaint_id,
            "complaint": None
            if complaint is None
            else {
                "id": complaint.id,
                "reference": complaint.reference,
                "state": complaint.state,
                "workflow": complaint.workflow,
                "version": complaint.version,
            },
            "recipient": message.recipient,
            "channel": message.channel,
            "address": message.address,
            "payload": thaw(message.payload),
        }
        return json.dumps(
            document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
        ).encode("utf-8")

    def post(self, message: OutboxMessage, complaint: Complaint | None) -> int:
        """POST ``message`` now, whatever its topic; the receiver's status (2xx).

        Signed for this attempt: ``webhook-timestamp`` is now, ``webhook-id`` the
        message's key (:func:`webhook_id`), the same on every attempt.

        Raises:
            WebhookError: the receiver answered other than 2xx, or could not be reached.
        """
        body = self.body(message, complaint)
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": _USER_AGENT,
                **webhook_headers(webhook_id(message.key), body, self._secrets),
            },
        )
        where = f"webhook {self.origin} (message {message.key!r})"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status: int = response.status
                return status
        except urllib.error.HTTPError as error:
            with error:
                reply = error.read(_SHOWN_REPLY).decode("utf-8", "replace")
            raise WebhookError(
                f"{where} answered {error.code} {error.reason}"
                + (f": {reply.strip()}" if reply.strip() else "")
                + "; it is retried: check the receiver's log (a 401 or 403: the shared secret, "
                "or the two clocks)",
                origin=self.origin,
                status=error.code,
            ) from error
        except urllib.error.URLError as error:
            raise WebhookError(
                f"{where} cannot be reached: {_reason(error.reason, self.timeout)}; check the "
                "URL and that the receiver runs",
                origin=self.origin,
            ) from error
        except (OSError, http.client.HTTPException) as error:
            raise WebhookError(
                f"{where} failed: {_reason(error, self.timeout)}; it is retried",
                origin=self.origin,
            ) from error


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a refusal: urllib would repeat a POST as a GET without its body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _reason(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted ({reason.verify_message}): pass ssl_context="
    return (
        f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
    )


def _url(value: object) -> str:
    url = text("url", value)
    parts = urlsplit(url)
    problem = ""
    if parts.scheme not in ("http", "https"):
        problem = "start it with https:// (or http://)"
    elif not parts.hostname:
        problem = "it names no host"
    elif parts.username is not None or parts.password is not None:
        problem = "credentials in the URL are not sent: the signature authenticates the sender"
    elif any(char.isspace() for char in url):
        problem = "percent-encode its spaces"
    if problem:
        raise InvalidArgumentError(f"url must be an http(s) URL, got {shown(value)}; {problem}")
    return url


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _secret_keys(secret: object) -> tuple[bytes, ...]:
    """The HMAC keys of a secret, or of a list of secrets."""
    if isinstance(secret, str | bytes | bytearray):
        return (_secret_key("secret", secret),)
    if isinstance(secret, list | tuple) and secret:
        return tuple(_secret_key(f"secret[{index}]", one) for index, one in enumerate(secret))
    raise InvalidArgumentError(
        f"secret must be the shared secret ('whsec_' and base64, or bytes), or a non-empty "
        f"list of them, got {type(secret).__name__}; make one with new_webhook_secret()"
    )


def _secret_key(argument: str, secret: object) -> bytes:
    # The value is never shown in a message: messages end up in logs.
    if isinstance(secret, bytes | bytearray):
        key = bytes(secret)
    elif isinstance(secret, str):
        written = secret.strip()
        if not written.startswith(SECRET_PREFIX):
            raise InvalidArgumentError(
                f"{argument} given as text must be '{SECRET_PREFIX}' and the base64 of the "
                f"secret's bytes (a text of {len(secret)} characters not starting so was "
                f"given); pass other secrets as bytes, e.g. {argument}=value.encode()"
            )
        encoded = written.removeprefix(SECRET_PREFIX)
        try:
            # Secrets are often written without their base64 padding.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgumentError(
                f"{argument} is not '{SECRET_PREFIX}' and base64: what follows the prefix "
                "holds characters base64 has not; copy the secret whole"
            ) from None
    else:
        raise InvalidArgumentError(
            f"{argument} must be text ('{SECRET_PREFIX}' and base64) or bytes, got "
            f"{type(secret).__name__}; pass the shared secret"
        )
    if len(key) < MINIMUM_SECRET_BYTES:
        raise InvalidArgumentError(
            f"{argument} must be at least {MINIMUM_SECRET_BYTES} bytes, got {len(key)}; "
            "make one with new_webhook_secret() and give it to the receiver too"
        )
    return key


def _read_headers(headers: object) -> dict[str, str]:
    """The three signature headers' values; the first non-empty one of each name."""
    items = getattr(headers, "items", None)
    if not callable(items):
        raise InvalidArgumentError(
            f"headers must be the request's headers, got {shown(headers)}; pass a dict of "
            "names to values, or http.server's self.headers"
        )
    found: dict[str, str] = {}
    for pair in items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise InvalidArgumentError(
                f"headers must give (name, value) pairs from items(), got {shown(pair)}"
            )
        header, value = (str(part).strip() for part in pair)
        if header.lower() in _HEADERS and value:
            found.setdefault(header.lower(), value)
    missing = [header for header in _HEADERS if header not in found]
    if missing:
        raise WebhookVerificationError(
            f"missing header: the request has no {' or '.join(missing)}; it was not sent "
            "by a Standard Webhooks sender (a proxy may drop the headers)",
            problem="missing header",
        )
    return found


def _signed_content(message_id: str, timestamp: str, body: bytes) -> bytes:
    return f"{message_id}.{timestamp}.".encode("utf-8", "replace") + body


def _signature(key: bytes, content: bytes) -> str:
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _decoded_signature(written: str) -> bytes:
    try:
        return base64.b64decode(written, validate=True)
    except (binascii.Error, ValueError):
        return b""  # matches nothing


def _timestamp_argument(value: object) -> int:
    return whole_number("timestamp", value, minimum=0, maximum=10**15 - 1)


def _body(argument: str, value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    advice = "encode it first: body.encode()" if isinstance(value, str) else "pass the raw body"
    raise InvalidArgumentError(f"{argument} must be bytes, got {shown(value)}; {advice}")


__all__ = [
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "MINIMUM_SECRET_BYTES",
    "SECRET_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WEBHOOK_SCHEMA",
    "Headers",
    "Secret",
    "WebhookError",
    "WebhookNotifier",
    "WebhookVerificationError",
    "new_webhook_secret",
    "verify_signature",
    "webhook_body_schema",
    "webhook_headers",
    "webhook_id",
    "webhook_signature",
]
