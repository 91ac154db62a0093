"""Protocol cases for the rainfall–runoff models."""

from __future__ import annotations

import numpy as np

from futago.sim.models.tank import RiverStageModel, TankModel
from tests.analytics.checks import Case

_rng = np.random.default_rng(3)
_RAIN = np.zeros((240, 1))
_RAIN[20:50, 0] = _rng.gamma(2.0, 5.0, 30)
_RAIN[140:160, 0] = _rng.gamma(2.0, 8.0, 20)
_TRUE = dict(a11=0.15, a12=0.05, b1=0.12)
_FLOW = TankModel(**_TRUE).predict(_RAIN)
_LEVEL = RiverStageModel(**_TRUE).predict(_RAIN)

CASES = [
    Case("tank_model", TankModel, _RAIN, _FLOW),
    Case("river_stage", RiverStageModel, _RAIN, _LEVEL),
]
