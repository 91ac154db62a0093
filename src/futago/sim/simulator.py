"""Simulators: physics (and hybrid) models that run forward in time from a state.

A simulator is a ``Model`` whose parameters are physical (a tank's outlet coefficients, a reactor's activation
energy). It predicts without fitting, from its parameters as given; ``fit`` calibrates those parameters to
measured history (``futago.sim.calibration``) and keeps the result in ``calibration_``.

Time is the row axis of ``X`` (one row per step of ``dt`` seconds, columns are the inputs named in
``inputs``). ``predict(X)`` runs from the current state and leaves it unchanged, so the same call gives the
same answer; the streaming view advances it: ``predict_one(x)`` steps once and returns the output, and
``learn_one(x, y)`` steps once and, when a measurement ``y`` is given, corrects the state towards it
(data assimilation), which is what keeps a live twin on track between calibrations.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import FloatArray, Kind, Model, check_X, check_y


class Simulator(Model):
    kind: ClassVar[Kind] = "simulator"
    tags: ClassVar[Mapping[str, bool]] = {**Model.tags, "requires_fit": False, "streaming": True}
    #: Names of the input columns of ``X``, in order (a model may set its own per instance, as an FMU does).
    inputs: Sequence[str] = ()
    #: Parameters that ``fit`` calibrates, with their physical bounds.
    bounds: ClassVar[Mapping[str, tuple[float, float]]] = {}

    def calibration_bounds(self) -> Mapping[str, tuple[float, float]]:
        """The parameters ``fit`` calibrates, with their bounds: the class's ``bounds`` unless overridden."""
        return self.bounds

    # subclasses implement these two ------------------------------------------------------------
    def initial_state(self) -> FloatArray:
        """The state a run starts from when nobody set one (e.g. empty tanks, the reactor's steady state)."""
        raise NotImplementedError

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Simulate ``X`` (already checked) from ``state``; return (outputs per row, final state).

        Must not modify ``state`` in place. Vectorised simulators may accept a leading ensemble axis.
        """
        raise NotImplementedError

    def run_members(self, X: FloatArray, state: FloatArray) -> FloatArray:
        """Batched run for ensembles: ``X`` is members × steps × inputs, ``state`` members × state size, and any
        parameter may hold one value per member. Returns the outputs, members × steps.

        This fallback runs the members one by one; simulators tagged ``vectorised_params`` override it with
        one numpy pass, which is what makes 100,000-member ensembles take well under a second.
        """
        params = self.get_params()
        per_member = {k for k, v in params.items() if isinstance(v, np.ndarray) and v.ndim == 1}
        outputs = np.empty(X.shape[:2], dtype=np.float64)
        for m in range(X.shape[0]):
            member = copy.deepcopy(self).set_params(**{k: float(params[k][m]) for k in per_member})
            outputs[m], _ = member.run(X[m], state[m])
        return outputs

    def assimilate(self, state: FloatArray, observed: float, predicted: float) -> FloatArray:
        """Correct ``state`` after a step whose output was ``predicted`` but ``observed`` was measured.

        The default trusts the model (no correction); simulators with an observable state override it.
        """
        return state

    # the protocol ------------------------------------------------------------------------------
    @property
    def state(self) -> FloatArray:
        current = getattr(self, "_state", None)
        return self.initial_state() if current is None else current

    def set_state(self, state: ArrayLike) -> Self:
        """Start later runs from ``state`` (a what-if from a chosen point, or a restored live state)."""
        self._state = np.array(state, dtype=np.float64, copy=True)
        return self

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        from futago.sim.calibration import calibrate

        data = check_X(self, X, n_features=len(self.inputs) or None)
        target = check_y(self, y, data.shape[0])
        result = calibrate(self, data, target, self.calibration_bounds())
        self.set_params(**result.params)
        self.calibration_ = result
        return self

    def predict(self, X: ArrayLike) -> FloatArray:
        data = check_X(self, X, n_features=len(self.inputs) or None)
        outputs, _ = self.run(data, self.state)
        return outputs

    def predict_one(self, x: ArrayLike) -> float:
        row = check_X(self, np.asarray(x, dtype=np.float64).reshape(1, -1), n_features=len(self.inputs) or None)
        outputs, state = self.run(row, self.state)
        self._state = state
        return float(outputs[0])

    def learn_one(self, x: ArrayLike, y: float | None = None) -> Self:
        row = check_X(self, np.asarray(x, dtype=np.float64).reshape(1, -1), n_features=len(self.inputs) or None)
        outputs, state = self.run(row, self.state)
        if y is not None and np.isfinite(y):
            state = self.assimilate(state, float(y), float(outputs[0]))
        self._state = state
        self.steps_ = getattr(self, "steps_", 0) + 1
        return self

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["inputs"] = list(self.inputs)
        return info
