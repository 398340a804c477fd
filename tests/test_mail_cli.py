"""`complaint-flow channels take-email`, `quarantine` (list, show, reprocess, discard)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from complaint_flow import Engine, QuarantineStatus
from complaint_flow.cli import cli

MAIL = Path(__file__).parent / "mail"


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["channels", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_messages_are_taken_and_the_quarantine_is_worked_through(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    out = run(
        "take-email",
        "--store",
        url,
        str(MAIL / "gmail_en_attachments.eml"),
        str(MAIL / "garbage.eml"),
        str(MAIL / "mailman_list.eml"),
    )
    assert "gmail_en_attachments.eml: opened CF-" in out
    assert "garbage.eml: quarantined" in out
    listed = run("quarantine", "--store", url)
    ids = re.findall(r"│ ([0-9a-f]{12}) ", listed)
    assert len(ids) == 2
    with Engine.open(url) as engine:
        entries = {e.id[:12]: e for e in engine.store.quarantine_find()}
    garbage = next(i for i in ids if "no header lines" in entries[i].reason)
    mailing = next(i for i in ids if i != garbage)
    saved = tmp_path / "garbage.eml"
    run("quarantine", "show", garbage, "--store", url, "--save", str(saved))
    assert saved.read_bytes() == (MAIL / "garbage.eml").read_bytes()
    assert "opened CF-" in run("quarantine", "reprocess", mailing, "--store", url)
    discarded = run(
        "quarantine",
        "discard",
        garbage,
        "--store",
        url,
        "--note",
        "Not mail",
        "--actor-id",
        "A-1",
        "--actor-name",
        "Al",
    )
    assert "discarded" in discarded
    assert "No held messages" in run("quarantine", "--store", url)
    with Engine.open(url) as engine:
        statuses = {e.id[:12]: e.status for e in engine.store.quarantine_find()}
        assert engine.store.count() == 2
    assert statuses == {garbage: QuarantineStatus.DISCARDED, mailing: QuarantineStatus.RELEASED}


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    result = CliRunner().invoke(cli, ["channels", "take-email", "--store", url, "nope.eml"])
    assert result.exit_code == 1
    assert "no file nope.eml" in result.output
