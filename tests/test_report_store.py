"""Every built-in store passes the report part's conformance rules (23-26)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from complaint_flow.storage.contract import ReportStore, Store
from complaint_flow.storage.memory import open_memory_store
from complaint_flow.storage.sqlite import open_sqlite_store
from complaint_flow.testing.conformance import ReportStoreConformance


class TestMemoryReports(ReportStoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = open_memory_store("memory://")
        yield store
        store.close()


class TestSQLiteReports(ReportStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = open_sqlite_store(f"sqlite:///{tmp_path / 'reports.db'}")
        yield store
        store.close()


class TestPostgresReports(ReportStoreConformance):
    @pytest.fixture
    def store(self, postgres_schema_url: str) -> Iterator[Store]:
        from complaint_flow.storage.postgres import open_postgres_store

        store = open_postgres_store(postgres_schema_url)
        yield store
        store.close()


def test_the_report_part_is_optional() -> None:
    """A store of the four parts is still a Store; only reports need the fifth part."""
    whole = open_memory_store("memory://")

    class FourParts:
        url = whole.url

    four = FourParts()
    for name in dir(Store):
        if not name.startswith("_") and callable(getattr(whole, name, None)):
            setattr(four, name, getattr(whole, name))
    assert isinstance(four, Store)
    assert not isinstance(four, ReportStore)
    assert isinstance(whole, ReportStore)
