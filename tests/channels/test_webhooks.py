"""Signed webhooks, through a real engine's outbox to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import hmac
import json
import re
import socket
import ssl
import string
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import attrs
import jsonschema
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import Actor, Customer, Engine, Intake, ManualClock, OutboxStatus
from complaint_flow.channels.webhooks import (
    MINIMUM_SECRET_BYTES,
    WEBHOOK_SCHEMA,
    WebhookError,
    WebhookNotifier,
    WebhookVerificationError,
    new_webhook_secret,
    verify_signature,
    webhook_body_schema,
    webhook_headers,
    webhook_id,
    webhook_signature,
)
from complaint_flow.errors import ChannelError, InvalidArgumentError
from complaint_flow.model.entities import OutboxMessage

SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # 32 bytes
OTHER_SECRET = b"another secret, of 32 raw bytes!"
AGENT = Actor(id="A-1", name="Bo", role="agent")


@attrs.frozen
class Request:
    path: str
    headers: dict[str, str]
    """Names in lower case: HTTP's are in any case (urllib sends "Webhook-id")."""
    body: bytes
    verified: str
    """What verify_signature said of it, on the server: "ok" or the problem."""


class Receiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers as told (204 by default)."""

    def __init__(
        self, context: ssl.SSLContext | None = None, secret: str | bytes | list[Any] = SECRET
    ) -> None:
        self.requests: list[Request] = []
        self.answers: deque[int] = deque()
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:  # as a receiver does it: the raw body, the server's own headers
                    verified = "ok" if verify_signature(body, self.headers, secret) else "no"
                except WebhookVerificationError as refused:
                    verified = refused.problem
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append(Request(self.path, headers, body, verified))
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


def test_the_outbox_posts_a_body_signed_the_standard_webhooks_way(receiver: Receiver) -> None:
    engine, _ = engine_with(WebhookNotifier(receiver.url, SECRET))
    complaint_id = thanked(engine)
    (message,) = engine.outbox(complaint_id)

    before = int(time.time())
    report = engine.deliver()
    after = time.time()

    assert report.delivered == 1
    (request,) = receiver.requests
    assert request.verified == "ok"
    assert request.path == "/hooks/complaints"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["webhook-id"] == message.key  # a uuid, two numbers: sent as it is
    assert before <= int(request.headers["webhook-timestamp"]) <= after  # the attempt's time
    signature = request.headers["webhook-signature"]
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", signature)
    # Anyone can check it with the standard library, as the specification says.
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{message.key}.{request.headers['webhook-timestamp']}.".encode() + request.body
    assert signature == "v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode()
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
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == message.key
    assert first.verified == second.verified == "ok"  # each attempt signed for its own time


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


# The specification's example, from its reference libraries' tests.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SPEC_NOW = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)


def spec_headers(**changes: str) -> dict[str, str]:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    return {**headers, **changes}


def test_the_specification_s_example_signs_and_verifies() -> None:
    assert webhook_signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, SPEC_SECRET) == SPEC_SIGNATURE
    # The same secret unprefixed-padding-free, and as raw bytes.
    raw = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    assert webhook_signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, raw) == SPEC_SIGNATURE
    assert webhook_headers(SPEC_ID, SPEC_BODY, SPEC_SECRET, timestamp=SPEC_TIMESTAMP) == (
        spec_headers()
    )
    assert verify_signature(SPEC_BODY, spec_headers(), SPEC_SECRET, now=SPEC_NOW)


def test_one_good_signature_among_several_is_enough() -> None:
    # The reference libraries' case: other versions and wrong v1 signatures around it.
    signatures = " ".join(
        [
            "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            "v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=",
            SPEC_SIGNATURE,
            "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
            "v1,not base64!",
        ]
    )
    headers = spec_headers(**{"webhook-signature": signatures})
    assert verify_signature(SPEC_BODY, headers, SPEC_SECRET, now=SPEC_NOW)


@pytest.mark.parametrize(
    ("changes", "body", "problem", "said"),
    [
        ({"webhook-id": ""}, SPEC_BODY, "missing header", "no webhook-id"),
        ({"webhook-timestamp": " "}, SPEC_BODY, "missing header", "no webhook-timestamp"),
        ({"webhook-signature": ""}, SPEC_BODY, "missing header", "no webhook-signature"),
        ({"webhook-timestamp": "1614265330.5"}, SPEC_BODY, "malformed header", "whole seconds"),
        ({"webhook-timestamp": "-1"}, SPEC_BODY, "malformed header", "whole seconds"),
        ({"webhook-signature": "g0hM9SsE"}, SPEC_BODY, "malformed header", "no v1 signature"),
        ({"webhook-signature": "v2," + SPEC_SIGNATURE[3:]}, SPEC_BODY, "malformed header", "v1"),
        (
            {"webhook-signature": SPEC_SIGNATURE[:-2] + "A="},
            SPEC_BODY,
            "bad signature",
            "none of the 1 v1 signature",
        ),
        ({}, SPEC_BODY + b" ", "bad signature", "the request was changed"),
        ({"webhook-id": SPEC_ID + "x"}, SPEC_BODY, "bad signature", "different secrets"),
        ({"webhook-timestamp": str(SPEC_TIMESTAMP + 1)}, SPEC_BODY, "bad signature", "changed"),
    ],
)
def test_what_fails_is_named(changes: dict[str, str], body: bytes, problem: str, said: str) -> None:
    with pytest.raises(WebhookVerificationError, match=said) as refused:
        verify_signature(body, spec_headers(**changes), SPEC_SECRET, now=SPEC_NOW)
    assert refused.value.problem == problem
    assert refused.value.problem in str(refused.value)
    assert isinstance(refused.value, ChannelError)


@pytest.mark.parametrize(
    ("drift", "tolerance", "passes"),
    [
        (0, 300, True),
        (300, 300, True),
        (-300, 300, True),
        (301, 300, False),
        (-301, 300, False),
        (3600, 300, False),
        (3600, 7200, True),
        (1, 0, False),
    ],
)
def test_a_timestamp_outside_the_tolerance_is_refused(
    drift: int, tolerance: float, passes: bool
) -> None:
    now = SPEC_NOW + timedelta(seconds=drift)  # the receiver's clock; the request is fixed
    if passes:
        assert verify_signature(
            SPEC_BODY, spec_headers(), SPEC_SECRET, tolerance=tolerance, now=now
        )
        return
    with pytest.raises(WebhookVerificationError) as refused:
        verify_signature(SPEC_BODY, spec_headers(), SPEC_SECRET, tolerance=tolerance, now=now)
    assert refused.value.problem == "stale timestamp"
    assert ("old" if drift > 0 else "in the future") in str(refused.value)


def test_the_default_tolerance_is_five_minutes_of_the_system_clock() -> None:
    for seconds_ago, passes in ((0, True), (240, True), (360, False)):
        stamp = int(time.time()) - seconds_ago
        headers = webhook_headers(SPEC_ID, SPEC_BODY, SPEC_SECRET, timestamp=stamp)
        if passes:
            assert verify_signature(SPEC_BODY, headers, SPEC_SECRET)
        else:
            with pytest.raises(WebhookVerificationError, match="stale timestamp"):
                verify_signature(SPEC_BODY, headers, SPEC_SECRET)


secrets_ = st.binary(min_size=MINIMUM_SECRET_BYTES, max_size=64)
ids = st.text(alphabet=string.ascii_letters + string.digits + "_-:%", min_size=1, max_size=40)


@given(st.binary(), secrets_, secrets_, ids, st.integers(0, 2**34), st.binary(min_size=1))
def test_a_signature_verifies_its_id_timestamp_and_body_only(
    body: bytes, secret: bytes, other: bytes, message_id: str, stamp: int, extra: bytes
) -> None:
    now = datetime.fromtimestamp(stamp, UTC)
    headers = webhook_headers(message_id, body, secret, timestamp=stamp)
    assert verify_signature(body, headers, secret, now=now)
    # The text form of the same secret signs the same.
    written = "whsec_" + base64.b64encode(secret).decode()
    assert verify_signature(body, headers, written, now=now)
    changed = [
        (body + extra, headers, secret),
        (body, {**headers, "webhook-id": message_id + "x"}, secret),
        (body, {**headers, "webhook-timestamp": str(stamp + 1)}, secret),
    ]
    if other != secret:
        changed.append((body, headers, other))
    for request_body, request_headers, key in changed:
        with pytest.raises(WebhookVerificationError, match="bad signature"):
            verify_signature(request_body, request_headers, key, now=now, tolerance=2)


@given(st.text(min_size=1).filter(lambda key: key.strip() and "\ud800" not in key))
def test_a_webhook_id_is_the_key_made_safe_and_reversible(key: str) -> None:
    try:
        key.encode()
    except UnicodeEncodeError:
        return  # a lone surrogate: not a key a store would have kept
    made = webhook_id(key)
    assert re.fullmatch(r"[A-Za-z0-9_:%\-]+", made)  # no ".": the signed text stays unambiguous
    assert unquote(made) == key
    assert webhook_id(key) == made  # the same on every attempt


def test_a_key_with_dots_and_accents_is_sent_and_verified(receiver: Receiver) -> None:
    notifier = WebhookNotifier(receiver.url, SECRET)
    notifier.post(message(key="conduct:Zoë.Ng:3:customer"), None)
    (request,) = receiver.requests
    assert request.headers["webhook-id"] == "conduct:Zo%C3%AB%2ENg:3:customer"
    assert request.verified == "ok"
    assert json.loads(request.body)["key"] == "conduct:Zoë.Ng:3:customer"


def test_a_secret_is_replaced_without_a_refused_request() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    for receiver_secret in (old, new, [new, old]):
        receiving = Receiver(secret=receiver_secret)
        try:
            # The sender signs with both while receivers move to the new one.
            WebhookNotifier(receiving.url, [new, old]).post(message(), None)
            (request,) = receiving.requests
            assert len(request.headers["webhook-signature"].split()) == 2
            assert request.verified == "ok"
        finally:
            receiving.stop()
    stranger = Receiver(secret=new_webhook_secret())
    try:
        WebhookNotifier(stranger.url, [new, old]).post(message(), None)
        assert stranger.requests[0].verified == "bad signature"
    finally:
        stranger.stop()


def test_new_secrets_are_random_and_long_enough() -> None:
    made = {new_webhook_secret() for _ in range(20)}
    assert len(made) == 20
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


@pytest.mark.parametrize(
    ("secret", "said"),
    [
        ("0123456789abcdef0123456789abcdef", "must be 'whsec_' and the base64"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "at least 24 bytes, got 23"),
        ("whsec_not*base64*at*all*not*base64*at*all", "holds characters base64 has not"),
        (b"x" * 23, "at least 24 bytes, got 23"),
        (["whsec_" + base64.b64encode(b"x" * 32).decode(), "short"], r"secret\[1\]"),
        ([], "a non-empty list"),
        (1234, "got int"),
    ],
)
def test_a_malformed_secret_is_refused_without_showing_it(secret: Any, said: str) -> None:
    for call in (
        lambda: WebhookNotifier("https://hooks.example.org/x", secret),
        lambda: webhook_signature("id", 1, b"{}", secret),
        lambda: verify_signature(b"{}", spec_headers(), secret),
    ):
        with pytest.raises(InvalidArgumentError, match=said) as refused:
            call()
        if isinstance(secret, str):
            assert secret.removeprefix("whsec_")[:12] not in str(refused.value)


def test_a_secret_written_without_padding_or_with_a_newline_is_read() -> None:
    unpadded = SPEC_SECRET  # 32 base64 characters need no padding; cut a byte to test it
    raw = base64.b64decode(unpadded.removeprefix("whsec_"))[:25]
    written = "whsec_" + base64.b64encode(raw).decode().rstrip("=")
    expected = webhook_signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, raw)
    assert webhook_signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, written) == expected
    assert webhook_signature(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, written + "\n") == expected


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
        (("https://hooks.example.org", b"short"), {}, "secret must be at least 24 bytes"),
        (("https://hooks.example.org", 1234), {}, "secret must be the shared secret"),
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


def test_a_receiver_s_mistakes_are_argument_errors() -> None:
    with pytest.raises(InvalidArgumentError, match=r"body must be bytes.*body\.encode\(\)"):
        verify_signature("{}", spec_headers(), SECRET)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="headers must be the request's headers"):
        verify_signature(b"{}", "webhook-id: x", SECRET)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="now must be a timezone-aware datetime"):
        verify_signature(b"{}", spec_headers(), SECRET, now=datetime(2026, 3, 2))
    with pytest.raises(InvalidArgumentError, match="tolerance must be a number"):
        verify_signature(b"{}", spec_headers(), SECRET, tolerance=-1)
    with pytest.raises(InvalidArgumentError, match=r"message_id must be ASCII without '\.'"):
        webhook_signature("a.b", 1, b"{}", SECRET)
    with pytest.raises(InvalidArgumentError, match="timestamp must be a whole number"):
        webhook_signature("a", "1", b"{}", SECRET)  # type: ignore[arg-type]


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
