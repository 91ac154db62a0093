"""The weather and the river of the flood scenario: a storm hyetograph and the "true" catchment it falls on.

The truth is a Sugawara tank model with its own parameters (not the forecaster's defaults), so the forecast
has to be assimilated and is never exact; observed levels carry gauge noise. Rain radar nowcasts are the truth
seen through a multiplicative error, as the scenario publishes them for the forecast horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from futago.sim.models.tank import RiverStageModel

STEP_S = 600.0  # 10-minute steps, as Japanese river telemetry reports


@dataclass(frozen=True)
class Storm:
    """A triangular (front-loaded) storm: rain rises to ``peak_mm_h`` a third of the way through and eases off."""

    start_step: int = 24
    duration_steps: int = 54
    peak_mm_h: float = 35.0

    def rain(self, steps: int) -> np.ndarray:
        rain = np.zeros(steps)
        s0, s1 = self.start_step, self.start_step + self.duration_steps
        peak = s0 + self.duration_steps / 3
        for i in range(s0, min(s1, steps)):
            share = (i - s0) / (peak - s0) if i <= peak else (s1 - i) / (s1 - peak)
            rain[i] = self.peak_mm_h * max(share, 0.0)
        return rain


#: The catchment as it really is (the forecaster starts from the model's defaults and assimilates).
TRUE_RIVER: dict[str, Any] = {"catchment_km2": 60.0, "a11": 0.14, "b1": 0.09, "rating_a": 12.0, "dt_s": STEP_S}
#: Warning levels of the scenario's station, metres (水防団待機・氾濫注意・避難判断・氾濫危険水位).
LEVELS = {"standbyLevel": 2.5, "cautionLevel": 3.5, "evacuationLevel": 4.5, "dangerLevel": 5.5}


def true_levels(rain: np.ndarray, seed: int = 0, noise_m: float = 0.01) -> np.ndarray:
    """What the river gauge reads at each step: the true catchment's level plus gauge noise."""
    levels = RiverStageModel(**TRUE_RIVER).predict(rain.reshape(-1, 1))
    return levels + np.random.default_rng(seed).normal(0.0, noise_m, len(levels))


def nowcast(rain: np.ndarray, at: int, horizon: int, rng: np.random.Generator, error: float = 0.2) -> np.ndarray:
    """The radar nowcast issued at step ``at`` for the next ``horizon`` steps: the truth × a log-normal error."""
    ahead = rain[at : at + horizon]
    return np.pad(ahead, (0, horizon - len(ahead))) * rng.lognormal(0.0, error, horizon)
