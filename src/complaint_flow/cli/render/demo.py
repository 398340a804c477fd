"""The demo on the console: timelines, duplicate, email, refusal, stop procedure, a report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaint_flow.cli.demo import (
    DemoResult,
    DuplicateDelivery,
    LinkedContact,
    Notification,
    Refusal,
    StopProcedure,
)
from complaint_flow.cli.demo_mail import EmailExchange
from complaint_flow.cli.local_mail_server import ArrivedEmail
from complaint_flow.cli.render.complaints import COMPACT_BELOW, timeline_table
from complaint_flow.cli.render.formats import when
from complaint_flow.model.conduct import is_conduct_record_id
from complaint_flow.model.entities import Actor, Event, OutboxMessage
from complaint_flow.services.audit import AuditReport
from complaint_flow.storage.contract import scheme_of


def _duplicate_panel(duplicate: DuplicateDelivery) -> Panel:
    count = duplicate.complaints
    body = Text.assemble(
        f"The {duplicate.channel} message {duplicate.external_id} was delivered "
        f"{duplicate.deliveries} times → ",
        (f"{count} complaint" + ("" if count == 1 else "s"), "bold green"),
        f": {duplicate.reference}.\n",
        ("Intake is idempotent on (channel, external id): one received event, one reference.", ""),
    )
    return Panel(body, title="Duplicate delivery", title_align="left")


def _plural(count: int, what: str) -> str:
    return f"{count} {what}" + ("" if count == 1 else "s")


def _sent_row(email: EmailExchange, sent: ArrivedEmail) -> tuple[datetime, Text]:
    answered = {
        email.complaint_mail.message_id: " (her complaint)",
        email.answer.message_id: " (her answer)",
    }
    return (
        sent.arrived_at,
        Text.assemble(
            "sent by SMTP, arrived at the server: ",
            (sent.subject, "bold"),
            f"\nMessage-ID {sent.message_id}",
            f"\nIn-Reply-To {sent.in_reply_to or '(none)'}{answered.get(sent.in_reply_to, '')}",
        ),
    )


def _taken_row(email: EmailExchange) -> tuple[datetime, Text]:
    taken = email.complaint_mail
    opened = taken.outcomes[0].complaint
    attached = f", {', '.join(taken.attachments)} attached" if taken.attachments else ""
    return (
        opened.received_at if opened is not None else email.replied.at,
        Text.assemble(
            f"{email.customer.name}'s email {taken.message_id} ({taken.size} bytes of RFC 5322"
            f"{attached}) was taken by EmailIntake {_plural(len(taken.kinds), 'time')}: ",
            (", ".join(kind.value for kind in taken.kinds), "bold"),
            f" → one complaint, {email.reference}",
        ),
    )


def _answer_row(email: EmailExchange) -> tuple[datetime, Text]:
    answer, outcome, replied = email.answer, email.reply_outcome, email.replied
    subject = "with" if email.reference in answer.subject else "no"
    ours = answer.in_reply_to == email.acknowledgement.message_id
    return (
        replied.at,
        Text.assemble(
            f"{email.customer.name} answered by email: {answer.subject!r} ({subject} reference "
            f"in the subject), In-Reply-To {answer.in_reply_to}",
            " (the acknowledgement's Message-ID as it arrived at the server)" if ours else "",
            " → ",
            (outcome.kind.value, "bold green"),
            f", threaded onto {email.reference} by {outcome.reason}: "
            f"event {replied.seq}, {replied.kind}",
        ),
    )


def _email_rows(email: EmailExchange) -> list[tuple[str, Text]]:
    """The email complaint in, the replies out, the answer threaded: in time order."""
    rows = [_taken_row(email), *(_sent_row(email, m) for m in email.sent), _answer_row(email)]
    return [(when(at), what) for at, what in sorted(rows, key=lambda row: row[0])]


def _email_panel(email: EmailExchange) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    for moment, what in _email_rows(email):
        grid.add_row(moment, what)
    grid.add_row(
        "",
        Text(
            f"The SMTP server (aiosmtpd on {email.server}, for this run only) received "
            f"{_plural(len(email.deliveries), 'email')} this week, "
            f"{len(email.sent)} of them to {email.customer.email}.",
            style="dim",
        ),
    )
    return Panel(grid, title="Email", title_align="left")


def _refusal_panel(refusal: Refusal) -> Panel:
    stored = "nothing was stored" if refusal.nothing_stored else "THE COMPLAINT CHANGED"
    body = Text.assemble(
        f"{refusal.actor.name} ({refusal.actor.role}) tried {refusal.trigger!r} on "
        f"{refusal.reference} and was refused ({refusal.error}):\n",
        (refusal.message, "bold red"),
        "\n",
        (
            f"{stored}: version {refusal.version_before} → {refusal.version_after}, "
            f"audit trail {refusal.events_before} → {refusal.events_after} events.",
            "dim",
        ),
    )
    return Panel(body, title="Role refusal", title_align="left")


def _by(actor: Actor) -> str:
    return f"{actor.name} ({actor.role})"


def _written_ack(message: OutboxMessage | None) -> Text:
    if message is None:
        return Text("not acknowledged: no written address known", style="bold red")
    delivered = (
        f", delivered {when(message.delivered_at)}" if message.delivered_at is not None else ""
    )
    return Text.assemble(
        "acknowledged in writing by ",
        (message.channel, "bold"),
        f" to {message.address or '(no address)'}{delivered}",
    )


def _outcome(resolved: Event) -> str:
    """A review item's outcome in words (``no_new_information`` → "no new information")."""
    return str(resolved.data.get("outcome", "?")).replace("_", " ")


