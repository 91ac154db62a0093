"""The behaviour runtime: runs behaviours on a schedule, on new readings, or on demand, and records each run.

Triggers only put (behaviour, twin) on a queue; one worker thread runs them. So ingestion never waits for a
model, a burst of readings becomes one run (a key waiting in the queue is not queued twice; a key that is
running may be queued once more, so readings that arrive during a run are not lost), and a failing behaviour
costs one ``behaviour.failed`` event and a failed run record, never the ingest path. Runs of the same
(behaviour, twin), queued or on demand, never overlap: each key has its own lock.

Each run's provenance (behaviour, model name and version, parameters, the time range and count of every input,
the outputs written, timing and outcome) is stored with ``SimStore.add_behaviour_run`` and returned by the API.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from futago.analytics.protocol import Model
from futago.core.errors import Conflict, FutagoError, InvalidInput, NotFound
from futago.core.events import BEHAVIOUR_FAILED as BEHAVIOUR_FAILED
from futago.core.events import BEHAVIOUR_RAN as BEHAVIOUR_RAN
from futago.core.events import TELEMETRY_APPENDED, Event, EventBus
from futago.core.fence import OPEN, Fence
from futago.core.ports import SimStore, TelemetryStore, TwinStore
from futago.core.problems import Problem
from futago.core.runs import BehaviourRun
from futago.core.telemetry import QUALITY_NOT_EVALUATED, Reading, SeriesData, aggregate, format_timestamp
from futago.core.twins import TwinScan
from futago.sim.behaviours import LIMITS, BehaviourSpec
from futago.sim.runners import Mapper, RunInputs, RunOutput, execute, fill_forward
from futago.sim.simulator import Simulator

log = logging.getLogger(__name__)

FORECAST_SUFFIX = "_forecast"
#: Run records kept per (behaviour, twin); older ones are pruned as new ones arrive.
RUNS_KEPT = 1000

Key = tuple[str, str]  # (behaviour, twin)


class PersonalSeries(Protocol):
    def is_personal(self, twin_id: str, name: str) -> bool: ...

    def series(self, twin_id: str, name: str, start_us: int, end_us: int, purpose: str, by: str) -> SeriesData:
        """The decrypted readings in [start, end); raises (refusing the run) without consent for the purpose."""
        ...


class BehaviourStore(SimStore, TwinStore, TelemetryStore, Protocol):
    """The roles the runtime uses: behaviour definitions and run records, the twins it runs on, and the series
    it reads its inputs from."""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def evaluate(
    spec: BehaviourSpec, model: Model, inputs: RunInputs, state: dict[str, Any], mapper: Mapper = map
) -> tuple[RunOutput, Model]:
    """A run on inputs already gathered, with nothing read or written: what ``compute`` does once it has the
    inputs, and what a scenario sweep ships to a Dask worker (so both take exactly the same path)."""
    if "model" in state and model.kind in ("detector", "regressor"):
        model = state["model"]  # a fitted detector or regressor persists between runs
    return execute(spec, model, inputs, state, mapper), model


class BehaviourRuntime:
    def __init__(
        self,
        store: BehaviourStore,
        bus: EventBus,
        append: Callable[[list[Reading]], int],
        models_of: Callable[[str], list[str]],
        descendants: Callable[[str], Iterable[str]],
        artifacts_dir: Path | None = None,
        personal: PersonalSeries | None = None,
        fence: Fence = OPEN,
    ) -> None:
        self.fence = fence  # scaled out: scheduled and triggered runs happen only while this process leads
        # Reads a personal series with consent for a purpose (futago.security.personal), when personal data exists.
        self.personal = personal
        # Runs ensemble chunks: the built-in map, or a Dask client's (futago.sim.distributed) for a CLI run.
        self.ensemble_mapper: Mapper = map
        self.store = store
        self.bus = bus
        self.artifacts_dir = artifacts_dir
        self._append = append
        self._models_of = models_of
        self._descendants = descendants
        self._specs: dict[str, BehaviourSpec] = {}
        self._configured: set[str] = set()
        self.invalid: dict[str, str] = {}  # behaviours that could not be loaded, and why
        self._state: dict[Key, dict[str, Any]] = {}
        self._queue: queue.Queue[Key | None] = queue.Queue()
        self._queued: set[Key] = set()
        self._running: defaultdict[Key, threading.Lock] = defaultdict(threading.Lock)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failures = 0
        bus.subscribe(self._on_event)

    # definitions ------------------------------------------------------------------------------
    def parse(self, name: str, body: Mapping[str, Any], pointer: str = "") -> BehaviourSpec:
        return BehaviourSpec.parse(name, body, pointer, self.artifacts_dir)

    def load(self, configured: Mapping[str, Any]) -> None:
        """Behaviours from the settings (TOML ``[behaviours.<name>]``) and those stored through the API; a stored
        definition (an API edit, a saved calibration) wins over the file's. One that no longer parses (a moved
        artifact, a model renamed by an upgrade) is left out with its reason in ``invalid``, never fatal."""
        bodies = {**configured, **self.store.list_behaviours()}
        specs, invalid = {}, {}
        for name, body in bodies.items():
            try:
                specs[name] = self.parse(name, body, f"/behaviours/{name}")
            except FutagoError as exc:
                invalid[name] = exc.detail
                log.error("behaviour %s is invalid and will not run: %s", name, exc.detail)
        with self._lock:
            self._specs, self.invalid, self._configured = specs, invalid, set(configured)

    def put(self, name: str, body: Mapping[str, Any]) -> BehaviourSpec:
        spec = self.parse(name, body)
        self._check_collisions(spec)
        self.store.put_behaviour(name, dict(body))
        with self._lock:
            self._specs[name] = spec
            self.invalid.pop(name, None)
            self._state = {k: v for k, v in self._state.items() if k[0] != name}
        return spec

    def _check_collisions(self, spec: BehaviourSpec) -> None:
        """Two behaviours on the same twins must not write the same derived telemetry."""
        names = set(spec.output_names().values())
        for other in self._specs.values():
            if other.name == spec.name:
                continue
            shared = bool(set(spec.twins) & set(other.twins)) or (
                spec.twin_model is not None and spec.twin_model == other.twin_model
            )
            clash = names & set(other.output_names().values())
            if shared and clash:
                raise Conflict(
                    f"behaviour '{other.name}' already writes {sorted(clash)} on the same twins; set 'output'",
                    [Problem("/output", f"already written by behaviour '{other.name}'")],
                )

    def delete(self, name: str) -> None:
        self.get(name)
        if name in self._configured:
            raise Conflict(f"behaviour '{name}' is defined in the settings file; remove it there")
        self.store.delete_behaviour(name)
        with self._lock:
            self._specs.pop(name, None)
            self._state = {k: v for k, v in self._state.items() if k[0] != name}

    def runs(self, name: str, twin_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """A behaviour's run records (provenance) as JSON, newest first; unknown behaviours are a 404."""
        self.get(name)
        return [run.to_json() for run in self.store.list_behaviour_runs(name, twin_id, limit)]

    def get(self, name: str) -> BehaviourSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise NotFound(f"behaviour '{name}' does not exist")
        return spec

    def source(self, name: str) -> str:
        return "settings" if name in self._configured and name not in self.store.list_behaviours() else "api"

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

    def require_attached(self, spec: BehaviourSpec, twin_id: str) -> None:
        if not self.attached(spec, twin_id):
            raise InvalidInput([Problem("/twin", f"behaviour '{spec.name}' is not attached to twin '{twin_id}'")])

    def is_derived(self, twin_id: str, name: str) -> bool:
        """Whether ``name`` is an output some behaviour writes on this twin (so it may be read back)."""
        stem = name.split("~", 1)[0]
        return any(
            stem in spec.output_names().values() and self.attached(spec, twin_id) for spec in list(self._specs.values())
        )

    # running ----------------------------------------------------------------------------------
    def run(self, name: str, twin_id: str | None = None, now_us: int | None = None) -> list[dict[str, Any]]:
        """Run a behaviour now (on demand) for one of its twins or all of them; returns the run records (JSON)."""
        spec = self.get(name)
        if twin_id is not None:
            self.require_attached(spec, twin_id)
            return [self._run_one(spec, twin_id, now_us).to_json()]
        return [self._run_one(spec, t, now_us).to_json() for t in self.twins_of(spec)]

    def gather(
        self, spec: BehaviourSpec, twin_id: str, start_us: int, end_us: int, horizon_us: int | None = None
    ) -> RunInputs:
        """The behaviour's inputs for ``twin_id`` on its step grid over the complete steps of [start, end), and
        for the horizon after. An input without a single reading in the window is an error, not zeros."""
        twin = self.store.get_twin(twin_id)
        if twin is None:
            raise NotFound(f"twin '{twin_id}' does not exist")
        step = spec.step_us
        first, last_end = start_us - start_us % step, end_us - end_us % step
        if (last_end - first) // step > LIMITS["window_steps"]:
            raise InvalidInput([Problem("/to", f"at most {LIMITS['window_steps']:,} steps of {step / 1e6:g} s")])
        grid = np.arange(first, last_end, step, dtype=np.int64)
        horizon = spec.horizon_us if horizon_us is None else horizon_us
        future = np.arange(last_end, last_end + horizon - horizon % step, step, dtype=np.int64)
        provenance: dict[str, Any] = {}
        columns, future_columns = [], []
        for column, ref in spec.inputs.items():
            source = ref.twin_for(twin_id)
            if source != twin_id and self.store.get_twin(source) is None:
                raise NotFound(f"input '{column}' reads twin '{source}', which does not exist")
            values, count = self._on_grid(source, ref.telemetry, grid, step, spec)
            if count == 0 and len(grid):
                raise InvalidInput(
                    [Problem(f"/inputs/{column}", f"no readings of {source}.{ref.telemetry} in the window")]
                )
            provenance[column] = {"twin": source, "telemetry": ref.telemetry, "count": count}
            columns.append(fill_forward(values))
            latest = columns[-1][-1] if len(grid) else 0.0
            ahead, ahead_count = self._on_grid(source, ref.telemetry + FORECAST_SUFFIX, future, step)
            if ahead_count:  # a forecast of this input exists (e.g. a rainfall nowcast): use it, else persist
                provenance[column]["forecastCount"] = ahead_count
            future_columns.append(np.where(np.isnan(ahead), latest, ahead))
        y = None
        if spec.measured:
            y, count = self._on_grid(twin_id, spec.measured, grid, step, spec)
            provenance["measured"] = {"twin": twin_id, "telemetry": spec.measured, "count": count}
        X = np.column_stack(columns) if columns else np.empty((len(grid), 0))
        future_X = np.column_stack(future_columns) if future_columns else np.empty((len(future), 0))
        window = {"from": format_timestamp(int(first)), "to": format_timestamp(int(last_end))}
        return RunInputs(grid, X, y, future, future_X, dict(twin.properties), {"window": window, "inputs": provenance})

    def _on_grid(
        self, twin_id: str, name: str, grid: np.ndarray, step: int, spec: BehaviourSpec | None = None
    ) -> tuple[np.ndarray, int]:
        """Average the finite readings into the grid's steps; NaN where a step has none. A personal series is read
        only with the person's consent for the behaviour's purpose (refused otherwise: the run fails, saying so)."""
        out = np.full(len(grid), np.nan)
        if len(grid) == 0:
            return out, 0
        start, end = int(grid[0]), int(grid[-1]) + step
        if self.personal is not None and self.personal.is_personal(twin_id, name):
            if spec is None or not spec.purpose:
                detail = f"{twin_id}.{name} is personal data: name the behaviour's purpose (care, research, ...)"
                raise InvalidInput([Problem("/purpose", detail)])
            data = self.personal.series(twin_id, name, start, end, spec.purpose, f"behaviour:{spec.name}")
        else:
            data = self.store.read_series(twin_id, name, start, end)
        if len(data) == 0 or data.kind == "json":
            return out, 0
        values = np.asarray(data.values, dtype=np.float64)
        finite = np.isfinite(values)
        kept = SeriesData(data.kind, data.ts[finite], values[finite], data.quality[finite])
        buckets = aggregate(kept, step, ["avg"], origin_us=int(grid[0]) % step)
        out[(np.asarray(buckets["ts"], dtype=np.int64) - grid[0]) // step] = buckets["avg"]
        return out, int(finite.sum())

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
            with self._lock:
                state = self._state.setdefault((spec.name, twin_id), {"spec": spec})
            if state.get("spec") is not spec:  # redefined since: start over
                state.clear()
                state["spec"] = spec
        output, model = evaluate(spec, model, inputs, state, self.ensemble_mapper)
        return output, inputs, model

    def spun_up(self, spec: BehaviourSpec, twin_id: str, start_us: int) -> Model:
        """The behaviour's model, with a simulator's state brought to ``start`` by assimilating the window of
        history before it, so a run over a past period does not begin from an arbitrary (empty-tank) state."""
        model = spec.build_model()
        if isinstance(model, Simulator):
            try:
                warm = self.gather(spec, twin_id, start_us - spec.window_us, start_us, horizon_us=0)
            except InvalidInput:
                return model  # no history before the period: start from the model's initial state
            measured = warm.y if warm.y is not None else np.full(len(warm.X), np.nan)
            for row, observed in zip(warm.X, measured, strict=True):
                model.learn_one(row, None if np.isnan(observed) else float(observed))
        return model

    def replay(self, name: str, twin_id: str, start_us: int, end_us: int) -> tuple[BehaviourSpec, Model, RunInputs]:
        """What validation and calibration start from: a behaviour's inputs and measurements over a past
        period of a twin it is attached to, and its model spun up to the start of that period."""
        spec = self.get(name)
        self.require_attached(spec, twin_id)
        if not spec.measured:
            raise InvalidInput([Problem("/measured", f"behaviour '{name}' declares no 'measured' telemetry")])
        if end_us <= start_us:
            raise InvalidInput([Problem("/to", "'to' must be after 'from'")])
        inputs = self.gather(spec, twin_id, start_us, end_us, horizon_us=0)
        if len(inputs.grid) == 0:
            raise InvalidInput([Problem("/to", f"the period is shorter than one step ({spec.step_us / 1e6:g} s)")])
        return spec, self.spun_up(spec, twin_id, int(inputs.grid[0])), inputs

    def live_state(self, name: str, twin_id: str) -> dict[str, Any]:
        """A copy of what persists between live runs of (behaviour, twin), for a scenario to start from."""
        with self._lock:
            return copy.deepcopy(self._state.get((name, twin_id), {}))

    def _run_one(self, spec: BehaviourSpec, twin_id: str, now_us: int | None = None) -> BehaviourRun:
        with self._running[(spec.name, twin_id)]:  # runs of one (behaviour, twin) never overlap
            return self._run_locked(spec, twin_id, now_us)

    def _run_locked(self, spec: BehaviourSpec, twin_id: str, now_us: int | None) -> BehaviourRun:
        now_us = now_us if now_us is not None else time.time_ns() // 1000
        started = time.perf_counter()
        record = BehaviourRun(spec.name, twin_id, _now_iso())
        try:
            model = spec.build_model()
            record.model = model.describe() | ({"artifact": spec.artifact.name} if spec.artifact else {})
            output, inputs, _ = self.compute(spec, twin_id, now_us, model=model)
            readings = [
                Reading(twin_id, name, int(t), float(v), QUALITY_NOT_EVALUATED)
                for name, (ts, values) in output.series.items()
                for t, v in zip(ts.tolist(), values.tolist(), strict=True)
                if np.isfinite(v)
            ]
            written = self._append(readings) if readings else 0
            record.status, record.inputs, record.outputs = "ok", inputs.provenance, sorted(output.series)
            record.written, record.summary = written, output.summary
        except Exception as exc:  # a behaviour must never take the runtime down with it
            self.failures += 1
            detail = exc.detail if isinstance(exc, FutagoError) else f"{type(exc).__name__}: {exc}"
            record.status, record.error = "failed", detail
            if not isinstance(exc, FutagoError):
                log.exception("behaviour %s failed on %s", spec.name, twin_id)
        record.duration_ms = round((time.perf_counter() - started) * 1000, 2)
        record.id = self.store.add_behaviour_run(record, keep=RUNS_KEPT)
        kind = BEHAVIOUR_RAN if record.status == "ok" else BEHAVIOUR_FAILED
        data: dict[str, Any] = {"behaviour": spec.name, "run": record.id, "status": record.status}
        if record.error is not None:
            data["error"] = record.error
        if record.summary is not None:
            data["summary"] = record.summary
        self.bus.publish(Event(kind, _now_iso(), twin_id=twin_id, data=data, about=(f"behaviours/{spec.name}",)))
        return record

    # triggers ---------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.type != TELEMETRY_APPENDED or event.twin_id is None or self._stop.is_set() or not self._threads:
            return
        name = event.data.get("name")
        for spec in list(self._specs.values()):
            if not spec.on_readings or name in spec.output_names().values():
                continue  # a behaviour's own outputs never trigger it
            for column_ref in [*spec.inputs.values(), *([] if spec.measured is None else [None])]:
                telemetry = spec.measured if column_ref is None else column_ref.telemetry
                if telemetry != name:
                    continue
                if column_ref is not None and column_ref.twin is not None:
                    if column_ref.twin == event.twin_id:  # another twin's input changed: run for every twin
                        for twin_id in self.twins_of(spec):
                            self._enqueue((spec.name, twin_id))
                elif self.attached(spec, event.twin_id):
                    self._enqueue((spec.name, event.twin_id))

    def _enqueue(self, key: Key) -> None:
        with self._lock:
            if key in self._queued:
                return
            self._queued.add(key)
        self._queue.put(key)

    def start(self) -> None:
        """Start the worker and the scheduler threads (``stop`` ends them)."""
        with self._lock:
            self._queue, self._queued = queue.Queue(), set()
        self._stop.clear()
        worker = threading.Thread(target=self._work, args=(self._queue,), name="futago-behaviours", daemon=True)
        scheduler = threading.Thread(target=self._schedule, name="futago-behaviour-schedule", daemon=True)
        self._threads = [worker, scheduler]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until queued runs are done (tests and the CLI use this); False if they were not in time."""
        deadline = time.monotonic() + timeout_s
        while self._queued and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queued

    def _work(self, work: queue.Queue[Key | None]) -> None:
        while not self._stop.is_set():
            key = work.get()
            if key is None:
                return
            with self._lock:
                self._queued.discard(key)  # from here a new trigger queues a fresh run
            spec = self._specs.get(key[0])
            try:
                if spec is not None and self.fence.holds():  # a leader that lost its lease writes no outputs
                    self._run_one(spec, key[1])
            except Exception:  # e.g. the store was busy recording the run: log it, keep the worker alive
                log.exception("behaviour %s on %s could not run", *key)

    def _schedule(self) -> None:
        due: dict[str, float] = {}
        while not self._stop.wait(0.5):
            now = time.monotonic()
            for spec in list(self._specs.values()):
                if spec.every_us is None or now < due.get(spec.name, 0.0):
                    continue
                due[spec.name] = now + spec.every_us / 1e6
                try:
                    for twin_id in self.twins_of(spec):
                        self._enqueue((spec.name, twin_id))
                except Exception:  # keep scheduling the others
                    log.exception("behaviour %s: could not list its twins", spec.name)
