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
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from futago.analytics.protocol import Model
from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import parse_duration

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
    "horizon", "members", "uncertainty", "trigger", "tolerances", "train", "description", "artifact",
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
class InputRef:
    """An input column: a telemetry of the behaviour's own twin (``twin`` None) or of another twin."""

    telemetry: str
    twin: str | None = None

    def twin_for(self, own: str) -> str:
        return self.twin or own

    def to_json(self) -> dict[str, Any]:
        return {"telemetry": self.telemetry, **({"twin": self.twin} if self.twin else {})}


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
    artifact: str | None = None
    description: str = ""
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
    def base_name(self) -> str:
        """The stem of the derived telemetry names: ``output``, else the measured telemetry, else the model."""
        return self.output or self.measured or self.model

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **self.raw, "version": self.model_class.version, "kind": self.model_class.kind}

    @classmethod
    def parse(cls, name: str, body: Mapping[str, Any], pointer: str = "") -> BehaviourSpec:
        """Check a behaviour description; every problem is reported at once, with its JSON pointer."""
        problems: list[Problem] = []
        if not NAME_PATTERN.match(name):
            problems.append(Problem(pointer or "/name", "a behaviour name is 1–64 letters, digits, '_', '.', '-'"))
        if not isinstance(body, Mapping):
            raise InvalidInput([Problem(pointer or "/", "a behaviour is a JSON object")])
        problems += [Problem(f"{pointer}/{k}", f"unknown key; use one of {', '.join(sorted(_KNOWN_KEYS))}")
                     for k in body if k not in _KNOWN_KEYS]  # fmt: skip
        model = body.get("model")
        classes = model_classes()
        model_class = classes.get(model) if isinstance(model, str) else None
        if model_class is None:
            problems.append(
                Problem(f"{pointer}/model", f"unknown model {model!r}; futago ships {', '.join(sorted(classes))}")
            )
        params = body.get("params", {})
        instance: Model | None = None
        if not isinstance(params, Mapping):
            problems.append(Problem(f"{pointer}/params", "params is an object of model parameters"))
        elif model_class is not None:
            known = set(model_class.param_names())
            problems += [
                Problem(f"{pointer}/params/{k}", f"{model} has no parameter '{k}'") for k in params if k not in known
            ]
            if not problems:
                try:
                    instance = model_class(**params)
                except (TypeError, ValueError) as exc:
                    problems.append(Problem(f"{pointer}/params", f"{model}: {exc}"))
        twins = body.get("twins", [])
        twin_model = body.get("twinModel")
        if not isinstance(twins, list) or not all(isinstance(t, str) and t for t in twins):
            problems.append(Problem(f"{pointer}/twins", "twins is a list of twin ids"))
            twins = []
        if twin_model is not None and not isinstance(twin_model, str):
            problems.append(Problem(f"{pointer}/twinModel", "twinModel is a DTDL model id"))
        if not twins and not twin_model:
            problems.append(Problem(f"{pointer}/twins", "attach the behaviour to twins or to a twinModel"))
        inputs = _inputs(body.get("inputs", {}), f"{pointer}/inputs", problems)
        if instance is not None and instance.kind == "simulator":
            expected = list(getattr(instance, "inputs", ()))
            if sorted(inputs) != sorted(expected):
                problems.append(
                    Problem(f"{pointer}/inputs", f"{model} needs the inputs {expected}, got {sorted(inputs)}")
                )
            else:  # the columns of X follow the model's order, whatever order the description used
                inputs = {name: inputs[name] for name in expected}
        trigger = body.get("trigger", {})
        if not isinstance(trigger, Mapping) or set(trigger) - {"every", "onReadings"}:
            problems.append(
                Problem(f"{pointer}/trigger", 'trigger is {every = "10m", onReadings = true} (either or both)')
            )
            trigger = {}
        durations = {
            key: _duration(body.get(key), f"{pointer}/{key}", problems, default)
            for key, default in (("step", "10m"), ("window", "24h"), ("horizon", "6h"))
        }
        every = _duration(trigger.get("every"), f"{pointer}/trigger/every", problems, None)
        train = _duration(body.get("train"), f"{pointer}/train", problems, None)
        tolerances = body.get("tolerances", {})
        if not isinstance(tolerances, Mapping):
            problems.append(Problem(f"{pointer}/tolerances", "tolerances is an object of metric limits"))
            tolerances = {}
        for metric, limit in tolerances.items():
            if metric not in TOLERANCE_DIRECTIONS:
                problems.append(
                    Problem(f"{pointer}/tolerances/{metric}", f"unknown metric; use {', '.join(TOLERANCE_DIRECTIONS)}")
                )
            elif isinstance(limit, bool) or not isinstance(limit, int | float):
                problems.append(Problem(f"{pointer}/tolerances/{metric}", "a tolerance is a number"))
        members = body.get("members", 0)
        if isinstance(members, bool) or not isinstance(members, int) or not 0 <= members <= 1_000_000:
            problems.append(Problem(f"{pointer}/members", "members is a whole number from 0 to 1,000,000"))
            members = 0
        artifact = body.get("artifact")
        if artifact is not None and model_class is not None and not problems:
            try:
                load_artifact(artifact, model_class)
            except InvalidInput as exc:
                problems += [Problem(f"{pointer}/artifact", p.message) for p in exc.problems]
        for key in ("measured", "output", "description"):
            if key in body and not isinstance(body[key], str):
                problems.append(Problem(f"{pointer}/{key}", f"{key} is a string"))
        if problems:
            raise InvalidInput(problems)
        assert isinstance(model, str)
        return cls(
            name=name,
            model=model,
            params=dict(params),
            twins=tuple(twins),
            twin_model=twin_model,
            inputs=inputs,
            measured=body.get("measured"),
            output=body.get("output"),
            step_us=durations["step"] or 600_000_000,
            window_us=durations["window"] or 86_400_000_000,
            horizon_us=durations["horizon"] or 21_600_000_000,
            members=members,
            uncertainty=dict(body.get("uncertainty", {})),
            every_us=every,
            on_readings=bool(trigger.get("onReadings", False)),
            tolerances={k: float(v) for k, v in tolerances.items()},
            train_us=train,
            artifact=artifact,
            description=body.get("description", ""),
            raw=dict(body),
        )


