"""The CityGML 2.0 / PLATEAU (i-UR) reader.

``iter_features(path)`` streams the features of one file in bounded memory; ``iter_sources`` finds
files in folders and zips laid out like PLATEAU datasets; ``CityGmlError`` is the one error for bad
input. The input CRS of a file is ``iter_features(...).crs`` (or ``read_crs``).
"""

from futago.city.citygml.codelists import CodelistResolver
from futago.city.citygml.errors import CityGmlError
from futago.city.citygml.reader import DEFAULT_CRS, CityGmlReader, iter_features, read_crs
from futago.city.citygml.sources import FEATURE_TYPES, iter_sources, open_sources

__all__ = [
    "DEFAULT_CRS",
    "FEATURE_TYPES",
    "CityGmlError",
    "CityGmlReader",
    "CodelistResolver",
    "iter_features",
    "iter_sources",
    "open_sources",
    "read_crs",
]
