"""Fixtures shared by the tests: a real PostgreSQL server, when one is given.

``COMPLAINT_FLOW_TEST_POSTGRES_URL`` names the server (``bash scripts/postgres.sh
start`` runs a private one and prints its URL; ``.ci/run`` exports it). Without it,
or when the server cannot be reached, the PostgreSQL tests skip with the reason,
except under ``CI=true``, where a missing server fails them: CI must prove the
PostgreSQL store, not skip it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_URL_VARIABLE = "COMPLAINT_FLOW_TEST_POSTGRES_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"PostgreSQL is required under CI=true, but {reason}", pytrace=False)
    pytest.skip(reason)


def with_options(url: str, **options: str) -> str:
    """``url`` with query options added (``?`` or ``&`` as the URL needs)."""
    query = "&".join(f"{name}={value}" for name, value in options.items())
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The URL of a reachable PostgreSQL server for tests (skips, or fails in CI, if none)."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    if not url:
        _unavailable(
            f"{POSTGRES_URL_VARIABLE} is not set; run "
            f'`export {POSTGRES_URL_VARIABLE}="$(bash scripts/postgres.sh start)"` '
            "to test the PostgreSQL store"
        )
    try:
        import psycopg
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc}); pip install -e '.[test]'")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        _unavailable(f"the PostgreSQL server at {url} cannot be reached: {exc}")
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A store URL on the test server with a schema of its own, dropped afterwards."""
    import psycopg
    from psycopg import sql

    schema = f"cf_test_{uuid.uuid4().hex[:16]}"
    yield with_options(postgres_url, schema=schema)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )
