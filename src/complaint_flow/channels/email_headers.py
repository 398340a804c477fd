"""Email headers written by hand: subjects, addresses and message ids, folded and encoded.

The email package folds a long header by itself, but two of its habits spoil what
this library sends: a long message id in ``References`` becomes an RFC 2047 encoded
word (mail clients no longer thread on it), and a space at the place where it splits
a run of encoded words is lost (``Zoë Åström`` can arrive as ``Zoë Åström`` or as
``ZoëÅström``). The headers here do the folding themselves.

The email package takes them as they are: a header value with a ``name`` and a
``fold(policy=...)`` method is a header object it neither parses nor refolds (the
documented contract of ``email.policy.EmailPolicy.header_store_parse`` and ``fold``).

>>> from email.message import EmailMessage
>>> from email import policy
>>> mail = EmailMessage(policy=policy.default)
>>> mail["Subject"] = TextHeader("Subject", "[CF-2026-000042] Réclamation")
>>> print(mail.as_string().strip())
Subject: [CF-2026-000042] =?utf-8?q?R=C3=A9clamation?=
>>> mail["Subject"]
'[CF-2026-000042] Réclamation'
"""

from __future__ import annotations

import base64
import string
from email.headerregistry import Address
from email.policy import Policy

_ENCODED_WORD = 60
"""The longest encoded word written: with ``Subject: `` before it a line stays within
76 characters, as RFC 2047 (section 2) asks of lines holding encoded words."""
_ENCODED_PAYLOAD = _ENCODED_WORD - len("=?utf-8?q??=")
_LONGEST_PLAIN_WORD = 70
"""A longer word is encoded, so that it can be split over lines."""
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_Q_PLAIN = frozenset(string.ascii_letters + string.digits + "!*+-/")
"""What RFC 2047 (5.3) lets a Q-encoded word hold as itself, even in a display name."""


class MessageIdsHeader(str):
    """``Message-ID``, ``In-Reply-To`` or ``References``: ids folded between ids, never encoded.

    >>> from email import policy
    >>> header = MessageIdsHeader("References", ("<a@x.example>", "<b@x.example>"))
    >>> print(header.fold(policy=policy.default.clone(max_line_length=30)), end="")
    References: <a@x.example>
     <b@x.example>
    """

    name: str
    ids: tuple[str, ...]

    def __new__(cls, name: str, ids: tuple[str, ...]) -> MessageIdsHeader:
        header = super().__new__(cls, " ".join(ids))
        header.name = name
        header.ids = ids
        return header

    def fold(self, *, policy: Policy) -> str:
        """The header as written, with the policy's line ends."""
        return _folded(self.name, list(self.ids), policy)


class TextHeader(str):
    """An unstructured header such as ``Subject``: words as they are, others encoded.

    The text is written on one line (its line breaks and runs of spaces become one
    space). A word that is not plain ASCII, or looks like an encoded word, or is too
    long to fold, is written as RFC 2047 encoded words, together with the words of
    its kind next to it, so that every space between them is kept.
    """

    name: str

    def __new__(cls, name: str, text: str) -> TextHeader:
        header = super().__new__(cls, " ".join(text.split()))
        header.name = name
        return header

    def fold(self, *, policy: Policy) -> str:
        """The header as written, with the policy's line ends."""
        tokens: list[str] = []
        run: list[str] = []
        for word in str(self).split(" ") if self else []:
            if _plain_word(word):
                tokens += _encoded_words(" ".join(run))
                run = []
                tokens.append(word)
            else:
                run.append(word)
        tokens += _encoded_words(" ".join(run))
        return _folded(self.name, tokens, policy)


class AddressHeader(str):
    """``From`` or ``To`` with one address: ``Display Name <local@domain>``.

    A display name of plain words is written as it is, one with specials (a comma,
    quotes) as a quoted string, and any other (non-ASCII, very long) as encoded words.
    The address is written as given: a non-ASCII local part needs SMTPUTF8.
    """

    name: str
    display_name: str
    username: str
    domain: str

    def __new__(cls, name: str, display_name: str, username: str, domain: str) -> AddressHeader:
        display = " ".join(display_name.split())
        address = Address(display_name=display, username=username, domain=domain)
        header = super().__new__(cls, str(address))
        header.name = name
        header.display_name = display
        header.username = username
        header.domain = domain
        return header

    @property
    def addresses(self) -> tuple[Address, ...]:
        """The address, as the email package's own address headers give it."""
        return (Address(self.display_name, self.username, self.domain),)

    def fold(self, *, policy: Policy) -> str:
        """The header as written, with the policy's line ends."""
        spec = f"{self.username}@{self.domain}"
        if not self.display_name:
            return _folded(self.name, [spec], policy)
        name = self.display_name
        if all(_plain_word(word) and set(word) <= _ATEXT for word in name.split(" ")):
            tokens = name.split(" ")
        elif _plain_quotable(name):
            tokens = ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
        else:
            tokens = _encoded_words(name)
        return _folded(self.name, [*tokens, f"<{spec}>"], policy)


def _plain_word(word: str) -> bool:
    """Whether a word can be written as itself in unstructured text."""
    return (
        len(word) <= _LONGEST_PLAIN_WORD
        and all("!" <= char <= "~" for char in word)
        and "=?" not in word
    )


def _plain_quotable(name: str) -> bool:
    """Whether a display name can be a quoted string (no decoder will take it for encoded)."""
    return (
        len(name) <= _LONGEST_PLAIN_WORD
        and all(" " <= char <= "~" for char in name)
        and "=?" not in name
    )


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 encoded words, each of whole characters, none too long.

    Decoders drop the whitespace between adjacent encoded words, so every space of
    ``text`` is written inside a word. Q encoding, or B when that is much shorter
    (most scripts other than Latin); the Q alphabet is the one allowed in display
    names too.
    """
    if not text:
        return []
    quoted = [_q_char(char) for char in text]
    q_length = sum(len(piece) for piece in quoted)
    b_length = (len(text.encode("utf-8", "surrogatepass")) + 2) // 3 * 4
    words: list[str] = []
    # Q is readable in the raw header: kept unless B is a good third shorter.
    if q_length * 3 <= b_length * 4:
        payload = ""
        for piece in quoted:
            if payload and len(payload) + len(piece) > _ENCODED_PAYLOAD:
                words.append(f"=?utf-8?q?{payload}?=")
                payload = ""
            payload += piece
        words.append(f"=?utf-8?q?{payload}?=")
        return words
    chunk = b""
    most = _ENCODED_PAYLOAD // 4 * 3
    for char in text:
        encoded = char.encode("utf-8", "surrogatepass")
        if chunk and len(chunk) + len(encoded) > most:
            words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
            chunk = b""
        chunk += encoded
    words.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
    return words


def _q_char(char: str) -> str:
    if char in _Q_PLAIN:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))


def _folded(name: str, tokens: list[str], policy: Policy) -> str:
    """``Name: token token …``, a new line (starting with a space) before a token that
    would not fit; the space in front of each token is where a line may break."""
    limit = policy.max_line_length or 998
    lines: list[str] = []
    line = f"{name}:"
    for token in tokens:
        if line != f"{name}:" and len(line) + 1 + len(token) > limit:
            lines.append(line)
            line = ""
        line += f" {token}"
    lines.append(line)
    return policy.linesep.join(lines) + policy.linesep


__all__ = ["AddressHeader", "MessageIdsHeader", "TextHeader"]
