"""i-UR (uro) and generic (gen) attributes, read by local name so that every i-UR version works.

i-UR 1.4 wraps risks in ``uro:buildingDisasterRiskAttribute/uro:BuildingRiverFloodingRiskAttribute``,
3.x in ``uro:bldgDisasterRiskAttribute/uro:RiverFloodingRiskAttribute``; water bodies use
``uro:floodingRiskAttribute/uro:WaterBodyTsunamiRiskAttribute``. What stays stable is the object's
local name: the hazard is a word in it, and an object ending in ``RiskAttribute`` is a risk.
"""

from __future__ import annotations

from typing import Any

from futago.city.citygml.context import warn
from futago.city.citygml.geometry import ParseContext
from futago.city.citygml.names import GML, URO, classify
from futago.city.features import GenericAttribute, GenericType, Hazard, RiskEntry

_HAZARD_WORDS: tuple[tuple[str, Hazard], ...] = (
    ("riverflooding", "river_flooding"),
    ("inlandflooding", "inland_flooding"),
    ("hightide", "high_tide"),
    ("tsunami", "tsunami"),
    ("landslide", "landslide"),
)
_LENGTH_TO_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "km": 1000.0, "ft": 0.3048}
_TIME_TO_H = {"hour": 1.0, "h": 1.0, "hr": 1.0, "min": 1 / 60, "minute": 1 / 60, "s": 1 / 3600, "day": 24.0, "d": 24.0}


def hazard_of(local_name: str) -> Hazard | None:
    lowered = local_name.lower()
    for word, hazard in _HAZARD_WORDS:
        if word in lowered:
            return hazard
    return None


def measure(elem: Any, units: dict[str, float], ctx: ParseContext) -> float | None:
    """A gml:MeasureType value in the target unit; an unknown uom is taken as the target unit."""
    text = (elem.text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        warn(ctx, elem, f"not a number: {text!r}; left out")  # one bad value must not fail the file
        return None
    uom = elem.get("uom")
    if uom:
        value *= units.get(uom.strip().lower(), 1.0)
    return value


def length_m(elem: Any, ctx: ParseContext) -> float | None:
    return measure(elem, _LENGTH_TO_M, ctx)


def risk_entry(obj: Any, hazard: Hazard, ctx: ParseContext) -> RiskEntry:
    entry = RiskEntry(kind=hazard)
    for leaf in obj:
        group, local = classify(leaf.tag)
        if group != URO:
            continue
        if local == "depth":
            entry.depth = length_m(leaf, ctx)
        elif local == "duration":
            entry.duration = measure(leaf, _TIME_TO_H, ctx)
        else:
            value = ctx.label(leaf)[0]
            if local == "description":
                entry.description = value
            elif local == "rank":
                entry.rank = value
            elif local == "rankOrg":
                entry.rank_org = value
            elif local == "adminType":
                entry.admin_type = value
            elif local == "scale":
                entry.scale = value
            elif local == "areaType":
                entry.area_type = value
    return entry


class UroSink:
    """Where uro values go: the feature builders pass their own lists and dicts."""

    __slots__ = ("attributes", "building_id", "risks")

    def __init__(self) -> None:
        self.attributes: dict[str, str] = {}
        self.risks: list[RiskEntry] = []
        self.building_id: str | None = None


def read_uro_property(prop: Any, sink: UroSink, ctx: ParseContext) -> None:
    """One uro child of a city object: risks, the building ID, key-value pairs, or plain details."""
    children = list(prop)
    if not children:  # a uro leaf directly on the feature
        _put(sink.attributes, classify(prop.tag)[1], ctx.label(prop)[0])
        return
    for obj in children:
        group, local = classify(obj.tag)
        if group != URO:
            continue
        if local.endswith("RiskAttribute"):
            hazard = hazard_of(local)
            if hazard is not None:
                sink.risks.append(risk_entry(obj, hazard, ctx))
            continue
        if local in ("KeyValuePairAttribute", "KeyValuePair"):
            key = value = None
            for leaf in obj:
                leaf_local = classify(leaf.tag)[1]
                if leaf_local == "key":
                    key = ctx.label(leaf)[0]
                elif leaf_local in ("codeValue", "value", "stringValue", "intValue", "doubleValue"):
                    value = ctx.label(leaf)[0]
            if key:
                _put(sink.attributes, key, value)
            continue
        _flatten(obj, sink, ctx)


def _flatten(obj: Any, sink: UroSink, ctx: ParseContext) -> None:
    for leaf in obj.iter():
        if len(leaf):
            continue
        group, local = classify(leaf.tag)
        if group != URO:
            continue
        if local == "buildingID":
            sink.building_id = (leaf.text or "").strip() or None
            continue
        _put(sink.attributes, local, ctx.label(leaf)[0])


def _put(attributes: dict[str, str], key: str, value: str | None) -> None:
    if value is None:
        return
    old = attributes.get(key)
    attributes[key] = value if old is None or old == value else f"{old}; {value}"


_GENERIC_TYPES: dict[str, GenericType] = {
    "stringAttribute": "string",
    "intAttribute": "int",
    "doubleAttribute": "double",
    "dateAttribute": "date",
    "uriAttribute": "uri",
    "measureAttribute": "measure",
}
GENERIC_LOCALS = frozenset([*_GENERIC_TYPES, "genericAttributeSet"])
_NUMERIC = frozenset(("int", "double", "measure"))


def read_generic(prop: Any, out: list[GenericAttribute], ctx: ParseContext, set_path: str | None = None) -> None:
    """gen:stringAttribute / intAttribute / ... / genericAttributeSet (nested) → ``out``, in document order.

    Names are kept as written, in any script: they are data, not identifiers. A number that does not
    parse keeps its text with ``number=None`` and a warning."""
    local = classify(prop.tag)[1]
    name = prop.get("name")
    if name is None:
        warn(ctx, prop, f"gen:{local} without a name; left out")
        return
    if local == "genericAttributeSet":
        inner = name if set_path is None else f"{set_path}/{name}"
        code_space = prop.get("codeSpace")
        start = len(out)
        for child in prop:
            if classify(child.tag)[1] in GENERIC_LOCALS:
                read_generic(child, out, ctx, inner)
        if code_space:
            for attribute in out[start:]:
                attribute.code_space = attribute.code_space or code_space
        return
    kind = _GENERIC_TYPES.get(local)
    if kind is None:
        return
    for child in prop:
        if classify(child.tag)[1] == "value":
            text = (child.text or "").strip()
            attribute = GenericAttribute(name=name, type=kind, value=text, set=set_path)
            if kind in _NUMERIC and text:
                try:
                    attribute.number = float(text)
                except ValueError:
                    warn(ctx, child, f"gen:{local} {name!r}: not a number: {text!r}; kept as text")
            if kind == "measure":
                attribute.unit = child.get("uom")
            out.append(attribute)
            break


def is_gml(tag: Any) -> bool:
    return classify(tag)[0] == GML
