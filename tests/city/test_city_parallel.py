"""Reading a city on several cores gives exactly what one reader gives; the ground and the reader's limits
keep their meaning on the faster paths (issue 17, "Figures this must reach")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from futago.city import parallel
from futago.city.citygml import CityGmlError, iter_features, reader
from futago.city.features import ReadTally, ReliefFeature
from futago.city.ground import Ground, barycentric_transforms
from futago.city.reading import iter_city
from tests.city.citygml_fixtures import BLDG, FLD, HEAD, TAIL, TNM, plateau_dir

URO3 = "https://www.geospatial.jp/iur/uro/3.0"


def _real_sources() -> list[Path]:
    """Real PLATEAU files of three cities and two spec editions: Numazu fld/tnm/bldg (EPSG:6697), Numazu and
    Sapporo urf, luse, lsld (EPSG:6668), and Kawasaki's zip when present."""
    folder = plateau_dir()
    cities = folder.parent / "plateau-cities"
    paths = [folder / BLDG, folder / FLD, folder / TNM]
    paths += sorted(cities.glob("*.gml")) + sorted(cities.glob("*.zip"))
    return paths


def _read(paths: list[Path], workers: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[object], ReadTally]:
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", str(workers))
    tally = ReadTally()
    return list(iter_city(paths, tally=tally)), tally


def test_real_files_read_on_two_workers_exactly_as_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = _real_sources()
    alone, alone_tally = _read(paths, 0, monkeypatch)
    shared, shared_tally = _read(paths, 2, monkeypatch)
    assert len(alone) >= 450 and {"Building", "UseDistrict", "LandUse", "SedimentDisasterProneArea"} <= set(
        alone_tally.features
    )
    assert shared == alone  # every feature, its district and CRS, in the same order
    assert shared_tally == alone_tally and sum(alone_tally.features.values()) == len(alone)


