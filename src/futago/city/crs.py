"""Coordinate systems for city data: the input CRS of a CityGML file, and a metric plane for maths.

PLATEAU publishes geographic coordinates (EPSG:6697 = JGD2011 lat/lon + TP height, 6668 for 2D).
Areas, distances and buffers must not be computed in degrees, so every metric operation goes
through one of the 19 JGD2011 plane-rectangular zones (EPSG:6669–6687), the projection Japanese
surveying uses for exactly this purpose.

Zone choice: the official table assigns zones by prefecture (and, in Hokkaido, by subprefecture;
in Kagoshima, Okinawa and Tokyo, by island groups). futago has no prefecture polygons, so
:func:`plane_zone` approximates the table: explicit longitude/latitude rules for Hokkaido, the
southern islands and Tokyo's remote islands, and otherwise the nearest of ~300 anchor towns
(every prefectural capital plus towns along prefecture borders). Near a border the zone may be
the neighbour's; a neighbouring zone's distortion is still far below 1:1000 over a city, so
areas and buffers stay accurate. Pass ``zone=`` explicitly where the official zone matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pyproj import CRS, Transformer

GEOGRAPHIC: str = "EPSG:6668"  # JGD2011 geographic 2D; (lon, lat) with always_xy
_LAT_LON_CODES = frozenset({4326, 4612, 4301, 4019, 4979, 6667, 6668, 6697})
_EPSG = re.compile(r"EPSG(?:/[\d.]+/|:[\d.]*:|:)(\d+)", re.IGNORECASE)

# (zone, lon, lat): prefectural capitals and border towns. Order does not matter.
# fmt: off
_ANCHORS: tuple[tuple[int, float, float], ...] = (
    # I: Nagasaki
    (1, 129.87, 32.75), (1, 129.72, 33.16), (1, 130.37, 32.79), (1, 130.05, 32.84), (1, 129.96, 32.90),
    (1, 129.29, 34.20), (1, 129.48, 34.65), (1, 129.69, 33.75), (1, 128.84, 32.70), (1, 129.55, 33.37),
    (1, 130.25, 32.75),
    # II: Fukuoka, Saga, Kumamoto, Oita, Miyazaki, Kagoshima
    (2, 130.40, 33.59), (2, 130.88, 33.88), (2, 130.51, 33.32), (2, 130.45, 33.03), (2, 130.69, 33.65),
    (2, 130.30, 33.25), (2, 129.97, 33.45), (2, 129.88, 33.27), (2, 130.02, 33.19), (2, 130.10, 33.10),
    (2, 130.74, 32.79), (2, 130.19, 32.46), (2, 130.60, 32.51), (2, 130.76, 32.21), (2, 131.61, 33.24),
    (2, 131.19, 33.60), (2, 130.94, 33.32), (2, 131.42, 31.91), (2, 131.67, 32.58), (2, 130.56, 31.60),
    (2, 130.85, 31.38), (2, 130.30, 31.81), (2, 130.35, 32.09), (2, 130.96, 30.73), (2, 130.52, 30.35),
    (2, 130.41, 32.21),
    # III: Yamaguchi, Shimane, Hiroshima
    (3, 132.46, 34.39), (3, 133.36, 34.49), (3, 133.20, 34.41), (3, 132.85, 34.80), (3, 132.57, 34.25),
    (3, 133.02, 34.86), (3, 131.47, 34.18), (3, 130.94, 33.96), (3, 132.22, 34.17), (3, 131.40, 34.41),
    (3, 131.25, 33.95), (3, 133.05, 35.47), (3, 132.75, 35.37), (3, 132.08, 34.90), (3, 131.84, 34.67),
    (3, 133.33, 36.20), (3, 133.25, 35.43),
    # IV: Kagawa, Ehime, Tokushima, Kochi
    (4, 134.05, 34.34), (4, 133.80, 34.29), (4, 133.66, 34.13), (4, 132.77, 33.84), (4, 133.00, 34.07),
    (4, 133.28, 33.96), (4, 133.55, 33.98), (4, 132.56, 33.22), (4, 134.56, 34.07), (4, 134.61, 34.17),
    (4, 134.66, 33.92), (4, 133.53, 33.56), (4, 132.93, 32.99), (4, 134.15, 33.29),
    # V: Hyogo, Tottori, Okayama
    (5, 135.18, 34.69), (5, 134.69, 34.82), (5, 134.99, 34.65), (5, 135.42, 34.73), (5, 135.34, 34.74),
    (5, 135.40, 34.78), (5, 135.36, 34.80), (5, 135.42, 34.83), (5, 135.23, 34.89), (5, 134.82, 35.54),
    (5, 134.39, 34.75), (5, 134.90, 34.34), (5, 134.91, 34.56), (5, 134.24, 35.50), (5, 133.33, 35.43),
    (5, 133.82, 35.43), (5, 133.93, 34.66), (5, 133.77, 34.58), (5, 134.00, 35.07), (5, 133.51, 34.50),
    (5, 133.46, 34.60), (5, 135.22, 35.07), (5, 134.97, 34.99),
    # VI: Kyoto, Osaka, Fukui, Shiga, Mie, Nara, Wakayama
    (6, 135.50, 34.69), (6, 135.47, 34.78), (6, 135.52, 34.76), (6, 135.43, 34.82), (6, 135.48, 34.57),
    (6, 135.37, 34.46), (6, 135.65, 34.81), (6, 135.60, 34.68), (6, 135.77, 35.01), (6, 135.13, 35.30),
    (6, 135.38, 35.47), (6, 135.57, 35.01), (6, 136.22, 36.06), (6, 136.06, 35.65), (6, 135.75, 35.50),
    (6, 135.87, 35.00), (6, 136.27, 35.38), (6, 136.26, 35.27), (6, 136.51, 34.72), (6, 136.62, 34.97),
    (6, 136.68, 35.07), (6, 136.71, 34.49), (6, 136.13, 34.77), (6, 136.19, 34.07), (6, 135.80, 34.69),
    (6, 135.17, 34.23), (6, 135.38, 33.73), (6, 135.99, 33.72), (6, 136.10, 33.89),
    # VII: Ishikawa, Toyama, Gifu, Aichi
    (7, 136.65, 36.56), (7, 136.45, 36.41), (7, 136.31, 36.30), (7, 136.90, 37.39), (7, 137.21, 36.70),
    (7, 137.02, 36.75), (7, 137.45, 36.87), (7, 136.76, 35.42), (7, 136.61, 35.36), (7, 137.25, 36.15),
    (7, 137.50, 35.49), (7, 137.13, 35.33), (7, 136.96, 35.75), (7, 136.91, 35.18), (7, 137.39, 34.77),
    (7, 137.17, 34.95), (7, 137.16, 35.08), (7, 136.80, 35.30), (7, 137.50, 34.90), (7, 137.27, 34.67),
    # VIII: Niigata, Nagano, Yamanashi, Shizuoka
    (8, 139.02, 37.92), (8, 138.85, 37.45), (8, 138.25, 37.15), (8, 137.86, 37.04), (8, 139.48, 38.22),
    (8, 138.75, 37.13), (8, 138.96, 37.23), (8, 138.88, 37.07), (8, 138.37, 38.02), (8, 139.22, 37.83),
    (8, 138.19, 36.65), (8, 137.97, 36.24), (8, 137.82, 35.51), (8, 138.11, 36.04), (8, 138.25, 36.40),
    (8, 138.48, 36.25), (8, 138.60, 36.35), (8, 137.69, 35.84), (8, 137.85, 36.50), (8, 138.57, 35.66),
    (8, 138.94, 35.61), (8, 138.81, 35.49), (8, 138.38, 34.98), (8, 137.73, 34.71), (8, 137.53, 34.72),
    (8, 138.86, 35.10), (8, 138.92, 35.12), (8, 138.93, 35.31), (8, 139.07, 35.10), (8, 139.10, 34.97),
    (8, 138.94, 34.68), (8, 138.68, 35.16), (8, 138.01, 34.77),
    # IX: Tokyo, Fukushima, Tochigi, Ibaraki, Saitama, Chiba, Gunma, Kanagawa
    (9, 139.69, 35.69), (9, 139.32, 35.66), (9, 139.28, 35.79), (9, 139.10, 35.80), (9, 139.64, 35.45),
    (9, 139.37, 35.57), (9, 139.16, 35.26), (9, 139.10, 35.23), (9, 139.10, 35.15), (9, 139.35, 35.33),
    (9, 139.67, 35.28), (9, 140.12, 35.61), (9, 140.83, 35.73), (9, 139.87, 34.99), (9, 139.65, 35.86),
    (9, 139.09, 35.99), (9, 139.39, 36.15), (9, 139.06, 36.39), (9, 139.00, 36.32), (9, 139.04, 36.65),
    (9, 138.89, 36.26), (9, 139.88, 36.57), (9, 139.60, 36.72), (9, 140.00, 36.96), (9, 140.45, 36.34),
    (9, 140.11, 36.08), (9, 140.65, 36.60), (9, 140.47, 37.76), (9, 140.36, 37.40), (9, 139.93, 37.49),
    (9, 139.77, 37.20), (9, 139.88, 37.65), (9, 140.89, 37.05), (9, 140.92, 37.80), (9, 140.96, 37.64),
    (9, 140.21, 37.13),
    # X: Aomori, Akita, Yamagata, Iwate, Miyagi
    (10, 140.87, 38.27), (10, 140.62, 38.00), (10, 140.78, 37.97), (10, 141.31, 38.43), (10, 141.57, 38.91),
    (10, 140.96, 38.58), (10, 140.36, 38.24), (10, 140.12, 37.92), (10, 139.83, 38.73), (10, 139.84, 38.91),
    (10, 140.30, 38.76), (10, 139.74, 38.06), (10, 141.15, 39.70), (10, 141.13, 38.93), (10, 141.96, 39.64),
    (10, 140.10, 39.72), (10, 140.57, 39.31), (10, 140.50, 39.16), (10, 140.56, 40.27), (10, 140.74, 40.82),
    (10, 141.49, 40.51), (10, 140.46, 40.60), (10, 141.18, 41.29), (10, 140.91, 41.53),
)
# fmt: on


def zone_epsg(zone: int) -> int:
    """EPSG code of JGD2011 plane-rectangular zone I..XIX (1..19)."""
    if not 1 <= zone <= 19:
        raise ValueError(f"plane-rectangular zones are numbered 1..19, got {zone}")
    return 6668 + zone


def _hokkaido_zone(lon: float, lat: float) -> int:
    # XI: Oshima, Hiyama, Shiribeshi, Otaru and the west of Iburi (Date, Toyako, Sobetsu, Toyoura).
    if lat < 42.2:
        if lon < 141.5:
            return 11
    elif lat < 42.75:
        if lon < 140.93:
            return 11
    elif lat < 43.3:
        if lon < (141.12 if lat >= 43.1 else 141.0):
            return 11
    elif lon < 140.9:
        return 11
    # XIII: Tokachi, Kushiro, Nemuro and the east of Okhotsk (Kitami, Abashiri, Bihoro...).
    if (
        (42.15 <= lat < 43.45 and lon > 142.8)
        or (lat < 42.15 and lon > 143.3)
        or (43.45 <= lat < 43.9 and lon > 143.15)
        or (lat >= 43.9 and lon > 143.7)
    ):
        return 13
    return 12


def plane_zone(lon: float, lat: float) -> int:
    """The JGD2011 plane-rectangular zone number (1..19) for a place; see the module docstring."""
    if lat < 28.0 and lon > 135.0:  # Tokyo's remote islands
        if lon < 140.5:
            return 18  # Okinotorishima
        return 14 if lon < 143.0 else 19  # Ogasawara / Minamitorishima
    if lat < 27.0 or (lat < 27.15 and lon < 128.2):  # Okinawa
        if lon < 126.0:
            return 16
        return 15 if lon < 130.0 else 17
    if 27.0 <= lat < 32.0 and (lon < 130.0 or (lat < 28.6 and lon < 130.22)):
        return 1  # Kagoshima's western and Amami islands belong to zone I
    if lat > 41.6 or (lat > 41.35 and lon < 140.5):
        return _hokkaido_zone(lon, lat)
    if 32.0 < lat < 34.85 and 139.15 < lon < 140.5:
        return 9  # Izu islands (Tokyo)
    best, best_d = 9, float("inf")
    for zone, alon, alat in _ANCHORS:
        d = (alon - lon) ** 2 + (alat - lat) ** 2
        if d < best_d:
            best, best_d = zone, d
    return best


def plane_zone_epsg(lon: float, lat: float) -> int:
    return zone_epsg(plane_zone(lon, lat))


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def metric_transformer(lon: float, lat: float, zone: int | None = None) -> Transformer:
    """A (lon, lat) → (easting, northing) in metres transformer for the zone of this place."""
    return _transformer(GEOGRAPHIC, f"EPSG:{zone_epsg(zone or plane_zone(lon, lat))}")


@dataclass(frozen=True, slots=True)
class MetricProjection:
    """Forward and inverse functions between (lon, lat) and one plane zone, in metres.

    ``project``/``unproject`` work on shapely geometries, so callers can buffer and measure.
    """

    epsg: int
    _fwd: Transformer
    _inv: Transformer

    def forward(self, x: Any, y: Any) -> tuple[Any, Any]:
        """(lon, lat) → (easting, northing) metres; scalars or arrays."""
        return self._fwd.transform(x, y)

    def inverse(self, x: Any, y: Any) -> tuple[Any, Any]:
        """(easting, northing) metres → (lon, lat)."""
        return self._inv.transform(x, y)

    def project(self, geom: Any) -> Any:
        return _apply(geom, self._fwd)

    def unproject(self, geom: Any) -> Any:
        return _apply(geom, self._inv)


def _apply(geom: Any, transformer: Transformer) -> Any:
    import numpy as np
    import shapely

    def fn(coords: Any) -> Any:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geom, fn)


def to_metric(lon: float, lat: float, zone: int | None = None) -> MetricProjection:
    """The metric projection to use around (lon, lat): the plane zone there unless ``zone`` is given."""
    epsg = zone_epsg(zone or plane_zone(lon, lat))
    return MetricProjection(epsg, _transformer(GEOGRAPHIC, f"EPSG:{epsg}"), _transformer(f"EPSG:{epsg}", GEOGRAPHIC))


def parse_srs_name(srs_name: str | None) -> str | None:
    """Normalise a GML ``srsName`` to "EPSG:n" (or "EPSG:h+v" for a compound URN).

    Accepts http://www.opengis.net/def/crs/EPSG/0/6697, urn:ogc:def:crs:EPSG::6697,
    EPSG:6697 and urn:ogc:def:crs,crs:EPSG::6668,crs:EPSG::6695.
    """
    if not srs_name:
        return None
    codes = _EPSG.findall(srs_name)
    if not codes:
        return None
    return "EPSG:" + "+".join(codes[:2])


def epsg_codes(crs: str) -> list[int]:
    return [int(c) for c in crs.removeprefix("EPSG:").split("+") if c.isdigit()]


def is_lat_lon(crs: str) -> bool:
    """Whether coordinates in this CRS are written (latitude, longitude[, height])."""
    codes = epsg_codes(crs)
    return bool(codes) and codes[0] in _LAT_LON_CODES


def default_dimension(crs: str) -> int:
    """Coordinates per position when a file gives no srsDimension: 3 for compound (+ height) CRSs such as
    EPSG:6697 or the plane zones + JGD2011 height (EPSG:10162-10174), 2 for EPSG:6668 and the bare plane
    zones (EPSG:6669-6687); any other code asks pyproj, and an unknown one is taken as 3D (PLATEAU's case)."""
    codes = epsg_codes(crs)
    if len(codes) > 1 or (codes and codes[0] in (6697, 4979, 6667)):
        return 3
    if codes and (codes[0] in _LAT_LON_CODES or 6669 <= codes[0] <= 6687):
        return 2
    if codes:
        try:
            return len(CRS.from_epsg(codes[0]).axis_info) or 3
        except Exception:  # pyproj raises its own CRSError, or ValueError for odd codes
            return 3
    return 3


def to_lon_lat(crs: str) -> Callable[[Sequence[float], Sequence[float]], tuple[Any, Any]]:
    """A function turning (first axis, second axis) of a non-lat/lon CRS into (lon, lat).

    Used for projected inputs (e.g. the plane zones, written northing, easting): the authority
    axis order in, JGD2011 (lat, lon) out, swapped to (lon, lat).
    """
    src = crs.split("+")[0]
    transformer = Transformer.from_crs(CRS.from_user_input(src), CRS.from_epsg(6668), always_xy=False)

    def fn(a: Sequence[float], b: Sequence[float]) -> tuple[Any, Any]:
        lat, lon = transformer.transform(a, b)
        return lon, lat

    return fn
