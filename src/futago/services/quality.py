"""Data quality at ingest: every numeric reading of a configured telemetry is QARTOD-checked.

The checks run reading by reading (``StreamingQc``), with the same flags as a batch run over
the series. The stored flag of a reading is the worse of what the device said and what the
tests say; per-test flags are kept beside it, as series named ``<telemetry>~qc:<test>``.

The spike test needs the next reading, so the newest reading of a series is stored first as
NOT_EVALUATED and rewritten with its final flags when the next one arrives (appends are
idempotent on the timestamp, so the rewrite replaces it). A late reading, older than what the
series has already seen, keeps the device's flag: its neighbours were judged without it.

Configuration, per model (sub-models included) and telemetry, in ``futago.toml``::

    [quality."dtmi:futago:demo:RiverStation;1".waterLevel]
    gross_range = { fail_span = [0, 12], suspect_span = [0.2, 8] }
    spike = { suspect_threshold = 0.5, fail_threshold = 1.5 }
    timing = { expected_interval = 60 }
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from futago.core.errors import InvalidInput
from futago.core.problems import Problem
from futago.core.telemetry import QUALITY_MISSING, QUALITY_NOT_EVALUATED, SeriesBatch
from futago.quality import QcConfig, QcReading, StreamingQc, aggregate_one, missing_timestamps

QC_SEPARATOR = "~"  # DTDL names cannot contain it, so QC series never collide with telemetry
# (twin id) -> the twin's model and every model it inherits from
ModelsOf = Callable[[str], Iterable[str]]


def qc_series_name(telemetry: str, test: str) -> str:
    return f"{telemetry}{QC_SEPARATOR}qc:{test}"


class QualityService:
    def __init__(self, models_of: ModelsOf) -> None:
        self.models_of = models_of
        self._configs: dict[tuple[str, str], QcConfig] = {}
        self._streams: dict[tuple[str, str], StreamingQc] = {}
        # device flags of readings stored before their tests were final, by series and timestamp
        self._held: dict[tuple[str, str], dict[int, int]] = {}
        # per series, the newest timestamp already covered by a reading or a MISSING mark
        self._covered: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def configure(self, model: str, telemetry: str, config: Mapping[str, Any]) -> None:
        qc = QcConfig.from_dict(dict(config), id=f"{model}/{telemetry}")
        with self._lock:
            self._configs[(model, telemetry)] = qc
            for key in [k for k in self._streams if k[1] == telemetry]:
                del self._streams[key]  # the next reading starts a fresh series with the new settings

    def load(self, configuration: Mapping[str, Any]) -> None:
        """``{model: {telemetry: config}}``, as in the [quality] table of futago.toml."""
        problems: list[Problem] = []
        for model, per_telemetry in configuration.items():
            if not isinstance(per_telemetry, Mapping):
                problems.append(Problem(f"/quality/{model}", "give a table per telemetry"))
                continue
            for telemetry, config in per_telemetry.items():
                try:
                    self.configure(model, telemetry, config)
                except InvalidInput as exc:
                    problems += [Problem(f"/quality/{model}/{telemetry}{p.pointer}", p.message) for p in exc.problems]
        if problems:
            raise InvalidInput(problems)

    def config_for(self, twin_id: str, telemetry: str) -> QcConfig | None:
        if not self._configs:
            return None
        for model in self.models_of(twin_id):
            config = self._configs.get((model, telemetry))
            if config is not None:
                return config
        return None

    def check(self, batches: list[SeriesBatch]) -> list[SeriesBatch]:
        """Set the quality of configured numeric batches in place; returns the per-test flag batches
        and the rewrites of readings whose flags became final."""
        extra: list[SeriesBatch] = []
        if not self._configs:
            return extra
        for batch in batches:
            if batch.kind not in ("f8", "i8"):
                continue
            config = self.config_for(batch.twin_id, batch.name)
            if config is not None:
                extra += self._check_series(batch, config)
        return extra

    def _check_series(self, batch: SeriesBatch, config: QcConfig) -> list[SeriesBatch]:
        key = (batch.twin_id, batch.name)
        order = np.argsort(batch.ts, kind="stable")
        final: list[QcReading] = []
        provisional: set[int] = set()
        with self._lock:
            device = self._held.pop(key, {})
            device.update({int(batch.ts[i]): int(batch.quality[i]) for i in order})
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = StreamingQc(config)
            last_ts = stream.last_ts
            for i in order:
                ts = int(batch.ts[i])
                if last_ts is not None and ts <= last_ts:
                    continue  # late or repeated: keeps the device's flag
                final += stream.update(ts, float(batch.values[i]))
                last_ts = ts
                provisional.add(ts)
            flags = {r.ts: r for r in final}
            provisional -= set(flags)
            self._held[key] = {ts: device[ts] for ts in provisional}
        position = {int(t): i for i, t in enumerate(batch.ts)}
        for ts, reading in flags.items():
            if ts in position:
                batch.quality[position[ts]] = _worse(device.get(ts, QUALITY_NOT_EVALUATED), reading.aggregate)
        for ts in provisional:
            batch.quality[position[ts]] = _worse(device[ts], QUALITY_NOT_EVALUATED)
        out = self._test_batches(batch, final)
        earlier = [r for r in final if r.ts not in position]  # judged now, stored by an earlier call
        if earlier:
            ts_array = np.array([r.ts for r in earlier], dtype=np.int64)
            values = np.array([r.value for r in earlier], dtype=np.float64 if batch.kind == "f8" else np.int64)
            quality = np.array(
                [_worse(device.get(r.ts, QUALITY_NOT_EVALUATED), r.aggregate) for r in earlier],
                dtype=np.uint8,
            )
            out.append(SeriesBatch(batch.twin_id, batch.name, batch.kind, ts_array, values, quality))
        return out

    def missing(self, now_us: int) -> list[SeriesBatch]:
        """MISSING (9) marks for every expected reading that is overdue, for the background sweep.

        Only series with ``timing.expected_interval`` that have been seen since start-up are
        watched. A mark holds NaN; a late real reading for the same time replaces it.
        """
        marks: list[SeriesBatch] = []
        with self._lock:
            for key, stream in self._streams.items():
                timing = stream.config.timing
                last = stream.last_ts
                if timing is None or last is None:
                    continue
                start = max(last, self._covered.get(key, last))
                due = missing_timestamps(
                    start, round(timing.expected_interval * 1e6), now_us, round(timing.grace * 1e6)
                )
                if len(due):
                    self._covered[key] = int(due[-1])
                    nan = np.full(len(due), np.nan)
                    flags = np.full(len(due), QUALITY_MISSING, dtype=np.uint8)
                    marks.append(SeriesBatch(key[0], key[1], "f8", due, nan, flags))
        return marks

    @staticmethod
    def _test_batches(batch: SeriesBatch, readings: list[QcReading]) -> list[SeriesBatch]:
        if not readings:
            return []
        ts = np.array([r.ts for r in readings], dtype=np.int64)
        ones = np.ones(len(readings), dtype=np.uint8)
        return [
            SeriesBatch(
                batch.twin_id,
                qc_series_name(batch.name, test),
                "i8",
                ts,
                np.array([r.tests[test] for r in readings], dtype=np.int64),
                ones,
            )
            for test in readings[0].tests
        ]


def _worse(device: int, tests: int) -> int:
    if device == QUALITY_NOT_EVALUATED:
        return tests
    return aggregate_one([device, tests])
