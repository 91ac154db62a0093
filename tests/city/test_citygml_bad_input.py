"""Bad input is a CityGmlError naming the file and the line, never a half-read success."""

from __future__ import annotations

from pathlib import Path

import pytest

from futago.city.citygml import CityGmlError, iter_features
from tests.city.citygml_fixtures import BLDG, HEAD, TAIL, plateau_dir, polygon


def _read_all(path: Path) -> int:
    return sum(1 for _ in iter_features(path))


def test_truncated_file(tmp_path: Path) -> None:
    data = (plateau_dir() / BLDG).read_bytes()
    path = tmp_path / "cut.gml"
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CityGmlError) as info:
        _read_all(path)
    err = info.value
    assert err.file == str(path) and err.line is not None and err.line > 100
    assert str(path) in str(err) and f":{err.line}" in str(err)


def test_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gml"
    path.write_bytes(b"\x00\x01this is not xml at all\xff" * 10)
    with pytest.raises(CityGmlError) as info:
        _read_all(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gml"
    path.write_bytes(b"")
    with pytest.raises(CityGmlError, match="empty"):
        _read_all(path)


def test_non_citygml_root(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>\n')
    with pytest.raises(CityGmlError, match="not CityGML") as info:
        iter_features(path)
    assert info.value.line == 2


def test_bad_coordinates_name_the_line(tmp_path: Path) -> None:
    doc = (
        '<core:cityObjectMember><bldg:Building gml:id="X"><bldg:lod0FootPrint><gml:MultiSurface>'
        + polygon("35.0 139.0 1 35.0 oops 1 35.0 139.0 1")
        + "</gml:MultiSurface></bldg:lod0FootPrint></bldg:Building></core:cityObjectMember>\n"
    )
    path = tmp_path / "bad.gml"
    path.write_text(HEAD.format(uro="https://www.geospatial.jp/iur/uro/3.0") + doc + TAIL, encoding="utf-8")
    with pytest.raises(CityGmlError, match="bad coordinate") as info:
        _read_all(path)
    assert info.value.line == 4  # the line of the bad ring


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CityGmlError, match="cannot open"):
        iter_features(tmp_path / "none.gml")
