"""wtr:WaterBody zones of the PLATEAU hazard maps (fld, tnm, htd, ifld) → WaterBodyFeature.

The hazard comes from the risk attribute's type; a water body without one is a real river or
lake, not a hazard zone (None here: the reader reads it as a CityObjectFeature "WaterBody"),
unless its PLATEAU folder says which hazard it maps.
"""

from __future__ import annotations

from typing import Any, cast

from futago.city.citygml.geometry import ParseContext, flat
from futago.city.citygml.names import URO, classify, gml_id
from futago.city.citygml.uro import UroSink, read_uro_property
from futago.city.features import Hazard, WaterBodyFeature

HAZARD_BY_FOLDER: dict[str, Hazard] = {
    "fld": "river_flooding",
    "tnm": "tsunami",
    "htd": "high_tide",
    "ifld": "inland_flooding",
}


def read_water_body(elem: Any, ctx: ParseContext) -> WaterBodyFeature | None:
    sink = UroSink()
    name: str | None = None
    polygons = []
    for child in elem:
        group, local = classify(child.tag)
        if group == "wtr" and local.startswith("lod") and local.endswith("Surface"):
            polygons.extend(ctx.polygons(child))
        elif group == URO:
            read_uro_property(child, sink, ctx)
        elif group == "gml" and local == "name" and name is None:
            name = ctx.label(child)[0]
    hazard = sink.risks[0].kind if sink.risks else HAZARD_BY_FOLDER.get(ctx.hazard_hint or "")
    if hazard is None:
        return None
    return WaterBodyFeature(
        gml_id=gml_id(elem),
        hazard=cast(Hazard, hazard),
        name=name,
        polygons=flat(polygons),
        risks=sink.risks,
        source=f"{ctx.file}:{elem.sourceline}",
    )
