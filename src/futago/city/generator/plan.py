"""The district's plan in local metres: a meandering river, a rotated grid of blocks and plots, the
flood-depth model and the terrain.

Everything a later stage needs to agree on (which side of a zone edge a building falls, how deep it
floods) is a function of one number, the *horizontal offset* of a point from the river's centre line
(|x − river_x(y)|). The river is piecewise linear in y with the same breakpoints as the zone
polygons, so the written polygons and the per-building attributes cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

RIVER_NAME = "狩野川水系狩野川"
RIVER_FOLDER = "22_kanogawa_kanogawa"  # udx/fld/pref/<this>/
RIVER_HALF_WIDTH = 50.0  # m
RIVER_STEP = 25.0  # m between river vertices (and zone-edge vertices)
RIVER_CLEARANCE = 85.0  # m: plot centres closer than this (horizontally) are not built on

BLOCK_U, BLOCK_V = 96.0, 48.0  # block interior, m
STREET = 12.0  # m
PLOT = 24.0  # residential plot pitch inside a block, m
PLOT_DENSITY = 8 / ((BLOCK_U + STREET) * (BLOCK_V + STREET))  # plots per m² on land


@dataclass(frozen=True, slots=True)
class River:
    """Centre line x = x(y), sampled every RIVER_STEP metres over [y0, y1]."""

    ys: F64
    xs: F64

    def x_at(self, y: npt.ArrayLike) -> F64:
        return np.interp(np.asarray(y, dtype=np.float64), self.ys, self.xs)

    def offset(self, x: npt.ArrayLike, y: npt.ArrayLike) -> F64:
        """Horizontal distance from the centre line (m)."""
        return np.abs(np.asarray(x, dtype=np.float64) - self.x_at(y))


def make_river(rng: np.random.Generator, radius: float) -> River:
    """A meander of two sines passing west of the centre, long enough to cross the whole district."""
    reach = radius + 1500.0
    n = math.ceil(2 * reach / RIVER_STEP) + 1
    ys = np.linspace(-reach, reach, n)
    ph1, ph2 = rng.uniform(0, 2 * math.pi, 2)
    x_mid = -0.3 * radius - 120.0
    xs = x_mid + 120.0 * np.sin(2 * math.pi * ys / 1800.0 + ph1) + 40.0 * np.sin(2 * math.pi * ys / 600.0 + ph2)
    return River(ys=ys, xs=xs)


@dataclass(frozen=True, slots=True)
class FloodModel:
    """Depth falls with the offset from the river: deep next to the banks, nothing beyond ``reach``."""

    scale: str  # "L1" | "L2"
    max_depth: float
    reach: float  # m (horizontal offset where the zone ends)

    def depth(self, offset: npt.ArrayLike) -> F64:
        """Depth (m), NaN outside the zone. Never below 0.05 m inside, so a zone member is never 'dry'."""
        d = np.asarray(offset, dtype=np.float64)
        frac = np.clip(1.0 - d / self.reach, 0.0, 1.0)
        depth = 0.05 + (self.max_depth - 0.05) * frac**1.3
        return np.where(d < self.reach, depth, np.nan)

    def offset_for_depth(self, depth: float) -> float:
        """The offset at which the depth equals ``depth`` (inverse of :meth:`depth`)."""
        if depth >= self.max_depth:
            return 0.0
        frac = ((depth - 0.05) / (self.max_depth - 0.05)) ** (1 / 1.3)
        return self.reach * (1.0 - frac)


FLOOD_MODELS = (FloodModel("L1", max_depth=4.6, reach=600.0), FloodModel("L2", max_depth=7.5, reach=1000.0))

# (code, label, lower bound m, upper bound m) of the standard rank (…RiverFloodingRiskAttribute_rank).
RANKS: tuple[tuple[int, str, float, float], ...] = (
    (1, "0.5m未満", 0.0, 0.5),
    (2, "0.5m以上3m未満", 0.5, 3.0),
    (3, "3m以上5m未満", 3.0, 5.0),
    (4, "5m以上10m未満", 5.0, 10.0),
    (5, "10m以上20m未満", 10.0, 20.0),
    (6, "20m以上", 20.0, math.inf),
)
# The organisation's finer rank (…_rankOrg).
RANK_ORG: tuple[tuple[int, str, float], ...] = (
    (1, "0.5m未満", 0.5),
    (2, "0.5m以上1.0m未満", 1.0),
    (3, "1.0m以上2.0m未満", 2.0),
    (4, "2.0m以上3.0m未満", 3.0),
    (5, "3.0m以上4.0m未満", 4.0),
    (6, "4.0m以上5.0m未満", 5.0),
    (7, "5.0m以上", math.inf),
)
_RANK_EDGES = np.array([r[3] for r in RANKS[:-1]])
_RANK_ORG_EDGES = np.array([r[2] for r in RANK_ORG[:-1]])


def rank_of(depth: npt.ArrayLike) -> npt.NDArray[np.int64]:
    return np.searchsorted(_RANK_EDGES, np.asarray(depth), side="right").astype(np.int64) + 1


def rank_org_of(depth: npt.ArrayLike) -> npt.NDArray[np.int64]:
    return np.searchsorted(_RANK_ORG_EDGES, np.asarray(depth), side="right").astype(np.int64) + 1


def ground_height(river: River | None, x: npt.ArrayLike, y: npt.ArrayLike) -> F64:
    """Terrain (m): a flood plain rising away from the river, with a gentle swell."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    swell = 0.8 * np.sin(xa / 700.0) * np.sin(ya / 900.0)
    if river is None:
        return 8.0 + 0.002 * ya + swell
    d = river.offset(xa, ya)
    bed = np.where(d < RIVER_HALF_WIDTH, 3.0 - 1.5 * (1.0 - d / RIVER_HALF_WIDTH), 3.0)
    return np.where(d < RIVER_HALF_WIDTH, bed, 4.0 + 0.006 * (d - RIVER_HALF_WIDTH) + swell)


