"""The demo's email: a customer's messages as real RFC 5322 mail in, replies out by SMTP.

The demo week takes one complaint in as email the way a host would: the customer's
message is written with :class:`email.message.EmailMessage` (headers, body, a photo
attached) and its bytes are handed to :class:`~complaint_flow.EmailIntake`. Replies go
out through :class:`~complaint_flow.SmtpChannel`, registered by
:class:`SmtpChannelPlugin` in place of the built-in ``email`` channel, to a
:class:`~complaint_flow.cli.local_mail_server.LocalMailServer` on 127.0.0.1, written
from letters signed as :data:`DEMO_LETTERS` say. :class:`EmailExchange` is what the
demo shows of it.

>>> from datetime import UTC
>>> raw = customer_email(
...     sender=("Ada Lovelace", "ada@example.org"),
...     subject="Parcel arrived broken",
...     body="The vase was in pieces.",
...     message_id="<p1@mail.example.org>",
...     date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
... )
>>> print(raw.decode().replace("\\r\\n", "\\n").split("\\n\\n")[0])
From: Ada Lovelace <ada@example.org>
To: complaints@shop.example
Subject: Parcel arrived broken
Date: Mon, 02 Mar 2026 09:00:00 +0000
Message-ID: <p1@mail.example.org>
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit
MIME-Version: 1.0
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

import attrs

from complaint_flow.channels.email_parsing import ParsedEmail
from complaint_flow.channels.smtp import SmtpChannel, SmtpSettings
from complaint_flow.cli.local_mail_server import ArrivedEmail, Delivery, LocalMailServer
from complaint_flow.errors import ChannelError
from complaint_flow.model.channels import Channel, ChannelAdapter
from complaint_flow.model.entities import Customer, Event
from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.services.email_intake import MailOutcome, MailOutcomeKind, sender_as_customer
from complaint_flow.services.outgoing import LetterSettings

SHOP_MAILBOX = "complaints@shop.example"
"""Where customers write to, and who the replies are from."""

DEMO_LETTERS = LetterSettings(
    organisation="Harbour & Home",
    signed_by="Priya Shah",
    signer_title="Customer care",
    contact=f"{SHOP_MAILBOX} or +44 20 7946 0100",
)
"""Who signs the letters the demo's outbox writes: the demo shop."""

THREADED_BY_HEADERS = "In-Reply-To/References"
"""How :class:`~complaint_flow.EmailIntake` says it threaded a reply by its headers."""

DEMO_EXTRA = {
    "aiosmtpd": "aiosmtpd",
    "jinja2": "Jinja2",
    "inscriptis": "inscriptis",
    "mailparser_reply": "mail-parser-reply",
}
"""What the demo's email needs beyond the ``cli`` extra: module → distribution."""


def require_demo_extra() -> None:
    """Check that the ``demo`` extra is installed, before the demo writes anything.

    Raises:
        ChannelError: naming each missing package, and the command that installs them.
    """
    missing = [dist for module, dist in DEMO_EXTRA.items() if not importlib.util.find_spec(module)]
    if missing:
        raise ChannelError(
            f"the demo takes email in and sends it by SMTP, which needs {', '.join(missing)}; "
            "install the demo extra: pip install 'complaint-flow[demo]' "
            '(from a checkout: pip install -e ".[demo]")'
        )


def customer_email(
    *,
    sender: tuple[str, str],
    subject: str,
    body: str,
    message_id: str,
    date: datetime,
    in_reply_to: str = "",
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """A customer's message to :data:`SHOP_MAILBOX`, as the bytes a mail server delivers.

    Args:
        sender: the customer's ``(name, address)``.
        in_reply_to: the Message-ID answered (also the ``References``), if any.
        attachments: ``(file name, content type, bytes)`` of each attached file.
    """
    name, address = sender
    message = EmailMessage()
    message["From"] = Address(display_name=name, addr_spec=address)
    message["To"] = SHOP_MAILBOX
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=policy.SMTP)


