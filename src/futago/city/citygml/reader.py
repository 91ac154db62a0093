"""The streaming CityGML reader: one .gml file in, CityFeature objects out, in bounded memory.

lxml's ``iterparse`` builds the tree one ``cityObjectMember`` at a time; after a member's
features are built the member and everything before it are freed, so a 1 GB file needs memory
for one building, not for the file. DEM triangles are handed over one by one for the same reason.

The CRS is read from the header before the first feature (a short pull-parse of the first
bytes), so ``reader.crs`` is known as soon as the reader exists — the importer can pick its
transforms, and a non-CityGML file is refused before any work is done.

A member is built as a whole tree before its features are read, so a file of tiny elements (a few
kB zipped) could make one member take gigabytes. The elements of each member are bounded as the
file is fed in (see ``_run``), so a member past the limit is refused before it grows more than a chunk
further, and its depth is checked before any of it is read.

Every city object is yielded, whatever its class (the importer decides what it models): buildings,
hazard water bodies, roads and relief as their own feature types, everything else as a
CityObjectFeature. A ``ReadTally`` counts each top-level object by its local name, the objects that
could not be read at all (with the reason), and the values left out with a warning.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from lxml import etree

from futago.city import crs as crs_mod
from futago.city.citygml.buildings import read_building
from futago.city.citygml.codelists import CodelistResolver
from futago.city.citygml.context import ReadContext
from futago.city.citygml.errors import CityGmlError
from futago.city.citygml.names import APP_NAMESPACES, CORE_NAMESPACES, GML_NAMESPACES, classify, gml_id
from futago.city.citygml.objects import read_object
from futago.city.citygml.relief import TRIANGLE_TAGS, is_relief, read_relief, triangle
from futago.city.citygml.roads import read_road
from futago.city.citygml.water import HAZARD_BY_FOLDER, read_water_body
from futago.city.features import CityFeature, ReadTally

DEFAULT_CRS = "EPSG:6697"  # PLATEAU's CRS, assumed when a file names none
# "full": every geometry as polygons; "twin": what twins use (a building's LOD1 solid is read for its lowest
# height only when LOD0 gives the footprint), the same twins for a third less parsing; "footprint": what a
# building's footprint line uses (footprint, id, measuredHeight, usage: no attributes, parts or other geometry)
GEOMETRY_MODES = ("full", "twin", "footprint")
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
_MODEL_TAGS = frozenset(f"{{{ns}}}CityModel" for ns in CORE_NAMESPACES)
# what the parser reports to Python: the CityModel, its members and appearances (freed as they end), DEM triangles
_EVENT_TAGS = sorted(
    _MODEL_TAGS | _MEMBER_TAGS | _TRIANGLE_TAGS | {f"{{{ns}}}appearanceMember" for ns in APP_NAMESPACES}
)


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
        tally: ReadTally | None = None,
        geometry: str = "full",
    ) -> None:
        if geometry not in GEOMETRY_MODES:
            raise ValueError(f"geometry must be one of {', '.join(GEOMETRY_MODES)}, not {geometry!r}")
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
        self._ctx = ReadContext(
            file=self.name, codelists=codelists, hazard_hint=_hazard_hint(self.name), tally=tally, geometry=geometry
        )
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
        """Feed the parser a chunk at a time; Python sees only member, appearance and DEM-triangle events.

        Most elements are deep geometry, and an event per element in Python cost a third of the reading
        time, so lxml filters the events by tag in C. The element limit is then kept per chunk instead of per
        element: every element starts with a "<", so the "<"s read since the last member ended bound the live
        elements; when that bound passes the limit the live tree is counted exactly, and a member truly past
        it is refused with at most one chunk (64 kB) more of it built. The depth limit is checked with one
        XPath (evaluated in C) per chunk, when its first member ends, before any Python code walks one.
        """
        ctx = self._ctx
        # huge_tree stays: a posList of a large flood polygon may pass libxml2's 10 MB text limit; the depth and
        # element limits it also lifts are this reader's own (below).
        parser = etree.XMLPullParser(
            events=("start", "end"),
            tag=_EVENT_TAGS,
            huge_tree=True,
            resolve_entities=False,
            no_network=True,
            remove_comments=True,
        )
        read = self._stream.read
        member_tags, triangle_tags = _MEMBER_TAGS, _TRIANGLE_TAGS
        root: Any = None  # the CityModel
        member: Any = None  # the open child of the CityModel (a member or an appearance), if any
        relief: bool | None = None  # whether the open member's city object is a DEM (None: not yet known)
        bound = 0  # at least the number of live elements: the "<"s read since what was open last ended
        try:
            while True:
                chunk = read(_CHUNK)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                ended = checked = False
                for event, elem in parser.read_events():
                    tag = elem.tag
                    if event == "start":
                        if root is None:
                            root = elem if tag in _MODEL_TAGS else None
                        elif elem.getparent() is root:
                            member, relief = elem, None
                        continue
                    if tag in triangle_tags:
                        if relief is None:
                            city_object = _city_object(member)
                            relief = city_object is not None and is_relief(city_object.tag)
                        if relief:
                            _take_triangle(elem, ctx)
                        continue
                    if root is None or elem.getparent() is not root:
                        continue  # a member tag nested inside a city object: read with it
                    if not checked:  # once per chunk: every member ending in it is already built
                        self._check_depth(root)
                        checked = True
                    if tag in member_tags:
                        for feature_elem in elem:
                            yield from _member(feature_elem, ctx)
                        ctx.pending_triangles = []
                        ctx.top = None
                    _free(elem)
                    member, relief, ended = None, None, True
                if not chunk:
                    break
                bound = chunk.count(b"<") + (0 if ended else bound)
                if bound > MAX_FEATURE_ELEMENTS and root is not None:
                    bound = sum(1 for _ in root.iter()) - 1
                    if bound > MAX_FEATURE_ELEMENTS:
                        raise self._too_large(_city_object(member), member if member is not None else root, True)
        except etree.XMLSyntaxError as exc:
            raise CityGmlError(self.name, exc.lineno, str(exc.msg)) from None
        except OSError as exc:  # e.g. a corrupt zip member
            raise CityGmlError(self.name, None, f"cannot read: {exc}") from None
        finally:
            self.close()

    def _check_depth(self, root: Any) -> None:
        """Refuse the member holding the first element deeper than MAX_FEATURE_DEPTH (the CityModel is depth 1)."""
        deep = _too_deep(MAX_FEATURE_DEPTH)(root)
        if deep:
            top = deep[0]
            while top.getparent() is not root:
                top = top.getparent()
            raise self._too_large(_city_object(top), deep[0], False)

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


def _member(elem: Any, ctx: ReadContext) -> Iterator[CityFeature]:
    """The features of one child of a cityObjectMember / featureMember, counted in the tally."""
    if not isinstance(elem.tag, str):
        return  # a processing instruction
    local = classify(elem.tag)[1]
    tally = ctx.tally
    if tally is not None:
        tally.features[local] += 1
    ctx.top = elem
    if not gml_id(elem):
        if tally is not None:
            tally.skip(f"{local} without gml:id", f"{ctx.file}:{elem.sourceline}")
        return
    yield from _features_of(elem, ctx)


def _features_of(elem: Any, ctx: ReadContext) -> Iterator[CityFeature]:
    group, local = classify(elem.tag)
    if group == "bldg" and local in ("Building", "BuildingPart"):
        yield from read_building(elem, ctx)
    elif group == "wtr" and local == "WaterBody":
        water = read_water_body(elem, ctx)
        yield water if water is not None else read_object(elem, ctx)  # a river or lake, not a hazard zone
    elif group == "tran" and local == "Road":
        yield read_road(elem, ctx)
    elif is_relief(elem.tag):
        yield read_relief(elem, ctx)
    else:
        yield read_object(elem, ctx)


@functools.lru_cache(maxsize=4)
def _too_deep(limit: int) -> etree.XPath:
    """The elements at depth ``limit + 1`` below the CityModel (depth 1), in document order."""
    return etree.XPath("/".join(["*"] * limit))


def _city_object(member: Any) -> Any:
    """The city object of a member element (its first child element), or None."""
    if member is None:
        return None
    for child in member:
        if isinstance(child.tag, str):
            return child
    return None


def _take_triangle(elem: Any, ctx: ReadContext) -> None:
    """A DEM triangle, read as it ends and freed at once: a tile of a million triangles needs memory for one."""
    parent = elem.getparent()
    if parent is not None and classify(parent.tag)[1] in ("trianglePatches", "patches"):
        tri = triangle(elem, ctx)
        if tri is not None:
            ctx.pending_triangles.append(tri)
        _free(elem)


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
    tally: ReadTally | None = None,
    geometry: str = "full",
) -> CityGmlReader:
    """Stream the features of one CityGML file (a path or a binary stream).

    The result is an iterator with ``.crs`` — the input CRS, e.g. "EPSG:6697" — already set.
    ``codelists`` is a codelist folder or resolver; for a path it defaults to the dataset's
    ``codelists/`` folder found above the file. ``tally`` counts what was read, skipped and warned about.
    Raises :class:`CityGmlError` for bad input (malformed XML, geometry that is not numbers), never for
    an attribute value. ``geometry="twin"`` reads only the geometry that twins use: a building with a LOD0
    footprint gets no ``lod1_solid`` polygons (its groundElevation is the same); ``geometry="footprint"`` reads
    of a building only what its footprint line needs (no attributes, ground elevation, parts or installations).
    """
    return CityGmlReader(source, codelists=codelists, name=name, tally=tally, geometry=geometry)


def read_crs(source: str | Path | BinaryIO, *, name: str | None = None) -> str:
    """The input CRS of a CityGML file, read from its header only."""
    with CityGmlReader(source, codelists=CodelistResolver(), name=name) as reader:
        return reader.crs
