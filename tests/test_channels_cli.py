"""``complaint-flow channels``: the web form's schema and sample letters at the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from complaint_flow.channels.letters import SHIPPED_LETTERS, LetterContext, Letters
from complaint_flow.channels.web_form import web_form_schema
from complaint_flow.cli.channels import channels

WIDE = {"COLUMNS": "400"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(channels, list(args), env=WIDE)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_web_form_schema_prints_the_schema_as_json() -> None:
    result = invoke("web-form-schema")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == web_form_schema()


@pytest.mark.parametrize("language", ["en", "fr"])
def test_letter_writes_the_sample_letter_of_the_pack(language: str) -> None:
    result = invoke("letter", "final_response", "--pack", "fca", "--language", language)
    assert result.exit_code == 0, result.output
    expected = Letters("fca").render("final_response", LetterContext.sample(language), language)
    assert result.output == f"Subject: {expected.subject}\n\n{expected.text}"
    assert "Financial Ombudsman Service" in result.output


@pytest.mark.parametrize("letter", SHIPPED_LETTERS)
def test_every_shipped_letter_can_be_shown(letter: str) -> None:
    result = invoke("letter", letter)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Subject: ")
    assert "Dear Ada Lovelace," in result.output


def test_letter_prints_the_html_version_when_there_is_one() -> None:
    result = invoke("letter", "acknowledgement", "--html")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("<!DOCTYPE html>")
    result = invoke("letter", "final_response", "--pack", "fca", "--html")
    assert result.exit_code == 1
    assert "has no HTML template beside" in flat(result.output)
    assert "final_response.html" in result.output


def test_letter_refuses_an_unknown_letter_language_or_pack() -> None:
    result = invoke("letter", "apology")
    assert result.exit_code == 1
    assert "no letter named 'apology' in 'en'; letters: acknowledgement" in flat(result.output)
    result = invoke("letter", "final_response", "--language", "de")
    assert result.exit_code == 1
    assert "not offered in 'de'; languages: en, fr" in flat(result.output)
    result = invoke("letter", "final_response", "--pack", "fsa")
    assert result.exit_code == 1
    assert "no workflow named 'fsa' is registered here; known workflows:" in flat(result.output)
    assert "'fca'" in result.output


def test_letter_uses_the_host_s_templates_and_checks_them_against_the_rules(
    tmp_path: Path,
) -> None:
    own = tmp_path / "packs" / "fca" / "en" / "final_response.txt"
    own.parent.mkdir(parents=True)
    own.write_text(
        '{% set subject = "Our answer" %}Dear {{ customer_name }}, no to everything.\n',
        encoding="utf-8",
    )
    result = invoke("letter", "final_response", "--pack", "fca", "--templates", str(tmp_path))
    assert result.exit_code == 1
    message = flat(result.output)
    assert "does not say what the 'fca' rules require" in message
    assert "six-month time limit" in message
    assert str(own) in message
    result = invoke("letter", "final_response", "--templates", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Thank you for your patience" in result.output  # no pack: its templates are unused
    result = invoke("letter", "final_response", "--templates", str(tmp_path / "missing"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
