"""Reading inbound email: the fixture messages of ``tests/mail``, the rules one by one,
and properties over arbitrary and mutated bytes.

The fixtures are shaped as Outlook, Gmail, Thunderbird, Apple Mail, Yandex, Postfix,
Exchange, cPanel and Mailman write mail, in German, French, Russian, Belarusian,
Swedish and English, in ISO-8859-1, windows-1251, KOI8-R and UTF-8. Expected values
are written out from what each message says, and attachment hashes are computed
from the base64 text of the file, not by the email package.
"""

# Mail is read in many scripts: Cyrillic letters and typographic dashes here are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import base64
import hashlib
import string
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from complaint_flow.channels import email_parsing
from complaint_flow.channels.email_parsing import (
    REPLY_PREFIXES,
    Attachment,
    DeliveryStatus,
    ParsedEmail,
    RecipientStatus,
    find_reference,
    latest_reply,
    parse_email,
    strip_subject_prefixes,
)
from complaint_flow.errors import InvalidArgumentError, QuarantinedMessageError

MAIL = Path(__file__).parent / "mail"


def fixture(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def parsed(name: str) -> ParsedEmail:
    return parse_email(fixture(name))


def base64_part(raw: bytes, marker: bytes) -> bytes:
    """The decoded base64 body of the part whose headers contain ``marker``."""
    start = raw.index(marker)
    body = raw.index(b"\n\n", start) if b"\r\n\r\n" not in raw else raw.index(b"\r\n\r\n", start)
    lines = []
    for line in raw[body:].strip().splitlines():
        if line.startswith(b"--") or not line.strip():
            break
        lines.append(line.strip())
    return base64.b64decode(b"".join(lines))


def message(
    body: bytes = b"Hello",
    *,
    headers: str = "",
    content_type: str = "text/plain; charset=utf-8",
    sender: str = "Ada <ada@example.org>",
    extra: bytes = b"",
) -> bytes:
    """A small message: ``From``, ``To``, ``Subject``, the given headers and body."""
    head = f"From: {sender}\nTo: service@shop.example\nSubject: A complaint\n"
    head += headers + (f"Content-Type: {content_type}\n" if content_type else "")
    return head.encode() + extra + b"\n" + body


# -- the fixtures, one by one ------------------------------------------------------


def test_outlook_german_reply_in_iso_8859_1() -> None:
    email = parsed("outlook_de_reply.eml")
    # The subject's encoded words say iso-8859-1 but hold windows-1252 (an en dash).
    assert email.subject == "AW: Ihre Beschwerde CF-2026-000042 – Waschmaschine läuft aus"
    assert email.sender == "hans.mueller@example.de"
    assert email.sender_name == "Hans Müller"
    assert email.recipients == ("service@shop.example",)
    assert email.message_id == (
        "<DB9PR02MB72105F3C1B8A4E2D9C6A1F0BC2742@DB9PR02MB7210.eurprd02.prod.outlook.com>"
    )
    assert email.in_reply_to == ("<cf.20260302091500.42@shop.example>",)
    assert email.references == ("<cf.20260302091500.42@shop.example>",)
    assert email.date == datetime(2026, 3, 3, 7, 42, 17, tzinfo=UTC)
    assert "89 € für die Anfahrt" in email.text  # 0x80 in an iso-8859-1 part
    assert "Von: Kundendienst Haushaltswaren <service@shop.example>" in email.text
    assert email.reply_text == (
        "Sehr geehrte Damen und Herren,\n\n"
        "die Waschmaschine läuft nach der Reparatur immer noch aus. Der Techniker hat "
        "89 € für die Anfahrt berechnet, obwohl das Gerät noch Garantie hat.\n\n"
        "Bitte rufen Sie mich an: 0171 2345678."
    )
    assert email.automatic is None
    assert email.attachments == ()
    assert email.delivery_report is None
    assert email.defects == ()


def test_gmail_french_reply_with_a_narrow_no_break_space_before_the_colon() -> None:
    email = parsed("gmail_fr_reply.eml")
    assert email.subject == "Re: Votre réclamation CF-2026-000043"
    assert (email.sender, email.sender_name) == ("amelie.dupre@gmail.com", "Amélie Dupré")
    assert email.date == datetime(2026, 3, 3, 10, 12, 31, tzinfo=timezone(timedelta(hours=1)))
    assert email.reply_text == (
        "Bonjour,\n\n"
        "Je n'ai toujours pas reçu le remboursement de 49,90 € promis le 15 février.\n"
        "Merci de me tenir informée."
    )
    assert "> Nous avons bien reçu votre réclamation CF-2026-000043" in email.text
    assert email.automatic is None


def test_thunderbird_russian_koi8_r_flowed_reply() -> None:
    email = parsed("thunderbird_ru_koi8r.eml")
    assert email.subject == "Re: Жалоба CF-2026-000044: не работает холодильник"
    assert email.sender == "ivan.petrov@mail.ru"  # Mail.RU: the domain in lower case
    assert email.sender_name == "Иван Петров"
    assert email.message_id == "<8d7f3b2a-51c4-4e0b-9a3e-2f6d1c0b7e94@Mail.Ru>"  # as found
    # format=flowed: the soft break after "Прошу " is joined; the signature separator stays.
    assert "Прошу заменить товар или вернуть деньги." in email.text
    assert "\n-- \nИван Петров\n" in email.text
    assert email.reply_text == (
        "Здравствуйте!\n\n"
        "Холодильник снова не морозит, мастер так и не приехал. "
        "Прошу заменить товар или вернуть деньги."
    )


def test_apple_mail_swedish_reply_with_an_inline_image() -> None:
    raw = fixture("apple_sv_inline_image.eml")
    email = parse_email(raw)
    assert email.subject == "Re: SV: Ditt klagomål CF-2026-000045"
    assert email.reply_text == (
        "Hej!\n\nHär är en bild på skadan. Kartongen var redan trasig när paketet kom, "
        "och glaset i dörren är sprucket."
    )
    image = base64_part(raw, b"filename=skada.png")
    assert email.attachments == (
        Attachment(
            filename="skada.png",
            content_type="image/png",
            size=len(image),
            sha256=hashlib.sha256(image).hexdigest(),
            inline=True,
        ),
    )
    assert image.startswith(b"\x89PNG")
    assert "<html" not in email.text  # the HTML alternative is not text of its own


def test_outlook_belarusian_reply_in_windows_1251() -> None:
    email = parsed("outlook_be_cp1251.eml")
    assert email.subject == "Адказ: Скарга CF-2026-000046 — затрымка дастаўкі"
    assert email.sender_name == "Алесь Шыла"
    assert email.reply_text == (
        "Добры дзень!\n\n"
        "Пасылка дагэтуль не прыйшла, хоць тэрмін дастаўкі скончыўся тыдзень таму — "
        "прашу вярнуць грошы."
    )
    assert "Ад: Служба падтрымкі <service@shop.example>" in email.text
    assert strip_subject_prefixes(email.subject).startswith("Скарга CF-2026-000046")


def test_yandex_russian_html_only_message() -> None:
    email = parsed("yandex_ru_html_only.eml")
    assert email.text.startswith("Добрый день!\n\nДеньги так и не вернулись на карту.")
    assert "<div>" not in email.text
    assert "&lt;" not in email.text
    assert '05.03.2026, 10:12, "Служба поддержки" <service@shop.example>:' in email.text
    assert email.reply_text == (
        "Добрый день!\n\nДеньги так и не вернулись на карту. Сколько ещё ждать?"
    )


def test_gmail_new_complaint_with_inline_photo_and_attachments() -> None:
    raw = fixture("gmail_en_attachments.eml")
    email = parse_email(raw)
    assert email.subject == "Broken kettle 😞 – order 55231"
    # To then Cc, without repeats; the local part keeps its case, the domain does not.
    assert email.recipients == (
        "service@shop.example",
        "tom@bakers.example",
        "SERVICE@shop.example",
    )
    photo = base64_part(raw, b'filename="IMG_2041.jpg"')
    receipt = base64_part(raw, b'filename="=?UTF-8?B?cmVjZWlwdCDigJMgTWFyY2gucGRm?="')
    warranty = base64_part(raw, b"filename*1*=M%C3%BCller.pdf")
    assert email.attachments == (
        Attachment(
            "IMG_2041.jpg", "image/jpeg", len(photo), hashlib.sha256(photo).hexdigest(), True
        ),
        Attachment(
            "receipt – March.pdf",  # RFC 2047 in a quoted parameter
            "application/pdf",
            len(receipt),
            hashlib.sha256(receipt).hexdigest(),
        ),
        Attachment(
            "Garantieschein Müller.pdf",  # RFC 2231 continuations
            "application/pdf",
            len(warranty),
            hashlib.sha256(warranty).hexdigest(),
        ),
    )
    assert email.reply_text.endswith("I would like a replacement, not a voucher.")
    assert email.text.endswith("Thanks,\nTom Baker")
    assert find_reference(email.subject) is None


def test_gmail_reply_whose_attribution_is_wrapped() -> None:
    email = parsed("gmail_en_wrapped_reply.eml")
    assert email.reply_text == "Thanks for the quick answer, but the courier still has not called."
    assert find_reference(email.subject) == "CF-2026-000050"


def test_thunderbird_forward_keeps_only_the_comment() -> None:
    email = parsed("thunderbird_en_forward.eml")
    assert email.reply_text == (
        "Hi,\n\nforwarding your earlier answer: the refund you promised never arrived. "
        "Please\ncheck and call me back.\n\nLena"
    )
    assert "we will refund 120.00 EUR" in email.text
    assert [a.filename for a in email.attachments] == ["Rechnung Nr. 2026-0311 für Lena.pdf"]
    assert email.references == ("<cf.20260302081500.49@shop.example>",)
    assert email.in_reply_to == ()


def test_postfix_bounce() -> None:
    email = parsed("postfix_bounce.eml")
    assert email.automatic == "Auto-Submitted: auto-replied"
    assert email.sender == "MAILER-DAEMON@mx.shop.example"
    assert email.delivery_report == DeliveryStatus(
        original_message_id="<cf.20260302091500.42@shop.example>",
        recipients=(
            RecipientStatus(
                recipient="nobody@example.org",
                action="failed",
                status="5.1.1",
                diagnostic="smtp; 550 5.1.1 <nobody@example.org>: Recipient address rejected: "
                "User unknown in virtual mailbox table",
                remote_mta="dns; mx1.example.org",
            ),
            RecipientStatus(
                recipient="full@example.net",
                action="failed",
                status="5.2.2",
                diagnostic="smtp; 552 5.2.2 <full@example.net>: Mailbox full",
                remote_mta="dns; mx.example.net",
            ),
        ),
        reporting_mta="dns; mx.shop.example",
    )
    assert email.delivery_report.permanent
    assert len(email.delivery_report.failed) == 2
    assert email.text.startswith("This is the mail system at host mx.shop.example.")
    assert "Vielen Dank" not in email.text  # the returned message is not this one's text
    (returned,) = email.attachments
    assert returned.content_type == "message/rfc822"
    assert returned.filename is None
    assert returned.size > 400


def test_exchange_ndr_with_returned_headers_only() -> None:
    email = parsed("exchange_ndr.eml")
    assert email.automatic == "multipart/report; report-type=delivery-status"
    report = email.delivery_report
    assert report is not None
    assert report.original_message_id == "<cf.20260302091500.42@shop.example>"
    assert report.reporting_mta == "dns;AM0PR01MB6435.eurprd01.prod.exchangelabs.com"
    (recipient,) = report.recipients
    assert recipient == RecipientStatus(
        recipient="jane.doe@contoso.example",
        action="failed",
        status="5.1.10",
        diagnostic="smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient "
        "jane.doe@contoso.example not found by SMTP address lookup",
    )
    assert report.permanent
    assert email.text.startswith("Your message to jane.doe@contoso.example couldn't be delivered.")
    assert [a.content_type for a in email.attachments] == ["text/rfc822-headers"]


@pytest.mark.parametrize(
    ("name", "automatic"),
    [
        ("exchange_out_of_office_de.eml", "Auto-Submitted: auto-generated"),
        (
            "autoresponder_fr_subject_only.eml",
            "out-of-office subject: Réponse automatique : Votre réclamation CF-2026-000043",
        ),
        ("cpanel_autoresponder.eml", "X-Autorespond: Thank you for your email"),
        ("noreply_tracking.eml", "robot sender: No-Reply@tracking.parcel.example"),
        ("mailman_list.eml", 'List-Id: "Verbraucherforum" <verbraucher.lists.example.org>'),
        ("postfix_bounce.eml", "Auto-Submitted: auto-replied"),
        ("outlook_de_reply.eml", None),
        ("gmail_fr_reply.eml", None),
        ("thunderbird_ru_koi8r.eml", None),
        ("apple_sv_inline_image.eml", None),
        ("outlook_be_cp1251.eml", None),
        ("yandex_ru_html_only.eml", None),
        ("gmail_en_attachments.eml", None),
        ("thunderbird_en_forward.eml", None),
    ],
)
def test_automatic_mail_is_told_from_mail_a_person_wrote(name: str, automatic: str | None) -> None:
    assert parsed(name).automatic == automatic


def test_out_of_office_reply_keeps_its_text_less_the_signature() -> None:
    email = parsed("exchange_out_of_office_de.eml")
    assert email.reply_text.endswith("wenden Sie sich bitte an zentrale@example.de.")
    assert "Petra Schulz" in email.text
    assert "Petra Schulz" not in email.reply_text


def test_mailing_list_footer_part_is_text_but_not_the_reply() -> None:
    email = parsed("mailman_list.eml")
    assert email.text.startswith("Hallo zusammen,")
    assert email.text.endswith(
        "To unsubscribe send an email to verbraucher-leave@lists.example.org"
    )
    assert email.reply_text.endswith("läuft seit drei Wochen.\n\nGreta")
    assert email.recipients == ("verbraucher@lists.example.org", "service@shop.example")


def test_minor_defects_are_repaired_and_listed() -> None:
    email = parsed("defects_minor.eml")
    # Raw UTF-8 in the headers (no RFC 2047), as some clients send them.
    assert email.subject == "Beschwerde über Lieferung"
    assert email.sender_name == "Jürgen Weiß"
    assert email.date is None  # 31 February, 25:61
    assert email.message_id == "<juergen.1772500000@example.de>"  # brackets added
    assert email.text == "Die Lieferung kam beschädigt an."
    (scan,) = email.attachments
    assert (scan.filename, scan.size) == ("scan.bin", len(b"ABCDEFG"))
    assert scan.sha256 == hashlib.sha256(b"ABCDEFG").hexdigest()
    joined = "\n".join(email.defects)
    for expected in (
        "CloseBoundaryNotFoundDefect",
        "InvalidBase64PaddingDefect",
        "InvalidDateDefect",
        "unknown charset 'x-mac-unknown'",
    ):
        assert expected in joined


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("garbage.eml", "no header lines"),
        ("quarantine_no_from.eml", "no From header"),
        ("quarantine_broken_headers.eml", "header section is broken"),
        ("quarantine_no_boundary.eml", "declares no boundary"),
        ("quarantine_bad_base64.eml", "base64 that cannot be decoded"),
    ],
)
def test_unreadable_messages_are_quarantined_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(QuarantinedMessageError) as refused:
        parsed(name)
    assert reason in refused.value.reason
    assert "quarantine" in str(refused.value)


