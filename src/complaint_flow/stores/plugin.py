"""Registers the built-in stores: ``memory://`` and ``sqlite:///path``."""

from __future__ import annotations

from collections.abc import Callable

from complaint_flow.hookspecs import hookimpl
from complaint_flow.store import Store, StoreFactory
from complaint_flow.stores.memory import open_memory_store


def _open_sqlite(url: str) -> Store:
    from complaint_flow.stores.sqlite import open_sqlite_store

    return open_sqlite_store(url)


@hookimpl(trylast=True)
def complaint_flow_register_stores(register: Callable[[str, StoreFactory], None]) -> None:
    register("memory", open_memory_store)
    register("sqlite", _open_sqlite)