def _stop_rows(stop: StopProcedure) -> list[tuple[str, Text]]:
    warned, restricted = stop.event("warned"), stop.event("restricted")
    filed, read = stop.event("contact_filed"), stop.event("review_item_resolved")
    appealed, decided = stop.event("appealed"), stop.event("appeal_decided")
    review_at = restricted.data.get("review_at")
    review = when(datetime.fromisoformat(review_at)) if isinstance(review_at, str) else "?"
    call = stop.call
    if stop.restriction_stands:
        verdict = Text("dismissed, the restriction stands until its review", style="bold")
    else:
        verdict = Text("allowed, the restriction ends", style="bold")
    return [
        (
            when(warned.at),
            Text.assemble(("warned", "bold yellow"), f" by {_by(warned.actor)}: {warned.reason}"),
        ),
        (
            when(restricted.at),
            Text.assemble(
                ("restricted", "bold red"),
                f" by {_by(restricted.actor)}: {restricted.reason}\n",
                " ".join(stop.restrictions),
                f" Review on {review}.",
            ),
        ),
        (
            when(filed.at),
            Text.assemble(
                f"phoned ({call.item.summary if call.item else '?'!r}) → ",
                (call.kind.value, "bold green"),
                " in the review queue, not dropped: ",
                "; ".join(call.reasons),
                "\n",
                _written_ack(stop.acknowledgement),
            ),
        ),
        (
            when(read.at),
            Text(f"read by {_by(read.actor)}: {_outcome(read)} ({read.reason})"),
        ),
        (
            when(appealed.at),
            Text.assemble(
                ("appealed", "bold"),
                f" by {appealed.data.get('received_via', '?')}, recorded by "
                f"{_by(appealed.actor)}: {appealed.reason}",
            ),
        ),
        (
            when(decided.at),
            Text.assemble(
                f"appeal decided by {_by(decided.actor)}, who took no part in the restriction: ",
                verdict,
                f" ({decided.reason})",
            ),
        ),
    ]


def _linked_rows(linked: LinkedContact) -> list[tuple[str, Text]]:
    decision, outcome, decided = linked.decision, linked.outcome, linked.decided
    return [
        (
            when(decision.at),
            Text.assemble(
                ("final decision", "bold"),
                f" on {decided.reference} by {_by(decision.actor)}: {decision.reason}",
            ),
        ),
        (
            when(
                outcome.item.received_at
                if outcome.item and outcome.item.received_at
                else decision.at
            ),
            Text.assemble(
                f"{decided.customer.name} wrote again by {linked.intake.channel} "
                f"({linked.intake.summary!r}) → ",
                (outcome.kind.value, "bold green"),
                f" to {decided.reference}, no new complaint opened\n",
                _written_ack(linked.acknowledgement),
            ),
        ),
        (
            when(linked.reading.at),
            Text(
                f"read by {_by(linked.reading.actor)}: "
                f"{_outcome(linked.reading)} ({linked.reading.reason})"
            ),
        ),
    ]


def _stop_panel(stop: StopProcedure, linked: LinkedContact) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, style="dim")
    grid.add_column(overflow="fold")
    record = stop.record
    grid.add_row(
        "",
        Text.assemble(
            (f"{stop.customer.name} ({stop.customer.id})", "bold"),
            " made abusive calls to staff. His conduct record is now ",
            (record.status.value, "bold"),
            f" ({len(stop.history)} events in its own audit trail).",
        ),
    )
    for moment, what in _stop_rows(stop):
        grid.add_row(moment, what)
    grid.add_row("", Text())
    grid.add_row(
        "",
        Text.assemble(
            ("A decided complaint raised again", "bold"),
            ": a message about it becomes a linked contact.",
        ),
    )
    for moment, what in _linked_rows(linked):
        grid.add_row(moment, what)
    return Panel(grid, title="Stop procedure", title_align="left")


