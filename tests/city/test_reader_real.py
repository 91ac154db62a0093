"""Every city object of real PLATEAU files from three cities is read and counted: urf, luse, lsld, frn.

Numazu (lsld, luse, urf), Sapporo (urf) and a Kawasaki zip (frn + nine urf classes + codelists), all i-UR 2.0
files whose names say EPSG:6668 while their headers say EPSG:6697 with z = 0: both read as 2D (lon, lat).
"""

from __future__ import annotations

import re
import time
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import shapely

from futago.city.citygml import iter_features
from futago.city.features import CityObjectFeature, ReadTally
from futago.city.reading import iter_city
from tests.city.citygml_fixtures import PLATEAU

CITIES = PLATEAU.parent / "plateau-cities"
LSLD = "523857_lsld_6668_op.gml"
LUSE = "523836_luse_6668_op.gml"
NUMAZU_URF = "523857_urf_6668_op.gml"
SAPPORO_URF = "644131_urf_6668_op.gml"
KAWASAKI = "kawasaki-shi.zip"


def _path(name: str) -> Path:
    path = CITIES / name
    if not path.is_file():
        pytest.skip(f"real PLATEAU city data not found at {path.resolve()} (../shared/data/plateau-cities)")
    return path


def _read(*names: str) -> tuple[list[CityObjectFeature], ReadTally]:
    tally = ReadTally()
    features = [f for f, _, _ in iter_city([_path(n) for n in names], tally=tally)]
    assert all(isinstance(f, CityObjectFeature) for f in features)
    return [f for f in features if isinstance(f, CityObjectFeature)], tally


def _raw_counts(text: str) -> Counter[str]:
    """Top-level objects counted straight from the XML text, independently of the reader."""
    return Counter(re.findall(r"<core:cityObjectMember>\s*<\w+:(\w+)", text))


def test_numazu_sediment_disaster_areas() -> None:
    features, tally = _read(LSLD)
    assert tally.features == Counter({"SedimentDisasterProneArea": 81})
    assert tally.features == _raw_counts(_path(LSLD).read_text(encoding="utf-8-sig"))
    assert not tally.skipped and tally.warning_count == 0
    first = features[0]
    assert (first.module, first.kind, first.gml_id) == (
        "urf",
        "SedimentDisasterProneArea",
        "lsld_d5e0f93f-30ba-47ca-8819-54370ee41bfa",
    )
    assert first.properties["zoneName"] == "八重団地" and first.properties["location"] == "沼津市下香貫八重"
    assert first.codes["areaType"] == "2" and first.codes["disasterType"] == "1"  # no codelists beside the file
    assert first.lods == {1} and len(first.polygons) == 1
    lon, lat = first.polygons[0][0][0]  # (lon, lat), z = 0 dropped
    assert (lon, lat) == (138.88329775, 35.08709486111111)
    assert all(len(p) == 2 for f in features for poly in f.polygons for ring in poly for p in ring)
    assert all(shapely.Polygon(f.polygons[0][0]).area > 0 for f in features)  # as drawn (some self-touch)


def test_numazu_land_use() -> None:
    features, tally = _read(LUSE)
    assert tally.features == Counter({"LandUse": 225}) == _raw_counts(_path(LUSE).read_text(encoding="utf-8-sig"))
    first = features[0]
    assert (first.module, first.kind) == ("luse", "LandUse")
    assert first.codes == {"class": "215"}
    assert first.attributes == {"prefecture": "22", "city": "22203", "surveyYear": "2015"}  # uro, as for buildings
    assert Counter(f.codes["class"] for f in features).most_common(1)[0][1] > 10


def test_numazu_and_sapporo_zoning() -> None:
    features, tally = _read(NUMAZU_URF)
    assert tally.features == Counter(UseDistrict=38, AreaClassification=3, SpecialUseDistrict=2, ScenicDistrict=4)
    use = [f for f in features if f.kind == "UseDistrict"]
    assert {f.properties["custodian"] for f in use} <= {"沼津市", "静岡県"}
    assert use[0].properties["floorAreaRate"] == "0.6" and use[0].codes["function"] == "1"
    sapporo, tally = _read(SAPPORO_URF)
    assert tally.features == Counter(UrbanPlanningArea=1, AreaClassification=6, FirePreventionDistrict=1, UseDistrict=4)
    (area,) = [f for f in sapporo if f.kind == "UrbanPlanningArea"]
    assert area.name == "札幌市都市計画区域" and area.codes["function"] == "21"
    lon, lat = area.polygons[0][0][0]
    assert 140.9 < lon < 141.6 and 42.7 < lat < 43.2  # not swapped


