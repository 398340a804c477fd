"""Webhooks: each outbox message POSTed as signed JSON to a URL of the host's choosing.

:class:`WebhookNotifier` is a plugin: it implements ``complaint_flow_notify``, so the
outbox delivers to it at least once and retries it until the receiver answers 2xx.
The body is JSON of schema ``complaint_flow.webhook/1`` (``docs/webhooks.md``); the
``X-Complaint-Flow-Signature`` header is ``sha256=`` and the hex HMAC-SHA256 of the
body under the shared secret, and ``X-Complaint-Flow-Delivery`` is the message key,
for the receiver to drop repeats. A receiver checks the signature with
:func:`verify_signature`.

>>> body = b'{"schema":"complaint_flow.webhook/1"}'
>>> header = webhook_signature(body, "a shared secret of 32 characters")
>>> header[:7], verify_signature(body, header, "a shared secret of 32 characters")
('sha256=', True)
>>> verify_signature(body + b" ", header, "a shared secret of 32 characters")
False
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import http.client
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import pluggy

from complaint_flow.arguments import instance, names, number, shown, text
from complaint_flow.errors import ChannelError, InvalidArgumentError
from complaint_flow.model.entities import Complaint, OutboxMessage
from complaint_flow.model.immutable import thaw

WEBHOOK_SCHEMA = "complaint_flow.webhook/1"
"""The ``schema`` of the JSON body; a change a receiver could trip on gets a new number."""
SIGNATURE_HEADER = "X-Complaint-Flow-Signature"
DELIVERY_HEADER = "X-Complaint-Flow-Delivery"
MINIMUM_SECRET_BYTES = 16

# The marker is matched by the project's name only; the plugins package, which holds
# the shared one, is above the channels in the layers and cannot be imported here.
hookimpl = pluggy.HookimplMarker("complaint_flow")

_USER_AGENT = "complaint-flow-webhook/1"
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


def webhook_signature(body: bytes, secret: str | bytes) -> str:
    """The signature header's value for ``body``: ``sha256=`` and the hex HMAC-SHA256.

    Raises:
        InvalidArgumentError: ``body`` is not bytes or ``secret`` is not text or bytes.
    """
    digest = hmac.new(_secret_bytes(secret), _body("body", body), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, header: str | None, secret: str | bytes) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (for receivers).

    Compares in constant time. Check it on the raw body, before parsing the JSON.

    Args:
        body: the request body exactly as received.
        header: the ``X-Complaint-Flow-Signature`` header, or ``None`` if missing.
        secret: the shared secret.

    Raises:
        InvalidArgumentError: ``body`` is not bytes or ``secret`` is not text or bytes
            (a missing or malformed header is just ``False``).
    """
    expected = webhook_signature(body, secret).encode("ascii")
    if not isinstance(header, str):
        return False
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "surrogateescape"))


class WebhookNotifier:
    """A notifier plugin that POSTs each outbox message to ``url`` as signed JSON.

    Args:
        url: where to POST (``https://…``; plain ``http://`` only for a receiver
            you trust the network to).
        secret: the shared secret the body is signed with (at least 16 bytes:
            ``secrets.token_hex(32)`` makes a good one).
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
        secret: str | bytes,
        *,
        topics: Iterable[str] | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = _url(url)
        self.origin = _origin(self.url)
        self._secret = _secret_bytes(secret)
        if len(self._secret) < MINIMUM_SECRET_BYTES:
            raise InvalidArgumentError(
                f"secret must be at least {MINIMUM_SECRET_BYTES} bytes, got "
                f"{len(self._secret)}; make one with secrets.token_hex(32) and give it "
                "to the receiver too"
            )
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
                SIGNATURE_HEADER: webhook_signature(body, self._secret),
                DELIVERY_HEADER: message.key,
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
                + "; it is retried: check the receiver's log (a 401 or 403: the shared secret)",
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


def _secret_bytes(secret: object) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if isinstance(secret, str):
        return text("secret", secret, strip=False).encode("utf-8")
    raise InvalidArgumentError(
        f"secret must be text or bytes, got {shown(secret)}; pass the shared secret"
    )


def _body(argument: str, value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    advice = "encode it first: body.encode()" if isinstance(value, str) else "pass the raw body"
    raise InvalidArgumentError(f"{argument} must be bytes, got {shown(value)}; {advice}")


__all__ = [
    "DELIVERY_HEADER",
    "MINIMUM_SECRET_BYTES",
    "SIGNATURE_HEADER",
    "WEBHOOK_SCHEMA",
    "WebhookError",
    "WebhookNotifier",
    "verify_signature",
    "webhook_body_schema",
    "webhook_signature",
]
