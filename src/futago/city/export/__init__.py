"""Exports of the city twins for maps and globes: GeoJSON, Mapbox Vector Tiles and 3D Tiles 1.1.

Each export reads the building, flood-zone and road twins from the store in bounded chunks,
so that serving a district never holds more of it in memory than the format itself needs.
"""

from futago.city.export.cache import CityCache
from futago.city.export.geojson import feature_collection, feature_properties, parse_bbox
from futago.city.export.mvt import encode_tile, tile_bounds
from futago.city.export.tiles3d import Tileset, build_tileset

__all__ = [
    "CityCache",
    "Tileset",
    "build_tileset",
    "encode_tile",
    "feature_collection",
    "feature_properties",
    "parse_bbox",
    "tile_bounds",
]
