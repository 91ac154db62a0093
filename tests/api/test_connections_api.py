"""Connections and dead letters over the REST API."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

M = "dtmi:futago:demo:"


def test_connection_lifecycle_dead_letters_and_replay(client: TestClient, tmp_path: Path) -> None:
    client.put("/twins/river-1", json={"$metadata": {"$model": M + "RiverStation;1"}})
    data = tmp_path / "levels.csv"
    data.write_text("ts,level\n2026-01-01T00:00:00Z,1.5\n2026-01-01T00:01:00Z,oops\n2026-01-01T00:02:00Z,1.7\n")
    config = {
        "type": "replay",
        "options": {"path": str(data)},
        "mappings": [{"source": "level", "twin": "river-1", "telemetry": "waterLevel", "format": "number"}],
    }
    created = client.put("/connections/levels", json=config)
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + 10
    while client.get("/connections/levels").json()["status"]["state"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    described = client.get("/connections/levels").json()
    assert described["counters"] == {"messages": 3, "readings": 2, "deadLetters": 1}
    assert [c["name"] for c in client.get("/connections").json()["value"]] == ["levels"]

    letters = client.get("/dead-letters", params={"connection": "levels"}).json()
    assert letters["counts"] == {"levels": 1}
    [letter] = letters["value"]
    assert letter["payload"] == "oops" and letter["source"] == "level" and "not a number" in letter["reason"]

    # Fix the mapping so that the bad cell parses (here: a JSON mapping would not help; replay it as is)
    replayed = client.post("/dead-letters/replay", json={"ids": [letter["id"]]}).json()["value"]
    assert replayed[0]["stored"] == 0 and "not a number" in replayed[0]["deadLetters"][0]
    after = client.get("/dead-letters").json()["value"]
    assert len(after) == 1 and after[0]["id"] != letter["id"]  # it came back as a new letter
    assert client.delete(f"/dead-letters/{after[0]['id']}").status_code == 204
    assert client.get("/dead-letters").json()["value"] == []
    assert client.delete("/dead-letters/999").status_code == 404
    bad_replay = client.post("/dead-letters/replay", json={"ids": [12345]})
    assert bad_replay.status_code == 422 and bad_replay.json()["pointer"] == "/ids"

    assert client.post("/connections/levels/stop").status_code == 200
    assert client.delete("/connections/levels").status_code == 204
    assert client.get("/connections/levels").status_code == 404


def test_invalid_connection_is_a_problem(client: TestClient) -> None:
    response = client.put(
        "/connections/x",
        json={
            "type": "replay",
            "options": {"path": "/nope"},
            "mappings": [{"source": "a", "twin": "b", "telemetry": "c", "format": "xml"}],
        },
    )
    assert response.status_code == 422
    assert {e["pointer"] for e in response.json()["errors"]} == {"/mappings/0/format"}
