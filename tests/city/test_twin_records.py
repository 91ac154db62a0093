"""The lean reading an import and the footprints use: ``geometry="twin"`` and building records made in the workers.

Both must change nothing that is stored or written: the same footprints, groundElevation and twin documents as
reading every geometry and making the documents in the importer, on real PLATEAU buildings and on a generated
district with relief, building parts and LOD2 surfaces.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely

from futago.city.citygml import CityGmlError, iter_features, iter_sources
from futago.city.citygml.geometry import min_z
from futago.city.features import BuildingFeature
from futago.city.footprints import footprint_chunk, footprint_lines
from futago.city.generator import DistrictSpec, generate_district
from futago.city.parallel import read_local, read_parallel
from futago.city.reading import iter_city
from futago.city.twins import BuildingRecord, building_document
from tests.city.citygml_fixtures import BLDG, HEAD, TAIL, plateau_dir, polygon, ring

URO = "https://www.geospatial.jp/iur/uro/2.0"


def _buildings(path: Path, geometry: str) -> list[BuildingFeature]:
    return [f for f in iter_features(path, geometry=geometry) if isinstance(f, BuildingFeature)]


def test_twin_geometry_reads_real_buildings_the_same_without_their_lod1_polygons() -> None:
    path = plateau_dir() / BLDG
    full, lean = _buildings(path, "full"), _buildings(path, "twin")
    assert len(full) == len(lean) == 25
    for a, b in zip(full, lean, strict=True):
        assert a.lod1_solid and (a.footprint or a.lod0_roof_edge)  # the real file has LOD0 and LOD1 for each
        assert b.lod1_solid == []  # not read into polygons...
        assert b.ground_elevation == a.ground_elevation == min_z(a.lod1_solid)  # ...and the same ground height
        assert dataclasses.replace(b, lod1_solid=a.lod1_solid) == a


def _member(body: str, gid: str) -> str:
    return f'<core:cityObjectMember><bldg:Building gml:id="{gid}">{body}</bldg:Building></core:cityObjectMember>\n'


def _solid(surfaces: str) -> str:
    return (
        "<bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface>"
        f"{surfaces}</gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid>"
    )


def _roof_edge(z: float) -> str:
    return (
        f"<bldg:lod0RoofEdge><gml:MultiSurface>{polygon(ring(35.0, 139.0, z))}</gml:MultiSurface></bldg:lod0RoofEdge>"
    )


def test_twin_geometry_takes_the_lowest_height_of_the_rings_full_reading_keeps(tmp_path: Path) -> None:
    """Holes count, a polygon whose exterior is empty does not (with its holes), gml:pos rings and 2D rings too."""
    holed = (
        "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>"
        f"{ring(35.0, 139.0, 5.0)}</gml:posList></gml:LinearRing></gml:exterior><gml:interior><gml:LinearRing>"
        f"<gml:posList>{ring(35.00002, 139.00002, 2.5, 0.00001)}</gml:posList></gml:LinearRing></gml:interior>"
        "</gml:Polygon></gml:surfaceMember>"
    )
    empty_exterior = (
        "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList></gml:posList>"
        "</gml:LinearRing></gml:exterior><gml:interior><gml:LinearRing><gml:posList>"
        f"{ring(35.0, 139.0, -40.0)}</gml:posList></gml:LinearRing></gml:interior></gml:Polygon></gml:surfaceMember>"
    )
    by_pos = (
        "<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>"
        + "".join(
            f"<gml:pos>{p}</gml:pos>" for p in ("35.0 139.0 3.5", "35.0 139.1 3.5", "35.1 139.1 4", "35.0 139.0 3.5")
        )
        + "</gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>"
    )
    flat = (
        '<gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList srsDimension="2">'
        "35.0 139.0 35.0 139.1 35.1 139.1 35.0 139.0</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
        "</gml:surfaceMember>"
    )
    members = [
        _member(_roof_edge(9.0) + _solid(holed + polygon(ring(35.0, 139.0, 7.0))), "holed"),
        _member(_roof_edge(9.0) + _solid(empty_exterior + polygon(ring(35.0, 139.0, 6.0))), "empty"),
        _member(_roof_edge(9.0) + _solid(by_pos), "pos"),
        _member(_roof_edge(9.0) + _solid(flat), "flat"),
        _member(_solid(polygon(ring(35.0, 139.0, 1.5))), "no-lod0"),  # the footprint comes from the solid
    ]
    path = tmp_path / "b.gml"
    path.write_text(HEAD.format(uro=URO) + "".join(members) + TAIL, encoding="utf-8")
    full, lean = _buildings(path, "full"), _buildings(path, "twin")
    assert [b.ground_elevation for b in lean] == [b.ground_elevation for b in full] == [2.5, 6.0, 3.5, None, 1.5]
    assert [b.footprint for b in lean] == [b.footprint for b in full]
    assert [bool(b.lod1_solid) for b in lean] == [False, False, False, False, True]


@pytest.mark.parametrize("bad", ["35.0 139.0 x", "35.0 139.0 1 2"])
def test_twin_geometry_refuses_a_bad_lod1_ring_as_full_reading_does(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "b.gml"
    path.write_text(HEAD.format(uro=URO) + _member(_roof_edge(9.0) + _solid(polygon(bad)), "bad") + TAIL)
    errors = []
    for geometry in ("full", "twin"):
        with pytest.raises(CityGmlError) as caught:
            list(iter_features(path, geometry=geometry))
        errors.append(str(caught.value))
    assert errors[0] == errors[1] and "b.gml" in errors[0]


def test_an_unknown_geometry_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="geometry must be one of full, twin"):
        iter_features(plateau_dir() / BLDG, geometry="lod1")


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = DistrictSpec(buildings=600, seed=11, lod2_share=0.3, parts_share=0.2)
    return generate_district(spec, tmp_path_factory.mktemp("district") / "district.zip").path


def _pairs(paths: list[Path]) -> Iterator[tuple[BuildingFeature, BuildingRecord]]:
    full = [(f, d) for f, d, _ in iter_city(paths) if isinstance(f, BuildingFeature)]
    records = [(r, d) for r, d, _ in iter_city(paths, records=True) if isinstance(r, BuildingRecord)]
    assert len(full) == len(records) > 0
    for (feature, d1), (record, d2) in zip(full, records, strict=True):
        assert d1 == d2
        yield feature, record


@pytest.mark.parametrize("which", ["real", "generated"])
def test_records_carry_the_documents_and_shapes_the_importer_made(which: str, district: Path) -> None:
    paths = [plateau_dir() / BLDG] if which == "real" else [district]
    kinds, relief_heights = set(), 0
    for feature, record in _pairs(paths):
        document = building_document(feature)  # after the relief's ground height, as the importer made it
        assert record.document == document and list(record.document) == list(document)  # same keys, same order
        assert (record.gml_id, record.kind, record.parent_id, record.source) == (
            feature.gml_id,
            feature.kind,
            feature.parent_id,
            feature.source,
        )
        assert record.flood_risk == any(r.kind == "river_flooding" for r in feature.risks)
        shape = shapely.geometry.shape(document["geometry"])
        assert record.bounds == tuple(shapely.bounds(shape).tolist())
        centre = shapely.centroid(shape)
        assert record.centre == (centre.x, centre.y)
        kinds.add(feature.kind)
        lowest = min_z(feature.lod1_solid)
        relief_heights += lowest is not None and document.get("groundElevation") != lowest
    if which == "generated":  # parts, LOD2 surfaces, and ground heights taken from the DEM all went through
        assert kinds == {"Building", "BuildingPart"} and relief_heights > 0


def test_footprints_read_by_a_fork_server_are_those_read_in_process(
    district: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With another thread running, workers are not forked from this process but from a fork server."""
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", "1")
    alone = list(footprint_lines([district]))
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", "2")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        served = list(footprint_lines([district]))
    finally:
        stop.set()
        other.join()
    assert served == alone and len(alone) == 600


