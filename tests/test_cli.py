"""The futago command, run as a user runs it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner

from futago.cli import main
from tests.conftest import demo_models, free_port

M = "dtmi:futago:demo:"


def _write_models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    for doc in demo_models():
        name = doc["@id"].split(":")[-1].replace(";", "_")
        (folder / f"{name}.json").write_bytes(orjson.dumps(doc))
    return folder


def test_models_validate_json_contract(tmp_path: Path) -> None:
    folder = _write_models(tmp_path)
    result = CliRunner().invoke(main, ["models", "validate", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"interfaces": 8, "problems": []}

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "@context": "dtmi:dtdl:context;3",
                "@id": "dtmi:x:Y;1",
                "@type": "Interface",
                "extends": "dtmi:x:Missing;1",
            }
        )
    )
    result = CliRunner().invoke(main, ["models", "validate", str(bad), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["interfaces"] == 1
    assert report["problems"][0]["id"] == "dtmi:x:Y;1" and report["problems"][0]["pointer"] == "/extends"


def test_models_validate_reports_broken_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"@id": ')
    result = CliRunner().invoke(main, ["models", "validate", str(broken), "--json"])
    assert result.exit_code == 1
    assert "broken.json" in json.loads(result.output)["problems"][0]["message"]


def test_load_twins_query_and_ingest(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    folder = _write_models(tmp_path)
    assert runner.invoke(main, ["models", "load", str(folder), "--db", db]).exit_code == 0

    from futago.app import build
    from futago.config import Settings

    app = build(Settings(db=db))
    app.twins.put("rs-1", {"$metadata": {"$model": M + "RiverStation;1"}, "serialNumber": "A"})
    app.twins.put("rs-2", {"$metadata": {"$model": M + "RiverStation;1"}, "serialNumber": "B"})
    app.close()

    listed = runner.invoke(main, ["twins", "list", "--model", M + "Sensor;1", "--json", "--db", db])
    assert [t["$dtId"] for t in json.loads(listed.output)] == ["rs-1", "rs-2"]
    rows = runner.invoke(
        main, ["query", "SELECT T FROM DIGITALTWINS T WHERE T.serialNumber = 'B'", "--json", "--db", db]
    )
    assert [r["T"]["$dtId"] for r in json.loads(rows.output)] == ["rs-2"]

    csv_file = tmp_path / "levels.csv"
    csv_file.write_text(
        "twinId,name,ts,value\n" + "".join(f"rs-1,waterLevel,2026-01-01T00:{m:02d}:00Z,{m / 10}\n" for m in range(30))
    )
    result = runner.invoke(main, ["ingest", str(csv_file), "--db", db])
    assert result.exit_code == 0, result.output
    ndjson_file = tmp_path / "levels.ndjson"
    ndjson_file.write_bytes(
        b"\n".join(
            orjson.dumps({"twinId": "rs-2", "name": "waterLevel", "ts": i * 1000, "value": i}) for i in range(50)
        )
    )
    assert runner.invoke(main, ["ingest", str(ndjson_file), "--db", db, "--batch", "7"]).exit_code == 0
    twin = json.loads(runner.invoke(main, ["twins", "get", "rs-1", "--db", db]).output)
    assert twin["$telemetry"]["waterLevel"]["value"] == 2.9
    twin2 = json.loads(runner.invoke(main, ["twins", "get", "rs-2", "--db", db]).output)
    assert twin2["$telemetry"]["waterLevel"]["value"] == 49.0

    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"twinId": "rs-1", "name": "waterLevel", "ts": 0, "value": 1}\n{"twinId": "rs-1", "ts": 0}\n')
    result = runner.invoke(main, ["ingest", str(bad), "--db", db])
    assert result.exit_code == 1 and "line 2" in result.output


def test_serve_refuses_public_bind_without_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "futago.cli", "serve", "--host", "0.0.0.0", "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "FUTAGO_API_TOKEN" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"], ["bench", "--help"]])
def test_help_teaches(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "Usage" in result.output


def _children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def test_the_demo_stops_its_plant_and_broker_on_sigterm(tmp_path: Path) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs Linux /proc to see child processes")
    port = free_port()
    command = [sys.executable, "-m", "futago.cli", "demo", "--port", str(port), "--db", str(tmp_path / "demo.db"),
               "--flood-step", "0.25"]  # fmt: skip
    demo = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the live flood has imported its district and started its devices
            try:
                if httpx.get(f"http://127.0.0.1:{port}/twins/kano-station", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        time.sleep(2)
        children = _children(demo.pid)
        assert children, "the demo runs the plant (and, where installed, Mosquitto) as child processes"
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=30) == 0
        time.sleep(0.5)
        assert not {pid for pid in children if Path(f"/proc/{pid}").exists()}, "a child outlived the demo"
    finally:
        if demo.poll() is None:
            demo.kill()
