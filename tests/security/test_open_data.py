"""Open-data export: a non-personal layer as GeoJSON, CSV or 3D Tiles, with its licence in metadata.json and in the
data catalog; a layer with personal data is refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from futago.app import build
from futago.cli import main
from futago.config import Settings
from tests.city.export_fixtures import make_district
from tests.security.test_personal import PERSON, WEARER


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "city.db")
    app = build(Settings(db=path))
    make_district(app)
    app.models.add([WEARER])
    app.twins.put(
        "w1",
        {"$metadata": {"$model": PERSON}, "fullName": "x", "geometry": {"type": "Point", "coordinates": [139.7, 35.6]}},
    )
    app.close()
    return path


def export(db: str, out: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["export", "--db", db, "--out", str(out), "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("fmt", ["geojson", "csv", "3dtiles"])
def test_a_layer_is_published_with_its_licence_and_recorded_in_the_catalog(db: str, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / fmt
    record = export(db, out, "--format", fmt, "--licence", "CC-BY-4.0", "--attribution", "Test City")
    assert record["licence"] == "CC BY 4.0" and record["licenceUrl"].startswith("https://creativecommons.org/")
    assert record["records"]["features"] == 13 and record["provenance"]["attribution"] == "Test City"
    assert json.loads((out / "metadata.json").read_text())["id"] == record["id"]
    if fmt == "geojson":
        collection = json.loads((out / "buildings.geojson").read_text())
        assert len(collection["features"]) == 13
    elif fmt == "csv":
        rows = list(csv.DictReader((out / "buildings.csv").open(encoding="utf-8")))
        assert len(rows) == 13 and {"id", "lon", "lat", "height"} <= set(rows[0])
    else:
        assert json.loads((out / "tileset.json").read_text())["asset"]["version"] == "1.1"
        assert record["provenance"]["fileCount"] > 1
    listed = CliRunner().invoke(main, ["catalog", "list", "--db", db, "--kind", "open_data", "--json"])
    assert [e["id"] for e in json.loads(listed.stdout)["value"]] == [record["id"]]


def test_a_layer_with_personal_data_is_refused(db: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["export", "--db", db, "--out", str(tmp_path / "x"), "--layer", PERSON,
                                       "--licence", "ODbL-1.0"])  # fmt: skip
    assert result.exit_code == 1 and "personal data" in result.output