# -- quarantine rules, one by one --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "no header lines"),
        (b"\n\nbody", "no header lines"),
        (b"From: Ivan\n\nhello", "names no address"),
        (b"From: <>\n\nhello", "names no address"),
        (b"From: undisclosed-recipients:;\n\nhello", "names no address"),
        (
            message(content_type="multipart/mixed; boundary=never-seen", body=b"text\n"),
            "boundary that never appears",
        ),
    ],
)
def test_quarantine_rules(raw: bytes, reason: str) -> None:
    with pytest.raises(QuarantinedMessageError) as refused:
        parse_email(raw)
    assert reason in refused.value.reason


def test_parts_nested_too_deeply_are_quarantined() -> None:
    def nested(depth: int) -> bytes:
        head = b"From: a@example.org\n"
        for level in range(depth):
            head += b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (level, level)
        return head + b"Content-Type: text/plain\n\nhi\n"

    with pytest.raises(QuarantinedMessageError, match="nested more than 50 deep"):
        parse_email(nested(60))
    with pytest.raises(QuarantinedMessageError, match="nested too deeply"):
        parse_email(nested(3000))  # the email package itself gives up
    assert parse_email(nested(20)).text == "hi"


def test_a_failure_of_the_email_package_is_quarantined(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes, policy: object) -> object:
        raise IndexError("string index out of range")

    monkeypatch.setattr(email_parsing, "message_from_bytes", broken)
    with pytest.raises(QuarantinedMessageError, match=r"could not read it \(IndexError"):
        parse_email(message())


