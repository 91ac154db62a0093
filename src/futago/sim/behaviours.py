"""Behaviours: a model run attached to twins, and how it is described (TOML ``[behaviours.<name>]`` or the API).

A behaviour names a model that futago ships (by its ``name``, e.g. ``river_stage``), its parameters, the twins it
runs for (a list of ids, or every twin of a DTDL model), where its inputs come from, what it compares with
(``measured``), and when it runs::

    [behaviours.river-forecast]
    model = "river_stage"
    twinModel = "dtmi:futago:demo:RiverStation;1"   # or twins = ["river-1"]
    inputs = { rainfall = { twin = "rain-1", telemetry = "rainfall" } }
    measured = "waterLevel"
    step = "10m"        # inputs are averaged into steps of this length
    window = "24h"      # history read per run (warm-up and assimilation)
    horizon = "6h"      # forecast length
    members = 1000      # Monte Carlo members for the forecast's uncertainty
    trigger = { every = "10m", onReadings = true }
    tolerances = { rmse = 0.15, nse = 0.8 }
"""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from futago.analytics.protocol import Model
from futago.core.errors import InvalidInput
from futago.core.paths import DataRoot
from futago.core.problems import Problem
from futago.core.records import JsonRecord, json_meta
from futago.core.validation import Checker

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Metrics a behaviour may declare tolerances for, and whether larger is better.
TOLERANCE_DIRECTIONS = {
    "rmse": "max",
    "mae": "max",
    "mape": "max",
    "r2": "min",
    "pearson_r": "min",
    "nse": "min",
    "kge": "min",
    "coverage": "min",
}
_KNOWN_KEYS = {
    "model", "params", "twins", "twinModel", "inputs", "measured", "output", "step", "window",
    "horizon", "members", "uncertainty", "trigger", "tolerances", "train", "description", "artifact", "purpose",
}  # fmt: skip


@cache
def model_classes() -> dict[str, type[Model]]:
    """Every model futago ships, by ``name``: found by walking ``futago.analytics`` and ``futago.sim`` once."""
    import futago.analytics
    import futago.sim

    for package in (futago.analytics, futago.sim):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".evaluation" not in info.name:
                importlib.import_module(info.name)
    found: dict[str, type[Model]] = {}
    stack: list[type[Model]] = [Model]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("futago.") and "name" in vars(sub) and not sub.__name__.startswith("_"):
                found[sub.name] = sub
    return found


@dataclass(frozen=True)
class InputRef(JsonRecord):
    """An input column: a telemetry of the behaviour's own twin (``twin`` None) or of another twin."""

    telemetry: str
    twin: str | None = field(default=None, metadata=json_meta(omit="empty"))

    def twin_for(self, own: str) -> str:
        return self.twin or own


#: Bounds on the work one behaviour run (or one scenario, or one validation) may ask of the server.
LIMITS = {
    "window_steps": 100_000,  # steps of history per run
    "horizon_steps": 10_000,  # forecast steps
    "members": 100_000,  # ensemble members of a vectorised simulator
    "members_stepwise": 200,  # ensemble members of a simulator that steps member by member
    "member_steps": 20_000_000,  # members × horizon steps (memory: 8 bytes each)
}
#: Parameters that hold a model's time step in seconds; a behaviour's ``step`` sets them.
TIME_STEP_PARAMS = ("dt_s", "step_size")


