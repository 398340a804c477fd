"""``complaint-flow record``: a member of staff records a complaint they heard."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from complaint_flow.cli.shared import (
    console,
    data_callback,
    fail,
    non_blank,
    open_engine,
    store_option,
    workflow_file_option,
)
from complaint_flow.model.entities import Actor, Customer, Severity
from complaint_flow.services.intake import OutcomeKind
from complaint_flow.services.staff_intake import STAFF_CHANNELS, staff_intake


@click.command()
@click.option(
    "--channel",
    required=True,
    callback=non_blank,
    help=f"Where it was heard: {', '.join(STAFF_CHANNELS)} (or another registered channel).",
)
@click.option("--summary", required=True, callback=non_blank, help="What it is about, in a line.")
@click.option("--details", default="", help="What the customer said, in full.")
@click.option("--staff-id", required=True, callback=non_blank, help="Your id.")
@click.option("--staff-name", required=True, callback=non_blank, help="Your name.")
@click.option("--role", default="agent", show_default=True, help="Your role.")
@click.option("--customer-id", default=None, help="The customer's id in your systems.")
@click.option("--customer-name", default=None, help="The customer's name.")
@click.option("--email", default=None, help="The customer's email address.")
@click.option("--phone", default=None, help="The customer's phone number.")
@click.option("--postal-address", default=None, help="The customer's postal address.")
@click.option(
    "--anonymous",
    is_flag=True,
    help="The customer did not give their name: nothing will be sent to them.",
)
@click.option(
    "--informal",
    is_flag=True,
    help="Heard informally (blame-free: reports never attribute it to you).",
)
@click.option("--category", default="general", show_default=True, help="The category.")
@click.option(
    "--severity",
    type=click.Choice([s.value for s in Severity]),
    default=Severity.NORMAL.value,
    show_default=True,
    help="How serious it is.",
)
@click.option("--desired-outcome", default="", help="What the customer wants.")
@click.option("--external-id", default=None, help="Your id for it (a call id), for idempotency.")
@click.option(
    "--data",
    "data",
    metavar="KEY=VALUE",
    multiple=True,
    callback=data_callback,
    help="Further information for the workflow, as key=value (repeatable).",
)
@store_option
@workflow_file_option
def record(
    channel: str,
    summary: str,
    details: str,
    staff_id: str,
    staff_name: str,
    role: str,
    customer_id: str | None,
    customer_name: str | None,
    email: str | None,
    phone: str | None,
    postal_address: str | None,
    anonymous: bool,
    informal: bool,
    category: str,
    severity: str,
    desired_outcome: str,
    external_id: str | None,
    data: dict[str, str],
    store_url: str,
    workflow_files: tuple[Path, ...],
) -> None:
    """Record a complaint you heard (by phone, in person, in a letter…) and print it."""
    given = [email, phone, postal_address, customer_id, customer_name]
    if anonymous and any(given):
        fail(
            "--anonymous records a complaint with no customer details: leave out "
            "--customer-id, --customer-name, --email, --phone and --postal-address"
        )
    if not anonymous and not (customer_id and customer_name):
        fail(
            "give the customer with --customer-id and --customer-name (and a contact: "
            "--email, --phone or --postal-address), or record it with --anonymous"
        )
    customer = None
    if customer_id and customer_name:
        customer = Customer(
            id=customer_id,
            name=customer_name,
            email=email,
            phone=phone,
            postal_address=postal_address,
        )
    staff = Actor(id=staff_id, name=staff_name, role=role)
    intake = staff_intake(
        staff=staff,
        channel=channel,
        summary=summary,
        details=details,
        customer=customer,
        category=category,
        severity=severity,
        desired_outcome=desired_outcome,
        informal=informal,
        external_id=external_id,
        data=data,
    )
    with open_engine(store_url, workflow_files=workflow_files) as engine:
        outcome = engine.accept(intake)
    out = console()
    if outcome.opened and outcome.complaint is not None:
        complaint = outcome.complaint
        seen = "recorded" if outcome.kind is OutcomeKind.OPENED else "already recorded"
        out.print(
            Text.assemble(
                (complaint.reference, "bold"),
                f": {seen} from {channel} by {staff.name}",
                " (informal, blame-free)" if informal else "",
                " (anonymous)" if anonymous else "",
                f"; state {complaint.state}",
            )
        )
        return
    out.print(Text(f"{outcome.kind.value}: {outcome.message()}", style="yellow"))