@pytest.mark.parametrize("which", ["real", "generated"])
def test_footprint_reading_makes_the_lines_full_reading_makes(which: str, district: Path) -> None:
    """``geometry="footprint"`` skips attributes, parts and the solids under a LOD0 footprint: not one line differs."""
    path = plateau_dir() / BLDG if which == "real" else district
    if which == "real":
        full = list(iter_features(path))
        lean = list(iter_features(path, geometry="footprint"))
    else:
        full = [f for f, _, _ in iter_city([path])]
        sources = list(iter_sources([path]))
        lean = [f for _, _, chunk, _ in read_local(sources, range(len(sources)), None, "footprint") for f in chunk]
    lines = footprint_chunk(full)
    assert lines == footprint_chunk(lean) and len(lines) == (25 if which == "real" else 600)
    buildings = [f for f in lean if isinstance(f, BuildingFeature)]
    assert all(not b.attributes and not b.lod1_solid and b.ground_elevation is None for b in buildings)
    assert all(b.kind == "Building" for b in buildings)  # parts are not read


def _environment_probe(chunk: list[object]) -> list[str | None]:
    """A transform that tells what a worker's environment says (module-level, so that it reaches workers)."""
    return [os.environ.get("FUTAGO_TEST_PROBE")] * len(chunk)


def test_fork_server_workers_see_the_environment_of_now(district: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fork server keeps the environment it started with: a worker takes the caller's of now, as spawn does."""
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", "2")
    monkeypatch.delenv("FUTAGO_TEST_PROBE", raising=False)
    sources = list(iter_sources([district]))
    wanted = [i for i, (name, _, _) in enumerate(sources) if "/bldg/" in name]
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        before = [v for _, _, chunk, _ in read_parallel([district], wanted, 2, None, _environment_probe) for v in chunk]
        monkeypatch.setenv("FUTAGO_TEST_PROBE", "now")
        after = [v for _, _, chunk, _ in read_parallel([district], wanted, 2, None, _environment_probe) for v in chunk]
    finally:
        stop.set()
        other.join()
    assert set(before) == {None} and set(after) == {"now"} and len(after) >= 600
