"""Hybrid (grey-box) model: a physics simulator plus a machine-learned correction of its residual.

The serial "residual" hybrid of the process-modelling literature (Thompson & Kramer, *AIChE J.* 40 (1994)
1328–1340, "Modeling chemical processes using prior knowledge and neural networks"; reviewed by von Stosch et
al., *Comput. Chem. Eng.* 60 (2014) 86–101): the physics gives the structure and extrapolates sensibly, and a
regressor learns what the physics gets wrong,

    ŷ(t) = y_physics(t) + f(u(t), x_physics(t), y_physics(t)),    f fitted to  y_measured − y_physics,

from the inputs u and the physics' own states x and output, which carry the operating point the error depends
on (an unmodelled side reaction matters only when the reactor is hot). The physics runs open loop, so the
correction sees what it will see in a forecast. Any ``Simulator`` works as the physics; states are read by
stepping it one row at a time, so it needs no special interface.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import RegressorMixin, clone
from sklearn.ensemble import GradientBoostingRegressor

from futago.analytics.metrics import rmse
from futago.analytics.protocol import FloatArray, check_X, check_y
from futago.sim.simulator import Simulator


def default_regressor() -> RegressorMixin:
    """Gradient-boosted shallow trees: no feature scaling needed, robust to the sharp nonlinearity of kinetics,
    and deterministic with a fixed ``random_state``. Small learning rate and depth keep it from fitting noise."""
    return GradientBoostingRegressor(
        n_estimators=300, max_depth=3, learning_rate=0.05, subsample=1.0, min_samples_leaf=5, random_state=0
    )


class HybridSimulator(Simulator):
    """Physics simulator + learned residual correction; same inputs and output as the physics.

    Params: ``physics`` (a ``Simulator``, used as given unless ``calibrate_physics``), ``regressor`` (a
    scikit-learn regressor, cloned before fitting; ``None`` = ``default_regressor()``), ``calibrate_physics``
    (calibrate the physics' ``bounds`` on the same data before learning the residual), ``include_states``
    (use the physics states as features besides the inputs and the physics output).

    Before ``fit`` the hybrid is its physics (no correction yet), as a simulator predicts from its parameters
    without fitting. ``learn_one(x, y)`` steps and assimilates through the physics (its ``assimilate``); the
    correction is learnt by ``fit`` only. Learned: ``physics_``, ``regressor_``, and on the training data
    ``rmse_physics_`` and ``rmse_`` (in-sample, so optimistic: judge the hybrid on held-out data).
    """

    name: ClassVar[str] = "hybrid"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        physics: Simulator,
        regressor: RegressorMixin | None = None,
        calibrate_physics: bool = False,
        include_states: bool = True,
    ) -> None:
        self.physics = physics
        self.regressor = regressor
        self.calibrate_physics = calibrate_physics
        self.include_states = include_states

    # The inputs are the physics' inputs, read through so that set_params(physics=...) stays consistent.
    @property
    def inputs(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.physics.inputs)

    @property
    def _physics(self) -> Simulator:
        fitted: Simulator | None = getattr(self, "physics_", None)
        return self.physics if fitted is None else fitted

    def initial_state(self) -> FloatArray:
        return np.array(self._physics.state, dtype=np.float64, copy=True)

    def _trace(self, physics: Simulator, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Physics outputs per row, features per row, and the final state, stepping one row at a time."""
        outputs = np.empty(X.shape[0], dtype=np.float64)
        states: list[FloatArray] = []
        current = np.array(state, dtype=np.float64, copy=True)
        for i in range(X.shape[0]):
            out, current = physics.run(X[i : i + 1], current)
            outputs[i] = out[0]
            states.append(np.asarray(current, dtype=np.float64).reshape(-1))
        columns = [X, outputs[:, None]]
        if self.include_states and states:
            columns.append(np.vstack(states))
        # A failed physics step leaves NaN; the output stays NaN, but the regressor needs finite features.
        features = np.nan_to_num(np.hstack(columns), nan=0.0, posinf=0.0, neginf=0.0)
        return outputs, features, current

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        outputs, features, final = self._trace(self._physics, X, state)
        regressor = getattr(self, "regressor_", None)
        if regressor is not None and X.shape[0]:
            outputs = outputs + np.asarray(regressor.predict(features), dtype=np.float64)
        return outputs, final

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        data = check_X(self, X, n_features=len(self.inputs))
        target = check_y(self, y, data.shape[0])
        physics = self.physics.clone().set_state(self.physics.state)
        if self.calibrate_physics:
            physics.fit(data, target)
        outputs, features, _ = self._trace(physics, data, physics.state)
        residual = target - outputs
        usable = np.isfinite(residual)
        regressor = clone(self.regressor if self.regressor is not None else default_regressor())
        regressor.fit(features[usable], residual[usable])
        corrected = outputs + np.asarray(regressor.predict(features), dtype=np.float64)
        self.physics_ = physics
        self.regressor_ = regressor
        self.rmse_physics_ = rmse(target, outputs)
        self.rmse_ = rmse(target, corrected)
        return self

    def assimilate(self, state: FloatArray, observed: float, predicted: float) -> FloatArray:
        # The correction shifts observed and predicted alike, so the physics sees the same innovation.
        return self._physics.assimilate(state, observed, predicted)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["physics"] = self.physics.describe()
        regressor = self.regressor if self.regressor is not None else default_regressor()
        info["regressor"] = type(regressor).__name__
        return info
