"""What a caller asks for (DistrictSpec) and what it gets back (GeneratedDistrict).

The returned figures are the *true* values, counted while the XML was written, so that tests of the
importer can compare its summary against them instead of against a second parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

LonLat = tuple[float, float]


@dataclass(slots=True)
class DistrictSpec:
    """A synthetic PLATEAU-like district.

    ``mesh_code``, when given (6-digit 2nd-level or 8-digit 3rd-level JIS X 0410 code), moves the
    district's centre to the centre of that mesh cell and overrides ``origin``.
    """

    buildings: int
    seed: int = 0
    origin: LonLat = (138.8640, 35.1010)  # lon, lat: Numazu, beside the Kano River
    river: bool = True
    flood_zones: bool = True
    dem: bool = True
    lod2_share: float = 0.0
    parts_share: float = 0.0
    uro_version: str = "2.0"
    mesh_code: str | None = None

    def __post_init__(self) -> None:
        if self.buildings < 0:
            raise ValueError(f"buildings must be >= 0, got {self.buildings}")
        for name in ("lod2_share", "parts_share"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {share}")
        if self.uro_version not in ("2.0", "3.0"):
            raise ValueError(f"uro_version must be '2.0' or '3.0', got {self.uro_version!r}")
        if self.mesh_code is not None and len(self.mesh_code) not in (6, 8):
            raise ValueError(f"mesh_code must have 6 or 8 digits, got {self.mesh_code!r}")


@dataclass(slots=True)
class FloodZone:
    """One planned flood-inundation band (before it is cut into mesh cells for the files)."""

    scale: Literal["L1", "L2"]  # L1: planned scale (計画規模), L2: largest assumed (想定最大規模)
    rank: int  # WaterBodyRiverFloodingRiskAttribute_rank code
    rank_label: str  # e.g. "0.5m以上3m未満"
    depth_range: tuple[float, float]  # metres, [min, max)
    polygons: list[list[LonLat]]  # exterior rings, closed, lon/lat


@dataclass(slots=True)
class GeneratedDistrict:
    """The true content of a generated district."""

    path: Path
    layout: Literal["zip", "dir"]
    building_count: int = 0
    building_part_count: int = 0
    measured_heights: int = 0  # Buildings (not parts) that carry bldg:measuredHeight
    height_sum: float = 0.0  # sum of those heights, as written (0.1 m)
    height_max: float = 0.0
    flood_risk_buildings: int = 0  # Buildings with >= 1 river-flooding entry
    flood_risk_entries: int = 0
    lod2_buildings: int = 0  # Buildings (or their parts) carrying LOD2 boundary surfaces
    bbox_wgs84: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # of building footprints
    river_name: str = ""
    river: list[LonLat] = field(default_factory=list)
    flood_zones: list[FloodZone] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # paths inside the zip or folder, '/'-separated
    mesh_codes: list[str] = field(default_factory=list)  # 3rd-level meshes of the bldg files
    seconds: float = 0.0
