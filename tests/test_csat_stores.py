"""Every built-in store computes CSAT as the pure function does (the optional part's rules)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from complaint_flow.storage.memory import open_memory_store
from complaint_flow.storage.postgres import open_postgres_store
from complaint_flow.storage.satisfaction_reads import SatisfactionReads, csat_query
from complaint_flow.storage.sqlite import open_sqlite_store
from complaint_flow.testing.conformance import SatisfactionReadsConformance


class TestMemoryStoreCsat(SatisfactionReadsConformance):
    @pytest.fixture
    def store(self) -> Iterator[SatisfactionReads]:
        store = open_memory_store("memory://")
        yield store
        store.close()


class TestSQLiteStoreCsat(SatisfactionReadsConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SatisfactionReads]:
        store = open_sqlite_store(f"sqlite:///{tmp_path / 'complaints.db'}")
        yield store
        store.close()


class TestPostgresStoreCsat(SatisfactionReadsConformance):
    @pytest.fixture
    def store(self, postgres_schema_url: str) -> Iterator[SatisfactionReads]:
        store = open_postgres_store(postgres_schema_url)
        yield store
        store.close()


def test_the_sql_groups_and_counts_in_the_database() -> None:
    # One row per group leaves the database: the counting is the query's.
    for dialect in ("sqlite", "postgresql"):
        sql = csat_query(dialect, ("category",), "week", (True, False))  # type: ignore[arg-type]
        assert "GROUP BY 1, 2, 3, 4, 5" in sql
        assert "count(*)" in sql
        assert "kind = ?" in sql
        assert "at >= ?" in sql
        assert "at < ?" not in sql
