"""bldg:Building and bldg:BuildingPart → BuildingFeature.

One pass over the direct children of each building, dispatching on (group, local name), keeps
the per-building cost close to lxml's own. Parts come out as their own features after their
parent, with ``parent_id`` set, so the importer can make them child twins; so do the building's
installations (CityObjectFeature "BuildingInstallation"), right after the building they belong to.
Boundary surfaces of LOD2 and up are kept per surface (``surfaces``, with their windows and doors);
the LOD2 ones also fill ``lod2_roof``/``lod2_wall``/``lod2_ground``/``lod2_other``, sharing the polygons.
The reader's ``geometry`` mode trims this for its callers: "twin" (an import) reads a LOD1 solid under a LOD0
footprint for its lowest height only; "footprint" (``futago city footprints``) reads only a footprint line's values.
"""

from __future__ import annotations

from typing import Any, Literal

from futago.city.citygml.context import warn
from futago.city.citygml.geometry import ParseContext, flat, lowest_polygons, min_z
from futago.city.citygml.names import URO, classify, gml_id
from futago.city.citygml.objects import read_object
from futago.city.citygml.uro import GENERIC_LOCALS, UroSink, length_m, read_generic, read_uro_property
from futago.city.features import BoundarySurface, BuildingFeature, CityObjectFeature, Opening, Polygon3

_BOUNDARY_LISTS = {"RoofSurface": "lod2_roof", "WallSurface": "lod2_wall", "GroundSurface": "lod2_ground"}


def _int(elem: Any, ctx: ParseContext) -> int | None:
    text = (elem.text or "").strip()
    if not text:
        return None
    try:
        return int(text[:4]) if "-" in text[1:] else int(float(text))  # gYear / date / "3"
    except ValueError:
        warn(ctx, elem, f"not an integer: {text!r}; left out")  # one bad value must not fail the file
        return None


def _lod_of(local: str) -> int | None:
    if local.startswith("lod") and len(local) > 3 and local[3].isdigit():
        return int(local[3])
    return None


def read_building(
    elem: Any, ctx: ParseContext, parent_id: str | None = None
) -> list[BuildingFeature | CityObjectFeature]:
    """The building, its installations, then each of its parts (recursively)."""
    kind: Literal["Building", "BuildingPart"] = (
        "BuildingPart" if classify(elem.tag)[1] == "BuildingPart" else "Building"
    )
    feature = BuildingFeature(gml_id=gml_id(elem), kind=kind, parent_id=parent_id)
    feature.source = f"{ctx.file}:{elem.sourceline}"
    sink = UroSink()
    sink.attributes = feature.attributes
    sink.risks = feature.risks
    parts: list[Any] = []
    installations: list[Any] = []
    footprint: list[Polygon3] = []
    lod1_low: float | None = None  # the LOD1 geometry's lowest height
    lods = feature.lods
    footprint_only = ctx.geometry == "footprint"

    for child in elem:
        group, local = classify(child.tag)
        if footprint_only and _unneeded(group, local, bool(footprint or feature.lod0_roof_edge)):
            continue
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
                    # LOD0 comes first in the schema's order: whether it gave a footprint is known here
                    lod1_low = _read_lod1(child, feature, ctx, bool(footprint or feature.lod0_roof_edge), lod1_low)
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
            elif local in ("outerBuildingInstallation", "interiorBuildingInstallation"):
                installations.extend(child)
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
            if local in GENERIC_LOCALS:
                read_generic(child, feature.generic, ctx)
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
    elif feature.surfaces:  # LOD3/4 only: the ground surfaces of the lowest LOD, else the lowest faces
        feature.footprint = flat(_lowest_lod_ground(feature.surfaces))
    lows = [z for z in (lod1_low, min_z(feature.lod2_other), min_z(feature.lod2_ground)) if z is not None]
    if not lows and not (feature.lod2_roof or feature.lod2_wall):
        z = min_z(footprint)
        lows = [z] if z is not None else []
    elif not lows:
        lows = [z for z in (min_z(feature.lod2_wall), min_z(feature.lod2_roof)) if z is not None]
    if not lows and feature.surfaces:
        z = min_z(p for s in feature.surfaces for p in s.polygons)
        lows = [z] if z is not None else []
    feature.ground_elevation = min(lows) if lows else None
    if footprint_only:  # the LOD1 solid that would give it was not read
        feature.ground_elevation = None

    out: list[BuildingFeature | CityObjectFeature] = [feature]
    for index, installation in enumerate(installations):
        fallback = f"{feature.gml_id}/BuildingInstallation/{index}"
        out.append(read_object(installation, ctx, parent_id=feature.gml_id, fallback_id=fallback))
    for part in parts:
        if classify(part.tag)[1] == "BuildingPart":
            out.extend(read_building(part, ctx, parent_id=feature.gml_id))
    return out


