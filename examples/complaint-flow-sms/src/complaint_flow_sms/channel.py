"""The ``sms`` channel adapter: replies go out through the gateway, complaints come in.

Why the channel is *written*: complaint_flow's stop procedure and escalation rules ask
for contact "in writing" so that both sides keep the same words to refer to later. A
text message is written text the customer keeps on their phone and the gateway keeps
in its records, so it counts, as email does. An organisation whose rules say otherwise
registers it as another kind (``SmsChannel(settings, kind=ChannelKind.ONLINE)``) or
names its written channels in ``ConductPolicy(written_channels=...)``.
"""

from __future__ import annotations

import re

from complaint_flow import (
    Channel,
    ChannelKind,
    Intake,
    InvalidArgumentError,
    Outgoing,
    Receipt,
    UnreachableAddressError,
)

from complaint_flow_sms.errors import InvalidNumberError, LetterTooLongError
from complaint_flow_sms.gateway import Gateway
from complaint_flow_sms.inbound import CHANNEL, FindCustomer, read_webhook, verify_signature
from complaint_flow_sms.phone_numbers import normalise_number
from complaint_flow_sms.segments import count_segments, split_letter
from complaint_flow_sms.settings import ENVIRONMENT, SmsSettings

_BLANK_LINES = re.compile(r"\n{3,}")


def sms_text(message: Outgoing) -> str:
    """The text an :class:`~complaint_flow.Outgoing` message is sent as.

    A text message has no subject, so the complaint's reference goes first, where the
    customer sees it and can quote it back; line endings are made plain and runs of
    blank lines shortened, which saves segments.
    """
    lines = message.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    text = _BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in lines)).strip()
    if not text:
        text = message.subject.strip()
    if message.reference and message.reference not in text:
        text = f"[{message.reference}] {text}"
    return text


class SmsChannel:
    """A :class:`~complaint_flow.ChannelAdapter` for text messages through an HTTP gateway.

    Register it with :class:`~complaint_flow_sms.SmsPlugin`; the outbox then hands it
    every message on ``sms``. The customer's number is ``Customer.phone`` or
    ``contacts["sms"]`` (``Customer.address_for("sms")``).

    Args:
        settings: the gateway and the limits of a message.
        kind: the channel's kind; written by default (see the module's documentation).
        find_customer: looks up the host's customer by number for inbound messages.
    """

    def __init__(
        self,
        settings: SmsSettings,
        *,
        kind: ChannelKind = ChannelKind.WRITTEN,
        find_customer: FindCustomer | None = None,
    ) -> None:
        if not isinstance(settings, SmsSettings):
            raise InvalidArgumentError(
                f"settings must be SmsSettings(gateway_url=..., token=...) or "
                f"SmsSettings.from_environment(), got {settings!r}"
            )
        if find_customer is not None and not callable(find_customer):
            raise InvalidArgumentError(
                f"find_customer must be a function of a number, got {find_customer!r}"
            )
        try:
            checked_kind = ChannelKind(kind)
        except ValueError:
            raise InvalidArgumentError(
                f"kind must be a ChannelKind ({', '.join(k.value for k in ChannelKind)}), "
                f"got {kind!r}"
            ) from None
        self.settings = settings
        self._channel = Channel(CHANNEL, checked_kind, "Text message (SMS)")
        self.find_customer = find_customer
        self.gateway = Gateway(settings)

    @property
    def channel(self) -> Channel:
        """The ``sms`` channel: written, and it reaches the customer."""
        return self._channel

    def parse(self, raw: bytes) -> Intake:
        """The complaint an inbound webhook body carries (see :func:`read_webhook`).

        Check its signature first with :meth:`verify`.

        Raises:
            InvalidIntakeError: the body is not a message from a customer.
        """
        return read_webhook(
            raw,
            default_country=self.settings.default_country,
            find_customer=self.find_customer,
        )

    def verify(self, body: bytes, signature: str | None) -> None:
        """Check an inbound webhook's signature with the settings' webhook secret.

        Raises:
            WebhookSignatureError: missing or wrong signature.
            InvalidArgumentError: the settings have no webhook secret.
        """
        if self.settings.webhook_secret is None:
            raise InvalidArgumentError(
                f"no webhook secret is set ({ENVIRONMENT['webhook_secret']}): give the one "
                "the gateway signs webhooks with, to check them"
            )
        verify_signature(body, signature, self.settings.webhook_secret)

    def send(self, message: Outgoing) -> Receipt:
        """Send ``message`` as one text message, or several if it is long and may be split.

        Raises:
            UnreachableAddressError: the address is not a phone number, or the gateway
                refused it for good (the outbox keeps the message unreachable).
            LetterTooLongError: too long for the settings (retried until dead).
            ChannelError: the gateway failed or could not be reached (retried).
        """
        try:
            number = normalise_number(message.address, self.settings.default_country)
        except InvalidNumberError as error:
            raise UnreachableAddressError(message.address, str(error)) from None
        text = sms_text(message)
        segments = count_segments(text)
        if segments.count > self.settings.max_segments and self.settings.long_letters == "refuse":
            raise LetterTooLongError(
                f"the message to {number} needs {segments.count} SMS segments "
                f"({segments.units} {segments.encoding} units) and at most "
                f"{self.settings.max_segments} are allowed; raise max_segments "
                f"({ENVIRONMENT['max_segments']}), set long_letters to 'split', or answer "
                "this customer by letter or email"
            )
        parts = split_letter(text, self.settings.max_segments)
        # Each part has a key of its own, so a retry after a partial failure resends
        # only what the gateway did not take.
        ids = [
            self.gateway.post(number, part, f"{message.key}/{index}")
            for index, part in enumerate(parts, start=1)
        ]
        shown = ", ".join(i or "?" for i in ids)
        detail = (
            f"{segments.count} segment(s), {segments.encoding}: {shown}"
            if len(parts) == 1
            else f"{len(parts)} messages ({segments.encoding}): {shown}"
        )
        return Receipt(channel=CHANNEL, address=number, message_id=ids[0], detail=detail)


__all__ = ["SmsChannel", "sms_text"]
