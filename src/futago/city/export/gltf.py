"""A GLB (binary glTF 2.0) of one tile's buildings, with per-building feature ids and metadata.

``EXT_mesh_features`` tags every vertex with the index of its building; ``EXT_structural_metadata``
holds a property table indexed by that id, so that a viewer (CesiumJS, deck.gl) can pick a
building and show or style by its id, height, usage and flood depth without another request.
Buildings drawn from their LOD2/LOD3 boundary surfaces add a second feature id per vertex, into a
``surfaces`` table (surface type, gml:id, LOD), so that a roof or a wall can be picked and styled too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

FLOAT = 5126
ARRAY_BUFFER = 34962
NO_DATA = -9999.0  # a missing height or flood depth; never confused with a real one
SCHEMA: dict[str, Any] = {
    "id": "futago_city",
    "classes": {
        "building": {
            "name": "Building",
            "description": "A building or building part twin of futago",
            "properties": {
                "id": {"type": "STRING", "required": True, "description": "the twin id"},
                "height": {"type": "SCALAR", "componentType": "FLOAT64", "noData": NO_DATA},
                "base": {"type": "SCALAR", "componentType": "FLOAT64"},
                "usage": {"type": "STRING", "noData": ""},
                "floodDepth": {"type": "SCALAR", "componentType": "FLOAT64", "noData": NO_DATA},
            },
        }
    },
}


NULL_FEATURE_ID = 16_777_215  # 2**24 - 1, exact in float32: a triangle of an extruded building has no surface
SURFACE_CLASS: dict[str, Any] = {
    "name": "Boundary surface",
    "description": "A LOD2/LOD3 boundary surface of a building (CityGML bldg:_BoundarySurface)",
    "properties": {
        "surfaceType": {"type": "STRING", "required": True, "description": "RoofSurface, WallSurface, ..."},
        "gmlId": {"type": "STRING", "noData": "", "description": "the surface's gml:id"},
        "lod": {"type": "SCALAR", "componentType": "UINT8", "required": True},
    },
}


@dataclass(slots=True)
class SurfaceRow:
    """One row of the surface table: what a viewer shows when a roof or a wall is picked."""

    kind: str
    gml_id: str
    lod: int


@dataclass(slots=True)
class BuildingRow:
    """One row of the property table; ``None`` is written as the property's noData value."""

    id: str
    height: float | None
    base: float
    usage: str | None
    flood_depth: float | None


