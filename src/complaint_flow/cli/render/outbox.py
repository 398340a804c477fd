"""The outbox on the console: its messages, and what a delivery pass did."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table
from rich.text import Text

from complaint_flow.cli.render.formats import second
from complaint_flow.model.entities import OutboxMessage, OutboxStatus
from complaint_flow.services.delivery import DeliveryReport


def outbox_table(
    messages: Sequence[OutboxMessage], references: Mapping[str, str], title: str
) -> Table:
    """One row per outbox message: key, complaint, topic, recipient, where, status, attempts.

    Args:
        messages: the messages, in the order to show.
        references: complaint id to reference; a complaint missing from it is shown
            by its id.
        title: the table's title.
    """
    table = Table(title=title, title_justify="left")
    table.add_column("Key", overflow="fold")
    table.add_column("Complaint", no_wrap=True)
    table.add_column("Topic", overflow="fold")
    table.add_column("Recipient", overflow="fold")
    table.add_column("Channel / address", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("Attempts", justify="right", no_wrap=True)
    table.add_column("Next attempt (UTC)", no_wrap=True)
    table.add_column("Last error", overflow="fold")
    styles = {
        OutboxStatus.PENDING: "yellow",
        OutboxStatus.DEAD: "bold red",
        OutboxStatus.DELIVERED: "green",
    }
    for m in messages:
        if m.status is not OutboxStatus.PENDING:
            next_attempt = ""
        elif m.next_attempt_at is None:
            next_attempt = "now"
        else:
            next_attempt = second(m.next_attempt_at)
        table.add_row(
            Text(m.key),
            references.get(m.complaint_id, m.complaint_id),
            Text(m.topic),
            Text(m.recipient),
            Text(f"{m.channel} {m.address}" if m.address else m.channel),
            Text(str(m.status), style=styles.get(m.status, "")),
            str(m.attempts),
            next_attempt,
            Text(m.last_error or ""),
        )
    return table


def delivery_line(report: DeliveryReport) -> Text:
    """What one delivery pass did: delivered, failed, now dead, and what to do next."""
    text = Text.assemble(
        ("Delivered ", ""),
        (str(report.delivered), "bold green"),
        (", failed ", ""),
        (str(report.failed), "bold red" if report.failed else ""),
        (", now dead ", ""),
        (str(report.dead), "bold red" if report.dead else ""),
        (".", ""),
    )
    if report.failed > report.dead:
        text.append(" Failed messages are retried by a later pass.")
    if report.dead:
        text.append(" List the dead with `complaint-flow outbox --status dead`.")
    return text


__all__ = ["delivery_line", "outbox_table"]
