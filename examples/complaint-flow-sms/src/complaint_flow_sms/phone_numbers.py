"""Phone numbers as an SMS gateway wants them: E.164, ``+`` and up to 15 digits.

Customers and staff write numbers every way: ``+44 (0)20 7946 0000``,
``0044 7700-900123``, ``07700 900123``. :func:`normalise_number` reads all of those
into one form, so that the same number is the same customer and the gateway gets what
it accepts, and refuses, saying why, what no gateway could deliver to.
"""

from __future__ import annotations

import unicodedata

from complaint_flow import InvalidArgumentError

from complaint_flow_sms.errors import InvalidNumberError

MIN_DIGITS = 7
"""The fewest digits of an international number (country code included): Niue's, +683 and four."""

MAX_DIGITS = 15
"""The most digits E.164 allows, country code included."""

_SEPARATORS = frozenset("-./()\u2010\u2011\u2012\u2013\u2014")
"""Written between digit groups (with any kind of space); dropped."""


def country_code(code: object) -> str:
    """A country calling code given as ``"44"`` or ``"+44"``, as digits (``"44"``).

    Raises:
        InvalidArgumentError: not one to three digits, or starting with 0.

    >>> country_code("+44")
    '44'
    """
    if not isinstance(code, str):
        raise InvalidArgumentError(
            f"a country calling code must be text such as '44' or '+1', got {code!r}"
        )
    digits = code.strip().removeprefix("+")
    if not (digits.isascii() and digits.isdigit() and 1 <= len(digits) <= 3) or digits[0] == "0":
        raise InvalidArgumentError(
            f"{code!r} is not a country calling code: give one to three digits, not "
            "starting with 0 (e.g. '44' for the United Kingdom, '1' for North America)"
        )
    return digits


def normalise_number(number: str, default_country: str | None = None) -> str:
    """``number`` in E.164 form: ``+``, the country code and the number, digits only.

    Spaces, dashes, dots, slashes, brackets and the ``(0)`` of the British and German
    way of writing are dropped; any script's decimal digits are read. ``00`` is read as
    the international prefix. A national number (one leading ``0``) needs the country
    it belongs to, ``default_country``; its one trunk ``0`` is dropped, which is right
    everywhere except for Italian landlines (give those in international form).

    Args:
        number: the number as written.
        default_country: the calling code national numbers belong to (``"44"``), or
            ``None`` to accept international numbers only.

    Raises:
        InvalidNumberError: it is not a number an SMS can go to (the message says why).
        InvalidArgumentError: ``default_country`` is not a calling code.

    >>> normalise_number("+44 (0)20 7946-0000")
    '+442079460000'
    >>> normalise_number("07700 900123", default_country="44")
    '+447700900123'
    """
    if not isinstance(number, str):
        raise InvalidArgumentError(f"a phone number must be text, got {number!r}")
    country = None if default_country is None else country_code(default_country)
    written = number.strip()
    if not written:
        raise InvalidNumberError(number, "it is empty")
    international = written.startswith("+")
    if international:
        written = written[1:]
    if international or written.startswith("00"):
        # "(0)" after a country code marks the trunk prefix dialled only from inside.
        written = written.replace("(0)", "")
    digits = []
    for character in written:
        if character.isspace() or character in _SEPARATORS:
            continue
        value = unicodedata.decimal(character, None)
        if value is not None:
            digits.append(str(value))
        elif character == "+":
            raise InvalidNumberError(number, "a '+' may only come first")
        elif character.isalpha():
            raise InvalidNumberError(
                number,
                "it has letters (spell out a word number; an extension cannot receive "
                "text messages)",
            )
        else:
            raise InvalidNumberError(number, f"it has the character {character!r}")
    national = "".join(digits)
    if not national:
        raise InvalidNumberError(number, "it has no digits")
    if international:
        full = national
    elif national.startswith("00"):
        full = national[2:]
    elif national.startswith("0"):
        if country is None:
            raise InvalidNumberError(
                number,
                "it is a national number and no country is set for those (set "
                "default_country, e.g. '44')",
            )
        full = country + national[1:]
    else:
        raise InvalidNumberError(number, "it has no country code")
    if not full or full[0] == "0":
        raise InvalidNumberError(number, "a country code never starts with 0")
    if not MIN_DIGITS <= len(full) <= MAX_DIGITS:
        raise InvalidNumberError(
            number,
            f"it has {len(full)} digits with its country code, and a number has "
            f"{MIN_DIGITS} to {MAX_DIGITS}",
        )
    return f"+{full}"


__all__ = ["MAX_DIGITS", "MIN_DIGITS", "country_code", "normalise_number"]
