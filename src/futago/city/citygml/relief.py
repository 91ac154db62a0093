"""dem:ReliefFeature / dem:TINRelief → ReliefFeature triangles.

A PLATEAU DEM tile is one ReliefFeature with hundreds of thousands of triangles, so the reader
hands triangles over as they end (``ParseContext.pending_triangles``) and frees each one; the
builder here only collects what is left.
"""

from __future__ import annotations

from typing import Any

from futago.city.citygml.geometry import ParseContext
from futago.city.citygml.names import classify, gml_id, gml_tags
from futago.city.features import Position, ReliefFeature

TRIANGLE_TAGS = gml_tags("Triangle")


def triangle(elem: Any, ctx: ParseContext) -> tuple[Position, Position, Position] | None:
    poly = ctx.polygon(elem)
    if not poly or len(poly[0]) < 3:
        return None
    ring = poly[0]
    return (ring[0], ring[1], ring[2])


def read_relief(elem: Any, ctx: ParseContext) -> ReliefFeature:
    triangles = ctx.pending_triangles
    ctx.pending_triangles = []
    for tri in elem.iter(*TRIANGLE_TAGS):
        t = triangle(tri, ctx)
        if t is not None:
            triangles.append(t)
    return ReliefFeature(gml_id=gml_id(elem), triangles=triangles, source=f"{ctx.file}:{elem.sourceline}")


def is_relief(tag: Any) -> bool:
    group, local = classify(tag)
    return group == "dem" and local in ("ReliefFeature", "TINRelief")
