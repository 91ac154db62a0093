"""GML geometry → rings of (lon, lat[, h]) tuples.

The per-building path is the hot loop of an import, so positions are parsed with ``str.split``
+ ``map(float)`` and regrouped by slicing, with no per-coordinate objects beyond the tuples the
features hold. Lat/lon CRSs (EPSG:6697, 6668...) are swapped by slicing; other CRSs go through
pyproj in bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from futago.city import crs as crs_mod
from futago.city.citygml.codelists import CodelistResolver
from futago.city.citygml.errors import CityGmlError
from futago.city.citygml.names import GML_NAMESPACES, XLINK, gml_tags
from futago.city.features import Polygon3, Position, Ring

_POSLIST = {f"{{{ns}}}posList" for ns in GML_NAMESPACES}
_POS = {f"{{{ns}}}pos" for ns in GML_NAMESPACES}
_COORDINATES = {f"{{{ns}}}coordinates" for ns in GML_NAMESPACES}
_EXTERIOR = {f"{{{ns}}}{n}" for ns in GML_NAMESPACES for n in ("exterior", "outerBoundaryIs")}
_INTERIOR = {f"{{{ns}}}{n}" for ns in GML_NAMESPACES for n in ("interior", "innerBoundaryIs")}
SURFACE_TAGS = gml_tags("Polygon", "Triangle", "Rectangle")
_HREF = f"{{{XLINK}}}href"


@dataclass(slots=True)
class ParseContext:
    """What every feature builder needs from the file being read."""

    file: str
    crs: str = "EPSG:6697"
    dimension: int = 3
    codelists: CodelistResolver | None = None
    hazard_hint: str | None = None  # from the PLATEAU folder (fld, tnm, htd, ifld)
    # what builders read (reader.GEOMETRY_MODES): "full", "twin" (a LOD1 solid under a LOD0 footprint gives only
    # its lowest height), "footprint" (a building gives only its footprint line's values)
    geometry: str = "full"
    _swap: bool = True
    _transform: Callable[[Any, Any], tuple[Any, Any]] | None = None
    pending_triangles: list[tuple[Position, Position, Position]] = field(default_factory=list)
    _labels: dict[tuple[str | None, str], tuple[str | None, str | None]] = field(default_factory=dict)

    def set_crs(self, crs: str, dimension: int | None = None) -> None:
        self.crs = crs
        self.dimension = dimension or crs_mod.default_dimension(crs)
        self._swap = crs_mod.is_lat_lon(crs)
        self._transform = None if self._swap else crs_mod.to_lon_lat(crs)

    def error(self, elem: Any, message: str) -> CityGmlError:
        return CityGmlError(self.file, getattr(elem, "sourceline", None), message)

    def label(self, elem: Any) -> tuple[str | None, str | None]:
        """(label, code) of a gml:CodeType element; the label is the code without a codelist."""
        text = elem.text
        if text is None:
            return None, None
        key = (elem.get("codeSpace"), text)
        hit = self._labels.get(key)
        if hit is not None:
            return hit
        result = self._label(key[0], text)
        if len(self._labels) < 65536:  # codes repeat; free text (names) must not grow it unbounded
            self._labels[key] = result
        return result

    def _label(self, code_space: str | None, text: str) -> tuple[str | None, str | None]:
        code = text.strip()
        if not code:
            return None, None
        if self.codelists is None:
            return code, code
        return self.codelists.label(code_space, code), code

    def ring(self, ring_elem: Any) -> Ring:
        """Positions of a gml:LinearRing (posList, pos* or coordinates)."""
        dim = self.dimension
        values: list[float]
        first = ring_elem[0] if len(ring_elem) else None
        if first is not None and first.tag in _POSLIST and first.get("srsDimension") in (None, "3") and dim == 3:
            # the PLATEAU case: one 3D posList, lat/lon swapped by slicing
            try:
                values = list(map(float, (first.text or "").split()))
            except ValueError as exc:
                raise self.error(ring_elem, f"bad coordinate: {exc}") from None
            if len(values) % 3:
                raise self.error(ring_elem, f"{len(values)} numbers do not make 3D positions")
            if self._swap:
                return list(zip(values[1::3], values[0::3], values[2::3], strict=False))
            return self.positions(values, 3)
        try:
            for child in ring_elem:
                tag = child.tag
                if tag in _POSLIST:
                    d = child.get("srsDimension")
                    if d:
                        dim = int(d)
                    values = list(map(float, (child.text or "").split()))
                    break
                if tag in _COORDINATES:
                    values = [float(v) for tup in (child.text or "").split() for v in tup.split(",")]
                    break
            else:
                values = []
                for child in ring_elem:
                    if child.tag in _POS:
                        parts = (child.text or "").split()
                        dim = len(parts) or dim
                        values.extend(map(float, parts))
        except ValueError as exc:
            raise self.error(ring_elem, f"bad coordinate: {exc}") from None
        if len(values) % dim:
            raise self.error(ring_elem, f"{len(values)} numbers do not make {dim}D positions")
        return self.positions(values, dim)

    def positions(self, values: list[float], dim: int) -> Ring:
        if self._swap:
            if dim == 3:
                return list(zip(values[1::3], values[0::3], values[2::3], strict=True))
            if dim == 2:
                return list(zip(values[1::2], values[0::2], strict=True))
        firsts, seconds = values[0::dim], values[1::dim]
        if self._transform is not None:
            lons, lats = self._transform(firsts, seconds)
            firsts, seconds = list(lons), list(lats)
        else:  # lat/lon with an unusual dimension: keep the first two swapped
            firsts, seconds = seconds, firsts
        if dim >= 3:
            return list(zip(firsts, seconds, values[2::dim], strict=True))
        return list(zip(firsts, seconds, strict=True))

    def polygon(self, surface: Any) -> Polygon3:
        rings: Polygon3 = []
        for child in surface:
            tag = child.tag
            if tag in _EXTERIOR:
                for ring in child:
                    rings.insert(0, self.ring(ring))
                    break
            elif tag in _INTERIOR:
                for ring in child:
                    rings.append(self.ring(ring))
                    break
        return rings

    def low_z(self, prop: Any) -> float | None:
        """``min_z(self.polygons(prop))`` without making the polygons: the same rings are read (and a bad one
        raises the same error), only their heights are kept."""
        if self.dimension != 3:
            return min_z(self.polygons(prop))
        low: float | None = None
        for surface in prop.iter(*SURFACE_TAGS):
            rings: list[float | bool | None] = []  # as polygon() orders them: the exterior first
            for child in surface:
                tag = child.tag
                if tag in _EXTERIOR and len(child):
                    rings.insert(0, self._ring_low(child[0]))
                elif tag in _INTERIOR and len(child):
                    rings.append(self._ring_low(child[0]))
            if not rings or rings[0] is False:  # polygons() leaves out a polygon whose first ring is empty
                continue
            for z in rings:
                if z is not None and z is not False and (low is None or z < low):
                    low = z
        return low

    def _ring_low(self, ring_elem: Any) -> float | bool | None:
        """The lowest height of a ring, None when it has none, False when it is empty."""
        first = ring_elem[0] if len(ring_elem) else None
        if first is not None and first.tag in _POSLIST and first.get("srsDimension") in (None, "3"):
            try:
                values = list(map(float, (first.text or "").split()))
            except ValueError as exc:
                raise self.error(ring_elem, f"bad coordinate: {exc}") from None
            if len(values) % 3:
                raise self.error(ring_elem, f"{len(values)} numbers do not make 3D positions")
            return min(values[2::3]) if values else False
        ring = self.ring(ring_elem)
        return min_z([[ring]]) if ring else False

    def polygons(self, prop: Any) -> list[Polygon3]:
        """Every surface under a geometry property; xlink'd members are skipped (no duplicates)."""
        out = []
        ring = self.ring
        for surface in prop.iter(*SURFACE_TAGS):
            if len(surface) == 1 and surface[0].tag in _EXTERIOR:  # no holes: the common case
                exterior = surface[0]
                if not len(exterior):
                    continue
                outer = ring(exterior[0])
                if outer:
                    out.append([outer])
                continue
            poly = self.polygon(surface)
            if poly and poly[0]:
                out.append(poly)
        return out


def is_reference(prop: Any) -> bool:
    return prop.get(_HREF) is not None


def flat(polygons: Iterable[Polygon3]) -> list[Polygon3]:
    """The same polygons in 2D (lon, lat)."""
    return [[[(p[0], p[1]) for p in ring] for ring in poly] for poly in polygons]


def min_z(polygons: Iterable[Polygon3]) -> float | None:
    low: float | None = None
    for poly in polygons:
        for ring in poly:
            for p in ring:
                if len(p) > 2 and (low is None or p[2] < low):
                    low = p[2]
    return low


def lowest_polygons(polygons: list[Polygon3]) -> list[Polygon3]:
    """The ground of a solid: its horizontal faces at the lowest height, else its lowest face."""
    low = min_z(polygons)
    if low is None:
        return polygons[:1]
    flat_low = [poly for poly in polygons if poly and all(len(p) > 2 and abs(p[2] - low) < 0.01 for p in poly[0])]
    if flat_low:
        return flat_low
    return [min(polygons, key=lambda poly: sum(p[2] for p in poly[0]) / max(len(poly[0]), 1))]