class _Binary:
    """The BIN chunk: buffer views aligned to 8 bytes (FLOAT64 tables need it)."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict[str, Any]] = []

    def add(self, payload: bytes, target: int | None = None) -> int:
        self.data += b"\0" * (-len(self.data) % 8)
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(payload)}
        if target is not None:
            view["target"] = target
        self.data += payload
        self.views.append(view)
        return len(self.views) - 1


def _strings(binary: _Binary, values: list[str]) -> dict[str, int]:
    encoded = [v.encode() for v in values]
    offsets = np.concatenate(([0], np.cumsum([len(e) for e in encoded]))).astype("<u4")
    return {"values": binary.add(b"".join(encoded)), "stringOffsets": binary.add(offsets.tobytes())}


def _numbers(binary: _Binary, values: list[float | None]) -> dict[str, int]:
    array = np.array([NO_DATA if v is None else v for v in values], dtype="<f8")
    return {"values": binary.add(array.tobytes())}


def write_glb(
    triangles: NDArray[np.float64],
    normals: NDArray[np.float64],
    feature_ids: NDArray[np.int64],
    rows: list[BuildingRow],
    surface_ids: NDArray[np.int64] | None = None,
    surfaces: list[SurfaceRow] | None = None,
) -> bytes:
    """A GLB of ENU triangles (T, 3, 3) with one normal and one feature id per triangle.

    With ``surfaces``, a second feature id set (``_FEATURE_ID_1``) gives each triangle its boundary
    surface, a row of the ``surfaces`` table (NULL_FEATURE_ID for triangles of extruded buildings).
    glTF is y-up and 3D Tiles turns it z-up, so ENU (e, n, u) is written as (e, u, -n).
    """
    to_gltf = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], dtype=np.float64)  # columns: e, n, u → x, y, z
    positions = (triangles.reshape(-1, 3) @ to_gltf).astype("<f4")
    vertex_normals = np.repeat(normals @ to_gltf, 3, axis=0).astype("<f4")
    vertex_ids = np.repeat(feature_ids, 3).astype("<f4")
    binary = _Binary()
    count = len(positions)
    accessors = [
        {
            "bufferView": binary.add(positions.tobytes(), ARRAY_BUFFER),
            "componentType": FLOAT,
            "count": count,
            "type": "VEC3",
            "min": positions.min(axis=0).tolist(),
            "max": positions.max(axis=0).tolist(),
        },
        {
            "bufferView": binary.add(vertex_normals.tobytes(), ARRAY_BUFFER),
            "componentType": FLOAT,
            "count": count,
            "type": "VEC3",
        },
        {
            "bufferView": binary.add(vertex_ids.tobytes(), ARRAY_BUFFER),
            "componentType": FLOAT,
            "count": count,
            "type": "SCALAR",
        },
    ]
    # A property that no building has is left out (glTF forbids empty buffer views); readers
    # then see its noData value, as they would for each missing value.
    properties: dict[str, dict[str, int]] = {"id": _strings(binary, [r.id for r in rows])}
    numbers: dict[str, list[float | None]] = {
        "height": [r.height for r in rows],
        "base": [r.base for r in rows],
        "floodDepth": [r.flood_depth for r in rows],
    }
    for name, values in numbers.items():
        if any(v is not None for v in values):
            properties[name] = _numbers(binary, values)
    if any(r.usage for r in rows):
        properties["usage"] = _strings(binary, [r.usage or "" for r in rows])
    tables: list[dict[str, Any]] = [
        {"name": "buildings", "class": "building", "count": len(rows), "properties": properties}
    ]
    attributes = {"POSITION": 0, "NORMAL": 1, "_FEATURE_ID_0": 2}
    feature_sets: list[dict[str, Any]] = [{"featureCount": len(rows), "attribute": 0, "propertyTable": 0}]
    schema = SCHEMA
    if surfaces and surface_ids is not None:
        accessors.append(
            {
                "bufferView": binary.add(np.repeat(surface_ids, 3).astype("<f4").tobytes(), ARRAY_BUFFER),
                "componentType": FLOAT,
                "count": count,
                "type": "SCALAR",
            }
        )
        attributes["_FEATURE_ID_1"] = 3
        feature_sets.append(
            {"featureCount": len(surfaces), "attribute": 1, "propertyTable": 1, "nullFeatureId": NULL_FEATURE_ID}
        )
        tables.append(_surface_table(binary, surfaces))
        schema = {**SCHEMA, "classes": {**SCHEMA["classes"], "surface": SURFACE_CLASS}}
    binary.data += b"\0" * (-len(binary.data) % 4)
    primitive = {
        "attributes": attributes,
        "mode": 4,
        "material": 0,
        "extensions": {"EXT_mesh_features": {"featureIds": feature_sets}},
    }
    document = {
        "asset": {"version": "2.0", "generator": "futago"},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "extensions": {"EXT_structural_metadata": {"schema": schema, "propertyTables": tables}},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [primitive]}],
        "materials": [
            {
                "pbrMetallicRoughness": {
                    "baseColorFactor": [0.85, 0.85, 0.82, 1.0],
                    "metallicFactor": 0.0,
                    "roughnessFactor": 1.0,
                }
            }
        ],
        "accessors": accessors,
        "bufferViews": binary.views,
        "buffers": [{"byteLength": len(binary.data)}],
    }
    return glb(orjson.dumps(document), bytes(binary.data))


def _surface_table(binary: _Binary, surfaces: list[SurfaceRow]) -> dict[str, Any]:
    properties: dict[str, dict[str, int]] = {
        "surfaceType": _strings(binary, [s.kind for s in surfaces]),
        "lod": {"values": binary.add(np.array([s.lod for s in surfaces], dtype="<u1").tobytes())},
    }
    if any(s.gml_id for s in surfaces):
        properties["gmlId"] = _strings(binary, [s.gml_id for s in surfaces])
    return {"name": "surfaces", "class": "surface", "count": len(surfaces), "properties": properties}


def glb(json_chunk: bytes, bin_chunk: bytes) -> bytes:
    """The GLB container: a 12-byte header, then the JSON and BIN chunks padded to 4 bytes."""
    json_chunk += b" " * (-len(json_chunk) % 4)
    bin_chunk += b"\0" * (-len(bin_chunk) % 4)
    total = 12 + 8 + len(json_chunk) + 8 + len(bin_chunk)
    return b"".join(
        (
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(json_chunk), b"JSON"),
            json_chunk,
            struct.pack("<I4s", len(bin_chunk), b"BIN\0"),
            bin_chunk,
        )
    )
