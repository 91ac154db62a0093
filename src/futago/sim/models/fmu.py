"""Co-simulation FMUs (FMI 2.0 and 3.0) as futago simulators, through FMPy.

The Functional Mock-up Interface (Modelica Association, FMI 2.0.4 and 3.0 standards) is how Modelica, Simulink,
Dymola, OpenModelica and most building and plant tools export a model: a zip with a ``modelDescription.xml``
and a shared library. ``FmuSimulator`` drives one, step by step, with FMPy's ``FMU2Slave``/``FMU3Slave`` API:
rows of ``X`` are communication steps of ``step_size`` seconds, the columns are set on the FMU's inputs before
each step, and the named output is read after it.

A simulator's state must be a value (``run(X, state)`` is a pure function of its arguments, and a model is
pickled to other processes), while an FMU's state lives inside a native instance. So the state vector is
``[time, payload...]`` with the payload, by the FMU's capabilities:

* the FMU's serialised state (``fmi2SerializeFMUstate``/``fmi3SerializeFMUState``, bytes as floats), when it
  declares ``canGetAndSetFMUstate`` and ``canSerializeFMUstate``: bounded, and restored in one call;
* otherwise the input rows since the start, which are replayed from a fresh initialisation to reach the state.
  Exact for any deterministic FMU, but it grows with the run, so long-lived twins want serialisable FMUs.

One live instance is kept per simulator and reused as long as it sits at the requested state, so stepping a
live twin with ``predict_one`` costs one ``doStep`` per row, whatever the mode; it is rebuilt after
unpickling. Variables read and written must be Real (FMI 2.0) or Float64 (FMI 3.0).
"""

from __future__ import annotations

import math
import shutil
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike

from futago.analytics.protocol import FloatArray, check_X, check_y
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.sim.simulator import Simulator

_FLOAT_TYPES = {"Real", "Float64"}


class _Slave:
    """One instantiated FMU, with the FMI 2.0/3.0 differences of FMPy's API behind one set of verbs."""

    def __init__(self, description: Any, path: str) -> None:
        from fmpy import extract

        self.description = description
        self.version = int(str(description.fmiVersion).split(".")[0])
        self.unzip_dir = extract(path)
        kwargs = {
            "guid": description.guid,
            "unzipDirectory": self.unzip_dir,
            "modelIdentifier": description.coSimulation.modelIdentifier,
            "instanceName": "futago",
        }
        if self.version == 2:
            from fmpy.fmi2 import FMU2Slave

            self.fmu: Any = FMU2Slave(**kwargs)
        else:
            from fmpy.fmi3 import FMU3Slave

            self.fmu = FMU3Slave(**kwargs)
        self.fmu.instantiate()
        self.initialised = False
        # Free the native instance and the extracted files when the slave goes, even without an explicit close.
        self._finalizer = weakref.finalize(self, _free, self.fmu, self.unzip_dir)

    def initialise(self, start_time: float, starts: Mapping[int, float]) -> None:
        if self.initialised:
            self.fmu.reset()  # back to the Instantiated state, as after fmi*Instantiate
        self.set(list(starts), list(starts.values()))
        if self.version == 2:
            self.fmu.setupExperiment(startTime=start_time)
            self.fmu.enterInitializationMode()
        else:
            self.fmu.enterInitializationMode(startTime=start_time)
        self.fmu.exitInitializationMode()
        self.initialised = True

    def set(self, refs: list[int], values: list[float]) -> None:
        if not refs:
            return
        if self.version == 2:
            self.fmu.setReal(refs, values)
        else:
            self.fmu.setFloat64(refs, values)

    def get(self, ref: int) -> float:
        values = self.fmu.getReal([ref]) if self.version == 2 else self.fmu.getFloat64([ref])
        return float(values[0])

    def step(self, time: float, size: float) -> None:
        self.fmu.doStep(time, size)

    def save(self) -> bytes:
        if self.version == 2:
            state = self.fmu.getFMUstate()
            data = self.fmu.serializeFMUstate(state)
            self.fmu.freeFMUstate(state)
        else:
            state = self.fmu.getFMUState()
            data = self.fmu.serializeFMUState(state)
            self.fmu.freeFMUState(state)
        return bytes(data)

    def load(self, data: bytes) -> None:
        if self.version == 2:
            state = self.fmu.deSerializeFMUstate(data)
            self.fmu.setFMUstate(state)
            self.fmu.freeFMUstate(state)
        else:
            state = self.fmu.deserializeFMUState(data)
            self.fmu.setFMUState(state)
            self.fmu.freeFMUState(state)


