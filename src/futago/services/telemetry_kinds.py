"""The value kind of each (twin, telemetry): what a reading must be, worked out from the twin's model.

The telemetry service asks it for every batch it validates, the ingest pipeline for the unit a value is converted
to, and the behaviour runtime for a twin's model lineage; it caches a twin's model until the twin changes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from futago.core.dtdl import Telemetry
from futago.core.errors import FutagoError, InvalidInput, NotFound
from futago.core.events import TWIN_DELETED, TWIN_UPDATED, Event, EventBus
from futago.core.ports import TwinStore
from futago.core.problems import Problem
from futago.core.telemetry import ValueKind
from futago.ingest.mapping import MappingError
from futago.ingest.units import convert as convert_unit
from futago.services.models import ModelService
from futago.sim.runtime import FORECAST_SUFFIX

_NUMERIC_KINDS: dict[str, ValueKind] = {
    "double": "f8",
    "float": "f8",
    "decimal": "f8",
    "integer": "i8",
    "long": "i8",
    "short": "i8",
    "byte": "i8",
    "unsignedByte": "i8",
    "unsignedShort": "i8",
    "unsignedInteger": "i8",
    "unsignedLong": "f8",  # beyond int64; stored as a double
    "boolean": "b1",
}


_QUANTILE = re.compile(r"q\d\d")


class TelemetryKinds:
    """Resolves (twin, telemetry) to its value kind from the twin's model, with a small cache."""

    def __init__(
        self,
        store: TwinStore,
        models: ModelService,
        bus: EventBus,
        is_derived: Callable[[str, str], bool] = lambda twin_id, name: False,
    ) -> None:
        self.store = store
        self.models = models
        self._twin_models: dict[str, str] = {}
        self._lineage: dict[str, list[str]] = {}
        self._lineage_of: object = None
        self._lock = threading.Lock()
        #: Says whether a behaviour writes ``name`` on a twin (derived telemetry the model does not declare).
        self.is_derived = is_derived
        bus.subscribe(self._forget)

    def _forget(self, event: Event) -> None:
        if event.type in (TWIN_UPDATED, TWIN_DELETED) and event.twin_id:
            with self._lock:
                self._twin_models.pop(event.twin_id, None)

    def __call__(self, twin_id: str, name: str) -> ValueKind:
        """The kind of a telemetry anyone may write: declared by the model, or an external forecast of one."""
        model = self._model_of(twin_id)
        if name not in self.models.interface(model).telemetry and self._is_forecast_of_declared(model, name):
            if self.is_derived(twin_id, name):
                raise InvalidInput([Problem("/name", f"'{name}' on twin '{twin_id}' is written by a behaviour only")])
            return "f8"
        return _NUMERIC_KINDS.get(self.telemetry(twin_id, name).schema.kind, "json")

    def readable(self, twin_id: str, name: str) -> ValueKind:
        """Also the derived series behaviours write (forecasts, scores, simulations: numbers), which only the
        runtime may write, so no device can fake an anomaly flag or a forecast."""
        model = self._model_of(twin_id)
        if name not in self.models.interface(model).telemetry and self.is_derived(twin_id, name):
            return "f8"
        return self(twin_id, name)

    def _is_forecast_of_declared(self, model: str, name: str) -> bool:
        """``<telemetry>_forecast`` (and its ``~q05``-style quantiles) holds an external forecast of a numeric
        telemetry the model declares, e.g. a rainfall nowcast with future timestamps."""
        stem, _, suffix = name.partition("~")
        if not stem.endswith(FORECAST_SUFFIX) or (suffix and not _QUANTILE.fullmatch(suffix)):
            return False
        declared = self.models.interface(model).telemetry.get(stem.removesuffix(FORECAST_SUFFIX))
        return declared is not None and declared.schema.kind in _NUMERIC_KINDS

    def telemetry(self, twin_id: str, name: str) -> Telemetry:
        """The DTDL Telemetry a twin's model declares under ``name``; NotFound/InvalidInput otherwise."""
        model = self._model_of(twin_id)
        telemetry = self.models.interface(model).telemetry.get(name)
        if telemetry is None:
            declared = ", ".join(sorted(self.models.interface(model).telemetry)) or "none"
            raise InvalidInput(
                [
                    Problem(
                        "/name",
                        f"twin '{twin_id}' ({model}) has no telemetry '{name}'; it declares {declared}",
                    )
                ]
            )
        return telemetry

    def models_of(self, twin_id: str) -> list[str]:
        """The twin's model and every model it extends, nearest first (for per-model settings)."""
        model = self._model_of(twin_id)
        catalog = self.models.models
        if self._lineage_of is not catalog:  # the model set changed: forget what was worked out
            self._lineage, self._lineage_of = {}, catalog
        lineage = self._lineage.get(model)
        if lineage is None:  # one walk over the interfaces per model, not per reading batch
            ancestors = [m for m in catalog.interfaces if m != model and catalog.is_of_model(model, m)]
            lineage = self._lineage[model] = [model, *ancestors]
        return lineage

    def model_or_none(self, twin_id: str) -> str | None:
        try:
            return self._model_of(twin_id)
        except NotFound:
            return None  # the reading is refused later, with its reason

    def _model_of(self, twin_id: str) -> str:
        model = self._twin_models.get(twin_id)
        if model is None:
            twin = self.store.get_twin(twin_id)
            if twin is None:
                raise NotFound(f"twin '{twin_id}' does not exist")
            model = twin.model
            with self._lock:
                if len(self._twin_models) > 200_000:
                    self._twin_models.clear()
                self._twin_models[twin_id] = model
        return model

    def convert_unit(self, twin_id: str, name: str, unit: str, value: Any) -> Any:
        """The ingest pipeline's unit hook: express ``value`` in the unit the model declares."""
        try:
            declared = self.telemetry(twin_id, name).unit
        except FutagoError as exc:
            raise MappingError(exc.problems[0].message if exc.problems else exc.detail) from None
        return value if declared is None else convert_unit(value, unit, declared)
