"""`futago city footprints`: a city's building footprints straight to GeoJSON, the path `bench city` times."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from futago.city.citygml import iter_features
from futago.cli import main
from tests.conftest import SHARED_DATA

BLDG = SHARED_DATA / "plateau" / "64413325_bldg_6697_op.gml"


@pytest.mark.skipif(not BLDG.exists(), reason=f"real PLATEAU data missing: {BLDG}")
def test_footprints_of_a_real_file_are_its_buildings(tmp_path: Path) -> None:
    out = tmp_path / "out" / "bldg.geojson"
    result = CliRunner().invoke(main, ["city", "footprints", str(BLDG), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"buildings": 25, "path": str(out)}
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    read = {f.gml_id: f for f in iter_features(BLDG) if getattr(f, "kind", None) == "Building"}
    assert {feature["properties"]["id"] for feature in collection["features"]} == set(read)
    for feature in collection["features"]:
        source = read[feature["properties"]["id"]]
        assert feature["properties"]["height"] == source.measured_height
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and 141.4 < ring[0][0] < 141.45 and 42.9 < ring[0][1] < 42.95  # lon, lat


def test_footprints_of_a_broken_file_name_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "53394611_bldg_6697_op.gml"
    broken.write_text('<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0">\n<core:cityObjectMember>\n')
    result = CliRunner().invoke(main, ["city", "footprints", str(broken), "--out", str(tmp_path / "x.geojson")])
    assert result.exit_code == 1
    message = result.output.replace("\n", "")  # the console wraps long lines
    assert "53394611_bldg_6697_op.gml:3" in message and "Premature end of data" in message
