"""``complaint-flow channels take-email``, ``poll`` and ``quarantine``: email into complaints."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.table import Table

from complaint_flow.channels.imap import ImapMailbox, ImapSettings
from complaint_flow.cli.shared import console, fail, non_blank, open_engine, store_option
from complaint_flow.model.channel_records import QuarantineStatus
from complaint_flow.model.entities import Actor
from complaint_flow.services.email_intake import EmailIntake, MailOutcome
from complaint_flow.services.mailbox_polling import PollReport, poll_mailbox
from complaint_flow.storage.contract import ChannelStore


def outcome_line(source: str, outcome: MailOutcome) -> str:
    """One line saying what became of a message."""
    where = outcome.complaint.reference if outcome.complaint is not None else ""
    what = f"{source}: {outcome.kind.value}"
    if where:
        what += f" {where}"
    if outcome.quarantine_id:
        what += f" (quarantine {outcome.quarantine_id[:12]})"
    if outcome.reason:
        what += f": {outcome.reason}"
    return what


@click.command(name="take-email")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@store_option
def take_email(files: tuple[str, ...], store_url: str) -> None:
    """Take raw email messages (.eml files, or - for standard input) into complaints."""
    with open_engine(store_url) as engine:
        intake = EmailIntake(engine.kernel, engine.reception)
        out = console()
        for name in files:
            if name == "-":
                raw = sys.stdin.buffer.read()
            else:
                path = Path(name)
                if not path.is_file():
                    fail(f"no file {name}: give the path of a raw message (.eml)")
                raw = path.read_bytes()
            out.print(outcome_line(name, intake.take(raw, source=f"file:{name}")))


def poll_line(report: PollReport) -> str:
    return (
        f"{report.fetched} taken: {report.opened} opened, {report.replies} replies, "
        f"{report.automatic} automatic, {report.bounces} bounces, {report.duplicates} "
        f"duplicates, {report.quarantined} quarantined"
    )


@click.command()
@click.argument("imap_url", metavar="IMAP_URL")
@click.option("--password", envvar="COMPLAINT_FLOW_IMAP_PASSWORD", help="If not in the URL.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N per pass.")
@click.option(
    "--watch",
    type=click.FloatRange(min=1.0),
    default=None,
    metavar="SECONDS",
    help="Poll again every SECONDS until Ctrl-C.",
)
@store_option
def poll(
    imap_url: str, password: str | None, limit: int | None, watch: float | None, store_url: str
) -> None:
    """Take a mailbox's new messages into complaints (imaps://user:pass@host/INBOX).

    The cursor is kept in the store: each message is taken once, across restarts.
    """
    settings = ImapSettings.from_url(imap_url, password=password)
    out = console()
    with open_engine(store_url) as engine, ImapMailbox(settings) as mailbox:
        intake = EmailIntake(engine.kernel, engine.reception)
        while True:
            out.print(
                f"{settings.display}: {poll_line(poll_mailbox(intake, mailbox, limit=limit))}"
            )
            if watch is None:
                return
            try:
                time.sleep(watch)
            except KeyboardInterrupt:
                return


@click.group(invoke_without_command=True)
@click.option(
    "--status",
    type=click.Choice([s.value for s in QuarantineStatus]),
    default=QuarantineStatus.HELD.value,
    show_default=True,
    help="Which messages to list.",
)
@store_option
@click.pass_context
def quarantine(ctx: click.Context, status: str, store_url: str) -> None:
    """Inbound messages set aside whole, with the reason: list, show, reprocess, discard."""
    if ctx.invoked_subcommand is not None:
        return
    with open_engine(store_url, must_exist=True) as engine:
        entries = engine.store.quarantine_find(status=QuarantineStatus(status))
    out = console()
    if not entries:
        out.print(f"No {status} messages in the quarantine.")
        return
    table = Table(title=f"Quarantine ({status})")
    for column in ("id", "received", "source", "size", "attempts", "reason"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.id[:12],
            entry.received_at.strftime("%Y-%m-%d %H:%M"),
            entry.source,
            f"{entry.size} B",
            str(entry.attempts),
            entry.reason,
        )
    out.print(table)


def held_id(store: ChannelStore, given: str) -> str:
    """The full id of the quarantined message whose id starts with ``given``."""
    matches = [e.id for e in store.quarantine_find() if e.id.startswith(given)]
    if len(matches) != 1:
        fail(
            f"{'no' if not matches else 'more than one'} quarantined message has an id "
            f"starting with {given!r}; list them with `complaint-flow channels quarantine`"
        )
    return matches[0]


@quarantine.command()
@click.argument("item")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), help="Write its bytes.")
@store_option
def show(item: str, save: Path | None, store_url: str) -> None:
    """Show a quarantined message (ITEM: its id or the start of it)."""
    with open_engine(store_url, must_exist=True) as engine:
        found = engine.store.quarantine_get(held_id(engine.store, item))
    assert found is not None
    out = console()
    out.print(f"{found.id}: {found.status.value}, {len(found.raw)} bytes from {found.source}")
    out.print(f"reason: {found.reason}")
    if found.note:
        out.print(f"note: {found.note}")
    if save is not None:
        save.write_bytes(found.raw)
        out.print(f"written to {save}")
    else:
        out.print(found.raw[:2000].decode("utf-8", "replace"), markup=False, highlight=False)


@quarantine.command()
@click.argument("item")
@store_option
def reprocess(item: str, store_url: str) -> None:
    """Take a quarantined message again, once what its reason names is dealt with."""
    with open_engine(store_url, must_exist=True) as engine:
        intake = EmailIntake(engine.kernel, engine.reception)
        outcome = intake.reprocess(held_id(engine.store, item))
    console().print(outcome_line(item, outcome))


@quarantine.command()
@click.argument("item")
@click.option("--note", required=True, callback=non_blank, help="Why it is not a complaint.")
@click.option("--actor-id", required=True, callback=non_blank, help="Your id.")
@click.option("--actor-name", required=True, callback=non_blank, help="Your name.")
@click.option("--role", default="agent", show_default=True, help="Your role.")
@store_option
def discard(
    item: str, note: str, actor_id: str, actor_name: str, role: str, store_url: str
) -> None:
    """Decide a quarantined message is not a complaint (it stays kept for the record)."""
    actor = Actor(id=actor_id, name=actor_name, role=role)
    with open_engine(store_url, must_exist=True) as engine:
        intake = EmailIntake(engine.kernel, engine.reception)
        full = held_id(engine.store, item)
        intake.discard(full, actor=actor, note=note)
    console().print(f"{full[:12]}: discarded ({note})")
