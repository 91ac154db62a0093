"""The synthetic-district generator's public face (the code lives in futago.city.generator)."""

from futago.city.generator import DistrictSpec, FloodZone, GeneratedDistrict, generate_district

__all__ = ["DistrictSpec", "FloodZone", "GeneratedDistrict", "generate_district"]
