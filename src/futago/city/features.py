"""City features as the CityGML importer yields them, before they become twins.

Coordinates are WGS84 (longitude, latitude[, height in metres]) — already swapped from the
(latitude, longitude, height) order of EPSG:6697. Rings are closed lists of positions.
"""

from __future__ import annotations

from collections import Counter
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


GenericType = Literal["string", "int", "double", "date", "uri", "measure"]


@dataclass(slots=True)
class GenericAttribute:
    """One CityGML generic attribute (gen:stringAttribute ... gen:measureAttribute), of any name in any script.

    ``value`` is the text exactly as in the file; ``number`` is its value for int, double and measure
    attributes (None when the text is not a number: it is kept, with a warning). ``set`` is the path of the
    enclosing gen:genericAttributeSet names joined by "/" (None at the top), so nested sets flatten
    into one list that still round-trips to the XML.
    """

    name: str
    type: GenericType
    value: str
    number: float | None = None
    unit: str | None = None  # measureAttribute's uom
    set: str | None = None
    code_space: str | None = None  # genericAttributeSet's codeSpace, when it has one


@dataclass(slots=True)
class Opening:
    """A bldg:Window or bldg:Door of a boundary surface: 3D polygons in (lon, lat, h)."""

    kind: str  # "Window", "Door"
    gml_id: str
    lod: int
    polygons: list[Polygon3] = field(default_factory=list)


@dataclass(slots=True)
class BoundarySurface:
    """A _BoundarySurface of a building at LOD2+ (RoofSurface, WallSurface, GroundSurface, ClosureSurface,
    OuterCeilingSurface, OuterFloorSurface, and the interior ones of LOD4): its 3D polygons and openings."""

    kind: str  # the element's local name, e.g. "RoofSurface"
    gml_id: str
    lod: int
    polygons: list[Polygon3] = field(default_factory=list)  # 3D
    openings: list[Opening] = field(default_factory=list)


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
    generic: list[GenericAttribute] = field(default_factory=list)  # gen:* attributes (not in ``attributes``)
    surfaces: list[BoundarySurface] = field(default_factory=list)  # LOD2/LOD3 boundary surfaces, with openings


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
    name: str | None = None
    usage: str | None = None  # label (tran:usage)
    lods: set[int] = field(default_factory=set)
    attributes: dict[str, str] = field(default_factory=dict)  # uro attributes, flattened as for buildings
    generic: list[GenericAttribute] = field(default_factory=list)
    risks: list[RiskEntry] = field(default_factory=list)
    parts: list[CityObjectFeature] = field(default_factory=list)  # TrafficArea / AuxiliaryTrafficArea


@dataclass(slots=True)
class ReliefFeature:
    """A TIN of the relief (dem): triangles in (lon, lat, h)."""

    gml_id: str
    triangles: list[tuple[Position, Position, Position]] = field(default_factory=list)
    source: str = ""


@dataclass(slots=True)
class CityObjectFeature:
    """Any other city object of the PLATEAU product specification: urban-planning zones (urf), land use (luse),
    sediment-disaster areas (lsld), city furniture (frn), bridges, tunnels, other constructions, vegetation,
    railways, tracks, squares, waterways, water bodies that are not hazard zones, underground facilities,
    generic city objects, building installations...

    The reader keeps what the file says, without knowing the models: ``properties`` are the feature's own
    simple properties by local name (labels from the codelists applied, text otherwise, repeated values
    joined with "; "), ``codes`` the raw codes of the code-typed ones, ``units`` the uom of measured ones.
    The importer maps ``module``/``kind`` to a DTDL model and coerces the values to its schemas.
    """

    gml_id: str
    module: str  # the namespace group: "urf", "luse", "frn", "bridge", "tunnel", "vegetation", "uro", "tran"...
    kind: str  # the element's local name, e.g. "UseDistrict", "LandUse", "CityFurniture"
    name: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)  # uro attributes, flattened as for buildings
    generic: list[GenericAttribute] = field(default_factory=list)
    risks: list[RiskEntry] = field(default_factory=list)
    polygons: list[Polygon3] = field(default_factory=list)  # 2D (lon, lat) area or ground footprint
    lines: list[Ring] = field(default_factory=list)  # 2D curves (e.g. LOD0 networks)
    points: list[Position] = field(default_factory=list)  # e.g. the reference point of an implicit geometry
    height: float | None = None  # metres: measured or derived from the 3D geometry (top - bottom)
    lods: set[int] = field(default_factory=set)
    parts: list[CityObjectFeature] = field(default_factory=list)  # e.g. TrafficArea / AuxiliaryTrafficArea
    parent_id: str | None = None  # e.g. the building of a BuildingInstallation
    source: str = ""


@dataclass(slots=True)
class ReadWarning:
    """Something in a feature that futago kept as text or left out, without failing the file."""

    feature_id: str
    path: str  # file:line, then the element path inside the feature
    message: str

    def to_json(self) -> dict[str, str]:
        return {"feature": self.feature_id, "path": self.path, "message": self.message}


@dataclass
class ReadTally:
    """What reading a city met, for the import summary: nothing futago reads is dropped unsaid.

    ``features`` counts each top-level city object (each child of a cityObjectMember or featureMember) by
    its local element name, whatever futago then does with it; ``skipped`` counts by reason those that
    became no twin, with one example gml:id per reason; ``warnings`` are the first ``WARNINGS_KEPT``
    warnings, ``warning_count`` all of them.
    """

    WARNINGS_KEPT = 20

    features: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_examples: dict[str, str] = field(default_factory=dict)
    warnings: list[ReadWarning] = field(default_factory=list)
    warning_count: int = 0

    def skip(self, reason: str, gml_id: str) -> None:
        self.skipped[reason] += 1
        self.skipped_examples.setdefault(reason, gml_id)

    def warn(self, feature_id: str, path: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < self.WARNINGS_KEPT:
            self.warnings.append(ReadWarning(feature_id, path, message))


CityFeature = BuildingFeature | WaterBodyFeature | RoadFeature | ReliefFeature | CityObjectFeature