def test_a_parameter_that_breaks_the_header_parser_does_not_break_the_message() -> None:
    # policy.default's parser raises IndexError on a parameter without a value at the
    # end of a Content-Type; the structure is read without it.
    raw = (
        b"From: a@example.org\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n--b\n"
        b"Content-Type: application/pdf; name*0*=UTF-8''a; name*1*\n"
        b"Content-Disposition: attachment; filename=a.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nQUJD\n--b--\n"
    )
    email = parse_email(raw)
    assert [(a.filename, a.content_type, a.size) for a in email.attachments] == [
        ("a.pdf", "application/pdf", 3)
    ]


def test_an_address_header_the_registry_fails_on_is_read_leniently() -> None:
    # policy.default's address parser raises IndexError on a tab before a colon.
    email = parse_email(
        b"From: Ada <ada@Example.org>,\t:\nTo: service@shop.example,\t:\n"
        b"Date: Mon, 2 Mar 2026 10:00:00 +0000\n\nhi"
    )
    assert (email.sender, email.sender_name) == ("ada@example.org", "Ada")
    assert email.recipients == ("service@shop.example",)
    assert email.date == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert any("the from header could not be read (IndexError" in d for d in email.defects)


def test_raw_must_be_bytes() -> None:
    with pytest.raises(InvalidArgumentError, match="raw must be the message's bytes"):
        parse_email("From: a@example.org\n\nhi")  # type: ignore[arg-type]
    assert parse_email(bytearray(message())).sender == "ada@example.org"


