"""Signed webhooks, through a real engine's outbox to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import jsonschema
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock, OutboxStatus
from complaint_flow.channels.webhooks import (
    WEBHOOK_SCHEMA,
    WebhookError,
    WebhookNotifier,
    verify_signature,
    webhook_body_schema,
    webhook_signature,
)
from complaint_flow.errors import ChannelError, InvalidArgumentError
from complaint_flow.model.entities import OutboxMessage

SECRET = "0123456789abcdef0123456789abcdef"
AGENT = Actor(id="A-1", name="Bo", role="agent")


@attrs.frozen
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers as told (204 by default)."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.requests: list[Request] = []
        self.answers: deque[int] = deque()
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(Request(self.path, dict(self.headers.items()), body))
                time.sleep(receiver.delay)
                status = receiver.answers.popleft() if receiver.answers else 204
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                if status >= 300:
                    reply = b"receiver says no"
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                else:
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if context is not None:
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hooks/complaints"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def engine_with(notifier: WebhookNotifier) -> tuple[Engine, ManualClock]:
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    engine = Engine.open("memory://", plugins=[notifier], clock=clock, load_entry_points=False)
    return engine, clock


def thanked(engine: Engine) -> str:
    ada = Customer(id="C-1", name="Ada Lovelace", email="ada@example.org")
    complaint = engine.receive(Intake(channel="email", customer=ada, summary="Broken vase"))
    engine.fire(complaint.id, "thank", actor=AGENT)
    return complaint.id


def test_the_outbox_posts_a_signed_body(receiver: Receiver) -> None:
    engine, _ = engine_with(WebhookNotifier(receiver.url, SECRET))
    complaint_id = thanked(engine)
    (message,) = engine.outbox(complaint_id)

    report = engine.deliver()

    assert report.delivered == 1
    (request,) = receiver.requests
    assert request.path == "/hooks/complaints"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["X-Complaint-Flow-Delivery"] == message.key
    assert verify_signature(request.body, request.headers["X-Complaint-Flow-Signature"], SECRET)
    complaint = engine.get(complaint_id)
    assert json.loads(request.body) == {
        "schema": WEBHOOK_SCHEMA,
        "key": message.key,
        "topic": "tactics.thank",
        "created_at": "2026-03-02T09:00:00+00:00",
        "complaint_id": complaint_id,
        "complaint": {
            "id": complaint_id,
            "reference": complaint.reference,
            "state": "thanked",
            "workflow": "tactics",
            "version": 2,
        },
        "recipient": "customer",
        "channel": "email",
        "address": "ada@example.org",
        "payload": {"name": "Ada Lovelace", "state": "thanked", "letter": "acknowledgement"},
    }
    jsonschema.validate(json.loads(request.body), webhook_body_schema())


def test_a_500_keeps_the_message_pending_until_a_later_success(receiver: Receiver) -> None:
    engine, clock = engine_with(WebhookNotifier(receiver.url, SECRET))
    complaint_id = thanked(engine)
    receiver.answers.append(500)

    failed = engine.deliver()

    assert (failed.delivered, failed.failed) == (0, 1)
    (message,) = engine.outbox(complaint_id)
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.last_error is not None
    assert "answered 500 Internal Server Error: receiver says no" in message.last_error

    assert engine.deliver().delivered == 0  # not due yet: the outbox backs off
    clock.advance(timedelta(minutes=1))
    assert engine.deliver().delivered == 1

    (message,) = engine.outbox(complaint_id)
    assert message.status is OutboxStatus.DELIVERED
    first, second = receiver.requests
    assert first.body == second.body  # the same delivery, byte for byte
    assert first.headers["X-Complaint-Flow-Delivery"] == second.headers["X-Complaint-Flow-Delivery"]


def test_only_the_topics_asked_for_are_sent(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url, SECRET, topics=["conduct.*", "tactics.close"])
    engine, _ = engine_with(notifier)
    thanked(engine)

    assert engine.deliver().delivered == 1  # delivered: this notifier has nothing to say
    assert receiver.requests == []
    assert notifier.wants("conduct.warning")
    assert notifier.wants("tactics.close")
    assert not notifier.wants("tactics.thank")


@pytest.mark.parametrize(
    ("status", "said"),
    [(302, "answered 302 Found"), (404, "answered 404 Not Found"), (401, "the shared secret")],
)
def test_any_answer_but_2xx_is_an_error(receiver: Receiver, status: int, said: str) -> None:
    notifier = WebhookNotifier(receiver.url, SECRET)
    receiver.answers.append(status)

    with pytest.raises(WebhookError, match=said) as refused:
        notifier.post(message(), None)

    assert isinstance(refused.value, ChannelError)
    assert refused.value.status == status
    assert len(receiver.requests) == 1  # a redirect is not followed


def test_a_receiver_that_is_down(receiver: Receiver) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    notifier = WebhookNotifier(f"http://127.0.0.1:{port}/hook", SECRET)

    with pytest.raises(WebhookError, match="cannot be reached: connection refused") as down:
        notifier.post(message(), None)
    assert down.value.status is None


def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    receiver.delay = 1.5
    notifier = WebhookNotifier(receiver.url, SECRET, timeout=0.3)

    with pytest.raises(WebhookError, match=r"no answer within 0\.3 s"):
        notifier.post(message(), None)


def test_https_with_a_private_ca() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    secure = Receiver(server_context)
    try:
        untrusting = WebhookNotifier(secure.url, SECRET, timeout=5)
        with pytest.raises(WebhookError, match="certificate is not trusted"):
            untrusting.post(message(), None)
        client_context = ssl.create_default_context()
        ca.configure_trust(client_context)
        assert (
            WebhookNotifier(secure.url, SECRET, ssl_context=client_context).post(message(), None)
            == 204
        )
        assert len(secure.requests) == 1
    finally:
        secure.stop()


def test_a_conduct_notice_has_no_complaint() -> None:
    notice = message(complaint_id="conduct:C-1", topic="conduct.warning", payload={"text": "…"})
    document = json.loads(WebhookNotifier("https://hooks.example.org/x", SECRET).body(notice, None))
    assert document["complaint"] is None
    assert document["complaint_id"] == "conduct:C-1"
    assert document["payload"] == {"text": "…"}
    jsonschema.validate(document, webhook_body_schema())


def test_the_body_schema_is_a_valid_json_schema() -> None:
    schema = webhook_body_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": "complaint_flow.webhook/2"}, schema)


@given(st.binary(), st.binary(min_size=16) | st.text(min_size=16), st.binary(min_size=1))
def test_a_signature_verifies_its_body_only(body: bytes, secret: str | bytes, extra: bytes) -> None:
    header = webhook_signature(body, secret)
    assert verify_signature(body, header, secret)
    assert not verify_signature(body + extra, header, secret)
    assert not verify_signature(body, header, b"another secret of enough length")
    assert not verify_signature(body, None, secret)
    assert not verify_signature(body, header.replace("sha256=", "sha1="), secret)
    assert not verify_signature(body, "sha256=é", secret)


def test_the_secret_and_the_path_are_not_shown() -> None:
    notifier = WebhookNotifier("https://hooks.example.org/T000/B000/token", SECRET)
    assert repr(notifier) == "WebhookNotifier('https://hooks.example.org', topics=None)"
    assert SECRET not in repr(notifier)


@pytest.mark.parametrize(
    ("arguments", "options", "said"),
    [
        (("ftp://hooks.example.org", SECRET), {}, "start it with https://"),
        (("https://user:pw@hooks.example.org", SECRET), {}, "credentials in the URL"),
        (("https:///path", SECRET), {}, "it names no host"),
        (("https://hooks.example.org", "short"), {}, "secret must be at least 16 bytes"),
        (("https://hooks.example.org", 1234), {}, "secret must be text or bytes"),
        (("https://hooks.example.org", SECRET), {"topics": "tactics.*"}, "topics must be a list"),
        (("https://hooks.example.org", SECRET), {"timeout": 0}, "timeout must be a number"),
        (("https://hooks.example.org", SECRET), {"ssl_context": True}, "ssl_context must be"),
    ],
)
def test_bad_arguments_are_refused(
    arguments: tuple[Any, ...], options: dict[str, Any], said: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=said):
        WebhookNotifier(*arguments, **options)


def test_a_receiver_checks_the_types_it_is_given() -> None:
    with pytest.raises(InvalidArgumentError, match=r"body must be bytes.*body\.encode\(\)"):
        verify_signature("{}", "sha256=00", SECRET)  # type: ignore[arg-type]


def message(**changes: Any) -> OutboxMessage:
    fields: dict[str, Any] = {
        "key": "c-1:2:customer",
        "complaint_id": "c-1",
        "event_seq": 2,
        "topic": "tactics.thank",
        "recipient": "customer",
        "channel": "email",
        "address": "ada@example.org",
        "created_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "payload": {"name": "Ada"},
    }
    return OutboxMessage(**{**fields, **changes})