@dataclass(frozen=True)
class BehaviourSpec:
    name: str
    model: str
    params: Mapping[str, Any] = field(default_factory=dict)
    twins: tuple[str, ...] = ()
    twin_model: str | None = None
    inputs: Mapping[str, InputRef] = field(default_factory=dict)
    measured: str | None = None
    output: str | None = None
    step_us: int = 600_000_000
    window_us: int = 86_400_000_000
    horizon_us: int = 21_600_000_000
    members: int = 0
    uncertainty: Mapping[str, Any] = field(default_factory=dict)
    every_us: int | None = None
    on_readings: bool = False
    tolerances: Mapping[str, float] = field(default_factory=dict)
    train_us: int | None = None
    artifact: Path | None = None
    description: str = ""
    purpose: str | None = None  # why it processes personal inputs (care, research, city_statistics), if it does
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model_class(self) -> type[Model]:
        return model_classes()[self.model]

    def build_model(self) -> Model:
        """A fresh model from the parameters, or the fitted model saved at ``artifact``."""
        if self.artifact is None:
            return self.model_class(**self.params)
        return load_artifact(self.artifact, self.model_class)

    @property
    def stem(self) -> str:
        """The stem of simulation and forecast names: ``output``, else the measured telemetry, else the name."""
        return self.output or self.measured or self.name

    def output_names(self) -> dict[str, str]:
        """The derived telemetry this behaviour writes, by role (quantiles and stages add ``~…`` suffixes)."""
        kind = self.model_class.kind
        if kind == "simulator":
            return {
                "sim": f"{self.stem}_sim",
                "forecast": f"{self.stem}_forecast",
                "exceedance": f"{self.stem}_exceedance",
            }
        if kind == "forecaster":
            return {"forecast": f"{self.stem}_forecast"}
        if kind == "detector":
            flag = self.output or "anomaly"
            return {"flag": flag, "score": f"{flag}Score"}
        return {"value": self.output or self.name}

    def to_json(self) -> dict[str, Any]:
        # The description as written, with what its model adds (version, kind, the derived telemetry).
        return {
            "name": self.name,
            **self.raw,
            "version": self.model_class.version,
            "kind": self.model_class.kind,
            "outputs": sorted(self.output_names().values()),
        }

    @classmethod
    def parse(
        cls, name: str, body: Mapping[str, Any], pointer: str = "", artifacts_dir: Path | None = None
    ) -> BehaviourSpec:
        """Check a behaviour description; every problem is reported at once, with its JSON pointer.

        ``artifacts_dir`` is the only folder an ``artifact`` may be read from (None: artifacts are refused).
        """
        check = Checker(pointer)
        if not NAME_PATTERN.match(name):
            check.add(pointer or "/name", "a behaviour name is 1–64 letters, digits, '_', '.', '-'")
        if not isinstance(body, Mapping):
            check.add(pointer, "a behaviour is a JSON object")
            check.raise_if_any()
        check.keys(body, sorted(_KNOWN_KEYS))
        for key in ("model", "measured", "output", "description", "twinModel", "artifact", "purpose"):
            if key in body and not isinstance(body[key], str):  # present, even as null
                check.add(f"{pointer}/{key}", f"{key} is a string")
        durations = {
            key: check.duration(body, key, default=default, message=_not_a_duration)
            for key, default in (("step", "10m"), ("window", "24h"), ("horizon", "6h"))
        }
        step = durations["step"] or 600_000_000
        artifact = _artifact_path(body.get("artifact"), artifacts_dir, f"{pointer}/artifact", check)
        model_class, params = _model(body, step, artifact, pointer, check)
        twins, twin_model = _attachment(body, pointer, check)
        inputs = _inputs(body.get("inputs", {}), f"{pointer}/inputs", check)
        trigger = body.get("trigger", {})
        if not isinstance(trigger, Mapping) or set(trigger) - {"every", "onReadings"}:
            check.add(f"{pointer}/trigger", 'trigger is {every = "10m", onReadings = true} (either or both)')
            trigger = {}
        every = check.duration(trigger, "every", f"{pointer}/trigger", message=_not_a_duration)
        train = check.duration(body, "train", message=_not_a_duration)
        members = body.get("members", 0)
        if isinstance(members, bool) or not isinstance(members, int) or members < 0:
            check.add(f"{pointer}/members", "members is a whole number, 0 for no ensemble")
            members = 0
        check.raise_if_any()
        assert model_class is not None  # an unknown model is a problem named above
        spec = cls(
            name=name,
            model=model_class.name,
            params=params,
            twins=twins,
            twin_model=twin_model,
            inputs=inputs,
            measured=body.get("measured"),
            output=body.get("output"),
            step_us=step,
            window_us=durations["window"] or 86_400_000_000,
            horizon_us=durations["horizon"] or 21_600_000_000,
            members=members,
            uncertainty=dict(body.get("uncertainty", {})) if isinstance(body.get("uncertainty"), Mapping) else {},
            every_us=every,
            on_readings=bool(trigger.get("onReadings", False)),
            tolerances=_tolerances(body.get("tolerances", {}), model_class, pointer, check),
            train_us=train,
            artifact=artifact,
            description=body.get("description", ""),
            purpose=body.get("purpose"),
            raw=dict(body),
        )
        spec = _in_model_order(spec)
        _coherence(spec, body, pointer, check)
        check.raise_if_any()
        return spec


