"""Zips and folders in the PLATEAU layout, with codes mapped to labels by the dataset's codelists."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from futago.city.citygml import CityGmlError, iter_features, iter_sources, open_sources
from futago.city.features import BuildingFeature
from tests.city.citygml_fixtures import BLDG, FLD, plateau_dir

CLASS_CODELIST = """<?xml version="1.0" encoding="UTF-8"?>
<gml:Dictionary xmlns:gml="http://www.opengis.net/gml" gml:id="Building_class">
<gml:name>Building_class</gml:name>
<gml:dictionaryEntry><gml:Definition gml:id="id1"><gml:description>普通建物</gml:description><gml:name>3001</gml:name>
</gml:Definition></gml:dictionaryEntry>
<gml:dictionaryEntry><gml:Definition gml:id="id2"><gml:description>堅ろう建物</gml:description><gml:name>3002</gml:name>
</gml:Definition></gml:dictionaryEntry>
</gml:Dictionary>
"""
SCALE_CODELIST = CLASS_CODELIST.replace("Building_class", "BuildingRiverFloodingRiskAttribute_scale").replace(
    "<gml:description>普通建物</gml:description><gml:name>3001",
    "<gml:description>L1（計画規模）</gml:description><gml:name>1",
)


def _dataset(root: Path, plateau: Path) -> None:
    (root / "udx" / "bldg").mkdir(parents=True)
    (root / "udx" / "fld" / "pref" / "river").mkdir(parents=True)
    (root / "udx" / "luse").mkdir(parents=True)
    (root / "codelists").mkdir()
    shutil.copy(plateau / BLDG, root / "udx" / "bldg" / BLDG)
    shutil.copy(plateau / FLD, root / "udx" / "fld" / "pref" / "river" / FLD)
    shutil.copy(plateau / BLDG, root / "udx" / "luse" / "also-read.gml")  # every udx folder is read now
    (root / "codelists" / "Building_class.xml").write_text(CLASS_CODELIST, encoding="utf-8")
    (root / "codelists" / "BuildingRiverFloodingRiskAttribute_scale.xml").write_text(SCALE_CODELIST, encoding="utf-8")


def _check_labels(buildings: list[BuildingFeature]) -> None:
    assert len(buildings) == 25
    classes = {b.building_class for b in buildings}
    assert "普通建物" in classes and "3001" not in classes and "3002" not in classes
    scales = {r.scale for b in buildings for r in b.risks}
    assert "L1（計画規模）" in scales and "2" in scales  # a code missing from the codelist stays a code


def test_directory_layout(tmp_path: Path) -> None:
    _dataset(tmp_path / "city", plateau_dir())
    sources = list(iter_sources([tmp_path / "city"]))
    names = [Path(name).name for name, _, _ in sources]
    assert names == [BLDG, FLD, "also-read.gml"]
    buildings = [f for f in iter_features(tmp_path / "city" / "udx" / "bldg" / BLDG) if isinstance(f, BuildingFeature)]
    _check_labels(buildings)  # codelists found above the file by default


def test_zip_layout_read_without_extracting(tmp_path: Path) -> None:
    _dataset(tmp_path / "city", plateau_dir())
    archive = tmp_path / "01100_sapporo_2020_citygml.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((tmp_path / "city").rglob("*")):
            if path.is_file():
                zf.write(path, "01100_sapporo/" + path.relative_to(tmp_path / "city").as_posix())
    shutil.rmtree(tmp_path / "city")
    sources = list(iter_sources([archive]))
    assert [name.rsplit("/", 1)[1] for name, _, _ in sources] == [BLDG, FLD, "also-read.gml"]
    assert all("!" in name for name, _, _ in sources)
    name, opener, codelists = sources[0]
    assert codelists is not None
    with opener() as stream:
        reader = iter_features(stream, codelists=codelists, name=name)
        assert reader.crs == "EPSG:6697"
        _check_labels([f for f in reader if isinstance(f, BuildingFeature)])
    readers = list(open_sources([archive]))
    assert [sum(1 for _ in r) for r in readers] == [25, 3, 25]


def test_plain_file_and_missing_path(tmp_path: Path) -> None:
    plateau = plateau_dir()
    ((name, opener, _),) = list(iter_sources([plateau / BLDG]))
    assert name == str(plateau / BLDG)
    with opener() as stream:
        assert sum(1 for _ in iter_features(stream, name=name)) == 25
    with pytest.raises(CityGmlError, match="no such file"):
        list(iter_sources([tmp_path / "nope.gml"]))