# -- headers -----------------------------------------------------------------------


def test_message_ids_are_normalised_to_angle_brackets() -> None:
    email = parse_email(
        message(
            headers=(
                "Message-ID: abc.123@Host.Example\n"
                'In-Reply-To: Your message of "Mon, 2 Mar 2026" <one@shop.example>\n'
                "References: <one@shop.example>\n <two@shop.example>  <one@shop.example>\n"
                "\t<three@sh\n op.example>\n"
            )
        )
    )
    assert email.message_id == "<abc.123@Host.Example>"
    assert email.in_reply_to == ("<one@shop.example>",)
    assert email.references == ("<one@shop.example>", "<two@shop.example>", "<three@shop.example>")


def test_absent_headers() -> None:
    email = parse_email(b"From: ada@example.org\n\nhi")
    assert (email.message_id, email.in_reply_to, email.references) == (None, (), ())
    assert (email.subject, email.sender_name, email.recipients, email.date) == ("", "", (), None)


def test_date_without_a_zone_is_utc_and_every_date_is_aware() -> None:
    email = parse_email(message(headers="Date: Mon, 2 Mar 2026 10:00:00 -0000\n"))
    assert email.date == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    email = parse_email(message(headers="Date: 2 Mar 2026 10:00 +0530\n"))
    assert email.date == datetime(
        2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )


def test_subject_whitespace_is_normalised_and_encoded_words_decoded() -> None:
    email = parse_email(
        b"From: a@example.org\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n\t  aus   =?koi8-r?b?7c/Ty9fZ?=  \n\nx"
    )
    assert email.subject == "Grüße aus Москвы"


def test_raw_8bit_headers_in_the_body_charset() -> None:
    raw = (
        "From: Иван <ivan@example.ru>\nSubject: Жалоба на доставку\n"
        "Content-Type: text/plain; charset=windows-1251\n\nПривет"
    ).encode("cp1251")
    email = parse_email(raw)
    assert (email.sender_name, email.subject, email.text) == (
        "Иван",
        "Жалоба на доставку",
        "Привет",
    )


def test_several_from_mailboxes_take_the_first_and_note_it() -> None:
    email = parse_email(b"From: a@example.org, B <b@Example.org>\n\nhi")
    assert email.sender == "a@example.org"
    assert any("several mailboxes" in d for d in email.defects)


# -- text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "body", "text", "defect"),
    [
        ("utf-8", "Grüße €".encode(), "Grüße €", None),
        ("iso-8859-1", b"89 \x80 \xe4", "89 € ä", None),  # windows-1252 in practice
        ("us-ascii", "Grüße".encode(), "Grüße", None),  # undeclared UTF-8
        (None, b"caf\xe9", "café", None),  # undeclared, not UTF-8: windows-1252
        ("koi8-r", "Жалоба".encode("koi8-r"), "Жалоба", None),
        ("x-unknown", "Grüße".encode(), "Grüße", "unknown charset 'x-unknown'"),
        ("base64", b"plain", "plain", "unknown charset 'base64'"),  # not a text codec
        ("idna", "Grüße".encode(), "Grüße", "charset 'idna' cannot decode text"),
        ("utf-8", b"bad \xff byte", "bad \ufffd byte", "invalid utf-8 bytes replaced"),
        ("utf-8", b"\xef\xbb\xbfBOM", "BOM", None),
    ],
)
def test_charsets(charset: str | None, body: bytes, text: str, defect: str | None) -> None:
    content_type = "text/plain" + (f"; charset={charset}" if charset else "")
    email = parse_email(
        message(body, content_type=content_type, headers="Content-Transfer-Encoding: 8bit\n")
    )
    assert email.text == text
    if defect is None:
        assert email.defects == ()
    else:
        assert any(defect in d for d in email.defects)


def test_text_never_holds_nul_or_lone_surrogates() -> None:
    email = parse_email(message(b"a\x00b \xed\xa0\x80 c", content_type="text/plain; charset=utf-8"))
    assert "\x00" not in email.text
    email.text.encode("utf-8")  # storable


def test_html_only_is_laid_out_as_text() -> None:
    html = (
        b"<html><body><div>First line</div><div>&nbsp;</div><div>Second &amp; last</div>"
        b"<ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table>"
        b"</body></html>"
    )
    email = parse_email(message(html, content_type="text/html; charset=utf-8"))
    assert email.text.startswith("First line\n\nSecond & last\n")
    assert "* one" in email.text
    assert "a  b" in email.text


def test_broken_html_still_gives_its_words() -> None:
    email = parse_email(message(b"<p>Hello \x00<b>world</p></i>", content_type="text/html"))
    assert "Hello" in email.text
    assert "world" in email.text