def _model(
    body: Mapping[str, Any], step_us: int, artifact: Path | None, pointer: str, check: Checker
) -> tuple[type[Model] | None, dict[str, Any]]:
    """The model class and its parameters, with the time step taken from the behaviour's ``step``."""
    model = body.get("model")
    classes = model_classes()
    model_class = classes.get(model) if isinstance(model, str) else None
    if model_class is None:
        check.add(f"{pointer}/model", f"unknown model {model!r}; futago ships {', '.join(sorted(classes))}")
        return None, {}
    params = body.get("params", {})
    if not isinstance(params, Mapping):
        check.add(f"{pointer}/params", "params is an object of model parameters")
        return model_class, {}
    params = dict(params)
    known = model_class.param_names()
    for key in params:
        if key not in known:
            check.add(f"{pointer}/params/{key}", f"{model} has no parameter '{key}'")
    for key in TIME_STEP_PARAMS:
        if key in known:
            seconds = step_us / 1e6
            if key not in params:
                params[key] = seconds  # the model steps as the behaviour samples its inputs
            elif params[key] != seconds:
                check.add(f"{pointer}/params/{key}", f"{key} must equal the behaviour's step ({seconds:g} s)")
    if artifact is not None and params and check.ok:
        check.add(f"{pointer}/params", "a saved model (artifact) takes no parameters")
    return model_class, params


def _attachment(body: Mapping[str, Any], pointer: str, check: Checker) -> tuple[tuple[str, ...], str | None]:
    twins = body.get("twins", [])
    twin_model = body.get("twinModel")
    if not isinstance(twins, list) or not all(isinstance(t, str) and t for t in twins):
        check.add(f"{pointer}/twins", "twins is a list of twin ids")
        twins = []
    if not twins and not twin_model:
        check.add(f"{pointer}/twins", "attach the behaviour to twins or to a twinModel")
    return tuple(twins), twin_model if isinstance(twin_model, str) else None


def _tolerances(value: Any, model_class: type[Model], pointer: str, check: Checker) -> dict[str, float]:
    if not isinstance(value, Mapping):
        check.add(f"{pointer}/tolerances", "tolerances is an object of metric limits")
        return {}
    tolerances = {}
    for metric, limit in value.items():
        where = f"{pointer}/tolerances/{metric}"
        if metric not in TOLERANCE_DIRECTIONS:
            check.add(where, f"unknown metric; use {', '.join(TOLERANCE_DIRECTIONS)}")
        elif isinstance(limit, bool) or not isinstance(limit, int | float):
            check.add(where, "a tolerance is a number")
        elif metric == "coverage" and model_class.kind != "forecaster":
            check.add(where, "coverage judges prediction intervals, which only forecasters give")
        else:
            tolerances[metric] = float(limit)
    return tolerances


def _in_model_order(spec: BehaviourSpec) -> BehaviourSpec:
    """The columns of X follow a simulator's declared input order, whatever order the description used."""
    if spec.model_class.kind != "simulator":
        return spec
    try:
        expected = list(spec.build_model().inputs)  # type: ignore[attr-defined]
    except (TypeError, ValueError, InvalidInput):
        return spec  # _coherence reports it
    if sorted(expected) != sorted(spec.inputs):
        return spec
    return replace(spec, inputs={name: spec.inputs[name] for name in expected})


def _coherence(spec: BehaviourSpec, body: Mapping[str, Any], pointer: str, check: Checker) -> None:
    """Checks across keys: inputs match the model, names do not collide, the work stays bounded, and a
    simulator runs on a couple of steps (so a bad parameter fails here, not on every scheduled run)."""
    try:
        model = spec.build_model()
    except InvalidInput as exc:  # only a saved model raises this here
        for problem in exc.problems:
            check.add(f"{pointer}/artifact", problem.message)
        return
    except (TypeError, ValueError) as exc:
        check.add(f"{pointer}/params", f"{spec.model}: {exc}")
        return
    kind = model.kind
    if kind == "simulator":
        expected = list(getattr(model, "inputs", ()))
        if sorted(spec.inputs) != sorted(expected):
            check.add(f"{pointer}/inputs", f"{spec.model} needs the inputs {expected}, got {sorted(spec.inputs)}")
        else:
            try:
                outputs = model.predict(np.ones((2, len(expected))))
                if not np.isfinite(outputs).all():
                    raise ValueError("it gives non-finite outputs")
            except Exception as exc:  # any failure of the model itself is the description's problem
                check.add(f"{pointer}/params", f"{spec.model} does not run with these parameters: {exc}")
    if kind == "regressor" and not spec.output and not spec.artifact:
        check.add(f"{pointer}/output", "a regressor writes its predictions under 'output' (e.g. \"rul\")")
    names = set(spec.output_names().values())
    clashes = sorted(names & ({spec.measured} | {ref.telemetry for ref in spec.inputs.values()}))
    if clashes:
        check.add(f"{pointer}/output", f"outputs would overwrite measured or input telemetry: {clashes}")
    window_steps, horizon_steps = spec.window_us // spec.step_us, spec.horizon_us // spec.step_us
    if window_steps > LIMITS["window_steps"]:
        check.add(f"{pointer}/window", f"at most {LIMITS['window_steps']:,} steps of history per run")
    if horizon_steps > LIMITS["horizon_steps"]:
        check.add(f"{pointer}/horizon", f"at most {LIMITS['horizon_steps']:,} forecast steps")
    if spec.members:
        limit = LIMITS["members"] if model.tags.get("vectorised_params") else LIMITS["members_stepwise"]
        if kind != "simulator":
            check.add(f"{pointer}/members", f"ensembles run simulators; {spec.model} is a {kind}")
        elif spec.members > limit or spec.members * max(horizon_steps, 1) > LIMITS["member_steps"]:
            check.add(f"{pointer}/members", f"{spec.model}: at most {limit:,} members and "
                      f"{LIMITS['member_steps']:,} member-steps per run")  # fmt: skip
    _uncertainty(body.get("uncertainty"), model, pointer, check)