@dataclass(frozen=True, slots=True)
class Plots:
    """The chosen building plots, nearest the centre first."""

    x: F64  # plot centre, m
    y: F64
    big: npt.NDArray[np.bool_]  # a merged 48 m x 24 m commercial plot
    angle: float  # grid rotation (rad)


def choose_plots(rng: np.random.Generator, n: int, river: River | None, radius: float) -> Plots:
    """The ``n`` plots nearest the centre on a rotated block grid, skipping the river corridor."""
    angle = float(rng.uniform(-0.6, 0.6))
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    pitch_u, pitch_v = BLOCK_U + STREET, BLOCK_V + STREET
    half = radius * 1.15 + 200.0
    while True:
        nu, nv = int(half // pitch_u) + 2, int(half // pitch_v) + 2
        iu, iv = np.meshgrid(np.arange(-nu, nu + 1), np.arange(-nv, nv + 1), indexing="ij")
        bu, bv = (iu * pitch_u).ravel(), (iv * pitch_v).ravel()
        block_r = np.hypot(bu, bv)
        # Commercial blocks crowd the centre; one in eight further out.
        p_big = np.where(block_r < 0.35 * radius + 150.0, 0.55, 0.12)
        big_block = np.random.default_rng([int(rng.integers(1 << 31)), nu, nv]).random(bu.size) < p_big
        small_u = STREET / 2 + PLOT / 2 + PLOT * np.arange(4)
        big_u = STREET / 2 + PLOT + 2 * PLOT * np.arange(2)
        rows_v = STREET / 2 + PLOT / 2 + PLOT * np.arange(2)
        us, vs, bigs = [], [], []
        for offs_u, flag in ((small_u, False), (big_u, True)):
            sel = big_block == flag
            pu = (bu[sel][:, None, None] + offs_u[None, :, None] + 0 * rows_v[None, None, :]).ravel()
            pv = (bv[sel][:, None, None] + 0 * offs_u[None, :, None] + rows_v[None, None, :]).ravel()
            us.append(pu)
            vs.append(pv)
            bigs.append(np.full(pu.size, flag))
        u, v, big = np.concatenate(us), np.concatenate(vs), np.concatenate(bigs)
        x, y = u * cos_a - v * sin_a, u * sin_a + v * cos_a
        keep = np.ones(x.size, dtype=bool) if river is None else river.offset(x, y) >= RIVER_CLEARANCE
        x, y, big = x[keep], y[keep], big[keep]
        if x.size >= n:
            order = np.argsort(np.hypot(x, y), kind="stable")[:n]
            return Plots(x=x[order], y=y[order], big=big[order], angle=angle)
        half *= 1.3


def estimate_radius(n: int) -> float:
    """Radius (m) of a disc holding ``n`` plots, allowing for the river corridor and big plots."""
    return math.sqrt(max(n, 1) / (PLOT_DENSITY * 0.8) / math.pi) + 60.0
