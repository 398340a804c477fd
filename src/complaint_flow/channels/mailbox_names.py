"""Mailbox names in IMAP's modified UTF-7 (RFC 3501, 5.1.3), the form servers expect.

IMAP4rev1 sends mailbox names in ASCII: any other character is written as UTF-16
in a base64 variant between ``&`` and ``-``, and ``&`` itself as ``&-``.
"""

from __future__ import annotations

import base64
import re


def encode_mailbox_name(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501, 5.1.3), as servers expect it.

    >>> encode_mailbox_name("Réclamations & litiges")
    'R&AOk-clamations &- litiges'
    >>> encode_mailbox_name("~peter/mail/台北/日本語")
    '~peter/mail/&U,BTFw-/&ZeVnLIqe-'
    """
    out: list[str] = []
    pending: list[str] = []

    def shift_out() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if " " <= char <= "~":
            shift_out()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    shift_out()
    return "".join(out)


def decode_mailbox_name(encoded: str) -> str:
    """A mailbox name back from modified UTF-7; text that is not valid is kept as given.

    >>> decode_mailbox_name("R&AOk-clamations &- litiges")
    'Réclamations & litiges'
    """

    def shifted(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        try:
            return base64.b64decode(padded, validate=True).decode("utf-16-be")
        except (ValueError, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", shifted, encoded)


__all__ = ["decode_mailbox_name", "encode_mailbox_name"]
