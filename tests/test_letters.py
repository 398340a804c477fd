"""Letters written from sandboxed Jinja2 templates, found in order, checked against the rules."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaint_flow import (
    Actor,
    Customer,
    Engine,
    Intake,
    InvalidArgumentError,
    LetterError,
    ManualClock,
    WorkflowDefinition,
    load_pack,
    pack_names,
)
from complaint_flow.channels.letters import (
    SHIPPED_LETTERS,
    LetterContext,
    Letters,
    RequiredContentError,
    long_date,
)
from complaint_flow.definitions.letter_content import requirement_for

SHIPPED_LANGUAGES = ("en", "fr")
PACKS = (None, *pack_names())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def render(letters: Letters, letter: str, language: str = "en", **variables: Any) -> str:
    return letters.render(letter, variables, language).text


# -- every shipped letter ------------------------------------------------------------------


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
@pytest.mark.parametrize("pack", PACKS)
def test_every_shipped_letter_is_written_in_every_shipped_language(
    pack: str | None, language: str
) -> None:
    letters = Letters(pack)
    assert set(letters.languages) == set(SHIPPED_LANGUAGES)
    context = LetterContext.sample(language)
    for name in SHIPPED_LETTERS:
        letter = letters.render(name, context, language)
        assert letter.language == language, f"{pack}/{name} fell back to {letter.language}"
        assert letter.name == name
        assert context.reference in letter.subject or context.reference in letter.text
        assert "Ada Lovelace" in letter.text
        assert context.organisation in letter.text
        assert Path(letter.template).is_file()
        requirement = requirement_for(letters.requirements, name)
        if requirement is not None:
            assert requirement.missing(letter.text, language) == ()


@pytest.mark.parametrize(
    ("language", "phrases"),
    [
        ("en", ["Financial Ombudsman Service", "within six months", "leaflet"]),
        ("fr", ["Financial Ombudsman Service", "dans un délai de six mois", "dépliant"]),
    ],
)
def test_the_fca_final_response_gives_the_ombudsman_referral_right(
    language: str, phrases: list[str]
) -> None:
    letter = Letters("fca").render("final_response", LetterContext.sample(language), language)
    for phrase in [*phrases, "www.financial-ombudsman.org.uk"]:
        assert phrase in " ".join(letter.text.split())
    assert "/packs/fca/" in letter.template


def test_the_spso_stage_2_response_gives_the_spso_referral_right() -> None:
    letter = Letters("spso").render("final_response", LetterContext.sample(), "en")
    flat = " ".join(letter.text.split())
    assert "Scottish Public Services Ombudsman" in flat
    assert "within 12 months" in flat
    assert "www.spso.org.uk" in flat
    assert "stage 2 decision" in letter.subject


def test_payment_services_letters_give_their_own_time_limits() -> None:
    letters = Letters("fca_payments")
    context = LetterContext.sample()
    assert "15 business days" in letters.render("acknowledgement", context, "en").text
    holding = letters.render("holding_reply", context, "en").text
    assert "35 business days" in holding
    assert "The reasons for the delay are these" in holding
    # The final response is the FCA's, included by its path under the shipped templates.
    assert letters.render("final_response", context, "en").text == (
        Letters("fca").render("final_response", context, "en").text
    )


def test_a_letter_has_the_subject_its_template_set() -> None:
    letter = Letters().render("acknowledgement", LetterContext.sample(), "en")
    assert letter.subject == "We have received your complaint (CF-2026-000123)"
    letter = Letters().render("acknowledgement", LetterContext.sample("fr"), "fr")
    assert letter.subject == "Nous avons bien reçu votre réclamation (CF-2026-000123)"


def test_dates_are_written_in_the_letter_s_language() -> None:
    context = LetterContext.sample()
    assert "received on 2 March 2026" in Letters().render("acknowledgement", context, "en").text
    assert "reçue le 2 mars 2026" in Letters().render("acknowledgement", context, "fr").text


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_a_long_date_reads_back_as_the_same_date(day: date) -> None:
    assert datetime.strptime(long_date(day), "%d %B %Y").date() == day
    assert long_date(day.isoformat(), "fr").endswith(str(day.year))
    assert long_date(day, "de") == day.isoformat()


# -- HTML ------------------------------------------------------------------------------------


def test_an_html_template_beside_the_text_one_gives_html_escaped() -> None:
    context = attrs.evolve(LetterContext.sample(), summary="<script>alert(1)</script> & more")
    letter = Letters().render("acknowledgement", context, "en")
    assert letter.html is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in letter.html
    assert "<script>" not in letter.html
    assert "<script>alert(1)</script> & more" in letter.text
    assert f"<title>{letter.subject}</title>" in letter.html


def test_a_pack_letter_does_not_borrow_the_html_of_another_directory() -> None:
    # The shipped acknowledgement has an HTML version; the FCA's own has none.
    letter = Letters("fca").render("acknowledgement", LetterContext.sample(), "en")
    assert "/packs/fca/" in letter.template
    assert letter.html is None


# -- where templates are found -------------------------------------------------------------


LEVELS = ("override pack", "override language", "pack", "shipped language", "shipped English")


def marker(name: str) -> str:
    return f'{{% set subject = "{name}" %}}{name} for {{{{ customer_name }}}}\n'


def test_templates_are_found_in_the_documented_order(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write(second / "packs" / "spso" / "fr" / "final_response.txt", marker("second override pack"))
    write(first / "fr" / "final_response.txt", marker("first override language"))
    write(second / "fr" / "final_response.txt", marker("second override language"))
    letters = Letters(None, override_dirs=[first, second])
    assert letters.render("final_response", {"customer_name": "Ada"}, "fr").subject == (
        "first override language"
    )
    spso = Letters(WorkflowDefinition.from_dict(_without_letters("spso")), None, [first, second])
    found = spso.render("final_response", {"customer_name": "Ada"}, "fr")
    assert found.subject == "second override pack"
    assert found.template == str(second / "packs" / "spso" / "fr" / "final_response.txt")


@pytest.mark.parametrize("missing", range(len(LEVELS)))
def test_each_level_is_used_when_those_before_it_have_no_template(
    tmp_path: Path, missing: int
) -> None:
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    shipped_fr = "Merci de votre patience pendant que nous examinions"
    shipped_en = "Thank you for your patience while we looked into"
    pack_fr = "Ceci est notre décision définitive"
    expected = [
        "override pack",
        "override language",
        pack_fr,
        shipped_fr,
        shipped_en,
    ][missing]
    if missing == 0:
        write(overrides / "packs" / "spso" / "fr" / "final_response.txt", marker("override pack"))
    if missing <= 1:
        write(overrides / "fr" / "final_response.txt", marker("override language"))
    # The SPSO's templates without its rules: the markers say nothing the rules require.
    pack = WorkflowDefinition.from_dict(_without_letters("spso")) if missing <= 2 else None
    language = "de" if missing == 4 else "fr"
    if missing == 4:  # a language with some templates of its own, but not this one
        write(overrides / "de" / "acknowledgement.txt", marker("Eingang"))
    letters = Letters(pack, override_dirs=[overrides])
    context = LetterContext.sample("fr")
    letter = letters.render("final_response", context, language)
    assert expected in letter.text
    assert letter.language == ("en" if missing == 4 else "fr")


def test_an_english_fallback_includes_english_parts(tmp_path: Path) -> None:
    write(tmp_path / "de" / "_signature.txt", "Mit freundlichen Grüßen")
    write(tmp_path / "de" / "acknowledgement.txt", marker("Eingang"))
    letter = Letters(override_dirs=[tmp_path]).render(
        "final_response", LetterContext.sample(), "de"
    )
    assert letter.language == "en"
    assert "Yours sincerely" in letter.text
    assert "Grüßen" not in letter.text


def test_a_template_of_a_new_letter_or_language_is_offered(tmp_path: Path) -> None:
    write(tmp_path / "de" / "acknowledgement.txt", marker("Eingang"))
    write(tmp_path / "en" / "reopened.txt", marker("Reopened"))
    letters = Letters(override_dirs=[tmp_path])
    assert letters.languages == ("de", "en", "fr")
    assert "reopened" in letters.letters("en")
    assert render(letters, "reopened", customer_name="Ada") == "Reopened for Ada\n"
    assert render(letters, "acknowledgement", "de", customer_name="Ada") == "Eingang for Ada\n"
    assert Letters(override_dirs=[tmp_path], languages=["fr"]).languages == ("fr",)


def test_parts_are_not_letters() -> None:
    letters = Letters()
    assert letters.letters("en") == tuple(sorted(SHIPPED_LETTERS))
    with pytest.raises(LetterError, match="no letter named '_signature'"):
        letters.render("_signature", LetterContext.sample(), "en")


def test_an_unknown_letter_lists_the_known_ones() -> None:
    with pytest.raises(LetterError) as caught:
        Letters("fca").render("apology", LetterContext.sample(), "en")
    message = str(caught.value)
    assert "no letter named 'apology' in 'en'" in message
    assert ", ".join(sorted(SHIPPED_LETTERS)) in message


def test_an_unknown_language_lists_the_known_ones() -> None:
    with pytest.raises(LetterError, match=r"not offered in 'de'; languages: en, fr"):
        Letters().render("acknowledgement", LetterContext.sample(), "de")
    with pytest.raises(LetterError, match=r"no letter templates in 'de'.*templates: en, fr"):
        Letters(languages=["en", "de"])
    only_english = Letters(languages=["en"])
    with pytest.raises(LetterError, match=r"not offered in 'fr'; languages: en\b"):
        only_english.render("acknowledgement", LetterContext.sample(), "fr")


def test_an_unknown_pack_lists_the_shipped_ones() -> None:
    with pytest.raises(LetterError, match=r"no rule pack named 'fsa'; shipped packs: cfpb, fca"):
        Letters("fsa")


def test_arguments_are_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="override_dirs\\[0\\] must be a directory"):
        Letters(override_dirs=["/no/such/directory"])
    with pytest.raises(InvalidArgumentError, match="context must be a LetterContext"):
        Letters().render("acknowledgement", ["Ada"], "en")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="received_at must be a timezone-aware"):
        attrs.evolve(LetterContext.sample(), received_at=datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="letter must be a name"):
        Letters().render(" acknowledgement", LetterContext.sample(), "en")


# -- required content ------------------------------------------------------------------------


def test_a_letter_missing_required_content_is_refused_naming_each_item(tmp_path: Path) -> None:
    template = write(
        tmp_path / "packs" / "fca" / "en" / "final_response.txt",
        '{% set subject = "Final response" %}We looked at it. The Financial Ombudsman '
        "Service exists.\n",
    )
    with pytest.raises(RequiredContentError) as caught:
        Letters("fca", override_dirs=[tmp_path]).render(
            "final_response", LetterContext.sample(), "en"
        )
    error = caught.value
    assert isinstance(error, LetterError)
    assert error.missing == ("six-month time limit", "ombudsman leaflet", "ombudsman website")
    assert error.template == str(template)
    assert str(template) in str(error)
    assert "'fca' rules" in str(error)


def test_the_generic_final_response_is_refused_under_the_fca_rules(tmp_path: Path) -> None:
    # A host's French final response for every pack: fine for TACTICS, not for the FCA.
    generic = Path(Letters().render("final_response", LetterContext.sample(), "fr").template)
    write(tmp_path / "fr" / "final_response.txt", generic.read_text(encoding="utf-8"))
    write(tmp_path / "fr" / "_signature.txt", "Cordialement")
    Letters("tactics", override_dirs=[tmp_path]).render(
        "final_response", LetterContext.sample("fr"), "fr"
    )
    with pytest.raises(RequiredContentError) as caught:
        Letters("fca", override_dirs=[tmp_path]).render(
            "final_response", LetterContext.sample("fr"), "fr"
        )
    assert "six-month time limit" in caught.value.missing


def test_the_html_version_must_say_it_too(tmp_path: Path) -> None:
    shipped = Letters("tactics").render("acknowledgement", LetterContext.sample(), "en")
    write(tmp_path / "en" / "acknowledgement.txt", Path(shipped.template).read_text())
    write(tmp_path / "en" / "_signature.txt", "Yours")
    html = write(tmp_path / "en" / "acknowledgement.html", "<p>Dear {{ customer_name }}</p>")
    with pytest.raises(RequiredContentError) as caught:
        Letters("tactics", override_dirs=[tmp_path]).render(
            "acknowledgement", LetterContext.sample(), "en"
        )
    assert caught.value.template == str(html)
    assert caught.value.missing == ("thanks", "apology")


def test_a_workflow_of_one_s_own_brings_its_own_rules(tmp_path: Path) -> None:
    data = {
        **_without_letters("tactics"),
        "name": "refunds",
        "letters": [
            {
                "letter": "acknowledgement",
                "must_mention": [{"name": "refund promise", "pattern": "refund within 14 days"}],
            }
        ],
    }
    letters = Letters(WorkflowDefinition.from_dict(data))
    assert letters.pack == "refunds"
    with pytest.raises(RequiredContentError, match="refund promise"):
        letters.render("acknowledgement", LetterContext.sample(), "en")
    write(
        tmp_path / "packs" / "refunds" / "en" / "acknowledgement.txt",
        '{% set subject = "Received" %}We will refund within 14 days.',
    )
    letters = Letters(WorkflowDefinition.from_dict(data), override_dirs=[tmp_path])
    assert letters.render("acknowledgement", LetterContext.sample(), "en").subject == "Received"


def _without_letters(pack: str) -> dict[str, Any]:
    import tomllib
    from importlib import resources

    text = resources.files("complaint_flow.definitions.packs").joinpath(f"{pack}.toml")
    data = tomllib.loads(text.read_text(encoding="utf-8"))
    data.pop("letters", None)
    return data


# -- the sandbox -----------------------------------------------------------------------------


class Probe:
    """An object handed to a template: none of its private parts may be reached."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._secret = "hidden"

    def _run(self) -> str:
        self.calls.append("_run")
        return "ran"

    def __repr__(self) -> str:
        return "Probe()"