def test_plain_text_is_preferred_to_html_and_several_inline_parts_are_joined() -> None:
    raw = message(
        b"--b\nContent-Type: multipart/alternative; boundary=a\n\n"
        b"--a\nContent-Type: text/html\n\n<p>HTML version</p>\n"
        b"--a\nContent-Type: text/plain\n\nPlain version\n--a--\n"
        b"--b\nContent-Type: image/gif\nContent-Disposition: inline\n\nGIF89a\n"
        b"--b\nContent-Type: text/plain\nContent-Disposition: inline\n\nAfter the picture\n"
        b"--b\nContent-Type: text/plain\nContent-Disposition: attachment; filename=notes.txt\n\n"
        b"Attached notes\n--b--\n",
        content_type="multipart/mixed; boundary=b",
    )
    email = parse_email(raw)
    assert email.text == "Plain version\n\nAfter the picture"
    assert [(a.filename, a.content_type, a.inline) for a in email.attachments] == [
        (None, "image/gif", True),
        ("notes.txt", "text/plain", False),
    ]


@pytest.mark.parametrize(
    ("disposition", "body_charset", "filename"),
    [
        ('attachment; filename="Grüße.pdf"'.encode(), "utf-8", "Grüße.pdf"),  # raw UTF-8
        ('attachment; filename="Жалоба.pdf"'.encode("cp1251"), "windows-1251", "Жалоба.pdf"),
        (b"attachment; filename*=x-bogus''%E4%F6.pdf", "utf-8", "äö.pdf"),
        (b'attachment; filename="=?iso-8859-1?q?=96=E4.pdf?="', "utf-8", "–ä.pdf"),
        (b'attachment; filename="=?utf-8?q?a?= =?utf-8?q?b?= c.pdf"', "utf-8", "ab c.pdf"),
        (b'attachment; filename="=?utf-8?b?broken?="', "utf-8", "n\ufffd$z"),
        (b'attachment; filename="  spaced \t name.pdf "', "utf-8", "spaced name.pdf"),
        (b"attachment", "utf-8", None),
    ],
)
def test_file_names(disposition: bytes, body_charset: str, filename: str | None) -> None:
    raw = message(
        b"--b\nContent-Type: text/plain; charset=" + body_charset.encode() + b"\n\nhi\n"
        b"--b\nContent-Type: application/pdf\nContent-Disposition: " + disposition + b"\n\nX\n"
        b"--b--\n",
        content_type="multipart/mixed; boundary=b",
    )
    email = parse_email(raw)
    assert [a.filename for a in email.attachments] == [filename]
    assert email.defects == ()


def test_related_root_is_named_by_start() -> None:
    raw = message(
        b"--r\nContent-Type: image/png\nContent-ID: <img>\n\nPNG\n"
        b"--r\nContent-Type: text/html\nContent-ID: <root>\n\n<p>Root text</p>\n--r--\n",
        content_type='multipart/related; boundary=r; start="<root>"; type="text/html"',
    )
    email = parse_email(raw)
    assert email.text == "Root text"
    assert [(a.content_type, a.inline) for a in email.attachments] == [("image/png", True)]


@pytest.mark.parametrize(
    ("flowed", "delsp", "text"),
    [
        ("Para one \nstill one.\n\n> quoted \n> still quoted\n-- \nSig", "no",
         "Para one still one.\n\n> quoted still quoted\n-- \nSig"),
        ("Wor\nd", "no", "Wor\nd"),
        ("Wor \nd", "yes", "Word"),
        (" >not a quote\n", "no", ">not a quote"),
    ],
)  # fmt: skip
def test_format_flowed_is_joined(flowed: str, delsp: str, text: str) -> None:
    content_type = f"text/plain; charset=utf-8; format=flowed; delsp={delsp}"
    assert parse_email(message(flowed.encode(), content_type=content_type)).text == text


# -- the newest part -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "newest"),
    [
        (  # Outlook, English
            "Still waiting.\n\nFrom: Service <service@shop.example>\nSent: Monday, March 2, "
            "2026 9:15 AM\nTo: Ada <ada@example.org>\nSubject: Your complaint\n\nSorry.",
            "Still waiting.",
        ),
        ("Still waiting.\n\n-----Original Message-----\nFrom: x\n\nSorry.", "Still waiting."),
        (
            "See below.\n\nBegin forwarded message:\n\nFrom: Service <s@shop.example>\nSorry.",
            "See below.",
        ),
        (  # Gmail in Russian, the address wrapped onto a line of its own
            "Жду ответа.\n\nпн, 2 мар. 2026 г. в 10:00, Служба поддержки\n"
            "<service@shop.example>:\n\n> Здравствуйте!",
            "Жду ответа.",
        ),
        (  # Outlook in Russian
            "Жду ответа.\n\nОт: Служба поддержки <service@shop.example>\nОтправлено: 2 марта "
            "2026 г. 10:00\nКому: Иван\nТема: Жалоба\n\nЗдравствуйте!",
            "Жду ответа.",
        ),
        ("Жду ответа.\n\nС уважением,\nИван\n+7 916 123-45-67", "Жду ответа."),
        (  # a hyphen list is text, not a signature; indentation is kept
            "What I want:\n- a refund\n- an apology\n\n    indented line",
            "What I want:\n- a refund\n- an apology\n\n    indented line",
        ),
        ("Answers inline.\n> a question?\nmy answer\n", "Answers inline.\nmy answer"),
        (  # nothing above the quote: the whole text
            "On Mon, 2 Mar 2026 at 10:00, Service <s@shop.example> wrote:\n> Sorry.",
            "On Mon, 2 Mar 2026 at 10:00, Service <s@shop.example> wrote:\n> Sorry.",
        ),
        ("Done.\n\nSent from my iPhone", "Done."),
        (
            "Short note.\n\nBest regards,\n" + "".join(f"line {n}\n" for n in range(30)),
            "Short note.\n\nBest regards,\n" + "\n".join(f"line {n}" for n in range(30)),
        ),
        ("", ""),
    ],
)
def test_latest_reply(text: str, newest: str) -> None:
    assert latest_reply(text) == newest


