"""The city layer: CityGML/PLATEAU import, coordinate systems and city features."""

from futago.city.features import (
    BuildingFeature,
    CityFeature,
    ReliefFeature,
    RiskEntry,
    RoadFeature,
    WaterBodyFeature,
)

__all__ = ["BuildingFeature", "CityFeature", "ReliefFeature", "RiskEntry", "RoadFeature", "WaterBodyFeature"]