def _free(fmu: Any, unzip_dir: str) -> None:
    try:
        fmu.freeInstance()
    finally:
        shutil.rmtree(unzip_dir, ignore_errors=True)


@dataclass
class _Live:
    """The live instance, the parameters it was initialised with, and the state vector it now sits at."""

    slave: _Slave
    path: str
    starts: dict[int, float] = field(default_factory=dict)
    at: FloatArray | None = None


class FmuSimulator(Simulator):
    """An FMI 2.0/3.0 co-simulation FMU: the FMU's ``inputs`` per row → its ``output`` after each step.

    Params: ``path`` to the ``.fmu``; ``inputs``, the FMU input variables that the columns of ``X`` set, in
    order; ``output``, the variable read after each step; ``start_values``, values set before initialisation
    (parameters, initial states); ``step_size`` (s) and ``start_time`` (s); ``tunable``, FMU variables that
    ``fit`` calibrates (name → (low, high)), starting from their ``start_values`` or the FMU's own start.
    """

    name: ClassVar[str] = "fmu"
    version: ClassVar[str] = "1"

    def __init__(
        self,
        path: str,
        inputs: Sequence[str] = (),
        output: str = "",
        start_values: Mapping[str, float] | None = None,
        step_size: float = 1.0,
        start_time: float = 0.0,
        tunable: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        self.path = path
        self.inputs = inputs
        self.output = output
        self.start_values = start_values
        self.step_size = step_size
        self.start_time = start_time
        self.tunable = tunable

    # pickling: the native instance stays behind and is rebuilt on first use -------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("_live", "_variables_cache")}

    # the model description ----------------------------------------------------------------------
    def _variables(self) -> tuple[Any, dict[str, Any]]:
        cached = getattr(self, "_variables_cache", None)
        if cached is not None and cached[0] == self.path:
            return cached[1], cached[2]
        from fmpy import read_model_description

        try:
            description = read_model_description(self.path)
        except Exception as exc:  # FMPy raises several kinds for a missing file or a bad zip/XML
            raise InvalidInput([Problem("/path", f"{self.name}: cannot read FMU {self.path!r}: {exc}")]) from exc
        if description.coSimulation is None:
            raise InvalidInput([Problem("/path", f"{self.name}: {self.path!r} has no co-simulation interface")])
        variables = {v.name: v for v in description.modelVariables}
        self._variables_cache = (self.path, description, variables)
        return description, variables

    def _refs(self, names: Sequence[str], where: str) -> list[int]:
        _, variables = self._variables()
        problems = [
            Problem(f"/{where}", f"{self.name}: the FMU has no Real/Float64 variable '{n}'")
            for n in names
            if n not in variables or variables[n].type not in _FLOAT_TYPES
        ]
        if problems:
            raise InvalidInput(problems)
        return [int(variables[n].valueReference) for n in names]

    def _tunable_refs(self) -> set[int]:
        _, variables = self._variables()
        return {int(v.valueReference) for v in variables.values() if v.variability == "tunable"}

    def _serialisable(self) -> bool:
        description, _ = self._variables()
        cs = description.coSimulation
        return bool(cs.canGetAndSetFMUstate and cs.canSerializeFMUstate)

    # state --------------------------------------------------------------------------------------
    def initial_state(self) -> FloatArray:
        """``[start_time]``: no payload means "just initialised", in either mode."""
        return np.array([self.start_time], dtype=np.float64)

    def _starts(self, overrides: Mapping[str, float] | None) -> dict[int, float]:
        values = {**(self.start_values or {}), **(overrides or {})}
        refs = self._refs(list(values), "start_values")
        return dict(zip(refs, (float(v) for v in values.values()), strict=True))

    def _live_at(self, state: FloatArray, starts: dict[int, float], n_inputs: int) -> _Live:
        """The live instance, moved to ``state`` (re-initialised, then restored or replayed) unless already there."""
        live: _Live | None = getattr(self, "_live", None)
        if live is not None and live.path != self.path:
            live = None  # set_params(path=...) since: the old instance goes with its finalizer
        if live is not None and live.at is not None and live.starts == starts and np.array_equal(live.at, state):
            return live
        if live is None:
            description, _ = self._variables()
            live = _Live(_Slave(description, self.path), self.path)
            self._live = live
        live.at = None  # in case restoring fails half-way
        live.slave.initialise(self.start_time, starts)
        live.starts = dict(starts)
        payload = np.asarray(state[1:], dtype=np.float64)
        if self._serialisable() and payload.size:
            live.slave.load(payload.astype(np.uint8).tobytes())
            # A saved state carries the parameters it was saved with; tunable ones can take new values now
            # (what calibrating from a mid-run state needs). Fixed ones keep the saved values, as FMI requires.
            tunable = self._tunable_refs()
            live.slave.set([r for r in starts if r in tunable], [v for r, v in starts.items() if r in tunable])
        elif not self._serialisable():
            # Replay: the rows are the payload; an FMU without inputs has none, and the time counts its steps.
            steps = round((float(state[0]) - self.start_time) / self.step_size)
            rows = payload.reshape(-1, n_inputs) if n_inputs else np.empty((max(steps, 0), 0))
            self._advance(live.slave, rows, self.start_time)
        live.at = np.array(state, dtype=np.float64, copy=True)
        return live

    def _advance(self, slave: _Slave, X: FloatArray, time: float) -> tuple[FloatArray, float]:
        in_refs = self._refs(list(self.inputs), "inputs")
        out_ref = self._refs([self.output], "output")[0]
        outputs = np.empty(X.shape[0], dtype=np.float64)
        for i, row in enumerate(X.tolist()):
            slave.set(in_refs, row)
            slave.step(time, self.step_size)
            time += self.step_size
            outputs[i] = slave.get(out_ref)
        return outputs, time

    def _run(
        self, X: FloatArray, state: FloatArray, overrides: Mapping[str, float] | None = None
    ) -> tuple[FloatArray, FloatArray]:
        n_inputs = len(self.inputs)
        state = np.asarray(state, dtype=np.float64).reshape(-1)
        live = self._live_at(state, self._starts(overrides), n_inputs)
        outputs, time = self._advance(live.slave, X, float(state[0]))
        if self._serialisable():
            payload = np.frombuffer(live.slave.save(), dtype=np.uint8).astype(np.float64)
        else:
            payload = np.concatenate([state[1:], X[:, :n_inputs].reshape(-1)])
        final = np.concatenate([[time], payload])
        live.at = final.copy()
        return outputs, final

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        return self._run(X, state)

    # calibration of tunable FMU variables -------------------------------------------------------
    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> Self:
        """Calibrate the ``tunable`` variables with ``futago.sim.calibration`` and keep them in ``start_values``."""
        from futago.sim.calibration import calibrate

        data = check_X(self, X, n_features=len(self.inputs) or None)
        target = check_y(self, y, data.shape[0])
        bounds = dict(self.tunable or {})
        self._refs(list(bounds), "tunable")
        result = calibrate(_Tuning(self, self._current(list(bounds))), data, target, bounds)
        self.set_params(start_values={**(self.start_values or {}), **result.params})
        self.calibration_ = result
        return self

    def _current(self, names: list[str]) -> dict[str, float]:
        """Where calibration starts: the given start values, else the FMU's declared start (or 0)."""
        _, variables = self._variables()
        given = self.start_values or {}
        out = {}
        for n in names:
            declared = variables[n].start
            out[n] = float(given[n]) if n in given else float(declared) if declared is not None else 0.0
            if not math.isfinite(out[n]):
                out[n] = 0.0
        return out

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["output"] = self.output
        return info


class _Tuning(Simulator):
    """An FMU's tunable variables shown to the calibrator as if they were parameters of a simulator.

    The calibrator reads ``param_names``, the starting values (as attributes), ``state`` and ``name``, and runs
    ``clone().set_params(**trial)``; every trial runs on the one FMU instance, re-initialised with its values.
    """

    name: ClassVar[str] = "fmu"

    def __init__(self, fmu: FmuSimulator, values: dict[str, float]) -> None:
        self.fmu = fmu
        self.values = values

    def param_names(self) -> list[str]:  # type: ignore[override]
        return list(self.values)

    def __getattr__(self, name: str) -> float:
        values = self.__dict__.get("values", {})
        if name in values:
            return float(values[name])
        raise AttributeError(name)

    def clone(self) -> Self:
        return type(self)(self.fmu, dict(self.values))

    def set_params(self, **params: Any) -> Self:
        self.values.update({k: float(v) for k, v in params.items()})
        return self

    def initial_state(self) -> FloatArray:
        return self.fmu.state

    def run(self, X: FloatArray, state: FloatArray) -> tuple[FloatArray, FloatArray]:
        return self.fmu._run(X, state, self.values)
