"""One bldg:Building (with its parts and LOD2 surfaces) as PLATEAU text.

The element order follows CityGML 2.0's AbstractBuilding (class, usage, measuredHeight,
storeysAboveGround, lod0RoofEdge, lod1Solid, lod2Solid, boundedBy, consistsOfBuildingPart) and then
the i-UR attributes in the order the real Sapporo/Numazu files use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from futago.city.generator.gml import multi_surface, polygon

UP = "../../"  # udx/bldg/ -> dataset root


@dataclass(frozen=True, slots=True)
class Volume:
    """A prism: four 'lat lon' corners (counter-clockwise seen from above) from z0 up to z1."""

    corners: Sequence[str]
    z0: str
    z1: str


@dataclass(frozen=True, slots=True)
class FloodEntry:
    scale: int  # 1 = L1, 2 = L2 (Building…_scale codes)
    rank: int
    rank_org: int
    depth: str  # m, as written


@dataclass(frozen=True, slots=True)
class UroTexts:
    """Version-dependent element names and codelist file names."""

    version: str
    risk_wrapper: str
    risk_element: str
    risk_codelist: str
    structure_codelist: str


def uro_texts(version: str) -> UroTexts:
    if version == "2.0":
        return UroTexts(
            version,
            "uro:buildingDisasterRiskAttribute",
            "uro:BuildingRiverFloodingRiskAttribute",
            "BuildingRiverFloodingRiskAttribute",
            "Building_buildingStructureType",
        )
    return UroTexts(
        version,
        "uro:bldgDisasterRiskAttribute",
        "uro:RiverFloodingRiskAttribute",
        "RiverFloodingRiskAttribute",
        "BuildingDetailAttribute_buildingStructureType",
    )


def _rings(v: Volume) -> list[list[str]]:
    """Ground (facing down), four walls (facing out), roof (facing up)."""
    c, z0, z1 = v.corners, v.z0, v.z1
    ground = [f"{c[0]} {z0}", f"{c[3]} {z0}", f"{c[2]} {z0}", f"{c[1]} {z0}"]
    walls = [
        [f"{c[i]} {z0}", f"{c[j]} {z0}", f"{c[j]} {z1}", f"{c[i]} {z1}"] for i, j in ((0, 1), (1, 2), (2, 3), (3, 0))
    ]
    roof = [f"{c[0]} {z1}", f"{c[1]} {z1}", f"{c[2]} {z1}", f"{c[3]} {z1}"]
    return [ground, *walls, roof]


def lod1_solid(ind: str, v: Volume) -> str:
    members = "".join(polygon(ind + "\t\t\t\t", ring) for ring in _rings(v))
    return (
        f"{ind}<bldg:lod1Solid>\n{ind}\t<gml:Solid>\n{ind}\t\t<gml:exterior>\n{ind}\t\t\t<gml:CompositeSurface>\n"
        f"{members}{ind}\t\t\t</gml:CompositeSurface>\n{ind}\t\t</gml:exterior>\n{ind}\t</gml:Solid>\n"
        f"{ind}</bldg:lod1Solid>\n"
    )


def lod2(ind: str, v: Volume, uid: str) -> str:
    """bldg:lod2Solid referring (xlink) to the polygons of the Ground/Wall/RoofSurfaces that follow it."""
    rings = _rings(v)
    ids = [f"poly_{uid}_{k}" for k in range(len(rings))]
    refs = "".join(f'{ind}\t\t\t\t<gml:surfaceMember xlink:href="#{i}"/>\n' for i in ids)
    out = [
        f"{ind}<bldg:lod2Solid>\n{ind}\t<gml:Solid>\n{ind}\t\t<gml:exterior>\n{ind}\t\t\t<gml:CompositeSurface>\n"
        f"{refs}{ind}\t\t\t</gml:CompositeSurface>\n{ind}\t\t</gml:exterior>\n{ind}\t</gml:Solid>\n"
        f"{ind}</bldg:lod2Solid>\n"
    ]
    kinds = [("GroundSurface", "grnd")] + [("WallSurface", "wall")] * 4 + [("RoofSurface", "roof")]
    deep = ind + "\t\t\t\t"
    for k, ((kind, prefix), ring) in enumerate(zip(kinds, rings, strict=True)):
        out.append(
            f'{ind}<bldg:boundedBy>\n{ind}\t<bldg:{kind} gml:id="{prefix}_{uid}_{k}">\n'
            f"{ind}\t\t<bldg:lod2MultiSurface>\n{ind}\t\t\t<gml:MultiSurface>\n"
            f"{polygon(deep, ring, ids[k])}"
            f"{ind}\t\t\t</gml:MultiSurface>\n{ind}\t\t</bldg:lod2MultiSurface>\n"
            f"{ind}\t</bldg:{kind}>\n{ind}</bldg:boundedBy>\n"
        )
    return "".join(out)


def _thematic(ind: str, cls: int, usage: int, height: str | None, storeys: int) -> str:
    measured = f'{ind}<bldg:measuredHeight uom="m">{height}</bldg:measuredHeight>\n' if height is not None else ""
    return (
        f'{ind}<bldg:class codeSpace="{UP}codelists/Building_class.xml">{cls}</bldg:class>\n'
        f'{ind}<bldg:usage codeSpace="{UP}codelists/Building_usage.xml">{usage}</bldg:usage>\n'
        f"{measured}{ind}<bldg:storeysAboveGround>{storeys}</bldg:storeysAboveGround>\n"
    )


@dataclass(frozen=True, slots=True)
class Part:
    uid: str
    usage: int
    cls: int
    height: str | None
    storeys: int
    volume: Volume
    lod2: bool


def _part(p: Part) -> str:
    ind = "\t\t\t\t\t"
    body = _thematic(ind, p.cls, p.usage, p.height, p.storeys) + lod1_solid(ind, p.volume)
    if p.lod2:
        body += lod2(ind, p.volume, p.uid)
    return (
        f'\t\t\t<bldg:consistsOfBuildingPart>\n\t\t\t\t<bldg:BuildingPart gml:id="bldg_{p.uid}">\n'
        f"{body}\t\t\t\t</bldg:BuildingPart>\n\t\t\t</bldg:consistsOfBuildingPart>\n"
    )


def _flood(u: UroTexts, entries: Sequence[FloodEntry]) -> str:
    cl = f"{UP}codelists/{u.risk_codelist}"
    return "".join(
        f"\t\t\t<{u.risk_wrapper}>\n\t\t\t\t<{u.risk_element}>\n"
        f'\t\t\t\t\t<uro:description codeSpace="{cl}_description.xml">1</uro:description>\n'
        f'\t\t\t\t\t<uro:rank codeSpace="{cl}_rank.xml">{e.rank}</uro:rank>\n'
        f'\t\t\t\t\t<uro:rankOrg codeSpace="{cl}_rankOrg.xml">{e.rank_org}</uro:rankOrg>\n'
        f'\t\t\t\t\t<uro:depth uom="m">{e.depth}</uro:depth>\n'
        f'\t\t\t\t\t<uro:adminType codeSpace="{cl}_adminType.xml">1</uro:adminType>\n'
        f'\t\t\t\t\t<uro:scale codeSpace="{cl}_scale.xml">{e.scale}</uro:scale>\n'
        f"\t\t\t\t</{u.risk_element}>\n\t\t\t</{u.risk_wrapper}>\n"
        for e in entries
    )


def building_xml(
    u: UroTexts,
    *,
    uid: str,
    building_id: str,
    name: str | None,
    cls: int,
    usage: int,
    height: str | None,
    storeys: int,
    structure: int,
    volume: Volume,
    lod2_surfaces: bool,
    parts: Sequence[Part],
    flood: Sequence[FloodEntry],
) -> str:
    """A whole core:cityObjectMember. A Building made of parts keeps its lod0RoofEdge (the footprint
    every 2D consumer needs) and leaves the solids to its parts, as PLATEAU does."""
    ind = "\t\t\t"
    out = [f'\t<core:cityObjectMember>\n\t\t<bldg:Building gml:id="bldg_{uid}">\n']
    if name is not None:
        out.append(f"{ind}<gml:name>{name}</gml:name>\n")
    out.append(_thematic(ind, cls, usage, height, storeys))
    roof = [f"{c} {volume.z1}" for c in volume.corners]
    out.append(multi_surface(ind, "bldg:lod0RoofEdge", [roof]))
    if parts:
        out.extend(_part(p) for p in parts)
    else:
        out.append(lod1_solid(ind, volume))
        if lod2_surfaces:
            out.append(lod2(ind, volume, uid))
    detail = (
        f"{ind}<uro:buildingDetailAttribute>\n{ind}\t<uro:BuildingDetailAttribute>\n"
        f'{ind}\t\t<uro:buildingStructureType codeSpace="{UP}codelists/{u.structure_codelist}.xml">{structure}'
        f"</uro:buildingStructureType>\n{ind}\t\t<uro:surveyYear>2021</uro:surveyYear>\n"
        f"{ind}\t</uro:BuildingDetailAttribute>\n{ind}</uro:buildingDetailAttribute>\n"
    )
    ident = (
        f"{ind}<uro:buildingIDAttribute>\n{ind}\t<uro:BuildingIDAttribute>\n"
        f"{ind}\t\t<uro:buildingID>{building_id}</uro:buildingID>\n"
        f'{ind}\t\t<uro:prefecture codeSpace="{UP}codelists/Common_localPublicAuthorities.xml">22</uro:prefecture>\n'
        f'{ind}\t\t<uro:city codeSpace="{UP}codelists/Common_localPublicAuthorities.xml">22203</uro:city>\n'
        f"{ind}\t</uro:BuildingIDAttribute>\n{ind}</uro:buildingIDAttribute>\n"
    )
    if u.version == "2.0":
        quality = (
            f"{ind}<uro:buildingDataQualityAttribute>\n{ind}\t<uro:BuildingDataQualityAttribute>\n"
            f'{ind}\t\t<uro:lod1HeightType codeSpace="{UP}codelists/BuildingDataQualityAttribute_lod1HeightType.xml">'
            f"2</uro:lod1HeightType>\n{ind}\t</uro:BuildingDataQualityAttribute>\n"
            f"{ind}</uro:buildingDataQualityAttribute>\n"
        )
        out += [ident, detail, _flood(u, flood), quality]
    else:
        out += [_flood(u, flood), detail, ident]
    out.append("\t\t</bldg:Building>\n\t</core:cityObjectMember>\n")
    return "".join(out)
