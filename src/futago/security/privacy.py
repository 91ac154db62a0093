"""Privacy-safe release of people counts: JIS X 0410 regional mesh cells, k-anonymity, differential privacy.

- **Mesh** (地域メッシュ, JIS X 0410): the 1 km (third-order, 8 digits), 500 m (half, 9 digits) and 250 m (quarter,
  10 digits) cells of Japan's statistics, so that a release lines up with the census and other open data.
- **k-anonymity**: a cell counting fewer than k people is generalised into its coarser cell (250 m → 500 m → 1 km);
  what is still under k at 1 km is suppressed, and the release says how many people that was not shown.
- **Differential privacy**: every cell of the requested area (empty ones too: which cells have people must not
  show) gets Laplace noise (ε-DP; scale 1/ε for counts, each person in one cell) or Gaussian noise ((ε, δ)-DP;
  σ = √(2 ln(1.25/δ)) / ε), rounded and clipped at zero; k-anonymity then works on the noisy counts, so that
  everything after the noise is post-processing and keeps the guarantee. Every release spends from its dataset's
  budget (basic composition: ε and δ add up), and a release that would exceed it is refused before anything is
  computed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord, json_meta

MeshLevel = Literal["1km", "500m", "250m"]
LEVELS: dict[str, int] = {"1km": 8, "500m": 9, "250m": 10}  # digits of the code
COARSER = {"250m": "500m", "500m": "1km"}
Mechanism = Literal["laplace", "gaussian"]


def mesh_code(lat: float, lon: float, level: str = "1km") -> str:
    """The JIS X 0410 code of the cell holding (lat, lon): 8 digits for 1 km, 9 for 500 m, 10 for 250 m."""
    if level not in LEVELS:
        raise InvalidInput([Problem("/mesh", f"give one of {', '.join(LEVELS)}")])
    if not (20.0 <= lat < 46.0 and 122.0 <= lon < 154.0):
        raise InvalidInput([Problem("/location", f"({lat}, {lon}) is outside the JIS X 0410 mesh of Japan")])
    y, x = lat * 1.5, lon - 100.0  # first-order cells: 40' of latitude by 1° of longitude
    p, u = int(y), int(x)
    y, x = (y - p) * 8, (x - u) * 8  # second order: 8 × 8
    q, v = int(y), int(x)
    y, x = (y - q) * 10, (x - v) * 10  # third order: 10 × 10 (about 1 km)
    r, w = int(y), int(x)
    code = f"{p:02d}{u:02d}{q}{v}{r}{w}"
    for _ in range(LEVELS[level] - 8):  # halves: 1 south-west, 2 south-east, 3 north-west, 4 north-east
        y, x = (y - int(y)) * 2, (x - int(x)) * 2
        code += str(int(y) * 2 + int(x) + 1)
    return code


def mesh_bounds(code: str) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a mesh cell in degrees."""
    south = int(code[0:2]) / 1.5
    west = int(code[2:4]) + 100.0
    height, width = 1 / 1.5, 1.0
    for digits, parts in ((code[4:6], 8), (code[6:8], 10)):
        height, width = height / parts, width / parts
        south += int(digits[0]) * height
        west += int(digits[1]) * width
    for digit in code[8:]:
        height, width = height / 2, width / 2
        index = int(digit) - 1
        south += (index // 2) * height
        west += (index % 2) * width
    return west, south, west + width, south + height


def coarser(code: str) -> str:
    return code[:-1]


MAX_AREA_CELLS = 200_000


def cells_in(area: tuple[float, float, float, float], level: str) -> list[str]:
    """Every mesh cell of ``level`` that the (west, south, east, north) area touches."""
    west, south, east, north = area
    first = mesh_bounds(mesh_code(south, west, level))
    width, height = first[2] - first[0], first[3] - first[1]
    columns = math.floor((east - first[0]) / width) + 1
    rows = math.floor((north - first[1]) / height) + 1
    if columns * rows > MAX_AREA_CELLS:
        detail = f"the area holds {columns * rows:,} cells of {level}; at most {MAX_AREA_CELLS:,}: make it smaller"
        raise InvalidInput([Problem("/area", detail)])
    return [
        mesh_code(first[1] + (i + 0.5) * height, first[0] + (j + 0.5) * width, level)
        for i in range(rows)
        for j in range(columns)
    ]


def _cells(cells: dict[str, int]) -> list[dict[str, Any]]:
    """Each cell with its count and its bounding box, in the order of their mesh codes."""
    return [{"mesh": code, "count": n, "bbox": list(mesh_bounds(code))} for code, n in sorted(cells.items())]


@dataclass(frozen=True, slots=True)
class Release(JsonRecord):
    json_order = ("level", "k", "cells", "generalised", "suppressed", "mechanism", "epsilon", "delta")

    # mesh code -> count (noisy when a mechanism was used)
    cells: dict[str, int] = field(metadata=json_meta(encode=_cells))
    level: str
    k: int
    generalised: int  # people counted in a coarser cell than asked for
    suppressed: int  # people in cells that stayed under k even at 1 km (not shown)
    mechanism: str | None
    epsilon: float | None
    delta: float | None


def k_anonymous(counts: Counter[str], level: str, k: int) -> tuple[dict[str, int], int, int]:
    """Cells of at least k people: smaller ones merged into their coarser cell, level by level, and what is
    still under k at 1 km suppressed. Returns (cells, generalised: people shown in a coarser cell than asked
    for, suppressed: people not shown)."""
    cells, asked = dict(counts), LEVELS[level]
    while level in COARSER:
        small = {code: n for code, n in cells.items() if len(code) == LEVELS[level] and n < k}
        for code, n in small.items():
            del cells[code]
            parent = coarser(code)
            cells[parent] = cells.get(parent, 0) + n
        level = COARSER[level]
    shown = {code: n for code, n in cells.items() if n >= k}
    generalised = sum(n for code, n in shown.items() if len(code) < asked)
    return shown, generalised, sum(n for n in cells.values() if n < k)


def noise_scale(mechanism: str, epsilon: float, delta: float | None) -> float:
    """The Laplace scale b or the Gaussian σ for counts (sensitivity 1)."""
    if mechanism == "laplace":
        return 1.0 / epsilon
    assert delta is not None
    return math.sqrt(2 * math.log(1.25 / delta)) / epsilon


def noisy(
    counts: dict[str, int], mechanism: str, epsilon: float, delta: float | None, rng: np.random.Generator
) -> dict[str, int]:
    scale = noise_scale(mechanism, epsilon, delta)
    codes = sorted(counts)
    values = np.array([counts[c] for c in codes], dtype=float)
    noise = rng.laplace(0.0, scale, len(codes)) if mechanism == "laplace" else rng.normal(0.0, scale, len(codes))
    released = np.maximum(0, np.rint(values + noise)).astype(int)
    return dict(zip(codes, (int(v) for v in released), strict=True))


def check_request(level: str, k: int, mechanism: str | None, epsilon: float | None, delta: float | None) -> None:
    problems = []
    if level not in LEVELS:
        problems.append(Problem("/mesh", f"give one of {', '.join(LEVELS)}"))
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        problems.append(Problem("/k", "give a whole number of at least 1 (k-anonymity)"))
    if mechanism is not None:
        if mechanism not in ("laplace", "gaussian"):
            problems.append(Problem("/mechanism", "give laplace, gaussian or null"))
        if not isinstance(epsilon, int | float) or isinstance(epsilon, bool) or not 0 < epsilon <= 10:
            problems.append(Problem("/epsilon", "give ε in (0, 10]"))
        if mechanism == "gaussian" and (not isinstance(delta, int | float) or not 0 < delta < 1):
            problems.append(Problem("/delta", "the Gaussian mechanism needs δ in (0, 1)"))
    if problems:
        raise InvalidInput(problems)


def release(
    points: Iterable[tuple[float, float]],
    level: str = "500m",
    k: int = 10,
    mechanism: str | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    area: tuple[float, float, float, float] | None = None,
    rng: np.random.Generator | None = None,
) -> Release:
    """Count (lat, lon) points per mesh cell, add noise to every cell of ``area`` (with a mechanism), then make the
    counts k-anonymous. The budget is the caller's to spend first (``PrivacyBudgets``); this only computes."""
    check_request(level, k, mechanism, epsilon, delta)
    counts = Counter(mesh_code(lat, lon, level) for lat, lon in points)
    if mechanism is not None:
        if area is None:
            detail = "a differentially private release needs a fixed area: which cells hold people must not show"
            raise InvalidInput([Problem("/area", detail)])
        domain = cells_in(area, level)
        if any(code not in set(domain) for code in counts):  # how many would be an exact, noiseless count
            raise InvalidInput([Problem("/area", "some of the people lie outside the area; widen it")])
        assert epsilon is not None
        counts = Counter(noisy({code: counts.get(code, 0) for code in domain}, mechanism, float(epsilon), delta,
                               rng or np.random.default_rng()))  # fmt: skip
    cells, generalised, suppressed = k_anonymous(counts, level, k)
    return Release(cells, level, k, generalised, suppressed, mechanism, epsilon,
                   delta if mechanism == "gaussian" else None)  # fmt: skip
