"""Where CityGML comes from: single files, folders and zips in the PLATEAU layout.

A PLATEAU city dataset is ``udx/<type>/*.gml`` plus ``codelists/*.xml``, delivered as a zip of
several GB. Members are opened straight from the zip (no extraction to disk), and each source
comes with the codelist resolver of its dataset.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from futago.city.citygml.codelists import CodelistResolver, _file_opener, _zip_opener
from futago.city.citygml.errors import CityGmlError
from futago.city.citygml.reader import CityGmlReader

# The udx feature types futago reads; others (luse, urf, veg, ...) are not opened at all.
FEATURE_TYPES: tuple[str, ...] = ("bldg", "fld", "tnm", "htd", "ifld", "dem", "tran")

Source = tuple[str, Callable[[], BinaryIO], CodelistResolver | None]


def _wanted(parts: Sequence[str]) -> bool:
    """A .gml under udx/ is read only for the feature types above; loose files always are."""
    if "udx" not in parts:
        return True
    i = len(parts) - 1 - list(reversed(parts)).index("udx")
    return i + 1 < len(parts) and parts[i + 1] in FEATURE_TYPES


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
        rel = path.relative_to(root).parts
        if path.suffix.lower() == ".gml" and path.is_file() and _wanted(rel):
            yield str(path), _file_opener(path), resolver
        elif path.suffix.lower() == ".zip" and path.is_file():
            yield from _zip_sources(path)


def _zip_sources(archive: Path) -> Iterator[Source]:
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [info.filename for info in zf.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        raise CityGmlError(str(archive), None, f"not a readable zip: {exc}") from None
    codelists = [n for n in names if n.lower().endswith(".xml") and "codelists" in n.split("/")[:-1]]
    resolver = CodelistResolver.from_zip(archive, codelists) if codelists else None
    for member in sorted(names):
        if member.lower().endswith(".gml") and _wanted(posixpath.dirname(member).split("/")):
            yield f"{archive}!{member}", _zip_opener(archive, member), resolver


def open_sources(paths: Sequence[str | Path]) -> Iterator[CityGmlReader]:
    """A reader per CityGML file in the given paths (each with ``.name`` and ``.crs``)."""
    for name, opener, resolver in iter_sources(paths):
        yield CityGmlReader(opener(), codelists=resolver or CodelistResolver(), name=name)
