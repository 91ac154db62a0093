"""udx/bldg/: one file per 3rd-level mesh, each mesh's buildings drawn from its own random stream
(seed, mesh) so that a file's content does not depend on the order the files are written in."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from futago.city.generator import gml
from futago.city.generator.building import FloodEntry, Part, Volume, building_xml, uro_texts
from futago.city.generator.geo import LocalFrame
from futago.city.generator.mesh import third_code, third_index
from futago.city.generator.model import DistrictSpec
from futago.city.generator.plan import FLOOD_MODELS, Plots, River, ground_height, rank_of, rank_org_of
from futago.city.generator.sink import Sink

# usage code -> (height low, height high, storey height); weights per plot kind.
USAGE_HEIGHTS: dict[int, tuple[float, float, float]] = {
    411: (3.0, 10.0, 3.0),
    412: (6.0, 20.0, 3.0),
    413: (4.0, 12.0, 3.2),
    414: (8.0, 20.0, 3.2),
    401: (8.0, 60.0, 3.8),
    402: (6.0, 45.0, 4.2),
    403: (10.0, 45.0, 3.4),
    404: (10.0, 60.0, 3.8),
    421: (6.0, 25.0, 3.8),
    422: (6.0, 20.0, 3.8),
    431: (5.0, 15.0, 5.0),
    441: (5.0, 18.0, 5.0),
}
SMALL_USAGE = ((411, 0.58), (412, 0.14), (413, 0.08), (414, 0.03), (401, 0.05), (402, 0.04), (422, 0.03), (431, 0.03),
               (441, 0.02))  # fmt: skip
BIG_USAGE = ((401, 0.25), (402, 0.25), (403, 0.08), (404, 0.17), (412, 0.12), (414, 0.05), (421, 0.03), (422, 0.05))
NAME_STEMS = ("駅前", "本町", "大手町", "上土", "通横町", "三枚橋", "御成橋", "千本", "我入道", "香貫")
NAME_KINDS = {401: "ビル", 402: "ショッピングセンター", 403: "ホテル", 404: "会館", 421: "庁舎", 422: "センター"}
MASK48 = (1 << 48) - 1
MISSING_HEIGHT_SHARE = 0.1
NAME_SHARE = 0.1  # of buildings on big plots


@dataclass(slots=True)
class Tally:
    """True figures, counted while writing."""

    buildings: int = 0
    parts: int = 0
    measured: int = 0
    height_sum: float = 0.0
    height_max: float = 0.0
    flood_buildings: int = 0
    flood_entries: int = 0
    lod2: int = 0
    bbox: list[float] = field(default_factory=lambda: [math.inf, math.inf, -math.inf, -math.inf])
    meshes: list[str] = field(default_factory=list)


def _pick(rng: np.random.Generator, table: tuple[tuple[int, float], ...], n: int) -> npt.NDArray[np.int64]:
    codes = np.array([c for c, _ in table])
    weights = np.array([w for _, w in table])
    return codes[rng.choice(len(codes), size=n, p=weights / weights.sum())]


def _fmt(values: npt.NDArray[np.float64], digits: int) -> list[str]:
    return [repr(v) for v in np.round(values, digits).tolist()]


def mesh_groups(frame: LocalFrame, plots: Plots) -> Iterator[tuple[int, int, npt.NDArray[np.int64]]]:
    """(row, col, plot indices) per 3rd-level mesh, in mesh-code order."""
    lon, lat = frame.to_lonlat(plots.x, plots.y)
    iy, ix = third_index(lon, lat)
    order = np.lexsort((ix, iy))
    keys = iy[order] * 1_000_000 + ix[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for chunk in np.split(order, cuts):
        if chunk.size:
            yield int(iy[chunk[0]]), int(ix[chunk[0]]), chunk


def mesh_file(
    spec: DistrictSpec, frame: LocalFrame, plots: Plots, river: River | None, iy: int, ix: int,
    idx: npt.NDArray[np.int64], tally: Tally,
) -> list[str]:  # fmt: skip
    """The text chunks of one udx/bldg file (header last computed, first in the list)."""
    rng = np.random.default_rng([spec.seed, iy, ix])
    u = uro_texts(spec.uro_version)
    n = idx.size
    cx, cy, big = plots.x[idx], plots.y[idx], plots.big[idx]
    usage = np.where(big, _pick(rng, BIG_USAGE, n), _pick(rng, SMALL_USAGE, n))
    lo = np.array([USAGE_HEIGHTS[c][0] for c in usage.tolist()])
    hi = np.array([USAGE_HEIGHTS[c][1] for c in usage.tolist()])
    storey_h = np.array([USAGE_HEIGHTS[c][2] for c in usage.tolist()])
    height = np.round(lo + (hi - lo) * rng.random(n) ** 2, 1)
    width = np.where(big, rng.uniform(16.0, 40.0, n), rng.uniform(6.0, 15.0, n))
    depth = np.where(big, rng.uniform(10.0, 20.0, n), rng.uniform(6.0, 14.0, n))
    angle = plots.angle + rng.uniform(-0.06, 0.06, n)
    has_height = rng.random(n) >= MISSING_HEIGHT_SHARE
    has_lod2 = rng.random(n) < spec.lod2_share
    has_parts = rng.random(n) < spec.parts_share
    part_ratio = rng.uniform(0.4, 0.8, n)
    named = big & (rng.random(n) < NAME_SHARE)
    stems = rng.integers(0, len(NAME_STEMS), n)
    uids = rng.integers(0, 1 << 62, size=(n, 2), dtype=np.int64)

    # Corners and the two mid-points used to split a building into parts, in metres then degrees.
    ca, sa = np.cos(angle), np.sin(angle)
    hw, hd = width / 2, depth / 2
    local = ((-hw, -hd), (hw, -hd), (hw, hd), (-hw, hd), (0 * hw, -hd), (0 * hw, hd))
    lat_s: list[list[str]] = []
    lon_all, lat_all = [], []
    for du, dv in local:
        lon, lat = frame.to_lonlat(cx + du * ca - dv * sa, cy + du * sa + dv * ca)
        lon, lat = np.round(lon, 10), np.round(lat, 10)
        lon_all.append(lon)
        lat_all.append(lat)
        lat_s.append([f"{a!r} {o!r}" for a, o in zip(lat.tolist(), lon.tolist(), strict=True)])
    lon_c, lat_c = np.stack(lon_all[:4]), np.stack(lat_all[:4])
    b = tally.bbox
    b[0], b[1] = min(b[0], float(lon_c.min())), min(b[1], float(lat_c.min()))
    b[2], b[3] = max(b[2], float(lon_c.max())), max(b[3], float(lat_c.max()))

    ground = np.round(ground_height(river, cx, cy), 3)
    top = np.round(ground + height, 3)
    part_h = np.maximum(3.0, np.round(height * part_ratio, 1))
    part_top = np.round(ground + part_h, 3)
    ground_s, top_s, part_top_s = _fmt(ground, 3), _fmt(top, 3), _fmt(part_top, 3)
    storeys = np.maximum(1, np.round(height / storey_h)).astype(np.int64)
    part_storeys = np.maximum(1, np.round(part_h / storey_h)).astype(np.int64)
    cls = np.where(height < 12.0, 3001, 3002)
    structure = np.where(height < 10.0, 601, np.where(height < 31.0, 603, 602))

    floods: list[list[FloodEntry]] = [[] for _ in range(n)]
    if river is not None and spec.flood_zones:
        off = river.offset(cx, cy)
        for scale, model in enumerate(FLOOD_MODELS, start=1):
            d = np.round(model.depth(off), 3)
            inside = np.flatnonzero(~np.isnan(d))
            ranks, orgs = rank_of(d[inside]), rank_org_of(d[inside])
            texts = _fmt(d[inside], 3)
            for i, r, o, t in zip(inside.tolist(), ranks.tolist(), orgs.tolist(), texts, strict=True):
                floods[i].append(FloodEntry(scale, r, o, t))

    mesh = third_code(iy, ix)
    chunks: list[str] = []
    heights = height.tolist()
    for i in range(n):
        hi_, lo_ = (int(v) for v in uids[i])
        uid = f"{hi_ >> 30:08x}-{(hi_ >> 14) & 0xFFFF:04x}-4{hi_ & 0xFFF:03x}-a{lo_ >> 50 & 0xFFF:03x}-"
        uid += f"{lo_ & MASK48:012x}"
        h_text = repr(heights[i]) if has_height[i] else None
        c = [lat_s[k][i] for k in range(6)]
        vol = Volume((c[0], c[1], c[2], c[3]), ground_s[i], top_s[i])
        parts: list[Part] = []
        if has_parts[i]:
            ph = repr(float(part_h[i])) if has_height[i] else None
            parts = [
                Part(f"{uid}_1", int(usage[i]), int(cls[i]), h_text, int(storeys[i]),
                     Volume((c[0], c[4], c[5], c[3]), ground_s[i], top_s[i]), bool(has_lod2[i])),
                Part(f"{uid}_2", int(usage[i]), int(cls[i]), ph, int(part_storeys[i]),
                     Volume((c[4], c[1], c[2], c[5]), ground_s[i], part_top_s[i]), bool(has_lod2[i])),
            ]  # fmt: skip
        name = f"沼津{NAME_STEMS[stems[i]]}{NAME_KINDS.get(int(usage[i]), 'ビル')}" if named[i] else None
        chunks.append(
            building_xml(
                u,
                uid=uid,
                building_id=f"22203-bldg-{mesh}{i:05d}",
                name=name,
                cls=int(cls[i]),
                usage=int(usage[i]),
                height=h_text,
                storeys=int(storeys[i]),
                structure=int(structure[i]),
                volume=vol,
                lod2_surfaces=bool(has_lod2[i]),
                parts=parts,
                flood=floods[i],
            )
        )
        tally.parts += len(parts)
        if has_height[i]:
            tally.measured += 1
            tally.height_sum += heights[i]
            tally.height_max = max(tally.height_max, heights[i])
        if floods[i]:
            tally.flood_buildings += 1
            tally.flood_entries += len(floods[i])
    tally.buildings += n
    tally.lod2 += int(has_lod2.sum())
    tally.meshes.append(mesh)
    envelope = (
        float(lat_c.min()), float(lon_c.min()), float(ground.min()),
        float(lat_c.max()), float(lon_c.max()), float(top.max()),
    )  # fmt: skip
    return [gml.header(u.version, "../../", envelope), *chunks, gml.FOOTER]


def write_buildings(
    sink: Sink, spec: DistrictSpec, frame: LocalFrame, plots: Plots, river: River | None, tally: Tally
) -> None:
    """Write every udx/bldg file."""
    for iy, ix, idx in mesh_groups(frame, plots):
        chunks = mesh_file(spec, frame, plots, river, iy, ix, idx, tally)
        sink.write(f"udx/bldg/{third_code(iy, ix)}_bldg_6697_op.gml", chunks)
