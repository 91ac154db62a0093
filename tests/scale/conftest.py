"""Scale-out tests start real PostgreSQL (with PostGIS) and NATS servers; they skip where those are not installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from futago.scenarios.scale import ScaleRig
from futago.testing.nats import NATS_SERVER, LocalNats
from futago.testing.postgres import postgis_installed


def need_servers() -> None:
    if not postgis_installed() or NATS_SERVER is None:
        pytest.skip("PostgreSQL/PostGIS or nats-server is not installed: run scripts/install-system-deps.sh")


@pytest.fixture(scope="module")
def rig() -> Iterator[ScaleRig]:
    need_servers()
    with ScaleRig(gauges=100) as started:
        yield started


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    """A NATS server of the module's own (tests that need NATS alone, not PostgreSQL)."""
    if NATS_SERVER is None:
        pytest.skip("nats-server is not installed: run scripts/install-system-deps.sh")
    with LocalNats() as server:
        yield server.url
