"""A real Mosquitto broker on a free local port, which the MQTT tests stop and restart.

Persistence is on, so a restarted broker still holds the persistent sessions and the QoS 1
messages queued for them: that is what the no-loss tests rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from futago.scenarios.mosquitto import MOSQUITTO, LocalBroker


class Broker(LocalBroker):
    """The scenarios' local broker; a test skips (rather than fails) where mosquitto is not installed."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed: run scripts/install-system-deps.sh (make test does)")
        super().__init__(folder, users)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    folder = tmp_path / "broker"
    folder.mkdir()
    server = Broker(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker that admits only user ``futago`` with password ``s3cret``."""
    folder = tmp_path / "secured-broker"
    folder.mkdir()
    server = Broker(folder, users={"futago": "s3cret"})
    server.start()
    yield server
    server.stop()
