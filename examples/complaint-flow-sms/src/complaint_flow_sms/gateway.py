"""The HTTP SMS gateway API: one JSON POST per text message, and what its answers mean.

The API this package speaks (most gateways offer one like it; adapt :meth:`Gateway.post`
to yours)::

    POST <gateway_url>
    Authorization: Bearer <token>
    Content-Type: application/json
    Idempotency-Key: <outbox message key>/<part>

    {"to": "+447700900123", "text": "…", "from": "<sender, if set>",
     "reference": "<outbox message key>/<part>"}

    201 {"id": "<the gateway's message id>"}
    4xx {"error": "<code>", "message": "<what is wrong>"}

The outbox delivers at least once, so the same message may be posted again after a
lost answer: the ``Idempotency-Key`` lets the gateway send it only once.

What the answers mean for the outbox:

- 2xx: sent; the gateway's ``id`` goes on the receipt.
- 4xx whose ``error`` is one of ``unreachable_codes`` (``invalid_number``…): this number
  will never get a message: :class:`~complaint_flow.UnreachableAddressError`, and the
  outbox keeps the message unreachable for a person instead of retrying it.
- any other answer (401 wrong token, 429 too many requests, 5xx), a timeout or a
  network failure: :class:`~complaint_flow.ChannelError`, and the outbox retries.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from complaint_flow import ChannelError, UnreachableAddressError

from complaint_flow_sms.settings import ENVIRONMENT, SmsSettings

MAX_ANSWER_BYTES = 64 * 1024
"""The most of a gateway's answer that is read: an id or an error fits in far less."""

USER_AGENT = "complaint-flow-sms/0.1"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as it is: following it would resend the token elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Gateway:
    """Posts text messages to the gateway of ``settings``.

    Args:
        settings: where the gateway is, its token and the time to wait for it.
    """

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings
        handlers: list[urllib.request.BaseHandler] = [_NoRedirects()]
        if settings.gateway_url.startswith("https:"):
            handlers.append(urllib.request.HTTPSHandler(context=settings.ssl_context()))
        self._opener = urllib.request.build_opener(*handlers)

    def post(self, to: str, text: str, key: str) -> str | None:
        """Send ``text`` to the number ``to``; the gateway's id for it, if it gave one.

        Args:
            to: the number, in E.164 form.
            text: one message's text (at most ``max_segments`` segments).
            key: what makes this message unique (sent as ``Idempotency-Key``).

        Raises:
            UnreachableAddressError: the gateway refused the number for good.
            ChannelError: anything else went wrong; trying again later may work.
        """
        body: dict[str, str] = {"to": to, "text": text, "reference": key}
        if self.settings.sender is not None:
            body["from"] = self.settings.sender
        request = urllib.request.Request(
            self.settings.gateway_url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.settings.token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": key,
                "User-Agent": USER_AGENT,
            },
        )
        where = self.settings.gateway_url
        try:
            with self._opener.open(request, timeout=self.settings.timeout) as response:
                answer = _json(response.read(MAX_ANSWER_BYTES))
        except urllib.error.HTTPError as error:
            with error:
                answer = _json(error.read(MAX_ANSWER_BYTES))
                raise self._refusal(to, error.code, answer, error) from error
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            raise ChannelError(
                f"the SMS gateway at {where} could not be reached ({reason}); the outbox "
                "tries again later"
            ) from error
        message_id = answer.get("id")
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            message_id = str(message_id)
        return message_id if isinstance(message_id, str) and message_id else None

    def _refusal(
        self, to: str, status: int, answer: dict[str, Any], error: urllib.error.HTTPError
    ) -> ChannelError:
        code = answer.get("error")
        said = str(answer.get("message") or error.reason or "").strip()
        detail = f"{status} {code}: {said}" if isinstance(code, str) else f"{status}: {said}"
        if 400 <= status < 500 and code in self.settings.unreachable_codes:
            return UnreachableAddressError(to, f"the SMS gateway refused the number ({detail})")
        if status in (401, 403):
            why = (
                f"the SMS gateway refused the token ({detail}); check "
                f"{ENVIRONMENT['token']} (the outbox tries again later)"
            )
        elif 300 <= status < 400:
            where = error.headers.get("Location", "another address")
            why = (
                f"the SMS gateway answered with a redirect to {where} ({status}); set "
                f"{ENVIRONMENT['gateway_url']} to the address it gives"
            )
        elif status == 429:
            why = f"the SMS gateway asks to slow down ({detail}); the outbox tries again later"
        elif status >= 500:
            why = f"the SMS gateway failed ({detail}); the outbox tries again later"
        else:
            why = f"the SMS gateway refused the message ({detail}); the outbox tries again"
        return ChannelError(why)


def _json(raw: bytes) -> dict[str, Any]:
    """A gateway's JSON answer as a dict (empty when it is not a JSON object)."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


__all__ = ["MAX_ANSWER_BYTES", "USER_AGENT", "Gateway"]