def _uncertainty(value: Any, model: Model, pointer: str, check: Checker) -> None:
    """``{"inputs": sigma, "params": {name: sigma}}``: log-normal spreads (sigma of the log)."""
    if value is None:
        return
    where = f"{pointer}/uncertainty"
    if not isinstance(value, Mapping) or set(value) - {"inputs", "params"}:
        check.add(where, 'uncertainty is {"inputs": 0.3, "params": {"a11": 0.2}}')
        return
    spread = value.get("inputs", 0.0)
    if isinstance(spread, bool) or not isinstance(spread, int | float) or not 0 <= spread <= 3:
        check.add(f"{where}/inputs", "a log-normal sigma from 0 to 3")
    params = value.get("params", {})
    if not isinstance(params, Mapping):
        check.add(f"{where}/params", "an object of parameter names and sigmas")
        return
    for key, sigma in params.items():
        current = getattr(model, key, None) if key in model.param_names() else None
        if isinstance(current, bool) or not isinstance(current, int | float):
            check.add(f"{where}/params/{key}", f"{model.name} has no numeric parameter '{key}'")
        elif isinstance(sigma, bool) or not isinstance(sigma, int | float) or not 0 <= sigma <= 3:
            check.add(f"{where}/params/{key}", "a log-normal sigma from 0 to 3")


def _artifact_path(value: Any, artifacts_dir: Path | None, pointer: str, check: Checker) -> Path | None:
    """An artifact is named relative to the artifacts folder and must stay inside it."""
    if value is None or not isinstance(value, str):
        return None
    if artifacts_dir is None:
        check.add(pointer, "saved models are not enabled here (set [sim] artifacts_dir)")
        return None
    # existence is load_artifact's to tell, in the same words for every missing or unreadable file
    return check.parsed(DataRoot(artifacts_dir, label="the artifacts folder").resolve, value, pointer, must_exist=False)


def load_artifact(path: Path | str, model_class: type[Model]) -> Model:
    """A fitted model saved with pickle (e.g. ``futago eval cmapss --save-model``).

    Pickle runs code when it loads, so artifacts come only from the artifacts folder, which an administrator
    fills; the error never says more than "no such model" (it must not tell which files exist).
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            model = pickle.load(handle)
    except Exception as exc:  # unreadable, missing, or not a pickle: all the same answer
        raise InvalidInput([Problem("/artifact", f"no saved {model_class.name} model named {path.name}")]) from exc
    if not isinstance(model, model_class) or not model.is_fitted:
        raise InvalidInput([Problem("/artifact", f"no saved {model_class.name} model named {path.name}")])
    return model


def _inputs(value: Any, pointer: str, check: Checker) -> dict[str, InputRef]:
    if not isinstance(value, Mapping):
        check.add(pointer, "inputs maps each model input to a telemetry (name, or {twin, telemetry})")
        return {}
    refs: dict[str, InputRef] = {}
    for column, ref in value.items():
        if isinstance(ref, str) and ref:
            refs[column] = InputRef(ref)
        elif isinstance(ref, Mapping) and isinstance(ref.get("telemetry"), str) and set(ref) <= {"telemetry", "twin"}:
            twin = ref.get("twin")
            if twin is not None and not isinstance(twin, str):
                check.add(f"{pointer}/{column}/twin", "twin is a twin id")
            refs[column] = InputRef(ref["telemetry"], twin)
        else:
            check.add(f"{pointer}/{column}", "an input is a telemetry name or {twin, telemetry}")
    return refs


def _not_a_duration(value: Any) -> str:
    return f'not a duration: {value!r} (e.g. "10m", "6h")'