_PARTS = ("consistsOfBuildingPart", "outerBuildingInstallation", "interiorBuildingInstallation")


def _unneeded(group: str, local: str, has_lod0: bool) -> bool:
    """Whether ``geometry="footprint"`` leaves a child of a building unread: its attributes (uro, gen), its
    parts and installations, and once LOD0 gave the footprint, every other geometry."""
    if group == URO or group == "gen":
        return True
    if group != "bldg":
        return False
    if local in _PARTS:
        return True
    return has_lod0 and (local == "boundedBy" or (local.startswith("lod") and not local.startswith("lod0")))


def _read_lod1(
    prop: Any, feature: BuildingFeature, ctx: ParseContext, has_lod0: bool, low: float | None
) -> float | None:
    """Read a LOD1 geometry; returns the lowest height of those read so far. Its polygons go to ``lod1_solid``
    unless the reader reads for twins (``geometry="twin"``) and LOD0 gave the footprint: then only its lowest
    height (groundElevation) is used, and reading that alone spares most of a building's parsing."""
    if has_lod0 and ctx.geometry == "twin":
        z = ctx.low_z(prop)
    else:
        polygons = ctx.polygons(prop)
        feature.lod1_solid.extend(polygons)
        z = min_z(polygons)
    if z is None:
        return low
    return z if low is None or z < low else low


def _boundary(prop: Any, feature: BuildingFeature, ctx: ParseContext) -> None:
    for surface in prop:
        kind = classify(surface.tag)[1]
        target_name = _BOUNDARY_LISTS.get(kind, "lod2_other")
        records: list[BoundarySurface] = []
        openings: list[Opening] = []
        for geom in surface:
            group, local = classify(geom.tag)
            if group != "bldg":
                continue
            if local == "opening":
                openings.extend(_openings(geom, feature, ctx))
                continue
            lod = _lod_of(local)
            if lod is None:
                continue
            feature.lods.add(lod)
            if lod >= 2:
                polygons = ctx.polygons(geom)
                if lod == 2:
                    getattr(feature, target_name).extend(polygons)
                records.append(BoundarySurface(kind=kind, gml_id=gml_id(surface), lod=lod, polygons=polygons))
        for opening in openings:  # each window or door goes with the surface of its LOD
            match = next((r for r in records if r.lod == opening.lod), None)
            if match is None:
                match = BoundarySurface(kind=kind, gml_id=gml_id(surface), lod=opening.lod)
                records.append(match)
            match.openings.append(opening)
        feature.surfaces.extend(records)


def _openings(prop: Any, feature: BuildingFeature, ctx: ParseContext) -> list[Opening]:
    """bldg:opening → its bldg:Window / bldg:Door at each LOD it has geometry for."""
    out = []
    for obj in prop:
        kind = classify(obj.tag)[1]
        for geom in obj:
            group, local = classify(geom.tag)
            lod = _lod_of(local) if group == "bldg" else None
            if lod is None:
                continue
            feature.lods.add(lod)
            out.append(Opening(kind=kind, gml_id=gml_id(obj), lod=lod, polygons=ctx.polygons(geom)))
    return out


def _lowest_lod_ground(surfaces: list[BoundarySurface]) -> list[Polygon3]:
    lod = min(s.lod for s in surfaces)
    at_lod = [s for s in surfaces if s.lod == lod]
    ground = [p for s in at_lod if s.kind == "GroundSurface" for p in s.polygons]
    return ground or lowest_polygons([p for s in at_lod for p in s.polygons])
