"""tran:Road → RoadFeature (2D surfaces of the lowest LOD with surfaces)."""

from __future__ import annotations

from typing import Any

from futago.city.citygml.geometry import ParseContext, flat
from futago.city.citygml.names import classify, gml_id
from futago.city.features import Polygon3, RoadFeature


def read_road(elem: Any, ctx: ParseContext) -> RoadFeature:
    feature = RoadFeature(gml_id=gml_id(elem), source=f"{ctx.file}:{elem.sourceline}")
    by_lod: dict[str, list[Polygon3]] = {}
    for child in elem:
        group, local = classify(child.tag)
        if group != "tran":
            continue
        if local.startswith("lod") and local.endswith("MultiSurface"):
            by_lod.setdefault(local, []).extend(ctx.polygons(child))
        elif local == "function" and feature.function is None:
            feature.function = ctx.label(child)[0]
        elif local == "class":
            feature.road_class = ctx.label(child)[0]
    for key in sorted(by_lod):
        if by_lod[key]:
            feature.polygons = flat(by_lod[key])
            break
    return feature
