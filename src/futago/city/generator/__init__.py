"""A synthetic PLATEAU district: buildings, flood zones and terrain as PLATEAU CityGML, with the true
figures alongside, so the importer, the flood scenario and the benchmarks have data the repo may ship."""

from futago.city.generator.district import generate_district
from futago.city.generator.model import DistrictSpec, FloodZone, GeneratedDistrict

__all__ = ["DistrictSpec", "FloodZone", "GeneratedDistrict", "generate_district"]
