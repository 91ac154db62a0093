"""tran:Road → RoadFeature (2D surfaces of the lowest LOD with surfaces), with its traffic areas as parts."""

from __future__ import annotations

from typing import Any

from futago.city.citygml.geometry import ParseContext, flat
from futago.city.citygml.names import URO, classify, gml_id
from futago.city.citygml.objects import read_object
from futago.city.citygml.uro import GENERIC_LOCALS, UroSink, read_generic, read_uro_property
from futago.city.features import Polygon3, RoadFeature

_PARTS = ("trafficArea", "auxiliaryTrafficArea")


def read_road(elem: Any, ctx: ParseContext) -> RoadFeature:
    feature = RoadFeature(gml_id=gml_id(elem), source=f"{ctx.file}:{elem.sourceline}")
    sink = UroSink()
    sink.attributes = feature.attributes
    sink.risks = feature.risks
    by_lod: dict[str, list[Polygon3]] = {}
    for child in elem:
        group, local = classify(child.tag)
        if group == URO:
            read_uro_property(child, sink, ctx)
        elif group == "gen":
            if local in GENERIC_LOCALS:
                read_generic(child, feature.generic, ctx)
        elif group == "gml":
            if local == "name" and feature.name is None:
                feature.name = ctx.label(child)[0]
        elif group != "tran":
            continue
        elif local.startswith("lod") and local[3:4].isdigit():
            feature.lods.add(int(local[3]))
            if local.endswith("MultiSurface"):
                by_lod.setdefault(local, []).extend(ctx.polygons(child))
        elif local == "function" and feature.function is None:
            feature.function = ctx.label(child)[0]
        elif local == "class":
            feature.road_class = ctx.label(child)[0]
        elif local == "usage" and feature.usage is None:
            feature.usage = ctx.label(child)[0]
        elif local in _PARTS:
            for area in child:
                fallback = f"{feature.gml_id}/{classify(area.tag)[1]}/{len(feature.parts)}"
                feature.parts.append(read_object(area, ctx, parent_id=feature.gml_id, fallback_id=fallback))
    for part in feature.parts:  # a LOD2/3 road is drawn by its traffic areas
        feature.lods |= part.lods
    for key in sorted(by_lod):
        if by_lod[key]:
            feature.polygons = flat(by_lod[key])
            break
    return feature
