"""Rainfall–runoff with the Sugawara tank model, and river stage through a rating curve.

The tank model (Sugawara 1961, 1995) is the standard conceptual runoff model of Japanese river practice: four
tanks in series stand for surface, intermediate, sub-base and base flow. Rain fills the top tank; each tank
drains sideways into the river through outlets at set heights (outflow a·(S − h) once the storage S is above
h) and downwards into the next tank (b·S). The river's discharge is the sum of the side outflows times the
catchment area. Coefficients here are per hour and storages in mm, so a step of any length ``dt_s`` works.

Every function takes parameters and state with a leading *member* axis, so one call runs a 100,000-member
Monte Carlo ensemble as fast as numpy can go (``ensemble.py``) and calibration evaluates its finite-difference
Jacobian as one batched run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import FloatArray
from futago.sim.simulator import Simulator

# Parameter names in the order the vectorised kernel reads them.
TANK_PARAMS = ("a11", "a12", "h11", "h12", "b1", "a2", "h2", "b2", "a3", "h3", "b3", "a4")


def tank_step(
    storage: FloatArray, rain_mm_h: FloatArray, p: Mapping[str, Any], dt_h: float, evap_mm_h: Any = 0.0
) -> tuple[FloatArray, FloatArray]:
    """Advance storages (members × 4, mm) by one step; return (new storages, runoff in mm over the step).

    Outflows are limited to what a tank holds, so no tank goes negative however long the step.
    """
    s1 = np.maximum(storage[..., 0] + (rain_mm_h - evap_mm_h) * dt_h, 0.0)
    side1 = (p["a11"] * np.maximum(s1 - p["h11"], 0.0) + p["a12"] * np.maximum(s1 - p["h12"], 0.0)) * dt_h
    down1 = p["b1"] * s1 * dt_h
    side1, down1 = _limit(s1, side1, down1)
    s2 = storage[..., 1] + down1
    side2, down2 = _limit(s2, p["a2"] * np.maximum(s2 - p["h2"], 0.0) * dt_h, p["b2"] * s2 * dt_h)
    s3 = storage[..., 2] + down2
    side3, down3 = _limit(s3, p["a3"] * np.maximum(s3 - p["h3"], 0.0) * dt_h, p["b3"] * s3 * dt_h)
    s4 = storage[..., 3] + down3
    side4 = np.minimum(p["a4"] * s4 * dt_h, s4)
    new = np.stack([s1 - side1 - down1, s2 - side2 - down2, s3 - side3 - down3, s4 - side4], axis=-1)
    return new, side1 + side2 + side3 + side4


def _limit(storage: FloatArray, side: FloatArray, down: FloatArray) -> tuple[FloatArray, FloatArray]:
    total = side + down
    factor = np.where(total > storage, storage / np.where(total > 0, total, 1.0), 1.0)
    return side * factor, down * factor


def simulate_discharge(
    rain_mm_h: FloatArray, storage: FloatArray, p: Mapping[str, Any], dt_s: float, catchment_km2: Any
) -> tuple[FloatArray, FloatArray]:
    """Rain (members × steps, mm/h) from storages (members × 4) → discharge (members × steps, m³/s), storages."""
    dt_h = dt_s / 3600.0
    to_m3_s = np.asarray(catchment_km2) * 1e6 / 1000.0 / dt_s  # mm over the catchment per step → m³/s
    steps = rain_mm_h.shape[-1]
    out = np.empty(rain_mm_h.shape, dtype=np.float64)
    evap = p.get("evap_mm_h", 0.0)
    for t in range(steps):
        storage, runoff = tank_step(storage, rain_mm_h[..., t], p, dt_h, evap)
        out[..., t] = runoff * to_m3_s
    return out, storage


class RatingCurve:
    """Stage–discharge relation Q = a·(H − h0)^b, the form used for Japanese H–Q rating curves."""

    def __init__(self, a: float = 30.0, b: float = 1.6, h0: float = 0.2) -> None:
        self.a, self.b, self.h0 = a, b, h0

    def level(self, discharge: Any) -> Any:
        """Water level (m) for a discharge (m³/s)."""
        return self.h0 + (np.maximum(discharge, 0.0) / self.a) ** (1.0 / self.b)

    def discharge(self, level: Any) -> Any:
        return self.a * np.maximum(np.asarray(level) - self.h0, 0.0) ** self.b

    @classmethod
    def fit(cls, levels: ArrayLike, discharges: ArrayLike) -> RatingCurve:
        """Fit a, b, h0 to gaugings (paired level and discharge measurements) by bounded least squares."""
        from scipy.optimize import least_squares

        h = np.asarray(levels, dtype=np.float64)
        q = np.asarray(discharges, dtype=np.float64)
        ok = np.isfinite(h) & np.isfinite(q) & (q > 0)
        h, q = h[ok], q[ok]

        def residuals(x: FloatArray) -> FloatArray:
            log_a, b, h0 = x
            return np.log(q) - (log_a + b * np.log(np.maximum(h - h0, 1e-6)))

        h0_max = float(h.min()) - 1e-3
        fit = least_squares(
            residuals, [np.log(q.mean()), 1.5, h0_max - 0.5], bounds=([-10, 0.5, -50], [15, 4.0, h0_max])
        )
        return cls(float(np.exp(fit.x[0])), float(fit.x[1]), float(fit.x[2]))


class TankModel(Simulator):
    """Sugawara four-tank model: rainfall (mm/h) per row → river discharge (m³/s) per row, or with
    ``output="level"`` the water level (m) through the rating curve Q = a·(H − h0)^b.

    State: the four storages in mm. ``learn_one(x, measured)`` moves the storages so the simulated output
    closes half the gap to the measurement, so a live forecast starts from the river as it is. The rating
    curve comes from gaugings (``RatingCurve.fit``), not from ``fit``, which calibrates the tank coefficients.
    """

    name: ClassVar[str] = "tank_model"
    version: ClassVar[str] = "1"
    #: What ``output=None`` means: discharge here, the level for ``RiverStageModel``.
    default_output: ClassVar[str] = "discharge"
    inputs: Sequence[str] = ("rainfall",)
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {
        "a11": (0.005, 0.5),
        "a12": (0.005, 0.5),
        "h11": (5.0, 80.0),
        "b1": (0.005, 0.5),
        "a2": (0.001, 0.2),
        "b2": (0.001, 0.2),
    }
    tags: ClassVar[Mapping[str, bool]] = {**Simulator.tags, "vectorised_params": True}

    def __init__(
        self,
        catchment_km2: float = 100.0,
        dt_s: float = 600.0,
        a11: float = 0.10,
        a12: float = 0.08,
        h11: float = 25.0,
        h12: float = 10.0,
        b1: float = 0.08,
        a2: float = 0.03,
        h2: float = 10.0,
        b2: float = 0.02,
        a3: float = 0.008,
        h3: float = 5.0,
        b3: float = 0.005,
        a4: float = 0.001,
        evap_mm_h: float = 0.0,
        initial_storage_mm: tuple[float, float, float, float] = (5.0, 20.0, 60.0, 300.0),
        rating_a: float = 30.0,
        rating_b: float = 1.6,
        rating_h0: float = 0.2,
        output: str | None = None,
    ) -> None:
        self.catchment_km2 = catchment_km2
        self.dt_s = dt_s
        self.a11, self.a12, self.h11, self.h12, self.b1 = a11, a12, h11, h12, b1
        self.a2, self.h2, self.b2, self.a3, self.h3, self.b3, self.a4 = a2, h2, b2, a3, h3, b3, a4
        self.evap_mm_h = evap_mm_h
        self.initial_storage_mm = initial_storage_mm
        self.rating_a, self.rating_b, self.rating_h0 = rating_a, rating_b, rating_h0
        self.output = output

    @property
    def rating(self) -> RatingCurve:
        return RatingCurve(self.rating_a, self.rating_b, self.rating_h0)

    @property
    def gives_level(self) -> bool:
        return (self.output or self.default_output) == "level"

    def tank_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {name: getattr(self, name) for name in TANK_PARAMS}
        params["evap_mm_h"] = self.evap_mm_h
        return params

    def initial_state(self) -> FloatArray:
        return np.asarray(self.initial_storage_mm, dtype=np.float64)

    def report(self, discharge: FloatArray) -> FloatArray:
        """What the model reports for a discharge: the discharge itself, or the level."""
        if self.gives_level:
            level: FloatArray = self.rating.level(discharge)
            return level
        return discharge

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        flow, final = simulate_discharge(
            X[None, :, 0], state.reshape(1, 4).copy(), self.tank_params(), self.dt_s, self.catchment_km2
        )
        return self.report(flow[0]), final[0]

    def run_members(self, X: FloatArray, state: FloatArray) -> FloatArray:
        """Members × steps × 1 rain, members × 4 storages, parameters scalar or one value per member."""
        params = {k: np.reshape(v, (-1,)) if np.ndim(v) else v for k, v in self.tank_params().items()}
        flow, _ = simulate_discharge(
            X[..., 0], np.array(state, dtype=np.float64), params, self.dt_s, self.catchment_km2
        )
        return self.report(flow)

    def assimilate(self, state: FloatArray, observed: float, predicted: float) -> FloatArray:
        """Move storages so the simulated discharge closes half the gap to the measured one.

        A linearised update: each tank above its outlet changes discharge by a·dt per mm of storage, so the gap
        is spread over the tanks in proportion to those sensitivities (mostly the top tank in a flood, the base
        tank in dry weather). Half the gap, because one reading is noisy and the tanks are a simplification;
        correcting the error rather than scaling the storages keeps a biased model from drifting away.
        """
        if not (np.isfinite(observed) and np.isfinite(predicted)):
            return state
        if self.gives_level:  # the gap is closed in discharge, what the tanks release
            observed, predicted = float(self.rating.discharge(observed)), float(self.rating.discharge(predicted))
        dt_h = self.dt_s / 3600.0
        to_m3_s = self.catchment_km2 * 1e6 / 1000.0 / self.dt_s
        above = state > np.array([min(self.h11, self.h12), self.h2, self.h3, 0.0])
        rates = np.array([self.a11 + self.a12, self.a2, self.a3, self.a4]) * dt_h * to_m3_s * above
        if rates.sum() <= 0:
            return state
        gap_mm = 0.5 * (observed - predicted) / rates.sum()
        return np.maximum(state + gap_mm * rates / rates.sum(), 0.0)


class RiverStageModel(TankModel):
    """The tank model reporting the river's water level (m): rainfall per row → level per row."""

    name: ClassVar[str] = "river_stage"
    default_output: ClassVar[str] = "level"
