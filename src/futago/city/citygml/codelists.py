"""Codes → labels through a dataset's gml:Dictionary codelists.

PLATEAU writes codes (``<bldg:usage codeSpace="../../codelists/Building_usage.xml">401</bldg:usage>``)
and ships the dictionaries in ``codelists/``. The codeSpace is relative to the .gml file, but
every PLATEAU dataset keeps all codelists in one folder with unique file names, so the resolver
keys dictionaries by file name: the same resolver serves files at any depth, in a folder or in a
zip. Dictionaries load lazily, once each; a missing dictionary or code keeps the code.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, cast

from lxml import etree

from futago.city.citygml.names import GML_NAMESPACES

Opener = Callable[[], BinaryIO]
_DEFINITION = {f"{{{ns}}}{n}" for ns in GML_NAMESPACES for n in ("Definition", "DefinitionProxy")}
MAX_CODELIST_ELEMENTS = 200_000  # the largest PLATEAU codelist has some thousands
_NAME = {f"{{{ns}}}name" for ns in GML_NAMESPACES}
_DESCRIPTION = {f"{{{ns}}}description" for ns in GML_NAMESPACES}


def _key(code_space: str) -> str:
    return posixpath.basename(code_space.replace("\\", "/")).lower()


def parse_dictionary(stream: BinaryIO) -> dict[str, str]:
    """{code: label} of one gml:Dictionary; entries without a description are skipped. ValueError past
    MAX_CODELIST_ELEMENTS elements."""
    table: dict[str, str] = {}
    # A codelist comes with the (untrusted) dataset, and a few kB of zip can inflate to millions of tiny elements:
    # they are counted as they start, and each definition is emptied once read. No huge_tree: no real codelist
    # comes near libxml2's own limits.
    events = etree.iterparse(stream, events=("start", "end"), resolve_entities=False, no_network=True)
    started = 0
    for event, elem in events:
        if event == "start":
            started += 1
            if started > MAX_CODELIST_ELEMENTS:
                raise ValueError(f"a codelist of more than {MAX_CODELIST_ELEMENTS:,} elements")
        elif elem.tag in _DEFINITION:
            code, label = _entry(elem)
            if code and label:
                table[code] = label
            elem.clear()
    return table


def _entry(definition: etree._Element) -> tuple[str | None, str | None]:
    code = label = None
    for child in definition:
        if child.tag in _NAME and code is None:
            code = (child.text or "").strip()
        elif child.tag in _DESCRIPTION:
            label = (child.text or "").strip()
    return code, label


class CodelistResolver:
    """Labels for (codeSpace, code) pairs, from dictionaries found by file name."""

    def __init__(self, openers: Mapping[str, Opener] | None = None, base_dir: Path | None = None) -> None:
        self._openers = {_key(name): opener for name, opener in (openers or {}).items()}
        self._base_dir = base_dir
        self._tables: dict[str, dict[str, str]] = {}
        self._by_space: dict[str, dict[str, str]] = {}  # codeSpace string → table: the hot path

    @classmethod
    def from_dir(cls, directory: str | Path) -> CodelistResolver:
        directory = Path(directory)
        openers: dict[str, Opener] = {}
        for path in sorted(directory.rglob("*.xml")):
            openers.setdefault(path.name, _file_opener(path))
        return cls(openers)

    @classmethod
    def from_zip(cls, archive: str | Path, members: list[str]) -> CodelistResolver:
        return cls({posixpath.basename(m): _zip_opener(Path(archive), m) for m in members})

    @classmethod
    def near(cls, gml_file: str | Path) -> CodelistResolver | None:
        """The resolver of the PLATEAU dataset a .gml file sits in: a ``codelists/`` folder in an
        ancestor (udx/bldg/x.gml → ../../codelists), else codeSpace paths relative to the file."""
        path = Path(gml_file).resolve()
        for ancestor in list(path.parents)[:6]:
            candidate = ancestor / "codelists"
            if candidate.is_dir():
                resolver = cls.from_dir(candidate)
                resolver._base_dir = path.parent
                return resolver
        return cls(base_dir=path.parent)

    def table(self, code_space: str) -> dict[str, str]:
        key = _key(code_space)
        table = self._tables.get(key)
        if table is None:
            table = {}
            opener = self._openers.get(key)
            if opener is None and self._base_dir is not None:
                candidate = (self._base_dir / code_space).resolve()
                if candidate.is_file():
                    opener = _file_opener(candidate)
            if opener is not None:
                try:
                    with opener() as stream:
                        table = parse_dictionary(stream)
                except (OSError, etree.XMLSyntaxError, KeyError, ValueError):
                    table = {}  # an unreadable codelist must not stop an import: codes stay codes
            self._tables[key] = table
        return table

    def label(self, code_space: str | None, code: str) -> str:
        if not code_space:
            return code
        table = self._by_space.get(code_space)
        if table is None:
            table = self._by_space[code_space] = self.table(code_space)
        return table.get(code, code)

    def __bool__(self) -> bool:
        return True


def _file_opener(path: Path) -> Opener:
    def open_file() -> BinaryIO:
        return path.open("rb")

    return open_file


def _zip_opener(archive: Path, member: str) -> Opener:
    def open_member() -> BinaryIO:
        return cast(BinaryIO, ZipMember(archive, member))

    return open_member


class ZipMember:
    """A readable member of a zip that closes its archive too, so zips are read without extracting."""

    def __init__(self, archive: Path, member: str) -> None:
        self._zip = zipfile.ZipFile(archive)
        try:
            self._stream = self._zip.open(member)
        except BaseException:
            self._zip.close()
            raise

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def close(self) -> None:
        self._stream.close()
        self._zip.close()

    def __enter__(self) -> ZipMember:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