def test_kawasaki_zip_furniture_and_nine_zoning_classes() -> None:
    archive = _path(KAWASAKI)
    start = time.perf_counter()
    features, tally = _read(KAWASAKI)
    elapsed = time.perf_counter() - start
    raw: Counter[str] = Counter()
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if member.endswith(".gml"):
                raw += _raw_counts(zf.read(member).decode("utf-8-sig"))
    assert tally.features == raw
    assert tally.features == Counter(
        CityFurniture=28,
        ProductiveGreenZone=27,
        SpecialGreenSpaceConservationDistrict=7,
        UseDistrict=4,
        SpecialUseDistrict=4,
        AreaClassification=2,
        PortZone=2,
        FirePreventionDistrict=2,
        HeightControlDistrict=1,
        ParkingPlaceDevelopmentZone=1,
    )
    assert not tally.skipped and tally.warning_count == 0
    assert len({f.kind for f in features if f.module == "urf"}) == 9
    use = next(f for f in features if f.gml_id == "urf_1dd92d7f-5361-4515-a933-cec0ebcbc48b")
    assert use.properties["function"] == "工業専用地域" and use.codes["function"] == "13"  # the zip's codelists
    assert (use.properties["floorAreaRate"], use.properties["buildingCoverageRate"]) == ("2", "0.6")
    green = next(f for f in features if f.kind == "ProductiveGreenZone" and "nominalArea" in f.properties)
    assert green.units["nominalArea"] == "ha"
    furniture = [f for f in features if f.kind == "CityFurniture"]
    assert all(f.module == "frn" and f.lods == {3} for f in furniture)
    pole = next(f for f in furniture if f.gml_id == "frn_03eb8124-d0d5-4725-bc5e-9aa6b3502b6e")
    assert pole.properties["function"] == "柱" and pole.codes["function"] == "4800"
    assert pole.attributes["geometrySrcDesc"] == "地上レーザ測量"
    assert pole.height == 5.744  # top - bottom of the LOD3 faces
    # the outline: one 2D polygon, not the 3D faces it came from, with a ground area of a few square metres
    assert len(pole.polygons) == 1 and all(len(p) == 2 for p in pole.polygons[0][0])
    outline = shapely.Polygon(pole.polygons[0][0], pole.polygons[0][1:])
    assert outline.is_valid and 1e-10 < outline.area < 1e-9
    assert all(f.polygons and f.height for f in furniture)
    assert elapsed < 20  # 11 MB of LOD3 geometry; about 2 s here


def test_outline_matches_the_union_of_every_face() -> None:
    """The half-faces shortcut gives the outline that uniting all faces gives, on the real LOD3 furniture."""
    archive = _path(KAWASAKI)
    with zipfile.ZipFile(archive) as zf:
        data = zf.read("kawasaki-shi/udx/frn/53391597_frn_6697_op.gml")
    import io

    from futago.city.citygml import objects

    faces: dict[str, list] = {}
    real_outline = objects.outline

    def keep(polygons: list) -> list:
        faces[str(len(faces))] = polygons
        return real_outline(polygons)

    objects.outline = keep
    try:
        furniture = list(iter_features(io.BytesIO(data), name="frn"))
    finally:
        objects.outline = real_outline
    for feature, polygons in zip(furniture, faces.values(), strict=True):
        assert isinstance(feature, CityObjectFeature)
        every = shapely.union_all([shapely.Polygon([p[:2] for p in poly[0]]).buffer(0) for poly in polygons])
        mine = shapely.union_all([shapely.Polygon(poly[0], poly[1:]) for poly in feature.polygons])
        assert abs(mine.area - every.area) <= 0.02 * every.area, feature.gml_id
