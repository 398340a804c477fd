"""Schema versions of the SQL stores: refusing newer databases, planning migrations.

Both SQL stores record a schema version and upgrade through a table of migration
steps (``MIGRATIONS``: version N -> the statements that reach N+1). Deciding
what to run, or that nothing can be run, is the same for both; only running the
statements differs.
"""

from __future__ import annotations

from collections.abc import Mapping

from complaint_flow.errors import SchemaVersionError, StoreError


def newer_error(where: str, found: int, current: int) -> SchemaVersionError:
    """The refusal for a database written by a newer complaint_flow."""
    return SchemaVersionError(
        f"{where} has complaint_flow schema version {found}, written by a newer "
        f"complaint_flow; this one knows versions up to {current}. Upgrade "
        "complaint_flow (pip install --upgrade complaint-flow) to open it."
    )


def older_error(where: str, found: int, current: int, what: str, url: str) -> SchemaVersionError:
    """The refusal to open a database whose schema an older complaint_flow wrote.

    ``what`` is what to back up ("file", "database"); ``url`` what to upgrade.
    """
    return SchemaVersionError(
        f"{where} has complaint_flow schema version {found}, older than the version "
        f"{current} this complaint_flow needs. Back the {what} up, then run "
        f"`complaint-flow db upgrade {url}` to upgrade it."
    )


def step_failed(where: str, version: int, statement: str, exc: Exception) -> StoreError:
    """The error of a migration step whose statement failed (everything is rolled back)."""
    return StoreError(
        f"upgrading {where} failed at the step from schema version {version} to "
        f"{version + 1} ({exc}; the statement was {statement!r}); nothing was "
        "changed. Report it to complaint_flow's maintainers, with the statement."
    )


def migration_steps(
    where: str, found: int, current: int, migrations: Mapping[int, tuple[str, ...]]
) -> list[tuple[int, tuple[str, ...]]]:
    """The steps from ``found`` to ``current``, in order, all checked before any runs.

    Raises:
        SchemaVersionError: the database is newer than this code, or a step is missing.
    """
    if found > current:
        raise newer_error(where, found, current)
    steps = []
    for version in range(found, current):
        statements = migrations.get(version)
        if statements is None:
            raise SchemaVersionError(
                f"{where} has complaint_flow schema version {found}, and this "
                f"complaint_flow has no migration from version {version} to {version + 1}: "
                "the database needs a newer complaint_flow that has that step (pip install "
                "--upgrade complaint-flow), or a restore from a backup. Nothing was changed."
            )
        steps.append((version, statements))
    return steps
