"""River flood forecasting: warning levels and the probability of reaching each one.

Japanese river practice names four stages (国土交通省 水位観測所の基準水位), all set per station:

=============  ======================  =====================================================
key            Japanese                meaning
=============  ======================  =====================================================
standby        水防団待機水位          flood-fighting teams stand by
caution        氾濫注意水位            flood caution: teams go out, warnings issued
evacuation     避難判断水位            evacuation decision: residents prepare to evacuate
danger         氾濫危険水位            flood danger: the river may overtop at any time
=============  ======================  =====================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.records import JsonRecord, json_meta
from futago.sim.ensemble import DEFAULT_QUANTILES, Uncertainty, run_ensemble
from futago.sim.models.tank import RiverStageModel

STAGES = ("standby", "caution", "evacuation", "danger")
STAGE_NAMES = {
    "standby": {"ja": "水防団待機水位", "en": "Flood-fighting standby level"},
    "caution": {"ja": "氾濫注意水位", "en": "Flood caution level"},
    "evacuation": {"ja": "避難判断水位", "en": "Evacuation decision level"},
    "danger": {"ja": "氾濫危険水位", "en": "Flood danger level"},
}
#: Twin properties that hold a station's levels, in metres (a twin may set any subset).
STAGE_PROPERTIES = {
    "standby": "standbyLevel",
    "caution": "cautionLevel",
    "evacuation": "evacuationLevel",
    "danger": "dangerLevel",
}


@dataclass(frozen=True)
class WarningLevels:
    levels: Mapping[str, float]

    @classmethod
    def parse(cls, values: Mapping[str, Any], pointer: str = "") -> WarningLevels:
        """From ``{"caution": 3.0, …}``; unknown stages and levels that do not rise with the stage are errors."""
        problems = [
            Problem(f"{pointer}/{k}", f"unknown warning stage; use one of {', '.join(STAGES)}")
            for k in values
            if k not in STAGES
        ]
        levels: dict[str, float] = {}
        for stage in STAGES:
            if stage in values:
                value = values[stage]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    problems.append(Problem(f"{pointer}/{stage}", "a warning level is a number of metres"))
                else:
                    levels[stage] = float(value)
        ordered = [levels[s] for s in STAGES if s in levels]
        if any(b < a for a, b in pairwise(ordered)):
            problems.append(Problem(pointer or "/", "warning levels must rise from standby to danger"))
        if problems:
            raise InvalidInput(problems)
        return cls(levels)

    @classmethod
    def from_twin(cls, properties: Mapping[str, Any]) -> WarningLevels:
        values = {stage: properties[prop] for stage, prop in STAGE_PROPERTIES.items() if prop in properties}
        return cls.parse(values)

    def stage_of(self, level: float) -> str | None:
        """The highest stage reached by ``level`` (None below standby)."""
        reached = [s for s in STAGES if s in self.levels and level >= self.levels[s]]
        return reached[-1] if reached else None


def _quantile_series(quantiles: dict[float, np.ndarray]) -> dict[str, list[float]]:
    """``{0.05: array}`` → ``{"q05": [...]}``, to 4 decimals (metres: a tenth of a millimetre)."""
    return {f"q{round(q * 100):02d}": v.round(4).tolist() for q, v in quantiles.items()}


@dataclass(frozen=True)
class StageForecast(JsonRecord):
    json_order = ("members", "steps", "quantiles", "exceedance")  # the sizes first

    quantiles: dict[float, np.ndarray] = field(metadata=json_meta(encode=_quantile_series))
    exceedance: dict[str, float] = field(metadata=json_meta("exceedanceProbabilities"))
    members: int
    steps: int


def forecast_stage(
    model: RiverStageModel,
    rain_forecast_mm_h: ArrayLike,
    levels: WarningLevels,
    *,
    members: int = 1000,
    uncertainty: Uncertainty | None = None,
    seed: int = 0,
) -> StageForecast:
    """Forecast the river level over the rain forecast's horizon from the model's current state, with the
    probability of reaching each warning level at least once within it."""
    spread = uncertainty or Uncertainty(inputs={"rainfall": 0.35}, params={"a11": 0.15, "b1": 0.15})
    rain = np.asarray(rain_forecast_mm_h, dtype=np.float64).reshape(-1, 1)
    ensemble = run_ensemble(model, rain, members, spread, seed=seed)
    return StageForecast(ensemble.quantiles(DEFAULT_QUANTILES), ensemble.exceedance(levels.levels), members, len(rain))
