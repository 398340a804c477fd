"""Every built-in store passes the action part of the conformance suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from complaint_flow import ComplaintStore, OutboxStore
from complaint_flow.storage.contract import ActionStore, Store
from complaint_flow.storage.memory import open_memory_store
from complaint_flow.storage.sqlite import open_sqlite_store
from complaint_flow.testing.conformance import ActionStoreConformance
from test_store_conformance import PartialStore, part_methods


class TestMemoryActions(ActionStoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = open_memory_store("memory://")
        yield store
        store.close()


class TestSQLiteActions(ActionStoreConformance):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'complaints.db'}"

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        store = open_sqlite_store(url)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[Store], Store]:
        def reopen(old: Store) -> Store:
            old.close()
            return open_sqlite_store(url)

        return reopen


class TestPostgresActions(ActionStoreConformance):
    @pytest.fixture
    def store(self, postgres_schema_url: str) -> Iterator[Store]:
        from complaint_flow.storage.postgres import open_postgres_store

        store = open_postgres_store(postgres_schema_url)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, postgres_schema_url: str) -> Callable[[Store], Store]:
        from complaint_flow.storage.postgres import open_postgres_store

        def reopen(old: Store) -> Store:
            old.close()
            return open_postgres_store(postgres_schema_url)

        return reopen


class TestActionsWithTheirParts(ActionStoreConformance):
    """The action rules need the action, complaint and outbox parts only."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        store: Any = PartialStore(part_methods(ActionStore, ComplaintStore, OutboxStore))
        assert isinstance(store, ActionStore)
        assert not isinstance(store, Store)
        yield store
        store.close()
