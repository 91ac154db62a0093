"""`futago demo` seeds its day of history once per store: a restart on the same store adds no second day (the
marker is a dataset record), while live readings still flow."""

from __future__ import annotations

import time
from pathlib import Path

from futago.app import App, build
from futago.config import Settings
from futago.core.telemetry import Reading
from futago.demo import HISTORY_DATASET, seed


def _stored(app: App) -> int:
    """Readings of one demo series and of the whole store, as /health counts them."""
    return len(app.telemetry.history("river-1", "waterLevel", limit=1_000_000))


def _open(tmp_path: Path) -> App:
    return build(Settings(db=str(tmp_path / "demo.db"), data_root=str(tmp_path)))


def test_seeding_twice_on_one_store_writes_the_history_once(tmp_path: Path) -> None:
    app = _open(tmp_path)
    try:
        first = seed(app)
        once = _stored(app)
    finally:
        app.close()
    assert first["new_readings"] == first["readings"] == 43_200 and once == 24 * 60
    heard: list[str] = []
    app = _open(tmp_path)  # a restart
    try:
        second = seed(app, heard.append)
        assert _stored(app) == once  # no second day of history
        assert second["new_readings"] == 0 and second["readings"] == first["readings"]
        assert second["twins"] == first["twins"] and second["quality"] == first["quality"]
        assert any("were seeded on" in line for line in heard)
        now = int(time.time() * 1e6)
        app.telemetry.append([Reading("river-1", "waterLevel", now + 60_000_000, 2.5, 2)])  # live data still flows
        assert _stored(app) == once + 1
    finally:
        app.close()


def test_a_store_seeded_before_the_marker_gets_no_second_day(tmp_path: Path) -> None:
    app = _open(tmp_path)
    try:
        seed(app)
        once = _stored(app)
        app.store.delete_dataset(HISTORY_DATASET)  # as an earlier futago left it: history, no marker
        again = seed(app)
        assert _stored(app) == once and again["new_readings"] == 0
        assert app.store.get_dataset(HISTORY_DATASET) is not None
    finally:
        app.close()
