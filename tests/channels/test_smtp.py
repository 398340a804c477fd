"""The SMTP channel against a real aiosmtpd server on 127.0.0.1: plain, STARTTLS, SSL, logins."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from complaint_flow.channels.smtp import (
    EMAIL_CHANNEL,
    RecipientRefusedError,
    SmtpChannel,
    SmtpError,
    SmtpSettings,
    UnreachableAddressError,
)
from complaint_flow.errors import ChannelError, InvalidArgumentError
from complaint_flow.model.channels import ChannelAdapter, Outgoing, Receipt
from smtp_server import SmtpServer

pytestmark = pytest.mark.filterwarnings(
    # aiosmtpd reads its own deprecated attribute after a login, in its server thread.
    "ignore:Session.login_data is deprecated"
)

Servers = Callable[..., SmtpServer]
SENDER = "complaints@shop.example"


def outgoing(number: int = 1, **changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "key": f"c-1:{number}:customer",
        "channel": "email",
        "address": "ada@example.org",
        "recipient_name": "Ada Lovelace",
        "subject": "Your complaint",
        "text": f"Message {number}: we are on it.\n",
        "reference": "CF-2026-000042",
    }
    return Outgoing(**{**fields, **changes})


def settings_for(server: SmtpServer, **changes: Any) -> SmtpSettings:
    fields: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "sender": SENDER,
        "sender_name": "Shop complaints",
        "timeout": 5,
    }
    if server.cafile is not None:
        fields["cafile"] = server.cafile
    return SmtpSettings(**{**fields, **changes})


def test_a_message_arrives_with_its_headers_and_body(smtp_servers: Servers) -> None:
    server = smtp_servers()
    with SmtpChannel(settings_for(server)) as channel:
        receipt = channel.send(outgoing(in_reply_to="<customer-1@example.org>"))

    (arrived,) = server.received
    assert arrived.mail_from == SENDER
    assert arrived.rcpt_tos == ("ada@example.org",)
    mail = arrived.message
    assert mail["From"] == "Shop complaints <complaints@shop.example>"
    assert mail["To"] == "Ada Lovelace <ada@example.org>"
    assert mail["Subject"] == "[CF-2026-000042] Your complaint"
    assert mail["In-Reply-To"] == "<customer-1@example.org>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content() == "Message 1: we are on it.\n"
    assert receipt == Receipt(
        channel="email",
        address="ada@example.org",
        message_id=mail["Message-ID"],
        detail=f"250 2.0.0 Ok: queued as Q1 ({server.host}:{server.port})",
    )
    assert mail["Message-ID"].endswith("@shop.example>")


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_with_a_login(smtp_servers: Servers, mechanism: str) -> None:
    server = smtp_servers(
        security="starttls", users={"app": "s3cret"}, auth_mechanisms=(mechanism,)
    )
    with SmtpChannel(settings_for(server, username="app", password="s3cret")) as channel:
        channel.send(outgoing(html="<p>We are on it.</p>"))

    (arrived,) = server.received
    assert arrived.login == "app"
    body = arrived.message.get_body(preferencelist=("html",))
    assert body is not None
    assert body.get_content() == "<p>We are on it.</p>\n"


def test_ssl_from_the_start_with_a_login(smtp_servers: Servers) -> None:
    server = smtp_servers(security="ssl", users={"app": "s3cret"})
    with SmtpChannel(settings_for(server, username="app", password="s3cret")) as channel:
        channel.send(outgoing(recipient_name="Zoë Åström", subject="Réclamation reçue"))

    (arrived,) = server.received
    assert arrived.login == "app"
    assert arrived.message["Subject"] == "[CF-2026-000042] Réclamation reçue"
    assert arrived.message["To"].addresses[0].display_name == "Zoë Åström"


def test_an_international_address_goes_with_smtputf8(smtp_servers: Servers) -> None:
    server = smtp_servers()
    with SmtpChannel(settings_for(server)) as channel:
        receipt = channel.send(outgoing(address="josé@bücher.example"))

    (arrived,) = server.received
    assert arrived.rcpt_tos == ("josé@xn--bcher-kva.example",)
    assert receipt.address == "josé@xn--bcher-kva.example"


def test_a_wrong_password_is_a_permanent_refusal(smtp_servers: Servers) -> None:
    server = smtp_servers(security="starttls", users={"app": "s3cret"})
    channel = SmtpChannel(settings_for(server, username="app", password="guess"))

    with pytest.raises(SmtpError) as refused:
        channel.send(outgoing())

    assert refused.value.permanent
    assert refused.value.code == 535
    assert "refused the login of 'app': 535" in str(refused.value)
    assert "check the username and password" in str(refused.value)
    assert server.received == []


def test_a_server_that_is_down_is_retried(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    channel = SmtpChannel(SmtpSettings(host="127.0.0.1", port=port, security="none", sender=SENDER))

    with pytest.raises(SmtpError, match="connection refused; check the host and port") as down:
        channel.send(outgoing())

    assert isinstance(down.value, ChannelError)
    assert not down.value.permanent
    assert f"127.0.0.1:{port} (connecting)" in str(down.value)


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user here", True), ("450 4.2.1 Mailbox busy, try later", False)],
)
def test_a_refused_recipient_says_whether_for_good(
    smtp_servers: Servers, reply: str, permanent: bool
) -> None:
    server = smtp_servers(refused={"gone@example.org": reply})
    with SmtpChannel(settings_for(server)) as channel:
        # For good: the outbox keeps the message unreachable (the server's refusal is
        # the cause); for now: retried.
        expected = UnreachableAddressError if permanent else RecipientRefusedError
        with pytest.raises(expected) as refused:
            channel.send(outgoing(address="gone@example.org"))
        channel.send(outgoing(2))  # the channel still works for other addresses

    error = refused.value if not permanent else refused.value.__cause__
    assert isinstance(error, RecipientRefusedError)
    assert (error.address, error.code, error.permanent) == (
        "gone@example.org",
        int(reply[:3]),
        permanent,
    )
    assert f"refused the recipient 'gone@example.org': {reply}" in str(error)
    assert [arrived.rcpt_tos for arrived in server.received] == [("ada@example.org",)]


def test_an_address_that_cannot_be_one_is_refused_for_good(smtp_servers: Servers) -> None:
    server = smtp_servers()
    channel = SmtpChannel(settings_for(server))

    with pytest.raises(UnreachableAddressError, match=r"outgoing\.address must be an email") as bad:
        channel.send(outgoing(address="+44 20 7946 0000"))

    assert bad.value.address == "+44 20 7946 0000"
    assert server.connections == 0


def test_a_message_that_cannot_be_an_email_is_refused_for_good(smtp_servers: Servers) -> None:
    server = smtp_servers()
    channel = SmtpChannel(settings_for(server))

    with pytest.raises(SmtpError, match="cannot be written as an email") as bad:
        channel.send(outgoing(text="broken \udce9 decode"))

    assert bad.value.permanent
    assert not isinstance(bad.value, RecipientRefusedError)
    assert server.connections == 0


def test_a_silent_server_times_out(smtp_servers: Servers) -> None:
    server = smtp_servers(data_delay=3)
    channel = SmtpChannel(settings_for(server, timeout=0.3))

    started = time.monotonic()
    with pytest.raises(SmtpError, match=r"\(sending the message\): no answer within 0.3 s") as slow:
        channel.send(outgoing())

    assert time.monotonic() - started < 2.5
    assert not slow.value.permanent


def test_an_untrusted_certificate_is_refused(smtp_servers: Servers) -> None:
    server = smtp_servers(security="starttls")
    channel = SmtpChannel(settings_for(server, cafile=None))

    with pytest.raises(SmtpError, match="certificate is not trusted") as untrusted:
        channel.send(outgoing())

    assert "(starting TLS (STARTTLS))" in str(untrusted.value)
    assert "give cafile= for a private CA" in str(untrusted.value)
    assert server.received == []


def test_a_wrong_security_says_which_port_takes_which(smtp_servers: Servers) -> None:
    plain = smtp_servers()
    with pytest.raises(SmtpError, match=r"TLS failed .*465: 'ssl'"):
        SmtpChannel(settings_for(plain, security="ssl")).send(outgoing())

    tls_only = smtp_servers(security="starttls")
    with pytest.raises(SmtpError, match="530") as refused:
        SmtpChannel(settings_for(tls_only, security="none", cafile=None)).send(outgoing())
    assert refused.value.permanent


def test_a_server_without_starttls_is_refused(smtp_servers: Servers) -> None:
    server = smtp_servers()
    context = ssl.create_default_context()
    settings = settings_for(server, security="starttls", ssl_context=lambda: context)

    with pytest.raises(SmtpError, match="the server offers no STARTTLS"):
        SmtpChannel(settings).send(outgoing())


def test_one_connection_serves_a_batch(smtp_servers: Servers) -> None:
    server = smtp_servers()
    with SmtpChannel(settings_for(server)) as channel:
        receipts = [channel.send(outgoing(number)) for number in range(1, 6)]

    assert server.connections == 1
    assert len({receipt.message_id for receipt in receipts}) == 5
    assert [arrived.message.get_content() for arrived in server.received] == [
        f"Message {number}: we are on it.\n" for number in range(1, 6)
    ]


def test_no_keep_alive_means_a_connection_per_message(smtp_servers: Servers) -> None:
    server = smtp_servers()
    channel = SmtpChannel(settings_for(server, keep_alive=0))
    for number in range(1, 4):
        channel.send(outgoing(number))

    assert server.connections == 3
    assert len(server.received) == 3


def test_a_connection_the_server_closed_is_replaced(smtp_servers: Servers) -> None:
    server = smtp_servers(idle_timeout=0.2)
    with SmtpChannel(settings_for(server, keep_alive=60)) as channel:
        channel.send(outgoing(1))
        time.sleep(0.6)  # the server hangs up the idle connection
        channel.send(outgoing(2))

    assert server.connections == 2
    assert len(server.received) == 2


def test_a_retried_message_keeps_its_message_id(smtp_servers: Servers) -> None:
    server = smtp_servers()
    with SmtpChannel(settings_for(server)) as channel:
        first = channel.send(outgoing(7))
        again = channel.send(outgoing(7))

    assert first.message_id == again.message_id
    assert [arrived.message["Message-ID"] for arrived in server.received] == [
        first.message_id,
        first.message_id,
    ]


def test_threads_share_one_channel(smtp_servers: Servers) -> None:
    server = smtp_servers()
    errors: list[BaseException] = []
    with SmtpChannel(settings_for(server)) as channel:

        def send_some(start: int) -> None:
            try:
                for number in range(start, start + 5):
                    channel.send(outgoing(number))
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=send_some, args=(n * 10,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert len({arrived.message["Message-ID"] for arrived in server.received}) == 20


def test_it_is_a_channel_adapter_for_email(smtp_servers: Servers) -> None:
    channel = SmtpChannel(settings_for(smtp_servers()))
    assert isinstance(channel, ChannelAdapter)
    assert channel.channel == EMAIL_CHANNEL
    assert (channel.channel.name, channel.channel.kind, channel.channel.reaches_customer) == (
        "email",
        "written",
        True,
    )
    with pytest.raises(ChannelError, match="read by the mailbox service"):
        channel.parse(b"From: ada@example.org\r\n\r\nHello")
    with pytest.raises(InvalidArgumentError, match="message must be an Outgoing"):
        channel.send({"address": "ada@example.org"})  # type: ignore[arg-type]


# -- settings ------------------------------------------------------------------


def test_settings_default_the_port_and_domain_and_hide_the_password() -> None:
    settings = SmtpSettings(
        host="smtp.example.org", sender="complaints@bücher.example", username="u", password="pw"
    )
    assert (settings.port, settings.security) == (587, "starttls")
    assert settings.message_id_domain == "xn--bcher-kva.example"
    assert "pw" not in repr(settings)
    assert SmtpSettings(host="h.example", sender=SENDER, security="ssl").port == 465
    assert SmtpSettings(host="localhost", sender=SENDER, security="none").port == 25


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": ""}, "host must be non-empty text"),
        ({"host": "smtp.example.org:587"}, "give the host only"),
        ({"host": "user@smtp.example.org"}, "host must be a host name or IP address"),
        ({"sender": "complaints"}, "sender must be an email address"),
        ({"security": "tls"}, "security must be one of 'none', 'ssl', 'starttls'"),
        ({"port": 0}, "port must be a whole number from 1 to 65535"),
        ({"port": "587"}, "port must be a whole number"),
        ({"timeout": 0}, "timeout must be a number from 0.001 to 3600"),
        ({"keep_alive": -1}, "keep_alive must be a number from 0 to 3600"),
        ({"username": "app"}, "username is given without password"),
        ({"password": "pw"}, "password is given without username"),
        ({"message_id_domain": "shop example"}, "message_id_domain must be a domain name"),
        ({"cafile": "/no/such/ca.pem"}, "no such file: check the path"),
        ({"ssl_context": ssl.create_default_context()}, "pass a function that returns one"),
        ({"sender_name": None}, "sender_name must be text"),
        ({"local_hostname": " me "}, "local_hostname must be a name"),
    ],
)
def test_bad_settings_are_refused(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"host": "smtp.example.org", "sender": SENDER, **changes}
    with pytest.raises(InvalidArgumentError, match=message):
        SmtpSettings(**fields)


def test_a_password_is_not_sent_unencrypted_over_a_network() -> None:
    with pytest.raises(InvalidArgumentError, match="unencrypted; use security='starttls'"):
        SmtpSettings(
            host="smtp.example.org", sender=SENDER, security="none", username="u", password="p"
        )
    local = SmtpSettings(
        host="127.0.0.1", sender=SENDER, security="none", username="u", password="p"
    )
    assert local.username == "u"
    with pytest.raises(InvalidArgumentError, match="cafile and ssl_context are for TLS"):
        SmtpSettings(host="localhost", sender=SENDER, security="none", ssl_context=lambda: None)


def test_an_unreadable_cafile_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(InvalidArgumentError, match="cannot be read as PEM CA certificates"):
        SmtpChannel(SmtpSettings(host="smtp.example.org", sender=SENDER, cafile=bad))


def test_settings_from_a_url() -> None:
    settings = SmtpSettings.from_url(
        "smtp+starttls://app%40shop.example:p%2Fss@smtp.example.org:2587"
        "?sender=complaints@shop.example&sender_name=Shop%20complaints&timeout=7.5"
        "&keep_alive=0&message_id_domain=mail.shop.example"
    )
    assert settings == SmtpSettings(
        host="smtp.example.org",
        port=2587,
        security="starttls",
        username="app@shop.example",
        password="p/ss",
        sender="complaints@shop.example",
        sender_name="Shop complaints",
        timeout=7.5,
        keep_alive=0,
        message_id_domain="mail.shop.example",
    )
    assert SmtpSettings.from_url("smtps://mail.example.org?sender=a@b.example").port == 465
    assert SmtpSettings.from_url("smtp+ssl://mail.example.org?sender=a@b.example").security == "ssl"
    relay = SmtpSettings.from_url("smtp://[::1]:2525", sender="a@b.example")
    assert (relay.host, relay.port, relay.security, relay.server) == (
        "::1",
        2525,
        "none",
        "[::1]:2525",
    )
    overridden = SmtpSettings.from_url(
        "smtps://app@mail.example.org?sender=a@b.example", password="from-the-environment"
    )
    assert overridden.password == "from-the-environment"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://mail.example.org?sender=a@b.example",
            "url must start with one of 'smtp\\+starttls://'",
        ),
        ("smtps://mail.example.org", "gives no sender; add \\?sender="),
        ("smtps://mail.example.org?sender=a@b.example&tls=1", "unknown option 'tls'"),
        ("smtps://mail.example.org?sender=a@b.example&sender=c@d.example", "given twice"),
        ("smtps://mail.example.org:99999?sender=a@b.example", "not a number from 1 to 65535"),
        ("smtps://mail.example.org?sender=a@b.example&timeout=soon", "must be a number of seconds"),
        ("smtps://?sender=a@b.example", "names no host"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        SmtpSettings.from_url(url)


def test_a_refused_url_does_not_show_its_password() -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        SmtpSettings.from_url("smtps://app:hunter2@mail.example.org?tls=1")
    assert "hunter2" not in str(refused.value)
    assert "app:***@mail.example.org" in str(refused.value)
    with pytest.raises(InvalidArgumentError, match="unknown setting 'passwd'"):
        SmtpSettings.from_url("smtps://mail.example.org?sender=a@b.example", passwd="x")
