"""The behaviour runtime: runs behaviours on a schedule, on new readings, or on demand, and records each run.

Triggers only put (behaviour, twin) on a queue; one worker thread runs them. So ingestion never waits for a
model, a burst of readings becomes one run (pending work is de-duplicated), and a failing behaviour costs one
``behaviour.failed`` event and a failed run record, never the ingest path.

Each run's provenance (behaviour, model name and version, parameters, the time range and count of every input,
the outputs written, timing and outcome) is stored with ``SimStore.add_behaviour_run`` and returned by the API.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from futago.analytics.protocol import Model
from futago.core.errors import FutagoError, InvalidInput, NotFound
from futago.core.events import TELEMETRY_APPENDED, Event, EventBus
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_NOT_EVALUATED, Reading, format_timestamp
from futago.core.twins import TwinScan
from futago.sim.behaviours import BehaviourSpec
from futago.sim.runners import RunInputs, RunOutput, execute, fill_forward
from futago.sim.simulator import Simulator
from futago.store.port import Store

log = logging.getLogger(__name__)

BEHAVIOUR_RAN = "behaviour.ran"
BEHAVIOUR_FAILED = "behaviour.failed"
FORECAST_SUFFIX = "_forecast"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BehaviourRuntime:
    def __init__(
        self,
        store: Store,
        bus: EventBus,
        append: Callable[[list[Reading]], int],
        models_of: Callable[[str], list[str]],
        descendants: Callable[[str], Iterable[str]],
    ) -> None:
        self.store = store
        self.bus = bus
        self._append = append
        self._models_of = models_of
        self._descendants = descendants
        self._specs: dict[str, BehaviourSpec] = {}
        self._state: dict[tuple[str, str], dict[str, Any]] = {}
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._pending: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failures = 0
        bus.subscribe(self._on_event)

    # definitions ------------------------------------------------------------------------------
    def load(self, configured: Mapping[str, Any]) -> None:
        """Behaviours from the settings (TOML ``[behaviours.<name>]``) and those stored through the API."""
        specs = {name: BehaviourSpec.parse(name, body, f"/behaviours/{name}") for name, body in configured.items()}
        for name, body in self.store.list_behaviours().items():
            specs.setdefault(name, BehaviourSpec.parse(name, body, f"/behaviours/{name}"))
        with self._lock:
            self._specs = specs

    def put(self, name: str, body: Mapping[str, Any]) -> BehaviourSpec:
        spec = BehaviourSpec.parse(name, body)
        self.store.put_behaviour(name, dict(body))
        with self._lock:
            self._specs[name] = spec
            self._state = {k: v for k, v in self._state.items() if k[0] != name}
        return spec

    def delete(self, name: str) -> None:
        self.get(name)
        with contextlib.suppress(NotFound):  # defined in the settings only: it goes until the next start
            self.store.delete_behaviour(name)
        with self._lock:
            self._specs.pop(name, None)

    def get(self, name: str) -> BehaviourSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise NotFound(f"behaviour '{name}' does not exist")
        return spec

    def all(self) -> list[BehaviourSpec]:
        return [self._specs[name] for name in sorted(self._specs)]

    def twins_of(self, spec: BehaviourSpec) -> list[str]:
        ids = list(spec.twins)
        if spec.twin_model:
            models = frozenset(self._descendants(spec.twin_model))
            ids += [t.id for t in self.store.scan_twins(TwinScan(model_ids=models)) if t.id not in ids]
        return ids

    def attached(self, spec: BehaviourSpec, twin_id: str) -> bool:
        if twin_id in spec.twins:
            return True
        if spec.twin_model is None:
            return False
        try:
            return spec.twin_model in self._models_of(twin_id)
        except FutagoError:
            return False

    def is_derived(self, twin_id: str, name: str) -> bool:
        """Whether ``name`` is an output some behaviour writes on this twin (so it may be read back)."""
        stem = name.split("~", 1)[0]
        for spec in list(self._specs.values()):
            base = spec.base_name
            names = {f"{base}_sim", f"{base}_forecast", f"{base}_exceedance", "anomalyScore", "anomaly", base}
            if stem in names and self.attached(spec, twin_id):
                return True
        return False

    # running ----------------------------------------------------------------------------------
    def run(self, name: str, twin_id: str | None = None, now_us: int | None = None) -> list[dict[str, Any]]:
        """Run a behaviour now (on demand) for one of its twins or all of them; returns the run records."""
        spec = self.get(name)
        twins = self.twins_of(spec)
        if twin_id is not None:
            if not self.attached(spec, twin_id):
                raise InvalidInput([Problem("/twin", f"behaviour '{name}' is not attached to twin '{twin_id}'")])
            twins = [twin_id]
        return [self._run_one(spec, t, now_us) for t in twins]

    def gather(
        self, spec: BehaviourSpec, twin_id: str, start_us: int, end_us: int, horizon_us: int | None = None
    ) -> RunInputs:
        """The behaviour's inputs for ``twin_id`` on its step grid over [start, end), and for the horizon after."""
        twin = self.store.get_twin(twin_id)
        if twin is None:
            raise NotFound(f"twin '{twin_id}' does not exist")
        step = spec.step_us
        first = start_us - start_us % step
        grid = np.arange(first, end_us, step, dtype=np.int64)
        horizon = spec.horizon_us if horizon_us is None else horizon_us
        last = int(grid[-1]) if len(grid) else first - step
        future = np.arange(last + step, last + step + horizon, step, dtype=np.int64)
        provenance: dict[str, Any] = {}
        columns, future_columns = [], []
        for column, ref in spec.inputs.items():
            source = ref.twin_for(twin_id)
            if source != twin_id and self.store.get_twin(source) is None:
                raise NotFound(f"input '{column}' reads twin '{source}', which does not exist")
            values, count = self._on_grid(source, ref.telemetry, grid, step)
            provenance[column] = {"twin": source, "telemetry": ref.telemetry, "count": count}
            columns.append(fill_forward(values))
            ahead, ahead_count = self._on_grid(source, ref.telemetry + FORECAST_SUFFIX, future, step)
            if ahead_count:  # a forecast of this input exists (e.g. a rainfall nowcast): use it, else persist
                provenance[column]["forecastCount"] = ahead_count
                ahead = np.where(np.isnan(ahead), columns[-1][-1] if len(grid) else 0.0, ahead)
            else:
                ahead = np.full(len(future), columns[-1][-1] if len(grid) else 0.0)
            future_columns.append(fill_forward(ahead))
        y = None
        if spec.measured:
            y, count = self._on_grid(twin_id, spec.measured, grid, step)
            provenance["measured"] = {"twin": twin_id, "telemetry": spec.measured, "count": count}
        X = np.column_stack(columns) if columns else np.empty((len(grid), 0))
        future_X = np.column_stack(future_columns) if future_columns else np.empty((len(future), 0))
        window = {"from": format_timestamp(int(first)), "to": format_timestamp(int(end_us))}
        return RunInputs(grid, X, y, future, future_X, dict(twin.properties), {"window": window, "inputs": provenance})

    def _on_grid(self, twin_id: str, name: str, grid: np.ndarray, step: int) -> tuple[np.ndarray, int]:
        """Average readings into the grid's steps; NaN where a step has none."""
        if len(grid) == 0:
            return np.empty(0), 0
        data = self.store.read_series(twin_id, name, int(grid[0]), int(grid[-1]) + step)
        if len(data) == 0 or data.kind == "json":
            return np.full(len(grid), np.nan), 0
        values = np.asarray(data.values, dtype=np.float64)
        index = ((data.ts - grid[0]) // step).astype(np.int64)
        sums = np.bincount(index, weights=values, minlength=len(grid))[: len(grid)]
        counts = np.bincount(index, minlength=len(grid))[: len(grid)]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan), len(values)

    def compute(
        self,
        spec: BehaviourSpec,
        twin_id: str,
        now_us: int,
        model: Model | None = None,
        inputs: RunInputs | None = None,
        state: dict[str, Any] | None = None,
    ) -> tuple[RunOutput, RunInputs, Model]:
        """Everything a run does except writing: the shared path of live runs, scenarios and validation.

        ``state`` is what persists between runs (a fitted detector); None means the live one. Scenarios pass a
        copy, so they never change what live runs see.
        """
        model = model if model is not None else spec.build_model()
        inputs = inputs if inputs is not None else self.gather(spec, twin_id, now_us - spec.window_us, now_us)
        if state is None:
            state = self._state.setdefault((spec.name, twin_id), {})
        if "model" in state and model.kind in ("detector", "regressor"):
            model = state["model"]
        return execute(spec, model, inputs, state), inputs, model

    def spun_up(self, spec: BehaviourSpec, twin_id: str, start_us: int) -> Model:
        """The behaviour's model, with a simulator's state brought to ``start`` by assimilating the window of
        history before it, so a run over a past period does not begin from an arbitrary (empty-tank) state."""
        model = spec.build_model()
        if isinstance(model, Simulator):
            warm = self.gather(spec, twin_id, start_us - spec.window_us, start_us, horizon_us=0)
            if not any(source.get("count") for source in warm.provenance["inputs"].values()):
                return model  # no history before the period: start from the model's initial state
            measured = warm.y if warm.y is not None else np.full(len(warm.X), np.nan)
            for row, observed in zip(warm.X, measured, strict=True):
                model.learn_one(row, None if np.isnan(observed) else float(observed))
        return model

    def live_state(self, name: str, twin_id: str) -> dict[str, Any]:
        """A copy of what persists between live runs of (behaviour, twin), for a scenario to start from."""
        return copy.deepcopy(self._state.get((name, twin_id), {}))

    def _run_one(self, spec: BehaviourSpec, twin_id: str, now_us: int | None = None) -> dict[str, Any]:
        now_us = now_us if now_us is not None else time.time_ns() // 1000
        started = time.perf_counter()
        record: dict[str, Any] = {"behaviour": spec.name, "twinId": twin_id, "started": _now_iso()}
        try:
            model = spec.build_model()
            record["model"] = model.describe() | ({"artifact": spec.artifact} if spec.artifact else {})
            output, inputs, _ = self.compute(spec, twin_id, now_us, model=model)
            readings = [
                Reading(twin_id, name, int(t), float(v), QUALITY_NOT_EVALUATED)
                for name, (ts, values) in output.series.items()
                for t, v in zip(ts.tolist(), values.tolist(), strict=True)
                if np.isfinite(v)
            ]
            written = self._append(readings) if readings else 0
            record.update(
                status="ok", inputs=inputs.provenance, outputs=sorted(output.series), written=written,
                summary=output.summary,
            )  # fmt: skip
        except Exception as exc:  # a behaviour must never take the runtime down with it
            self.failures += 1
            detail = exc.detail if isinstance(exc, FutagoError) else f"{type(exc).__name__}: {exc}"
            record.update(status="failed", error=detail)
            if not isinstance(exc, FutagoError):
                log.exception("behaviour %s failed on %s", spec.name, twin_id)
        record["durationMs"] = round((time.perf_counter() - started) * 1000, 2)
        record["id"] = self.store.add_behaviour_run(record)
        kind = BEHAVIOUR_RAN if record["status"] == "ok" else BEHAVIOUR_FAILED
        data = {"behaviour": spec.name, "run": record["id"], "status": record["status"]}
        if "error" in record:
            data["error"] = record["error"]
        if "summary" in record:
            data["summary"] = record["summary"]
        self.bus.publish(Event(kind, _now_iso(), twin_id=twin_id, data=data))
        return record

    # triggers ---------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.type != TELEMETRY_APPENDED or event.twin_id is None or self._stop.is_set() or not self._threads:
            return
        name = event.data.get("name")
        for spec in list(self._specs.values()):
            if not spec.on_readings:
                continue
            for column_ref in [*spec.inputs.values(), *([] if spec.measured is None else [None])]:
                telemetry = spec.measured if column_ref is None else column_ref.telemetry
                if telemetry != name:
                    continue
                if column_ref is not None and column_ref.twin is not None:
                    if column_ref.twin == event.twin_id:  # another twin's input changed: run for every twin
                        for twin_id in self.twins_of(spec):
                            self._enqueue(spec.name, twin_id)
                elif self.attached(spec, event.twin_id):
                    self._enqueue(spec.name, event.twin_id)

    def _enqueue(self, name: str, twin_id: str) -> None:
        key = (name, twin_id)
        with self._lock:
            if key in self._pending:
                return
            self._pending.add(key)
        self._queue.put(key)

    def start(self) -> None:
        """Start the worker and the scheduler threads (``stop`` ends them)."""
        self._stop.clear()
        worker = threading.Thread(target=self._work, name="futago-behaviours", daemon=True)
        scheduler = threading.Thread(target=self._schedule, name="futago-behaviour-schedule", daemon=True)
        self._threads = [worker, scheduler]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until queued runs are done (tests and the CLI use this)."""
        deadline = time.monotonic() + timeout_s
        while (self._pending or not self._queue.empty()) and time.monotonic() < deadline:
            time.sleep(0.02)

    def _work(self) -> None:
        while not self._stop.is_set():
            key = self._queue.get()
            if key is None:
                return
            name, twin_id = key
            spec = self._specs.get(name)
            try:
                if spec is not None:
                    self._run_one(spec, twin_id)
            finally:
                with self._lock:
                    self._pending.discard(key)

    def _schedule(self) -> None:
        due: dict[str, float] = {}
        while not self._stop.wait(0.5):
            now = time.monotonic()
            for spec in list(self._specs.values()):
                if spec.every_us is None:
                    continue
                if now >= due.get(spec.name, 0.0):
                    due[spec.name] = now + spec.every_us / 1e6
                    try:
                        for twin_id in self.twins_of(spec):
                            self._enqueue(spec.name, twin_id)
                    except FutagoError as exc:
                        log.warning("behaviour %s: %s", spec.name, exc.detail)
