"""Drift watch: a sensor compared with its reference, as readings arrive.

Configured per twin and telemetry (``futago.toml``)::

    [drift."river-1".waterLevel]
    reference = { twin = "river-1b", telemetry = "waterLevel" }   # a redundant co-located sensor
    method = "cusum"          # or "page_hinkley"
    delta = 0.05              # the slack: residuals within it are normal
    threshold = 1.0

On each append of the watched series, the residuals (value − reference, the reference linearly
interpolated) of the new readings feed the detector; an alarm is published as a
``quality.drift_suspected`` event with the estimated start of the drift. A reading whose
reference has not arrived yet has no residual and is skipped, so the reference should report
no later than the sensor it checks.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from futago.core.errors import InvalidInput
from futago.core.events import DRIFT_SUSPECTED, TELEMETRY_APPENDED, Event, EventBus, telemetry_resource
from futago.core.ports import TelemetryStore
from futago.core.problems import Problem
from futago.core.telemetry import parse_timestamp
from futago.core.twins import now_iso
from futago.quality import DRIFT_METHODS, Cusum, PageHinkley, residuals_against

# How far back a reference reading may lie and still interpolate the first new residual.
REFERENCE_LOOKBACK_US = 6 * 3_600_000_000


@dataclass
class _Watch:
    reference: tuple[str, str]
    detector: Cusum | PageHinkley
    seen_until_us: int = -(2**62)


class DriftService:
    def __init__(self, store: TelemetryStore, bus: EventBus) -> None:
        self.store = store
        self.bus = bus
        self._watches: dict[tuple[str, str], _Watch] = {}
        self._lock = threading.Lock()
        bus.subscribe(self._on_event)

    def watch(self, twin_id: str, telemetry: str, config: Mapping[str, Any]) -> None:
        pointer = f"/drift/{twin_id}/{telemetry}"
        reference = config.get("reference")
        if not isinstance(reference, Mapping) or not all(
            isinstance(reference.get(k), str) for k in ("twin", "telemetry")
        ):
            raise InvalidInput([Problem(pointer + "/reference", "reference = { twin = '...', telemetry = '...' }")])
        method = config.get("method", "cusum")
        if method not in DRIFT_METHODS:
            raise InvalidInput([Problem(pointer + "/method", "method is 'cusum' or 'page_hinkley'")])
        parameters = {k: config[k] for k in ("delta", "threshold", "min_samples", "target") if k in config}
        unknown = set(config) - {"reference", "method", *parameters}
        if unknown:
            raise InvalidInput([Problem(f"{pointer}/{sorted(unknown)[0]}", "unknown drift setting")])
        try:
            detector = DRIFT_METHODS[method](**parameters)
        except InvalidInput as exc:
            raise InvalidInput([Problem(pointer + p.pointer, p.message) for p in exc.problems]) from exc
        except TypeError as exc:
            raise InvalidInput([Problem(pointer, f"drift needs delta and threshold ({exc})")]) from exc
        with self._lock:
            self._watches[(twin_id, telemetry)] = _Watch((reference["twin"], reference["telemetry"]), detector)

    def load(self, configuration: Mapping[str, Any]) -> None:
        for twin_id, per_telemetry in configuration.items():
            if not isinstance(per_telemetry, Mapping):
                raise InvalidInput([Problem(f"/drift/{twin_id}", "give a table per telemetry")])
            for telemetry, config in per_telemetry.items():
                if not isinstance(config, Mapping):
                    raise InvalidInput([Problem(f"/drift/{twin_id}/{telemetry}", "give a table of settings")])
                self.watch(twin_id, telemetry, config)

    def _on_event(self, event: Event) -> None:
        # Readings relayed from another process are watched there: each twin's readings are stored by one process.
        if event.type != TELEMETRY_APPENDED or event.origin is not None or not self._watches or event.twin_id is None:
            return
        key = (event.twin_id, str(event.data.get("name")))
        watch = self._watches.get(key)
        if watch is None:
            return
        with self._lock:
            first = parse_timestamp(event.data["first"])
            last = parse_timestamp(event.data["last"])
            start = max(first, watch.seen_until_us + 1)
            if start > last:
                return
            data = self.store.read_series(*key, start, last + 1)
            if len(data) == 0 or data.kind not in ("f8", "i8"):
                return
            ref = self.store.read_series(*watch.reference, start - REFERENCE_LOOKBACK_US, last + 1)
            if len(ref) == 0:
                return
            window = max(0, int(np.searchsorted(ref.ts, start)) - 1)  # one reading before, to interpolate
            residuals = residuals_against(data.ts, data.values, ref.ts[window:], np.asarray(ref.values)[window:])
            alarms = watch.detector.detect(data.ts, residuals)
            watch.seen_until_us = int(data.ts[-1])
        for alarm in alarms:
            payload = {"name": key[1], "reference": {"twinId": watch.reference[0], "name": watch.reference[1]}}
            about = (telemetry_resource(watch.reference[0]),)  # the reference series is shown too
            event = Event(DRIFT_SUSPECTED, now_iso(), twin_id=key[0], data={**payload, **alarm.to_json()}, about=about)
            self.bus.publish(event)