HOSTILE = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ probe._secret }}",
    "{{ probe._run() }}",
    "{{ probe.__init__.__globals__ }}",
    "{{ probe.__dict__ }}",
    "{% if probe._run() %}yes{% endif %}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ self.__init__.__globals__ }}",
    "{{ data.clear() }}{{ data }}",
    "{{ data.update({'x': 1}) }}",
    "{{ items.append(1) }}",
    "{{ 10 ** 100000000 }}",
    "{{ (10 ** 10) ** (10 ** 10) }}",
    "{{ 'x' * 1000000000 }}",
    "{{ [1] * 1000000000 }}",
    "{{ range(10 ** 9) | list }}",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_a_hostile_template_is_a_letter_error_and_never_runs(tmp_path: Path, source: str) -> None:
    template = write(tmp_path / "en" / "evil.txt", '{% set subject = "x" %}\n\n' + source + "\n")
    probe = Probe()
    data = {"kept": True}
    items = [0]
    with pytest.raises(LetterError) as caught:
        Letters(override_dirs=[tmp_path]).render(
            "evil", {"probe": probe, "data": data, "items": items}, "en"
        )
    assert f"{template} (line 3)" in str(caught.value)
    assert probe.calls == []
    assert data == {"kept": True}
    assert items == [0]