def test_latest_reply_checks_its_argument() -> None:
    with pytest.raises(InvalidArgumentError):
        latest_reply(b"bytes")  # type: ignore[arg-type]


def test_a_long_line_does_not_slow_the_reply_search() -> None:
    text = "On " + "x y " * 50_000 + "\n" + "Am " + "z " * 50_000 + "\n> quoted"
    assert latest_reply(text).startswith("On x y")
    # Lines that make mail-parser-reply's lazy loops quadratic: seconds, not hours.
    hostile = ("On the " * 40 + ":\n") * 5000 + ("Am der " * 40 + "schrieb x y z\n") * 5000
    started = time.perf_counter()
    assert latest_reply(hostile) == hostile.strip()
    assert time.perf_counter() - started < 30


def test_long_lines_are_kept_whole() -> None:
    line = "The parcel arrived broken and nobody called me back about it. " * 12
    text = "\n".join([line] * 250)
    assert latest_reply(text) == text


def test_a_quote_after_the_lines_looked_at_is_still_found_by_its_attribution() -> None:
    text = "\n".join(f"point {n}" for n in range(400))
    quoted = "\n\nOn Mon, 2 Mar 2026 at 10:00, Service <s@shop.example> wrote:\n> Sorry."
    assert latest_reply(text + quoted) == text


# -- automatic mail -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "automatic"),
    [
        ("Auto-Submitted: no\n", None),
        ("Auto-Submitted: auto-replied (vacation)\n", "Auto-Submitted: auto-replied (vacation)"),
        ("Precedence: bulk\n", "Precedence: bulk"),
        ("Precedence: junk\n", "Precedence: junk"),
        ("Precedence: list\n", "Precedence: list"),
        ("Precedence: first-class\n", None),
        ("X-Auto-Response-Suppress: All\n", "X-Auto-Response-Suppress: All"),
        ("X-Auto-Response-Suppress: None\n", None),
        ("X-Autoreply: yes\n", "X-Autoreply: yes"),
        ("X-Autorespond: Away\n", "X-Autorespond: Away"),
        ("List-Unsubscribe: <mailto:leave@lists.example>\n",
         "List-Unsubscribe: <mailto:leave@lists.example>"),
        ("List-Id: <complaints.lists.example>\n", "List-Id: <complaints.lists.example>"),
        ("Return-Path: <>\n", "Return-Path: <>"),
        ("Return-Path: <ada@example.org>\n", None),
    ],
)  # fmt: skip
def test_automatic_headers(headers: str, automatic: str | None) -> None:
    assert parse_email(message(headers=headers)).automatic == automatic


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Your complaint",
        "Automatic reply: Your complaint CF-2026-000042",
        "Abwesenheitsnotiz: Ihre Beschwerde",
        "Automatische Antwort: Ihre Beschwerde",
        "Réponse automatique : Votre réclamation",
        "Autosvar: Ditt klagomål",
        "Автоматический ответ: Жалоба",
        "Аўтаматычны адказ: Скарга",
        "Risposta automatica: Reclamo",
        "John Smith is out of the office",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    raw = message().replace(b"Subject: A complaint", f"Subject: {subject}".encode())
    assert parse_email(raw).automatic == f"out-of-office subject: {subject}"


@pytest.mark.parametrize("subject", ["Re: Out of Office hours were wrong", "Office chair broke"])
def test_subjects_that_only_mention_an_office_are_not_automatic(subject: str) -> None:
    raw = message().replace(b"Subject: A complaint", f"Subject: {subject}".encode())
    assert parse_email(raw).automatic is None


@pytest.mark.parametrize(
    ("sender", "robot"),
    [
        ("noreply@shop.example", True),
        ("no-reply+bounce-42@shop.example", True),
        ("No_Reply@shop.example", True),
        ("donotreply@shop.example", True),
        ("MAILER-DAEMON@mx.example", True),
        ("postmaster@example.org", True),
        ("MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example", True),
        ("noreen@example.org", False),
        ("replies@example.org", False),
        ("ada@example.org", False),
    ],
)
def test_robot_senders(sender: str, robot: bool) -> None:
    automatic = parse_email(message(sender=sender)).automatic
    assert automatic == (
        f"robot sender: {sender.split('@')[0]}@{sender.split('@')[1].lower()}" if robot else None
    )


# -- delivery reports ----------------------------------------------------------------


def report(
    status: bytes, returned: bytes, *, status_type: bytes = b"message/delivery-status"
) -> bytes:
    return (
        b"From: MAILER-DAEMON@mx.example\nTo: service@shop.example\nSubject: Delivery report\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\n\n'
        b"--r\nContent-Type: text/plain\n\nSee below.\n"
        b"--r\nContent-Type: " + status_type + b"\n\n" + status + b"\n" + returned + b"--r--\n"
    )


def test_a_delay_notice_is_not_permanent() -> None:
    email = parse_email(
        report(
            b"Reporting-MTA: dns; mx.example\n\n"
            b"Final-Recipient: rfc822; slow@example.org\nAction: delayed\nStatus: 4.4.1\n",
            b"--r\nContent-Type: text/rfc822-headers\n\nMessage-ID: <m1@shop.example>\n\n",
        )
    )
    assert email.delivery_report == DeliveryStatus(
        original_message_id="<m1@shop.example>",
        recipients=(RecipientStatus("slow@example.org", "delayed", "4.4.1"),),
        reporting_mta="dns; mx.example",
    )
    assert not email.delivery_report.permanent
    assert email.delivery_report.failed == ()


def test_global_delivery_status_and_a_status_found_in_the_diagnostic() -> None:
    email = parse_email(
        report(
            "Reporting-MTA: dns; mx.example\n\nFinal-Recipient: utf-8; иван@пример.рф\n"
            "Action: failed\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n".encode(),
            b"--r\nContent-Type: message/rfc822\n\nFrom: s@shop.example\n"
            b"Message-ID:  m2@shop.example \n\nBody\n",
            status_type=b"message/global-delivery-status",
        )
    )
    report_ = email.delivery_report
    assert report_ is not None
    assert report_.original_message_id == "<m2@shop.example>"
    assert report_.recipients == (
        RecipientStatus("иван@пример.рф", "failed", "5.1.1", "smtp; 550 5.1.1 no such user"),
    )
    assert report_.permanent