def _audit_line(report: AuditReport) -> Text:
    counts = (
        f"Audit check of the whole store: {report.complaints} complaints, "
        f"{report.conduct_records} conduct records, {report.events} events: "
    )
    if report.ok:
        return Text.assemble(counts, ("audit trail intact", "bold green"))
    return Text.assemble(
        counts,
        (
            f"{len(report.problems)} problem(s) in {len(report.subjects)} trail(s); "
            "see complaint-flow audit verify",
            "bold red",
        ),
    )


def _notifications_table(notifications: Sequence[Notification]) -> Table:
    table = Table(
        title="Notifications delivered from the outbox: who was told what, on which channel",
        title_justify="left",
    )
    table.add_column("Delivered (UTC)", no_wrap=True)
    table.add_column("About", no_wrap=True)
    table.add_column("To", overflow="fold")
    table.add_column("On", overflow="fold")
    table.add_column("Message", overflow="fold")
    for n in notifications:
        table.add_row(
            when(n.delivered_at, two_lines=True),
            # The "To" column names the customer; their record id would squash the table.
            Text("conduct\nrecord", style="italic")
            if is_conduct_record_id(n.reference)
            else n.reference,
            Text.assemble(n.name, (f"\n{n.recipient}", "dim")),
            Text.assemble((n.channel, "bold"), f"\n{n.address or '(no address)'}"),
            Text(n.text),
        )
    return table


def _counts_table(title: str, counts: Mapping[str, int], what: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(what)
    table.add_column("Complaints", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count))
    return table


def _report(result: DemoResult) -> RenderableType:
    delivery = result.delivery
    summary = Text.assemble(
        f"Complaints this run: {len(result.complaints)} "
        f"(store held {result.stored_before} before, {result.stored_after} now)\n",
        f"Notifications delivered: {delivery.delivered}",
        f" (failed {delivery.failed}, dead {delivery.dead})" if delivery.failed else "",
        f"\nDeadlines caught by the evening sweeps: {result.deadlines.warnings} near, "
        f"{result.deadlines.breaches} missed, {result.deadlines.escalations} escalated",
        f"\nWeek simulated: {when(result.started_at)} → {when(result.finished_at)} UTC",
    )
    return Panel(
        Group(
            Columns(
                [
                    _counts_table("Per state", result.counts_by_state, "State"),
                    _counts_table("Per channel", result.counts_by_channel, "Channel"),
                ]
            ),
            summary,
        ),
        title="Report",
        title_align="left",
    )


def _sections(result: DemoResult) -> list[RenderableType]:
    """The parts printed after the timelines, in order (a new part is one more entry)."""
    return [
        _duplicate_panel(result.duplicate),
        _email_panel(result.email),
        _refusal_panel(result.refusal),
        _stop_panel(result.stop, result.linked),
        _notifications_table(result.notifications),
        _report(result),
    ]


def render_demo(console: Console, result: DemoResult) -> None:
    """Print a demo run: timelines, duplicate, refusal, stop procedure, notifications, report.

    The last line is the audit check of the whole store.
    """
    console.rule("complaint_flow demo: the TACTICS workflow")
    console.print(
        Text(
            f"Store {result.store_url}: {result.stored_before} complaints were there before "
            f"this run; they are kept. Run id {result.run_id} is part of this run's channel "
            "message ids, so each run adds its own complaints.",
        )
    )
    for story in result.complaints:
        c = story.complaint
        title = Text.assemble(
            (c.reference, "bold"),
            f" · {story.label} · {c.channel} (reply on {c.reply_channel}) · now ",
            (c.state, "bold green"),
        )
        console.print()
        console.print(title)
        console.print(Text(f"{c.customer.name}: {c.summary}", style="italic"))
        console.print(timeline_table(story.history, compact=console.width < COMPACT_BELOW))
    console.print()
    for section in _sections(result):
        console.print(section)
    console.print(_audit_line(result.audit))
    if scheme_of(result.store_url) == "memory":
        console.print(
            Text(
                "memory:// keeps nothing once the command ends; run the demo without --store "
                "to keep its complaints in complaints.db and explore them.",
                style="dim",
            )
        )
        return
    first = result.complaints[0].complaint.reference
    console.print(
        Text(
            "Explore the stored complaints:\n"
            f"  complaint-flow list --store {result.store_url}\n"
            f"  complaint-flow show {first} --store {result.store_url}\n"
            f"  complaint-flow history {first} --store {result.store_url}\n"
            f"  complaint-flow triggers {first} --role supervisor --store {result.store_url}\n"
            f"  complaint-flow conduct show {result.stop.customer.id} --store {result.store_url}\n"
            f"  complaint-flow audit verify --store {result.store_url}",
            style="dim",
        )
    )


__all__ = ["render_demo"]
