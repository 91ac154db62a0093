"""Any city object of the PLATEAU product specification → CityObjectFeature, read by shape, not by class.

Urban-planning zones (urf), land use (luse), sediment-disaster areas (lsld), city furniture (frn),
bridges, tunnels, other constructions, vegetation, railways, squares, waterways, utility networks,
generic objects, groups...: i-UR and CityGML define hundreds of classes across editions, and every one
is written the same way: simple properties, ``lodN...`` geometry properties, uro/gen attributes, and
properties holding nested city objects (traffic areas, bridge parts, boundary surfaces). Reading that
shape, instead of a table of classes, reads editions futago has never seen. The importer decides what
becomes a twin.
"""

from __future__ import annotations

from typing import Any

from futago.city.citygml.context import warn
from futago.city.citygml.geometry import ParseContext, flat
from futago.city.citygml.names import GML, OTHER, URO, classify, gml_id, gml_tags
from futago.city.citygml.shapes import has_wall, outline, z_range
from futago.city.citygml.uro import GENERIC_LOCALS, UroSink, read_generic, read_uro_property
from futago.city.features import CityObjectFeature, Polygon3, Position, Ring

# Modules whose objects are volumes: their faces overlap when projected, so their 2D shape is an outline.
VOLUME_GROUPS = frozenset({"bldg", "brid", "tun", "frn", "veg"})
VOLUME_KINDS = frozenset({"OtherConstruction"})  # uro (cons) volumes
_SOLID = frozenset(gml_tags("Solid", "CompositeSolid", "MultiSolid"))
_CURVES = gml_tags("LineString")
_POINTS = gml_tags("Point")
_HEIGHT_NAMES = ("measuredHeight", "height")
_SKIP_GROUPS = frozenset({"app", "tex", OTHER})


def _lod(local: str) -> int | None:
    return int(local[3]) if local[:3] == "lod" and local[3:4].isdigit() else None


class _Geometry:
    """The geometry properties of one object, by LOD."""

    __slots__ = ("lines", "lods", "points", "polygons", "solid")

    def __init__(self) -> None:
        self.polygons: dict[int, list[Polygon3]] = {}
        self.lines: list[Ring] = []
        self.points: list[Position] = []
        self.lods: set[int] = set()
        self.solid = False

    def add(self, lod: int, prop: Any, ctx: ParseContext) -> None:
        self.lods.add(lod)
        local = classify(prop.tag)[1]
        if "TerrainIntersection" in local:
            return  # where the object meets the ground: not a shape of its own
        polygons = ctx.polygons(prop)
        if polygons:
            self.polygons.setdefault(lod, []).extend(polygons)
        for curve in prop.iter(*_CURVES):
            line = ctx.ring(curve)
            if line:
                self.lines.append([(p[0], p[1]) for p in line])
        for point in prop.iter(*_POINTS):
            self.points.extend(ctx.ring(point))
        if not self.solid and any(True for _ in prop.iter(*_SOLID)):
            self.solid = True

    def finish(self, feature: CityObjectFeature, group: str) -> None:
        feature.lods = self.lods
        feature.lines = self.lines
        feature.points = self.points
        if not self.polygons:
            return
        lod = min(self.polygons)  # the lowest LOD is the cheapest and, for areas, the footprint itself
        polygons = self.polygons[lod]
        volume = group in VOLUME_GROUPS or feature.kind in VOLUME_KINDS or self.solid or lod >= 2
        if volume or has_wall(polygons):
            feature.polygons = outline(polygons)
            if feature.height is None:
                span = z_range(polygons)
                if span is not None and span[1] > span[0]:
                    feature.height = round(span[1] - span[0], 3)
        else:
            feature.polygons = flat(polygons)


def _put(values: dict[str, str], key: str, value: str | None) -> None:
    if value is None or value == "":
        return
    old = values.get(key)
    values[key] = value if old is None or old == value else f"{old}; {value}"


def _simple(child: Any, local: str, feature: CityObjectFeature, ctx: ParseContext) -> None:
    if child.get("codeSpace") is not None:
        label, code = ctx.label(child)
        _put(feature.properties, local, label)
        _put(feature.codes, local, code)
        return
    _put(feature.properties, local, (child.text or "").strip())
    uom = child.get("uom")
    if uom:
        feature.units[local] = uom


def _is_object(elem: Any) -> bool:
    """A nested city object (a traffic area, a bridge part, a boundary surface), not a data type."""
    if not isinstance(elem.tag, str) or classify(elem.tag)[0] in (GML, URO, OTHER):
        return False
    return bool(gml_id(elem)) or any(_lod(classify(c.tag)[1]) is not None and len(c) for c in elem)


def _height(feature: CityObjectFeature, ctx: ParseContext, elem: Any) -> None:
    for key in _HEIGHT_NAMES:
        text = feature.properties.get(key)
        if text is not None:
            try:
                feature.height = float(text.split(";")[0])
            except ValueError:
                warn(ctx, elem, f"{key} {text!r} is not a number; height left out")
            return


def read_object(elem: Any, ctx: ParseContext, parent_id: str | None = None, fallback_id: str = "") -> CityObjectFeature:
    """The object and its nested objects (``parts``); ``fallback_id`` names a part that has no gml:id."""
    group, kind = classify(elem.tag)
    module = group if group != OTHER else (elem.prefix or OTHER)  # an unknown ADE keeps its prefix
    feature = CityObjectFeature(
        gml_id=gml_id(elem) or fallback_id,
        module=module,
        kind=kind,
        parent_id=parent_id,
        source=f"{ctx.file}:{elem.sourceline}",
    )
    sink = UroSink()
    sink.attributes = feature.attributes
    sink.risks = feature.risks
    geometry = _Geometry()
    for child in elem:
        cgroup, local = classify(child.tag)
        if cgroup in _SKIP_GROUPS or not local:
            continue
        if cgroup == GML:
            if local == "name" and feature.name is None:
                feature.name = ctx.label(child)[0]
            elif local == "description":
                _put(feature.properties, local, (child.text or "").strip())
            continue  # gml:boundedBy is the envelope, not a shape
        if cgroup == "gen" and local in GENERIC_LOCALS:
            read_generic(child, feature.generic, ctx)
        elif cgroup == URO and group != URO:
            read_uro_property(child, sink, ctx)
        elif not len(child):
            _simple(child, local, feature, ctx)
        elif (lod := _lod(local)) is not None:
            geometry.add(lod, child, ctx)
        elif local == "address":
            _put(feature.properties, local, "".join(t.strip() for t in child.itertext()))
        elif _is_object(child[0]):
            for nested in child:
                if _is_object(nested):
                    fallback = f"{feature.gml_id}/{classify(nested.tag)[1]}/{len(feature.parts)}"
                    feature.parts.append(read_object(nested, ctx, parent_id=feature.gml_id, fallback_id=fallback))
        elif cgroup == URO:
            read_uro_property(child, sink, ctx)  # the complex uro properties of a uro object
        else:
            _data_type(child, feature, ctx)
    _height(feature, ctx, elem)
    geometry.finish(feature, group)
    return feature


def _data_type(prop: Any, feature: CityObjectFeature, ctx: ParseContext) -> None:
    """A property holding a data type (no gml:id, no geometry): its leaves, by local name."""
    for leaf in prop.iter():
        if len(leaf) or leaf is prop or not isinstance(leaf.tag, str):
            continue
        local = classify(leaf.tag)[1]
        if local:
            _simple(leaf, local, feature, ctx)
