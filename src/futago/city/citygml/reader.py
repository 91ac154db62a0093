"""The streaming CityGML reader: one .gml file in, CityFeature objects out, in bounded memory.

lxml's ``iterparse`` builds the tree one ``cityObjectMember`` at a time; after a member's
features are built the member and everything before it are freed, so a 1 GB file needs memory
for one building, not for the file. DEM triangles are handed over one by one for the same reason.

The CRS is read from the header before the first feature (a short pull-parse of the first
bytes), so ``reader.crs`` is known as soon as the reader exists — the importer can pick its
transforms, and a non-CityGML file is refused before any work is done.

A member is built as a whole tree before its features are read, so a file of tiny elements (a few
kB zipped) could make one member take gigabytes. The elements and the depth of each member are
counted as they start, and a member past the limits is refused before it grows any further.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from lxml import etree

from futago.city import crs as crs_mod
from futago.city.citygml.buildings import read_building
from futago.city.citygml.codelists import CodelistResolver
from futago.city.citygml.errors import CityGmlError
from futago.city.citygml.geometry import ParseContext
from futago.city.citygml.names import CORE_NAMESPACES, GML_NAMESPACES, classify, gml_id
from futago.city.citygml.relief import TRIANGLE_TAGS, is_relief, read_relief, triangle
from futago.city.citygml.roads import read_road
from futago.city.citygml.water import HAZARD_BY_FOLDER, read_water_body
from futago.city.features import CityFeature

DEFAULT_CRS = "EPSG:6697"  # PLATEAU's CRS, assumed when a file names none
_MEMBER_TAGS = frozenset(
    [f"{{{ns}}}cityObjectMember" for ns in CORE_NAMESPACES] + [f"{{{ns}}}featureMember" for ns in GML_NAMESPACES]
)
_TRIANGLE_TAGS = frozenset(TRIANGLE_TAGS)
_SNIFF_LIMIT = 1 << 20
_CHUNK = 1 << 16
# Per city object (one cityObjectMember). Measured on the real PLATEAU data in ../shared/data: the largest
# member is a Kawasaki city furniture (frn, LOD3 geometry) of 20,031 elements, 10 deep; buildings (LOD0/1) have
# at most 83 elements, 12 deep, flood zones 653. A built element costs ~125 bytes in lxml when empty and ~290 with
# an id and a posList, so 10x the largest real member, 200,000 elements, keeps one member's tree under ~60 MB
# (a bomb of empty elements under ~25 MB). DEM triangles, freed as they end, do not count.
MAX_FEATURE_ELEMENTS = 200_000
MAX_FEATURE_DEPTH = 100


class _Replay:
    """A stream that first gives back the bytes the header sniff consumed."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest
        self._head_left = len(head)

    def read(self, size: int = -1) -> bytes:
        if self._head_left:
            data = self._head.read(size if size >= 0 else self._head_left)
            self._head_left -= len(data)
            return data
        return self._rest.read(size)


def _hazard_hint(name: str) -> str | None:
    path = PurePosixPath(name.replace("\\", "/"))
    for part in [*reversed(path.parent.parts), *path.stem.split("_")]:
        if part in HAZARD_BY_FOLDER:
            return part
    return None


