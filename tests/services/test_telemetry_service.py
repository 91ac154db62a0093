"""TelemetryService: validation before storage, one event per series, history and latest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from futago.core.errors import InvalidInput
from futago.core.events import TELEMETRY_APPENDED, Event, EventBus
from futago.core.telemetry import Reading, ValueKind, parse_timestamp
from futago.services.telemetry import TelemetryService
from futago.store.sqlite.db import SQLiteDatabase
from futago.store.sqlite.telemetry import SQLiteTelemetry

T0 = parse_timestamp("2024-05-01T00:00:00Z")
S = 1_000_000


def kind_of(twin_id: str, name: str) -> ValueKind:
    kinds: dict[str, ValueKind] = {"flow": "f8", "count": "i8", "mode": "json"}
    if twin_id.startswith("pump") and name in kinds:
        return kinds[name]
    raise InvalidInput(f"{twin_id} has no telemetry {name}")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[TelemetryService, list[Event]]]:
    db = SQLiteDatabase(tmp_path / "s.db")
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    yield TelemetryService(SQLiteTelemetry(db), bus, kind_of), events
    db.close()


def test_append_publishes_one_event_per_series(setup: tuple[TelemetryService, list[Event]]) -> None:
    service, events = setup
    rows = [
        Reading("pump-1", "flow", T0 + 2 * S, 3.0, 1),
        Reading("pump-1", "flow", T0, 1.0, 1),
        Reading("pump-2", "flow", T0, 7.0, 3),
        Reading("pump-1", "count", T0, 4, 1),
    ]
    assert service.append(rows) == 4
    assert [e.type for e in events] == [TELEMETRY_APPENDED] * 3
    by_key = {(e.twin_id, e.data["name"]): e.data for e in events}
    assert by_key[("pump-1", "flow")] == {
        "name": "flow",
        "count": 2,
        "first": "2024-05-01T00:00:00.000Z",
        "last": "2024-05-01T00:00:02.000Z",
        "latest": {"ts": "2024-05-01T00:00:02.000Z", "value": 3.0, "quality": 1},
    }
    assert by_key[("pump-2", "flow")]["latest"] == {
        "ts": "2024-05-01T00:00:00.000Z",
        "value": 7.0,
        "quality": 3,
    }
    assert isinstance(by_key[("pump-1", "count")]["latest"]["value"], int)


def test_invalid_rows_store_nothing(setup: tuple[TelemetryService, list[Event]]) -> None:
    service, events = setup
    with pytest.raises(InvalidInput) as info:
        service.append([("pump-1", "flow", T0, 1.0, 1), ("pump-1", "flow", T0 + 1, "high", 1)])
    assert info.value.problems[0].pointer == "/1/value"
    with pytest.raises(InvalidInput):
        service.append([("valve-1", "flow", T0, 1.0, 1)])
    assert events == []
    assert service.latest("pump-1") == {}


def test_redelivery_and_latest(setup: tuple[TelemetryService, list[Event]]) -> None:
    service, _ = setup
    rows = [("pump-1", "flow", T0 + i * S, float(i), 1) for i in range(10)]
    assert service.append(rows) == service.append(rows) == 10
    service.append([("pump-1", "flow", T0 - S, -1.0, 1)])  # late: latest unchanged
    assert service.latest("pump-1")["flow"] == (T0 + 9 * S, 9.0, 1)
    raw = service.history("pump-1", "flow", "2024-04-30T23:00:00Z", "2024-05-01T00:00:05Z")
    assert raw.columns["ts"].tolist() == [T0 - S] + [T0 + i * S for i in range(5)]


def test_history_raw_and_bucketed(setup: tuple[TelemetryService, list[Event]]) -> None:
    service, _ = setup
    service.append([("pump-1", "flow", T0 + i * S, float(i), 1) for i in range(120)])
    start_ms = T0 // 1000
    raw = service.history("pump-1", "flow", start_ms, start_ms + 10_000, limit=3)
    assert np.asarray(raw.columns["value"]).tolist() == [0.0, 1.0, 2.0]
    doc = raw.to_json()
    assert doc["points"][0] == {"ts": "2024-05-01T00:00:00.000Z", "value": 0.0, "quality": 1}
    agg = service.history(
        "pump-1",
        "flow",
        "2024-05-01T00:00:00Z",
        "2024-05-01T00:02:00Z",
        bucket="1m",
        aggs=["avg", "count", "max"],
    )
    assert agg.columns["ts"].tolist() == [T0, T0 + 60 * S]
    assert agg.columns["avg"].tolist() == [29.5, 89.5]
    assert agg.columns["count"].tolist() == [60, 60]
    assert agg.columns["max"].tolist() == [59.0, 119.0]
    assert agg.to_json()["points"][1] == {
        "ts": "2024-05-01T00:01:00.000Z",
        "avg": 89.5,
        "count": 60,
        "max": 119.0,
    }
    default = service.history("pump-1", "flow", start_ms, start_ms + 120_000, bucket=60_000)
    assert list(default.columns) == ["ts", "avg"]
    with pytest.raises(InvalidInput):
        service.history("pump-1", "flow", start_ms, start_ms)
    with pytest.raises(InvalidInput):
        service.history("pump-1", "nope", start_ms, start_ms + 1)
    with pytest.raises(InvalidInput):
        service.history("pump-1", "flow", start_ms, start_ms + 1, aggs=["avg"])
    empty = service.history("pump-1", "mode", start_ms, start_ms + 1000)
    assert empty.kind == "json" and len(empty) == 0


def test_json_kind_through_service(setup: tuple[TelemetryService, list[Event]]) -> None:
    service, _ = setup
    service.append([("pump-1", "mode", T0, {"m": "auto"}, 1), ("pump-1", "mode", T0 + S, "off", 1)])
    hist = service.history("pump-1", "mode", T0 // 1000, T0 // 1000 + 5000)
    assert hist.columns["value"] == [{"m": "auto"}, "off"]
    assert service.latest("pump-1")["mode"].value == "off"
