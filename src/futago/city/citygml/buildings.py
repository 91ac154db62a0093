"""bldg:Building and bldg:BuildingPart → BuildingFeature.

One pass over the direct children of each building, dispatching on (group, local name), keeps
the per-building cost close to lxml's own. Parts come out as their own features after their
parent, with ``parent_id`` set, so the importer can make them child twins.
"""

from __future__ import annotations

from typing import Any, Literal

from futago.city.citygml.geometry import ParseContext, flat, lowest_polygons, min_z
from futago.city.citygml.names import URO, classify, gml_id
from futago.city.citygml.uro import UroSink, length_m, read_generic, read_uro_property
from futago.city.features import BuildingFeature, Polygon3

_BOUNDARY_LISTS = {"RoofSurface": "lod2_roof", "WallSurface": "lod2_wall", "GroundSurface": "lod2_ground"}


def _int(elem: Any, ctx: ParseContext) -> int | None:
    text = (elem.text or "").strip()
    if not text:
        return None
    try:
        return int(text[:4]) if "-" in text[1:] else int(float(text))  # gYear / date / "3"
    except ValueError:
        raise ctx.error(elem, f"not an integer: {text!r}") from None


def _lod_of(local: str) -> int | None:
    if local.startswith("lod") and len(local) > 3 and local[3].isdigit():
        return int(local[3])
    return None


def read_building(elem: Any, ctx: ParseContext, parent_id: str | None = None) -> list[BuildingFeature]:
    """The building and, after it, each of its parts (recursively)."""
    kind: Literal["Building", "BuildingPart"] = (
        "BuildingPart" if classify(elem.tag)[1] == "BuildingPart" else "Building"
    )
    feature = BuildingFeature(gml_id=gml_id(elem), kind=kind, parent_id=parent_id)
    feature.source = f"{ctx.file}:{elem.sourceline}"
    sink = UroSink()
    sink.attributes = feature.attributes
    sink.risks = feature.risks
    parts: list[Any] = []
    footprint: list[Polygon3] = []
    lods = feature.lods

    for child in elem:
        group, local = classify(child.tag)
        if group == "bldg":
            if local.startswith("lod"):
                lod = _lod_of(local)
                if lod is None:
                    continue
                lods.add(lod)
                if lod == 0:
                    polys = ctx.polygons(child)
                    if local == "lod0FootPrint":
                        footprint.extend(polys)
                    elif local == "lod0RoofEdge":
                        feature.lod0_roof_edge.extend(polys)
                elif lod == 1 and (local == "lod1Solid" or local == "lod1MultiSurface"):
                    feature.lod1_solid.extend(ctx.polygons(child))
                elif lod == 2 and (local == "lod2Solid" or local == "lod2MultiSurface"):
                    feature.lod2_other.extend(ctx.polygons(child))
            elif local == "measuredHeight":
                feature.measured_height = length_m(child, ctx)
            elif local == "storeysAboveGround":
                feature.storeys_above_ground = _int(child, ctx)
            elif local == "storeysBelowGround":
                feature.storeys_below_ground = _int(child, ctx)
            elif local == "usage":
                if feature.usage is None:
                    feature.usage, feature.usage_code = ctx.label(child)
            elif local == "class":
                feature.building_class = ctx.label(child)[0]
            elif local == "yearOfConstruction":
                feature.year_of_construction = _int(child, ctx)
            elif local == "boundedBy":
                _boundary(child, feature, ctx)
            elif local == "consistsOfBuildingPart":
                parts.extend(child)
            elif local == "address":
                text = "".join(t.strip() for t in child.itertext())
                if text:
                    feature.attributes["address"] = text
            elif local in ("function", "roofType"):
                value = ctx.label(child)[0]
                if value is not None:
                    feature.attributes[local] = value
        elif group == URO:
            read_uro_property(child, sink, ctx)
        elif group == "gen":
            read_generic(child, feature.attributes, ctx)
        elif group == "gml" and local == "name" and feature.name is None:
            feature.name = ctx.label(child)[0]

    feature.building_id = sink.building_id
    solid = feature.lod1_solid or feature.lod2_other
    if footprint:
        feature.footprint = flat(footprint)
    elif feature.lod0_roof_edge:
        feature.footprint = flat(feature.lod0_roof_edge)
    elif feature.lod2_ground:
        feature.footprint = flat(feature.lod2_ground)
    elif solid:
        feature.footprint = flat(lowest_polygons(solid))
    lows = [
        z for z in (min_z(feature.lod1_solid), min_z(feature.lod2_other), min_z(feature.lod2_ground)) if z is not None
    ]
    if not lows and not (feature.lod2_roof or feature.lod2_wall):
        z = min_z(footprint)
        lows = [z] if z is not None else []
    elif not lows:
        lows = [z for z in (min_z(feature.lod2_wall), min_z(feature.lod2_roof)) if z is not None]
    feature.ground_elevation = min(lows) if lows else None

    out = [feature]
    for part in parts:
        if classify(part.tag)[1] == "BuildingPart":
            out.extend(read_building(part, ctx, parent_id=feature.gml_id))
    return out


def _boundary(prop: Any, feature: BuildingFeature, ctx: ParseContext) -> None:
    for surface in prop:
        target_name = _BOUNDARY_LISTS.get(classify(surface.tag)[1], "lod2_other")
        for geom in surface:
            group, local = classify(geom.tag)
            lod = _lod_of(local) if group == "bldg" else None
            if lod is None:
                continue
            feature.lods.add(lod)
            if lod == 2:
                getattr(feature, target_name).extend(ctx.polygons(geom))