def test_a_missing_value_is_a_letter_error_naming_the_template_and_line() -> None:
    context = attrs.evolve(LetterContext.sample(), data={})
    with pytest.raises(LetterError) as caught:
        Letters("fca").render("final_response", context, "en")
    message = str(caught.value)
    assert "packs/fca/en/final_response.txt (line 8)" in message
    assert "'dict object' has no attribute 'final_response'" in message


def test_a_template_error_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "en" / "broken.txt", '{% set subject = "x" %}\nfine\n{% if %}\n')
    write(tmp_path / "en" / "zero.txt", '{% set subject = "x" %}\n{{ 1 / 0 }}\n')
    write(tmp_path / "en" / "lost.txt", '{% set subject = "x" %}\n{% include "_gone.txt" %}\n')
    write(tmp_path / "en" / "bare.txt", "No subject here\n")
    letters = Letters(override_dirs=[tmp_path])
    with pytest.raises(LetterError, match=r"broken\.txt \(line 3\) is not a valid template"):
        render(letters, "broken")
    with pytest.raises(LetterError, match=r"zero\.txt \(line 2\) failed: ZeroDivisionError"):
        render(letters, "zero")
    with pytest.raises(LetterError, match=r"includes '_gone\.txt', which no template"):
        render(letters, "lost")
    with pytest.raises(LetterError, match=r"bare\.txt sets no subject"):
        render(letters, "bare")