def test_a_broken_file_read_by_a_worker_names_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = (plateau_dir() / BLDG).read_bytes()
    (tmp_path / "a_bldg.gml").write_bytes(good)
    (tmp_path / "b_bldg.gml").write_bytes(good[: len(good) // 2])  # cut in the middle of a building
    errors = []
    for workers in (0, 2):
        monkeypatch.setenv("FUTAGO_CITY_WORKERS", str(workers))
        with pytest.raises(CityGmlError) as caught:
            list(iter_city([tmp_path]))
        errors.append((caught.value.file, caught.value.line, caught.value.message))
    assert errors[0] == errors[1] and errors[0][0].endswith("b_bldg.gml") and errors[0][1]


def test_workers_only_for_inputs_worth_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUTAGO_CITY_WORKERS", raising=False)
    assert parallel.workers_for([200_000, 300_000]) == 0  # a few hundred kB: one process is faster
    assert parallel.workers_for([parallel.PARALLEL_FROM_BYTES]) == 0  # one file: nothing to share
    assert parallel.workers_for([parallel.PARALLEL_FROM_BYTES] * 2) >= 1
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", "3")
    assert parallel.workers_for([1, 1]) == 2  # never more workers than files
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", "1")
    assert parallel.workers_for([1 << 30] * 4) == 0
    monkeypatch.setenv("FUTAGO_CITY_WORKERS", "many")
    with pytest.raises(ValueError, match="FUTAGO_CITY_WORKERS"):
        parallel.workers_for([1, 1])


def test_tallies_merge_as_one_reader_counts() -> None:
    first, second, whole = ReadTally(), ReadTally(), ReadTally()
    for tally in (first, whole):
        tally.features["Building"] += 2
        tally.skip("Foo without gml:id", "a.gml:3")
        for n in range(15):
            tally.warn(f"b{n}", "a.gml:9/Building", "not a number")
    for tally in (second, whole):
        tally.features["UseDistrict"] += 1
        tally.skip("Foo without gml:id", "b.gml:4")
        for n in range(15):
            tally.warn(f"c{n}", "b.gml:9/Building", "not a number")
    merged = ReadTally()
    parallel.merge_tally(merged, first)
    parallel.merge_tally(merged, second)
    assert merged == whole
    assert merged.skipped_examples == {"Foo without gml:id": "a.gml:3"} and merged.warning_count == 30
    assert len(merged.warnings) == ReadTally.WARNINGS_KEPT


def test_ground_interpolates_as_scipy_does() -> None:
    """The vectorised transforms and interpolation give scipy's LinearNDInterpolator values."""
    from scipy.interpolate import LinearNDInterpolator
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(7)
    grid = np.array([(138.9 + i * 0.0005, 35.1 + j * 0.0004) for i in range(40) for j in range(40)])  # co-circular
    scattered = np.column_stack([rng.uniform(138.9, 138.92, 600), rng.uniform(35.1, 35.116, 600)])
    points = np.vstack([grid, scattered])
    heights = rng.uniform(0, 80, len(points))
    ground = Ground()
    corners = [(float(x), float(y), float(h)) for (x, y), h in zip(points, heights, strict=True)]
    triangles = [tuple(corners[k : k + 3]) for k in range(0, len(corners) - 2, 3)]
    ground.add(ReliefFeature("dem", triangles=triangles))  # type: ignore[arg-type]
    assert ground.ready()
    used = np.asarray(ground._points)
    tri = Delaunay(np.unique(used, axis=0))
    assert np.allclose(barycentric_transforms(tri.points, tri.simplices), tri.transform, rtol=1e-9, atol=1e-9)
    queries = np.column_stack([rng.uniform(138.895, 138.925, 3000), rng.uniform(35.095, 35.12, 3000)])
    unique, index = np.unique(used, axis=0, return_index=True)
    expected = LinearNDInterpolator(unique, np.asarray(ground._heights)[index])(queries)
    got = ground.heights(queries)
    assert np.array_equal(np.isnan(got), np.isnan(expected)) and np.isnan(got).any() and not np.isnan(got).all()
    assert np.allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=0, atol=1e-9)
    inside = np.flatnonzero(~np.isnan(expected))[0]
    assert ground.at(*queries[inside]) == round(float(expected[inside]), 3)


def _relief(triangles: int) -> str:
    tri = "".join(
        f"<gml:Triangle><gml:exterior><gml:LinearRing><gml:posList>35.0 139.0 {z} 35.0 139.001 {z} 35.001 139.0 {z} "
        f"35.0 139.0 {z}</gml:posList></gml:LinearRing></gml:exterior></gml:Triangle>"
        for z in range(triangles)
    )
    return (
        '<core:cityObjectMember><dem:ReliefFeature gml:id="DEM1"><dem:lod>1</dem:lod><dem:reliefComponent>'
        '<dem:TINRelief gml:id="TIN1"><dem:lod>1</dem:lod><dem:tin><gml:TriangulatedSurface><gml:trianglePatches>'
        f"{tri}</gml:trianglePatches></gml:TriangulatedSurface></dem:tin></dem:TINRelief></dem:reliefComponent>"
        "</dem:ReliefFeature></core:cityObjectMember>\n"
    )


def test_dem_triangles_are_freed_as_read_and_do_not_count_against_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25,000 triangles (125,000 elements) in one relief under a 5,000-element limit: read whole, since each
    triangle is freed as it ends; a building of as many elements is refused."""
    monkeypatch.setattr(reader, "MAX_FEATURE_ELEMENTS", 5_000)
    path = tmp_path / "dem.gml"
    path.write_text(HEAD.format(uro=URO3) + _relief(25_000) + TAIL, encoding="utf-8")
    (relief,) = list(iter_features(path))
    assert isinstance(relief, ReliefFeature) and len(relief.triangles) == 25_000
    assert relief.triangles[-1][0] == (139.0, 35.0, 24_999.0)
    bomb = tmp_path / "bomb.gml"
    body = "<gen:a>" + "<gen:b/>" * 125_000 + "</gen:a>"
    bomb.write_text(f'{HEAD.format(uro=URO3)}<core:cityObjectMember>\n<bldg:Building gml:id="big">{body}'
                    f"</bldg:Building></core:cityObjectMember>\n{TAIL}", encoding="utf-8")  # fmt: skip
    with pytest.raises(CityGmlError, match="city object 'big' has more than 5,000 elements") as caught:
        list(iter_features(bomb))
    assert caught.value.line == HEAD.count("\n") + 2


def test_the_fast_ring_check_finds_what_the_position_check_finds() -> None:
    """Footprint rings take a one-loop check; any ring it does not pass gets the per-position problems."""
    from futago.core.geometry import check_geometry

    good = [[139.0, 35.0], [139.001, 35.0, 4.5], [139.0, 35.001], [139, 35]]
    assert check_geometry({"type": "Polygon", "coordinates": [good]}) == []
    assert check_geometry({"type": "Polygon", "coordinates": [[[float(np.float64(139.0)), 35.0], *good]]}) == []
    cases = {
        "/geometry/coordinates/0/2/1": [[139.0, 35.0], [139.0, 35.0], [139.0, 95.0]],
        "/geometry/coordinates/0/1/0": [[139.0, 35.0], [float("nan"), 35.0]],
        "/geometry/coordinates/0/1": [[139.0, 35.0], [True, 35.0]],
        "/geometry/coordinates/0/0": [[139.0]],
    }
    for pointer, ring in cases.items():
        problems = check_geometry({"type": "Polygon", "coordinates": [ring]})
        assert [p.pointer for p in problems] == [pointer], (ring, problems)
    numpy_ring = [[np.float64(139.0), np.float64(35.0)], [139.0, 35.0]]  # a float subclass: still a number
    assert check_geometry({"type": "LineString", "coordinates": numpy_ring}) == []


def test_nesting_far_past_the_depth_limit_is_a_clear_error(tmp_path: Path) -> None:
    """3,000 levels in one building: refused with file and line (libxml2 stops at 2,048, before our check)."""
    path = tmp_path / "deep.gml"
    deep = "<gen:a>" * 3_000 + "</gen:a>" * 3_000
    path.write_text(f'{HEAD.format(uro=URO3)}<core:cityObjectMember><bldg:Building gml:id="deep">\n{deep}'
                    f"</bldg:Building></core:cityObjectMember>\n{TAIL}", encoding="utf-8")  # fmt: skip
    with pytest.raises(CityGmlError) as caught:
        list(iter_features(path))
    assert caught.value.file == str(path) and caught.value.line is not None
    assert "depth" in caught.value.message or "deep" in caught.value.message


def test_bulk_etags_keep_the_form_of_a_single_twins() -> None:
    """The import's batch of ETags: W/"<UUID version 4>" as new_etag() writes them, all different."""
    import uuid

    from futago.store.sql.twins import _new_etags

    etags = _new_etags(2_000)
    assert len(set(etags)) == 2_000 and _new_etags(0) == []
    for etag in etags:
        assert etag.startswith('W/"') and etag.endswith('"')
        value = uuid.UUID(etag[3:-1])
        assert value.version == 4 and value.variant == uuid.RFC_4122 and str(value) == etag[3:-1]