def test_a_read_receipt_is_automatic_but_no_delivery_report() -> None:
    raw = report(b"Reporting-UA: x\nFinal-Recipient: rfc822; a@b.example\n", b"").replace(
        b"report-type=delivery-status", b"report-type=disposition-notification"
    )
    email = parse_email(raw)
    assert email.automatic == "multipart/report; report-type=disposition-notification"
    assert email.delivery_report is None


# -- subject prefixes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("Re: Parcel", "Parcel"),
        ("RE[2]: Re^3: re(4): Re5: Parcel", "Parcel"),
        ("AW: WG: Antwort: Paket", "Paket"),
        ("SV: VS: Sv: Paket", "Paket"),
        ("TR : Réf. commande", "Réf. commande"),
        ("RV: Fwd: Fw: FWD: pedido", "pedido"),
        ("Odp: PD: Ynt: İlt: paket", "paket"),
        ("Отв: Ответ: Re: Жалоба", "Жалоба"),
        ("Адказ: Пересл: Скарга", "Скарга"),
        ("回复：答复: 转发:投诉", "投诉"),
        ("  Re:Re:   Parcel  ", "Parcel"),
        ("Re: Re: ", ""),
        ("Rework: the plan", "Rework: the plan"),
        ("Re 2: not a counter", "Re 2: not a counter"),
        ("Parcel Re: broken", "Parcel Re: broken"),
        ("[CF-2026-000042] Re: Parcel", "[CF-2026-000042] Re: Parcel"),
    ],
)
def test_strip_subject_prefixes(subject: str, stripped: str) -> None:
    assert strip_subject_prefixes(subject) == stripped


def test_strip_subject_prefixes_checks_its_argument() -> None:
    with pytest.raises(InvalidArgumentError):
        strip_subject_prefixes(None)  # type: ignore[arg-type]


prefix_words = st.sampled_from(REPLY_PREFIXES).flatmap(
    lambda word: st.sampled_from([word, word.upper(), word.capitalize()])
)
prefixes = st.builds(
    lambda word, counter, space, colon, gap: f"{word}{counter}{space}{colon}{gap}",
    prefix_words,
    st.sampled_from(["", "[2]", "^3", "(4)", "5"]),
    st.sampled_from(["", " "]),
    st.sampled_from([":", "："]),
    st.sampled_from(["", " ", "  ", "\t"]),
)
lower_prefixes = {word.lower() for word in REPLY_PREFIXES}


@given(st.lists(prefixes, max_size=5), st.text(min_size=1, alphabet=string.ascii_letters),
       st.text())  # fmt: skip
@example([], "Re", ": x")
def test_prefixes_go_and_the_rest_stays(prefixes: list[str], word: str, rest: str) -> None:
    subject = "".join(prefixes) + word + " " + rest
    if word.lower() in lower_prefixes:
        return  # the word is itself a prefix when a colon follows
    assert strip_subject_prefixes(subject) == (word + " " + rest).strip()


@given(st.text())
def test_strip_subject_prefixes_is_idempotent(subject: str) -> None:
    once = strip_subject_prefixes(subject)
    assert strip_subject_prefixes(once) == once
    assert subject.strip().endswith(once)  # only a start is removed


# -- references ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reference"),
    [
        ("Your complaint CF-2026-000042", "CF-2026-000042"),
        ("AW: [CF-2026-000042] Beschwerde", "CF-2026-000042"),
        ("see #CF-2026-000042.", "CF-2026-000042"),
        ("(cf-2026-000042)", "CF-2026-000042"),
        ("CF-2026-1000042 is the seven-digit one", "CF-2026-1000042"),
        ("CF-2026-0000421", "CF-2026-0000421"),  # every digit, never a truncated six
        ("XCF-2026-000042", None),
        ("ABC-CF-2026-000042", None),
        ("CF-2026-000042abc", None),
        ("CF-2026-000042_1", None),
        ("CF-2026-000042-7", None),
        ("CF-2026-00042", None),
        ("CF-26-000042", None),
        ("ЖCF-2026-000042", None),
        ("CF-٢٠٢٦-٠٠٠٠٤٢", None),  # Arabic-Indic digits are not a reference's digits
        ("first XCF-2026-000001 then CF-2026-000002 then CF-2026-000003", "CF-2026-000002"),
        ("--CF-2026-000042--", "CF-2026-000042"),
        ("", None),
    ],
)
def test_find_reference(text: str, reference: str | None) -> None:
    assert find_reference(text) == reference


def test_find_reference_with_another_prefix() -> None:
    assert (
        find_reference("Ticket [acme_2-2026-000123] again", prefix="ACME_2") == "ACME_2-2026-000123"
    )
    assert find_reference("CF-2026-000042", prefix="ACME") is None


@pytest.mark.parametrize("prefix", ["", "C-F", "CF ", None, 42, "C.F"])
def test_find_reference_refuses_a_bad_prefix(prefix: object) -> None:
    with pytest.raises(InvalidArgumentError, match="prefix must be"):
        find_reference("CF-2026-000042", prefix=prefix)  # type: ignore[arg-type]


SEPARATORS = " \t\n[]#()<>:;,.!?\"'/*|{}"
references = st.builds(
    lambda prefix, year, number: f"{prefix}-{year:04d}-{number:06d}",
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=5),
    st.integers(0, 9999),
    st.integers(0, 10**9),
)


