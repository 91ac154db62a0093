"""The ingest pipeline through file replay: mapping, units, provisioning and dead letters."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from futago.app import App
from futago.core.errors import InvalidInput

M = "dtmi:futago:demo:"


def _wait_finished(app: App, name: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described = app.connections.describe(name)
        if described["status"]["state"] in ("finished", "failed"):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.05)


def test_csv_replay_with_units_provisioning_and_dead_letters(app: App, tmp_path: Path) -> None:
    app.twins.put("river-1", {"$metadata": {"$model": M + "RiverStation;1"}})
    rows = ["ts;level_cm;rain", *(f"2026-03-09 10:{m:02d}:00;{200 + m};{m * 0.5}" for m in range(30))]
    rows.append("2026-03-09 10:30:00;high;1.0")  # a bad cell: a dead letter, the rest goes on
    (tmp_path / "river.csv").write_text("\n".join(rows))
    app.connections.put(
        "river-file",
        {
            "type": "replay",
            "options": {"path": str(tmp_path / "river.csv"), "delimiter": ";", "speed": 0},
            "mappings": [
                {
                    "source": "level_cm",
                    "twin": "river-1",
                    "telemetry": "waterLevel",
                    "format": "number",
                    "unit": "cm",
                },
                {"source": "rain", "twin": "gauge-9", "telemetry": "rainfall", "format": "number"},
            ],
            "provision": {"model": M + "RainGauge;1"},
        },
    )
    described = _wait_finished(app, "river-file")
    assert described["status"]["state"] == "finished"
    assert described["counters"] == {"messages": 62, "readings": 61, "deadLetters": 1}
    levels = app.telemetry.history("river-1", "waterLevel").columns["value"].tolist()
    assert levels == pytest.approx([2.0 + m / 100 for m in range(30)])  # centimetres became metres
    assert app.store.get_twin("gauge-9") is not None  # provisioned from the template model
    assert app.telemetry.history("gauge-9", "rainfall").columns["value"].tolist()[-1] == 1.0
    [letter] = app.store.list_dead_letters("river-file")
    assert letter.source == "level_cm" and letter.payload == b"high" and "not a number" in letter.reason


def test_ndjson_replay_paced_by_speed(app: App, tmp_path: Path) -> None:
    app.twins.put("pump-1", {"$metadata": {"$model": M + "Pump;1"}})
    lines = [{"ts": 1_767_225_600_000 + i * 200, "flow": i / 10} for i in range(6)]
    lines.insert(3, {"ts": 1_767_225_600_300, "flow": "lots"})  # the model wants a double
    (tmp_path / "pump.ndjson").write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    started = time.monotonic()
    app.connections.put(
        "pump-file",
        {
            "type": "replay",
            "options": {"path": str(tmp_path / "pump.ndjson"), "speed": 1.0},
            "mappings": [{"source": "pump.ndjson:{line}", "twin": "pump-1", "telemetry": "flow", "value": "flow"}],
        },
    )
    _wait_finished(app, "pump-file")
    assert time.monotonic() - started >= 0.9  # 1 s of data at real time
    assert app.telemetry.history("pump-1", "flow").columns["value"].tolist() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    [letter] = app.store.list_dead_letters("pump-file")
    assert letter.source == "pump.ndjson:4" and "pump-1/flow" in letter.reason


def test_incompatible_unit_and_unknown_twin_are_dead_letters(app: App, tmp_path: Path) -> None:
    app.twins.put("river-1", {"$metadata": {"$model": M + "RiverStation;1"}})
    (tmp_path / "x.csv").write_text("ts,mass,other\n2026-01-01T00:00:00Z,5,7\n")
    app.connections.put(
        "odd",
        {
            "type": "replay",
            "options": {"path": str(tmp_path / "x.csv")},
            "mappings": [
                {
                    "source": "mass",
                    "twin": "river-1",
                    "telemetry": "waterLevel",
                    "format": "number",
                    "unit": "kg",
                },
                {"source": "other", "twin": "nobody", "telemetry": "waterLevel", "format": "number"},
            ],
        },
    )
    _wait_finished(app, "odd")
    reasons = {d.source: d.reason for d in app.store.list_dead_letters("odd")}
    assert "cannot be converted" in reasons["mass"] and "'nobody' does not exist" in reasons["other"]


def test_bad_connection_configs_are_problems(app: App, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        app.connections.put("x", {"type": "carrier-pigeon", "mappings": []})
    assert err.value.problems[0].pointer == "/type"
    with pytest.raises(InvalidInput) as err:
        app.connections.put(
            "x",
            {
                "type": "replay",
                "options": {"path": "/nope.csv", "speed": -1},
                "mappings": [{"source": "a", "twin": "b", "telemetry": "c"}],
            },
        )
    assert {p.pointer for p in err.value.problems} == {"/options/path", "/options/speed"}
    with pytest.raises(InvalidInput) as err:
        app.connections.put("bad name!", {"type": "replay"})
    assert err.value.problems[0].pointer == "/name"
    assert app.connections.list() == []
