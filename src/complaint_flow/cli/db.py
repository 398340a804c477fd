"""``complaint-flow db``: the schema version of a SQL store, and upgrading it."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import click

from complaint_flow.cli.shared import CommandGroup
from complaint_flow.errors import StoreError
from complaint_flow.storage.contract import scheme_of


@attrs.frozen
class SchemaTools:
    """What ``complaint-flow db`` needs of a SQL store module."""

    schema_version: Callable[[str], int | None]
    upgrade: Callable[[str], tuple[int, int]]
    current: int


def schema_tools(url: str) -> SchemaTools:
    """The migration functions of the store module for ``url``'s scheme."""
    scheme = scheme_of(url)
    if scheme == "sqlite":
        from complaint_flow.storage import sqlite

        return SchemaTools(sqlite.schema_version, sqlite.upgrade, sqlite.SCHEMA_VERSION)
    if scheme in ("postgresql", "postgres"):
        # Imported on use: psycopg is an optional dependency (the ``postgres`` extra).
        from complaint_flow.storage import postgres

        return SchemaTools(postgres.schema_version, postgres.upgrade, postgres.SCHEMA_VERSION)
    if scheme == "memory":
        raise StoreError(f"nothing to upgrade: memory stores keep nothing ({url!r})")
    raise StoreError(
        f"complaint-flow db cannot handle {url!r}: it knows the schemas of sqlite:/// and "
        "postgresql:// stores (e.g. 'sqlite:///complaints.db'); a store a plugin registers "
        "upgrades its own schema, as its documentation says"
    )


@click.group(cls=CommandGroup)
def db() -> None:
    """Show and upgrade the schema version of a SQLite or PostgreSQL store."""


@db.command(name="version")
@click.argument("url")
def db_version(url: str) -> None:
    """Show the schema version of the store at URL, without changing anything."""
    tools = schema_tools(url)
    found = tools.schema_version(url)
    if found is None:
        click.echo("no complaint_flow schema yet")
    else:
        click.echo(f"schema version {found} (current: {tools.current})")


@db.command(name="upgrade")
@click.argument("url")
def db_upgrade(url: str) -> None:
    """Upgrade the store at URL to the current schema version, all or nothing.

    Back the database up and stop the workers using it first.
    """
    before, after = schema_tools(url).upgrade(url)
    if before == after:
        click.echo(f"already at version {after}")
    else:
        click.echo(f"upgraded from {before} to {after}")


__all__ = ["SchemaTools", "db", "schema_tools"]
