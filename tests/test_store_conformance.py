"""Every built-in store passes the conformance suite shipped to store authors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from complaint_flow import ComplaintStore, ConductStore, OutboxStore
from complaint_flow.storage import contract
from complaint_flow.storage.contract import ActionStore, ChannelStore, Store
from complaint_flow.storage.memory import MemoryStore, open_memory_store
from complaint_flow.storage.sqlite import SQLiteStore, open_sqlite_store
from complaint_flow.testing.conformance import (
    ChannelStoreConformance,
    ComplaintStoreConformance,
    ConductStoreConformance,
    OutboxStoreConformance,
    StoreConformance,
)


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


# -- stores with some of the parts --------------------------------------------------


def part_methods(*parts: type) -> set[str]:
    """The methods the protocols ``parts`` declare (``close`` included)."""
    return {
        name
        for part in parts
        for cls in part.__mro__
        if cls.__module__ == contract.__name__
        for name, value in vars(cls).items()
        if callable(value) and not name.startswith("_")
    }


class PartialStore:
    """Only the ``methods`` of a memory store: a store that implements some parts."""

    def __init__(self, methods: set[str]) -> None:
        whole = open_memory_store("memory://")
        self.url = whole.url
        for name in methods:
            setattr(self, name, getattr(whole, name))


def test_part_methods_are_the_protocols_methods() -> None:
    # Guards the partial stores below: they must lack exactly the other parts.
    assert {"commit", "due", "close"} <= part_methods(ComplaintStore)
    assert part_methods(OutboxStore) == {
        "outbox_pending",
        "outbox_claim",
        "outbox_update",
        "outbox_find",
        "outbox",
        "close",
    }
    assert part_methods(ChannelStore) == {
        "links_find",
        "links_of",
        "links_add",
        "quarantine_add",
        "quarantine_get",
        "quarantine_find",
        "quarantine_update",
        "cursor_get",
        "cursor_set",
        "close",
    }
    assert part_methods(ActionStore) == {
        "action_commit",
        "action_get",
        "action_events",
        "action_find",
        "complaint_counts",
        "close",
    }
    whole = part_methods(ComplaintStore, OutboxStore, ConductStore, ChannelStore, ActionStore)
    assert whole == part_methods(Store)
    assert len(whole) == 36


class TestStoreWithoutConductRecords(ComplaintStoreConformance, OutboxStoreConformance):
    """A store without conduct records runs the rules of the two parts it has."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        store: Any = PartialStore(part_methods(ComplaintStore, OutboxStore))
        assert not isinstance(store, ConductStore)
        assert not isinstance(store, ChannelStore)
        assert not isinstance(store, Store)
        yield store
        store.close()


class TestChannelsWithoutConductRecords(ChannelStoreConformance):
    """The channel rules need the complaint and outbox parts (commits carry links)."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        store: Any = PartialStore(part_methods(ChannelStore, ComplaintStore, OutboxStore))
        assert isinstance(store, ChannelStore)
        assert not isinstance(store, ConductStore)
        yield store
        store.close()


class TestConductRecordsWithTheirOutbox(ConductStoreConformance):
    """The conduct rules need the conduct and outbox parts only."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        store: Any = PartialStore(part_methods(ConductStore, OutboxStore))
        assert not isinstance(store, ComplaintStore)
        yield store
        store.close()
