"""A real Mosquitto broker on a free local port, which the MQTT tests stop and restart.

Persistence is on, so a restarted broker still holds the persistent sessions and the QoS 1
messages queued for them: that is what the no-loss tests rely on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Broker


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker that admits only user ``futago`` with password ``s3cret``."""
    folder = tmp_path / "secured-broker"
    folder.mkdir()
    server = Broker(folder, users={"futago": "s3cret"})
    server.start()
    yield server
    server.stop()