def smtp_settings(server: LocalMailServer) -> SmtpSettings:
    """Sending to ``server`` as the shop: plain SMTP, which only a server on this host gets."""
    return SmtpSettings(
        host=server.host,
        port=server.port,
        security="none",
        sender=SHOP_MAILBOX,
        sender_name=f"{DEMO_LETTERS.organisation} complaints",
        # Naming this host saves a DNS lookup of the machine's name.
        local_hostname="localhost",
        timeout=10,
    )


class SmtpChannelPlugin:
    """A plugin registering an SMTP channel: the outbox then sends email through it."""

    def __init__(self, channel: SmtpChannel) -> None:
        self.channel = channel

    @hookimpl
    def complaint_flow_register_channels(
        self, register: Callable[[Channel | ChannelAdapter], None]
    ) -> None:
        """Register the channel (it replaces the built-in ``email`` channel)."""
        register(self.channel)


def known_customers(customers: Iterable[Customer]) -> Callable[[ParsedEmail], Customer]:
    """Who wrote: the customer with the sender's address, else one keyed by the address."""
    by_address = {c.email.casefold(): c for c in customers if c.email}

    def customer_of(parsed: ParsedEmail) -> Customer:
        return by_address.get(parsed.sender.casefold()) or sender_as_customer(parsed)

    return customer_of


@attrs.frozen
class TakenEmail:
    """A customer's email as written (read back from its bytes), and each delivery's outcome.

    ``outcomes`` holds what :meth:`EmailIntake.take` returned for each delivery of
    the same bytes, in order.
    """

    message_id: str
    subject: str
    in_reply_to: str
    size: int
    attachments: tuple[str, ...]
    outcomes: tuple[MailOutcome, ...]

    @classmethod
    def of(cls, raw: bytes, outcomes: Iterable[MailOutcome]) -> TakenEmail:
        """``raw``'s headers and attachments, with the outcomes of taking it."""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return cls(
            message_id=str(message["Message-ID"]),
            subject=str(message["Subject"]),
            in_reply_to=str(message["In-Reply-To"] or ""),
            size=len(raw),
            attachments=tuple(str(a.get_filename()) for a in message.iter_attachments()),
            outcomes=tuple(outcomes),
        )

    @property
    def kinds(self) -> tuple[MailOutcomeKind, ...]:
        """What became of each delivery (``opened``, then ``duplicate``…)."""
        return tuple(outcome.kind for outcome in self.outcomes)

    @property
    def complaint_ids(self) -> tuple[str, ...]:
        """The complaint each delivery opened or joined."""
        return tuple(o.complaint.id if o.complaint else "" for o in self.outcomes)


@attrs.frozen
class EmailExchange:
    """A complaint by email, the replies the SMTP server received, the answer threaded.

    ``complaint_mail`` is the customer's first message (delivered several times),
    ``deliveries`` every message the demo's SMTP server at ``server`` accepted during
    the week (to anyone), ``sent`` those to the customer as they arrived, ``answer``
    the customer's answer to the acknowledgement and ``replied`` the
    ``customer_replied`` event it made on the complaint.
    """

    server: str
    customer: Customer
    reference: str
    complaint_mail: TakenEmail
    deliveries: tuple[Delivery, ...]
    sent: tuple[ArrivedEmail, ...]
    answer: TakenEmail
    replied: Event

    @property
    def acknowledgement(self) -> ArrivedEmail:
        """The first message that arrived for the customer: the acknowledgement."""
        return self.sent[0]

    @property
    def reply_outcome(self) -> MailOutcome:
        """What taking the customer's answer did."""
        return self.answer.outcomes[0]


__all__ = [
    "DEMO_LETTERS",
    "SHOP_MAILBOX",
    "THREADED_BY_HEADERS",
    "EmailExchange",
    "SmtpChannelPlugin",
    "TakenEmail",
    "customer_email",
    "known_customers",
    "require_demo_extra",
    "smtp_settings",
]