def load_artifact(path: Any, model_class: type[Model]) -> Model:
    """A fitted model saved with pickle (e.g. ``futago eval cmapss --save-model``).

    Pickle runs code when loaded, so only paths that an administrator configures are read: behaviours are
    defined through the settings file or ``PUT /behaviours`` (ADMIN), never from a reading or a device.
    """
    if not isinstance(path, str) or not path:
        raise InvalidInput([Problem("/artifact", "artifact is the path of a saved, fitted model")])
    file = Path(path)
    try:
        with file.open("rb") as handle:
            model = pickle.load(handle)
    except OSError as exc:
        raise InvalidInput([Problem("/artifact", f"cannot read {file}: {exc.strerror or exc}")]) from exc
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise InvalidInput([Problem("/artifact", f"{file} is not a saved futago model ({exc})")]) from exc
    if not isinstance(model, model_class) or not model.is_fitted:
        raise InvalidInput([Problem("/artifact", f"{file} does not hold a fitted {model_class.name} model")])
    return model


def _inputs(value: Any, pointer: str, problems: list[Problem]) -> dict[str, InputRef]:
    if not isinstance(value, Mapping):
        problems.append(Problem(pointer, "inputs maps each model input to a telemetry (name, or {twin, telemetry})"))
        return {}
    refs: dict[str, InputRef] = {}
    for column, ref in value.items():
        if isinstance(ref, str) and ref:
            refs[column] = InputRef(ref)
        elif isinstance(ref, Mapping) and isinstance(ref.get("telemetry"), str) and set(ref) <= {"telemetry", "twin"}:
            twin = ref.get("twin")
            if twin is not None and not isinstance(twin, str):
                problems.append(Problem(f"{pointer}/{column}/twin", "twin is a twin id"))
            refs[column] = InputRef(ref["telemetry"], twin)
        else:
            problems.append(Problem(f"{pointer}/{column}", "an input is a telemetry name or {twin, telemetry}"))
    return refs


def _duration(value: Any, pointer: str, problems: list[Problem], default: str | None) -> int | None:
    if value is None:
        return None if default is None else parse_duration(default)
    try:
        return parse_duration(value)
    except (InvalidInput, ValueError, TypeError):
        problems.append(Problem(pointer, f'not a duration: {value!r} (e.g. "10m", "6h")'))
        return None
