"""A real SMS gateway for tests, on 127.0.0.1, speaking the API :class:`SmsChannel` uses.

Test your host's SMS handling against it rather than against a mock: it is an HTTP
server in a thread, so the whole path (settings, JSON, headers, status codes, timeouts)
runs as it will in production.

    >>> from complaint_flow_sms.testing import GatewayStub
    >>> with GatewayStub() as gateway:
    ...     gateway.url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import attrs

from complaint_flow_sms.inbound import SIGNATURE_HEADER, signature_for
from complaint_flow_sms.settings import SmsSettings

PATH = "/v1/messages"
"""Where the stub takes messages."""


@attrs.frozen
class GatewayRequest:
    """One request the stub received: its headers (lower-case names) and JSON body."""

    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def to(self) -> str:
        return str(self.body.get("to", ""))

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")


@attrs.frozen
class _Answer:
    status: int
    body: Mapping[str, Any]


class GatewayStub:
    """An HTTP SMS gateway on 127.0.0.1 in a thread; use it as a context manager.

    It checks the bearer token (401 otherwise), answers a number in
    ``invalid_numbers`` with 400 ``invalid_number``, takes a repeated
    ``Idempotency-Key`` once (answering with the same id), and answers the next
    requests as told by :meth:`fail`.

    Args:
        token: the API token it accepts.
        delay: seconds it waits before each answer (to test timeouts).

    Attributes:
        requests: every request it received, in order.
        messages: the text messages it accepted, each once.
        invalid_numbers: numbers it refuses as ``invalid_number``.
    """

    def __init__(self, token: str = "test-token", *, delay: float = 0.0) -> None:
        self.token = token
        self.delay = delay
        self.requests: list[GatewayRequest] = []
        self.messages: list[GatewayRequest] = []
        self.invalid_numbers: set[str] = set()
        self._ids: dict[str, str] = {}
        self._script: list[_Answer | None] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sms-gateway-stub",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The URL to send messages to."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{PATH}"

    def settings(self, **options: Any) -> SmsSettings:
        """:class:`SmsSettings` for this gateway (``options`` as for ``SmsSettings``)."""
        return SmsSettings(self.url, self.token, **options)

    def fail(
        self, status: int, *, times: int = 1, after: int = 0, error: str | None = None
    ) -> None:
        """Answer ``times`` requests with ``status`` (``error`` as its code), after ``after``.

        ``after`` requests are answered as usual first (to fail the middle of a split
        letter, say).
        """
        body = {"error": error or f"status_{status}", "message": f"told to answer {status}"}
        with self._lock:
            self._script.extend([None] * after + [_Answer(status, body)] * times)

    def close(self) -> None:
        """Stop the server and its thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _answer(self, headers: Mapping[str, str], raw: bytes) -> _Answer:
        """What the gateway answers a POST (called by the server's handler)."""
        if self.delay:
            time.sleep(self.delay)
        if headers.get("authorization") != f"Bearer {self.token}":
            return _Answer(401, {"error": "unauthorized", "message": "wrong API token"})
        try:
            body = json.loads(raw)
        except ValueError:
            return _Answer(400, {"error": "bad_request", "message": "the body is not JSON"})
        if not isinstance(body, dict):
            return _Answer(400, {"error": "bad_request", "message": "not a JSON object"})
        request = GatewayRequest(headers=dict(headers), body=body)
        with self._lock:
            self.requests.append(request)
            scripted = self._script.pop(0) if self._script else None
            if scripted is not None:
                return scripted
            if request.to in self.invalid_numbers:
                return _Answer(
                    400, {"error": "invalid_number", "message": f"{request.to} is not in service"}
                )
            if request.key and request.key in self._ids:
                return _Answer(200, {"id": self._ids[request.key]})
            message_id = f"gw-{len(self.messages) + 1}"
            self.messages.append(request)
            if request.key:
                self._ids[request.key] = message_id
        return _Answer(201, {"id": message_id})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: GatewayStub

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe: not an error here.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        if self.path != PATH:
            self._send(_Answer(404, {"error": "not_found", "message": self.path}))
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self._send(self.server.stub._answer(headers, raw))

    def _send(self, answer: _Answer) -> None:
        payload = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def webhook(
    number: str,
    text: str,
    *,
    message_id: str,
    to: str = "+447700900999",
    received_at: datetime | None = None,
    secret: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers a gateway POSTs for an inbound text message.

    Args:
        number: who sent it.
        text: what they wrote.
        message_id: the gateway's id for it.
        to: the number it was sent to.
        received_at: when (an aware datetime), if the gateway says.
        secret: the webhook secret to sign it with (no signature header without).
    """
    message: dict[str, str] = {"id": message_id, "from": number, "to": to, "text": text}
    if received_at is not None:
        message["received_at"] = received_at.isoformat()
    body = json.dumps(message).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature_for(body, secret)
    return body, headers


__all__ = ["PATH", "GatewayRequest", "GatewayStub", "webhook"]
