"""GET /catalog: the datasets of the store with licence and provenance, from real imports, readings and runs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from futago.app import App, build
from futago.city.citygml import CityGmlError
from futago.city.generator import DistrictSpec, GeneratedDistrict, generate_district
from futago.cli import main
from futago.config import Settings
from futago.core.errors import InvalidInput
from futago.core.telemetry import Reading, format_timestamp, parse_timestamp
from futago.services.city_import import CityImporter
from tests.api.conftest import M
from tests.conftest import demo_models

KEYS = ["id", "title", "kind", "licence", "licenceUrl", "provenance", "records", "updated"]
START = parse_timestamp("2026-07-01T00:00:00Z")
STEP = 600_000_000  # ten minutes


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> GeneratedDistrict:
    out = tmp_path_factory.mktemp("city") / "district.zip"
    return generate_district(DistrictSpec(buildings=60, seed=5, parts_share=0.2), out)


def _import(app: App, path: Path, **options: Any) -> None:
    CityImporter(app.store, app.models, app.twins, app.bus).run([path], **options)


def _entries(client: TestClient, kind: str | None = None) -> list[dict[str, Any]]:
    response = client.get("/catalog", params={"kind": kind} if kind else None)
    assert response.status_code == 200, response.text
    value: list[dict[str, Any]] = response.json()["value"]
    for entry in value:
        assert list(entry) == KEYS
        assert entry["kind"] == kind or kind is None
    return value


def test_a_generated_district_is_listed_with_its_counts_files_and_licence(
    app: App, client: TestClient, district: GeneratedDistrict
) -> None:
    assert _entries(client, "city_import") == []
    _import(app, district.path, source="generated")
    (entry,) = _entries(client, "city_import")
    records = entry["records"]
    assert records["buildings"] == district.building_count == 60
    assert records["buildingParts"] == district.building_part_count > 0
    assert records["floodZones"] > 0 and records["floodRiskBuildings"] == district.flood_risk_buildings
    assert records["twins"] == app.store.count_twins()  # every twin in the store came from this import
    assert entry["licence"] == "CC0 (synthetic)"
    assert entry["licenceUrl"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert entry["title"] == "Synthetic district: district.zip"
    provenance = entry["provenance"]
    assert provenance["source"] == "generated" and provenance["licenceGivenBy"] == "default"
    assert provenance["crs"] == ["EPSG:6697"]
    assert provenance["bboxWgs84"] == pytest.approx(list(district.bbox_wgs84))
    (file,) = provenance["files"]
    content = district.path.read_bytes()
    assert file["name"] == "district.zip" and file["bytes"] == len(content)
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    assert file["members"] == sum(1 for f in district.files if f.endswith(".gml"))
    assert provenance["tool"] == "futago city import" and provenance["toolVersion"]
    assert entry["updated"] == provenance["importedAt"]
    assert client.get(f"/catalog/{entry['id']}").json() == entry


def test_licence_defaults_per_source_and_a_given_licence_wins(
    app: App, client: TestClient, district: GeneratedDistrict, tmp_path: Path
) -> None:
    # Named as PLATEAU names its files, so without a source it is taken for PLATEAU.
    _import(app, district.path)
    (entry,) = _entries(client, "city_import")
    assert entry["licence"] == "CC BY 4.0 (PLATEAU)" and entry["provenance"]["source"] == "plateau"
    assert entry["licenceUrl"] == "https://www.mlit.go.jp/plateau/site-policy/"
    # The same files again: the entry is replaced, not doubled.
    _import(app, district.path, source="generated", licence="CC BY-SA 4.0 (our survey)")
    (again,) = _entries(client, "city_import")
    assert again["id"] == entry["id"] and again["licence"] == "CC BY-SA 4.0 (our survey)"
    assert again["licenceUrl"] is None and again["provenance"]["licenceGivenBy"] == "user"
    # Other files: a second entry.
    other = generate_district(DistrictSpec(buildings=7, seed=9, river=False), tmp_path / "small.zip")
    _import(app, other.path, source="generated")
    entries = {e["title"]: e for e in _entries(client, "city_import")}
    assert entries["Synthetic district: small.zip"]["records"]["buildings"] == 7
    assert len(entries) == 2


def test_a_failed_import_records_no_dataset(app: App, tmp_path: Path) -> None:
    garbage = tmp_path / "53394611_bldg_6697_op.gml"
    garbage.write_text("<notCityGML/>")
    with pytest.raises(CityGmlError):
        _import(app, garbage)
    with pytest.raises(InvalidInput) as err:
        _import(app, garbage, source="satellite")
    assert err.value.problems[0].pointer == "/source"
    assert app.store.list_datasets() == []


def test_readings_appear_as_telemetry_with_count_and_time_range(client: TestClient) -> None:
    assert client.put("/twins/rs", json={"$metadata": {"$model": M + "RiverStation;1"}}).status_code == 201
    assert client.put("/twins/rg", json={"$metadata": {"$model": M + "RainGauge;1"}}).status_code == 201
    rows = [{"name": "waterLevel", "ts": f"2026-01-01T00:{m:02d}:00Z", "value": float(m)} for m in range(60)]
    assert client.post("/twins/rs/telemetry", json=rows).status_code == 202
    assert client.post("/twins/rs/telemetry", json=rows[:10]).status_code == 202  # redelivered: no new readings
    ndjson = "\n".join(
        json.dumps({"twinId": "rg", "ts": f"2026-01-02T{h:02d}:00:00Z", "values": {"rainfall": 0.5}}) for h in range(5)
    )
    response = client.post("/telemetry", content=ndjson, headers={"content-type": "application/x-ndjson"})
    assert response.status_code == 202
    mqtt = {
        "type": "mqtt",
        "autostart": False,
        "options": {"host": "127.0.0.1", "port": 1883, "username": "u", "password": "secret-pw"},
        "mappings": [{"source": "river/{station}/level", "twin": "r{station}", "telemetry": "waterLevel"}],
    }
    assert client.put("/connections/river-mqtt", json=mqtt).status_code == 200

    telemetry = {e["id"]: e for e in _entries(client, "telemetry")}
    assert list(telemetry) == ["telemetry:rg", "telemetry:rs"]
    river = telemetry["telemetry:rs"]
    assert river["records"] == {"series": 1, "readings": 60}
    assert river["provenance"]["first"] == "2026-01-01T00:00:00.000Z"
    assert river["provenance"]["last"] == river["updated"] == "2026-01-01T00:59:00.000Z"
    assert river["provenance"]["model"] == M + "RiverStation;1"
    assert river["provenance"]["series"] == [
        {"name": "waterLevel", "readings": 60, "first": "2026-01-01T00:00:00.000Z", "last": "2026-01-01T00:59:00.000Z"}
    ]
    assert river["provenance"]["sources"] == [
        {"connection": "river-mqtt", "type": "mqtt", "endpoint": "mqtt://127.0.0.1:1883"}
    ]
    assert "secret-pw" not in json.dumps(river)
    rain = telemetry["telemetry:rg"]
    assert rain["records"] == {"series": 1, "readings": 5} and rain["provenance"]["sources"] == []
    assert (rain["provenance"]["first"], rain["updated"]) == ("2026-01-02T00:00:00.000Z", "2026-01-02T04:00:00.000Z")
    assert river["licence"] == "unspecified" and river["licenceUrl"] is None
    assert client.get("/catalog/telemetry:rs").json() == river


def test_a_behaviours_outputs_are_derived_not_telemetry(app: App, client: TestClient) -> None:
    app.twins.put("pump-1", {"$metadata": {"$model": M + "Pump;1"}, "name": "P", "setpoint": 1.0})
    rng = np.random.default_rng(3)
    ts = START + np.arange(288) * STEP
    temperature = 45 + rng.normal(0, 0.2, 288)
    readings = [Reading("pump-1", "bearingTemperature", int(t), float(v)) for t, v in zip(ts, temperature, strict=True)]
    app.telemetry.append(readings)
    behaviour = {"model": "robust_z", "twins": ["pump-1"], "inputs": {"t": "bearingTemperature"}}
    app.behaviours.put("bearing", {**behaviour, "step": "10m", "window": "2d", "train": "1d"})
    (run,) = app.behaviours.run("bearing", now_us=int(ts[-1]) + STEP)
    assert run["status"] == "ok" and run["written"] > 0, run

    (derived,) = _entries(client, "derived")
    assert derived["id"] == "derived:bearing"
    assert derived["records"] == {"twins": 1, "series": 2, "readings": run["written"]}
    provenance = derived["provenance"]
    assert provenance["model"] == "robust_z" and provenance["modelKind"] == "detector"
    assert provenance["outputs"] == ["anomaly", "anomalyScore"] and provenance["twins"] == ["pump-1"]
    assert provenance["inputs"] == {"t": {"telemetry": "bearingTemperature"}}
    assert provenance["lastRun"]["id"] == run["id"] and provenance["lastRun"]["status"] == "ok"
    assert derived["updated"] == run["started"]
    (measured,) = _entries(client, "telemetry")
    assert measured["records"] == {"series": 1, "readings": 288}  # the flags and scores are not counted here
    assert measured["provenance"]["last"] == format_timestamp(int(ts[-1]))


def test_models_are_listed_per_namespace_with_twin_counts(app: App, client: TestClient) -> None:
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    app.models.add(
        [
            {
                "@context": "dtmi:dtdl:context;3",
                "@id": "dtmi:example:plant:Valve;1",
                "@type": "Interface",
                "contents": [{"@type": "Telemetry", "name": "position", "schema": "double"}],
            }
        ]
    )
    models = {e["id"]: e for e in _entries(client, "models")}
    demo = models["models:dtmi:futago:demo"]
    assert demo["records"] == {"models": len(demo_models()), "decommissioned": 0, "twins": 1}
    assert demo["licence"] == "Apache-2.0 (futago)" and demo["provenance"]["format"] == "DTDL v3"
    plant = models["models:dtmi:example:plant"]
    assert plant["records"] == {"models": 1, "decommissioned": 0, "twins": 0}
    assert plant["licence"] == "unspecified" and plant["provenance"]["source"] == "uploaded"
    assert plant["provenance"]["models"] == ["dtmi:example:plant:Valve;1"]


def test_all_kinds_come_in_order_and_errors_are_problems(
    app: App, client: TestClient, district: GeneratedDistrict
) -> None:
    _import(app, district.path, source="generated")
    app.twins.put("rs", {"$metadata": {"$model": M + "RiverStation;1"}})
    app.telemetry.append([Reading("rs", "waterLevel", START, 1.0)])
    kinds = [e["kind"] for e in _entries(client)]
    assert kinds == sorted(kinds, key=["city_import", "telemetry", "derived", "models"].index)
    assert kinds.count("city_import") == kinds.count("telemetry") == 1 and "models" in kinds

    bad = client.get("/catalog", params={"kind": "satellite"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["pointer"] == "/kind"
    for missing in ("telemetry:nobody", "nothing-here", "city_import:0000"):
        response = client.get(f"/catalog/{missing}")
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_cli_catalog_list(tmp_path: Path, district: GeneratedDistrict) -> None:
    db = str(tmp_path / "cli.db")
    app = build(Settings(db=db))
    try:
        _import(app, district.path, source="generated")
    finally:
        app.close()
    result = CliRunner().invoke(main, ["catalog", "list", "--kind", "city_import", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.output)["value"]
    assert entry["records"]["buildings"] == 60 and entry["licence"] == "CC0 (synthetic)"
    table = CliRunner().invoke(main, ["catalog", "list", "--db", db])
    assert table.exit_code == 0 and "city_import" in table.output and "models:" in table.output
