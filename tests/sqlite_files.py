"""Looking at SQLite database files directly, for before/after comparisons in tests."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection to the file, outside any store."""
    return sqlite3.connect(path, isolation_level=None)


def digest(path: Path) -> str:
    """The file's SHA-256: equal digests mean the file was not touched at all."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dump(path: Path) -> list[str]:
    """The whole database as SQL (schema and rows)."""
    connection = raw(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()