class CityGmlReader(Iterator[CityFeature]):
    """An iterator of the features of one CityGML file.

    ``crs`` (e.g. "EPSG:6697") and ``crs_assumed`` (True when the file named no CRS and
    PLATEAU's EPSG:6697 was assumed) are set once the reader is constructed. Positions in the
    features are always (lon, lat[, h]). Closing the reader closes a stream it opened.
    """

    def __init__(
        self,
        source: str | Path | BinaryIO,
        *,
        codelists: Path | str | CodelistResolver | None = None,
        name: str | None = None,
    ) -> None:
        self._owned: BinaryIO | None = None
        if isinstance(source, str | Path):
            self.name = name or str(source)
            try:
                stream: BinaryIO = Path(source).open("rb")  # noqa: SIM115 - closed by close()/exhaustion
            except OSError as exc:
                raise CityGmlError(self.name, None, f"cannot open: {exc.strerror or exc}") from None
            self._owned = stream
            if codelists is None:
                codelists = CodelistResolver.near(source)
        else:
            stream = source
            self.name = name or str(getattr(source, "name", "<stream>"))
        if isinstance(codelists, str | Path):
            codelists = CodelistResolver.from_dir(codelists)
        self._ctx = ParseContext(file=self.name, codelists=codelists, hazard_hint=_hazard_hint(self.name))
        self.crs: str = DEFAULT_CRS
        self.crs_assumed = True
        try:
            head = self._sniff(stream)
        except BaseException:
            self.close()
            raise
        self._ctx.set_crs(self.crs, self._dimension)
        self._stream = _Replay(head, stream)
        self._features = self._run()

    def _sniff(self, stream: BinaryIO) -> bytes:
        """Read the root element and the first srsName from the head of the file."""
        # no huge_tree: the head is at most 1 MiB, well within libxml2's own limits
        parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True)
        chunks: list[bytes] = []
        size = 0
        root_seen = False
        self._dimension: int | None = None
        try:
            while size < _SNIFF_LIMIT:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    parser.close()
                    break
                chunks.append(chunk)
                size += len(chunk)
                parser.feed(chunk)
                for _, elem in parser.read_events():
                    if not root_seen:
                        root_seen = True
                        group, local = classify(elem.tag)
                        if group != "core" or local != "CityModel":
                            raise CityGmlError(
                                self.name,
                                elem.sourceline,
                                f"not CityGML: the root element is {elem.tag!r}, expected core:CityModel",
                            )
                    srs = elem.get("srsName")
                    if srs:
                        parsed = crs_mod.parse_srs_name(srs)
                        if parsed:
                            self.crs, self.crs_assumed = parsed, False
                            dim = elem.get("srsDimension")
                            self._dimension = int(dim) if dim and dim.isdigit() else None
                            return b"".join(chunks)
        except etree.XMLSyntaxError as exc:
            raise CityGmlError(self.name, exc.lineno, str(exc.msg)) from None
        except OSError as exc:
            raise CityGmlError(self.name, None, f"cannot read: {exc}") from None
        if not root_seen:
            raise CityGmlError(self.name, 1, "empty file or not XML")
        return b"".join(chunks)

    def _run(self) -> Iterator[CityFeature]:
        ctx = self._ctx
        # huge_tree stays: a posList of a large flood polygon may pass libxml2's 10 MB text limit; the depth and
        # element limits it also lifts are this reader's own (below), checked on every start event.
        events = etree.iterparse(
            self._stream,
            events=("start", "end"),
            huge_tree=True,
            resolve_entities=False,
            no_network=True,
            remove_comments=True,
        )
        member_tags, triangle_tags = _MEMBER_TAGS, _TRIANGLE_TAGS
        max_elements, max_depth = MAX_FEATURE_ELEMENTS, MAX_FEATURE_DEPTH
        depth = elements = 0  # depth 1 is the CityModel, 2 a member, 3 its city object
        feature: Any = None
        relief = False  # whether the current city object is a DEM, whose triangles are read as they end
        try:
            for event, elem in events:
                if event == "start":  # the hot path: most events are deep geometry elements
                    depth += 1
                    elements += 1
                    if depth <= 3:
                        if depth == 2:
                            elements = 1
                        elif depth == 3:
                            feature, relief = elem, is_relief(elem.tag)
                    if elements > max_elements or depth > max_depth:
                        raise self._too_large(feature, elem, elements > max_elements)
                    continue
                depth -= 1
                if depth == 1:  # a child of the CityModel has ended
                    if elem.tag in member_tags:
                        for feature_elem in elem:
                            yield from _features_of(feature_elem, ctx)
                        ctx.pending_triangles = []
                    _free(elem)
                    feature, relief = None, False
                elif relief and elem.tag in triangle_tags:
                    parent = elem.getparent()
                    if parent is not None and classify(parent.tag)[1] in ("trianglePatches", "patches"):
                        tri = triangle(elem, ctx)
                        if tri is not None:
                            ctx.pending_triangles.append(tri)
                        elements -= sum(1 for _ in elem.iter())  # freed now: it no longer weighs on memory
                        _free(elem)
        except etree.XMLSyntaxError as exc:
            raise CityGmlError(self.name, exc.lineno, str(exc.msg)) from None
        except OSError as exc:  # e.g. a corrupt zip member
            raise CityGmlError(self.name, None, f"cannot read: {exc}") from None
        finally:
            self.close()

    def _too_large(self, feature: Any, elem: Any, by_count: bool) -> CityGmlError:
        """The refusal of a member past the limits, naming the city object (gml:id) and where it starts."""
        where = feature if feature is not None else elem
        name = gml_id(feature) if feature is not None else ""
        what = f"city object {name!r}" if name else f"the city object at line {where.sourceline}"
        limit = (
            f"more than {MAX_FEATURE_ELEMENTS:,} elements"
            if by_count
            else f"elements nested more than {MAX_FEATURE_DEPTH} deep (line {elem.sourceline})"
        )
        return CityGmlError(self.name, where.sourceline, f"{what} has {limit}; refused before it is read")

    def __next__(self) -> CityFeature:
        return next(self._features)

    def __iter__(self) -> CityGmlReader:
        return self

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> CityGmlReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _features_of(elem: Any, ctx: ParseContext) -> Iterator[CityFeature]:
    group, local = classify(elem.tag)
    if group == "bldg" and local in ("Building", "BuildingPart"):
        yield from read_building(elem, ctx)
    elif group == "wtr" and local == "WaterBody":
        water = read_water_body(elem, ctx)
        if water is not None:
            yield water
    elif group == "tran" and local == "Road":
        yield read_road(elem, ctx)
    elif is_relief(elem.tag):
        yield read_relief(elem, ctx)


def _free(elem: Any) -> None:
    """Drop an element's content and every earlier sibling: what keeps memory bounded."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def iter_features(
    source: str | Path | BinaryIO,
    *,
    codelists: Path | str | CodelistResolver | None = None,
    name: str | None = None,
) -> CityGmlReader:
    """Stream the features of one CityGML file (a path or a binary stream).

    The result is an iterator with ``.crs`` — the input CRS, e.g. "EPSG:6697" — already set.
    ``codelists`` is a codelist folder or resolver; for a path it defaults to the dataset's
    ``codelists/`` folder found above the file. Raises :class:`CityGmlError` for bad input.
    """
    return CityGmlReader(source, codelists=codelists, name=name)


def read_crs(source: str | Path | BinaryIO, *, name: str | None = None) -> str:
    """The input CRS of a CityGML file, read from its header only."""
    with CityGmlReader(source, codelists=CodelistResolver(), name=name) as reader:
        return reader.crs