@given(
    references,
    st.text(alphabet=string.ascii_letters + SEPARATORS + "äöüжß"),
    st.text(),
    st.sampled_from(SEPARATORS),
    st.sampled_from(SEPARATORS),
)
def test_a_reference_in_any_text_is_found(
    reference: str, before: str, after: str, left: str, right: str
) -> None:
    prefix = reference.split("-")[0]
    text = before + left + reference + right + after
    assert find_reference(text, prefix=prefix) == reference


@given(references, st.sampled_from(string.ascii_letters + string.digits + "_"), st.booleans())
def test_a_reference_glued_to_a_word_is_not_one(reference: str, glue: str, before: bool) -> None:
    prefix = reference.split("-")[0]
    text = glue + reference if before else reference + glue
    # A digit after it is one more digit of the number, never a cut-off reference.
    longer = reference + glue if not before and glue.isdigit() else None
    assert find_reference(text, prefix=prefix) == longer


# -- any bytes ------------------------------------------------------------------------


def assert_well_formed(email: ParsedEmail) -> None:
    """Every field has its type and holds text a database can store."""
    texts = [email.subject, email.sender, email.sender_name, email.text, email.reply_text]
    texts += [*email.in_reply_to, *email.references, *email.recipients, *email.defects]
    texts += [email.message_id or "", email.automatic or ""]
    texts += [a.filename or "" for a in email.attachments]
    for text in texts:
        assert isinstance(text, str)
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates
    assert email.sender
    assert email.date is None or email.date.tzinfo is not None
    assert all(len(a.sha256) == 64 and a.size >= 0 for a in email.attachments)
    assert all(
        m.startswith("<") and m.endswith(">") for m in (*email.in_reply_to, *email.references)
    )
    assert email.reply_text.strip() or not email.text.strip()


def read_or_refuse(raw: bytes) -> None:
    """``raw`` is read into a well-formed ParsedEmail, or refused with a reason."""
    reason = None
    try:
        email = parse_email(raw)
    except QuarantinedMessageError as refused:
        reason = refused.reason
    else:
        assert_well_formed(email)
    assert reason is None or reason.strip()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_or_quarantined(raw: bytes) -> None:
    read_or_refuse(raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    b"From: a@example.org\n", b"Content-Type: multipart/mixed; boundary=x\n", b"\n",
    b"--x\n", b"--x--\n", b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n", b"Content-Type: message/rfc822\n",
    b"Content-Type: text/html; charset=koi8-r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
    b"Content-Type: message/delivery-status\n", b"Final-Recipient: rfc822; a@b\n",
    b"Subject: =?utf-8?b?w6k=?= =?bogus?q?=FF?=\n",
    b"Content-Disposition: attachment; filename*0*=''%ff\n", b"QUJD\n", b"=\n", b"=C3=\n",
    b"<p>x&nbsp;</p>\n", b"\xff\xfe\x00\n", b"\r\n", b" folded\n",
]), max_size=40))  # fmt: skip
def test_assembled_messages_are_read_or_quarantined(pieces: list[bytes]) -> None:
    read_or_refuse(b"".join(pieces))


FIXTURES = sorted(MAIL.glob("*.eml"))
TEXTUAL = ("text/", "message/")


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(FIXTURES)).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "copy"]))
        if kind == "insert":
            raw[where:where] = draw(st.binary(min_size=1, max_size=12) | st.sampled_from(
                [b"\n", b":", b";", b"=?", b"?=", b"<", b"\"", b"--", b"*=", b"\x00", b"\xff"]
            ))  # fmt: skip
        elif kind == "delete":
            del raw[where : where + draw(st.integers(1, 40))]
        elif kind == "replace" and raw:
            raw[min(where, len(raw) - 1)] = draw(st.integers(0, 255))
        else:
            start = draw(st.integers(0, len(raw)))
            raw[where:where] = raw[start : start + draw(st.integers(1, 80))]
    return bytes(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixtures())
def test_mutated_fixtures_are_read_or_quarantined(raw: bytes) -> None:
    read_or_refuse(raw)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
def test_every_fixture_is_read_whole_or_quarantined_for_its_damage(path: Path) -> None:
    raw = path.read_bytes()
    if path.name.startswith(("quarantine_", "garbage")):
        with pytest.raises(QuarantinedMessageError):
            parse_email(raw)
        return
    email = parse_email(raw)
    assert_well_formed(email)
    if not path.name.startswith("defects_"):
        assert email.defects == (), email.defects
    # The same bytes with CRLF or LF line ends read the same.
    other = raw.replace(b"\r\n", b"\n") if b"\r\n" in raw else raw.replace(b"\n", b"\r\n")
    again = parse_email(other)
    assert (again.subject, again.sender, again.text, again.reply_text) == (
        email.subject, email.sender, email.text, email.reply_text
    )  # fmt: skip
    # Files keep their hashes; text parts hold their line ends, which did change.
    assert [a.sha256 for a in again.attachments if not a.content_type.startswith(TEXTUAL)] == [
        a.sha256 for a in email.attachments if not a.content_type.startswith(TEXTUAL)
    ]


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("outlook_de_reply.eml", "CF-2026-000042"),
        ("gmail_fr_reply.eml", "CF-2026-000043"),
        ("thunderbird_ru_koi8r.eml", "CF-2026-000044"),  # inside a KOI8-R encoded word
        ("apple_sv_inline_image.eml", "CF-2026-000045"),
        ("outlook_be_cp1251.eml", "CF-2026-000046"),
        ("yandex_ru_html_only.eml", "CF-2026-000048"),
        ("thunderbird_en_forward.eml", "CF-2026-000049"),
        ("gmail_en_wrapped_reply.eml", "CF-2026-000050"),
        ("exchange_out_of_office_de.eml", "CF-2026-000051"),
        ("exchange_ndr.eml", "CF-2026-000042"),
        ("gmail_en_attachments.eml", None),
        ("postfix_bounce.eml", None),
    ],
)
def test_the_reference_in_a_fixture_subject_is_found(name: str, reference: str | None) -> None:
    assert find_reference(parsed(name).subject) == reference