def test_without_jinja2_the_error_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    with pytest.raises(LetterError, match=r"pip install 'complaint-flow\[letters\]'"):
        Letters()


# -- a letter for a stored complaint -----------------------------------------------------------


def test_a_letter_about_a_stored_complaint() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    with Engine.open("memory://", workflow="fca", clock=clock, load_entry_points=False) as engine:
        complaint = engine.receive(
            Intake(
                channel="email",
                customer=Customer(id="C-1", name="Ada Lovelace", email="ada@example.org"),
                summary="Card payment taken twice",
            )
        )
        agent = Actor(id="A-1", name="Bo", role="agent")
        complaint = engine.fire(
            complaint.id,
            "send_final_response",
            actor=agent,
            data={"final_response": "We refunded the second payment."},
        )
    context = LetterContext.for_complaint(
        complaint, organisation="Northwind Bank", signed_by="Bo", contact="0800 000 0000"
    )
    assert context.reference == complaint.reference
    assert set(context.deadlines) == {clock.name for clock in load_pack("fca").clocks}
    letter = Letters("fca").render("final_response", context, "en")
    assert "We refunded the second payment." in letter.text
    assert complaint.reference in letter.subject
    assert "complaint of 2 March 2026" in letter.text


def test_the_answer_is_promised_by_the_last_running_deadline() -> None:
    clock = ManualClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    with Engine.open("memory://", workflow="fca", clock=clock, load_entry_points=False) as engine:
        complaint = engine.receive(
            Intake(channel="email", customer=Customer(id="C-1", name="Ada"), summary="Late")
        )
    context = LetterContext.for_complaint(
        complaint, organisation="Northwind Bank", signed_by="Bo", contact="0800 000 0000"
    )
    final = complaint.clock("final_response")
    assert final is not None
    assert context.respond_by == final.deadline
    text = Letters("fca").render("acknowledgement", context, "en").text
    assert f"that is by {long_date(final.deadline)}" in " ".join(text.split())


def test_a_template_changed_on_disk_is_read_again(tmp_path: Path) -> None:
    import os

    template = write(tmp_path / "en" / "note.txt", marker("first"))
    letters = Letters(override_dirs=[tmp_path])
    assert render(letters, "note", customer_name="Ada") == "first for Ada\n"
    assert render(letters, "note", customer_name="Bo") == "first for Bo\n"
    template.write_text(marker("second"), encoding="utf-8")
    later = template.stat().st_mtime_ns + 1_000_000_000
    os.utime(template, ns=(later, later))
    assert render(letters, "note", customer_name="Ada") == "second for Ada\n"
