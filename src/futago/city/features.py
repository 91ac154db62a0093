"""City features as the CityGML importer yields them, before they become twins.

Coordinates are WGS84 (longitude, latitude[, height in metres]) — already swapped from the
(latitude, longitude, height) order of EPSG:6697. Rings are closed lists of positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from futago.core.records import JsonRecord

Position = tuple[float, ...]  # (lon, lat) or (lon, lat, h)
Ring = list[Position]
Polygon3 = list[Ring]  # exterior ring, then interior rings
Hazard = Literal["river_flooding", "inland_flooding", "high_tide", "tsunami", "landslide"]


@dataclass(slots=True)
class RiskEntry(JsonRecord):
    """One disaster-risk attribute (uro:Building*RiskAttribute / uro:*RiskAttribute)."""

    json_omit = "none"  # an attribute the data set lacks is left out

    kind: Hazard
    description: str | None = None  # e.g. the river's name (label when a codelist is present)
    rank: str | None = None  # label, e.g. "0.5m以上3m未満"
    rank_org: str | None = None
    depth: float | None = None  # metres
    duration: float | None = None  # hours
    admin_type: str | None = None
    scale: str | None = None  # e.g. "L1", "L2"
    area_type: str | None = None  # landslide: warning / special warning area (uro:areaType)


@dataclass(slots=True)
class BuildingFeature:
    gml_id: str
    kind: Literal["Building", "BuildingPart"]
    parent_id: str | None = None  # the Building a BuildingPart belongs to
    name: str | None = None
    measured_height: float | None = None  # missing is missing, never 0
    storeys_above_ground: int | None = None
    storeys_below_ground: int | None = None
    usage: str | None = None  # label (codelist applied when present)
    usage_code: str | None = None
    building_class: str | None = None
    year_of_construction: int | None = None
    footprint: list[Polygon3] = field(default_factory=list)  # 2D footprint polygons (LOD0, else derived)
    lod0_roof_edge: list[Polygon3] = field(default_factory=list)
    lod1_solid: list[Polygon3] = field(default_factory=list)  # 3D surfaces of the LOD1 solid
    lod2_roof: list[Polygon3] = field(default_factory=list)
    lod2_wall: list[Polygon3] = field(default_factory=list)
    lod2_ground: list[Polygon3] = field(default_factory=list)
    lod2_other: list[Polygon3] = field(default_factory=list)  # lod2Solid / lod2MultiSurface without a surface type
    lods: set[int] = field(default_factory=set)
    building_id: str | None = None  # uro:buildingID
    attributes: dict[str, str] = field(default_factory=dict)  # uro buildingDetail, keyValuePairs, gen:*
    risks: list[RiskEntry] = field(default_factory=list)
    ground_elevation: float | None = None  # metres: the lowest ground height (or from the DEM)
    source: str = ""  # file:line where the feature starts


@dataclass(slots=True)
class WaterBodyFeature:
    """Flood-inundation (fld), tsunami (tnm), inland-flooding or high-tide zones."""

    gml_id: str
    hazard: Hazard
    name: str | None = None
    polygons: list[Polygon3] = field(default_factory=list)  # 2D
    risks: list[RiskEntry] = field(default_factory=list)
    source: str = ""


@dataclass(slots=True)
class RoadFeature:
    gml_id: str
    function: str | None = None
    road_class: str | None = None
    polygons: list[Polygon3] = field(default_factory=list)  # 2D footprints
    source: str = ""


@dataclass(slots=True)
class ReliefFeature:
    """A TIN of the relief (dem): triangles in (lon, lat, h)."""

    gml_id: str
    triangles: list[tuple[Position, Position, Position]] = field(default_factory=list)
    source: str = ""


CityFeature = BuildingFeature | WaterBodyFeature | RoadFeature | ReliefFeature
