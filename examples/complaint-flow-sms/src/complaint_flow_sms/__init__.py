"""complaint-flow-sms: text messages (SMS) as a complaint_flow channel.

Replies go out through an HTTP SMS gateway (:class:`SmsChannel`, registered by
:class:`SmsPlugin` or, when the package is installed, from the ``COMPLAINT_FLOW_SMS_*``
environment); complaints come in from the gateway's signed webhook (:func:`take_webhook`:
:func:`verify_signature`, ``SmsChannel.parse``, the quarantine). Numbers are E.164
(:func:`normalise_number`); texts are counted in GSM-7 or UCS-2 segments
(:func:`count_segments`) and long letters split (:func:`split_letter`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from complaint_flow_sms.channel import SmsChannel, sms_text
from complaint_flow_sms.errors import InvalidNumberError, LetterTooLongError, WebhookSignatureError
from complaint_flow_sms.gateway import Gateway
from complaint_flow_sms.inbound import (
    CHANNEL,
    SIGNATURE_HEADER,
    FindCustomer,
    read_webhook,
    signature_for,
    summary_of,
    verify_signature,
)
from complaint_flow_sms.phone_numbers import country_code, normalise_number
from complaint_flow_sms.plugin import SmsPlugin
from complaint_flow_sms.receiving import WebhookAnswer, take_webhook
from complaint_flow_sms.segments import (
    MAX_MESSAGES,
    Segments,
    count_segments,
    encoding_of,
    split_letter,
)
from complaint_flow_sms.settings import ENVIRONMENT, SmsSettings, configured_in

try:
    __version__ = version("complaint-flow-sms")
except PackageNotFoundError:  # imported from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = [
    "CHANNEL",
    "ENVIRONMENT",
    "MAX_MESSAGES",
    "SIGNATURE_HEADER",
    "FindCustomer",
    "Gateway",
    "InvalidNumberError",
    "LetterTooLongError",
    "Segments",
    "SmsChannel",
    "SmsPlugin",
    "SmsSettings",
    "WebhookAnswer",
    "WebhookSignatureError",
    "__version__",
    "configured_in",
    "count_segments",
    "country_code",
    "encoding_of",
    "normalise_number",
    "read_webhook",
    "signature_for",
    "sms_text",
    "split_letter",
    "summary_of",
    "take_webhook",
    "verify_signature",
]
