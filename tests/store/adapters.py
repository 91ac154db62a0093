"""Every storage adapter, by name: the one list that the contract suite (``tests/store/contract``) and the whole
App on each adapter (``tests/store/test_postgres_app.py``) run over.

An adapter joins by adding its name to ``ADAPTERS`` and a branch to ``database_url`` and ``open_adapter``; the
tests must pass unchanged. PostgreSQL runs in a throwaway cluster, each test in a fresh database of its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from futago.core.ports import Store
from futago.store.postgres import PostgresStore
from futago.store.sqlite.store import SQLiteStore

ADAPTERS = ["sqlite", "postgres"]


def database_url(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh, empty store of the adapter lives for one test (what ``--db`` would name)."""
    if adapter == "sqlite":
        return str(tmp_path / "futago.db")
    if adapter == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    raise AssertionError(f"unknown adapter {adapter}")


def open_adapter(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """A fresh, empty store of the adapter, for one test."""
    url = database_url(adapter, request, tmp_path)
    if adapter == "sqlite":
        return SQLiteStore(url)
    if adapter == "postgres":
        return PostgresStore(url)
    raise AssertionError(f"unknown adapter {adapter}")
