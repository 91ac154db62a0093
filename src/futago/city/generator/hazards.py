"""udx/fld/: flood-inundation zones as wtr:WaterBody polygons, cut along 3rd-level mesh edges.

A zone is a band of horizontal offsets from the river centre line, one band per organisation rank
(rankOrg); each rankOrg band lies inside exactly one standard rank, so both codes can be written.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from futago.city.generator import gml
from futago.city.generator.geo import LocalFrame
from futago.city.generator.mesh import third_bounds, third_code, third_index
from futago.city.generator.model import FloodZone, LonLat
from futago.city.generator.plan import FLOOD_MODELS, RANK_ORG, RANKS, RIVER_FOLDER, FloodModel, River, ground_height
from futago.city.generator.sink import Sink

UP = "../../../../"  # udx/fld/pref/<river>/ -> dataset root


def _bands(model: FloodModel) -> list[tuple[int, int, str, float, float, float, float]]:
    """(rank, rankOrg, rank label, depth lo, depth hi, offset lo, offset hi) for each non-empty band."""
    out = []
    lower = 0.0
    for org, _label, upper in RANK_ORG:
        d_lo, d_hi = max(lower, 0.05), min(upper, model.max_depth)
        lower = upper
        if d_lo >= d_hi:
            continue
        rank, rank_label = next((c, lab) for c, lab, lo, hi in RANKS if lo <= d_lo < hi)
        off_lo = model.offset_for_depth(d_hi)
        off_hi = model.reach if d_lo <= 0.05 else model.offset_for_depth(d_lo)
        out.append((rank, org, rank_label, d_lo, d_hi, off_lo, off_hi))
    return out


def zones(frame: LocalFrame, river: River, y_min: float, y_max: float) -> list[FloodZone]:
    """The planned zones (uncut), over the river reach between ``y_min`` and ``y_max``."""
    keep = (river.ys >= y_min) & (river.ys <= y_max)
    ys, xs = river.ys[keep], river.xs[keep]
    result = []
    for model in FLOOD_MODELS:
        for rank, _org, label, d_lo, d_hi, off_lo, off_hi in _bands(model):
            if off_lo == 0.0:
                sides = [(xs - off_hi, xs + off_hi)]
            else:
                sides = [(xs - off_hi, xs - off_lo), (xs + off_lo, xs + off_hi)]
            rings: list[list[LonLat]] = []
            for left, right in sides:
                rx = np.concatenate([left, right[::-1], left[:1]])
                ry = np.concatenate([ys, ys[::-1], ys[:1]])
                lon, lat = frame.to_lonlat(rx, ry)
                lon, lat = np.round(lon, 10), np.round(lat, 10)
                ring = list(zip(lon.tolist(), lat.tolist(), strict=True))
                poly = shapely.geometry.polygon.orient(Polygon(ring), 1.0)
                rings.append([(float(x), float(y)) for x, y in poly.exterior.coords])
            result.append(FloodZone(model.scale, rank, label, (d_lo, d_hi), rings))  # type: ignore[arg-type]
    return result


def _org_of(zone: FloodZone) -> int:
    return next(org for org, _label, upper in RANK_ORG if zone.depth_range[1] <= upper)


def write_zones(sink: Sink, frame: LocalFrame, river: River, zones_: list[FloodZone], version: str) -> None:
    """Cut every zone polygon along mesh edges and write one file per (mesh, scale)."""
    rng = np.random.default_rng(len(zones_))
    element = "uro:WaterBodyRiverFloodingRiskAttribute" if version == "2.0" else "uro:RiverFloodingRiskAttribute"
    codelist = "WaterBodyRiverFloodingRiskAttribute" if version == "2.0" else "RiverFloodingRiskAttribute"
    by_file: dict[tuple[str, str], list[tuple[FloodZone, list[list[tuple[float, float]]]]]] = {}
    for zone in zones_:
        for ring in zone.polygons:
            poly = Polygon(ring)
            min_lon, min_lat, max_lon, max_lat = poly.bounds
            (iy0, iy1), (ix0, ix1) = third_index([min_lon, max_lon], [min_lat, max_lat])
            for iy in range(int(iy0), int(iy1) + 1):
                for ix in range(int(ix0), int(ix1) + 1):
                    piece = poly.intersection(box(*third_bounds(iy, ix)))
                    parts = [g for g in getattr(piece, "geoms", [piece]) if isinstance(g, Polygon) and g.area > 0]
                    if parts:
                        key = (third_code(iy, ix), zone.scale)
                        by_file.setdefault(key, []).append(
                            (zone, [list(shapely.geometry.polygon.orient(p, 1.0).exterior.coords) for p in parts])
                        )
    for (mesh, scale), items in sorted(by_file.items()):
        chunks, lats, lons, hs = [], [], [], []
        for zone, rings in items:
            text_rings = []
            for ring in rings:
                lon = np.array([p[0] for p in ring[:-1]])
                lat = np.array([p[1] for p in ring[:-1]])
                h = np.round(ground_height(river, *frame.to_xy(lon, lat)), 3)
                lats.append(lat)
                lons.append(lon)
                hs.append(h)
                text_rings.append(
                    [f"{a!r} {o!r} {z!r}" for a, o, z in zip(lat.tolist(), lon.tolist(), h.tolist(), strict=True)]
                )
            a, b, c, d, e = (int(v) for v in rng.integers(0, [1 << 32, 1 << 16, 1 << 12, 1 << 12, 1 << 48]))
            uid = f"{a:08x}-{b:04x}-4{c:03x}-a{d:03x}-{e:012x}"
            cl = f"{UP}codelists/{codelist}"
            name_code = 1 if scale == "L1" else 2
            chunks.append(
                gml.member(
                    f'\t\t<wtr:WaterBody gml:id="fld_{uid}">\n'
                    f'\t\t\t<gml:name codeSpace="{UP}codelists/WaterBody_name.xml">{name_code}</gml:name>\n'
                    f'\t\t\t<wtr:class codeSpace="{UP}codelists/WaterBody_class.xml">1140</wtr:class>\n'
                    f'\t\t\t<wtr:function codeSpace="{UP}codelists/WaterBody_function.xml">1</wtr:function>\n'
                    + gml.multi_surface("\t\t\t", "wtr:lod1MultiSurface", text_rings)
                    + f"\t\t\t<uro:floodingRiskAttribute>\n\t\t\t\t<{element}>\n"
                    f'\t\t\t\t\t<uro:description codeSpace="{cl}_description.xml">1</uro:description>\n'
                    f'\t\t\t\t\t<uro:rank codeSpace="{cl}_rank.xml">{zone.rank}</uro:rank>\n'
                    f'\t\t\t\t\t<uro:rankOrg codeSpace="{cl}_rankOrg.xml">{_org_of(zone)}</uro:rankOrg>\n'
                    f'\t\t\t\t\t<uro:adminType codeSpace="{cl}_adminType.xml">1</uro:adminType>\n'
                    f'\t\t\t\t\t<uro:scale codeSpace="{cl}_scale.xml">{scale}</uro:scale>\n'
                    f"\t\t\t\t</{element}>\n\t\t\t</uro:floodingRiskAttribute>\n"
                    "\t\t</wtr:WaterBody>\n"
                )
            )
        la, lo, hh = np.concatenate(lats), np.concatenate(lons), np.concatenate(hs)
        env = (float(la.min()), float(lo.min()), float(hh.min()), float(la.max()), float(lo.max()), float(hh.max()))
        path = f"udx/fld/pref/{RIVER_FOLDER}/{mesh}_fld_6697_{scale.lower()}_op.gml"
        sink.write(path, [gml.header(version, UP, env), *chunks, gml.FOOTER])


def zone_span(y: np.ndarray) -> tuple[float, float]:
    """The river reach (local y) the zones cover: the buildings' extent plus the widest zone."""
    reach = max(m.reach for m in FLOOD_MODELS)
    return float(y.min()) - reach, float(y.max()) + reach
