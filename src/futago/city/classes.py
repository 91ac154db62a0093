"""Which DTDL model each CityGML/PLATEAU class becomes, and each model's property schemas.

The reader names a city object by its namespace group (``module``: "urf", "frn", "brid", "uro"...) and the
element's local name (``kind``); this table turns that pair into a ``dtmi:futago:city:*`` model. The property
schemas come from ``models.json`` itself (one parse, cached), so the table and the models cannot disagree,
and the importer never looks a model up per feature.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

CITY = "dtmi:futago:city:"

# Every urf feature class of i-UR 2.x/3.x (都市計画決定情報), by local name. Each becomes a concrete model of its
# own name extending UrbanPlanningZone, except urf:Waterway (an urban-facility waterway), named
# UrbanFacilityWaterway so that it does not clash with the transportation Waterway.
URF_CLASSES: tuple[str, ...] = (
    "AircraftNoiseControlZone", "AreaClassification", "CollectiveFacilitiesForReconstruction",
    "CollectiveFacilitiesForReconstructionAndRevitalization", "CollectiveFacilitiesForTsunamiDisasterPrevention",
    "CollectiveGovernmentAndPublicOfficeFacilities", "CollectiveHousingFacilities",
    "CollectiveUrbanDisasterPreventionFacilities", "ConservationZoneForClustersOfTraditionalStructures",
    "DisasterPreventionBlockImprovementProject", "DisasterPreventionBlockImprovementZonePlan",
    "DistributionBusinessPark", "DistributionBusinessZone", "DistrictDevelopmentPlan", "DistrictFacility",
    "DistrictImprovementPlanForDisasterPreventionBlockImprovementZonePlan",
    "DistrictImprovementPlanForHistoricSceneryMaintenanceAndImprovementDistrict", "DistrictPlan",
    "DistrictsAndZones", "EducationalAndCulturalFacility", "ExceptionalFloorAreaRateDistrict",
    "FirePreventionDistrict", "FireProtectionFacility", "FloodPreventionFacility", "GlobalHubCityDevelopmentProject",
    "GreenSpaceConservationDistrict", "HeightControlDistrict", "HighLevelUseDistrict",
    "HighRiseResidentialAttractionDistrict", "HistoricSceneryMaintenanceAndImprovementDistrictPlan",
    "HousingControlArea", "IndustrialParkDevelopmentProject", "LandReadjustmentProject",
    "LandReadjustmentPromotionArea", "LandReadjustmentPromotionAreasForCoreBusinessUrbanDevelopment",
    "LandscapeZone", "MarketsSlaughterhousesCrematoria", "MedicalFacility", "NewHousingAndUrbanDevelopmentProject",
    "NewUrbanInfrastructureProject", "OpenSpaceForPublicUse", "ParkingPlaceDevelopmentZone", "PortZone",
    "PrivateUrbanRenewalProjectPlan", "ProductiveGreenZone", "ProjectPromotionArea", "PromotionDistrict",
    "QuasiUrbanPlanningArea", "ResidenceAttractionArea", "ResidentialBlockConstructionProject",
    "ResidentialBlockConstructionPromotionArea", "ResidentialEnvironmentImprovementDistrict",
    "RoadsideDistrictFacility", "RoadsideDistrictImprovementPlan", "RoadsideDistrictPlan", "RuralDistrictFacility",
    "RuralDistrictImprovementPlan", "RuralDistrictPlan", "SandControlFacility", "ScenicDistrict",
    "ScheduledAreaForCollectiveGovernmentAndPublicOfficeFacilities", "ScheduledAreaForCollectiveHousingFacilities",
    "ScheduledAreaForDistributionBusinessPark", "ScheduledAreaForIndustrialParkDevelopmentProjects",
    "ScheduledAreaForNewHousingAndUrbanDevelopmentProjects", "ScheduledAreaForNewUrbanInfrastructureProjects",
    "ScheduledAreaForUrbanDevelopmentProject", "SnowProtectionFacility", "SocialWelfareFacility",
    "SpecialGreenSpaceConservationDistrict", "SpecialUrbanRenaissanceDistrict", "SpecialUseAttractionDistrict",
    "SpecialUseDistrict", "SpecialUseRestrictionDistrict", "SpecialZoneForPreservationOfHistoricalLandscape",
    "SpecifiedBlock", "SpecifiedBuildingZoneImprovementPlan", "SpecifiedDisasterPreventionBlockImprovementZone",
    "SpecifiedUrgentUrbanRenewalArea", "SupplyFacility", "TelecommunicationFacility", "TideFacility",
    "TrafficFacility", "TreatmentFacility", "TreePlantingDistrict", "UnclassifiedBlankArea",
    "UnclassifiedUseDistrict", "UnusedLandUsePromotionArea", "UrbanDevelopmentProject",
    "UrbanDisasterRecoveryPromotionArea", "UrbanFacility", "UrbanFacilityStipulatedByCabinetOrder",
    "UrbanFunctionAttractionArea", "UrbanPlanningArea", "UrbanRedevelopmentProject",
    "UrbanRedevelopmentPromotionArea", "UrbanRenewalProject", "UrgentUrbanRenewalArea", "UseDistrict", "Waterway",
    "WindProtectionFacility", "ZonalDisasterPreventionFacility", "ZoneForPreservationOfHistoricalLandscape",
    "Zone",  # the area model (区域モデル, udx/area) uses the plain urf:Zone
)  # fmt: skip

URF_RENAMED = {"Waterway": "UrbanFacilityWaterway"}

# The other classes of the product specification that become CityObject twins, by local name. A BuildingFeature,
# WaterBodyFeature (hazard zones), RoadFeature or ReliefFeature is handled by its own document function.
OBJECT_CLASSES: dict[str, str] = {
    # bldg: a BuildingInstallation is linked to its building (partOf / hasInstallation)
    "BuildingInstallation": "BuildingInstallation",
    # tran, rwy, trk, squr, wwy and their areas
    "Road": "Road",
    "Railway": "Railway",
    "Track": "Track",
    "Square": "Square",
    "Waterway": "Waterway",
    "TrafficArea": "TrafficArea",
    "AuxiliaryTrafficArea": "AuxiliaryTrafficArea",
    # brid, tun, cons, frn
    "Bridge": "Bridge",
    "BridgePart": "BridgePart",
    "BridgeInstallation": "BridgeInstallation",
    "BridgeConstructionElement": "BridgeConstructionElement",
    "Tunnel": "Tunnel",
    "TunnelPart": "TunnelPart",
    "TunnelInstallation": "TunnelInstallation",
    "OtherConstruction": "OtherConstruction",
    "CityFurniture": "CityFurniture",
    # ubld (i-UR 3.x uro:UndergroundBuilding; 2.x delivers them as bldg:Building, which stay Building twins)
    "UndergroundBuilding": "UndergroundBuilding",
    # unf: the utility-network classes of i-UR
    "UtilityNode": "UtilityNode",
    "UtilityNodeContainer": "UtilityNodeContainer",
    "Appurtenance": "Appurtenance",
    "Manhole": "Manhole",
    "Handhole": "Handhole",
    "Pipe": "Pipe",
    "Cable": "Cable",
    "Duct": "Duct",
    "ElectricityCable": "ElectricityCable",
    "TelecommunicationsCable": "TelecommunicationsCable",
    "OilGasChemicalsPipe": "OilGasChemicalsPipe",
    "SewerPipe": "SewerPipe",
    "ThermalPipe": "ThermalPipe",
    "WaterPipe": "WaterPipe",
    # veg, luse, wtr (not a hazard zone), gen
    "SolitaryVegetationObject": "SolitaryVegetationObject",
    "PlantCover": "PlantCover",
    "LandUse": "LandUse",
    "WaterBody": "WaterBody",
    "GenericCityObject": "GenericCityObject",
    # lsld (i-UR puts it in the urf namespace; it gives buildings inHazardArea, not inZone)
    "SedimentDisasterProneArea": "SedimentDisasterProneArea",
}

HAZARD_AREA = CITY + "SedimentDisasterProneArea;1"
URBAN_PLANNING_ZONE = CITY + "UrbanPlanningZone;1"

# Labels of the lsld codes (3D都市モデル標準製品仕様書 codelists), for files delivered without their codelists/.
SEDIMENT_LABELS: dict[str, dict[str, str]] = {
    "areaType": {
        "1": "土砂災害警戒区域（指定済）",
        "2": "土砂災害特別警戒区域（指定済）",
        "3": "土砂災害警戒区域（指定前）",
        "4": "土砂災害特別警戒区域（指定前）",
    },
    "disasterType": {"1": "急傾斜地の崩壊", "2": "土石流", "3": "地すべり"},
    "status": {"0": "特別警戒区域指定済み", "1": "特別警戒区域未指定"},
}

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$")  # a DTDL name, and a valid map key


def is_dtdl_name(key: str) -> bool:
    return len(key) <= 64 and _NAME.match(key) is not None


def model_of(module: str, kind: str) -> str | None:
    """The model id of a city object, or None when futago does not model its class."""
    if module == "urf" or module.startswith("urf"):
        if kind == "SedimentDisasterProneArea":
            return HAZARD_AREA
        if kind in _URF_SET:
            return f"{CITY}{URF_RENAMED.get(kind, kind)};1"
    name = OBJECT_CLASSES.get(kind)
    return f"{CITY}{name};1" if name else None


_URF_SET = frozenset(URF_CLASSES)


def urf_model_ids() -> frozenset[str]:
    """Every concrete urban-planning zone model: the targets of inZone."""
    return frozenset(f"{CITY}{URF_RENAMED.get(kind, kind)};1" for kind in URF_CLASSES)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a document needs of a model: its id and the schema kind of each property ("double", "integer",
    "date", "string", "boolean", or "complex" for arrays, maps and objects that the importer fills itself)."""

    id: str
    schemas: dict[str, str]


@cache
def _documents() -> dict[str, dict[str, Any]]:
    raw = json.loads(resources.files("futago.city").joinpath("models.json").read_text(encoding="utf-8"))
    return {doc["@id"]: doc for doc in raw}


@cache
def model_info(model_id: str) -> ModelInfo:
    """The property schemas of a model, its bases' included (one walk per model, cached)."""
    documents = _documents()
    schemas: dict[str, str] = {}
    pending = [model_id]
    while pending:
        doc = documents[pending.pop()]
        for content in doc.get("contents", []):
            types = content["@type"] if isinstance(content["@type"], list) else [content["@type"]]
            if "Property" in types:
                schema = content["schema"]
                schemas.setdefault(content["name"], schema if isinstance(schema, str) else "complex")
        extends = doc.get("extends", [])
        pending += [extends] if isinstance(extends, str) else list(extends)
    return ModelInfo(model_id, schemas)


def known_models() -> frozenset[str]:
    return frozenset(_documents())
