"""What this package raises on purpose, each a subclass of a complaint_flow error.

Deriving from complaint_flow's own classes keeps the host's handling in one place: the
outbox retries a :class:`~complaint_flow.ChannelError`, a web handler answers a
:class:`~complaint_flow.InvalidArgumentError` with "400 Bad Request".
"""

from __future__ import annotations

from complaint_flow import ChannelError, InvalidArgumentError


class InvalidNumberError(InvalidArgumentError):
    """A phone number cannot be read as an international (E.164) number.

    ``number`` is the text given; the message says what is wrong and how to write it.
    """

    def __init__(self, number: str, problem: str) -> None:
        self.number = number
        super().__init__(
            f"{number!r} is not a phone number an SMS can go to: {problem}. Write it in "
            "international form, + and the country code first (e.g. '+44 7700 900123')"
        )


class LetterTooLongError(ChannelError):
    """A letter needs more SMS segments than the settings allow.

    Raised by ``SmsChannel.send`` when ``long_letters="refuse"`` (or a letter would need
    more than :data:`~complaint_flow_sms.MAX_MESSAGES` messages even split): the outbox
    retries it until the message is dead, where a person sees the reason. Raise
    ``max_segments``, allow splitting, or answer this customer by letter or email.
    """


class WebhookSignatureError(ChannelError):
    """An inbound webhook's signature is missing or does not match: do not read it.

    Answer the request with "401 Unauthorized"; a gateway signing with another secret
    means the webhook secret of the settings is wrong.
    """
