"""Where CityGML comes from: single files, folders and zips in the PLATEAU layout.

A PLATEAU city dataset is ``udx/<type>/*.gml`` plus ``codelists/*.xml``, delivered as a zip of
several GB. Members are opened straight from the zip (no extraction to disk), and each source
comes with the codelist resolver of its dataset.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from futago.city.citygml.codelists import CodelistResolver, _file_opener, _zip_opener
from futago.city.citygml.errors import CityGmlError
from futago.city.citygml.reader import CityGmlReader

# The udx folders of the PLATEAU product specification (editions 2.x to 4.x). Every .gml under udx/ is read,
# these and any other: a folder a later edition adds is read too, so that nothing is left out unsaid.
FEATURE_TYPES: tuple[str, ...] = (
    "bldg", "tran", "rwy", "trk", "squr", "wwy", "brid", "tun", "cons", "frn", "ubld", "unf", "veg",
    "luse", "urf", "fld", "tnm", "htd", "ifld", "lsld", "wtr", "dem", "gen", "area",
)  # fmt: skip
# CityGML and codelists deflate about 5 to 25 times; a member that claims far more is a zip bomb. zipfile never
# inflates a member beyond its declared size, so the declared sizes are what is checked. Small members are let be.
MAX_RATIO = 200
RATIO_FROM_BYTES = 1 << 20

Source = tuple[str, Callable[[], BinaryIO], CodelistResolver | None]


def iter_sources(paths: Sequence[str | Path]) -> Iterator[Source]:
    """(name, opener, codelists) for every CityGML file in the given files, folders and zips.

    ``name`` is the file path, or ``archive.zip!member`` for a zip member; ``opener()`` returns
    a fresh binary stream; ``codelists`` resolves the dataset's codes (None when it has none).
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _dir_sources(path)
        elif path.suffix.lower() == ".zip":
            yield from _zip_sources(path)
        elif path.is_file():
            yield str(path), _file_opener(path), CodelistResolver.near(path)
        else:
            raise CityGmlError(str(path), None, "no such file or folder")


def _dir_sources(root: Path) -> Iterator[Source]:
    resolver = CodelistResolver.near(root / "x.gml")
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() == ".gml" and path.is_file():
            yield str(path), _file_opener(path), resolver
        elif path.suffix.lower() == ".zip" and path.is_file():
            yield from _zip_sources(path)


def _zip_sources(archive: Path) -> Iterator[Source]:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [info for info in zf.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise CityGmlError(str(archive), None, f"not a readable zip: {exc}") from None
    _check_unique(archive, infos)
    codelists = [i for i in infos if i.filename.lower().endswith(".xml") and "codelists" in i.filename.split("/")[:-1]]
    gml = [i for i in infos if i.filename.lower().endswith(".gml")]
    _check_inflation(archive, [*codelists, *gml])
    resolver = CodelistResolver.from_zip(archive, [i.filename for i in codelists]) if codelists else None
    for member in sorted(i.filename for i in gml):
        yield f"{archive}!{member}", _zip_opener(archive, member), resolver


def _check_unique(archive: Path, infos: Sequence[zipfile.ZipInfo]) -> None:
    """Two members of one name: which one a reader gets is undefined, and the same city objects would be
    imported twice."""
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise CityGmlError(
                f"{archive}!{info.filename}", None, "the zip holds more than one member of this name; remove the copies"
            )
        seen.add(info.filename)


def _check_inflation(archive: Path, read: Sequence[zipfile.ZipInfo]) -> None:
    """Refuse a member that futago would read, or all of them together, inflating like a zip bomb (members it
    never opens are left alone)."""
    _check_ratio(str(archive), archive.stat().st_size, sum(info.file_size for info in read))
    for info in read:
        _check_ratio(f"{archive}!{info.filename}", info.compress_size, info.file_size)


def _check_ratio(name: str, packed: int, inflated: int) -> None:
    if inflated > RATIO_FROM_BYTES and inflated > MAX_RATIO * max(1, packed):
        raise CityGmlError(
            name, None, f"inflates {packed:,} bytes to {inflated:,}, more than {MAX_RATIO} times: refused as a zip bomb"
        )


def open_sources(paths: Sequence[str | Path]) -> Iterator[CityGmlReader]:
    """A reader per CityGML file in the given paths (each with ``.name`` and ``.crs``)."""
    for name, opener, resolver in iter_sources(paths):
        yield CityGmlReader(opener(), codelists=resolver or CodelistResolver(), name=name)
