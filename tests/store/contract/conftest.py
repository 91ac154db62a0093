"""The ``store`` fixture: every storage adapter, so the contract tests run against each.

It yields the adapter's whole Store (twin graph and telemetry share one database), which
implements both the TwinStore and TelemetryStore protocols; each contract file uses only
its protocol. An adapter joins by adding its name to ``ADAPTERS`` and a branch to
``_make``; the tests must pass unchanged. PostgreSQL runs in a throwaway cluster, each
test in a fresh database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from futago.store.port import Store
from futago.store.postgres import PostgresStore
from futago.store.sqlite.store import SQLiteStore

ADAPTERS = ["sqlite", "postgres"]


def _make(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if adapter == "sqlite":
        return SQLiteStore(tmp_path / "t.db")
    if adapter == "postgres":
        return PostgresStore(request.getfixturevalue("postgres_url"))
    raise AssertionError(f"unknown adapter {adapter}")


@pytest.fixture(params=ADAPTERS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    adapter = _make(request.param, request, tmp_path)
    yield adapter
    adapter.close()
