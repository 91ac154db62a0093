"""The ``store`` fixture: every storage adapter of ``tests/store/adapters.py``, so the contract tests run against each.

It yields the adapter's whole Store (every role shares one database); each contract file uses only the role
interface of ``futago.core.ports`` that it is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from futago.core.ports import Store
from tests.store.adapters import ADAPTERS, open_adapter


@pytest.fixture(params=ADAPTERS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    adapter = open_adapter(request.param, request, tmp_path)
    yield adapter
    adapter.close()
