"""Every built-in store passes the conformance suite shipped to store authors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from complaint_flow.storage.contract import Store
from complaint_flow.storage.memory import MemoryStore, open_memory_store
from complaint_flow.storage.sqlite import SQLiteStore, open_sqlite_store
from complaint_flow.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = open_memory_store("memory://")
        assert isinstance(store, MemoryStore)
        yield store
        store.close()


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'complaints.db'}"

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        store = open_sqlite_store(url)
        assert isinstance(store, SQLiteStore)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[Store], Store]:
        def reopen(old: Store) -> Store:
            old.close()
            return open_sqlite_store(url)

        return reopen


class TestSQLiteStoreNormalSync(TestSQLiteStore):
    """The faster durability setting follows exactly the same rules."""

    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'complaints.db'}?synchronous=NORMAL"
