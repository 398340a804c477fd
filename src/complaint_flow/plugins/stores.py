"""Registers the built-in stores: ``memory://``, ``sqlite:///path`` and ``postgresql://``."""

from __future__ import annotations

from collections.abc import Callable

from complaint_flow.plugins.hookspecs import hookimpl
from complaint_flow.storage.contract import Store, StoreFactory
from complaint_flow.storage.memory import open_memory_store


def _open_sqlite(url: str) -> Store:
    from complaint_flow.storage.sqlite import open_sqlite_store

    return open_sqlite_store(url)


def _open_postgres(url: str) -> Store:
    # Imported on use: psycopg is an optional dependency (the ``postgres`` extra).
    from complaint_flow.storage.postgres import open_postgres_store

    return open_postgres_store(url)


@hookimpl(trylast=True)
def complaint_flow_register_stores(register: Callable[[str, StoreFactory], None]) -> None:
    register("memory", open_memory_store)
    register("sqlite", _open_sqlite)
    register("postgresql", _open_postgres)
    register("postgres", _open_postgres)
